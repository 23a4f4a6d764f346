//! The timed storage wrappers: [`TimedMeta`] and [`TimedBlobs`] behave exactly as the store
//! they wrap (same results, same errors, same backend name) and, for every successful call,
//! record its service time and CPU in the [`Recorder`], its wall time under its shard, and
//! its counts (calls, keys, rows, fsyncs, blob bytes) in the enclosing [`super::metered`]
//! operation's [`Work`].

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::work::{Work, count};
use super::{Recorder, call};
use crate::blob::{BlobKey, BlobMeta, BlobSink, BlobStore};
use crate::error::Result;
use crate::meta::{CasOutcome, Direction, Durability, Entry, KeyRange, MetaStore, WriteBatch};

/// A [`MetaStore`] that records its calls (see the module docs).
pub struct TimedMeta<S: ?Sized> {
    inner: Arc<S>,
    rec: Arc<Recorder>,
    shard: Option<usize>,
}

impl<S: MetaStore + ?Sized> TimedMeta<S> {
    /// Wraps `inner`, recording into `rec`.
    pub fn new(inner: Arc<S>, rec: Arc<Recorder>) -> Self {
        Self {
            inner,
            rec,
            shard: None,
        }
    }

    /// Also records each call's wall time under shard `shard`.
    pub fn on_shard(mut self, shard: usize) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Records a successful call of `op` (size `n`) and counts it into the current op.
    fn done(&self, op: &'static str, n: usize, ns: u64, cpu: u64, f: impl FnOnce(&mut Work)) {
        self.rec.record_ns(op, n, ns, cpu);
        if let Some(s) = self.shard {
            self.rec.record_shard_call(s, ns);
        }
        count(|w| {
            w.storage_calls += 1;
            f(w);
        });
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
        let (r, ns, cpu) = call(self.inner.get(key)).await;
        let r = r?;
        self.done("get", 1, ns, cpu, |w| w.keys_read += 1);
        Ok(r)
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let (r, ns, cpu) = call(self.inner.batch_get(keys)).await;
        let r = r?;
        let n = keys.len();
        self.done("batch-get", n, ns, cpu, |w| w.keys_read += n as u64);
        Ok(r)
    }

    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let (r, ns, cpu) = call(self.inner.scan(range, direction, limit)).await;
        let r = r?;
        let n = r.len();
        self.done("scan", n, ns, cpu, |w| w.keys_read += n as u64);
        Ok(r)
    }

    async fn write(&self, batch: WriteBatch) -> Result<()> {
        let sync = batch.durability == Durability::Sync;
        let op = if sync { "write" } else { "timeline-insert" };
        let n = batch.len();
        let (r, ns, cpu) = call(self.inner.write(batch)).await;
        r?;
        if n > 0 {
            self.done(op, n, ns, cpu, |w| {
                w.rows_written += n as u64;
                w.fsyncs += u64::from(sync);
            });
        }
        Ok(())
    }

    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome> {
        let (r, ns, cpu) = call(self.inner.cas(key, expected, new)).await;
        let r = r?;
        self.done("cas", 1, ns, cpu, |w| {
            w.rows_written += 1;
            w.fsyncs += 1;
        });
        Ok(r)
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

/// A [`BlobStore`] that records `put` and `get` service times (size in KiB) in a
/// [`Recorder`] and their bytes in the current op's [`Work`]; otherwise it is the wrapped
/// store.
pub struct TimedBlobs<S: ?Sized> {
    inner: Arc<S>,
    rec: Arc<Recorder>,
}

impl<S: BlobStore + ?Sized> TimedBlobs<S> {
    /// Wraps `inner`, recording into `rec`.
    pub fn new(inner: Arc<S>, rec: Arc<Recorder>) -> Self {
        Self { inner, rec }
    }

    /// Record a put of `len` bytes that took `ns` (wall) and `cpu` (ns).
    fn record_put(&self, len: u64, ns: u64, cpu: u64) {
        self.rec
            .record_ns("blob-put", len.div_ceil(1024) as usize, ns, cpu);
        count(|w| {
            w.blob_calls += 1;
            w.blob_bytes_written += len;
        });
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
        let len = data.len() as u64;
        let (r, ns, cpu) = call(self.inner.put(key, data)).await;
        r?;
        self.record_put(len, ns, cpu);
        Ok(())
    }

    async fn put_file(&self, key: &BlobKey, src: &std::path::Path, len: u64) -> Result<()> {
        let (r, ns, cpu) = call(self.inner.put_file(key, src, len)).await;
        r?;
        self.record_put(len, ns, cpu);
        Ok(())
    }

    async fn sink(&self, spool: &std::path::Path) -> Result<Box<dyn BlobSink>> {
        let (r, ns, cpu) = call(self.inner.sink(spool)).await;
        Ok(Box::new(TimedSink {
            sink: r?,
            blobs: TimedBlobs::new(self.inner.clone(), self.rec.clone()),
            spent: (ns, cpu),
            len: 0,
        }))
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Result<Bytes> {
        let (r, ns, cpu) = call(self.inner.get(key, range)).await;
        let r = r?;
        self.rec
            .record_ns("blob-get", r.len().div_ceil(1024), ns, cpu);
        count(|w| {
            w.blob_calls += 1;
            w.blob_bytes_read += r.len() as u64;
        });
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

/// A sink of a [`TimedBlobs`]: the wall and CPU time of all its calls together are recorded
/// as one `blob-put` of its length when it commits, as a `put_file` of the same bytes is.
struct TimedSink<S: ?Sized> {
    sink: Box<dyn BlobSink>,
    blobs: TimedBlobs<S>,
    /// Wall and CPU ns of the calls so far.
    spent: (u64, u64),
    len: u64,
}

impl<S: ?Sized> std::fmt::Debug for TimedSink<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedSink")
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

impl<S: ?Sized> TimedSink<S> {
    fn add(&mut self, ns: u64, cpu: u64) {
        self.spent = (
            self.spent.0.saturating_add(ns),
            self.spent.1.saturating_add(cpu),
        );
    }
}

#[async_trait]
impl<S: BlobStore + ?Sized> BlobSink for TimedSink<S> {
    async fn write(&mut self, piece: Vec<u8>) -> Result<Vec<u8>> {
        let (r, ns, cpu) = call(self.sink.write(piece)).await;
        self.add(ns, cpu);
        r
    }

    async fn finish(&mut self) -> Result<(BlobKey, u64)> {
        let (r, ns, cpu) = call(self.sink.finish()).await;
        self.add(ns, cpu);
        let (key, len) = r?;
        self.len = len;
        Ok((key, len))
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let TimedSink {
            sink,
            blobs,
            spent,
            len,
        } = *self;
        let (r, ns, cpu) = call(sink.commit()).await;
        r?;
        let spent = (spent.0.saturating_add(ns), spent.1.saturating_add(cpu));
        blobs.record_put(len, spent.0, spent.1);
        Ok(())
    }
}
