//! The CPU cap of a drawn transport (`sim.transport-cpu-cap`, on by default): a slow transport
//! is a wait rather than a long hold of a core, so on a busy box the other ops queue behind
//! less, while the box's CPU, the measured mean, is the same with or without the cap.

mod common;

use common::simtest::{feedlab, free_box, read, scenario};
use serde_json::Value;

/// A feed transport shaped as a quickstart calibration's (median 0.17 ms, p99.9 3.6 ms; its
/// points' mean 0.215 ms), 0.75 of it CPU (`cpu-mean-ms` over `mean-ms`): in proportion, its
/// slowest draws would hold a core for 2.7 ms. The `[cpu-fall]` (with no fall) turns on the
/// wake-up split that in-situ calibrations get.
const CALIBRATION: &str = r#"
[[ops]]
op = "http-feed"
n = 1
count = 1000
mean-ms = 0.25
quantiles-ms = [[0.0, 0.0912], [0.5, 0.1739], [0.75, 0.2089], [0.9, 0.32], [0.95, 0.3942], [0.98, 0.6405], [0.99, 0.8596], [0.995, 1.8626], [0.998, 2.857], [0.999, 3.6227], [1.0, 3.6227]]
cpu-mean-ms = 0.188

[cpu-fall]
busy = 0.05
burst-busy = 0.3
ratio = 1.0
"#;

/// Runs `file` with the cap on or off: the run's `sim` report and its feed reads.
fn run(dir: &std::path::Path, file: &str, cap: bool) -> (Value, Value) {
    let out = dir.join(format!("cap-{cap}"));
    let set = format!("sim.transport-cpu-cap={cap}");
    feedlab(&[
        "sim",
        file,
        "--set",
        &set,
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let v = read(&out.join("default/summary.json"));
    (v["sim"].clone(), v["ops"]["feed"].clone())
}

#[test]
fn a_capped_transport_keeps_the_box_s_cpu_and_queues_the_others_less() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cal = dir.path().join("cap.toml");
    std::fs::write(&cal, CALIBRATION).expect("write");
    // The free box of `tests/sim.rs` in 1.5 ms slices as the quickstart's, its generator and
    // background CPU 0.05 ms per op each: about 30% busy at this speedup.
    let body = format!(
        "calibration = {:?}\n{}",
        cal.display().to_string(),
        free_box("")
    )
    .replace("cores = 2.0\n", "cores = 2.0\ncpu-slice-ms = 1.5\n")
    .replace("ms = 1.0 }", "ms = 0.05 }")
    .replace("ms = 0.5 }", "ms = 0.05 }");
    let file = scenario(dir.path(), 10.0, 17280.0, &body);
    let ((sim_on, feed_on), (sim_off, feed_off)) =
        (run(dir.path(), &file, true), run(dir.path(), &file, false));
    let cores = |s: &Value| s["cpu_cores"].as_f64().expect("cpu_cores");
    let ratio = cores(&sim_on) / cores(&sim_off);
    assert!(
        (0.97..1.03).contains(&ratio),
        "the cap moved the box's CPU by {ratio:.3}×: {} against {}",
        sim_on["cpu_cores"],
        sim_off["cpu_cores"]
    );
    // In proportion, the slowest transports each hold a core for milliseconds, and feeds
    // queue behind them in the tail; as waits, they hold nothing.
    let p = |v: &Value, q: &str| v[q].as_f64().expect("latency");
    assert!(
        p(&feed_on, "p99_ms") < 0.85 * p(&feed_off, "p99_ms"),
        "feed p99 {} capped against {} in proportion",
        feed_on["p99_ms"],
        feed_off["p99_ms"]
    );
    let p50 = p(&feed_on, "p50_ms") / p(&feed_off, "p50_ms");
    assert!((0.9..1.1).contains(&p50), "the median moved {p50:.2}×");
}
