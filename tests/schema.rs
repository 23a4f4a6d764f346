//! The JSON Schemas of `docs/schema/` against the committed baselines, and
//! proof that the check can fail: a summary missing a contract field, with a
//! negative count or an unknown mode, a comparison without variants and a
//! sweep with an unknown rule are each rejected with the field's pointer.
//! The tests that write outputs check them with the same helper
//! (`common::schema::assert_valid_outputs`); the gate's synthetic summaries
//! (`tests/gate/lab.rs`) are checked here.

mod common;
#[allow(dead_code, reason = "only the summary builders are used here")]
#[path = "gate/lab.rs"]
mod lab;

use std::path::Path;

use common::schema::{Contract, Kind, assert_valid_outputs};
use serde_json::{Value, json};

fn baseline(rel: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reports/baselines")
        .join(rel);
    let text = std::fs::read_to_string(&path).expect("baseline");
    serde_json::from_str(&text).expect("baseline is JSON")
}

/// One problem at `pointer` whose message mentions `word`.
fn rejected(contract: &Contract, kind: Kind, value: &Value, pointer: &str, word: &str) {
    let problems = contract.problems(kind, value);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&format!("{pointer}:")) && p.contains(word)),
        "want a problem at {pointer} mentioning {word}, got {problems:?}"
    );
}

#[test]
fn committed_baselines_match_the_schemas() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
    let checked = assert_valid_outputs(&dir);
    let count = |k: Kind| checked.iter().filter(|(_, kind)| *kind == k).count();
    assert_eq!(count(Kind::Summary), 3, "{checked:?}");
    assert_eq!(count(Kind::Comparison), 1, "the recorded quickstart.json");
}

