//! The `MetaStore` seam: an ordered key-value store.
//!
//! Metadata tables (users, follows, photos, timelines, the title index) are
//! key layouts on top of this trait (see [`crate::tables`]); the store itself
//! knows nothing about photos. Keys and values are opaque bytes ordered
//! lexicographically. Every backend must pass [`conformance::test_suite`].

pub mod conformance;
pub mod fjall_store;
pub mod tikv;

use async_trait::async_trait;

use crate::error::Result;

pub use fjall_store::FjallStore;
pub use tikv::TikvStore;

/// A key/value pair as returned by [`MetaStore::scan`].
pub type Entry = (Vec<u8>, Vec<u8>);

/// The order in which [`MetaStore::scan`] returns keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending key order.
    Forward,
    /// Descending key order (newest first for big-endian time keys).
    Reverse,
}

/// A half-open key range `[start, end)`; `end = None` means unbounded above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Inclusive lower bound.
    pub start: Vec<u8>,
    /// Exclusive upper bound, or none.
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        KeyRange {
            start: prefix.to_vec(),
            end: prefix_successor(prefix),
        }
    }

    /// Keys in `[start, end)`.
    pub fn between(start: &[u8], end: &[u8]) -> Self {
        KeyRange {
            start: start.to_vec(),
            end: Some(end.to_vec()),
        }
    }

    /// True if `key` lies inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|e| key < e)
    }
}

/// The smallest key greater than every key with this prefix, or `None` when
/// the prefix is empty or all `0xff` (then the range is unbounded above).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// How hard a write must be persisted before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Synced to stable storage before `write` returns (survives kill -9 and
    /// power loss as far as the OS honours fsync).
    #[default]
    Sync,
    /// Applied and visible, flushed in the background. Used for derived data
    /// that can be rebuilt (timelines, counters).
    Buffered,
}

/// One mutation inside a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Vec<u8>, Vec<u8>),
    /// Remove `key` (no error if absent).
    Delete(Vec<u8>),
}

/// A set of mutations applied atomically by [`MetaStore::write`]: after a
/// crash either all are visible or none are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// The mutations, applied in order (a later op on the same key wins).
    pub ops: Vec<Op>,
    /// Persistence required before `write` returns.
    pub durability: Durability,
}

impl WriteBatch {
    /// An empty batch with [`Durability::Sync`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with [`Durability::Buffered`].
    pub fn buffered() -> Self {
        WriteBatch {
            ops: Vec::new(),
            durability: Durability::Buffered,
        }
    }

    /// Append a put.
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::Put(key.into(), value.into()));
        self
    }

    /// Append a delete.
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(Op::Delete(key.into()));
        self
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch has no ops.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The result of [`MetaStore::cas`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// The expected value matched and the new value was written.
    Swapped,
    /// The current value differed; nothing was written. Holds the current
    /// value (`None` if the key is absent).
    Mismatch(Option<Vec<u8>>),
}

/// What a store has read since it was opened (see [`MetaStore::read_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Keys read: one per key of a `get` or `batch_get` (found or not),
    /// one per entry a `scan` returned.
    pub keys_read: u64,
    /// Bytes of write-ahead log the store replayed into memory when it was
    /// opened (writes it had not yet moved to its tables).
    pub log_bytes_replayed: u64,
    /// Bytes of write-ahead log files found at open: an upper bound on the
    /// log the open read (backends may preallocate log files).
    pub log_bytes_found: u64,
}

impl ReadStats {
    /// The sum over `stores`, or `None` if one of them does not count.
    pub fn total<'a>(stores: impl Iterator<Item = &'a dyn MetaStore>) -> Option<ReadStats> {
        stores
            .map(|s| s.read_stats())
            .try_fold(Self::default(), |acc, r| {
                let r = r?;
                Some(ReadStats {
                    keys_read: acc.keys_read + r.keys_read,
                    log_bytes_replayed: acc.log_bytes_replayed + r.log_bytes_replayed,
                    log_bytes_found: acc.log_bytes_found + r.log_bytes_found,
                })
            })
    }
}

/// An ordered key-value store. Cheap to share behind an `Arc`.
///
/// Contract, checked by [`conformance::test_suite`]:
/// - `get` of an absent key is `Ok(None)`;
/// - `batch_get` returns one slot per requested key, in request order;
/// - `scan` returns at most `limit` entries inside the range, ascending for
///   [`Direction::Forward`] and descending for [`Direction::Reverse`];
/// - `write` is atomic and honours the batch's [`Durability`];
/// - `cas` compares and swaps one key atomically (`expected = None` means
///   "absent", `new = None` means "delete");
/// - `checkpoint` loses nothing: every write before it reads back after it.
#[async_trait]
pub trait MetaStore: Send + Sync + 'static {
    /// A short backend name for reports (`"embedded"`, `"tikv"`).
    fn backend(&self) -> &'static str;

    /// The value at `key`, if any.
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The values at `keys`, one slot each, in order.
    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>>;

    /// Up to `limit` entries of `range` in `direction` order.
    async fn scan(
        &self,
        range: &KeyRange,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<Entry>>;

    /// Apply all ops of `batch` atomically.
    async fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Set `key` to `new` only if it currently holds `expected`.
    async fn cas(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
    ) -> Result<CasOutcome>;

    /// Approximate bytes on disk (keys + values), for reports. Backends that
    /// cannot tell return `None`.
    fn approximate_bytes(&self) -> Option<u64> {
        None
    }

    /// Keys read since open and log replayed at open, for start-up reports
    /// and the tests that keep start-up independent of the data size.
    /// Backends that do not count return `None`.
    fn read_stats(&self) -> Option<ReadStats> {
        None
    }

    /// Move every write made so far out of the write-ahead log into the
    /// store's tables, so that the next open replays (almost) no log. A clean
    /// shutdown calls it last; durability does not depend on it (an
    /// acknowledged write is already durable). It must end in bounded time:
    /// when the store cannot flush (its directory is gone, its disk fails) it
    /// returns an error rather than wait. Default: nothing to do.
    async fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
}
