//! Evaluation: pairs baseline and current variants, then turns the rules
//! into a flat list of [`Check`]s, each with a verdict and a message that
//! names the metric, the variant, the values and the limit. The checks
//! against the baseline live in `trials` (per-second windows) and
//! `counters` (work counters and single-value ratios); the checks on the
//! current run alone (absolute rules, error and drop ratios) live here.

use super::config::{Bound, GateConfig, num};
use super::input::Named;
use super::{counters, trials};
use crate::summary::{CLIENT_SIDE_CODES, OpStats, client_side_errors};

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
    /// Breached, or a value the rule needs is missing from the current run.
    Fail,
    /// Not judged; the message says why.
    Skip,
}

/// One row of the table and one JUnit test case.
#[derive(Debug, Clone)]
pub struct Check {
    /// Variant the check ran on.
    pub variant: String,
    /// Test case name, unique within a variant, e.g. `feed.p99_ms <= 200`.
    pub name: String,
    /// `rule`, `errors`, `trial`, `counter`, `ratio`, `baseline` or `presence`.
    pub kind: &'static str,
    /// Metric path, or `variant` for the presence check.
    pub metric: String,
    /// Baseline value (a median for trials), when one was read.
    pub baseline: Option<f64>,
    /// Current value (a median for trials), when one was read.
    pub current: Option<f64>,
    /// The limit as shown to people.
    pub limit: String,
    /// Verdict.
    pub outcome: Outcome,
    /// Why: the failure message, the skip reason, or a note on a pass.
    pub message: String,
}

impl Check {
    /// A check with no values yet, marked SKIP with an empty reason; the
    /// caller sets the outcome and message.
    pub fn new(variant: &str, name: String, kind: &'static str, metric: &str) -> Check {
        Check {
            variant: variant.to_string(),
            name,
            kind,
            metric: metric.to_string(),
            baseline: None,
            current: None,
            limit: String::new(),
            outcome: Outcome::Skip,
            message: String::new(),
        }
    }

    /// Sets the verdict and its message.
    pub fn judged(mut self, outcome: Outcome, message: String) -> Check {
        self.outcome = outcome;
        self.message = message;
        self
    }

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
/// variant, absolute rules, error and drop ratios, then the checks against
/// the baseline (trials, counters, ratios).
pub fn evaluate(config: &GateConfig, pairs: &[Pair<'_>]) -> Vec<Check> {
    let mut checks = Vec::new();
    for pair in pairs {
        let variant = pair.variant;
        let Some(current) = pair.current else {
            let file = pair.baseline.map(|b| b.file.display().to_string());
            let message = format!(
                "variant {variant} is in the baseline ({}) but missing from current",
                file.unwrap_or_default()
            );
            let c = Check::new(variant, "variant present".into(), "presence", "variant");
            checks.push(c.judged(Outcome::Fail, message));
            continue;
        };
        for (metric, bound) in &config.rules {
            checks.push(rule_check(variant, metric, *bound, pair.baseline, current));
        }
        checks.extend(error_checks(config, variant, pair.baseline, current));
        let Some(base) = pair.baseline else {
            let reason = format!("variant {variant} is not in the baseline");
            let c = Check::new(variant, "baseline checks".into(), "baseline", "variant");
            checks.push(c.judged(Outcome::Skip, reason));
            continue;
        };
        for metric in &config.trials {
            checks.push(trials::check(config, metric, variant, base, current));
        }
        checks.extend(counters::counter_checks(config, variant, base, current));
        checks.extend(counters::ratio_checks(config, variant, base, current));
    }
    checks
}

/// An absolute rule on the current value; the baseline value is shown for
/// context only. A value missing from the current run fails.
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
    let mut check = Check::new(variant, format!("{metric} {bound}"), "rule", metric);
    check.baseline = base.and_then(|b| crate::summary::metric_in(&b.json, metric));
    check.current = value;
    check.limit = bound.to_string();
    check.judged(outcome, message)
}

/// One op kind's issued ops and what went wrong with them.
struct OpErrors {
    /// Completed + errors + dropped + shed.
    issued: u64,
    /// Errors less the client-side codes.
    service: u64,
    /// Ops that could not start, or that the service shed (503).
    dropped: u64,
    /// The service's error codes, `code=n, ...`.
    codes: String,
}

impl OpErrors {
    fn of(stats: &OpStats) -> OpErrors {
        let codes = &stats.error_codes;
        let client = client_side_errors(stats);
        let service_codes = codes
            .iter()
            .filter(|(k, _)| !CLIENT_SIDE_CODES.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        OpErrors {
            issued: stats.count + stats.errors + stats.dropped + stats.shed,
            service: stats.errors.saturating_sub(client),
            dropped: stats.dropped + stats.shed,
            codes: service_codes,
        }
    }

    /// `(part, label)` of `error_ratio` or `drop_ratio`.
    fn part(&self, what: &str) -> (u64, &'static str) {
        if what == "drop_ratio" {
            (self.dropped, "dropped or shed")
        } else {
            (self.service, "service errors")
        }
    }

    fn ratio(&self, what: &str) -> Option<f64> {
        (self.issued > 0).then(|| self.part(what).0 as f64 / self.issued as f64)
    }
}

/// Per op kind of the current run: service errors (errors less the
/// client-side codes) and drops, each over ops issued (completed, errors
/// and dropped), against `max-error-ratio` and `max-drop-ratio`. An op
/// kind with nothing issued SKIPs.
fn error_checks(
    config: &GateConfig,
    variant: &str,
    base: Option<&Named>,
    cur: &Named,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for (op, stats) in &cur.summary.ops {
        let now = OpErrors::of(stats);
        let before = base.and_then(|b| b.summary.ops.get(op)).map(OpErrors::of);
        for (what, max) in [
            ("error_ratio", config.max_error_ratio),
            ("drop_ratio", config.max_drop_ratio),
        ] {
            let metric = format!("{op}.{what}");
            let limit = format!("<= {}", num(max));
            let mut check = Check::new(variant, format!("{metric} {limit}"), "errors", &metric);
            check.limit = limit;
            check.baseline = before.as_ref().and_then(|b| b.ratio(what));
            check.current = now.ratio(what);
            let Some(ratio) = check.current else {
                checks.push(check.judged(Outcome::Skip, format!("no {op} ops were issued")));
                continue;
            };
            let (part, label) = now.part(what);
            let text = format!("{part} {label} of {} {op} ops issued", now.issued);
            checks.push(if ratio <= max {
                check.judged(Outcome::Pass, if part > 0 { text } else { String::new() })
            } else {
                let codes = if what == "error_ratio" && !now.codes.is_empty() {
                    format!("; codes: {}", now.codes)
                } else {
                    String::new()
                };
                let message = format!(
                    "{metric} of variant {variant} is {}: {text}, above {}{codes}",
                    num(ratio),
                    num(max)
                );
                check.judged(Outcome::Fail, message)
            });
        }
    }
    checks
}
