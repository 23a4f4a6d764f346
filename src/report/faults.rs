//! The fault plots of a run whose summaries list `faults`: per-second charts, one line per
//! variant, of feed p99, goodput, errors, drops, shed (503s) and freshness p99, each with
//! the fault windows shaded. They are read from the per-second `series` (`extra`), summed
//! over op kinds except feed p99 (feed points) and freshness (upload points'
//! `fresh_p99_ms`). Summaries without faults get none of these plots, so their reports do
//! not change. The windows' tables are [`super::fault_tables`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::axes::{Axis, Series, Style, plain};
use super::chart::shaded_chart;
use crate::summary::Summary;

/// One second of one variant, summed over op kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Second {
    /// p99 of the feed reads of that second, ms (`None`: no feed read succeeded).
    pub feed_p99_ms: Option<f64>,
    /// Successful ops.
    pub goodput: u64,
    /// Failed ops (not shed).
    pub errors: u64,
    /// Ops dropped at the driver's concurrency limit.
    pub dropped: u64,
    /// Ops the service refused with a 503.
    pub shed: u64,
    /// p99 ack → visible of the probed uploads of that second, ms (`None`: none seen).
    pub fresh_p99_ms: Option<f64>,
}

/// What one chart plots of a [`Second`].
type Read = fn(&Second) -> Option<f64>;

/// The charts: file stem, title, y axis, and what each plots.
const CHARTS: [(&str, &str, &str, Read); 6] = [
    (
        "fault-feed-p99",
        "Faults: feed p99 per second",
        "feed p99, ms",
        |s| s.feed_p99_ms,
    ),
    (
        "fault-goodput",
        "Faults: goodput (successful ops per second)",
        "successful ops/s",
        |s| Some(s.goodput as f64),
    ),
    (
        "fault-errors",
        "Faults: errors per second (shed excluded)",
        "errors/s",
        |s| Some(s.errors as f64),
    ),
    (
        "fault-drops",
        "Faults: drops per second (driver at its in-flight limit)",
        "drops/s",
        |s| Some(s.dropped as f64),
    ),
    (
        "fault-shed",
        "Faults: shed per second (503s)",
        "503s/s",
        |s| Some(s.shed as f64),
    ),
    (
        "fault-freshness",
        "Faults: freshness p99 per second (by upload second)",
        "freshness p99, ms",
        |s| s.fresh_p99_ms,
    ),
];

/// Whether any summary lists fault windows.
pub(super) fn any(summaries: &[Summary]) -> bool {
    summaries.iter().any(|s| !s.faults.is_empty())
}

/// The per-second totals of `s`'s `series` (empty when it has none).
pub(super) fn seconds(s: &Summary) -> BTreeMap<u64, Second> {
    let mut out: BTreeMap<u64, Second> = BTreeMap::new();
    let points = s.extra.get("series").and_then(Value::as_array);
    for p in points.into_iter().flatten() {
        let Some(k) = p.get("second").and_then(Value::as_u64) else {
            continue;
        };
        let n = |key: &str| p.get(key).and_then(Value::as_u64).unwrap_or(0);
        let kind = p.get("kind").and_then(Value::as_str).unwrap_or_default();
        let e = out.entry(k).or_default();
        e.goodput += n("count");
        e.errors += n("errors");
        e.dropped += n("dropped");
        e.shed += n("shed");
        if kind == "feed" && n("count") > 0 {
            e.feed_p99_ms = p.get("p99_ms").and_then(Value::as_f64);
        }
        if kind == "upload" {
            e.fresh_p99_ms = p.get("fresh_p99_ms").and_then(Value::as_f64);
        }
    }
    out
}

