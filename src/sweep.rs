//! `feedlab sweep SCENARIO`: an open-loop load ladder per variant, to the knee.
//!
//! Each step runs the variant at a multiple of the scenario's traffic (`traffic.load`), live
//! or simulated as the variant says (`--mode` forces one), for `sweep.step-s` seconds, and
//! writes the ordinary `summary.json` under `OUT/steps/x<load>/<variant>/`. The step is judged
//! (`verdict`), the next load chosen (`ladder`: geometric steps, then bisection), and the
//! variant's knee is the highest good load below the lowest bad one. The live variants' ladders
//! run in rounds, a step of each in turn (`rounds`). With `sweep.predict`
//! (or `--predict`) each live variant gets a simulated twin that reads the in-situ calibration
//! of the live ladder's first step, runs every load the live ladder ran, then finds its own
//! knee; the sweep reports how far the prediction is off (`result::predict`).
//!
//! Steps run through any [`Executor`] (the pipeline's, which picks live or sim per spec).
//! Output: `OUT/sweep.json` ([`result::SweepReport`]); the pipeline then writes
//! `OUT/report.html`/`report.md` with a latency-and-goodput-against-offered-load chart per op
//! (`crate::report::sweep`), and prints the terminal table ([`table`]).

pub mod against;
mod confirm;
mod fade;
mod holds;
mod host;
mod ladder;
pub mod overload;
mod parallel;
mod replay;
pub mod result;
mod rounds;
mod settle;
pub mod table;
pub(crate) mod verdict;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use crate::exec::Executor;
use crate::spec::{Mode, RunSpec, TwinSpeed};
use host::HostTrack;
use result::{Limits, Prediction, SweepReport, VariantSweep};
use verdict::{Step, judge};

/// `feedlab sweep SCENARIO`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Sweep only these variants (repeatable; default all).
    #[arg(long)]
    pub variant: Vec<String>,
    /// Run every variant in this mode, whatever the scenario says.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Add a simulated twin of each live variant, calibrated at the first step.
    #[arg(long)]
    pub predict: bool,
    /// Seed overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default `out/sweep/<scenario>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario key: `--set sweep.factor=1.5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Take the live ladders from this earlier `--predict` sweep's directory instead of
    /// running them, and run their twins again with this build (see `sweep/replay.rs`).
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// Set each live knee beside the same variant's in this earlier sweep's directory (a
    /// rerun, or another build's), as run and on the reference host (see `sweep/against.rs`).
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// Simulated ladders run side by side on this many threads, each with its own copy of
    /// the population (0: one per core); live ladders always run one at a time.
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
}

/// The specs `args` select (with `--seed`, `--set` and `--mode` applied) and the output
/// directory, created.
pub fn resolve(args: &SweepArgs) -> anyhow::Result<(Vec<RunSpec>, PathBuf)> {
    let mut scenario = crate::scenario::Scenario::load(&args.scenario, &args.set)?;
    if let Some(seed) = args.seed {
        scenario.set_seed(seed);
    }
    let specs = select(scenario.variants(), args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out("sweep", scenario.name()));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    Ok((specs, out))
}

/// What a sweep runs besides each spec's ladder.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Give each live ladder its twin, whatever `sweep.predict` says.
    pub predict: bool,
    /// Threads for the simulated ladders (0: one per core).
    pub jobs: usize,
    /// Take the live ladders, and their calibrations, from this recorded sweep and predict
    /// them (see [`replay`]).
    pub replay: Option<PathBuf>,
}

