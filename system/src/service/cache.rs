//! The metadata cache: an LRU of hot rows in front of the shards.
//!
//! Photo rows and user rows are immutable once written (a delete removes the
//! entry), so the cache never serves a stale row after a delete returns. Hit
//! and miss counters feed `/metrics` and the report.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::Mutex;

use crate::id::PhotoId;
use crate::policy::UserId;
use crate::tables::{PhotoRow, UserRow};

/// LRU caches of photo and user rows with hit/miss counters.
pub struct MetaCache {
    photos: Mutex<LruCache<PhotoId, Arc<PhotoRow>>>,
    users: Mutex<LruCache<UserId, Arc<UserRow>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl MetaCache {
    /// A cache holding up to `entries` photo rows and `entries / 4` user rows
    /// (at least one of each).
    pub fn new(entries: usize) -> Self {
        let photos = NonZeroUsize::new(entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        let users = NonZeroUsize::new((entries / 4).max(1)).unwrap_or(NonZeroUsize::MIN);
        MetaCache {
            photos: Mutex::new(LruCache::new(photos)),
            users: Mutex::new(LruCache::new(users)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn count(&self, hit: bool) {
        if hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The cached photo row, counting a hit or a miss.
    pub fn photo(&self, id: PhotoId) -> Option<Arc<PhotoRow>> {
        let got = self.photos.lock().get(&id).cloned();
        self.count(got.is_some());
        got
    }

    /// Cache a photo row.
    pub fn put_photo(&self, row: Arc<PhotoRow>) {
        self.photos.lock().put(row.id, row);
    }

    /// Forget a photo (after delete).
    pub fn remove_photo(&self, id: PhotoId) {
        self.photos.lock().pop(&id);
    }

    /// The cached user row, counting a hit or a miss.
    pub fn user(&self, id: UserId) -> Option<Arc<UserRow>> {
        let got = self.users.lock().get(&id).cloned();
        self.count(got.is_some());
        got
    }

    /// Cache a user row.
    pub fn put_user(&self, row: Arc<UserRow>) {
        self.users.lock().put(row.id, row);
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that went to a shard.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// hits / (hits + misses), or 0 before any lookup.
    pub fn hit_ratio(&self) -> f64 {
        let (h, m) = (self.hits(), self.misses());
        if h + m == 0 {
            0.0
        } else {
            h as f64 / (h + m) as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64) -> Arc<PhotoRow> {
        Arc::new(PhotoRow {
            id: PhotoId(id),
            owner: 1,
            title: String::new(),
            content_type: "image/png".into(),
            size: 1,
            blob: String::new(),
            created_ms: 0,
        })
    }

    #[test]
    fn counts_hits_and_misses_and_evicts_lru() {
        let c = MetaCache::new(2);
        assert!(c.photo(PhotoId(1)).is_none());
        c.put_photo(row(1));
        c.put_photo(row(2));
        assert!(c.photo(PhotoId(1)).is_some());
        c.put_photo(row(3)); // evicts 2, the least recently used
        assert!(c.photo(PhotoId(2)).is_none());
        assert!(c.photo(PhotoId(3)).is_some());
        assert_eq!((c.hits(), c.misses()), (2, 2));
        c.remove_photo(PhotoId(3));
        assert!(c.photo(PhotoId(3)).is_none());
        assert!((c.hit_ratio() - 0.4).abs() < 1e-9);
    }
}
