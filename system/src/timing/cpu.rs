//! Thread CPU clocks for the in-situ calibration: how much CPU a piece of async work used,
//! as opposed to how long it took.
//!
//! A future's work happens inside its `poll` calls, and one `poll` runs on one thread, so
//! [`CpuTimed`] reads the thread's CPU clock before and after each poll and sums the
//! differences; tasks may move between threads between polls without harm. Work handed to
//! tokio's blocking pool runs on another thread: the store's blocking helpers run their
//! closure under [`on_thread`] and report it with [`offloaded`], which adds it to the
//! enclosing [`with_offloaded`] measurement (a timed storage call).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

tokio::task_local! {
    /// CPU ns of blocking-pool work done on behalf of the current timed call.
    static OFFLOADED_NS: Cell<u64>;
}

/// CPU time this thread has used, ns (0 if the clock cannot be read).
pub fn thread_cpu_ns() -> u64 {
    cpu_time::ThreadTime::try_now()
        .map(|t| u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// CPU time the whole process has used, ns (0 if the clock cannot be read).
pub fn process_cpu_ns() -> u64 {
    cpu_time::ProcessTime::try_now()
        .map(|t| u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Context switches (voluntary and involuntary) of every thread of the process so far,
/// exited threads included; 0 if they cannot be read.
pub fn process_switches() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0, |u| {
        let n = u.voluntary_context_switches() + u.involuntary_context_switches();
        u64::try_from(n).unwrap_or(0)
    })
}

/// Page faults the process has taken so far that needed no disk read (a first touch of
/// memory, a copy-on-write), exited threads included; 0 if they cannot be read. On a guest
/// that hands its free pages back to the host, each first touch is also a fault the host
/// serves.
pub fn process_minor_faults() -> u64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF)
        .map_or(0, |u| u64::try_from(u.minor_page_faults()).unwrap_or(0))
}

/// CPU time the hypervisor gave to other guests instead of this host (every core's `steal`),
/// ms at the kernel's tick resolution; 0 if `/proc/stat` cannot be read or has no steal.
pub fn host_steal_ms() -> u64 {
    use procfs::CurrentSI;
    procfs::KernelStats::current().map_or(0, |s| s.total.steal_ms().unwrap_or(0))
}

/// CPU time the whole host has used (every core's user, nice, system, interrupt and stolen
/// time), ms at the kernel's tick resolution; 0 if `/proc/stat` cannot be read.
pub fn host_busy_ms() -> u64 {
    use procfs::CurrentSI;
    let Ok(stat) = procfs::KernelStats::current() else {
        return 0;
    };
    let t = &stat.total;
    [
        Some(t.user_ms()),
        Some(t.nice_ms()),
        Some(t.system_ms()),
        t.irq_ms(),
        t.softirq_ms(),
        t.steal_ms(),
    ]
    .into_iter()
    .flatten()
    .sum()
}

/// The kernel's page-cache writeback at one instant, from `/proc/vmstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostWriteback {
    /// KiB written back to disk since boot (`nr_written` pages), by every process.
    pub written_kib: u64,
    /// KiB of dirty page cache waiting to be written back (`nr_dirty` pages).
    pub dirty_kib: u64,
}

/// The host's page-cache writeback now; zeros if `/proc/vmstat` cannot be read.
pub fn host_writeback() -> HostWriteback {
    let Ok(v) = procfs::vmstat() else {
        return HostWriteback::default();
    };
    let kib = procfs::page_size() / 1024;
    let pages = |k: &str| v.get(k).and_then(|&n| u64::try_from(n).ok()).unwrap_or(0);
    HostWriteback {
        written_kib: pages("nr_written") * kib,
        dirty_kib: pages("nr_dirty") * kib,
    }
}

/// A future that also yields the thread CPU time its polls used, ns.
#[derive(Debug)]
pub struct CpuTimed<F> {
    inner: F,
    cpu_ns: u64,
}

impl<F: Future + Unpin> CpuTimed<F> {
    /// Wraps `inner` (box it with `Box::pin` if it is not `Unpin`).
    pub fn new(inner: F) -> Self {
        CpuTimed { inner, cpu_ns: 0 }
    }
}

impl<F: Future + Unpin> Future for CpuTimed<F> {
    type Output = (F::Output, u64);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let t0 = thread_cpu_ns();
        let r = Pin::new(&mut self.inner).poll(cx);
        let used = thread_cpu_ns().saturating_sub(t0);
        self.cpu_ns = self.cpu_ns.saturating_add(used);
        let cpu = self.cpu_ns;
        r.map(|out| (out, cpu))
    }
}

/// Runs blocking `f` on this thread and returns its output with the thread CPU it used, ns.
pub fn on_thread<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let t0 = thread_cpu_ns();
    let out = f();
    (out, thread_cpu_ns().saturating_sub(t0))
}

/// Adds `cpu_ns` of blocking-pool work to the enclosing [`with_offloaded`] measurement, if
/// any.
pub fn offloaded(cpu_ns: u64) {
    let _ = OFFLOADED_NS.try_with(|c| c.set(c.get().saturating_add(cpu_ns)));
}

/// Runs `f` and returns its output, the thread CPU its polls used and the CPU it reported as
/// [`offloaded`] to the blocking pool, ns.
pub async fn with_offloaded<F: Future + Unpin>(f: F) -> (F::Output, u64, u64) {
    OFFLOADED_NS
        .scope(Cell::new(0), async move {
            let (out, inline) = CpuTimed::new(f).await;
            (out, inline, OFFLOADED_NS.with(Cell::get))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(ms: u64) -> u64 {
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(ms) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        x
    }

    #[tokio::test]
    async fn polls_count_cpu_and_sleeps_do_not() {
        let (_, cpu) = CpuTimed::new(Box::pin(async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        }))
        .await;
        assert!(cpu < 20_000_000, "a sleep is not CPU: {cpu} ns");
        let (_, cpu) = CpuTimed::new(Box::pin(async { spin(20) })).await;
        assert!(cpu > 0, "a spin is CPU");
    }

    #[tokio::test]
    async fn blocking_work_reported_as_offloaded_is_counted_apart() {
        let (out, _inline, off) = with_offloaded(Box::pin(async {
            let (x, cpu) = tokio::task::spawn_blocking(|| on_thread(|| spin(10)))
                .await
                .unwrap_or((0, 0));
            offloaded(cpu);
            x
        }))
        .await;
        assert!(out > 0);
        assert!(off > 0, "the blocking closure's CPU reached the scope");
        offloaded(5); // outside any scope: ignored
    }

    #[test]
    fn a_synced_mebibyte_shows_as_host_writeback() {
        if !std::path::Path::new("/proc/vmstat").exists() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let before = host_writeback();
        let mut f = std::fs::File::create(dir.path().join("w")).expect("create");
        std::io::Write::write_all(&mut f, &vec![7u8; 1 << 20]).expect("write");
        f.sync_all().expect("fsync");
        let after = host_writeback();
        assert!(
            after.written_kib >= before.written_kib + 1024,
            "{before:?} -> {after:?}"
        );
    }
}
