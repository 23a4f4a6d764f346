//! `feedlab population SCENARIO --sample N --out FILE.csv`: a CSV of users
//! sampled uniformly from the scenario's full (unscaled) population, with
//! their realized follower and planned followee counts.

use std::path::PathBuf;

use anyhow::Context;
use feedlab_workload::{Population, write_csv};

use crate::scenario::ScenarioArgs;

/// Arguments of `feedlab population`.
#[derive(clap::Args, Debug, Clone)]
pub struct PopulationArgs {
    /// Scenario, seed, output CSV file (default `out/population/<scenario>.csv`) and `--set`s.
    #[command(flatten)]
    pub common: ScenarioArgs,
    /// Number of users to sample.
    #[arg(long, default_value_t = 10_000)]
    pub sample: u64,
}

/// Writes the CSV (`user_id,followers,followees,daily_active`) of `--sample` users of the
/// scenario's base population.
pub fn run(args: PopulationArgs) -> anyhow::Result<()> {
    let scenario = args.common.load()?;
    let cfg = &scenario.base().population;
    let pop = Population::new(cfg, scenario.seed())?;
    let rows = pop.sample_users(args.sample)?;
    let out = args.common.out.clone().unwrap_or_else(|| {
        PathBuf::from("out/population").join(format!("{}.csv", scenario.name()))
    });
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(&out).with_context(|| format!("creating {}", out.display()))?;
    write_csv(&rows, file)?;
    eprintln!(
        "wrote {} users of {} to {}",
        rows.len(),
        pop.users(),
        out.display()
    );
    Ok(())
}
