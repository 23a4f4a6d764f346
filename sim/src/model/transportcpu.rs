//! How much of a drawn transport is CPU.
//!
//! An in-situ calibration measures an op's transport (`http-<kind>`: both HTTP stacks, the
//! loopback and the wake-ups between them) as a distribution of times and one mean CPU. Priced
//! like a storage call, each draw would be CPU in the mean's proportion, so the rare slow
//! transports (a p99.9 ten times the median) would each hold a core for milliseconds. They do
//! not: the work of parsing a request and writing its response does not grow with the time the
//! op waited for a thread to wake, so a slow transport is a wait. With `sim.transport-cpu-cap`
//! each drawn transport's CPU is the draw up to a cap and nothing beyond it, the cap chosen so
//! that the mean CPU is what the draws would spend in proportion ([`cpu_cap`]): fast draws
//! are all CPU, slow ones are CPU up to the cap and wait after it.

/// The cap `c`, ms, at which a time `T` distributed as `quantiles` (`(p, ms)`, `p` from 0 to
/// 1 increasing, linear between points) spends as much CPU as `share` of every draw would:
/// `E[min(T, c)] = share × E[T]`. `None` when `share` is not in `(0, 1)` (a draw all CPU or
/// none has nothing to move) or the points are not a distribution with some time.
pub fn cpu_cap(quantiles: &[(f64, f64)], share: f64) -> Option<f64> {
    let ordered = quantiles.first().map(|q| q.0) == Some(0.0)
        && quantiles.last().map(|q| q.0) == Some(1.0)
        && quantiles
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
    if !(ordered && share > 0.0 && share < 1.0) {
        return None;
    }
    let top = quantiles.last()?.1;
    let cpu_ms = share * capped_mean(quantiles, top);
    if cpu_ms.is_nan() || cpu_ms <= 0.0 {
        return None;
    }
    // E[min(T, c)] grows with c from 0 to the mean: bisect.
    let (mut lo, mut hi) = (0.0, top);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if capped_mean(quantiles, mid) < cpu_ms {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// `E[min(T, c)]` for `T` whose quantile function is linear between `q`'s points.
fn capped_mean(q: &[(f64, f64)], c: f64) -> f64 {
    q.windows(2)
        .map(|w| {
            let ((p0, v0), (p1, v1)) = (w[0], w[1]);
            let width = p1 - p0;
            if v1 <= c {
                width * (v0 + v1) / 2.0
            } else if v0 >= c {
                width * c
            } else {
                // Linear from v0 to v1: below c for a share s of the cell.
                let s = (c - v0) / (v1 - v0);
                width * (s * (v0 + c) / 2.0 + (1.0 - s) * c)
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_the_mean_cpu_and_moves_the_tail_to_waiting() {
        // Uniform on [0, 1]: E[min(U, c)] = c - c²/2, which is 0.32 (0.64 of the mean) at
        // c = 0.4.
        let u = [(0.0, 0.0), (1.0, 1.0)];
        let c = cpu_cap(&u, 0.64).expect("a cap");
        assert!((c - 0.4).abs() < 1e-9, "{c}");
        assert!((capped_mean(&u, c) - 0.32).abs() < 1e-9);
        // A long thin tail: 99% at 0.2 ms, the last 1% rising to 10 ms; mean 0.249.
        let tail = [(0.0, 0.2), (0.99, 0.2), (1.0, 10.0)];
        let mean = capped_mean(&tail, 10.0);
        assert!((mean - 0.249).abs() < 1e-9, "{mean}");
        let c = cpu_cap(&tail, 0.2 / mean).expect("a cap");
        assert!((c - 0.2).abs() < 1e-6, "the tail is all wait: {c}");
        let c = cpu_cap(&tail, 0.21 / mean).expect("a cap");
        assert!(c > 0.2 && c < 10.0, "{c}");
        assert!((capped_mean(&tail, c) - 0.21).abs() < 1e-9);
    }

    #[test]
    fn a_transport_all_cpu_or_malformed_has_no_cap() {
        let u = [(0.0, 0.0), (1.0, 1.0)];
        assert_eq!(cpu_cap(&u, 1.0), None, "all CPU");
        assert_eq!(cpu_cap(&u, 0.0), None, "no CPU");
        assert_eq!(cpu_cap(&u, f64::NAN), None);
        assert_eq!(cpu_cap(&[(0.0, 0.0), (1.0, 0.0)], 0.5), None, "no time");
        assert_eq!(cpu_cap(&[(0.0, 1.0), (0.5, 0.5), (1.0, 2.0)], 0.1), None);
        assert_eq!(cpu_cap(&[(0.1, 1.0), (1.0, 2.0)], 0.1), None);
    }
}
