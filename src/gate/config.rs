//! The gate's rules: the `[gate]` table of a scenario or rules file, and
//! `--rule` flags on top of it. Every key is optional; the values below are
//! the defaults.
//!
//! ```toml
//! [gate]
//! # Statistical checks over the run's per-second windows.
//! trials = ["feed.p50_ms", "feed.p99_ms", "photo_get.p50_ms", "upload.p50_ms",
//!           "work.feed.cpu_us", "work.upload.cpu_us", "work.photo_get.cpu_us"]
//! warmup-s = 2            # seconds dropped at the start (the last one always is)
//! min-count = 3           # windows with fewer ops are dropped
//! min-windows = 5         # fewer windows on either side: SKIP
//! alpha = 0.01            # one-sided Mann-Whitney p must be below this ...
//! latency-effect = 0.5    # ... and the median ratio above 1.5 for latencies
//! cpu-effect = 0.15       # ... or above 1.15 for CPU per op
//! # Noise-free work counters per op (work.<op>.storage_calls, ...).
//! counter-tolerance = 0.05
//! counter-slack = 0.01
//! counter-min-ops = 30    # op kinds with fewer metered ops: SKIP
//! counter-tolerances = {} # per-metric override, { "fanout.writes_per_upload" = 0.2 }
//! # Single values with no windows: FAIL when current > baseline x factor.
//! ratio = { "shards.call_us_max" = 4.0 }
//! # Per op kind of the current run: service errors and drops per op issued.
//! max-error-ratio = 0.001
//! max-drop-ratio = 0.001
//!
//! # Absolute rules on the current run (inline, or under [gate.rules]).
//! "feed.p99_ms" = { max = 200 }
//! ```
//!
//! `noise-floor-ms`, `regression`, `regression-metrics` and
//! `higher-is-better` were removed and are refused with a one-line error.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

pub use super::bound::{Bound, num, parse_rule};
use super::trial_metric::TrialMetric;

/// The `[gate]` table: absolute rules on the current run and the checks of
/// the current run against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct GateConfig {
    /// Absolute bounds by metric path (see `Summary::metric`).
    pub rules: BTreeMap<String, Bound>,
    /// Metrics judged over per-second windows: `<op>.p50_ms`, `<op>.p99_ms`
    /// or `work.<op>.cpu_us`.
    pub trials: Vec<String>,
    /// Seconds at the start of a run whose windows are dropped.
    pub warmup_s: u64,
    /// Windows with fewer completed ops of the kind are dropped.
    pub min_count: u64,
    /// A statistical check needs at least this many windows on each side.
    pub min_windows: usize,
    /// Significance level of the one-sided Mann–Whitney test.
    pub alpha: f64,
    /// Smallest relative growth of a latency's median that fails (0.5 = +50 %).
    pub latency_effect: f64,
    /// Smallest relative growth of CPU per op's median that fails.
    pub cpu_effect: f64,
    /// With a baseline that pools several runs, the effect is at least this many times the
    /// spread of its runs' medians ((max − min) / pooled median): a metric that moves 15%
    /// between runs of one commit cannot fail at +15%.
    pub run_spread_factor: f64,
    /// Relative growth a work counter may show before it fails.
    pub counter_tolerance: f64,
    /// Absolute growth a work counter may show on top of the tolerance.
    pub counter_slack: f64,
    /// Op kinds with fewer metered ops (`work.<op>.ops`) on either side skip
    /// their counter checks.
    pub counter_min_ops: u64,
    /// `counter-tolerance` overrides by counter metric path.
    pub counter_tolerances: BTreeMap<String, f64>,
    /// Single-value checks: metric path to the factor over the baseline.
    pub ratio: BTreeMap<String, f64>,
    /// Largest share of an op kind's issued ops that may fail in the service.
    pub max_error_ratio: f64,
    /// Largest share of an op kind's issued ops that may be dropped.
    pub max_drop_ratio: f64,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            rules: BTreeMap::from([(
                "feed.p99_ms".to_string(),
                Bound::max(crate::spec::DEFAULT_FEED_P99_MS),
            )]),
            trials: [
                "feed.p50_ms",
                "feed.p99_ms",
                "photo_get.p50_ms",
                "upload.p50_ms",
                "work.feed.cpu_us",
                "work.upload.cpu_us",
                "work.photo_get.cpu_us",
            ]
            .map(String::from)
            .to_vec(),
            warmup_s: 2,
            min_count: 3,
            min_windows: 5,
            alpha: 0.01,
            latency_effect: 0.5,
            cpu_effect: 0.15,
            run_spread_factor: 1.5,
            counter_tolerance: 0.05,
            counter_slack: 0.01,
            counter_min_ops: 30,
            counter_tolerances: BTreeMap::new(),
            ratio: BTreeMap::from([("shards.call_us_max".to_string(), 4.0)]),
            max_error_ratio: 0.001,
            max_drop_ratio: 0.001,
        }
    }
}

