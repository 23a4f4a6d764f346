//! The quantiles of a sum of independent draws, for fitting a transport's shape to the
//! driver's latency when the simulator draws the transport apart from the handler.
//!
//! `spread.rs` starts from the transport at `p` as the driver's latency less the handler's
//! time at the same `p`: the slow ops of one taken as the slow ops of the other. The
//! simulator draws an op's transport and its handler's calls independently, and a sum of
//! independent draws is narrower than that: its median higher and its tail lower. On the
//! quickstart's ×1 steps that made the twins' p50s 4–17% high and their p99.9s up to half
//! low (BENCHMARKS.md). [`sum_at`] gives the sum's quantiles, and `spread.rs` moves the
//! shape's points until they are the driver's.

/// Cells of the probability grid over which a distribution is discretized: `(u, weight)`,
/// `u` each cell's midpoint. Cells are 1% wide up to 0.9, 0.1% up to 0.99 and 0.01% above,
/// so that a p99.9 is resolved by ten cells of each part.
fn grid() -> Vec<(f64, f64)> {
    let mut cells = Vec::with_capacity(280);
    let mut band = |from: f64, width: f64, n: usize| {
        for i in 0..n {
            cells.push((from + (i as f64 + 0.5) * width, width));
        }
    };
    band(0.0, 0.01, 90);
    band(0.9, 0.001, 90);
    band(0.99, 0.0001, 100);
    cells
}

/// `q`'s value at `p`: linear between its points (`(p, v)`, `p` increasing), flat beyond
/// them; 0 when `q` is empty.
pub fn at(q: &[(f64, f64)], p: f64) -> f64 {
    match q.iter().position(|&(x, _)| x >= p) {
        None => q.last().map_or(0.0, |l| l.1),
        Some(0) => q[0].1,
        Some(i) => {
            let ((x0, y0), (x1, y1)) = (q[i - 1], q[i]);
            y0 + (y1 - y0) * (p - x0) / (x1 - x0)
        }
    }
}

/// The quantiles at `ps` (ascending) of `a + b + c`, `a` and `b` drawn independently from
/// the distributions whose quantile functions are linear between the points of `qa` and
/// `qb` (`(p, v)`, as [`at`] reads them), `c` a constant.
pub fn sum_at(qa: &[(f64, f64)], qb: &[(f64, f64)], c: f64, ps: &[f64]) -> Vec<f64> {
    let cells = grid();
    let a: Vec<(f64, f64)> = cells.iter().map(|&(u, w)| (at(qa, u), w)).collect();
    let b: Vec<(f64, f64)> = cells.iter().map(|&(u, w)| (at(qb, u), w)).collect();
    let mut sums: Vec<(f64, f64)> = Vec::with_capacity(a.len() * b.len());
    for &(x, wx) in &a {
        sums.extend(b.iter().map(|&(y, wy)| (x + y + c, wx * wy)));
    }
    sums.sort_unstable_by(|l, r| l.0.total_cmp(&r.0));
    sums.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    // Each sum holds its weight centred on its value: a quantile between two centres is
    // read off the line between their values.
    let total: f64 = sums.iter().map(|s| s.1).sum();
    let mut out = Vec::with_capacity(ps.len());
    let (mut below, mut i) = (0.0, 0);
    let centre = |below: f64, w: f64| (below + w / 2.0) / total;
    for &p in ps {
        while i + 1 < sums.len() && centre(below, sums[i].1) < p {
            below += sums[i].1;
            i += 1;
        }
        let (v, c) = (sums[i].0, centre(below, sums[i].1));
        out.push(match i.checked_sub(1) {
            Some(j) if c > p => {
                let c0 = centre(below - sums[j].1, sums[j].1);
                sums[j].0 + (v - sums[j].0) * ((p - c0) / (c - c0)).clamp(0.0, 1.0)
            }
            _ => v,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_covers_the_unit_interval_once() {
        let g = grid();
        let total: f64 = g.iter().map(|c| c.1).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        assert!(g.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_sum_with_a_point_mass_is_the_other_shifted() {
        let uniform = [(0.0, 0.0), (1.0, 1.0)];
        let point = [(0.0, 0.5), (1.0, 0.5)];
        let q = sum_at(&uniform, &point, 0.25, &[0.5, 0.9, 0.99]);
        for (got, want) in q.iter().zip([1.25, 1.65, 1.74]) {
            assert!((got - want).abs() < 1e-3, "{q:?}");
        }
    }

    #[test]
    fn two_uniforms_sum_to_a_triangle() {
        // U(0,1) + U(0,1): P(S <= s) = 1 - (2 - s)^2 / 2 above 1, so the p90 is
        // 2 - sqrt(0.2) and the p99 2 - sqrt(0.02); the median 1.
        let uniform = [(0.0, 0.0), (1.0, 1.0)];
        let q = sum_at(&uniform, &uniform, 0.0, &[0.5, 0.9, 0.99]);
        let want = [1.0, 2.0 - 0.2f64.sqrt(), 2.0 - 0.02f64.sqrt()];
        for (got, want) in q.iter().zip(want) {
            assert!((got - want).abs() < 5e-3, "{q:?} against {want}");
        }
        // Narrower than taking the slow of one as the slow of the other (2p).
        assert!(q[2] < 1.98 && q[0] <= 1.0 + 0.01, "{q:?}");
    }
}
