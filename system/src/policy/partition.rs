//! Sharding policy: which physical shard holds a key.
//!
//! Every key first maps to one of 8192 *logical shards* — the 13-bit field a
//! [`PhotoId`] carries: a user's logical shard is `user % 8192`, a photo's is
//! [`PhotoId::shard`], which [`Partitioner::logical_for_photo`] chooses at
//! upload. The strategies then differ in how a key reaches a physical shard:
//!
//! | kind | user `u` | photo `p` |
//! |---|---|---|
//! | `user` | `(u % 8192) % shards` | `p.shard() % shards` (the owner's shard) |
//! | `photo` | as `user` | `hash(p) % shards` (one user's photos spread) |
//! | `logical` | `map[(u % 8192) % partitions]` | `map[p.shard() % partitions]` |
//! | `consistent` | ring lookup of `hash(u % 8192)` | ring lookup of `hash(p.shard())` |
//!
//! The logical map starts as `partition % shards` and can be changed one
//! partition at a time ([`Partitioner::move_partition`]), which is how data
//! moves without rehashing. The consistent ring has `shards × vnodes` points,
//! each a hash of `(shard, vnode)`, so adding a shard moves only the keys that
//! fall on the new shard's arcs ([`Partitioner::with_shards_added`]).
//!
//! The hash is a fixed splitmix64 finalizer ([`mix64`]), never std's
//! randomized hasher: placement is identical across runs, processes and the
//! live and simulated executors.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::UserId;
use crate::Error;
use crate::id::{LOGICAL_SHARDS, PhotoId};

/// Index of a physical shard, `0..shard_count`.
pub type ShardId = usize;

/// What is being placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardKey {
    /// A user's rows: profile, follows, followers, user_photos, timeline.
    User(UserId),
    /// A photo's rows: metadata, title-index postings, view counter.
    Photo(PhotoId),
}

/// The sharding strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ShardingKind {
    /// `user mod shards`; a user's photos live with the user.
    #[default]
    User,
    /// Photos spread by a hash of the photo id; users by user id.
    Photo,
    /// Logical partitions (default 4096) mapped to physical shards by a map.
    Logical,
    /// Consistent hashing with virtual nodes.
    Consistent,
}

impl ShardingKind {
    /// Every strategy, in declaration order.
    pub const ALL: [ShardingKind; 4] = [
        ShardingKind::User,
        ShardingKind::Photo,
        ShardingKind::Logical,
        ShardingKind::Consistent,
    ];

    /// The name used in scenarios and on the command line (as serde spells it).
    pub fn name(self) -> &'static str {
        match self {
            ShardingKind::User => "user",
            ShardingKind::Photo => "photo",
            ShardingKind::Logical => "logical",
            ShardingKind::Consistent => "consistent",
        }
    }
}

impl fmt::Display for ShardingKind {
    /// Writes [`ShardingKind::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ShardingKind {
    type Err = Error;

    /// Parses a name from [`ShardingKind::name`] (ASCII case-insensitive);
    /// otherwise `Error::InvalidInput` listing the valid names.
    fn from_str(s: &str) -> crate::Result<Self> {
        ShardingKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown sharding strategy {s:?}; valid: user, photo, logical, consistent"
                ))
            })
    }
}

/// Configuration for [`Partitioner::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PartitionerConfig {
    /// Strategy.
    pub kind: ShardingKind,
    /// Number of physical shards (1..=8192).
    pub shards: usize,
    /// Logical partitions for [`ShardingKind::Logical`] (1..=8192).
    pub logical_partitions: u32,
    /// Virtual nodes per shard for [`ShardingKind::Consistent`] (1..=4096).
    pub vnodes: u32,
}

impl Default for PartitionerConfig {
    fn default() -> Self {
        PartitionerConfig {
            kind: ShardingKind::User,
            shards: 8,
            logical_partitions: 4096,
            vnodes: 128,
        }
    }
}

/// Places keys on shards. Pure and deterministic.
#[derive(Debug, Clone)]
pub struct Partitioner {
    cfg: PartitionerConfig,
    /// Logical partition → physical shard (only for `Logical`, else empty).
    map: Vec<ShardId>,
    /// Sorted `(point, shard)` ring (only for `Consistent`, else empty).
    ring: Vec<(u64, ShardId)>,
}

