//! What a live run's server did per op, for its summary: the work counters the service
//! recorded (`feedlab_system::timing::work`) and where the run came from.
//!
//! - `work.<op>`: per op kind, the mean storage calls, keys read, rows written, fsyncs, blob
//!   calls and bytes, and server CPU µs of one successful op, with the op count;
//! - per second, the mean server CPU µs of each op kind, merged into the driver's `series`;
//! - `shards.call_us`: the mean wall time of one metadata call per shard.

use std::collections::{BTreeMap, BTreeSet};

use feedlab_system::timing::{OpWork, Recorder};
use feedlab_workload::{OpKind, RunStats};

use super::probe::ProbeSeries;
use crate::summary::{OpWork as SummaryWork, ProbeStats};

/// The recorded work of one live run.
#[derive(Debug, Clone, Default)]
pub struct RunWork {
    /// Sums per op kind.
    pub per_op: BTreeMap<String, OpWork>,
    /// Sums per (second of the run, op kind).
    pub seconds: BTreeMap<(u64, String), OpWork>,
    /// Mean wall µs of a metadata call, per shard (0 for a shard with no call).
    pub shard_call_us: Vec<f64>,
    /// The machine-speed probe over the same seconds.
    pub probe: ProbeSeries,
}

impl RunWork {
    /// What `rec` holds for a service of `shards` shards.
    pub fn take(rec: &Recorder, shards: usize, probe: ProbeSeries) -> Self {
        let calls = rec.shard_call_us();
        RunWork {
            per_op: rec.ledger().totals(),
            seconds: rec.ledger().seconds(),
            shard_call_us: (0..shards)
                .map(|s| calls.get(&s).map_or(0.0, |c| c.1))
                .collect(),
            probe,
        }
    }

    /// The `work` section: per-op means by op kind, with `cpu_rel`, the CPU per op over the
    /// probe's median (see [`super::probe`]).
    pub fn per_op(&self) -> BTreeMap<String, SummaryWork> {
        let probe = self.probe.median_us();
        self.per_op
            .iter()
            .filter(|(_, w)| w.ops > 0)
            .map(|(k, w)| {
                let mut m = means(w);
                if probe > 0.0 {
                    m.cpu_rel = m.cpu_us.map(|c| c / probe);
                }
                (k.clone(), m)
            })
            .collect()
    }

    /// The `probe` section: the probe's median CPU µs, its period, the stalled seconds, the
    /// seconds that did not stall but broke the tail (those of `tails`, and those whose feed
    /// p99 reached the stall study's cut), and the stall study of `feed_p99` (each second's
    /// feed p99, see [`super::events`]).
    pub fn probe_stats(&self, tails: &[u64], feed_p99: &BTreeMap<u64, f64>) -> ProbeStats {
        let stalled = |s: u64| self.probe.stalls.iter().any(|x| x.second == s);
        let facts = super::events::facts(&self.probe.seconds, &self.seconds, feed_p99);
        let (tail_cut_ms, events) = super::events::split(&facts);
        let past_cut = feed_p99
            .iter()
            .filter(|&(_, &p99)| tail_cut_ms.is_some_and(|cut| cut > 0.0 && p99 >= cut))
            .map(|(&s, _)| s);
        let tails: BTreeSet<u64> = tails.iter().copied().chain(past_cut).collect();
        ProbeStats {
            us: self.probe.median_us(),
            every_ms: super::probe::EVERY.as_millis() as u64,
            stalls: self.probe.stalls.clone(),
            tails: tails
                .into_iter()
                .filter(|&s| !stalled(s))
                .filter_map(|s| self.probe.seconds.get(&s).cloned())
                .collect(),
            tail_cut_ms,
            events,
            extra: Default::default(),
        }
    }

    /// Mean server CPU per op of `kind` in `second` over the probe's CPU that second.
    pub fn cpu_rel(&self, second: u64, kind: &str) -> Option<f64> {
        let probe = *self.probe.per_second.get(&second)?;
        (probe > 0.0).then_some(self.cpu_us(second, kind)? / probe)
    }

    /// Mean server CPU µs per op of `kind` in `second`, if any was recorded.
    pub fn cpu_us(&self, second: u64, kind: &str) -> Option<f64> {
        self.seconds
            .get(&(second, kind.to_string()))
            .filter(|w| w.ops > 0)
            .map(|w| w.work.cpu_ns as f64 / w.ops as f64 / 1e3)
    }

    /// The slowest shard's mean call time, µs.
    pub fn call_us_max(&self) -> f64 {
        self.shard_call_us.iter().copied().fold(0.0, f64::max)
    }

