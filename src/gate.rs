//! `feedlab gate`: compares a current run with a baseline and fails CI on a
//! breach, built to catch a 20 % slowdown on a noisy shared 2-core machine
//! with almost no false alarms.
//!
//! Inputs are `summary.json` or `comparison.json` files (the kind is told by
//! content). Per variant the checks are, in this order:
//! - absolute rules on the current run (`feed.p99_ms <= 200` by default);
//! - per op kind of the current run, service errors (less the load
//!   generator's own codes) and drops over ops issued, at most
//!   `max-error-ratio` and `max-drop-ratio`;
//! - statistical checks (`[gate] trials`): the per-second windows of a
//!   latency or of server CPU per op, current against baseline, by a
//!   one-sided Mann–Whitney test AND a minimum effect on the ratio of
//!   medians (module `trials`);
//! - work counters per op (storage calls, keys read, rows written, fsyncs,
//!   blob bytes) and `fanout.writes_per_upload`, which machine noise does
//!   not move, within a small tolerance (module `counters`);
//! - single values with no windows, within a factor of the baseline
//!   (`ratio`, default `shards.call_us_max` x 4).
//!
//! Every check ends PASS, FAIL or SKIP. A check that cannot be judged (an
//! older summary without the windows or counters it needs, too few
//! windows) SKIPs with its reason; nothing passes for lack of data. A
//! baseline from another scenario, build or core count, without
//! provenance, or with fault injection on draws a warning but is still
//! evaluated. The old `noise-floor-ms`, `regression`, `regression-metrics`
//! and `higher-is-better` keys and the `--regression` flag are refused.
//!
//! The gate prints a table and a verdict line, writes JUnit XML and
//! `gate.md` into `--out` (also appended to `$GITHUB_STEP_SUMMARY`), prints
//! `::error` workflow commands under GitHub Actions, and exits 0 when no
//! check failed, 1 on any failure, 2 when its inputs or flags are unusable.
//! `--record` instead makes the current run the baseline (module `record`).

mod bound;
mod check;
pub mod config;
mod counters;
mod input;
pub(crate) mod mann_whitney;
mod markdown;
mod output;
mod provenance;
mod record;
mod recorded;
mod trial_metric;
mod trials;

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use check::Outcome;
use config::GateConfig;

/// Flags of `feedlab gate`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// Baseline `comparison.json` or `summary.json` (with `--record`: where
    /// to write the new baseline `comparison.json`).
    #[arg(long)]
    baseline: PathBuf,
    /// Current `comparison.json` or `summary.json`.
    #[arg(long)]
    current: PathBuf,
    /// TOML file whose `[gate]` table holds the rules (a scenario file works).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Extra absolute rule, `METRIC<=N` or `METRIC>=N`; repeatable; added to
    /// (and overriding the same end of) the file's or the default rules.
    #[arg(long = "rule", value_name = "RULE")]
    rule: Vec<String>,
    /// Record the current run as the baseline at `--baseline` (copies the
    /// comparison and its summaries, adds commit, date, cores and load)
    /// instead of gating.
    #[arg(long)]
    record: bool,
    /// With `--record`: another run (`comparison.json` or `summary.json`) of
    /// the same commit whose per-second windows join the baseline's;
    /// repeatable.
    #[arg(long, value_name = "RUN", requires = "record")]
    also: Vec<PathBuf>,
    /// Removed: refused with a message saying what replaced it.
    #[arg(long, hide = true, value_name = "X")]
    regression: Option<String>,
    /// Where to write JUnit XML (default: `junit.xml` in `--out`).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Output directory for `junit.xml` and `gate.md` (created if missing).
    #[arg(long, default_value = "out/gate")]
    out: PathBuf,
}

/// Runs the gate. `Ok(true)` when no check failed (or a baseline was
/// recorded), `Ok(false)` on a failure; `Err` means the inputs or flags
/// could not be used (exit 2).
pub fn run(args: GateArgs) -> anyhow::Result<bool> {
    if args.regression.is_some() {
        bail!(
            "--regression was removed: latencies are judged over per-second windows \
             ([gate] latency-effect, cpu-effect) and work counters (counter-tolerance)"
        );
    }
    if args.record {
        let recorded = record::record(&args.current, &args.also, &args.baseline)?;
        println!(
            "gate: recorded {} as the baseline {} ({} variants; {})",
            args.current.display(),
            args.baseline.display(),
            recorded.scenario_hashes.len(),
            recorded.describe()
        );
        return Ok(true);
    }
    let config = build_config(&args)?;
    let baseline = input::load(&args.baseline)?;
    let current = input::load(&args.current)?;
    let singles = baseline.single && current.single;
    let mut notes = Vec::new();
    if singles && baseline.named[0].variant != current.named[0].variant {
        notes.push(format!(
            "comparing baseline variant {} with current variant {}",
            baseline.named[0].variant, current.named[0].variant
        ));
    }
    if let Some(r) = &baseline.recorded {
        notes.push(r.describe());
    }
    let pairs = check::pair(&baseline.named, &current.named, singles);
    let warnings = provenance::warnings(&pairs);
    for n in &notes {
        eprintln!("note: {n}");
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let checks = check::evaluate(&config, &pairs);
    report(&args, &checks, &notes, &warnings)
}

/// Shows the checks: table and failures on stdout, workflow commands under
/// GitHub Actions, JUnit and `gate.md`, then the verdict line.
fn report(
    args: &GateArgs,
    checks: &[check::Check],
    notes: &[String],
    warnings: &[String],
) -> anyhow::Result<bool> {
    print!("{}", output::table(checks));
    for c in checks.iter().filter(|c| c.outcome == Outcome::Fail) {
        println!("FAIL: {}", c.message);
    }
    if markdown::github_actions() {
        for line in markdown::annotations(checks, warnings) {
            println!("{line}");
        }
    }
    let junit = args
        .junit
        .clone()
        .unwrap_or_else(|| args.out.join("junit.xml"));
    output::write_junit(checks, &junit)?;
    let inputs = format!(
        "Baseline `{}`, current `{}`.",
        args.baseline.display(),
        args.current.display()
    );
    let all_notes: Vec<String> = warnings
        .iter()
        .map(|w| format!("warning: {w}"))
        .chain(notes.iter().cloned())
        .collect();
    let md = markdown::write(&args.out, &markdown::render(checks, &inputs, &all_notes))?;
    println!(
        "gate: {} (JUnit: {}, Markdown: {})",
        markdown::verdict(checks),
        junit.display(),
        md.display()
    );
    Ok(markdown::counts(checks).1 == 0)
}

/// The rules in force: the `--rules` file's `[gate]` table (or the
/// defaults), then `--rule` on top.
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
    config.validate()?;
    Ok(config)
}
