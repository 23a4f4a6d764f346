//! The simulator against a live run of the same scaled scenario, with a
//! calibration taken on this machine in situ. In a binary of its own so that
//! no other test competes with the live leg for the two cores.

mod common;

use std::path::Path;

use common::simtest::{feedlab, read, scenario};

/// The simulator against a live run of the same scaled scenario (same
/// population, op stream, rates and seed; live latency measured in-process
/// by the driver with direct calls). Feed p50 and p99 must agree within 25%.
///
/// The calibration is taken on this machine, in situ: a first live run of
/// the scenario with another seed (7) records the service time of every
/// storage call and each op's app-side time while its driver runs, and writes
/// them as `calibration.toml` (see `feedlab_system::timing`); the ops it
/// does not exercise come from `feedlab calibrate`. A synthetic calibration
/// alone made the simulator fast by 35-60% at p50: on the live run's data the
/// same primitives cost 1.5-5x what they cost on calibrate's small store.
///
/// The model mirrors the live run's structure: the embedded store's inline
/// shard calls of one request step run one after another, batch-gets it
/// hands to its blocking pool run beside them (`sim.shard-calls =
/// "serial"`), a pulled followee's scan returns the photos it has
/// (`driver.history-photos-per-user`), and the driver's measured dispatch
/// delay (`sim.client-dispatch`) is part of every op's latency.
///
/// Measured 2026-11-29 (debug build, load ~1): p50 −12% to +3%, p99 −5% to
/// +24% over six runs. It takes about a minute.
#[test]
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
    let first = dir.path().join("insitu");
    let first = first.to_str().expect("utf-8 path");
    feedlab(&[
        "run",
        &file,
        "--variant",
        "live",
        "--seed",
        "7",
        "--out",
        first,
    ]);
    std::fs::copy(Path::new(first).join("live/calibration.toml"), &calib)
        .expect("the live run wrote its calibration");
    // One rerun of the comparison (not of the calibration) when the first
    // misses: p99 of ~245 feeds is the third-largest, and another tenant's
    // burst on a shared 2-core box moves it. A model that is off misses twice.
    let mut misses = Vec::new();
    for attempt in 1..=2 {
        let out = dir.path().join(format!("out{attempt}"));
        let stdout = feedlab(&["compare", &file, "--out", out.to_str().expect("utf-8")]);
        let live = read(&out.join("live/summary.json"));
        let sim = read(&out.join("sim/summary.json"));
        assert_eq!(live["mode"], "live");
        assert_eq!(sim["mode"], "sim");
        let mut ok = true;
        for q in ["p50_ms", "p99_ms"] {
            let l = live["ops"]["feed"][q].as_f64().expect("live figure");
            let s = sim["ops"]["feed"][q].as_f64().expect("sim figure");
            let off = s / l - 1.0;
            println!(
                "attempt {attempt}: feed {q}: live {l:.2} sim {s:.2} ({:+.1}%)",
                100.0 * off
            );
            if off.abs() > 0.25 {
                ok = false;
                misses.push(format!(
                    "attempt {attempt}: feed {q}: live {l} vs sim {s}\n{stdout}"
                ));
            }
        }
        if ok {
            return;
        }
    }
    panic!(
        "sim and live disagree by more than 25%:\n{}",
        misses.join("\n")
    );
}
