//! `feedlab gate` end to end: the real binary on synthetic summary and
//! comparison files in a temp dir, checking exit codes, the table, the JUnit
//! XML, `gate.md` and the `--record` round trip.

#[path = "gate/lab.rs"]
mod lab;
#[path = "common/schema.rs"]
mod schema;

use std::path::Path;

use lab::*;
use serde_json::{Value, json};

#[test]
fn alike_runs_pass_every_check_and_write_junit_and_markdown() {
    let lab = Lab::new();
    lab.put("base.json", &live("hybrid", 0));
    lab.put("cur.json", &live("hybrid", 5));
    let (stdout, _) = lab.gate("base.json", "cur.json", &[], 0);
    let (failures, skips) = lab.junit();
    assert!(failures.is_empty() && skips.is_empty(), "{stdout}");
    has(&stdout, &["0 failed, 0 skipped -> PASS"]);
    has(row(&stdout, "work.feed.cpu_us"), &["PASS", "p="]);
    let md = lab.text("gate.md");
    assert!(md.starts_with("## feedlab gate: PASS"), "{md}");
    has(&md, &["| work.feed.storage_calls |"]);
}

#[test]
fn old_baseline_skips_what_it_lacks_with_reasons_and_warns() {
    let lab = Lab::new();
    lab.put("old.json", &summary("hybrid", 35.0));
    lab.put("base.json", &live("hybrid", 0));
    let mut short = live("hybrid", 1);
    let series = short["series"].as_array_mut().expect("series");
    series.retain(|w| w["second"].as_u64() < Some(6));
    lab.put("cur.json", &short);
    let (_, stderr) = lab.gate("old.json", "cur.json", &[], 0);
    has(&stderr, &["no usable provenance"]);
    let (_, skips) = lab.junit();
    let reason = |case: &str| skips.iter().find(|s| s.0 == case).expect(case).1.clone();
    let trial = reason("work.feed.cpu_us trials");
    has(&trial, &["baseline: no `series` section"]);
    has(&reason("work.* counters"), &["no `work` section"]);
    let ratio = reason("shards.call_us_max <= baseline x 4");
    has(&ratio, &["not in the baseline"]);

    // Six seconds leave three windows after the warm-up and the last second.
    lab.gate("base.json", "cur.json", &[], 0);
    let (_, skips) = lab.junit();
    assert_eq!(skips.len(), 7, "every trial: {skips:?}");
    has(&skips[0].1, &["too few feed windows", "current 3, need 5"]);
}

#[test]
fn cpu_shift_of_40_percent_fails_and_of_5_percent_passes() {
    let lab = Lab::new();
    lab.put("base.json", &live("push", 0));
    for (factor, code) in [(1.4, 1), (1.05, 0)] {
        let mut cur = live("push", 3);
        scale(&mut cur, "feed", "cpu_us", factor);
        lab.put("cur.json", &cur);
        lab.gate("base.json", "cur.json", &[], code);
        if code == 1 {
            let m = lab.failed(&["work.feed.cpu_us trials"]);
            has(&m[0], &["variant push", "p=", "ratio 1.4 (limit 1.15)"]);
        }
    }
}

#[test]
fn significant_latency_shift_under_the_effect_passes() {
    let lab = Lab::new();
    lab.put("base.json", &live("pull", 0));
    let mut cur = live("pull", 4);
    scale(&mut cur, "feed", "p50_ms", 1.3);
    lab.put("cur.json", &cur);
    let (stdout, _) = lab.gate("base.json", "cur.json", &[], 0);
    let p50 = row(&stdout, "feed.p50_ms");
    has(p50, &["PASS", "p=", "e-", "ratio 1.3 (limit 1.5)"]);

    let rules = "[gate]\nlatency-effect = 0.2\n";
    std::fs::write(lab.path("r.toml"), rules).expect("write");
    lab.gate("base.json", "cur.json", &["--rules", "r.toml"], 1);
    lab.failed(&["feed.p50_ms trials"]);
}

#[test]
fn counter_and_ratio_breaches_fail_and_annotate_under_github_actions() {
    let lab = Lab::new();
    lab.put("base.json", &live("hybrid", 0));
    let mut cur = live("hybrid", 2);
    cur["work"]["feed"]["storage_calls"] = json!(3.0);
    cur["work"]["upload"]["keys_read"] = json!(20.0);
    cur["shards"]["call_us_max"] = json!(2042.0);
    lab.put("cur.json", &cur);
    let args = "gate --baseline base.json --current cur.json --out .";
    let args: Vec<&str> = args.split(' ').collect();
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", "s.md")];
    let (stdout, _) = exits(&feedlab(lab.0.path(), &args, &env), 1);
    let shard = "shards.call_us_max <= baseline x 4";
    let m = lab.failed(&["work.feed.storage_calls counter", shard]);
    has(&m[0], &["3 per op vs baseline 2; limit 2.11"]);
    let errors = stdout.matches("::error title=feedlab gate::").count();
    assert_eq!(errors, 2, "{stdout}");
    let keys = row(&stdout, "work.upload.keys_read");
    has(keys, &["PASS", "decreased from 50 to 20"]);
    has(
        &lab.text("s.md"),
        &["## feedlab gate: FAIL", "### Failures"],
    );
}

