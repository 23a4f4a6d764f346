//! Building `summary.json` (the contract in `src/summary.rs`) from a live run's measurements.
//!
//! Every contract field holds a measured value. Extra fields (allowed by the
//! contract) carry what the report plots: latency percentile curves per op,
//! the per-second series, per-shard loads, the follower-count CCDFs of the
//! live graph and of the full-scale model with their power-law fits, fan-out
//! writes per author, the hybrid threshold at full scale and as applied live
//! with the shares of authors and follower edges each pulls (`fanout.hybrid`),
//! the top author's timeline writes per upload (`fanout.top_author`), and the
//! storage growth inputs.

use std::collections::BTreeMap;

use feedlab_system::policy::{AuthorStats, FanoutStrategy, FollowerStats};
use feedlab_system::shards::ShardLoad;
use feedlab_workload::fit::csn_fit;
use feedlab_workload::threshold::map_threshold;
use feedlab_workload::{OpKind, Population, RunStats};
use serde_json::{Value, json};

use super::measure::{Snapshot, max_over_mean};
use super::seed::Seeded;
use super::work::{RunWork, feed_p99s, tail_seconds};
use crate::spec::RunSpec;
use crate::spec::faults::Fault;
use crate::summary::{
    self as sj, Extra, FanoutStats, HybridShares, OpStats, Provenance, RunConfig, ShardStats,
    StorageStats, Summary, Target, TopAuthor,
};
use crate::threshold;
/// Authors sampled for the fan-out scatter.
const SCATTER_AUTHORS: usize = 2_000;
/// Users sampled from the full population for the model's follower CCDF.
const MODEL_SAMPLE: u64 = 100_000;
/// Years of the storage growth projection.
const YEARS: u32 = 5;

/// Everything measured by one live run.
pub struct Measured<'a> {
    /// The variant run.
    pub spec: &'a RunSpec,
    /// The seeded population.
    pub seeded: &'a Seeded,
    /// The scaled population model (for per-user rates).
    pub population: &'a Population,
    /// The driver's statistics.
    pub stats: &'a RunStats,
    /// Service counters after seeding.
    pub before: &'a Snapshot,
    /// Service counters after the run and its fan-out.
    pub after: &'a Snapshot,
    /// Per-shard ops during the run.
    pub run_loads: &'a [ShardLoad],
    /// Timeline rows and bytes at the end.
    pub timeline: (u64, u64),
    /// Transport used (`http`, `direct`, `external`).
    pub transport: &'a str,
    /// The server's recorded work (none for a service feedlab did not start).
    pub work: Option<&'a RunWork>,
    /// The fault windows applied during the run.
    pub faults: &'a [Fault],
    /// Uploads acknowledged outside the op stream (a burst), counted in per-upload figures.
    pub side_uploads: u64,
}

/// `P(X ≥ x)` of the in-degrees at log-spaced `x`, and the CSN fit.
fn ccdf(in_degree: &[u64]) -> Value {
    let mut sorted = in_degree.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let mut points = Vec::new();
    let max = sorted.last().copied().unwrap_or(0);
    let mut x = 1.0f64;
    while x <= max as f64 {
        let xi = x.round() as u64;
        let at_least = sorted.len() - sorted.partition_point(|&d| d < xi);
        points.push(json!([xi, at_least as f64 / n]));
        x = (x * 1.25).max(x + 1.0);
    }
    let fit = csn_fit(in_degree, 50).map(|f| {
        let at_xmin = sorted.len() - sorted.partition_point(|&d| d < f.x_min);
        json!({ "alpha": f.alpha, "x_min": f.x_min, "n_tail": f.n_tail, "ks": f.ks,
                "ccdf_at_x_min": at_xmin as f64 / n })
    });
    json!({ "points": points, "fit": fit })
}

