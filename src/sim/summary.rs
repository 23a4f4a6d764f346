//! Turning a simulator run into the typed `summary.json` contract with `mode = "sim"`.
//! Contract fields hold modelled values; `sim` carries what only the simulator knows: the
//! event count, the busiest resource (`sim.bottleneck` with its utilisation) and the busiest
//! shard's utilisation, and in its `extra` the per-shard utilisation and queue lengths, the
//! blob store, the busiest app servers, the materializer queue, the cache hit ratio, the
//! calibration's provenance and the deployment's resources (`sim.resources`: name, kind,
//! units, utilisation and busy time per role).
//!
//! Like a live run's, the summary's `series` holds one point per second and op kind (by
//! intended start, on the model clock), and `faults` is read from it by the live run's own
//! [`crate::run::faults::outcomes`]; the model adds `freshness_series` (per second: the
//! freshness of the uploads acknowledged then and the largest fan-out backlog) and, in each
//! fault's extra fields, the peak freshness p99 and backlog of the seconds it covers.

use std::collections::BTreeMap;

use feedlab_sim::model::{Calibration, ModelReport, QueueSettings, Source};
use feedlab_sim::{MmcParams, MmcTheory, mmc_with};
use feedlab_workload::LatencyRecord;
use feedlab_workload::latency::max_over_mean;
use serde_json::{Value, json};

use super::finite;
use crate::spec::RunSpec;
use crate::spec::faults::Fault;
use crate::summary::{
    Extra, FanoutStats, FaultOutcome, OpStats, OpWork, Population, Provenance, QueueCheck,
    RunConfig, ShardStats, SimSection, StorageStats, Summary, Target,
};

fn object(v: Value) -> Extra {
    match v {
        Value::Object(m) => m,
        _ => Extra::new(),
    }
}

fn config(spec: &RunSpec, backend: &str) -> RunConfig {
    let extra = json!({
        "calibration": spec.calibration.as_ref().map(|p| p.display().to_string()),
        "backend": backend,
    });
    RunConfig {
        fanout: spec.system.fanout.kind.name().into(),
        sharding: spec.system.sharding.kind.name().into(),
        meta: "model".into(),
        blob: "model".into(),
        transport: "sim".into(),
        load: spec.traffic.load,
        shards: None,
        hybrid_threshold: None,
        hybrid_threshold_live: None,
        view_bytes: None,
        warmup_s: Some(spec.sim.warmup_s).filter(|&w| w > 0.0),
        extra: object(extra),
    }
}

/// Bytes are not modelled: every storage figure is 0 and `measured` false.
fn unmeasured_storage() -> StorageStats {
    StorageStats {
        measured: Some(false),
        ..StorageStats::default()
    }
}

/// The fields every simulated summary shares, with the given sections.
fn base(spec: &RunSpec, config: RunConfig, duration_s: f64) -> Summary {
    Summary {
        feedlab: env!("CARGO_PKG_VERSION").into(),
        scenario: spec.scenario.clone(),
        variant: spec.variant.clone(),
        seed: spec.seed,
        mode: "sim".into(),
        config,
        duration_s,
        storage: unmeasured_storage(),
        provenance: Some(Provenance::of(spec)),
        ..Summary::default()
    }
}

/// Each op kind's latency record over `d` model seconds (no errors: the
/// model only drops), keyed by op kind name.
fn ops(r: &ModelReport, d: f64) -> BTreeMap<String, OpStats> {
    r.ops
        .iter()
        .map(|(name, l)| {
            let rec = LatencyRecord {
                rate_per_s: finite(l.count as f64 / d),
                ..l.clone()
            };
            (name.clone(), rec)
        })
        .collect()
}

/// The simulated population: the modelled users, and the materialized ones
/// and their follows when the population is scaled (none at full scale,
/// where the largest follower count is the weight cap's expectation).
fn population(spec: &RunSpec, src: &Source) -> Population {
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
    Population {
        users: spec.population.users,
        materialized_users: if full { 0 } else { pop.users() },
        follows: src.follows(),
        alpha: spec.population.alpha,
        mean_followees: pop.mean_followees(),
        max_followers,
        simulated: Some(if full { "full" } else { "scaled" }.into()),
        extra: Extra::new(),
    }
}

