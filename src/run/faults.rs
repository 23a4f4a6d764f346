//! Fault windows of a live run: the scheduler that applies them on the driver's clock, and
//! what the per-second series shows of each window.
//!
//! [`Scheduler::start`] is called with the instant the driver starts (the origin of the
//! per-second `series`); a task sets each fault at `at-s` and lifts it at `at-s + for-s`,
//! lifting before setting when two events fall on one instant (back-to-back windows).
//! Switches (`slow-shard`, `shard-down`, `materializer-pause`, `blob-outage` `stop`) are the
//! service's [`Faults`] board. One-shot faults start at `at-s` on their own task and are read
//! after the run: `celebrity-burst` ([`burst`]) and the replica damage of `blob-outage`
//! ([`blob`]). `flash-crowd` is no switch: the op stream carries its extra reads
//! ([`surges`]). [`Scheduler::finish`] ends the schedule, lifts every switch and returns
//! what each one-shot fault reported, for the summary's fault entries.
//! [`outcomes`] reads the typed series: the peak feed p99 during each window, the ops that
//! failed then, and how long after it the feed was back (see
//! [`crate::summary::FaultOutcome`]).

mod blob;
pub mod burst;
pub(in crate::run) mod wiring;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use feedlab_system::blob::BlobStore;
use feedlab_system::faults::{Faults, ReplicaDamage};
use feedlab_workload::{OpKind, ReadSurge, RunStats, SecondPoint, Target};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::spec::RunSpec;
use crate::spec::faults::{BlobHow, Fault, FaultAction};
use crate::summary::{Extra, FaultOutcome};

/// Share of the pre-window median feed goodput a second needs to count as recovered.
const RECOVERED_GOODPUT: f64 = 0.9;

/// What the faults of a live run act on.
#[derive(Clone)]
pub struct Reach {
    /// The service's switchboard.
    pub board: Faults,
    /// The service's blob store (replica damage).
    pub blobs: Arc<dyn BlobStore>,
    /// The driver's target (a celebrity's burst posts through it).
    pub target: Arc<dyn Target>,
    /// The most-followed author (`None` for an empty population).
    pub author: Option<burst::Author>,
}

/// A one-shot fault started by the schedule, with the index of its plan entry.
enum Started {
    Burst(usize, JoinHandle<burst::BurstReport>),
    Damage(usize, blob::Damaging),
}

/// What one fault of the plan reported after the run (switches report nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FaultReport {
    /// A switch, or a one-shot fault that did not start.
    #[default]
    Nothing,
    /// A celebrity's burst.
    Burst(burst::BurstReport),
    /// Replica damage.
    Damage(blob::DamageReport),
}

impl FaultReport {
    /// The fields its summary fault entry gets beyond the contract.
    pub fn extra(&self) -> Extra {
        match self {
            FaultReport::Nothing => Extra::new(),
            FaultReport::Burst(r) => r.extra(),
            FaultReport::Damage(r) => r.extra(),
        }
    }

    /// Uploads it made outside the op stream (acknowledged).
    pub fn uploads(&self) -> u64 {
        match self {
            FaultReport::Burst(r) => r.posted,
            _ => 0,
        }
    }
}

/// The running fault schedule of one live run.
pub struct Scheduler {
    task: JoinHandle<()>,
    board: Faults,
    faults: usize,
    started: Arc<Mutex<Vec<Started>>>,
}

