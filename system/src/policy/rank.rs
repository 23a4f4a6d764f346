//! Feed ranking: recency with an optional popularity weight.
//!
//! A feed read gathers candidates (pushed timeline entries, pulled followees'
//! photos — possibly the same photo twice) and keeps the best `n`. The score
//! is recency-dominant:
//!
//! `score = w · ln(1 + views) − age_hours`, with
//! `age_hours = (now_ms − photo.ms()) / 3.6e6` (0 for ids from the future).
//!
//! So one unit of weight trades an hour of age for a factor of e in views.
//! With `w = 0` the order is exactly newest first (descending [`PhotoId`]).
//! Ties always break by descending `PhotoId`, so the order is total and the
//! same on every run.

use std::cmp::Ordering;

use crate::Error;
use crate::id::PhotoId;

/// One feed candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The photo (its id carries the upload time).
    pub photo: PhotoId,
    /// View count, for the popularity weight.
    pub views: u64,
}

/// Orders candidates. Pure and deterministic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranker {
    /// Weight of popularity against recency; 0 ranks by recency alone.
    pub popularity_weight: f64,
}

impl Default for Ranker {
    /// [`Ranker::RECENCY`].
    fn default() -> Self {
        Ranker::RECENCY
    }
}

const MS_PER_HOUR: f64 = 3.6e6;

impl Ranker {
    /// Pure recency: newest first.
    pub const RECENCY: Ranker = Ranker {
        popularity_weight: 0.0,
    };

    /// A ranker with `popularity_weight`; rejects (`Error::InvalidInput`) a
    /// weight that is negative or not finite.
    pub fn new(popularity_weight: f64) -> crate::Result<Self> {
        if !popularity_weight.is_finite() || popularity_weight < 0.0 {
            return Err(Error::InvalidInput(format!(
                "popularity weight must be a finite number ≥ 0, got {popularity_weight}"
            )));
        }
        Ok(Ranker { popularity_weight })
    }

    /// Score of one candidate at `now_ms` (ms since the id epoch); higher first.
    pub fn score(&self, c: &Candidate, now_ms: u64) -> f64 {
        let age_hours = now_ms.saturating_sub(c.photo.ms()) as f64 / MS_PER_HOUR;
        if self.popularity_weight == 0.0 {
            return -age_hours;
        }
        self.popularity_weight * (c.views as f64).ln_1p() - age_hours
    }

    /// The top `n` of `candidates`, best first, duplicates (same photo)
    /// removed keeping the one with the most views. Order: score descending,
    /// then `PhotoId` descending. `O(m log m)` in the candidate count `m`.
    pub fn top(&self, candidates: Vec<Candidate>, n: usize, now_ms: u64) -> Vec<Candidate> {
        if n == 0 {
            return Vec::new();
        }
        let mut c = candidates;
        c.sort_unstable_by(|a, b| a.photo.cmp(&b.photo).then(b.views.cmp(&a.views)));
        c.dedup_by_key(|x| x.photo); // keeps the first of each run: most views
        if self.popularity_weight == 0.0 {
            // Score is monotone in the id; skip the floats.
            c.reverse();
            c.truncate(n);
            return c;
        }
        let mut scored: Vec<(f64, Candidate)> =
            c.into_iter().map(|c| (self.score(&c, now_ms), c)).collect();
        let best_first = |a: &(f64, Candidate), b: &(f64, Candidate)| -> Ordering {
            b.0.total_cmp(&a.0).then(b.1.photo.cmp(&a.1.photo))
        };
        if scored.len() > n {
            scored.select_nth_unstable_by(n - 1, best_first);
            scored.truncate(n);
        }
        scored.sort_unstable_by(best_first);
        scored.into_iter().map(|(_, c)| c).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const HOUR: u64 = 3_600_000;

    fn cand(ms: u64, seq: u16, views: u64) -> Candidate {
        Candidate {
            photo: PhotoId::from_parts(ms, 1, seq),
            views,
        }
    }

    fn random_candidates(rng: &mut ChaCha8Rng, m: usize, now: u64) -> Vec<Candidate> {
        (0..m)
            .map(|_| Candidate {
                photo: PhotoId::from_parts(
                    rng.random_range(now - 48 * HOUR..now + HOUR),
                    rng.random_range(0..8192),
                    rng.random_range(0..1024),
                ),
                views: rng.random_range(0..1_000_000),
            })
            .collect()
    }

    #[test]
    fn weight_zero_is_newest_first() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let now = 100 * HOUR;
        let cands = random_candidates(&mut rng, 5000, now);
        let mut expected: Vec<PhotoId> = cands.iter().map(|c| c.photo).collect();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        expected.dedup();
        let got: Vec<PhotoId> = Ranker::RECENCY
            .top(cands.clone(), 100, now)
            .iter()
            .map(|c| c.photo)
            .collect();
        assert_eq!(got, expected[..100]);
        // The float score agrees with the shortcut, ids from the future included.
        let r = Ranker::default();
        let mut by_score = cands;
        by_score.sort_by(|a, b| {
            r.score(b, now)
                .total_cmp(&r.score(a, now))
                .then(b.photo.cmp(&a.photo))
        });
        by_score.dedup_by_key(|c| c.photo);
        assert_eq!(
            by_score
                .iter()
                .take(100)
                .map(|c| c.photo)
                .collect::<Vec<_>>(),
            got
        );
    }

