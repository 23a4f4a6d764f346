//! Merging the feed's candidate lists: each source (the reader's timeline,
//! each pulled author's newest photos) is a list of photo ids, newest
//! first; the feed wants the newest `n` distinct ids of all of them.

use std::collections::BinaryHeap;

use crate::id::PhotoId;

/// The newest `n` distinct ids of `lists`, newest first. Each list must be
/// sorted newest (largest id) first; the result is then exactly the first
/// `n` of all ids sorted descending and deduplicated, found in
/// O(n · log lists) rather than by sorting every id.
pub fn newest(lists: &[&[PhotoId]], n: usize) -> Vec<PhotoId> {
    debug_assert!(
        lists.iter().all(|l| l.windows(2).all(|w| w[0] >= w[1])),
        "every list newest first"
    );
    // (next id, list, position in list): a max-heap on the id.
    let mut heap: BinaryHeap<(PhotoId, usize, usize)> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.first().map(|&id| (id, i, 0)))
        .collect();
    let mut out: Vec<PhotoId> = Vec::with_capacity(n);
    while out.len() < n {
        let Some((id, i, pos)) = heap.pop() else {
            break;
        };
        if out.last() != Some(&id) {
            out.push(id);
        }
        if let Some(&next) = lists[i].get(pos + 1) {
            heap.push((next, i, pos + 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn equals_sort_and_dedup_of_all_ids() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let lists: Vec<Vec<PhotoId>> = (0..rng.random_range(0..6))
                .map(|_| {
                    let mut l: Vec<PhotoId> = (0..rng.random_range(0..20))
                        .map(|_| PhotoId(rng.random_range(0..40)))
                        .collect();
                    l.sort_unstable_by(|a, b| b.cmp(a));
                    l
                })
                .collect();
            let n = rng.random_range(0..30);
            let mut want: Vec<PhotoId> = lists.iter().flatten().copied().collect();
            want.sort_unstable_by(|a, b| b.cmp(a));
            want.dedup();
            want.truncate(n);
            let refs: Vec<&[PhotoId]> = lists.iter().map(Vec::as_slice).collect();
            assert_eq!(newest(&refs, n), want, "{lists:?} n={n}");
        }
    }
}
