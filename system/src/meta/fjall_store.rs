//! Embedded `MetaStore` backend on fjall 3 (an LSM-tree in this process).
//!
//! One fjall [`Database`] per store, with a single keyspace named `"kv"`
//! holding every table's keys. The choices this file makes:
//!
//! - **Atomic batches.** A [`WriteBatch`] becomes one fjall batch, which fjall
//!   writes to its journal as a unit and applies with a single sequence
//!   number. Ops on the same key inside one batch are collapsed first (the last
//!   one wins), so fjall never sees two items with one key and one seqno, and
//!   then sorted by key, so memtable inserts walk neighbouring skiplist paths.
//! - **Durability.** [`Durability::Sync`] persists the journal with
//!   `PersistMode::SyncAll` (fsync) before `write` returns.
//!   [`Durability::Buffered`] uses `PersistMode::Buffer`: the batch is handed
//!   to the OS, so it survives a crash of this process (kill -9) but not a
//!   power loss, and costs no fsync.
//! - **Reads** go through a fjall snapshot, so a reader never sees half of a
//!   batch and a `batch_get` is one consistent view.
//! - **CAS** uses 64 striped `parking_lot::RwLock`s picked by key hash. `cas`
//!   takes its key's stripe exclusively for read-compare-write; `write` takes
//!   the stripes of its keys shared (in ascending order, so no deadlock). So a
//!   `cas` never interleaves with another `cas` or `write` on the same key,
//!   while plain writes never wait for each other. fjall's optimistic
//!   transactions were not used: every plain write would then have to become
//!   a tracked transaction to conflict with a `cas`, which costs more than a
//!   striped lock and adds retry loops.
//! - **Blocking.** fjall is synchronous. Writes and `cas` always run in
//!   `tokio::task::spawn_blocking` (they may fsync, and fjall may stall a
//!   writer for back-pressure). Small reads (a `get`, a `batch_get` of at most
//!   [`INLINE_BATCH_GET`] keys, a `scan` of at most [`INLINE_SCAN_LIMIT`]
//!   entries) run inline: they cost microseconds, at most one block read from
//!   disk. Larger reads move to the blocking pool.
//! - **Start-up** replays the journal written since the last flush of the
//!   memtable to a table: at most one memtable (64 MiB by default) and
//!   whatever is waiting to be flushed, whatever the size of the data.
//!   [`MetaStore::checkpoint`](crate::meta::MetaStore::checkpoint) flushes the memtable and waits, bounded
//!   (see `checkpoint.rs`), so that the open after a clean shutdown replays
//!   almost nothing. The store counts
//!   the keys it reads and the journal bytes it replayed
//!   ([`MetaStore::read_stats`](crate::meta::MetaStore::read_stats)). Index and filter blocks are never
//!   pinned, so opening a table reads only its small top-level blocks.
//! - **Limits.** fjall panics on empty keys and keys over 65,535 bytes, so
//!   writes reject them with [`Error::InvalidInput`]; reads of such keys find
//!   nothing.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use fjall::config::PinningPolicy;
use fjall::{
    AbstractTree, Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable, Snapshot,
};
use parking_lot::RwLock;

use super::{CasOutcome, Direction, Durability, Entry, KeyRange, Op, WriteBatch};
use crate::error::{Error, Result};
use crate::timing;

mod checkpoint;
mod journal;
mod store_impl;
mod support;

pub use checkpoint::CHECKPOINT_TIMEOUT;
use support::{check_key, check_value, op_key, persist_mode, store_err};

/// Largest key fjall accepts, in bytes.
pub const MAX_KEY_LEN: usize = u16::MAX as usize;
/// `batch_get` calls with at most this many keys run inline on the caller.
pub const INLINE_BATCH_GET: usize = 64;
/// `scan` calls with a limit of at most this many entries run inline.
pub const INLINE_SCAN_LIMIT: usize = 1024;
/// Number of lock stripes used to make `cas` atomic.
const STRIPES: usize = 64;
/// Name of the one keyspace that holds every key.
const KEYSPACE: &str = "kv";

/// Tuning knobs for [`FjallStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FjallOptions {
    /// Block cache capacity in bytes (default 64 MiB).
    pub cache_bytes: u64,
    /// fjall background worker threads (flush, compaction); at least 1.
    /// `None` keeps fjall's default of min(cores, 4). Lower it when a process
    /// opens many stores (one per shard).
    pub worker_threads: Option<usize>,
    /// How hard a successful `cas` is persisted before it returns
    /// (default [`Durability::Sync`]).
    pub cas_durability: Durability,
}

