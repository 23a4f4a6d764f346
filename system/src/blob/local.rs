//! Local replicated `BlobStore` backend: N replica directories on disk.
//!
//! Layout: `root/r{i}/ab/cd/<key>` for replica `i`, where `ab` and `cd` are
//! the key's first two pairs of hex digits, so no directory holds more than
//! a 1/65536 share of the blobs. Each file is the blob's bytes plus an
//! integrity trailer ([`super::format`]).
//!
//! - `put` writes every replica that lacks a well-formed copy, concurrently,
//!   through temp file → fsync → rename → fsync dir (and fsyncs the fan-out
//!   parent the first time a directory is used; the 256 top directories are
//!   made when the store opens), and returns only when all are durable. Same bytes are stored once per replica (dedup).
//! - `get` reads replica 0 first (on the calling thread when the whole file is
//!   in the page cache, see `offload`) and falls back to the next replica when a
//!   copy is missing, truncated or fails its checksums (logged with
//!   `tracing::warn!`); corrupt bytes are never returned. The bad copy is
//!   then repaired in the background (read repair, `repair.rs`), and
//!   [`LocalBlobStore::scrub`] finds what reads do not (`scrub.rs`).
//! - `put`, `delete` and scrub's repair of a key are serialized by a striped
//!   per-key lock, so a repair can never resurrect a concurrently deleted
//!   blob. Reads take no lock (rename is atomic).
//! - An upload body too large to hold in memory is written by a sink
//!   (`stream.rs`) straight into one temp file per replica as it arrives,
//!   and renamed into place on commit, under the same lock.
//!
//! One process owns a root at a time.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{Mutex, MutexGuard};

use super::direct::DirectFile;
pub(super) use super::offload::blocking;
use super::offload::{Pool, blocking_on, try_read_full};
use super::repair::{Failures, Upkeep};
use super::replica;
use super::stream::LocalSink;
use super::{BlobKey, BlobMeta, BlobSink, BlobStore, format};
use crate::error::{Error, Result};

pub use super::repair::Integrity;
pub use super::scrub::ScrubReport;

/// Number of stripes of the per-key lock.
const LOCK_STRIPES: usize = 256;
/// Fan-out directories per replica (4 hex digits).
const FANOUT_DIRS: usize = 1 << 16;

/// Blob store over N local replica directories; cheap to clone (shared).
#[derive(Clone)]
pub struct LocalBlobStore {
    pub(super) inner: Arc<Inner>,
}

/// State shared by all clones of a [`LocalBlobStore`].
pub(super) struct Inner {
    root: PathBuf,
    replicas: usize,
    locks: Vec<Mutex<()>>,
    /// One bit per (replica, fan-out dir): set once the directory and its
    /// entries in the parents are known durable.
    durable_dirs: Vec<AtomicU64>,
    /// Read repair and scrub counters and switches.
    pub(super) upkeep: Upkeep,
}

impl fmt::Debug for LocalBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBlobStore")
            .field("root", &self.inner.root)
            .field("replicas", &self.inner.replicas)
            .finish()
    }
}

/// Create the 256 top fan-out directories (`00` to `ff`) of `replica_root` where missing and
/// fsync it, so that a fan-out directory's first use fsyncs only its parent.
fn make_top_dirs(replica_root: &Path) -> Result<()> {
    for b in 0..=255u8 {
        match std::fs::create_dir(replica_root.join(format!("{b:02x}"))) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e.into()),
            _ => {}
        }
    }
    replica::sync_dir(replica_root)
}

/// The first 4 hex digits of a key as a number (its fan-out directory).
fn prefix16(key: &BlobKey) -> usize {
    usize::from_str_radix(&key.as_str()[..4], 16).expect("a BlobKey is 64 hex digits")
}

impl LocalBlobStore {
    /// Write every replica of `key` (`len` data bytes) that lacks a
    /// well-formed copy, concurrently on `pool`, each with `fill`, under the
    /// key's lock; returns once all are durable (or the first error, after
    /// every write has ended).
    async fn write_missing(
        &self,
        (key, len, pool): (&BlobKey, u64, Pool),
        fill: impl Fn(&mut DirectFile) -> Result<()> + Send + Sync + 'static,
    ) -> Result<()> {
        let _guard = self.inner.lock(key).await;
        let (inner, k) = (self.inner.clone(), key.clone());
        let missing: Vec<usize> = blocking(move || {
            Ok((0..inner.replicas)
                .filter(|&i| !inner.has_copy(i, &k, len))
                .collect())
        })
        .await?;
        let fill = Arc::new(fill);
        let writes = missing.into_iter().map(|i| {
            let (inner, key, fill) = (self.inner.clone(), key.clone(), fill.clone());
            blocking_on(pool, move || inner.write_replica(i, &key, |f| fill(f)))
        });
        futures::future::join_all(writes)
            .await
            .into_iter()
            .collect()
    }

