//! The sweep's report: `report.md`, a self-contained `report.html` and `plots/sweep-*.svg`.
//!
//! Per op kind (feed, photo_get, upload) two charts against the offered rate, one line per
//! variant: p99 latency (with the feed target drawn) and goodput (with the offered = served
//! diagonal), each variant's knee marked as a large dot in the line's colour. Goodput flattening below the diagonal and
//! p99 rising are the knee seen from the two sides.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::axes::{Axis, Series, Style, plain, short};
use super::chart::chart;
use crate::sweep::result::SweepReport;

/// Op kinds charted, in order.
const OPS: [&str; 3] = ["feed", "photo_get", "upload"];

/// The charts: `(file stem, title, svg)`.
pub fn plots(r: &SweepReport) -> anyhow::Result<Vec<(String, String, String)>> {
    let rate = Axis {
        desc: "offered ops/s",
        log: true,
        fmt: short,
    };
    let mut out = Vec::new();
    for op in OPS {
        let (lat, mut good, mut diagonal) = series_of(r, op);
        if lat.is_empty() {
            continue;
        }
        diagonal.sort_by(|a, b| a.0.total_cmp(&b.0));
        good.push(Series {
            label: "offered = served".into(),
            points: diagonal,
            style: Style::Line,
        });
        let target = (op == "feed").then(|| {
            let t = r.limits.feed_p99_ms;
            (t, format!("target {t:.0} ms"))
        });
        let ms = Axis {
            desc: "p99 ms",
            log: true,
            fmt: plain,
        };
        let svg = chart(
            &format!("{op}: p99 vs offered load"),
            rate,
            ms,
            &lat,
            target,
        )?;
        out.push((
            format!("sweep-{op}-p99"),
            format!("{op}: p99 latency vs offered load"),
            svg,
        ));
        let per_s = Axis {
            desc: "served ops/s (goodput)",
            log: true,
            fmt: short,
        };
        let svg = chart(
            &format!("{op}: goodput vs offered load"),
            rate,
            per_s,
            &good,
            None,
        )?;
        out.push((
            format!("sweep-{op}-goodput"),
            format!("{op}: goodput vs offered load"),
            svg,
        ));
    }
    Ok(out)
}

/// For `op`: one p99 line and one goodput line per variant (each with its knee mark), and the
/// offered rates for the offered = served diagonal.
type OpSeries = (Vec<Series>, Vec<Series>, Vec<(f64, f64)>);

fn series_of(r: &SweepReport, op: &str) -> OpSeries {
    let (mut lat, mut good, mut diagonal) = (Vec::new(), Vec::new(), Vec::new());
    for v in &r.variants {
        let pts: Vec<(f64, f64, f64)> = v
            .steps
            .iter()
            .filter_map(|s| s.ops.get(op))
            .filter(|o| o.offered_per_s > 0.0)
            .map(|o| (o.offered_per_s, o.p99_ms, o.served_per_s))
            .collect();
        if pts.is_empty() {
            continue;
        }
        diagonal.extend(pts.iter().map(|p| (p.0, p.0)));
        let knee_op = v
            .knee
            .as_ref()
            .and_then(|k| v.step_at(k.load))
            .and_then(|k| k.ops.get(op));
        for (series, y) in [(&mut lat, 1), (&mut good, 2)] {
            let at = |p: &(f64, f64, f64)| (p.0, if y == 1 { p.1 } else { p.2 });
            let index = series.len();
            series.push(line(&v.variant, pts.iter().map(at)));
            if let Some(o) = knee_op {
                let y = if y == 1 { o.p99_ms } else { o.served_per_s };
                series.push(knee(index, o.offered_per_s, y));
            }
        }
    }
    (lat, good, diagonal)
}

fn line(label: &str, pts: impl Iterator<Item = (f64, f64)>) -> Series {
    Series {
        label: label.to_string(),
        points: pts.collect(),
        style: Style::Line,
    }
}

/// The knee of the line at series index `of`, drawn as a large dot in its colour.
fn knee(of: usize, x: f64, y: f64) -> Series {
    Series {
        label: String::new(),
        points: vec![(x, y)],
        style: Style::Mark(of),
    }
}

/// The knee table in Markdown.
fn knee_table(r: &SweepReport) -> String {
    let mut t = format!(
        "| variant | mode | knee × | knee × at a {:.0} µs probe | feed reads/s at knee | headroom | breaks first by | bottleneck |\n\
         |---|---|---|---|---|---|---|---|\n",
        r.reference_probe_us.unwrap_or(f64::NAN)
    );
    for v in &r.variants {
        let knee = v.knee.as_ref().map_or("below the ladder".into(), |k| {
            let above = if v.knee_above_ladder { "≥ " } else { "" };
            format!("{above}{:.2}", k.load)
        });
        let on_reference = (v.knee.as_ref().and_then(|k| k.at_reference))
            .map_or("-".into(), |x| format!("{x:.2}"));
        let rate = v
            .knee
            .as_ref()
            .map_or("-".into(), |k| format!("{:.0}", k.feed_offered_per_s));
        let breach: Vec<String> = v
            .first_breach
            .iter()
            .map(crate::summary::Breach::reason)
            .collect();
        let _ = writeln!(
            t,
            "| {} | {} | {knee} | {on_reference} | {rate} | {} | {} | {} |",
            v.variant,
            v.mode,
            v.headroom.map_or("-".into(), |h| format!("{h:.2}×")),
            breach.join("; "),
            v.bottleneck.as_deref().unwrap_or("-")
        );
    }
    t
}

