//! The S3 blob backend: [`BlobStore`] on any S3-compatible server (Garage,
//! MinIO, AWS) through the `minio` crate.
//!
//! Objects are named `{prefix}{blake3-hex}` in one bucket, addressed
//! path-style (`http://host:port/bucket/key`), signed with SigV4 for the
//! configured region. How the trait's contract maps onto S3:
//! - `put` is durable on return because S3 acknowledges a PUT only once the
//!   object is stored. Objects of 1 MiB and more are looked up first (HEAD)
//!   and skipped when present with the same size, so a re-upload of a video
//!   is cheap; smaller ones are simply overwritten with the same bytes
//!   (idempotent, and one round trip instead of two). Objects of
//!   [`PART_SIZE`] and more go up as a multipart upload.
//! - `get` of the whole blob checks its BLAKE3 hash against the key, so
//!   corrupt bytes are never returned ([`Error::Corrupt`]). A range read
//!   cannot be checked against the key without the whole blob; it relies on
//!   the server's own block checksums (Garage verifies its blocks on read)
//!   and the length is checked.
//! - ranges follow [`super::conformance`]: the `end` is clamped by the
//!   server, and the size for [`Error::RangeNotSatisfiable`] comes from a
//!   HEAD only when a range is empty or out of bounds.
//!
//! Errors ([`map_err`](self::errors)): connection failures, timeouts and
//! 5xx/`SlowDown` become [`Error::Unavailable`] (retryable, HTTP 503);
//! `NoSuchKey` becomes [`Error::NotFound`]; a missing bucket or denied
//! access is a configuration fault ([`Error::Store`], 500). Every request
//! runs under a timeout (`timeout-s`, plus one second per MiB), so an
//! outage fails uploads instead of hanging them.

mod config;
mod errors;

pub use config::{DEFAULT_REGION, S3Config, s3_env_var};

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use minio::s3::MinioClient;
use minio::s3::client::MinioClientBuilder;
use minio::s3::creds::StaticProvider;
use minio::s3::http::BaseUrl;
use minio::s3::types::{Region, S3Api};

use super::{BlobKey, BlobMeta, BlobSink, BlobStore, SpoolSink};
use crate::error::{Error, Result};

use errors::{Op, map_err};

/// Part size of multipart uploads; objects at least this big use them.
pub const PART_SIZE: u64 = 16 << 20;

/// Objects at least this big are HEADed before a put (dedup without
/// re-sending the bytes).
const HEAD_BEFORE_PUT: usize = 1 << 20;

/// A [`BlobStore`] on one bucket of an S3-compatible server. Cheap to clone.
#[derive(Clone)]
pub struct S3BlobStore {
    client: MinioClient,
    bucket: String,
    prefix: String,
    timeout: Duration,
    endpoint: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl S3BlobStore {
    /// A client for `cfg` (validated; no request is sent). Fails with
    /// [`Error::InvalidInput`] on a missing key or a malformed endpoint.
    pub fn new(cfg: &S3Config) -> Result<Self> {
        cfg.validate()?;
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::InvalidInput(format!("s3.{what} {:?}: {e}", cfg.endpoint))
        };
        let mut base: BaseUrl = cfg.endpoint.parse().map_err(|e| bad("endpoint", &e))?;
        base.virtual_style = false;
        base.region = Region::new(cfg.region.as_str()).map_err(|e| bad("region", &e))?;
        let client = MinioClientBuilder::new(base)
            .provider(Some(StaticProvider::new(
                &cfg.access_key,
                &cfg.secret_key,
                None,
            )))
            .app_info(Some(("feedlab".into(), env!("CARGO_PKG_VERSION").into())))
            .build()
            .map_err(|e| bad("endpoint", &e))?;
        Ok(S3BlobStore {
            client,
            bucket: cfg.bucket.clone(),
            prefix: cfg.prefix.clone(),
            timeout: Duration::from_secs(cfg.timeout_s),
            endpoint: cfg.endpoint.clone(),
        })
    }