    /// Open (creating if needed) a store at `root` with `replicas` replica
    /// directories `root/r0 .. root/r{replicas-1}`. `replicas` must be ≥ 1
    /// (the service default is 2). Blocking; call before serving.
    pub fn open(root: &Path, replicas: usize) -> Result<Self> {
        if replicas == 0 {
            return Err(Error::InvalidInput("a blob store needs ≥ 1 replica".into()));
        }
        let existed = root.exists();
        std::fs::create_dir_all(root)?;
        if !existed && let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            replica::sync_dir(parent)?;
        }
        for i in 0..replicas {
            std::fs::create_dir_all(root.join(format!("r{i}")))?;
            super::stream::clear_stream_temps(&root.join(format!("r{i}")))?;
            make_top_dirs(&root.join(format!("r{i}")))?;
        }
        replica::sync_dir(root)?;
        let inner = Inner {
            root: root.to_path_buf(),
            replicas,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            durable_dirs: (0..replicas * FANOUT_DIRS / 64)
                .map(|_| AtomicU64::new(0))
                .collect(),
            upkeep: Upkeep::default(),
        };
        Ok(LocalBlobStore {
            inner: Arc::new(inner),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Number of replicas every blob is written to.
    pub fn replicas(&self) -> usize {
        self.inner.replicas
    }

    /// Where replica `replica`'s copy of `key` lives (whether or not it
    /// exists). For tests and operators; do not write there directly.
    pub fn replica_path(&self, replica: usize, key: &BlobKey) -> PathBuf {
        self.inner.replica_path(replica, key)
    }
}

impl Inner {
    /// True once background work was told to stop.
    pub(super) fn upkeep_stopped(&self) -> bool {
        self.upkeep.stopped.load(Ordering::Acquire)
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn replicas(&self) -> usize {
        self.replicas
    }

    pub(super) fn replica_root(&self, replica: usize) -> PathBuf {
        self.root.join(format!("r{replica}"))
    }

    fn fanout_dir(&self, replica: usize, key: &BlobKey) -> PathBuf {
        let k = key.as_str();
        self.replica_root(replica).join(&k[..2]).join(&k[2..4])
    }

    pub(super) fn replica_path(&self, replica: usize, key: &BlobKey) -> PathBuf {
        self.fanout_dir(replica, key).join(key.as_str())
    }

    /// Lock `key`'s stripe (serializes put, delete and repair of a key).
    pub(super) async fn lock(&self, key: &BlobKey) -> MutexGuard<'_, ()> {
        self.locks[prefix16(key) % LOCK_STRIPES].lock().await
    }

    /// The fan-out directory of `key` on `replica`, created and made durable
    /// on first use (its parent fsynced; the root too if the parent was gone).
    pub(super) fn ensure_dir(&self, replica: usize, key: &BlobKey) -> Result<PathBuf> {
        let dir = self.fanout_dir(replica, key);
        let bit = replica * FANOUT_DIRS + prefix16(key);
        let (word, mask) = (&self.durable_dirs[bit / 64], 1u64 << (bit % 64));
        if word.load(Ordering::Acquire) & mask != 0 {
            return Ok(dir);
        }
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Its top directory is gone (a wiped replica): make it, durably.
                std::fs::create_dir_all(&dir)?;
                replica::sync_dir(&self.replica_root(replica))?;
                replica::sync_dir(&self.root)?;
            }
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e.into()),
            _ => {}
        }
        replica::sync_dir(dir.parent().expect("fan-out dir has a parent"))?;
        word.fetch_or(mask, Ordering::Release);
        Ok(dir)
    }

    /// (Re)create `replica`'s root directory durably and forget which of its
    /// fan-out directories were known durable (after the replica was wiped).
    pub(super) fn reset_replica(&self, replica: usize) -> Result<()> {
        std::fs::create_dir_all(self.replica_root(replica))?;
        make_top_dirs(&self.replica_root(replica))?;
        replica::sync_dir(&self.root)?;
        let words = FANOUT_DIRS / 64;
        for w in &self.durable_dirs[replica * words..(replica + 1) * words] {
            w.store(0, Ordering::Release);
        }
        Ok(())
    }

    /// Durably write `key` on `replica` with `fill` (see
    /// [`replica::write_durable`]). If the directory vanished under us (a
    /// wiped replica), rebuild the replica root and retry once.
    pub(super) fn write_replica(
        &self,
        replica: usize,
        key: &BlobKey,
        fill: impl Fn(&mut DirectFile) -> Result<()>,
    ) -> Result<()> {
        let dir = self.ensure_dir(replica, key)?;
        match replica::write_durable(&dir, key, &fill) {
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(replica, "blob replica directory vanished; recreating it");
                self.reset_replica(replica)?;
                let dir = self.ensure_dir(replica, key)?;
                replica::write_durable(&dir, key, &fill)
            }
            other => other,
        }
    }

    /// True when `replica` holds a well-formed copy of `len` bytes (footer
    /// only; data bytes are verified by reads and scrub).
    pub(super) fn has_copy(&self, replica: usize, key: &BlobKey, len: u64) -> bool {
        matches!(replica::open(&self.replica_path(replica, key)),
                 Ok((_, f)) if f.data_len == len)
    }

    /// Try each replica in order until one succeeds; see [`Failures`].
    /// Also says whether a copy was skipped as missing or bad (so the
    /// caller can queue a repair).
    fn first_good<T>(
        &self,
        key: &BlobKey,
        what: &str,
        mut read: impl FnMut(&Path) -> Result<T>,
    ) -> Result<(T, bool)> {
        let mut failures = Failures::default();
        for i in 0..self.replicas {
            match read(&self.replica_path(i, key)) {
                Ok(v) => {
                    failures.warn_fallback(key, what, i);
                    let skipped = failures
                        .0
                        .iter()
                        .any(|(_, e)| matches!(e, Error::NotFound(_) | Error::Corrupt(_)));
                    return Ok((v, skipped));
                }
                Err(e @ Error::RangeNotSatisfiable { .. }) => return Err(e),
                Err(e) => failures.0.push((i, e)),
            }
        }
        Err(failures.into_error(key, what))
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    fn backend(&self) -> &'static str {
        "local"
    }

    fn as_local(&self) -> Option<&LocalBlobStore> {
        Some(self)
    }

    async fn put(&self, key: &BlobKey, data: Bytes) -> Result<()> {
        let (k, d) = (key.clone(), data.clone());
        let trailer = blocking(move || {
            if BlobKey::of(&d) != k {
                return Err(Error::InvalidInput(format!(
                    "key {k} is not the BLAKE3 of the data"
                )));
            }
            Ok(Bytes::from(format::trailer(&d)))
        })
        .await?;
        let len = data.len() as u64;
        self.write_missing((key, len, Pool::Shared), move |f| {
            std::io::Write::write_all(f, &data)?;
            std::io::Write::write_all(f, &trailer)?;
            Ok(())
        })
        .await
    }

    /// Pieces go straight into every replica's temp file (`stream`): nothing is spooled.
    async fn sink(&self, _spool: &Path) -> Result<Box<dyn BlobSink>> {
        Ok(Box::new(LocalSink::open(self.inner.clone()).await?))
    }

    async fn put_file(&self, key: &BlobKey, src: &Path, len: u64) -> Result<()> {
        let (k, s, src) = (key.clone(), src.to_path_buf(), src.to_path_buf());
        // A file's body is large (a video): its writes run on the nicer writer pool.
        let trailer = blocking_on(Pool::Writer, move || {
            let (actual, trailer) = replica::scan_plain(&s, len)?;
            if actual != k {
                return Err(Error::InvalidInput(format!(
                    "key {k} is not the BLAKE3 of the data"
                )));
            }
            Ok(trailer)
        })
        .await?;
        self.write_missing((key, len, Pool::Writer), move |f| {
            replica::copy_plain(&src, len, &trailer, f)
        })
        .await
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes> {
        // Replica 0 whole in memory: no hand-off to the blocking pool (see `offload`), and
        // a unit of the task's budget, so a task that only reads still yields.
        if range.is_none()
            && let Some(bytes) = try_read_full(&self.replica_path(0, key))
        {
            tokio::task::coop::consume_budget().await;
            return Ok(bytes);
        }
        let (inner, k) = (self.inner.clone(), key.clone());
        let (bytes, skipped) = blocking(move || match range {
            None => inner.first_good(&k, "get", replica::read_full),
            Some(r) => inner.first_good(&k, "range get", |p| replica::read_range(p, r.clone())),
        })
        .await?;
        if skipped {
            self.inner.queue_repair(key);
        }
        Ok(bytes)
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>> {
        let (inner, key) = (self.inner.clone(), key.clone());
        let res = blocking(move || inner.first_good(&key, "head", replica::open)).await;
        match res {
            Ok(((_, footer), _)) => Ok(Some(BlobMeta {
                size: footer.data_len,
            })),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let _guard = self.inner.lock(key).await;
        let (inner, key) = (self.inner.clone(), key.clone());
        blocking(move || {
            let results: Vec<Result<bool>> = (0..inner.replicas)
                .map(|i| replica::remove_durable(&inner.replica_path(i, &key)))
                .collect();
            results.into_iter().try_for_each(|r| r.map(|_| ()))
        })
        .await
    }
}
