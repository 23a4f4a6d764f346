//! The spread of an op's transport in an in-situ calibration.
//!
//! An op's transport (`http-<kind>`: the HTTP client's and server's work and the loopback) is
//! measured as a mean only: its driver latency less its handler time and generator CPU (see
//! `insitu::cpu_ops`). No clock times one request's transport. Priced at that mean, every op
//! of the model pays the same transport, so the model's latencies are narrower than live's
//! from the lowest load on (a twin's low-load p99 came out 25-60% low).
//!
//! The shape comes from the two distributions that are measured, at the same percentiles:
//! the driver's latency `L(p)` and the handler's wall time `H(p)`. Taking the slow ops of one
//! as the slow ops of the other, the transport at `p` is `L(p) - H(p) - generator`, made
//! non-decreasing, flat below the median (the driver keeps percentiles from the median up),
//! and scaled so that its mean is the measured mean. So the transport's total CPU is what it
//! was; only its spread is new.

/// The transport's quantiles (`(p, ms)`, `p` in 0..=1) from the driver's latency
/// percentiles `latency` (`(percent, ms)`, from the median up), the handler's quantiles
/// `handler` (`(p, ms)`, `p` in 0..=1, increasing), the generator's CPU per op and the
/// transport's measured mean; `None` when a figure is missing or the shape has no mass.
pub fn transport_quantiles(
    latency: &[(f64, f64)],
    handler: &[(f64, f64)],
    generator_ms: f64,
    mean_ms: f64,
) -> Option<Vec<(f64, f64)>> {
    if handler.len() < 2 || mean_ms.is_nan() || mean_ms <= 0.0 {
        return None;
    }
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut floor = 0.0f64;
    for &(pct, ms) in latency.iter().filter(|(pct, _)| *pct >= 50.0) {
        let p = pct / 100.0;
        floor = floor.max(ms - at(handler, p) - generator_ms);
        if pts.last().is_none_or(|&(q, _)| p > q) {
            pts.push((p, floor));
        }
    }
    let &(first, median) = pts.first()?;
    if first > 0.5 {
        return None;
    }
    let &(_, top) = pts.last()?;
    pts.insert(0, (0.0, median));
    pts.push((1.0, top));
    pts.dedup_by(|b, a| b.0 == a.0);
    let mean: f64 = pts
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    if mean.is_nan() || mean <= 0.0 {
        return None;
    }
    let k = mean_ms / mean;
    Some(pts.into_iter().map(|(p, v)| (p, v * k)).collect())
}

/// `q`'s value at `p`: linear between its points, flat beyond them.
fn at(q: &[(f64, f64)], p: f64) -> f64 {
    match q.iter().position(|&(x, _)| x >= p) {
        None => q[q.len() - 1].1,
        Some(0) => q[0].1,
        Some(i) => {
            let ((x0, y0), (x1, y1)) = (q[i - 1], q[i]);
            y0 + (y1 - y0) * (p - x0) / (x1 - x0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(q: &[(f64, f64)]) -> f64 {
        q.windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum()
    }

    #[test]
    fn the_gap_between_latency_and_handler_gives_the_shape_and_the_mean_is_kept() {
        let latency = [(50.0, 1.0), (90.0, 2.0), (99.0, 5.0), (99.9, 9.0)];
        let handler = [(0.0, 0.1), (0.5, 0.2), (0.9, 0.5), (1.0, 1.0)];
        let q = transport_quantiles(&latency, &handler, 0.1, 0.8).expect("shape");
        assert!((mean(&q) - 0.8).abs() < 1e-9, "{q:?}");
        assert_eq!(q[0].0, 0.0);
        assert_eq!(q[q.len() - 1].0, 1.0);
        assert!(
            q.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{q:?}"
        );
        // Gaps 0.7, 1.4, 3.95, 7.905 before scaling (the handler's p99 is 0.95 between its
        // points): the scaling keeps their ratios.
        let (med, p99) = (q[1].1, q[3].1);
        assert!((p99 / med - 3.95 / 0.7).abs() < 1e-9, "{q:?}");
    }

    #[test]
    fn a_gap_that_shrinks_is_held_and_missing_figures_give_none() {
        // The handler's tail is slower than the latency's: the gap would fall; it is held.
        let latency = [(50.0, 1.0), (99.0, 2.0)];
        let handler = [(0.0, 0.1), (0.5, 0.5), (0.99, 1.9), (1.0, 2.0)];
        let q = transport_quantiles(&latency, &handler, 0.0, 0.5).expect("shape");
        assert!(q.windows(2).all(|w| w[0].1 <= w[1].1), "{q:?}");
        assert!(transport_quantiles(&latency, &handler[..1], 0.0, 0.5).is_none());
        assert!(transport_quantiles(&latency, &handler, 0.0, 0.0).is_none());
        assert!(transport_quantiles(&[(90.0, 1.0)], &handler, 0.0, 0.5).is_none());
        // No gap at all: nothing to shape.
        assert!(transport_quantiles(&[(50.0, 0.1)], &handler, 0.5, 0.5).is_none());
    }
}
