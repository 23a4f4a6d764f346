//! Time-sortable photo ids, generated on each node with no central service.
//!
//! A [`PhotoId`] packs, from the most significant bit down:
//! - 41 bits of milliseconds since [`EPOCH_MS`] (2025-01-01; lasts until 2094),
//! - 13 bits of logical shard (0..8192; the partitioner maps it to a physical shard),
//! - 10 bits of sequence within that millisecond and logical shard. An
//!   [`IdGenerator`] splits them into 4 bits of node (the app server that
//!   minted the id, see [`MAX_NODES`]) and 6 bits of counter; ticket ids
//!   ([`crate::ids`]) use all 10 as the low bits of their ticket.
//!
//! So comparing the `u64` compares upload time first, and the big-endian bytes
//! ([`PhotoId::to_be_bytes`]) sort the same way in an ordered KV: a newest-first
//! scan is a reverse scan of the key range.
//!
//! [`IdGenerator`] keeps the last issued `(ms, counter)` of every logical shard
//! in one atomic word and advances it with `compare_exchange`, so ids are
//! unique under any number of threads and strictly increasing per logical
//! shard; generators with different node numbers never mint the same id. When
//! the clock steps back, the generator keeps issuing from the last millisecond;
//! when 64 ids were issued in one millisecond and logical shard, it moves on
//! to the next one instead of sleeping. Under a burst or a clock step back the embedded time can
//! therefore run slightly ahead of the wall clock; it never repeats.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The id epoch: 2025-01-01T00:00:00Z in Unix ms.
pub const EPOCH_MS: u64 = 1_735_689_600_000;

/// Number of logical shards an id can name (13 bits).
pub const LOGICAL_SHARDS: usize = 1 << 13;

const MS_MASK: u64 = (1 << 41) - 1;
const SHARD_MASK: u64 = 0x1fff;
const SEQ_MASK: u64 = 0x3ff;

/// Bits of the sequence field that name the minting node.
pub const NODE_BITS: u32 = 4;
/// Distinct node numbers (`0..MAX_NODES`) an [`IdGenerator`] can carry.
pub const MAX_NODES: u16 = 1 << NODE_BITS;
/// Bits of the sequence field left to the per-millisecond counter.
const COUNTER_BITS: u32 = 10 - NODE_BITS;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

/// A photo id. Ordering of the `u64` is ordering by time, then shard, then
/// sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoId(pub u64);

impl PhotoId {
    /// Largest representable ms since [`EPOCH_MS`] (41 bits).
    pub const MAX_MS: u64 = MS_MASK;

    /// Assemble from parts (each masked to its width).
    pub fn from_parts(ms: u64, shard: u16, seq: u16) -> Self {
        PhotoId(
            ((ms & MS_MASK) << 23) | ((shard as u64 & SHARD_MASK) << 10) | (seq as u64 & SEQ_MASK),
        )
    }

    /// Ms since [`EPOCH_MS`].
    pub fn ms(self) -> u64 {
        self.0 >> 23
    }

    /// Unix time in ms at which the id was issued (its embedded time).
    pub fn unix_ms(self) -> u64 {
        self.ms() + EPOCH_MS
    }

    /// Logical shard (13 bits).
    pub fn shard(self) -> u16 {
        ((self.0 >> 10) & SHARD_MASK) as u16
    }

    /// Sequence (10 bits).
    pub fn seq(self) -> u16 {
        (self.0 & SEQ_MASK) as u16
    }

    /// The node that minted the id, for ids from an [`IdGenerator`] (the
    /// top [`NODE_BITS`] of the sequence).
    pub fn node(self) -> u16 {
        self.seq() >> COUNTER_BITS
    }

    /// The smallest id of millisecond `ms` (since [`EPOCH_MS`]); a lower bound
    /// for "photos since `ms`" range scans.
    pub fn lowest_at(ms: u64) -> Self {
        PhotoId::from_parts(ms, 0, 0)
    }

    /// The largest id of millisecond `ms` (since [`EPOCH_MS`]); an inclusive
    /// upper bound for "photos up to `ms`" range scans.
    pub fn highest_at(ms: u64) -> Self {
        PhotoId::from_parts(ms, SHARD_MASK as u16, SEQ_MASK as u16)
    }

    /// Big-endian bytes: byte order equals id order, so they make ordered keys.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Inverse of [`PhotoId::to_be_bytes`].
    pub fn from_be_bytes(bytes: [u8; 8]) -> Self {
        PhotoId(u64::from_be_bytes(bytes))
    }
}

