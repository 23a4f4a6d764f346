//! The local store's fan-out directories: the 256 top ones are made when the store opens (so
//! a directory's first use fsyncs only its parent), and a put whose top directory has gone
//! since makes it again and lands.

use std::fs;

use bytes::Bytes;
use feedlab_system::blob::{BlobKey, BlobStore, LocalBlobStore};

#[tokio::test]
async fn open_makes_the_top_directories_and_a_put_remakes_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalBlobStore::open(dir.path(), 2).expect("open");
    for r in ["r0", "r1"] {
        let mut tops: Vec<String> = fs::read_dir(dir.path().join(r))
            .expect("replica root")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        tops.sort();
        let want: Vec<String> = (0..=255u8).map(|b| format!("{b:02x}")).collect();
        assert_eq!(tops, want, "{r}");
    }
    let data = Bytes::from_static(b"a photo whose top directory went away");
    let key = BlobKey::of(&data);
    let top = &key.as_str()[..2];
    fs::remove_dir(dir.path().join("r1").join(top)).expect("remove an empty top dir");
    store.put(&key, data.clone()).await.expect("put");
    assert!(store.replica_path(1, &key).exists(), "replica 1 landed");
    assert_eq!(store.get(&key, None).await.expect("get"), data);
    drop(store);
    let store = LocalBlobStore::open(dir.path(), 2).expect("reopen");
    let again = store.get(&key, None).await.expect("get after a reopen");
    assert_eq!(again, data, "a second open keeps what is there");
}
