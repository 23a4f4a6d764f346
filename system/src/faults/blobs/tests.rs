//! The blob stop switch refuses every call while set and only then, for any backend behind
//! it; replica damage hits the first keys of replica 0 only, reads still return the right
//! bytes (and queue repairs), and a single-replica store is refused.

use std::sync::Arc;

use bytes::Bytes;

use super::*;

async fn store_with(dir: &Path, replicas: usize, n: u8) -> (LocalBlobStore, Vec<BlobKey>) {
    let store = LocalBlobStore::open(dir, replicas).expect("open");
    let mut keys = Vec::new();
    for i in 0..n {
        let data = Bytes::from(vec![i; 1000 + usize::from(i)]);
        let key = BlobKey::of(&data);
        store.put(&key, data).await.expect("put");
        keys.push(key);
    }
    keys.sort();
    (store, keys)
}

#[tokio::test]
async fn a_stopped_store_refuses_every_call_until_started() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, keys) = store_with(dir.path(), 1, 2).await;
    let faults = Faults::new(1);
    let wrapped = faults.wrap_blobs(Arc::new(store));
    assert!(
        wrapped.as_local().is_some(),
        "the local store shows through"
    );
    faults.set_blob_stopped(true);
    let data = Bytes::from_static(b"new");
    let err = wrapped.put(&BlobKey::of(&data), data.clone()).await;
    assert!(matches!(err, Err(Error::Unavailable(_))), "{err:?}");
    assert!(matches!(
        wrapped.get(&keys[0], None).await,
        Err(Error::Unavailable(_))
    ));
    assert!(matches!(
        wrapped.head(&keys[0]).await,
        Err(Error::Unavailable(_))
    ));
    faults.clear();
    assert!(!faults.blob_stopped(), "clear lifts the stop");
    wrapped.put(&BlobKey::of(&data), data).await.expect("put");
    assert_eq!(readable(wrapped.as_ref(), &keys).await, 2);
}

#[tokio::test]
async fn damage_hits_the_first_keys_of_replica_zero_and_reads_stay_correct() {
    for how in [ReplicaDamage::Delete, ReplicaDamage::Corrupt] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, keys) = store_with(dir.path(), 2, 6).await;
        store.set_read_repair(false);
        let damage = damage_replica(&store, how, 4).await.expect("damage");
        assert_eq!(damage.replica, 0);
        assert_eq!(damage.keys, keys[..4].to_vec(), "{how:?}: the first keys");
        for (i, key) in keys.iter().enumerate() {
            let intact = store.replica_path(0, key).exists()
                && std::fs::read(store.replica_path(0, key)).ok()
                    == std::fs::read(store.replica_path(1, key)).ok();
            assert_eq!(intact, i >= 4, "{how:?}: key {i} on replica 0");
        }
        assert_eq!(readable(&store, &keys).await, 6, "{how:?}: reads fall back");
    }
}

#[tokio::test]
async fn damage_needs_a_second_replica() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = store_with(dir.path(), 1, 1).await;
    let err = damage_replica(&store, ReplicaDamage::Delete, 4).await;
    assert!(
        matches!(&err, Err(Error::InvalidInput(m)) if m.contains("blob-replicas")),
        "{err:?}"
    );
}
