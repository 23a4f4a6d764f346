//! Checks of single values against the baseline.
//!
//! - Work counters: `work.<op>.{storage_calls, keys_read, rows_written,
//!   fsyncs, blob_bytes_read, blob_bytes_written}` for every op kind in both
//!   runs, and `fanout.writes_per_upload`. They count work, not time, so
//!   machine noise does not move them: FAIL when current > baseline ×
//!   (1 + tolerance) + `counter-slack`, the tolerance being the metric's
//!   `counter-tolerances` entry or `counter-tolerance`; a decrease passes with a
//!   note. An op kind with fewer than `counter-min-ops` metered ops on
//!   either side SKIPs: its means are too few to compare.
//! - Ratios (`[gate] ratio`): single values with no windows; FAIL when
//!   current > baseline × factor. They cover the whole run, so a current
//!   run in which the host stole CPU in half of the seconds or more cannot
//!   speak for the commit: they SKIP, saying so.
//!
//! A value missing on either side SKIPs with the reason.

use super::check::{Check, Outcome};
use super::config::{GateConfig, num};
use super::input::{COUNTERS, Named};
use crate::summary::metric_in;

/// The counter checks of one variant; see the module docs.
pub fn counter_checks(config: &GateConfig, variant: &str, base: &Named, cur: &Named) -> Vec<Check> {
    let mut checks = Vec::new();
    let wpu = "fanout.writes_per_upload";
    checks.push(counter(
        config,
        variant,
        wpu,
        metric_in(&base.json, wpu).ok_or("baseline has no fanout.writes_per_upload"),
        metric_in(&cur.json, wpu).ok_or("current has no fanout.writes_per_upload"),
    ));
    let (b, c) = match (&base.facts.work, &cur.facts.work) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(reason), _) | (_, Err(reason)) => {
            let side = if base.facts.work.is_err() {
                "baseline"
            } else {
                "current"
            };
            let check = Check::new(variant, "work.* counters".into(), "counter", "work");
            checks.push(check.judged(Outcome::Skip, format!("{side}: {reason}")));
            return checks;
        }
    };
    let ops: std::collections::BTreeSet<&String> = b.keys().chain(c.keys()).collect();
    for op in ops {
        let metric = format!("work.{op}");
        let skip = |reason: String| {
            Check::new(variant, format!("{metric}.* counters"), "counter", &metric)
                .judged(Outcome::Skip, reason)
        };
        let (Some(wb), Some(wc)) = (b.get(op), c.get(op)) else {
            let side = if b.contains_key(op) {
                "current"
            } else {
                "baseline"
            };
            checks.push(skip(format!("no {op} work in the {side}")));
            continue;
        };
        if wb.ops.min(wc.ops) < config.counter_min_ops {
            checks.push(skip(format!(
                "too few {op} ops metered to compare means: baseline {}, current {}, need {}",
                wb.ops, wc.ops, config.counter_min_ops
            )));
            continue;
        }
        for name in COUNTERS {
            let path = format!("{metric}.{name}");
            checks.push(counter(
                config,
                variant,
                &path,
                wb.counter(name).ok_or("baseline does not count it"),
                wc.counter(name).ok_or("current does not count it"),
            ));
        }
    }
    checks
}

/// One counter: FAIL above baseline × (1 + tolerance) + slack.
fn counter(
    config: &GateConfig,
    variant: &str,
    metric: &str,
    base: Result<f64, &str>,
    cur: Result<f64, &str>,
) -> Check {
    let mut check = Check::new(variant, format!("{metric} counter"), "counter", metric);
    check.baseline = base.ok();
    check.current = cur.ok();
    let (b, c) = match (base, cur) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(reason), _) | (_, Err(reason)) => {
            return check.judged(Outcome::Skip, reason.to_string());
        }
    };
    let tolerance = config
        .counter_tolerances
        .get(metric)
        .copied()
        .unwrap_or(config.counter_tolerance);
    let limit = b * (1.0 + tolerance) + config.counter_slack;
    check.limit = format!("<= {}", num(limit));
    if c > limit {
        let message = format!(
            "{metric} of variant {variant} grew: {} per op vs baseline {}; limit {} \
             (baseline x {} + {})",
            num(c),
            num(b),
            num(limit),
            num(1.0 + tolerance),
            num(config.counter_slack)
        );
        check.judged(Outcome::Fail, message)
    } else if c < b {
        let note = format!("decreased from {} to {}", num(b), num(c));
        check.judged(Outcome::Pass, note)
    } else {
        check.judged(Outcome::Pass, String::new())
    }
}

/// The `[gate] ratio` checks of one variant; see the module docs.
pub fn ratio_checks(config: &GateConfig, variant: &str, base: &Named, cur: &Named) -> Vec<Check> {
    config
        .ratio
        .iter()
        .map(|(metric, factor)| {
            let mut check = Check::new(
                variant,
                format!("{metric} <= baseline x {}", num(*factor)),
                "ratio",
                metric,
            );
            check.baseline = metric_in(&base.json, metric);
            check.current = metric_in(&cur.json, metric);
            let (Some(b), Some(c)) = (check.baseline, check.current) else {
                let side = if check.baseline.is_none() {
                    "baseline"
                } else {
                    "current"
                };
                let reason = format!("{metric} is not in the {side} summary");
                return check.judged(Outcome::Skip, reason);
            };
            let limit = b * factor;
            check.limit = format!("<= {}", num(limit));
            let (stolen, seconds) = cur.stolen_seconds();
            if seconds > 0 && 2 * stolen >= seconds {
                let reason = format!(
                    "the host stole CPU in {stolen} of the run's {seconds} seconds; {metric} \
                     covers the whole run"
                );
                return check.judged(Outcome::Skip, reason);
            }
            if c > limit {
                let message = format!(
                    "{metric} of variant {variant} is {} vs baseline {}: more than x{} \
                     (limit {})",
                    num(c),
                    num(b),
                    num(*factor),
                    num(limit)
                );
                check.judged(Outcome::Fail, message)
            } else {
                check.judged(Outcome::Pass, String::new())
            }
        })
        .collect()
}
