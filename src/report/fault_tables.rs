//! The fault tables of a run whose summaries list `faults`, in Markdown and HTML: the
//! windows (kind, target, start, length, peak feed p99, failed ops, time to recover, peak
//! freshness p99 and its time to recover), the
//! failures by error code per variant, and the invariants checked after the run. Both
//! renderings return an empty string when no summary lists faults, so other reports do not
//! change.

use std::collections::{BTreeMap, BTreeSet};

use super::faults::any;
use super::html::esc;
use crate::summary::Summary;

/// One table: heading, a note under it, column heads and rows of cells.
struct Table {
    title: &'static str,
    note: &'static str,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Free lines after the table (the violations).
    after: Vec<String>,
}

fn opt_ms(v: Option<f64>, none: &str) -> String {
    v.map_or(none.to_string(), |v| format!("{v:.1}"))
}

/// The windows of every variant, in scenario order.
fn windows(summaries: &[Summary]) -> Table {
    let head = [
        "variant",
        "kind",
        "target",
        "start s",
        "length s",
        "peak feed p99 ms",
        "failed ops",
        "recovered after s",
        "peak freshness p99 s",
        "freshness back after s",
    ];
    let rows = summaries
        .iter()
        .flat_map(|s| s.faults.iter().map(move |f| (s, f)))
        .map(|(s, f)| {
            vec![
                s.variant.clone(),
                f.kind.clone(),
                f.target.clone(),
                format!("{:.1}", f.at_s),
                format!("{:.1}", f.for_s),
                opt_ms(f.peak_feed_p99_ms, "no feed read"),
                f.failed.to_string(),
                opt_ms(f.recovery_s, "not within the run"),
                opt_ms(
                    f.peak_freshness_p99_ms.map(|ms| ms / 1000.0),
                    "no upload probed",
                ),
                opt_ms(f.freshness_recovery_s, "not within the run"),
            ]
        })
        .collect();
    Table {
        title: "Fault windows",
        note: "Seconds on the driver's clock, as in the shaded charts. Failed ops: errors and \
               503s of every op kind in the window. Recovered: from the window's end to the \
               first second with the feed p99 under the target and at least 90% of the feed \
               goodput before the window. Freshness: the p99 delay from an upload's \
               acknowledgement to its visibility in followers' feeds, of the uploads intended \
               in each second; back: from the window's end to the first second whose uploads \
               are within the freshness target. A live run probes the share of its uploads \
               that `driver.freshness-sample` says.",
        head: head.iter().map(ToString::to_string).collect(),
        rows,
        after: Vec::new(),
    }
}

