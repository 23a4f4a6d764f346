//! Read repair and the integrity counters of the local blob store.
//!
//! A read that had to skip a missing or bad copy still answers from a good
//! one, then queues a repair of the key: a background task takes the key's
//! lock and runs the same verify-and-rewrite as scrub (`scrub_key`), so a
//! copy that was only being written at the time of the read is left alone,
//! and a blob deleted in between is not resurrected. At most one repair per
//! key is queued at a time, however many reads hit the bad copy.
//!
//! [`Integrity`] counts what reads and scrubs found and fixed; the service
//! exports it on `/metrics`. [`Failures`] collects the copies a read skipped.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::BlobKey;
use super::local::{Inner, LocalBlobStore, blocking};
use super::scrub::KeyOutcome;
use crate::error::Error;

/// What the integrity upkeep of a [`LocalBlobStore`] has found and done
/// since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Integrity {
    /// Replica copies found missing or failing their checks (by read
    /// repair or scrub).
    pub bad_copies: u64,
    /// Copies rewritten from a good copy.
    pub repaired_copies: u64,
    /// Times a blob was found with no good copy left.
    pub lost_blobs: u64,
    /// Bytes verified by the background scrub.
    pub scrubbed_bytes: u64,
    /// Background scrub passes completed.
    pub scrub_passes: u64,
}

/// The live counters and switches behind [`Integrity`].
#[derive(Debug, Default)]
pub(super) struct Upkeep {
    pub(super) bad: AtomicU64,
    pub(super) repaired: AtomicU64,
    pub(super) lost: AtomicU64,
    pub(super) scrubbed: AtomicU64,
    pub(super) passes: AtomicU64,
    /// Read repair off (tests of scrub itself turn it off).
    pub(super) no_read_repair: AtomicBool,
    /// Set by [`LocalBlobStore::stop_background`]: no new repair or scrub
    /// step starts.
    pub(super) stopped: AtomicBool,
    /// Keys with a repair queued or running.
    pub(super) repairing: Mutex<HashSet<BlobKey>>,
}

impl Upkeep {
    /// Count the outcome of verifying one key.
    pub(super) fn record(&self, outcome: &KeyOutcome) {
        match outcome {
            KeyOutcome::Checked { bad, repaired, .. } => {
                self.bad.fetch_add(*bad, Ordering::Relaxed);
                self.repaired.fetch_add(*repaired, Ordering::Relaxed);
            }
            KeyOutcome::Unrecoverable { bad } => {
                self.bad.fetch_add(*bad, Ordering::Relaxed);
                self.lost.fetch_add(1, Ordering::Relaxed);
            }
            KeyOutcome::Gone => {}
        }
    }
}

impl LocalBlobStore {
    /// What reads and scrubs have found and repaired so far.
    pub fn integrity(&self) -> Integrity {
        let u = &self.inner.upkeep;
        Integrity {
            bad_copies: u.bad.load(Ordering::Relaxed),
            repaired_copies: u.repaired.load(Ordering::Relaxed),
            lost_blobs: u.lost.load(Ordering::Relaxed),
            scrubbed_bytes: u.scrubbed.load(Ordering::Relaxed),
            scrub_passes: u.passes.load(Ordering::Relaxed),
        }
    }

    /// Read repairs queued or running now.
    pub fn repairs_pending(&self) -> usize {
        self.inner.upkeep.repairing.lock().len()
    }

    /// Turn read repair on (the default) or off.
    pub fn set_read_repair(&self, on: bool) {
        self.inner
            .upkeep
            .no_read_repair
            .store(!on, Ordering::Relaxed);
    }

    /// Stop background work: no repair or scrub step starts after this (one
    /// already running finishes). For shutdown, before another process may
    /// open the same root.
    pub fn stop_background(&self) {
        self.inner.upkeep.stopped.store(true, Ordering::Release);
    }
}

impl Inner {
    /// Queue a repair of `key` after a read found a bad or missing copy.
    pub(super) fn queue_repair(self: &std::sync::Arc<Self>, key: &BlobKey) {
        let u = &self.upkeep;
        if u.no_read_repair.load(Ordering::Relaxed) || u.stopped.load(Ordering::Acquire) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !u.repairing.lock().insert(key.clone()) {
            return;
        }
        let (inner, key) = (self.clone(), key.clone());
        rt.spawn(async move {
            let outcome = {
                let _guard = inner.lock(&key).await;
                let (i, k) = (inner.clone(), key.clone());
                blocking(move || i.scrub_key(&k)).await
            };
            match &outcome {
                Ok(o) => inner.upkeep.record(o),
                Err(e) => tracing::warn!(%key, "read repair failed: {e}"),
            }
            inner.upkeep.repairing.lock().remove(&key);
        });
    }
}

/// Replica failures seen while serving one read.
#[derive(Default)]
pub(super) struct Failures(pub(super) Vec<(usize, Error)>);

impl Failures {
    pub(super) fn warn_fallback(&self, key: &BlobKey, what: &str, served_by: usize) {
        for (i, e) in &self.0 {
            tracing::warn!(%key, replica = i, served_by, "blob {what}: replica failed, fell back: {e}");
        }
    }

    /// NotFound if no replica has the file; else Corrupt if any copy was
    /// bad; else the first I/O error.
    pub(super) fn into_error(self, key: &BlobKey, what: &str) -> Error {
        if self.0.iter().all(|(_, e)| matches!(e, Error::NotFound(_))) {
            return Error::NotFound(format!("blob {key}"));
        }
        for (i, e) in &self.0 {
            tracing::warn!(%key, replica = i, "blob {what}: replica failed, none left: {e}");
        }
        if self.0.iter().any(|(_, e)| matches!(e, Error::Corrupt(_))) {
            return Error::Corrupt(format!("blob {key}: no replica has a good copy"));
        }
        let first_io = self
            .0
            .into_iter()
            .find(|(_, e)| !matches!(e, Error::NotFound(_)));
        first_io.map_or_else(|| Error::Internal("unreachable".into()), |(_, e)| e)
    }
}
