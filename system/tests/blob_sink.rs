//! The local store's sink beyond the conformance suite: the failure modes only it has. A
//! crash between a sink's first write and its commit leaves temp files that the next open
//! removes, and a replica directory wiped while a body streams in is rebuilt at the commit.

use std::fs;
use std::path::{Path, PathBuf};

use feedlab_system::blob::{BlobKey, BlobSink, BlobStore, LocalBlobStore};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut buf);
    buf
}

/// The files directly in `dir` (not in its subdirectories).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect()
}

/// A sink of `store` with `data` written in 256 KiB pieces and finished.
async fn finished(store: &LocalBlobStore, data: &[u8]) -> Box<dyn BlobSink> {
    let mut sink = store.sink(Path::new("unused")).await.expect("sink");
    for piece in data.chunks(256 << 10) {
        sink.write(piece.to_vec()).await.expect("write");
    }
    let (key, len) = sink.finish().await.expect("finish");
    assert_eq!((key, len), (BlobKey::of(data), data.len() as u64));
    sink
}

#[tokio::test]
async fn temp_files_of_a_crashed_stream_are_removed_when_the_store_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalBlobStore::open(dir.path(), 2).expect("open");
    let data = random(1, 3 << 20);
    let sink = finished(&store, &data).await;
    // As a crash would: the sink never runs its drop.
    std::mem::forget(sink);
    for r in ["r0", "r1"] {
        let left = files_in(&dir.path().join(r));
        assert_eq!(left.len(), 1, "{r}: {left:?}");
        assert!(fs::metadata(&left[0]).expect("temp").len() > 3 << 20);
    }
    drop(store);
    let store = LocalBlobStore::open(dir.path(), 2).expect("reopen");
    for r in ["r0", "r1"] {
        assert!(
            files_in(&dir.path().join(r)).is_empty(),
            "{r} keeps a temp file"
        );
    }
    let absent = store.head(&BlobKey::of(&data)).await.expect("head");
    assert_eq!(absent, None, "an uncommitted stream stores nothing");
}

#[tokio::test]
async fn a_replica_wiped_while_a_body_streams_in_is_rebuilt_at_the_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalBlobStore::open(dir.path(), 2).expect("open");
    let data = random(2, (1 << 20) + 3);
    let key = BlobKey::of(&data);
    let sink = finished(&store, &data).await;
    fs::remove_dir_all(dir.path().join("r1")).expect("wipe r1");
    sink.commit().await.expect("commit");
    for r in 0..2 {
        let copy = fs::read(store.replica_path(r, &key)).expect("replica file");
        assert_eq!(&copy[..data.len()], &data[..], "replica {r}");
    }
    assert!(store.get(&key, None).await.expect("get") == data);
    assert!(
        files_in(&dir.path().join("r0")).is_empty(),
        "r0 keeps a temp file"
    );
}
