//! Merging the runs that several generator processes made against one target (each `run` with
//! `target.write-url`, seeding and driving its own users) into one summary per variant.
//!
//! Per variant:
//! - op counts, errors, drops, shed ops, error codes and rates (each generator's ops per second
//!   of its own run) are summed;
//! - latency percentiles, the maximum and the percentile curve are recomputed from the merged
//!   `<op>.hlog` (the generators' intervals added by whole second since the earliest start), so
//!   they equal what one generator recording every op would report, within the histograms'
//!   3 significant figures; each generator's log must hold as many latencies as its summary
//!   counts;
//! - feed freshness likewise from `freshness.hlog`, its probe counts summed;
//! - `duration_s` is the longest run's, and `target.met` is judged again on the merged figures;
//! - the per-second `series` is left out (per-second percentiles of separate generators do not
//!   add up; the merged `.hlog`s hold them);
//! - everything else (configuration, population, the target's own counters) is the first DIR's,
//!   and `generators` is the number of runs merged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use feedlab_workload::hlog::{HistogramLog, INTERVAL, Interval, latency_histogram};
use hdrhistogram::Histogram;
use serde_json::json;

use super::{Saved, write_reports};
use crate::cli::UserError;
use crate::hlogs::{self, FRESHNESS};
use crate::summary::{FanoutStats, OpStats, Summary};

/// One generator's run of a variant: the directory of its summary, and the summary.
type Part<'a> = (&'a Path, &'a Summary);

fn mismatch(saved: &Saved, what: &str, first: &Saved) -> anyhow::Error {
    UserError(format!(
        "{}: {what} from {}'s; only runs of one scenario and its variants merge",
        saved.comparison_path.display(),
        first.comparison_path.display()
    ))
    .into()
}

/// Merges `saved` (at least two runs of the same scenario and variants) into `out`.
pub fn write(saved: &[Saved], out: &Path) -> anyhow::Result<()> {
    let Some(first) = saved.first() else {
        return Ok(());
    };
    let names = |s: &Saved| -> BTreeSet<String> {
        s.comparison
            .variants
            .iter()
            .map(|e| e.variant.clone())
            .collect()
    };
    for (i, s) in saved.iter().enumerate() {
        if saved[..i].iter().any(|t| super::same_dir(t.dir(), s.dir())) {
            let msg = format!("{}: given twice", s.comparison_path.display());
            return Err(UserError(msg).into());
        }
        if s.comparison.scenario != first.comparison.scenario {
            return Err(mismatch(s, "its scenario differs", first));
        }
        if names(s) != names(first) {
            return Err(mismatch(s, "its variants differ", first));
        }
        if super::same_dir(s.dir(), out) {
            let msg = format!("--out {} is one of the merged directories", out.display());
            return Err(UserError(msg).into());
        }
    }
    let mut comparison = first.comparison.clone();
    let mut merged = Vec::new();
    for entry in &mut comparison.variants {
        let parts: Vec<Part<'_>> = saved
            .iter()
            .flat_map(|s| {
                let i = s
                    .comparison
                    .variants
                    .iter()
                    .position(|e| e.variant == entry.variant);
                i.map(|i| (s.variant_dir(i), &s.summaries[i].1))
            })
            .collect();
        let (summary, logs) = merge_variant(&parts)?;
        merged.push((
            entry.variant.clone(),
            parts[0].0.join("spec.json"),
            summary,
            logs,
        ));
        entry.summary = format!("{}/summary.json", entry.variant);
    }
    // Written only once every variant has merged, so bad input leaves `out` as it was.
    for (variant, spec, summary, logs) in merged {
        let vdir = out.join(variant);
        summary.save(&vdir.join("summary.json"))?;
        for (name, log) in &logs {
            hlogs::write_file(&hlogs::path(&vdir, name), |w| log.write(w))?;
        }
        if spec.is_file() {
            std::fs::copy(&spec, vdir.join("spec.json"))
                .with_context(|| format!("copying {}", spec.display()))?;
        }
    }
    comparison.save(&out.join("comparison.json"))?;
    write_reports(out)
}

/// The merged summary of one variant and its merged logs by name (see the module docs).
fn merge_variant(parts: &[Part<'_>]) -> anyhow::Result<(Summary, Vec<(String, HistogramLog)>)> {
    let mut merged = parts[0].1.clone();
    merged.duration_s = parts.iter().map(|p| p.1.duration_s).fold(0.0, f64::max);
    let mut logs = Vec::new();
    let ops: BTreeSet<&String> = parts.iter().flat_map(|p| p.1.ops.keys()).collect();
    for op in ops {
        let (stats, log) = merge_op(parts, op)?;
        merged.ops.insert(op.clone(), stats);
        logs.extend(log.map(|l| (op.clone(), l)));
    }
    let fresh = merge_freshness(parts, &mut merged.fanout)?;
    logs.extend(fresh.map(|l| (FRESHNESS.to_string(), l)));
    merged.judge(&merged.rules());
    merged.extra.remove("series");
    merged.extra.insert("generators".into(), json!(parts.len()));
    Ok((merged, logs))
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1_000.0
    }
}

