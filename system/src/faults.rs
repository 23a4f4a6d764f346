//! Fault windows at run time: a switchboard the service owns and a harness flips.
//!
//! [`Faults`] is a cheap-to-clone handle (an `Arc` of atomics) with four switches:
//!
//! - a per-shard extra delay ([`Faults::set_shard_delay`]): every metadata storage call on the
//!   shard sleeps that much longer before it runs;
//! - a per-shard down flag ([`Faults::set_shard_down`]): every metadata storage call on the
//!   shard fails at once with [`Error::Unavailable`] (503 `unavailable` over HTTP);
//! - the materializer pause ([`Faults::set_materializer_paused`]): fan-out workers hold the
//!   batch they took until the pause is lifted, then apply it, so nothing queued is lost;
//! - the blob store stop ([`Faults::set_blob_stopped`]): every blob call fails at once with
//!   [`Error::Unavailable`], as a stopped blob server looks to the service (see [`blobs`]).
//!
//! [`FaultMeta`] wraps one shard's [`MetaStore`] and reads the shard's switch word on every
//! call: one relaxed atomic load when nothing is set. The service installs it on every shard
//! (inside the timed wrapper, so a delay shows in the shard's call time) and hands the
//! switchboard out through [`crate::Service::faults`]; [`FaultBlobs`] wraps its blob store the
//! same way. [`damage_replica`] is the one-shot fault: it deletes or corrupts one replica's
//! copy of stored blobs in a local replicated store. Switches stay as set until changed;
//! [`Faults::clear`] lifts them all (`Service::shutdown` does, so a paused materializer
//! cannot hold shutdown).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::error::{Error, Result};
use crate::meta::{CasOutcome, Direction, Entry, KeyRange, MetaStore, WriteBatch};

pub mod blobs;

pub use blobs::{Damage, FaultBlobs, ReadBack, ReplicaDamage, damage_replica, readable};

/// Bit of a shard's switch word that marks it down; the low bits hold its extra delay, µs.
const DOWN: u64 = 1 << 63;

struct Switches {
    /// One word per shard: [`DOWN`] | extra delay in µs.
    shards: Vec<AtomicU64>,
    /// True while the materializer is paused.
    paused: watch::Sender<bool>,
    /// True while the blob store is stopped.
    blob_stopped: AtomicBool,
}

/// The fault switchboard of one service; see the module docs.
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Switches>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("shards", &self.inner.shards.len())
            .field("paused", &self.materializer_paused())
            .field("blob_stopped", &self.blob_stopped())
            .finish()
    }
}

impl Faults {
    /// A switchboard for `shards` shards with every switch off.
    pub fn new(shards: usize) -> Faults {
        Faults {
            inner: Arc::new(Switches {
                shards: (0..shards).map(|_| AtomicU64::new(0)).collect(),
                paused: watch::channel(false).0,
                blob_stopped: AtomicBool::new(false),
            }),
        }
    }

    fn word(&self, shard: usize) -> Result<&AtomicU64> {
        self.inner.shards.get(shard).ok_or_else(|| {
            Error::InvalidInput(format!(
                "fault on shard {shard}: the service has {} shards",
                self.inner.shards.len()
            ))
        })
    }

