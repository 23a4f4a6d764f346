//! The ladder of one variant against a scripted executor: confirmation trials, and the
//! overload steps past the knee.

use std::collections::VecDeque;

use super::*;
use crate::summary::{OpStats, ProbeStats, Stall, Summary};
use confirm::confirmed_step;

/// Answers each run with the next feed p99 of its list and remembers where it wrote.
struct Scripted {
    p99s: VecDeque<f64>,
    dirs: Vec<String>,
    /// (duration, driver warm-up, sim duration, sim warm-up) of each run's spec.
    lengths: Vec<(f64, f64, Option<f64>, f64)>,
    /// Seconds the host stole CPU in, per run (none when empty).
    stolen: VecDeque<u64>,
    /// Per run, the CPU drift of the in-situ calibration it writes (none when empty).
    drifts: VecDeque<f64>,
}

impl Executor for Scripted {
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        self.lengths.push((
            spec.duration_s,
            spec.driver.warmup_s,
            spec.sim.duration_s,
            spec.sim.warmup_s,
        ));
        self.dirs.push(
            out.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into()),
        );
        let mut s = Summary {
            duration_s: 10.0,
            ..Summary::default()
        };
        let p99_ms = self.p99s.pop_front().context("more runs than scripted")?;
        let feed = OpStats {
            count: 1000,
            p99_ms,
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), feed);
        let stalls = (0..self.stolen.pop_front().unwrap_or(0)).map(|second| Stall {
            second,
            steal_ms: 400.0,
            ..Stall::default()
        });
        s.probe = Some(ProbeStats {
            stalls: stalls.collect(),
            ..ProbeStats::default()
        });
        if let Some(d) = self.drifts.pop_front() {
            let mut cal = feedlab_sim::model::Calibration::builtin();
            cal.provenance.cpu_per_op_ms = Some(0.3 * d);
            cal.provenance.burst_cpu_per_op_ms = Some(0.3);
            cal.provenance.process_cores = Some(0.5 * d);
            let dir = out.join(&spec.variant);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("calibration.toml"), cal.to_toml()?)?;
        }
        Ok(s)
    }
}

/// An executor answering each run with the next of `p99s` as its feed p99.
fn scripted(p99s: &[f64]) -> Scripted {
    Scripted {
        p99s: p99s.iter().copied().collect(),
        dirs: Vec::new(),
        lengths: Vec::new(),
        stolen: VecDeque::new(),
        drifts: VecDeque::new(),
    }
}

/// As [`scripted`], each run's host also stealing CPU in the next of `stolen` seconds.
fn scripted_stolen(p99s: &[f64], stolen: &[u64]) -> Scripted {
    Scripted {
        stolen: stolen.iter().copied().collect(),
        ..scripted(p99s)
    }
}

fn spec(mode: Mode) -> RunSpec {
    let mut s = crate::scenario::ScenarioDoc::default().to_spec("t", "v");
    s.mode = mode;
    s
}

#[test]
fn a_live_breach_is_run_again_and_a_good_trial_counts() {
    let mut exec = scripted(&[900.0, 50.0]);
    let out = Path::new("/nonexistent");
    let step = confirmed_step(&spec(Mode::Live), 2.0, out, &mut exec).expect("step");
    assert!(step.good);
    assert_eq!(exec.dirs, ["x2.0000", "x2.0000-r1"]);
    assert_eq!(step.retried.len(), 1);
    assert_eq!(step.retried[0].summary, "steps/x2.0000/v/summary.json");
    assert_eq!(step.summary, "steps/x2.0000-r1/v/summary.json");
}

#[test]
fn each_step_runs_its_warm_up_before_its_measured_seconds_unless_it_has_faults() {
    let mut s = spec(Mode::Live);
    s.sweep.step_s = Some(10.0);
    s.sweep.sim_step_s = Some(30.0);
    s.sweep.warmup_s = 2.0;
    let out = Path::new("/nonexistent");
    let mut exec = scripted(&[50.0, 50.0]);
    step_of(&s, 1.0, out, &mut exec, "").expect("step");
    assert_eq!(exec.lengths[0], (12.0, 2.0, Some(32.0), 2.0));
    s.faults = vec![crate::spec::FaultSpec {
        kind: crate::spec::faults::FaultKind::FlashCrowd,
        at_s: 3.0,
        for_s: 2.0,
        shard: None,
        extra_ms: None,
        how: None,
        photos: None,
        factor: Some(2.0),
    }];
    step_of(&s, 1.0, out, &mut exec, "").expect("step");
    assert_eq!(exec.lengths[1], (10.0, 0.0, Some(30.0), 0.0));
}

