//! Fan-out policy: on upload, which followers get the photo pushed into
//! their timeline, and which must pull it at read time.
//!
//! A decision is made per author→follower edge ([`FanoutStrategy::edge_mode`]):
//! - `push`: every edge is pushed (fan-out on write; cheap reads, an upload
//!   costs one timeline write per follower);
//! - `pull`: every edge is pulled (fan-out on read; uploads are free, a read
//!   merges every followee's recent photos);
//! - `hybrid`: authors with at least `hybrid_threshold` followers are pulled,
//!   everyone else pushed — the celebrity rule;
//! - `rate`: push an edge when the follower reads often enough to pay for it:
//!   `reads_per_day × pull_cost ≥ posts_per_day × push_cost`, else pull.
//!
//! [`FanoutStrategy::plan`] applies the rule to one upload's followers. Only
//! `rate` looks at follower stats ([`FanoutStrategy::needs_follower_stats`]);
//! for the others [`FanoutStrategy::uniform_mode`] gives the one mode of all
//! an author's edges, so callers at 300M scale need not list followers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The fan-out strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FanoutKind {
    /// Pre-generate every follower's timeline on upload.
    Push,
    /// Merge followees' recent photos at read time.
    Pull,
    /// Push, except authors with ≥ `hybrid_threshold` followers are pulled.
    #[default]
    Hybrid,
    /// Per edge: push when follower reads × pull cost ≥ author posts × push cost.
    Rate,
}

impl FanoutKind {
    /// Every strategy, in declaration order.
    pub const ALL: [FanoutKind; 4] = [
        FanoutKind::Push,
        FanoutKind::Pull,
        FanoutKind::Hybrid,
        FanoutKind::Rate,
    ];

    /// The name used in scenarios and on the command line (as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            FanoutKind::Push => "push",
            FanoutKind::Pull => "pull",
            FanoutKind::Hybrid => "hybrid",
            FanoutKind::Rate => "rate",
        }
    }
}

impl fmt::Display for FanoutKind {
    /// Writes [`FanoutKind::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FanoutKind {
    type Err = Error;

    /// Parses a name from [`FanoutKind::name`] (ASCII case-insensitive,
    /// surrounding spaces ignored); otherwise `Error::InvalidInput` listing
    /// the valid names.
    fn from_str(s: &str) -> crate::Result<Self> {
        FanoutKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown fan-out strategy {s:?}; valid: push, pull, hybrid, rate"
                ))
            })
    }
}

/// Configuration for [`FanoutStrategy::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct FanoutConfig {
    /// Strategy.
    pub kind: FanoutKind,
    /// Hybrid: authors with at least this many followers are pulled.
    pub hybrid_threshold: u64,
    /// Rate rule: relative cost of pulling one followee at read time.
    pub pull_cost: f64,
    /// Rate rule: relative cost of pushing one timeline entry.
    pub push_cost: f64,
}

impl Default for FanoutConfig {
    fn default() -> Self {
        FanoutConfig {
            kind: FanoutKind::Hybrid,
            hybrid_threshold: 10_000,
            pull_cost: 1.0,
            push_cost: 1.0,
        }
    }
}

/// What the policy knows about the author of a new photo.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AuthorStats {
    /// Current follower count.
    pub followers: u64,
    /// Posting rate, photos per day.
    pub posts_per_day: f64,
}

/// What the policy knows about one follower.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FollowerStats {
    /// Feed-read rate, reads per day.
    pub reads_per_day: f64,
}

/// How one author→follower edge is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeMode {
    /// The photo is written into the follower's timeline on upload.
    Push,
    /// The follower's read merges the author's recent photos.
    Pull,
}

/// The outcome of planning one upload's fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FanoutPlan {
    /// Indices (into the follower slice given to `plan`) to push to.
    pub push: Vec<usize>,
    /// How many followers will pull instead.
    pub pulled: usize,
}

/// A fan-out strategy. Pure and deterministic.
#[derive(Debug, Clone)]
pub struct FanoutStrategy {
    cfg: FanoutConfig,
}