/// A file that may carry a `[gate]` table among other keys (a scenario).
#[derive(Debug, Deserialize)]
struct RulesFile {
    gate: Option<toml::Table>,
}

/// The keys of `[gate]` that are settings; every other key is a rule.
const SETTINGS: [&str; 16] = [
    "rules",
    "trials",
    "warmup-s",
    "min-count",
    "min-windows",
    "alpha",
    "latency-effect",
    "cpu-effect",
    "run-spread-factor",
    "counter-tolerance",
    "counter-slack",
    "counter-min-ops",
    "counter-tolerances",
    "ratio",
    "max-error-ratio",
    "max-drop-ratio",
];

/// Keys an older gate read, with why they went.
const REMOVED: [(&str, &str); 4] = [
    (
        "noise-floor-ms",
        "checks that cannot be judged now SKIP with a reason",
    ),
    (
        "regression",
        "latencies are judged over per-second windows (latency-effect, cpu-effect)",
    ),
    (
        "regression-metrics",
        "the metrics judged over per-second windows are listed in `trials`",
    ),
    (
        "higher-is-better",
        "single-number regressions are gone; see `trials`, `ratio` and rules",
    ),
];

impl GateConfig {
    /// Reads the `[gate]` table of a TOML file; other top-level keys are
    /// ignored, a file without `[gate]` gives the defaults (the bool tells
    /// whether the table was there). Errors name the file and the key.
    pub fn load(path: &Path) -> anyhow::Result<(GateConfig, bool)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: RulesFile = toml::from_str(&text)
            .with_context(|| format!("{} has an invalid [gate] table", path.display()))?;
        let found = file.gate.is_some();
        let config = match file.gate {
            Some(t) => GateConfig::from_table(t)
                .with_context(|| format!("{} has an invalid [gate] table", path.display()))?,
            None => GateConfig::default(),
        };
        config
            .validate()
            .with_context(|| format!("in {}", path.display()))?;
        Ok((config, found))
    }

    /// Build from a `[gate]` table. Rules may sit in a `rules` sub-table or
    /// directly in `[gate]` (`"feed.p99_ms" = { max = 200 }`); rules given
    /// either way replace the default rule. A removed key is an error that
    /// says it was removed.
    pub fn from_table(mut table: toml::Table) -> anyhow::Result<GateConfig> {
        for (key, why) in REMOVED {
            if table.contains_key(key) {
                bail!("`{key}` was removed from [gate]: {why}; delete the key");
            }
        }
        let mut inline = BTreeMap::new();
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            if SETTINGS.contains(&key.as_str()) {
                continue;
            }
            if let Some(v) = table.remove(&key) {
                let bound: Bound = v.try_into().with_context(|| {
                    format!("rule {key:?} must be {{ min = N }} and/or {{ max = N }}")
                })?;
                inline.insert(key, bound);
            }
        }
        let mut config: GateConfig = toml::Value::Table(table).try_into()?;
        if !inline.is_empty() {
            let explicit = config.rules != GateConfig::default().rules;
            if !explicit {
                config.rules.clear();
            }
            config.rules.extend(inline);
        }
        Ok(config)
    }

    /// Checks what serde cannot: fractions within range, effects and
    /// tolerances finite and non-negative, trial metrics well formed.
    pub fn validate(&self) -> anyhow::Result<()> {
        let non_negative = [
            ("latency-effect", self.latency_effect),
            ("cpu-effect", self.cpu_effect),
            ("run-spread-factor", self.run_spread_factor),
            ("counter-tolerance", self.counter_tolerance),
            ("counter-slack", self.counter_slack),
        ];
        for (key, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                bail!("{key} must be a non-negative number, got {v}");
            }
        }
        for (key, v) in [
            ("max-error-ratio", self.max_error_ratio),
            ("max-drop-ratio", self.max_drop_ratio),
        ] {
            if !(0.0..=1.0).contains(&v) {
                bail!("{key} must be between 0 and 1, got {v}");
            }
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!(
                "alpha must be between 0 and 1 (exclusive), got {}",
                self.alpha
            );
        }
        if self.min_windows < 2 {
            bail!("min-windows must be at least 2, got {}", self.min_windows);
        }
        for metric in &self.trials {
            if TrialMetric::parse(metric).is_none() {
                bail!(
                    "trials: {metric:?} is not <op>.p50_ms, <op>.p99_ms or \
                     work.<op>.cpu_us, .cpu_rel or .cpu"
                );
            }
        }
        for (metric, t) in &self.counter_tolerances {
            if !(t.is_finite() && *t >= 0.0) {
                bail!("counter-tolerances {metric:?} must be a non-negative number, got {t}");
            }
        }
        for (metric, factor) in &self.ratio {
            if !(factor.is_finite() && *factor > 0.0) {
                bail!("ratio {metric:?} must be a positive factor, got {factor}");
            }
        }
        for (metric, bound) in &self.rules {
            if bound.min.is_none() && bound.max.is_none() {
                bail!("rule {metric:?} needs min or max");
            }
        }
        Ok(())
    }

    /// Adds a `--rule` such as `feed.p99_ms<=200` or `feed.rate_per_s>=30`;
    /// it replaces that end of any existing bound on the same metric.
    pub fn add_rule(&mut self, rule: &str) -> anyhow::Result<()> {
        let (metric, op, value) = parse_rule(rule)?;
        let bound = self.rules.entry(metric.to_string()).or_default();
        match op {
            "<=" => bound.max = Some(value),
            _ => bound.min = Some(value),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(text: &str) -> anyhow::Result<GateConfig> {
        let file: RulesFile = toml::from_str(text).expect("valid TOML");
        let c = GateConfig::from_table(file.gate.expect("has [gate]"))?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = GateConfig::default();
        c.validate().expect("defaults are valid");
        assert_eq!(c.rules["feed.p99_ms"].max, Some(200.0));
        assert_eq!((c.warmup_s, c.min_count, c.min_windows), (2, 3, 5));
        assert_eq!((c.alpha, c.latency_effect, c.cpu_effect), (0.01, 0.5, 0.15));
        assert_eq!(c.ratio["shards.call_us_max"], 4.0);
        assert!(c.trials.iter().any(|m| m == "work.feed.cpu_us"));
    }

    #[test]
    fn toml_table_parses_and_keeps_defaults_for_missing_keys() {
        let c = gate(
            r#"
            name = "quickstart"
            [gate]
            cpu-effect = 0.2
            trials = ["feed.p50_ms"]
            ratio = { "shards.call_us_max" = 3 }
            counter-tolerances = { "fanout.writes_per_upload" = 0.2 }
            [gate.rules]
            "upload.p99_ms" = { max = 500 }
            "feed.rate_per_s" = { min = 10.5 }
        "#,
        )
        .expect("valid gate");
        assert_eq!(c.cpu_effect, 0.2);
        assert_eq!(c.trials, ["feed.p50_ms"]);
        assert_eq!(c.ratio["shards.call_us_max"], 3.0);
        assert_eq!(c.counter_tolerances["fanout.writes_per_upload"], 0.2);
        assert_eq!(c.rules.len(), 2, "rules given replace the default rule");
        assert_eq!(c.latency_effect, 0.5);
    }

    #[test]
    fn unknown_and_removed_keys_are_rejected_by_name() {
        let err = gate("[gate]\nalpah = 0.2\n").expect_err("typo");
        assert!(format!("{err:#}").contains("alpah"), "{err:#}");
        for key in ["noise-floor-ms = 50", "regression = 2.0"] {
            let err = format!("{:#}", gate(&format!("[gate]\n{key}\n")).expect_err(key));
            assert!(err.contains("was removed") && !err.contains('\n'), "{err}");
        }
        let err = gate("[gate]\nnoise-floor-ms = 50\n").expect_err("removed");
        assert!(format!("{err}").contains("SKIP"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        for text in [
            "[gate]\nalpha = 0\n",
            "[gate]\ncpu-effect = -0.1\n",
            "[gate]\nmax-drop-ratio = 2\n",
            "[gate]\nmin-windows = 1\n",
            "[gate]\ntrials = [\"feed.p75_ms\"]\n",
            "[gate]\nratio = { \"a.b\" = 0 }\n",
            "[gate]\ncounter-tolerances = { \"a.b\" = -1 }\n",
            "[gate]\n\"feed.p99_ms\" = { maxx = 1 }\n",
        ] {
            assert!(gate(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn inline_rules_replace_the_default_rule() {
        let c = gate("[gate]\n\"feed.p99_ms\" = { max = 150 }\nalpha = 0.05\n").expect("valid");
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules["feed.p99_ms"].max, Some(150.0));
        assert_eq!(c.alpha, 0.05);
    }

    #[test]
    fn cli_rules_parse_and_merge() {
        let mut c = GateConfig::default();
        c.add_rule("feed.p99_ms <= 150").expect("valid");
        c.add_rule("feed.p99_ms>=0.5").expect("valid");
        c.add_rule("feed.rate_per_s>=30").expect("valid");
        assert_eq!(
            c.rules["feed.p99_ms"],
            Bound {
                min: Some(0.5),
                max: Some(150.0)
            }
        );
        assert_eq!(c.rules["feed.rate_per_s"].min, Some(30.0));
        for bad in ["feed.p99_ms<200", "feed.p99_ms<=", "<=5", "a b<=1"] {
            assert!(c.add_rule(bad).is_err(), "{bad} should be rejected");
        }
    }
}
