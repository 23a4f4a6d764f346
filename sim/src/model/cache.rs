//! The photo-row cache of the photo model: a fixed hit ratio, a simulated LRU over
//! popularity-drawn keys (a scaled population, whose authors hold the photos a live run
//! seeded), or Che's approximation of that LRU over a full-scale leader pool; how it is built
//! and warmed, and how a step's photo-row lookups split into hits and per-shard misses.

use lru::LruCache;

use super::config::{CacheKind, SimSettings};
use super::source::Source;
use super::state::PhotoModel;
use crate::engine::rng_stream;
use crate::error::{Result, invalid};

/// Photo-row cache lookups whose keys are gathered together (see
/// `PhotoModel::che_lookup`).
const CHE_CHUNK: usize = 64;

/// The photo-row cache.
pub(crate) enum Cache {
    /// Hit with a fixed probability.
    Fixed(f64),
    /// A simulated LRU over popularity-drawn keys; `ln_q` is
    /// `ln(1 - 1/hot)`, the log of the photo-rank geometric's ratio, and a
    /// rank past `ranks` (the photos an author holds, when known) is the
    /// author's oldest photo: a feed asks only for photos that exist.
    Lru {
        lru: LruCache<u64, ()>,
        ln_q: f64,
        ranks: Option<u64>,
    },
    /// The same keys at full scale, each hitting with its steady-state LRU
    /// probability under Che's approximation: key (author with `m` pool
    /// copies, rank `j`) hits with `1 - exp(-m * rate[j])`; ranks past the
    /// table always miss.
    Che { rate: Vec<f64>, ln_q: f64 },
}

/// The photo-row cache `s.cache` describes: a fixed hit ratio, Che's
/// approximation over `src`'s leader pool when there is one, or else an
/// empty simulated LRU (see [`warm_lru`]) whose keys rank among the photos an
/// author holds, `photos_per_author` rounded up, when that is known.
pub(super) fn cache(
    src: &Source,
    s: &SimSettings,
    photos_per_author: Option<f64>,
) -> Result<Cache> {
    Ok(match s.cache.kind {
        CacheKind::Fixed => Cache::Fixed(s.cache.hit_ratio),
        CacheKind::Lru if src.pool_len() > 0 => {
            Cache::che(src, s.cache.entries.max(1), s.cache.hot_photos_per_author)
        }
        CacheKind::Lru => {
            let cap = std::num::NonZeroUsize::new(s.cache.entries.max(1))
                .ok_or_else(|| invalid("cache.entries", "must be >= 1"))?;
            Cache::Lru {
                lru: LruCache::new(cap),
                ln_q: (1.0 - 1.0 / s.cache.hot_photos_per_author).ln(),
                ranks: photos_per_author.map(|h| (h.max(0.0).ceil() as u64).max(1)),
            }
        }
    })
}

/// Fill a simulated LRU with `s.cache.entries` lookups of the run's key
/// popularity, drawn from stream 14 of `seed` so that the run's own cache
/// stream is untouched; the warm-up lookups are not counted. Other caches
/// are left as they are, and so is the LRU of a model of a live run (one that
/// knows the photos each author holds): a live run starts a fresh service,
/// whose cache is empty (its history is written around the cache) until its
/// first feeds fill it.
pub(super) fn warm_lru(m: &mut PhotoModel<'_>, s: &SimSettings, seed: u64) {
    if let Cache::Lru { ranks: None, .. } = m.cache {
        let mut cache_rng = rng_stream(seed, 14);
        std::mem::swap(&mut m.rng.cache, &mut cache_rng);
        m.cache_lookup(s.cache.entries as u64);
        std::mem::swap(&mut m.rng.cache, &mut cache_rng);
        m.cache_lookups = 0;
        m.cache_hits = 0;
    }
}

