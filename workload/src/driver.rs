//! The open-loop driver: starts every planned op at its intended time, whatever the target is
//! doing, and measures latency from that intended time (coordinated omission corrected).
//!
//! For each op the driver sleeps until `run start + op.at` (on a sub-millisecond clock, see
//! [`Pacer`]), then starts it on its own task if fewer than `max_in_flight` ops are running. If
//! all slots are busy, the op waits for one until the next op is due and is then counted as
//! `dropped` for its kind (never silently skipped); so a slot that frees is used at once, as a
//! closed-loop tool like wrk would, while the schedule never slips by more than one
//! inter-arrival gap. A slow target therefore shows up as high latency for the ops that waited
//! and as drops, rather than as a lower request rate, which is what a closed-loop client would
//! report. Results are [`RunStats`].
//!
//! Freshness: for a seeded fraction of acknowledged uploads the driver asks
//! [`FreshnessProbe::follower_of`] for a follower, then polls [`Target::probe_visible`] every
//! `poll_every` until the upload is visible (recording ack → visible) or `timeout` passes. Probe
//! tasks release their in-flight slot first, so probing never causes drops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use crate::ops::{OpKind, PlannedOp};
use crate::pace::Pacer;
use crate::stats::{Collector, RunStats};

mod tasks;

use tasks::{drain, spawn_op};

/// What a successful op returned (enough to probe an upload's visibility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpOutcome {
    /// Service id of what was created (the photo id of an upload), if any.
    pub id: Option<String>,
    /// Response body bytes received.
    pub bytes: u64,
}

/// A failed op: a short stable code (e.g. `http_503`, `timeout`) and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Short code; errors are counted per (kind, code).
    pub code: String,
    /// Details for logs.
    pub message: String,
    /// The service's own error code when it answered with one (the `code` of its JSON error
    /// body: `unavailable`, `not_found`, `overloaded`, …); failures are also counted per
    /// (kind, reason), with `code` standing in when this is `None`.
    pub reason: Option<String>,
}

impl OpError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            reason: None,
        }
    }

    /// The same error with the service's own error code `reason`.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The code failures are counted under by reason: [`OpError::reason`], else
    /// [`OpError::code`].
    pub fn reason_or_code(&self) -> &str {
        self.reason.as_deref().unwrap_or(&self.code)
    }

    /// The code a target returns from an operation it does not implement.
    pub fn unsupported() -> Self {
        Self::new("unsupported", "not supported by this target")
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for OpError {}

/// Something the driver sends operations to: the HTTP service, an in-process service, a fake.
#[async_trait]
pub trait Target: Send + Sync {
    /// Performs `op`; must not panic on failure but return an [`OpError`].
    async fn execute(&self, op: &PlannedOp) -> Result<OpOutcome, OpError>;

    /// Whether the upload `upload` (acknowledged with `outcome`) is visible in `follower`'s feed.
    /// The default says the target cannot tell (`unsupported`).
    async fn probe_visible(
        &self,
        _upload: &PlannedOp,
        _outcome: &OpOutcome,
        _follower: u64,
    ) -> Result<bool, OpError> {
        Err(OpError::unsupported())
    }
}

/// Chooses the follower whose feed is probed: `(uploader, random pick) → follower`.
pub type FollowerOf = Arc<dyn Fn(u64, u64) -> Option<u64> + Send + Sync>;

/// Feed-freshness probing settings.
#[derive(Clone)]
pub struct FreshnessProbe {
    /// Fraction of acknowledged uploads probed, chosen by a hash of `(seed, op.seq)`.
    pub fraction: f64,
    /// Seed of the selection.
    pub seed: u64,
    /// Poll interval (default 10 ms); also the resolution of the measurement.
    pub poll_every: Duration,
    /// Give up after this long (counted as a timeout).
    pub timeout: Duration,
    /// Picks the follower to probe (e.g. from [`crate::FollowerIndex`]); `None` skips the probe.
    pub follower_of: FollowerOf,
}

impl std::fmt::Debug for FreshnessProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshnessProbe")
            .field("fraction", &self.fraction)
            .field("seed", &self.seed)
            .field("poll_every", &self.poll_every)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Periodic progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Time since the run started.
    pub elapsed: Duration,
    /// Ops started so far.
    pub issued: u64,
    /// Ops finished (success or error).
    pub completed: u64,
    /// Ops dropped at the concurrency limit.
    pub dropped: u64,
}

/// Callback receiving [`Progress`] about once per `progress_every`.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Driver settings.
#[derive(Clone)]
pub struct DriverConfig {
    /// Most ops running at once; an op that finds them all busy waits for a free slot until
    /// the next op is due, and is dropped then. Default 500.
    pub max_in_flight: usize,
    /// Stop issuing at this offset and use it as the rate denominator; `None` runs the whole
    /// stream and uses the elapsed issuing time.
    pub duration: Option<Duration>,
    /// After the last op starts, wait at most this long for running ops; the rest are counted
    /// as errors with code `unfinished`. Default 30 s.
    pub drain_timeout: Duration,
    /// Optional freshness probing of uploads.
    pub freshness: Option<FreshnessProbe>,
    /// Optional progress callback.
    pub progress: Option<ProgressFn>,
    /// Interval between progress reports. Default 1 s.
    pub progress_every: Duration,
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 500,
            duration: None,
            drain_timeout: Duration::from_secs(30),
            freshness: None,
            progress: None,
            progress_every: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for DriverConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverConfig")
            .field("max_in_flight", &self.max_in_flight)
            .field("duration", &self.duration)
            .field("drain_timeout", &self.drain_timeout)
            .field("freshness", &self.freshness)
            .field("progress", &self.progress.is_some())
            .field("progress_every", &self.progress_every)
            .finish()
    }
}

