//! `feedlab report` on live runs: a saved comparison's reports rebuilt byte for byte, the
//! `.hlog`s of a live run read back with hdrhistogram's interval-log reader and matching its
//! summary, two generators' logs merged into one generator's percentiles, and two generators
//! driving one served target merged into one report. Unusable input: `tests/report_cmd_input.rs`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{field, run, spec};
use feedlab_workload::hlog::{HistogramLog, Interval, latency_histogram, read_log};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

use common::files::{feedlab, ok, read_json, write_json};

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

/// Ends the served target when the test ends, passed or not.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn two_generators_driving_one_served_target_merge_into_one_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.args([
        "serve",
        "--write-addr",
        "127.0.0.1:0",
        "--read-addr",
        "127.0.0.1:0",
    ])
    .args([
        "--shards",
        "4",
        "--replicas",
        "1",
        "--fanout",
        "push",
        "--data",
    ])
    .arg(dir.path().join("served"));
    let (child, write, read) = common::serve::spawn(cmd).expect("serve");
    let _served = Served(child);
    let gens: Vec<PathBuf> = (0..2).map(|g| dir.path().join(format!("gen{g}"))).collect();
    let runs: Vec<_> = gens
        .iter()
        .enumerate()
        .map(|(g, out)| {
            let mut s = spec("push", "push", "http");
            s["seed"] = json!(7 + g);
            s["population"]["scale"] = json!(0.00005);
            s["target"]["write-url"] = json!(write);
            s["target"]["read-url"] = json!(read);
            let out = out.clone();
            std::thread::spawn(move || run(&out, &s))
        })
        .collect();
    let parts: Vec<Value> = runs
        .into_iter()
        .map(|t| t.join().expect("generator"))
        .collect();
    for g in &gens {
        assert!(
            g.join("push/feed.hlog").is_file(),
            "an external run writes its .hlogs"
        );
    }

    let merged = dir.path().join("merged");
    ok(&feedlab(&[
        Path::new("report"),
        &gens[0],
        &gens[1],
        Path::new("--out"),
        &merged,
    ]));
    let m = read_json(&merged.join("push/summary.json"));
    assert_eq!(m["generators"], 2);
    assert_eq!(field(&m, "config.transport"), "external");
    for op in ["feed", "upload", "photo_get"] {
        let n: Vec<u64> = parts
            .iter()
            .map(|p| p["ops"][op]["count"].as_u64().expect("n"))
            .collect();
        assert!(n.iter().all(|&n| n > 0), "{op}: {n:?}");
        assert_eq!(m["ops"][op]["count"].as_u64(), Some(n.iter().sum()), "{op}");
        // A quantile of the union lies between the generators' quantiles.
        let p99 = |v: &Value| v["ops"][op]["p99_ms"].as_f64().expect("p99");
        let (lo, hi) = (
            p99(&parts[0]).min(p99(&parts[1])),
            p99(&parts[0]).max(p99(&parts[1])),
        );
        assert!(
            (lo..=hi).contains(&p99(&m)),
            "{op}: {} not in {lo}..={hi}",
            p99(&m)
        );
    }
    hlogs_match_summary(&merged.join("push"));
    assert!(merged.join("report.html").is_file());
}
