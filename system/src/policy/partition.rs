//! Sharding policy: which physical shard holds a key.
//!
//! STUB: signatures fixed, bodies to be written (helper C).

use serde::{Deserialize, Serialize};

use super::UserId;
use crate::id::PhotoId;

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

/// Configuration for [`Partitioner::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PartitionerConfig {
    /// Strategy.
    pub kind: ShardingKind,
    /// Number of physical shards (≥ 1).
    pub shards: usize,
    /// Logical partitions for [`ShardingKind::Logical`] (1..=8192).
    pub logical_partitions: u32,
    /// Virtual nodes per shard for [`ShardingKind::Consistent`].
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
    _cfg: PartitionerConfig,
}

impl Partitioner {
    /// Build from a config; rejects zero shards or out-of-range partitions.
    pub fn new(cfg: PartitionerConfig) -> crate::Result<Self> {
        Ok(Partitioner { _cfg: cfg })
    }

    /// Strategy in use.
    pub fn kind(&self) -> ShardingKind {
        self._cfg.kind
    }

    /// Number of physical shards.
    pub fn shard_count(&self) -> usize {
        self._cfg.shards
    }

    /// The shard holding `key`.
    pub fn shard_of(&self, key: ShardKey) -> ShardId {
        let _ = key;
        0
    }

    /// The 13-bit logical shard to embed in a new photo id of `owner`.
    /// `nonce` varies per upload (photo-id sharding spreads on it).
    pub fn logical_for_photo(&self, owner: UserId, nonce: u64) -> u16 {
        let _ = (owner, nonce);
        0
    }
}
