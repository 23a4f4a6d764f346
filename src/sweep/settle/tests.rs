//! Settling a twin's transports on its calibration step.

use std::path::Path;

use feedlab_sim::model::{CalibOp, Calibration};

use super::*;
use crate::spec::{Mode, RunSpec};
use crate::summary::{OpStats, Summary};
use crate::sweep::result::{self, VariantSweep};
use crate::sweep::verdict::{Step, StepOp};

const PCTS: [f64; 4] = [50.0, 90.0, 99.0, 99.9];

/// A transport of 0.5 ms at the median rising to 2 ms, 0.3 ms of it CPU on average.
fn transport() -> CalibOp {
    CalibOp {
        op: "http-feed".into(),
        n: 1,
        count: 1000,
        mean_ms: 0.6,
        quantiles_ms: vec![(0.0, 0.2), (0.5, 0.5), (0.9, 0.8), (0.99, 1.5), (1.0, 2.0)],
        cpu_mean_ms: Some(0.3),
    }
}

/// A summary whose `feed` has percentiles `f(p)` at [`PCTS`].
fn summary(count: u64, f: impl Fn(f64) -> f64) -> Summary {
    let percentiles: Vec<(f64, f64)> = PCTS.iter().map(|&p| (p, f(p / 100.0))).collect();
    let feed = OpStats {
        count,
        p50_ms: f(0.5),
        p99_ms: f(0.99),
        percentiles,
        ..OpStats::default()
    };
    let mut s = Summary::default();
    s.ops.insert("feed".into(), feed);
    s
}

fn cal(op: CalibOp) -> Calibration {
    Calibration {
        ops: vec![op],
        ..Calibration::default()
    }
}

#[test]
fn a_transport_moves_down_by_the_twin_s_excess_and_keeps_its_order() {
    let mut c = cal(transport());
    let live = summary(1000, |p| 1.0 + p);
    // The twin is 0.2 ms over at the median and 0.8 ms over from p99 up; a round moves the
    // transport by half of it.
    let sim = summary(1000, |p| 1.0 + p + if p >= 0.99 { 0.8 } else { 0.2 });
    assert_eq!(shift(&mut c, &live, &sim), 1);
    let q = &c.ops[0].quantiles_ms;
    let want = [(0.0, 0.1), (0.5, 0.4), (0.9, 0.7), (0.99, 1.1), (1.0, 1.6)];
    for ((p, v), (wp, wv)) in q.iter().zip(want) {
        assert_eq!(*p, wp);
        assert!((v - wv).abs() < 1e-9, "{q:?}");
    }
    let mean = crate::run::spread::mean(q);
    assert!((c.ops[0].mean_ms - mean).abs() < 1e-12, "mean recomputed");
    assert_eq!(c.ops[0].cpu_mean_ms, Some(0.3), "the CPU is as measured");
}

/// CPU per op issued that runs off any op's path.
fn background(ms: f64) -> CalibOp {
    CalibOp {
        op: "background".into(),
        n: 1,
        count: 2000,
        mean_ms: ms,
        quantiles_ms: vec![(0.0, ms), (1.0, ms)],
        cpu_mean_ms: Some(ms),
    }
}

