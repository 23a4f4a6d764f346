//! The per-op draws of [`Source`]: which followees a feed reader has and how
//! they split over shards and edge modes ([`Source::feed_shape`]), and how an
//! upload's pushed followers split over shards ([`Source::push_split`]), and who has
//! the most followers ([`Source::top_author`]). The parent module's header describes the
//! model behind them.

use feedlab_system::policy::{AuthorStats, EdgeMode, FollowerStats};
use rand::Rng;

use super::{FeedShape, RATE_SAMPLE, Source};

impl Source {
    /// The author with the most followers: the largest in-degree of the scaled graph, or at
    /// full scale the leader-pool author with the largest expected follower count (the
    /// lowest id among ties).
    pub fn top_author(&self) -> u64 {
        let best = |a: (u64, u64), b: (u64, u64)| if b.1 > a.1 { b } else { a };
        match &self.exact {
            Some(e) => {
                (0..e.followees.len() as u64)
                    .map(|u| (u, e.followers.in_degree(u)))
                    .fold((0, 0), best)
                    .0
            }
            None => {
                let mut pool: Vec<(u64, u64)> = self
                    .pool
                    .iter()
                    .map(|l| (u64::from(l.id), l.followers))
                    .collect();
                pool.sort_unstable();
                pool.into_iter().fold((0, 0), best).0
            }
        }
    }

    /// `reader`'s followees where they are individual (the scaled population).
    pub fn followees_of(&self, reader: u64) -> Option<&[u32]> {
        let e = self.exact.as_ref()?;
        Some(e.followees.get(reader as usize).map_or(&[][..], |v| v))
    }

    /// Fill `shape` for a feed read by `reader`.
    pub fn feed_shape<R: Rng + ?Sized>(&self, reader: u64, shape: &mut FeedShape, rng: &mut R) {
        let shards = self.shards();
        shape.followees_per_shard.clear();
        shape.followees_per_shard.resize(shards, 0);
        shape.pulled_per_shard.clear();
        shape.pulled_per_shard.resize(shards, 0);
        shape.pulled = 0;
        shape.pulled_authors.clear();
        let me = self.reader_stats(reader);
        let mut add = |shard: usize, author: &AuthorStats, id: Option<u32>| {
            shape.followees_per_shard[shard] += 1;
            if self.strategy.edge_mode(author, &me) == EdgeMode::Pull {
                shape.pulled_per_shard[shard] += 1;
                shape.pulled += 1;
                shape.pulled_authors.extend(id);
            }
        };
        match &self.exact {
            Some(e) => {
                let list = e.followees.get(reader as usize).map_or(&[][..], |v| v);
                for &f in list {
                    add(
                        self.user_shard(u64::from(f)),
                        &self.author_stats(u64::from(f)),
                        Some(f),
                    );
                }
                shape.followees = list.len() as u64;
            }
            None if self.categories.is_some() => {
                let k = self.population().followees(reader);
                let counts = self.categories.as_deref().unwrap_or_default();
                // k uniform pool draws, counted per category: a multinomial,
                // drawn as a chain of conditional binomials.
                let mut left = k;
                let mut rest = self.pool.len() as u64;
                for (c, &w) in counts.iter().enumerate() {
                    if left == 0 {
                        break;
                    }
                    let x = if w >= rest {
                        left
                    } else if w == 0 {
                        0
                    } else {
                        rand_distr::Binomial::new(left, w as f64 / rest as f64)
                            .map_or(0, |b| rng.sample(b))
                    };
                    rest -= w;
                    left -= x;
                    let shard = c / 2;
                    shape.followees_per_shard[shard] += x as u32;
                    if c % 2 == 1 {
                        shape.pulled_per_shard[shard] += x as u32;
                        shape.pulled += x;
                    }
                }
                shape.followees = k;
            }
            None => {
                let k = self.population().followees(reader);
                for _ in 0..k {
                    let l = self.pool[rng.random_range(0..self.pool.len())];
                    let a = AuthorStats {
                        followers: l.followers,
                        posts_per_day: f64::from(l.posts_per_day),
                    };
                    add(usize::from(l.shard), &a, None);
                }
                shape.followees = k;
            }
        }
    }

    /// Timeline entries pushed for one upload by `author`, per shard, into
    /// `out` (cleared first); returns the total.
    pub fn push_split<R: Rng + ?Sized>(&self, author: u64, out: &mut Vec<u64>, rng: &mut R) -> u64 {
        out.clear();
        out.resize(self.shards(), 0);
        let a = self.author_stats(author);
        if let Some(e) = &self.exact {
            let followers = e.followers.followers_of(author);
            let stats: Vec<FollowerStats> = if self.strategy.needs_follower_stats() {
                followers
                    .iter()
                    .map(|&f| self.reader_stats(u64::from(f)))
                    .collect()
            } else {
                vec![FollowerStats::default(); followers.len()]
            };
            let plan = self.strategy.plan(&a, &stats);
            for &i in &plan.push {
                out[self.user_shard(u64::from(followers[i]))] += 1;
            }
            return plan.push.len() as u64;
        }
        let pushed = match self.strategy.uniform_mode(&a) {
            Some(EdgeMode::Push) => a.followers,
            Some(EdgeMode::Pull) => 0,
            None => {
                let n = a.followers as usize;
                let start = rng.random_range(0..RATE_SAMPLE);
                let take = n.min(RATE_SAMPLE);
                let window: Vec<FollowerStats> = (0..take)
                    .map(|i| self.follower_sample[(start + i) % RATE_SAMPLE])
                    .collect();
                let plan = self.strategy.plan(&a, &window);
                if take == n {
                    plan.push.len() as u64
                } else {
                    (plan.push.len() as f64 * n as f64 / take as f64).round() as u64
                }
            }
        };
        self.split(pushed, out, rng);
        pushed
    }

    /// Split `n` entries over shards by user share: each entry drawn when
    /// few, else the expected shares with the remainder drawn.
    fn split<R: Rng + ?Sized>(&self, n: u64, out: &mut [u64], rng: &mut R) {
        if n <= 256 {
            for _ in 0..n {
                out[self.random_user_shard(rng)] += 1;
            }
            return;
        }
        let mut prev = 0.0;
        let mut given = 0;
        for (s, &c) in self.user_cdf.iter().enumerate() {
            let share = ((c - prev) * n as f64).floor() as u64;
            out[s] += share;
            given += share;
            prev = c;
        }
        for _ in given..n {
            out[self.random_user_shard(rng)] += 1;
        }
    }
}
