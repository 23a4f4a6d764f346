//! `feedlab report` on saved files alone (no live run): a simulated comparison's reports rebuilt
//! byte for byte, the committed quickstart baseline's report rebuilt identically wherever it is
//! written, unusable input refused with one line
//! naming the file and exit code 2, a directory without `comparison.json` rebuilt from its
//! summaries, and merged reports under `out/report/<scenario>` by default.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use common::files::{feedlab, ok, read_json, write_json};

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
    refused(&[&g1, &g1], &g1.join("comparison.json"));
    assert!(!d.join("m").exists(), "nothing written from bad input");
}

#[test]
fn merged_reports_default_to_out_report_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    for g in ["g1", "g2"] {
        // No successful op, so no .hlog is needed.
        write_json(
            &dir.path().join(g).join("v/summary.json"),
            &summary("s", "v", 0),
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .current_dir(dir.path())
        .args(["report", "g1", "g2"])
        .output()
        .expect("run feedlab");
    ok(&out);
    let root = dir.path().join("out/report/s");
    assert_eq!(read_json(&root.join("v/summary.json"))["generators"], 2);
    assert!(root.join("comparison.json").is_file() && root.join("report.md").is_file());
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

#[test]
fn the_quickstart_baselines_report_is_a_function_of_its_saved_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/baselines/quickstart.json");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(&feedlab(&[
        Path::new("report"),
        &baseline,
        Path::new("--out"),
        &a,
    ]));
    assert!(a.join("quickstart/hybrid/summary.json").is_file());
    let first = report_files(&a);
    let html = String::from_utf8_lossy(&first[Path::new("report.html")]).into_owned();
    assert!(html.contains("feedlab report: quickstart"), "{html}");
    ok(&feedlab(&[Path::new("report"), &a, Path::new("--out"), &b]));
    assert_eq!(report_files(&b), first, "rebuilt elsewhere");
    ok(&feedlab(&[Path::new("report"), &a]));
    assert_eq!(report_files(&a), first, "rebuilt in place");
}

#[test]
fn report_rebuilds_a_simulated_comparison_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[[variants]]\nname = \"push\"\nsystem.fanout.kind = \"push\"\n\n\
                 [[variants]]\nname = \"pull\"\nsystem.fanout.kind = \"pull\"\n";
    let file = common::simtest::scenario(dir.path(), 2.0, 2160.0, extra);
    let out = dir.path().join("sim");
    common::simtest::feedlab(&["sim", &file, "--out", &out.to_string_lossy()]);
    let before = report_files(&out);
    std::fs::remove_file(out.join("report.html")).expect("rm");
    std::fs::remove_dir_all(out.join("plots")).expect("rm");
    ok(&feedlab(&[Path::new("report"), &out]));
    assert_eq!(report_files(&out), before);
}
