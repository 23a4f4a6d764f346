//! Blob-store faults: the stop switch's store wrapper and the one-shot replica damage.
//!
//! [`FaultBlobs`] wraps the service's [`BlobStore`] (whatever its backend, local or S3) and
//! fails every call with [`Error::Unavailable`] while [`Faults::blob_stopped`] is set: uploads
//! and photo reads answer 503 `unavailable`. It models a stopped blob server as the service
//! sees it (every request refused at once), not the connect timeouts of a real outage; the
//! store itself, and the local store's background scrub, carry on underneath.
//!
//! [`damage_replica`] deletes or corrupts replica 0's copy of a bounded sample of the blobs a
//! local replicated store holds: the first `limit` keys in key order, which, keys being
//! content hashes, is an unbiased and deterministic sample. Replica 0 is the one reads try
//! first, so a read of a damaged blob falls back to another replica and queues a read repair.
//! It needs the local store with at least two replicas (otherwise the only copy would be
//! lost); anything else is [`Error::InvalidInput`].

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::Faults;
use crate::blob::{BlobKey, BlobMeta, BlobSink, BlobStore, LocalBlobStore};
use crate::error::{Error, Result};

/// The replica [`damage_replica`] damages: the one reads try first.
const DAMAGED_REPLICA: usize = 0;

impl Faults {
    /// Wraps the service's blob store so that its calls obey the stop switch.
    pub fn wrap_blobs(&self, store: Arc<dyn BlobStore>) -> Arc<dyn BlobStore> {
        Arc::new(FaultBlobs {
            inner: store,
            faults: self.clone(),
        })
    }
}

/// A [`BlobStore`] that fails every call while its board's blob store is stopped; built by
/// [`Faults::wrap_blobs`].
pub struct FaultBlobs {
    inner: Arc<dyn BlobStore>,
    faults: Faults,
}

impl std::fmt::Debug for FaultBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultBlobs")
            .field("backend", &self.inner.backend())
            .finish_non_exhaustive()
    }
}

impl FaultBlobs {
    fn check(&self) -> Result<()> {
        check(&self.faults, self.inner.backend())
    }
}

/// [`Error::Unavailable`] while `faults` has the `backend` blob store stopped.
fn check(faults: &Faults, backend: &str) -> Result<()> {
    if faults.blob_stopped() {
        return Err(Error::Unavailable(format!(
            "the {backend} blob store is stopped"
        )));
    }
    Ok(())
}

/// A sink of a [`FaultBlobs`]: every call fails while the blob store is stopped, so an
/// upload streaming when the store stops is refused, and nothing of it is stored.
#[derive(Debug)]
struct FaultSink {
    sink: Box<dyn BlobSink>,
    faults: Faults,
    backend: &'static str,
}

#[async_trait]
impl BlobSink for FaultSink {
    async fn write(&mut self, piece: Vec<u8>) -> Result<Vec<u8>> {
        check(&self.faults, self.backend)?;
        self.sink.write(piece).await
    }

    async fn finish(&mut self) -> Result<(BlobKey, u64)> {
        check(&self.faults, self.backend)?;
        self.sink.finish().await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        check(&self.faults, self.backend)?;
        self.sink.commit().await
    }
}

#[async_trait]
impl BlobStore for FaultBlobs {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, key: &BlobKey, data: Bytes) -> Result<()> {
        self.check()?;
        self.inner.put(key, data).await
    }

    async fn put_file(&self, key: &BlobKey, src: &Path, len: u64) -> Result<()> {
        self.check()?;
        self.inner.put_file(key, src, len).await
    }

    async fn sink(&self, spool: &Path) -> Result<Box<dyn BlobSink>> {
        self.check()?;
        Ok(Box::new(FaultSink {
            sink: self.inner.sink(spool).await?,
            faults: self.faults.clone(),
            backend: self.inner.backend(),
        }))
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes> {
        self.check()?;
        self.inner.get(key, range).await
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>> {
        self.check()?;
        self.inner.head(key).await
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        self.check()?;
        self.inner.delete(key).await
    }

    fn as_local(&self) -> Option<&LocalBlobStore> {
        self.inner.as_local()
    }
}

/// What [`damage_replica`] does to each sampled copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaDamage {
    /// The copy's file is removed.
    Delete,
    /// The copy's first data byte is flipped (its chunk checksum then fails).
    Corrupt,
}

