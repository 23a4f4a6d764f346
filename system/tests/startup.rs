//! Start-up does not grow with the data: opening a data directory ten times
//! larger reads exactly as many metadata keys, and after a clean shutdown
//! neither finds more than a few KiB of journal to read. Counts, not times (the
//! restart time itself is measured by `cargo bench --bench startup`).

use std::path::Path;

use bytes::Bytes;
use feedlab_system::meta::{FjallStore, MetaStore, ReadStats, WriteBatch};
use feedlab_system::policy::UserId;
use feedlab_system::service::bulk_photos::{HistoryPhoto, SharedBody};
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};

/// Journal an open may replay after a clean shutdown, whatever the data size.
const CLEAN_LOG_BYTES: u64 = 16 * 1024;

fn config(dir: &Path) -> ServiceConfig {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        blob_replicas: 1,
        ..ServiceConfig::default()
    };
    cfg.sharding.shards = 2;
    cfg
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Fill `dir` through the service's bulk loaders: `photos` photos by
/// `photos / 10` users who follow 5 others each, fanned out; then shut down
/// cleanly. The runtime is dropped with every task holding the stores.
fn populate(dir: &Path, photos: usize) {
    runtime().block_on(async {
        let svc = Service::open_embedded(config(dir)).await.expect("open");
        let users: Vec<UserId> = svc
            .bulk_create_users(photos / 10)
            .await
            .expect("users")
            .iter()
            .map(|u| u.id)
            .collect();
        let n = users.len();
        let edges: Vec<(UserId, UserId)> = (0..n)
            .flat_map(|i| (1..=5).map(move |d| (i, (i + d * 7) % n)))
            .map(|(f, l)| (users[f], users[l]))
            .collect();
        svc.bulk_follow(&edges).await.expect("follows");
        let body = SharedBody {
            bytes: Bytes::from(sample_body("image/jpeg", 1024, 9)),
            content_type: "image/jpeg".into(),
        };
        let items: Vec<HistoryPhoto> = (0..photos)
            .map(|i| HistoryPhoto {
                owner: users[i % n],
                title: format!("photo {i} at the lake"),
                body: 0,
            })
            .collect();
        svc.bulk_photos(&items, &[body]).await.expect("photos");
        svc.drain().await;
        svc.shutdown().await;
    });
}

/// Open `dir` as a service and return what opening it read.
fn reopen(dir: &Path) -> ReadStats {
    runtime().block_on(async {
        let svc = Service::open_embedded(config(dir)).await.expect("reopen");
        let report = svc
            .open_report()
            .expect("embedded stores count their reads");
        svc.shutdown().await;
        report
    })
}

fn meta_bytes(dir: &Path) -> u64 {
    (0..2)
        .map(|i| {
            let path = dir.join("meta").join(format!("shard-{i:03}"));
            let store = FjallStore::open(&path).expect("open shard");
            store.approximate_bytes().expect("fjall reports its size")
        })
        .sum()
}

#[test]
fn opening_ten_times_the_data_reads_no_more() {
    let small = tempfile::tempdir().expect("tempdir");
    let large = tempfile::tempdir().expect("tempdir");
    populate(small.path(), 300);
    populate(large.path(), 3_000);
    let (s_bytes, l_bytes) = (meta_bytes(small.path()), meta_bytes(large.path()));
    assert!(
        l_bytes > 5 * s_bytes,
        "the large directory holds {l_bytes} bytes of metadata, the small one {s_bytes}"
    );
    let (s, l) = (reopen(small.path()), reopen(large.path()));
    assert!(s.keys_read > 0, "opening reads the node lease: {s:?}");
    assert_eq!(
        l.keys_read, s.keys_read,
        "opening ten times the data read more keys"
    );
    for (what, r) in [("small", s), ("large", l)] {
        assert!(
            r.log_bytes_found <= CLEAN_LOG_BYTES && r.log_bytes_replayed <= CLEAN_LOG_BYTES,
            "{what}: journal after a clean shutdown: {r:?}"
        );
    }
}

fn stats(store: &FjallStore) -> ReadStats {
    store.read_stats().expect("fjall counts")
}

#[test]
fn a_clean_close_empties_the_journal_and_a_crash_replays_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kv");
    let rt = runtime();
    let put = |store: &FjallStore, v: u8| {
        let mut b = WriteBatch::new();
        for i in 0..2_000u32 {
            b.put(i.to_be_bytes().to_vec(), vec![v; 100]);
        }
        rt.block_on(store.write(b)).expect("write");
    };
    let first = |store: &FjallStore| rt.block_on(store.get(&7u32.to_be_bytes())).expect("get");
    let store = FjallStore::open(&path).expect("open");
    put(&store, 1);
    rt.block_on(store.checkpoint()).expect("checkpoint");
    drop(store);
    // Clean close: nothing to read, and the data is all there.
    let store = FjallStore::open(&path).expect("reopen after a clean close");
    let s = stats(&store);
    assert_eq!((s.log_bytes_found, s.log_bytes_replayed), (0, 0), "{s:?}");
    assert_eq!(first(&store), Some(vec![1; 100]));
    // Newer writes after the emptied journal win over the flushed ones (the
    // sequence numbers went on from the tables), also across a crash: a
    // store dropped without a checkpoint replays its journal.
    put(&store, 2);
    drop(store);
    let store = FjallStore::open(&path).expect("reopen after a crash");
    let s = stats(&store);
    assert!(
        s.log_bytes_replayed > 200_000,
        "only {} bytes of journal replayed for 200 KB written",
        s.log_bytes_replayed
    );
    assert_eq!(first(&store), Some(vec![2; 100]));
    // A write after the checkpoint keeps the journal.
    rt.block_on(store.checkpoint()).expect("checkpoint");
    put(&store, 3);
    drop(store);
    let store = FjallStore::open(&path).expect("reopen after a late write");
    assert!(stats(&store).log_bytes_replayed > 200_000);
    assert_eq!(first(&store), Some(vec![3; 100]));
}
