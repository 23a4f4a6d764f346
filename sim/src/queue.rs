//! The pending-event queue: an implicit binary min-heap keyed by `(time, seq)`.
//!
//! Why not `std::collections::BinaryHeap`: its `push` writes the new element at
//! the end and immediately reads it back for sift-up, and `pop` does the same
//! with the element it moves to the root. With a small event type the write
//! and the read differ in width, which defeats store-to-load forwarding and
//! cost about a third of the engine's time in profiles. This heap keeps the
//! moving element in registers ("hole" technique) and writes it once, at its
//! final slot. `pop` uses Floyd's variant: the hole goes down to a leaf along
//! the smaller children without comparing against the displaced last element
//! (which usually belongs near the bottom), then that element sifts up. The
//! child choice is branch-free while the heap is cache-resident and a
//! predicted branch beyond that (see `pop`).
//!
//! Measured (user cycles per hold step, i.e. one pop + one push, at 16 / 1k /
//! 100k / 1M pending events; `benches/engine.rs` has the same model):
//! - this heap: 130 / 202 / 547 / 1359;
//! - `std::collections::BinaryHeap`: 158 / 195 / 1071 / 3387;
//! - the branchy variant alone: 143 / 276 / 586 / 1262; a 4-ary heap:
//!   137 / 301 / 690 / 1440;
//! - a 128-bit radix heap: 408 / 525 / 563 / 567 (flat, but 3–4× slower on
//!   the small queues of a station model, so not used).
//!
//! Ordering contract: `pop` returns the entry with the smallest `(time, seq)`;
//! the engine makes `seq` unique and increasing, so equal times pop in
//! insertion order (stable tie-breaking).

use crate::engine::SimTime;

/// Up to this many entries `pop` chooses children without branching.
const BRANCH_FREE_MAX: usize = 1 << 13;

/// One queued event with its ordering key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<E> {
    /// Due time.
    pub time: SimTime,
    /// Insertion sequence number (tie-breaker).
    pub seq: u64,
    /// The event.
    pub event: E,
}

impl<E> Entry<E> {
    /// `(time, seq)` as one integer, for branch-free comparison.
    #[inline(always)]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }

    #[inline(always)]
    fn before(&self, other: &Self) -> bool {
        (self.time, self.seq) < (other.time, other.seq)
    }
}

/// A binary min-heap of [`Entry`] values.
#[derive(Debug, Clone)]
pub(crate) struct EventHeap<E> {
    v: Vec<Entry<E>>,
}

impl<E: Copy> EventHeap<E> {
    /// An empty heap with room for `cap` entries.
    pub fn with_capacity(cap: usize) -> Self {
        EventHeap {
            v: Vec::with_capacity(cap),
        }
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    /// Drop every entry.
    pub fn clear(&mut self) {
        self.v.clear();
    }

    /// The smallest entry, if any.
    #[inline]
    pub fn peek(&self) -> Option<&Entry<E>> {
        self.v.first()
    }

    /// Insert `e`.
    #[inline(always)]
    pub fn push(&mut self, e: Entry<E>) {
        let mut i = self.v.len();
        // Reserve the slot; it is overwritten below if `e` moves up.
        self.v.push(e);
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.v[parent];
            if !e.before(&p) {
                break;
            }
            self.v[i] = p;
            i = parent;
        }
        self.v[i] = e;
    }

    /// Remove and return the smallest entry.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Entry<E>> {
        let last = self.v.pop()?;
        let n = self.v.len();
        if n == 0 {
            return Some(last);
        }
        let top = self.v[0];
        // Floyd: move the hole to a leaf along the smaller children without
        // comparing against `last` (it usually belongs near the bottom), then
        // sift `last` up from there.
        let mut i = 0;
        let mut child = 1;
        if n <= BRANCH_FREE_MAX {
            // Cache-resident heap: pick the child arithmetically; which one
            // is smaller is unpredictable, so a branch would often miss.
            while child + 1 < n {
                child += usize::from(self.v[child + 1].key() < self.v[child].key());
                self.v[i] = self.v[child];
                i = child;
                child = 2 * i + 1;
            }
        } else {
            // Large heap: a predicted branch lets the CPU start loading the
            // next level before the compare resolves, hiding cache misses.
            while child + 1 < n {
                if self.v[child + 1].before(&self.v[child]) {
                    child += 1;
                }
                self.v[i] = self.v[child];
                i = child;
                child = 2 * i + 1;
            }
        }
        if child + 1 == n {
            self.v[i] = self.v[child];
            i = child;
        }
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.v[parent];
            if !last.before(&p) {
                break;
            }
            self.v[i] = p;
            i = parent;
        }
        self.v[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn pops_sorted_by_time_then_seq() {
        let mut rng = crate::engine::rng_stream(7, 0);
        let mut h = EventHeap::with_capacity(0);
        let mut all = Vec::new();
        for seq in 0..5_000u64 {
            let time = rng.random_range(0..500u64);
            h.push(Entry {
                time,
                seq,
                event: seq as u32,
            });
            all.push((time, seq));
            // Interleave pops to exercise partial heaps.
            if seq % 7 == 0 {
                let e = h.pop().expect("non-empty");
                let pos = all.iter().position(|&k| k == (e.time, e.seq));
                let min = *all.iter().min().expect("non-empty");
                assert_eq!((e.time, e.seq), min);
                all.swap_remove(pos.expect("popped entry was pushed"));
            }
        }
        all.sort_unstable();
        let rest: Vec<(u64, u64)> =
            std::iter::from_fn(|| h.pop().map(|e| (e.time, e.seq))).collect();
        assert_eq!(rest, all);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn large_heap_pops_sorted_on_both_code_paths() {
        let mut rng = crate::engine::rng_stream(8, 0);
        let mut h = EventHeap::with_capacity(0);
        let n = 3 * BRANCH_FREE_MAX as u64;
        for seq in 0..n {
            let time = rng.random_range(0..n / 4);
            h.push(Entry {
                time,
                seq,
                event: (),
            });
        }
        let mut prev = (0, 0);
        let mut count = 0;
        while let Some(e) = h.pop() {
            assert!((e.time, e.seq) > prev || count == 0, "{prev:?} then {e:?}");
            prev = (e.time, e.seq);
            count += 1;
            // Refill a little while large, to mix pushes into big-heap pops.
            if count % 3 == 0 && h.len() > BRANCH_FREE_MAX {
                h.push(Entry {
                    time: prev.0 + rng.random_range(0..n / 4),
                    seq: n + count,
                    event: (),
                });
            }
        }
        assert!(count > n);
    }
}
