//! The terminal table printed at the end of every run, comparison and simulation: one row
//! per variant from the typed summary, a column only where some variant has a value, and
//! the validation queue's figures next to theory for an M/M/c run.

use crate::summary::{OpStats, QueueCheck, Summary};

/// Column headers; a cell of `-` means the variant has no such figure.
const HEADER: [&str; 15] = [
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
    "timeline writes/s",
    "shard skew",
    "max shard util",
    "bottleneck",
    "met target",
];

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{:.0}%", 100.0 * x))
}

/// A count summed over every op kind, "-" when the summary has no ops.
fn total(s: &Summary, f: fn(&OpStats) -> u64) -> String {
    if s.ops.is_empty() {
        return "-".into();
    }
    s.ops.values().map(f).sum::<u64>().to_string()
}

fn op<'a>(s: &'a Summary, name: &str) -> Option<&'a OpStats> {
    s.ops.get(name)
}

/// `sim.bottleneck` with its utilisation, e.g. `box-cpu 93%`.
fn bottleneck(s: &Summary) -> String {
    let Some(sim) = &s.sim else {
        return "-".into();
    };
    match (&sim.bottleneck, sim.bottleneck_utilisation) {
        (Some(name), Some(u)) => format!("{name} {:.0}%", 100.0 * u),
        (Some(name), None) => name.clone(),
        _ => "-".into(),
    }
}

/// The row of one summary, in [`HEADER`] order.
fn row(s: &Summary) -> Vec<String> {
    let sim = s.sim.as_ref();
    vec![
        s.variant.clone(),
        ms(op(s, "feed").map(|o| o.p50_ms)),
        ms(op(s, "feed").map(|o| o.p99_ms)),
        ms(op(s, "upload").map(|o| o.p99_ms)),
        ms(Some(s.fanout.freshness_p99_ms)),
        total(s, |o| o.errors),
        total(s, |o| o.dropped),
        total(s, |o| o.shed),
        ms(Some(s.fanout.writes_per_upload)),
        s.fanout
            .top_author
            .as_ref()
            .map_or("-".into(), |a| a.writes_per_upload.to_string()),
        ms(s.fanout.timeline_writes_per_s),
        format!("{:.2}", s.shards.load_max_over_mean),
        pct(sim.and_then(|x| x.max_shard_utilisation)),
        bottleneck(s),
        verdict(s),
    ]
}

/// The "met target" cell: yes with the feed target, or no with the targets broken (a summary
/// that lists none, from an older feedlab, gets the first of no feed read, the feed p99 over
/// its target and the freshness p99 over its target).
fn verdict(s: &Summary) -> String {
    let t = s.target.feed_p99_ms;
    if s.target.met {
        return format!("yes (≤ {t:.0} ms)");
    }
    if !s.target.breaches.is_empty() {
        let reasons: Vec<String> = s.target.breaches.iter().map(|b| b.reason()).collect();
        return format!("no ({})", reasons.join(", "));
    }
    let feed = op(s, "feed").filter(|o| o.count > 0);
    match (feed, s.target.freshness_p99_s) {
        (None, _) => "no (no feed read)".into(),
        (Some(f), _) if f.p99_ms > t => format!("no (> {t:.0} ms)"),
        (_, Some(fresh)) if s.fanout.freshness_p99_ms > fresh * 1000.0 => {
            format!("no (freshness > {fresh:.0} s)")
        }
        _ => format!("no (> {t:.0} ms)"),
    }
}

/// The table of `summaries`: the queue figures of each validation-queue run, then one row
/// per other summary (see the module docs).
pub fn render(summaries: &[Summary]) -> String {
    let mut out = String::new();
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for s in summaries {
        match s.sim.as_ref().and_then(|x| x.queue.as_ref()) {
            Some(q) => out.push_str(&queue_table(&s.variant, q)),
            None => rows.push(row(s)),
        }
    }
    if rows.len() > 1 {
        let keep: Vec<usize> = (0..HEADER.len())
            .filter(|&c| c == 0 || rows[1..].iter().any(|r| r[c] != "-"))
            .collect();
        let rows: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| keep.iter().map(|&c| r[c].as_str()).collect())
            .collect();
        out.push_str(&aligned(&rows));
    }
    out
}

