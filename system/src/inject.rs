//! Deliberate slowdowns, for validating the tools that must notice them (the regression gate,
//! fault studies). All knobs are off by default; a run reports them when any is on.
//!
//! - `cpu-us`: extra CPU per op kind, a busy loop that burns that many µs of this thread's CPU
//!   at the start of each op of the kind (`upload`, `feed`, `photo_get`, `search`, `follow`,
//!   `unfollow`);
//! - `storage-delay-us` on `storage-delay-shards` (all shards when empty): a sleep before every
//!   metadata storage call on those shards, as a slow disk or a distant replica would add;
//! - `feed-extra-calls`: that many extra point reads on the reader's shard per feed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::meta::{CasOutcome, Direction, Entry, KeyRange, MetaStore, WriteBatch};
use crate::timing::thread_cpu_ns;

/// The op kinds `cpu-us` accepts.
pub const OP_KINDS: [&str; 6] = [
    "upload",
    "feed",
    "photo_get",
    "search",
    "follow",
    "unfollow",
];

/// The `[system.inject]` table; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct InjectConfig {
    /// Extra CPU per op, µs, by op kind.
    pub cpu_us: BTreeMap<String, u64>,
    /// Extra wall delay per metadata storage call, µs.
    pub storage_delay_us: u64,
    /// Shards that get `storage_delay_us`; empty means every shard.
    pub storage_delay_shards: Vec<usize>,
    /// Extra storage calls per feed.
    pub feed_extra_calls: u32,
}

impl InjectConfig {
    /// Whether every knob is off.
    pub fn is_off(&self) -> bool {
        self.cpu_us.values().all(|&us| us == 0)
            && self.storage_delay_us == 0
            && self.feed_extra_calls == 0
    }

    /// Rejects unknown op kinds and shards outside `0..shards`.
    pub fn validate(&self, shards: usize) -> Result<()> {
        if let Some(op) = self.cpu_us.keys().find(|k| !OP_KINDS.contains(&k.as_str())) {
            return Err(Error::InvalidInput(format!(
                "inject.cpu-us: unknown op kind {op:?}; expected one of {}",
                OP_KINDS.join(", ")
            )));
        }
        if let Some(s) = self.storage_delay_shards.iter().find(|&&s| s >= shards) {
            return Err(Error::InvalidInput(format!(
                "inject.storage-delay-shards: shard {s} does not exist (shards: {shards})"
            )));
        }
        Ok(())
    }

    /// Burns the configured CPU of `op` on this thread (nothing when none is set).
    pub fn burn(&self, op: &str) {
        if let Some(&us) = self.cpu_us.get(op).filter(|&&us| us > 0) {
            burn_cpu_ns(us.saturating_mul(1_000));
        }
    }

    /// The delay to add to every call on `shard`, if any.
    pub fn delay_for(&self, shard: usize) -> Option<Duration> {
        let hit =
            self.storage_delay_shards.is_empty() || self.storage_delay_shards.contains(&shard);
        (self.storage_delay_us > 0 && hit).then(|| Duration::from_micros(self.storage_delay_us))
    }
}

/// Spins until this thread has used `ns` more nanoseconds of CPU (or, if its CPU clock
/// cannot be read, that much wall time).
pub fn burn_cpu_ns(ns: u64) {
    let start = thread_cpu_ns();
    if start == 0 && thread_cpu_ns() == 0 {
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_nanos(ns) {
            std::hint::spin_loop();
        }
        return;
    }
    while thread_cpu_ns().saturating_sub(start) < ns {
        std::hint::spin_loop();
    }
}

/// A [`MetaStore`] that sleeps `delay` before every call, then calls the wrapped store.
pub struct SlowMeta {
    inner: Arc<dyn MetaStore>,
    delay: Duration,
}

impl SlowMeta {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn MetaStore>, delay: Duration) -> Self {
        SlowMeta { inner, delay }
    }
}

impl std::fmt::Debug for SlowMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowMeta")
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MetaStore for SlowMeta {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        tokio::time::sleep(self.delay).await;
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        tokio::time::sleep(self.delay).await;
        self.inner.batch_get(keys).await
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        tokio::time::sleep(self.delay).await;
        self.inner.scan(range, direction, limit).await
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        tokio::time::sleep(self.delay).await;
        self.inner.write(batch).await
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        tokio::time::sleep(self.delay).await;
        self.inner.cas(key, expected, new).await
    }

    fn approximate_bytes(&self) -> Option<u64> {
        self.inner.approximate_bytes()
    }

    fn read_stats(&self) -> Option<crate::meta::ReadStats> {
        self.inner.read_stats()
    }

    async fn checkpoint(&self) -> Result<()> {
        self.inner.checkpoint().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_by_default_and_validated() {
        let mut c = InjectConfig::default();
        assert!(c.is_off());
        assert!(c.validate(4).is_ok());
        c.cpu_us.insert("fed".into(), 10);
        let err = c.validate(4).expect_err("an unknown op kind is refused");
        assert!(err.to_string().contains("fed"));
        c.cpu_us.clear();
        c.storage_delay_us = 5;
        c.storage_delay_shards = vec![4];
        assert!(c.validate(4).is_err());
        c.storage_delay_shards = vec![1];
        assert!(!c.is_off());
        assert_eq!(c.delay_for(1), Some(Duration::from_micros(5)));
        assert_eq!(c.delay_for(0), None);
    }

    #[test]
    fn burn_uses_at_least_the_asked_cpu() {
        let t0 = thread_cpu_ns();
        burn_cpu_ns(2_000_000);
        assert!(thread_cpu_ns() - t0 >= 2_000_000);
    }
}
