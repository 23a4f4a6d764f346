//! The bucketed Chung–Lu leader sampler: draws a user with probability proportional to its
//! follower weight, in O(1) expected time, for populations of up to 2^32 users.
//!
//! Weights are a pure function of the id, so the sampler only has to know which ids carry which
//! weight. Users are split at a threshold `K` (default [`DEFAULT_THRESHOLD`]):
//! - *heavy* users (weight ≥ K, about 6% of users for α = 2.1) are stored as `u32` ids grouped by
//!   exact weight; each distinct weight is one class whose total is `weight × count`;
//! - *light* users (weight < K) are not stored: one class holds their exact total weight, and a
//!   draw from it picks a uniform id and accepts it with probability `weight / (K − 1)` (about
//!   one accepted draw in five for α = 2.1, K = 8), which is exactly proportional to weight.
//!
//! A Walker alias table picks the class. The build is one parallel scan over all ids (threads
//! = available cores, results merged in id order, so the result does not depend on the thread
//! count); for 300M users it stores ~19M ids (≈ 80 MB) instead of a 2.4 GB per-user alias table.

use rand::Rng;
use rand_distr::Distribution;
use rand_distr::weighted::WeightedAliasIndex;

use crate::error::{Result, config};
use crate::population::Population;

/// Default weight threshold `K` between light (rejection-sampled) and heavy (stored) users.
pub const DEFAULT_THRESHOLD: u64 = 8;

/// Sizes of a built sampler, for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SamplerStats {
    /// Users in the population.
    pub users: u64,
    /// Sum of all weights.
    pub total_weight: u64,
    /// Users below the threshold (not stored).
    pub light_users: u64,
    /// Their total weight.
    pub light_weight: u64,
    /// Users stored explicitly (weight ≥ threshold).
    pub stored_ids: u64,
    /// Distinct stored weights (alias classes besides the light class).
    pub classes: u64,
}

#[derive(Debug, Clone)]
struct Class {
    start: usize,
    len: usize,
}

/// Draws leaders in proportion to follower weight; see the module docs.
#[derive(Debug, Clone)]
pub struct FollowSampler {
    population: Population,
    threshold: u64,
    light_max: u64,
    has_light: bool,
    classes: Vec<Class>,
    ids: Vec<u32>,
    alias: WeightedAliasIndex<f64>,
    stats: SamplerStats,
}

impl FollowSampler {
    /// Builds the sampler over all users of `population` with the default threshold.
    pub fn build(population: &Population) -> Result<Self> {
        Self::build_with_threshold(population, DEFAULT_THRESHOLD)
    }