impl Default for FjallOptions {
    fn default() -> Self {
        FjallOptions {
            cache_bytes: 64 * 1024 * 1024,
            worker_threads: None,
            cas_durability: Durability::Sync,
        }
    }
}

/// Embedded ordered KV store on fjall; a cheap-to-clone handle.
///
/// Dropping the last handle stops fjall's background threads, fsyncs the
/// journal and releases the directory lock, so the path can be reopened.
#[derive(Clone)]
pub struct FjallStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    kv: Keyspace,
    stripes: Box<[RwLock<()>]>,
    cas_mode: PersistMode,
    /// Keys read since open (see [`ReadStats::keys_read`]).
    keys_read: AtomicU64,
    /// Memtable bytes rebuilt from the journal at open.
    replayed: u64,
    /// Journal file bytes found at open.
    journal_bytes: u64,
    /// True once [`FjallStore::flush_memtable`] succeeded.
    flushed: AtomicBool,
    /// Last field: drops after the database (see `journal.rs`).
    trim: journal::TrimOnClose,
}

impl Drop for Inner {
    /// Arms the journal trim if the store was checkpointed and no write is
    /// left in memory (every journal item is then in a table): no sealed
    /// memtable and an empty active one. The database's write-buffer size is
    /// not the test: fjall's flush worker frees it only after the sealed
    /// memtable is gone, so it can still count a flushed memtable here.
    fn drop(&mut self) {
        self.trim.armed = self.flushed.load(Ordering::Acquire)
            && self.kv.sealed_memtable_count() == 0
            && self.kv.tree.active_memtable().is_empty();
    }
}

/// Options of the one keyspace, applied when it is created (fjall keeps
/// them with the keyspace). Index and filter blocks are not pinned at any
/// level: pinned ones are read whole when a table is opened, so a start-up
/// would read a share of all the data (31 MiB at 1M photos); unpinned ones
/// load through the block cache on first use, as those of the deeper levels
/// already did.
fn keyspace_options() -> KeyspaceCreateOptions {
    KeyspaceCreateOptions::default()
        .index_block_pinning_policy(PinningPolicy::all(false))
        .filter_block_pinning_policy(PinningPolicy::all(false))
}

impl std::fmt::Debug for FjallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallStore")
            .field("path", &self.inner.kv.path())
            .finish_non_exhaustive()
    }
}

impl FjallStore {
    /// Open the store at `path`, creating the directory and database if
    /// needed, with [`FjallOptions::default`]. Fails with [`Error::Store`] if
    /// the path is unusable or another process holds it open.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, FjallOptions::default())
    }

    /// Open the store at `path` with explicit options.
    pub fn open_with(path: &Path, options: FjallOptions) -> Result<Self> {
        let journal_bytes = journal::bytes(path)?;
        let mut builder = Database::builder(path).cache_size(options.cache_bytes);
        if let Some(n) = options.worker_threads {
            builder = builder.worker_threads(n.max(1));
        }
        let db = builder.open().map_err(store_err)?;
        let kv = db.keyspace(KEYSPACE, keyspace_options).map_err(store_err)?;
        // Recovery rebuilt the memtables from the journal; nothing else is
        // buffered yet.
        let replayed = db.write_buffer_size();
        let stripes = (0..STRIPES).map(|_| RwLock::new(())).collect();
        Ok(FjallStore {
            inner: Arc::new(Inner {
                db,
                kv,
                stripes,
                cas_mode: persist_mode(options.cas_durability),
                keys_read: AtomicU64::new(0),
                replayed,
                journal_bytes,
                flushed: AtomicBool::new(false),
                trim: journal::TrimOnClose {
                    dir: path.to_path_buf(),
                    armed: false,
                },
            }),
        })
    }

    /// Fsync everything written so far (including [`Durability::Buffered`]
    /// batches) to the journal. Blocking; call from a blocking context.
    pub fn sync(&self) -> Result<()> {
        self.inner
            .db
            .persist(PersistMode::SyncAll)
            .map_err(store_err)
    }

    /// Run a blocking closure on tokio's blocking pool with a handle clone.
    async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T> + Send + 'static,
    {
        let this = self.clone();
        // The closure's CPU is reported to the timed call waiting for it, if any.
        let (out, cpu) = tokio::task::spawn_blocking(move || timing::on_thread(|| f(&this.inner)))
            .await
            .map_err(|e| Error::Internal(format!("fjall blocking task failed: {e}")))?;
        timing::cpu::offloaded(cpu);
        out
    }
}