    /// [`S3BlobStore::new`], then check that the server answers and the
    /// bucket exists: [`Error::Unavailable`] when the server cannot be
    /// reached, [`Error::InvalidInput`] when the bucket is missing.
    pub async fn open(cfg: &S3Config) -> Result<Self> {
        let store = S3BlobStore::new(cfg)?;
        store.check().await?;
        Ok(store)
    }

    /// Ask the server whether the bucket exists (one request).
    pub async fn check(&self) -> Result<()> {
        let req = self
            .client
            .bucket_exists(self.bucket.as_str())
            .map_err(|e| Error::InvalidInput(format!("s3.bucket {:?}: {e}", self.bucket)))?;
        let resp = self.timed(Op::Check, "", 0, req.build().send()).await?;
        if resp.exists() {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "bucket {:?} does not exist at {} (create it; scripts/s3-dev start does)",
                self.bucket, self.endpoint
            )))
        }
    }

    /// The object name of `key`.
    pub fn object_name(&self, key: &BlobKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// Run `fut` under the timeout for an object of `size` bytes, mapping
    /// the client's error.
    async fn timed<T>(
        &self,
        op: Op,
        name: &str,
        size: u64,
        fut: impl Future<Output = std::result::Result<T, minio::s3::error::Error>>,
    ) -> Result<T> {
        let limit = self.timeout + Duration::from_secs(size >> 20);
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(|e| map_err(op, name, e)),
            Err(_) => Err(Error::Unavailable(format!(
                "s3 {op} {name}: no answer from {} within {limit:?}",
                self.endpoint
            ))),
        }
    }

    /// A ranged GET of `len` bytes from `start` (`len` ≥ 1).
    async fn get_range(&self, name: &str, start: u64, len: u64) -> Result<Bytes> {
        let req = self
            .client
            .get_object(self.bucket.as_str(), name)
            .map_err(|e| Error::Internal(format!("s3 object name {name}: {e}")))?
            .offset(Some(start))
            .length(Some(len))
            .build();
        self.fetch(name, req).await
    }

    /// Send a GET: the headers within the base timeout, then the body
    /// within the timeout for its announced length.
    async fn fetch(&self, name: &str, req: minio::s3::builders::GetObject) -> Result<Bytes> {
        let resp = self.timed(Op::Get, name, 0, req.send()).await?;
        let len = resp.object_size().unwrap_or(0);
        self.timed(Op::Get, name, len, resp.into_bytes()).await
    }

    /// The error for a range the server refused: the blob's real size
    /// (one HEAD), or not found.
    async fn unsatisfiable(&self, key: &BlobKey) -> Error {
        match self.head(key).await {
            Ok(Some(m)) => Error::RangeNotSatisfiable { size: m.size },
            Ok(None) => Error::NotFound(format!("blob {key}")),
            Err(e) => e,
        }
    }
}

/// [`Error::InvalidInput`] unless `actual`, the hash of the data, is `key`.
fn check_key(key: &BlobKey, actual: &BlobKey) -> Result<()> {
    if actual == key {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "blob key {key} is not the hash of the data ({actual})"
    )))
}

impl S3BlobStore {
    /// PUT `content` (`size` bytes) as `key`'s object: one request, or a
    /// multipart upload in [`PART_SIZE`] parts (minio reads a file content
    /// part by part).
    async fn upload(
        &self,
        key: &BlobKey,
        content: impl Into<minio::s3::builders::ObjectContent>,
        size: u64,
    ) -> Result<()> {
        let name = self.object_name(key);
        let req = self
            .client
            .put_object_content(self.bucket.as_str(), name.as_str(), content)
            .map_err(|e| Error::Internal(format!("s3 object name {name}: {e}")))?
            // minio 0.4 rejects an explicit part size for an empty object.
            .part_size((size > 0).then_some(PART_SIZE))
            .content_type(Some("application/octet-stream".to_owned()))
            .build();
        self.timed(Op::Put, &name, size, req.send()).await?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, key: &BlobKey, data: Bytes) -> Result<()> {
        let actual = if data.len() > HEAD_BEFORE_PUT {
            let d = data.clone();
            tokio::task::spawn_blocking(move || BlobKey::of(&d))
                .await
                .map_err(|e| Error::Internal(format!("hash task: {e}")))?
        } else {
            BlobKey::of(&data)
        };
        check_key(key, &actual)?;
        let size = data.len() as u64;
        if data.len() >= HEAD_BEFORE_PUT && self.head(key).await? == Some(BlobMeta { size }) {
            return Ok(());
        }
        self.upload(key, data, size).await
    }