#[test]
fn a_transport_moved_below_its_cpu_gives_the_rest_to_the_background_in_order() {
    let mut c = cal(transport());
    c.ops.push(background(0.1));
    let live = summary(1000, |_| 1.0);
    // 3.8 ms over at the median (half of it takes the low points below zero), none at
    // p90, 2 ms over at p99 (half of it takes that point below p90's).
    let over = |p: f64| match p {
        p if p < 0.6 => 3.8,
        p if (0.98..0.995).contains(&p) => 2.0,
        _ => 0.0,
    };
    let sim = summary(1000, |p| 1.0 + over(p));
    shift(&mut c, &live, &sim);
    let op = &c.ops[0];
    let q = &op.quantiles_ms;
    assert_eq!((q[0].1, q[1].1), (0.0, 0.0), "{q:?}");
    assert_eq!(q[3].1, q[2].1, "p99 held at p90's: {q:?}");
    assert!(q[4].1 > q[3].1, "{q:?}");
    // The moved shape's mean, 0.246 ms, is all CPU now; the 0.054 ms it no longer holds, on
    // 1000 feeds, runs as background over the 2000 ops issued.
    let mean = crate::run::spread::mean(q);
    assert!((mean - 0.246).abs() < 1e-9, "{q:?}");
    assert_eq!((op.mean_ms, op.cpu_mean_ms), (mean, Some(mean)));
    let bg = &c.ops[1];
    let add = (0.3 - mean) * 1000.0 / 2000.0;
    assert!((bg.mean_ms - (0.1 + add)).abs() < 1e-12, "{bg:?}");
    assert_eq!(bg.cpu_mean_ms, Some(bg.mean_ms));
    assert!(
        bg.quantiles_ms
            .iter()
            .all(|q| (q.1 - bg.mean_ms).abs() < 1e-12)
    );
    // The box's CPU per op issued is as measured.
    let box_cpu = |c: &Calibration| {
        (c.ops.iter())
            .map(|o| o.cpu_mean_ms.unwrap_or(0.0) * o.count as f64)
            .sum::<f64>()
    };
    let before = box_cpu(&cal(transport())) + 0.1 * 2000.0;
    assert!((box_cpu(&c) - before).abs() < 1e-9);
}

#[test]
fn too_few_live_ops_or_no_measured_cpu_move_nothing() {
    let live = summary(MIN_OPS - 1, |p| 1.0 + p);
    let sim = summary(1000, |p| 2.0 + p);
    let mut c = cal(transport());
    assert_eq!(shift(&mut c, &live, &sim), 0);
    assert_eq!(c.ops[0], transport());
    let mut no_cpu = transport();
    no_cpu.cpu_mean_ms = None;
    let mut c = cal(no_cpu.clone());
    assert_eq!(shift(&mut c, &summary(1000, |p| 1.0 + p), &sim), 0);
    assert_eq!(c.ops[0], no_cpu);
    assert!(gaps(&live, &sim).is_empty(), "too few live ops to judge");
}

/// Live: a handler of 0.2 ms after the live transport. The twin: the transport its
/// calibration file holds, the same handler, and 0.3 ms of queueing on its own cores.
struct Queued {
    sim_runs: u32,
}

impl crate::exec::Executor for Queued {
    fn run(&mut self, spec: &RunSpec, _out: &Path) -> anyhow::Result<Summary> {
        assert_eq!(spec.mode, Mode::Sim);
        self.sim_runs += 1;
        let path = spec.calibration.as_ref().expect("a calibration");
        let c = Calibration::load(path)?;
        let t = c.ops.iter().find(|o| o.op == "http-feed").expect("feed");
        let q = t.quantiles_ms.clone();
        Ok(summary(1000, move |p| at(&q, p) + 0.2 + 0.3))
    }
}

#[test]
fn settled_the_twin_reproduces_its_calibration_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let measured = dir.path().join("calibration.toml");
    // A transport mostly wait, so that taking the queueing out leaves it above its CPU.
    let mut op = transport();
    op.cpu_mean_ms = Some(0.1);
    std::fs::write(&measured, cal(op.clone()).to_toml().expect("toml")).expect("write");
    let t = op.quantiles_ms.clone();
    let live = dir.path().join("summary.json");
    summary(1000, |p| at(&t, p) + 0.2)
        .save(&live)
        .expect("save");
    let mut twin = crate::scenario::ScenarioDoc::default().to_spec("t", "v-sim");
    twin.mode = Mode::Sim;
    twin.calibration = Some(measured.clone());
    let mut ex = Queued { sim_runs: 0 };
    let out = dir.path().join("out");
    let none = settle(&mut twin.clone(), &live, 1.0, 0, &out, &mut ex).expect("no rounds");
    assert!(none.is_none() && ex.sim_runs == 0, "0 rounds run nothing");
    let (before, after) = settle(&mut twin, &live, 1.0, 8, &out, &mut ex)
        .expect("settle")
        .expect("gaps");
    assert_eq!(ex.sim_runs, 9, "eight rounds, then the settled step");
    let [b50, b99] = before[0].1;
    assert!(b50 > 0.3 && b99 > 0.15, "{before:?}");
    let [a50, a99] = after[0].1;
    // Each round halves the 0.3 ms: 1.2 µs of it is left after eight.
    assert!(a50.abs() < 0.01 && a99.abs() < 0.01, "{after:?}");
    assert!(a50 > 0.0 && a99 > 0.0, "approached from above: {after:?}");
    let settled = twin.calibration.expect("settled file");
    assert_ne!(settled, measured);
    let c = Calibration::load(&settled).expect("load");
    assert!(c.provenance.notes.contains("settled in 8 round"), "{c:?}");
    let raw = Calibration::load(&measured).expect("the measured file is kept");
    assert_eq!(raw.ops[0], op);
}

