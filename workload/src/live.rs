//! The live graph: how the users of a scaled population choose their followees so that a few
//! thousand users keep the full-scale follower tail.
//!
//! 1. **Live weights.** User `j` keeps its full-scale weight `w_j` (same law, same cap). For the
//!    graph it is spread uniformly over `[w_j − ½, w_j + ½)` (mean `w_j`): at 3,000 users the tail
//!    holds a few hundred authors, and integer weights would put follower counts on a lattice
//!    (multiples of ~90) that makes a fitted α depend on where `x_min` falls.
//! 2. **Targets.** User `j`'s expected live follower count is `t_j = min(c · x_j, cap)` with
//!    `cap = LIVE_MAX_SHARE · (n − 1)` and `c` solved so that `Σ t_j = Σ k_u` (in-degrees and
//!    out-degrees have the same total). Below the cap, `t` is proportional to weight, so it has
//!    the weight law's exponent; the heaviest authors are followed by nearly every live user.
//! 3. **Exact followee counts.** User `u` draws exactly `k_u` (its planned count) distinct
//!    leaders by successive sampling (weighted, without replacement) with draw weights `v_j`.
//!    Without replacement, inclusion is concave in the weight (Rosén's approximation:
//!    `P(u follows j) ≈ 1 − exp(−λ_u v_j)` with `λ_u` set by `Σ_j (1 − exp(−λ_u v_j)) = k_u`),
//!    so `v = x` would squeeze the tail (α ≈ 2.4 for 2.1). The `v_j` are therefore fitted by
//!    iterative proportional fitting so that `Σ_u (1 − exp(−λ_u v_j)) = t_j` for every author,
//!    with users grouped into [`GROUPS`] quantile groups of `k`.
//!
//! Draws use an alias table over `v` and redraw repeats; a user whose repeats exhaust the draw
//! budget (those following a large share of the population) completes its list with the
//! Efraimidis–Spirakis keys `−ln U / v_j` over the leaders it has not drawn, which continues the
//! same successive sampling exactly.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;
use rand_distr::weighted::WeightedAliasIndex;

use crate::error::{Result, config};
use crate::hash::{Stream, mix, streams};
use crate::population::Population;

/// Largest expected live follower count, as a share of the other live users.
pub const LIVE_MAX_SHARE: f64 = 0.95;
/// Quantile groups of followee counts in the fit of the draw weights.
const GROUPS: usize = 32;
/// Rounds of the proportional fit (each: solve every group's `λ`, one Newton step per author).
const ROUNDS: usize = 40;

/// Per-user draw weights of a live graph; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct LiveDraws {
    target: Vec<f64>,
    draw: Vec<f64>,
    alias: WeightedAliasIndex<f64>,
    scale: f64,
}

impl LiveDraws {
    /// Fits the draw weights of every user of `pop` (a scaled population).
    pub(crate) fn build(pop: &Population) -> Result<Self> {
        let n = pop.users();
        let jitter = Stream::new(pop.seed(), streams::JITTER);
        let x: Vec<f64> = (0..n)
            .map(|j| pop.weight(j) as f64 - 0.5 + jitter.unit(j))
            .collect();
        let counts: Vec<u64> = (0..n).map(|u| pop.followees(u).min(n - 1)).collect();
        let total = counts.iter().sum::<u64>() as f64;
        let cap = LIVE_MAX_SHARE * (n - 1) as f64;
        let scale = solve_scale(&x, cap, total);
        let target: Vec<f64> = x.iter().map(|&w| (scale * w).min(cap)).collect();
        let draw = fit_draws(&target, &groups(&counts));
        let alias = WeightedAliasIndex::new(draw.clone())
            .map_err(|e| config("users", format!("cannot build the live graph: {e}")))?;
        Ok(Self {
            target,
            draw,
            alias,
            scale,
        })
    }

    /// Expected live follower count of every user (`t` of the module docs).
    pub(crate) fn targets(&self) -> &[f64] {
        &self.target
    }

    /// Live followers per unit of weight below the cap (`c` of the module docs).
    pub(crate) fn scale(&self) -> f64 {
        self.scale
    }

    /// The `want` leaders of `user` (distinct, never `user`) in draw order.
    pub(crate) fn followees(&self, seed: u64, user: u64, want: usize) -> Vec<u64> {
        let n = self.draw.len();
        let want = want.min(n.saturating_sub(1));
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, streams::EDGES, user));
        let mut out = Vec::with_capacity(want);
        let mut seen = HashSet::with_capacity(want);
        let mut budget = 4 * want + 32;
        while out.len() < want && budget > 0 {
            budget -= 1;
            let leader = self.alias.sample(&mut rng) as u64;
            if leader != user && seen.insert(leader) {
                out.push(leader);
            }
        }
        if out.len() < want {
            let mut keyed: Vec<(f64, u64)> = (0..n as u64)
                .filter(|j| *j != user && !seen.contains(j))
                .map(|j| {
                    let u: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
                    (-u.ln() / self.draw[j as usize], j)
                })
                .collect();
            let rest = want - out.len();
            if rest < keyed.len() {
                keyed.select_nth_unstable_by(rest, |a, b| a.0.total_cmp(&b.0));
                keyed.truncate(rest);
            }
            keyed.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            out.extend(keyed.into_iter().map(|(_, j)| j));
        }
        out
    }
}

