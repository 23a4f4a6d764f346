//! The report's six plots (seven when a variant was simulated), each built from the variants'
//! typed summaries — contract fields, and the plot series in the sections' `extra` maps —
//! and drawn by [`super::chart::chart`].

use serde_json::Value;

use super::axes::{Axis, Series, Style, bytes, plain, short, whole};
use super::chart::chart;
use super::panels::{Panel, percentile_panels};
use crate::summary::{Extra, Summary};

/// The plot series `key` of a section's extra map.
fn plot_series<'a>(extra: &'a Extra, key: &str) -> Option<&'a Value> {
    extra.get(key).filter(|v| !v.is_null())
}

fn name(s: &Summary) -> String {
    s.variant.clone()
}

fn pairs(v: Option<&Value>) -> Vec<(f64, f64)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn target(summaries: &[Summary]) -> f64 {
    summaries
        .first()
        .map_or(crate::spec::DEFAULT_FEED_P99_MS, |s| s.target.feed_p99_ms)
}

/// Ops drawn in the latency plot, one panel each, in this order.
const OPS: [&str; 5] = ["feed", "photo_get", "upload", "search", "follow"];

/// Latency by percentile: one panel per op that any variant ran, one line
/// per variant in every panel (so a variant keeps its colour), the feed
/// target in the feed panel.
pub fn latency(summaries: &[Summary]) -> anyhow::Result<String> {
    let t = target(summaries);
    let panels: Vec<Panel> = OPS
        .iter()
        .map(|&op| Panel {
            name: op.to_string(),
            series: summaries
                .iter()
                .map(|s| Series {
                    label: name(s),
                    points: s
                        .ops
                        .get(op)
                        .map(|o| o.percentiles.as_slice())
                        .unwrap_or_default()
                        .iter()
                        .map(|&(q, ms)| (-(1.0 - q / 100.0).log10(), ms))
                        .collect(),
                    style: Style::Line,
                })
                .collect(),
            hline: (op == "feed").then(|| (t, format!("{t:.0} ms feed target"))),
        })
        .filter(|p| p.series.iter().any(|s| !s.points.is_empty()))
        .collect();
    percentile_panels("Latency by percentile (from intended start)", &panels)
}