const SALT_PHOTO: u64 = 0x5048_4f54_4f5f_4944; // photo-id spread
const SALT_NONCE: u64 = 0x4e4f_4e43_455f_4c53; // upload nonce → logical shard
const SALT_RING_KEY: u64 = 0x5249_4e47_5f4b_4559; // key position on the ring
const SALT_RING_NODE: u64 = 0x5249_4e47_5f4e_4f44; // vnode position on the ring

/// The splitmix64 finalizer: a fixed, well-mixed 64-bit → 64-bit bijection.
/// Deterministic across runs and platforms; not a cryptographic hash.
pub fn mix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn invalid(msg: String) -> Error {
    Error::InvalidInput(msg)
}

impl Partitioner {
    /// Build from a config; rejects (`Error::InvalidInput`) shards outside
    /// 1..=8192, logical partitions outside 1..=8192 and vnodes outside
    /// 1..=4096, whatever the kind.
    pub fn new(cfg: PartitionerConfig) -> crate::Result<Self> {
        if !(1..=LOGICAL_SHARDS).contains(&cfg.shards) {
            return Err(invalid(format!(
                "shards must be in 1..={LOGICAL_SHARDS}, got {}",
                cfg.shards
            )));
        }
        if !(1..=LOGICAL_SHARDS as u32).contains(&cfg.logical_partitions) {
            return Err(invalid(format!(
                "logical-partitions must be in 1..={LOGICAL_SHARDS}, got {}",
                cfg.logical_partitions
            )));
        }
        if !(1..=4096).contains(&cfg.vnodes) {
            return Err(invalid(format!(
                "vnodes must be in 1..=4096, got {}",
                cfg.vnodes
            )));
        }
        let map = match cfg.kind {
            ShardingKind::Logical => (0..cfg.logical_partitions as usize)
                .map(|p| p % cfg.shards)
                .collect(),
            _ => Vec::new(),
        };
        let ring = match cfg.kind {
            ShardingKind::Consistent => build_ring(cfg.shards, cfg.vnodes),
            _ => Vec::new(),
        };
        Ok(Partitioner { cfg, map, ring })
    }

    /// Strategy in use.
    pub fn kind(&self) -> ShardingKind {
        self.cfg.kind
    }

    /// Number of physical shards.
    pub fn shard_count(&self) -> usize {
        self.cfg.shards
    }

    /// The config this partitioner was built from (`shards` reflects
    /// [`Partitioner::with_shards_added`]).
    pub fn config(&self) -> &PartitionerConfig {
        &self.cfg
    }

    /// The shard holding `key`; always `< shard_count()`.
    pub fn shard_of(&self, key: ShardKey) -> ShardId {
        let shards = self.cfg.shards;
        match (self.cfg.kind, key) {
            (ShardingKind::Photo, ShardKey::Photo(p)) => {
                (mix64(p.0 ^ SALT_PHOTO) % shards as u64) as usize
            }
            (ShardingKind::User | ShardingKind::Photo, k) => usize::from(logical_of(k)) % shards,
            (ShardingKind::Logical, k) => self.map[self.partition_of(k) as usize],
            (ShardingKind::Consistent, k) => {
                self.ring_lookup(mix64(u64::from(logical_of(k)) ^ SALT_RING_KEY))
            }
        }
    }

    /// The 13-bit logical shard to embed in a new photo id of `owner`.
    /// `nonce` varies per upload (photo-id sharding spreads on it); every
    /// other kind returns `owner % 8192`, so the photo lives with its owner.
    pub fn logical_for_photo(&self, owner: UserId, nonce: u64) -> u16 {
        match self.cfg.kind {
            ShardingKind::Photo => (mix64(nonce ^ SALT_NONCE) % LOGICAL_SHARDS as u64) as u16,
            _ => logical_of(ShardKey::User(owner)),
        }
    }

    /// The logical partition (`0..logical_partitions`) of `key` under the
    /// `Logical` scheme: its logical shard modulo the partition count.
    /// Meaningful for any kind, but only `Logical` places keys by it.
    pub fn partition_of(&self, key: ShardKey) -> u32 {
        u32::from(logical_of(key)) % self.cfg.logical_partitions
    }