/// The shard section: count, busiest over mean shard ops (1 when idle) and
/// each shard's ops.
fn shards(r: &ModelReport) -> ShardStats {
    let shard_ops: Vec<f64> = r.snapshot.shards.iter().map(|s| s.ops as f64).collect();
    let loads: Vec<Value> = r
        .snapshot
        .shards
        .iter()
        .map(|s| json!({ "shard": s.shard, "reads": s.ops, "ops": s.ops }))
        .collect();
    ShardStats {
        count: r.snapshot.shards.len() as u64,
        load_max_over_mean: finite(max_over_mean(&shard_ops)),
        extra: object(json!({ "loads": loads })),
    }
}

/// What only the simulator knows (the `sim` section; see the module docs).
fn sim_section(spec: &RunSpec, cal: &Calibration, r: &ModelReport) -> SimSection {
    let max_util = r
        .snapshot
        .shards
        .iter()
        .map(|s| s.utilisation)
        .fold(0.0, f64::max);
    let bottleneck = &r.snapshot.bottleneck;
    let extra = json!({
        "end_s": r.end_s,
        "layout": spec.sim.deployment.layout,
        "resources": r.snapshot.resources,
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
    });
    SimSection {
        events: r.events,
        bottleneck: Some(bottleneck.clone()),
        bottleneck_utilisation: r
            .snapshot
            .resources
            .iter()
            .find(|res| &res.name == bottleneck)
            .map(|res| finite(res.utilisation)),
        max_shard_utilisation: Some(finite(max_util)),
        cpu_cores: Some(finite(cpu_cores(&r.snapshot.resources))),
        queue: None,
        extra: object(extra),
    }
}

/// Cores' worth of CPU that `resources` of kind `cpu` were busy, summed over their nodes.
fn cpu_cores(resources: &[feedlab_sim::model::ResourceReport]) -> f64 {
    (resources.iter())
        .filter(|r| r.kind == "cpu")
        .map(|r| r.mean_utilisation * r.capacity * r.nodes as f64)
        .sum()
}

/// The summary of a photo-model run.
pub fn model(spec: &RunSpec, src: &Source, cal: &Calibration, r: &ModelReport) -> Summary {
    // Ops started in the warm-up are not counted, so rates are over the rest.
    let d = (spec.duration_s - spec.sim.warmup_s).max(1e-9);
    let fanout_extra = json!({
        "freshness_max_ms": r.freshness.max_ms,
        "freshness_count": r.freshness.count,
        "pending_at_end": r.fanout_pending,
    });
    let mut s = base(spec, config(spec, &cal.provenance.backend), d);
    s.population = population(spec, src);
    s.ops = ops(r, d);
    s.fanout = FanoutStats {
        timeline_writes: r.timeline_writes,
        writes_per_upload: finite(r.timeline_writes as f64 / r.uploads.max(1) as f64),
        timeline_writes_per_s: Some(finite(r.timeline_writes as f64 / d)),
        freshness_p50_ms: r.freshness.p50_ms,
        freshness_p99_ms: r.freshness.p99_ms,
        extra: object(fanout_extra),
        ..FanoutStats::default()
    };
    s.shards = shards(r);
    s.sim = Some(sim_section(spec, cal, r));
    s.work = Some(work(&r.work));
    s.extra.insert("series".into(), series(r));
    let fresh = serde_json::to_value(&r.freshness_series).unwrap_or(Value::Null);
    s.extra.insert("freshness_series".into(), fresh);
    s.judge(&spec.target.rules(&spec.sweep));
    s
}

/// The live run's `series` shape: one entry per second and op kind.
fn series(r: &ModelReport) -> Value {
    r.series
        .iter()
        .map(|p| {
            json!({ "second": p.second, "kind": p.kind.name(), "count": p.count,
                    "errors": p.errors, "dropped": p.dropped, "shed": p.shed,
                    "p50_ms": finite(p.p50_ms), "p99_ms": finite(p.p99_ms) })
        })
        .collect()
}