/// Runs the ladder of every spec with `exec` and writes `out/sweep.json`: the sim specs side
/// by side on up to `opts.jobs` threads first ([`parallel`]), then the live ladders in rounds
/// ([`rounds`]) or, with `opts.replay`, as recorded, then each live one's simulated twin when
/// predicting, and any sim spec left, in turn. Variants are reported in the order of `specs`,
/// each twin after its live ladder.
pub fn ladders(
    specs: &[RunSpec],
    out: &Path,
    opts: &Options,
    exec: &mut dyn Executor,
) -> anyhow::Result<SweepReport> {
    let (predict, jobs) = (opts.predict || opts.replay.is_some(), opts.jobs);
    let first = specs.first().context("the scenario has no runs")?.clone();
    let jobs = if jobs == 0 {
        parallel::default_jobs()
    } else {
        jobs
    };
    let specs: Vec<RunSpec> = specs
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.sweep.predict |= predict;
            holds::raise_driver_limit(&mut s);
            s
        })
        .collect();
    let mut done: Vec<Option<VariantSweep>> = specs.iter().map(|_| None).collect();
    for (i, ladder) in parallel::sim_ladders(&specs, out, jobs)? {
        done[i] = Some(ladder);
    }
    for (i, ladder) in live_ladders(&specs, &done, out, opts.replay.as_deref(), exec)? {
        done[i] = Some(ladder);
    }
    let calibrated = opts.replay.as_deref().unwrap_or(out);
    let mut variants = Vec::new();
    let mut predictions = Vec::new();
    for (spec, ladder) in specs.iter().zip(done) {
        let ladder = match ladder {
            Some(l) => l,
            None => ladder_of(spec, out, &[], None, exec)?,
        };
        if spec.mode == Mode::Live && spec.sweep.predict {
            let (sim, p) = predict_twin(spec, &ladder, calibrated, out, exec)?;
            predictions.push(p);
            variants.push(ladder);
            variants.push(sim);
        } else {
            variants.push(ladder);
        }
    }
    let report = SweepReport {
        feedlab: env!("CARGO_PKG_VERSION").to_string(),
        scenario: first.scenario.clone(),
        seed: first.seed,
        limits: Limits {
            feed_p99_ms: first.target.feed_p99_ms,
            freshness_p99_s: first.target.freshness_p99_s,
            max_dropped: first.sweep.max_dropped,
            max_errors: first.sweep.max_errors,
        },
        factor: first.sweep.factor,
        variants,
        predictions,
        against: None,
        reference_probe_us: Some(first.sweep.reference_probe_us),
        provenance: Some(crate::summary::Provenance::of(&first)),
    };
    report.save(out)?;
    Ok(report)
}

/// The simulated twin of `spec`'s live `ladder`, calibrated from its first step (in
/// `calibrated`), settled and its wake fades fitted, run at the ladder's loads; with the
/// prediction that judges it against `ladder`.
fn predict_twin(
    spec: &RunSpec,
    ladder: &VariantSweep,
    calibrated: &Path,
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<(VariantSweep, Prediction)> {
    let (mut twin, first) = twin_of(spec, ladder, calibrated)?;
    let (start, rounds) = (spec.sweep.start, spec.sweep.settle_rounds);
    let gaps = settle::settle(&mut twin, &first, start, rounds, out, exec)?;
    let decays = fade::fit(&mut twin, start, out, exec)?;
    let loads: Vec<f64> = ladder.steps.iter().map(|s| s.load).collect();
    let host = (spec.sweep.twin_speed == TwinSpeed::Live)
        .then(|| HostTrack::of(ladder, start, spec.sweep.twin_speed_exponent))
        .flatten();
    let sim = ladder_of(&twin, out, &loads, host, exec)?;
    let mut p = result::predict(ladder, &sim, spec.sweep.factor, Some(start));
    if let Some((before, after)) = gaps {
        p.settled = settle::report(&twin.variant, &before, &after);
    }
    if let Some(d) = decays {
        p.wake_decay = fade::report(&twin.variant, d);
    }
    Ok((sim, p))
}

/// The live ladders of `specs` not yet `done`, by index: run in rounds, so that each variant
/// meets the machine as it is then, or, with `replay`, as that recorded sweep holds them.
fn live_ladders(
    specs: &[RunSpec],
    done: &[Option<VariantSweep>],
    out: &Path,
    replay: Option<&Path>,
    exec: &mut dyn Executor,
) -> anyhow::Result<Vec<(usize, VariantSweep)>> {
    if let Some(dir) = replay {
        return replay::recorded(dir, specs);
    }
    let live: Vec<usize> = (0..specs.len())
        .filter(|&i| done[i].is_none() && specs[i].mode == Mode::Live)
        .collect();
    let live_specs: Vec<&RunSpec> = live.iter().map(|&i| &specs[i]).collect();
    let ladders = rounds::in_rounds(&live_specs, out, exec)?;
    Ok(live.into_iter().zip(ladders).collect())
}

/// The variants to sweep, with `--mode` applied; an unknown `--variant` lists the known ones.
fn select(specs: Vec<RunSpec>, args: &SweepArgs) -> anyhow::Result<Vec<RunSpec>> {
    let known: Vec<String> = specs.iter().map(|s| s.variant.clone()).collect();
    for v in &args.variant {
        if !known.contains(v) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(crate::cli::unknown_variant(&args.scenario, v, &known).into());
        }
    }
    Ok(specs
        .into_iter()
        .filter(|s| args.variant.is_empty() || args.variant.contains(&s.variant))
        .map(|mut s| {
            if let Some(m) = args.mode {
                s.mode = m;
            }
            s
        })
        .collect())
}

