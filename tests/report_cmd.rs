//! `feedlab report`: a saved comparison's reports rebuilt byte for byte, the `.hlog`s of a live
//! run read back with hdrhistogram's interval-log reader and matching its summary, two
//! generators' logs merged into one generator's percentiles, and unusable input refused with one
//! line naming the file and exit code 2.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{field, run, spec};
use feedlab_workload::hlog::{HistogramLog, Interval, latency_histogram, read_log};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

fn feedlab(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab")
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, serde_json::to_string_pretty(v).expect("json")).expect("write");
}

fn hlog(path: &Path) -> HistogramLog {
    read_log(&std::fs::read(path).expect("read .hlog")).expect("parse .hlog")
}

/// The report files of a comparison directory, by path relative to it.
fn report_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in ["comparison.json", "report.md", "report.html"] {
        files.insert(name.into(), std::fs::read(dir.join(name)).expect(name));
    }
    for svg in std::fs::read_dir(dir.join("plots")).expect("plots") {
        let p = svg.expect("entry").path();
        let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
        files.insert(rel, std::fs::read(&p).expect("svg"));
    }
    files
}

/// Checks that each op's `.hlog` holds exactly the latencies its summary counts, with the same
/// percentiles (the logs and the summary record the same values at the same precision).
fn hlogs_match_summary(vdir: &Path) {
    let s = read_json(&vdir.join("summary.json"));
    for (op, o) in field(&s, "ops").as_object().expect("ops") {
        let count = o["count"].as_u64().expect("count");
        let path = vdir.join(format!("{op}.hlog"));
        if count == 0 {
            assert!(!path.exists(), "{op} had no success");
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("hlog");
        assert_eq!(text.matches("#[StartTime: ").count(), 1, "{text}");
        assert_eq!(text.matches("#[BaseTime: ").count(), 1, "{text}");
        let total = hlog(&path).total().expect("total");
        assert_eq!(total.len(), count, "{op}");
        for (q, key) in [(0.5, "p50_ms"), (0.99, "p99_ms"), (0.999, "p999_ms")] {
            let ms = total.value_at_quantile(q) as f64 / 1_000.0;
            assert_eq!(ms, o[key].as_f64().expect("ms"), "{op} {key}");
        }
    }
    let visible = field(&s, "fanout.freshness_visible").as_u64().expect("n");
    if visible > 0 {
        let total = hlog(&vdir.join("freshness.hlog")).total().expect("total");
        assert_eq!(total.len(), visible);
    }
}

#[test]
fn report_rebuilds_a_compare_byte_for_byte_and_its_hlogs_match_the_summaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("cmp");
    let mut files = Vec::new();
    for (v, fanout) in [("push", "push"), ("pull", "pull")] {
        let f = dir.path().join(format!("{v}.json"));
        std::fs::write(&f, spec(v, fanout, "http").to_string()).expect("spec");
        files.push(f);
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.arg("compare").args(&files).arg("--out").arg(&out);
    ok(&cmd.output().expect("compare"));
    let before = report_files(&out);
    for name in ["report.md", "report.html"] {
        std::fs::remove_file(out.join(name)).expect("rm");
    }
    std::fs::remove_dir_all(out.join("plots")).expect("rm plots");
    // comparison.json holds the variants' order; it is rewritten in its canonical form.
    let compact = read_json(&out.join("comparison.json")).to_string();
    std::fs::write(out.join("comparison.json"), compact).expect("write");

    ok(&feedlab(&[Path::new("report"), &out]));
    let after = report_files(&out);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &before {
        assert!(after[name] == *bytes, "{} differs", name.display());
    }
    for v in ["tiny-push", "tiny-pull"] {
        hlogs_match_summary(&out.join(v));
    }

    // Into another directory: the same reports, with the variants' files copied.
    let copy = dir.path().join("copy");
    ok(&feedlab(&[
        Path::new("report"),
        &out,
        Path::new("--out"),
        &copy,
    ]));
    assert_eq!(report_files(&copy), before);
    assert!(copy.join("tiny-push/summary.json").is_file());
    assert!(copy.join("tiny-push/feed.hlog").is_file());
}

/// Splits `h` into two histograms, alternating the counts of each value.
fn split(h: &Histogram<u64>) -> (Histogram<u64>, Histogram<u64>) {
    let (mut a, mut b) = (latency_histogram(), latency_histogram());
    let mut turn = false;
    for v in h.iter_recorded() {
        let n = v.count_at_value();
        let (na, nb) = (
            n / 2 + u64::from(turn && n % 2 == 1),
            n / 2 + u64::from(!turn && n % 2 == 1),
        );
        turn ^= n % 2 == 1;
        for (half, k) in [(&mut a, na), (&mut b, nb)] {
            if k > 0 {
                half.record_n(v.value_iterated_to(), k).expect("in range");
            }
        }
    }
    (a, b)
}

/// One generator's share of a run: its half of every log (the second generator's clock started
/// 0.3 s later) and a summary counting that half; the first also counts every failure.
fn generator(run: &Path, into: &Path, second: bool) {
    std::fs::create_dir_all(into.join("push")).expect("mkdir");
    std::fs::copy(run.join("comparison.json"), into.join("comparison.json")).expect("cp");
    let mut s = read_json(&run.join("push/summary.json"));
    let pick = |h: &Histogram<u64>| if second { split(h).1 } else { split(h).0 };
    let shift = Duration::from_millis(if second { 300 } else { 0 });
    let mut names: Vec<String> = s["ops"].as_object().expect("ops").keys().cloned().collect();
    names.push("freshness".into());
    for name in names {
        let from = run.join(format!("push/{name}.hlog"));
        if !from.exists() {
            continue;
        }
        let log = hlog(&from);
        let half = HistogramLog {
            start: log.start + shift,
            base: log.base + shift,
            intervals: log
                .intervals
                .iter()
                .map(|i| Interval {
                    histogram: pick(&i.histogram),
                    ..i.clone()
                })
                .collect(),
        };
        let n = half.total().expect("total").len();
        if name == "freshness" {
            s["fanout"]["freshness_visible"] = json!(n);
        } else {
            s["ops"][&name]["count"] = json!(n);
            s["ops"][&name]["rate_per_s"] = json!(n as f64 / s["duration_s"].as_f64().expect("d"));
        }
        let mut bytes = Vec::new();
        half.write(&mut bytes).expect("write");
        std::fs::write(into.join(format!("push/{name}.hlog")), bytes).expect("write");
    }
    if second {
        // The first generator holds every error, drop and freshness probe count.
        for o in s["ops"].as_object_mut().expect("ops").values_mut() {
            for key in ["errors", "dropped", "shed"] {
                o[key] = json!(0);
            }
            o["error_codes"] = json!({});
        }
        s["fanout"]["freshness_probed"] = json!(0);
        s["fanout"]["freshness_timeouts"] = json!(0);
    }
    write_json(&into.join("push/summary.json"), &s);
}

#[test]
fn two_generators_hlogs_merge_into_one_generators_percentiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = dir.path().join("one");
    let whole = run(&one, &spec("push", "push", "http"));
    let (a, b, merged) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("m"),
    );
    generator(&one, &a, false);
    generator(&one, &b, true);

    ok(&feedlab(&[
        Path::new("report"),
        &a,
        &b,
        Path::new("--out"),
        &merged,
    ]));
    let m = read_json(&merged.join("push/summary.json"));
    assert_eq!(m["generators"], 2);
    assert!(m.get("series").is_none());
    let close = |x: f64, y: f64| (x - y).abs() <= 0.001 * x.abs().max(y.abs()) + 1e-9;
    for (op, o) in whole["ops"].as_object().expect("ops") {
        let mo = &m["ops"][op];
        assert_eq!(mo["count"], o["count"], "{op}");
        assert_eq!(
            mo["errors"], o["errors"],
            "{op}: the first generator's errors"
        );
        for key in [
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
            "rate_per_s",
        ] {
            let (x, y) = (mo[key].as_f64().expect("n"), o[key].as_f64().expect("n"));
            assert!(close(x, y), "{op} {key}: merged {x}, one generator {y}");
        }
        assert_eq!(mo["percentiles"], o["percentiles"], "{op}");
    }
    for key in ["freshness_p50_ms", "freshness_p99_ms"] {
        let (x, y) = (
            m["fanout"][key].as_f64().expect("n"),
            whole["fanout"][key].as_f64().expect("n"),
        );
        assert!(close(x, y), "{key}: merged {x}, one generator {y}");
    }
    assert_eq!(m["target"]["met"], whole["target"]["met"]);
    hlogs_match_summary(&merged.join("push"));
    assert!(merged.join("report.html").is_file());
}

