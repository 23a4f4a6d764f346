//! The gate's rules: the `[gate]` table of a scenario or rules file, and
//! `--rule` flags on top of it.
//!
//! ```toml
//! [gate]
//! regression = 0.10
//! noise-floor-ms = 1.0
//! regression-metrics = ["feed.p99_ms", "feed.p50_ms"]
//! higher-is-better = ["feed.rate_per_s"]
//!
//! [gate.rules]
//! "feed.p99_ms" = { max = 200 }
//! "shards.load_max_over_mean" = { max = 1.5 }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// An absolute bound on one metric of the current summary; both ends are
/// inclusive and either may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// Smallest allowed value.
    pub min: Option<f64>,
    /// Largest allowed value.
    pub max: Option<f64>,
}

impl Bound {
    /// Whether `value` lies within the bound.
    pub fn admits(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => write!(f, "{} <= x <= {}", num(lo), num(hi)),
            (Some(lo), None) => write!(f, ">= {}", num(lo)),
            (None, Some(hi)) => write!(f, "<= {}", num(hi)),
            (None, None) => write!(f, "any"),
        }
    }
}

/// The `[gate]` table: absolute rules on the current run and relative
/// regression checks against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct GateConfig {
    /// Absolute bounds by metric path (see `Summary::metric`).
    pub rules: BTreeMap<String, Bound>,
    /// Relative tolerance of regression checks (0.10 = 10 % worse allowed).
    pub regression: f64,
    /// Regression checks are ignored for `*_ms` metrics when both values are
    /// below this many milliseconds (timer noise).
    pub noise_floor_ms: f64,
    /// Metrics where higher is worse (latencies): fail when
    /// `current > baseline × (1 + regression)`.
    pub regression_metrics: Vec<String>,
    /// Metrics where higher is better (rates): fail when
    /// `current < baseline × (1 − regression)`.
    pub higher_is_better: Vec<String>,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            rules: BTreeMap::from([(
                "feed.p99_ms".to_string(),
                Bound {
                    min: None,
                    max: Some(200.0),
                },
            )]),
            regression: 0.10,
            noise_floor_ms: 1.0,
            regression_metrics: [
                "feed.p99_ms",
                "feed.p50_ms",
                "upload.p99_ms",
                "fanout.freshness_p99_ms",
            ]
            .map(String::from)
            .to_vec(),
            higher_is_better: Vec::new(),
        }
    }
}

/// A file that may carry a `[gate]` table among other keys (a scenario).
#[derive(Debug, Deserialize)]
struct RulesFile {
    gate: Option<toml::Table>,
}

/// The keys of `[gate]` that are settings; every other key is a rule.
const SETTINGS: [&str; 5] = [
    "rules",
    "regression",
    "noise-floor-ms",
    "regression-metrics",
    "higher-is-better",
];

impl GateConfig {
    /// Reads the `[gate]` table of a TOML file; other top-level keys are
    /// ignored, a file without `[gate]` gives the defaults. Errors name the
    /// file and the offending key.
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
    /// either way replace the default rule.
    pub fn from_table(mut table: toml::Table) -> anyhow::Result<GateConfig> {
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

    /// Checks values serde cannot: tolerances must be finite and non-negative.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.regression.is_finite() && self.regression >= 0.0) {
            bail!(
                "regression must be a non-negative number, got {}",
                self.regression
            );
        }
        if !(self.noise_floor_ms.is_finite() && self.noise_floor_ms >= 0.0) {
            bail!(
                "noise-floor-ms must be a non-negative number, got {}",
                self.noise_floor_ms
            );
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

/// Splits `metric<=value` / `metric>=value` into its parts.
fn parse_rule(rule: &str) -> anyhow::Result<(&str, &'static str, f64)> {
    let usage = || format!("bad --rule {rule:?}: expected METRIC<=NUMBER or METRIC>=NUMBER");
    let (at, op) = ["<=", ">="]
        .into_iter()
        .find_map(|op| rule.find(op).map(|at| (at, op)))
        .with_context(usage)?;
    let metric = rule[..at].trim();
    let value: f64 = rule[at + op.len()..]
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .with_context(usage)?;
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        bail!(usage());
    }
    Ok((metric, op, value))
}

/// Formats a number for tables and messages: integers without a fraction,
/// others with up to three decimals.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_gate_feed_p99_at_200() {
        let c = GateConfig::default();
        assert_eq!(c.rules["feed.p99_ms"].max, Some(200.0));
        assert!((c.regression - 0.10).abs() < 1e-12);
        assert!(
            c.regression_metrics
                .iter()
                .any(|m| m == "fanout.freshness_p99_ms")
        );
    }

    #[test]
    fn toml_table_parses_and_keeps_defaults_for_missing_keys() {
        let text = r#"
            name = "quickstart"
            [gate]
            regression = 0.2
            higher-is-better = ["feed.rate_per_s"]
            [gate.rules]
            "upload.p99_ms" = { max = 500 }
            "feed.rate_per_s" = { min = 10.5 }
        "#;
        let file: RulesFile = toml::from_str(text).expect("valid");
        let c = GateConfig::from_table(file.gate.expect("has [gate]")).expect("valid gate");
        assert!((c.regression - 0.2).abs() < 1e-12);
        assert_eq!(c.rules.len(), 2, "rules given replace the default rule");
        assert_eq!(c.rules["feed.rate_per_s"].min, Some(10.5));
        assert_eq!(c.noise_floor_ms, 1.0);
        assert_eq!(
            c.regression_metrics,
            GateConfig::default().regression_metrics
        );
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let file: RulesFile = toml::from_str("[gate]\nregresion = 0.2\n").expect("toml");
        let err = GateConfig::from_table(file.gate.expect("gate")).expect_err("typo");
        assert!(format!("{err:#}").contains("regresion"), "{err:#}");
    }

    #[test]
    fn inline_rules_replace_the_default_rule() {
        let text = "[gate]\n\"feed.p99_ms\" = { max = 150 }\nregression = 2.0\n";
        let file: RulesFile = toml::from_str(text).expect("toml");
        let c = GateConfig::from_table(file.gate.expect("gate")).expect("valid");
        assert_eq!(c.rules.len(), 1);
        assert_eq!(c.rules["feed.p99_ms"].max, Some(150.0));
        assert!((c.regression - 2.0).abs() < 1e-12);
        let bad: RulesFile =
            toml::from_str("[gate]\n\"feed.p99_ms\" = { maxx = 1 }\n").expect("toml");
        assert!(GateConfig::from_table(bad.gate.expect("gate")).is_err());
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
        for bad in [
            "feed.p99_ms<200",
            "feed.p99_ms<=",
            "<=5",
            "feed.p99_ms<=abc",
            "a b<=1",
        ] {
            assert!(c.add_rule(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn bounds_are_inclusive() {
        let b = Bound {
            min: Some(1.0),
            max: Some(2.0),
        };
        assert!(b.admits(1.0) && b.admits(2.0) && b.admits(1.5));
        assert!(!b.admits(0.999) && !b.admits(2.001));
    }
}
