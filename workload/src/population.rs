//! The parametric population: every user attribute is a pure function of `(seed, user id)`.
//!
//! Nothing is stored per user, so a 300M-user population costs a few kilobytes of tables. The
//! follower side is a Chung–Lu model: each user has a follower *weight* drawn from a truncated
//! discrete power law (exponent `alpha`, minimum `min-followers`), and every followee edge picks
//! its leader in proportion to weight (see [`crate::FollowSampler`]). Hence a user's expected
//! follower count is `weight × followers_per_weight`, where
//! `followers_per_weight = mean followees / mean weight` makes the total of in-degrees equal the
//! total of out-degrees. With the defaults (α = 2.1, minimum weight 1, 200 followees on average)
//! the mean weight is about 5.7, so expected follower counts start near 35 and have a power-law
//! tail with exponent α — a pure power law from 1 could not have a mean of 200. `max-followers`
//! caps the *expected* follower count: the weight cap is `max_followers / followers_per_weight`,
//! found by a fixed-point iteration because the mean weight depends on the cap. A scaled (live)
//! population keeps this law, cap included; its graph turns weights into live follower counts
//! differently (see [`crate::scaled`]).
//!
//! Followee counts are a rounded lognormal (shape `followee-sigma`) whose location is solved
//! numerically so that the mean after rounding and capping at `max-followees` is exactly
//! `mean-followees`. Daily activity is a hashed coin with probability `daily-active / users`;
//! upload and read propensities are lognormal multipliers with mean 1.

use serde::{Deserialize, Serialize};

use crate::error::{Result, config};
use crate::followees::FolloweeDist;
use crate::hash::{Stream, streams};
use crate::math::{norm_inv, power_sum};
use crate::powerlaw::DiscretePowerLaw;

/// Population keys of a scenario (`[population]`); all have defaults (the original design's numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PopulationConfig {
    /// Users in the modelled population (ids `0..users`), 2 ..= 2^32 − 1. Default 300M.
    pub users: u64,
    /// Users active on a given day. Each user is daily-active with probability
    /// `daily_active / users`, decided by a hash of its id. Default 1M.
    pub daily_active: u64,
    /// Exponent α of the follower-weight power law, in (1, 20]. Default 2.1.
    pub alpha: f64,
    /// x_min of the follower-weight power law (the smallest weight, ≥ 1). Default 1.
    pub min_followers: u64,
    /// Cap on a user's *expected* follower count at full scale (also capped at `users − 1`);
    /// a live run keeps this meaning. Default 50M.
    pub max_followers: u64,
    /// Mean number of users a user follows (out-degree), exact after rounding and capping.
    /// Default 200.
    pub mean_followees: f64,
    /// Lognormal shape σ of the followee count; larger is heavier-tailed. Default 1.0.
    pub followee_sigma: f64,
    /// Cap on a user's followee count. Default 7,500.
    pub max_followees: u64,
    /// Lognormal shape σ of the upload and read propensities (mean 1). Default 1.0.
    pub propensity_sigma: f64,
    /// Fraction of users materialized for a live run (`users × scale` users), in (0, 1].
    /// Operation rates of a live run are multiplied by the same fraction. Default 0.0001.
    pub scale: f64,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        Self {
            users: 300_000_000,
            daily_active: 1_000_000,
            alpha: 2.1,
            min_followers: 1,
            max_followers: 50_000_000,
            mean_followees: 200.0,
            followee_sigma: 1.0,
            max_followees: 7_500,
            propensity_sigma: 1.0,
            scale: 0.0001,
        }
    }
}

/// All attributes of one user, as computed by [`Population::user`].
#[derive(Debug, Clone, PartialEq)]
pub struct UserAttrs {
    /// The user id (`0..users`).
    pub id: u64,
    /// Follower weight (power law); leaders are drawn in proportion to it.
    pub weight: u64,
    /// Expected follower count: `weight × followers_per_weight`.
    pub expected_followers: f64,
    /// Number of users this user follows.
    pub followees: u64,
    /// Whether the user is active today.
    pub daily_active: bool,
    /// Relative upload rate (lognormal, mean 1).
    pub upload_propensity: f64,
    /// Relative read rate (lognormal, mean 1).
    pub read_propensity: f64,
}

/// A population (full or scaled) with its derived distributions; cheap to clone.
#[derive(Debug, Clone)]
pub struct Population {
    config: PopulationConfig,
    seed: u64,
    full_users: u64,
    active_fraction: f64,
    weights: DiscretePowerLaw,
    followers_per_weight: f64,
    followees: FolloweeDist,
    s_weight: Stream,
    s_followees: Stream,
    s_active: Stream,
    s_upload: Stream,
    s_read: Stream,
}

