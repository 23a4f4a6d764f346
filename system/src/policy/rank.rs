//! Feed ranking: recency with an optional popularity weight.
//!
//! STUB: signatures fixed, bodies to be written (helper C).

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

impl Ranker {
    /// Score of one candidate at `now_ms` (ms since the id epoch); higher first.
    pub fn score(&self, c: &Candidate, now_ms: u64) -> f64 {
        let _ = now_ms;
        c.photo.0 as f64
    }

    /// The top `n` of `candidates`, best first, duplicates (same photo) removed.
    pub fn top(&self, candidates: Vec<Candidate>, n: usize, now_ms: u64) -> Vec<Candidate> {
        let _ = now_ms;
        let mut c = candidates;
        c.truncate(n);
        c
    }
}
