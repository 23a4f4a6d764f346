//! Numerical helpers: power sums (Hurwitz zeta), the normal CDF and its inverse.
//!
//! The workload model needs exact normalizers for truncated discrete power laws (to sample them
//! and to fit them by maximum likelihood) and normal quantiles (to map a hashed uniform to a
//! lognormal attribute without an RNG). These are small, well-known approximations, written here
//! because the workspace's `rand_distr` samples distributions but does not expose these functions.

/// `Σ_{k=a}^{b} k^(-s)` for integers `1 ≤ a`, `b ≥ a` (or `b = None` for infinity, which needs
/// `s > 1`). Uses 16 direct terms and then Euler–Maclaurin with four Bernoulli corrections, which
/// is accurate to about 1e-14 relative for the exponents used here. Returns `f64::INFINITY` for a
/// divergent infinite sum and `0.0` for an empty range.
pub fn power_sum(s: f64, a: u64, b: Option<u64>) -> f64 {
    const DIRECT: u64 = 16;
    let a = a.max(1);
    if let Some(b) = b
        && b < a
    {
        return 0.0;
    }
    let mut sum = 0.0;
    let mut k = a;
    while k < a + DIRECT {
        if let Some(b) = b
            && k > b
        {
            return sum;
        }
        sum += (k as f64).powf(-s);
        k += 1;
    }
    let m = k as f64;
    match b {
        None => {
            if s <= 1.0 {
                return f64::INFINITY;
            }
            sum + m.powf(1.0 - s) / (s - 1.0) + 0.5 * m.powf(-s) + em_corrections(s, m)
        }
        Some(b) => {
            let bf = b as f64;
            let integral = if (s - 1.0).abs() < 1e-12 {
                (bf / m).ln()
            } else {
                (bf.powf(1.0 - s) - m.powf(1.0 - s)) / (1.0 - s)
            };
            sum + integral + 0.5 * (m.powf(-s) + bf.powf(-s)) + em_corrections(s, m)
                - em_corrections(s, bf)
        }
    }
}

/// `Σ_j B_2j/(2j)! · s(s+1)…(s+2j-2) · x^(-s-2j+1)` for j = 1..4 (Euler–Maclaurin terms).
fn em_corrections(s: f64, x: f64) -> f64 {
    const COEF: [f64; 4] = [1.0 / 12.0, -1.0 / 720.0, 1.0 / 30_240.0, -1.0 / 1_209_600.0];
    let mut rising = s; // s(s+1)…(s+2j-2) for the 1-based j of this term
    let mut total = 0.0;
    for (j0, c) in COEF.iter().enumerate() {
        let j0 = j0 as f64;
        total += c * rising * x.powf(-s - 2.0 * j0 - 1.0);
        rising *= (s + 2.0 * j0 + 1.0) * (s + 2.0 * j0 + 2.0);
    }
    total
}

/// The Hurwitz zeta function `ζ(s, q) = Σ_{k≥0} (q+k)^(-s)` for integer `q ≥ 1` and `s > 1`.
pub fn hurwitz_zeta(s: f64, q: u64) -> f64 {
    power_sum(s, q, None)
}

/// The complementary error function (Numerical Recipes `erfcc`, fractional error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let ans = t * poly.exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// The standard normal CDF Φ(x).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p) for `p` in (0, 1) (Acklam's algorithm, relative error
/// < 1.2e-9). Values outside (0, 1) are clamped to the nearest representable tail.
pub fn norm_inv(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

/// `ln(k!)`: exact summation below 16, Stirling's series (error < 1e-12) above.
pub fn ln_factorial(k: u64) -> f64 {
    if k < 16 {
        return (2..=k).map(|i| (i as f64).ln()).sum();
    }
    let x = k as f64 + 1.0;
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x.powi(3))
        + 1.0 / (1260.0 * x.powi(5))
}

/// A Poisson(λ) draw from the uniform stream `next_unit` (values in (0, 1)). Exact: Knuth's
/// multiplication method below λ = 10, Hörmann's PTRS transformed rejection above (≈ 1.2 pairs
/// of uniforms per draw). Returns 0 for λ ≤ 0 or a non-finite λ.
pub fn poisson(lambda: f64, mut next_unit: impl FnMut() -> f64) -> u64 {
    if !(lambda > 0.0 && lambda.is_finite()) {
        return 0;
    }
    if lambda < 10.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0f64);
        loop {
            p *= next_unit();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    let slam = lambda.sqrt();
    let loglam = lambda.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = next_unit() - 0.5;
        let v = next_unit();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lambda + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        let lhs = v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln();
        if lhs <= -lambda + k * loglam - ln_factorial(k as u64) {
            return k as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(s: f64, a: u64, b: u64) -> f64 {
        (a..=b).map(|k| (k as f64).powf(-s)).sum()
    }

    #[test]
    fn power_sum_matches_direct_summation() {
        for &s in &[0.5, 1.0, 1.1, 2.1, 3.5] {
            for &(a, b) in &[(1u64, 10u64), (1, 5_000), (3, 200_000), (17, 17)] {
                let exact = direct(s, a, b);
                let got = power_sum(s, a, Some(b));
                assert!(
                    (got - exact).abs() / exact < 1e-10,
                    "s={s} a={a} b={b}: {got} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn zeta_known_values() {
        let z2 = hurwitz_zeta(2.0, 1);
        assert!(
            (z2 - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-12,
            "{z2}"
        );
        let z3 = hurwitz_zeta(3.0, 1);
        assert!((z3 - 1.202_056_903_159_594).abs() < 1e-12, "{z3}");
        assert!((hurwitz_zeta(2.0, 2) - (z2 - 1.0)).abs() < 1e-12);
        assert!(hurwitz_zeta(1.0, 1).is_infinite());
    }

    #[test]
    fn poisson_draws_have_the_right_moments() {
        for &lambda in &[0.5, 7.0, 35.0, 1_000.0, 2e6] {
            let mut rng = crate::hash::SplitMix::new(lambda as u64 + 1);
            let n = 20_000;
            let xs: Vec<f64> = (0..n)
                .map(|_| poisson(lambda, || rng.unit()) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            assert!(
                (mean - lambda).abs() < 5.0 * (lambda / n as f64).sqrt(),
                "{lambda}: {mean}"
            );
            assert!((var / lambda - 1.0).abs() < 0.06, "{lambda}: var {var}");
        }
        let exact: f64 = (1..=20).map(|i| (i as f64).ln()).sum();
        assert!((ln_factorial(20) - exact).abs() < 1e-9);
    }

    #[test]
    fn normal_quantile_inverts_cdf() {
        assert!((norm_inv(0.975) - 1.959_964).abs() < 1e-5);
        assert!((norm_inv(0.5)).abs() < 1e-9);
        for &p in &[1e-6, 0.01, 0.2, 0.7, 0.99, 1.0 - 1e-6] {
            let back = norm_cdf(norm_inv(p));
            assert!(
                (back - p).abs() / p.min(1.0 - p) < 1e-5,
                "p={p} back={back}"
            );
        }
    }
}
