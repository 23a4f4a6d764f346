//! Where the photo model's ops and their shapes come from: the workload model
//! (population, follow graph, op stream) seen through the service's own
//! policies ([`FanoutStrategy`], [`Partitioner`]).
//!
//! - A feed reader's followees: in the scaled population, the exact list a
//!   live run materializes; at full scale, `followees(reader)` draws from a
//!   pre-sampled pool of leaders (drawn in proportion to follower weight, as
//!   the Chung–Lu graph does), so a read costs O(followees) and no 300M-user
//!   edge list is ever built. Each followee's edge mode comes from
//!   [`FanoutStrategy::edge_mode`]; pulled ones are counted per shard.
//! - An upload's pushed followers: the exact follower list (scaled) or the
//!   author's expected follower count (full), planned by
//!   [`FanoutStrategy::uniform_mode`] or, for `rate`, by
//!   [`FanoutStrategy::plan`] over a sample of follower stats, then split over
//!   shards in proportion to each shard's share of users.

use feedlab_system::id::{LOGICAL_SHARDS, PhotoId};
use feedlab_system::policy::{
    AuthorStats, EdgeMode, FanoutStrategy, FollowerStats, Partitioner, ShardKey,
};
use feedlab_workload::{FollowerIndex, Population, TrafficConfig, Workload};
use rand::Rng;

use super::config::PopulationMode;

mod draws;
#[cfg(test)]
mod tests;

/// Follower stats sampled for `rate` plans of large authors.
const RATE_SAMPLE: usize = 4_096;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Leader {
    id: u32,
    /// Entries of the pool with this id.
    copies: u32,
    followers: u64,
    posts_per_day: f32,
    shard: u16,
}

/// The workload as the photo model needs it; see the module docs.
pub struct Source {
    workload: Workload,
    strategy: FanoutStrategy,
    partitioner: Partitioner,
    posts_per_unit: f64,
    reads_per_unit: f64,
    /// Cumulative share of users per shard (over the 8192 logical shards).
    user_cdf: Vec<f64>,
    exact: Option<Exact>,
    pool: Vec<Leader>,
    /// Leader-pool entries per (shard, pulled?) category, index
    /// `2 * shard + pulled`, when the strategy's edge mode does not depend on
    /// the reader (all but `rate`); lets a full-scale feed draw its followee
    /// counts as one multinomial instead of one pool draw per followee.
    categories: Option<Vec<u64>>,
    follower_sample: Vec<FollowerStats>,
    /// Per pool entry, what a photo-row cache lookup needs, packed in 32
    /// bits so the 4M-entry table stays cache-friendly (16 MB instead of the
    /// pool's 96 MB): `copies.min(MAX_KEY_COPIES) << 13 | author % 8192`.
    /// A photo's shard depends on its owner only through the owner's
    /// logical shard, so the low bits place a miss exactly.
    cache_keys: Vec<u32>,
}

/// Bits of a logical shard (8192 = 2^13).
const LOGICAL_BITS: u32 = 13;
/// Largest pool multiplicity a cache key carries (19 bits, 524,287 copies:
/// 13% of a 4M pool, far above any author's share); a key saturated here
/// hits the cache with probability 1 up to rounding either way.
const MAX_KEY_COPIES: u32 = (1 << (32 - LOGICAL_BITS)) - 1;

struct Exact {
    followees: Vec<Vec<u32>>,
    followers: FollowerIndex,
}

impl Exact {
    /// The scaled graph's followee lists and follower index.
    fn of(workload: &Workload) -> Exact {
        let g = workload.graph();
        let followees = (0..g.population().users())
            .map(|u| g.followees_of(u).into_iter().map(|f| f as u32).collect())
            .collect();
        Exact {
            followees,
            followers: g.follower_index(),
        }
    }
}

/// Cumulative share of users per physical shard of `partitioner` (each of
/// the 8192 logical shards holds an equal share).
fn user_cdf(partitioner: &Partitioner) -> Vec<f64> {
    let mut counts = vec![0u64; partitioner.shard_count()];
    for l in 0..LOGICAL_SHARDS as u64 {
        counts[partitioner.shard_of(ShardKey::User(l))] += 1;
    }
    let mut acc = 0.0;
    counts
        .iter()
        .map(|&c| {
            acc += c as f64 / LOGICAL_SHARDS as f64;
            acc
        })
        .collect()
}

/// Set every pool entry's `copies` to the number of entries with its id.
fn count_copies(pool: &mut [Leader]) {
    // One sort of (id, entry) pairs, then one pass over each run of equal
    // ids (a binary search per entry into a 4M-id table missed the cache at
    // every step).
    let mut by_id: Vec<u64> = pool
        .iter()
        .enumerate()
        .map(|(i, l)| (u64::from(l.id) << 32) | i as u64)
        .collect();
    by_id.sort_unstable();
    for run in by_id.chunk_by(|a, b| a >> 32 == b >> 32) {
        for &e in run {
            pool[(e & 0xffff_ffff) as usize].copies = run.len() as u32;
        }
    }
}