struct Shared {
    collector: Mutex<Collector>,
    completed: AtomicU64,
    in_flight: [AtomicU64; OpKind::COUNT],
    probing: AtomicU64,
}

impl Shared {
    fn new() -> Self {
        Shared {
            collector: Mutex::new(Collector::new()),
            completed: AtomicU64::new(0),
            in_flight: std::array::from_fn(|_| AtomicU64::new(0)),
            probing: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Collector> {
        self.collector.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The open-loop driver; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Driver;

impl Driver {
    /// Runs `ops` (ordered by `at`) against `target` and returns the statistics.
    pub async fn run<I, T>(ops: I, target: Arc<T>, cfg: DriverConfig) -> RunStats
    where
        I: IntoIterator<Item = PlannedOp>,
        T: Target + ?Sized + 'static,
    {
        let start = Instant::now();
        let shared = Arc::new(Shared::new());
        let slots = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
        let mut pacer = Pacer::new();
        let mut tasks = JoinSet::new();
        let (mut issued, mut dropped) = (0u64, 0u64);
        let mut ticker = Ticker::new(start, &cfg);
        let mut last_at = Duration::ZERO;
        let end = cfg.duration.map(|d| start + d);
        let mut ops = ops.into_iter().peekable();
        let in_run = |op: &PlannedOp| cfg.duration.is_none_or(|d| op.at < d);
        while let Some(mut op) = ops.next_if(in_run) {
            let progress = (&cfg, &*shared, issued, dropped);
            ticker.wait_for(&mut pacer, start + op.at, progress).await;
            while tasks.try_join_next().is_some() {}
            let permit = match slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                // The last op of an endless run has no next op to hand over to.
                Err(_) if ops.peek().is_none() && end.is_none() => {
                    dropped += drop_op(&shared, &op);
                    continue;
                }
                // No free slot: wait for one. An op that falls due meanwhile takes the place of
                // the waiting one, which is dropped (counted once a slot frees or the run ends,
                // so the wait needs no timer per op).
                Err(_) => {
                    let permit = loop {
                        tokio::select! {
                            biased;
                            permit = slots.clone().acquire_owned() => break permit.ok(),
                            () = until(end) => break None,
                            () = pacer.sleep_until(ticker.next) => {
                                ticker.fire(&cfg, &shared, issued, dropped);
                            }
                        }
                    };
                    let now = Instant::now();
                    while let Some(next) =
                        ops.next_if(|n| in_run(n) && (permit.is_none() || start + n.at <= now))
                    {
                        dropped += drop_op(&shared, &op);
                        op = next;
                    }
                    let Some(permit) = permit else {
                        dropped += drop_op(&shared, &op);
                        continue;
                    };
                    permit
                }
            };
            last_at = op.at;
            let intended = start + op.at;
            issued += 1;
            shared.in_flight[op.kind.index()].fetch_add(1, Ordering::Relaxed);
            spawn_op(&mut tasks, op, permit, intended, &target, &shared, &cfg);
        }
        let issue_end = start.elapsed();
        drain(
            &mut tasks,
            &shared,
            Instant::now() + cfg.drain_timeout,
            last_at,
        )
        .await;
        tick(&cfg, &shared, start, issued, dropped);
        let duration = cfg.duration.unwrap_or(issue_end);
        let collector = std::mem::replace(&mut *shared.lock(), Collector::new());
        collector.finish(duration)
    }
}

/// Counts `op` as dropped; returns 1.
fn drop_op(shared: &Shared, op: &PlannedOp) -> u64 {
    shared.lock().dropped(op.kind, op.at);
    1
}

/// Returns at `end`, or never.
async fn until(end: Option<Instant>) {
    match end {
        Some(end) => sleep_until(end).await,
        None => std::future::pending().await,
    }
}

/// The progress clock: compacts the series and reports progress every
/// `every` from `start`.
struct Ticker {
    start: Instant,
    every: Duration,
    next: Instant,
}

impl Ticker {
    fn new(start: Instant, cfg: &DriverConfig) -> Self {
        let every = cfg.progress_every.max(Duration::from_millis(10));
        Ticker {
            start,
            every,
            next: start + every,
        }
    }

    /// Sleep until `due`, reporting progress on the way (`(cfg, shared,
    /// issued, dropped)`).
    async fn wait_for(
        &mut self,
        pacer: &mut Pacer,
        due: Instant,
        (cfg, shared, issued, dropped): (&DriverConfig, &Shared, u64, u64),
    ) {
        while self.next <= due {
            pacer.sleep_until(self.next).await;
            self.fire(cfg, shared, issued, dropped);
        }
        if Instant::now() < due {
            pacer.sleep_until(due).await;
        } else {
            // Already due (the loop fell behind): no timer to arm, but let the started ops
            // run now and then.
            tokio::task::consume_budget().await;
        }
    }

    /// Report now and schedule the next report.
    fn fire(&mut self, cfg: &DriverConfig, shared: &Shared, issued: u64, dropped: u64) {
        tick(cfg, shared, self.start, issued, dropped);
        self.next += self.every;
    }
}

fn tick(cfg: &DriverConfig, shared: &Shared, start: Instant, issued: u64, dropped: u64) {
    let elapsed = start.elapsed();
    shared.lock().compact(elapsed.as_secs());
    if let Some(report) = &cfg.progress {
        report(&Progress {
            elapsed,
            issued,
            completed: shared.completed.load(Ordering::Relaxed),
            dropped,
        });
    }
}