/// Cores' worth of other processes' CPU during the calibration step above which a sweep
/// warns that the box was not quiet.
const BUSY_BOX_CORES: f64 = 0.2;

/// The simulated twin of live variant `spec`: the same run in sim mode, reading the in-situ
/// calibration that the live ladder's first step wrote (under `dir`), on the scenario's `[sim]` model of
/// the box, with the live run's client limit and, for a local blob store, as many blob
/// transfers at once as the live read router admits requests.
fn twin_of(spec: &RunSpec, live: &VariantSweep, dir: &Path) -> anyhow::Result<(RunSpec, PathBuf)> {
    let first = live
        .steps
        .iter()
        .find(|s| (s.load / spec.sweep.start - 1.0).abs() < 1e-6)
        .context("the live ladder ran no first step")?;
    let calibration = dir.join(&first.summary).with_file_name("calibration.toml");
    if !calibration.exists() {
        bail!(
            "the live step at x{} wrote no in-situ calibration ({})",
            first.load,
            calibration.display()
        );
    }
    let mut twin = spec.clone();
    twin.mode = Mode::Sim;
    // The twin models the live run: its scaled population, on the deployment that the
    // scenario's `[sim]` table describes for this box.
    twin.sim.population = feedlab_sim::model::PopulationMode::Scaled;
    twin.variant = format!("{}-sim", spec.variant);
    // The live driver drops what it cannot start, and the service queues and sheds what its
    // routers cannot admit; so do the twin's, with the limit the live step ran with.
    let limit = holds::recorded_limit(&dir.join(&first.summary));
    holds::hold_like_live(&mut twin, limit.unwrap_or(spec.driver.max_in_flight));
    // A local blob store reads inline or on the runtime's blocking pool, with no pool of
    // transfers of its own: the read router's admission bound is the only one it has.
    if spec.system.blob == feedlab_system::service::BlobBackend::Local {
        twin.sim.blob_workers = u32::try_from(spec.system.read_concurrency.max(1))
            .unwrap_or(u32::MAX)
            .max(twin.sim.blob_workers);
    }
    // Other tenants use cores they would partly cede under the service's demand, so the
    // twin keeps the box's cores; a busy box is only flagged.
    let measured = feedlab_sim::model::Calibration::load(&calibration)?;
    if let Some(others) = measured
        .provenance
        .other_cores
        .filter(|&o| o > BUSY_BOX_CORES)
    {
        eprintln!(
            "sweep: {}: other processes used {others:.2} cores while the calibration step \
             ran; the live ladder shares the box with them and the twin does not",
            twin.variant
        );
    }
    // A box gives a saturated service less than all its cores (other tenants, the kernel's
    // share, wake-up gaps); the calibration burst measured how much.
    let host = f64::from(measured.provenance.cores);
    let d = &mut twin.sim.deployment;
    if let Some(sat) = measured.provenance.saturated_cores.filter(|_| host > 0.0)
        && d.layout == feedlab_sim::model::Layout::OneBox
    {
        d.cores *= (sat / host).min(1.0);
    }
    twin.calibration = Some(calibration);
    Ok((twin, dir.join(&first.summary)))
}

