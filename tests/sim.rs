//! `feedlab sim` end to end: reproducibility of summary.json per seed, the
//! validation queue against theory through the CLI, and (ignored by default,
//! see its docs) the simulator against a live run with a calibration taken
//! on this machine moments before.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn feedlab(args: &[&str]) -> String {
    let res = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .output()
        .expect("run feedlab");
    assert!(
        res.status.success(),
        "feedlab {args:?} failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    String::from_utf8_lossy(&res.stdout).into_owned()
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("summary exists");
    serde_json::from_str(&text).expect("summary is JSON")
}

/// A scaled quickstart-like scenario; `extra` is appended (variants, keys).
fn scenario(dir: &Path, duration: f64, speedup: f64, extra: &str) -> String {
    let text = format!(
        r#"
[scenario]
name = "simtest"
seed = 42
duration-s = {duration}

[population]
users = 300_000_000
daily-active = 30_000_000
mean-followees = 200.0
scale = 0.00001

[traffic]
uploads-per-day = 20_000_000.0
views-per-feed = 2.0
speedup = {speedup}
diurnal-peak = 1.0

[system]
timeline-cap = 500

[system.fanout]
kind = "hybrid"
hybrid-threshold = 200

[system.sharding]
kind = "user"
shards = 4

[driver]
transport = "direct"

[sim]
population = "scaled"
network = {{ kind = "deterministic", ms = 0.0 }}
shard-calls = "serial"
shard-workers = 2
read-servers = 1
write-servers = 1
{extra}
"#
    );
    let path = dir.join("simtest.toml");
    std::fs::write(&path, text).expect("write scenario");
    path.display().to_string()
}

#[test]
fn same_seed_gives_byte_identical_summaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 5.0, 2160.0, "");
    let mut texts = Vec::new();
    for run in ["a", "b"] {
        let out = dir.path().join(run);
        let out = out.to_str().expect("utf-8 path");
        feedlab(&["sim", &file, "--seed", "7", "--out", out]);
        let text = std::fs::read(Path::new(out).join("default/summary.json")).expect("summary");
        texts.push(text);
    }
    assert_eq!(
        texts[0], texts[1],
        "summary.json differs between equal-seed runs"
    );
    let v: Value = serde_json::from_slice(&texts[0]).expect("json");
    assert_eq!(v["mode"], "sim");
    assert!(v["ops"]["feed"]["count"].as_u64().unwrap_or(0) > 100, "{v}");
    assert!(v["fanout"]["timeline_writes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(v["sim"]["shards"].as_array().map(Vec::len), Some(4));
    // A different seed gives a different run (the check above can fail).
    let out = dir.path().join("c");
    let out = out.to_str().expect("utf-8 path");
    feedlab(&["sim", &file, "--seed", "8", "--out", out]);
    let other = std::fs::read(Path::new(out).join("default/summary.json")).expect("summary");
    assert_ne!(texts[0], other, "seed must matter");
}

#[test]
fn validation_queue_reports_waits_next_to_theory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf-8 path");
    let scen = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/validate-mmc.toml");
    let stdout = feedlab(&[
        "sim",
        scen,
        "--out",
        out,
        "--set",
        "sim.queue.arrival-rate=2.0",
        "--set",
        "sim.queue.customers=1000000",
    ]);
    assert!(stdout.contains("theory"), "{stdout}");
    let v = read(&dir.path().join("default/summary.json"));
    let q = &v["sim"]["queue"];
    assert_eq!(q["arrival_rate"].as_f64(), Some(2.0), "--set applied");
    let err = q["mean_wait_error"].as_f64().expect("mean error");
    assert!(err.abs() < 0.03, "mean wait {err:+.3} off theory: {q}");
    let p99 = q["p99_wait_error"].as_f64().expect("p99 error");
    assert!(p99.abs() < 0.05, "p99 wait {p99:+.3} off theory: {q}");
}

/// The simulator against a live run of the same scaled scenario (same
/// population, op stream, rates and seed; live latency measured in-process
/// by the driver with direct calls), the simulator fed with a calibration
/// measured just before on this machine. Feed p50 and p99 must agree within
/// 25%.
///
/// The model mirrors the live run's structure: shard calls of one request
/// step run one after another (`sim.shard-calls = "serial"`, the embedded
/// store's inline reads), a pulled followee's scan returns the photos it has
/// (`driver.history-photos-per-user`), the merge sorts every candidate, and
/// the driver's measured dispatch delay (calibration op `dispatch`,
/// `sim.client-dispatch`) is part of every op's latency.
///
/// Ignored by default: it runs in about 50 s, but on the shared 2-core
/// machines p99 is not reliable yet. Measured 2026-11-29 at load 2.4–5
/// (live vs sim, ms): p50 3.67/4.26, 3.78/3.10, 3.52/3.15, 3.2/2.6,
/// 3.12/2.60 (always within 25%); p99 18.1/20.4, 20.9/26.8, 32.8/18.2,
/// 12.6/12.1, 8.3/11.7 (three times outside):
/// a 15 s run has ~245 feeds, so p99 is its third-largest, and another
/// tenant's burst moves it. Run with
/// `cargo test --test sim -- --ignored --nocapture`.
#[test]
#[ignore = "≈50 s; p50 agrees reliably, p99 of ~245 feeds is too noisy on a loaded 2-core box"]
fn sim_agrees_with_live_within_25_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let calib = dir.path().join("calib.toml");
    feedlab(&[
        "calibrate",
        "--samples",
        "500",
        "--out",
        calib.to_str().expect("utf-8 path"),
    ]);
    let extra = "calibration = \"calib.toml\"\nclient-dispatch = true\n\n[[variants]]\nname = \"live\"\n\n\
                 [[variants]]\nname = \"sim\"\nscenario.mode = \"sim\"\n";
    let file = scenario(dir.path(), 15.0, 216.0, extra);
    let out = dir.path().join("out");
    let stdout = feedlab(&["compare", &file, "--out", out.to_str().expect("utf-8")]);
    let live = read(&out.join("live/summary.json"));
    let sim = read(&out.join("sim/summary.json"));
    assert_eq!(live["mode"], "live");
    assert_eq!(sim["mode"], "sim");
    for q in ["p50_ms", "p99_ms"] {
        let l = live["ops"]["feed"][q].as_f64().expect("live figure");
        let s = sim["ops"]["feed"][q].as_f64().expect("sim figure");
        println!(
            "feed {q}: live {l:.2} sim {s:.2} ({:+.1}%)",
            100.0 * (s / l - 1.0)
        );
        assert!(
            (s / l - 1.0).abs() <= 0.25,
            "feed {q}: live {l} vs sim {s}\n{stdout}"
        );
    }
}