/// A call `op` of 0.4 ms on average (0.2 at the median, 1.0 at the top), `cpu` ms of it CPU.
fn call(op: &str, cpu: Option<f64>) -> CalibOp {
    CalibOp {
        op: op.into(),
        n: 1,
        count: 500,
        mean_ms: 0.4,
        quantiles_ms: vec![(0.0, 0.1), (0.5, 0.2), (0.99, 0.8), (1.0, 1.0)],
        cpu_mean_ms: cpu,
    }
}

#[test]
fn reads_run_as_their_cpu_and_writes_keep_their_waits() {
    let mut c = cal(call("scan", Some(0.1)));
    c.ops.push(call("app-feed", Some(0.2)));
    c.ops.push(call("write", Some(0.1)));
    c.ops.push(call("blob-get", None));
    c.ops.push(call("get", Some(0.5)));
    assert_eq!(drop_read_waits(&mut c), 2);
    let scan = &c.ops[0];
    assert_eq!(scan.mean_ms, 0.1);
    assert_eq!(scan.cpu_mean_ms, Some(0.1));
    let scaled: Vec<f64> = scan.quantiles_ms.iter().map(|q| q.1).collect();
    assert_eq!(scaled, vec![0.025, 0.05, 0.2, 0.25]);
    assert_eq!(c.cpu_share("scan").at(1), 1.0, "all CPU now");
    assert_eq!(c.ops[1].mean_ms, 0.2, "a read op's handler too");
    assert_eq!(
        c.ops[2],
        call("write", Some(0.1)),
        "a write keeps its fsync"
    );
    assert_eq!(
        c.ops[3],
        call("blob-get", None),
        "no CPU measured: nothing to keep"
    );
    assert_eq!(
        c.ops[4],
        call("get", Some(0.5)),
        "CPU above its time: left as measured"
    );
}

#[test]
fn settle_reads_writes_the_twin_s_calibration_even_with_no_rounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let measured = dir.path().join("calibration.toml");
    let mut c = cal(transport());
    c.ops.push(call("batch-get", Some(0.1)));
    std::fs::write(&measured, c.to_toml().expect("toml")).expect("write");
    let live = dir.path().join("summary.json");
    summary(1000, |p| 1.0 + p).save(&live).expect("save");
    let mut twin = crate::scenario::ScenarioDoc::default().to_spec("t", "v-sim");
    (twin.mode, twin.calibration) = (Mode::Sim, Some(measured.clone()));
    let (mut ex, out) = (Queued { sim_runs: 0 }, dir.path().join("out"));
    let mut off = twin.clone();
    off.sweep.settle_reads = false;
    assert!(
        settle(&mut off, &live, 1.0, 0, &out, &mut ex)
            .expect("off")
            .is_none()
    );
    assert_eq!(
        off.calibration.as_ref(),
        Some(&measured),
        "off and no rounds: unchanged"
    );
    assert!(
        settle(&mut twin, &live, 1.0, 0, &out, &mut ex)
            .expect("on")
            .is_none()
    );
    assert_eq!(ex.sim_runs, 0, "no rounds: no simulation");
    let written = Calibration::load(twin.calibration.as_ref().expect("file")).expect("load");
    assert_ne!(twin.calibration.as_ref(), Some(&measured));
    assert_eq!(written.cpu_share("batch-get").at(1), 1.0);
    assert_eq!(
        written.ops[0],
        transport(),
        "transports move only in rounds"
    );
    assert!(
        written.provenance.notes.contains("1 read call"),
        "{written:?}"
    );
}