impl Inner {
    fn stripe_of(key: &[u8]) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % STRIPES as u64) as usize
    }

    fn get_in(&self, snap: &Snapshot, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.keys_read.fetch_add(1, Ordering::Relaxed);
        if key.len() > MAX_KEY_LEN || key.is_empty() {
            return Ok(None);
        }
        let v = snap.get(&self.kv, key).map_err(store_err)?;
        Ok(v.map(|v| v.to_vec()))
    }

    fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let snap = self.db.snapshot();
        keys.iter().map(|k| self.get_in(&snap, k)).collect()
    }

    fn scan(&self, range: &KeyRange, direction: Direction, limit: usize) -> Result<Vec<Entry>> {
        if limit == 0
            || range
                .end
                .as_deref()
                .is_some_and(|e| e <= range.start.as_slice())
        {
            return Ok(Vec::new());
        }
        if range.start.len() > MAX_KEY_LEN
            || range.end.as_ref().is_some_and(|e| e.len() > MAX_KEY_LEN)
        {
            return Err(Error::InvalidInput(format!(
                "scan bound longer than {MAX_KEY_LEN} bytes"
            )));
        }
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (
            Bound::Included(range.start.as_slice()),
            range
                .end
                .as_deref()
                .map_or(Bound::Unbounded, Bound::Excluded),
        );
        let snap = self.db.snapshot();
        let iter = snap.range::<&[u8], _>(&self.kv, bounds);
        let mut out = Vec::with_capacity(limit.min(INLINE_SCAN_LIMIT));
        let mut push = |guard: fjall::Guard| -> Result<bool> {
            let (k, v) = guard.into_inner().map_err(store_err)?;
            out.push((k.to_vec(), v.to_vec()));
            Ok(out.len() < limit)
        };
        match direction {
            Direction::Forward => {
                for g in iter {
                    if !push(g)? {
                        break;
                    }
                }
            }
            Direction::Reverse => {
                for g in iter.rev() {
                    if !push(g)? {
                        break;
                    }
                }
            }
        }
        self.keys_read
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        Ok(out)
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        for op in &batch.ops {
            let (Op::Put(k, _) | Op::Delete(k)) = op;
            check_key(k)?;
            if let Op::Put(_, v) = op {
                check_value(v)?;
            }
        }
        // Sort by key (stable, so ops on one key keep their order), then
        // keep the last op per key: fjall applies a batch under one seqno,
        // so duplicate keys inside it would be ambiguous. Inserting in key
        // order also lets consecutive memtable (skiplist) searches share
        // most of their path, which stays in cache: on 1,000-row timeline
        // batches that cuts the CPU cycles per row by about 15%. Sorting
        // replaces a hash set, which cost a SipHash per key.
        let mut ops: Vec<&Op> = batch.ops.iter().collect();
        ops.sort_by(|a, b| op_key(a).cmp(op_key(b)));
        let last: Vec<&Op> = ops
            .iter()
            .enumerate()
            .filter(|(i, op)| ops.get(i + 1).is_none_or(|n| op_key(n) != op_key(op)))
            .map(|(_, op)| *op)
            .collect();
        // Shared locks on the stripes of the keys, in ascending order. A
        // batch as large as the stripe table takes every stripe rather than
        // hashing each key: 64 uncontended read locks cost less than
        // hundreds of hashes.
        let stripes: Vec<usize> = if last.len() >= STRIPES {
            (0..STRIPES).collect()
        } else {
            let mut v: Vec<usize> = last.iter().map(|op| Self::stripe_of(op_key(op))).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let _guards: Vec<_> = stripes.iter().map(|&i| self.stripes[i].read()).collect();
        let mut fb = self
            .db
            .batch()
            .durability(Some(persist_mode(batch.durability)));
        for op in last {
            match op {
                Op::Put(k, v) => fb.insert(&self.kv, k.as_slice(), v.as_slice()),
                Op::Delete(k) => fb.remove(&self.kv, k.as_slice()),
            }
        }
        fb.commit().map_err(store_err)
    }

    fn cas(&self, key: &[u8], expected: Option<&[u8]>, new: Option<Vec<u8>>) -> Result<CasOutcome> {
        check_key(key)?;
        if let Some(v) = &new {
            check_value(v)?;
        }
        let _guard = self.stripes[Self::stripe_of(key)].write();
        let current = self.get_in(&self.db.snapshot(), key)?;
        if current.as_deref() != expected {
            return Ok(CasOutcome::Mismatch(current));
        }
        let mut fb = self.db.batch().durability(Some(self.cas_mode));
        match new {
            Some(v) => fb.insert(&self.kv, key, v),
            None => fb.remove(&self.kv, key),
        }
        fb.commit().map_err(store_err)?;
        Ok(CasOutcome::Swapped)
    }
}