/// Failures by code, summed over op kinds, one column per variant.
fn codes(summaries: &[Summary]) -> Table {
    let per: Vec<BTreeMap<&str, u64>> = summaries
        .iter()
        .map(|s| {
            let mut m = BTreeMap::new();
            for (code, n) in s.ops.values().flat_map(|o| &o.failure_codes) {
                *m.entry(code.as_str()).or_default() += n;
            }
            m
        })
        .collect();
    let all: BTreeSet<&str> = per.iter().flat_map(|m| m.keys().copied()).collect();
    let mut head = vec!["code".to_string()];
    head.extend(summaries.iter().map(|s| s.variant.clone()));
    let rows = all
        .iter()
        .map(|code| {
            let mut row = vec![(*code).to_string()];
            row.extend(
                per.iter()
                    .map(|m| m.get(code).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    Table {
        title: "Failures by code",
        note: "Failed and shed ops of the whole run, all op kinds, by the service's error code \
               (`unavailable`: a shard was down; `overloaded`: admission control; `not_found`, \
               `internal`, …), or the driver's where no answer carried one (`timeout`, \
               `no_photo`, …).",
        head,
        rows,
        after: Vec::new(),
    }
}

/// The invariants each variant's run checked, and the violations.
fn invariants(summaries: &[Summary]) -> Table {
    let head = [
        "variant",
        "held",
        "uploads checked",
        "users sampled",
        "searches",
        "entries checked",
        "deletes",
        "violations",
    ];
    let mut rows = Vec::new();
    let mut after = Vec::new();
    for s in summaries {
        let Some(i) = &s.invariants else {
            rows.push(vec![s.variant.clone(), "not checked".into()]);
            continue;
        };
        rows.push(vec![
            s.variant.clone(),
            if i.held { "yes" } else { "no" }.into(),
            format!(
                "{} of {} ({})",
                i.uploads_checked, i.uploads_acknowledged, i.uploads_selection
            ),
            i.users_sampled.to_string(),
            i.searches.to_string(),
            i.entries_checked.to_string(),
            i.deletes.to_string(),
            i.violations.len().to_string(),
        ]);
        for v in &i.violations {
            let line = format!("{}: {}: {}", s.variant, v.invariant.name(), v.detail);
            after.push(line);
        }
    }
    Table {
        title: "Invariants after the faults",
        note: "Acknowledged uploads read back byte-identical (length and BLAKE3); sampled \
               feeds, photo lists and searches name no missing photo; photos the checker \
               deleted before the last window answer 404 and are listed nowhere.",
        head: head.iter().map(ToString::to_string).collect(),
        rows,
        after,
    }
}

fn tables(summaries: &[Summary]) -> Vec<Table> {
    if !any(summaries) {
        return Vec::new();
    }
    vec![windows(summaries), codes(summaries), invariants(summaries)]
}

/// The fault tables in Markdown (empty without faults).
pub fn markdown(summaries: &[Summary]) -> String {
    let mut out = String::new();
    for t in tables(summaries) {
        out.push_str(&format!("\n## {}\n\n{}\n\n", t.title, t.note));
        out.push_str(&format!("| {} |\n|", t.head.join(" | ")));
        out.push_str(&"---|".repeat(t.head.len()));
        out.push('\n');
        for r in &t.rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        for line in &t.after {
            out.push_str(&format!("\n- {line}"));
        }
        if !t.after.is_empty() {
            out.push('\n');
        }
    }
    out
}

/// The fault tables in HTML (empty without faults).
pub fn html(summaries: &[Summary]) -> String {
    let mut out = String::new();
    for t in tables(summaries) {
        out.push_str(&format!(
            "<h2>{}</h2>\n<p>{}</p>\n<table><tr>",
            esc(t.title),
            esc(t.note)
        ));
        for h in &t.head {
            out.push_str(&format!("<th>{}</th>", esc(h)));
        }
        out.push_str("</tr>\n");
        for r in &t.rows {
            out.push_str("<tr>");
            for c in r {
                out.push_str(&format!("<td>{}</td>", esc(c)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        for line in &t.after {
            out.push_str(&format!("<p class=\"no\">{}</p>\n", esc(line)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::faults::tests::faulty;
    use super::*;
    use crate::summary::{Invariant, Invariants, OpStats, Violation};

    #[test]
    fn nothing_without_faults() {
        assert_eq!(markdown(&[Summary::default()]), "");
        assert_eq!(html(&[Summary::default()]), "");
    }

    #[test]
    fn windows_codes_and_invariants_per_variant() {
        let mut a = faulty("push");
        let op = |codes: &[(&str, u64)]| OpStats {
            failure_codes: codes.iter().map(|&(c, n)| (c.to_string(), n)).collect(),
            ..OpStats::default()
        };
        a.ops.insert("feed".into(), op(&[("unavailable", 5)]));
        a.ops
            .insert("search".into(), op(&[("unavailable", 2), ("timeout", 1)]));
        a.invariants = Some(Invariants {
            held: false,
            uploads_acknowledged: 9,
            uploads_checked: 8,
            uploads_selection: "all".into(),
            violations: vec![Violation {
                invariant: Invariant::Readback,
                detail: "photo 3 of user 1: read fails".into(),
            }],
            ..Invariants::default()
        });
        let b = faulty("hybrid");
        let md = markdown(&[a.clone(), b.clone()]);
        assert!(
            md.contains("| push | shard-down | shard 2 | 2.0 | 2.0 | 90.0 | 12 | 1.0 |"),
            "{md}"
        );
        assert!(md.contains("| unavailable | 7 | 0 |"), "{md}");
        assert!(md.contains("| timeout | 1 | 0 |"), "{md}");
        assert!(md.contains("| push | no | 8 of 9 (all) |"), "{md}");
        assert!(md.contains("| hybrid | not checked |"), "{md}");
        assert!(md.contains("- push: readback: photo 3 of user 1: read fails"));
        let page = html(&[a, b]);
        assert!(
            page.contains("<td>unavailable</td><td>7</td><td>0</td>"),
            "{page}"
        );
        assert!(
            page.contains("<p class=\"no\">push: readback: photo 3"),
            "{page}"
        );
    }
}