#[test]
fn overload_steps_run_at_multiples_of_the_knee_and_leave_it_alone() {
    let mut s = spec(Mode::Sim);
    s.sweep.factor = 2.0;
    s.sweep.bisect = 0;
    s.sweep.overload = vec![2.0, 4.0];
    // x1 and x2 good, x4 broken: the knee is x2; then x4 and x8 past it.
    let mut exec = scripted(&[50.0, 60.0, 900.0, 950.0, 990.0]);
    let v = ladder_of(&s, Path::new("/nonexistent"), &[], None, &mut exec).expect("ladder");
    assert_eq!(v.knee.as_ref().map(|k| k.load), Some(2.0));
    assert_eq!(v.steps.len(), 3, "overload steps stay apart");
    assert_eq!(&exec.dirs[3..], ["x4.0000", "x8.0000"]);
    let m: Vec<f64> = v.overload.iter().map(|o| o.multiple).collect();
    assert_eq!(m, [2.0, 4.0]);
    assert_eq!(v.overload[1].step.load, 8.0);
    // Every scripted step serves 100 feeds/s: each keeps all of the peak.
    assert!(
        v.overload
            .iter()
            .all(|o| (o.share_of_peak - 1.0).abs() < 1e-9)
    );
}

#[test]
fn a_breach_that_holds_counts_and_the_sim_is_never_rerun() {
    let mut exec = scripted(&[900.0, 800.0]);
    let out = Path::new("/nonexistent");
    let step = confirmed_step(&spec(Mode::Live), 2.0, out, &mut exec).expect("step");
    assert!(!step.good);
    assert_eq!(step.retried.len(), 1);
    let mut exec = scripted(&[900.0]);
    let step = confirmed_step(&spec(Mode::Sim), 2.0, out, &mut exec).expect("step");
    assert!(!step.good && step.retried.is_empty());
    assert_eq!(exec.dirs.len(), 1);
}

#[test]
fn when_predicting_a_step_the_host_stole_from_is_run_again_and_the_least_stolen_counts() {
    let out = Path::new("/nonexistent");
    let mut s = spec(Mode::Live);
    s.sweep.confirm = 2;
    // Without a twin to judge, a good step stands, stolen or not.
    let mut exec = scripted_stolen(&[50.0], &[6]);
    let step = confirmed_step(&s, 1.0, out, &mut exec).expect("step");
    assert_eq!((step.good, step.stolen_s, exec.dirs.len()), (true, 6, 1));
    // With one, it runs again until a trial is clean or the trials run out.
    s.sweep.predict = true;
    let mut exec = scripted_stolen(&[50.0, 60.0, 55.0], &[6, 0, 3]);
    let step = confirmed_step(&s, 1.0, out, &mut exec).expect("step");
    assert_eq!(exec.dirs, ["x1.0000", "x1.0000-r1"]);
    assert_eq!((step.stolen_s, step.ops["feed"].p99_ms), (0, 60.0));
    assert_eq!(step.summary, "steps/x1.0000-r1/v/summary.json");
    let kept_out: Vec<(&str, u32)> = (step.retried.iter())
        .map(|r| (r.summary.as_str(), r.stolen_s))
        .collect();
    assert_eq!(kept_out, [("steps/x1.0000/v/summary.json", 6)]);
    // A later trial stolen from more does not replace a good one.
    let mut exec = scripted_stolen(&[50.0, 60.0, 70.0], &[2, 5, 1]);
    let step = confirmed_step(&s, 1.0, out, &mut exec).expect("step");
    assert_eq!(exec.dirs.len(), 3);
    assert_eq!((step.stolen_s, step.ops["feed"].p99_ms), (1, 70.0));
    assert_eq!(step.retried.len(), 2);
    // A good trial beats a broken one, however much the host stole from it.
    let mut exec = scripted_stolen(&[50.0, 900.0, 950.0], &[4, 0, 0]);
    let step = confirmed_step(&s, 1.0, out, &mut exec).expect("step");
    assert!(step.good);
    assert_eq!((step.stolen_s, step.retried.len()), (4, 2));
}

