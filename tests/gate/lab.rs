//! Fixtures of `tests/gate.rs`: synthetic summaries and comparisons in a temp dir (`Lab`),
//! and helpers that run the real binary and read its table, JUnit XML and `gate.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use serde_json::{Value, json};

/// An older summary: every contract field, no series, work or provenance.
pub fn summary(variant: &str, feed_p99_ms: f64) -> Value {
    let op = |count: u64, p50: f64, p99: f64| {
        json!({ "count": count, "errors": 0, "dropped": 0, "rate_per_s": count as f64 / 30.0,
                "p50_ms": p50, "p90_ms": p50 * 2.0, "p99_ms": p99, "p999_ms": p99 * 1.5,
                "max_ms": p99 * 2.0, "error_codes": {} })
    };
    json!({
        "feedlab": "0.1.0", "scenario": "quickstart", "variant": variant, "seed": 42, "mode": "live",
        "config": { "fanout": variant, "sharding": "user", "meta": "embedded", "blob": "local" },
        "population": { "users": 300_000_000u64, "materialized_users": 100_000, "follows": 2_000_000,
                        "alpha": 2.1, "mean_followees": 200.0, "max_followers": 7_431 },
        "duration_s": 30.0,
        "ops": { "feed": op(9_000, 4.2, feed_p99_ms), "upload": op(700, 11.0, 48.0),
                 "photo_get": op(20_000, 0.8, 3.1), "search": op(300, 2.5, 9.0),
                 "follow": op(150, 1.9, 6.0) },
        "fanout": { "timeline_writes": 140_000, "writes_per_upload": 200.0,
                    "freshness_p50_ms": 40.0, "freshness_p99_ms": 180.0 },
        "shards": { "count": 4, "load_max_over_mean": 1.3 },
        "storage": { "meta_bytes": 52_000_000, "blob_bytes": 140_000_000, "timeline_bytes": 2_240_000 },
        "target": { "feed_p99_ms": 200.0, "met": feed_p99_ms <= 200.0 }
    })
}

/// A current-format summary: 30 s of per-second windows jittered by
/// `phase` (two phases are alike, never identical), work counters, shard
/// call times and provenance.
pub fn live(variant: &str, phase: u64) -> Value {
    let mut v = summary(variant, 35.0);
    let kinds = [
        ("feed", 300, 4.0, 30.0, 400.0),
        ("upload", 23, 11.0, 40.0, 900.0),
        ("photo_get", 660, 0.8, 3.0, 60.0),
    ];
    let mut series = Vec::new();
    for s in 0..30u64 {
        for (i, (kind, count, p50, p99, cpu)) in kinds.into_iter().enumerate() {
            let j = 0.95 + (((s + phase) * 7 + i as u64 * 3) % 11) as f64 / 100.0;
            let w = json!({ "second": s, "kind": kind, "count": count, "errors": 0,
                            "dropped": 0, "p50_ms": p50 * j, "p99_ms": p99 * j, "cpu_us": cpu * j });
            series.push(w);
        }
    }
    let work = |ops: u64, calls: f64, cpu: f64| {
        json!({ "ops": ops, "storage_calls": calls, "keys_read": calls * 10.0, "rows_written": 0.5,
                "fsyncs": 0.1, "blob_bytes_read": 0.0, "blob_bytes_written": 0.0, "cpu_us": cpu })
    };
    v["series"] = json!(series);
    v["work"] = json!({ "feed": work(9_000, 2.0, 400.0), "upload": work(700, 5.0, 900.0),
                        "photo_get": work(20_000, 1.0, 60.0), "search": work(300, 1.0, 50.0),
                        "follow": work(150, 2.0, 80.0) });
    v["shards"]["call_us"] = json!([40.0, 42.0, 39.0, 41.0]);
    v["shards"]["call_us_max"] = json!(42.0);
    v["provenance"] = json!({ "commit": "0123abc", "date": "2026-01-01T00:00:00Z", "cores": 2,
                              "load_avg": [1.0, 1.0, 1.0], "scenario_hash": "hash-q", "build": "release" });
    v
}

