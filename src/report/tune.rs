//! The tune report: `report.md`, a self-contained `report.html` and `plots/tune-frontier.svg`
//! (every run at the headroom load as $/month against feed p99, the Pareto frontier as a
//! line, the answer marked, the feed target drawn), read from the typed [`TuneReport`].
//!
//! Sections: the answer (design, counts, $/month, its figures, what saturates, what one unit
//! less breaks, the re-run at another seed) or why there is none with the closest
//! candidate; every design's outcome; the frontier; the sensitivity table; the bandwidth at
//! the peak with and without the CDN; the catalogue and the search's effort.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::axes::{Axis, Series, Style, plain};
use super::chart::chart;
use super::sweep::md_table_to_html;
use crate::tune::TuneReport;
use crate::tune::result::Answer;

/// The frontier chart's SVG.
fn frontier_svg(r: &TuneReport) -> anyhow::Result<String> {
    let usd = Axis {
        desc: "$/month",
        log: false,
        fmt: plain,
    };
    let ms = Axis {
        desc: "feed p99 ms",
        log: true,
        fmt: plain,
    };
    let pick = |good: bool| -> Vec<(f64, f64)> {
        r.evaluated
            .iter()
            .filter(|p| p.good == good && p.feed_p99_ms.is_finite())
            .map(|p| (p.usd_per_month, p.feed_p99_ms))
            .collect()
    };
    let mut series = vec![
        Series {
            label: "Pareto frontier".into(),
            points: r
                .frontier
                .iter()
                .map(|p| (p.usd_per_month, p.feed_p99_ms))
                .collect(),
            style: Style::Line,
        },
        Series {
            label: "meets every target".into(),
            points: pick(true),
            style: Style::Points,
        },
        Series {
            label: "breaks a target".into(),
            points: pick(false),
            style: Style::Points,
        },
    ];
    if let Some(a) = &r.answer {
        series.push(Series {
            label: String::new(),
            points: vec![(a.usd_per_month, a.feed_p99_ms)],
            style: Style::Mark(1),
        });
    }
    let t = r.targets.feed_p99_ms;
    chart(
        &format!("{}: $/month vs feed p99 at x{}", r.scenario, r.headroom),
        usd,
        ms,
        &series,
        Some((t, format!("target {t} ms"))),
    )
}

/// One answer as Markdown lines.
fn answer_md(s: &mut String, a: &Answer) {
    let c = &a.counts;
    let _ = writeln!(
        s,
        "| figure | value |\n|---|---|\n| design | {} (cache {} rows, replication ×{}, CDN hit ratio {}) |",
        a.label, a.design.cache_entries, a.design.replication_factor, a.design.cdn_hit_ratio
    );
    let _ = writeln!(
        s,
        "| counts | {} shards, {} read servers, {} write servers, {} blob nodes |",
        c.shards, c.read_servers, c.write_servers, c.blob_nodes
    );
    let b = &a.bill;
    let _ = writeln!(
        s,
        "| $/month | {:.0} (app {:.0}, shards {:.0}, blob {:.0}, storage {:.0}, requests {:.0}, egress {:.0}) |",
        a.usd_per_month,
        b.app_usd,
        b.shard_usd,
        b.blob_usd,
        b.storage_usd,
        b.requests_usd,
        b.egress_usd
    );
    let _ = writeln!(
        s,
        "| feed p99 / freshness p99 / dropped | {:.2} ms / {:.0} ms / {:.4}% |",
        a.feed_p99_ms,
        a.freshness_p99_ms,
        100.0 * a.dropped_fraction
    );
    let role = a.saturating.role.map_or("none", |r| r.name());
    let _ = writeln!(
        s,
        "| saturating resource | {} at {:.0}% (relieved by {role}) |",
        a.saturating.resource,
        100.0 * a.saturating.utilisation
    );
    for m in &a.minus_one {
        let _ = writeln!(
            s,
            "| {} → {} | {} |",
            m.role.name(),
            m.count,
            m.reason.replace('|', "/")
        );
    }
    if let Some(r) = &a.recheck {
        let _ = writeln!(
            s,
            "| re-run at seed {} | {} (feed p99 {:.2} ms, freshness p99 {:.0} ms) |",
            r.seed,
            if r.good {
                "meets every target"
            } else {
                "BREAKS a target"
            },
            r.feed_p99_ms,
            r.freshness_p99_ms
        );
    }
}

/// The report's Markdown tables (everything but the plot).
pub fn markdown(r: &TuneReport) -> String {
    let mut s = String::new();
    let t = &r.targets;
    let _ = writeln!(
        s,
        "Targets at x{} the peak: feed p99 ≤ {} ms, freshness p99 ≤ {} s, dropped ≤ {}, errors ≤ {}. Catalogue: {} (example prices). Machines: app {}, shard {}, blob {}.\n",
        r.headroom,
        t.feed_p99_ms,
        t.freshness_p99_s,
        t.max_dropped,
        t.max_errors,
        r.catalogue,
        r.machines.app.name,
        r.machines.shard.name,
        r.machines.blob.name
    );
    match (&r.answer, &r.unmet) {
        (Some(a), _) => {
            let _ = writeln!(s, "## The cheapest deployment\n");
            answer_md(&mut s, a);
        }
        (None, Some(u)) => {
            let _ = writeln!(s, "## No answer\n\n{}\n", u.message);
        }
        _ => {}
    }
    designs_md(&mut s, r);
    frontier_md(&mut s, r);
    sensitivity_md(&mut s, r);
    let b = &r.bandwidth;
    let _ = writeln!(
        s,
        "\n## Bandwidth at the peak\n\n| figure | Gbit/s |\n|---|---:|\n| ingress (uploads) | {:.3} |\n| egress, no CDN | {:.3} |\n| egress from the origin, CDN at {:.0}% hits | {:.3} |",
        b.ingress_peak_gbps,
        b.egress_peak_gbps,
        100.0 * b.cdn_hit_ratio,
        b.origin_egress_peak_gbps_with_cdn
    );
    let _ = writeln!(
        s,
        "\nThe plan's read servers (measured CPU per read, per core): {}. Search: {} simulations, {} probes, {} populations built, {:.0} s.",
        r.plan_read_servers,
        r.search.simulations,
        r.search.probes,
        r.search.populations_built,
        r.search.wall_s
    );
    s
}

