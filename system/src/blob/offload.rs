//! Where a local blob store's file I/O runs: on the blocking pool ([`blocking`]), or on the
//! calling thread when the kernel already holds every byte ([`try_read_full`]).
//!
//! The hand-off to the blocking pool costs two thread wake-ups per read: about a fifth of a 200 KB
//! photo read's CPU when the file is in the page cache, as photo views of recent uploads
//! mostly are. [`try_read_full`] takes the short path only when it cannot block:
//! - the path must resolve from the kernel's lookup cache (`openat2` with `RESOLVE_CACHED`);
//! - the bytes must all be in the page cache (`preadv2` with `RWF_NOWAIT`, which answers
//!   `EAGAIN` or a short read rather than wait for the disk).
//!
//! Anything else (not cached, missing, malformed, a bad checksum, an old kernel) returns
//! `None`, and the caller takes the blocking path, which reports and repairs what it finds.
//! A file larger than [`MAX_INLINE`] always takes the blocking path, so no worker copies
//! more than that without yielding.

use std::io::IoSliceMut;
use std::path::Path;

use bytes::Bytes;
use rustix::fs::{Mode, OFlags, ResolveFlags, fstat, openat2};
use rustix::io::{ReadWriteFlags, preadv2};

use super::format::{FOOTER_LEN, Footer, verify_chunks};
use crate::error::{Error, Result};

/// Run blocking file I/O off the async runtime. The closure's CPU is reported to the timed
/// call waiting for it, if any.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let (out, cpu) = tokio::task::spawn_blocking(move || crate::timing::on_thread(f))
        .await
        .map_err(|e| Error::Internal(format!("blob I/O task failed: {e}")))?;
    crate::timing::cpu::offloaded(cpu);
    out
}

/// The largest replica file (data and trailer) read on the calling thread: 1 MiB, about
/// 100 µs of copying and checksumming.
pub const MAX_INLINE: u64 = 1 << 20;

/// The blob's verified bytes if the file at `path` is whole in memory and at most
/// [`MAX_INLINE`] long; `None` when reading it could block or it does not verify.
pub fn try_read_full(path: &Path) -> Option<Bytes> {
    let fd = openat2(
        rustix::fs::CWD,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::CACHED,
    )
    .ok()?;
    let len = u64::try_from(fstat(&fd).ok()?.st_size).ok()?;
    if !(FOOTER_LEN..=MAX_INLINE).contains(&len) {
        return None;
    }
    let mut buf = vec![0u8; len as usize];
    let n = preadv2(
        &fd,
        &mut [IoSliceMut::new(&mut buf)],
        0,
        ReadWriteFlags::NOWAIT,
    )
    .ok()?;
    if n as u64 != len {
        return None;
    }
    let footer = Footer::decode(&buf[buf.len() - FOOTER_LEN as usize..], len).ok()?;
    let data_len = footer.data_len as usize;
    let crcs_end = buf.len() - FOOTER_LEN as usize;
    verify_chunks(&footer, 0, &buf[..data_len], &buf[data_len..crcs_end]).ok()?;
    buf.truncate(data_len);
    Some(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::format::trailer;

    fn write_blob(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        let mut file = data.to_vec();
        file.extend_from_slice(&trailer(data));
        std::fs::write(&path, file).expect("write");
        path
    }

    #[test]
    fn a_cached_blob_reads_back_verified() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let path = write_blob(dir.path(), "a", &data);
        let probe = openat2(
            rustix::fs::CWD,
            dir.path(),
            OFlags::RDONLY,
            Mode::empty(),
            ResolveFlags::CACHED,
        );
        if let Err(e @ (rustix::io::Errno::NOSYS | rustix::io::Errno::INVAL)) = probe {
            eprintln!("skipped: this kernel has no openat2 RESOLVE_CACHED ({e}); reads block");
            return;
        }
        // Just written, so its pages and its path are in the kernel's caches.
        let got = try_read_full(&path).expect("served from the page cache");
        assert_eq!(&got[..], &data[..]);
    }

    #[test]
    fn missing_corrupt_truncated_and_large_blobs_take_the_blocking_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(try_read_full(&dir.path().join("none")).is_none(), "missing");
        let data = vec![7u8; 100_000];
        let path = write_blob(dir.path(), "bad", &data);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[70_000] ^= 1;
        std::fs::write(&path, &bytes).expect("rot one bit");
        assert!(try_read_full(&path).is_none(), "a bad chunk");
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&path, &bytes).expect("truncate");
        assert!(try_read_full(&path).is_none(), "truncated");
        let big = write_blob(dir.path(), "big", &vec![1u8; MAX_INLINE as usize]);
        assert!(try_read_full(&big).is_none(), "larger than MAX_INLINE");
    }

    /// Reads served on the worker never wait, so without the budget unit a task that only
    /// reads would hold its worker for good (one worker here: the other task never ran).
    #[tokio::test(flavor = "current_thread")]
    async fn a_task_that_only_reads_cached_blobs_still_yields() {
        use crate::blob::{BlobKey, BlobStore, LocalBlobStore};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalBlobStore::open(dir.path(), 2).expect("open");
        let data = Bytes::from(vec![3u8; 50_000]);
        let key = BlobKey::of(&data);
        store.put(&key, data).await.expect("put");
        let ran = Arc::new(AtomicBool::new(false));
        let other = tokio::spawn({
            let ran = ran.clone();
            async move { ran.store(true, Ordering::Release) }
        });
        let mut seen_at = None;
        for i in 0..2_000 {
            assert_eq!(store.get(&key, None).await.expect("get").len(), 50_000);
            if seen_at.is_none() && ran.load(Ordering::Acquire) {
                seen_at = Some(i);
            }
        }
        other.await.expect("other task");
        assert!(
            seen_at.is_some(),
            "the other task ran only after 2,000 reads"
        );
    }
}
