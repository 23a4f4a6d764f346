//! Statistical checks over per-second windows.
//!
//! The trials of a run are its `series` entries of one op kind, after the
//! first `warmup-s` seconds and the run's last second are dropped, and
//! windows with fewer than `min-count` ops, and the seconds in which the
//! host stole a tenth of a core or more from the box (the run's probe; a
//! second the hypervisor gave to another guest measures the host, not the
//! commit). A metric breaches when the
//! current windows are larger than the baseline's by a one-sided
//! Mann–Whitney test (p < `alpha`) AND the ratio of medians current /
//! baseline exceeds `1 + effect` (`latency-effect` for wall-clock
//! latencies, `cpu-effect` for CPU per op). The test alone would flag
//! differences too small to matter, which a noisy shared machine makes
//! significant; the effect alone would flag a few wild seconds.
//! Fewer than `min-windows` windows on either side SKIPs with the counts.
//!
//! `work.<op>.cpu` judges the op's CPU per op twice, in µs (`cpu_us`) and over the
//! machine-speed probe (`cpu_rel`), and breaches only when both do. A slower commit moves
//! both. A host that slows every process moves the µs and the probe together, so `cpu_rel`
//! holds; and the probe can move alone: in one A/B of two builds of unchanged service code
//! the op's µs held (−21% to +14% of the base) while the probe read 86–99 µs against the
//! base's 98–130, and `cpu_rel` rose 17–51% (BENCHMARKS.md, "Regression gate"). Where one of
//! the two cannot be judged (no probe in an older summary), the other decides alone.

use std::collections::BTreeMap;

use super::check::{Check, Outcome};
use super::config::{GateConfig, num};
use super::input::{Named, Window};
use super::mann_whitney::{greater, median};
use super::trial_metric::{Field, TrialMetric};

impl TrialMetric {
    /// The smallest relative growth of the median that can fail.
    pub fn effect(&self, config: &GateConfig) -> f64 {
        match self.field {
            Field::CpuUs | Field::CpuRel | Field::Cpu => config.cpu_effect,
            Field::P50 | Field::P99 => config.latency_effect,
        }
    }

    fn value(&self, w: &Window) -> Option<f64> {
        match self.field {
            Field::P50 => w.p50_ms,
            Field::P99 => w.p99_ms,
            Field::CpuUs => w.cpu_us,
            Field::CpuRel => w.cpu_rel,
            // Judged as its two parts (`cpu_both`), never sampled itself.
            Field::Cpu => None,
        }
    }

    fn series_field(&self) -> &'static str {
        match self.field {
            Field::P50 => "p50_ms",
            Field::P99 => "p99_ms",
            Field::CpuUs => "cpu_us",
            Field::CpuRel => "cpu_rel",
            Field::Cpu => "cpu_us and cpu_rel",
        }
    }
}

/// The trial values of `metric` in `windows`: the op kind's windows from
/// second `warmup_s` on, without their run's last second (over all kinds)
/// and the seconds the host stole ([`Window::stolen`]), with at least
/// `min_count` ops and a finite value. A recorded baseline
/// may pool several runs (`Window::run`); each run is trimmed on its own.
pub fn samples(
    windows: &[Window],
    metric: &TrialMetric,
    warmup_s: u64,
    min_count: u64,
) -> Vec<f64> {
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    for w in windows {
        let l = last.entry(w.run).or_default();
        *l = (*l).max(w.second);
    }
    windows
        .iter()
        .filter(|w| w.kind == metric.op && w.second >= warmup_s && w.second < last[&w.run])
        .filter(|w| w.count >= min_count && !w.stolen)
        .filter_map(|w| metric.value(w).filter(|v| v.is_finite()))
        .collect()
}

/// Why a side has too few windows: none of the op kind, none carrying the
/// figure (a series written before it was added), or too few after the
/// warm-up, the last second and the `min-count` filter.
fn too_few(
    config: &GateConfig,
    metric: &TrialMetric,
    base: &Named,
    cur: &Named,
    kept: [&[f64]; 2],
) -> String {
    let (op, field) = (&metric.op, metric.series_field());
    for (side, named) in [("baseline", base), ("current", cur)] {
        let windows = named.facts.windows.as_deref().unwrap_or_default();
        let of_kind: Vec<&Window> = windows.iter().filter(|w| w.kind == *op).collect();
        if of_kind.is_empty() {
            return format!("{side}: no {op} windows in the series");
        }
        if of_kind.iter().all(|w| metric.value(w).is_none()) {
            return format!("{side}: no {op} window has {field} (an older summary)");
        }
    }
    format!(
        "too few {op} windows with {field} (>= {} ops, after {} s warm-up, without the last \
         second and the {} seconds the host stole CPU in): baseline {}, current {}, need {}",
        config.min_count,
        config.warmup_s,
        cur.stolen_seconds().0,
        kept[0].len(),
        kept[1].len(),
        config.min_windows
    )
}

