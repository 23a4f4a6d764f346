//! One calibration point from raw samples: count, mean and empirical quantiles, in the form
//! the simulator's reader ([`feedlab_sim::model::Calibration::cost`]) accepts. Every point
//! this writes reads back: probabilities strictly increase from a first point to a last one
//! at 1.0, and values never decrease and are finite and non-negative.

use std::future::Future;
use std::time::Instant;

use feedlab_sim::model::CalibOp;
use feedlab_system::timing;

/// Quantile points recorded per op. The simulator interpolates linearly between neighbouring
/// points, so a segment spreads its probability evenly over its values: the tail is gridded
/// finely (no segment above 0.95 holds more than 0.5%), so that a few slow calls in a thousand
/// (a cold page-cache read) stay a few in a thousand and are not smeared over the 0.9% between
/// 0.99 and 0.999.
pub(crate) const QS: [f64; 13] = [
    0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 1.0,
];

/// Empirical quantiles (ms) of `ns`, sorted ascending: the [`QS`] grid, where a quantile the
/// samples cannot resolve (above `1 - 1/count`, where it would be the maximum) is replaced by
/// the point `(1 - 1/count, second largest)`, so that one outlier in a few hundred samples
/// carries its own weight (1/count) between that point and the maximum, not the 1% the grid's
/// 0.99..0.999 span would give it. When `1 - 1/count` falls on a grid point (100 samples:
/// 0.99) that point is kept once. No samples: a point mass at 0.
pub(crate) fn quantiles(ns: &[u64]) -> Vec<(f64, f64)> {
    let Some(last) = ns.len().checked_sub(1) else {
        return vec![(0.0, 0.0), (1.0, 0.0)];
    };
    let at = |q: f64| ns[((q * last as f64).round() as usize).min(last)] as f64 / 1e6;
    let resolved = 1.0 - 1.0 / ns.len() as f64;
    let mut pts: Vec<(f64, f64)> = QS
        .iter()
        .filter(|&&q| q <= resolved && q < 1.0)
        .map(|&q| (q, at(q)))
        .collect();
    if last >= 1 && QS.iter().any(|&q| q > resolved && q < 1.0) {
        pts.push((resolved, ns[last - 1] as f64 / 1e6));
    }
    pts.push((1.0, ns[last] as f64 / 1e6));
    // Probabilities strictly increase (keep the first of equal ones, e.g. a tail point that
    // lands on a grid point); values never decrease.
    pts.dedup_by(|later, earlier| later.0 <= earlier.0);
    for i in 1..pts.len() {
        pts[i].1 = pts[i].1.max(pts[i - 1].1);
    }
    pts
}

/// One op at size `n` from its samples (ns): count, mean and the [`quantiles`] in ms.
pub(crate) fn summarize(op: &str, n: u32, mut ns: Vec<u64>) -> CalibOp {
    ns.sort_unstable();
    let count = ns.len() as u64;
    CalibOp {
        op: op.into(),
        n,
        count,
        mean_ms: ns.iter().map(|&x| x as f64).sum::<f64>() / count.max(1) as f64 / 1e6,
        quantiles_ms: quantiles(&ns),
        cpu_mean_ms: None,
    }
}

/// [`summarize`] of `(wall, cpu)` samples (ns), with their mean CPU time.
pub(crate) fn summarize_cpu(op: &str, n: u32, samples: Vec<(u64, u64)>) -> CalibOp {
    let cpu: f64 = samples.iter().map(|&(_, c)| c as f64).sum();
    let count = samples.len().max(1) as f64;
    let mut out = summarize(op, n, samples.into_iter().map(|(w, _)| w).collect());
    out.cpu_mean_ms = Some(cpu / count / 1e6);
    out
}

