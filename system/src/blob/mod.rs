//! The `BlobStore` seam: where photo and video bytes live.
//!
//! Blobs are content-addressed: a [`BlobKey`] is the BLAKE3 hash of the
//! bytes, so the same bytes are stored once. A blob too large to hold in
//! memory is written piece by piece through a [`BlobSink`]. Every backend must pass
//! [`conformance::test_suite`]. Backends: [`LocalBlobStore`] (replicated
//! directories) and [`S3BlobStore`] (any S3-compatible server).

mod background;
pub mod conformance;
pub mod direct;
pub mod format;
pub mod local;
mod offload;
mod repair;
mod replica;
pub mod s3;
mod scrub;
pub mod sink;
mod stream;

use std::fmt;
use std::ops::Range;
use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

pub use background::ScrubPace;
pub use local::{Integrity, LocalBlobStore, ScrubReport};
pub(crate) use offload::{Pool, blocking_on};
pub use s3::S3BlobStore;
pub use sink::{BlobSink, SpoolSink};

/// The content address of a blob: 64 lowercase hex chars of BLAKE3.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of `data` (its BLAKE3 hash).
    pub fn of(data: &[u8]) -> Self {
        BlobKey(blake3::hash(data).to_hex().to_string())
    }

    /// Parse a key from its hex form; rejects anything that is not exactly
    /// 64 lowercase hex digits (so a key can never be a path).
    pub fn parse(s: &str) -> Result<Self> {
        let ok = s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(BlobKey(s.to_owned()))
        } else {
            Err(Error::InvalidInput(format!("not a blob key: {s:?}")))
        }
    }

    /// The hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`BlobStore::head`] tells about a stored blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobMeta {
    /// Size in bytes.
    pub size: u64,
}

/// A store of immutable, content-addressed byte objects.
///
/// Contract, checked by [`conformance::test_suite`]:
/// - `put` returns only once the bytes are durable; putting the same key
///   again is a cheap no-op; a key that is not the hash of the data is
///   rejected with [`Error::InvalidInput`];
/// - `get` returns the whole blob, or exactly the bytes of a range
///   `start..end` (end exclusive, clamped to the size); a range starting at
///   or past the end is [`Error::RangeNotSatisfiable`]; an absent key is
///   [`Error::NotFound`];
/// - bytes are verified on read; corrupt bytes are never returned;
/// - `delete` is idempotent.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A short backend name for reports (`"local"`, `"s3"`).
    fn backend(&self) -> &'static str;

    /// Store `data` under `key` durably.
    async fn put(&self, key: &BlobKey, data: Bytes) -> Result<()>;

    /// Store the bytes of the file `src` (exactly `len` of them) under
    /// `key`, durably, reading the file piece by piece: memory stays
    /// bounded by the backend's piece size whatever `len` is. The same
    /// contract as [`BlobStore::put`]: a key that is not the BLAKE3 of the
    /// bytes is [`Error::InvalidInput`], and so is a file that is not `len`
    /// bytes long. The caller keeps `src` and removes it afterwards.
    async fn put_file(&self, key: &BlobKey, src: &Path, len: u64) -> Result<()>;

    /// A [`BlobSink`] for a blob whose bytes arrive in pieces and whose key is known only
    /// after the last. `spool` is a directory a [`SpoolSink`] may keep its temp file in; a
    /// store that writes pieces where they will stay ignores it. Wrappers forward it,
    /// wrapping the sink.
    async fn sink(&self, spool: &Path) -> Result<Box<dyn BlobSink>>;

    /// Read the blob, or a byte range of it.
    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes>;

    /// Size of the blob, or `None` if absent.
    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>>;

    /// Remove the blob (all replicas). Absent keys are fine.
    async fn delete(&self, key: &BlobKey) -> Result<()>;

    /// The local replicated store behind this one, if it is one: for its
    /// integrity upkeep (read repair counters, background scrub). Wrappers
    /// forward it; other backends keep the default `None`.
    fn as_local(&self) -> Option<&LocalBlobStore> {
        None
    }
}
