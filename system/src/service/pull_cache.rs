//! Read-side caches of the pulled part of a feed (pull, hybrid and rate
//! fan-out), so that a feed read does not recompute who to pull, nor rescan
//! the photo list of every pulled author, on every read.
//!
//! - **Pull sets**: per reader, the followees served by pull. Dropped when
//!   the reader follows or unfollows through this server, made stale all
//!   at once when an author crosses the policy's line through this server
//!   ([`PullCache::policy_changed`]), and stale after `set_ttl` whatever
//!   happened (follows made through another server show within it).
//! - **Recent ids**: per pulled author, their newest photo ids. Dropped when
//!   the author uploads or deletes through this server; stale after
//!   `recent_ttl` (another server's uploads show within it).
//!
//! A fill that raced an invalidation is not kept: every fill carries the
//! invalidation count taken before its read ([`PullCache::generation`]) and
//! is kept only if nothing was invalidated meanwhile.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;
use parking_lot::Mutex;

use crate::id::PhotoId;
use crate::policy::UserId;

/// A cached value with the policy epoch and the time it was filled at.
struct Stamped<T> {
    epoch: u64,
    at: Instant,
    value: Arc<T>,
}

/// Newest photo ids of one author, newest first: the first `asked` (or all
/// of them, if there were fewer).
#[derive(Debug)]
pub struct Recent {
    asked: usize,
    ids: Vec<PhotoId>,
}

impl Recent {
    /// The ids, newest first.
    pub fn ids(&self) -> &[PhotoId] {
        &self.ids
    }
}

/// The two caches (see the module docs). Capacity 0 turns both off.
pub struct PullCache {
    sets: Option<Mutex<LruCache<UserId, Stamped<Vec<UserId>>>>>,
    recent: Option<Mutex<LruCache<UserId, Stamped<Recent>>>>,
    /// Bumped when an author's mode may have changed: stales every set.
    epoch: AtomicU64,
    /// Bumped by every invalidation: fills that raced one are not kept.
    generation: AtomicU64,
    set_ttl: Duration,
    recent_ttl: Duration,
}

impl PullCache {
    /// Caches of `entries` readers and `entries` authors, whose entries go
    /// stale after `set_ttl` and `recent_ttl`.
    pub fn new(entries: usize, set_ttl: Duration, recent_ttl: Duration) -> Self {
        let cap = NonZeroUsize::new(entries);
        PullCache {
            sets: cap.map(|n| Mutex::new(LruCache::new(n))),
            recent: cap.map(|n| Mutex::new(LruCache::new(n))),
            epoch: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            set_ttl,
            recent_ttl,
        }
    }