/// Runs `f` and returns its output with its (wall, CPU) time in ns: thread CPU of its polls
/// plus the blocking-pool work it reported.
pub(crate) async fn timed<T>(f: impl Future<Output = T>) -> (T, (u64, u64)) {
    let t = Instant::now();
    let (out, inline, off) = timing::cpu::with_offloaded(Box::pin(f)).await;
    let wall = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
    (out, (wall, inline.saturating_add(off)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use feedlab_sim::model::Calibration;

    use super::*;

    /// `count` samples with ties and a long tail, deterministic.
    fn samples(count: usize) -> Vec<u64> {
        (0..count as u64)
            .map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                1_000 + (h % 50) * 1_000 + if i % 97 == 3 { 5_000_000 } else { 0 }
            })
            .collect()
    }

    /// Writes `ops` as a calibration file's text and reads it back through the simulator's
    /// reader, which checks every precondition of the quantiles.
    fn reads_back(ops: Vec<CalibOp>) -> anyhow::Result<()> {
        let names: Vec<String> = ops.iter().map(|o| o.op.clone()).collect();
        let cal = Calibration {
            ops,
            ..Calibration::default()
        };
        let back: Calibration = toml::from_str(&cal.to_toml()?)?;
        assert_eq!(back, cal, "the file round-trips");
        for op in names {
            back.cost(&op, &BTreeMap::new())?;
        }
        Ok(())
    }

    #[test]
    fn a_hundred_calls_give_one_point_at_0_99_not_two() -> anyhow::Result<()> {
        // The failing case: 100 calls put `1 - 1/count` on the grid's 0.99.
        let op = summarize("get", 1, samples(100));
        let ps: Vec<f64> = op.quantiles_ms.iter().map(|q| q.0).collect();
        assert_eq!(ps.iter().filter(|&&p| p == 0.99).count(), 1, "{ps:?}");
        reads_back(vec![op])
    }

    #[test]
    fn every_count_from_0_to_1000_reads_back() -> anyhow::Result<()> {
        for count in 0..=1000 {
            let op = summarize("scan", 36, samples(count));
            assert_eq!(op.quantiles_ms.last().map(|q| q.0), Some(1.0), "{count}");
            reads_back(vec![op]).map_err(|e| anyhow::anyhow!("{count} samples: {e}"))?;
        }
        // Equal samples, and two sizes of one op.
        let flat = summarize("cas", 1, vec![7_000; 100]);
        let two = vec![
            summarize("blob-get", 1, samples(20)),
            summarize("blob-get", 200, samples(120)),
        ];
        reads_back(vec![flat])?;
        reads_back(two)
    }

    /// Probability above `x` ms of the distribution interpolated linearly between `pts`.
    fn mass_above(pts: &[(f64, f64)], x: f64) -> f64 {
        pts.windows(2)
            .map(|w| {
                let ((q0, v0), (q1, v1)) = (w[0], w[1]);
                if v1 <= x {
                    0.0
                } else if v0 >= x {
                    q1 - q0
                } else {
                    (q1 - q0) * (v1 - x) / (v1 - v0)
                }
            })
            .sum()
    }

    #[test]
    fn four_slow_calls_in_two_thousand_keep_about_their_weight() {
        // A few cold reads among page-cache hits: 4 calls in 2,278 (0.18%) at 50-65 ms. The
        // grid's old tail (0.99, then 0.999) put 0.92% of the mass above 5 ms.
        let mut ns: Vec<u64> = (0..2_278u64).map(|i| 60_000 + (i % 40) * 1_000).collect();
        for j in 0..4 {
            ns[7 + j * 300] = 50_000_000 + j as u64 * 5_000_000;
        }
        ns.sort_unstable();
        let above = mass_above(&quantiles(&ns), 5.0);
        assert!(
            above < 0.0025,
            "{above} of the mass above 5 ms, from 4 calls in 2,278"
        );
    }

    #[test]
    fn the_tail_point_carries_one_sample_of_weight() {
        let mut ns = vec![1_000_000; 299];
        ns.push(9_000_000);
        let q = quantiles(&ns);
        let n = q.len();
        assert!((q[n - 2].0 - (1.0 - 1.0 / 300.0)).abs() < 1e-12);
        assert_eq!(q[n - 2].1, 1.0);
        assert_eq!(q[n - 1], (1.0, 9.0));
    }
}