impl Population {
    /// The full population described by `config` (its `scale` is only used by [`Self::scaled`]).
    pub fn new(config: &PopulationConfig, seed: u64) -> Result<Self> {
        validate(config)?;
        let fraction = config.daily_active as f64 / config.users as f64;
        Self::build(config.clone(), seed, config.users, fraction)
    }

    /// The live sub-population: users `0..round(users × scale)`, each with its full-scale
    /// attributes. The follower-weight law is the full population's (same α, `min-followers`
    /// and weight cap, so `max-followers` keeps its full-scale meaning and
    /// [`Self::expected_followers`] is a user's full-scale expectation); the followee shape and
    /// the daily-active fraction are kept, `max-followees` is at most `n − 1` and
    /// `mean-followees` at most half of that cap (tiny populations). How weights become live
    /// follower counts is the live graph's business ([`crate::scaled`]).
    pub fn scaled(&self) -> Result<Self> {
        let c = &self.config;
        let n = ((c.users as f64 * c.scale).round() as u64).max(2);
        let ratio = n as f64 / c.users as f64;
        let max_followees = c.max_followees.min(n - 1);
        let sub = PopulationConfig {
            users: n,
            daily_active: (c.daily_active as f64 * ratio).round() as u64,
            max_followees,
            mean_followees: c.mean_followees.min(max_followees as f64 / 2.0),
            scale: 1.0,
            ..c.clone()
        };
        validate(&sub)?;
        let followees =
            FolloweeDist::new(sub.mean_followees, sub.followee_sigma, sub.max_followees)?;
        Ok(Self::assemble(
            sub,
            self.seed,
            (self.full_users, self.active_fraction),
            (self.weights.clone(), self.followers_per_weight),
            followees,
        ))
    }

    fn build(config: PopulationConfig, seed: u64, full_users: u64, active: f64) -> Result<Self> {
        let followees = FolloweeDist::new(
            config.mean_followees,
            config.followee_sigma,
            config.max_followees,
        )?;
        let max_expected = config.max_followers.min(config.users - 1).max(1) as f64;
        let (alpha, x_min) = (config.alpha, config.min_followers);
        let mut cap = (max_expected as u64).max(x_min);
        for _ in 0..64 {
            let mean_w =
                power_sum(alpha - 1.0, x_min, Some(cap)) / power_sum(alpha, x_min, Some(cap));
            let per_weight = followees.mean / mean_w;
            let next = ((max_expected / per_weight).floor() as u64).clamp(x_min, u32::MAX as u64);
            if next == cap {
                break;
            }
            cap = next;
        }
        let weights = DiscretePowerLaw::new(alpha, x_min, cap)?;
        let followers_per_weight = followees.mean / weights.mean();
        Ok(Self::assemble(
            config,
            seed,
            (full_users, active),
            (weights, followers_per_weight),
            followees,
        ))
    }

    /// `full` is `(users of the full population, daily-active fraction)`, `law` the weight law
    /// with its followers per unit of weight.
    fn assemble(
        config: PopulationConfig,
        seed: u64,
        full: (u64, f64),
        law: (DiscretePowerLaw, f64),
        followees: FolloweeDist,
    ) -> Self {
        Self {
            s_weight: Stream::new(seed, streams::WEIGHT),
            s_followees: Stream::new(seed, streams::FOLLOWEES),
            s_active: Stream::new(seed, streams::ACTIVE),
            s_upload: Stream::new(seed, streams::UPLOAD),
            s_read: Stream::new(seed, streams::READ),
            config,
            seed,
            full_users: full.0,
            active_fraction: full.1,
            weights: law.0,
            followers_per_weight: law.1,
            followees,
        }
    }

    /// The effective configuration (for a scaled population, the sub-population's values).
    pub fn config(&self) -> &PopulationConfig {
        &self.config
    }

    /// The run's seed, from which every attribute is derived.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of users (`ids 0..users()`).
    pub fn users(&self) -> u64 {
        self.config.users
    }

    /// `users() / users of the full population`: the factor applied to daily operation rates
    /// (1.0 for the full population, ≈ `scale` for a live sub-population).
    pub fn rate_factor(&self) -> f64 {
        self.config.users as f64 / self.full_users as f64
    }

    /// Expected number of daily-active users: `users × daily_active_full / users_full`.
    pub fn expected_daily_active(&self) -> f64 {
        self.active_fraction * self.config.users as f64
    }

    /// The follower-weight distribution (after the cap fixed point; the full population's, also
    /// for a scaled population).
    pub fn weight_dist(&self) -> &DiscretePowerLaw {
        &self.weights
    }

    /// Expected followers per unit of weight (`mean followees / mean weight`).
    pub fn followers_per_weight(&self) -> f64 {
        self.followers_per_weight
    }

    /// The mean followee count (exact for the model, after rounding and capping).
    pub fn mean_followees(&self) -> f64 {
        self.followees.mean
    }

