//! Two app servers in one process: helpers of the `two_services_*` and
//! `s3_two_services` tests.
//!
//! Two [`Service`] instances built with [`Service::with_stores`] over the
//! same metadata-store handles and the same blob store have separate id
//! sources, materializers, caches and instance ids, exactly as two
//! `feedlab serve` processes on one TiKV cluster would. The metadata
//! stores are fjall (one per shard, in a temp dir) or, when
//! `FEEDLAB_TIKV_PD` names a live cluster, TiKV under a fresh namespace.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use feedlab_system::blob::{BlobStore, LocalBlobStore};
use feedlab_system::ids::IdScheme;
use feedlab_system::meta::fjall_store::FjallOptions;
use feedlab_system::meta::{
    CasOutcome, Direction, Durability, Entry, FjallStore, KeyRange, MetaStore, Op, TikvStore,
    WriteBatch,
};
use feedlab_system::policy::FanoutKind;
use feedlab_system::{Error, Result, Service, ServiceConfig};
use tempfile::TempDir;

/// Physical shards of every pair.
pub const SHARDS: usize = 3;

/// Shared stores of a pair; keeps the temp dir alive.
pub struct Stores {
    /// One metadata store per shard.
    pub metas: Vec<Arc<dyn MetaStore>>,
    /// The blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// Data directory (fjall shards, local blobs).
    pub dir: TempDir,
}

/// fjall shards and local blobs in a fresh temp dir. `fast_cas` persists
/// `cas` in the background (the id tests measure ids, not fsyncs).
pub fn fjall(fast_cas: bool) -> Stores {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = FjallOptions {
        cas_durability: if fast_cas {
            Durability::Buffered
        } else {
            Durability::Sync
        },
        worker_threads: Some(1),
        ..FjallOptions::default()
    };
    let metas = (0..SHARDS)
        .map(|i| {
            let path = dir.path().join(format!("shard-{i}"));
            let s: Arc<dyn MetaStore> =
                Arc::new(FjallStore::open_with(&path, opts.clone()).expect("open fjall"));
            s
        })
        .collect();
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(&dir.path().join("blobs"), 1).expect("blobs"));
    Stores { metas, blobs, dir }
}

/// TiKV shards under a fresh namespace when `FEEDLAB_TIKV_PD` is set (local
/// blobs); otherwise prints the skip line and returns `None`.
pub async fn tikv(test: &str) -> Option<Stores> {
    let Ok(pd) = std::env::var("FEEDLAB_TIKV_PD") else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("{test}: TiKV skipped: FEEDLAB_TIKV_PD not set\n").as_bytes(),
        );
        return None;
    };
    let pd: Vec<String> = pd.split(',').map(|s| s.trim().to_string()).collect();
    let run = format!("t/{test}/{:016x}/", rand::random::<u64>());
    let mut metas: Vec<Arc<dyn MetaStore>> = Vec::new();
    for i in 0..SHARDS {
        let ns = feedlab_system::meta::tikv::shard_namespace(run.as_bytes(), i as u32);
        metas.push(Arc::new(
            TikvStore::connect(pd.clone(), &ns)
                .await
                .expect("connect TiKV"),
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(&dir.path().join("blobs"), 1).expect("blobs"));
    Some(Stores { metas, blobs, dir })
}

/// The pairs' configuration: push fan-out, `ids`, a short outbox lease.
pub fn config(stores: &Stores, ids: IdScheme) -> ServiceConfig {
    let mut cfg = ServiceConfig {
        data_dir: stores.dir.path().to_path_buf(),
        ids,
        outbox_lease_ms: 2_000,
        ticket_block: 64,
        ..ServiceConfig::default()
    };
    cfg.sharding.shards = SHARDS;
    cfg.fanout.kind = FanoutKind::Push;
    cfg
}

/// Two services over `stores`.
pub async fn pair(stores: &Stores, cfg: &ServiceConfig) -> (Service, Service) {
    let open = || Service::with_stores(cfg.clone(), stores.metas.clone(), stores.blobs.clone());
    let a = open().await.expect("service a");
    let b = open().await.expect("service b");
    (a, b)
}

/// Every row under `prefix` across the shards.
pub async fn rows(metas: &[Arc<dyn MetaStore>], prefix: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    for m in metas {
        let r = m
            .scan(&KeyRange::prefix(prefix), Direction::Forward, usize::MAX)
            .await
            .expect("scan");
        out.extend(r);
    }
    out
}

/// A store that can be killed: every call fails with
/// [`Error::Unavailable`] once it is dead. With `die_on_tag`, it dies by
/// itself on the first write touching a key with that table tag (a server
/// dying mid-task).
pub struct Killable {
    inner: Arc<dyn MetaStore>,
    dead: AtomicBool,
    die_on_tag: Option<u8>,
}

impl Killable {
    /// Wrap `inner`.
    pub fn new(inner: Arc<dyn MetaStore>, die_on_tag: Option<u8>) -> Arc<Self> {
        Arc::new(Killable {
            inner,
            dead: AtomicBool::new(false),
            die_on_tag,
        })
    }

    /// Kill it now.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }

    /// True once killed.
    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<()> {
        if self.is_dead() {
            return Err(Error::Unavailable("killed by the test".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl MetaStore for Killable {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.check()?;
        self.inner.batch_get(keys).await
    }
    async fn scan(&self, range: &KeyRange, dir: Direction, limit: usize) -> Result<Vec<Entry>> {
        self.check()?;
        self.inner.scan(range, dir, limit).await
    }
    async fn write(&self, batch: WriteBatch) -> Result<()> {
        self.check()?;
        if let Some(tag) = self.die_on_tag {
            let hit = batch.ops.iter().any(|op| {
                let (Op::Put(k, _) | Op::Delete(k)) = op;
                k.first() == Some(&tag)
            });
            if hit {
                self.kill();
                return Err(Error::Unavailable("died mid-task".into()));
            }
        }
        self.inner.write(batch).await
    }
    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        self.check()?;
        self.inner.cas(key, expected, new).await
    }
}
