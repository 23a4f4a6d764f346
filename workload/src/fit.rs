//! Power-law fits after Clauset, Shalizi & Newman (2009), used to check realized distributions.
//!
//! - [`discrete_mle`]: the exact discrete maximum-likelihood exponent above `x_min` (optionally
//!   truncated at `x_max`), maximizing `−n·ln Z(α) − α·Σ ln xᵢ` with the Hurwitz-zeta normalizer
//!   `Z(α) = Σ_{k=x_min}^{x_max} k^(-α)` by golden-section search (the log-likelihood is concave).
//! - [`approx_mle`]: the closed-form approximation `α̂ = 1 + n / Σ ln(xᵢ / (x_min − ½))`, good for
//!   `x_min ≳ 6`.
//! - [`csn_fit`]: chooses `x_min` by minimizing the Kolmogorov–Smirnov distance between the data
//!   above it and the fitted law (over candidates spaced by 8%, each with at least `min_tail`
//!   values), then fits α exactly there.

use crate::math::power_sum;

/// Result of [`csn_fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerLawFit {
    /// Fitted exponent (exact discrete MLE at `x_min`).
    pub alpha: f64,
    /// Chosen lower cutoff.
    pub x_min: u64,
    /// Number of values `≥ x_min`.
    pub n_tail: u64,
    /// KS distance of the tail to the fitted law (continuous approximation of its CDF).
    pub ks: f64,
}

/// Exact discrete MLE of α for the values in `[x_min, x_max]`; `None` with fewer than 2 values
/// or if `x_min` is 0.
pub fn discrete_mle(values: &[u64], x_min: u64, x_max: Option<u64>) -> Option<f64> {
    if x_min == 0 {
        return None;
    }
    let in_range = |x: &&u64| **x >= x_min && x_max.is_none_or(|m| **x <= m);
    let (n, sum_ln) = values
        .iter()
        .filter(in_range)
        .fold((0u64, 0.0f64), |(n, s), &x| (n + 1, s + (x as f64).ln()));
    if n < 2 {
        return None;
    }
    let n = n as f64;
    let loglik = |a: f64| -n * power_sum(a, x_min, x_max).ln() - a * sum_ln;
    let (mut lo, mut hi) = (if x_max.is_some() { 0.0 } else { 1.0 + 1e-6 }, 12.0);
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let (mut c, mut d) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fc, mut fd) = (loglik(c), loglik(d));
    for _ in 0..100 {
        if fc > fd {
            hi = d;
            (d, fd) = (c, fc);
            c = hi - g * (hi - lo);
            fc = loglik(c);
        } else {
            lo = c;
            (c, fc) = (d, fd);
            d = lo + g * (hi - lo);
            fd = loglik(d);
        }
    }
    Some(0.5 * (lo + hi))
}

/// The approximate discrete MLE `1 + n / Σ ln(xᵢ / (x_min − ½))` over values `≥ x_min`.
pub fn approx_mle(values: &[u64], x_min: u64) -> Option<f64> {
    if x_min == 0 {
        return None;
    }
    let base = x_min as f64 - 0.5;
    let (n, s) = values
        .iter()
        .filter(|&&x| x >= x_min)
        .fold((0u64, 0.0f64), |(n, s), &x| {
            (n + 1, s + (x as f64 / base).ln())
        });
    (n >= 2 && s > 0.0).then(|| 1.0 + n as f64 / s)
}