#[test]
fn the_calibration_step_is_listed_in_a_prediction_but_not_judged() {
    // Good at x1, x2 and x4, bad at x8: the knee is x4, so x1 and x2 lie within 80% of it.
    let at = |load: f64, p50: f64| {
        let mut s = Step::probed(load, load < 8.0, None);
        let op = StepOp {
            p50_ms: p50,
            p99_ms: 10.0 * p50,
            ..Default::default()
        };
        s.ops.insert("feed".into(), op);
        s
    };
    let loads = [1.0, 2.0, 4.0, 8.0];
    let live = VariantSweep::unjudged("v", "live", "push", None, loads.map(|l| at(l, 1.0)).into());
    // The twin is 50% off at x1 only.
    let twin = loads.map(|l| at(l, if l == 1.0 { 1.5 } else { 1.0 }));
    let twin = VariantSweep::unjudged("v-sim", "sim", "push", Some("v".into()), twin.into());
    let (mut live, mut twin) = (live, twin);
    live.finish(64.0, 60.0);
    twin.finish(64.0, 60.0);
    let judged = result::predict(&live, &twin, 2.0, None);
    assert_eq!(judged.cells(), [2, 4], "x1 judged: {judged:?}");
    let p = result::predict(&live, &twin, 2.0, Some(1.0));
    assert_eq!(p.cells(), [2, 2]);
    let first = &p.steps[0];
    assert!(
        first.load == 1.0 && first.calibration && !first.judged,
        "{first:?}"
    );
    assert!(p.steps[1..].iter().all(|s| !s.calibration));
}

/// A calibration whose live process ran `cores` and whose `background` holds `bg` ms per op.
fn with_process(cores: Option<f64>, bg: f64) -> Calibration {
    let mut c = cal(transport());
    c.ops.push(CalibOp {
        op: "background".into(),
        n: 1,
        count: 1000,
        mean_ms: bg,
        quantiles_ms: vec![(0.5, bg), (1.0, bg)],
        cpu_mean_ms: Some(bg),
    });
    c.provenance.process_cores = cores;
    c
}

/// A twin's summary whose cores ran `cores`.
fn twin_ran(cores: Option<f64>) -> Summary {
    let mut s = summary(1000, |p| 1.0 + p);
    s.sim = Some(crate::summary::SimSection {
        cpu_cores: cores,
        ..Default::default()
    });
    s
}

#[test]
fn settling_the_cpu_gives_the_background_what_the_twin_s_cores_fell_short_by() {
    // 1000 feeds over 10 s: 100 ops a second.
    let mut live = summary(1000, |p| 1.0 + p);
    live.duration_s = 10.0;
    let mut c = with_process(Some(0.5), 0.2);
    let added = settle_cpu(&mut c, &live, &twin_ran(Some(0.4)));
    // 0.1 cores short at 100 ops/s: 1 ms per op.
    assert!((added - 1.0).abs() < 1e-9, "{added}");
    let bg = c
        .ops
        .iter()
        .find(|o| o.op == "background")
        .expect("background");
    assert!((bg.mean_ms - 1.2).abs() < 1e-9 && bg.cpu_mean_ms == Some(bg.mean_ms));
    assert!(
        bg.quantiles_ms.iter().all(|q| (q.1 - 1.2).abs() < 1e-9),
        "{bg:?}"
    );
    assert_eq!(c.ops[0], transport(), "the transports keep theirs");

    // A twin over live's cores gives CPU back, but no more than the background holds.
    let mut c = with_process(Some(0.5), 0.2);
    let taken = settle_cpu(&mut c, &live, &twin_ran(Some(0.6)));
    assert!((taken + 0.2).abs() < 1e-9, "{taken}");
    let bg = c
        .ops
        .iter()
        .find(|o| o.op == "background")
        .expect("background");
    assert!(bg.mean_ms.abs() < 1e-9 && bg.quantiles_ms.iter().all(|q| q.1 == 0.0));

    // Without either figure nothing moves.
    for (p, t) in [(None, Some(0.4)), (Some(0.5), None)] {
        let mut c = with_process(p, 0.2);
        assert_eq!(settle_cpu(&mut c, &live, &twin_ran(t)), 0.0);
        assert_eq!(c, with_process(p, 0.2));
    }
}
