//! The discrete-event simulator as an [`Executor`]: [`SimExecutor`] runs a scenario's
//! variant in the photo model (or, with `[sim.queue]`, the M/M/c validation queue, whose
//! mean wait and p99 sit next to Erlang C) and writes the same `summary.json` contract as a
//! live run with `mode = "sim"`, plus what only the simulator knows under `sim` (per-shard
//! utilisation and queue lengths, resources and the bottleneck).
//!
//! `[[faults]]` windows run on the model clock (`feedlab_sim::model::FaultWindow`); the
//! summary carries the model's per-second `series` and `freshness_series` and, read from
//! them as a live run's are, the `faults` outcomes.
//!
//! The executor owns its population cache ([`SourceCache`]): variants and load steps that
//! share population, seed and population mode build the population once (other sharding
//! re-places it on the new shards).

mod summary;

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use feedlab_sim::model::{
    Calibration, Effect, FaultWindow, ModelReport, PopulationMode, Source, simulate,
};
use feedlab_system::policy::{FanoutStrategy, Partitioner};
use feedlab_workload::Workload;

use crate::exec::Executor;
use crate::spec::RunSpec;
use crate::spec::faults::{BlobHow, Fault, FaultAction};
use crate::summary::Summary;

/// The expensive, strategy-independent part of a run, reused across variants that share
/// population, seed and population mode: a hit with other sharding re-places the same
/// population on the new shards ([`Source::set_partitioner`]). Holds up to `capacity`
/// populations (1 unless set; the least recently used goes first).
#[derive(Default)]
struct SourceCache {
    entries: Vec<(String, Source)>,
    capacity: usize,
    builds: u64,
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
            spec.sim.population,
            spec.sim.leader_pool,
            &traffic,
        ))?;
        if let Some(i) = self.entries.iter().position(|(k, _)| *k == key) {
            let hit = self.entries.remove(i);
            self.entries.push(hit);
        } else {
            // Drop before building, so at most `capacity` populations are alive at once.
            while self.entries.len() >= self.capacity.max(1) {
                self.entries.remove(0);
            }
            let t = Instant::now();
            let workload = match spec.sim.population {
                PopulationMode::Full => Workload::full(&spec.population, spec.seed),
                PopulationMode::Scaled => Workload::scaled(&spec.population, spec.seed),
            }
            .context("building the population")?;
            let strategy = FanoutStrategy::new(spec.system.fanout.clone())?;
            let partitioner = Partitioner::new(spec.system.sharding.clone())?;
            let mut rng = feedlab_sim::rng_stream(spec.seed, 10);
            let source = Source::new(
                workload,
                spec.sim.population,
                &spec.traffic,
                strategy,
                partitioner,
                spec.sim.leader_pool,
                &mut rng,
            );
            self.entries.push((key, source));
            self.builds += 1;
            eprintln!("population built in {:.1} s", t.elapsed().as_secs_f64());
        }
        let source = self
            .entries
            .last_mut()
            .map(|(_, s)| s)
            .context("population")?;
        if source.partitioner().config() != &spec.system.sharding {
            source.set_partitioner(Partitioner::new(spec.system.sharding.clone())?);
        }
        Ok(source)
    }
}

/// The simulator [`Executor`], with the population cache it reuses across runs.
#[derive(Default)]
pub struct SimExecutor {
    cache: SourceCache,
}

/// One simulated run without files: the summary and the model's own typed report (its
/// resources, their utilisation and the bottleneck).
pub struct Evaluated {
    /// The summary [`Executor::run`] would write.
    pub summary: Summary,
    /// The photo model's report.
    pub report: ModelReport,
}

impl SimExecutor {
    /// An executor whose cache keeps up to `populations` populations alive (a search that
    /// returns to earlier shard counts reuses them; each costs its population's memory).
    pub fn with_cache(populations: usize) -> SimExecutor {
        SimExecutor {
            cache: SourceCache {
                capacity: populations.max(1),
                ..SourceCache::default()
            },
        }
    }

    /// Populations built so far (cache misses).
    pub fn populations_built(&self) -> u64 {
        self.cache.builds
    }

    /// Simulates the photo model of `spec` for its `duration_s` and writes nothing; a spec
    /// with `[sim.queue]` is refused (it has no photo model).
    pub fn evaluate(&mut self, spec: &RunSpec) -> anyhow::Result<Evaluated> {
        anyhow::ensure!(
            spec.sim.queue.is_none(),
            "the validation queue has no deployment to evaluate"
        );
        let (summary, report) = simulate_model(spec, &mut self.cache)?;
        Ok(Evaluated { summary, report })
    }
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
        None => simulate_model(spec, cache)?.0,
    };
    eprintln!(
        "variant {} simulated in {:.1} s",
        spec.variant,
        t.elapsed().as_secs_f64()
    );
    Ok(summary)
}

/// Runs the photo model of `spec` over the cached population: the summary and the report.
fn simulate_model(
    spec: &RunSpec,
    cache: &mut SourceCache,
) -> anyhow::Result<(Summary, ModelReport)> {
    let calibration = match &spec.calibration {
        Some(p) => Calibration::load(p)?,
        None => Calibration::builtin(),
    };
    let (plan, windows) = fault_plan(spec)?;
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
        faults: &windows,
        view_bytes: Some(spec.driver.view_bytes).filter(|&n| n > 0),
    };
    let report = simulate(source, &params)?;
    let mut summary = summary::model(spec, source, &calibration, &report);
    summary.faults = summary::faults(spec, &plan, &report);
    Ok((summary, report))
}

/// The resolved `[[faults]]` of `spec` (a resolved `spec.json` is checked here too) and
/// their windows on the model clock; a bad entry is a user error naming it.
fn fault_plan(spec: &RunSpec) -> anyhow::Result<(Vec<Fault>, Vec<FaultWindow>)> {
    let shards = spec.system.sharding.shards;
    let plan = crate::spec::faults::resolve(&spec.faults, shards, spec.duration_s)
        .map_err(|r| crate::cli::UserError(format!("variant {}: {}", spec.variant, r.message)))?;
    let windows = plan
        .iter()
        .map(|f| FaultWindow {
            effect: effect(f.action),
            at_s: f.at_s,
            for_s: f.for_s,
        })
        .collect();
    Ok((plan, windows))
}

/// The simulator's effect of a fault action.
fn effect(a: FaultAction) -> Effect {
    match a {
        FaultAction::SlowShard { shard, extra_ms } => Effect::SlowShard { shard, extra_ms },
        FaultAction::ShardDown { shard } => Effect::ShardDown { shard },
        FaultAction::MaterializerPause => Effect::MaterializerPause,
        FaultAction::BlobOutage { how: BlobHow::Stop } => Effect::BlobStop,
        FaultAction::BlobOutage { .. } => Effect::BlobReplica,
        FaultAction::CelebrityBurst { photos } => Effect::CelebrityBurst { photos },
        FaultAction::FlashCrowd { factor } => Effect::FlashCrowd { factor },
        FaultAction::Network { extra_ms } => Effect::Network { extra_ms },
    }
}

/// A finite number, 0 for non-finite values (JSON has no NaN).
pub(crate) fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