/// The fault windows of every summary, `(start, end)` in s, once each, in order.
pub(super) fn windows(summaries: &[Summary]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for f in summaries.iter().flat_map(|s| &s.faults) {
        let w = (f.at_s, f.at_s + f.for_s);
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out
}

/// The fault charts (`(file stem, title, svg)`, in [`CHARTS`] order), or none when no
/// summary lists faults.
pub fn plots(summaries: &[Summary]) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    if !any(summaries) {
        return Ok(Vec::new());
    }
    let per_variant: Vec<(String, BTreeMap<u64, Second>)> = summaries
        .iter()
        .map(|s| (s.variant.clone(), seconds(s)))
        .collect();
    let shade = windows(summaries);
    let target = summaries.first().map_or(0.0, |s| s.target.feed_p99_ms);
    let mut out = Vec::with_capacity(CHARTS.len());
    for (file, title, y, read) in CHARTS {
        let series: Vec<Series> = per_variant
            .iter()
            .map(|(name, secs)| Series {
                label: name.clone(),
                points: secs
                    .iter()
                    .filter_map(|(&k, s)| Some((k as f64, read(s)?)))
                    .collect(),
                style: Style::Line,
            })
            .collect();
        let hline = (file == "fault-feed-p99" && target > 0.0)
            .then(|| (target, format!("{target:.0} ms target")));
        let axes = (
            Axis {
                desc: "second of the run",
                log: false,
                fmt: plain,
            },
            Axis {
                desc: y,
                log: false,
                fmt: plain,
            },
        );
        let svg = shaded_chart(title, axes, &series, hline, Some((&shade, "fault window")))?;
        out.push((file, title, svg));
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::summary::FaultOutcome;

    pub(in crate::report) fn faulty(variant: &str) -> Summary {
        let mut s = Summary {
            variant: variant.into(),
            ..Summary::default()
        };
        s.target.feed_p99_ms = 200.0;
        s.faults.push(FaultOutcome {
            kind: "shard-down".into(),
            target: "shard 2".into(),
            at_s: 2.0,
            for_s: 2.0,
            peak_feed_p99_ms: Some(90.0),
            failed: 12,
            recovery_s: Some(1.0),
            ..FaultOutcome::default()
        });
        let series: Vec<Value> = (0..6u64)
            .flat_map(|k| {
                let down = (2..4).contains(&k);
                [
                    json!({"second": k, "kind": "feed", "count": 10, "errors": 0, "dropped": 0,
                           "shed": if down { 6 } else { 0 }, "p99_ms": 20.0 + k as f64}),
                    json!({"second": k, "kind": "upload", "count": 2, "errors": 1, "dropped": 1,
                           "shed": 0, "p99_ms": 30.0, "fresh_p99_ms": 100.0 * k as f64}),
                ]
            })
            .collect();
        s.extra.insert("series".into(), Value::Array(series));
        s
    }

    #[test]
    fn seconds_sum_kinds_and_keep_feed_and_freshness_p99() {
        let secs = seconds(&faulty("push"));
        assert_eq!(secs.len(), 6);
        let s = secs[&3];
        assert_eq!((s.goodput, s.errors, s.dropped, s.shed), (12, 1, 1, 6));
        assert_eq!((s.feed_p99_ms, s.fresh_p99_ms), (Some(23.0), Some(300.0)));
    }

    #[test]
    fn six_shaded_charts_only_with_faults() {
        assert!(plots(&[Summary::default()]).expect("plots").is_empty());
        let p = plots(&[faulty("push"), faulty("hybrid")]).expect("plots");
        assert_eq!(p.len(), 6);
        for (_, _, svg) in &p {
            assert_eq!(svg.matches(">\nfault window\n<").count(), 1, "legend key");
            let shaded = svg.matches("fill=\"#FFAA3C\"").count();
            assert_eq!(shaded, 2, "the window and its legend key");
            assert!(svg.contains(">\nhybrid\n<"), "a line per variant");
        }
        assert!(p[0].2.contains(">\n200 ms target\n<"));
        let unshaded = super::super::plots::feed_over_time(&[faulty("push")]).expect("plot");
        assert!(!unshaded.contains("#FFAA3C"), "other charts are not shaded");
        assert_eq!(windows(&[faulty("a"), faulty("b")]), [(2.0, 4.0)]);
    }
}
