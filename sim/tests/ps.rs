//! A node's CPU cores against queueing theory and the operational laws.
//!
//! Processor sharing: M/M/1-PS has the mean response time of M/M/1 FCFS, `1 / (mu - lambda)`;
//! PS is insensitive to the demand's distribution beyond its mean (M/D/1-PS has the same
//! mean); and busy time equals the demand served, so utilisation = throughput × demand / cores
//! (U = X·D). Time slices: with a slice longer than every job the cores serve first come
//! first served (M/D/1 gives Pollaczek–Khinchine's mean, M/M/2 Erlang C's), and with a slice
//! much shorter than the jobs they approach processor sharing.

use anyhow::{Result, ensure};
use feedlab_sim::engine::NANOS_PER_SEC;
use feedlab_sim::{Cores, MmcTheory, ServiceDist, SimTime, Tick, rng_stream};

/// Poisson arrivals at `lambda`/s with demands from `demand` into a PS station of `cores`;
/// returns (mean response s, station stats at the last completion, completions).
fn run_ps(
    lambda: f64,
    demand: &ServiceDist,
    cores: f64,
    n: u64,
) -> Result<(f64, feedlab_sim::PsStats, u64)> {
    run_cores(lambda, demand, Cores::new(cores, 0)?, n)
}

/// As [`run_ps`], into `st`.
fn run_cores(
    lambda: f64,
    demand: &ServiceDist,
    mut st: Cores<SimTime>,
    n: u64,
) -> Result<(f64, feedlab_sim::PsStats, u64)> {
    let gaps = ServiceDist::exponential(NANOS_PER_SEC as f64 / lambda)?;
    let mut rng = rng_stream(5, 1);
    let mut next_arrival = gaps.sample(&mut rng);
    let mut tick: Option<Tick> = None;
    let (mut arrived, mut done_n, mut total) = (0u64, 0u64, 0f64);
    let mut done = Vec::new();
    let mut now = 0;
    while done_n < n {
        let arrive = arrived < n && tick.is_none_or(|t| next_arrival < t.at);
        if arrive {
            now = next_arrival;
            let d = demand.sample(&mut rng).max(1);
            if let Some(t) = st.arrive(now, d, now) {
                tick = Some(t);
            }
            arrived += 1;
            next_arrival = now + gaps.sample(&mut rng);
        } else if let Some(t) = tick.take() {
            now = t.at;
            done.clear();
            tick = st.tick(t.at, t.generation, &mut done);
            for &t0 in &done {
                total += (now - t0) as f64 / NANOS_PER_SEC as f64;
                done_n += 1;
            }
        } else {
            anyhow::bail!("no event pending with {done_n} of {n} done");
        }
    }
    Ok((total / n as f64, st.stats(now), done_n))
}

#[test]
fn mm1_ps_mean_response_matches_mm1() -> Result<()> {
    let (lambda, mu) = (700.0, 1_000.0);
    let dist = ServiceDist::exponential(NANOS_PER_SEC as f64 / mu)?;
    let (mean, stats, _) = run_ps(lambda, &dist, 1.0, 400_000)?;
    let want = 1.0 / (mu - lambda);
    ensure!(
        (mean / want - 1.0).abs() < 0.04,
        "M/M/1-PS mean {mean} vs {want}"
    );
    ensure!(
        (stats.utilisation - lambda / mu).abs() < 0.01,
        "utilisation {} vs rho {}",
        stats.utilisation,
        lambda / mu
    );
    Ok(())
}

#[test]
fn ps_is_insensitive_to_the_demand_distribution() -> Result<()> {
    // M/D/1-PS: the same mean as M/M/1-PS (FCFS would give a far smaller M/D/1 wait).
    let (lambda, mu) = (600.0, 1_000.0);
    let dist = ServiceDist::deterministic(NANOS_PER_SEC / 1_000);
    let (mean, _, _) = run_ps(lambda, &dist, 1.0, 300_000)?;
    let want = 1.0 / (mu - lambda);
    ensure!(
        (mean / want - 1.0).abs() < 0.04,
        "M/D/1-PS {mean} vs {want}"
    );
    Ok(())
}

#[test]
fn utilisation_is_throughput_times_demand() -> Result<()> {
    // Two cores, 1,500 jobs/s of 1 ms: U = X * D / c = 0.75, and busy core-seconds equal the
    // demand served (up to the jobs still runnable at the end).
    let dist = ServiceDist::exponential(1e6)?;
    let (_, s, n) = run_ps(1_500.0, &dist, 2.0, 300_000)?;
    let x = n as f64 / s.elapsed_s;
    let d = s.demand_s / n as f64;
    ensure!(
        (s.utilisation - x * d / 2.0).abs() < 0.01,
        "U {} vs X*D/c {}",
        s.utilisation,
        x * d / 2.0
    );
    ensure!((s.utilisation - 0.75).abs() < 0.02, "U {}", s.utilisation);
    // Completions are rounded up to whole ns: at most 1 ns of busy time per job beyond it.
    ensure!(
        s.busy_s <= s.demand_s + n as f64 * 1e-9,
        "busy {} beyond demand {}",
        s.busy_s,
        s.demand_s
    );
    Ok(())
}

#[test]
fn slices_longer_than_every_job_serve_first_come_first_served() -> Result<()> {
    // M/D/1 FCFS, Pollaczek–Khinchine: W = 1/mu + rho / (2 mu (1 - rho)); PS gives 1/(mu-lambda).
    let (lambda, mu) = (600.0, 1_000.0);
    let dist = ServiceDist::deterministic(NANOS_PER_SEC / 1_000);
    let st = Cores::new(1.0, NANOS_PER_SEC)?;
    let (mean, _, _) = run_cores(lambda, &dist, st, 300_000)?;
    let rho = lambda / mu;
    let want = 1.0 / mu + rho / (2.0 * mu * (1.0 - rho));
    ensure!(
        (mean / want - 1.0).abs() < 0.04,
        "M/D/1 FCFS {mean} vs {want}"
    );
    // M/M/2 FCFS: Erlang C's mean wait plus the service.
    let (lambda, mu) = (1_500.0, 1_000.0);
    let dist = ServiceDist::exponential(NANOS_PER_SEC as f64 / mu)?;
    let st = Cores::new(2.0, NANOS_PER_SEC)?;
    let (mean, _, _) = run_cores(lambda, &dist, st, 400_000)?;
    let want = MmcTheory::new(lambda, mu, 2)?.mean_wait + 1.0 / mu;
    ensure!(
        (mean / want - 1.0).abs() < 0.04,
        "M/M/2 FCFS {mean} vs {want}"
    );
    Ok(())
}

#[test]
fn slices_much_shorter_than_the_jobs_approach_processor_sharing() -> Result<()> {
    // M/D/1 with 1 ms jobs in 20 µs slices: round robin, close to PS's 1/(mu - lambda).
    let (lambda, mu) = (600.0, 1_000.0);
    let dist = ServiceDist::deterministic(NANOS_PER_SEC / 1_000);
    let st = Cores::new(1.0, 20_000)?;
    let (mean, stats, n) = run_cores(lambda, &dist, st, 200_000)?;
    let want = 1.0 / (mu - lambda);
    ensure!(
        (mean / want - 1.0).abs() < 0.05,
        "M/D/1 in short slices {mean} vs PS {want}"
    );
    let x = n as f64 / stats.elapsed_s;
    ensure!(
        (stats.utilisation - x * stats.demand_s / n as f64).abs() < 0.01,
        "U = X·D: {stats:?}"
    );
    Ok(())
}
