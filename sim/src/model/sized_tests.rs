//! Ops priced by their bytes. An upload's app-side work is priced at its body's size: a live
//! run records `app-upload` at the body's KiB, and the model draws it at the simulated body's
//! KiB, so a video costs what its bytes cost rather than a photo's mean. A view reads its drawn
//! file's bytes, up to the driver's `view-bytes`.

use feedlab_system::policy::FanoutKind;

use super::faults::tests::{run_calibrated, run_viewing};
use crate::model::{CalibOp, Calibration, ModelReport};

/// The built-in calibration with `app-upload` at the given `(KiB, ms)` points, each a point
/// mass, a tenth of it CPU.
fn calibration(points: &[(u32, f64)]) -> Calibration {
    with_points(Calibration::builtin(), "app-upload", points)
}

/// `cal` with `op` at the given `(size, ms)` points instead of its own, each a point mass, a
/// tenth of it CPU.
fn with_points(mut cal: Calibration, op: &str, points: &[(u32, f64)]) -> Calibration {
    cal.ops.retain(|o| o.op != op);
    cal.ops.extend(points.iter().map(|&(n, ms)| CalibOp {
        op: op.into(),
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

/// The blob store's utilisation in `r`.
fn blob_busy(r: &ModelReport) -> f64 {
    r.snapshot.blob.utilisation
}

/// Blob bytes one `op` read, on average.
fn bytes_read(r: &ModelReport, op: &str) -> f64 {
    let w = r.work.iter().find(|(k, _)| k == op).expect("op").1;
    w.blob_bytes_read as f64 / w.ops as f64
}

#[test]
fn a_view_reads_its_file_s_bytes_up_to_the_cap() {
    // 0.05 ms at 64 KiB, 1 µs per KiB more.
    let cal = with_points(
        Calibration::builtin(),
        "blob-get",
        &[(64, 0.05), (1_088, 1.074)],
    );
    let whole = run_viewing(2, FanoutKind::Push, &[], 512, &cal, None);
    let capped = run_viewing(2, FanoutKind::Push, &[], 512, &cal, Some(64 * 1024));
    // Whole files: ~296 KB a view (2% videos of 5 MB); capped at 64 KiB, at most 64 KiB.
    let (w, c) = (
        bytes_read(&whole, "photo_get"),
        bytes_read(&capped, "photo_get"),
    );
    assert!((250e3..350e3).contains(&w), "{w} bytes a whole view");
    assert!((60e3..=65_536.0).contains(&c), "{c} bytes a capped view");
    let (w, c) = (mean(&whole, "photo_get"), mean(&capped, "photo_get"));
    assert!(w > c, "whole {w} ms, capped {c} ms");
    let (bw, bc) = (blob_busy(&whole), blob_busy(&capped));
    // ~0.28 ms a view against 0.05 ms, beside the uploads' puts (priced alike in both).
    assert!(
        bw > 1.3 * bc,
        "blob store busy {bw} whole against {bc} capped"
    );
    let feed = (mean(&whole, "feed") / mean(&capped, "feed") - 1.0).abs();
    assert!(feed < 0.05, "feeds are priced alike: {feed}");
}