impl Scheduler {
    /// Applies `plan` on `reach`, its times counted from `origin`.
    pub fn start(reach: Reach, plan: &[Fault], origin: Instant) -> Scheduler {
        let mut events: Vec<(Duration, bool, usize, FaultAction)> = plan
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                [
                    (Duration::from_secs_f64(f.at_s), true, i, f.action),
                    (Duration::from_secs_f64(f.end_s()), false, i, f.action),
                ]
            })
            .collect();
        // At one instant, lifts (false) sort before sets (true).
        events.sort_by_key(|&(at, on, i, _)| (at, on, i));
        let board = reach.board.clone();
        let started = Arc::new(Mutex::new(Vec::new()));
        let list = started.clone();
        let task = tokio::spawn(async move {
            for (at, on, i, action) in events {
                tokio::time::sleep_until(origin + at).await;
                if let Some(s) = apply(&reach, i, action, on) {
                    list.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                }
            }
        });
        Scheduler {
            task,
            board,
            faults: plan.len(),
            started,
        }
    }

    /// Ends the schedule, lifts every switch, and returns the report of each fault (empty
    /// for a switch), in plan order. A burst still probing is waited for.
    pub async fn finish(self) -> Vec<FaultReport> {
        self.task.abort();
        self.board.clear();
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out = vec![FaultReport::Nothing; self.faults];
        for s in started {
            match s {
                Started::Burst(i, task) => match task.await {
                    Ok(r) => out[i] = FaultReport::Burst(r),
                    Err(e) => tracing::warn!(error = %e, "celebrity burst failed"),
                },
                Started::Damage(i, d) => out[i] = FaultReport::Damage(d.report().await),
            }
        }
        out
    }
}

/// The read surges (`flash-crowd` windows) of `plan`, for the op stream.
pub fn surges(plan: &[Fault]) -> Vec<ReadSurge> {
    plan.iter()
        .filter_map(|f| match f.action {
            FaultAction::FlashCrowd { factor } => Some(ReadSurge {
                from: Duration::from_secs_f64(f.at_s),
                to: Duration::from_secs_f64(f.end_s()),
                factor,
            }),
            _ => None,
        })
        .collect()
}

/// Sets (`on`) or lifts the fault of plan entry `i`; a one-shot fault starts on `on`.
fn apply(reach: &Reach, i: usize, action: FaultAction, on: bool) -> Option<Started> {
    let board = &reach.board;
    let r = match action {
        FaultAction::SlowShard { shard, extra_ms } => {
            let extra = if on {
                Duration::from_secs_f64(extra_ms / 1_000.0)
            } else {
                Duration::ZERO
            };
            board.set_shard_delay(shard, extra)
        }
        FaultAction::ShardDown { shard } => board.set_shard_down(shard, on),
        FaultAction::MaterializerPause => {
            board.set_materializer_paused(on);
            Ok(())
        }
        FaultAction::BlobOutage { how: BlobHow::Stop } => {
            board.set_blob_stopped(on);
            Ok(())
        }
        FaultAction::FlashCrowd { .. } => Ok(()), // in the op stream
        FaultAction::BlobOutage { how } if on => {
            let damage = match how {
                BlobHow::CorruptReplica => ReplicaDamage::Corrupt,
                _ => ReplicaDamage::Delete,
            };
            log(action, on);
            return Some(Started::Damage(
                i,
                blob::Damaging::start(reach.blobs.clone(), damage),
            ));
        }
        FaultAction::CelebrityBurst { photos } if on => {
            let author = reach.author?;
            log(action, on);
            let target = reach.target.clone();
            return Some(Started::Burst(
                i,
                tokio::spawn(burst::post(target, author, photos)),
            ));
        }
        FaultAction::BlobOutage { .. } | FaultAction::CelebrityBurst { .. } => return None,
        FaultAction::Network { .. } => {
            // `run::fault_plan` refuses kinds a live run does not apply.
            tracing::warn!(kind = action.kind().name(), "fault not applied live");
            return None;
        }
    };
    match r {
        Ok(()) => log(action, on),
        Err(e) => tracing::warn!(error = %e, "fault switch refused"),
    }
    None
}

fn log(action: FaultAction, on: bool) {
    tracing::info!(kind = action.kind().name(), target = %action.target(), on, "fault");
}

