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
//! - **Author modes** (hybrid): per author, whether the threshold puts them
//!   on pull, so that a reader's pull set is computed from the followee list
//!   alone once the followees' modes are known. Stale like pull sets: at once
//!   on a crossing through this server, after `set_ttl` otherwise.
//!
//! Concurrent misses of one author's recent ids read once: a refill holds the
//! author's refill lock ([`PullCache::refill_lock`], striped like the
//! counts), and a reader that waited for it looks again before reading. A
//! burst of readers of one expired author then costs one storage call, not
//! one each; when calls slow down (a slow shard) the herd would otherwise
//! grow with the call time and saturate the shard.
//!
//! A fill that raced an invalidation of its own entry is not kept: every
//! fill carries a [`Ticket`] taken before its read (the policy epoch and the
//! invalidation count of the entry's stripe) and is kept only if neither
//! moved meanwhile. Invalidations of other entries do not void it: under
//! load a server sees an upload or follow every few milliseconds, and a
//! count shared by every entry then voided nearly every fill.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lru::LruCache;
use parking_lot::Mutex;

use crate::id::PhotoId;
use crate::policy::{EdgeMode, UserId};

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

/// Invalidation counters per cache: an entry's key picks one of these.
const STRIPES: usize = 1024;

/// Taken before a fill's read, presented with the fill; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    count: u64,
}

/// The stripe of `key`, by Fibonacci hashing: neighbouring ids land on distant stripes.
fn stripe(key: UserId) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - STRIPES.trailing_zeros())) as usize
}

/// Invalidation counts of one cache's entries, striped by key.
struct Counts(Box<[AtomicU64]>);

impl Counts {
    fn new() -> Self {
        Counts((0..STRIPES).map(|_| AtomicU64::new(0)).collect())
    }

    fn of(&self, key: UserId) -> &AtomicU64 {
        &self.0[stripe(key)]
    }
}

/// An author's mode, with the policy epoch and the time it was read at.
#[derive(Clone, Copy)]
struct ModeEntry {
    epoch: u64,
    at: Instant,
    mode: EdgeMode,
}

