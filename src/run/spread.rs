//! The spread of an op's transport in an in-situ calibration.
//!
//! An op's transport (`http-<kind>`: the HTTP client's and server's work, the loopback and the
//! wake-ups between them) is measured as means: its time is the op's mean latency at the
//! driver less its mean handler time and its generator CPU, and its CPU is that time capped
//! by the process's CPU that no call accounts for (see `insitu::cpu_ops`). No clock times one
//! request's transport.
//!
//! The shape comes from the two distributions that are measured at the same percentiles: the
//! driver's latency `L(p)` and the handler's whole wall time `H(p)` (app work and storage
//! calls). Taking the slow ops of one as the slow ops of the other, the transport at `p` from
//! the median up takes `L(p) - H(p) - generator`, made non-decreasing. Below the median the
//! driver keeps no percentiles: the shape falls linearly from the median to a floor chosen so
//! that the whole shape's mean is the measured mean time. The op's file entry keeps the shape
//! with its mean as `mean-ms` and the measured CPU as `cpu-mean-ms`, so the simulator spends
//! that share of each drawn transport on the cores and waits the rest. When the shape's mean
//! is below the CPU, the shape is scaled up to it, all CPU.

/// An op's transport: its quantiles (`(p, ms)`) and their mean, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    /// `(p, ms)`, `p` strictly increasing from 0 to 1, values non-decreasing.
    pub quantiles: Vec<(f64, f64)>,
    /// The mean of `quantiles` interpolated linearly, never below the measured CPU.
    pub mean_ms: f64,
}

/// An op's transport from the driver's latency percentiles `latency` (`(percent, ms)`, from
/// the median up), the handler's quantiles `handler` (`(p, ms)`, `p` in 0..=1, increasing),
/// the generator's CPU per op, the transport's measured mean time `time_ms` and its mean CPU
/// `cpu_ms`; `None` when a figure is missing or the shape has no mass.
pub fn transport_quantiles(
    latency: &[(f64, f64)],
    handler: &[(f64, f64)],
    generator_ms: f64,
    time_ms: f64,
    cpu_ms: f64,
) -> Option<Transport> {
    if handler.len() < 2 || cpu_ms.is_nan() || cpu_ms <= 0.0 {
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
    pts.insert(0, (0.5, median));
    pts.push((1.0, top));
    pts.dedup_by(|b, a| b.0 == a.0);
    // The lower half is linear from `low` at 0 to the median: its mean is (low + median) / 4.
    let upper = mean(&pts);
    let low = if time_ms.is_finite() {
        (4.0 * (time_ms - upper) - median).clamp(0.0, median)
    } else {
        median
    };
    pts.insert(0, (0.0, low));
    let mean = mean(&pts);
    if mean.is_nan() || mean <= 0.0 {
        return None;
    }
    let k = (cpu_ms / mean).max(1.0);
    Some(Transport {
        quantiles: pts.into_iter().map(|(p, v)| (p, v * k)).collect(),
        mean_ms: mean * k,
    })
}

/// The mean of the distribution whose quantile function is linear between `q`'s points.
fn mean(q: &[(f64, f64)]) -> f64 {
    q.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
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

    fn ordered(q: &[(f64, f64)]) -> bool {
        q.first().map(|f| f.0) == Some(0.0)
            && q.last().map(|l| l.0) == Some(1.0)
            && q.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
    }

    #[test]
    fn the_gap_between_latency_and_handler_is_the_time_and_its_mean_is_the_measured_one() {
        let latency = [(50.0, 1.0), (90.0, 2.0), (99.0, 5.0), (99.9, 9.0)];
        let handler = [(0.0, 0.1), (0.5, 0.2), (0.9, 0.5), (1.0, 1.0)];
        let t = transport_quantiles(&latency, &handler, 0.1, 1.0, 0.6).expect("shape");
        let q = &t.quantiles;
        assert!(ordered(q), "{q:?}");
        assert!((mean(q) - t.mean_ms).abs() < 1e-9, "{t:?}");
        assert!((t.mean_ms - 1.0).abs() < 1e-9, "the measured time: {t:?}");
        // From the median up, the gaps 0.7, 1.4, 3.95, 7.905 as they are (the handler's p99
        // is 0.95 between its points); below it, a line down to the floor that gives the mean.
        let gaps: Vec<f64> = q[1..5].iter().map(|p| p.1).collect();
        let want = [0.7, 1.4, 3.95, 7.905];
        assert!(
            gaps.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-9),
            "{q:?}"
        );
        assert!(q[0].1 < 0.7, "{q:?}");
    }

    #[test]
    fn the_floor_stays_between_zero_and_the_median() {
        let latency = [(50.0, 1.0), (99.0, 3.0)];
        let handler = [(0.0, 0.1), (1.0, 0.1)];
        // A measured mean below what the upper half alone holds: the floor is 0.
        let low = transport_quantiles(&latency, &handler, 0.0, 0.2, 0.1).expect("shape");
        assert_eq!(low.quantiles[0], (0.0, 0.0));
        // Above what a flat lower half gives: the lower half is flat at the median.
        let high = transport_quantiles(&latency, &handler, 0.0, 50.0, 0.1).expect("shape");
        assert_eq!(high.quantiles[0], (0.0, 0.9));
        assert!(ordered(&low.quantiles) && ordered(&high.quantiles));
    }

    #[test]
    fn a_shape_below_the_cpu_is_scaled_up_to_it() {
        let latency = [(50.0, 0.3), (99.0, 0.6)];
        let handler = [(0.0, 0.1), (1.0, 0.1)];
        let t = transport_quantiles(&latency, &handler, 0.0, 0.2, 1.0).expect("shape");
        assert!((t.mean_ms - 1.0).abs() < 1e-9, "{t:?}");
        assert!((mean(&t.quantiles) - 1.0).abs() < 1e-9, "{t:?}");
        let n = t.quantiles.len();
        let (med, top) = (t.quantiles[1].1, t.quantiles[n - 1].1);
        assert!((top / med - 2.5).abs() < 1e-9, "the ratios are kept: {t:?}");
    }

    #[test]
    fn a_gap_that_shrinks_is_held_and_missing_figures_give_none() {
        // The handler's tail is slower than the latency's: the gap would fall; it is held.
        let latency = [(50.0, 1.0), (99.0, 2.0)];
        let handler = [(0.0, 0.1), (0.5, 0.5), (0.99, 1.9), (1.0, 2.0)];
        let t = transport_quantiles(&latency, &handler, 0.0, 0.5, 0.5).expect("shape");
        assert!(ordered(&t.quantiles), "{t:?}");
        assert!(transport_quantiles(&latency, &handler[..1], 0.0, 0.5, 0.5).is_none());
        assert!(transport_quantiles(&latency, &handler, 0.0, 0.5, 0.0).is_none());
        assert!(transport_quantiles(&[(90.0, 1.0)], &handler, 0.0, 0.5, 0.5).is_none());
        // No gap at all: nothing to shape.
        assert!(transport_quantiles(&[(50.0, 0.1)], &handler, 0.5, 0.5, 0.5).is_none());
    }
}
