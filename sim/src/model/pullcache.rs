//! The service's pull cache in the model: each reader's pull set and each pulled author's
//! newest photo ids are kept for a time-to-live, as `feedlab_system::service::pull_cache`
//! keeps them, so a warm feed read skips the followee scan, the stats reads and the scans of
//! authors read within the TTL.
//!
//! - Hybrid's author modes: whether an author is pulled depends on the author alone, so
//!   the service keeps each author's mode for the pull-set TTL, and a reader's pull-set
//!   miss reads the counters of the followees whose mode it does not hold
//!   ([`PullCache::mode_hit`]), not every followee's and the reader's own.
//!
//! Modelled only where followees are individual (the scaled population) and every user fits
//! in the cache (`entries` ≥ users), so no eviction happens; elsewhere the model reads
//! through, as the service does with the cache off. A reader's follow or unfollow drops
//! their pull set, and an author's upload drops their ids, when the op completes. Threshold
//! crossings (which drop every entry in the service) are not modelled.

use crate::engine::SimTime;

/// The service's pull-cache settings, as `feedlab serve` takes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PullCacheParams {
    /// Readers, and authors, each cache holds (0: off).
    pub entries: usize,
    /// Age, ms, past which a pull set is read again.
    pub set_ttl_ms: u64,
    /// Age, ms, past which an author's ids are read again.
    pub recent_ttl_ms: u64,
}

/// When each reader's pull set and each author's ids were last read from the stores.
#[derive(Debug, Clone)]
pub(crate) struct PullCache {
    set: Vec<Option<SimTime>>,
    recent: Vec<Option<SimTime>>,
    mode: Vec<Option<SimTime>>,
    set_ttl: SimTime,
    recent_ttl: SimTime,
}

impl PullCache {
    /// A cache for `users` users under `p`, or `None` where it is not modelled (off, or
    /// more users than entries).
    pub fn new(users: usize, p: &PullCacheParams) -> Option<Self> {
        (p.entries > 0 && users > 0 && users <= p.entries).then(|| PullCache {
            set: vec![None; users],
            recent: vec![None; users],
            mode: vec![None; users],
            set_ttl: p.set_ttl_ms.saturating_mul(1_000_000),
            recent_ttl: p.recent_ttl_ms.saturating_mul(1_000_000),
        })
    }

    /// Whether `reader`'s pull set is cached at `now`; on a miss it is read, so it is
    /// cached from `now` on.
    pub fn set_hit(&mut self, reader: u64, now: SimTime) -> bool {
        hit(&mut self.set, reader, now, self.set_ttl)
    }

    /// Whether `author`'s ids are cached at `now`; on a miss they are read, so they are
    /// cached from `now` on.
    pub fn recent_hit(&mut self, author: u64, now: SimTime) -> bool {
        hit(&mut self.recent, author, now, self.recent_ttl)
    }

    /// Whether `author`'s hybrid mode is cached at `now`; on a miss their counters are
    /// read, so it is cached from `now` on (for the pull-set TTL).
    pub fn mode_hit(&mut self, author: u64, now: SimTime) -> bool {
        hit(&mut self.mode, author, now, self.set_ttl)
    }

    /// `reader` followed or unfollowed someone: their pull set is read again.
    pub fn followed(&mut self, reader: u64) {
        if let Some(s) = self.set.get_mut(reader as usize) {
            *s = None;
        }
    }

    /// `author` uploaded: their ids are read again.
    pub fn uploaded(&mut self, author: u64) {
        if let Some(s) = self.recent.get_mut(author as usize) {
            *s = None;
        }
    }
}

fn hit(at: &mut [Option<SimTime>], who: u64, now: SimTime, ttl: SimTime) -> bool {
    let Some(slot) = at.get_mut(who as usize) else {
        return false;
    };
    match *slot {
        Some(t) if now.saturating_sub(t) < ttl => true,
        _ => {
            *slot = Some(now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: SimTime = 1_000_000;

    fn cache() -> PullCache {
        let p = PullCacheParams {
            entries: 10,
            set_ttl_ms: 30_000,
            recent_ttl_ms: 1_000,
        };
        PullCache::new(4, &p).expect("modelled")
    }

    #[test]
    fn entries_hit_within_their_ttl_and_refill_after() {
        let mut c = cache();
        assert!(!c.recent_hit(2, 0), "cold");
        assert!(c.recent_hit(2, 999 * MS));
        assert!(!c.recent_hit(2, 1_000 * MS), "expired, read again");
        assert!(c.recent_hit(2, 1_500 * MS));
        assert!(!c.set_hit(1, 0));
        assert!(c.set_hit(1, 29_999 * MS));
        assert!(!c.recent_hit(9, 0), "out of range never hits");
        assert!(!c.mode_hit(2, 0), "a mode is apart from the ids");
        assert!(c.mode_hit(2, 29_999 * MS));
        assert!(
            !c.mode_hit(2, 30_000 * MS),
            "modes live as long as pull sets"
        );
    }

    #[test]
    fn uploads_and_follows_drop_their_entries() {
        let mut c = cache();
        c.recent_hit(3, 0);
        c.set_hit(3, 0);
        c.uploaded(3);
        assert!(!c.recent_hit(3, MS));
        assert!(c.set_hit(3, MS), "an upload keeps the pull set");
        c.followed(3);
        assert!(!c.set_hit(3, 2 * MS));
    }

    #[test]
    fn not_modelled_when_off_or_too_small() {
        let p = |entries| PullCacheParams {
            entries,
            set_ttl_ms: 1,
            recent_ttl_ms: 1,
        };
        assert!(PullCache::new(4, &p(0)).is_none());
        assert!(PullCache::new(11, &p(10)).is_none());
        assert!(PullCache::new(10, &p(10)).is_some());
    }
}
