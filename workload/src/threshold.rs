//! One meaning for the hybrid fan-out threshold in live runs, `plan` and `sim`.
//!
//! `hybrid-threshold` counts followers at full scale. The full-scale model pulls the authors whose
//! expected follower count (weight × followers per weight) reaches it: weights `w ≥ K` with
//! `K = ⌈threshold / followers_per_weight⌉`. That selects a share of authors, `P(w ≥ K)`, and a
//! share of follower edges, `Σ_{w ≥ K} w·P(w) / E[w]` ([`full_scale_shares`], the same figure
//! `plan` reports as one minus hybrid's push fraction).
//!
//! A live graph cannot apply the number itself: its follower counts stop at a few thousand. The
//! live threshold is the live follower count at which hybrid pulls the same share of the live
//! graph's follower edges ([`map_threshold`]). The edge share is the figure to keep because it
//! sets both sides of hybrid's trade: the fan-out writes an upload saves (uploads spread over
//! authors) and the followees a feed read must pull (each reader's followees are edges). The
//! author share is reported beside it; a live graph pulls a larger share of its authors than
//! the full-scale model does, since its tail is compressed below `n` users.

use crate::math::power_sum;
use crate::population::Population;

/// A full-scale hybrid threshold, the live threshold it maps to, and what each pulls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdMap {
    /// The configured threshold, in full-scale followers.
    pub full_threshold: u64,
    /// Share of authors the full-scale model pulls.
    pub full_author_share: f64,
    /// Share of follower edges the full-scale model pulls.
    pub full_edge_share: f64,
    /// The threshold applied to the live graph, in live followers.
    pub live_threshold: u64,
    /// Share of live authors pulled at `live_threshold`.
    pub live_author_share: f64,
    /// Share of live follower edges pulled at `live_threshold`.
    pub live_edge_share: f64,
}

/// `(author share, edge share)` the full-scale model of `pop` pulls at `threshold` followers.
/// `pop` may be the full population or a scaled one (both share the weight law).
pub fn full_scale_shares(pop: &Population, threshold: u64) -> (f64, f64) {
    let w = pop.weight_dist();
    let k = ((threshold as f64 / pop.followers_per_weight()).ceil() as u64).max(w.x_min());
    if k > w.cap() {
        return (0.0, 0.0);
    }
    if k <= w.x_min() {
        return (1.0, 1.0);
    }
    let norm = power_sum(w.alpha(), w.x_min(), Some(w.cap()));
    let edges = power_sum(w.alpha() - 1.0, k, Some(w.cap())) / norm / w.mean();
    (w.survival(k).clamp(0.0, 1.0), edges.clamp(0.0, 1.0))
}

/// `(author share, edge share)` pulled at `threshold` in a graph with follower counts
/// `in_degrees` (authors with at least `threshold` followers are pulled).
pub fn live_shares(in_degrees: &[u64], threshold: u64) -> (f64, f64) {
    let total: u64 = in_degrees.iter().sum();
    let (authors, edges) = in_degrees
        .iter()
        .filter(|&&d| d >= threshold)
        .fold((0u64, 0u64), |(a, e), &d| (a + 1, e + d));
    let share = |x: u64, of: u64| if of == 0 { 0.0 } else { x as f64 / of as f64 };
    (share(authors, in_degrees.len() as u64), share(edges, total))
}

/// Maps the full-scale `threshold` of `pop` to the live graph with follower counts `in_degrees`:
/// the live threshold whose pulled edge share is nearest (in ratio) to the full-scale model's.
/// Nothing pulled at full scale maps to one more than the largest live count; everything
/// pulled maps to 0.
pub fn map_threshold(pop: &Population, in_degrees: &[u64], threshold: u64) -> ThresholdMap {
    let (full_author_share, full_edge_share) = full_scale_shares(pop, threshold);
    let max = in_degrees.iter().copied().max().unwrap_or(0);
    let live_threshold = if full_edge_share <= 0.0 {
        max + 1
    } else if full_edge_share >= 1.0 {
        0
    } else {
        nearest_edge_share(in_degrees, full_edge_share).unwrap_or(max + 1)
    };
    let (live_author_share, live_edge_share) = live_shares(in_degrees, live_threshold);
    ThresholdMap {
        full_threshold: threshold,
        full_author_share,
        full_edge_share,
        live_threshold,
        live_author_share,
        live_edge_share,
    }
}

/// The follower count `t` whose pulled edge share (authors with `≥ t` followers) is nearest to
/// `goal` in ratio; `None` if the graph has no edge.
fn nearest_edge_share(in_degrees: &[u64], goal: f64) -> Option<u64> {
    let mut sorted: Vec<u64> = in_degrees.iter().copied().filter(|&d| d > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: u64 = sorted.iter().sum();
    if total == 0 {
        return None;
    }
    let (mut best, mut best_off, mut acc) = (None, f64::INFINITY, 0u64);
    let mut i = 0;
    while i < sorted.len() {
        let d = sorted[i];
        while i < sorted.len() && sorted[i] == d {
            acc += sorted[i];
            i += 1;
        }
        let off = (acc as f64 / total as f64 / goal).ln().abs();
        if off < best_off {
            (best, best_off) = (Some(d), off);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::PopulationConfig;

    #[test]
    fn shares_and_mapping_follow_their_definitions() {
        let degrees = [0, 1, 2, 2, 5, 10];
        assert_eq!(live_shares(&degrees, 5), (2.0 / 6.0, 15.0 / 20.0));
        assert_eq!(live_shares(&degrees, 0), (1.0, 1.0));
        assert_eq!(nearest_edge_share(&degrees, 0.5), Some(10));
        assert_eq!(nearest_edge_share(&degrees, 0.9), Some(2));
        assert_eq!(nearest_edge_share(&[0, 0], 0.5), None);

        let pop = Population::new(&PopulationConfig::default(), 1).expect("valid");
        let (a_lo, e_lo) = full_scale_shares(&pop, 1_000);
        let (a_hi, e_hi) = full_scale_shares(&pop, 100_000);
        assert!(a_hi < a_lo && e_hi < e_lo && e_hi > 0.0, "{e_lo} {e_hi}");
        assert!(
            a_lo < e_lo,
            "pulled authors hold more than their share of edges"
        );
        assert_eq!(full_scale_shares(&pop, u64::MAX), (0.0, 0.0));
        assert_eq!(full_scale_shares(&pop, 0).1, 1.0);
        let none = map_threshold(&pop, &degrees, u64::MAX);
        assert_eq!((none.live_threshold, none.live_edge_share), (11, 0.0));
        assert_eq!(map_threshold(&pop, &degrees, 0).live_threshold, 0);
    }
}
