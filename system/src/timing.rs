//! Service times measured at the storage seams of a running service: [`TimedMeta`] and
//! [`TimedBlobs`] wrap any [`MetaStore`] or [`BlobStore`] and record how long each call took,
//! with its size, into a shared [`Recorder`].
//!
//! This is the in-situ calibration of a live run. `feedlab calibrate` times each primitive on
//! a small fresh store, one call at a time; a live run's store is larger, is being written by
//! the fan-out while it is read, spans memtables and several on-disk segments, and wakes idle
//! threads for its blocking calls. Measured on the scaled quickstart, the same primitives took
//! 1.5–5× longer in the live run than in `feedlab calibrate`, so a simulator fed with the
//! synthetic figures ran fast. `feedlab run` therefore records every primitive while the
//! driver runs and writes them next to its summary as `calibration.toml`.
//!
//! Recorded op names are those of the simulator's calibration: `get` (size 1), `batch-get`
//! (keys), `scan` (rows returned), `write` (durable batch, ops), `timeline-insert` (buffered
//! batch, ops), `cas` (1), `blob-put` and `blob-get` (KiB). `head` and `delete` pass through
//! unrecorded, as do failed calls. The wrappers add one clock read before and after a call and
//! a short mutex hold; nothing is recorded until [`Recorder::start`].
//!
//! A caller can also learn how much of one operation was spent in storage calls: run it under
//! [`scoped`], and every timed call made by that task adds its duration to the scope. The live
//! run uses this to record each op's app-side time (`app-feed`, `app-photo_get`, ...: the
//! op's wall time less its storage calls), which the simulator draws for the app-server step.
//! `app-upload` is recorded at the body's KiB ([`app_size`]), the others at size 1.
//!
//! Every sample also carries the CPU time the call used ([`cpu`]: thread CPU clocks around
//! each poll, plus the blocking-pool work it handed off), so the simulator can tell the CPU
//! demand a node's cores must serve from time spent waiting. The recorder also keeps totals
//! that no sample holds: the process's CPU time between [`Recorder::start`] and
//! [`Recorder::stop`], and CPU reported with [`Recorder::add_total`] (the load generator's).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub mod cpu;
mod stores;
pub mod work;

pub use cpu::{
    CpuTimed, HostWriteback, host_busy_ms, host_steal_ms, host_writeback, on_thread,
    process_cpu_ns, process_minor_faults, process_switches, thread_cpu_ns,
};
pub use stores::{TimedBlobs, TimedMeta};
pub use work::{Ledger, OpWork, Work, metered};

/// What the timed storage calls of one [`scoped`] operation used.
#[derive(Debug, Default)]
struct Scope {
    wall_ns: Cell<u64>,
    inline_cpu_ns: Cell<u64>,
}

tokio::task_local! {
    /// The timed storage calls of the current [`scoped`] operation.
    static STORE: Scope;
}

/// Runs `op` and returns its output with the nanoseconds its task spent in timed storage calls
/// (calls made concurrently within the op are summed). Calls made by other tasks, e.g. ones it
/// spawns, are not counted.
pub async fn scoped<F: Future>(op: F) -> (F::Output, u64) {
    let (out, t) = scoped_cpu(Box::pin(op)).await;
    (out, t.store_ns)
}

/// Times of one [`scoped_cpu`] operation, ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpTimes {
    /// Wall time of its timed storage calls.
    pub store_ns: u64,
    /// Thread CPU of its own polls less that of its storage calls' polls: the app-side CPU.
    pub app_cpu_ns: u64,
}

/// [`scoped`], also measuring the op's app-side CPU time (see [`OpTimes`]).
pub async fn scoped_cpu<F: Future + Unpin>(op: F) -> (F::Output, OpTimes) {
    STORE
        .scope(Scope::default(), async move {
            let (out, cpu) = CpuTimed::new(op).await;
            let (wall, inline) = STORE.with(|s| (s.wall_ns.get(), s.inline_cpu_ns.get()));
            let t = OpTimes {
                store_ns: wall,
                app_cpu_ns: cpu.saturating_sub(inline),
            };
            (out, t)
        })
        .await
}

