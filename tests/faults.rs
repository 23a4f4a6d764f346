//! `[[faults]]` through the real binary. Loading: each bad entry fails on one line naming the
//! file, the line and the key (exit 2); top-level faults reach every variant and a variant's
//! own list replaces them. Live: a materializer pause is listed in the summary with a
//! recovery, and a down shard fails ops inside its window only. A simulated run with faults
//! is `tests/sim_faults.rs`'s.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{field, run, spec};
use serde_json::{Value, json};

fn feedlab(args: &[&str]) -> Output {
    common::feedlab_output(args)
}

/// A scenario of 20 s on 4 shards with `faults` appended; returns (dir guard, path).
fn scenario(faults: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.toml");
    let text = format!(
        "[scenario]\nname = \"f\"\nduration-s = 20.0\n\n[system.sharding]\nshards = 4\n\n{faults}"
    );
    std::fs::write(&path, text).expect("write scenario");
    (dir, path)
}

/// `feedlab ARGS…` on `path`, expected to fail with exit 2 on one line; returns stderr.
fn fails(cmd: &str, path: &Path, extra: &[&str]) -> String {
    let p = path.to_str().expect("utf-8 path");
    let mut args = vec![cmd, p];
    args.extend_from_slice(extra);
    let out = feedlab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "expected exit 2: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Asserts the load error of `faults` names `f.toml:line` and every word of `words`.
fn load_error(faults: &str, line: usize, words: &[&str]) {
    let (_d, path) = scenario(faults);
    let err = fails("plan", &path, &["--resolve"]);
    assert!(err.contains(&format!("f.toml:{line}:")), "{err}");
    for w in words {
        assert!(err.contains(w), "want {w:?} in {err}");
    }
}

// The scenario header takes lines 1-7; `[[faults]]` starts on line 8.
const SLOW: &str =
    "[[faults]]\nkind = \"slow-shard\"\nat-s = 5.0\nfor-s = 5.0\nshard = 1\nextra-ms = 50.0\n";

#[test]
fn an_unknown_kind_names_the_kind_line() {
    load_error(
        "[[faults]]\nkind = \"disk-full\"\nat-s = 1.0\nfor-s = 1.0\n",
        9,
        &["faults.0.kind", "disk-full", "slow-shard"],
    );
}

#[test]
fn a_missing_or_extra_key_for_the_kind_is_named() {
    load_error(
        "[[faults]]\nkind = \"slow-shard\"\nat-s = 1.0\nfor-s = 1.0\nshard = 1\n",
        9,
        &["faults[0].kind", "extra-ms"],
    );
    load_error(
        "[[faults]]\nkind = \"materializer-pause\"\nat-s = 1.0\nfor-s = 1.0\nshard = 2\n",
        12,
        &["faults[0].shard", "not a key of a materializer-pause fault"],
    );
    load_error(
        "[[faults]]\nkind = \"shard-down\"\nat-s = 1.0\nfor-s = 1.0\nshard = 2\nshards = 2\n",
        13,
        &["unknown key \"shards\" in faults[0]"],
    );
    load_error(
        "[[faults]]\nkind = \"shard-down\"\nfor-s = 1.0\nshard = 2\n",
        8,
        &["faults.0", "at-s"],
    );
}

#[test]
fn a_window_outside_the_run_is_refused() {
    load_error(
        "[[faults]]\nkind = \"shard-down\"\nat-s = 15.0\nfor-s = 6.0\nshard = 0\n",
        11,
        &["faults[0].for-s", "scenario.duration-s = 20"],
    );
    load_error(
        "[[faults]]\nkind = \"shard-down\"\nat-s = -1.0\nfor-s = 6.0\nshard = 0\n",
        10,
        &["faults[0].at-s", "must be >= 0"],
    );
}

#[test]
fn overlapping_windows_of_one_kind_on_one_target_are_refused() {
    let second =
        "[[faults]]\nkind = \"slow-shard\"\nat-s = 8.0\nfor-s = 1.0\nshard = 1\nextra-ms = 5.0\n";
    load_error(
        &format!("{SLOW}\n{second}"),
        17,
        &["faults[1].at-s", "overlaps faults[0]", "shard 1"],
    );
    // Another shard, or another kind on the same shard, may share the time.
    let (_d, path) = scenario(&format!(
        "{SLOW}\n{}\n[[faults]]\nkind = \"shard-down\"\nat-s = 6.0\nfor-s = 1.0\nshard = 1\n",
        second.replace("shard = 1", "shard = 2")
    ));
    let out = feedlab(&["plan", path.to_str().expect("utf-8"), "--resolve"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_shard_outside_the_set_is_refused() {
    load_error(
        &SLOW.replace("shard = 1", "shard = 4"),
        12,
        &["faults[0].shard", "shard 4 does not exist", "0..4"],
    );
}

#[test]
fn top_level_faults_reach_every_variant_and_a_variant_may_replace_them() {
    let variants = "\n[[variants]]\nname = \"a\"\n\n[[variants]]\nname = \"b\"\nfaults = [{ kind = \"materializer-pause\", at-s = 2.0, for-s = 3.0 }]\n";
    let (_d, path) = scenario(&format!("{SLOW}{variants}"));
    let out = feedlab(&["plan", path.to_str().expect("utf-8"), "--resolve"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let specs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("specs");
    assert_eq!(specs[0]["faults"][0]["kind"], "slow-shard");
    assert_eq!(specs[0]["faults"][0]["extra-ms"], 50.0);
    assert_eq!(specs[1]["faults"].as_array().map(Vec::len), Some(1));
    assert_eq!(specs[1]["faults"][0]["kind"], "materializer-pause");

    // A variant's own bad entry points at the variant's line.
    let bad = variants.replace("for-s = 3.0", "for-s = 30.0");
    let (_d, path) = scenario(&format!("{SLOW}{bad}"));
    let err = fails("plan", &path, &["--resolve"]);
    assert!(err.contains("f.toml:20:"), "{err}");
    assert!(err.contains("in variant \"b\""), "{err}");
    assert!(err.contains("faults[0].for-s"), "{err}");
}

/// A tiny live run of `secs` seconds over direct calls with `faults`.
fn live(out: &Path, variant: &str, secs: f64, faults: Value) -> Value {
    let mut s = spec(variant, "push", "direct");
    s["duration_s"] = json!(secs);
    // A flat day, so goodput before and after a window compare (recovery assumes it).
    s["traffic"]["diurnal-peak"] = json!(1.0);
    s["faults"] = faults;
    run(out, &s)
}

#[test]
fn a_materializer_pause_is_listed_with_a_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pause = json!([{ "kind": "materializer-pause", "at-s": 2.0, "for-s": 2.0 }]);
    let s = live(dir.path(), "pause", 10.0, pause);
    let f = &field(&s, "faults")[0];
    assert_eq!(f["kind"], "materializer-pause");
    assert_eq!(f["target"], "materializer");
    assert_eq!(
        (f["at_s"].as_f64(), f["for_s"].as_f64()),
        (Some(2.0), Some(2.0))
    );
    assert!(f["peak_feed_p99_ms"].is_number(), "{f}");
    assert!(f["recovery_s"].as_f64().is_some(), "a pause recovers: {f}");
}

#[test]
fn a_down_shard_fails_ops_inside_its_window_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let down = json!([{ "kind": "shard-down", "shard": 1, "at-s": 3.0, "for-s": 2.0 }]);
    let s = live(dir.path(), "down", 8.0, down);
    let series = field(&s, "series").as_array().expect("series");
    // 503s: other errors (a photo fetch before any feed page, 404) come at any time.
    let failed = |p: &Value| p["shed"].as_u64().unwrap_or(0);
    let by_second = |keep: &dyn Fn(u64) -> bool| -> u64 {
        series
            .iter()
            .filter(|p| p["second"].as_u64().is_some_and(keep))
            .map(failed)
            .sum()
    };
    // An op that starts just before the window may meet it on a later call.
    let inside = by_second(&|k| (2..5).contains(&k));
    let outside = by_second(&|k| !(2..5).contains(&k));
    assert!(inside > 0, "no 503s while shard 1 was down: {series:?}");
    assert_eq!(outside, 0, "503s outside the window: {series:?}");
    let f = &field(&s, "faults")[0];
    assert_eq!(
        (f["kind"].as_str(), f["target"].as_str()),
        (Some("shard-down"), Some("shard 1"))
    );
    assert!(f["failed"].as_u64().is_some_and(|n| n > 0), "{f}");
    let codes = field(&s, "ops.feed");
    assert!(
        codes["shed"].as_u64().is_some_and(|n| n > 0),
        "feeds got 503s: {codes}"
    );
}