/// `rows` (the first is the header) in aligned columns, a rule under the header.
fn aligned(rows: &[Vec<&str>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
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

/// The validation queue's figures next to theory.
fn queue_table(variant: &str, q: &QueueCheck) -> String {
    format!(
        "{variant}: M/M/{} λ={} μ={} ρ={:.3} ({} customers)\n\
         {:<10} {:>12} {:>12} {:>8}\n\
         {:<10} {:>12.6} {:>12.6} {:>+7.2}%\n\
         {:<10} {:>12.6} {:>12.6} {:>+7.2}%\n",
        q.workers,
        q.arrival_rate,
        q.service_rate,
        q.rho_theory,
        q.customers,
        "wait (s)",
        "simulated",
        "theory",
        "error",
        "mean",
        q.mean_wait_s,
        q.mean_wait_theory_s,
        100.0 * q.mean_wait_error,
        "p99",
        q.p99_wait_s,
        q.p99_wait_theory_s,
        100.0 * q.p99_wait_error,
    )
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::summary::{OpStats, Summary};

    fn summary(variant: &str, photo_errors: u64, feed_dropped: u64) -> Summary {
        let mut s = Summary {
            variant: variant.into(),
            ..Summary::default()
        };
        let op = |errors, dropped, shed, p99_ms| OpStats {
            count: 10,
            errors,
            dropped,
            shed,
            p99_ms,
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), op(2, feed_dropped, 0, 9.0));
        s.ops
            .insert("photo_get".into(), op(photo_errors, 0, 0, 3.0));
        s.ops.insert("upload".into(), op(0, 1, 5, 20.0));
        s.target.feed_p99_ms = 200.0;
        s.target.met = true;
        s
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
        assert_eq!(push[col("shed")], "5", "{t}");
        assert_eq!(push[col("met target")], "yes (≤ 200 ms)", "{t}");
        let pull = cells(&t, 2);
        assert_eq!((pull[errors].as_str(), pull[drops].as_str()), ("2", "1"));
        assert!(
            !header.contains(&"bottleneck".to_string()),
            "no sim column:\n{t}"
        );
    }

    #[test]
    fn a_missed_target_says_which() {
        let verdict_of = |s: &Summary| {
            let t = render(std::slice::from_ref(s));
            let header = cells(&t, 0);
            let col = header.iter().position(|h| h == "met target").expect("col");
            cells(&t, 1)[col].clone()
        };
        let mut s = summary("push", 0, 0);
        s.target.met = false;
        s.target.freshness_p99_s = Some(5.0);
        s.ops.get_mut("feed").expect("feed").p99_ms = 250.0;
        assert_eq!(verdict_of(&s), "no (> 200 ms)");
        s.ops.get_mut("feed").expect("feed").p99_ms = 20.0;
        s.fanout.freshness_p99_ms = 7_000.0;
        assert_eq!(verdict_of(&s), "no (freshness > 5 s)");
        s.ops.get_mut("feed").expect("feed").count = 0;
        assert_eq!(verdict_of(&s), "no (no feed read)");

        // Fast feeds, but 906 of 943 ops dropped and 7 of 37 failed (every op kind counts).
        let mut fast = summary("push", 5, 900);
        fast.judge(&fast.rules());
        assert_eq!(
            verdict_of(&fast),
            "no (dropped or shed 96.08% > 0.10%, errors 18.92% > 0.10%)"
        );
    }

    #[test]
    fn a_summary_without_ops_shows_dashes() {
        let t = render(&[Summary {
            variant: "empty".into(),
            ..Summary::default()
        }]);
        let header = cells(&t, 0);
        let row = cells(&t, 1);
        assert!(!header.contains(&"errors".to_string()), "{t}");
        assert_eq!(row.len(), header.len());
    }
}
