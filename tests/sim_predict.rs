//! The simulator predicting a live ladder from one low-load calibration, scaled down to fit
//! a CI run: `feedlab sweep --predict` on the scaled scenario, push, over HTTP, on this box.
//! In a binary of its own so that no other test competes with the live steps for the cores.
//!
//! The live ladder runs ×1, ×16 and ×128 of 16 feed reads/s (with two photo views per feed,
//! each reading at most a file's first MiB, and uploads). Its first step is the calibration:
//! its in-situ `calibration.toml` and a 10 s burst at ten times its load, which measures how
//! the CPU per op falls on a busier box and how far each op kind's p50 falls (the twin's
//! wake-up fade per kind is fitted to it, `sweep.wake-from-burst`). The twin (`<variant>-sim`, the scenario's one-box
//! deployment of two cores shared by app, stores and generator) reads that file and runs the
//! same loads, each at the machine speed the live step's probe read (`sweep.twin-speed`); it
//! sees nothing else of the live steps. In a debug build the service's knee moves between about ×32 and ×72 from run
//! to run (on 2026-12-02 one ladder broke at ×48 on a one-second stall, and a CI run held ×64
//! with all its 969 feeds/s served), so ×16 runs with queues, well below it, and ×128 (2,048
//! feeds/s offered) breaks in every run.
//!
//! What the test asks of the prediction:
//! - feed and photo_get p50 within 25% at ×1 (its own load: within 3% in every run so far)
//!   and within 40% at ×16. Over nine runs on 2026-12-02 the ×16 errors ranged from −36% to
//!   +27%: the fall the burst measures moves with the box, and the ×16 p50 moves with it;
//!   without the fall it was +49% to +62%. On 2026-12-07 live's views at ×16 ran at
//!   0.46–0.94 of their ×1 time, and the view p50 came out +59% to −14% until the burst's
//!   p50s set the wake-up fade (−5% to −34% on the same four ladders, BENCHMARKS.md);
//! - drops where live drops: both break at ×128 and neither at ×16, so the knee and the drop
//!   onset agree to the step.
//!
//! It does not ask the twin's p99 to agree: at ×16 it was 23% high for feeds and 30% low for
//! photo_get in the last run (see BENCHMARKS.md), an open gap of the resource model. A miss reruns the
//! whole ladder, up to three ladders in all: another tenant's burst on a shared 2-core box moves
//! a live step (on 2026-12-03, under 30–60 s of steal per 10 minutes, the live ×16 p50 ranged
//! from 1.18 to 4.39 ms over eight ladders, and two runs of this test missed twice); a model
//! that is off misses every time.

mod common;

use common::simtest::{feedlab, read, scenario};
use serde_json::Value;

const EXTRA: &str = "
[sim.deployment]
layout = \"one-box\"
cores = 2.0
generator-on-box = true

[sweep]
start = 1.0
factor = 16.0
max = 128.0
bisect = 0
confirm = 0
step-s = 6.0
predict = true
calibration-burst = 10.0
calibration-burst-s = 10.0

[[variants]]
name = \"push\"
system.fanout.kind = \"push\"
";

/// Ladders run before a miss fails the test.
const ATTEMPTS: u32 = 3;

/// The ladder's last step: far enough above the live knee that live breaks in every run.
const TOP: f64 = 128.0;

/// The prediction's step at `load` for `op`: live and sim (p50, p99) in ms.
fn step(pred: &Value, load: f64, op: &str) -> ([f64; 2], [f64; 2]) {
    let s = pred["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["load"].as_f64() == Some(load) && s["op"] == op)
        .unwrap_or_else(|| panic!("no {op} step at x{load}: {pred}"));
    let pair = |k: &str| {
        let v = s[k].as_array().expect("pair");
        [v[0].as_f64().expect("p50"), v[1].as_f64().expect("p99")]
    };
    (pair("live_ms"), pair("sim_ms"))
}

/// One ladder and its twin; the misses found, empty when the prediction held.
fn attempt(dir: &std::path::Path, file: &str, n: u32) -> Vec<String> {
    let out = dir.join(format!("out{n}"));
    // Over HTTP, as a sweep of the quickstart runs (the shared scenario calls directly).
    let stdout = feedlab(&[
        "sweep",
        file,
        "--set",
        "driver.transport=http",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let r = read(&out.join("sweep.json"));
    let pred = &r["predictions"][0];
    assert_eq!(pred["live"], "push", "{stdout}");
    assert_eq!(pred["sim"], "push-sim", "{stdout}");
    let mut misses = Vec::new();
    for load in [1.0, 16.0] {
        for op in ["feed", "photo_get"] {
            let (live, sim) = step(pred, load, op);
            let off = sim[0] / live[0] - 1.0;
            println!(
                "attempt {n}: x{load} {op}: p50 live {:.2} sim {:.2} ({:+.0}%), p99 live {:.1} \
                 sim {:.1}",
                live[0],
                sim[0],
                100.0 * off,
                live[1],
                sim[1]
            );
            let bound = if load == 1.0 { 0.25 } else { 0.40 };
            if off.abs() > bound {
                misses.push(format!("x{load} {op} p50: live {} sim {}", live[0], sim[0]));
            }
        }
    }
    let onset = &pred["drop_onset"];
    println!("attempt {n}: drop onset live / sim {onset}");
    if onset[0].as_f64() != Some(TOP) || onset[1].as_f64() != Some(TOP) {
        misses.push(format!(
            "drop onset live / sim {onset}, not x{TOP} for both"
        ));
    }
    common::schema::assert_valid_outputs(&out);
    if !misses.is_empty() {
        misses.push(stdout);
    }
    misses
}

#[test]
fn one_low_load_calibration_predicts_the_ladder_above_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = scenario(dir.path(), 6.0, 216.0, EXTRA);
    let file = file.as_str();
    let mut all = Vec::new();
    for n in 1..=ATTEMPTS {
        let misses = attempt(dir.path(), file, n);
        if misses.is_empty() {
            return;
        }
        all.extend(misses);
    }
    panic!("the twin missed {ATTEMPTS} times:\n{}", all.join("\n"));
}
