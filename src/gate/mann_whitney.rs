//! The one-sided Mann–Whitney U test the gate's statistical checks use, with
//! the normal approximation, tie correction and continuity correction (the
//! same figures as `scipy.stats.mannwhitneyu(x, y, alternative="greater",
//! method="asymptotic")`), and the median the effect size is taken from.
//!
//! The test is rank based, so a few wild per-second windows (a neighbour's
//! CPU burst) move it far less than they move a mean.

/// Result of [`greater`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UTest {
    /// U statistic of the first sample: how many (x, y) pairs have x > y,
    /// ties counting one half.
    pub u: f64,
    /// One-sided p-value of "x tends to be larger than y". 1.0 when the test
    /// cannot tell (an empty sample, or every value tied).
    pub p: f64,
}

/// Tests whether `x` tends to take larger values than `y`. Non-finite values
/// must have been removed by the caller; an empty sample gives `p = 1`.
pub fn greater(x: &[f64], y: &[f64]) -> UTest {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    if x.is_empty() || y.is_empty() {
        return UTest { u: 0.0, p: 1.0 };
    }
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_x = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let tied = (j - i + 1) as f64;
        tie_term += tied * tied * tied - tied;
        rank_sum_x += rank * all[i..=j].iter().filter(|e| e.1).count() as f64;
        i = j + 1;
    }
    let u = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let n = n1 + n2;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if variance <= 0.0 || !variance.is_finite() {
        return UTest { u, p: 1.0 };
    }
    let z = (u - n1 * n2 / 2.0 - 0.5) / variance.sqrt();
    UTest { u, p: normal_sf(z) }
}

/// Median of `v` (mean of the middle two for an even count); NaN when empty.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

/// Survival function of the standard normal, P(Z > z).
fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function, fractional error below 1.2e-7 everywhere
/// (Chebyshev fit to `erfc(x) = t·exp(-x² + P(t))`, `t = 1/(1 + x/2)`).
fn erfc(x: f64) -> f64 {
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = C.iter().rev().fold(0.0, |acc, c| acc * t + c);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative closeness, for p-values that span orders of magnitude.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1e-12)
    }

    // Reference values: scipy 1.17.1,
    // mannwhitneyu(x, y, alternative="greater", method="asymptotic").
    #[test]
    fn matches_scipy_without_ties() {
        let x = [1.1, 2.2, 3.3, 4.4, 5.5, 6.6, 7.7];
        let y = [0.5, 1.0, 2.0, 2.5, 3.0, 3.5];
        let r = greater(&x, &y);
        assert_eq!(r.u, 34.0);
        assert!(close(r.p, 0.037_072_765_555_703_414), "{r:?}");
    }

    #[test]
    fn matches_scipy_with_ties() {
        let x = [3.0, 3.0, 4.0, 5.0, 5.0, 5.0, 6.0, 7.0];
        let y = [1.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0];
        let r = greater(&x, &y);
        assert_eq!(r.u, 44.5);
        assert!(close(r.p, 0.029_202_820_804_705_23), "{r:?}");
    }

    #[test]
    fn matches_scipy_on_a_clear_shift_and_its_reverse() {
        let x: Vec<f64> = (10..20).map(f64::from).collect();
        let y: Vec<f64> = (1..11).map(f64::from).collect();
        let r = greater(&x, &y);
        assert_eq!(r.u, 99.5);
        assert!(close(r.p, 1.055_099_084_375_072_2e-4), "{r:?}");
        let r = greater(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(r.u, 0.0);
        assert!(close(r.p, 0.996_692_324_517_235_7), "{r:?}");
    }

    #[test]
    fn degenerate_samples_give_no_evidence() {
        assert_eq!(greater(&[], &[1.0]).p, 1.0);
        assert_eq!(greater(&[1.0], &[]).p, 1.0);
        assert_eq!(greater(&[2.0, 2.0], &[2.0, 2.0, 2.0]).p, 1.0);
    }

    #[test]
    fn erfc_is_accurate_at_known_points() {
        // erfc(0) = 1, erfc(1) = 0.157299207050285, erfc(-1) = 1.842700792949715,
        // erfc(3) = 2.209049699858544e-05.
        for (x, want) in [
            (0.0, 1.0),
            (1.0, 0.157_299_207_050_285),
            (-1.0, 1.842_700_792_949_715),
            (3.0, 2.209_049_699_858_544e-5),
        ] {
            assert!((erfc(x) - want).abs() <= 2e-7 * want, "erfc({x})");
        }
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
