//! Physical shards: one [`MetaStore`] per shard, each behind a bounded pool.
//!
//! A real database server admits a fixed number of concurrent queries; the
//! rest wait. [`Shard`] models that with a semaphore in front of its store, so
//! a hot shard queues and the queueing shows in latency. The queue is
//! bounded: a call that finds `queue` others already waiting fails at once
//! with [`Error::Unavailable`] (503), and so is counted in `refused`. Per-shard counters
//! (ops and time spent waiting for a permit) feed the skew report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::meta::{CasOutcome, Direction, Entry, KeyRange, MetaStore, WriteBatch};
use crate::policy::{Partitioner, ShardId, ShardKey};

/// Operation counters of one shard.
#[derive(Debug, Default)]
pub struct ShardCounters {
    /// Point reads (`get`, and each key of a `batch_get`).
    pub reads: AtomicU64,
    /// Scans.
    pub scans: AtomicU64,
    /// Atomic batches and cas calls.
    pub writes: AtomicU64,
    /// Total µs spent waiting for a permit.
    pub wait_us: AtomicU64,
    /// Calls refused because the queue was full.
    pub refused: AtomicU64,
}

/// A snapshot of [`ShardCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ShardLoad {
    /// Shard index.
    pub shard: ShardId,
    /// Point reads.
    pub reads: u64,
    /// Scans.
    pub scans: u64,
    /// Writes.
    pub writes: u64,
    /// µs spent queued for a permit.
    pub wait_us: u64,
    /// Calls refused because the queue was full.
    pub refused: u64,
}

impl ShardLoad {
    /// All operations.
    pub fn ops(&self) -> u64 {
        self.reads + self.scans + self.writes
    }
}

/// One physical shard: a store with bounded concurrency and counters.
pub struct Shard {
    store: Arc<dyn MetaStore>,
    permits: Semaphore,
    waiting: AtomicU64,
    queue: u64,
    counters: ShardCounters,
}

impl Shard {
    /// Wrap `store`, admitting at most `concurrency` operations at once
    /// and queueing at most `queue` more.
    pub fn new(store: Arc<dyn MetaStore>, concurrency: usize, queue: usize) -> Self {
        Shard {
            store,
            permits: Semaphore::new(concurrency.max(1)),
            waiting: AtomicU64::new(0),
            queue: queue as u64,
            counters: ShardCounters::default(),
        }
    }

    async fn admit(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        if let Ok(p) = self.permits.try_acquire() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Error::Unavailable("the shard's queue is full".into()));
        }
        let t0 = Instant::now();
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.map_err(|_| Error::Unavailable("shard closed".into()))?;
        let waited = t0.elapsed().as_micros() as u64;
        self.counters.wait_us.fetch_add(waited, Ordering::Relaxed);
        Ok(permit)
    }

    /// See [`MetaStore::get`].
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let _p = self.admit().await?;
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
        self.store.get(key).await
    }

    /// See [`MetaStore::batch_get`].
    pub async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let _p = self.admit().await?;
        self.counters
            .reads
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        self.store.batch_get(keys).await
    }

    /// See [`MetaStore::scan`].
    pub async fn scan(&self, range: &KeyRange, dir: Direction, limit: usize) -> Result<Vec<Entry>> {
        let _p = self.admit().await?;
        self.counters.scans.fetch_add(1, Ordering::Relaxed);
        self.store.scan(range, dir, limit).await
    }

    /// Scan a whole prefix in pages of `page` entries, oldest first.
    pub async fn scan_all(&self, prefix: &[u8], page: usize) -> Result<Vec<Entry>> {
        let mut range = KeyRange::prefix(prefix);
        let mut out = Vec::new();
        loop {
            let batch = self.scan(&range, Direction::Forward, page).await?;
            let n = batch.len();
            if let Some((last, _)) = batch.last() {
                let mut next = last.clone();
                next.push(0);
                range.start = next;
            }
            out.extend(batch);
            if n < page {
                return Ok(out);
            }
        }
    }

    /// See [`MetaStore::write`]; empty batches are skipped.
    pub async fn write(&self, batch: WriteBatch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let _p = self.admit().await?;
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
        self.store.write(batch).await
    }

    /// See [`MetaStore::cas`].
    pub async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        let _p = self.admit().await?;
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
        self.store.cas(key, expected, new).await
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<dyn MetaStore> {
        &self.store
    }
}