/// `c` with `Σ min(c · x_j, cap) = total` (bisection; the sum is increasing in `c`).
fn solve_scale(x: &[f64], cap: f64, total: f64) -> f64 {
    let sum = |c: f64| x.iter().map(|&w| (c * w).min(cap)).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1.0);
    while sum(hi) < total && hi < 1e300 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if sum(mid) < total {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Quantile groups of the positive followee counts: `(mean count, users)`.
fn groups(counts: &[u64]) -> Vec<(f64, f64)> {
    let mut k: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    k.sort_unstable();
    let len = k.len();
    (0..GROUPS)
        .filter_map(|g| {
            let part = &k[g * len / GROUPS..(g + 1) * len / GROUPS];
            (!part.is_empty()).then(|| {
                let mean = part.iter().sum::<u64>() as f64 / part.len() as f64;
                (mean, part.len() as f64)
            })
        })
        .collect()
}

/// Draw weights `v` with `Σ_g users_g (1 − exp(−λ_g v_j)) ≈ t_j` (module docs, step 3).
fn fit_draws(target: &[f64], groups: &[(f64, f64)]) -> Vec<f64> {
    let drawers: f64 = groups.iter().map(|g| g.1).sum();
    if drawers <= 0.0 {
        return vec![1.0; target.len()];
    }
    let mut v: Vec<f64> = target
        .iter()
        .map(|&t| (-(1.0 - (t / drawers).min(0.999)).ln()).max(1e-12))
        .collect();
    let mean_k = groups.iter().map(|g| g.0 * g.1).sum::<f64>() / drawers;
    let mut lambda: Vec<f64> = groups.iter().map(|g| g.0 / mean_k).collect();
    for _ in 0..ROUNDS {
        for (l, g) in lambda.iter_mut().zip(groups) {
            *l = solve_lambda(&v, g.0, *l);
        }
        for (vj, &t) in v.iter_mut().zip(target) {
            let (mut f, mut df) = (-t, 0.0);
            for (g, &l) in groups.iter().zip(&lambda) {
                let e = (-l * *vj).exp();
                f += g.1 * (1.0 - e);
                df += g.1 * l * e;
            }
            let next = if df > 0.0 { *vj - f / df } else { *vj * 10.0 };
            *vj = next.clamp(*vj / 10.0, *vj * 10.0).clamp(1e-12, 1e12);
        }
    }
    v
}

/// `λ` with `Σ_j (1 − exp(−λ v_j)) = k`, by Newton's method from `start` (the sum is concave
/// and increasing in `λ`, so the iterates approach the root monotonically after one step).
fn solve_lambda(v: &[f64], k: f64, start: f64) -> f64 {
    let mut l = start.max(1e-300);
    for _ in 0..100 {
        let (mut f, mut df) = (-k, 0.0);
        for &w in v {
            let e = (-l * w).exp();
            f += 1.0 - e;
            df += w * e;
        }
        if f.abs() <= 1e-9 * k || df <= 0.0 {
            break;
        }
        l = (l - f / df).clamp(l / 10.0, l * 10.0);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_and_lambda_solve_their_equations() {
        let x = [0.5, 1.0, 2.0, 40.0, 1_000.0];
        let c = solve_scale(&x, 10.0, 20.0);
        let got: f64 = x.iter().map(|&w| (c * w).min(10.0)).sum();
        assert!((got - 20.0).abs() < 1e-9, "{c} {got}");
        let v = [0.1, 0.2, 5.0, 0.01];
        let l = solve_lambda(&v, 2.5, 1.0);
        let got: f64 = v.iter().map(|&w| 1.0 - (-l * w).exp()).sum();
        assert!((got - 2.5).abs() < 1e-6, "{l} {got}");
    }

    #[test]
    fn fitted_draws_reach_the_targets_in_the_approximation() {
        let target: Vec<f64> = (1..=200).map(|j| (j as f64).min(150.0)).collect();
        let total: f64 = target.iter().sum();
        let groups = vec![(total / 500.0, 200.0), (3.0 * total / 500.0, 100.0)];
        let v = fit_draws(&target, &groups);
        let lambda: Vec<f64> = groups.iter().map(|g| solve_lambda(&v, g.0, 1.0)).collect();
        for (j, &t) in target.iter().enumerate() {
            let e: f64 = groups
                .iter()
                .zip(&lambda)
                .map(|(g, l)| g.1 * (1.0 - (-l * v[j]).exp()))
                .sum();
            assert!((e / t - 1.0).abs() < 0.01, "author {j}: {e} vs {t}");
        }
    }
}