#[test]
fn the_gate_tests_synthetic_summaries_match_the_schema() {
    let contract = Contract::load();
    for (name, v) in [
        ("an older summary", lab::summary("push", 35.0)),
        ("a current summary", lab::live("hybrid", 3)),
    ] {
        let problems = contract.problems(Kind::Summary, &v);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
}

#[test]
fn a_summary_missing_a_field_or_with_a_negative_count_is_rejected() {
    let contract = Contract::load();
    let good = baseline("quickstart/push/summary.json");
    assert!(contract.problems(Kind::Summary, &good).is_empty());

    let mut v = good.clone();
    v.as_object_mut().expect("object").remove("shards");
    rejected(&contract, Kind::Summary, &v, "#", "shards");

    let mut v = good.clone();
    v["ops"]["feed"]["count"] = json!(-1);
    rejected(&contract, Kind::Summary, &v, "#/ops/feed/count", "-1");

    let mut v = good.clone();
    v["ops"]["upload"]
        .as_object_mut()
        .expect("upload")
        .remove("p99_ms");
    rejected(&contract, Kind::Summary, &v, "#/ops/upload", "p99_ms");

    let mut v = good.clone();
    v["mode"] = json!("replay");
    rejected(&contract, Kind::Summary, &v, "#/mode", "replay");

    let mut v = good.clone();
    v["target"]["met"] = json!("yes");
    rejected(&contract, Kind::Summary, &v, "#/target/met", "boolean");

    let mut v = good.clone();
    v["mode"] = json!("sim");
    rejected(&contract, Kind::Summary, &v, "#", "sim");

    // Added fields are allowed anywhere.
    let mut v = good;
    v["cache"] = json!({ "hit_ratio": 0.9 });
    v["ops"]["feed"]["p75_ms"] = json!(2.0);
    assert!(contract.problems(Kind::Summary, &v).is_empty());
}

#[test]
fn a_comparison_without_variants_is_rejected() {
    let contract = Contract::load();
    let mut v = baseline("quickstart.json");
    assert!(contract.problems(Kind::Comparison, &v).is_empty());
    v["variants"][1]
        .as_object_mut()
        .expect("entry")
        .remove("summary");
    rejected(&contract, Kind::Comparison, &v, "#/variants/1", "summary");
    v.as_object_mut().expect("object").remove("variants");
    rejected(&contract, Kind::Comparison, &v, "#", "variants");
}

/// A one-step sweep of one live variant with a simulated twin.
fn sweep() -> Value {
    let op = json!({ "offered_per_s": 100.0, "served_per_s": 99.0, "p50_ms": 1.0, "p99_ms": 9.0,
                     "errors": 0, "dropped": 1, "shed": 0 });
    let step = json!({ "load": 1.0, "duration_s": 10.0, "summary": "live/load-1/summary.json",
                       "ops": { "feed": op }, "freshness_p99_ms": 12.0, "good": true,
                       "breaches": [], "bottleneck": null });
    let variant = |name: &str, mode: &str, predicts: Value| {
        json!({ "variant": name, "mode": mode, "fanout": "push", "predicts": predicts,
                "steps": [step], "knee": { "load": 1.0, "feed_offered_per_s": 100.0,
                "feed_served_per_s": 99.0 }, "knee_above_ladder": true, "headroom": 1.0,
                "first_breach": [], "bottleneck": null })
    };
    json!({
        "feedlab": "0.1.0", "scenario": "s", "seed": 42,
        "limits": { "feed_p99_ms": 200.0, "freshness_p99_s": 5.0, "max_dropped": 0.001,
                    "max_errors": 0.001 },
        "factor": 2.0,
        "variants": [variant("live", "live", Value::Null), variant("live-sim", "sim", json!("live"))],
        "predictions": [{ "live": "live", "sim": "live-sim",
            "steps": [{ "load": 1.0, "op": "feed", "live_ms": [1.0, 9.0], "sim_ms": [1.1, 8.0],
                        "error": [0.1, null], "judged": true }],
            "knee": [1.0, null], "knee_error": null, "drop_onset": [null, null], "ok": false }]
    })
}

#[test]
fn a_sweep_with_an_unknown_rule_or_a_bad_knee_is_rejected() {
    let contract = Contract::load();
    let good = sweep();
    assert_eq!(contract.problems(Kind::Sweep, &good), Vec::<String>::new());

    let mut v = good.clone();
    v["variants"][0]["first_breach"] = json!([{ "rule": "latency", "value": 1.0, "limit": 0.5 }]);
    rejected(
        &contract,
        Kind::Sweep,
        &v,
        "#/variants/0/first_breach/0/rule",
        "latency",
    );

    let mut v = good.clone();
    v["variants"][1]["knee"] = json!({ "load": 0.0 });
    assert!(!contract.problems(Kind::Sweep, &v).is_empty());

    let mut v = good;
    v.as_object_mut().expect("object").remove("predictions");
    rejected(&contract, Kind::Sweep, &v, "#", "predictions");
}

#[test]
fn the_output_check_names_the_file_the_pointer_and_the_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut v = baseline("quickstart/hybrid/summary.json");
    v["storage"]["blob_bytes"] = json!(-5);
    let path = dir.path().join("hybrid/summary.json");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, v.to_string()).expect("write");
    let err = std::panic::catch_unwind(|| assert_valid_outputs(dir.path()))
        .expect_err("a negative byte count must fail the check");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("#/storage/blob_bytes"), "{msg}");

    let empty = tempfile::tempdir().expect("tempdir");
    let err = std::panic::catch_unwind(|| assert_valid_outputs(empty.path()))
        .expect_err("a directory without outputs is a misplaced check");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("no summary.json"), "{msg}");
}

#[test]
fn a_summary_with_faults_matches_and_a_bad_fault_is_rejected() {
    let contract = Contract::load();
    let mut v = baseline("quickstart/push/summary.json");
    v["faults"] = json!([{
        "kind": "shard-down", "target": "shard 1", "at_s": 5.0, "for_s": 3.0,
        "peak_feed_p99_ms": 40.0, "failed": 12, "recovery_s": null
    }]);
    assert!(contract.problems(Kind::Summary, &v).is_empty());

    let mut bad = v.clone();
    bad["faults"][0]["kind"] = json!("disk-full");
    rejected(
        &contract,
        Kind::Summary,
        &bad,
        "#/faults/0/kind",
        "disk-full",
    );

    let mut bad = v.clone();
    bad["faults"][0]
        .as_object_mut()
        .expect("fault")
        .remove("recovery_s");
    rejected(&contract, Kind::Summary, &bad, "#/faults/0", "recovery_s");

    let mut bad = v;
    bad["faults"][0]["failed"] = json!(-1);
    rejected(&contract, Kind::Summary, &bad, "#/faults/0/failed", "-1");
}
