//! The report's six plots as standalone SVG strings (plotters' SVG backend,
//! no fonts needed: text becomes `<text>` elements).
//!
//! Log axes are drawn by plotting `log10` of the values on linear axes and
//! labelling ticks with the original values; the latency curves use the
//! "nines" scale `x = −log10(1 − q)`, so p50, p90, p99 and p99.9 are evenly
//! spaced.

use anyhow::anyhow;
use plotters::prelude::*;
use serde_json::Value;

/// How a series is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// A polyline.
    Line,
    /// Dots.
    Points,
    /// Bars of this width (x units) from 0.
    Bars(f64),
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Data points (untransformed).
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
}

/// An axis: description, log scale, tick label formatter.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    /// Axis title.
    pub desc: &'static str,
    /// Plot `log10` of the values.
    pub log: bool,
    /// Formats an untransformed tick value.
    pub fmt: fn(f64) -> String,
}

fn plain(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1e}")
    }
}

fn nines(x: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{q:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn tf(log: bool, v: f64) -> Option<f64> {
    if !log {
        return v.is_finite().then_some(v);
    }
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// Draw one chart; `hline` is a labelled horizontal line at an untransformed y.
pub fn chart(
    title: &str,
    x: Axis,
    y: Axis,
    series: &[Series],
    hline: Option<(f64, String)>,
) -> anyhow::Result<String> {
    let data: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(a, b)| Some((tf(x.log, a)?, tf(y.log, b)?)))
                .collect()
        })
        .collect();
    let h = hline.as_ref().and_then(|(v, _)| tf(y.log, *v));
    let xs = data.iter().flatten().map(|p| p.0);
    let ys = data.iter().flatten().map(|p| p.1).chain(h);
    let (mut x0, mut x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    for (lo, hi, log, from_zero) in [
        (&mut x0, &mut x1, x.log, false),
        (
            &mut y0,
            &mut y1,
            y.log,
            series.iter().any(|s| matches!(s.style, Style::Bars(_))),
        ),
    ] {
        if from_zero && !log {
            *lo = lo.min(0.0);
        }
        let pad = ((*hi - *lo) * 0.05).max(if log { 0.05 } else { 0.5 });
        if !(from_zero && *lo == 0.0) {
            *lo -= pad;
        }
        *hi += pad;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let (xl, yl) = (x.log, y.log);
        let fx = move |v: &f64| (x.fmt)(if xl { 10f64.powf(*v) } else { *v });
        let fy = move |v: &f64| (y.fmt)(if yl { 10f64.powf(*v) } else { *v });
        ch.configure_mesh()
            .x_desc(x.desc)
            .y_desc(y.desc)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        for (i, (s, pts)) in series.iter().zip(&data).enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let legend = move |(a, b): (i32, i32)| {
                Rectangle::new([(a, b - 4), (a + 14, b + 4)], color.filled())
            };
            match s.style {
                Style::Line => ch
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(err)?
                    .label(s.label.clone())
                    .legend(legend),
                Style::Points => ch
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                    .map_err(err)?
                    .label(s.label.clone())
                    .legend(legend),
                Style::Bars(w) => ch
                    .draw_series(pts.iter().map(|&(a, b)| {
                        Rectangle::new([(a - w / 2.0, 0.0), (a + w / 2.0, b)], color.filled())
                    }))
                    .map_err(err)?
                    .label(s.label.clone())
                    .legend(legend),
            };
        }
        if let (Some(v), Some((_, label))) = (h, &hline) {
            ch.draw_series(LineSeries::new(vec![(x0, v), (x1, v)], RED.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 14, b)], RED.stroke_width(2)));
        }
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    get(v, path)?.as_f64()
}

