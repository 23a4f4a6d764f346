//! An upload's app-side work is priced at its body's size: a live run records `app-upload` at
//! the body's KiB, and the model draws it at the simulated body's KiB, so a video costs what
//! its bytes cost rather than a photo's mean.

use feedlab_system::policy::FanoutKind;

use super::faults::tests::run_calibrated;
use crate::model::{CalibOp, Calibration, ModelReport};

/// The built-in calibration with `app-upload` at the given `(KiB, ms)` points, each a point
/// mass, a tenth of it CPU.
fn calibration(points: &[(u32, f64)]) -> Calibration {
    let mut cal = Calibration::builtin();
    cal.ops.extend(points.iter().map(|&(n, ms)| CalibOp {
        op: "app-upload".into(),
        n,
        count: 100,
        mean_ms: ms,
        quantiles_ms: vec![(0.0, ms), (1.0, ms)],
        cpu_mean_ms: Some(ms / 10.0),
    }));
    cal
}

/// Mean latency of `op`, ms.
fn mean(r: &ModelReport, op: &str) -> f64 {
    r.ops.iter().find(|(k, _)| k == op).expect("op").1.mean_ms
}

#[test]
fn an_upload_s_app_time_grows_with_its_body() {
    let flat = run_calibrated(2, FanoutKind::Push, &[], 512, &calibration(&[(1, 1.0)]));
    // 1 ms at 1 KiB, 10 µs per KiB more.
    let sized = calibration(&[(1, 1.0), (2_001, 21.0)]);
    let sized = run_calibrated(2, FanoutKind::Push, &[], 512, &sized);
    let added = mean(&sized, "upload") - mean(&flat, "upload");
    // Photos of 200 KB on average (+1.95 ms) and 2% videos of 5 MB (+49 ms each): ~+2.9 ms.
    assert!((2.0..4.5).contains(&added), "{added}");
    let feed = (mean(&sized, "feed") / mean(&flat, "feed") - 1.0).abs();
    assert!(feed < 0.05, "feeds are priced as before: {feed}");
}
