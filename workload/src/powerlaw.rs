//! A truncated discrete power law `P(k) ∝ k^(-α)` for `x_min ≤ k ≤ cap`, sampled by inverse CDF.
//!
//! Sampling is a pure function of a uniform number, so a user's follower weight can be computed
//! from a hash of `(seed, id)` alone. The head of the distribution (the first [`HEAD`] values,
//! which hold almost all the mass) uses an exact CDF table with a guide table for O(1) lookups;
//! beyond it the survival function is inverted in closed form with the midpoint approximation
//! `Σ_{j≥k} j^(-α) ≈ (k − ½)^(1−α)/(α − 1)`, whose relative error there is below 1e-7.

use crate::error::{Result, config};
use crate::math::power_sum;

/// Number of values covered by the exact CDF table.
pub const HEAD: u64 = 1024;
/// Number of guide-table slots (uniform buckets of the CDF).
const GUIDE: usize = 4096;

/// A discrete power law with exponent `alpha` on `[x_min, cap]`; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscretePowerLaw {
    alpha: f64,
    x_min: u64,
    cap: u64,
    /// `Σ_{k=x_min}^{cap} k^(-α)`.
    norm: f64,
    /// `cdf[i] = P(X ≤ x_min + i)` for the head.
    cdf: Vec<f64>,
    /// `guide[g]` = first head index whose CDF reaches `g / GUIDE`.
    guide: Vec<u32>,
}

impl DiscretePowerLaw {
    /// Builds the distribution; `alpha` must be in (1, 20], `1 ≤ x_min ≤ cap`.
    pub fn new(alpha: f64, x_min: u64, cap: u64) -> Result<Self> {
        if !(alpha > 1.0 && alpha <= 20.0) {
            return Err(config("alpha", format!("must be in (1, 20], got {alpha}")));
        }
        if x_min == 0 {
            return Err(config("min-followers", "must be at least 1"));
        }
        if cap < x_min {
            return Err(config(
                "max-followers",
                format!("the weight cap {cap} is below the minimum {x_min}"),
            ));
        }
        let norm = power_sum(alpha, x_min, Some(cap));
        let head_len = HEAD.min(cap - x_min + 1);
        let mut cdf = Vec::with_capacity(head_len as usize);
        let mut acc = 0.0;
        for k in x_min..x_min + head_len {
            acc += (k as f64).powf(-alpha) / norm;
            cdf.push(acc.min(1.0));
        }
        if head_len == cap - x_min + 1
            && let Some(last) = cdf.last_mut()
        {
            *last = 1.0;
        }
        let mut guide = Vec::with_capacity(GUIDE);
        let mut i = 0usize;
        for g in 0..GUIDE {
            let target = g as f64 / GUIDE as f64;
            while i + 1 < cdf.len() && cdf[i] < target {
                i += 1;
            }
            guide.push(i as u32);
        }
        Ok(Self {
            alpha,
            x_min,
            cap,
            norm,
            cdf,
            guide,
        })
    }

    /// The exponent α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The smallest value.
    pub fn x_min(&self) -> u64 {
        self.x_min
    }

    /// The largest value.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// `P(X = k)`.
    pub fn pmf(&self, k: u64) -> f64 {
        if k < self.x_min || k > self.cap {
            0.0
        } else {
            (k as f64).powf(-self.alpha) / self.norm
        }
    }

    /// The mean `E[X]` (exact up to the power-sum accuracy).
    pub fn mean(&self) -> f64 {
        power_sum(self.alpha - 1.0, self.x_min, Some(self.cap)) / self.norm
    }

    /// `P(X ≥ k)`.
    pub fn survival(&self, k: u64) -> f64 {
        if k <= self.x_min {
            1.0
        } else if k > self.cap {
            0.0
        } else {
            power_sum(self.alpha, k, Some(self.cap)) / self.norm
        }
    }

    /// The value whose survival interval contains `s` in (0, 1): the smallest `k` with
    /// `P(X > k) ≤ s`. With `s` uniform this samples the distribution; `s` near 0 gives the tail.
    pub fn from_survival(&self, s: f64) -> u64 {
        let u = 1.0 - s;
        let last = self.cdf.len() - 1;
        if u <= self.cdf[last] {
            let g = ((u * GUIDE as f64) as usize).min(GUIDE - 1);
            let mut i = self.guide[g] as usize;
            while i < last && self.cdf[i] < u {
                i += 1;
            }
            return self.x_min + i as u64;
        }
        // Tail: solve (k + ½)^(1−α) ≤ (α−1)·norm·s + (cap + ½)^(1−α) for the smallest k.
        let a1 = self.alpha - 1.0;
        let rhs = a1 * self.norm * s + (self.cap as f64 + 0.5).powf(-a1);
        let k = (rhs.powf(-1.0 / a1) - 0.5).ceil();
        let lo = self.x_min + self.cdf.len() as u64;
        if k.is_nan() {
            return self.cap;
        }
        (k as u64).clamp(lo, self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Stream;

    #[test]
    fn rejects_bad_parameters() {
        assert!(DiscretePowerLaw::new(1.0, 1, 10).is_err());
        assert!(DiscretePowerLaw::new(2.0, 0, 10).is_err());
        assert!(DiscretePowerLaw::new(2.0, 5, 4).is_err());
    }

    #[test]
    fn sampled_frequencies_match_pmf() {
        let d = DiscretePowerLaw::new(2.1, 1, 1_000_000).expect("valid");
        let h = Stream::new(3, 1);
        let n = 200_000u64;
        let mut counts = [0u64; 4];
        let mut above = 0u64;
        for i in 0..n {
            let k = d.from_survival(h.unit(i));
            assert!((1..=1_000_000).contains(&k));
            if k <= 4 {
                counts[k as usize - 1] += 1;
            }
            if k >= 2000 {
                above += 1;
            }
        }
        for (i, &c) in counts.iter().enumerate() {
            let p = d.pmf(i as u64 + 1);
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (c as f64 - n as f64 * p).abs() < 5.0 * sd,
                "k={} c={c} p={p}",
                i + 1
            );
        }
        let p = d.survival(2000);
        let sd = (n as f64 * p).sqrt();
        assert!(
            (above as f64 - n as f64 * p).abs() < 5.0 * sd + 1.0,
            "tail {above} vs {}",
            n as f64 * p
        );
    }

    #[test]
    fn tail_inversion_is_consistent_with_survival() {
        let d = DiscretePowerLaw::new(2.5, 1, 10_000_000).expect("valid");
        for &k in &[1500u64, 10_000, 123_456, 5_000_000] {
            // A survival level just below P(X ≥ k) but above P(X ≥ k+1) maps to k.
            let s_mid = 0.5 * (d.survival(k) + d.survival(k + 1));
            let got = d.from_survival(s_mid);
            assert!(got.abs_diff(k) <= 1, "k={k} got={got}");
        }
        assert_eq!(d.from_survival(1e-300), 10_000_000);
        let small = DiscretePowerLaw::new(2.0, 3, 5).expect("valid");
        assert_eq!(small.from_survival(1e-12), 5);
        assert_eq!(small.from_survival(0.999_999), 3);
    }
}