#[test]
fn service_errors_and_drops_fail_the_default_ratios_but_client_codes_do_not() {
    let lab = Lab::new();
    lab.put("base.json", &live("push", 0));
    let mut cur = live("push", 1);
    cur["ops"]["feed"]["errors"] = json!(30);
    cur["ops"]["feed"]["error_codes"] = json!({ "http_500": 25, "no_user": 5 });
    cur["ops"]["photo_get"]["errors"] = json!(400);
    cur["ops"]["photo_get"]["error_codes"] = json!({ "no_photo": 400 });
    cur["ops"]["upload"]["dropped"] = json!(7);
    lab.put("cur.json", &cur);
    lab.gate("base.json", "cur.json", &[], 1);
    let m = lab.failed(&["feed.error_ratio <= 0.001", "upload.drop_ratio <= 0.001"]);
    has(
        &m[0],
        &["25 service errors of 9030 feed", "codes: http_500=25"],
    );
}

#[test]
fn baseline_from_another_scenario_warns_and_is_still_evaluated() {
    let lab = Lab::new();
    let mut other = live("hybrid", 0);
    other["provenance"]["scenario_hash"] = json!("hash-other");
    lab.put("base.json", &other);
    let mut cur = live("hybrid", 2);
    scale(&mut cur, "upload", "cpu_us", 1.5);
    cur["config"]["inject"] = json!({ "cpu-us": { "upload": 450 } });
    lab.put("cur.json", &cur);
    let (_, stderr) = lab.gate("base.json", "cur.json", &[], 1);
    lab.failed(&["work.upload.cpu_us trials"]);
    has(&stderr, &["variant hybrid", "hash-other", "hash-q"]);
    has(&stderr, &["the current run ran with injection on"]);
    let (_, stderr) = lab.gate("new.json", "cur.json", &["--record"], 2);
    has(&stderr, &["ran with injection on", "clean run"]);
    has(&lab.text("gate.md"), &["### Notes", "hash-other"]);
}

