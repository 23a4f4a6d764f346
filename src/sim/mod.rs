//! The discrete-event simulator as an [`Executor`]: [`SimExecutor`] runs a scenario's
//! variant in the photo model (or, with `[sim.queue]`, the M/M/c validation queue, whose
//! mean wait and p99 sit next to Erlang C) and writes the same `summary.json` contract as a
//! live run with `mode = "sim"`, plus what only the simulator knows under `sim` (per-shard
//! utilisation and queue lengths, resources and the bottleneck).
//!
//! The executor owns its population cache ([`SourceCache`]): variants and load steps that
//! share population, seed, sharding and population mode build the population once.

mod summary;

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use feedlab_sim::model::{Calibration, PopulationMode, Source, simulate};
use feedlab_system::policy::{FanoutStrategy, Partitioner};
use feedlab_workload::Workload;

use crate::exec::Executor;
use crate::spec::RunSpec;
use crate::summary::Summary;

/// The expensive, strategy-independent part of a run, reused across
/// variants that share population, seed, sharding and population mode.
#[derive(Default)]
struct SourceCache {
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

/// The simulator [`Executor`], with the population cache it reuses across runs.
#[derive(Default)]
pub struct SimExecutor {
    cache: SourceCache,
}

impl Executor for SimExecutor {
    /// Runs `spec` for its `sim.duration-s` when set; `spec.json` is the spec so run.
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        let mut spec = spec.clone();
        if let Some(d) = spec.sim.duration_s {
            spec.duration_s = d;
        }
        let summary = simulate_variant(&spec, &mut self.cache)?;
        crate::exec::save(&spec, out, &summary)?;
        Ok(summary)
    }
}

/// Simulates `spec` and returns its summary.
fn simulate_variant(spec: &RunSpec, cache: &mut SourceCache) -> anyhow::Result<Summary> {
    let t = Instant::now();
    let summary = match &spec.sim.queue {
        Some(q) => summary::queue(spec, q)?,
        None => {
            let calibration = match &spec.calibration {
                Some(p) => Calibration::load(p)?,
                None => Calibration::builtin(),
            };
            let source = cache.get(spec)?;
            let fanout = crate::threshold::sim_fanout(spec, source);
            let params = feedlab_sim::model::RunParams {
                seed: spec.seed,
                duration_s: spec.duration_s,
                traffic: &spec.traffic,
                fanout: &fanout,
                settings: &spec.sim,
                calibration: &calibration,
                photos_per_author: (spec.sim.population == PopulationMode::Scaled)
                    .then_some(spec.driver.history_photos_per_user),
                pull_cache: Some(feedlab_sim::model::PullCacheParams {
                    entries: spec.system.pull_cache_entries,
                    set_ttl_ms: spec.system.pull_set_ttl_ms,
                    recent_ttl_ms: spec.system.pull_recent_ttl_ms,
                }),
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
    Ok(summary)
}

/// A finite number, 0 for non-finite values (JSON has no NaN).
pub(crate) fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