    /// Builds with threshold `threshold ≥ 2`; `threshold = min weight` stores every user.
    pub fn build_with_threshold(population: &Population, threshold: u64) -> Result<Self> {
        let threshold = threshold.max(population.weight_dist().x_min()).max(2);
        let n = population.users();
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(16) as u64;
        let chunk = n.div_ceil(threads);
        let parts: Vec<(u64, u64, Vec<u64>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (lo, hi) = ((t * chunk).min(n), ((t + 1) * chunk).min(n));
                    scope.spawn(move || scan(population, lo, hi, threshold))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let (mut light_users, mut light_weight) = (0u64, 0u64);
        let mut packed = Vec::with_capacity(parts.iter().map(|p| p.2.len()).sum());
        for (lu, lw, heavy) in parts {
            light_users += lu;
            light_weight += lw;
            packed.extend_from_slice(&heavy);
        }
        // (weight << 32 | id): sorting groups by weight and keeps ids ascending inside a class.
        packed.sort_unstable();
        let mut ids = Vec::with_capacity(packed.len());
        let mut classes = Vec::new();
        let mut class_weights = Vec::new();
        let has_light = light_weight > 0;
        if has_light {
            class_weights.push(light_weight as f64);
        }
        let mut total_weight = light_weight;
        let mut i = 0;
        while i < packed.len() {
            let w = packed[i] >> 32;
            let start = i;
            while i < packed.len() && packed[i] >> 32 == w {
                ids.push(packed[i] as u32);
                i += 1;
            }
            classes.push(Class {
                start,
                len: i - start,
            });
            class_weights.push((w * (i - start) as u64) as f64);
            total_weight += w * (i - start) as u64;
        }
        drop(packed);
        let alias = WeightedAliasIndex::new(class_weights)
            .map_err(|e| config("users", format!("cannot build the leader sampler: {e}")))?;
        let stats = SamplerStats {
            users: n,
            total_weight,
            light_users,
            light_weight,
            stored_ids: ids.len() as u64,
            classes: classes.len() as u64,
        };
        Ok(Self {
            population: population.clone(),
            threshold,
            light_max: (threshold - 1).min(population.weight_dist().cap()),
            has_light,
            classes,
            ids,
            alias,
            stats,
        })
    }

    /// The population this sampler draws from.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// The light/heavy threshold in use.
    pub fn threshold(&self) -> u64 {
        self.threshold
    }

    /// Sizes of the sampler.
    pub fn stats(&self) -> SamplerStats {
        self.stats
    }

    /// Draws one user id with probability `weight(id) / total weight`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let mut class = self.alias.sample(rng);
        if self.has_light {
            if class == 0 {
                return self.sample_light(rng);
            }
            class -= 1;
        }
        let c = &self.classes[class];
        u64::from(self.ids[c.start + rng.random_range(0..c.len)])
    }

    fn sample_light<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let n = self.population.users();
        loop {
            let id = rng.random_range(0..n);
            let w = self.population.weight(id);
            if w < self.threshold && rng.random_range(0..self.light_max) < w {
                return id;
            }
        }
    }
}

/// Scans ids `lo..hi`: (light users, light weight, packed heavy `(weight << 32) | id`).
fn scan(population: &Population, lo: u64, hi: u64, threshold: u64) -> (u64, u64, Vec<u64>) {
    let (mut lu, mut lw) = (0u64, 0u64);
    let mut heavy = Vec::new();
    for id in lo..hi {
        let w = population.weight(id);
        if w < threshold {
            lu += 1;
            lw += w;
        } else {
            heavy.push((w << 32) | id);
        }
    }
    (lu, lw, heavy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::PopulationConfig;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn small() -> Population {
        let cfg = PopulationConfig {
            users: 2_000,
            daily_active: 200,
            mean_followees: 20.0,
            max_followees: 500,
            max_followers: 1_500,
            ..PopulationConfig::default()
        };
        Population::new(&cfg, 9).expect("valid")
    }

    #[test]
    fn draws_are_proportional_to_weight() {
        let pop = small();
        for threshold in [2, DEFAULT_THRESHOLD, 32] {
            let s = FollowSampler::build_with_threshold(&pop, threshold).expect("builds");
            let total: u64 = (0..pop.users()).map(|u| pop.weight(u)).sum();
            assert_eq!(s.stats().total_weight, total);
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let draws = 200_000u64;
            let mut hits = vec![0u64; pop.users() as usize];
            for _ in 0..draws {
                hits[s.sample(&mut rng) as usize] += 1;
            }
            // Compare per weight value: observed share vs weight share.
            let mut by_w = std::collections::BTreeMap::<u64, (u64, u64)>::new();
            for u in 0..pop.users() {
                let e = by_w.entry(pop.weight(u)).or_default();
                e.0 += pop.weight(u);
                e.1 += hits[u as usize];
            }
            for (w, (wsum, h)) in by_w.into_iter().filter(|(_, (ws, _))| *ws >= 500) {
                let expect = draws as f64 * wsum as f64 / total as f64;
                let sd = expect.sqrt();
                assert!(
                    (h as f64 - expect).abs() < 5.0 * sd,
                    "K={threshold} w={w}: {h} vs {expect}"
                );
            }
        }
    }
}