    #[test]
    fn popularity_lifts_an_older_viewed_photo() {
        let now = 10 * HOUR;
        let older_viral = cand(now - 2 * HOUR, 0, 100_000);
        let newer_quiet = cand(now - HOUR, 0, 0);
        let both = vec![newer_quiet, older_viral];
        assert_eq!(
            Ranker::RECENCY.top(both.clone(), 2, now),
            vec![newer_quiet, older_viral]
        );
        let r = Ranker::new(0.5).expect("valid");
        // 0.5 · ln(100001) ≈ 5.76 > the 1 hour it is older.
        assert_eq!(r.top(both.clone(), 2, now), vec![older_viral, newer_quiet]);
        // ...but a day-old photo needs more than 100k views at that weight.
        let stale_viral = cand(now - 9 * HOUR, 0, 100_000);
        assert_eq!(
            r.top(vec![stale_viral, newer_quiet], 1, now),
            vec![newer_quiet]
        );
    }

    #[test]
    fn duplicates_keep_most_views() {
        let now = 5 * HOUR;
        let r = Ranker::new(1.0).expect("valid");
        let a_low = cand(now - HOUR, 1, 3);
        let a_high = cand(now - HOUR, 1, 40);
        let b = cand(now - 2 * HOUR, 2, 0);
        let top = r.top(vec![a_low, b, a_high, a_low, b], 10, now);
        assert_eq!(top, vec![a_high, b]);
        assert_eq!(
            Ranker::RECENCY.top(vec![a_low, a_high, b], 10, now),
            vec![a_high, b]
        );
    }

    #[test]
    fn n_larger_than_input_and_zero() {
        let now = 3 * HOUR;
        let r = Ranker::new(2.0).expect("valid");
        let cands = vec![
            cand(now - 1, 0, 1),
            cand(now - 2, 0, 1),
            cand(now - 3, 0, 1),
        ];
        assert_eq!(r.top(cands.clone(), 1000, now), cands);
        assert!(r.top(cands, 0, now).is_empty());
        assert!(r.top(Vec::new(), 5, now).is_empty());
    }

    #[test]
    fn ties_break_by_id_and_input_order_does_not_matter() {
        let now = 100 * HOUR;
        let r = Ranker::new(1.0).expect("valid");
        // Same ms and views: equal scores, so descending id decides.
        let tied: Vec<_> = (0..50u16).map(|s| cand(now - HOUR, s, 9)).collect();
        let top = r.top(tied.clone(), 10, now);
        let expected: Vec<_> = (40..50u16).rev().map(|s| cand(now - HOUR, s, 9)).collect();
        assert_eq!(top, expected);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut cands = random_candidates(&mut rng, 3000, now);
        cands.extend_from_slice(&tied);
        let first = r.top(cands.clone(), 200, now);
        for _ in 0..5 {
            cands.shuffle(&mut rng);
            assert_eq!(r.top(cands.clone(), 200, now), first);
        }
        // select_nth path agrees with a full sort.
        let mut full = r.top(cands.clone(), usize::MAX, now);
        full.truncate(200);
        assert_eq!(full, first);
    }

    #[test]
    fn rejects_bad_weights() {
        for w in [f64::NAN, f64::INFINITY, -1.0] {
            assert!(Ranker::new(w).is_err(), "{w}");
        }
    }
}