fn name(v: &Value) -> String {
    v.get("variant")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
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

fn target(summaries: &[Value]) -> f64 {
    summaries
        .first()
        .and_then(|s| f(s, &["target", "feed_p99_ms"]))
        .unwrap_or(200.0)
}

/// Ops drawn in the latency plot.
const OPS: [&str; 5] = ["feed", "upload", "photo_get", "search", "follow"];

/// Latency percentile curves per op per variant, with the feed target.
pub fn latency(summaries: &[Value]) -> anyhow::Result<String> {
    let mut series = Vec::new();
    for s in summaries {
        for op in OPS {
            let pts: Vec<(f64, f64)> = pairs(get(s, &["ops", op, "percentiles"]))
                .into_iter()
                .map(|(q, ms)| (-(1.0 - q / 100.0).log10(), ms))
                .collect();
            if !pts.is_empty() {
                series.push(Series {
                    label: format!("{} {op}", name(s)),
                    points: pts,
                    style: Style::Line,
                });
            }
        }
    }
    let t = target(summaries);
    chart(
        "Latency by percentile (from intended start)",
        Axis {
            desc: "percentile",
            log: false,
            fmt: nines,
        },
        Axis {
            desc: "ms",
            log: true,
            fmt: plain,
        },
        &series,
        Some((t, format!("{t:.0} ms feed target"))),
    )
}

/// Feed p99 of each second of the run, per variant.
pub fn feed_over_time(summaries: &[Value]) -> anyhow::Result<String> {
    let series: Vec<Series> = summaries
        .iter()
        .map(|s| Series {
            label: name(s),
            points: s
                .get("series")
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

/// Follower-count CCDF (log-log) with the fitted power law, per distinct
/// population.
pub fn follower_ccdf(summaries: &[Value]) -> anyhow::Result<String> {
    let mut series = Vec::new();
    let mut seen = Vec::new();
    for s in summaries {
        let key = (
            f(s, &["population", "follows"]),
            f(s, &["population", "materialized_users"]),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let c = get(s, &["population", "follower_ccdf"]);
        let pts = pairs(c.and_then(|c| c.get("points")));
        let max_x = pts.iter().map(|p| p.0).fold(1.0, f64::max);
        series.push(Series {
            label: format!("{} followers", name(s)),
            points: pts,
            style: Style::Points,
        });
        if let Some(fit) = c.and_then(|c| c.get("fit")).filter(|v| !v.is_null()) {
            let (Some(a), Some(xm), Some(p0)) = (
                fit.get("alpha").and_then(Value::as_f64),
                fit.get("x_min").and_then(Value::as_f64),
                fit.get("ccdf_at_x_min").and_then(Value::as_f64),
            ) else {
                continue;
            };
            let line = (0..=20)
                .map(|i| xm * (max_x / xm).max(1.0).powf(f64::from(i) / 20.0))
                .map(|x| (x, p0 * (x / xm).powf(1.0 - a)))
                .collect();
            series.push(Series {
                label: format!("fit α = {a:.2} (x ≥ {xm:.0})"),
                points: line,
                style: Style::Line,
            });
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
pub fn fanout_scatter(summaries: &[Value]) -> anyhow::Result<String> {
    let series: Vec<Series> = summaries
        .iter()
        .map(|s| Series {
            label: name(s),
            points: pairs(get(s, &["fanout", "per_author"])),
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
pub fn shard_loads(summaries: &[Value]) -> anyhow::Result<String> {
    let k = summaries.len().max(1) as f64;
    let w = 0.8 / k;
    let series: Vec<Series> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            label: format!(
                "{} (max/mean {:.2})",
                name(s),
                f(s, &["shards", "load_max_over_mean"]).unwrap_or(f64::NAN)
            ),
            points: get(s, &["shards", "loads"])
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
            fmt: plain,
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

/// Storage over five years at the scenario's upload rate, from the run's
/// measured bytes per upload.
pub fn storage_growth(summaries: &[Value]) -> anyhow::Result<String> {
    let mut series = Vec::new();
    for s in summaries {
        let rows = get(s, &["storage", "growth"]).and_then(Value::as_array);
        let pts = |keys: &[&str]| -> Vec<(f64, f64)> {
            rows.map(|a| {
                a.iter()
                    .filter_map(|r| {
                        let y = r.get("year")?.as_f64()?;
                        let b: f64 = keys.iter().filter_map(|k| r.get(*k)?.as_f64()).sum();
                        Some((y, b / 1e12))
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
            desc: "TB",
            log: false,
            fmt: plain,
        },
        &series,
        None,
    )
}

/// The six plots with their titles, in report order.
pub fn all(summaries: &[Value]) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    Ok(vec![
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
    ])
}