/// Chooses `x_min` by minimal KS distance among log-spaced candidates (at least `min_tail`
/// values above each) and fits α exactly there. `None` if no candidate has enough values.
pub fn csn_fit(values: &[u64], min_tail: u64) -> Option<PowerLawFit> {
    let mut sorted: Vec<u64> = values.iter().copied().filter(|&x| x > 0).collect();
    radix_sort(&mut sorted);
    // Distinct values with counts, plus suffix counts and suffix sums of ln x.
    let mut distinct: Vec<(u64, u64)> = Vec::new();
    for x in sorted {
        match distinct.last_mut() {
            Some((v, c)) if *v == x => *c += 1,
            _ => distinct.push((x, 1)),
        }
    }
    let m = distinct.len();
    let mut suf_n = vec![0u64; m + 1];
    let mut suf_ln = vec![0.0f64; m + 1];
    for i in (0..m).rev() {
        let (v, c) = distinct[i];
        suf_n[i] = suf_n[i + 1] + c;
        suf_ln[i] = suf_ln[i + 1] + c as f64 * (v as f64).ln();
    }
    let mut best: Option<PowerLawFit> = None;
    let mut last_candidate = 0.0f64;
    for i in 0..m {
        let (xm, _) = distinct[i];
        if suf_n[i] < min_tail.max(2) {
            break;
        }
        if xm < 2 || (xm as f64) < last_candidate * 1.08 {
            continue;
        }
        last_candidate = xm as f64;
        let n = suf_n[i] as f64;
        let base = xm as f64 - 0.5;
        let denom = suf_ln[i] - n * base.ln();
        if denom <= 0.0 {
            continue;
        }
        let alpha = 1.0 + n / denom;
        let model = |x: f64| 1.0 - ((x + 0.5) / base).powf(1.0 - alpha);
        let bound = best.map_or(f64::INFINITY, |b| b.ks);
        let (mut ks, mut cum) = (0.0f64, 0.0f64);
        for &(v, c) in &distinct[i..] {
            ks = ks.max((cum / n - model(v as f64 - 1.0)).abs());
            cum += c as f64;
            ks = ks.max((cum / n - model(v as f64)).abs());
            if ks >= bound {
                break; // cannot beat the best candidate
            }
        }
        if best.is_none_or(|b| ks < b.ks) {
            best = Some(PowerLawFit {
                alpha,
                x_min: xm,
                n_tail: suf_n[i],
                ks,
            });
        }
    }
    let mut fit = best?;
    fit.alpha = discrete_mle(values, fit.x_min, None)?;
    Some(fit)
}

/// LSD radix sort with 11-bit digits, only as many passes as the largest value needs (linear
/// time and sequential memory access; much faster than a comparison sort for a million values
/// in unoptimized test builds).
fn radix_sort(v: &mut Vec<u64>) {
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    let max = v.iter().copied().max().unwrap_or(0);
    let passes = (64 - max.leading_zeros()).div_ceil(BITS);
    let mut buf = vec![0u64; v.len()];
    for pass in 0..passes {
        let shift = pass * BITS;
        let mut start = [0usize; BUCKETS];
        for &x in v.iter() {
            start[((x >> shift) as usize) & (BUCKETS - 1)] += 1;
        }
        let mut acc = 0;
        for s in start.iter_mut() {
            let c = *s;
            *s = acc;
            acc += c;
        }
        for &x in v.iter() {
            let d = ((x >> shift) as usize) & (BUCKETS - 1);
            buf[start[d]] = x;
            start[d] += 1;
        }
        std::mem::swap(v, &mut buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Stream;
    use crate::powerlaw::DiscretePowerLaw;

    #[test]
    fn recovers_known_exponents() {
        for &alpha in &[1.8, 2.1, 2.7] {
            let d = DiscretePowerLaw::new(alpha, 1, 100_000_000).expect("valid");
            let h = Stream::new(11, 2);
            let xs: Vec<u64> = (0..50_000).map(|i| d.from_survival(h.unit(i))).collect();
            let exact = discrete_mle(&xs, 1, None).expect("fit");
            assert!((exact - alpha).abs() < 0.03, "alpha {alpha}: exact {exact}");
            let above = approx_mle(&xs, 6).expect("fit");
            assert!(
                (above - alpha).abs() < 0.15,
                "alpha {alpha}: approx {above}"
            );
            let csn = csn_fit(&xs, 500).expect("fit");
            assert!(
                (csn.alpha - alpha).abs() < 0.1,
                "alpha {alpha}: csn {csn:?}"
            );
        }
        assert!(discrete_mle(&[5], 1, None).is_none());
        let mut v: Vec<u64> = (0..10_000u64)
            .map(|i| crate::hash::splitmix64(i) >> (i % 60))
            .collect();
        let mut expected = v.clone();
        expected.sort_unstable();
        radix_sort(&mut v);
        assert_eq!(v, expected);
        assert!(csn_fit(&[1, 2, 3], 100).is_none());
    }
}
