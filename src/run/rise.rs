//! The calibration's `[transport-rise]` (see `feedlab_sim::model::TransportRise`): how far
//! the tail of each op kind's transport grows between the calibration burst's two phases.
//!
//! Both phases run on the same warmed service, at the run's load and at
//! `driver.calibration-burst` times it, with the recorder off. An op's transport at quantile
//! `p` is its driver latency there less the handler's time at `p` (from the measured window:
//! the handler's quantiles move by tenths of a millisecond across a ladder) and the
//! generator's CPU per op, as `spread.rs` takes it. Its rise between the phases, against the
//! busy fractions that `[cpu-fall]` measured for them, gives the exponent at `p`:
//! `a = ln(T_burst / T_base) / ln((1 - busy) / (1 - burst-busy))`, at least 0.

use std::collections::BTreeMap;

use feedlab_sim::model::{CpuFall, KindRise, TransportRise};
use hdrhistogram::Histogram;

use super::burst::Burst;

/// The quantiles a burst phase keeps of each op kind's latency.
pub const QUANTILES: [f64; 5] = [0.5, 0.75, 0.9, 0.95, 0.99];

/// Fewest ops of a kind in each phase for its rise to be measured.
pub const MIN_OPS: u64 = 200;

/// One op kind's latency in one burst phase: ops that succeeded, and `(p, ms)` at
/// [`QUANTILES`].
pub type KindLatency = (u64, Vec<(f64, f64)>);

/// `h` (µs) at [`QUANTILES`], ms, with its count.
pub fn latency(h: &Histogram<u64>) -> KindLatency {
    let q = QUANTILES
        .iter()
        .map(|&p| (p, h.value_at_quantile(p) as f64 / 1e3))
        .collect();
    (h.len(), q)
}

/// The handler's time at quantile `p` of `sorted` (ns, ascending), ms: nearest rank.
fn handler_at(sorted: &[u64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let i = ((p * sorted.len() as f64).ceil() as usize)
        .saturating_sub(1)
        .min(last);
    Some(sorted[i] as f64 / 1e6)
}

/// The rise measured by `burst` between the busy fractions of `fall`, from the measured
/// window's handler times (`handlers`: ns per op kind) and the generator's CPU per op;
/// `None` when no kind ran [`MIN_OPS`] times in both phases with handler times to subtract.
pub fn transport_rise(
    fall: &CpuFall,
    burst: &Burst,
    handlers: &BTreeMap<String, Vec<u64>>,
    generator_ms: f64,
) -> Option<TransportRise> {
    let span = ((1.0 - fall.busy) / (1.0 - fall.burst_busy.min(0.99))).ln();
    if !(span.is_finite() && span > 0.0) {
        return None;
    }
    let mut kinds = Vec::new();
    for (kind, (n, base)) in &burst.base.latency {
        let Some((m, high)) = burst.high.latency.get(kind) else {
            continue;
        };
        let Some(h) = handlers.get(kind).filter(|h| !h.is_empty()) else {
            continue;
        };
        if *n < MIN_OPS || *m < MIN_OPS {
            continue;
        }
        let mut sorted = h.clone();
        sorted.sort_unstable();
        let exponents: Vec<(f64, f64)> = base
            .iter()
            .zip(high)
            .filter_map(|(&(p, lb), &(_, lh))| {
                let inside = handler_at(&sorted, p)? + generator_ms;
                let (tb, th) = (lb - inside, lh - inside);
                (tb > 0.0 && th > 0.0).then(|| (p, ((th / tb).ln() / span).max(0.0)))
            })
            .collect();
        if !exponents.is_empty() {
            kinds.push(KindRise {
                kind: kind.clone(),
                exponents,
            });
        }
    }
    let rise = TransportRise {
        busy: fall.busy,
        burst_busy: fall.burst_busy,
        kinds,
    };
    (!rise.kinds.is_empty() && rise.validate().is_ok()).then_some(rise)
}

#[cfg(test)]
mod tests {
    use super::super::burst::Phase;
    use super::*;

    fn phase(load: f64, feed: Vec<(f64, f64)>, n: u64) -> Phase {
        Phase {
            load,
            seconds: 1.0,
            ran: n,
            dropped: 0,
            cpu_ns: 1,
            latency: BTreeMap::from([("feed".to_string(), (n, feed))]),
            probe_us: None,
        }
    }

    fn fall() -> CpuFall {
        CpuFall {
            busy: 0.1,
            burst_busy: 0.4,
            ratio: 0.9,
        }
    }

    /// Handler times of 0.1 ms for every feed.
    fn handlers() -> BTreeMap<String, Vec<u64>> {
        BTreeMap::from([("feed".to_string(), vec![100_000; 1_000])])
    }

    #[test]
    fn the_exponent_is_the_transport_s_growth_against_the_busy_fractions() {
        // Transport (latency less 0.1 ms handler, 0.0 generator): 0.2 ms at p50 in both;
        // 1.0 → 1.5 ms at p90 (×1.5), 2.0 → 8.0 ms at p99 (×4).
        let burst = Burst {
            base: phase(1.0, vec![(0.5, 0.3), (0.9, 1.1), (0.99, 2.1)], 500),
            high: phase(4.0, vec![(0.5, 0.3), (0.9, 1.6), (0.99, 8.1)], 2_000),
        };
        let r = transport_rise(&fall(), &burst, &handlers(), 0.0).expect("a rise");
        let span = (0.9f64 / 0.6).ln();
        let e = &r.kinds[0].exponents;
        assert_eq!(r.kinds[0].kind, "feed");
        assert!(e[0].1.abs() < 1e-9, "{e:?}");
        assert!((e[1].1 - 1.5f64.ln() / span).abs() < 1e-9, "{e:?}");
        assert!((e[2].1 - 4f64.ln() / span).abs() < 1e-9, "{e:?}");
        // Through the burst's own load, the model gives back the burst's p99.
        let f = r.factor(e[2].1, 0.4);
        assert!((f - 4.0).abs() < 1e-9, "{f}");
    }

    #[test]
    fn a_falling_tail_does_not_rise_and_thin_or_unknown_kinds_are_left_out() {
        let burst = Burst {
            base: phase(1.0, vec![(0.5, 0.3), (0.99, 2.1)], 500),
            high: phase(4.0, vec![(0.5, 0.25), (0.99, 1.1)], 2_000),
        };
        let r = transport_rise(&fall(), &burst, &handlers(), 0.0).expect("a rise");
        assert!(r.kinds[0].exponents.iter().all(|&(_, a)| a == 0.0), "{r:?}");
        let thin = Burst {
            base: phase(1.0, vec![(0.5, 0.3)], 50),
            high: phase(4.0, vec![(0.5, 0.9)], 2_000),
        };
        assert_eq!(transport_rise(&fall(), &thin, &handlers(), 0.0), None);
        assert_eq!(
            transport_rise(&fall(), &burst, &BTreeMap::new(), 0.0),
            None,
            "no handler times to subtract"
        );
    }
}
