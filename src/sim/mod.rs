//! `feedlab sim SCENARIO`: the discrete-event simulator over a scenario's
//! variants, writing the same `summary.json` contract as a live run with
//! `mode = "sim"`, plus per-shard utilisation and queue lengths, the report
//! and a terminal table (feed p99, freshness p99, timeline writes/s and shard
//! skew against the feed target).
//!
//! A variant with `[sim.queue]` runs the M/M/c validation queue instead and
//! reports its mean wait and p99 next to Erlang C. `compare` runs variants
//! whose `scenario.mode = "sim"` through [`run_variant`], so live and sim
//! variants can sit side by side.

mod summary;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use feedlab_sim::model::{Calibration, PopulationMode, Source, simulate};
use feedlab_system::policy::{FanoutStrategy, Partitioner};
use feedlab_workload::Workload;
use serde_json::{Value, json};

use crate::spec::{Mode, RunSpec};
use crate::summary::{Comparison, ComparisonEntry, Extra, Summary};

/// `feedlab sim SCENARIO`.
#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Simulate only this variant.
    #[arg(long)]
    pub variant: Option<String>,
    /// Seed overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default `out/sim/<scenario>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario key: `--set sim.shard-workers=8` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// The expensive, strategy-independent part of a run, reused across
/// variants that share population, seed, sharding and population mode.
#[derive(Default)]
pub struct SourceCache {
    key: Option<String>,
    source: Option<Source>,
}

impl SourceCache {
    fn get(&mut self, spec: &RunSpec) -> anyhow::Result<&mut Source> {
        // The source does not depend on the offered load, so a load ladder reuses it.
        let traffic = feedlab_workload::TrafficConfig {
            load: 1.0,
            ..spec.traffic.clone()
        };
        let key = serde_json::to_string(&(
            &spec.population,
            spec.seed,
            &spec.system.sharding,
            spec.sim.population,
            spec.sim.leader_pool,
            &traffic,
        ))?;
        if self.key.as_deref() != Some(key.as_str()) || self.source.is_none() {
            self.source = None;
            let t = Instant::now();
            let workload = match spec.sim.population {
                PopulationMode::Full => Workload::full(&spec.population, spec.seed),
                PopulationMode::Scaled => Workload::scaled(&spec.population, spec.seed),
            }
            .context("building the population")?;
            let strategy = FanoutStrategy::new(spec.system.fanout.clone())?;
            let partitioner = Partitioner::new(spec.system.sharding.clone())?;
            let mut rng = feedlab_sim::rng_stream(spec.seed, 10);
            self.source = Some(Source::new(
                workload,
                spec.sim.population,
                &spec.traffic,
                strategy,
                partitioner,
                spec.sim.leader_pool,
                &mut rng,
            ));
            self.key = Some(key);
            eprintln!("population built in {:.1} s", t.elapsed().as_secs_f64());
        }
        self.source.as_mut().context("population")
    }
}

/// Simulate `spec` and write `out/<variant>/summary.json` and `spec.json`.
pub fn run_variant(spec: &RunSpec, out: &Path, cache: &mut SourceCache) -> anyhow::Result<Summary> {
    let vdir = out.join(&spec.variant);
    let t = Instant::now();
    let mut spec = spec.clone();
    if let Some(d) = spec.sim.duration_s {
        spec.duration_s = d;
    }
    let spec = &spec;
    let value = match &spec.sim.queue {
        Some(q) => summary::queue(spec, q)?,
        None => {
            let calibration = match &spec.calibration {
                Some(p) => Calibration::load(p)?,
                None => Calibration::builtin(),
            };
            let source = cache.get(spec)?;
            let fanout = crate::run::threshold::sim_fanout(spec, source);
            let params = feedlab_sim::model::RunParams {
                seed: spec.seed,
                duration_s: spec.duration_s,
                traffic: &spec.traffic,
                fanout: &fanout,
                settings: &spec.sim,
                calibration: &calibration,
                photos_per_author: (spec.sim.population == PopulationMode::Scaled)
                    .then_some(spec.driver.history_photos_per_user),
            };
            let report = simulate(source, &params)?;
            summary::model(spec, source, &calibration, &report)
        }
    };
    eprintln!(
        "variant {} simulated in {:.1} s",
        spec.variant,
        t.elapsed().as_secs_f64()
    );
    crate::run::write_json(&vdir.join("spec.json"), &serde_json::to_value(spec)?)?;
    let summary: Summary = serde_json::from_value(value).context("summary.json contract")?;
    summary.save(&vdir.join("summary.json"))?;
    Ok(summary)
}

