//! Evaluation: pairs baseline and current variants, then turns the rules
//! into a flat list of [`Check`]s, each with a verdict and a message that
//! names the metric, the variant, the values and the limit.

use std::path::PathBuf;

use super::config::{Bound, GateConfig, num};
use crate::summary::Summary;

/// One summary read from the command line, under its variant name.
#[derive(Debug, Clone)]
pub struct Named {
    /// Variant name (from `comparison.json`, or the summary's `variant`).
    pub variant: String,
    /// The parsed summary.
    pub summary: Summary,
    /// The file it came from, for messages.
    pub file: PathBuf,
}

/// A baseline and a current summary of the same variant; either may be
/// missing when the inputs list different variants.
#[derive(Debug, Clone, Copy)]
pub struct Pair<'a> {
    /// Variant name shown in the table and the JUnit report.
    pub variant: &'a str,
    /// The baseline's summary of this variant.
    pub baseline: Option<&'a Named>,
    /// The current summary of this variant.
    pub current: Option<&'a Named>,
}

/// Verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Within its limit.
    Pass,
    /// Breached, or a required value is missing.
    Fail,
    /// Not evaluated (no baseline value to compare with).
    Skip,
}

/// One row of the table and one JUnit test case.
#[derive(Debug, Clone)]
pub struct Check {
    /// Variant the check ran on.
    pub variant: String,
    /// Test case name, e.g. `feed.p99_ms <= 200` or `feed.p99_ms regression`.
    pub name: String,
    /// `rule`, `regression` or `presence`.
    pub kind: &'static str,
    /// Metric path, or `variant` for the presence check.
    pub metric: String,
    /// Baseline value, when one was read.
    pub baseline: Option<f64>,
    /// Current value, when one was read.
    pub current: Option<f64>,
    /// The limit as shown to people.
    pub limit: String,
    /// Verdict.
    pub outcome: Outcome,
    /// Why: the failure or skip message, or a note on a pass.
    pub message: String,
}

impl Check {
    /// Relative change from baseline to current in percent, when both are
    /// known and the baseline is not zero.
    pub fn change_pct(&self) -> Option<f64> {
        match (self.baseline, self.current) {
            (Some(b), Some(c)) if b != 0.0 => Some((c - b) / b.abs() * 100.0),
            _ => None,
        }
    }
}

/// Matches variants. Two single summaries pair with each other whatever
/// their names (the current name is shown); otherwise variants pair by name,
/// current variants in their order first, then baseline-only variants.
pub fn pair<'a>(baseline: &'a [Named], current: &'a [Named], singles: bool) -> Vec<Pair<'a>> {
    if singles && baseline.len() == 1 && current.len() == 1 {
        return vec![Pair {
            variant: &current[0].variant,
            baseline: Some(&baseline[0]),
            current: Some(&current[0]),
        }];
    }
    let mut pairs: Vec<Pair<'a>> = current
        .iter()
        .map(|c| Pair {
            variant: &c.variant,
            baseline: baseline.iter().find(|b| b.variant == c.variant),
            current: Some(c),
        })
        .collect();
    for b in baseline {
        if !current.iter().any(|c| c.variant == b.variant) {
            pairs.push(Pair {
                variant: &b.variant,
                baseline: Some(b),
                current: None,
            });
        }
    }
    pairs
}