    /// Every metadata call on `shard` sleeps `extra` more (zero: no extra delay), until set
    /// again. Fails with [`Error::InvalidInput`] for a shard outside `0..shards`.
    pub fn set_shard_delay(&self, shard: usize, extra: Duration) -> Result<()> {
        let us = u64::try_from(extra.as_micros()).unwrap_or(u64::MAX) & !DOWN;
        let word = self.word(shard)?;
        let _ = word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            Some((w & DOWN) | us)
        });
        Ok(())
    }

    /// While `down`, every metadata call on `shard` fails with [`Error::Unavailable`]. Fails
    /// with [`Error::InvalidInput`] for a shard outside `0..shards`.
    pub fn set_shard_down(&self, shard: usize, down: bool) -> Result<()> {
        let word = self.word(shard)?;
        if down {
            word.fetch_or(DOWN, Ordering::AcqRel);
        } else {
            word.fetch_and(!DOWN, Ordering::AcqRel);
        }
        Ok(())
    }

    /// While paused, materializer workers apply nothing; they resume with the work they hold
    /// when the pause is lifted.
    pub fn set_materializer_paused(&self, paused: bool) {
        self.inner.paused.send_replace(paused);
    }

    /// Whether the materializer is paused now.
    pub fn materializer_paused(&self) -> bool {
        *self.inner.paused.borrow()
    }

    /// Returns at once when the materializer is not paused, else when the pause is lifted
    /// (without polling).
    pub async fn materializer_resumed(&self) {
        if !self.materializer_paused() {
            return;
        }
        let mut rx = self.inner.paused.subscribe();
        // The sender lives as long as `self`, so this only ends when the pause is lifted.
        let _ = rx.wait_for(|paused| !*paused).await;
    }

    /// While `stopped`, every call on the blob store fails with [`Error::Unavailable`] (see
    /// [`FaultBlobs`]).
    pub fn set_blob_stopped(&self, stopped: bool) {
        self.inner.blob_stopped.store(stopped, Ordering::Release);
    }

    /// Whether the blob store is stopped now.
    pub fn blob_stopped(&self) -> bool {
        self.inner.blob_stopped.load(Ordering::Relaxed)
    }

    /// Whether `shard` is down now (false for a shard outside `0..shards`).
    pub fn shard_down(&self, shard: usize) -> bool {
        self.load(shard) & DOWN != 0
    }

    /// The extra delay of every call on `shard` now.
    pub fn shard_delay(&self, shard: usize) -> Duration {
        Duration::from_micros(self.load(shard) & !DOWN)
    }

    fn load(&self, shard: usize) -> u64 {
        self.inner
            .shards
            .get(shard)
            .map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// Lifts every switch.
    pub fn clear(&self) {
        for w in &self.inner.shards {
            w.store(0, Ordering::Release);
        }
        self.set_materializer_paused(false);
        self.set_blob_stopped(false);
    }

    /// The number of shards this switchboard covers.
    pub fn shards(&self) -> usize {
        self.inner.shards.len()
    }

    /// Wraps `store`, shard `shard`'s, so that its calls obey this switchboard.
    pub fn wrap(&self, shard: usize, store: Arc<dyn MetaStore>) -> Arc<dyn MetaStore> {
        Arc::new(FaultMeta {
            inner: store,
            faults: self.clone(),
            shard,
        })
    }

    /// What a call on `shard` must do first: fail, sleep, or nothing.
    async fn before_call(&self, shard: usize) -> Result<()> {
        let w = self.load(shard);
        if w == 0 {
            return Ok(());
        }
        if w & DOWN != 0 {
            return Err(Error::Unavailable(format!("shard {shard} is down")));
        }
        tokio::time::sleep(Duration::from_micros(w)).await;
        Ok(())
    }
}

/// A [`MetaStore`] that obeys its shard's switches in a [`Faults`] board, then calls the
/// wrapped store. Built by [`Faults::wrap`].
pub struct FaultMeta {
    inner: Arc<dyn MetaStore>,
    faults: Faults,
    shard: usize,
}

impl std::fmt::Debug for FaultMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultMeta")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MetaStore for FaultMeta {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.faults.before_call(self.shard).await?;
        self.inner.get(key).await
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        self.faults.before_call(self.shard).await?;
        self.inner.batch_get(keys).await
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        self.faults.before_call(self.shard).await?;
        self.inner.scan(range, direction, limit).await
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        self.faults.before_call(self.shard).await?;
        self.inner.write(batch).await
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        self.faults.before_call(self.shard).await?;
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
mod tests;
