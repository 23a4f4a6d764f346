//! Counters kept in memory between store writes: photo views and feed reads
//! (flushed to the stores every second) and timeline inserts since each
//! timeline's last trim.
//!
//! Views and reads are derived data: a crash loses at most the last second
//! of them. The trim counters decide when a timeline is trimmed back to
//! `timeline-cap`: on its first insert after start and then every
//! `cap / 4` inserts.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::WriteBatch;
use crate::policy::{ShardKey, UserId};
use crate::service::Service;
use crate::tables;

/// Unflushed view and read counts, and inserts since the last trim.
#[derive(Default)]
pub struct Counters {
    views: Mutex<HashMap<PhotoId, u64>>,
    reads: Mutex<HashMap<UserId, u64>>,
    trims: Mutex<HashMap<UserId, usize>>,
}

impl Counters {
    /// Count one view of `pid` (flushed to the `v/` table every second).
    pub fn count_view(&self, pid: PhotoId) {
        *self.views.lock().entry(pid).or_default() += 1;
    }

    /// Count one feed read by `reader` (flushed to its stats every second).
    pub fn count_read(&self, reader: UserId) {
        *self.reads.lock().entry(reader).or_default() += 1;
    }

    /// Stored plus unflushed view counts of `ids`.
    pub async fn views(&self, svc: &Service, ids: &[PhotoId]) -> Result<HashMap<PhotoId, u64>> {
        let mut out = HashMap::new();
        for &id in ids {
            let shard = svc.inner.shards.of(ShardKey::Photo(id));
            let stored = match shard.get(&tables::views(id)).await? {
                Some(b) => tables::decode_u64(&b)?,
                None => 0,
            };
            out.insert(id, stored);
        }
        for (id, d) in self.views.lock().iter() {
            if let Some(v) = out.get_mut(id) {
                *v += d;
            }
        }
        Ok(out)
    }

    /// Write the unflushed view and feed-read counts to the stores.
    pub(super) async fn flush(&self, svc: &Service) -> Result<()> {
        let views: Vec<(PhotoId, u64)> = self.views.lock().drain().collect();
        for (pid, d) in views {
            let shard = svc.inner.shards.of(ShardKey::Photo(pid));
            let key = tables::views(pid);
            let cur = match shard.get(&key).await? {
                Some(b) => tables::decode_u64(&b)?,
                None => 0,
            };
            let mut b = WriteBatch::buffered();
            b.put(key, (cur + d).to_be_bytes().to_vec());
            shard.write(b).await?;
        }
        let reads: Vec<(UserId, u64)> = self.reads.lock().drain().collect();
        for (uid, d) in reads {
            svc.update_stats(uid, |s| s.feed_reads += d).await?;
        }
        Ok(())
    }

    /// Count `inserts` new entries per timeline and return the timelines due
    /// for a trim: those seen for the first time since start and those whose
    /// count reached `every` (their count restarts at zero).
    pub(super) fn trims_due(&self, inserts: HashMap<UserId, usize>, every: usize) -> Vec<UserId> {
        let mut counts = self.trims.lock();
        let mut due = Vec::new();
        for (f, n) in inserts {
            match counts.get_mut(&f) {
                Some(c) if *c + n < every => *c += n,
                Some(c) => {
                    *c = 0;
                    due.push(f);
                }
                None => {
                    counts.insert(f, 0);
                    due.push(f);
                }
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_is_trimmed_on_first_touch_then_every_interval() {
        let c = Counters::default();
        let due = |n: usize| c.trims_due(HashMap::from([(5, n)]), 4);
        assert_eq!(due(1), vec![5], "first touch since start");
        assert!(due(1).is_empty() && due(2).is_empty(), "3 of 4 inserts");
        assert_eq!(due(1), vec![5], "the 4th insert");
        assert!(due(3).is_empty());
        assert_eq!(due(10), vec![5], "a batch past the interval");
        assert!(due(1).is_empty(), "the count restarted");
    }

    #[test]
    fn timelines_are_counted_apart() {
        let c = Counters::default();
        let mut first = c.trims_due(HashMap::from([(1, 1), (2, 1)]), 2);
        first.sort_unstable();
        assert_eq!(first, vec![1, 2]);
        assert_eq!(c.trims_due(HashMap::from([(1, 2), (2, 1)]), 2), vec![1]);
    }
}
