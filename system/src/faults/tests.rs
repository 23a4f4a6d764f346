//! The switchboard and its store wrappers: a delay hits only the chosen shard and only while
//! set, a down shard fails with `Unavailable` and recovers, the pause holds a waiter without
//! polling and lifts it; the blob stop refuses every call while set and only then; replica
//! damage hits the first keys of replica 0 only, reads still return the right bytes, and a
//! single-replica store is refused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::blob::{BlobKey, BlobStore, LocalBlobStore};
use crate::meta::FjallStore;

/// Two fjall shards behind one switchboard, with key `k` written on each.
async fn two_shards(dir: &std::path::Path) -> (Faults, Vec<Arc<dyn MetaStore>>) {
    let faults = Faults::new(2);
    let mut stores = Vec::new();
    for i in 0..2 {
        let store: Arc<dyn MetaStore> =
            Arc::new(FjallStore::open(&dir.join(format!("s{i}"))).expect("open"));
        let wrapped = faults.wrap(i, store);
        let mut b = WriteBatch::new();
        b.put(b"k".to_vec(), b"v".to_vec());
        wrapped.write(b).await.expect("write");
        stores.push(wrapped);
    }
    (faults, stores)
}

async fn timed_get(store: &Arc<dyn MetaStore>) -> (Duration, Result<Option<Vec<u8>>>) {
    let t0 = Instant::now();
    let r = store.get(b"k").await;
    (t0.elapsed(), r)
}

#[tokio::test]
async fn a_delay_hits_only_its_shard_and_only_while_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (faults, stores) = two_shards(dir.path()).await;
    faults
        .set_shard_delay(1, Duration::from_millis(80))
        .expect("shard 1 exists");
    let (slow, r) = timed_get(&stores[1]).await;
    assert_eq!(r.expect("get"), Some(b"v".to_vec()));
    assert!(slow >= Duration::from_millis(80), "shard 1 took {slow:?}");
    let (fast, _) = timed_get(&stores[0]).await;
    assert!(fast < Duration::from_millis(40), "shard 0 took {fast:?}");
    faults
        .set_shard_delay(1, Duration::ZERO)
        .expect("shard 1 exists");
    let (after, _) = timed_get(&stores[1]).await;
    assert!(after < Duration::from_millis(40), "cleared, took {after:?}");
    assert!(faults.set_shard_delay(2, Duration::from_millis(1)).is_err());
}

#[tokio::test]
async fn a_down_shard_fails_unavailable_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (faults, stores) = two_shards(dir.path()).await;
    faults
        .set_shard_delay(0, Duration::from_millis(5))
        .expect("shard 0");
    faults.set_shard_down(0, true).expect("shard 0");
    let (_, r) = timed_get(&stores[0]).await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    let mut b = WriteBatch::new();
    b.put(b"x".to_vec(), b"y".to_vec());
    assert!(matches!(
        stores[0].write(b).await,
        Err(Error::Unavailable(_))
    ));
    assert!(timed_get(&stores[1]).await.1.is_ok(), "shard 1 is up");
    faults.set_shard_down(0, false).expect("shard 0");
    let (took, r) = timed_get(&stores[0]).await;
    assert_eq!(r.expect("up again"), Some(b"v".to_vec()));
    assert!(
        took >= Duration::from_millis(5),
        "the delay outlives the outage"
    );
    faults.clear();
    assert!(timed_get(&stores[0]).await.0 < Duration::from_millis(5));
    assert!(faults.set_shard_down(9, true).is_err());
}

#[tokio::test]
async fn the_pause_holds_waiters_until_lifted() {
    let faults = Faults::new(1);
    faults.materializer_resumed().await; // not paused: returns at once
    faults.set_materializer_paused(true);
    assert!(faults.materializer_paused());
    let f = faults.clone();
    let waiter = tokio::spawn(async move { f.materializer_resumed().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "a paused materializer waits");
    faults.set_materializer_paused(false);
    tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("lifting the pause wakes the waiter")
        .expect("task");
}

async fn store_with(
    dir: &std::path::Path,
    replicas: usize,
    n: u8,
) -> (LocalBlobStore, Vec<BlobKey>) {
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
    assert_eq!(blobs::readable(wrapped.as_ref(), &keys).await.ok, 2);
}

#[tokio::test]
async fn damage_hits_the_first_keys_of_replica_zero_and_reads_stay_correct() {
    for how in [ReplicaDamage::Delete, ReplicaDamage::Corrupt] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, keys) = store_with(dir.path(), 2, 6).await;
        store.set_read_repair(false);
        let damage = blobs::damage_replica(&store, how, 4).await.expect("damage");
        assert_eq!(damage.replica, 0);
        assert_eq!(damage.keys, keys[..4].to_vec(), "{how:?}: the first keys");
        for (i, key) in keys.iter().enumerate() {
            let intact = store.replica_path(0, key).exists()
                && std::fs::read(store.replica_path(0, key)).ok()
                    == std::fs::read(store.replica_path(1, key)).ok();
            assert_eq!(intact, i >= 4, "{how:?}: key {i} on replica 0");
        }
        assert_eq!(
            blobs::readable(&store, &keys).await.ok,
            6,
            "{how:?}: reads fall back"
        );
    }
}

#[tokio::test]
async fn damage_needs_a_second_replica() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, _) = store_with(dir.path(), 1, 1).await;
    let err = blobs::damage_replica(&store, ReplicaDamage::Delete, 4).await;
    assert!(
        matches!(&err, Err(Error::InvalidInput(m)) if m.contains("blob-replicas")),
        "{err:?}"
    );
}