/// The predictions in Markdown: per twin and load, live and simulated p50/p99 of each op.
fn prediction_table(r: &SweepReport) -> String {
    if r.predictions.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "| live | load × | op | live p50 / p99 ms | sim p50 / p99 ms | error p50 / p99 | judged | host stole (s) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for p in &r.predictions {
        for s in &p.steps {
            let _ = writeln!(
                t,
                "| {} | {:.2} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:+.0}% / {:+.0}% | {} | {} |",
                p.live,
                s.load,
                s.op,
                s.live_ms[0],
                s.live_ms[1],
                s.sim_ms[0],
                s.sim_ms[1],
                100.0 * s.error[0],
                100.0 * s.error[1],
                match (s.judged, s.calibration) {
                    (true, _) => "yes",
                    (false, true) => "calibration step",
                    (false, false) => "above 80% of the knee",
                },
                s.live_stolen_s
            );
        }
    }
    t
}

/// The CPU in use per twin and load, live and simulated (empty without figures).
fn cores_table(r: &SweepReport) -> String {
    if r.predictions.iter().all(|p| p.cores.is_empty()) {
        return String::new();
    }
    let mut t = String::from(
        "| live | load × | live cores | twin cores | twin ÷ live |\n|---|---|---|---|---|\n",
    );
    for p in &r.predictions {
        for c in &p.cores {
            let _ = writeln!(
                t,
                "| {} | {:.2} | {:.2} | {:.2} | ×{:.2} |",
                p.live,
                c.load,
                c.cores[0],
                c.cores[1],
                c.ratio()
            );
        }
    }
    t
}

/// Each twin's calibration step against live before and after it was settled (empty when
/// none was).
fn settled_table(r: &SweepReport) -> String {
    if r.predictions.iter().all(|p| p.settled.is_empty()) {
        return String::new();
    }
    let mut t = String::from(
        "| twin | op | calibration step p50 / p99 against live, as measured | settled |\n\
         |---|---|---|---|\n",
    );
    let pct = |e: [f64; 2]| format!("{:+.0}% / {:+.0}%", 100.0 * e[0], 100.0 * e[1]);
    for p in &r.predictions {
        for o in &p.settled {
            let (b, a) = (pct(o.before), pct(o.after));
            let _ = writeln!(t, "| {} | {} | {b} | {a} |", p.sim, o.op);
        }
    }
    t
}

/// Writes `report.md`, `report.html` and `plots/sweep-*.svg` under `out`.
pub fn write(out: &Path, r: &SweepReport) -> anyhow::Result<()> {
    let plots = plots(r)?;
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let title = format!("feedlab sweep: {}", r.scenario);
    let table = knee_table(r);
    let predictions = prediction_table(r);
    let cores = cores_table(r);
    let settled = settled_table(r);
    let provenance = r.provenance.as_ref().map_or_else(
        || "provenance unknown".to_string(),
        |p| format!("feedlab {}, {}", r.feedlab, p.line()),
    );
    let against: String = (r.against.as_ref())
        .map(|a| crate::sweep::against::lines(a, r.reference_probe_us.unwrap_or(f64::NAN)))
        .unwrap_or_default()
        .iter()
        .map(|l| format!("- {l}\n"))
        .collect();
    let mut md = format!(
        "# {title}\n\n{provenance}\n\n{table}\n{against}\n{predictions}\n{cores}\n{settled}"
    );
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em auto;max-width:1100px}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px}}</style>\
         </head><body>\n<h1>{title}</h1>\n<p>{}</p>\n{}\n{}\n{}\n{}\n{}\n",
        provenance.replace('&', "&amp;").replace('<', "&lt;"),
        md_table_to_html(&table),
        if against.is_empty() {
            String::new()
        } else {
            format!(
                "<pre>{}</pre>",
                against.replace('&', "&amp;").replace('<', "&lt;")
            )
        },
        md_table_to_html(&predictions),
        md_table_to_html(&cores),
        md_table_to_html(&settled)
    );
    for (file, caption, svg) in &plots {
        let p = dir.join(format!("{file}.svg"));
        std::fs::write(&p, svg).with_context(|| format!("writing {}", p.display()))?;
        let _ = writeln!(md, "## {caption}\n\n![{caption}](plots/{file}.svg)\n");
        let _ = writeln!(
            html,
            "<figure id=\"{file}\"><figcaption>{caption}</figcaption>\n{svg}\n</figure>"
        );
    }
    html.push_str("</body></html>\n");
    let md_path = out.join("report.md");
    std::fs::write(&md_path, md).with_context(|| format!("writing {}", md_path.display()))?;
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html).with_context(|| format!("writing {}", html_path.display()))
}

/// A Markdown pipe table as an HTML table (cells are plain text without `|` or `<`).
pub(super) fn md_table_to_html(md: &str) -> String {
    let mut h = String::from("<table>\n");
    for (i, line) in md.lines().enumerate() {
        if i == 1 {
            continue;
        }
        let tag = if i == 0 { "th" } else { "td" };
        h.push_str("<tr>");
        for cell in line.trim().trim_matches('|').split('|') {
            let _ = write!(h, "<{tag}>{}</{tag}>", cell.trim().replace('&', "&amp;"));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>");
    h
}