/// The table of every design searched.
fn designs_md(s: &mut String, r: &TuneReport) {
    let _ = writeln!(
        s,
        "\n## Designs\n\n| design | status | counts (shards/read/write/blob) | $/month | feed p99 ms | note |\n|---|---|---|---:|---:|---|"
    );
    for d in &r.designs {
        let counts = d.counts.map_or(String::new(), |c| {
            format!(
                "{}/{}/{}/{}",
                c.shards, c.read_servers, c.write_servers, c.blob_nodes
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {counts} | {} | {} | {} |",
            d.label,
            d.status,
            d.usd_per_month.map_or(String::new(), |u| format!("{u:.0}")),
            d.feed_p99_ms.map_or(String::new(), |p| format!("{p:.2}")),
            d.reason.clone().unwrap_or_default().replace('|', "/")
        );
    }
}

/// The Pareto frontier of $/month against feed p99.
fn frontier_md(s: &mut String, r: &TuneReport) {
    let _ = writeln!(
        s,
        "\n## Pareto frontier ($/month against feed p99)\n\n| design | counts | $/month | feed p99 ms |\n|---|---|---:|---:|"
    );
    for p in &r.frontier {
        let c = &p.counts;
        let _ = writeln!(
            s,
            "| {} | {}/{}/{}/{} | {:.0} | {:.2} |",
            p.label,
            c.shards,
            c.read_servers,
            c.write_servers,
            c.blob_nodes,
            p.usd_per_month,
            p.feed_p99_ms
        );
    }
}

/// The cheapest deployment at each sensitivity load.
fn sensitivity_md(s: &mut String, r: &TuneReport) {
    let _ = writeln!(
        s,
        "\n## Sensitivity: the cheapest deployment at more load\n\n| load | design | counts | $/month | saturating |\n|---:|---|---|---:|---|"
    );
    for row in &r.sensitivity {
        match &row.answer {
            Some(a) => {
                let c = &a.counts;
                let _ = writeln!(
                    s,
                    "| {}× | {} | {}/{}/{}/{} | {:.0} | {} |",
                    row.load,
                    a.label,
                    c.shards,
                    c.read_servers,
                    c.write_servers,
                    c.blob_nodes,
                    a.usd_per_month,
                    a.saturating.resource
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {}× | none | | | {} |",
                    row.load,
                    row.message.clone().unwrap_or_default()
                );
            }
        }
    }
}

/// Writes `report.md`, `report.html` and `plots/tune-frontier.svg` under `out`.
pub fn write(out: &Path, r: &TuneReport) -> anyhow::Result<()> {
    let svg = frontier_svg(r)?;
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let plot = dir.join("tune-frontier.svg");
    std::fs::write(&plot, &svg).with_context(|| format!("writing {}", plot.display()))?;
    let title = format!("feedlab tune: {}", r.scenario);
    let provenance = r.provenance.as_ref().map_or_else(
        || "provenance unknown".to_string(),
        |p| format!("feedlab {}, {}", r.feedlab, p.line()),
    );
    let body = markdown(r);
    let md = format!(
        "# {title}\n\n{provenance}\n\n{body}\n## Frontier\n\n![frontier](plots/tune-frontier.svg)\n"
    );
    let md_path = out.join("report.md");
    std::fs::write(&md_path, &md).with_context(|| format!("writing {}", md_path.display()))?;
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em auto;max-width:1100px}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px}}</style>\
         </head><body>\n<h1>{title}</h1>\n<p>{}</p>\n",
        escape(&provenance)
    );
    for block in body.split("\n\n") {
        let block = block.trim();
        if let Some(h) = block.strip_prefix("## ") {
            let _ = writeln!(html, "<h2>{}</h2>", escape(h));
        } else if block.starts_with('|') {
            html.push_str(&md_table_to_html(block));
            html.push('\n');
        } else if !block.is_empty() {
            let _ = writeln!(html, "<p>{}</p>", escape(block));
        }
    }
    let _ = writeln!(
        html,
        "<figure id=\"tune-frontier\"><figcaption>$/month against feed p99</figcaption>\n{svg}\n</figure>"
    );
    html.push_str("</body></html>\n");
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html).with_context(|| format!("writing {}", html_path.display()))
}

/// The lines `feedlab tune` prints: the answer or why there is none.
pub fn summary_text(r: &TuneReport) -> String {
    match (&r.answer, &r.unmet) {
        (Some(a), _) => {
            let c = &a.counts;
            format!(
                "{}: {} with {} shards (×{} replicas), {} read + {} write servers, {} blob nodes, CDN {:.0}%: ${:.0}/month; feed p99 {:.2} ms, freshness p99 {:.0} ms at x{}; saturates first: {}\n",
                r.scenario,
                a.label,
                c.shards,
                a.design.replication_factor,
                c.read_servers,
                c.write_servers,
                c.blob_nodes,
                100.0 * a.design.cdn_hit_ratio,
                a.usd_per_month,
                a.feed_p99_ms,
                a.freshness_p99_ms,
                r.headroom,
                a.saturating.resource
            )
        }
        (None, Some(u)) => format!("{}: {}\n", r.scenario, u.message),
        _ => String::new(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}