/// Runs every check of `config` on every pair, in a stable order: per
/// variant, absolute rules first, then regression checks.
pub fn evaluate(config: &GateConfig, pairs: &[Pair<'_>]) -> Vec<Check> {
    let mut checks = Vec::new();
    for pair in pairs {
        let Some(current) = pair.current else {
            let b = pair.baseline.map(|b| b.file.display().to_string());
            checks.push(Check {
                variant: pair.variant.to_string(),
                name: "variant present".into(),
                kind: "presence",
                metric: "variant".into(),
                baseline: None,
                current: None,
                limit: "present".into(),
                outcome: Outcome::Fail,
                message: format!(
                    "variant {} is in the baseline ({}) but missing from current",
                    pair.variant,
                    b.unwrap_or_default()
                ),
            });
            continue;
        };
        for (metric, bound) in &config.rules {
            checks.push(rule_check(
                pair.variant,
                metric,
                *bound,
                pair.baseline,
                current,
            ));
        }
        let directions = config
            .regression_metrics
            .iter()
            .map(|m| (m, false))
            .chain(config.higher_is_better.iter().map(|m| (m, true)));
        for (metric, higher_is_better) in directions {
            let spec = Regression {
                metric,
                higher_is_better,
                tolerance: config.regression,
                noise_floor_ms: config.noise_floor_ms,
            };
            checks.push(spec.check(pair.variant, pair.baseline, current));
        }
    }
    checks
}

/// An absolute rule on the current value; the baseline value is shown for
/// context only.
fn rule_check(
    variant: &str,
    metric: &str,
    bound: Bound,
    base: Option<&Named>,
    cur: &Named,
) -> Check {
    let value = cur.summary.metric(metric);
    let (outcome, message) = match value {
        None => (
            Outcome::Fail,
            format!(
                "{metric} is missing from the current summary of variant {variant} ({})",
                cur.file.display()
            ),
        ),
        Some(v) if bound.admits(v) => (Outcome::Pass, String::new()),
        Some(v) => (
            Outcome::Fail,
            format!(
                "{metric} of variant {variant} is {} and breaks the rule {metric} {bound}",
                num(v)
            ),
        ),
    };
    Check {
        variant: variant.to_string(),
        name: format!("{metric} {bound}"),
        kind: "rule",
        metric: metric.to_string(),
        baseline: base.and_then(|b| b.summary.metric(metric)),
        current: value,
        limit: bound.to_string(),
        outcome,
        message,
    }
}

/// One regression check's parameters.
struct Regression<'a> {
    metric: &'a str,
    higher_is_better: bool,
    tolerance: f64,
    noise_floor_ms: f64,
}

impl Regression<'_> {
    fn check(&self, variant: &str, base: Option<&Named>, cur: &Named) -> Check {
        let metric = self.metric;
        let baseline = base.and_then(|b| b.summary.metric(metric));
        let current = cur.summary.metric(metric);
        let mut check = Check {
            variant: variant.to_string(),
            name: format!("{metric} regression"),
            kind: "regression",
            metric: metric.to_string(),
            baseline,
            current,
            limit: String::new(),
            outcome: Outcome::Skip,
            message: String::new(),
        };
        let Some(b) = baseline else {
            check.message = match base {
                None => format!("variant {variant} is not in the baseline"),
                Some(base) => format!("{metric} is not in the baseline ({})", base.file.display()),
            };
            return check;
        };
        let (limit, sign) = if self.higher_is_better {
            (b * (1.0 - self.tolerance), ">=")
        } else {
            (b * (1.0 + self.tolerance), "<=")
        };
        check.limit = format!("{sign} {}", num(limit));
        let Some(c) = current else {
            check.outcome = Outcome::Fail;
            check.message = format!(
                "{metric} is missing from the current summary of variant {variant} ({}); \
                 baseline was {}",
                cur.file.display(),
                num(b)
            );
            return check;
        };
        let below_floor =
            metric.ends_with("_ms") && b < self.noise_floor_ms && c < self.noise_floor_ms;
        let breached = if self.higher_is_better {
            c < limit
        } else {
            c > limit
        };
        if below_floor {
            check.outcome = Outcome::Pass;
            check.message = format!(
                "both below the noise floor of {} ms",
                num(self.noise_floor_ms)
            );
        } else if breached {
            let change = check
                .change_pct()
                .map(|p| format!(" ({p:+.1}%)"))
                .unwrap_or_default();
            let factor = if self.higher_is_better {
                1.0 - self.tolerance
            } else {
                1.0 + self.tolerance
            };
            check.outcome = Outcome::Fail;
            check.message = format!(
                "{metric} of variant {variant} regressed: current {} vs baseline {}{change}; \
                 limit {sign} {} (baseline x {})",
                num(c),
                num(b),
                num(limit),
                num(factor)
            );
        } else {
            check.outcome = Outcome::Pass;
        }
        check
    }
}
