//! [`MetaStore`] for [`FjallStore`]: small reads inline, the rest on the
//! blocking pool (see the parent module's docs).

use std::sync::atomic::Ordering;

use async_trait::async_trait;

use super::{FjallStore, INLINE_BATCH_GET, INLINE_SCAN_LIMIT};
use crate::error::Result;
use crate::meta::{CasOutcome, Direction, Entry, KeyRange, MetaStore, ReadStats, WriteBatch};

#[async_trait]
impl MetaStore for FjallStore {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get_in(&self.inner.db.snapshot(), key)
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.len() <= INLINE_BATCH_GET {
            return self.inner.batch_get(keys);
        }
        let keys = keys.to_vec();
        self.blocking(move |s| s.batch_get(&keys)).await
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        if limit <= INLINE_SCAN_LIMIT {
            return self.inner.scan(range, direction, limit);
        }
        let range = range.clone();
        self.blocking(move |s| s.scan(&range, direction, limit))
            .await
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.blocking(move |s| s.write(batch)).await
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        let key = key.to_vec();
        let expected = expected.map(<[u8]>::to_vec);
        self.blocking(move |s| s.cas(&key, expected.as_deref(), new))
            .await
    }

    fn approximate_bytes(&self) -> Option<u64> {
        self.inner.db.disk_space().ok()
    }

    fn read_stats(&self) -> Option<ReadStats> {
        Some(ReadStats {
            keys_read: self.inner.keys_read.load(Ordering::Relaxed),
            log_bytes_replayed: self.inner.replayed,
            log_bytes_found: self.inner.journal_bytes,
        })
    }

    async fn checkpoint(&self) -> Result<()> {
        self.checkpoint_bounded().await
    }
}
