//! The local store's [`BlobSink`]: a blob's pieces written straight into one temp file per
//! replica as they arrive, so a large upload is neither spooled nor read back.
//!
//! Each piece is hashed, checksummed chunk by chunk ([`super::format`]) and written to every
//! replica's temp file through a [`DirectFile`] (`O_DIRECT` where allowed: no page-cache
//! copy), on the writer pool ([`Pool::Writer`]). [`BlobSink::finish`] appends the integrity
//! trailer and fsyncs every temp file; [`BlobSink::commit`] takes the key's lock and renames
//! each temp file into place (fsyncing its fan-out directory), or removes it where the
//! replica already holds a well-formed copy. A replica whose temp file vanished (its
//! directory was wiped mid-upload) gets a verified copy of a committed replica instead.
//!
//! The temp files live in the replica roots, named `.tmp.stream.*`, out of scrub's sight;
//! a sink dropped before its commit removes them, and [`clear_stream_temps`] removes those a
//! crash left when the store next opens.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::BlobKey;
use super::direct::DirectFile;
use super::format::{CHUNK_SIZE, Footer};
use super::local::Inner;
use super::offload::{Pool, blocking_on};
use super::replica::{self, TEMP_PREFIX};
use super::sink::{BlobSink, misuse};
use crate::error::{Error, Result};

/// File-name prefix of a stream's temp files in a replica root.
const STREAM_PREFIX: &str = "stream.";

/// A [`BlobSink`] into a [`super::LocalBlobStore`]'s replicas (see the module docs).
pub(super) struct LocalSink {
    inner: Arc<Inner>,
    /// `None` while a write runs on the writer pool, and for good after one failed.
    staged: Option<Box<Staged>>,
    key: Option<BlobKey>,
}

impl fmt::Debug for LocalSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSink")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The bytes written so far: one temp file per replica, the running hash and checksums.
struct Staged {
    /// Temp file paths, by replica; emptied once they are renamed or removed.
    paths: Vec<PathBuf>,
    /// Their writers, until `finish`.
    outs: Vec<DirectFile>,
    hasher: blake3::Hasher,
    /// CRC32C of every whole chunk so far, little-endian.
    crcs: Vec<u8>,
    /// CRC and length of the chunk being filled.
    chunk: (u32, usize),
    len: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for p in self.paths.drain(..) {
            let _ = fs::remove_file(p);
        }
    }
}

impl Staged {
    /// Hash, checksum and write `piece` to every replica.
    fn append(&mut self, mut piece: &[u8]) -> Result<()> {
        self.hasher.update(piece);
        for out in &mut self.outs {
            std::io::Write::write_all(out, piece)?;
        }
        self.len += piece.len() as u64;
        let cs = CHUNK_SIZE as usize;
        while !piece.is_empty() {
            let (crc, fill) = &mut self.chunk;
            let n = (cs - *fill).min(piece.len());
            *crc = crc32c::crc32c_append(*crc, &piece[..n]);
            *fill += n;
            piece = &piece[n..];
            if *fill == cs {
                self.crcs.extend_from_slice(&crc.to_le_bytes());
                self.chunk = (0, 0);
            }
        }
        Ok(())
    }

    /// Write the trailer to every replica and fsync each; the key of the bytes.
    fn seal(&mut self) -> Result<BlobKey> {
        let (crc, fill) = std::mem::take(&mut self.chunk);
        if fill > 0 {
            self.crcs.extend_from_slice(&crc.to_le_bytes());
        }
        let footer = Footer {
            data_len: self.len,
            chunk_size: CHUNK_SIZE,
        };
        self.crcs.extend_from_slice(&footer.encode());
        for mut out in self.outs.drain(..) {
            std::io::Write::write_all(&mut out, &self.crcs)?;
            out.finish()?;
        }
        BlobKey::parse(self.hasher.finalize().to_hex().as_str())
    }
}

/// A fresh temp file name for a stream.
fn temp_name() -> String {
    let r: u64 = rand::random();
    format!(
        "{TEMP_PREFIX}{STREAM_PREFIX}{}.{r:016x}",
        std::process::id()
    )
}

