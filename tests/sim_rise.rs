//! A calibration's `[transport-rise]` in the simulator: with `sim.transport-rise = true` the
//! tail of an op's transport grows with its node's busy fraction while its median stays, and
//! without the switch the calibration's transport is drawn as measured.

mod common;

use common::simtest::{feedlab, free_box, read, scenario};
use serde_json::Value;

/// A calibration whose feed transport is 0.1–1.1 ms (all wait but 0.01 ms of CPU), rising
/// from 5% busy with exponent 0 up to its p90 and 3 at its p99.
const CALIBRATION: &str = r#"
[[ops]]
op = "http-feed"
n = 1
count = 1000
mean-ms = 0.6
quantiles-ms = [[0.0, 0.1], [1.0, 1.1]]
cpu-mean-ms = 0.01

[transport-rise]
busy = 0.05
burst-busy = 0.3

[[transport-rise.kinds]]
kind = "feed"
exponents = [[0.9, 0.0], [0.99, 3.0]]
"#;

/// The free box of `tests/sim.rs` (storage calls and app steps free, generator and background
/// CPU fixed at 1 ms and 0.5 ms per op) priced by the calibration `cal`: about 70% busy at
/// this speedup.
fn busy_box(cal: &str) -> String {
    format!("calibration = {cal:?}\n{}", free_box(""))
}

#[test]
fn a_transport_rise_lengthens_the_tail_on_a_busy_box_and_leaves_the_median() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cal = dir.path().join("rise.toml");
    std::fs::write(&cal, CALIBRATION).expect("write");
    let file = scenario(
        dir.path(),
        10.0,
        4_320.0,
        &busy_box(&cal.display().to_string()),
    );
    let run = |rise: &str| -> Value {
        let out = dir.path().join(rise);
        let set = format!("sim.transport-rise={rise}");
        let out_s = out.to_str().expect("utf-8");
        feedlab(&["sim", &file, "--set", &set, "--out", out_s]);
        read(&out.join("default/summary.json"))["ops"]["feed"].clone()
    };
    let (flat, risen) = (run("false"), run("true"));
    let ms = |v: &Value, q: &str| v[q].as_f64().expect("latency");
    // At ~70% busy a transport drawn at its p99 waits (0.95 / 0.3)^3 ≈ 32 times longer:
    // ~1 ms becomes ~30 ms, beside the box's own queueing (~10 ms at the op's p99).
    assert!(
        ms(&risen, "p99_ms") > 2.5 * ms(&flat, "p99_ms"),
        "p99 {} risen against {} flat",
        risen["p99_ms"],
        flat["p99_ms"]
    );
    let p50 = ms(&risen, "p50_ms") / ms(&flat, "p50_ms");
    assert!((0.8..1.25).contains(&p50), "p50 moved {p50:.2}×");
}

#[test]
fn a_calibration_with_a_bad_rise_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cal = dir.path().join("bad.toml");
    std::fs::write(
        &cal,
        CALIBRATION.replace("burst-busy = 0.3", "burst-busy = 0.01"),
    )
    .expect("write");
    let file = scenario(
        dir.path(),
        2.0,
        4_320.0,
        &busy_box(&cal.display().to_string()),
    );
    let out = dir.path().join("out");
    let res = common::feedlab_output(&["sim", &file, "--out", out.to_str().expect("utf-8")]);
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("transport-rise.burst-busy"), "{err}");
}
