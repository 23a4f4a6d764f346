//! Workload-model benchmarks (plain `main`, run with `cargo bench --bench workload`):
//! leader-sampler build time and peak RSS at 300M users (goal ≤ 30 s, ≤ 4 GB), sampling and
//! edge rates, and op-stream generation rates at full and live scale.

use std::time::{Duration, Instant};

use feedlab_workload::{
    FollowGraph, Population, PopulationConfig, TrafficConfig, Workload, scaled,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Peak resident set size so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Builds the 300M-user follow graph and reports its build time and peak RSS, then the rates of
/// leader draws (10M) and of followee lists (users 0..20,000) drawn from it.
fn bench_full_graph(
    cfg: &PopulationConfig,
    seed: u64,
) -> Result<FollowGraph, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let graph = FollowGraph::full(cfg, seed)?;
    let build = t.elapsed();
    let s = graph.sampler().stats();
    println!(
        "sampler build, {} users: {:.2} s, peak RSS {:.0} MiB; stored ids {}, classes {}, light users {}",
        s.users,
        build.as_secs_f64(),
        peak_rss_mib(),
        s.stored_ids,
        s.classes,
        s.light_users
    );

    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let n = 10_000_000u64;
    let t = Instant::now();
    let mut acc = 0u64;
    for _ in 0..n {
        acc ^= graph.sampler().sample(&mut rng);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "leader draws at 300M: {:.1} M/s (checksum {acc})",
        n as f64 / secs / 1e6
    );

    let t = Instant::now();
    let edges: usize = (0..20_000u64).map(|u| graph.followees_of(u).len()).sum();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "followee lists at 300M: {:.2} M edges/s ({edges} edges)",
        edges as f64 / secs / 1e6
    );
    Ok(graph)
}

/// Times a 1M-user sample of the population (the CSV rows).
fn bench_sample_users(cfg: &PopulationConfig, seed: u64) -> Result<(), Box<dyn std::error::Error>> {
    let pop = Population::new(cfg, seed)?;
    let t = Instant::now();
    let rows = pop.sample_users(1_000_000)?;
    println!(
        "sample of 1M users (CSV rows): {:.2} s ({} rows)",
        t.elapsed().as_secs_f64(),
        rows.len()
    );
    Ok(())
}

/// Times the daily-actives scan of the full-scale workload (with peak RSS), then the rate of its
/// op stream (2M ops of an hour at default traffic); the workload is dropped on return.
fn bench_full_workload(graph: FollowGraph) -> Result<(), Box<dyn std::error::Error>> {
    let t = Instant::now();
    let full = Workload::new(graph)?;
    println!(
        "daily actives scan at 300M: {:.2} s ({} actives), peak RSS {:.0} MiB",
        t.elapsed().as_secs_f64(),
        full.actors().ids().len(),
        peak_rss_mib()
    );
    let traffic = TrafficConfig::default();
    let t = Instant::now();
    let count = full
        .ops(&traffic, 1, Duration::from_secs(3_600))?
        .take(2_000_000)
        .count();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "op stream, full scale: {:.2} M ops/s ({count} ops)",
        count as f64 / secs / 1e6
    );
    drop(full);
    Ok(())
}

/// Times building the scaled (live) graph and reports its in-degree tail fit (free and truncated
/// at max-followers); returns the graph.
fn bench_scaled_graph(
    cfg: &PopulationConfig,
    seed: u64,
) -> Result<FollowGraph, Box<dyn std::error::Error>> {
    let t = Instant::now();
    let live = scaled(cfg, seed)?;
    let edges = live.edges().count();
    println!(
        "scaled graph ({} users): {edges} edges in {:.2} s",
        live.users(),
        t.elapsed().as_secs_f64()
    );
    let index = live.follower_index();
    let in_degrees: Vec<u64> = (0..live.users()).map(|u| index.in_degree(u)).collect();
    if let Some(fit) = feedlab_workload::fit::csn_fit(&in_degrees, 200) {
        println!(
            "scaled graph in-degree tail: alpha {:.3} above x_min {} ({} users), max in-degree {}",
            fit.alpha,
            fit.x_min,
            fit.n_tail,
            in_degrees.iter().max().copied().unwrap_or(0)
        );
        let cap = live.population().config().max_followers;
        let truncated = feedlab_workload::fit::discrete_mle(&in_degrees, fit.x_min, Some(cap));
        println!("  same tail fitted as truncated at max-followers {cap}: alpha {truncated:.3?}");
    }
    Ok(live)
}

/// Times the op stream of the live-scale workload (2M ops at 10,000× speed-up).
fn bench_live_workload(live: FollowGraph) -> Result<(), Box<dyn std::error::Error>> {
    let live = Workload::new(live)?;
    let fast = TrafficConfig {
        speedup: 10_000.0,
        ..TrafficConfig::default()
    };
    let t = Instant::now();
    let count = live
        .ops(&fast, 1, Duration::from_secs(100_000))?
        .take(2_000_000)
        .count();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "op stream, live scale: {:.2} M ops/s ({count} ops)",
        count as f64 / secs / 1e6
    );
    Ok(())
}

/// Runs every benchmark in its original order (full scale first: the peak RSS figures rely on it).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cfg = PopulationConfig::default();
    let seed = 42;
    let graph = bench_full_graph(&cfg, seed)?;
    bench_sample_users(&cfg, seed)?;
    bench_full_workload(graph)?;
    let live = bench_scaled_graph(&cfg, seed)?;
    bench_live_workload(live)?;
    println!("final peak RSS {:.0} MiB", peak_rss_mib());
    Ok(())
}
