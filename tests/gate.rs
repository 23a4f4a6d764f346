//! `feedlab gate` end to end: the real binary on summary and comparison
//! files in a temp dir, checking exit codes, the table and the JUnit XML.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quick_junit::{NonSuccessKind, Report, TestCaseStatus};
use serde_json::{Value, json};

/// A summary with every contract field filled, as a live run writes it.
fn summary(variant: &str, feed_p99_ms: f64) -> Value {
    let op = |count: u64, rate: f64, p50: f64, p99: f64| {
        json!({ "count": count, "errors": 0, "dropped": 0, "rate_per_s": rate,
                "p50_ms": p50, "p90_ms": p50 * 2.0, "p99_ms": p99,
                "p999_ms": p99 * 1.5, "max_ms": p99 * 2.0 })
    };
    json!({
        "feedlab": "0.1.0", "scenario": "quickstart", "variant": variant, "seed": 42,
        "mode": "live",
        "config": { "fanout": variant, "sharding": "user", "meta": "embedded", "blob": "local" },
        "population": { "users": 300_000_000u64, "materialized_users": 100_000, "follows": 2_000_000,
                        "alpha": 2.1, "mean_followees": 200.0, "max_followers": 7_431 },
        "duration_s": 30.0,
        "ops": {
            "feed": op(9_000, 300.0, 4.2, feed_p99_ms),
            "upload": op(700, 23.1, 11.0, 48.0),
            "photo_get": op(20_000, 666.0, 0.8, 3.1),
            "search": op(300, 10.0, 2.5, 9.0),
            "follow": op(150, 5.0, 1.9, 6.0)
        },
        "fanout": { "timeline_writes": 140_000, "writes_per_upload": 200.0,
                    "freshness_p50_ms": 40.0, "freshness_p99_ms": 180.0 },
        "shards": { "count": 8, "load_max_over_mean": 1.3 },
        "storage": { "meta_bytes": 52_000_000, "blob_bytes": 140_000_000, "timeline_bytes": 2_240_000 },
        "target": { "feed_p99_ms": 200.0, "met": feed_p99_ms <= 200.0 }
    })
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(&path, serde_json::to_string_pretty(value).expect("json")).expect("write");
    path
}

/// Writes `DIR/<variant>/summary.json` for each variant and `DIR/comparison.json`.
fn comparison(dir: &Path, variants: &[(&str, f64)]) -> PathBuf {
    let entries: Vec<Value> = variants
        .iter()
        .map(|(v, p99)| {
            write(dir, &format!("{v}/summary.json"), &summary(v, *p99));
            json!({ "variant": v, "summary": format!("{v}/summary.json") })
        })
        .collect();
    write(
        dir,
        "comparison.json",
        &json!({ "scenario": "quickstart", "variants": entries }),
    )
}

/// Runs `feedlab gate` in `dir` with `--out dir`.
fn gate(dir: &Path, baseline: &Path, current: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .current_dir(dir)
        .arg("gate")
        .arg("--baseline")
        .arg(baseline)
        .arg("--current")
        .arg(current)
        .arg("--out")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run feedlab gate")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (suite, test case, message) of every `<failure>` in `dir/junit.xml`,
/// plus the number of test cases.
fn junit(dir: &Path) -> (Vec<(String, String, String)>, usize) {
    let xml = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml written");
    let report = Report::deserialize_from_str(&xml).expect("valid JUnit XML");
    let mut failures = Vec::new();
    let mut cases = 0;
    for suite in &report.test_suites {
        for case in &suite.test_cases {
            cases += 1;
            if let TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                ..
            } = &case.status
            {
                let message = message.as_ref().map(|m| m.to_string()).unwrap_or_default();
                failures.push((suite.name.to_string(), case.name.to_string(), message));
            }
        }
    }
    (failures, cases)
}

#[test]
fn baseline_against_itself_passes_with_clean_junit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let out = gate(dir.path(), &base, &base, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (failures, cases) = junit(dir.path());
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        cases >= 5,
        "one rule and four regression checks, got {cases}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("feed.p99_ms") && stdout.contains("PASS"),
        "{stdout}"
    );
}

#[test]
fn tripled_feed_p99_fails_naming_the_metric() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let cur = write(dir.path(), "cur.json", &summary("hybrid", 105.0));
    let out = gate(dir.path(), &base, &cur, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    assert_eq!(failures.len(), 1, "only the p99 regression: {failures:?}");
    let (_, case, message) = &failures[0];
    assert_eq!(case, "feed.p99_ms regression");
    for part in ["feed.p99_ms", "hybrid", "105", "35", "38.5"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAIL"),
        "{}",
        text(&out)
    );
}

#[test]
fn absolute_rule_breach_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Same value in both, so only the absolute rule can fail.
    let base = write(dir.path(), "base.json", &summary("push", 250.0));
    let out = gate(dir.path(), &base, &base, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    let cases: Vec<&str> = failures.iter().map(|f| f.1.as_str()).collect();
    assert_eq!(cases, ["feed.p99_ms <= 200"], "{failures:?}");
    assert!(failures[0].2.contains("250"), "{failures:?}");
}

