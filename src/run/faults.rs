//! Fault windows of a live run: the scheduler that flips the service's switchboard on the
//! driver's clock, and what the per-second series shows of each window.
//!
//! [`Scheduler::start`] is called with the instant the driver starts (the origin of the
//! per-second `series`); a task sets each fault at `at-s` and lifts it at `at-s + for-s`,
//! lifting before setting when two events fall on one instant (back-to-back windows).
//! [`Scheduler::stop`] ends the task and lifts every switch, whatever it had reached.
//! [`outcomes`] reads the typed series: the peak feed p99 during each window, the ops that
//! failed then, and how long after it the feed was back (see
//! [`crate::summary::FaultOutcome`]).

use std::time::Duration;

use feedlab_system::faults::Faults;
use feedlab_workload::{OpKind, SecondPoint};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::spec::faults::{Fault, FaultAction};
use crate::summary::{Extra, FaultOutcome};

/// Share of the pre-window median feed goodput a second needs to count as recovered.
const RECOVERED_GOODPUT: f64 = 0.9;

/// The running fault schedule of one live run.
pub struct Scheduler {
    task: JoinHandle<()>,
    board: Faults,
}

impl Scheduler {
    /// Applies `plan` on `board`, its times counted from `origin`.
    pub fn start(board: Faults, plan: &[Fault], origin: Instant) -> Scheduler {
        let mut events: Vec<(Duration, bool, FaultAction)> = plan
            .iter()
            .flat_map(|f| {
                [
                    (Duration::from_secs_f64(f.at_s), true, f.action),
                    (Duration::from_secs_f64(f.end_s()), false, f.action),
                ]
            })
            .collect();
        // At one instant, lifts (false) sort before sets (true).
        events.sort_by_key(|&(at, on, _)| (at, on));
        let b = board.clone();
        let task = tokio::spawn(async move {
            for (at, on, action) in events {
                tokio::time::sleep_until(origin + at).await;
                apply(&b, action, on);
            }
        });
        Scheduler { task, board }
    }

    /// Ends the schedule and lifts every switch.
    pub fn stop(self) {
        self.task.abort();
        self.board.clear();
    }
}

/// Sets (`on`) or lifts one fault's switch.
fn apply(board: &Faults, action: FaultAction, on: bool) {
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
        other => {
            // `run::fault_plan` refuses kinds a live run does not apply.
            tracing::warn!(kind = other.kind().name(), "fault not applied live");
            return;
        }
    };
    match r {
        Ok(()) => {
            tracing::info!(kind = action.kind().name(), target = %action.target(), on, "fault")
        }
        Err(e) => tracing::warn!(error = %e, "fault switch refused"),
    }
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
                extra: Extra::new(),
            }
        })
        .collect()
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