#[test]
fn record_then_gate_the_same_run_passes_with_recorded_provenance() {
    let lab = Lab::new();
    lab.comparison("cur", &[live("push", 0), live("pull", 1)]);
    std::fs::write(lab.path("cur/push/data.bin"), "not copied").expect("write");
    let (base, cur) = (
        lab.path("baselines/qs.json"),
        lab.path("cur/comparison.json"),
    );
    let (b, c) = (base.to_str().expect("utf-8"), cur.to_str().expect("utf-8"));
    let args = ["gate", "--record", "--current", c, "--baseline", b];
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    exits(&feedlab(workspace, &args, &[]), 0);
    let copied = lab.text("baselines/qs/pull/summary.json");
    assert_eq!(copied, lab.text("cur/pull/summary.json"));
    assert!(!lab.path("baselines/qs/push/data.bin").exists());
    let recorded: Value = serde_json::from_str(&lab.text("baselines/qs.json")).expect("json");
    assert_eq!(recorded["variants"][0]["summary"], "qs/push/summary.json");
    let r = &recorded["recorded"];
    // The commit the runs ran, from their provenance, not the recording tree's HEAD.
    assert_eq!(r["commit"], "0123abc", "{r}");
    assert!(r["date"].as_str().is_some_and(|d| d.ends_with('Z')), "{r}");
    assert!(r["cores"].as_u64() > Some(0) && r["load_avg"].is_array());
    assert_eq!(r["scenario_hashes"]["pull"], "hash-q");

    let (_, stderr) = lab.gate(b, c, &[], 0);
    has(&stderr, &["note: baseline recorded at"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    // `--also` pools a second run's windows into each variant, tagged run 1.
    let record_also = |also: &str| {
        let args = [
            "gate",
            "--record",
            "--current",
            c,
            "--also",
            also,
            "--baseline",
            b,
        ];
        feedlab(workspace, &args, &[])
    };
    exits(&record_also(c), 0);
    let read = |name: &str| -> Value { serde_json::from_str(&lab.text(name)).expect("json") };
    let (pooled, one) = (
        read("baselines/qs/pull/summary.json"),
        read("cur/pull/summary.json"),
    );
    let len = |v: &Value| v["series"].as_array().map_or(0, Vec::len);
    let (n, series) = (len(&one), &pooled["series"]);
    assert_eq!(len(&pooled), 2 * n);
    assert_eq!(
        (series[n - 1].get("run"), &series[n]["run"]),
        (None, &Value::from(1))
    );
    lab.gate(b, c, &[], 0);
    schema::assert_valid_outputs(lab.0.path());

    // A run of another commit is not pooled into the baseline.
    let mut other = live("push", 2);
    other["provenance"]["commit"] = json!("4567def");
    lab.comparison("other", &[other, live("pull", 2)]);
    let o = lab.path("other/comparison.json");
    let o = o.to_str().expect("utf-8");
    let (_, stderr) = exits(&record_also(o), 2);
    has(&stderr, &["4567def", "one commit"]);
}

#[test]
fn variants_pair_by_name_and_a_missing_one_fails() {
    let lab = Lab::new();
    let all = [live("push", 0), live("pull", 0), live("hybrid", 0)];
    lab.comparison("b", &all);
    let mut slow = live("pull", 3);
    scale(&mut slow, "photo_get", "cpu_us", 1.6);
    lab.comparison("c", &[live("push", 3), slow]);
    lab.gate("b/comparison.json", "c/comparison.json", &[], 1);
    let m = lab.failed(&["work.photo_get.cpu_us trials", "variant present"]);
    has(&m[0], &["variant pull"]);
    has(&m[1], &["variant hybrid is in the baseline", "missing"]);
}

#[test]
fn rules_apply_and_unusable_inputs_or_removed_keys_exit_2_in_one_line() {
    let lab = Lab::new();
    lab.put("base.json", &live("hybrid", 0));
    let rules = "[gate.rules]\n\"shards.load_max_over_mean\" = { max = 1.25 }\n";
    std::fs::write(lab.path("s.toml"), rules).expect("write");
    let extra = "--rules s.toml --rule feed.p99_ms<=30 --junit ci/j.xml";
    let extra: Vec<&str> = extra.split(' ').collect();
    lab.gate("base.json", "base.json", &extra, 1);
    assert!(!lab.path("junit.xml").exists(), "JUnit only at --junit");
    std::fs::rename(lab.path("ci/j.xml"), lab.path("junit.xml")).expect("at --junit");
    lab.failed(&["feed.p99_ms <= 30", "shards.load_max_over_mean <= 1.25"]);

    let mut old = summary("hybrid", 35.0);
    old.as_object_mut().expect("object").remove("storage");
    lab.put("old-format.json", &old);
    std::fs::write(lab.path("broken.json"), "{ \"feedlab\": ").expect("write");
    std::fs::write(lab.path("s.toml"), "[gate]\nnoise-floor-ms = 50\n").expect("write");
    let runs = [
        ("old-format.json", "", "storage"),
        ("broken.json", "", "broken.json"),
        ("absent.json", "", "absent.json"),
        ("base.json", "--rule feed.p99_ms=30", "feed.p99_ms=30"),
        ("base.json", "--regression 0.1", "--regression was removed"),
        ("base.json", "--rules s.toml", "noise-floor-ms` was removed"),
    ];
    for (cur, extra, part) in runs {
        let extra: Vec<&str> = extra.split_whitespace().collect();
        let (_, stderr) = lab.gate("base.json", cur, &extra, 2);
        has(&stderr, &[part]);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}

/// The seconds in which the host stole CPU from the box (the run's probe) are not judged,
/// and a run stolen in half its seconds or more does not judge its whole-run ratios.
#[test]
fn seconds_the_host_stole_are_left_out() {
    let lab = Lab::new();
    lab.put("base.json", &live("push", 0));
    let mut cur = live("push", 3);
    for w in cur["series"].as_array_mut().expect("series") {
        if w["second"].as_u64() < Some(20) {
            let slow = w["p50_ms"].as_f64().expect("p50") * 5.0;
            w["p50_ms"] = json!(slow);
        }
    }
    cur["shards"]["call_us_max"] = json!(2042.0);
    lab.put("cur.json", &cur);
    lab.gate("base.json", "cur.json", &[], 1);
    let slowed = ["feed", "photo_get", "upload"].map(|k| format!("{k}.p50_ms trials"));
    let mut want: Vec<&str> = slowed.iter().map(String::as_str).collect();
    want.push("shards.call_us_max <= baseline x 4");
    lab.failed(&want);
    let stalls: Vec<Value> = (0..20)
        .map(|s| json!({ "second": s, "late_ms": 0.0, "steal_ms": 400.0 }))
        .collect();
    cur["probe"] = json!({ "us": 60.0, "every_ms": 50, "stalls": stalls });
    lab.put("cur.json", &cur);
    let (stdout, _) = lab.gate("base.json", "cur.json", &[], 0);
    has(row(&stdout, "feed.p50_ms"), &["PASS"]);
    has(row(&stdout, "shards.call_us_max"), &["SKIP"]);
}