/// What [`damage_replica`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    /// The replica damaged.
    pub replica: usize,
    /// The keys whose copy on `replica` was damaged, in key order.
    pub keys: Vec<BlobKey>,
}

/// Damages replica 0's copy of the first `limit` blobs (in key order) of `store`, which must
/// be the local replicated store with at least two replicas; see the module docs.
pub async fn damage_replica(
    store: &dyn BlobStore,
    how: ReplicaDamage,
    limit: usize,
) -> Result<Damage> {
    let Some(local) = store.as_local() else {
        return Err(Error::InvalidInput(format!(
            "damaging a replica needs the local replicated blob store, not {}",
            store.backend()
        )));
    };
    if local.replicas() < 2 {
        return Err(Error::InvalidInput(format!(
            "damaging a replica needs blob-replicas >= 2 (the store has {})",
            local.replicas()
        )));
    }
    let root = local.root().join(format!("r{DAMAGED_REPLICA}"));
    let local = local.clone();
    let (out, cpu) = tokio::task::spawn_blocking(move || {
        crate::timing::on_thread(|| -> Result<Vec<BlobKey>> {
            let keys = first_keys(&root, limit)?;
            let mut damaged = Vec::with_capacity(keys.len());
            for key in keys {
                if damage_file(&local.replica_path(DAMAGED_REPLICA, &key), how)? {
                    damaged.push(key);
                }
            }
            Ok(damaged)
        })
    })
    .await
    .map_err(|e| Error::Internal(format!("blob damage task failed: {e}")))?;
    crate::timing::cpu::offloaded(cpu);
    Ok(Damage {
        replica: DAMAGED_REPLICA,
        keys: out?,
    })
}

/// What reading back damaged blobs found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadBack {
    /// Served with the right bytes (their BLAKE3 is the key).
    pub ok: usize,
    /// Not found: deleted since (a photo deleted after the damage takes its blob with it).
    pub gone: usize,
}

/// Reads back each of `keys` from `store`; see [`ReadBack`]. The rest were unreadable.
pub async fn readable(store: &dyn BlobStore, keys: &[BlobKey]) -> ReadBack {
    let mut r = ReadBack::default();
    for key in keys {
        match store.get(key, None).await {
            Ok(bytes) if BlobKey::of(&bytes) == *key => r.ok += 1,
            Err(crate::Error::NotFound(_)) => r.gone += 1,
            _ => {}
        }
    }
    r
}

/// Sorted sub-directories of `dir`, skipping entries that are not directories.
fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The first `limit` keys, in key order, stored under one replica root (`ab/cd/<key>`).
fn first_keys(root: &Path, limit: usize) -> Result<Vec<BlobKey>> {
    let mut keys = Vec::new();
    for top in sorted_dirs(root)? {
        for mid in sorted_dirs(&top)? {
            let mut here: Vec<BlobKey> = std::fs::read_dir(&mid)?
                .filter_map(|e| e.ok())
                .filter_map(|e| BlobKey::parse(&e.file_name().to_string_lossy()).ok())
                .collect();
            here.sort();
            for key in here {
                if keys.len() >= limit {
                    return Ok(keys);
                }
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// Deletes or corrupts the file at `path`; false when it was already gone.
fn damage_file(path: &Path, how: ReplicaDamage) -> Result<bool> {
    let result = match how {
        ReplicaDamage::Delete => std::fs::remove_file(path),
        ReplicaDamage::Corrupt => flip_first_byte(path),
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn flip_first_byte(path: &Path) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut b = [0u8; 1];
    f.read_exact(&mut b)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&[!b[0]])?;
    f.sync_all()
}