/// Multiplies `field` of every `kind` window of `v` by `factor`.
pub fn scale(v: &mut Value, kind: &str, field: &str, factor: f64) {
    for w in v["series"].as_array_mut().expect("series") {
        if w["kind"] == kind {
            w[field] = json!(w[field].as_f64().expect("number") * factor);
        }
    }
}

/// (test case, message) of JUnit failures or skips.
pub type Cases = Vec<(String, String)>;

/// A temp dir where the gate runs (`--out .`), with its inputs.
pub struct Lab(pub tempfile::TempDir);

impl Lab {
    pub fn new() -> Lab {
        Lab(tempfile::tempdir().expect("tempdir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    pub fn put(&self, name: &str, value: &Value) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let text = serde_json::to_string_pretty(value).expect("json");
        std::fs::write(path, text).expect("write");
    }

    pub fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect(name)
    }

    /// Writes `DIR/<variant>/summary.json` per summary and `DIR/comparison.json`.
    pub fn comparison(&self, dir: &str, summaries: &[Value]) {
        let mut entries = Vec::new();
        for s in summaries {
            let v = s["variant"].as_str().expect("variant");
            self.put(&format!("{dir}/{v}/summary.json"), s);
            entries.push(json!({ "variant": v, "summary": format!("{v}/summary.json") }));
        }
        let c = json!({ "scenario": "quickstart", "variants": entries });
        self.put(&format!("{dir}/comparison.json"), &c);
    }

    /// `feedlab gate --baseline BASE --current CUR --out . EXTRA`, which must
    /// exit with `code`; returns stdout and stderr.
    pub fn gate(&self, base: &str, cur: &str, extra: &[&str], code: i32) -> (String, String) {
        let mut args = vec!["gate", "--baseline", base, "--current", cur];
        args.extend(["--out", "."].iter().chain(extra));
        exits(&feedlab(self.0.path(), &args, &[]), code)
    }

    /// The failures and skips in `junit.xml`.
    pub fn junit(&self) -> (Cases, Cases) {
        let report = Report::deserialize_from_str(&self.text("junit.xml")).expect("JUnit");
        let (mut failures, mut skips) = (Vec::new(), Vec::new());
        for case in report.test_suites.iter().flat_map(|s| &s.test_cases) {
            let (list, message) = match &case.status {
                TestCaseStatus::NonSuccess { kind, message, .. }
                    if *kind == NonSuccessKind::Failure =>
                {
                    (&mut failures, message)
                }
                TestCaseStatus::Skipped { message, .. } => (&mut skips, message),
                _ => continue,
            };
            let message = message.as_ref().map(|m| m.to_string());
            list.push((case.name.to_string(), message.unwrap_or_default()));
        }
        (failures, skips)
    }

    /// Asserts the names of the failed checks; returns their messages.
    pub fn failed(&self, want: &[&str]) -> Vec<String> {
        let (failures, _) = self.junit();
        let names: Vec<&str> = failures.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, want, "{failures:?}");
        failures.into_iter().map(|c| c.1).collect()
    }
}

/// Runs `feedlab ARGS` in `dir` with the GitHub variables unset, then `env`.
pub fn feedlab(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.current_dir(dir).args(args);
    cmd.env_remove("GITHUB_ACTIONS");
    cmd.env_remove("GITHUB_STEP_SUMMARY");
    cmd.envs(env.iter().copied()).output().expect("run feedlab")
}

/// Asserts the exit code (showing both streams if not); returns them.
pub fn exits(out: &Output, code: i32) -> (String, String) {
    let o = String::from_utf8_lossy(&out.stdout).to_string();
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    let shown = format!("--- stdout\n{o}--- stderr\n{e}");
    assert_eq!(out.status.code(), Some(code), "{shown}");
    (o, e)
}

/// Asserts that `text` contains every one of `parts`.
pub fn has(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} not in:\n{text}");
    }
}

/// The table row of `metric` in the gate's stdout.
pub fn row<'a>(stdout: &'a str, metric: &str) -> &'a str {
    let found = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{metric} ")));
    found.expect(metric)
}