/// Feed p99 of each second of the run, per variant.
pub fn feed_over_time(summaries: &[Summary]) -> anyhow::Result<String> {
    let series: Vec<Series> = summaries
        .iter()
        .map(|s| Series {
            label: name(s),
            points: plot_series(&s.extra, "series")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|p| p.get("kind").and_then(Value::as_str) == Some("feed"))
                        .filter(|p| p.get("count").and_then(Value::as_u64).unwrap_or(0) > 0)
                        .filter_map(|p| {
                            Some((p.get("second")?.as_f64()?, p.get("p99_ms")?.as_f64()?))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            style: Style::Line,
        })
        .collect();
    let t = target(summaries);
    chart(
        "Feed p99 per second of the run",
        Axis {
            desc: "second",
            log: false,
            fmt: plain,
        },
        Axis {
            desc: "feed p99, ms",
            log: false,
            fmt: plain,
        },
        &series,
        Some((t, format!("{t:.0} ms target"))),
    )
}

/// Adds the CCDF `c` (`{points, fit}`) as points labelled `label`, and its fitted power law
/// as a line.
fn ccdf_series(series: &mut Vec<Series>, c: Option<&Value>, label: String) {
    let pts = pairs(c.and_then(|c| c.get("points")));
    if pts.is_empty() {
        return;
    }
    let max_x = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    series.push(Series {
        label: label.clone(),
        points: pts,
        style: Style::Points,
    });
    let Some(fit) = c.and_then(|c| c.get("fit")).filter(|v| !v.is_null()) else {
        return;
    };
    let (Some(a), Some(xm), Some(p0)) = (
        fit.get("alpha").and_then(Value::as_f64),
        fit.get("x_min").and_then(Value::as_f64),
        fit.get("ccdf_at_x_min").and_then(Value::as_f64),
    ) else {
        return;
    };
    let line = (0..=20)
        .map(|i| xm * (max_x / xm).max(1.0).powf(f64::from(i) / 20.0))
        .map(|x| (x, p0 * (x / xm).powf(1.0 - a)))
        .collect();
    series.push(Series {
        label: format!("{label}: fit α = {a:.2} (x ≥ {xm:.0})"),
        points: line,
        style: Style::Line,
    });
}

/// Follower-count CCDF (log-log) of each distinct live graph and of the full-scale model (a
/// uniform sample of the full population), on the same axes, each with its fitted power law.
pub fn follower_ccdf(summaries: &[Summary]) -> anyhow::Result<String> {
    let mut series = Vec::new();
    let (mut seen, mut seen_model) = (Vec::new(), Vec::new());
    for s in summaries {
        let key = (s.population.follows, s.population.materialized_users);
        if !seen.contains(&key) {
            seen.push(key);
            let c = plot_series(&s.population.extra, "follower_ccdf");
            let n = s.population.materialized_users as f64;
            let label = format!("{}: live graph ({} users)", name(s), short(n));
            ccdf_series(&mut series, c, label);
        }
        let model = plot_series(&s.population.extra, "model_follower_ccdf");
        if let Some(m) = model.filter(|m| !seen_model.contains(m)) {
            seen_model.push(m);
            let n = s.population.users as f64;
            ccdf_series(
                &mut series,
                Some(m),
                format!("full-scale model ({})", short(n)),
            );
        }
    }
    chart(
        "Follower count CCDF, P(X ≥ x)",
        Axis {
            desc: "followers",
            log: true,
            fmt: short,
        },
        Axis {
            desc: "P(X ≥ x)",
            log: true,
            fmt: short,
        },
        &series,
        None,
    )
}

/// Timeline writes per upload against the author's follower count.
pub fn fanout_scatter(summaries: &[Summary]) -> anyhow::Result<String> {
    let series: Vec<Series> = summaries
        .iter()
        .map(|s| Series {
            label: name(s),
            points: pairs(plot_series(&s.fanout.extra, "per_author")),
            style: Style::Points,
        })
        .collect();
    chart(
        "Fan-out: timeline writes per upload vs. author's followers",
        Axis {
            desc: "author's followers",
            log: false,
            fmt: short,
        },
        Axis {
            desc: "timeline writes per upload",
            log: false,
            fmt: short,
        },
        &series,
        None,
    )
}

/// Operations per shard during the run, grouped by variant.
pub fn shard_loads(summaries: &[Summary]) -> anyhow::Result<String> {
    let k = summaries.len().max(1) as f64;
    let w = 0.8 / k;
    let series: Vec<Series> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            label: format!("{} (max/mean {:.2})", name(s), s.shards.load_max_over_mean),
            points: plot_series(&s.shards.extra, "loads")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|l| {
                            let ops = ["reads", "scans", "writes"]
                                .iter()
                                .filter_map(|k| l.get(k).and_then(Value::as_f64))
                                .sum::<f64>();
                            let x = l.get("shard")?.as_f64()? + (i as f64 - (k - 1.0) / 2.0) * w;
                            Some((x, ops))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            style: Style::Bars(w),
        })
        .collect();
    chart(
        "Operations per shard during the run",
        Axis {
            desc: "shard",
            log: false,
            fmt: whole,
        },
        Axis {
            desc: "operations",
            log: false,
            fmt: short,
        },
        &series,
        None,
    )
}

