//! Work counters per operation: how many storage calls, keys, rows, fsyncs and blob bytes an
//! operation cost, and the server CPU time it used.
//!
//! These are the figures a regression gate can compare without the machine's mood moving
//! them: the counts are exact for a given op stream, and thread CPU time is far steadier than
//! wall time on a shared machine. An operation run under [`metered`] collects the counts of
//! every timed storage call its task makes (the [`super::TimedMeta`] and [`super::TimedBlobs`]
//! wrappers report them with [`count`]) plus the thread CPU of its own polls and of the
//! blocking-pool work its calls handed off. Work done by other tasks (the materializer's
//! fan-out, background flushes) is not an op's; it shows in the run's totals instead.
//!
//! A [`Ledger`] keeps the sums per op name and, for CPU, per second since it was started, so
//! a gate can compare per-second samples rather than one number.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use super::cpu::CpuTimed;

/// What one operation (or a sum of operations) cost. All fields are totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Metadata storage calls (`get`, `batch_get`, `scan`, `write`, `cas`).
    pub storage_calls: u64,
    /// Keys asked for by `get`/`batch_get` plus rows returned by `scan`.
    pub keys_read: u64,
    /// Rows in write batches plus `cas` writes.
    pub rows_written: u64,
    /// Durable (synced) metadata writes.
    pub fsyncs: u64,
    /// Blob calls (`put`, `get`).
    pub blob_calls: u64,
    /// Blob bytes returned by `get`.
    pub blob_bytes_read: u64,
    /// Blob bytes stored by `put`.
    pub blob_bytes_written: u64,
    /// Thread CPU time, ns: the op's polls plus blocking work its storage calls handed off.
    pub cpu_ns: u64,
}

impl Work {
    /// Adds `other` field by field (saturating).
    pub fn add(&mut self, other: &Work) {
        self.storage_calls = self.storage_calls.saturating_add(other.storage_calls);
        self.keys_read = self.keys_read.saturating_add(other.keys_read);
        self.rows_written = self.rows_written.saturating_add(other.rows_written);
        self.fsyncs = self.fsyncs.saturating_add(other.fsyncs);
        self.blob_calls = self.blob_calls.saturating_add(other.blob_calls);
        self.blob_bytes_read = self.blob_bytes_read.saturating_add(other.blob_bytes_read);
        self.blob_bytes_written = self
            .blob_bytes_written
            .saturating_add(other.blob_bytes_written);
        self.cpu_ns = self.cpu_ns.saturating_add(other.cpu_ns);
    }
}

tokio::task_local! {
    /// The work of the current [`metered`] operation.
    static WORK: Cell<Work>;
}

/// Adds what `f` sets to the current [`metered`] operation's work; a no-op outside one.
pub fn count(f: impl FnOnce(&mut Work)) {
    let _ = WORK.try_with(|w| {
        let mut work = w.get();
        f(&mut work);
        w.set(work);
    });
}

/// Runs `op` and returns its output with the work it did (see the module docs). `cpu_ns`
/// covers the op's own polls; counted blocking work is added to it.
pub async fn metered<F: Future>(op: F) -> (F::Output, Work) {
    WORK.scope(Cell::new(Work::default()), async move {
        let (out, cpu) = CpuTimed::new(Box::pin(op)).await;
        let mut work = WORK.with(Cell::get);
        work.cpu_ns = work.cpu_ns.saturating_add(cpu);
        (out, work)
    })
    .await
}

/// The work of all ops of one name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpWork {
    /// Ops recorded.
    pub ops: u64,
    /// Their summed work.
    pub work: Work,
}

/// Sums of recorded ops per name, and their CPU per second since [`Ledger::start`].
#[derive(Debug)]
pub struct Ledger {
    epoch: Mutex<Instant>,
    totals: Mutex<BTreeMap<&'static str, OpWork>>,
    seconds: Mutex<BTreeMap<(u64, &'static str), OpWork>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            epoch: Mutex::new(Instant::now()),
            totals: Mutex::default(),
            seconds: Mutex::default(),
        }
    }
}

impl Ledger {
    /// Clears the ledger; seconds count from now.
    pub fn start(&self) {
        *lock(&self.epoch) = Instant::now();
        lock(&self.totals).clear();
        lock(&self.seconds).clear();
    }

    /// Records one op of `name` that did `work` and ended now.
    pub fn record(&self, name: &'static str, work: &Work) {
        let second = lock(&self.epoch).elapsed().as_secs();
        for slot in [
            lock(&self.totals).entry(name).or_default(),
            lock(&self.seconds).entry((second, name)).or_default(),
        ] {
            slot.ops += 1;
            slot.work.add(work);
        }
    }

    /// Sums per op name.
    pub fn totals(&self) -> BTreeMap<String, OpWork> {
        lock(&self.totals)
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Sums per (second since start, op name), seconds ascending.
    pub fn seconds(&self) -> BTreeMap<(u64, String), OpWork> {
        lock(&self.seconds)
            .iter()
            .map(|((s, k), v)| ((*s, k.to_string()), *v))
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_inside_a_metered_op_only() {
        count(|w| w.storage_calls += 1);
        let ((), work) = metered(async {
            count(|w| w.storage_calls += 2);
            count(|w| {
                w.keys_read += 5;
                w.cpu_ns += 1_000;
            });
        })
        .await;
        assert_eq!(work.storage_calls, 2);
        assert_eq!(work.keys_read, 5);
        assert!(work.cpu_ns >= 1_000);
    }

    #[test]
    fn the_ledger_sums_per_name_and_second() {
        let l = Ledger::default();
        l.start();
        let w = Work {
            storage_calls: 3,
            cpu_ns: 10,
            ..Work::default()
        };
        l.record("feed", &w);
        l.record("feed", &w);
        l.record("upload", &w);
        let t = l.totals();
        assert_eq!(t["feed"].ops, 2);
        assert_eq!(t["feed"].work.storage_calls, 6);
        assert_eq!(t["upload"].work.cpu_ns, 10);
        let s = l.seconds();
        assert_eq!(s[&(0, "feed".to_string())].ops, 2);
        l.start();
        assert!(l.totals().is_empty());
    }
}
