//! Where a local blob store's file I/O runs: on a blocking pool ([`blocking`], [`blocking_on`]),
//! or on the calling thread when the kernel already holds every byte ([`try_read_full`]).
//!
//! There are two blocking pools ([`Pool`]). Reads, small writes and deletes use tokio's, at the
//! process's priority. The writes of large upload bodies (videos and photos over the upload
//! memory limit: tens of MB hashed, written once per replica and fsynced), by a sink or by
//! `put_file`, use the writer pool: [`WRITER_THREADS`] threads
//! named `blob-writer` at nice [`WRITER_NICE`]. On a busy box the scheduler then gives the
//! request path's threads the cores first, and a video's copies take the CPU left over; on an
//! idle box they run at full speed. The disk is shared all the same.
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
use std::sync::OnceLock;

use bytes::Bytes;
use rustix::fs::{Mode, OFlags, ResolveFlags, fstat, openat2};
use rustix::io::{ReadWriteFlags, preadv2};
use rustix::process::{getpriority_process, setpriority_process};

use super::format::{FOOTER_LEN, Footer, verify_chunks};
use crate::error::{Error, Result};

/// The threads that run a piece of blob file I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// tokio's blocking pool, at the process's priority.
    Shared,
    /// The writer pool, at nice [`WRITER_NICE`]: at most [`WRITER_THREADS`] jobs run at once,
    /// the rest wait their turn.
    Writer,
}

/// Threads of the writer pool: one per replica of the default two.
pub const WRITER_THREADS: usize = 2;
/// The writer pool's nice value. A thread at nice 10 weighs about a tenth of one at nice 0,
/// so a video's copies get about 10% of a core that the request path wants. A process
/// already nicer than this keeps its own value (raising priority needs a privilege).
pub const WRITER_NICE: i32 = 10;

/// The writer pool's runtime (only its blocking pool is used), or `None` if it could not be
/// built, when [`Pool::Writer`] falls back to tokio's pool.
fn writer() -> Option<&'static tokio::runtime::Runtime> {
    static WRITER: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    WRITER
        .get_or_init(|| {
            let built = tokio::runtime::Builder::new_current_thread()
                .max_blocking_threads(WRITER_THREADS)
                .thread_name("blob-writer")
                .on_thread_start(|| {
                    let base = getpriority_process(None).unwrap_or(0);
                    if base < WRITER_NICE {
                        // Best effort: a thread left at the process's priority still writes.
                        let _ = setpriority_process(None, WRITER_NICE);
                    }
                })
                .build();
            built
                .inspect_err(|e| tracing::warn!("no blob writer pool ({e}): writes share tokio's"))
                .ok()
        })
        .as_ref()
}

/// Run blocking file I/O off the async runtime, on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    blocking_on(Pool::Shared, f).await
}

/// Run blocking file I/O off the async runtime, on `pool`. The closure's CPU is reported to
/// the timed call waiting for it, if any.
pub async fn blocking_on<T: Send + 'static>(
    pool: Pool,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let task = move || crate::timing::on_thread(f);
    let join = match (pool, writer()) {
        (Pool::Writer, Some(rt)) => rt.spawn_blocking(task),
        _ => tokio::task::spawn_blocking(task),
    };
    let (out, cpu) = join
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

    /// The writer pool's threads run at nice [`WRITER_NICE`] (or the process's own, if nicer);
    /// tokio's pool keeps the process's priority.
    #[tokio::test]
    async fn the_writer_pool_runs_nicer_than_the_shared_one() {
        let nice = || Ok(getpriority_process(None).expect("getpriority"));
        let base = nice().expect("nice");
        let shared = blocking_on(Pool::Shared, nice).await.expect("shared");
        let writer = blocking_on(Pool::Writer, nice).await.expect("writer");
        assert_eq!(shared, base, "tokio's pool keeps the process's priority");
        assert_eq!(writer, base.max(WRITER_NICE), "the writer pool runs nicer");
        let name = blocking_on(Pool::Writer, || {
            Ok(std::thread::current().name().map(str::to_owned))
        });
        assert_eq!(name.await.expect("name").as_deref(), Some("blob-writer"));
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
