//! What a photo-model run reports: per-op latencies, freshness, fan-out
//! work, and per-component utilisation and queue lengths (shards, blob
//! store, app servers, materializer, cache). Times are milliseconds.

use serde::Serialize;

use super::state::PhotoModel;
use crate::engine::{SimTime, to_secs};
use crate::station::PoolStats;
use crate::stats::DelayStats;

/// Percentiles (in %) of the latency curves.
pub const CURVE: [f64; 9] = [50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.8, 99.9];

/// Latency percentiles of one op kind (or of freshness), ms.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct LatencyReport {
    /// Completed ops (after the warm-up).
    pub count: u64,
    /// Ops turned away by a full app-server backlog.
    pub dropped: u64,
    /// Mean, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// 99.9th percentile, ms.
    pub p999_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// `[percent, ms]` at [`CURVE`].
    pub percentiles: Vec<(f64, f64)>,
}

impl LatencyReport {
    /// Summarize `d` (ns) with `dropped` drops.
    pub fn of(d: &DelayStats, dropped: u64) -> Self {
        let ms = |q: f64| d.quantile(q) as f64 / 1e6;
        LatencyReport {
            count: d.count(),
            dropped,
            mean_ms: d.mean() / 1e6,
            p50_ms: ms(0.5),
            p90_ms: ms(0.9),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: if d.count() == 0 {
                0.0
            } else {
                d.histogram().max() as f64 / 1e6
            },
            percentiles: if d.count() == 0 {
                Vec::new()
            } else {
                CURVE.iter().map(|&p| (p, ms(p / 100.0))).collect()
            },
        }
    }
}

/// One shard server over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardReport {
    /// Shard index.
    pub shard: usize,
    /// Sub-requests sent to it.
    pub ops: u64,
    /// Busy fraction of its workers.
    pub utilisation: f64,
    /// Time-average queue length.
    pub mean_queue: f64,
    /// Longest queue.
    pub max_queue: u64,
    /// 99th percentile queue wait, ms.
    pub wait_p99_ms: f64,
}

/// Component statistics taken when arrivals end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// Model time of the snapshot, s.
    pub at_s: f64,
    /// Per shard.
    pub shards: Vec<ShardReport>,
    /// The blob store.
    pub blob: PoolStats,
    /// Busiest read app server.
    pub read_server: PoolStats,
    /// Busiest write app server.
    pub write_server: PoolStats,
    /// Time-average materializer queue (jobs).
    pub materializer_mean_queue: f64,
    /// Longest materializer queue (jobs).
    pub materializer_max_queue: u64,
}

/// The outcome of one photo-model run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// `(op kind name, latency)` for every kind, in `OpKind::ALL` order.
    pub ops: Vec<(String, LatencyReport)>,
    /// Upload acknowledgement → last timeline insert done (0 when nothing
    /// is pushed). Fan-out still pending at the end counts with its age.
    pub freshness: LatencyReport,
    /// Timeline entries pushed by measured uploads.
    pub timeline_writes: u64,
    /// Measured uploads.
    pub uploads: u64,
    /// Uploads whose fan-out had not finished when the run ended.
    pub fanout_pending: u64,
    /// Photo-row cache lookups and hits.
    pub cache_lookups: u64,
    /// Hits among them.
    pub cache_hits: u64,
    /// Components at the end of the arrivals.
    pub snapshot: Snapshot,
    /// Engine events handled.
    pub events: u64,
    /// Model time when the last event ran, s.
    pub end_s: f64,
}

impl PhotoModel<'_> {
    /// Statistics of every component at `now`.
    pub(crate) fn take_snapshot(&self, now: SimTime) -> Snapshot {
        let busiest = |pools: &[crate::station::ConnPool<u32>]| {
            pools
                .iter()
                .map(|p| p.stats(now))
                .max_by(|a, b| a.utilisation.total_cmp(&b.utilisation))
        };
        let shards = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let st = s.stats(now);
                ShardReport {
                    shard: i,
                    ops: self.shard_ops[i],
                    utilisation: st.utilisation,
                    mean_queue: st.mean_queue,
                    max_queue: st.max_queue,
                    wait_p99_ms: st.waits.p99_ms,
                }
            })
            .collect();
        let blob = self.blob.stats(now);
        Snapshot {
            at_s: to_secs(now),
            shards,
            blob,
            read_server: busiest(&self.read_pools).unwrap_or(blob),
            write_server: busiest(&self.write_pools).unwrap_or(blob),
            materializer_mean_queue: self.mat.queue_avg.mean(now),
            materializer_max_queue: self.mat.queue_avg.max(),
        }
    }
}