/// `(followers, pushed timeline writes per upload)` of `author` under `strategy` (live graph).
fn pushed(m: &Measured<'_>, strategy: &FanoutStrategy, author: u64) -> (usize, usize) {
    let pop = m.population;
    let t = &m.spec.traffic;
    let n = m.seeded.ids.len();
    let per_user_posts = t.uploads_per_day * pop.rate_factor() / n.max(1) as f64;
    let reads = t.feed_reads_per_active_per_day;
    let followers = m.seeded.index.followers_of(author);
    let stats = AuthorStats {
        followers: followers.len() as u64,
        posts_per_day: per_user_posts * pop.upload_propensity(author),
    };
    let fstats: Vec<FollowerStats> = followers
        .iter()
        .map(|&f| FollowerStats {
            reads_per_day: if pop.is_daily_active(u64::from(f)) {
                reads * pop.read_propensity(u64::from(f))
            } else {
                0.0
            },
        })
        .collect();
    (followers.len(), strategy.plan(&stats, &fstats).push.len())
}

/// The full-scale model's follower CCDF and fit, from the realized follower counts of a uniform
/// sample of [`MODEL_SAMPLE`] users of the full population (`null` if it cannot be built).
fn model_ccdf(spec: &RunSpec) -> Value {
    let Ok(pop) = Population::new(&spec.population, spec.seed) else {
        return Value::Null;
    };
    let Ok(rows) = pop.sample_users(MODEL_SAMPLE.min(pop.users())) else {
        return Value::Null;
    };
    let followers: Vec<u64> = rows.iter().map(|r| r.followers).collect();
    let mut v = ccdf(&followers);
    v["sample"] = json!(followers.len());
    v
}

/// Pushed timeline writes per upload for a sample of authors, under the
/// variant's fan-out strategy (hybrid threshold mapped to the live graph).
fn fanout_scatter(m: &Measured<'_>, strategy: &FanoutStrategy) -> Value {
    let n = m.seeded.ids.len();
    let step = (n / SCATTER_AUTHORS).max(1);
    let points = (0..n).step_by(step).map(|a| {
        let (followers, push) = pushed(m, strategy, a as u64);
        json!([followers, push])
    });
    Value::Array(points.collect())
}

/// The summary's fan-out figures of the graph and policy: the per-author scatter, the hybrid
/// threshold map and the top author's timeline writes per upload (`None` when the strategy
/// cannot be built).
fn policy_figures(m: &Measured<'_>) -> (Value, Option<HybridShares>, Option<TopAuthor>) {
    let mut cfg = m.spec.system.fanout.clone();
    let map = map_threshold(m.population, &m.seeded.in_degree, cfg.hybrid_threshold);
    cfg.hybrid_threshold = map.live_threshold;
    let Ok(strategy) = FanoutStrategy::new(cfg) else {
        return (json!([]), None, None);
    };
    let top = (0..m.seeded.in_degree.len())
        .max_by_key(|&u| (m.seeded.in_degree[u], std::cmp::Reverse(u)))
        .unwrap_or(0) as u64;
    let (followers, writes) = pushed(m, &strategy, top);
    let top = TopAuthor {
        user: top,
        followers: followers as u64,
        writes_per_upload: writes as u64,
        extra: Extra::new(),
    };
    let shares = threshold::shares(&map);
    (fanout_scatter(m, &strategy), Some(shares), Some(top))
}

/// The per-op records of a live run, keyed by op kind name.
fn ops(stats: &RunStats) -> BTreeMap<String, OpStats> {
    OpKind::ALL
        .iter()
        .map(|&k| (k.name().to_string(), stats.summary(k)))
        .collect()
}

