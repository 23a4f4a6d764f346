//! The terminal table printed at the end of every run and comparison.

use serde_json::Value;

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}"))
}

/// A count summed over every op kind (`field` of each `ops` entry), "-"
/// when the summary has no ops.
fn total(v: &Value, field: &str) -> String {
    crate::report::num(v, &format!("ops.*.{field}"))
        .map_or_else(|| "-".into(), |x| format!("{x:.0}"))
}

/// One row per summary: feed p50/p99, upload p99, freshness p99, errors,
/// drops and ops shed under overload (503) over all op kinds, timeline
/// writes per upload (mean, and at the top author), shard skew and whether
/// the feed target was met.
pub fn render(summaries: &[Value]) -> String {
    let header = [
        "variant",
        "feed p50 ms",
        "feed p99 ms",
        "upload p99 ms",
        "fresh p99 ms",
        "errors",
        "drops",
        "shed",
        "writes/upload",
        "top-author writes",
        "shard skew",
        "met target",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for s in summaries {
        let target = num(s, &["target", "feed_p99_ms"]).unwrap_or(crate::spec::DEFAULT_FEED_P99_MS);
        let met = s
            .get("target")
            .and_then(|t| t.get("met"))
            .and_then(Value::as_bool);
        rows.push(vec![
            s.get("variant")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            ms(num(s, &["ops", "feed", "p50_ms"])),
            ms(num(s, &["ops", "feed", "p99_ms"])),
            ms(num(s, &["ops", "upload", "p99_ms"])),
            ms(num(s, &["fanout", "freshness_p99_ms"])),
            total(s, "errors"),
            total(s, "dropped"),
            total(s, "shed"),
            ms(num(s, &["fanout", "writes_per_upload"])),
            num(s, &["fanout", "top_author", "writes_per_upload"])
                .map_or("-".into(), |x| format!("{x:.0}")),
            num(s, &["shards", "load_max_over_mean"]).map_or("-".into(), |x| format!("{x:.2}")),
            match met {
                Some(true) => format!("yes (≤ {target:.0} ms)"),
                Some(false) => format!("no (> {target:.0} ms)"),
                None => "-".into(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, w))| {
                if c == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::render;

    fn summary(variant: &str, photo_errors: u64, feed_dropped: u64) -> serde_json::Value {
        json!({
            "variant": variant,
            "ops": {
                "feed": { "count": 100, "errors": 2, "dropped": feed_dropped,
                          "p50_ms": 1.5, "p99_ms": 9.0 },
                "photo_get": { "count": 50, "errors": photo_errors, "dropped": 0, "p99_ms": 3.0 },
                "upload": { "count": 10, "errors": 0, "dropped": 1, "shed": 5, "p99_ms": 20.0 },
            },
            "target": { "feed_p99_ms": 200.0, "met": true },
        })
    }

    /// The cells of `row` (0: the header) of a rendered table.
    fn cells(table: &str, row: usize) -> Vec<String> {
        let line = table.lines().filter(|l| !l.starts_with('-')).nth(row);
        let line = line.expect("row exists");
        line.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn errors_and_drops_are_summed_over_op_kinds() {
        let t = render(&[summary("push", 7, 3), summary("pull", 0, 0)]);
        let header = cells(&t, 0);
        let col = |name: &str| header.iter().position(|h| h == name).expect(name);
        let (errors, drops) = (col("errors"), col("drops"));
        let push = cells(&t, 1);
        assert_eq!(push[0], "push");
        assert_eq!(push[errors], "9", "2 feed + 7 photo_get errors:\n{t}");
        assert_eq!(push[drops], "4", "3 feed + 1 upload drops:\n{t}");
        assert_eq!(
            push[col("shed")],
            "5",
            "ops without the field shed none:\n{t}"
        );
        let pull = cells(&t, 2);
        assert_eq!((pull[errors].as_str(), pull[drops].as_str()), ("2", "1"));
    }

    #[test]
    fn a_summary_without_ops_shows_dashes() {
        let t = render(&[json!({ "variant": "empty" })]);
        let header = cells(&t, 0);
        let row = cells(&t, 1);
        let errors = header
            .iter()
            .position(|h| h == "errors")
            .expect("errors column");
        assert_eq!(row[errors], "-");
        assert_eq!(row.len(), header.len());
    }
}
