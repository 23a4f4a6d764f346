//! Speed of the engine on the M/M/c model (release mode):
//! `cargo run --release -p feedlab-sim --example mmc_bench -- [customers] [c] [rho] [seed]`.
//! Prints one JSON line with customers/s and events/s, by wall clock and by
//! on-CPU time of this thread (Linux `/proc/thread-self/schedstat`; steadier
//! on a shared machine). Timing lives here, never in the library.

use std::time::Instant;

/// Nanoseconds this thread has spent on a CPU, if the kernel tells us.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, d: f64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let customers = arg(0, 10_000_000.0) as u64;
    let c = arg(1, 4.0) as u32;
    let rho = arg(2, 0.8);
    let seed = arg(3, 42.0) as u64;
    let mu = 1.0;
    let lambda = rho * f64::from(c) * mu;
    let cpu0 = thread_cpu_ns();
    let t0 = Instant::now();
    let r = feedlab_sim::mmc_with(&feedlab_sim::MmcParams {
        lambda,
        mu,
        c,
        seed,
        customers,
        warmup: 0,
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu0.zip(thread_cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    let th = feedlab_sim::MmcTheory::new(lambda, mu, c)?;
    println!(
        "{}",
        serde_json::json!({
            "engine": "feedlab-sim",
            "c": c, "rho": rho, "customers": customers,
            "events": r.events,
            "wall_s": secs,
            "customers_per_s": customers as f64 / secs,
            "events_per_s": r.events as f64 / secs,
            "cpu_s": cpu,
            "cpu_customers_per_s": cpu.map(|c| customers as f64 / c),
            "cpu_events_per_s": cpu.map(|c| r.events as f64 / c),
            "mean_wait": r.mean_wait, "theory_mean_wait": th.mean_wait,
            "p99_wait": r.p99_wait, "theory_p99_wait": th.wait_quantile(0.99),
            "utilisation": r.utilisation,
        })
    );
    Ok(())
}
