//! `feedlab sweep` end to end on the scaled scenario, simulated (deterministic, seconds):
//! the ladder climbs, finds a knee, bisects, writes `sweep.json` and the report; bad `[sweep]`
//! keys and unknown variants are clear errors with exit code 2.

mod common;

use std::process::Command;

use common::simtest::{feedlab, read, scenario};
use serde_json::Value;

const SWEEP: &str = "\n[sweep]\nstart = 1.0\nfactor = 2.0\nmax = 64.0\nbisect = 2\n\n\
                     [[variants]]\nname = \"push\"\nsystem.fanout.kind = \"push\"\n\n\
                     [[variants]]\nname = \"pull\"\nsystem.fanout.kind = \"pull\"\n";

fn steps(v: &Value) -> Vec<(f64, bool)> {
    v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["load"].as_f64().expect("load"),
                s["good"].as_bool().expect("good"),
            )
        })
        .collect()
}

#[test]
fn a_simulated_ladder_finds_each_knee_and_writes_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 10.0, 2160.0, SWEEP);
    let out = dir.path().join("out");
    let stdout = feedlab(&[
        "sweep",
        &file,
        "--mode",
        "sim",
        "--jobs",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(stdout.contains("knee"), "{stdout}");
    let r = read(&out.join("sweep.json"));
    let variants = r["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    for v in variants {
        let name = v["variant"].as_str().expect("name");
        let pts = steps(v);
        let knee = v["knee"]["load"].as_f64();
        let lowest_bad = pts
            .iter()
            .filter(|p| !p.1)
            .map(|p| p.0)
            .fold(f64::INFINITY, f64::min);
        match knee {
            Some(k) => {
                // The knee is a good step, nothing good lies between it and the lowest bad
                // step, and two bisections pinned it within 2^(1/4).
                assert!(pts.contains(&(k, true)), "{name}: {pts:?}");
                assert!(k < lowest_bad, "{name}: {pts:?}");
                if lowest_bad.is_finite() {
                    assert!(lowest_bad / k <= 2f64.powf(0.25) + 1e-6, "{name}: {pts:?}");
                    assert!(!v["first_breach"].as_array().expect("breach").is_empty());
                }
                assert_eq!(v["headroom"].as_f64(), Some(k));
            }
            None => assert!(pts.iter().all(|p| !p.1), "{name}: {pts:?}"),
        }
        // Every step wrote an ordinary summary at its load.
        for s in v["steps"].as_array().expect("steps") {
            let summary = read(&out.join(s["summary"].as_str().expect("path")));
            assert_eq!(summary["mode"], "sim");
            assert_eq!(summary["config"]["load"].as_f64(), s["load"].as_f64());
        }
    }
    // More load means more feed reads offered, step by step.
    let offered: Vec<f64> = variants[0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["ops"]["feed"]["offered_per_s"].as_f64().expect("rate"))
        .collect();
    assert!(offered.windows(2).all(|w| w[0] < w[1]), "{offered:?}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(
        html.contains("feed: p99 latency vs offered load"),
        "chart missing"
    );
    assert!(out.join("plots/sweep-feed-goodput.svg").exists());
    common::schema::assert_valid_outputs(&out);
    // The two ladders ran side by side (`--jobs 2`); one after the other they are the same.
    let serial = dir.path().join("serial");
    feedlab(&[
        "sweep",
        &file,
        "--mode",
        "sim",
        "--jobs",
        "1",
        "--out",
        serial.to_str().expect("utf-8"),
    ]);
    assert_eq!(read(&serial.join("sweep.json"))["variants"], r["variants"]);
}

/// Runs feedlab expecting exit code 2; returns stderr.
fn fails(args: &[&str]) -> String {
    let res = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab");
    let err = String::from_utf8_lossy(&res.stderr).into_owned();
    assert_eq!(res.status.code(), Some(2), "{args:?}: {err}");
    err
}

#[test]
fn bad_sweep_keys_and_unknown_variants_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = scenario(dir.path(), 5.0, 2160.0, "\n[sweep]\nfactor = 1.0\n");
    let err = fails(&["sweep", &bad, "--mode", "sim"]);
    assert!(
        err.contains("simtest.toml:") && err.contains("sweep.factor"),
        "{err}"
    );
    let file = scenario(dir.path(), 5.0, 2160.0, SWEEP);
    let err = fails(&["sweep", &file, "--variant", "nope"]);
    assert!(err.contains("push") && err.contains("pull"), "{err}");
}
