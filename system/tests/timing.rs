//! The timing wrappers of `feedlab_system::timing`: both pass their seam's conformance suite
//! (recording on and off), record each call under the calibration op name with its size, record
//! nothing before `start` or for failed calls, and `scoped` sums an op's storage time.

use std::sync::Arc;

use bytes::Bytes;
use feedlab_system::blob::{BlobKey, BlobStore, LocalBlobStore, conformance as blob_suite};
use feedlab_system::meta::{
    Direction, FjallStore, KeyRange, MetaStore, WriteBatch, conformance as meta_suite,
};
use feedlab_system::timing::{Recorder, TimedBlobs, TimedMeta, scoped};

fn timed_meta(dir: &std::path::Path, rec: &Arc<Recorder>) -> Arc<dyn MetaStore> {
    let store = FjallStore::open(&dir.join("meta")).expect("open fjall");
    Arc::new(TimedMeta::new(Arc::new(store), rec.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_stores_pass_the_conformance_suites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new();
    let meta = timed_meta(dir.path(), &rec);
    meta_suite::test_suite(meta.clone()).await;
    rec.start();
    meta_suite::test_suite_in(meta, b"\xff\xfe-recorded/").await;
    let blobs = LocalBlobStore::open(&dir.path().join("blobs"), 2).expect("open blobs");
    let blobs: Arc<dyn BlobStore> = Arc::new(TimedBlobs::new(Arc::new(blobs), rec.clone()));
    blob_suite::test_suite(blobs).await;
    let got = rec.take();
    for op in [
        "get",
        "batch-get",
        "scan",
        "write",
        "cas",
        "blob-put",
        "blob-get",
    ] {
        assert!(
            got.get(op).is_some_and(|s| !s.is_empty()),
            "no {op} samples: {got:?}"
        );
    }
}

#[tokio::test]
async fn calls_are_recorded_by_name_and_size_only_while_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new();
    let meta = timed_meta(dir.path(), &rec);
    let mut b = WriteBatch::new();
    for i in 0..5u8 {
        b.put(vec![b'k', i], vec![i]);
    }
    meta.write(b).await.expect("write");
    assert!(rec.take().is_empty(), "recorded before start");

    rec.start();
    meta.get(b"k\x01").await.expect("get");
    meta.batch_get(&[b"k\x01".to_vec(), b"k\x02".to_vec(), b"zz".to_vec()])
        .await
        .expect("batch get");
    let rows = meta
        .scan(&KeyRange::prefix(b"k"), Direction::Reverse, 4)
        .await
        .expect("scan");
    assert_eq!(rows.len(), 4);
    let mut t = WriteBatch::buffered();
    t.put(b"t1".to_vec(), vec![]);
    t.put(b"t2".to_vec(), vec![]);
    meta.write(t).await.expect("buffered write");
    assert!(meta.write(WriteBatch::new()).await.is_ok());
    let blobs = LocalBlobStore::open(&dir.path().join("blobs"), 1).expect("open blobs");
    let blobs = TimedBlobs::new(Arc::new(blobs), rec.clone());
    let body = Bytes::from(vec![7u8; 3 * 1024 + 1]);
    let key = BlobKey::of(&body);
    blobs.put(&key, body).await.expect("put");
    blobs.get(&key, None).await.expect("get");
    let missing = BlobKey::of(b"never stored");
    assert!(blobs.get(&missing, None).await.is_err());
    rec.stop();
    meta.get(b"k\x01").await.expect("get after stop");

    let got = rec.take();
    let sizes = |op: &str| -> Vec<u32> {
        got.get(op)
            .map(|s| s.iter().map(|&(n, _, _)| n).collect())
            .unwrap_or_default()
    };
    assert_eq!(sizes("get"), vec![1]);
    assert_eq!(sizes("batch-get"), vec![3]);
    assert_eq!(sizes("scan"), vec![4]);
    assert_eq!(sizes("timeline-insert"), vec![2]);
    assert_eq!(
        sizes("write"),
        Vec::<u32>::new(),
        "an empty batch is not a call"
    );
    assert_eq!(sizes("blob-put"), vec![4]);
    assert_eq!(sizes("blob-get"), vec![4], "the failed get is not recorded");
    assert!(got.values().flatten().all(|&(_, ns, _)| ns > 0));
    assert!(
        got.values().flatten().any(|&(_, _, cpu)| cpu > 0),
        "calls record their CPU time"
    );
}

#[tokio::test]
async fn scoped_sums_the_storage_time_of_its_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = Recorder::new();
    let meta = timed_meta(dir.path(), &rec);
    let (n, store_ns) = scoped(async {
        for _ in 0..3 {
            meta.get(b"absent").await.expect("get");
        }
        3
    })
    .await;
    assert_eq!(n, 3);
    assert!(store_ns > 0, "three timed calls took no time");
    // Recording off: the scope still learns the time, the recorder keeps nothing.
    assert!(rec.take().is_empty());
    let ((), outside) = scoped(async {}).await;
    assert_eq!(outside, 0);
}