/// Runs one storage call and returns its output with its wall and CPU time (its own polls
/// plus blocking-pool work it reported), ns, adding them to the enclosing [`scoped`] op.
pub(crate) async fn call<F: Future + Unpin>(f: F) -> (F::Output, u64, u64) {
    let t = Instant::now();
    let (out, inline, off) = cpu::with_offloaded(f).await;
    let wall = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
    work::count(|w| w.cpu_ns = w.cpu_ns.saturating_add(off));
    let _ = STORE.try_with(|s| {
        s.wall_ns.set(s.wall_ns.get().saturating_add(wall));
        s.inline_cpu_ns
            .set(s.inline_cpu_ns.get().saturating_add(inline));
    });
    (out, wall, inline.saturating_add(off))
}

/// The calibration op of op kind `op`'s app-side time (`"feed"` → `"app-feed"`); `None` for
/// a name that is no op kind.
pub fn app_op(op: &str) -> Option<&'static str> {
    Some(match op {
        "upload" => "app-upload",
        "feed" => "app-feed",
        "photo_get" => "app-photo_get",
        "search" => "app-search",
        "follow" => "app-follow",
        "unfollow" => "app-unfollow",
        _ => return None,
    })
}

/// The size an op's app-side sample is recorded at: an upload's body in KiB (as `blob-put`'s),
/// since its hashing and copying grow with it, taken as the blob bytes the op wrote
/// (`blob_bytes_written` of its [`Work`]); 1 for every other op, and for an upload that wrote
/// none.
pub fn app_size(op: &str, blob_bytes_written: u64) -> usize {
    match op {
        "upload" => usize::try_from(blob_bytes_written.div_ceil(1024))
            .unwrap_or(usize::MAX)
            .max(1),
        _ => 1,
    }
}

/// Samples kept per op name; later calls are not recorded.
pub const MAX_SAMPLES: usize = 200_000;

/// One recorded call: its size (see the module docs), its duration and its CPU time, ns.
pub type Sample = (u32, u64, u64);

/// Calls and CPU recorded for one name, uncapped (see [`Recorder::totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    /// Calls (or ops).
    pub count: u64,
    /// CPU time, ns.
    pub cpu_ns: u64,
}

/// Shared sink of recorded calls, off until [`Recorder::start`].
#[derive(Debug, Default)]
pub struct Recorder {
    on: AtomicBool,
    samples: Mutex<BTreeMap<&'static str, Vec<Sample>>>,
    totals: Mutex<BTreeMap<&'static str, Total>>,
    /// Process CPU ns at start, and used from start to stop.
    process: Mutex<(u64, u64)>,
    /// Process context switches at start, and made from start to stop.
    switches: Mutex<(u64, u64)>,
    /// The host's busy CPU ms and the wall clock at start, and the busy ms and wall ms from
    /// start to stop (see [`Self::host`]).
    host: Mutex<(u64, Option<std::time::Instant>, u64, u64)>,
    /// Work per metered op (see [`work`]).
    ledger: Ledger,
    /// Metadata calls and their summed wall ns, per shard.
    shard_calls: Mutex<BTreeMap<usize, (u64, u64)>>,
    /// Every successful op's handler wall ns, per op kind (see [`Self::record_handler`]).
    handlers: Mutex<BTreeMap<&'static str, Vec<u64>>>,
}

impl Recorder {
    /// A recorder that records nothing until started.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Start recording (e.g. once a run's data is loaded, so bulk loading is not measured).
    pub fn start(&self) {
        lock(&self.process).0 = process_cpu_ns();
        lock(&self.switches).0 = process_switches();
        {
            let mut h = lock(&self.host);
            h.0 = host_busy_ms();
            h.1 = Some(std::time::Instant::now());
        }
        self.ledger.start();
        lock(&self.shard_calls).clear();
        self.on.store(true, Ordering::Release);
    }

    /// Stop recording; samples taken so far are kept.
    pub fn stop(&self) {
        if self.on.swap(false, Ordering::AcqRel) {
            let mut p = lock(&self.process);
            p.1 = p.1.saturating_add(process_cpu_ns().saturating_sub(p.0));
            let mut s = lock(&self.switches);
            s.1 = s.1.saturating_add(process_switches().saturating_sub(s.0));
            let mut h = lock(&self.host);
            let wall = h.1.take().map_or(0, |t0| t0.elapsed().as_millis());
            h.2 = h.2.saturating_add(host_busy_ms().saturating_sub(h.0));
            h.3 = h.3.saturating_add(u64::try_from(wall).unwrap_or(u64::MAX));
        }
    }