impl fmt::Display for PhotoId {
    /// The id as a decimal number (the form used in URLs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PhotoId {
    type Err = crate::Error;

    /// Parses a decimal id: ASCII digits only (no sign, spaces or prefix), at
    /// most `u64::MAX`. Never panics; anything else is `Error::InvalidInput`.
    fn from_str(s: &str) -> crate::Result<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(crate::Error::InvalidInput(format!(
                "photo id must be decimal digits, got {:?}",
                truncate_for_message(s)
            )));
        }
        s.parse::<u64>().map(PhotoId).map_err(|_| {
            crate::Error::InvalidInput(format!(
                "photo id out of range: {:?}",
                truncate_for_message(s)
            ))
        })
    }
}

/// Keeps error messages short when a client sends a huge path segment.
fn truncate_for_message(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A clock returning Unix time in milliseconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Sentinel for "no id issued yet in this logical shard".
const NONE: u64 = u64::MAX;

/// Per-node id generator. Cheap to share; safe under concurrency.
///
/// State is one `AtomicU64` per logical shard (64 KiB in all) holding the last
/// issued `ms << 6 | counter`; see the module docs for the clock rules. Two
/// generators mint disjoint ids when their node numbers differ; keeping node
/// numbers unique across live servers is the caller's job (the service leases
/// them through the metadata store, [`crate::ids`]).
pub struct IdGenerator {
    clock: Clock,
    node: u16,
    last: Box<[AtomicU64]>,
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdGenerator").finish_non_exhaustive()
    }
}

impl Default for IdGenerator {
    /// Same as [`IdGenerator::new`].
    fn default() -> Self {
        IdGenerator::new()
    }
}

impl IdGenerator {
    /// A generator of node 0 reading the system clock.
    pub fn new() -> Self {
        IdGenerator::with_clock(Arc::new(system_unix_ms))
    }

    /// A generator of node 0 reading `clock` (Unix ms) — tests inject frozen
    /// or stepping clocks. A clock before [`EPOCH_MS`] counts as the epoch.
    pub fn with_clock(clock: Clock) -> Self {
        IdGenerator::for_node(0, clock)
    }

    /// A generator stamping `node` (masked to [`NODE_BITS`]) into every id.
    pub fn for_node(node: u16, clock: Clock) -> Self {
        let last = (0..LOGICAL_SHARDS).map(|_| AtomicU64::new(NONE)).collect();
        let node = node & (MAX_NODES - 1);
        IdGenerator { clock, node, last }
    }

    /// A generator of `node` reading the system clock.
    pub fn system(node: u16) -> Self {
        IdGenerator::for_node(node, Arc::new(system_unix_ms))
    }

    /// The node number stamped into this generator's ids.
    pub fn node(&self) -> u16 {
        self.node
    }

    /// A new id in logical shard `shard` (masked to 13 bits); unique and
    /// strictly increasing per shard, across all threads sharing `self`.
    ///
    /// Its time is `max(clock, last issued ms)`, plus one ms each time the
    /// 64 counter values of a millisecond run out.
    pub fn next(&self, shard: u16) -> PhotoId {
        let shard = shard & SHARD_MASK as u16;
        let slot = &self.last[usize::from(shard)];
        let now = (self.clock)().saturating_sub(EPOCH_MS).min(MS_MASK);
        let mut last = slot.load(Ordering::Acquire);
        loop {
            let next = advance(last, now);
            match slot.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let seq = (self.node << COUNTER_BITS) | (next & COUNTER_MASK) as u16;
                    return PhotoId::from_parts(next >> COUNTER_BITS, shard, seq);
                }
                Err(seen) => last = seen,
            }
        }
    }
}

/// The `ms << 6 | counter` state following `last` when the clock reads `now`.
fn advance(last: u64, now: u64) -> u64 {
    if last == NONE {
        return now << COUNTER_BITS;
    }
    let (last_ms, last_seq) = (last >> COUNTER_BITS, last & COUNTER_MASK);
    if now > last_ms {
        now << COUNTER_BITS
    } else if last_seq < COUNTER_MASK {
        last + 1
    } else {
        // Counter exhausted in this ms: borrow the next ms.
        (last_ms + 1) << COUNTER_BITS
    }
}

/// The system wall clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(system_unix_ms)
}

fn system_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "id_tests.rs"]
mod tests;