    /// Pieces are spooled: an object's upload wants its length first.
    async fn sink(&self, spool: &Path) -> Result<Box<dyn BlobSink>> {
        Ok(Box::new(
            SpoolSink::create(spool, Arc::new(self.clone())).await?,
        ))
    }

    async fn put_file(&self, key: &BlobKey, src: &Path, len: u64) -> Result<()> {
        let s = src.to_path_buf();
        let (actual, _) = tokio::task::spawn_blocking(move || super::replica::scan_plain(&s, len))
            .await
            .map_err(|e| Error::Internal(format!("hash task: {e}")))??;
        check_key(key, &actual)?;
        if self.head(key).await? == Some(BlobMeta { size: len }) {
            return Ok(());
        }
        self.upload(key, src, len).await
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes> {
        let name = self.object_name(key);
        let Some(r) = range else {
            let req = self
                .client
                .get_object(self.bucket.as_str(), name.as_str())
                .map_err(|e| Error::Internal(format!("s3 object name {name}: {e}")))?
                .build();
            let bytes = self.fetch(&name, req).await?;
            let got = if bytes.len() > HEAD_BEFORE_PUT {
                let b = bytes.clone();
                tokio::task::spawn_blocking(move || BlobKey::of(&b))
                    .await
                    .map_err(|e| Error::Internal(format!("hash task: {e}")))?
            } else {
                BlobKey::of(&bytes)
            };
            if &got != key {
                return Err(Error::Corrupt(format!(
                    "s3 object {name} hashes to {got} ({} bytes)",
                    bytes.len()
                )));
            }
            return Ok(bytes);
        };
        if r.end <= r.start {
            // Empty range: valid only at a start inside the blob.
            return match self.head(key).await? {
                Some(m) if r.start < m.size => Ok(Bytes::new()),
                Some(m) => Err(Error::RangeNotSatisfiable { size: m.size }),
                None => Err(Error::NotFound(format!("blob {key}"))),
            };
        }
        let want = r.end - r.start;
        match self.get_range(&name, r.start, want).await {
            Ok(b) if b.len() as u64 <= want => Ok(b),
            Ok(b) => Err(Error::Corrupt(format!(
                "s3 object {name}: range {r:?} returned {} bytes",
                b.len()
            ))),
            Err(Error::RangeNotSatisfiable { .. }) => Err(self.unsatisfiable(key).await),
            Err(e) => Err(e),
        }
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>> {
        let name = self.object_name(key);
        let req = self
            .client
            .stat_object(self.bucket.as_str(), name.as_str())
            .map_err(|e| Error::Internal(format!("s3 object name {name}: {e}")))?
            .build();
        match self.timed(Op::Head, &name, 0, req.send()).await {
            Ok(resp) => {
                let size = resp
                    .size()
                    .map_err(|e| Error::Store(format!("s3 head {name}: {e}")))?;
                Ok(Some(BlobMeta { size }))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let name = self.object_name(key);
        let req = self
            .client
            .delete_object(self.bucket.as_str(), name.as_str())
            .map_err(|e| Error::Internal(format!("s3 object name {name}: {e}")))?
            .build();
        match self.timed(Op::Delete, &name, 0, req.send()).await {
            Ok(_) => Ok(()),
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
