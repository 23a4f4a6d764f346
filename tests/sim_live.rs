//! The simulator against a live run of the same scaled scenario, with a
//! calibration taken on this machine in situ. In a binary of its own so that
//! no other test competes with the live leg for the two cores.

mod common;

use common::simtest::{feedlab, read, scenario};

/// The simulator against a live run of the same scaled scenario (same
/// population, op stream, rates and seed; live latency measured in-process
/// by the driver with direct calls). Feed p50 and p99 must agree within 25%.
///
/// The calibration is taken on this machine, in situ: the live variant
/// records the service time of every storage call and each op's app-side
/// time while its driver runs, and writes them as `calibration.toml` (see
/// `feedlab_system::timing`); the sim variant, run next, reads it, and the
/// ops the run does not exercise come from `feedlab calibrate`. So the test
/// checks the model's structure (flows, fan-in, serial and pooled calls,
/// queueing) against the live service, not the figures of its primitives. A
/// synthetic calibration alone made the simulator fast by 35-60% at p50: on
/// the live run's data the same primitives cost 1.5-5x what they cost on
/// calibrate's small store. (Calibrating from a first live run with another
/// seed works too, but adds that run's own tail to the comparison.)
///
/// The model mirrors the live run's structure: the embedded store's inline
/// shard calls of one request step run one after another, batch-gets it
/// hands to its blocking pool run beside them (`sim.shard-calls =
/// "serial"`), a pulled followee's scan returns the photos it has
/// (`driver.history-photos-per-user`), and the driver's measured dispatch
/// delay (`sim.client-dispatch`) is part of every op's latency.
///
/// Measured 2026-11-29 (debug build, load ~0.5): p50 +0.4% and +1.3%, p99
/// +2.8% and +7.5%. It takes about 45 s (90 s when it reruns).
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
    // The live variant runs first and writes `out/live/calibration.toml`,
    // which the sim variant then reads (paths are relative to the scenario).
    let extra = "calibration = \"calib.toml\"\nclient-dispatch = true\n\n[[variants]]\nname = \"live\"\n\n\
                 [[variants]]\nname = \"sim\"\nscenario.mode = \"sim\"\n\
                 sim.calibration = \"out/live/calibration.toml\"\nsim.duration-s = 150.0\n";
    // 30 s live (~490 feeds, so p99 is the fifth-largest); the model runs
    // 150 s of the same stream, so its p99 carries little sampling noise.
    let file = scenario(dir.path(), 30.0, 216.0, extra);
    // One rerun of the comparison when the first misses: another tenant's
    // burst on a shared 2-core box moves the live p99. A model that is off
    // misses twice.
    let mut misses = Vec::new();
    for attempt in 1..=2 {
        let out = dir.path().join("out");
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
        common::schema::assert_valid_outputs(&out);
        if ok {
            return;
        }
    }
    panic!(
        "sim and live disagree by more than 25%:\n{}",
        misses.join("\n")
    );
}