/// Per-shard counts of one feed read's followees.
#[derive(Debug, Clone, Default)]
pub struct FeedShape {
    /// Followees (all modes).
    pub followees: u64,
    /// Followees per shard (where their stats rows live).
    pub followees_per_shard: Vec<u32>,
    /// Pulled followees per shard (their `user_photos` are scanned).
    pub pulled_per_shard: Vec<u32>,
    /// Pulled followees in all.
    pub pulled: u64,
    /// The pulled followees themselves, where followees are individual (the scaled
    /// population); empty otherwise.
    pub pulled_authors: Vec<u32>,
    /// Whether the reader's pull set came from the pull cache (no followee or stats reads).
    pub set_cached: bool,
}

impl Source {
    /// Wrap `workload`; `pool` leaders are pre-sampled for the full mode.
    pub fn new<R: Rng + ?Sized>(
        workload: Workload,
        mode: PopulationMode,
        traffic: &TrafficConfig,
        strategy: FanoutStrategy,
        partitioner: Partitioner,
        pool: u32,
        rng: &mut R,
    ) -> Self {
        let pop = workload.graph().population().clone();
        let actives = pop.expected_daily_active().max(1e-9);
        let user_cdf = user_cdf(&partitioner);
        let mut src = Source {
            posts_per_unit: traffic.load * traffic.uploads_per_day * pop.rate_factor() / actives,
            reads_per_unit: traffic.load * traffic.feed_reads_per_active_per_day,
            strategy,
            partitioner,
            user_cdf,
            exact: None,
            pool: Vec::new(),
            categories: None,
            follower_sample: Vec::new(),
            cache_keys: Vec::new(),
            workload,
        };
        let n = pop.users();
        src.follower_sample = (0..RATE_SAMPLE)
            .map(|_| src.reader_stats(rng.random_range(0..n)))
            .collect();
        match mode {
            PopulationMode::Scaled => src.exact = Some(Exact::of(&src.workload)),
            PopulationMode::Full => src.sample_pool(pool, rng),
        }
        src
    }

    /// Pre-sample `pool` leaders from `rng` (one sampler draw each, in pool
    /// order), then derive each entry's copy count, the cache keys and the
    /// pool categories.
    fn sample_pool<R: Rng + ?Sized>(&mut self, pool: u32, rng: &mut R) {
        let ids: Vec<u64> = (0..pool)
            .map(|_| self.workload.graph().sampler().sample(rng))
            .collect();
        self.pool = ids
            .into_iter()
            .map(|l| {
                let a = self.author_stats(l);
                Leader {
                    id: l as u32,
                    copies: 1,
                    followers: a.followers,
                    posts_per_day: a.posts_per_day as f32,
                    shard: self.user_shard(l) as u16,
                }
            })
            .collect();
        count_copies(&mut self.pool);
        self.cache_keys = self
            .pool
            .iter()
            .map(|l| {
                let logical = l.id % LOGICAL_SHARDS as u32;
                (l.copies.min(MAX_KEY_COPIES) << LOGICAL_BITS) | logical
            })
            .collect();
        self.categories = self.pool_categories();
    }

    /// See [`Source::categories`]: `None` when the pool is empty or the edge
    /// mode depends on the reader.
    fn pool_categories(&self) -> Option<Vec<u64>> {
        if self.pool.is_empty() {
            return None;
        }
        let mut counts = vec![0u64; 2 * self.shards()];
        for l in &self.pool {
            let a = AuthorStats {
                followers: l.followers,
                posts_per_day: f64::from(l.posts_per_day),
            };
            let pulled = match self.strategy.uniform_mode(&a)? {
                EdgeMode::Pull => 1,
                EdgeMode::Push => 0,
            };
            counts[2 * usize::from(l.shard) + pulled] += 1;
        }
        Some(counts)
    }

    /// The workload (population, graph, op stream).
    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    /// The population.
    pub fn population(&self) -> &Population {
        self.workload.graph().population()
    }

    /// Replace the fan-out strategy (the leader pool does not depend on it).
    pub fn set_strategy(&mut self, strategy: FanoutStrategy) {
        self.strategy = strategy;
        self.categories = self.pool_categories();
    }