/// A summary with the contract's fields and `feed_count` successful feed reads.
fn summary(scenario: &str, variant: &str, feed_count: u64) -> Value {
    let op = json!({ "count": feed_count, "errors": 0, "dropped": 0, "rate_per_s": 1.0,
        "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.0, "p999_ms": 4.0, "max_ms": 5.0 });
    json!({ "feedlab": "0", "scenario": scenario, "variant": variant, "seed": 1, "mode": "live",
        "config": { "fanout": "push", "sharding": "user", "meta": "embedded", "blob": "local" },
        "population": { "users": 10, "materialized_users": 10, "follows": 5, "alpha": 2.0,
                        "mean_followees": 0.5, "max_followers": 3 },
        "duration_s": 1.0, "ops": { "feed": op },
        "fanout": { "timeline_writes": 0, "writes_per_upload": 0.0, "freshness_p50_ms": 0.0,
                    "freshness_p99_ms": 0.0 },
        "shards": { "count": 1, "load_max_over_mean": 1.0 },
        "storage": { "meta_bytes": 0, "blob_bytes": 0, "timeline_bytes": 0 },
        "target": { "feed_p99_ms": 200.0, "met": true } })
}

/// Runs `feedlab report ARGS`, expects exit code 2 and one line of error naming `names`.
fn refused(args: &[&Path], names: &Path) {
    let mut all = vec![Path::new("report")];
    all.extend_from_slice(args);
    let out = feedlab(&all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&names.display().to_string()), "{err}");
}

#[test]
fn report_refuses_unusable_input_with_exit_code_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (empty, missing) = (d.join("empty"), d.join("missing"));
    std::fs::create_dir_all(&empty).expect("mkdir");
    refused(&[&empty], &empty);
    refused(&[&missing], &missing);

    // A directory of summaries without comparison.json is rebuilt from them, by name.
    let g1 = d.join("g1");
    write_json(&g1.join("v/summary.json"), &summary("s", "v", 3));
    ok(&feedlab(&[Path::new("report"), &g1]));
    assert_eq!(
        read_json(&g1.join("comparison.json"))["variants"][0]["summary"],
        "v/summary.json"
    );
    assert!(g1.join("report.html").is_file());

    let bad = d.join("bad");
    std::fs::create_dir_all(bad.join("v")).expect("mkdir");
    std::fs::write(bad.join("v/summary.json"), "{ not json").expect("write");
    refused(&[&bad], &bad.join("v/summary.json"));

    let other = d.join("other");
    write_json(&other.join("v/summary.json"), &summary("another", "v", 3));
    ok(&feedlab(&[Path::new("report"), &other]));
    refused(&[&g1, &other], &other.join("comparison.json"));

    let renamed = d.join("renamed");
    write_json(&renamed.join("w/summary.json"), &summary("s", "w", 3));
    refused(&[&g1, &renamed], &renamed);

    // Merging needs each generator's .hlog files.
    let g2 = d.join("g2");
    write_json(&g2.join("v/summary.json"), &summary("s", "v", 3));
    refused(
        &[&g1, &g2, Path::new("--out"), &d.join("m")],
        &g1.join("v/feed.hlog"),
    );
    refused(&[&g1, &g2, Path::new("--out"), &g1], &g1);
}
