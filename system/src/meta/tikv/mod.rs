//! TiKV `MetaStore` backend on `tikv-client` 0.4 (transactional API).
//!
//! The choices this module makes:
//!
//! - **One namespace per store.** Every key is stored as
//!   `namespace ++ key` ([`codec`]), so shards and test runs share one
//!   cluster; ranges are mapped into the namespace and an unbounded end
//!   stops at the namespace's end. TiKV's own API-v2 keyspaces were not
//!   used: they need a cluster configured for API v2, a prefix works on any.
//! - **Tagged values.** Stored values carry a one-byte tag, so an empty
//!   value is stored as one byte and read back empty ([`codec`]).
//! - **Reads** (`get`, `batch_get`, `scan`) use a read-only snapshot at a
//!   fresh PD timestamp: a reader never sees half a transaction, and every
//!   write acknowledged before the read started is visible. A scan pages
//!   through the same snapshot ([`pager`]) in requests of at most
//!   [`TikvOptions::page_size`] entries.
//! - **`write`** is one optimistic transaction holding every mutation of the
//!   batch, collapsed to the last op per key ([`batch`]), committed with
//!   two-phase commit: all or nothing. A write conflict means nothing was
//!   committed, so the transaction is retried (blind puts and deletes have no
//!   read to invalidate), at most [`TikvOptions::max_attempts`] times.
//! - **`cas`** is an optimistic transaction that reads the key, compares and,
//!   on a match, writes and commits. TiKV fails the commit with a write
//!   conflict if anyone committed that key after the read, so a successful
//!   commit is atomic. A mismatch is reported with the value read, which was
//!   current at the transaction's start timestamp (taken after the call
//!   began, so it is a valid linearization point). On a conflict the whole
//!   read-compare-write is retried; when every attempt conflicts, one last
//!   snapshot read decides: a value that differs from `expected` is a
//!   genuine [`CasOutcome::Mismatch`], otherwise the result is
//!   [`Error::Unavailable`] (contention; nothing was written).
//! - **Durability.** TiKV commits through Raft and its log is synced, so
//!   [`Durability::Sync`](crate::meta::Durability::Sync) and `Buffered`
//!   are the same here.
//! - **Errors** map to [`Error::Unavailable`] when the cluster is down or
//!   busy and to [`Error::Store`] otherwise ([`errors`]).
//! - **Limits.** Empty keys are rejected as by the embedded store. TiKV's
//!   own limits apply beyond that (by default 6 MiB per entry,
//!   `txn-entry-size-limit`); their errors come back as [`Error::Store`].
//!   [`MetaStore::approximate_bytes`] is `None`: PD reports sizes per
//!   region, not per namespace.

pub mod batch;
pub mod codec;
mod config;
pub mod errors;
pub mod pager;

mod store;

pub use codec::shard_namespace;
pub use config::{DEFAULT_NAMESPACE, TikvConfig, parse_endpoints};
pub use store::{TikvOptions, TikvStore};

#[cfg(doc)]
use crate::error::Error;
#[cfg(doc)]
use crate::meta::{CasOutcome, MetaStore};