    /// Place the same population, graph and leader pool on `partitioner`'s shards. The
    /// result equals [`Source::new`] with `partitioner` and the same draws, since no draw
    /// depends on placement; a search over shard counts reuses one population this way.
    pub fn set_partitioner(&mut self, partitioner: Partitioner) {
        self.user_cdf = user_cdf(&partitioner);
        self.partitioner = partitioner;
        for i in 0..self.pool.len() {
            self.pool[i].shard = self.user_shard(u64::from(self.pool[i].id)) as u16;
        }
        self.categories = self.pool_categories();
    }

    /// The partitioner placing users and photos on shards.
    pub fn partitioner(&self) -> &Partitioner {
        &self.partitioner
    }

    /// The fan-out strategy.
    pub fn strategy(&self) -> &FanoutStrategy {
        &self.strategy
    }

    /// Physical shards.
    pub fn shards(&self) -> usize {
        self.partitioner.shard_count()
    }

    /// Users whose followees are individual (the scaled population), if they are.
    pub fn exact_users(&self) -> Option<usize> {
        self.exact.as_ref().map(|e| e.followees.len())
    }

    /// Follow edges of the scaled graph (0 at full scale: never built).
    pub fn follows(&self) -> u64 {
        self.exact.as_ref().map_or(0, |e| e.followers.edges())
    }

    /// The shard holding `user`'s rows.
    #[inline]
    pub fn user_shard(&self, user: u64) -> usize {
        self.partitioner.shard_of(ShardKey::User(user))
    }

    /// The shard of a photo of `owner` (its row and postings).
    pub fn photo_shard(&self, owner: u64, nonce: u64) -> usize {
        let logical = self.partitioner.logical_for_photo(owner, nonce);
        let pid = PhotoId::from_parts(0, logical, (nonce & 0x3ff) as u16);
        self.partitioner.shard_of(ShardKey::Photo(pid))
    }

    /// A random user's shard, in proportion to the shards' user shares.
    #[inline]
    pub fn random_user_shard<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let u: f64 = rng.random();
        self.user_cdf
            .partition_point(|&c| c < u)
            .min(self.user_cdf.len() - 1)
    }

    /// A popular author: drawn in proportion to follower weight (from the
    /// pre-sampled leader pool at full scale, O(1)).
    #[inline]
    pub fn popular_author<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        if self.pool.is_empty() {
            self.workload.graph().sampler().sample(rng)
        } else {
            u64::from(self.pool[rng.random_range(0..self.pool.len())].id)
        }
    }

    /// Entries in the leader pool (0 in the scaled mode).
    pub fn pool_len(&self) -> usize {
        self.pool.len()
    }

    /// A popular author and how many pool entries it has (the full mode
    /// only: `None` when there is no pool).
    #[inline]
    pub fn popular_leader<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(u64, u32)> {
        if self.pool.is_empty() {
            return None;
        }
        let l = self.pool[rng.random_range(0..self.pool.len())];
        Some((u64::from(l.id), l.copies))
    }

    /// A popular author's photo-row cache key (the full mode only: `None`
    /// when there is no pool): `(logical shard of the author, pool copies)`.
    /// The logical shard stands in for the author in [`Source::photo_shard`]
    /// (which depends on the owner only through it).
    #[inline]
    pub fn popular_key<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(u64, u32)> {
        if self.cache_keys.is_empty() {
            return None;
        }
        let k = self.cache_keys[rng.random_range(0..self.cache_keys.len())];
        Some((u64::from(k & ((1 << LOGICAL_BITS) - 1)), k >> LOGICAL_BITS))
    }

    /// Distinct pool authors by multiplicity: `(copies, authors)` pairs.
    pub fn pool_multiplicities(&self) -> Vec<(u32, u64)> {
        let mut by: std::collections::BTreeMap<u32, u64> = Default::default();
        for l in &self.pool {
            // Each distinct author contributes 1 over its `copies` entries.
            *by.entry(l.copies).or_default() += 1;
        }
        by.into_iter()
            .map(|(c, entries)| (c, entries / u64::from(c.max(1))))
            .collect()
    }

    /// What the policy knows about `author`: follower count (exact in-degree
    /// when scaled, else the Chung–Lu expectation) and posts per day.
    pub fn author_stats(&self, author: u64) -> AuthorStats {
        let pop = self.population();
        let followers = match &self.exact {
            Some(e) => e.followers.in_degree(author),
            None => pop.expected_followers(author).round() as u64,
        };
        let posts_per_day = if pop.is_daily_active(author) {
            self.posts_per_unit * pop.upload_propensity(author)
        } else {
            0.0
        };
        AuthorStats {
            followers,
            posts_per_day,
        }
    }

    /// What the policy knows about reader `user`.
    pub fn reader_stats(&self, user: u64) -> FollowerStats {
        let pop = self.population();
        FollowerStats {
            reads_per_day: if pop.is_daily_active(user) {
                self.reads_per_unit * pop.read_propensity(user)
            } else {
                0.0
            },
        }
    }
}