/// Simulated variants only: each shard server's utilisation (bars, %) and
/// time-average queue length (points, jobs) from `sim.shards`. `None` when
/// no summary carries them (live runs).
pub fn shard_utilisation(summaries: &[Summary]) -> anyhow::Result<Option<String>> {
    let shards_of = |s: &Summary| {
        s.sim
            .as_ref()
            .and_then(|x| plot_series(&x.extra, "shards"))
            .and_then(Value::as_array)
            .cloned()
    };
    let sims: Vec<&Summary> = summaries
        .iter()
        .filter(|s| shards_of(s).is_some())
        .collect();
    if sims.is_empty() {
        return Ok(None);
    }
    let k = sims.len() as f64;
    let w = 0.8 / k;
    let mut series = Vec::new();
    for (i, s) in sims.iter().enumerate() {
        let rows = shards_of(s).unwrap_or_default();
        let at = |r: &Value, key: &str| -> Option<(f64, f64)> {
            let x = r.get("shard")?.as_f64()? + (i as f64 - (k - 1.0) / 2.0) * w;
            Some((x, r.get(key)?.as_f64()?))
        };
        let max_q = rows
            .iter()
            .filter_map(|r| r.get("max_queue")?.as_f64())
            .fold(0.0, f64::max);
        series.push(Series {
            label: format!("{} utilisation %", name(s)),
            points: rows
                .iter()
                .filter_map(|r| at(r, "utilisation").map(|(x, u)| (x, 100.0 * u)))
                .collect(),
            style: Style::Bars(w),
        });
        series.push(Series {
            label: format!("{} mean queue (jobs; max {max_q:.0})", name(s)),
            points: rows.iter().filter_map(|r| at(r, "mean_queue")).collect(),
            style: Style::Points,
        });
    }
    chart(
        "Shard servers in the simulator: utilisation and mean queue",
        Axis {
            desc: "shard",
            log: false,
            fmt: whole,
        },
        Axis {
            desc: "utilisation % | queue length",
            log: false,
            fmt: plain,
        },
        &series,
        None,
    )
    .map(Some)
}

/// Storage over five years at the scenario's upload rate, from the run's
/// measured bytes per upload.
pub fn storage_growth(summaries: &[Summary]) -> anyhow::Result<String> {
    let mut series = Vec::new();
    for s in summaries {
        let rows = plot_series(&s.storage.extra, "growth").and_then(Value::as_array);
        let pts = |keys: &[&str]| -> Vec<(f64, f64)> {
            rows.map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let y = r.get("year")?.as_f64()?;
                        let b: f64 = keys.iter().filter_map(|k| r.get(*k)?.as_f64()).sum();
                        Some((y, b))
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        series.push(Series {
            label: format!("{} total", name(s)),
            points: pts(&["blob_bytes", "meta_bytes", "timeline_bytes"]),
            style: Style::Line,
        });
        series.push(Series {
            label: format!("{} metadata + timelines", name(s)),
            points: pts(&["meta_bytes", "timeline_bytes"]),
            style: Style::Line,
        });
    }
    chart(
        "Storage growth over 5 years (measured bytes per upload × uploads/day)",
        Axis {
            desc: "years",
            log: false,
            fmt: plain,
        },
        Axis {
            desc: "bytes stored",
            log: false,
            fmt: bytes,
        },
        &series,
        None,
    )
}

/// The six plots with their titles, in report order, plus the shard
/// utilisation plot when a variant was simulated.
pub fn all(summaries: &[Summary]) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    let mut plots = vec![
        ("latency", "Latency percentiles", latency(summaries)?),
        ("feed-p99", "Feed p99 over time", feed_over_time(summaries)?),
        (
            "followers",
            "Follower distribution",
            follower_ccdf(summaries)?,
        ),
        ("fanout", "Fan-out per upload", fanout_scatter(summaries)?),
        ("shards", "Shard load", shard_loads(summaries)?),
        ("storage", "Storage growth", storage_growth(summaries)?),
    ];
    if let Some(svg) = shard_utilisation(summaries)? {
        plots.insert(5, ("shard-util", "Shard utilisation (sim)", svg));
    }
    plots.extend(super::faults::plots(summaries)?);
    Ok(plots)
}
