//! Time-sortable photo ids: 41-bit ms since [`EPOCH_MS`], 13-bit logical
//! shard, 10-bit sequence.
//!
//! STUB: signatures fixed, bodies to be written (helper C).

use serde::{Deserialize, Serialize};

/// The id epoch: 2025-01-01T00:00:00Z in Unix ms.
pub const EPOCH_MS: u64 = 1_735_689_600_000;

/// A photo id. Ordering of the `u64` is ordering by time, then shard, then
/// sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoId(pub u64);

impl PhotoId {
    /// Assemble from parts (each masked to its width).
    pub fn from_parts(ms: u64, shard: u16, seq: u16) -> Self {
        PhotoId(((ms & ((1 << 41) - 1)) << 23) | ((shard as u64 & 0x1fff) << 10) | (seq as u64 & 0x3ff))
    }

    /// Ms since [`EPOCH_MS`].
    pub fn ms(self) -> u64 {
        self.0 >> 23
    }

    /// Logical shard (13 bits).
    pub fn shard(self) -> u16 {
        ((self.0 >> 10) & 0x1fff) as u16
    }

    /// Sequence (10 bits).
    pub fn seq(self) -> u16 {
        (self.0 & 0x3ff) as u16
    }
}

/// Per-node id generator. Cheap to share; safe under concurrency.
#[derive(Debug, Default)]
pub struct IdGenerator {}

impl IdGenerator {
    /// A generator reading the system clock.
    pub fn new() -> Self {
        IdGenerator {}
    }

    /// A new id in logical shard `shard`; unique and monotonic per shard.
    pub fn next(&self, shard: u16) -> PhotoId {
        PhotoId::from_parts(0, shard, 0)
    }
}
