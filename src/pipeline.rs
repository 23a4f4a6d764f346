//! The one harness pipeline behind `run`, `compare` and `sim` (and the executor `sweep`
//! steps through): resolved specs in, one [`Executor`] run per variant, then
//! `OUT/comparison.json`, `report.md`/`report.html` with their plots, and one terminal table,
//! all from the typed summaries.
//!
//! ```text
//! scenario ──► [RunSpec] ──► Executors ──► [Summary] ──► comparison.json
//!                             ├ LiveExecutor (in-process or external)  ├ report.md / .html
//!                             └ SimExecutor (owns the population cache)└ table (stdout)
//! ```
//!
//! `sweep` runs its load ladders through the same [`Executors`] (`crate::sweep`), then
//! writes `sweep.json`, its own report and table ([`sweep`]).
//!
//! Flags and spec loading of the commands are in `cli`.

mod cli;

use std::path::Path;

use anyhow::{Context, bail};

pub use cli::{CompareArgs, RunArgs, SimArgs, compare, run, sim};

use crate::exec::Executor;
use crate::run::{LiveExecutor, RunOptions};
use crate::sim::SimExecutor;
use crate::spec::{Mode, RunSpec};
use crate::summary::{Comparison, ComparisonEntry, Extra, Summary};

/// The executor of every mode: each spec goes to the live or the simulator executor as its
/// `scenario.mode` says.
pub struct Executors {
    live: Option<LiveExecutor>,
    sim: SimExecutor,
}

impl Executors {
    /// Live runs on the current tokio runtime (none outside one: live specs then fail),
    /// simulations with an empty population cache.
    pub fn new(opts: RunOptions) -> Executors {
        Executors {
            live: LiveExecutor::current(opts),
            sim: SimExecutor::default(),
        }
    }
}

impl Executor for Executors {
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        match spec.mode {
            Mode::Sim => self.sim.run(spec, out),
            Mode::Live => self
                .live
                .as_mut()
                .context("a live run needs the tokio runtime")?
                .run(spec, out),
        }
    }
}

/// Runs `specs` one after another under `out` with `exec`, then writes
/// `out/comparison.json` and the reports and prints the table. Returns the summaries in
/// order. Variant names must be unique.
pub fn run_all(
    specs: &[RunSpec],
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Vec<Summary>> {
    let mut names: Vec<&str> = specs.iter().map(|s| s.variant.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        bail!("variant names must be unique within one comparison: {names:?}");
    }
    let mut summaries = Vec::new();
    for spec in specs {
        let mode = match spec.mode {
            Mode::Live => "",
            Mode::Sim => "sim ",
        };
        eprintln!("== {mode}variant {} ({}) ==", spec.variant, spec.scenario);
        summaries.push(exec.run(spec, out)?);
    }
    comparison(specs).save(&out.join("comparison.json"))?;
    crate::report_cmd::write_reports(out)?;
    print!("{}", crate::report::table::render(&summaries));
    Ok(summaries)
}

/// `feedlab sweep`: the ladders of the selected variants through [`Executors`], then
/// `sweep.json`, the sweep report and its table.
pub async fn sweep(args: crate::sweep::SweepArgs) -> anyhow::Result<()> {
    let (specs, out) = crate::sweep::resolve(&args)?;
    let earlier = (args.against.as_deref())
        .map(crate::sweep::against::load)
        .transpose()?;
    let mut exec = Executors::new(RunOptions::default());
    let opts = crate::sweep::Options {
        predict: args.predict,
        jobs: args.jobs,
        replay: args.replay.clone(),
    };
    let mut report = crate::sweep::ladders(&specs, &out, &opts, &mut exec)?;
    if let (Some(dir), Some(earlier)) = (&args.against, &earlier) {
        let dir = dir.display().to_string();
        report.against = Some(crate::sweep::against::compare(&dir, earlier, &report));
        report.save(&out)?;
    }
    crate::report::sweep::write(&out, &report)?;
    println!("{}", crate::sweep::table::render(&report));
    Ok(())
}

/// `comparison.json` of `specs`: each variant, its scenario and its summary's path.
fn comparison(specs: &[RunSpec]) -> Comparison {
    Comparison {
        scenario: specs
            .first()
            .map(|s| s.scenario.clone())
            .unwrap_or_default(),
        variants: specs
            .iter()
            .map(|s| ComparisonEntry {
                variant: s.variant.clone(),
                summary: format!("{}/summary.json", s.variant),
                scenario: s.scenario.clone(),
                extra: Extra::new(),
            })
            .collect(),
        extra: Extra::new(),
    }
}
