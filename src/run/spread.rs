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
//! the median up starts as `L(p) - H(p) - generator`, made non-decreasing; since the
//! simulator draws the transport apart from the handler, those points then move until the
//! independent sum has the driver's percentiles (see [`transport_quantiles`]). Below the
//! median the driver keeps no percentiles: the shape falls linearly from the median to a
//! floor chosen so that the whole shape's mean is the measured mean time. The op's file entry keeps the shape
//! with its mean as `mean-ms` and the measured CPU as `cpu-mean-ms`, so the simulator spends
//! that share of each drawn transport on the cores and waits the rest. When the shape's mean
//! is below the CPU, the shape is scaled up to it, all CPU.

use super::deconv::at;

/// An op's transport: its quantiles (`(p, ms)`) and their mean, ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    /// `(p, ms)`, `p` strictly increasing from 0 to 1, values non-decreasing.
    pub quantiles: Vec<(f64, f64)>,
    /// The mean of `quantiles` interpolated linearly, never below the measured CPU.
    pub mean_ms: f64,
}

/// Rounds of moving the shape's upper points towards the driver's percentiles.
const ROUNDS: usize = 12;

/// An op's transport from the driver's latency percentiles `latency` (`(percent, ms)`, from
/// the median up), the handler's quantiles `handler` (`(p, ms)`, `p` in 0..=1, increasing),
/// the generator's CPU per op, the transport's measured mean time `time_ms` and its mean CPU
/// `cpu_ms`; `None` when a figure is missing or the shape has no mass.
///
/// The shape starts as the latency less the handler at each percentile; then, for
/// [`ROUNDS`] rounds, each upper point moves by the gap between the driver's percentile and
/// that of a transport drawn apart from the handler plus the generator's CPU
/// ([`super::deconv::sum_at`]), as the simulator draws them, kept non-decreasing and
/// non-negative.
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
    let targets: Vec<(f64, f64)> = latency
        .iter()
        .filter(|(pct, _)| *pct >= 50.0)
        .map(|&(pct, ms)| (pct / 100.0, ms))
        .collect();
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut floor = 0.0f64;
    for &(p, ms) in &targets {
        floor = floor.max(ms - at(handler, p) - generator_ms);
        if pts.last().is_none_or(|&(q, _)| p > q) {
            pts.push((p, floor));
        }
    }
    let ps: Vec<f64> = pts.iter().map(|pt| pt.0).collect();
    let want: Vec<f64> = ps.iter().map(|&p| at(&targets, p)).collect();
    for _ in 0..ROUNDS {
        let shape = whole(&pts, time_ms)?;
        let got = super::deconv::sum_at(&shape, handler, generator_ms, &ps);
        let mut floor = 0.0f64;
        for ((pt, w), g) in pts.iter_mut().zip(&want).zip(got) {
            floor = floor.max(pt.1 + w - g);
            pt.1 = floor;
        }
    }
    let pts = whole(&pts, time_ms)?;
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

/// The whole shape from its upper points `upper` (`(p, ms)`, the first at the median): held
/// at the last up to 1, and below the median a line from a floor chosen so that the shape's
/// mean is `time_ms` (clamped between 0 and the median); `None` when `upper` does not start
/// at the median.
fn whole(upper: &[(f64, f64)], time_ms: f64) -> Option<Vec<(f64, f64)>> {
    let &(first, median) = upper.first()?;
    if first > 0.5 {
        return None;
    }
    let &(_, top) = upper.last()?;
    let mut pts = Vec::with_capacity(upper.len() + 3);
    pts.push((0.5, median));
    pts.extend_from_slice(upper);
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
    Some(pts)
}

/// The mean of the distribution whose quantile function is linear between `q`'s points.
pub(crate) fn mean(q: &[(f64, f64)]) -> f64 {
    q.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
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
    fn drawn_apart_from_the_handler_the_shape_gives_back_the_driver_s_percentiles() {
        let latency = [(50.0, 1.0), (90.0, 2.0), (99.0, 5.0), (99.9, 9.0)];
        let handler = [(0.0, 0.1), (0.5, 0.2), (0.9, 0.5), (1.0, 1.0)];
        let t = transport_quantiles(&latency, &handler, 0.1, 0.9, 0.6).expect("shape");
        let q = &t.quantiles;
        assert!(ordered(q), "{q:?}");
        assert!((mean(q) - t.mean_ms).abs() < 1e-9, "{t:?}");
        assert!((t.mean_ms - 0.9).abs() < 1e-9, "the measured time: {t:?}");
        // A transport and a handler drawn apart, plus the generator's 0.1 ms, have the
        // driver's percentiles, to the grid's resolution.
        let sum = super::super::deconv::sum_at(q, &handler, 0.1, &[0.5, 0.9, 0.99, 0.999]);
        for (got, (_, want)) in sum.iter().zip(latency) {
            assert!(
                (got / want - 1.0).abs() < 0.03,
                "{sum:?} against {latency:?}"
            );
        }
        // Against the gaps taken as they are (0.7, 1.4, 3.95, 7.905: the slow ops of one as
        // the slow ops of the other), the median is lower and the tail longer.
        let at_p = |p: f64| at(q, p);
        assert!(at_p(0.5) < 0.65 && at_p(0.99) > 4.1, "{q:?}");
    }

    #[test]
    fn the_floor_stays_between_zero_and_the_median() {
        let latency = [(50.0, 1.0), (99.0, 3.0)];
        let handler = [(0.0, 0.1), (1.0, 0.1)];
        // A measured mean below what the upper half alone holds: the floor is 0.
        let low = transport_quantiles(&latency, &handler, 0.0, 0.2, 0.1).expect("shape");
        assert_eq!(low.quantiles[0], (0.0, 0.0));
        // Above what a flat lower half gives: the lower half is flat at the median, which a
        // handler of constant time leaves at the latency's less it.
        let high = transport_quantiles(&latency, &handler, 0.0, 50.0, 0.1).expect("shape");
        let (floor, median) = (high.quantiles[0], high.quantiles[1]);
        assert_eq!(
            (floor.0, median.0, floor.1),
            (0.0, 0.5, median.1),
            "{high:?}"
        );
        assert!((median.1 - 0.9).abs() < 0.03, "{high:?}");
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
        assert!((top / med - 2.5).abs() < 0.05, "the ratios are kept: {t:?}");
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
