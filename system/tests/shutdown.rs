//! Shutdown ends even when the metadata stores cannot be checkpointed: the
//! checkpoint gives up (an error, logged) instead of waiting on fjall for a
//! flush that failed.
//!
//! Each case runs on its own thread and runtime, and the test waits for it
//! at most [`HANG_GUARD`]: a hang then fails the test instead of hanging the
//! suite (the stuck thread is left behind; the process exits with the
//! harness). The guard is only that: no case asserts how fast it ends.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use feedlab_system::meta::{FjallStore, MetaStore, WriteBatch};
use feedlab_system::{Service, ServiceConfig};

/// Longest a case may take before it counts as hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Run `case` on a fresh thread with its own runtime and return its result,
/// failing the test if it has not ended within [`HANG_GUARD`].
fn bounded<T: Send + 'static>(
    what: &str,
    case: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let out = rt.block_on(case);
        // Dropping the runtime waits for blocking tasks, so a checkpoint
        // still spinning in fjall keeps this send from happening.
        drop(rt);
        let _ = tx.send(out);
    });
    rx.recv_timeout(HANG_GUARD)
        .unwrap_or_else(|e| panic!("{what} did not end within {HANG_GUARD:?}: {e}"))
}

/// A store at `path` holding 2,000 keys in its memtable (not yet flushed).
async fn filled_store(path: &Path) -> FjallStore {
    let store = FjallStore::open(path).expect("open");
    let mut b = WriteBatch::new();
    for i in 0..2_000u32 {
        b.put(i.to_be_bytes().to_vec(), vec![7; 100]);
    }
    store.write(b).await.expect("write");
    store
}

#[test]
fn a_checkpoint_of_a_removed_store_fails_instead_of_waiting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kv");
    let out = bounded("checkpoint of a removed store", async move {
        let store = filled_store(&path).await;
        std::fs::remove_dir_all(&path).expect("remove the store");
        store.checkpoint().await
    });
    let err = out.expect_err("a checkpoint with no directory cannot succeed");
    assert!(err.to_string().contains("gone"), "{err}");
}

/// The path the old code hung on: the directory is there, but fjall's flush
/// fails (its keyspace folder was removed), which stops fjall's worker and
/// leaves the sealed memtable in place for good.
#[test]
fn a_checkpoint_whose_flush_fails_gives_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kv");
    let out = bounded("checkpoint with a failing flush", async move {
        let store = filled_store(&path).await;
        let keyspaces = path.join("keyspaces");
        assert!(
            keyspaces.is_dir(),
            "fjall keeps its tables under {keyspaces:?}"
        );
        std::fs::remove_dir_all(&keyspaces).expect("remove the tables");
        store.checkpoint().await
    });
    let err = out.expect_err("a checkpoint whose flush failed cannot succeed");
    // fjall reports the stopped worker as a poisoned database.
    assert!(err.to_string().contains("Poisoned"), "{err}");
}

fn config(dir: &Path) -> ServiceConfig {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        blob_replicas: 1,
        ..ServiceConfig::default()
    };
    cfg.sharding.shards = 2;
    cfg
}

#[test]
fn a_service_whose_data_dir_was_removed_still_shuts_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let gone = data.clone();
    bounded("shutdown with the data dir removed", async move {
        let svc = Service::open_embedded(config(&data)).await.expect("open");
        svc.create_user("ann", "ann@x.test").await.expect("user");
        std::fs::remove_dir_all(&data).expect("remove the data dir");
        svc.shutdown().await;
    });
    assert!(!gone.exists(), "shutdown recreated the data directory");
}

#[test]
fn a_clean_shutdown_still_checkpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kv");
    let reopen = path.clone();
    bounded("checkpoint of a healthy store", async move {
        let store = filled_store(&path).await;
        store.checkpoint().await.expect("checkpoint");
    });
    let store = FjallStore::open(&reopen).expect("reopen");
    let stats = store.read_stats().expect("fjall counts");
    assert_eq!(stats.log_bytes_replayed, 0, "{stats:?}");
}