impl FanoutStrategy {
    /// Build from a config; rejects (`Error::InvalidInput`) non-finite or
    /// negative costs.
    pub fn new(cfg: FanoutConfig) -> crate::Result<Self> {
        for (name, cost) in [("pull-cost", cfg.pull_cost), ("push-cost", cfg.push_cost)] {
            if !cost.is_finite() || cost < 0.0 {
                return Err(Error::InvalidInput(format!(
                    "{name} must be a finite number ≥ 0, got {cost}"
                )));
            }
        }
        Ok(FanoutStrategy { cfg })
    }

    /// Strategy in use.
    pub fn kind(&self) -> FanoutKind {
        self.cfg.kind
    }

    /// The config this strategy was built from.
    pub fn config(&self) -> &FanoutConfig {
        &self.cfg
    }

    /// True when `edge_mode` depends on per-follower stats (only `Rate`).
    pub fn needs_follower_stats(&self) -> bool {
        self.cfg.kind == FanoutKind::Rate
    }

    /// The mode shared by all of `author`'s edges, when it does not depend on
    /// the follower (every kind but `Rate`); `None` for `Rate`.
    pub fn uniform_mode(&self, author: &AuthorStats) -> Option<EdgeMode> {
        match self.cfg.kind {
            FanoutKind::Push => Some(EdgeMode::Push),
            FanoutKind::Pull => Some(EdgeMode::Pull),
            FanoutKind::Hybrid if author.followers >= self.cfg.hybrid_threshold => {
                Some(EdgeMode::Pull)
            }
            FanoutKind::Hybrid => Some(EdgeMode::Push),
            FanoutKind::Rate => None,
        }
    }

    /// How the edge author→follower is served. For `Rate`, a NaN rate in the
    /// stats makes the comparison false, so the edge is pulled.
    pub fn edge_mode(&self, author: &AuthorStats, follower: &FollowerStats) -> EdgeMode {
        self.uniform_mode(author).unwrap_or_else(|| {
            let read_side = follower.reads_per_day * self.cfg.pull_cost;
            let write_side = author.posts_per_day * self.cfg.push_cost;
            if read_side >= write_side {
                EdgeMode::Push
            } else {
                EdgeMode::Pull
            }
        })
    }

