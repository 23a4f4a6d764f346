//! Turning a simulator run into the `summary.json` contract
//! with `mode = "sim"`. Contract fields hold modelled values; `sim` (extra)
//! carries what only the simulator knows: per-shard utilisation and queue
//! lengths, the blob store, the busiest app servers, the materializer queue,
//! the cache hit ratio, the calibration's provenance, the event count, and the
//! deployment's resources (`sim.resources`: name, kind, units, utilisation and
//! busy time per role) with the busiest one as `sim.bottleneck`.

use feedlab_sim::model::{Calibration, ModelReport, QueueSettings, Source};
use feedlab_sim::{MmcParams, MmcTheory, mmc_with};
use serde_json::{Value, json};

use super::finite;
use crate::spec::RunSpec;

fn config(spec: &RunSpec, backend: &str) -> Value {
    json!({
        "fanout": spec.system.fanout.kind.name(),
        "sharding": spec.system.sharding.kind.name(),
        "meta": "model",
        "blob": "model",
        "calibration": spec.calibration.as_ref().map(|p| p.display().to_string()),
        "backend": backend,
        "transport": "sim",
        "load": spec.traffic.load,
    })
}

fn target(spec: &RunSpec, feed_p99: f64, has_feed: bool, freshness_p99_ms: f64) -> Value {
    let t = &spec.target;
    json!({
        "feed_p99_ms": t.feed_p99_ms,
        "freshness_p99_s": t.freshness_p99_s,
        "met": t.met(has_feed.then_some(feed_p99), freshness_p99_ms),
    })
}

/// Each op kind's latency record over `d` model seconds (no errors: the
/// model only drops), keyed by op kind name.
fn ops(r: &ModelReport, d: f64) -> Value {
    let mut ops = serde_json::Map::new();
    for (name, l) in &r.ops {
        ops.insert(
            name.clone(),
            json!({
                "count": l.count, "errors": 0, "dropped": l.dropped,
                "rate_per_s": finite(l.count as f64 / d),
                "mean_ms": l.mean_ms, "p50_ms": l.p50_ms, "p90_ms": l.p90_ms, "p99_ms": l.p99_ms,
                "p999_ms": l.p999_ms, "max_ms": l.max_ms,
                "percentiles": l.percentiles.iter().map(|&(p, v)| json!([p, v])).collect::<Vec<_>>(),
            }),
        );
    }
    Value::Object(ops)
}

/// The simulated population: the modelled users, and the materialized ones
/// and their follows when the population is scaled (none at full scale,
/// where the largest follower count is the weight cap's expectation).
fn population(spec: &RunSpec, src: &Source) -> Value {
    let pop = src.population();
    let full = spec.sim.population == feedlab_sim::model::PopulationMode::Full;
    let max_followers = if full {
        (pop.weight_dist().cap() as f64 * pop.followers_per_weight()).round() as u64
    } else {
        (0..pop.users())
            .map(|u| src.author_stats(u).followers)
            .max()
            .unwrap_or(0)
    };
    json!({
        "users": spec.population.users,
        "materialized_users": if full { 0 } else { pop.users() },
        "follows": src.follows(),
        "alpha": spec.population.alpha,
        "mean_followees": pop.mean_followees(),
        "max_followers": max_followers,
        "simulated": if full { "full" } else { "scaled" },
    })
}

/// The shard section: count, busiest over mean shard ops (1 when idle) and
/// each shard's ops.
fn shards(r: &ModelReport) -> Value {
    let shard_ops: Vec<f64> = r.snapshot.shards.iter().map(|s| s.ops as f64).collect();
    let mean = shard_ops.iter().sum::<f64>() / shard_ops.len().max(1) as f64;
    let max = shard_ops.iter().copied().fold(0.0, f64::max);
    let skew = if mean > 0.0 { max / mean } else { 1.0 };
    let loads: Vec<Value> = r
        .snapshot
        .shards
        .iter()
        .map(|s| json!({ "shard": s.shard, "reads": s.ops, "ops": s.ops }))
        .collect();
    json!({
        "count": r.snapshot.shards.len(),
        "load_max_over_mean": finite(skew),
        "loads": loads,
    })
}

/// What only the simulator knows (the `sim` section; see the module docs).
fn sim_extra(spec: &RunSpec, cal: &Calibration, r: &ModelReport) -> Value {
    let max_util = r
        .snapshot
        .shards
        .iter()
        .map(|s| s.utilisation)
        .fold(0.0, f64::max);
    json!({
        "events": r.events,
        "end_s": r.end_s,
        "layout": spec.sim.deployment.layout,
        "resources": r.snapshot.resources,
        "bottleneck": r.snapshot.bottleneck,
        "max_shard_utilisation": finite(max_util),
        "shards": r.snapshot.shards,
        "blob": r.snapshot.blob,
        "busiest_read_server": r.snapshot.read_server,
        "busiest_write_server": r.snapshot.write_server,
        "materializer": {
            "mean_queue": finite(r.snapshot.materializer_mean_queue),
            "max_queue": r.snapshot.materializer_max_queue,
            "workers": spec.sim.materializer_workers,
            "rate_per_s": spec.sim.materializer_rate_per_s,
        },
        "cache": {
            "lookups": r.cache_lookups, "hits": r.cache_hits,
            "hit_ratio": finite(r.cache_hits as f64 / r.cache_lookups.max(1) as f64),
        },
        "calibration": cal.provenance,
    })
}

