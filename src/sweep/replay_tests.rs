//! A predicting sweep's twin at the host's speed, and a replay of a recorded sweep, against
//! an executor whose live runs report a machine-speed probe that depends on the load.

use super::*;
use crate::summary::{OpStats, ProbeStats, Summary};

/// Live runs: good up to `live_knee`, probe µs `probe(load)`, each writing its summary and
/// the first one an in-situ calibration. Simulated runs: good up to `sim_knee`. Records every run.
struct Hosted {
    live_knee: f64,
    sim_knee: f64,
    /// (mode, load, the spec's `sim.deployment.cpu-speed`) of each run.
    runs: Vec<(Mode, f64, f64)>,
}

/// The live probe at `load`: 60 µs at x1, slower (higher) at x4 and above.
fn probe(load: f64) -> f64 {
    if load >= 4.0 { 80.0 } else { 60.0 }
}

impl Executor for Hosted {
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        let load = spec.traffic.load;
        let speed = spec.sim.deployment.cpu_speed;
        self.runs.push((spec.mode, load, speed));
        let live = spec.mode == Mode::Live;
        let knee = if live { self.live_knee } else { self.sim_knee };
        let mut s = Summary {
            duration_s: 10.0,
            ..Summary::default()
        };
        let feed = OpStats {
            count: 1000,
            p50_ms: 1.0 / speed,
            p99_ms: if load <= knee { 50.0 } else { 900.0 },
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), feed);
        if live {
            s.probe = Some(ProbeStats {
                us: probe(load),
                ..ProbeStats::default()
            });
            let dir = out.join(&spec.variant);
            std::fs::create_dir_all(&dir)?;
            if self.runs.len() == 1 {
                let cal = feedlab_sim::model::Calibration::builtin();
                std::fs::write(dir.join("calibration.toml"), cal.to_toml()?)?;
            }
            s.save(&dir.join("summary.json"))?;
        }
        Ok(s)
    }
}

fn predicting(speed: TwinSpeed) -> RunSpec {
    let mut s = crate::scenario::ScenarioDoc::default().to_spec("t", "v");
    s.mode = Mode::Live;
    s.sweep.predict = true;
    s.sweep.confirm = 0;
    s.sweep.bisect = 1;
    s.sweep.twin_speed = speed;
    s
}

fn exec() -> Hosted {
    Hosted {
        live_knee: 5.0,
        sim_knee: 3.0,
        runs: Vec::new(),
    }
}

#[test]
fn each_twin_step_runs_at_the_hosts_speed_at_its_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ex = exec();
    let spec = predicting(TwinSpeed::Live);
    let power = spec.sweep.twin_speed_exponent;
    assert!(power > 0.0 && power < 1.0, "the default damps the ratio");
    let report = ladders(&[spec], dir.path(), &Options::default(), &mut ex).expect("sweep");
    let twin: Vec<(f64, f64)> = (ex.runs.iter())
        .filter(|r| r.0 == Mode::Sim)
        .map(|r| (r.1, r.2))
        .collect();
    let live: Vec<f64> = (ex.runs.iter())
        .filter(|r| r.0 == Mode::Live)
        .map(|r| r.1)
        .collect();
    assert!(twin.len() > live.len(), "the twin searched on: {twin:?}");
    for (load, speed) in &twin {
        if live.contains(load) {
            let want = (probe(1.0) / probe(*load)).powf(power);
            assert!(
                (speed - want).abs() < 1e-9,
                "x{load}: {speed} against {want}"
            );
        } else {
            // Between two live loads, between their speeds.
            assert!(
                *speed < 1.0 && *speed > 0.75f64.powf(power),
                "x{load}: {speed}"
            );
        }
    }
    let sim = &report.variants[1];
    assert_eq!(sim.variant, "v-sim");
    assert!(
        sim.steps
            .iter()
            .all(|s| s.speed.is_some() && s.host_us.is_none())
    );
    assert!(report.variants[0].steps.iter().all(|s| s.host_us.is_some()));
    // The live knee (x4 of x1, x2, x4, x5.66, x8) on the 60 µs reference host: its steps at
    // or above x2 probed 60, 80, 80 and 80 µs.
    let knee = report.variants[0].knee.clone().expect("live knee");
    assert_eq!((knee.load, knee.host_us), (4.0, Some(80.0)));
    assert_eq!(knee.at_reference, Some(4.0 * 80.0 / 60.0));
    assert_eq!(report.reference_probe_us, Some(60.0));
    assert!(sim.knee.as_ref().is_some_and(|k| k.at_reference.is_none()));
    // At the calibration's speed, every twin step keeps the spec's own.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ex = exec();
    let spec = predicting(TwinSpeed::Calibration);
    ladders(&[spec], dir.path(), &Options::default(), &mut ex).expect("sweep");
    assert!(ex.runs.iter().all(|r| r.2 == 1.0), "{:?}", ex.runs);
}

