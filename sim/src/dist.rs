//! Service-time and latency distributions, and the network hop (a pure delay).
//!
//! [`ServiceDist`] is what a station, a hop or any other model draws durations
//! from. Every variant samples nanoseconds as [`SimTime`] from a caller-supplied
//! RNG, so the caller decides which random stream feeds which component.
//!
//! The empirical variant exists for calibration: a calibration file gives
//! measured quantiles (p50, p90, p99, p999, max) of a real backend, and
//! [`ServiceDist::empirical`] turns them into a piecewise-linear inverse CDF.
//! [`DistSpec`] is the serde form used by scenario files (milliseconds).

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::engine::{NANOS_PER_MILLI, SimTime, ns};
use crate::error::{Result, invalid, positive};

/// Standard-normal quantile at 0.99.
const Z99: f64 = 2.326_347_874_040_841;

/// A distribution of durations in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceDist {
    /// Exponential with the given mean (ns).
    Exponential {
        /// Mean in nanoseconds (> 0).
        mean_ns: f64,
    },
    /// Always the same duration.
    Deterministic {
        /// The duration in nanoseconds.
        ns: SimTime,
    },
    /// `exp(N(mu, sigma²))` nanoseconds.
    LogNormal {
        /// Mean of the log (ln ns).
        mu: f64,
        /// Standard deviation of the log (≥ 0).
        sigma: f64,
    },
    /// Inverse CDF interpolated linearly between quantile points.
    Empirical(Empirical),
}

/// A piecewise-linear inverse CDF through `(probability, ns)` points.
///
/// Invariants (checked by [`ServiceDist::empirical`]): probabilities strictly
/// increase from 0 to 1, values are finite, non-negative and non-decreasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Empirical {
    points: Vec<(f64, f64)>,
}

impl Empirical {
    /// The value at quantile `q` (clamped to [0, 1]), in nanoseconds.
    pub fn quantile(&self, q: f64) -> f64 {
        let q = q.clamp(0.0, 1.0);
        // Points are few (≈ 5–10): a linear scan beats a binary search.
        let mut prev = self.points[0];
        for &(p, v) in &self.points[1..] {
            if q <= p {
                let span = p - prev.0;
                let t = if span > 0.0 { (q - prev.0) / span } else { 1.0 };
                return prev.1 + t * (v - prev.1);
            }
            prev = (p, v);
        }
        prev.1
    }

    /// The mean of the interpolated distribution, in nanoseconds.
    pub fn mean(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum()
    }

    /// The `(probability, ns)` points, starting at probability 0 and ending at 1.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }
}

impl ServiceDist {
    /// Exponential with mean `mean_ns` (finite, > 0).
    pub fn exponential(mean_ns: f64) -> Result<Self> {
        Ok(ServiceDist::Exponential {
            mean_ns: positive("mean", mean_ns)?,
        })
    }

    /// Always `ns` nanoseconds (0 is allowed: an instantaneous step).
    pub fn deterministic(ns: SimTime) -> Self {
        ServiceDist::Deterministic { ns }
    }

    /// Log-normal with the given mean and 99th percentile (both ns).
    ///
    /// Contract: requires `0 < mean <= p99 <= mean · e^{z²/2}` (z = 2.326, so
    /// `p99/mean` at most ≈ 14.97; beyond that no log-normal has this pair).
    /// Takes the smaller-σ solution of `ln(p99/mean) = zσ − σ²/2`.
    pub fn lognormal(mean_ns: f64, p99_ns: f64) -> Result<Self> {
        let mean = positive("mean", mean_ns)?;
        let p99 = positive("p99", p99_ns)?;
        let r = (p99 / mean).ln();
        let disc = Z99 * Z99 - 2.0 * r;
        if r < 0.0 || disc < 0.0 {
            return Err(invalid(
                "p99",
                format!("p99/mean = {} must lie in [1, 14.97]", p99 / mean),
            ));
        }
        let sigma = Z99 - disc.sqrt();
        Ok(ServiceDist::LogNormal {
            mu: mean.ln() - sigma * sigma / 2.0,
            sigma,
        })
    }

