//! The followee-count distribution: a rounded, capped lognormal whose location is solved so that
//! the mean after rounding and capping is exactly the configured `mean-followees`.

use crate::error::{Result, config};
use crate::math::{norm_cdf, norm_inv};

/// Rounded lognormal followee count `min(round(exp(μ + σZ)), cap)` with μ solved for the mean.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FolloweeDist {
    mu: f64,
    sigma: f64,
    cap: u64,
    pub(crate) mean: f64,
}

impl FolloweeDist {
    pub(crate) fn new(mean: f64, sigma: f64, cap: u64) -> Result<Self> {
        let (mut lo, mut hi) = (
            mean.ln() - 12.0 * sigma - 12.0,
            (cap as f64).ln() + 12.0 * sigma,
        );
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if rounded_capped_mean(mid, sigma, cap) < mean {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let mu = 0.5 * (lo + hi);
        let got = rounded_capped_mean(mu, sigma, cap);
        if (got - mean).abs() > 1e-6 * mean.max(1.0) {
            return Err(config(
                "mean-followees",
                format!("unreachable with the cap (got {got})"),
            ));
        }
        Ok(Self {
            mu,
            sigma,
            cap,
            mean: got,
        })
    }

    pub(crate) fn count(&self, u: f64) -> u64 {
        let x = (self.mu + self.sigma * norm_inv(u)).exp().round();
        if x >= self.cap as f64 {
            self.cap
        } else {
            x as u64
        }
    }
}

/// `E[min(round(X), cap)] = Σ_{k=1}^{cap} P(X ≥ k − ½)` for `X = exp(μ + σZ)`.
fn rounded_capped_mean(mu: f64, sigma: f64, cap: u64) -> f64 {
    let mut total = 0.0;
    for k in 1..=cap {
        let z = ((k as f64 - 0.5).ln() - mu) / sigma;
        if z > 9.0 {
            break;
        }
        total += 1.0 - norm_cdf(z);
    }
    total
}
