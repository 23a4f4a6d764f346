//! `feedlab gate`: compares a current run with a baseline and fails CI on a
//! breach.
//!
//! Inputs are `summary.json` or `comparison.json` files (the kind is told by
//! content). Two kinds of check run per variant:
//! - absolute rules on the current run (`feed.p99_ms <= 200` by default);
//! - regression checks: a latency-like metric may grow by at most the
//!   `regression` tolerance over its baseline, a higher-is-better metric may
//!   shrink by at most that much.
//!
//! The gate prints a table, writes JUnit XML and exits 0 when every check
//! passes, 1 on any breach, 2 when its inputs or flags are unusable.

mod check;
pub mod config;
mod output;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

use crate::summary::{Comparison, Summary};
use check::{Named, Outcome};
use config::GateConfig;

/// Flags of `feedlab gate`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// Baseline `summary.json` or `comparison.json`.
    #[arg(long)]
    baseline: PathBuf,
    /// Current `summary.json` or `comparison.json`.
    #[arg(long)]
    current: PathBuf,
    /// TOML file whose `[gate]` table holds the rules (a scenario file works).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Extra absolute rule, `METRIC<=N` or `METRIC>=N`; repeatable; added to
    /// (and overriding the same end of) the file's or the default rules.
    #[arg(long = "rule", value_name = "RULE")]
    rule: Vec<String>,
    /// Relative regression tolerance (overrides the rules file; 0.10 = 10 %).
    #[arg(long)]
    regression: Option<f64>,
    /// Where to write JUnit XML (default: `junit.xml` in `--out`).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Output directory (created if missing).
    #[arg(long, default_value = "out/gate")]
    out: PathBuf,
}

/// Runs the gate. `Ok(true)` when every check passed, `Ok(false)` on a
/// breach; `Err` means the inputs or flags could not be used (exit 2).
pub fn run(args: GateArgs) -> anyhow::Result<bool> {
    let config = build_config(&args)?;
    let (baseline, base_single) = load_input(&args.baseline)?;
    let (current, cur_single) = load_input(&args.current)?;
    let singles = base_single && cur_single;
    if singles && baseline[0].variant != current[0].variant {
        eprintln!(
            "note: comparing baseline variant {} with current variant {}",
            baseline[0].variant, current[0].variant
        );
    }
    let pairs = check::pair(&baseline, &current, singles);
    let checks = check::evaluate(&config, &pairs);

    print!("{}", output::table(&checks));
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .collect();
    let skipped = checks.iter().filter(|c| c.outcome == Outcome::Skip).count();
    for c in &failed {
        println!("FAIL: {}", c.message);
    }
    let junit = args
        .junit
        .clone()
        .unwrap_or_else(|| args.out.join("junit.xml"));
    output::write_junit(&checks, &junit)?;
    println!(
        "gate: {} checks, {} failed, {} skipped -> {} (JUnit: {})",
        checks.len(),
        failed.len(),
        skipped,
        if failed.is_empty() { "PASS" } else { "FAIL" },
        junit.display()
    );
    Ok(failed.is_empty())
}

/// The rules in force: the `--rules` file's `[gate]` table (or the
/// defaults), then `--rule` and `--regression` on top.
fn build_config(args: &GateArgs) -> anyhow::Result<GateConfig> {
    let mut config = match &args.rules {
        Some(path) => {
            let (config, found) = GateConfig::load(path)?;
            if !found {
                eprintln!(
                    "note: {} has no [gate] table; using the default rules",
                    path.display()
                );
            }
            config
        }
        None => GateConfig::default(),
    };
    for rule in &args.rule {
        config.add_rule(rule)?;
    }
    if let Some(r) = args.regression {
        config.regression = r;
    }
    config.validate()?;
    Ok(config)
}

/// Reads a summary or a comparison; the bool tells a single summary.
fn load_input(path: &Path) -> anyhow::Result<(Vec<Named>, bool)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let is_comparison = value.get("variants").is_some() && value.get("ops").is_none();
    if !is_comparison {
        let summary = Summary::load(path)?;
        let named = Named {
            variant: summary.variant.clone(),
            summary,
            file: path.to_path_buf(),
        };
        return Ok((vec![named], true));
    }
    let comparison = Comparison::load(path)?;
    let mut out: Vec<Named> = Vec::with_capacity(comparison.variants.len());
    for entry in &comparison.variants {
        if out.iter().any(|n| n.variant == entry.variant) {
            bail!("{} lists variant {} twice", path.display(), entry.variant);
        }
        let file = Comparison::summary_path(path, entry);
        let summary = Summary::load(&file)
            .with_context(|| format!("variant {} of {}", entry.variant, path.display()))?;
        out.push(Named {
            variant: entry.variant.clone(),
            summary,
            file,
        });
    }
    if out.is_empty() {
        bail!("{} lists no variants", path.display());
    }
    Ok((out, false))
}