    /// Empirical distribution through `(probability, ns)` quantile points.
    ///
    /// Contract: at least one point; probabilities in [0, 1] and strictly
    /// increasing; the last must be 1.0 (the observed max); values finite,
    /// ≥ 0 and non-decreasing. When the first probability is above 0, the mass
    /// below it takes the first value (a conservative lower tail: calibration
    /// files usually start at p50 and never undercut it).
    pub fn empirical(points: &[(f64, f64)]) -> Result<Self> {
        let (&first, _) = points
            .split_first()
            .ok_or_else(|| invalid("quantiles", "need at least one point"))?;
        let mut pts = Vec::with_capacity(points.len() + 1);
        if first.0 > 0.0 {
            pts.push((0.0, first.1));
        }
        let mut prev: Option<(f64, f64)> = None;
        for &(p, v) in points {
            if !(0.0..=1.0).contains(&p) || !v.is_finite() || v < 0.0 {
                return Err(invalid("quantiles", format!("bad point ({p}, {v})")));
            }
            if let Some((pp, pv)) = prev
                && (p <= pp || v < pv)
            {
                return Err(invalid(
                    "quantiles",
                    format!("points must increase: ({pp}, {pv}) then ({p}, {v})"),
                ));
            }
            pts.push((p, v));
            prev = Some((p, v));
        }
        if prev.map(|(p, _)| p) != Some(1.0) {
            return Err(invalid("quantiles", "last point must have probability 1.0"));
        }
        if pts.len() == 1 {
            pts.insert(0, (0.0, first.1));
        }
        Ok(ServiceDist::Empirical(Empirical { points: pts }))
    }

    /// Draw one duration (ns) from `rng`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimTime {
        match self {
            ServiceDist::Exponential { mean_ns } => ns(rng.sample::<f64, _>(Exp1) * mean_ns),
            ServiceDist::Deterministic { ns } => *ns,
            ServiceDist::LogNormal { mu, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                ns((mu + sigma * z).exp())
            }
            ServiceDist::Empirical(e) => ns(e.quantile(rng.random::<f64>())),
        }
    }

    /// The distribution's mean in nanoseconds (exact, before rounding to ns).
    pub fn mean(&self) -> f64 {
        match self {
            ServiceDist::Exponential { mean_ns } => *mean_ns,
            ServiceDist::Deterministic { ns } => *ns as f64,
            ServiceDist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            ServiceDist::Empirical(e) => e.mean(),
        }
    }
}

/// Serde form of a [`ServiceDist`] for scenario files; times in milliseconds.
///
/// ```toml
/// service = { kind = "lognormal", mean-ms = 2.0, p99-ms = 9.0 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DistSpec {
    /// See [`ServiceDist::exponential`].
    #[serde(rename_all = "kebab-case")]
    Exponential {
        /// Mean, ms.
        mean_ms: f64,
    },
    /// See [`ServiceDist::deterministic`].
    #[serde(rename_all = "kebab-case")]
    Deterministic {
        /// Duration, ms.
        ms: f64,
    },
    /// See [`ServiceDist::lognormal`].
    #[serde(rename_all = "kebab-case")]
    Lognormal {
        /// Mean, ms.
        mean_ms: f64,
        /// 99th percentile, ms.
        p99_ms: f64,
    },
    /// See [`ServiceDist::empirical`]; `[probability, ms]` pairs.
    #[serde(rename_all = "kebab-case")]
    Empirical {
        /// Quantile points, e.g. `[[0.5, 1.2], [0.99, 5.0], [1.0, 20.0]]`.
        quantiles_ms: Vec<(f64, f64)>,
    },
}

impl DistSpec {
    /// Validate and convert to a [`ServiceDist`] in nanoseconds.
    pub fn build(&self) -> Result<ServiceDist> {
        let ms = NANOS_PER_MILLI as f64;
        match self {
            DistSpec::Exponential { mean_ms } => ServiceDist::exponential(mean_ms * ms),
            DistSpec::Deterministic { ms: d } => {
                if d.is_finite() && *d >= 0.0 {
                    Ok(ServiceDist::deterministic(ns(d * ms)))
                } else {
                    Err(invalid("ms", format!("must be finite and >= 0, got {d}")))
                }
            }
            DistSpec::Lognormal { mean_ms, p99_ms } => {
                ServiceDist::lognormal(mean_ms * ms, p99_ms * ms)
            }
            DistSpec::Empirical { quantiles_ms } => {
                let pts: Vec<(f64, f64)> = quantiles_ms.iter().map(|&(p, v)| (p, v * ms)).collect();
                ServiceDist::empirical(&pts)
            }
        }
    }
}

/// A network hop: a pure delay drawn from a latency distribution. It has no
/// capacity limit (bandwidth is not modelled); it only counts messages.
#[derive(Debug, Clone)]
pub struct NetHop {
    latency: ServiceDist,
    sent: u64,
}

impl NetHop {
    /// A hop whose one-way latency follows `latency`.
    pub fn new(latency: ServiceDist) -> Self {
        NetHop { latency, sent: 0 }
    }

    /// Draw the delay for one message and count it. The caller schedules the
    /// message's arrival at `now + delay`.
    #[inline]
    pub fn delay<R: Rng + ?Sized>(&mut self, rng: &mut R) -> SimTime {
        self.sent += 1;
        self.latency.sample(rng)
    }

    /// Messages sent through this hop so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// The latency distribution.
    pub fn latency(&self) -> &ServiceDist {
        &self.latency
    }
}