/// Runs the ladder of one variant: the `preset` loads first, then the search; a twin's steps
/// at `host`'s speed.
fn ladder_of(
    spec: &RunSpec,
    out: &Path,
    preset: &[f64],
    host: Option<HostTrack>,
    exec: &mut dyn Executor,
) -> anyhow::Result<VariantSweep> {
    let mut climb = rounds::Climb::new(spec, preset).at_host(host);
    while climb.step(out, exec)? {}
    climb.finish(out, exec)
}

/// Runs `spec` at `load` times its traffic (results under `steps/x<load><suffix>`) and judges
/// the step.
fn step_of(
    spec: &RunSpec,
    load: f64,
    out: &Path,
    exec: &mut dyn Executor,
    suffix: &str,
) -> anyhow::Result<Step> {
    let mut s = at_load(spec, load);
    // The twin's calibration step also measures how the CPU per op falls on a busier box.
    let calibrates =
        s.mode == Mode::Live && s.sweep.predict && (load / s.sweep.start - 1.0).abs() < 1e-6;
    if calibrates {
        s.driver.calibration_burst = spec.sweep.calibration_burst;
        s.driver.calibration_burst_s = spec.sweep.calibration_burst_s;
    }
    let label = format!("x{load:.4}{suffix}");
    let dir = out.join("steps").join(&label);
    let summary = exec.run(&s, &dir)?;
    let rel = format!("steps/{label}/{}/summary.json", s.variant);
    let mut step = judge(&summary, load, rel, &s.target, &spec.sweep);
    if s.mode == Mode::Live {
        let measured = in_situ(&dir.join(&s.variant).join("calibration.toml"))?;
        step.cores = measured.as_ref().and_then(|p| p.process_cores);
        if calibrates {
            step.cpu_drift = measured.as_ref().and_then(cpu_drift);
        }
    }
    Ok(step)
}

/// `spec` as a step at `load` times its traffic runs it: for `sweep.step-s` (or
/// `sweep.sim-step-s`) seconds after `sweep.warmup-s` of warm-up.
fn at_load(spec: &RunSpec, load: f64) -> RunSpec {
    let mut s = spec.clone();
    s.traffic.load = spec.traffic.load * load;
    if let Some(d) = spec.sweep.step_s {
        s.duration_s = d;
    }
    if let Some(d) = spec.sweep.sim_step_s {
        s.sim.duration_s = Some(d);
    } else if s.sim.duration_s.is_none() {
        s.sim.duration_s = Some(s.duration_s);
    }
    let w = spec.sweep.warmup_s;
    if w > 0.0 && spec.faults.is_empty() {
        s.duration_s += w;
        s.sim.duration_s = s.sim.duration_s.map(|d| d + w);
        s.driver.warmup_s = w;
        s.sim.warmup_s = w;
    }
    s
}

/// The provenance of the in-situ calibration a live run wrote at `path` (what it measured of
/// the process); `None` when there is no such file.
pub(crate) fn in_situ(path: &Path) -> anyhow::Result<Option<feedlab_sim::model::Provenance>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(
        feedlab_sim::model::Calibration::load(path)?.provenance,
    ))
}

/// A calibration's CPU per op over its run's window ÷ over its burst's first phase
/// ([`Step::cpu_drift`]); `None` when it has no burst.
fn cpu_drift(p: &feedlab_sim::model::Provenance) -> Option<f64> {
    p.cpu_per_op_ms
        .zip(p.burst_cpu_per_op_ms)
        .filter(|&(_, b)| b > 0.0)
        .map(|(w, b)| w / b)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "sweep/replay_tests.rs"]
mod replay_tests;
