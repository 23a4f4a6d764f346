//! Scenario loading through the real binary: errors name file, line and key;
//! variants and `--set` overrides resolve; every shipped scenario loads; no
//! broken input makes the loader panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_feedlab");

fn feedlab(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run feedlab")
}

/// Writes `text` as `name` in a fresh temp dir; returns (dir guard, path).
fn scenario_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write scenario");
    (dir, path)
}

/// `feedlab plan FILE --resolve ARGS…`, expected to fail; returns stderr.
fn load_error(path: &Path, extra: &[&str]) -> String {
    let p = path.to_str().expect("utf-8 path");
    let mut args = vec!["plan", p, "--resolve"];
    args.extend_from_slice(extra);
    let out = feedlab(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected a clean failure: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// `feedlab plan FILE --resolve ARGS…`, expected to succeed; returns the specs.
fn resolve(path: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let p = path.to_str().expect("utf-8 path");
    let mut args = vec!["plan", p, "--resolve"];
    args.extend_from_slice(extra);
    let out = feedlab(&args);
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("resolve prints JSON")
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let text = "[scenario]\nname = \"x\"\n\n[system]\ntimeline-cap = 10\nfanout.knd = \"push\"\n";
    let (_d, path) = scenario_file("unknown.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("unknown.toml:6:"), "{err}");
    assert!(
        err.contains("unknown key \"fanout.knd\" in [system]"),
        "{err}"
    );
}

#[test]
fn unknown_top_level_table_is_named() {
    let (_d, path) = scenario_file("top.toml", "[scenario]\n\n[sytem]\nx = 1\n");
    let err = load_error(&path, &[]);
    assert!(err.contains("top.toml:3:"), "{err}");
    assert!(err.contains("sytem"), "{err}");
}

#[test]
fn wrong_type_names_file_line_and_key() {
    let text = "# comment\n[system]\nfeed-limit = 10\n\ntimeline-cap = \"a\"\n";
    let (_d, path) = scenario_file("wrong.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("wrong.toml:5:"), "{err}");
    assert!(err.contains("system.timeline-cap"), "{err}");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn out_of_range_value_points_at_its_line() {
    let text = "[population]\nusers = 100000\ndaily-active = 1000\nalpha = 0.5\n";
    let (_d, path) = scenario_file("range.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("range.toml:4:"), "{err}");
    assert!(err.contains("alpha"), "{err}");
}

#[test]
fn a_warm_up_must_fit_in_the_run_and_cannot_carry_faults() {
    let text = "[scenario]\nduration-s = 10.0\n\n[driver]\nwarmup-s = 10.0\n";
    let (_d, path) = scenario_file("warm.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("warm.toml:5:"), "{err}");
    assert!(err.contains("driver.warmup-s"), "{err}");
    assert!(err.contains("less than scenario.duration-s"), "{err}");
    let text = "[scenario]\nduration-s = 10.0\n\n[driver]\nwarmup-s = 2.0\n\n[[faults]]\nkind = \"flash-crowd\"\nat-s = 3.0\nfor-s = 2.0\nfactor = 2.0\n";
    let (_d, path) = scenario_file("warmfault.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("warmfault.toml:5:"), "{err}");
    assert!(err.contains("[[faults]]"), "{err}");
    let ok = "[scenario]\nduration-s = 10.0\n\n[driver]\nwarmup-s = 2.0\n";
    let (_d, path) = scenario_file("warmok.toml", ok);
    assert_eq!(resolve(&path, &[])[0]["driver"]["warmup-s"], 2.0);
}

#[test]
fn bad_set_names_the_argument() {
    let (_d, path) = scenario_file("ok.toml", "[system]\ntimeline-cap = 10\n");
    let err = load_error(&path, &["--set", "system.fanout.kind=sideways"]);
    assert!(err.contains("(--set system.fanout.kind=sideways)"), "{err}");
    assert!(err.contains("sideways"), "{err}");
    let err = load_error(&path, &["--set", "system.timeline-cap=many"]);
    assert!(err.contains("(--set system.timeline-cap=many)"), "{err}");
    assert!(err.contains("system.timeline-cap"), "{err}");
    let err = load_error(&path, &["--set", "system.fanout.knd=push"]);
    assert!(
        err.contains("unknown key \"fanout.knd\" in [system]"),
        "{err}"
    );
    let err = load_error(&path, &["--set", "no-equals-sign"]);
    assert!(err.contains("(--set no-equals-sign)"), "{err}");
}

#[test]
fn variant_with_unknown_key_points_at_its_line() {
    let text = "[system]\ntimeline-cap = 10\n\n[[variants]]\nname = \"push\"\nsystem.fanout.kind = \"push\"\n\n[[variants]]\nname = \"bad\"\nsystem.fanout.knd = \"pull\"\n";
    let (_d, path) = scenario_file("variants.toml", text);
    let err = load_error(&path, &[]);
    assert!(err.contains("variants.toml:10:"), "{err}");
    assert!(err.contains("in variant \"bad\""), "{err}");
    assert!(
        err.contains("unknown key \"fanout.knd\" in [system]"),
        "{err}"
    );
}

#[test]
fn variants_resolve_with_overrides_and_sets_apply_last() {
    let text = "[scenario]\nname = \"v\"\nseed = 7\n\n[system]\ntimeline-cap = 10\n[system.fanout]\nkind = \"hybrid\"\nhybrid-threshold = 99\n\n[[variants]]\nname = \"push\"\nsystem.fanout.kind = \"push\"\n\n[[variants]]\nname = \"pull\"\nsystem.fanout.kind = \"pull\"\nsystem.timeline-cap = 20\n";
    let (_d, path) = scenario_file("v.toml", text);
    let specs = resolve(&path, &[]);
    assert_eq!(specs.len(), 2);
    assert_eq!(specs[0]["variant"], "push");
    assert_eq!(specs[0]["system"]["fanout"]["kind"], "push");
    // Untouched base keys survive the deep merge.
    assert_eq!(specs[0]["system"]["fanout"]["hybrid-threshold"], 99);
    assert_eq!(specs[0]["system"]["timeline-cap"], 10);
    assert_eq!(specs[1]["system"]["fanout"]["kind"], "pull");
    assert_eq!(specs[1]["system"]["timeline-cap"], 20);
    assert_eq!(specs[1]["seed"], 7);
    assert_eq!(specs[1]["scenario"], "v");
    assert_eq!(specs[0]["target"]["feed-p99-ms"], 200.0);

    let specs = resolve(&path, &["--set", "system.timeline-cap=30", "--seed", "5"]);
    assert!(specs.iter().all(|s| s["system"]["timeline-cap"] == 30));
    assert!(specs.iter().all(|s| s["seed"] == 5));
    assert_eq!(specs[1]["system"]["fanout"]["kind"], "pull");
}

#[test]
fn no_variants_gives_one_default_spec() {
    let (_d, path) = scenario_file(
        "plain.toml",
        "[population]\nusers = 100000\ndaily-active = 1000\n",
    );
    let specs = resolve(&path, &["--set", "population.daily-active=500"]);
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0]["variant"], "default");
    assert_eq!(specs[0]["scenario"], "plain");
    assert_eq!(specs[0]["population"]["users"], 100_000);
    assert_eq!(specs[0]["population"]["daily-active"], 500);
}

fn shipped_scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_loads_and_resolves() {
    let files = shipped_scenarios();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    for want in [
        "quickstart",
        "instagram-seed",
        "sharding",
        "celebrity",
        "twitter-2012",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "missing scenarios/{want}.toml"
        );
    }
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        assert!(
            text.starts_with('#'),
            "{}: needs a header comment",
            f.display()
        );
        let specs = resolve(f, &[]);
        assert!(!specs.is_empty(), "{}", f.display());
    }
    let quick = resolve(
        &files[names.iter().position(|n| n == "quickstart").expect("q")],
        &[],
    );
    let kinds: Vec<&str> = quick
        .iter()
        .map(|s| s["system"]["fanout"]["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["push", "pull", "hybrid"]);
}

#[test]
fn broken_files_fail_cleanly_without_panics() {
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml"),
    )
    .expect("read quickstart");
    let mut cases: Vec<String> = vec![
        "[system\n".into(),
        "[[variants]]\n".into(),
        "variants = 3\n".into(),
        "[[variants]]\nname = 3\n".into(),
        "[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"\n".into(),
        "[[variants]]\nname = \"a\"\nvariants = []\n".into(),
        "system = 5\n".into(),
        "[system.fanout]\nkind = 7\n".into(),
        "[population]\nusers = -1\n".into(),
        "[population]\nusers = 1e300\n".into(),
        "[scenario]\nduration-s = nan\n".into(),
        "[plan]\nreplication-factor = 0\n".into(),
        "[plan.rows]\nuser = \"x\"\n".into(),
        "\u{0}\u{1}garbage = = =\n".into(),
        "[gate]\n\"feed.p99_ms\" = { max = \n".into(),
    ];
    // Truncations of a real file at several points (mostly mid-token).
    for cut in (7..base.len()).step_by(base.len() / 12 + 1) {
        let mut end = cut;
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        cases.push(base[..end].to_string());
    }
    for (i, text) in cases.iter().enumerate() {
        let (_d, path) = scenario_file(&format!("broken{i}.toml"), text);
        let out = feedlab(&["plan", path.to_str().expect("utf-8"), "--resolve"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "case {i}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "case {i}: {:?} {stderr}",
            out.status
        );
        if out.status.code() == Some(2) {
            assert!(
                stderr.contains(&format!("broken{i}.toml")),
                "case {i}: {stderr}"
            );
        }
    }
}