/// One point per second and op kind: count, errors, drops, p50 and p99, the CPU the kind
/// used that second when the run counted work, and on upload points the seen probes' p99.
fn series_json(m: &Measured<'_>) -> Vec<Value> {
    let fresh = m.stats.freshness_series();
    m.stats
        .series()
        .iter()
        .map(|p| {
            let mut v = json!({ "second": p.second, "kind": p.kind.name(), "count": p.count,
                         "errors": p.errors, "dropped": p.dropped, "shed": p.shed,
                         "p50_ms": p.p50_ms, "p99_ms": p.p99_ms });
            if let Some(cpu) = m.work.and_then(|w| w.cpu_us(p.second, p.kind.name())) {
                v["cpu_us"] = json!(cpu);
            }
            if let Some(rel) = m.work.and_then(|w| w.cpu_rel(p.second, p.kind.name())) {
                v["cpu_rel"] = json!(rel);
            }
            let upload = p.kind == OpKind::Upload;
            if let Some(f) = fresh.iter().find(|f| upload && f.second == p.second) {
                v["fresh_visible"] = json!(f.visible);
                v["fresh_p99_ms"] = json!(f.p99_ms);
            }
            v
        })
        .collect()
}

/// The materialized population next to the modelled one: users, follows, history, and the
/// follower CCDFs as plot series.
fn population(m: &Measured<'_>) -> sj::Population {
    let spec = m.spec;
    let n = m.seeded.ids.len() as u64;
    let extra = json!({
        "model_mean_followees": spec.population.mean_followees,
        "history_photos": m.seeded.history_photos,
        "seed_seconds": m.seeded.seconds,
        "bulk_follows_per_s": m.seeded.follows_per_s,
        "follower_ccdf": ccdf(&m.seeded.in_degree),
        "model_follower_ccdf": model_ccdf(spec),
    });
    sj::Population {
        users: spec.population.users,
        materialized_users: n,
        follows: m.seeded.follows,
        alpha: spec.population.alpha,
        mean_followees: if n > 0 {
            m.seeded.follows as f64 / n as f64
        } else {
            0.0
        },
        max_followers: m.seeded.in_degree.iter().copied().max().unwrap_or(0),
        simulated: None,
        extra: object(extra),
    }
}

/// Stored bytes after the run, bytes per upload, and their projection over [`YEARS`] at the
/// scenario's upload rate (`uploads` in the run, `writes_per_upload` timeline entries each).
fn storage(m: &Measured<'_>, uploads: u64, writes_per_upload: f64) -> StorageStats {
    let blob_delta = m.after.blob_bytes.saturating_sub(m.before.blob_bytes);
    let meta_delta = m.after.meta_bytes.saturating_sub(m.before.meta_bytes);
    let per_upload = |b: u64| {
        if uploads > 0 {
            b as f64 / uploads as f64
        } else {
            0.0
        }
    };
    let timeline_row = if m.timeline.0 > 0 {
        m.timeline.1 as f64 / m.timeline.0 as f64
    } else {
        25.0
    };
    let per_day = m.spec.traffic.uploads_per_day;
    let per_upload_total = per_upload(blob_delta) + per_upload(meta_delta);
    let growth: Vec<Value> = (0..=YEARS)
        .map(|y| {
            let uploads = per_day * 365.0 * f64::from(y);
            json!({ "year": y,
                    "blob_bytes": uploads * per_upload(blob_delta),
                    "meta_bytes": uploads * per_upload(meta_delta),
                    "timeline_bytes": uploads * writes_per_upload * timeline_row })
        })
        .collect();
    let extra = json!({
        "timeline_rows": m.timeline.0,
        "per_upload": { "blob_bytes": per_upload(blob_delta), "meta_bytes": per_upload(meta_delta),
                        "total_bytes": per_upload_total },
        "growth": growth,
    });
    StorageStats {
        meta_bytes: m.after.meta_bytes,
        blob_bytes: m.after.blob_bytes,
        timeline_bytes: m.timeline.1,
        measured: None,
        extra: object(extra),
    }
}