    /// The slowest shard's mean call time over the median shard's (1 when all are alike; 0
    /// when no call was timed): a slow shard shows here whatever the machine's speed.
    pub fn call_us_skew(&self) -> f64 {
        let mut v: Vec<f64> = self.shard_call_us.clone();
        v.sort_by(f64::total_cmp);
        let median = match v.len() {
            0 => return 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        if median > 0.0 {
            self.call_us_max() / median
        } else {
            0.0
        }
    }
}

/// Per-op means of `w`.
fn means(w: &OpWork) -> SummaryWork {
    let n = w.ops.max(1) as f64;
    let m = |v: u64| Some(v as f64 / n);
    SummaryWork {
        ops: w.ops,
        storage_calls: m(w.work.storage_calls),
        keys_read: m(w.work.keys_read),
        rows_written: m(w.work.rows_written),
        fsyncs: m(w.work.fsyncs),
        blob_calls: m(w.work.blob_calls),
        blob_bytes_read: m(w.work.blob_bytes_read),
        blob_bytes_written: m(w.work.blob_bytes_written),
        cpu_us: Some(w.work.cpu_ns as f64 / n / 1e3),
        ..SummaryWork::default()
    }
}

/// Each second's feed p99 in the series, ms.
pub fn feed_p99s(stats: &RunStats) -> BTreeMap<u64, f64> {
    stats
        .series()
        .iter()
        .filter(|p| p.kind == OpKind::Feed)
        .map(|p| (p.second, p.p99_ms))
        .collect()
}

/// The seconds of the series in which the feed's p99 passed `target_ms` or any op was dropped.
pub fn tail_seconds(stats: &RunStats, target_ms: f64) -> Vec<u64> {
    let mut out: Vec<u64> = stats
        .series()
        .iter()
        .filter(|p| p.dropped > 0 || (p.kind == OpKind::Feed && p.p99_ms > target_ms))
        .map(|p| p.second)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedlab_system::timing::Work;

    #[test]
    fn means_divide_by_the_op_count() {
        let w = OpWork {
            ops: 4,
            work: Work {
                storage_calls: 10,
                cpu_ns: 8_000,
                ..Work::default()
            },
        };
        let v = means(&w);
        assert_eq!(v.storage_calls, Some(2.5));
        assert_eq!(v.cpu_us, Some(2.0));
        assert_eq!(v.ops, 4);
    }

    #[test]
    fn skew_is_the_slowest_shard_over_the_median() {
        let w = |v: Vec<f64>| RunWork {
            shard_call_us: v,
            ..RunWork::default()
        };
        assert_eq!(w(vec![10.0, 20.0, 10.0, 10.0]).call_us_skew(), 2.0);
        assert_eq!(w(vec![10.0, 30.0, 20.0]).call_us_skew(), 1.5);
        assert_eq!(w(vec![]).call_us_skew(), 0.0);
        assert_eq!(w(vec![0.0, 0.0]).call_us_skew(), 0.0);
    }

    #[test]
    fn tail_seconds_that_did_not_stall_carry_their_thread_cpu() {
        use crate::summary::{Stall, ThreadUse};
        let sec = |second: u64, late_ms: f64| Stall {
            second,
            late_ms,
            steal_ms: 0.0,
            threads: vec![ThreadUse {
                name: "fjall:worker".into(),
                cpu_ms: 400.0,
            }],
            ..Stall::default()
        };
        let probe = ProbeSeries {
            stalls: vec![sec(0, 150.0)],
            seconds: (0..5u64)
                .zip([150.0, 2.0, 1.0, 1.0, 1.0])
                .map(|(s, late)| (s, sec(s, late)))
                .collect(),
            ..ProbeSeries::default()
        };
        let w = RunWork {
            probe,
            ..RunWork::default()
        };
        let p = w.probe_stats(&[0, 1, 7], &BTreeMap::new());
        assert_eq!(p.stalls.len(), 1);
        // Second 0 is already a stall; second 7 was never probed.
        assert_eq!(p.tails, vec![sec(1, 2.0)]);
        assert!(w.probe_stats(&[], &BTreeMap::new()).tails.is_empty());
        // Past the stall study's cut (3× the median per-second feed p99 of 2 ms): second 2,
        // under the target, is listed too; second 0 still only as a stall.
        let p99s: BTreeMap<u64, f64> = [(0, 9.0), (1, 2.0), (2, 6.5), (3, 2.0), (4, 2.0)].into();
        let p = w.probe_stats(&[], &p99s);
        assert_eq!(p.tail_cut_ms, Some(6.0));
        assert_eq!(p.tails, vec![sec(2, 1.0)]);
    }
}
