//! Receiving an upload body as it arrives: validated ([`media::Sniffer`])
//! piece by piece, held in memory (and hashed) up to a size, and past it
//! written to the blob store's [`BlobSink`], so that a body of any accepted
//! size is taken in bounded memory. A body over its kind's limit fails at
//! the piece that crosses it, before the rest is read.
//!
//! The sink stages the bytes; they are stored under their key only when
//! [`Received::store`] commits it, and a [`Received`] dropped before that
//! leaves nothing. The local store's sink writes the pieces straight into
//! its replicas' temp files; the S3 store's spools them to a temp file in the
//! spool directory, which is removed with the sink. Files a crash left there
//! are removed when the service next opens its data directory
//! ([`clear_spool`]).
//!
//! Every sink write runs on the blob store's writer pool (nice 10): hashing
//! and writing a video costs tens of ms of CPU for tens of MB, which on a
//! busy box should take the CPU the request path leaves over rather than
//! share it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::media::{self, MediaKind, MediaLimits, Sniffer};
use crate::blob::{BlobKey, BlobSink, BlobStore};
use crate::error::{Error, Result};

/// Bytes gathered before each write to a sink. Every write is a hand-off to a blocking
/// pool; without the gathering a large video cost one per HTTP body frame (thousands for a
/// 30 MB video, which stalled every request on a 2-core box; BENCHMARKS.md).
pub const SPOOL_WRITE_BYTES: usize = 256 * 1024;

/// Where a received body's bytes are.
#[derive(Debug)]
pub enum Payload {
    /// Held in memory.
    Memory(Bytes),
    /// Staged in the blob store's sink, finished and not yet committed.
    Sink(Box<dyn BlobSink>),
}

/// A whole upload body, checked and hashed.
#[derive(Debug)]
pub struct Received {
    /// The bytes.
    pub payload: Payload,
    /// Their BLAKE3 content address.
    pub key: BlobKey,
    /// Their length.
    pub len: u64,
    /// The detected media type.
    pub mime: &'static str,
    /// Photo or video.
    pub kind: MediaKind,
}

impl Received {
    /// A body already whole in memory, checked against `declared` and
    /// `limits` and hashed (off the async threads
    /// when over 1 MiB); it stays where it is.
    pub async fn whole(
        body: Bytes,
        declared: Option<&str>,
        limits: MediaLimits,
    ) -> Result<Received> {
        let (mime, kind) = media::validate(&body, declared, limits.photo, limits.video)?;
        let key = if body.len() > 1 << 20 {
            let b = body.clone();
            tokio::task::spawn_blocking(move || BlobKey::of(&b))
                .await
                .map_err(|e| Error::Internal(format!("hash task: {e}")))?
        } else {
            BlobKey::of(&body)
        };
        Ok(Received {
            key,
            len: body.len() as u64,
            payload: Payload::Memory(body),
            mime,
            kind,
        })
    }

    /// Store the bytes under [`Received::key`] in `blobs` (the store whose sink took them,
    /// if one did), durably.
    pub async fn store(self, blobs: &dyn BlobStore) -> Result<()> {
        match self.payload {
            Payload::Memory(b) => blobs.put(&self.key, b).await,
            Payload::Sink(sink) => sink.commit().await,
        }
    }
}

/// Takes an upload body piece by piece ([`Receiver::push`]) and gives the
/// checked whole ([`Receiver::finish`]).
pub struct Receiver {
    sniffer: Sniffer,
    hasher: blake3::Hasher,
    memory: BytesMut,
    memory_limit: u64,
    blobs: Arc<dyn BlobStore>,
    spool_dir: PathBuf,
    sink: Option<Box<dyn BlobSink>>,
    /// Bytes gathered for the sink's next write (at most [`SPOOL_WRITE_BYTES`]).
    pending: Vec<u8>,
    len: u64,
}

impl Receiver {
    /// A receiver for bodies under `limits` that keeps up to `memory_limit` bytes in memory
    /// and writes a larger body to a sink of `blobs` (which may spool in `spool_dir`).
    pub fn new(
        limits: MediaLimits,
        memory_limit: u64,
        blobs: Arc<dyn BlobStore>,
        spool_dir: &Path,
    ) -> Self {
        Receiver {
            sniffer: Sniffer::new(limits),
            hasher: blake3::Hasher::new(),
            memory: BytesMut::new(),
            memory_limit,
            blobs,
            spool_dir: spool_dir.to_path_buf(),
            sink: None,
            pending: Vec::new(),
            len: 0,
        }
    }

    /// Take the next piece of the body. Fails as soon as the body is known
    /// to be unacceptable (not an accepted media type, or over its limit).
    pub async fn push(&mut self, data: &[u8]) -> Result<()> {
        self.sniffer.feed(data)?;
        self.len += data.len() as u64;
        if self.sink.is_none() && self.len > self.memory_limit {
            self.spill().await?;
        }
        if self.sink.is_none() {
            self.hasher.update(data);
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        self.gather(data).await
    }

    /// Add `data` to the gathered bytes, writing each [`SPOOL_WRITE_BYTES`] to the sink.
    async fn gather(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = (SPOOL_WRITE_BYTES - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.pending.len() == SPOOL_WRITE_BYTES {
                self.write_pending().await?;
            }
        }
        Ok(())
    }

    /// Write the gathered bytes to the sink; the buffer comes back empty for the next ones.
    async fn write_pending(&mut self) -> Result<()> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        self.pending = sink.write(std::mem::take(&mut self.pending)).await?;
        Ok(())
    }