impl Cache {
    /// Che's approximation of an LRU of `entries` rows over the keys of
    /// `src`'s leader pool, photo ranks geometric with mean `hot`: solves the
    /// characteristic time `T` of `sum_k (1 - exp(-p_k T)) = entries`.
    pub fn che(src: &Source, entries: usize, hot: f64) -> Cache {
        let q = 1.0 - 1.0 / hot;
        let ranks = if q <= 0.0 {
            1
        } else {
            ((1e-12f64).ln() / q.ln()).ceil().clamp(1.0, 4096.0) as usize
        };
        let pool = src.pool_len().max(1) as f64;
        // p(rank j) per pool copy.
        let base: Vec<f64> = (0..ranks)
            .map(|j| (1.0 - q) * q.powi(j as i32) / pool)
            .collect();
        let groups = src.pool_multiplicities();
        let filled = |t: f64| -> f64 {
            groups
                .iter()
                .map(|&(m, n)| {
                    let m = f64::from(m);
                    n as f64 * base.iter().map(|b| -(-m * b * t).exp_m1()).sum::<f64>()
                })
                .sum()
        };
        let c = entries as f64;
        let mut hi = 1.0;
        while filled(hi) < c && hi < 1e300 {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if filled(mid) < c {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Cache::Che {
            rate: base.iter().map(|b| b * hi).collect(),
            ln_q: q.ln(),
        }
    }
}

impl PhotoModel<'_> {
    /// Look `n` photo rows up in the cache; returns the misses per shard in
    /// `self.split`.
    pub fn cache_lookup(&mut self, n: u64) {
        self.split.clear();
        self.split.resize(self.src.shards(), 0);
        if let Cache::Che { .. } = self.cache
            && self.src.pool_len() > 0
        {
            self.che_lookup(n);
            return;
        }
        for _ in 0..n {
            let author = self.src.popular_author(&mut self.rng.cache);
            let hit = match &mut self.cache {
                Cache::Fixed(p) => rand::Rng::random::<f64>(&mut self.rng.cache) < *p,
                Cache::Che { .. } => false,
                Cache::Lru { lru, ln_q, ranks } => {
                    let u: f64 = rand::Rng::random(&mut self.rng.cache);
                    let j = (u.ln() / *ln_q).floor() as u64;
                    let j = ranks.map_or(j, |n| j.min(n - 1));
                    let key = feedlab_workload::hash::mix(author, 0x5043_4143_4845, j);
                    let hit = lru.get(&key).is_some();
                    if !hit {
                        lru.put(key, ());
                    }
                    hit
                }
            };
            self.cache_lookups += 1;
            if hit {
                self.cache_hits += 1;
            } else {
                let nonce = rand::Rng::random(&mut self.rng.cache);
                let s = self.src.photo_shard(author, nonce);
                self.split[s] += 1;
            }
        }
    }

    /// [`Self::cache_lookup`] under [`Cache::Che`]: the keys of up to
    /// [`CHE_CHUNK`] lookups are drawn first and gathered from the pool's
    /// compact key table in one pass (independent loads the CPU overlaps;
    /// one at a time, each was a cache miss the loop waited for), then each
    /// key's rank and hit are drawn.
    fn che_lookup(&mut self, n: u64) {
        let Cache::Che { rate, ln_q } = &self.cache else {
            return;
        };
        let mut left = n;
        let mut keys = [(0u64, 0u32); CHE_CHUNK];
        while left > 0 {
            let k = left.min(CHE_CHUNK as u64) as usize;
            left -= k as u64;
            for key in &mut keys[..k] {
                *key = self
                    .src
                    .popular_key(&mut self.rng.cache)
                    .unwrap_or_default();
            }
            for &(logical, copies) in &keys[..k] {
                let u: f64 = rand::Rng::random(&mut self.rng.cache);
                let j = (u.ln() / *ln_q).floor();
                let p = if j < rate.len() as f64 {
                    -(-f64::from(copies) * rate[j as usize]).exp_m1()
                } else {
                    0.0
                };
                self.cache_lookups += 1;
                if rand::Rng::random::<f64>(&mut self.rng.cache) < p {
                    self.cache_hits += 1;
                } else {
                    let nonce = rand::Rng::random(&mut self.rng.cache);
                    let s = self.src.photo_shard(logical, nonce);
                    self.split[s] += 1;
                }
            }
        }
    }
}
