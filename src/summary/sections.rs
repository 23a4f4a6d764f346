//! The typed sections of `summary.json` (see [`super::Summary`]): each one's contract
//! fields, typed fields some writers add, and a flattened `extra` map for plot series and
//! for fields of newer writers, kept on read and written back unchanged.

use serde::{Deserialize, Serialize};

use super::Extra;

fn one() -> f64 {
    1.0
}

/// `config`: which strategy and backend each seam used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Fan-out strategy (`push`, `pull`, `hybrid`, `rate`).
    pub fanout: String,
    /// Sharding strategy (`user`, `photo`, `logical`, `consistent`).
    pub sharding: String,
    /// Metadata backend (`embedded`, `tikv`, or `model` in the simulator).
    pub meta: String,
    /// Blob backend (`local`, `s3`, or `model`).
    pub blob: String,
    /// How ops reached the service (`http`, `direct`, `external`, or `sim`).
    #[serde(default)]
    pub transport: String,
    /// Multiple of the scenario's traffic offered (`traffic.load`).
    #[serde(default = "one")]
    pub load: f64,
    /// Physical shards configured (live runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u64>,
    /// Hybrid fan-out threshold in full-scale followers (live runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hybrid_threshold: Option<u64>,
    /// The hybrid threshold as applied to the materialized graph (live runs; `null` when
    /// the strategy could not be built).
    #[serde(default)]
    pub hybrid_threshold_live: Option<u64>,
    /// Most bytes a photo view read (`driver.view-bytes`, one range request; live runs,
    /// absent when views read whole files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_bytes: Option<u64>,
    /// Seconds driven or simulated before the measured window (`driver.warmup-s`,
    /// `sim.warmup-s`); `duration_s` is what follows it. Absent without a warm-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_s: Option<f64>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `population`: the modelled users and how much of it was materialized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// Users modelled.
    pub users: u64,
    /// Users actually created (live runs use a scaled sub-population).
    pub materialized_users: u64,
    /// Follow edges created.
    pub follows: u64,
    /// Power-law exponent of follower counts.
    pub alpha: f64,
    /// Mean followees per user.
    pub mean_followees: f64,
    /// Largest follower count in the population.
    pub max_followers: u64,
    /// `full` or `scaled`: which population the simulator ran (sim runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<String>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `fanout`: timeline writes caused by uploads and how fresh feeds were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FanoutStats {
    /// Timeline entries written.
    pub timeline_writes: u64,
    /// Timeline entries written per upload.
    pub writes_per_upload: f64,
    /// Median delay from upload acknowledgement to timeline visibility.
    pub freshness_p50_ms: f64,
    /// 99th percentile of that delay.
    pub freshness_p99_ms: f64,
    /// Uploads probed for freshness (live runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_probed: Option<u64>,
    /// Probes that saw their upload (live runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_visible: Option<u64>,
    /// Probes that gave up at the timeout (live runs); a run with any missed its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_timeouts: Option<u64>,
    /// Timeline entries written per second of the run (sim runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline_writes_per_s: Option<f64>,
    /// The hybrid threshold and the shares of authors and follower edges it pulls (live
    /// runs; `null` when the strategy could not be built).
    #[serde(default)]
    pub hybrid: Option<HybridShares>,
    /// The author with the most followers and its timeline writes per upload (live runs).
    #[serde(default)]
    pub top_author: Option<TopAuthor>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `shards`: how evenly the load spread.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardStats {
    /// Physical shards.
    pub count: u64,
    /// Busiest shard's load over the mean load (1.0 is perfectly even).
    pub load_max_over_mean: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `storage`: bytes held at the end of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageStats {
    /// Metadata store bytes.
    pub meta_bytes: u64,
    /// Blob store bytes.
    pub blob_bytes: u64,
    /// Bytes of materialized timelines.
    pub timeline_bytes: u64,
    /// `false` when the bytes were not measured (simulated or external runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<bool>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `target`: the scenario's feed target and the verdict of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Target p99 of feed reads in ms.
    pub feed_p99_ms: f64,
    /// Target p99 of feed freshness in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_p99_s: Option<f64>,
    /// The largest fraction of offered ops the run may drop or shed (absent in older
    /// summaries, which are judged by 0.001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dropped: Option<f64>,
    /// The largest fraction of completed ops that may fail (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_errors: Option<f64>,
    /// Whether the run met every target: no [`Target::breaches`].
    pub met: bool,
    /// The targets the run broke, in rule order (empty when met; absent in older summaries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaches: Vec<super::Breach>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `fanout.hybrid`: the hybrid threshold at full scale and as applied to the materialized
/// graph, with the shares of authors and follower edges it pulls in each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HybridShares {
    /// Threshold in full-scale followers.
    pub threshold: u64,
    /// The threshold mapped onto the materialized graph.
    pub live_threshold: u64,
    /// Share of full-scale authors pulled.
    pub full_author_share: f64,
    /// Share of full-scale follower edges pulled.
    pub full_edge_share: f64,
    /// Share of materialized authors pulled.
    pub live_author_share: f64,
    /// Share of materialized follower edges pulled.
    pub live_edge_share: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `fanout.top_author`: the most-followed author and its timeline writes per upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopAuthor {
    /// The author's user index.
    pub user: u64,
    /// Its followers.
    pub followers: u64,
    /// Timeline entries one upload of it writes.
    pub writes_per_upload: u64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `sim`: what only the simulator knows; the per-shard rows, resources and components stay
/// in `extra` for the plots.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimSection {
    /// Events the simulator processed.
    #[serde(default)]
    pub events: u64,
    /// The most utilised resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<String>,
    /// Utilisation of [`SimSection::bottleneck`] (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck_utilisation: Option<f64>,
    /// The busiest shard server's utilisation (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_shard_utilisation: Option<f64>,
    /// Cores' worth of CPU the deployment's CPU resources were busy over the measured window,
    /// summed over their nodes: on one box, the twin of a live run's process cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<f64>,
    /// The M/M/c validation queue next to theory (queue runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueCheck>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `sim.queue`: an M/M/c queue's simulated waits next to Erlang C.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueCheck {
    /// Arrivals per second.
    pub arrival_rate: f64,
    /// Services per second per worker.
    pub service_rate: f64,
    /// Workers.
    pub workers: u32,
    /// Customers measured.
    pub customers: u64,
    /// Simulated utilisation.
    pub utilisation: f64,
    /// Theoretical utilisation.
    pub rho_theory: f64,
    /// Simulated mean wait, s.
    pub mean_wait_s: f64,
    /// Theoretical mean wait, s.
    pub mean_wait_theory_s: f64,
    /// Simulated over theoretical mean wait, minus 1.
    pub mean_wait_error: f64,
    /// Simulated p99 wait, s.
    pub p99_wait_s: f64,
    /// Theoretical p99 wait, s.
    pub p99_wait_theory_s: f64,
    /// Simulated over theoretical p99 wait, minus 1.
    pub p99_wait_error: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `work.<op>`: per-op means of the work counters a live run's server (or the simulator)
/// measured for one op kind. A counter a writer does not measure is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpWork {
    /// Ops the means are over.
    #[serde(default)]
    pub ops: u64,
    /// Metadata storage calls per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_calls: Option<f64>,
    /// Keys read per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_read: Option<f64>,
    /// Rows written per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_written: Option<f64>,
    /// fsyncs per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsyncs: Option<f64>,
    /// Blob calls per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_calls: Option<f64>,
    /// Blob bytes read per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_bytes_read: Option<f64>,
    /// Blob bytes written per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_bytes_written: Option<f64>,
    /// Server CPU µs per op.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us: Option<f64>,
    /// `cpu_us` over the machine-speed probe's median CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_rel: Option<f64>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `faults`: a fault window of a live run and what the per-second series showed
/// of it. Seconds are the driver's, as in `series`; a window covers the series seconds it
/// overlaps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultOutcome {
    /// The fault kind (`slow-shard`, `shard-down`, `materializer-pause`, ...).
    pub kind: String,
    /// What it acted on: `shard N`, `materializer`, `blob store (HOW)`, `celebrity`, `reads`
    /// or `network`.
    pub target: String,
    /// Start of the window, s after the driver started.
    pub at_s: f64,
    /// Length of the window, s.
    pub for_s: f64,
    /// The extra delay per metadata call, ms (`slow-shard` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ms: Option<f64>,
    /// The highest per-second feed p99 during the window, ms (`null`: no feed read then).
    pub peak_feed_p99_ms: Option<f64>,
    /// Ops of every kind that failed or were refused (errors + shed) during the window.
    pub failed: u64,
    /// Seconds from the window's end to the start of the first second whose feed p99 is
    /// within the target and whose feed goodput is at least 90% of its median over the
    /// seconds before the window (the p99 alone when the window starts at 0); `null` when no
    /// second of the run after the window qualifies.
    pub recovery_s: Option<f64>,
    /// The highest freshness p99 of the uploads intended in the window's seconds, ms (absent:
    /// none of them was probed and seen; a live run probes `driver.freshness-sample` of its
    /// uploads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_freshness_p99_ms: Option<f64>,
    /// Seconds from the window's end to the start of the first later second whose probed
    /// uploads' freshness p99 is within the freshness target (`null` when none qualifies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness_recovery_s: Option<f64>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}