#[test]
fn regression_within_tolerance_passes_and_tolerance_is_a_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let cur = write(dir.path(), "cur.json", &summary("hybrid", 38.0));
    let out = gate(dir.path(), &base, &cur, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "+8.6% is within 10%: {}",
        text(&out)
    );
    let out = gate(dir.path(), &base, &cur, &["--regression", "0.05"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "+8.6% is beyond 5%: {}",
        text(&out)
    );
}

#[test]
fn comparison_with_one_regressed_variant_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = comparison(
        &dir.path().join("base"),
        &[("push", 20.0), ("pull", 90.0), ("hybrid", 35.0)],
    );
    let cur = comparison(
        &dir.path().join("cur"),
        &[("push", 21.0), ("pull", 150.0), ("hybrid", 34.0)],
    );
    let out = gate(dir.path(), &base, &cur, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, cases) = junit(dir.path());
    assert!(cases >= 15, "three variants × five checks, got {cases}");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].0, "gate.pull");
    assert!(failures[0].2.contains("variant pull"), "{failures:?}");
}

#[test]
fn variant_missing_from_current_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = comparison(&dir.path().join("base"), &[("push", 20.0), ("pull", 90.0)]);
    let cur = comparison(&dir.path().join("cur"), &[("push", 20.0)]);
    let out = gate(dir.path(), &base, &cur, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].2.contains("pull") && failures[0].2.contains("missing"));
}

#[test]
fn malformed_json_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let broken = dir.path().join("broken-current.json");
    std::fs::write(&broken, "{ \"feedlab\": \"0.1.0\", ").expect("write");
    let out = gate(dir.path(), &base, &broken, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken-current.json"),
        "{}",
        text(&out)
    );

    let out = gate(dir.path(), &dir.path().join("absent.json"), &base, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("absent.json"),
        "{}",
        text(&out)
    );
}

#[test]
fn summary_missing_a_contract_field_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let mut bad = summary("hybrid", 35.0);
    bad.as_object_mut().expect("object").remove("storage");
    let bad = write(dir.path(), "old-format.json", &bad);
    let out = gate(dir.path(), &base, &bad, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("old-format.json") && stderr.contains("storage"),
        "{stderr}"
    );
}

#[test]
fn metric_missing_from_current_fails_and_from_baseline_skips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut no_upload = summary("hybrid", 35.0);
    no_upload["ops"]
        .as_object_mut()
        .expect("ops")
        .remove("upload");
    let full = write(dir.path(), "full.json", &summary("hybrid", 35.0));
    let partial = write(dir.path(), "partial.json", &no_upload);

    let out = gate(dir.path(), &full, &partial, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].2.contains("upload.p99_ms is missing"),
        "{failures:?}"
    );

    let out = gate(dir.path(), &partial, &full, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "absent baseline skips: {}",
        text(&out)
    );
    let xml = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert!(
        xml.contains("<skipped") && xml.contains("upload.p99_ms"),
        "{xml}"
    );
}

#[test]
fn rules_file_and_cli_rules_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    // Feed p50 0.2 -> 0.9 ms is +350%, but both are under the 1 ms noise
    // floor, so it must not fail; the rate drop from 300/s to 120/s must.
    let mut tiny = summary("hybrid", 35.0);
    tiny["ops"]["feed"]["p50_ms"] = json!(0.2);
    let mut slower = summary("hybrid", 35.0);
    slower["ops"]["feed"]["rate_per_s"] = json!(120.0);
    slower["ops"]["feed"]["p50_ms"] = json!(0.9);
    let tiny = write(dir.path(), "tiny.json", &tiny);
    let slower = write(dir.path(), "slower.json", &slower);
    let rules = dir.path().join("scenario.toml");
    std::fs::write(
        &rules,
        "name = \"quickstart\"\n[gate]\nhigher-is-better = [\"feed.rate_per_s\"]\n\
         [gate.rules]\n\"shards.load_max_over_mean\" = { max = 1.25 }\n",
    )
    .expect("write");
    let rules_arg = rules.to_str().expect("utf-8 path");

    let out = gate(dir.path(), &tiny, &slower, &["--rules", rules_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    let mut cases: Vec<&str> = failures.iter().map(|f| f.1.as_str()).collect();
    cases.sort();
    assert_eq!(
        cases,
        [
            "feed.rate_per_s regression",
            "shards.load_max_over_mean <= 1.25"
        ],
        "{failures:?}"
    );

    let out = gate(dir.path(), &base, &base, &["--rule", "feed.p99_ms<=30"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (failures, _) = junit(dir.path());
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].2.contains("<= 30"), "{failures:?}");

    let out = gate(dir.path(), &base, &base, &["--rule", "feed.p99_ms=30"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad rule syntax: {}",
        text(&out)
    );

    std::fs::write(&rules, "[gate]\nregresion = 0.2\n").expect("write");
    let out = gate(dir.path(), &base, &base, &["--rules", rules_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scenario.toml") && stderr.contains("regresion"),
        "{stderr}"
    );
}

#[test]
fn junit_path_flag_is_honoured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &summary("hybrid", 35.0));
    let target = dir.path().join("reports/ci/gate.xml");
    let target_arg = target.to_str().expect("utf-8 path");
    let out = gate(dir.path(), &base, &base, &["--junit", target_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let xml = std::fs::read_to_string(&target).expect("written at --junit");
    assert!(xml.contains("feed.p99_ms"), "{xml}");
    assert!(
        !dir.path().join("junit.xml").exists(),
        "not also at the default"
    );
}