    /// Follower weight of `id`.
    #[inline]
    pub fn weight(&self, id: u64) -> u64 {
        self.weights.from_survival(self.s_weight.unit(id))
    }

    /// Expected follower count of `id` at full scale (Chung–Lu in-degree expectation; for a
    /// scaled population too, whose live in-degrees come from its graph).
    pub fn expected_followers(&self, id: u64) -> f64 {
        self.weight(id) as f64 * self.followers_per_weight
    }

    /// Planned followee count (out-degree) of `id`, at most `max-followees`.
    pub fn followees(&self, id: u64) -> u64 {
        self.followees.count(self.s_followees.unit(id))
    }

    /// Whether `id` is active today.
    #[inline]
    pub fn is_daily_active(&self, id: u64) -> bool {
        self.s_active.unit(id) < self.active_fraction
    }

    /// Relative upload rate of `id` (lognormal, mean 1).
    pub fn upload_propensity(&self, id: u64) -> f64 {
        lognormal_mean_one(self.config.propensity_sigma, self.s_upload.unit(id))
    }

    /// Relative read rate of `id` (lognormal, mean 1).
    pub fn read_propensity(&self, id: u64) -> f64 {
        lognormal_mean_one(self.config.propensity_sigma, self.s_read.unit(id))
    }

    /// All attributes of `id`.
    pub fn user(&self, id: u64) -> UserAttrs {
        let weight = self.weight(id);
        UserAttrs {
            id,
            weight,
            expected_followers: weight as f64 * self.followers_per_weight,
            followees: self.followees(id),
            daily_active: self.is_daily_active(id),
            upload_propensity: self.upload_propensity(id),
            read_propensity: self.read_propensity(id),
        }
    }
}

fn lognormal_mean_one(sigma: f64, u: f64) -> f64 {
    (sigma * norm_inv(u) - 0.5 * sigma * sigma).exp()
}

fn validate(c: &PopulationConfig) -> Result<()> {
    if c.users < 2 || c.users > u64::from(u32::MAX) {
        return Err(config(
            "users",
            format!("must be in 2..=2^32-1, got {}", c.users),
        ));
    }
    if c.daily_active > c.users {
        return Err(config("daily-active", "must not exceed `users`"));
    }
    if c.max_followees == 0 || c.max_followees >= c.users {
        return Err(config("max-followees", "must be in 1..users"));
    }
    if !(c.mean_followees > 0.0 && c.mean_followees < c.max_followees as f64) {
        return Err(config(
            "mean-followees",
            "must be positive and below `max-followees`",
        ));
    }
    if !(c.followee_sigma >= 0.01 && c.followee_sigma <= 5.0) {
        return Err(config("followee-sigma", "must be in [0.01, 5]"));
    }
    if !(c.propensity_sigma >= 0.0 && c.propensity_sigma <= 5.0) {
        return Err(config("propensity-sigma", "must be in [0, 5]"));
    }
    if !(c.scale > 0.0 && c.scale <= 1.0) {
        return Err(config("scale", "must be in (0, 1]"));
    }
    if c.max_followers == 0 {
        return Err(config("max-followers", "must be at least 1"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_derive_sensible_parameters() {
        let p = Population::new(&PopulationConfig::default(), 1).expect("valid");
        let c = p.followers_per_weight();
        assert!(c > 20.0 && c < 60.0, "followers per weight {c}");
        let cap_followers = p.weight_dist().cap() as f64 * c;
        assert!(
            cap_followers <= 50_000_000.0 && cap_followers > 49_000_000.0,
            "{cap_followers}"
        );
        assert!((p.mean_followees() - 200.0).abs() < 1e-3);
        let s = p.scaled().expect("valid");
        assert_eq!(s.users(), 30_000);
        assert!((s.rate_factor() - 1e-4).abs() < 1e-12);
        // The scaled population keeps the full-scale weight law and its meaning.
        assert_eq!(s.weight_dist(), p.weight_dist());
        assert_eq!(s.followers_per_weight(), p.followers_per_weight());
        assert_eq!(s.weight(12_345), p.weight(12_345));
    }

    #[test]
    fn rejects_inconsistent_configs() {
        let bad = |f: fn(&mut PopulationConfig)| {
            let mut c = PopulationConfig::default();
            f(&mut c);
            Population::new(&c, 1).is_err()
        };
        assert!(bad(|c| c.users = 1));
        assert!(bad(|c| c.daily_active = c.users + 1));
        assert!(bad(|c| c.mean_followees = 8_000.0));
        assert!(bad(|c| c.alpha = 0.9));
        assert!(bad(|c| c.scale = 0.0));
        let ok = toml::from_str::<PopulationConfig>("users = 1000\nmean-followees = 10.0");
        assert_eq!(ok.expect("parses").users, 1000);
        assert!(toml::from_str::<PopulationConfig>("userz = 1").is_err());
    }
}