/// Reads the log `name` of each part whose summary counts `count(part)` > 0 latencies, checks
/// the counts and merges them (`None` when no part has any).
fn merged_log(
    parts: &[Part<'_>],
    name: &str,
    count: impl Fn(&Summary) -> u64,
) -> anyhow::Result<Option<HistogramLog>> {
    let mut logs = Vec::new();
    for (vdir, s) in parts {
        let n = count(s);
        if n == 0 {
            continue;
        }
        let path = hlogs::path(vdir, name);
        let log = hlogs::load(&path)?;
        let held = log
            .total()
            .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
        if held.len() != n {
            let msg = format!(
                "{} holds {} latencies but its summary.json counts {n}",
                path.display(),
                held.len()
            );
            return Err(UserError(msg).into());
        }
        logs.push(log);
    }
    if logs.is_empty() {
        return Ok(None);
    }
    merge_logs(&logs).map(Some)
}

/// One op kind's merged figures and log: counts, rates and error codes
/// summed; percentiles, mean, maximum and the curve (at the first part's
/// quantiles) from the merged log.
fn merge_op(parts: &[Part<'_>], op: &str) -> anyhow::Result<(OpStats, Option<HistogramLog>)> {
    let mut m = OpStats::default();
    for o in parts.iter().filter_map(|p| p.1.ops.get(op)) {
        if m.extra.is_empty() {
            m.extra = o.extra.clone();
        }
        if m.percentiles.is_empty() {
            m.percentiles = o.percentiles.clone();
        }
        (m.count, m.errors, m.dropped) = (
            m.count + o.count,
            m.errors + o.errors,
            m.dropped + o.dropped,
        );
        m.shed += o.shed;
        m.rate_per_s += o.rate_per_s;
        for (code, n) in &o.error_codes {
            *m.error_codes.entry(code.clone()).or_default() += n;
        }
        for (code, n) in &o.failure_codes {
            *m.failure_codes.entry(code.clone()).or_default() += n;
        }
    }
    let count = |s: &Summary| s.ops.get(op).map_or(0, |o| o.count);
    let log = merged_log(parts, op, count)?;
    let h = match &log {
        Some(log) => log.total()?,
        None => latency_histogram(),
    };
    (m.p50_ms, m.p90_ms, m.p99_ms) = (ms(&h, 0.5), ms(&h, 0.9), ms(&h, 0.99));
    m.p999_ms = ms(&h, 0.999);
    (m.mean_ms, m.max_ms) = if h.is_empty() {
        (0.0, 0.0)
    } else {
        (h.mean() / 1_000.0, h.max() as f64 / 1_000.0)
    };
    if h.is_empty() {
        m.percentiles.clear();
    }
    for point in &mut m.percentiles {
        point.1 = ms(&h, point.0 / 100.0);
    }
    Ok((m, log))
}

/// Merges the freshness figures into `fanout` (the first part's); returns the merged log.
fn merge_freshness(
    parts: &[Part<'_>],
    fanout: &mut FanoutStats,
) -> anyhow::Result<Option<HistogramLog>> {
    let sum = |field: fn(&FanoutStats) -> Option<u64>| -> Option<u64> {
        let present: Vec<u64> = parts.iter().filter_map(|p| field(&p.1.fanout)).collect();
        (!present.is_empty()).then(|| present.iter().sum())
    };
    fanout.freshness_probed = sum(|f| f.freshness_probed);
    fanout.freshness_visible = sum(|f| f.freshness_visible);
    fanout.freshness_timeouts = sum(|f| f.freshness_timeouts);
    let visible = |s: &Summary| s.fanout.freshness_visible.unwrap_or(0);
    let log = merged_log(parts, FRESHNESS, visible)?;
    let h = match &log {
        Some(log) => log.total()?,
        None => latency_histogram(),
    };
    fanout.freshness_p50_ms = ms(&h, 0.5);
    fanout.freshness_p99_ms = ms(&h, 0.99);
    Ok(log)
}

/// The logs' intervals added by whole [`INTERVAL`] since the earliest base time, which is the
/// merged log's start and base time.
fn merge_logs(logs: &[HistogramLog]) -> anyhow::Result<HistogramLog> {
    let base = logs
        .iter()
        .map(|l| l.base)
        .min()
        .unwrap_or(std::time::UNIX_EPOCH);
    let mut by_slot: BTreeMap<u64, (Duration, Histogram<u64>)> = BTreeMap::new();
    for log in logs {
        for i in &log.intervals {
            let at = (log.base + i.start)
                .duration_since(base)
                .unwrap_or_default();
            let slot = (at.as_secs_f64() / INTERVAL.as_secs_f64()).round() as u64;
            let (length, h) = by_slot
                .entry(slot)
                .or_insert_with(|| (Duration::ZERO, latency_histogram()));
            *length = (*length).max(i.length);
            h.add(&i.histogram)
                .map_err(|e| UserError(format!("an interval out of range: {e:?}")))?;
        }
    }
    let intervals = by_slot
        .into_iter()
        .map(|(slot, (length, histogram))| Interval {
            start: INTERVAL * u32::try_from(slot).unwrap_or(u32::MAX),
            length,
            histogram,
        })
        .collect();
    Ok(HistogramLog {
        start: base,
        base,
        intervals,
    })
}
