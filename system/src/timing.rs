//! Service times measured at the storage seams of a running service: [`TimedMeta`] and
//! [`TimedBlobs`] wrap any [`MetaStore`] or [`BlobStore`] and record how long each call took,
//! with its size, into a shared [`Recorder`].
//!
//! This is the in-situ calibration of a live run. `feedlab calibrate` times each primitive on
//! a small fresh store, one call at a time; a live run's store is larger, is being written by
//! the fan-out while it is read, spans memtables and several on-disk segments, and wakes idle
//! threads for its blocking calls. Measured on the scaled quickstart, the same primitives took
//! 1.5–5× longer in the live run than in `feedlab calibrate`, so a simulator fed with the
//! synthetic figures ran fast. `feedlab run` therefore records every primitive while the
//! driver runs and writes them next to its summary as `calibration.toml`.
//!
//! Recorded op names are those of the simulator's calibration: `get` (size 1), `batch-get`
//! (keys), `scan` (rows returned), `write` (durable batch, ops), `timeline-insert` (buffered
//! batch, ops), `cas` (1), `blob-put` and `blob-get` (KiB). `head` and `delete` pass through
//! unrecorded, as do failed calls. The wrappers add one clock read before and after a call and
//! a short mutex hold; nothing is recorded until [`Recorder::start`].
//!
//! A caller can also learn how much of one operation was spent in storage calls: run it under
//! [`scoped`], and every timed call made by that task adds its duration to the scope. The live
//! run uses this to record each op's app-side time (`app-feed`, `app-photo_get`, ...: the
//! op's wall time less its storage calls), which the simulator draws for the app-server step.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;

use crate::blob::{BlobKey, BlobMeta, BlobStore};
use crate::error::Result;
use crate::meta::{CasOutcome, Direction, Durability, Entry, KeyRange, MetaStore, WriteBatch};

tokio::task_local! {
    /// Nanoseconds spent in timed storage calls by the current [`scoped`] operation.
    static STORE_NS: Cell<u64>;
}

/// Runs `op` and returns its output with the nanoseconds its task spent in timed storage calls
/// (calls made concurrently within the op are summed). Calls made by other tasks, e.g. ones it
/// spawns, are not counted.
pub async fn scoped<F: Future>(op: F) -> (F::Output, u64) {
    let cell = Cell::new(0);
    STORE_NS
        .scope(cell, async move {
            let out = op.await;
            (out, STORE_NS.with(Cell::get))
        })
        .await
}

/// Samples kept per op name; later calls are not recorded.
pub const MAX_SAMPLES: usize = 200_000;

/// One recorded call: its size (see the module docs) and its duration in nanoseconds.
pub type Sample = (u32, u64);

/// Shared sink of recorded calls, off until [`Recorder::start`].
#[derive(Debug, Default)]
pub struct Recorder {
    on: AtomicBool,
    samples: Mutex<BTreeMap<&'static str, Vec<Sample>>>,
}

impl Recorder {
    /// A recorder that records nothing until started.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Start recording (e.g. once a run's data is loaded, so bulk loading is not measured).
    pub fn start(&self) {
        self.on.store(true, Ordering::Release);
    }

    /// Stop recording; samples taken so far are kept.
    pub fn stop(&self) {
        self.on.store(false, Ordering::Release);
    }

    /// Whether calls are being recorded.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Records a storage call of `op` with `size` that started at `t`, if recording is on,
    /// and adds its duration to the enclosing [`scoped`] operation, if any.
    pub fn record(&self, op: &'static str, size: usize, t: Instant) {
        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let _ = STORE_NS.try_with(|c| c.set(c.get().saturating_add(ns)));
        self.record_ns(op, size, ns);
    }

    /// Records a sample of `op` with `size` lasting `ns` nanoseconds, if recording is on.
    pub fn record_ns(&self, op: &'static str, size: usize, ns: u64) {
        if !self.is_on() {
            return;
        }
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        let mut all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let v = all.entry(op).or_default();
        if v.len() < MAX_SAMPLES {
            v.push((size, ns));
        }
    }

    /// The samples recorded so far, by op name (the recorder is emptied).
    pub fn take(&self) -> BTreeMap<String, Vec<Sample>> {
        let mut all = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *all)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

/// A [`MetaStore`] that records its calls' service times in a [`Recorder`]; otherwise it is
/// the wrapped store (same results, same errors, same backend name).
pub struct TimedMeta<S: ?Sized> {
    inner: Arc<S>,
    rec: Arc<Recorder>,
}

impl<S: MetaStore + ?Sized> TimedMeta<S> {
    /// Wraps `inner`, recording into `rec`.
    pub fn new(inner: Arc<S>, rec: Arc<Recorder>) -> Self {
        Self { inner, rec }
    }
}

impl<S: ?Sized> std::fmt::Debug for TimedMeta<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedMeta").finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: MetaStore + ?Sized> MetaStore for TimedMeta<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let t = Instant::now();
        let r = self.inner.get(key).await?;
        self.rec.record("get", 1, t);
        Ok(r)
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let t = Instant::now();
        let r = self.inner.batch_get(keys).await?;
        self.rec.record("batch-get", keys.len(), t);
        Ok(r)
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let t = Instant::now();
        let r = self.inner.scan(range, direction, limit).await?;
        self.rec.record("scan", r.len(), t);
        Ok(r)
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        let op = match batch.durability {
            Durability::Buffered => "timeline-insert",
            Durability::Sync => "write",
        };
        let (n, t) = (batch.len(), Instant::now());
        self.inner.write(batch).await?;
        if n > 0 {
            self.rec.record(op, n, t);
        }
        Ok(())
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        let t = Instant::now();
        let r = self.inner.cas(key, expected, new).await?;
        self.rec.record("cas", 1, t);
        Ok(r)
    }

    fn approximate_bytes(&self) -> Option<u64> {
        self.inner.approximate_bytes()
    }
}

/// A [`BlobStore`] that records `put` and `get` service times (size in KiB) in a
/// [`Recorder`]; otherwise it is the wrapped store.
pub struct TimedBlobs<S: ?Sized> {
    inner: Arc<S>,
    rec: Arc<Recorder>,
}

impl<S: BlobStore + ?Sized> TimedBlobs<S> {
    /// Wraps `inner`, recording into `rec`.
    pub fn new(inner: Arc<S>, rec: Arc<Recorder>) -> Self {
        Self { inner, rec }
    }
}

impl<S: ?Sized> std::fmt::Debug for TimedBlobs<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedBlobs").finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: BlobStore + ?Sized> BlobStore for TimedBlobs<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put(&self, key: &BlobKey, data: Bytes) -> Result<()> {
        let (kib, t) = (data.len().div_ceil(1024), Instant::now());
        self.inner.put(key, data).await?;
        self.rec.record("blob-put", kib, t);
        Ok(())
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes> {
        let t = Instant::now();
        let r = self.inner.get(key, range).await?;
        self.rec.record("blob-get", r.len().div_ceil(1024), t);
        Ok(r)
    }

    async fn head(&self, key: &BlobKey) -> Result<Option<BlobMeta>> {
        self.inner.head(key).await
    }

    fn as_local(&self) -> Option<&crate::blob::LocalBlobStore> {
        self.inner.as_local()
    }

    async fn delete(&self, key: &BlobKey) -> Result<()> {
        self.inner.delete(key).await
    }
}
