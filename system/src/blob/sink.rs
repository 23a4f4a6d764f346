//! The `BlobSink` seam: a blob written as its bytes arrive, before its key is known
//! ([`BlobStore::sink`]), and the spooling sink every store has by default.
//!
//! An upload body larger than the service keeps in memory goes to a sink piece by piece.
//! [`BlobSink::finish`] names its key once the last piece is in; [`BlobSink::commit`] stores it
//! durably under that key, which the caller does only once it holds whatever lock orders the
//! blob's puts and deletes. A sink dropped before its commit leaves nothing behind.
//!
//! [`SpoolSink`] writes the pieces to a temp file in a spool directory and commits with
//! [`BlobStore::put_file`]: the S3 store's sink, since an object's upload wants its length
//! first. The local store writes the pieces straight into its replicas' temp files (see
//! `stream`), so a video is neither spooled nor read back.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::{BlobKey, BlobStore, Pool, blocking_on};
use crate::error::{Error, Result};

/// A blob being written piece by piece.
///
/// Contract, checked by [`super::conformance::test_suite`]:
/// - [`BlobSink::write`] appends a piece; pieces may have any length, empty ones included;
/// - [`BlobSink::finish`], after the last piece, gives the BLAKE3 key and length of all the
///   bytes written; nothing is readable under that key yet (unless it was stored before);
/// - [`BlobSink::commit`], after `finish`, stores the bytes durably under that key, as
///   [`BlobStore::put`] does (storing a key already present is a no-op);
/// - dropping a sink before its commit stores nothing and leaves no files behind;
/// - a call out of that order is [`Error::Internal`], and so is any call after one failed.
#[async_trait]
pub trait BlobSink: Send + Sync + fmt::Debug {
    /// Append `piece`. Returns its buffer, emptied, for the next piece.
    async fn write(&mut self, piece: Vec<u8>) -> Result<Vec<u8>>;

    /// All pieces are in: the key and length of the bytes written.
    async fn finish(&mut self) -> Result<(BlobKey, u64)>;

    /// Store the finished bytes under their key, durably.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// The error of a call out of order or after a failed one.
pub(super) fn misuse(what: &str) -> Error {
    Error::Internal(format!("blob sink: {what}"))
}

/// A sink for a store that cannot take pieces where they will stay: a temp file in a spool
/// directory, hashed as it is written (on the writer pool, [`Pool::Writer`]), committed with
/// the store's [`BlobStore::put_file`]. The temp file is removed when the sink is dropped.
pub struct SpoolSink {
    store: Arc<dyn BlobStore>,
    file: Option<(tempfile::TempPath, Arc<File>)>,
    hasher: Option<Box<blake3::Hasher>>,
    len: u64,
    key: Option<BlobKey>,
}

impl fmt::Debug for SpoolSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpoolSink")
            .field("len", &self.len)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl SpoolSink {
    /// A sink spooling to a new temp file in `dir` (created if missing), for `store`.
    pub async fn create(dir: &Path, store: Arc<dyn BlobStore>) -> Result<Self> {
        let dir = dir.to_path_buf();
        let named = blocking_on(Pool::Writer, move || {
            std::fs::create_dir_all(&dir)?;
            Ok(tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(dir)?)
        })
        .await?;
        let (file, path) = named.into_parts();
        Ok(SpoolSink {
            store,
            file: Some((path, Arc::new(file))),
            hasher: Some(Box::default()),
            len: 0,
            key: None,
        })
    }
}

#[async_trait]
impl BlobSink for SpoolSink {
    async fn write(&mut self, mut piece: Vec<u8>) -> Result<Vec<u8>> {
        let (Some((_, file)), Some(mut hasher), None) = (&self.file, self.hasher.take(), &self.key)
        else {
            return Err(misuse("write after finish or after a failure"));
        };
        let file = file.clone();
        self.len += piece.len() as u64;
        let (hasher, piece) = blocking_on(Pool::Writer, move || {
            hasher.update(&piece);
            (&*file).write_all(&piece)?;
            piece.clear();
            Ok((hasher, piece))
        })
        .await?;
        self.hasher = Some(hasher);
        Ok(piece)
    }

    async fn finish(&mut self) -> Result<(BlobKey, u64)> {
        let hasher = self
            .hasher
            .take()
            .ok_or_else(|| misuse("finish twice or after a failure"))?;
        let key = BlobKey::parse(hasher.finalize().to_hex().as_str())?;
        self.key = Some(key.clone());
        Ok((key, self.len))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let (Some((path, _)), Some(key)) = (&self.file, &self.key) else {
            return Err(misuse("commit before finish"));
        };
        self.store.put_file(key, path, self.len).await
    }
}