/// The variant's system configuration; `live_threshold` is the hybrid
/// threshold mapped onto the materialized graph.
fn config(m: &Measured<'_>, live_threshold: Option<u64>) -> RunConfig {
    let spec = m.spec;
    let extra = json!({
        "inject": (!spec.system.inject.is_off()).then(|| json!(spec.system.inject)),
    });
    RunConfig {
        fanout: spec.system.fanout.kind.name().into(),
        sharding: spec.system.sharding.kind.name().into(),
        meta: name_of(&spec.system.meta),
        blob: name_of(&spec.system.blob),
        transport: m.transport.into(),
        load: spec.traffic.load,
        shards: Some(spec.system.sharding.shards as u64),
        hybrid_threshold: Some(spec.system.fanout.hybrid_threshold),
        hybrid_threshold_live: live_threshold,
        view_bytes: Some(spec.driver.view_bytes).filter(|&n| n > 0),
        warmup_s: Some(spec.driver.warmup_s).filter(|&w| w > 0.0),
        extra: object(extra),
    }
}

/// The serialized name of a backend choice.
fn name_of<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The object `v` as an extra map (empty for anything else).
pub fn object(v: Value) -> Extra {
    match v {
        Value::Object(m) => m,
        _ => Extra::new(),
    }
}

/// The fan-out section: timeline writes, freshness, the scatter and the hybrid figures.
fn fanout(m: &Measured<'_>, uploads: u64, writes: u64) -> FanoutStats {
    let fresh = m.stats.freshness_summary();
    let (per_author, hybrid, top_author) = policy_figures(m);
    let extra = json!({
        "uploads": uploads,
        "per_author": per_author,
    });
    FanoutStats {
        timeline_writes: writes,
        writes_per_upload: if uploads > 0 {
            writes as f64 / uploads as f64
        } else {
            0.0
        },
        freshness_p50_ms: fresh.freshness_p50_ms,
        freshness_p99_ms: fresh.freshness_p99_ms,
        freshness_probed: Some(fresh.probed),
        freshness_visible: Some(fresh.visible),
        freshness_timeouts: Some(fresh.timeouts),
        timeline_writes_per_s: None,
        hybrid,
        top_author,
        extra: object(extra),
    }
}

/// The shard section: skew of the run's per-shard ops, the loads, and the call times.
fn shards(m: &Measured<'_>) -> ShardStats {
    let extra = json!({
        "loads": m.run_loads,
        "call_us": m.work.map(|w| json!(w.shard_call_us)).unwrap_or(Value::Null),
        "call_us_max": m.work.map(|w| json!(w.call_us_max())).unwrap_or(Value::Null),
        "call_us_skew": m.work.map(|w| json!(w.call_us_skew())).unwrap_or(Value::Null),
    });
    ShardStats {
        count: m.run_loads.len() as u64,
        load_max_over_mean: max_over_mean(m.run_loads),
        extra: object(extra),
    }
}

/// The summary of one live run (see the module docs).
pub fn summary(m: &Measured<'_>) -> Summary {
    let spec = m.spec;
    let stats = m.stats;
    let uploads = stats.summary(OpKind::Upload).count + m.side_uploads;
    let (after, before) = (m.after.timeline_writes, m.before.timeline_writes);
    let writes = after.saturating_sub(before);
    let fanout = fanout(m, uploads, writes);
    let live_threshold = fanout.hybrid.as_ref().map(|h| h.live_threshold);
    let extra = json!({ "series": series_json(m) });
    let mut s = Summary {
        feedlab: env!("CARGO_PKG_VERSION").into(),
        scenario: spec.scenario.clone(),
        variant: spec.variant.clone(),
        seed: spec.seed,
        mode: "live".into(),
        config: config(m, live_threshold),
        population: population(m),
        duration_s: stats.duration.as_secs_f64(),
        ops: ops(stats),
        storage: storage(m, uploads, fanout.writes_per_upload),
        fanout,
        shards: shards(m),
        target: Target::default(),
        provenance: Some(Provenance::of(spec)),
        sim: None,
        work: m.work.map(RunWork::per_op),
        probe: m.work.map(|w| {
            w.probe_stats(
                &tail_seconds(stats, spec.target.feed_p99_ms),
                &feed_p99s(stats),
            )
        }),
        faults: super::faults::live_outcomes(m.faults, stats, spec),
        invariants: None,
        extra: object(extra),
    };
    s.judge(&spec.target.rules(&spec.sweep));
    s
}