#[test]
fn a_replay_runs_no_live_step_and_predicts_as_the_recorded_sweep_did() {
    let rec = tempfile::tempdir().expect("tempdir");
    let spec = predicting(TwinSpeed::Live);
    let mut first = exec();
    let recorded = ladders(
        std::slice::from_ref(&spec),
        rec.path(),
        &Options::default(),
        &mut first,
    )
    .expect("sweep");
    let out = tempfile::tempdir().expect("tempdir");
    let opts = Options {
        replay: Some(rec.path().to_path_buf()),
        ..Options::default()
    };
    let mut again = exec();
    let replayed = ladders(&[spec], out.path(), &opts, &mut again).expect("replay");
    assert!(
        again.runs.iter().all(|r| r.0 == Mode::Sim),
        "{:?}",
        again.runs
    );
    let twin_runs = |e: &Hosted| -> Vec<(f64, f64)> {
        (e.runs.iter())
            .filter(|r| r.0 == Mode::Sim)
            .map(|r| (r.1, r.2))
            .collect()
    };
    assert_eq!(twin_runs(&again), twin_runs(&first));
    assert_eq!(replayed.predictions, recorded.predictions);
    let knee = |r: &SweepReport, i: usize| r.variants[i].knee.as_ref().map(|k| k.load);
    assert_eq!(
        (knee(&replayed, 0), knee(&replayed, 1)),
        (knee(&recorded, 0), knee(&recorded, 1))
    );
    // A recorded sweep without the variant is an error that names it.
    let mut other = predicting(TwinSpeed::Live);
    other.variant = "w".into();
    let err = ladders(&[other], out.path(), &opts, &mut exec()).expect_err("no such ladder");
    assert!(format!("{err:#}").contains("\"w\""), "{err:#}");
}

#[test]
fn a_sweep_recorded_before_steps_kept_their_probe_is_compared_on_the_reference_host() {
    let rec = tempfile::tempdir().expect("tempdir");
    let spec = predicting(TwinSpeed::Live);
    let mut recorded = ladders(
        std::slice::from_ref(&spec),
        rec.path(),
        &Options::default(),
        &mut exec(),
    )
    .expect("sweep");
    // As an older sweep.json: no probe on its steps or knees, and one step's summary gone.
    for v in &mut recorded.variants {
        v.steps.iter_mut().for_each(|s| s.host_us = None);
        if let Some(k) = v.knee.as_mut() {
            (k.host_us, k.at_reference) = (None, None);
        }
    }
    recorded.save(rec.path()).expect("save");
    let gone = rec.path().join(&recorded.variants[0].steps[0].summary);
    std::fs::remove_file(gone).expect("remove");
    let earlier = against::load(rec.path()).expect("load");
    let probes: Vec<Option<f64>> = earlier.variants[0]
        .steps
        .iter()
        .map(|s| s.host_us)
        .collect();
    let want: Vec<Option<f64>> = (earlier.variants[0].steps.iter())
        .map(|s| (s.load > 1.0).then(|| probe(s.load)))
        .collect();
    assert_eq!(probes, want);
    let now = ladders(&[spec], rec.path(), &Options::default(), &mut exec()).expect("rerun");
    let a = against::compare("rec", &earlier, &now);
    assert_eq!(a.knees.len(), 1, "the live variant only: {a:?}");
    // The same host both times: the same knee, on the reference host as well.
    assert_eq!(a.knees[0].reference_change, Some(0.0));
}