/// Each fault of `plan` as a live run reports it, read from the model's series (freshness
/// figures included), with the peak fan-out backlog (`peak_backlog`, timeline entries) of
/// the seconds the window covers.
pub fn faults(spec: &RunSpec, plan: &[Fault], r: &ModelReport) -> Vec<FaultOutcome> {
    let mut out =
        crate::run::faults::outcomes(plan, &r.series, spec.duration_s, spec.target.feed_p99_ms);
    for (o, f) in out.iter_mut().zip(plan) {
        let (first, end) = (f.at_s.floor() as u64, f.end_s().ceil() as u64);
        let window = || {
            r.freshness_series
                .iter()
                .filter(move |p| p.second >= first && p.second < end.max(first + 1))
        };
        let backlog = window().map(|p| p.backlog).max().unwrap_or(0);
        o.extra.insert("peak_backlog".into(), json!(backlog));
    }
    let fresh: Vec<(u64, f64)> = r
        .freshness_series
        .iter()
        .filter(|p| p.count > 0)
        .map(|p| (p.second, p.p99_ms))
        .collect();
    let target_ms = spec.target.freshness_p99_s * 1000.0;
    crate::run::faults::add_freshness(&mut out, plan, &fresh, target_ms);
    out
}

/// The `work` section: per op kind, the shard and blob calls and the blob bytes of one measured
/// op, the counters a live run's server measures as `storage_calls`, `blob_calls`,
/// `blob_bytes_read` and `blob_bytes_written`.
fn work(w: &[(String, feedlab_sim::model::WorkCount)]) -> BTreeMap<String, OpWork> {
    w.iter()
        .filter(|(_, c)| c.ops > 0)
        .map(|(k, c)| {
            let n = c.ops as f64;
            let v = OpWork {
                ops: c.ops,
                storage_calls: Some(c.shard as f64 / n),
                blob_calls: Some(c.blob as f64 / n),
                blob_bytes_read: Some(c.blob_bytes_read as f64 / n),
                blob_bytes_written: Some(c.blob_bytes_written as f64 / n),
                ..OpWork::default()
            };
            (k.clone(), v)
        })
        .collect()
}

/// The summary of an M/M/c validation run: the queue's wait as op `queue`,
/// and the theory next to it under `sim.queue`.
pub fn queue(spec: &RunSpec, q: &QueueSettings) -> anyhow::Result<Summary> {
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
    let mut s = base(spec, config(spec, "exponential"), finite(model_s));
    let wait = LatencyRecord {
        count: r.measured,
        rate_per_s: finite(r.measured as f64 / model_s.max(1e-9)),
        mean_ms: r.mean_wait * ms,
        p99_ms: r.p99_wait * ms,
        ..LatencyRecord::default()
    };
    s.ops.insert("queue".into(), wait);
    s.shards = ShardStats {
        count: 1,
        load_max_over_mean: 1.0,
        extra: Extra::new(),
    };
    s.target = Target {
        feed_p99_ms: spec.target.feed_p99_ms,
        met: true,
        ..Target::default()
    };
    s.sim = Some(SimSection {
        events: r.events,
        queue: Some(QueueCheck {
            arrival_rate: q.arrival_rate,
            service_rate: q.service_rate,
            workers: q.workers,
            customers: r.measured,
            utilisation: r.utilisation,
            rho_theory: th.utilisation,
            mean_wait_s: r.mean_wait,
            mean_wait_theory_s: th.mean_wait,
            mean_wait_error: finite(r.mean_wait / th.mean_wait - 1.0),
            p99_wait_s: r.p99_wait,
            p99_wait_theory_s: p99_theory,
            p99_wait_error: finite(r.p99_wait / p99_theory - 1.0),
            extra: Extra::new(),
        }),
        ..SimSection::default()
    });
    Ok(s)
}
