//! Fitting the twin's wake-up decay per op kind on the calibration burst.

use std::collections::BTreeMap;
use std::path::Path;

use feedlab_sim::model::{BurstP50, Calibration, CpuFall};

use super::*;
use crate::spec::{Mode, RunSpec};
use crate::summary::{OpStats, Summary};

/// A twin whose p50 is 1 ms at the calibration load and, at a load `above` times higher,
/// `0.5 + 0.5·exp(-decay)` ms: half of it a wake-up wait that fades at its kind's decay.
struct Waking {
    base_load: f64,
    runs: u32,
}

impl crate::exec::Executor for Waking {
    fn run(&mut self, spec: &RunSpec, _out: &Path) -> anyhow::Result<Summary> {
        assert_eq!(spec.mode, Mode::Sim);
        self.runs += 1;
        let high = spec.traffic.load > 1.5 * self.base_load;
        let decays = spec.sim.transport_wake.decays();
        let mut s = Summary::default();
        for kind in feedlab_workload::OpKind::ALL {
            let p50_ms = match high {
                true => 0.5 + 0.5 * (-decays[kind.index()]).exp(),
                false => 1.0,
            };
            let op = OpStats {
                count: 1_000,
                p50_ms,
                p99_ms: 4.0 * p50_ms,
                ..OpStats::default()
            };
            s.ops.insert(kind.name().to_string(), op);
        }
        Ok(s)
    }
}

/// A twin whose calibration's burst measured `p50` (base, high) per kind at 10 times its load.
fn twin(dir: &Path, p50: &[(&str, [f64; 2])]) -> RunSpec {
    let cal = Calibration {
        cpu_fall: Some(CpuFall {
            busy: 0.05,
            burst_busy: 0.4,
            ratio: 0.5,
        }),
        burst: Some(BurstP50 {
            load: 10.0,
            p50_ms: p50.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }),
        ..Calibration::default()
    };
    let path = dir.join("calibration.toml");
    std::fs::write(&path, cal.to_toml().expect("toml")).expect("write");
    let mut twin = crate::scenario::ScenarioDoc::default().to_spec("t", "v-sim");
    twin.mode = Mode::Sim;
    twin.calibration = Some(path);
    twin
}

#[test]
fn each_kind_gets_the_decay_at_which_the_twin_falls_as_the_burst_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Views fell to 0.6 of their time: 0.5 + 0.5·e^-d = 0.6 at d = ln 5. Feeds fell 5%,
    // within the noise of the twin's 0% at the scenario's decay 0. Searches rose.
    let mut t = twin(
        dir.path(),
        &[
            ("photo_get", [1.0, 0.6]),
            ("feed", [1.0, 0.95]),
            ("search", [1.0, 1.5]),
        ],
    );
    let mut ex = Waking {
        base_load: t.traffic.load,
        runs: 0,
    };
    let fitted = fit(&mut t, 1.0, dir.path(), &mut ex)
        .expect("fit")
        .expect("decays");
    assert_eq!(
        ex.runs,
        2 + 1 + ROUNDS,
        "base, as given, then the bisection"
    );
    let view = fitted["photo_get"];
    assert!(
        (view - 5f64.ln()).abs() < MAX_DECAY / 2f64.powi(ROUNDS as i32),
        "{fitted:?}"
    );
    assert_eq!(fitted.get("feed"), None, "within the noise: {fitted:?}");
    assert_eq!(
        fitted.get("search"),
        Some(&0.0),
        "a rise keeps no fade: {fitted:?}"
    );
    assert_eq!(t.sim.transport_wake.kinds, fitted, "set on the twin");
}

#[test]
fn without_a_burst_or_with_the_setting_off_nothing_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = twin(dir.path(), &[("photo_get", [1.0, 0.6])]);
    let mut ex = Waking {
        base_load: t.traffic.load,
        runs: 0,
    };
    t.sweep.wake_from_burst = false;
    assert_eq!(fit(&mut t, 1.0, dir.path(), &mut ex).expect("off"), None);
    t.sweep.wake_from_burst = true;
    let mut no_burst = Calibration::load(t.calibration.as_ref().expect("path")).expect("load");
    no_burst.burst = None;
    let path = dir.path().join("plain.toml");
    std::fs::write(&path, no_burst.to_toml().expect("toml")).expect("write");
    t.calibration = Some(path);
    assert_eq!(
        fit(&mut t, 1.0, dir.path(), &mut ex).expect("no burst"),
        None
    );
    assert_eq!(ex.runs, 0);
    assert_eq!(t.sim.transport_wake.kinds, BTreeMap::new());
}

#[test]
fn kinds_the_twin_already_meets_keep_the_scenario_s_decay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut t = twin(dir.path(), &[("feed", [1.0, 0.95])]);
    t.sim.transport_wake.kinds = BTreeMap::from([("upload".to_string(), 2.0)]);
    let mut ex = Waking {
        base_load: t.traffic.load,
        runs: 0,
    };
    assert_eq!(fit(&mut t, 1.0, dir.path(), &mut ex).expect("fit"), None);
    assert_eq!(ex.runs, 2, "base and as given");
    let given = BTreeMap::from([("upload".to_string(), 2.0)]);
    assert_eq!(t.sim.transport_wake.kinds, given, "unchanged");
}