#[test]
fn when_predicting_a_calibration_step_whose_cpu_per_op_strayed_from_its_burst_s_runs_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = spec(Mode::Live);
    s.sweep.confirm = 2;
    s.sweep.predict = true;
    let run = |drifts: &[f64], load: f64| {
        let mut exec = Scripted {
            drifts: drifts.iter().copied().collect(),
            ..scripted(&[50.0; 3])
        };
        let step = confirmed_step(&s, load, dir.path(), &mut exec).expect("step");
        (step, exec.dirs.len())
    };
    // Within the bound either way, the first trial stands.
    let (step, runs) = run(&[1.2, 1.0], 1.0);
    assert_eq!((step.cpu_drift, runs), (Some(1.2), 1));
    let (step, runs) = run(&[0.81, 1.0], 1.0);
    assert_eq!(
        (step.cpu_drift.map(|d| (d * 100.0).round()), runs),
        (Some(81.0), 1)
    );
    // Beyond it, the step runs again until a trial is within it, or keeps the least strayed.
    let (step, runs) = run(&[1.6, 1.1, 1.0], 1.0);
    assert_eq!((step.cpu_drift, runs), (Some(1.1), 2));
    assert_eq!(step.retried[0].cpu_drift, Some(1.6));
    let (step, runs) = run(&[1.6, 0.5, 1.4], 1.0);
    assert_eq!((step.cpu_drift, runs), (Some(1.4), 3));
    // Only the calibration step is measured for it.
    let (step, runs) = run(&[1.6, 1.0], 2.0);
    assert_eq!((step.cpu_drift, runs), (None, 1));
}

#[test]
fn the_twin_of_a_local_blob_store_transfers_as_many_at_once_as_its_read_router_admits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let step_dir = dir.path().join("steps/x1.0000/v");
    std::fs::create_dir_all(&step_dir).expect("mkdir");
    let cal = feedlab_sim::model::Calibration::builtin();
    std::fs::write(
        step_dir.join("calibration.toml"),
        cal.to_toml().expect("toml"),
    )
    .expect("w");
    let mut exec = scripted(&[50.0; 16]);
    let mut s = spec(Mode::Live);
    s.system.read_concurrency = 300;
    let live = ladder_of(&s, dir.path(), &[1.0], None, &mut exec).expect("ladder");
    let (twin, _) = twin_of(&s, &live, dir.path()).expect("twin");
    assert_eq!(twin.sim.blob_workers, 300);
    assert_eq!(twin.sim.client_max_in_flight, Some(256));
    s.system.blob = feedlab_system::service::BlobBackend::S3;
    let (twin, _) = twin_of(&s, &live, dir.path()).expect("twin");
    assert_eq!(
        twin.sim.blob_workers, s.sim.blob_workers,
        "an object store keeps its own"
    );
}

/// Answers a run with a good feed p99 when its load (`traffic.load`) is at most its
/// variant's knee and a broken one above, and records each run's variant and load.
struct ByKnee {
    knees: Vec<(String, f64)>,
    runs: Vec<(String, f64)>,
}

impl Executor for ByKnee {
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary> {
        let load = spec.traffic.load;
        self.runs.push((spec.variant.clone(), load));
        let knee = (self.knees.iter())
            .find(|k| k.0 == spec.variant)
            .map(|k| k.1)
            .context("no knee for the variant")?;
        let p99 = if load <= knee { 50.0 } else { 900.0 };
        scripted(&[p99]).run(spec, out)
    }
}

