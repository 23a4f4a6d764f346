//! Fan-out policy: on upload, which followers get the photo pushed into
//! their timeline, and which must pull it at read time.
//!
//! STUB: signatures fixed, bodies to be written (helper C).

use serde::{Deserialize, Serialize};

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
    _cfg: FanoutConfig,
}

impl FanoutStrategy {
    /// Build from a config; rejects non-finite or negative costs.
    pub fn new(cfg: FanoutConfig) -> crate::Result<Self> {
        Ok(FanoutStrategy { _cfg: cfg })
    }

    /// Strategy in use.
    pub fn kind(&self) -> FanoutKind {
        self._cfg.kind
    }

    /// The config this strategy was built from.
    pub fn config(&self) -> &FanoutConfig {
        &self._cfg
    }

    /// True when `edge_mode` depends on per-follower stats (only `Rate`).
    pub fn needs_follower_stats(&self) -> bool {
        false
    }

    /// How the edge author→follower is served.
    pub fn edge_mode(&self, author: &AuthorStats, follower: &FollowerStats) -> EdgeMode {
        let _ = (author, follower);
        EdgeMode::Push
    }

    /// Plan one upload: which of `followers` are pushed.
    pub fn plan(&self, author: &AuthorStats, followers: &[FollowerStats]) -> FanoutPlan {
        let _ = (author, followers);
        FanoutPlan::default()
    }
}
