//! What a photo-model run reports: per-op latencies, freshness, fan-out
//! work, and per-component utilisation and queue lengths (shards, blob
//! store, app servers, materializer, cache). Times are milliseconds.

use feedlab_workload::LatencyRecord;
use serde::Serialize;

use super::state::PhotoModel;
use crate::engine::{SimTime, to_secs};
use crate::station::PoolStats;
use crate::stats::DelayStats;

/// Storage calls of one request, or summed over the measured ops of a kind: the simulator's
/// side of a live run's work counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkCount {
    /// Requests counted.
    pub ops: u64,
    /// Metadata shard calls.
    pub shard: u64,
    /// Blob calls.
    pub blob: u64,
    /// Bytes the op's blob calls read (a view's read).
    pub blob_bytes_read: u64,
    /// Bytes the op's blob calls wrote (an upload's body).
    pub blob_bytes_written: u64,
}

/// The latency record of `d` (ns) with `dropped` drops: one op kind's (or freshness's)
/// latency in ms, its curve at [`feedlab_workload::PERCENTILES`].
pub fn latency_of(d: &DelayStats, dropped: u64) -> LatencyRecord {
    LatencyRecord {
        dropped,
        ..d.summary()
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

/// One resource of the deployment (all nodes of one role), over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceReport {
    /// `box-cpu`, `app-cpu`, `shard-cpu`, `blob-cpu`, `shard-disk`, `blob-nic`,
    /// `shard-workers`, `blob-workers`, `app-connections` or `materializer`.
    pub name: String,
    /// `cpu`, `disk`, `network`, `workers` or `materializer`.
    pub kind: String,
    /// What `capacity` counts: `cores`, `io-slots`, `links`, `workers`, `connections`.
    pub units: String,
    /// Capacity of one node (or server) in `units`.
    pub capacity: f64,
    /// Nodes (or servers) of the role.
    pub nodes: usize,
    /// Busy fraction of the busiest node, 0..1; for the materializer the larger of its
    /// workers' busy fraction and offered entries ÷ its rate limit, which exceeds 1 when the
    /// fan-out offered is more than it can write (its backlog, and freshness, then grow).
    pub utilisation: f64,
    /// Busy fraction averaged over the nodes.
    pub mean_utilisation: f64,
    /// Busy time summed over the nodes, in `units` × seconds.
    pub busy_s: f64,
}

impl ResourceReport {
    fn of(name: &str, kind: &str, units: &str, capacity: f64, utils: &[(f64, f64)]) -> Self {
        let n = utils.len().max(1) as f64;
        ResourceReport {
            name: name.into(),
            kind: kind.into(),
            units: units.into(),
            capacity,
            nodes: utils.len(),
            utilisation: utils.iter().map(|u| u.0).fold(0.0, f64::max),
            mean_utilisation: utils.iter().map(|u| u.0).sum::<f64>() / n,
            busy_s: utils.iter().map(|u| u.1).sum(),
        }
    }
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
    /// Every modelled resource, by role.
    pub resources: Vec<ResourceReport>,
    /// The resource with the highest utilisation (the first to saturate as load grows).
    pub bottleneck: String,
}

/// The outcome of one photo-model run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// `(op kind name, latency)` for every kind, in `OpKind::ALL` order.
    pub ops: Vec<(String, LatencyRecord)>,
    /// `(op kind name, storage calls of its measured ops)`, in `OpKind::ALL` order.
    pub work: Vec<(String, WorkCount)>,
    /// Upload acknowledgement → last timeline insert done (0 when nothing
    /// is pushed). Fan-out still pending at the end counts with its age.
    pub freshness: LatencyRecord,
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
    /// Per second of intended start and op kind: completed (p50, p99), failed, shed and
    /// dropped ops, over the whole run (warm-up included).
    pub series: Vec<feedlab_workload::SecondPoint>,
    /// Per second: freshness of the uploads acknowledged then and the largest fan-out
    /// backlog.
    pub freshness_series: Vec<super::series::FreshPoint>,
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
        let resources = self.resources(now);
        let bottleneck = resources
            .iter()
            .max_by(|a, b| a.utilisation.total_cmp(&b.utilisation))
            .map(|r| r.name.clone())
            .unwrap_or_default();
        Snapshot {
            resources,
            bottleneck,
            at_s: to_secs(now),
            shards,
            read_server: busiest(&self.read_pools).unwrap_or_else(|| blob.clone()),
            write_server: busiest(&self.write_pools).unwrap_or_else(|| blob.clone()),
            blob,
            materializer_mean_queue: self.mat.queue_avg.mean(now),
            materializer_max_queue: self.mat.queue_avg.max(),
        }
    }
}