    /// Move what is held in memory to a new sink of the blob store.
    async fn spill(&mut self) -> Result<()> {
        self.sink = Some(self.blobs.sink(&self.spool_dir).await?);
        self.pending = Vec::with_capacity(SPOOL_WRITE_BYTES);
        let held = std::mem::take(&mut self.memory);
        self.gather(&held).await
    }

    /// The whole body, judged against `declared` (the request's
    /// Content-Type): an empty, truncated or mislabelled body fails here.
    pub async fn finish(mut self, declared: Option<&str>) -> Result<Received> {
        self.write_pending().await?;
        let (mime, kind) = self.sniffer.finish(declared)?;
        let (payload, key) = match self.sink {
            Some(mut sink) => {
                let (key, len) = sink.finish().await?;
                if len != self.len {
                    return Err(Error::Internal(format!(
                        "the blob sink took {len} bytes of {}",
                        self.len
                    )));
                }
                (Payload::Sink(sink), key)
            }
            None => {
                let key = BlobKey::parse(self.hasher.finalize().to_hex().as_str())?;
                (Payload::Memory(self.memory.freeze()), key)
            }
        };
        Ok(Received {
            payload,
            key,
            len: self.len,
            mime,
            kind,
        })
    }
}

/// Remove every file left in `spool_dir` (by a crash mid-upload); a missing
/// directory is fine. Blocking; call before serving.
pub fn clear_spool(spool_dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(spool_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::LocalBlobStore;
    use crate::service::media::sample_body;

    /// `photo` bytes for photos, 16 MiB for videos.
    fn limits(photo: u64) -> MediaLimits {
        MediaLimits {
            photo,
            video: 1 << 24,
        }
    }

    async fn receive(
        body: &[u8],
        memory_limit: u64,
        blobs: &Arc<LocalBlobStore>,
    ) -> Result<Received> {
        let spool = blobs.root().join("spool");
        let mut rx = Receiver::new(limits(1 << 20), memory_limit, blobs.clone(), &spool);
        for piece in body.chunks(7_000) {
            rx.push(piece).await?;
        }
        rx.finish(None).await
    }

    fn store_in(dir: &Path) -> Arc<LocalBlobStore> {
        Arc::new(LocalBlobStore::open(dir, 2).expect("blob store"))
    }

    /// Every file under `dir`, recursively.
    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            if e.path().is_dir() {
                out.extend(files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
        out
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory_and_large_ones_go_to_the_store_s_sink() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blobs = store_in(dir.path());
        let body = sample_body("image/png", 100_000, 3);
        let r = receive(&body, 200_000, &blobs).await.expect("accepted");
        assert!(matches!(&r.payload, Payload::Memory(b) if b[..] == body[..]));
        assert_eq!(
            (r.key.clone(), r.len, r.mime),
            (BlobKey::of(&body), 100_000, "image/png")
        );
        assert!(files(dir.path()).is_empty(), "nothing written yet");

        let r = receive(&body, 10_000, &blobs).await.expect("accepted");
        assert!(matches!(&r.payload, Payload::Sink(_)), "{:?}", r.payload);
        assert_eq!((r.key.clone(), r.len), (BlobKey::of(&body), 100_000));
        let key = r.key.clone();
        assert!(matches!(
            blobs.get(&key, None).await,
            Err(Error::NotFound(_))
        ));
        drop(r);
        assert!(
            files(dir.path()).is_empty(),
            "a dropped sink leaves nothing"
        );

        let r = receive(&body, 10_000, &blobs).await.expect("accepted");
        r.store(blobs.as_ref()).await.expect("stored");
        assert_eq!(blobs.get(&key, None).await.expect("read back"), body);
        assert_eq!(
            files(dir.path()).len(),
            2,
            "one file per replica, no temp file"
        );
    }

    #[tokio::test]
    async fn a_body_over_its_limit_fails_at_the_piece_that_crosses_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let body = sample_body("image/png", 100_000, 3);
        let blobs = store_in(dir.path());
        let mut rx = Receiver::new(limits(50_000), 1 << 20, blobs, dir.path());
        let mut pushed = 0;
        let err = loop {
            match rx.push(&body[pushed..pushed + 10_000]).await {
                Ok(()) => pushed += 10_000,
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, Error::PayloadTooLarge { limit: 50_000 }),
            "{err:?}"
        );
        assert_eq!(
            pushed, 50_000,
            "fails at the piece that takes it past 50,000 bytes"
        );
    }

    #[tokio::test]
    async fn clear_spool_removes_leftovers() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("upload-x"), b"left by a crash").expect("write");
        clear_spool(dir.path()).expect("cleared");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
        clear_spool(&dir.path().join("absent")).expect("a missing spool is fine");
    }
}
