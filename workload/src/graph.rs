//! The follow graph: each user's followees, drawn from the Chung–Lu leader sampler (a full
//! population) or by the live graph's weighted draws without replacement (a scaled one).
//!
//! A user's followee list is a pure function of `(seed, user)`: a ChaCha8 stream seeded by a hash
//! of both draws leaders until the planned followee count is reached. A live graph ([`scaled`])
//! always reaches it and keeps the follower tail's exponent up to nearly every live user
//! following the top authors (see `crate::live`). In the Chung–Lu graph, self-follows and
//! repeated leaders are redrawn (a follow is a set, as in the service), up to
//! `4 × count + 32` draws; a user whose draws run out (only in tiny populations) simply follows
//! fewer users. So the realized out-degree can be below the planned count, and heavy leaders
//! lose a little in-degree to deduplication, like Chung–Lu's `min(1, p)` edge cap.
//!
//! Every emitted edge `(follower, leader)` is one out-edge and one in-edge, so the sums of
//! in-degrees and out-degrees over the graph are equal by construction; the tests check it on
//! the realized edges. [`FollowGraph::full`] builds the sampler for the whole 300M population
//! (for the simulator and benchmarks).

use std::collections::HashSet;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::hash::{mix, streams};
use crate::live::LiveDraws;
use crate::population::{Population, PopulationConfig};
use crate::sampler::FollowSampler;

/// A population together with its leader sampler: enough to produce any user's followees.
#[derive(Debug, Clone)]
pub struct FollowGraph {
    sampler: FollowSampler,
    live: Option<Arc<LiveDraws>>,
}

/// The live sub-population of `config` (see [`Population::scaled`]) with its live follow graph:
/// exact planned followee counts, and a follower tail with the configured α whose top authors
/// are followed by up to [`crate::LIVE_MAX_SHARE`] of the live users (see `crate::live`).
pub fn scaled(config: &PopulationConfig, seed: u64) -> Result<FollowGraph> {
    let population = Population::new(config, seed)?.scaled()?;
    let live = LiveDraws::build(&population)?;
    Ok(FollowGraph {
        sampler: FollowSampler::build(&population)?,
        live: Some(Arc::new(live)),
    })
}

impl FollowGraph {
    /// The graph of the full population of `config` (builds a sampler over all users).
    pub fn full(config: &PopulationConfig, seed: u64) -> Result<Self> {
        Self::new(Population::new(config, seed)?)
    }

    /// The Chung–Lu graph over `population` (full or already scaled).
    pub fn new(population: Population) -> Result<Self> {
        Ok(Self {
            sampler: FollowSampler::build(&population)?,
            live: None,
        })
    }

    /// The population.
    pub fn population(&self) -> &Population {
        self.sampler.population()
    }

    /// The leader sampler (Chung–Lu draws in proportion to weight, also for a live graph).
    pub fn sampler(&self) -> &FollowSampler {
        &self.sampler
    }

    /// Whether this is a live graph built by [`scaled`].
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Expected follower count of `user` in this graph: the live target (see [`scaled`]) or the
    /// Chung–Lu expectation.
    pub fn expected_followers(&self, user: u64) -> f64 {
        match &self.live {
            Some(l) => l.targets().get(user as usize).copied().unwrap_or(0.0),
            None => self.population().expected_followers(user),
        }
    }

    /// Followers per unit of weight below the top: the live graph's solved scale, or the
    /// population's `followers_per_weight` for a Chung–Lu graph.
    pub fn followers_per_weight(&self) -> f64 {
        match &self.live {
            Some(l) => l.scale(),
            None => self.population().followers_per_weight(),
        }
    }

    /// Number of users (ids `0..users()`).
    pub fn users(&self) -> u64 {
        self.population().users()
    }

    /// The leaders `user` follows, in draw order, without duplicates or `user` itself.
    pub fn followees_of(&self, user: u64) -> Vec<u64> {
        let pop = self.population();
        let want = pop.followees(user).min(pop.users() - 1) as usize;
        if let Some(live) = &self.live {
            return live.followees(pop.seed(), user, want);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(mix(pop.seed(), streams::EDGES, user));
        let mut out = Vec::with_capacity(want);
        let mut seen = HashSet::with_capacity(want);
        let mut budget = 4 * want + 32;
        while out.len() < want && budget > 0 {
            budget -= 1;
            let leader = self.sampler.sample(&mut rng);
            if leader != user && seen.insert(leader) {
                out.push(leader);
            }
        }
        out
    }

    /// Every follow edge `(follower, leader)`, followers in id order; deterministic for its seed.
    pub fn edges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (0..self.users()).flat_map(move |u| self.followees_of(u).into_iter().map(move |l| (u, l)))
    }

    /// The reverse index (leader → followers) of the materialized graph.
    pub fn follower_index(&self) -> FollowerIndex {
        FollowerIndex::from_edges(self.users(), self.edges())
    }
}

/// Followers of every leader in a materialized graph (compressed rows, `u32` ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowerIndex {
    offsets: Vec<u64>,
    followers: Vec<u32>,
}

impl FollowerIndex {
    /// Builds the index of `edges` over users `0..users`; edges naming ids `≥ users` are ignored.
    pub fn from_edges(users: u64, edges: impl IntoIterator<Item = (u64, u64)>) -> Self {
        let edges: Vec<(u32, u32)> = edges
            .into_iter()
            .filter(|&(f, l)| f < users && l < users)
            .map(|(f, l)| (f as u32, l as u32))
            .collect();
        let mut offsets = vec![0u64; users as usize + 1];
        for &(_, l) in &edges {
            offsets[l as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next: Vec<u64> = offsets[..users as usize].to_vec();
        let mut followers = vec![0u32; edges.len()];
        for (f, l) in edges {
            followers[next[l as usize] as usize] = f;
            next[l as usize] += 1;
        }
        Self { offsets, followers }
    }

    /// Followers of `leader` (empty for unknown ids).
    pub fn followers_of(&self, leader: u64) -> &[u32] {
        let l = leader as usize;
        if l + 1 >= self.offsets.len() {
            return &[];
        }
        &self.followers[self.offsets[l] as usize..self.offsets[l + 1] as usize]
    }

    /// In-degree of `leader`.
    pub fn in_degree(&self, leader: u64) -> u64 {
        self.followers_of(leader).len() as u64
    }

    /// Number of edges indexed.
    pub fn edges(&self) -> u64 {
        self.followers.len() as u64
    }
}