impl PhotoModel<'_> {
    /// The report of every resource at `now`.
    fn resources(&self, now: SimTime) -> Vec<ResourceReport> {
        let mut out = Vec::new();
        let res = &self.res;
        for role in ["box", "app", "shard", "blob"] {
            let nodes: Vec<_> = res
                .cpus
                .iter()
                .zip(&res.role)
                .filter(|(_, r)| **r == role)
                .map(|(c, _)| c.stats(now))
                .collect();
            if let Some(first) = nodes.first() {
                let u: Vec<_> = nodes.iter().map(|s| (s.utilisation, s.busy_s)).collect();
                let name = format!("{role}-cpu");
                out.push(ResourceReport::of(&name, "cpu", "cores", first.cores, &u));
            }
        }
        let (disks, nics) = res.io_stats(now);
        for role in ["box", "shard", "blob"] {
            let u: Vec<_> = disks
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, s)| pool_use(s, now, self.warmup))
                .collect();
            if let Some((_, s)) = disks.iter().find(|(r, _)| *r == role) {
                let name = format!("{role}-disk");
                out.push(ResourceReport::of(
                    &name,
                    "disk",
                    "io-slots",
                    f64::from(s.capacity),
                    &u,
                ));
            }
        }
        if !nics.is_empty() {
            let u: Vec<_> = nics.iter().map(|s| pool_use(s, now, self.warmup)).collect();
            out.push(ResourceReport::of("blob-nic", "network", "links", 1.0, &u));
        }
        let st = |pools: Vec<PoolStats>, name: &str, units: &str| {
            let u: Vec<_> = pools
                .iter()
                .map(|s| pool_use(s, now, self.warmup))
                .collect();
            let cap = pools.first().map_or(0.0, |s| f64::from(s.capacity));
            ResourceReport::of(name, "workers", units, cap, &u)
        };
        out.push(st(
            self.shards.iter().map(|s| s.stats(now)).collect(),
            "shard-workers",
            "workers",
        ));
        out.push(st(vec![self.blob.stats(now)], "blob-workers", "workers"));
        let apps = self.read_pools.iter().chain(&self.write_pools);
        out.push(st(
            apps.map(|p| p.stats(now)).collect(),
            "app-connections",
            "connections",
        ));
        let window = to_secs(now.saturating_sub(self.warmup)).max(1e-9);
        let workers = self.mat.busy_avg.mean(now) / f64::from(self.mat.workers.max(1));
        let rate = self.timeline_writes as f64 * self.mat.ns_per_entry / (window * 1e9);
        let mut mat = ResourceReport::of(
            "materializer",
            "materializer",
            "workers",
            f64::from(self.mat.workers),
            &[(workers.max(rate), self.mat.busy_avg.mean(now) * window)],
        );
        mat.mean_utilisation = mat.utilisation;
        out.push(mat);
        out
    }
}

/// (utilisation, busy slot-seconds) of a pool over the window since the warm-up.
fn pool_use(s: &PoolStats, now: SimTime, warmup: SimTime) -> (f64, f64) {
    let window = to_secs(now.saturating_sub(warmup));
    (
        s.utilisation,
        s.utilisation * f64::from(s.capacity) * window,
    )
}