impl LocalSink {
    /// A sink with a new temp file in every replica root of `inner`.
    pub(super) async fn open(inner: Arc<Inner>) -> Result<Self> {
        let i = inner.clone();
        let staged = blocking_on(Pool::Writer, move || {
            let mut st = Box::new(Staged {
                paths: Vec::new(),
                outs: Vec::new(),
                hasher: blake3::Hasher::new(),
                crcs: Vec::new(),
                chunk: (0, 0),
                len: 0,
            });
            for r in 0..i.replicas() {
                let path = i.replica_root(r).join(temp_name());
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)?;
                st.paths.push(path);
                st.outs.push(DirectFile::new(file));
            }
            Ok(st)
        })
        .await?;
        Ok(LocalSink {
            inner,
            staged: Some(staged),
            key: None,
        })
    }
}

#[async_trait]
impl BlobSink for LocalSink {
    async fn write(&mut self, mut piece: Vec<u8>) -> Result<Vec<u8>> {
        let mut st = match (self.staged.take(), &self.key) {
            (Some(st), None) => st,
            _ => return Err(misuse("write after finish or after a failure")),
        };
        let (st, piece) = blocking_on(Pool::Writer, move || {
            st.append(&piece)?;
            piece.clear();
            Ok((st, piece))
        })
        .await?;
        self.staged = Some(st);
        Ok(piece)
    }

    async fn finish(&mut self) -> Result<(BlobKey, u64)> {
        let mut st = match (self.staged.take(), &self.key) {
            (Some(st), None) => st,
            _ => return Err(misuse("finish twice or after a failure")),
        };
        let (st, key) = blocking_on(Pool::Writer, move || {
            let key = st.seal()?;
            Ok((st, key))
        })
        .await?;
        let len = st.len;
        self.staged = Some(st);
        self.key = Some(key.clone());
        Ok((key, len))
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let (Some(mut st), Some(key)) = (self.staged.take(), self.key.take()) else {
            return Err(misuse("commit before finish or after a failure"));
        };
        let _guard = self.inner.lock(&key).await;
        let inner = self.inner.clone();
        blocking_on(Pool::Writer, move || {
            let paths = std::mem::take(&mut st.paths);
            place(&inner, &key, st.len, paths)
        })
        .await
    }
}

/// Put each replica's temp file (`paths[i]`) in place as `key`, or remove it where that
/// replica already holds a copy; a replica whose temp file is gone is copied from one
/// placed. No temp file is left, whatever the outcome. Caller holds the key's lock.
fn place(inner: &Inner, key: &BlobKey, len: u64, paths: Vec<PathBuf>) -> Result<()> {
    let placed = place_each(inner, key, len, &paths);
    for tmp in &paths {
        // Gone already when it was renamed; anything else is not wanted any more.
        let _ = fs::remove_file(tmp);
    }
    placed
}

fn place_each(inner: &Inner, key: &BlobKey, len: u64, paths: &[PathBuf]) -> Result<()> {
    let (mut placed, mut lost) = (None, Vec::new());
    for (r, tmp) in paths.iter().enumerate() {
        if inner.has_copy(r, key, len) {
            placed.get_or_insert(r);
            continue;
        }
        match rename_in(inner, r, key, tmp) {
            Ok(()) => {
                placed.get_or_insert(r);
            }
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => lost.push(r),
            Err(e) => return Err(e),
        }
    }
    let Some(from) = placed else {
        return Err(Error::Internal(format!(
            "every replica's temp file of {key} vanished"
        )));
    };
    let src = inner.replica_path(from, key);
    for r in lost {
        tracing::warn!(
            replica = r,
            "blob replica directory vanished; recreating it"
        );
        inner.reset_replica(r)?;
        inner.write_replica(r, key, |out| replica::copy_verified(&src, key, out))?;
    }
    Ok(())
}

/// Rename `tmp` into replica `r`'s place for `key` and fsync the directory.
fn rename_in(inner: &Inner, r: usize, key: &BlobKey, tmp: &Path) -> Result<()> {
    let dir = inner.ensure_dir(r, key)?;
    fs::rename(tmp, dir.join(key.as_str()))?;
    replica::sync_dir(&dir)
}

/// Remove the stream temp files a crash left in `replica_root`. Blocking; call when the
/// store opens, before any sink exists.
pub(super) fn clear_stream_temps(replica_root: &Path) -> Result<()> {
    let prefix = format!("{TEMP_PREFIX}{STREAM_PREFIX}");
    for entry in fs::read_dir(replica_root)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
