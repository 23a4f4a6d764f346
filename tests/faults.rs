//! `[[faults]]` through the real binary. Loading: each bad entry fails on one line naming the
//! file, the line and the key (exit 2); top-level faults reach every variant and a variant's
//! own list replaces them; a live run refuses `network` faults and replica damage it
//! cannot do (a simulated run with faults: `tests/sim_faults.rs`). Live: a materializer pause is listed in the summary with a
//! recovery, a down shard or a stopped blob store fails ops inside its window only (counted
//! as `unavailable`), a flash crowd multiplies read arrivals in its window, a celebrity's
//! burst reaches a follower's feed, and a damaged replica is reported and every damaged photo
//! still reads back; after the pause and the down shard, the invariants the harness checks
//! hold (every acknowledged upload read back, sampled listings, the checker's deletes) and
//! the outputs match their schemas. (A violation failing a run: `src/run/invariants/tests.rs`.)

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
        "[[faults]]\nkind = \"disk-fire\"\nat-s = 1.0\nfor-s = 1.0\n",
        9,
        &["faults.0.kind", "disk-fire", "slow-shard"],
    );
}

#[test]
fn a_live_network_fault_is_refused_at_its_kind_line() {
    load_error(
        "[[faults]]\nkind = \"network\"\nat-s = 1.0\nfor-s = 1.0\nextra-ms = 5.0\n",
        9,
        &["faults[0].kind", "does not apply network faults"],
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
fn replica_damage_without_a_second_local_replica_is_refused_at_its_how_line() {
    let damage =
        "[[faults]]\nkind = \"blob-outage\"\nat-s = 1.0\nfor-s = 1.0\nhow = \"delete-replica\"\n";
    let one = format!("[system]\nblob-replicas = 1\n\n{damage}");
    let (_d, path) = scenario(&one);
    let err = fails("plan", &path, &["--resolve"]);
    assert!(err.contains("f.toml:15:"), "{err}");
    assert!(err.contains("faults[0].how"), "{err}");
    assert!(err.contains("blob-replicas >= 2"), "{err}");
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
    live_with(out, variant, secs, faults, |_| {})
}

/// [`live`] with the spec changed by `edit` first.
fn live_with(
    out: &Path,
    variant: &str,
    secs: f64,
    faults: Value,
    edit: impl Fn(&mut Value),
) -> Value {
    let mut s = spec(variant, "push", "direct");
    edit(&mut s);
    s["duration_s"] = json!(secs);
    // A flat day, so goodput before and after a window compare (recovery assumes it).
    s["traffic"]["diurnal-peak"] = json!(1.0);
    s["faults"] = faults;
    let summary = run(out, &s);
    common::schema::assert_valid_outputs(out);
    summary
}

/// Asserts the invariants held and that every acknowledged upload still there was read back.
fn invariants_held(s: &Value) {
    let inv = field(s, "invariants");
    assert_eq!(inv["held"], true, "{inv}");
    assert_eq!(inv["uploads_selection"], "all", "{inv}");
    let n = |k: &str| inv[k].as_u64().unwrap_or_else(|| panic!("{k} in {inv}"));
    assert!(n("uploads_acknowledged") > 0, "{inv}");
    assert_eq!(
        n("uploads_checked"),
        n("uploads_acknowledged") - n("deletes")
    );
    assert!(n("users_sampled") > 0 && n("entries_checked") > 0, "{inv}");
}

#[test]
fn a_materializer_pause_is_listed_with_a_recovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pause = json!([{ "kind": "materializer-pause", "at-s": 2.0, "for-s": 2.0 }]);
    let s = live_with(dir.path(), "pause", 10.0, pause, |s| {
        s["driver"]["freshness-sample"] = json!(1.0);
    });
    let f = &field(&s, "faults")[0];
    assert_eq!(f["kind"], "materializer-pause");
    assert_eq!(f["target"], "materializer");
    assert_eq!(
        (f["at_s"].as_f64(), f["for_s"].as_f64()),
        (Some(2.0), Some(2.0))
    );
    assert!(f["peak_feed_p99_ms"].is_number(), "{f}");
    assert!(f["recovery_s"].as_f64().is_some(), "a pause recovers: {f}");
    // The window's uploads became visible only once the pause ended; later ones at once.
    let peak = f["peak_freshness_p99_ms"].as_f64();
    assert!(peak.is_some_and(|ms| ms > 500.0), "held-up uploads: {f}");
    assert!(f["freshness_recovery_s"].as_f64().is_some(), "{f}");
    invariants_held(&s);
    let md = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    let row = "| pause | materializer-pause | materializer | 2.0 | 2.0 |";
    assert!(md.contains(row) && md.contains("| pause | yes |"), "{md}");
    assert!(dir.path().join("plots/fault-freshness.svg").is_file());
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
    let unavailable = codes["failure_codes"]["unavailable"].as_u64();
    assert!(unavailable.is_some_and(|n| n > 0), "by code: {codes}");
    invariants_held(&s);
    // Deletes fall due 2 s before the window (at 1 s), once an upload was acknowledged.
    let inv = field(&s, "invariants");
    assert_eq!(
        inv["deleted_at_s"].as_f64().map(f64::floor),
        Some(1.0),
        "{inv}"
    );
}

/// Arrivals (done, failed, dropped or shed) of `kind` in the series seconds `keep` accepts.
fn arrivals(s: &Value, kind: &str, keep: &dyn Fn(u64) -> bool) -> u64 {
    let series = field(s, "series").as_array().expect("series");
    series
        .iter()
        .filter(|p| p["kind"] == kind && p["second"].as_u64().is_some_and(keep))
        .map(|p| {
            ["count", "errors", "dropped", "shed"]
                .iter()
                .map(|k| p[k].as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum()
}

/// 503s of every kind in the series seconds `keep` accepts.
fn shed(s: &Value, keep: &dyn Fn(u64) -> bool) -> u64 {
    let series = field(s, "series").as_array().expect("series");
    series
        .iter()
        .filter(|p| p["second"].as_u64().is_some_and(keep))
        .map(|p| p["shed"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_flash_crowd_multiplies_reads_and_a_stopped_blob_store_sheds_in_its_window_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = json!([
        { "kind": "flash-crowd", "factor": 4.0, "at-s": 2.0, "for-s": 2.0 },
        { "kind": "blob-outage", "how": "stop", "at-s": 5.0, "for-s": 2.0 },
    ]);
    let s = live(dir.path(), "crowd", 9.0, faults);
    // Feed arrivals per second inside [2, 4) against the seconds outside it.
    let inside = arrivals(&s, "feed", &|k| (2..4).contains(&k)) as f64 / 2.0;
    let outside = arrivals(&s, "feed", &|k| !(2..4).contains(&k)) as f64 / 7.0;
    let ratio = inside / outside;
    assert!(outside >= 20.0, "enough feeds to judge: {outside}/s");
    assert!(
        (2.8..5.5).contains(&ratio),
        "feeds x{ratio:.2} in the window"
    );
    // 503s only while the blob store is stopped: an op started just before may meet it, and
    // the lift's timer may fire a millisecond into second 7.
    let window = |k: u64| (4..8).contains(&k);
    assert!(shed(&s, &window) > 0, "no 503s while stopped");
    let shed_points: Vec<&Value> = field(&s, "series")
        .as_array()
        .expect("series")
        .iter()
        .filter(|p| p["shed"].as_u64().is_some_and(|n| n > 0))
        .collect();
    assert_eq!(
        shed(&s, &|k| !window(k)),
        0,
        "503s outside: {shed_points:?}"
    );
    assert!(field(&s, "ops.upload.shed").as_u64().is_some_and(|n| n > 0));
    let f = &field(&s, "faults")[1];
    assert_eq!(f["target"], "blob store (stop)");
    assert!(f["failed"].as_u64().is_some_and(|n| n > 0), "{f}");
}

#[test]
fn a_burst_reaches_a_follower_and_a_damaged_replica_still_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = spec("burst", "push", "direct");
    s["duration_s"] = json!(6.0);
    s["traffic"]["diurnal-peak"] = json!(1.0);
    s["system"]["blob-replicas"] = json!(2);
    s["faults"] = json!([
        { "kind": "celebrity-burst", "photos": 30, "at-s": 1.0, "for-s": 1.0 },
        { "kind": "blob-outage", "how": "corrupt-replica", "at-s": 1.0, "for-s": 1.0 },
    ]);
    let s = run(dir.path(), &s);
    let burst = &field(&s, "faults")[0];
    assert_eq!(burst["photos_posted"], 30, "{burst}");
    assert!(
        burst["followers"].as_u64().is_some_and(|n| n > 0),
        "{burst}"
    );
    assert!(
        burst["last_visible_s"].is_number(),
        "never in the feed: {burst}"
    );
    let damage = &field(&s, "faults")[1];
    assert!(
        damage["damaged"].as_u64().is_some_and(|n| n > 0),
        "{damage}"
    );
    assert_eq!(damage["unreadable_after"], 0, "{damage}");
    assert_eq!(
        field(&s, "ops.photo_get.shed"),
        0,
        "photo reads kept answering"
    );
}