    /// The host's busy CPU time (all processes, all cores) and the wall time while recording
    /// was on, ms: with [`Self::process_cpu_ns`], how much of the host other processes used.
    pub fn host(&self) -> (u64, u64) {
        let h = lock(&self.host);
        (h.2, h.3)
    }

    /// Context switches the process's threads made while recording was on.
    pub fn process_switches(&self) -> u64 {
        lock(&self.switches).1
    }

    /// Process CPU time used while recording was on, ns.
    pub fn process_cpu_ns(&self) -> u64 {
        lock(&self.process).1
    }

    /// Adds `count` ops that used `cpu_ns` in all to the total of `op` (work no storage call
    /// measures, e.g. the load generator's), if recording is on.
    pub fn add_total(&self, op: &'static str, count: u64, cpu_ns: u64) {
        if self.is_on() {
            let mut t = lock(&self.totals);
            let e = t.entry(op).or_default();
            e.count = e.count.saturating_add(count);
            e.cpu_ns = e.cpu_ns.saturating_add(cpu_ns);
        }
    }

    /// Calls and CPU of every name recorded so far, uncapped: samples' and
    /// [`Self::add_total`]'s.
    pub fn totals(&self) -> BTreeMap<String, Total> {
        lock(&self.totals)
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Records one op of `name` that did `work` (see [`work`]), if recording is on.
    pub fn record_op(&self, name: &'static str, work: &Work) {
        if self.is_on() {
            self.ledger.record(name, work);
        }
    }

    /// The work of the ops recorded with [`Self::record_op`].
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Metadata calls and their mean wall time, µs, per shard (timed stores placed with
    /// [`TimedMeta::on_shard`]).
    pub fn shard_call_us(&self) -> BTreeMap<usize, (u64, f64)> {
        lock(&self.shard_calls)
            .iter()
            .map(|(&s, &(n, ns))| (s, (n, ns as f64 / n.max(1) as f64 / 1e3)))
            .collect()
    }

    pub(crate) fn record_shard_call(&self, shard: usize, wall_ns: u64) {
        if self.is_on() {
            let mut all = lock(&self.shard_calls);
            let e = all.entry(shard).or_default();
            e.0 += 1;
            e.1 = e.1.saturating_add(wall_ns);
        }
    }

    /// Records that one successful op of kind `op` spent `wall_ns` inside the service's
    /// handler (app work and storage calls, not the transport), if recording is on.
    pub fn record_handler(&self, op: &'static str, wall_ns: u64) {
        if self.is_on() {
            lock(&self.handlers).entry(op).or_default().push(wall_ns);
        }
    }

    /// Mean handler wall time per op kind, ms, with the op count (see
    /// [`Self::record_handler`]).
    pub fn handler_ms(&self) -> BTreeMap<String, (u64, f64)> {
        lock(&self.handlers)
            .iter()
            .map(|(&k, v)| {
                let n = v.len() as u64;
                let ns: f64 = v.iter().map(|&x| x as f64).sum();
                (k.to_string(), (n, ns / n.max(1) as f64 / 1e6))
            })
            .collect()
    }

    /// Every recorded handler wall time per op kind, ns, in the order recorded (see
    /// [`Self::record_handler`]).
    pub fn handler_samples(&self) -> BTreeMap<String, Vec<u64>> {
        lock(&self.handlers)
            .iter()
            .map(|(&k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// Whether calls are being recorded.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Records a sample of `op` with `size` lasting `ns` nanoseconds of which `cpu_ns` were
    /// CPU, if recording is on.
    pub fn record_ns(&self, op: &'static str, size: usize, ns: u64, cpu_ns: u64) {
        if !self.is_on() {
            return;
        }
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        {
            let mut all = lock(&self.samples);
            let v = all.entry(op).or_default();
            if v.len() < MAX_SAMPLES {
                v.push((size, ns, cpu_ns));
            }
        }
        self.add_total(op, 1, cpu_ns);
    }

    /// The samples recorded so far, by op name (the recorder is emptied).
    pub fn take(&self) -> BTreeMap<String, Vec<Sample>> {
        let mut all = lock(&self.samples);
        std::mem::take(&mut *all)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