/// The summary of a photo-model run.
pub fn model(spec: &RunSpec, src: &Source, cal: &Calibration, r: &ModelReport) -> Value {
    let d = spec.duration_s.max(1e-9);
    let feed = r
        .ops
        .iter()
        .find(|(n, _)| n == "feed")
        .map(|(_, l)| l.clone())
        .unwrap_or_default();
    let mut v = json!({
        "feedlab": env!("CARGO_PKG_VERSION"),
        "scenario": spec.scenario,
        "variant": spec.variant,
        "seed": spec.seed,
        "mode": "sim",
        "config": config(spec, &cal.provenance.backend),
        "population": population(spec, src),
        "duration_s": spec.duration_s,
        "ops": ops(r, d),
        "fanout": {
            "timeline_writes": r.timeline_writes,
            "writes_per_upload": finite(r.timeline_writes as f64 / r.uploads.max(1) as f64),
            "timeline_writes_per_s": finite(r.timeline_writes as f64 / d),
            "freshness_p50_ms": r.freshness.p50_ms,
            "freshness_p99_ms": r.freshness.p99_ms,
            "freshness_max_ms": r.freshness.max_ms,
            "freshness_count": r.freshness.count,
            "pending_at_end": r.fanout_pending,
        },
        "shards": shards(r),
        "storage": { "meta_bytes": 0, "blob_bytes": 0, "timeline_bytes": 0, "measured": false },
        "target": target(spec, feed.p99_ms, feed.count > 0, r.freshness.p99_ms),
        "sim": sim_extra(spec, cal, r),
    });
    v["work"] = work(&r.work);
    v
}

/// The `work` section: per op kind, the shard and blob calls of one measured op, the
/// counters a live run's server measures as `storage_calls` and `blob_calls`.
fn work(w: &[(String, feedlab_sim::model::WorkCount)]) -> Value {
    let per_op: serde_json::Map<String, Value> = w
        .iter()
        .filter(|(_, c)| c.ops > 0)
        .map(|(k, c)| {
            let n = c.ops as f64;
            let v = json!({ "ops": c.ops, "storage_calls": c.shard as f64 / n,
                            "blob_calls": c.blob as f64 / n });
            (k.clone(), v)
        })
        .collect();
    Value::Object(per_op)
}

/// The summary of an M/M/c validation run: the queue's wait as op `queue`,
/// and the theory next to it under `sim.queue`.
pub fn queue(spec: &RunSpec, q: &QueueSettings) -> anyhow::Result<Value> {
    let th = MmcTheory::new(q.arrival_rate, q.service_rate, q.workers)?;
    let r = mmc_with(&MmcParams {
        lambda: q.arrival_rate,
        mu: q.service_rate,
        c: q.workers,
        seed: spec.seed,
        customers: q.customers,
        warmup: q.customers / 10,
    })?;
    let model_s = feedlab_sim::engine::to_secs(r.end);
    let ms = 1e3;
    let p99_theory = th.wait_quantile(0.99);
    Ok(json!({
        "feedlab": env!("CARGO_PKG_VERSION"),
        "scenario": spec.scenario,
        "variant": spec.variant,
        "seed": spec.seed,
        "mode": "sim",
        "config": config(spec, "exponential"),
        "population": { "users": 0, "materialized_users": 0, "follows": 0, "alpha": 0.0,
                        "mean_followees": 0.0, "max_followers": 0 },
        "duration_s": finite(model_s),
        "ops": { "queue": {
            "count": r.measured, "errors": 0, "dropped": 0,
            "rate_per_s": finite(r.measured as f64 / model_s.max(1e-9)),
            "mean_ms": r.mean_wait * ms, "p50_ms": 0.0, "p90_ms": 0.0,
            "p99_ms": r.p99_wait * ms, "p999_ms": 0.0, "max_ms": 0.0,
        }},
        "fanout": { "timeline_writes": 0, "writes_per_upload": 0.0,
                    "freshness_p50_ms": 0.0, "freshness_p99_ms": 0.0 },
        "shards": { "count": 1, "load_max_over_mean": 1.0 },
        "storage": { "meta_bytes": 0, "blob_bytes": 0, "timeline_bytes": 0, "measured": false },
        "target": { "feed_p99_ms": spec.target.feed_p99_ms, "met": true },
        "sim": { "events": r.events, "queue": {
            "arrival_rate": q.arrival_rate, "service_rate": q.service_rate, "workers": q.workers,
            "customers": r.measured, "utilisation": r.utilisation,
            "rho_theory": th.utilisation,
            "mean_wait_s": r.mean_wait, "mean_wait_theory_s": th.mean_wait,
            "mean_wait_error": finite(r.mean_wait / th.mean_wait - 1.0),
            "p99_wait_s": r.p99_wait, "p99_wait_theory_s": p99_theory,
            "p99_wait_error": finite(r.p99_wait / p99_theory - 1.0),
        }},
    }))
}

/// The validation queue's figures next to theory, for the terminal.
pub fn queue_table(variant: &str, q: &Value) -> String {
    let g = |k: &str| q.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    format!(
        "{variant}: M/M/{} λ={} μ={} ρ={:.3} ({} customers)\n\
         {:<10} {:>12} {:>12} {:>8}\n\
         {:<10} {:>12.6} {:>12.6} {:>+7.2}%\n\
         {:<10} {:>12.6} {:>12.6} {:>+7.2}%\n",
        g("workers"),
        g("arrival_rate"),
        g("service_rate"),
        g("rho_theory"),
        g("customers"),
        "wait (s)",
        "simulated",
        "theory",
        "error",
        "mean",
        g("mean_wait_s"),
        g("mean_wait_theory_s"),
        100.0 * g("mean_wait_error"),
        "p99",
        g("p99_wait_s"),
        g("p99_wait_theory_s"),
        100.0 * g("p99_wait_error"),
    )
}
