//! Distributions sample what they promise: the exponential its mean, the
//! log-normal its mean and p99, the empirical one its calibration quantiles;
//! the serde spec parses scenario syntax and refuses bad input; and the
//! engine's run loop honours `until` and `stop`.

use anyhow::{Result, ensure};
use feedlab_sim::engine::NANOS_PER_MILLI;
use feedlab_sim::{DelayStats, DistSpec, Engine, Model, ServiceDist, SimTime, rng_stream};

/// Sample `n` values into a recorder.
fn sample(d: &ServiceDist, n: u64, seed: u64) -> DelayStats {
    let mut rng = rng_stream(seed, 0);
    let mut s = DelayStats::new();
    for _ in 0..n {
        s.record(d.sample(&mut rng));
    }
    s
}

fn close(got: f64, want: f64, tol: f64, what: &str) -> Result<()> {
    ensure!(
        (got / want - 1.0).abs() <= tol,
        "{what}: got {got}, want {want} (±{}%)",
        tol * 100.0
    );
    Ok(())
}

#[test]
fn exponential_and_deterministic() -> Result<()> {
    let s = sample(&ServiceDist::exponential(1e6)?, 400_000, 1);
    close(s.mean(), 1e6, 0.01, "exp mean")?;
    close(s.quantile(0.99) as f64, 1e6 * 100f64.ln(), 0.02, "exp p99")?;
    let d = sample(&ServiceDist::deterministic(777), 10, 2);
    ensure!(d.quantile(0.0) == 777 && d.quantile(1.0) == 777);
    ensure!(ServiceDist::exponential(0.0).is_err());
    ensure!(ServiceDist::exponential(f64::INFINITY).is_err());
    Ok(())
}

#[test]
fn lognormal_hits_mean_and_p99() -> Result<()> {
    let d = ServiceDist::lognormal(2e6, 9e6)?;
    close(d.mean(), 2e6, 1e-12, "analytic mean")?;
    let s = sample(&d, 1_000_000, 3);
    close(s.mean(), 2e6, 0.01, "lognormal mean")?;
    close(s.quantile(0.99) as f64, 9e6, 0.02, "lognormal p99")?;
    ensure!(ServiceDist::lognormal(2e6, 1e6).is_err(), "p99 below mean");
    ensure!(
        ServiceDist::lognormal(1.0, 20.0).is_err(),
        "p99/mean too large"
    );
    Ok(())
}

#[test]
fn empirical_reproduces_calibration_quantiles() -> Result<()> {
    let pts = [
        (0.5, 1.0e6),
        (0.9, 2.0e6),
        (0.99, 5.0e6),
        (0.999, 9.0e6),
        (1.0, 20.0e6),
    ];
    let d = ServiceDist::empirical(&pts)?;
    let s = sample(&d, 2_000_000, 4);
    for (p, v) in pts.iter().take(4) {
        close(s.quantile(*p) as f64, *v, 0.02, &format!("p{p}"))?;
    }
    ensure!(
        s.histogram().max() <= 20_010_000,
        "never above the max point"
    );
    // Below p50 the conservative tail holds the p50 value.
    ensure!(s.quantile(0.1).abs_diff(1_000_000) < 1_000);
    // Mean: 0.5·1 + 0.4·1.5 + 0.09·3.5 + 0.009·7 + 0.001·14.5 ms.
    let mean = 0.5 + 0.4 * 1.5 + 0.09 * 3.5 + 0.009 * 7.0 + 0.001 * 14.5;
    close(d.mean(), mean * 1e6, 1e-12, "analytic mean")?;
    close(s.mean(), mean * 1e6, 0.01, "sample mean")?;
    ensure!(ServiceDist::empirical(&[]).is_err());
    ensure!(
        ServiceDist::empirical(&[(0.5, 1.0)]).is_err(),
        "no p=1 point"
    );
    ensure!(ServiceDist::empirical(&[(0.5, 2.0), (1.0, 1.0)]).is_err());
    ensure!(ServiceDist::empirical(&[(0.5, 1.0), (0.5, 2.0), (1.0, 3.0)]).is_err());
    Ok(())
}

#[test]
fn dist_spec_parses_scenario_syntax() -> Result<()> {
    let spec: DistSpec =
        serde_json::from_str(r#"{"kind":"lognormal","mean-ms":2.0,"p99-ms":9.0}"#)?;
    ensure!(spec.build()? == ServiceDist::lognormal(2e6, 9e6)?);
    let spec: DistSpec = serde_json::from_str(
        r#"{"kind":"empirical","quantiles-ms":[[0.5,1.0],[0.99,4.0],[1.0,8.0]]}"#,
    )?;
    let d = spec.build()?;
    ensure!(d == ServiceDist::empirical(&[(0.5, 1e6), (0.99, 4e6), (1.0, 8e6)])?);
    let spec: DistSpec = serde_json::from_str(r#"{"kind":"deterministic","ms":0.25}"#)?;
    ensure!(spec.build()? == ServiceDist::deterministic(NANOS_PER_MILLI / 4));
    ensure!(serde_json::from_str::<DistSpec>(r#"{"kind":"exponential","mean":1}"#).is_err());
    let bad: DistSpec = serde_json::from_str(r#"{"kind":"exponential","mean-ms":-1.0}"#)?;
    ensure!(bad.build().is_err());
    Ok(())
}

/// Records the time of every event and stops at a sentinel.
struct Recorder {
    seen: Vec<(SimTime, u32)>,
}

impl Model for Recorder {
    type Event = u32;
    fn handle(&mut self, engine: &mut Engine<u32>, ev: u32) {
        self.seen.push((engine.now(), ev));
        if ev == 99 {
            engine.stop();
        }
        if ev == 3 {
            // Scheduling in the past lands at `now`, after already-due events.
            engine.schedule_at(0, 30);
        }
    }
}

#[test]
fn run_honours_until_and_stop() {
    let mut e = Engine::new();
    let mut m = Recorder { seen: Vec::new() };
    for (t, ev) in [(10, 1), (20, 2), (30, 3), (30, 4), (40, 99), (50, 5)] {
        e.schedule_at(t, ev);
    }
    assert_eq!(e.run(&mut m, 25), 2);
    assert_eq!(
        e.now(),
        25,
        "clock moves to `until` when the next event is later"
    );
    assert_eq!(e.run(&mut m, 1_000), 4, "stops after the sentinel");
    assert_eq!(
        m.seen,
        vec![(10, 1), (20, 2), (30, 3), (30, 4), (30, 30), (40, 99)]
    );
    assert_eq!(e.pending(), 1);
    assert_eq!(e.run(&mut m, 1_000), 1);
    assert_eq!(e.processed(), 7);
}
