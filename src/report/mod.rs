//! Reports of a run or comparison: `report.md` and a self-contained
//! `report.html` (inline SVG, inline CSS, no scripts, no network fetches),
//! plus the plots as `plots/*.svg` for the Markdown to link.
//!
//! Reports read summaries as JSON values (the summary.json contract plus
//! its extra fields), so they work on any file a run or the simulator wrote;
//! a missing extra field leaves a plot empty rather than failing.

mod chart;
mod html;
mod legend;
mod markdown;
mod panels;
pub mod plots;
pub mod sweep;

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// Write `out/report.md`, `out/report.html` and `out/plots/*.svg` for
/// `summaries` (one per variant, in order).
pub fn write(out: &Path, summaries: &[Value]) -> anyhow::Result<()> {
    let plots = plots::all(summaries)?;
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, _, svg) in &plots {
        let p = dir.join(format!("{file}.svg"));
        std::fs::write(&p, svg).with_context(|| format!("writing {}", p.display()))?;
    }
    let md = out.join("report.md");
    std::fs::write(&md, markdown::render(summaries, &plots))
        .with_context(|| format!("writing {}", md.display()))?;
    let html = out.join("report.html");
    std::fs::write(&html, html::render(summaries, &plots))
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(())
}

/// A number at a dotted path of a summary. A `*` segment sums the numbers
/// at the rest of the path under every key at that level (`ops.*.errors`:
/// errors over all op kinds; keys without the number count as 0).
pub(crate) fn num(v: &Value, path: &str) -> Option<f64> {
    num_at(v, &path.split('.').collect::<Vec<_>>())
}

fn num_at(v: &Value, path: &[&str]) -> Option<f64> {
    match path.split_first() {
        None => v.as_f64(),
        Some((&"*", rest)) => Some(
            v.as_object()?
                .values()
                .filter_map(|c| num_at(c, rest))
                // From +0: an empty f64 `sum()` is -0, printed "-0".
                .fold(0.0, |a, x| a + x),
        ),
        Some((k, rest)) => num_at(v.get(*k)?, rest),
    }
}

/// A string at a dotted path of a summary ("?" if absent).
pub(crate) fn text(v: &Value, path: &str) -> String {
    match path.split('.').try_fold(v, |v, k| v.get(k)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "?".into(),
    }
}

/// Rows of the key-figures table: label and dotted path.
pub(crate) const FIGURES: [(&str, &str); 27] = [
    ("fan-out", "config.fanout"),
    ("sharding", "config.sharding"),
    ("transport", "config.transport"),
    ("materialized users", "population.materialized_users"),
    ("follows", "population.follows"),
    ("max followers", "population.max_followers"),
    ("feed p50 ms", "ops.feed.p50_ms"),
    ("feed p99 ms", "ops.feed.p99_ms"),
    ("upload p99 ms", "ops.upload.p99_ms"),
    ("feed reads/s", "ops.feed.rate_per_s"),
    ("errors (all ops)", "ops.*.errors"),
    ("dropped (all ops)", "ops.*.dropped"),
    ("shed under overload (all ops)", "ops.*.shed"),
    ("freshness p99 ms", "fanout.freshness_p99_ms"),
    ("timeline writes / upload", "fanout.writes_per_upload"),
    ("top author's followers", "fanout.top_author.followers"),
    (
        "top author's timeline writes / upload",
        "fanout.top_author.writes_per_upload",
    ),
    (
        "hybrid threshold (full-scale followers)",
        "config.hybrid_threshold",
    ),
    (
        "hybrid threshold applied (live followers)",
        "config.hybrid_threshold_live",
    ),
    (
        "hybrid: follower edges pulled, live",
        "fanout.hybrid.live_edge_share",
    ),
    (
        "hybrid: follower edges pulled, full scale",
        "fanout.hybrid.full_edge_share",
    ),
    (
        "hybrid: authors pulled, live",
        "fanout.hybrid.live_author_share",
    ),
    (
        "hybrid: authors pulled, full scale",
        "fanout.hybrid.full_author_share",
    ),
    ("shard max/mean", "shards.load_max_over_mean"),
    ("meta bytes", "storage.meta_bytes"),
    ("blob bytes", "storage.blob_bytes"),
    ("met targets (feed p99, freshness p99)", "target.met"),
];

/// One cell of the key-figures table; a sum over a `*` path is a count.
pub(crate) fn cell(v: &Value, path: &str) -> String {
    if path.contains('*') {
        return num(v, path).map_or_else(|| "?".into(), |x| format!("{x:.0}"));
    }
    match num(v, path) {
        // Two significant digits below 0.01 (shares such as 0.0013).
        Some(x) if x.fract() != 0.0 && x.abs() < 0.01 => {
            format!("{x:.*}", (1.0 - x.abs().log10().floor()) as usize)
        }
        Some(x) if x.fract() != 0.0 => format!("{x:.2}"),
        _ => text(v, path),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{cell, html, markdown};

    #[test]
    fn errors_and_drops_rows_sum_over_op_kinds() {
        let s = json!({ "variant": "push", "ops": {
            "feed": { "errors": 2, "dropped": 1 },
            "photo_get": { "errors": 7, "dropped": 0 },
            "upload": { "count": 3 },
        }});
        let md = markdown::render(std::slice::from_ref(&s), &[]);
        assert!(md.contains("| errors (all ops) | 9 |"), "{md}");
        assert!(md.contains("| dropped (all ops) | 1 |"), "{md}");
        assert!(md.contains("| shed under overload (all ops) | 0 |"), "{md}");
        let page = html::render(std::slice::from_ref(&s), &[]);
        assert!(
            page.contains("<td>errors (all ops)</td><td class=\"n\">9</td>"),
            "{page}"
        );
        assert_eq!(cell(&json!({ "variant": "x" }), "ops.*.errors"), "?");
    }
}