#[test]
fn live_ladders_run_a_step_each_in_turn_and_each_finds_its_own_knee() {
    let knees = [("a", 3.0), ("b", 5.0), ("c", 1.5)];
    let specs: Vec<RunSpec> = (knees.iter())
        .map(|(name, _)| {
            let mut s = spec(Mode::Live);
            s.variant = name.to_string();
            s.sweep.confirm = 0;
            s.sweep.bisect = 1;
            s
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut exec = ByKnee {
        knees: knees.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
        runs: Vec::new(),
    };
    let opts = Options {
        jobs: 1,
        ..Options::default()
    };
    let report = ladders(&specs, dir.path(), &opts, &mut exec).expect("sweep");
    let first: Vec<(&str, f64)> = (exec.runs.iter().take(6))
        .map(|(v, l)| (v.as_str(), *l))
        .collect();
    assert_eq!(
        first,
        [
            ("a", 1.0),
            ("b", 1.0),
            ("c", 1.0),
            ("a", 2.0),
            ("b", 2.0),
            ("c", 2.0)
        ]
    );
    let names: Vec<&str> = report.variants.iter().map(|v| v.variant.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    for (((name, knee), v), one) in knees.iter().zip(&report.variants).zip(&specs) {
        // Each ladder is the one it would have run alone.
        let mut alone = ByKnee {
            knees: exec.knees.clone(),
            runs: Vec::new(),
        };
        let solo = ladder_of(one, dir.path(), &[], None, &mut alone).expect("ladder");
        let mine: Vec<f64> = (exec.runs.iter())
            .filter(|r| r.0 == *name)
            .map(|r| r.1)
            .collect();
        let solo_loads: Vec<f64> = alone.runs.iter().map(|r| r.1).collect();
        assert_eq!(mine, solo_loads, "{name}");
        assert_eq!(v.knee.as_ref().map(|k| k.load), solo.knee.map(|k| k.load));
        let found = v.knee.as_ref().expect("a knee").load;
        assert!(
            found <= *knee && knee / found < 2f64.sqrt() + 1e-9,
            "{name}: {found}"
        );
    }
}

#[test]
fn a_live_step_keeps_its_process_cores_and_a_prediction_pairs_them_with_its_twin_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut exec = Scripted {
        drifts: [1.6].into_iter().collect(),
        ..scripted(&[50.0])
    };
    let step = confirmed_step(&spec(Mode::Live), 2.0, dir.path(), &mut exec).expect("step");
    assert_eq!((step.cores, step.cpu_drift), (Some(0.8), None));
    // Paired where both measured, in load order; a live step without the figure is left out.
    let at = |load: f64, cores: Option<f64>| Step {
        cores,
        ..Step::probed(load, true, None)
    };
    let steps = [
        (1.0, Some(0.2), 0.19),
        (2.0, Some(0.4), 0.5),
        (4.0, None, 0.9),
    ];
    let live = (steps.iter()).map(|&(l, c, _)| at(l, c)).collect();
    let twin = (steps.iter()).map(|&(l, _, c)| at(l, Some(c))).collect();
    let live = VariantSweep::unjudged("v", "live", "push", None, live);
    let twin = VariantSweep::unjudged("v-sim", "sim", "push", Some("v".into()), twin);
    let p = result::predict(&live, &twin, 2.0, None);
    let got: Vec<(f64, f64)> = (p.cores.iter())
        .map(|c| (c.load, (c.ratio() * 100.0).round()))
        .collect();
    assert_eq!(got, [(1.0, 95.0), (2.0, 125.0)]);
}

#[test]
fn a_drop_onset_above_the_other_ladder_s_top_agrees_within_a_step_only() {
    use result::onsets_agree;
    assert!(onsets_agree([Some(4.0), Some(8.0)], [8.0, 8.0], 2.0));
    assert!(!onsets_agree([Some(2.0), Some(8.0)], [8.0, 8.0], 2.0));
    // Live never dropped up to x6.73, its last step: its onset lies above it.
    assert!(onsets_agree([None, Some(7.34)], [6.73, 8.0], 2.0));
    assert!(!onsets_agree([None, Some(2.0)], [6.73, 8.0], 2.0));
    assert!(onsets_agree([Some(9.0), None], [16.0, 8.0], 2.0));
    assert!(!onsets_agree([Some(4.0), None], [16.0, 8.0], 2.0));
    assert!(onsets_agree([None, None], [6.73, 8.0], 2.0));
}