/// How many operations each shard admits at once, and how many may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardLimits {
    /// Operations running at once.
    pub concurrency: usize,
    /// Operations that may wait for a permit; more fail at once.
    pub queue: usize,
}

/// All physical shards plus the partitioner that places keys on them.
pub struct ShardSet {
    shards: Vec<Shard>,
    partitioner: Partitioner,
}

impl ShardSet {
    /// One shard per store, each admitting operations within `limits`; the
    /// partitioner's shard count must match.
    pub fn new(
        stores: Vec<Arc<dyn MetaStore>>,
        partitioner: Partitioner,
        limits: ShardLimits,
    ) -> Result<Self> {
        if stores.len() != partitioner.shard_count() {
            return Err(Error::InvalidInput(format!(
                "{} stores for {} shards",
                stores.len(),
                partitioner.shard_count()
            )));
        }
        let shards = stores
            .into_iter()
            .map(|s| Shard::new(s, limits.concurrency, limits.queue))
            .collect();
        Ok(ShardSet {
            shards,
            partitioner,
        })
    }

    /// The shard holding `key`.
    pub fn of(&self, key: ShardKey) -> &Shard {
        &self.shards[self.partitioner.shard_of(key) % self.shards.len()]
    }

    /// Index of the shard holding `key`.
    pub fn index_of(&self, key: ShardKey) -> ShardId {
        self.partitioner.shard_of(key) % self.shards.len()
    }

    /// Shard by index (`i < len()`).
    pub fn get(&self, i: ShardId) -> &Shard {
        &self.shards[i]
    }

    /// All shards.
    pub fn all(&self) -> &[Shard] {
        &self.shards
    }

    /// Number of shards.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Always false: a set has at least one shard.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// The placement policy.
    pub fn partitioner(&self) -> &Partitioner {
        &self.partitioner
    }

    /// Per-shard counters now.
    pub fn loads(&self) -> Vec<ShardLoad> {
        self.shards
            .iter()
            .enumerate()
            .map(|(i, s)| ShardLoad {
                shard: i,
                reads: s.counters.reads.load(Ordering::Relaxed),
                scans: s.counters.scans.load(Ordering::Relaxed),
                writes: s.counters.writes.load(Ordering::Relaxed),
                wait_us: s.counters.wait_us.load(Ordering::Relaxed),
                refused: s.counters.refused.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Busiest shard's ops over the mean (1.0 = perfectly even).
    pub fn load_max_over_mean(&self) -> f64 {
        let ops: Vec<u64> = self.loads().iter().map(ShardLoad::ops).collect();
        let total: u64 = ops.iter().sum();
        if total == 0 {
            return 1.0;
        }
        let mean = total as f64 / ops.len() as f64;
        ops.iter().copied().max().unwrap_or(0) as f64 / mean
    }

    /// Sum of the stores' approximate sizes.
    pub fn approximate_bytes(&self) -> u64 {
        self.shards
            .iter()
            .filter_map(|s| s.store.approximate_bytes())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::SlowMeta;
    use crate::meta::FjallStore;

    #[tokio::test]
    async fn a_call_beyond_the_queue_fails_at_once_and_is_counted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = FjallStore::open(dir.path()).expect("open");
        let slow = SlowMeta::new(Arc::new(store), std::time::Duration::from_millis(300));
        let shard = Arc::new(Shard::new(Arc::new(slow), 1, 1));
        let hold = |s: Arc<Shard>| tokio::spawn(async move { s.get(b"k").await });
        let running = hold(shard.clone());
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let queued = hold(shard.clone());
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let refused = shard.get(b"k").await;
        assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
        assert_eq!(shard.counters.refused.load(Ordering::Relaxed), 1);
        assert!(running.await.expect("task").is_ok());
        assert!(
            queued.await.expect("task").is_ok(),
            "a queued call waits, and runs"
        );
    }
}
