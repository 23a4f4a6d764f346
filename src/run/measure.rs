//! Measurements taken from the service around the driven run: counters
//! before and after, storage on disk, and timeline rows counted.

use std::path::Path;

use feedlab_system::Service;
use feedlab_system::meta::{Direction, KeyRange};
use feedlab_system::shards::ShardLoad;

/// Service counters at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Timeline entries written by the materializer so far.
    pub timeline_writes: u64,
    /// Per-shard operation counters.
    pub loads: Vec<ShardLoad>,
    /// Metadata bytes (the stores' approximate sizes).
    pub meta_bytes: u64,
    /// Bytes under the blob store's directory (all replicas).
    pub blob_bytes: u64,
}

impl Snapshot {
    /// Read the counters of `svc` whose blobs live under `data_dir/blobs`.
    pub fn take(svc: &Service, data_dir: &Path) -> Snapshot {
        Snapshot {
            timeline_writes: svc.metrics().timeline_writes.get(),
            loads: svc.shards().loads(),
            meta_bytes: svc.shards().approximate_bytes(),
            blob_bytes: dir_bytes(&data_dir.join("blobs")),
        }
    }
}

/// Total size of the regular files under `dir` (0 if it does not exist).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

/// Per-shard operations between two snapshots (`after − before`).
pub fn load_delta(before: &[ShardLoad], after: &[ShardLoad]) -> Vec<ShardLoad> {
    after
        .iter()
        .map(|a| {
            let b = before
                .iter()
                .find(|b| b.shard == a.shard)
                .copied()
                .unwrap_or_default();
            ShardLoad {
                shard: a.shard,
                reads: a.reads.saturating_sub(b.reads),
                scans: a.scans.saturating_sub(b.scans),
                writes: a.writes.saturating_sub(b.writes),
                wait_us: a.wait_us.saturating_sub(b.wait_us),
            }
        })
        .collect()
}

/// Busiest shard's ops over the mean ops (1.0 when nothing ran).
pub fn max_over_mean(loads: &[ShardLoad]) -> f64 {
    let ops: Vec<u64> = loads.iter().map(ShardLoad::ops).collect();
    let total: u64 = ops.iter().sum();
    if total == 0 || ops.is_empty() {
        return 1.0;
    }
    let mean = total as f64 / ops.len() as f64;
    ops.iter().copied().max().unwrap_or(0) as f64 / mean
}

/// Timeline rows and their key + value bytes, counted by scanning every
/// shard's `T` prefix in pages.
pub async fn timeline_rows(svc: &Service) -> feedlab_system::Result<(u64, u64)> {
    const PAGE: usize = 50_000;
    let (mut rows, mut bytes) = (0u64, 0u64);
    for shard in svc.shards().all() {
        let mut range = KeyRange::prefix(b"T");
        loop {
            let page = shard.scan(&range, Direction::Forward, PAGE).await?;
            for (k, v) in &page {
                rows += 1;
                bytes += (k.len() + v.len()) as u64;
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE => {
                    let mut next = last.clone();
                    next.push(0);
                    range.start = next;
                }
                _ => break,
            }
        }
    }
    Ok((rows, bytes))
}