/// `feedlab sim`.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let mut scenario = crate::scenario::Scenario::load(&args.scenario, &args.set)?;
    if let Some(seed) = args.seed {
        scenario.set_seed(seed);
    }
    let mut specs = scenario.variants();
    if let Some(v) = &args.variant {
        let known: Vec<String> = specs.iter().map(|s| s.variant.clone()).collect();
        specs.retain(|s| &s.variant == v);
        if specs.is_empty() {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(crate::cli::unknown_variant(&args.scenario, v, &known).into());
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out("sim", scenario.name()));
    let mut cache = SourceCache::default();
    let mut values = Vec::new();
    for spec in &mut specs {
        spec.mode = Mode::Sim;
        eprintln!("== sim variant {} ({}) ==", spec.variant, spec.scenario);
        let s = run_variant(spec, &out, &mut cache)?;
        values.push(serde_json::to_value(&s)?);
    }
    let comparison = Comparison {
        scenario: scenario.name().to_string(),
        variants: specs
            .iter()
            .map(|s| ComparisonEntry {
                variant: s.variant.clone(),
                summary: format!("{}/summary.json", s.variant),
                extra: Extra::new(),
            })
            .collect(),
        extra: Extra::new(),
    };
    comparison.save(&out.join("comparison.json"))?;
    crate::report_cmd::write_reports(&out)?;
    print!("{}", table(&values));
    Ok(())
}

/// The terminal table: one row per variant.
pub fn table(values: &[Value]) -> String {
    let num = |v: &Value, p: &str| crate::summary::metric_in(v, p);
    let f1 = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.1}"));
    let mut rows = vec![[
        "variant".to_string(),
        "feed p50 ms".into(),
        "feed p99 ms".into(),
        "fresh p99 ms".into(),
        "timeline writes/s".into(),
        "shard skew".into(),
        "max shard util".into(),
        "bottleneck".into(),
        "target".into(),
    ]];
    for v in values {
        if v.pointer("/sim/queue").is_some() {
            continue;
        }
        let target = num(v, "target.feed_p99_ms").unwrap_or(crate::spec::DEFAULT_FEED_P99_MS);
        let met = v.pointer("/target/met").and_then(Value::as_bool);
        rows.push([
            v["variant"].as_str().unwrap_or("?").to_string(),
            f1(num(v, "ops.feed.p50_ms")),
            f1(num(v, "ops.feed.p99_ms")),
            f1(num(v, "fanout.freshness_p99_ms")),
            f1(num(v, "fanout.timeline_writes_per_s")),
            num(v, "shards.load_max_over_mean").map_or("-".into(), |x| format!("{x:.2}")),
            num(v, "sim.max_shard_utilisation")
                .map_or("-".into(), |x| format!("{:.0}%", 100.0 * x)),
            bottleneck(v),
            match met {
                Some(true) => format!("met (≤ {target:.0} ms)"),
                Some(false) => format!("MISSED (> {target:.0} ms)"),
                None => "-".into(),
            },
        ]);
    }
    let mut out = String::new();
    for v in values {
        if let Some(q) = v.pointer("/sim/queue") {
            out.push_str(&summary::queue_table(
                v["variant"].as_str().unwrap_or("?"),
                q,
            ));
        }
    }
    if rows.len() > 1 {
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for (i, r) in rows.iter().enumerate() {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, w))| {
                    if c == 0 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
                out.push('\n');
            }
        }
    }
    out
}

/// `sim.bottleneck` with its utilisation, e.g. `box-cpu 93%`.
fn bottleneck(v: &Value) -> String {
    let Some(name) = v.pointer("/sim/bottleneck").and_then(Value::as_str) else {
        return "-".into();
    };
    let util = v
        .pointer("/sim/resources")
        .and_then(Value::as_array)
        .and_then(|rs| rs.iter().find(|r| r["name"] == name))
        .and_then(|r| r["utilisation"].as_f64());
    match util {
        Some(u) => format!("{name} {:.0}%", 100.0 * u),
        None => name.to_string(),
    }
}

/// A JSON number, 0 for non-finite values (JSON has no NaN).
pub(crate) fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { json!(0.0) }
}