    /// The logical partition → physical shard map (`Logical` only; empty for
    /// other kinds).
    pub fn partition_map(&self) -> &[ShardId] {
        &self.map
    }

    /// Reassign logical `partition` to physical shard `to_shard` (`Logical`
    /// only). Errors (`InvalidInput`) on another kind, an unknown partition or
    /// a shard out of range.
    pub fn move_partition(&mut self, partition: u32, to_shard: ShardId) -> crate::Result<()> {
        if self.cfg.kind != ShardingKind::Logical {
            return Err(invalid(format!(
                "move_partition needs logical sharding, this partitioner is {}",
                self.cfg.kind
            )));
        }
        if to_shard >= self.cfg.shards {
            return Err(invalid(format!(
                "shard {to_shard} out of range 0..{}",
                self.cfg.shards
            )));
        }
        let slot = self.map.get_mut(partition as usize).ok_or_else(|| {
            invalid(format!(
                "partition {partition} out of range 0..{}",
                self.cfg.logical_partitions
            ))
        })?;
        *slot = to_shard;
        Ok(())
    }

    /// The same strategy with `extra` more physical shards, as a cluster grows:
    /// `user`/`photo` recompute their modulus (most keys move); `consistent`
    /// adds the new shards' points to the same ring (≈ extra/(shards+extra)
    /// of keys move); `logical` keeps its map, so nothing moves until
    /// partitions are moved explicitly. Errors if the total exceeds 8192.
    pub fn with_shards_added(&self, extra: usize) -> crate::Result<Partitioner> {
        let shards = self
            .cfg
            .shards
            .checked_add(extra)
            .ok_or_else(|| invalid("shard count overflows".to_string()))?;
        let mut grown = Partitioner::new(PartitionerConfig {
            shards,
            ..self.cfg.clone()
        })?;
        if self.cfg.kind == ShardingKind::Logical {
            grown.map.clone_from(&self.map);
        }
        Ok(grown)
    }

    fn ring_lookup(&self, h: u64) -> ShardId {
        let i = self.ring.partition_point(|&(point, _)| point < h);
        // Past the last point wraps to the first; the ring is never empty.
        self.ring
            .get(i)
            .or(self.ring.first())
            .map_or(0, |&(_, s)| s)
    }
}

/// The 13-bit logical shard of a key: `user % 8192`, or the photo id's field.
pub fn logical_of(key: ShardKey) -> u16 {
    match key {
        ShardKey::User(u) => (u % LOGICAL_SHARDS as u64) as u16,
        ShardKey::Photo(p) => p.shard(),
    }
}

fn build_ring(shards: usize, vnodes: u32) -> Vec<(u64, ShardId)> {
    let mut ring: Vec<(u64, ShardId)> = (0..shards)
        .flat_map(|s| {
            (0..vnodes).map(move |v| (mix64(((s as u64) << 32 | u64::from(v)) ^ SALT_RING_NODE), s))
        })
        .collect();
    ring.sort_unstable();
    ring
}

// Behavioural tests (balance, co-location, moves, growth) live in
// `system/tests/policy.rs`; these check the private pieces.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_is_reference_splitmix64() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference code):
        // placement must never silently change between builds.
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix64(0x9e37_79b9_7f4a_7c15), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn ring_is_sorted_and_wraps_around() {
        let p = Partitioner::new(PartitionerConfig {
            kind: ShardingKind::Consistent,
            shards: 5,
            vnodes: 16,
            ..PartitionerConfig::default()
        })
        .expect("valid");
        assert_eq!(p.ring.len(), 80);
        assert!(p.ring.windows(2).all(|w| w[0] <= w[1]));
        let (first, last) = (p.ring[0], p.ring[79]);
        assert_eq!(p.ring_lookup(first.0), first.1);
        assert_eq!(p.ring_lookup(last.0), last.1);
        if last.0 < u64::MAX {
            assert_eq!(p.ring_lookup(last.0 + 1), first.1, "past the end wraps");
        }
        assert_eq!(p.ring_lookup(first.0.saturating_sub(1)), first.1);
        for s in 0..5 {
            assert_eq!(p.ring.iter().filter(|&&(_, x)| x == s).count(), 16);
        }
    }
}
