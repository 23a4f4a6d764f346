//! Receiving an upload body as it arrives: validated ([`media::Sniffer`])
//! and hashed piece by piece, held in memory up to a size, and spooled to a
//! temp file beyond it, so that a body of any accepted size is taken in
//! bounded memory. A body over its kind's limit fails at the piece that
//! crosses it, before the rest is read.
//!
//! The spool is scratch space, not the durable copy: the blob store's
//! `put_file` makes the durable copy from it, and the temp file is removed
//! when the [`Received`] is dropped. Files left by a crash are removed when
//! the service next opens its data directory ([`clear_spool`]).
//!
//! Spool writes run on the blob store's writer pool ([`Pool::Writer`], nice
//! 10), as the copies of spooled bodies into replicas do: writing a video
//! into the page cache copies it into freshly allocated pages, tens of ms of
//! CPU for tens of MB, which on a busy box should take the CPU the request
//! path leaves over rather than share it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::media::{self, MediaKind, MediaLimits, Sniffer};
use crate::blob::{BlobKey, BlobStore, Pool, blocking_on};
use crate::error::{Error, Result};

/// Bytes gathered before each write to a spool file. Every write is a hand-off to a
/// blocking pool; without the gathering a spooled video cost one per HTTP body frame
/// (thousands for a 30 MB video, which stalled every request on a 2-core box;
/// BENCHMARKS.md).
pub const SPOOL_WRITE_BYTES: usize = 256 * 1024;

/// Where a received body's bytes are.
#[derive(Debug)]
pub enum Payload {
    /// Held in memory.
    Memory(Bytes),
    /// In a spool file, removed when this is dropped.
    File(tempfile::TempPath),
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

    /// Store the bytes under [`Received::key`] in `blobs`, durably.
    pub async fn store(&self, blobs: &dyn BlobStore) -> Result<()> {
        match &self.payload {
            Payload::Memory(b) => blobs.put(&self.key, b.clone()).await,
            Payload::File(path) => blobs.put_file(&self.key, path, self.len).await,
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
    spool_dir: PathBuf,
    file: Option<(tempfile::TempPath, Arc<File>)>,
    /// Spooled bytes gathered for the next write (at most [`SPOOL_WRITE_BYTES`]).
    pending: Vec<u8>,
    len: u64,
}

impl Receiver {
    /// A receiver for bodies under `limits` that keeps
    /// up to `memory_limit` bytes in memory and spools the rest of a larger
    /// body to a file in `spool_dir` (created when first needed).
    pub fn new(limits: MediaLimits, memory_limit: u64, spool_dir: &Path) -> Self {
        Receiver {
            sniffer: Sniffer::new(limits),
            hasher: blake3::Hasher::new(),
            memory: BytesMut::new(),
            memory_limit,
            spool_dir: spool_dir.to_path_buf(),
            file: None,
            pending: Vec::new(),
            len: 0,
        }
    }

    /// Take the next piece of the body. Fails as soon as the body is known
    /// to be unacceptable (not an accepted media type, or over its limit).
    pub async fn push(&mut self, data: &[u8]) -> Result<()> {
        self.sniffer.feed(data)?;
        self.hasher.update(data);
        self.len += data.len() as u64;
        if self.file.is_none() && self.len > self.memory_limit {
            self.spill().await?;
        }
        if self.file.is_none() {
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = (SPOOL_WRITE_BYTES - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.pending.len() == SPOOL_WRITE_BYTES {
                self.write_pending().await?;
            }
        }
        Ok(())
    }

    /// Write the gathered bytes to the spool file on the writer pool; the buffer comes back
    /// empty for the next ones.
    async fn write_pending(&mut self) -> Result<()> {
        let Some((_, file)) = &self.file else {
            return Ok(());
        };
        if self.pending.is_empty() {
            return Ok(());
        }
        let (file, mut buf) = (file.clone(), std::mem::take(&mut self.pending));
        self.pending = blocking_on(Pool::Writer, move || {
            (&*file).write_all(&buf)?;
            buf.clear();
            Ok(buf)
        })
        .await?;
        Ok(())
    }

    /// Move what is held in memory to a new spool file.
    async fn spill(&mut self) -> Result<()> {
        let dir = self.spool_dir.clone();
        let named = blocking_on(Pool::Writer, move || {
            std::fs::create_dir_all(&dir)?;
            Ok(tempfile::Builder::new()
                .prefix("upload-")
                .tempfile_in(dir)?)
        })
        .await?;
        let (file, path) = named.into_parts();
        self.file = Some((path, Arc::new(file)));
        self.pending = Vec::with_capacity(SPOOL_WRITE_BYTES);
        let held = std::mem::take(&mut self.memory);
        let mut rest = &held[..];
        while !rest.is_empty() {
            let n = SPOOL_WRITE_BYTES.min(rest.len());
            self.pending.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            self.write_pending().await?;
        }
        Ok(())
    }

    /// The whole body, judged against `declared` (the request's
    /// Content-Type): an empty, truncated or mislabelled body fails here.
    pub async fn finish(mut self, declared: Option<&str>) -> Result<Received> {
        self.write_pending().await?;
        let (mime, kind) = self.sniffer.finish(declared)?;
        let key = BlobKey::parse(self.hasher.finalize().to_hex().as_str())?;
        let payload = match self.file {
            Some((path, _)) => Payload::File(path),
            None => Payload::Memory(self.memory.freeze()),
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
    use crate::service::media::sample_body;

    /// `photo` bytes for photos, 16 MiB for videos.
    fn limits(photo: u64) -> MediaLimits {
        MediaLimits {
            photo,
            video: 1 << 24,
        }
    }

    async fn receive(body: &[u8], memory_limit: u64, dir: &Path) -> Result<Received> {
        let mut rx = Receiver::new(limits(1 << 20), memory_limit, dir);
        for piece in body.chunks(7_000) {
            rx.push(piece).await?;
        }
        rx.finish(None).await
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory_and_large_ones_spool_to_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let body = sample_body("image/png", 100_000, 3);
        let r = receive(&body, 200_000, dir.path()).await.expect("accepted");
        assert!(matches!(&r.payload, Payload::Memory(b) if b[..] == body[..]));
        assert_eq!(
            (r.key.clone(), r.len, r.mime),
            (BlobKey::of(&body), 100_000, "image/png")
        );

        let r = receive(&body, 10_000, dir.path()).await.expect("accepted");
        let Payload::File(path) = &r.payload else {
            panic!("a body over the memory limit must spool");
        };
        assert_eq!(std::fs::read(path).expect("spool file"), body);
        assert_eq!(r.key, BlobKey::of(&body));
        let path = path.to_path_buf();
        drop(r);
        assert!(!path.exists(), "the spool file goes with the Received");
    }

    #[tokio::test]
    async fn a_body_over_its_limit_fails_at_the_piece_that_crosses_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let body = sample_body("image/png", 100_000, 3);
        let mut rx = Receiver::new(limits(50_000), 1 << 20, dir.path());
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