    /// The invalidation count to pass to a later fill.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn fresh<T>(&self, s: &Stamped<T>, ttl: Duration) -> bool {
        s.epoch == self.epoch.load(Ordering::Acquire) && s.at.elapsed() < ttl
    }

    fn stamp<T>(&self, value: T) -> Stamped<T> {
        Stamped {
            epoch: self.epoch.load(Ordering::Acquire),
            at: Instant::now(),
            value: Arc::new(value),
        }
    }

    /// `reader`'s pull set, if a fresh one is cached.
    pub fn pull_set(&self, reader: UserId) -> Option<Arc<Vec<UserId>>> {
        let mut sets = self.sets.as_ref()?.lock();
        match sets.get(&reader) {
            Some(s) if self.fresh(s, self.set_ttl) => Some(s.value.clone()),
            _ => None,
        }
    }

    /// Keep `reader`'s pull set, read after [`PullCache::generation`] gave
    /// `generation`.
    pub fn fill_pull_set(&self, reader: UserId, generation: u64, set: Vec<UserId>) {
        if let Some(sets) = &self.sets {
            let mut sets = sets.lock();
            if self.generation() == generation {
                sets.put(reader, self.stamp(set));
            }
        }
    }

    /// At least the newest `limit` photo ids of `author` (all of them if
    /// they have fewer), if fresh ones are cached.
    pub fn recent(&self, author: UserId, limit: usize) -> Option<Arc<Recent>> {
        let mut recent = self.recent.as_ref()?.lock();
        match recent.get(&author) {
            Some(s)
                if self.fresh(s, self.recent_ttl)
                    && (s.value.asked >= limit || s.value.ids.len() < s.value.asked) =>
            {
                Some(s.value.clone())
            }
            _ => None,
        }
    }

    /// Keep `ids`, the newest `asked` photo ids of `author` (all of them if
    /// shorter), read after [`PullCache::generation`] gave `generation`.
    /// Returns them as cached.
    pub fn fill_recent(
        &self,
        author: UserId,
        generation: u64,
        asked: usize,
        ids: Vec<PhotoId>,
    ) -> Arc<Recent> {
        let stamped = self.stamp(Recent { asked, ids });
        let value = stamped.value.clone();
        if let Some(recent) = &self.recent {
            let mut recent = recent.lock();
            if self.generation() == generation {
                recent.put(author, stamped);
            }
        }
        value
    }

    /// `reader` followed or unfollowed someone: drop their pull set.
    pub fn follows_changed(&self, reader: UserId) {
        if let Some(sets) = &self.sets {
            let mut sets = sets.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            sets.pop(&reader);
        }
    }

    /// `author` uploaded or deleted a photo: drop their recent ids.
    pub fn photos_changed(&self, author: UserId) {
        if let Some(recent) = &self.recent {
            let mut recent = recent.lock();
            self.generation.fetch_add(1, Ordering::AcqRel);
            recent.pop(&author);
        }
    }

    /// An author may have changed mode (crossed the hybrid threshold), or
    /// rows were loaded in bulk: every cached entry is stale.
    pub fn policy_changed(&self) {
        let _sets = self.sets.as_ref().map(|s| s.lock());
        let _recent = self.recent.as_ref().map(|r| r.lock());
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_fill_that_raced_an_invalidation_is_not_kept() {
        let c = PullCache::new(8, HOUR, HOUR);
        let g = c.generation();
        c.photos_changed(7);
        c.fill_recent(7, g, 10, vec![PhotoId(1)]);
        assert!(c.recent(7, 10).is_none());
        let g = c.generation();
        c.fill_recent(7, g, 10, vec![PhotoId(2), PhotoId(1)]);
        let ids = |r: Option<Arc<Recent>>| r.map(|r| r.ids().to_vec());
        assert_eq!(ids(c.recent(7, 1)), Some(vec![PhotoId(2), PhotoId(1)]));
        assert_eq!(
            ids(c.recent(7, 20)),
            Some(vec![PhotoId(2), PhotoId(1)]),
            "all there are"
        );
        c.photos_changed(7);
        assert!(c.recent(7, 1).is_none());
    }

    #[test]
    fn a_short_fill_does_not_answer_a_longer_ask() {
        let c = PullCache::new(8, HOUR, HOUR);
        let ids: Vec<PhotoId> = (0..5).rev().map(PhotoId).collect();
        c.fill_recent(3, c.generation(), 5, ids);
        assert_eq!(c.recent(3, 5).map(|r| r.ids().len()), Some(5));
        assert!(c.recent(3, 6).is_none(), "there may be more than 5");
    }

    #[test]
    fn sets_go_stale_on_follow_policy_change_and_age() {
        let c = PullCache::new(8, HOUR, HOUR);
        c.fill_pull_set(1, c.generation(), vec![9]);
        c.fill_pull_set(2, c.generation(), vec![9]);
        c.follows_changed(1);
        assert!(c.pull_set(1).is_none());
        assert_eq!(c.pull_set(2).as_deref(), Some(&vec![9]));
        c.policy_changed();
        assert!(c.pull_set(2).is_none());
        let aged = PullCache::new(8, Duration::ZERO, Duration::ZERO);
        aged.fill_pull_set(1, aged.generation(), vec![9]);
        assert!(aged.pull_set(1).is_none());
        let off = PullCache::new(0, HOUR, HOUR);
        off.fill_pull_set(1, off.generation(), vec![9]);
        assert!(off.pull_set(1).is_none());
    }
}