/// The three caches (see the module docs). Capacity 0 turns them off.
pub struct PullCache {
    sets: Option<Mutex<LruCache<UserId, Stamped<Vec<UserId>>>>>,
    recent: Option<Mutex<LruCache<UserId, Stamped<Recent>>>>,
    modes: Option<Mutex<LruCache<UserId, ModeEntry>>>,
    /// Bumped when an author's mode may have changed: stales every entry.
    epoch: AtomicU64,
    /// Bumped by the invalidation of a pull set in their stripe.
    set_counts: Counts,
    /// Bumped by the invalidation of an author's recent ids in their stripe.
    recent_counts: Counts,
    /// Refill locks of recent ids, striped by author.
    refills: Box<[tokio::sync::Mutex<()>]>,
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
            modes: cap.map(|n| Mutex::new(LruCache::new(n))),
            epoch: AtomicU64::new(0),
            set_counts: Counts::new(),
            recent_counts: Counts::new(),
            refills: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            set_ttl,
            recent_ttl,
        }
    }

    fn ticket(&self, count: &AtomicU64) -> Ticket {
        Ticket {
            epoch: self.epoch.load(Ordering::Acquire),
            count: count.load(Ordering::Acquire),
        }
    }

    /// The ticket for a later [`PullCache::fill_pull_set`] of `reader`.
    pub fn set_ticket(&self, reader: UserId) -> Ticket {
        self.ticket(self.set_counts.of(reader))
    }

    /// The ticket for a later [`PullCache::fill_recent`] of `author`.
    pub fn recent_ticket(&self, author: UserId) -> Ticket {
        self.ticket(self.recent_counts.of(author))
    }

    /// The refill lock of `author`'s recent ids: hold it across a miss's read and fill,
    /// and look in the cache again once it is held (see the module docs).
    pub async fn refill_lock(&self, author: UserId) -> tokio::sync::MutexGuard<'_, ()> {
        self.refills[stripe(author)].lock().await
    }

    /// Whether a fill holding `ticket` may be kept (call under the map's lock).
    fn valid(&self, ticket: Ticket, count: &AtomicU64) -> bool {
        self.ticket(count) == ticket
    }

    fn fresh<T>(&self, s: &Stamped<T>, ttl: Duration) -> bool {
        s.epoch == self.epoch.load(Ordering::Acquire) && s.at.elapsed() < ttl
    }

    fn stamp<T>(ticket: Ticket, value: T) -> Stamped<T> {
        Stamped {
            epoch: ticket.epoch,
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

    /// Keep `reader`'s pull set, read after [`PullCache::set_ticket`] gave
    /// `ticket`.
    pub fn fill_pull_set(&self, reader: UserId, ticket: Ticket, set: Vec<UserId>) {
        if let Some(sets) = &self.sets {
            let mut sets = sets.lock();
            if self.valid(ticket, self.set_counts.of(reader)) {
                sets.put(reader, Self::stamp(ticket, set));
            }
        }
    }

    /// At least the newest `limit` photo ids of `author` (all of them if
    /// they have fewer), if fresh ones are cached.
    pub fn recent(&self, author: UserId, limit: usize) -> Option<Arc<Recent>> {
        let mut recent = self.recent.as_ref()?.lock();
        self.answer(recent.get(&author), limit)
    }

    /// [`PullCache::recent`] of each of `authors`, in order, under one lock:
    /// a feed read looks up every pulled author at once.
    pub fn recent_many(&self, authors: &[UserId], limit: usize) -> Vec<Option<Arc<Recent>>> {
        let Some(recent) = &self.recent else {
            return vec![None; authors.len()];
        };
        let mut recent = recent.lock();
        authors
            .iter()
            .map(|a| self.answer(recent.get(a), limit))
            .collect()
    }

    /// The ids of `entry` if it is fresh and holds the newest `limit` (or
    /// all there are).
    fn answer(&self, entry: Option<&Stamped<Recent>>, limit: usize) -> Option<Arc<Recent>> {
        let s = entry.filter(|s| self.fresh(s, self.recent_ttl))?;
        let whole = s.value.asked >= limit || s.value.ids.len() < s.value.asked;
        whole.then(|| s.value.clone())
    }

    /// Keep `ids`, the newest `asked` photo ids of `author` (all of them if
    /// shorter), read after [`PullCache::recent_ticket`] gave `ticket`.
    /// Returns them as cached.
    pub fn fill_recent(
        &self,
        author: UserId,
        ticket: Ticket,
        asked: usize,
        ids: Vec<PhotoId>,
    ) -> Arc<Recent> {
        let stamped = Self::stamp(ticket, Recent { asked, ids });
        let value = stamped.value.clone();
        if let Some(recent) = &self.recent {
            let mut recent = recent.lock();
            if self.valid(ticket, self.recent_counts.of(author)) {
                recent.put(author, stamped);
            }
        }
        value
    }

    /// The epoch for a later [`PullCache::fill_modes`].
    pub fn mode_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The cached mode of each of `authors` (`None` where unknown or stale).
    pub fn author_modes(&self, authors: &[UserId]) -> Vec<Option<EdgeMode>> {
        let Some(modes) = &self.modes else {
            return vec![None; authors.len()];
        };
        let epoch = self.epoch.load(Ordering::Acquire);
        let mut modes = modes.lock();
        authors
            .iter()
            .map(|a| match modes.get(a) {
                Some(e) if e.epoch == epoch && e.at.elapsed() < self.set_ttl => Some(e.mode),
                _ => None,
            })
            .collect()
    }

    /// Keep the modes of `found`, read after [`PullCache::mode_epoch`] gave
    /// `epoch`; dropped if an author changed mode meanwhile.
    pub fn fill_modes(&self, epoch: u64, found: &[(UserId, EdgeMode)]) {
        if let Some(modes) = &self.modes {
            let mut modes = modes.lock();
            if self.epoch.load(Ordering::Acquire) != epoch {
                return;
            }
            let at = Instant::now();
            for &(a, mode) in found {
                modes.put(a, ModeEntry { epoch, at, mode });
            }
        }
    }

    /// `reader` followed or unfollowed someone: drop their pull set.
    pub fn follows_changed(&self, reader: UserId) {
        if let Some(sets) = &self.sets {
            let mut sets = sets.lock();
            self.set_counts.of(reader).fetch_add(1, Ordering::AcqRel);
            sets.pop(&reader);
        }
    }

    /// `author` uploaded or deleted a photo: drop their recent ids.
    pub fn photos_changed(&self, author: UserId) {
        if let Some(recent) = &self.recent {
            let mut recent = recent.lock();
            self.recent_counts.of(author).fetch_add(1, Ordering::AcqRel);
            recent.pop(&author);
        }
    }

    /// An author may have changed mode (crossed the hybrid threshold), or
    /// rows were loaded in bulk: every cached entry is stale.
    pub fn policy_changed(&self) {
        let _sets = self.sets.as_ref().map(|s| s.lock());
        let _recent = self.recent.as_ref().map(|r| r.lock());
        let _modes = self.modes.as_ref().map(|m| m.lock());
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
#[path = "pull_cache_tests.rs"]
mod tests;
