//! The terminal table printed at the end of every run and comparison.

use serde_json::Value;

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}"))
}

/// One row per summary: feed p50/p99, upload p99, freshness p99, timeline
/// writes per upload (mean, and at the top author), shard skew and whether
/// the feed target was met.
pub fn render(summaries: &[Value]) -> String {
    let header = [
        "variant",
        "feed p50 ms",
        "feed p99 ms",
        "upload p99 ms",
        "fresh p99 ms",
        "writes/upload",
        "top-author writes",
        "shard skew",
        "met target",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for s in summaries {
        let target = num(s, &["target", "feed_p99_ms"]).unwrap_or(200.0);
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