/// The spread of the per-run medians of a pooled baseline's `metric`:
/// (max − min) over the median of all its samples; 0 with fewer than two
/// runs that have `min-windows` samples.
pub fn run_spread(windows: &[Window], metric: &TrialMetric, config: &GateConfig) -> f64 {
    let mut runs: Vec<u32> = windows.iter().map(|w| w.run).collect();
    runs.sort_unstable();
    runs.dedup();
    let medians: Vec<f64> = runs
        .iter()
        .map(|&r| {
            let of_run: Vec<Window> = windows.iter().filter(|w| w.run == r).cloned().collect();
            samples(&of_run, metric, config.warmup_s, config.min_count)
        })
        .filter(|s| s.len() >= config.min_windows)
        .map(|s| median(&s))
        .collect();
    let all = median(&samples(windows, metric, config.warmup_s, config.min_count));
    if medians.len() < 2 || all <= 0.0 {
        return 0.0;
    }
    let (lo, hi) = medians
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &m| {
            (lo.min(m), hi.max(m))
        });
    (hi - lo) / all
}

/// Judges one trial metric of one variant; see the module docs.
pub fn check(config: &GateConfig, name: &str, variant: &str, base: &Named, cur: &Named) -> Check {
    let check = Check::new(variant, format!("{name} trials"), "trial", name);
    match TrialMetric::parse(name) {
        None => check.judged(Outcome::Skip, format!("{name} is not a trial metric")),
        Some(m) if m.field == Field::Cpu => cpu_both(config, check, &m.op, base, cur),
        Some(m) => judge(config, check, &m, base, cur),
    }
}

/// `work.<op>.cpu`: `cpu_us` and `cpu_rel` judged apart (see the module docs). The check
/// shows `cpu_rel`'s medians and limit, and both verdicts in its message.
fn cpu_both(config: &GateConfig, mut check: Check, op: &str, base: &Named, cur: &Named) -> Check {
    let [us, rel] = [Field::CpuUs, Field::CpuRel].map(|field| {
        let metric = TrialMetric {
            op: op.to_string(),
            field,
        };
        let name = format!("work.{op}.{}", metric.series_field());
        let one = Check::new(&check.variant, String::new(), "trial", &name);
        judge(config, one, &metric, base, cur)
    });
    let shown = if rel.outcome == Outcome::Skip {
        &us
    } else {
        &rel
    };
    (check.baseline, check.current) = (shown.baseline, shown.current);
    check.limit = format!("{} in µs and over the probe", shown.limit);
    let both = format!("cpu_us: {}; cpu_rel: {}", us.message, rel.message);
    use Outcome::{Fail, Pass, Skip};
    match (us.outcome, rel.outcome) {
        (Skip, Skip) => check.judged(Skip, both),
        (Skip, alone) | (alone, Skip) => check.judged(alone, format!("judged alone: {both}")),
        (Fail, Fail) => check.judged(Fail, both),
        (Pass, Pass) => check.judged(Pass, both),
        _ => {
            let note = "one grew alone: the probe and the op's CPU disagree, not the commit";
            check.judged(Pass, format!("{note}; {both}"))
        }
    }
}

/// Judges `metric` (a single window figure) into `check`; see the module docs.
fn judge(
    config: &GateConfig,
    mut check: Check,
    metric: &TrialMetric,
    base: &Named,
    cur: &Named,
) -> Check {
    let (name, variant) = (check.metric.clone(), check.variant.clone());
    let spread = base
        .facts
        .windows
        .as_deref()
        .map_or(0.0, |w| run_spread(w, metric, config));
    let effect = metric.effect(config).max(config.run_spread_factor * spread);
    check.limit = format!("p < {} and x{}", num(config.alpha), num(1.0 + effect));
    let side = |named: &Named| match &named.facts.windows {
        Ok(w) => Ok(samples(w, metric, config.warmup_s, config.min_count)),
        Err(reason) => Err(reason.clone()),
    };
    let (b, c) = match (side(base), side(cur)) {
        (Err(reason), _) => return check.judged(Outcome::Skip, format!("baseline: {reason}")),
        (_, Err(reason)) => return check.judged(Outcome::Skip, format!("current: {reason}")),
        (Ok(b), Ok(c)) => (b, c),
    };
    if b.len() < config.min_windows || c.len() < config.min_windows {
        return check.judged(Outcome::Skip, too_few(config, metric, base, cur, [&b, &c]));
    }
    let (mb, mc) = (median(&b), median(&c));
    check.baseline = Some(mb);
    check.current = Some(mc);
    let ratio = if mb > 0.0 {
        mc / mb
    } else if mc > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let test = greater(&c, &b);
    let mut figures = format!(
        "p={}, median ratio {} (limit {}), {} vs {} windows",
        num(test.p),
        num(ratio),
        num(1.0 + effect),
        c.len(),
        b.len()
    );
    if spread > 0.0 {
        figures.push_str(&format!("; baseline runs spread {:.0}%", spread * 100.0));
    }
    if test.p < config.alpha && ratio > 1.0 + effect {
        let message = format!(
            "{name} of variant {variant} grew: median {} vs baseline {}; {figures}",
            num(mc),
            num(mb)
        );
        check.judged(Outcome::Fail, message)
    } else {
        check.judged(Outcome::Pass, figures)
    }
}

#[cfg(test)]
mod tests;