/// Each fault of `plan` as the summary reports it, measured on `series` (the driver's
/// per-second points) of a run of `duration_s` seconds against a feed p99 target of
/// `target_ms`.
pub fn outcomes(
    plan: &[Fault],
    series: &[SecondPoint],
    duration_s: f64,
    target_ms: f64,
) -> Vec<FaultOutcome> {
    let seconds = duration_s.ceil().max(0.0) as u64;
    let feed = |k: u64| {
        series
            .iter()
            .find(|p| p.second == k && p.kind == OpKind::Feed)
    };
    plan.iter()
        .map(|f| {
            let (first, end) = (f.at_s.floor() as u64, f.end_s().ceil() as u64);
            let window = first..end.max(first + 1);
            let peak = window
                .clone()
                .filter_map(|k| feed(k).filter(|p| p.count > 0).map(|p| p.p99_ms))
                .reduce(f64::max);
            let failed = series
                .iter()
                .filter(|p| window.contains(&p.second))
                .map(|p| p.errors + p.shed)
                .sum();
            let before: Vec<u64> = (0..first).map(|k| feed(k).map_or(0, |p| p.count)).collect();
            let floor = median(&before).map(|m| m * RECOVERED_GOODPUT);
            let recovered = (end..seconds).find(|&k| {
                feed(k).is_some_and(|p| {
                    p.count > 0
                        && p.p99_ms <= target_ms
                        && floor.is_none_or(|min| p.count as f64 >= min)
                })
            });
            let (extra_ms, kind) = match f.action {
                FaultAction::SlowShard { extra_ms, .. } => (Some(extra_ms), f.action.kind()),
                other => (None, other.kind()),
            };
            FaultOutcome {
                kind: kind.name().into(),
                target: f.action.target(),
                at_s: f.at_s,
                for_s: f.for_s,
                extra_ms,
                peak_feed_p99_ms: peak,
                failed,
                recovery_s: recovered.map(|k| (k as f64 - f.end_s()).max(0.0)),
                peak_freshness_p99_ms: None,
                freshness_recovery_s: None,
                extra: Extra::new(),
            }
        })
        .collect()
}

/// [`outcomes`] of a live run of `spec`, with the freshness figures of its probed uploads
/// ([`add_freshness`]) against the freshness target.
pub fn live_outcomes(plan: &[Fault], stats: &RunStats, spec: &RunSpec) -> Vec<FaultOutcome> {
    let t = &spec.target;
    let mut out = outcomes(plan, stats.series(), spec.duration_s, t.feed_p99_ms);
    let fresh: Vec<(u64, f64)> = stats
        .freshness_series()
        .iter()
        .map(|p| (p.second, p.p99_ms))
        .collect();
    add_freshness(&mut out, plan, &fresh, t.freshness_p99_s * 1000.0);
    out
}

/// Fills each outcome's freshness figures from `fresh`: per second of intended upload, the
/// probed uploads' freshness p99 in ms (seconds without a probe left out), against a
/// freshness target of `target_ms`. `outcomes` and `plan` are in the same order.
pub fn add_freshness(
    outcomes: &mut [FaultOutcome],
    plan: &[Fault],
    fresh: &[(u64, f64)],
    target_ms: f64,
) {
    for (o, f) in outcomes.iter_mut().zip(plan) {
        let (first, end) = (f.at_s.floor() as u64, f.end_s().ceil() as u64);
        let window = first..end.max(first + 1);
        o.peak_freshness_p99_ms = fresh
            .iter()
            .filter(|(k, _)| window.contains(k))
            .map(|&(_, ms)| ms)
            .reduce(f64::max);
        o.freshness_recovery_s = fresh
            .iter()
            .filter(|&&(k, ms)| k >= end && ms <= target_ms)
            .map(|&(k, _)| k)
            .min()
            .map(|k| (k as f64 - f.end_s()).max(0.0));
    }
}

/// The median of `xs` (`None` when empty).
fn median(xs: &[u64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if !n.is_multiple_of(2) => Some(v[n / 2] as f64),
        _ => Some((v[n / 2 - 1] + v[n / 2]) as f64 / 2.0),
    }
}

#[cfg(test)]
mod tests;