    /// Plan one upload: which of `followers` are pushed (indices ascending),
    /// and how many pull; agrees with `edge_mode` on every edge, and
    /// `push.len() + pulled == followers.len()`.
    pub fn plan(&self, author: &AuthorStats, followers: &[FollowerStats]) -> FanoutPlan {
        match self.uniform_mode(author) {
            Some(EdgeMode::Push) => FanoutPlan {
                push: (0..followers.len()).collect(),
                pulled: 0,
            },
            Some(EdgeMode::Pull) => FanoutPlan {
                push: Vec::new(),
                pulled: followers.len(),
            },
            None => {
                let push: Vec<usize> = followers
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| self.edge_mode(author, f) == EdgeMode::Push)
                    .map(|(i, _)| i)
                    .collect();
                let pulled = followers.len() - push.len();
                FanoutPlan { push, pulled }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn strategy(kind: FanoutKind) -> FanoutStrategy {
        FanoutStrategy::new(FanoutConfig {
            kind,
            ..FanoutConfig::default()
        })
        .expect("valid config")
    }

    fn author(followers: u64, posts_per_day: f64) -> AuthorStats {
        AuthorStats {
            followers,
            posts_per_day,
        }
    }

    fn reader(reads_per_day: f64) -> FollowerStats {
        FollowerStats { reads_per_day }
    }

    #[test]
    fn push_and_pull_ignore_stats() {
        let (push, pull) = (strategy(FanoutKind::Push), strategy(FanoutKind::Pull));
        for a in [author(0, 0.0), author(u64::MAX, 1e9)] {
            for f in [reader(0.0), reader(1e9)] {
                assert_eq!(push.edge_mode(&a, &f), EdgeMode::Push);
                assert_eq!(pull.edge_mode(&a, &f), EdgeMode::Pull);
            }
        }
    }

    #[test]
    fn hybrid_pulls_from_threshold_on() {
        let s = strategy(FanoutKind::Hybrid);
        let f = reader(100.0);
        assert_eq!(s.edge_mode(&author(0, 1.0), &f), EdgeMode::Push);
        assert_eq!(s.edge_mode(&author(9_999, 1.0), &f), EdgeMode::Push);
        assert_eq!(s.edge_mode(&author(10_000, 1.0), &f), EdgeMode::Pull);
        assert_eq!(s.edge_mode(&author(10_001, 1.0), &f), EdgeMode::Pull);
        let everyone_pulled = FanoutStrategy::new(FanoutConfig {
            hybrid_threshold: 0,
            ..FanoutConfig::default()
        })
        .expect("valid");
        assert_eq!(
            everyone_pulled.edge_mode(&author(0, 1.0), &f),
            EdgeMode::Pull
        );
    }

    #[test]
    fn rate_pushes_when_reads_pay_for_it() {
        let s = FanoutStrategy::new(FanoutConfig {
            kind: FanoutKind::Rate,
            pull_cost: 2.0,
            push_cost: 3.0,
            ..FanoutConfig::default()
        })
        .expect("valid");
        let a = author(1_000_000, 4.0); // write side: 4 × 3 = 12
        assert_eq!(s.edge_mode(&a, &reader(6.0)), EdgeMode::Push); // 12 ≥ 12: boundary pushes
        assert_eq!(s.edge_mode(&a, &reader(5.999)), EdgeMode::Pull);
        assert_eq!(s.edge_mode(&a, &reader(50.0)), EdgeMode::Push);
        assert_eq!(s.edge_mode(&a, &reader(f64::NAN)), EdgeMode::Pull);
        // An author who never posts costs nothing to push.
        assert_eq!(s.edge_mode(&author(5, 0.0), &reader(0.0)), EdgeMode::Push);
        assert!(s.needs_follower_stats());
        assert_eq!(s.uniform_mode(&a), None);
        for k in [FanoutKind::Push, FanoutKind::Pull, FanoutKind::Hybrid] {
            assert!(!strategy(k).needs_follower_stats(), "{k}");
        }
    }

    #[test]
    fn rejects_bad_costs() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5] {
            for cfg in [
                FanoutConfig {
                    pull_cost: bad,
                    ..FanoutConfig::default()
                },
                FanoutConfig {
                    push_cost: bad,
                    ..FanoutConfig::default()
                },
            ] {
                assert!(
                    matches!(FanoutStrategy::new(cfg), Err(Error::InvalidInput(_))),
                    "{bad}"
                );
            }
        }
        let zero = FanoutConfig {
            pull_cost: 0.0,
            push_cost: 0.0,
            ..FanoutConfig::default()
        };
        assert!(FanoutStrategy::new(zero).is_ok());
    }

    #[test]
    fn plan_agrees_with_edge_mode() {
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        for kind in FanoutKind::ALL {
            let s = FanoutStrategy::new(FanoutConfig {
                kind,
                hybrid_threshold: 500,
                pull_cost: rng.random_range(0.1..3.0),
                push_cost: rng.random_range(0.1..3.0),
            })
            .expect("valid");
            let mut pushed_total = 0;
            for _ in 0..200 {
                let a = author(rng.random_range(0..1000), rng.random_range(0.0..20.0));
                let followers: Vec<_> = (0..rng.random_range(0..300))
                    .map(|_| reader(rng.random_range(0.0..40.0)))
                    .collect();
                let plan = s.plan(&a, &followers);
                let expected: Vec<usize> = (0..followers.len())
                    .filter(|&i| s.edge_mode(&a, &followers[i]) == EdgeMode::Push)
                    .collect();
                assert_eq!(plan.push, expected, "{kind}");
                assert_eq!(plan.push.len() + plan.pulled, followers.len());
                pushed_total += plan.push.len();
            }
            // Every kind but pull pushes something on these inputs.
            assert_eq!(pushed_total == 0, kind == FanoutKind::Pull, "{kind}");
        }
    }

    #[test]
    fn kind_names_roundtrip() {
        for k in FanoutKind::ALL {
            assert_eq!(k.to_string().parse::<FanoutKind>().expect("parse"), k);
            assert_eq!(
                serde_json::to_string(&k).expect("serde"),
                format!("\"{k}\"")
            );
        }
        assert_eq!(
            "HYBRID".parse::<FanoutKind>().expect("parse"),
            FanoutKind::Hybrid
        );
        let err = "fanout"
            .parse::<FanoutKind>()
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("push, pull, hybrid, rate"), "{err}");
    }
}
