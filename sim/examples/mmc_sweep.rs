//! Spread of M/M/c estimates across seeds, to size the validation tests:
//! `cargo run --release -p feedlab-sim --example mmc_sweep -- customers seeds`.
//! For each (c, ρ) prints the mean and standard deviation over seeds of the
//! relative error of the mean wait and of the p99 wait against Erlang C.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let customers: u64 = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seeds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    for c in [1u32, 4] {
        for rho in [0.5, 0.8, 0.95] {
            let lambda = rho * f64::from(c);
            let th = feedlab_sim::MmcTheory::new(lambda, 1.0, c)?;
            let (mut em, mut ep) = (Vec::new(), Vec::new());
            for seed in 0..seeds {
                let r = feedlab_sim::mmc(lambda, 1.0, c, seed, customers)?;
                em.push(r.mean_wait / th.mean_wait - 1.0);
                ep.push(r.p99_wait / th.wait_quantile(0.99) - 1.0);
            }
            let stat = |v: &[f64]| {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                let s =
                    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
                let worst = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                (m, s, worst)
            };
            let (mm, ms, mw) = stat(&em);
            let (pm, ps, pw) = stat(&ep);
            println!(
                "c={c} rho={rho}: mean err {:+.4} sd {:.4} worst {:.4} | p99 err {:+.4} sd {:.4} worst {:.4}",
                mm, ms, mw, pm, ps, pw
            );
        }
    }
    Ok(())
}
