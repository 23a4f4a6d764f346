//! The command-line side of `feedlab run`, `feedlab compare` and `feedlab sim`: their flags,
//! loading a scenario's variants (or a resolved `spec.json`) with `--set` and `--seed`
//! applied, and handing the resolved specs to [`run_all`] with the executor of their mode.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::{Executors, run_all};
use crate::run::RunOptions;
use crate::spec::{Mode, RunSpec};

/// Flags shared by `run` and `compare`.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Seed overriding the scenario's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (default `out/<command>/<scenario>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a scenario key: `--set system.fanout.kind=push` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Keep each variant's data directory (otherwise all are deleted when the command ends,
    /// not between runs, which would slow the runs after them).
    #[arg(long)]
    pub keep_data: bool,
}

/// `feedlab run SCENARIO`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Run this variant of the scenario instead of its base.
    #[arg(long)]
    pub variant: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `feedlab compare SCENARIO...`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Scenario files; one file runs its `[[variants]]`, several run side by side.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Load the variants of a scenario file with `--set` and `--seed` applied.
/// A `.json` file is one already resolved [`RunSpec`] (as written next to
/// each summary as `spec.json`), run as is apart from `--seed`.
fn load_specs(path: &Path, common: &CommonArgs) -> anyhow::Result<Vec<RunSpec>> {
    if path.extension().is_some_and(|e| e == "json") {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut spec: RunSpec = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a resolved run spec", path.display()))?;
        if !common.set.is_empty() {
            bail!("--set applies to scenario files, not to a resolved spec.json");
        }
        if let Some(seed) = common.seed {
            spec.seed = seed;
        }
        return Ok(vec![spec]);
    }
    let mut scenario = crate::scenario::Scenario::load(path, &common.set)?;
    if let Some(seed) = common.seed {
        scenario.set_seed(seed);
    }
    Ok(scenario.variants())
}

/// `--out`, else `out/<command>/<scenario>`.
fn out_dir(common: &CommonArgs, command: &str, scenario: &str) -> PathBuf {
    common
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out(command, scenario))
}

/// `feedlab run`.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let specs = load_specs(&args.scenario, &args.common)?;
    let spec = match &args.variant {
        Some(v) => {
            let known: Vec<String> = specs.iter().map(|s| s.variant.clone()).collect();
            match specs.into_iter().find(|s| &s.variant == v) {
                Some(s) => s,
                None => {
                    let known: Vec<&str> = known.iter().map(String::as_str).collect();
                    return Err(crate::cli::unknown_variant(&args.scenario, v, &known).into());
                }
            }
        }
        None if specs.len() == 1 => specs.into_iter().next().context("no runs")?,
        None => {
            let mut scenario = crate::scenario::Scenario::load(&args.scenario, &args.common.set)?;
            if let Some(seed) = args.common.seed {
                scenario.set_seed(seed);
            }
            scenario.base_spec()
        }
    };
    let opts = RunOptions {
        keep_data: args.common.keep_data,
    };
    let out = out_dir(&args.common, "run", &spec.scenario);
    run_all(&[spec], &out, &mut Executors::new(opts))?;
    Ok(())
}

/// `feedlab compare`.
pub async fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let several = args.scenarios.len() > 1;
    let mut specs = Vec::new();
    for path in &args.scenarios {
        for mut s in load_specs(path, &args.common)? {
            if several {
                s.variant = if s.variant == "default" {
                    s.scenario.clone()
                } else {
                    format!("{}-{}", s.scenario, s.variant)
                };
            }
            specs.push(s);
        }
    }
    let opts = RunOptions {
        keep_data: args.common.keep_data,
    };
    let name = specs.first().map_or("compare", |s| s.scenario.as_str());
    let out = out_dir(&args.common, "compare", name);
    run_all(&specs, &out, &mut Executors::new(opts))?;
    Ok(())
}

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

/// `feedlab sim`: every variant (or `--variant`) simulated, whatever its `scenario.mode`.
pub fn sim(args: SimArgs) -> anyhow::Result<()> {
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
    for spec in &mut specs {
        spec.mode = Mode::Sim;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out("sim", scenario.name()));
    run_all(&specs, &out, &mut Executors::new(RunOptions::default()))?;
    Ok(())
}
