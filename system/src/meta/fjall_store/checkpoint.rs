//! The checkpoint of a fjall store: flush the memtable to a table and wait
//! for it, in bounded time.
//!
//! What a successful checkpoint guarantees: every write acknowledged before
//! it started is in a table, and the journal is fsynced; if no write is left
//! in memory when the last handle drops, the journal is emptied then
//! (`journal.rs`), so the next open replays none of it.
//!
//! What it does not guarantee, nor need to: durability. An acknowledged write
//! is already in the journal, and a checkpoint that fails or gives up leaves
//! the journal as it is, so the next open replays it (slower, nothing lost).
//! It does not hold off writes made meanwhile: those land in a new memtable
//! and keep the journal.
//!
//! It never waits forever. It gives up with [`Error::Store`] when
//! - the store's directory is gone (checked before fjall is touched and at
//!   every poll), as when a test removes its temporary directory while the
//!   service stops;
//! - the database is poisoned: a failed flush stops fjall's worker and
//!   poisons it, and the sealed memtable then never leaves;
//! - [`CHECKPOINT_TIMEOUT`] passes.
//!
//! fjall's own `Keyspace::rotate_memtable_and_wait` is not used: it polls
//! the sealed memtable count with no deadline and no poison check, so a
//! failed flush made it spin forever. Bounding only the async wait would not
//! be enough either: tokio's runtime, when dropped, waits for every blocking
//! task, so the spinning thread would hang the process at exit. The blocking
//! closure itself must end, and here it does, within the timeout.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fjall::PersistMode;

use super::support::store_err;
use super::{FjallStore, Inner};
use crate::error::{Error, Result};

/// Longest a checkpoint waits for fjall before giving up. A healthy flush
/// of a full 64 MiB memtable takes well under a second; this leaves room
/// for a slow or loaded disk.
pub const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(30);

/// How often the wait looks at the sealed memtables (fjall's own wait polls
/// at the same rate).
const POLL: Duration = Duration::from_millis(10);

/// Slack given to the blocking task beyond its own deadline before the async
/// side stops waiting for it (it may queue behind other blocking work).
const JOIN_SLACK: Duration = Duration::from_secs(5);

impl FjallStore {
    /// Flush the memtable to a table and wait until every sealed memtable is
    /// written, then fsync the journal; gives up after [`CHECKPOINT_TIMEOUT`]
    /// or as soon as the directory is gone or fjall is poisoned (see the
    /// module doc). Blocking; call from a blocking context.
    pub fn flush_memtable(&self) -> Result<()> {
        self.flush_memtable_within(CHECKPOINT_TIMEOUT)
    }

    /// [`FjallStore::flush_memtable`] with an explicit deadline.
    pub fn flush_memtable_within(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let inner = &self.inner;
        inner.usable()?;
        inner.kv.rotate_memtable().map_err(store_err)?;
        while inner.kv.sealed_memtable_count() > 0 {
            inner.usable()?;
            if Instant::now() >= deadline {
                return Err(Error::Store(format!(
                    "fjall flush of {} not done after {limit:?}",
                    inner.trim.dir.display()
                )));
            }
            std::thread::sleep(POLL);
        }
        self.sync()?;
        inner.flushed.store(true, Ordering::Release);
        Ok(())
    }

    /// The async checkpoint: [`FjallStore::flush_memtable`] on the blocking
    /// pool, and a wait for it bounded by the same timeout (plus slack), so
    /// the caller goes on even if the blocking pool is busy.
    pub(super) async fn checkpoint_bounded(&self) -> Result<()> {
        let this = self.clone();
        let task = tokio::task::spawn_blocking(move || this.flush_memtable());
        match tokio::time::timeout(CHECKPOINT_TIMEOUT + JOIN_SLACK, task).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => Err(Error::Internal(format!(
                "fjall checkpoint task failed: {e}"
            ))),
            Err(_) => Err(Error::Store(format!(
                "fjall checkpoint of {} did not finish within {:?}",
                self.inner.trim.dir.display(),
                CHECKPOINT_TIMEOUT + JOIN_SLACK
            ))),
        }
    }
}

impl Inner {
    /// Fails when the store's directory is gone or fjall is poisoned (a
    /// buffered persist is how fjall reports poisoning; it costs no fsync).
    fn usable(&self) -> Result<()> {
        if !self.trim.dir.is_dir() {
            return Err(Error::Store(format!(
                "fjall directory {} is gone",
                self.trim.dir.display()
            )));
        }
        self.db.persist(PersistMode::Buffer).map_err(store_err)
    }
}
