//! Measurements taken from the service around the driven run: counters
//! before and after, blob bytes on disk, and the metadata's logical size.
//!
//! Metadata is measured logically (key + value bytes of every live row, by
//! a full scan of each shard), not from the store's files: fjall
//! preallocates its journal and keeps a short run's rows in memtables, so
//! its on-disk size says little about what a row costs.

use std::path::Path;

use feedlab_system::meta::{Direction, KeyRange};
use feedlab_system::shards::ShardLoad;
use feedlab_system::{Service, tables};

/// Service counters at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Timeline entries written by the materializer so far.
    pub timeline_writes: u64,
    /// Per-shard operation counters.
    pub loads: Vec<ShardLoad>,
    /// Logical metadata bytes of every table but the timelines.
    pub meta_bytes: u64,
    /// Timeline rows.
    pub timeline_rows: u64,
    /// Logical timeline bytes.
    pub timeline_bytes: u64,
    /// Bytes under the blob store's directory (all replicas).
    pub blob_bytes: u64,
}

impl Snapshot {
    /// Read the counters of `svc` whose blobs live under `data_dir/blobs`,
    /// then scan its metadata. The shard counters are read before the scan,
    /// so the scan's own reads never count as load.
    pub async fn take(svc: &Service, data_dir: &Path) -> feedlab_system::Result<Snapshot> {
        let timeline_writes = svc.metrics().timeline_writes.get();
        let loads = svc.shards().loads();
        let (meta_bytes, timeline_rows, timeline_bytes) = logical_bytes(svc).await?;
        Ok(Snapshot {
            timeline_writes,
            loads,
            meta_bytes,
            timeline_rows,
            timeline_bytes,
            blob_bytes: dir_bytes(&data_dir.join("blobs")),
        })
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
                refused: a.refused.saturating_sub(b.refused),
            }
        })
        .collect()
}

/// Busiest shard's ops over the mean ops (1.0 when nothing ran).
pub fn max_over_mean(loads: &[ShardLoad]) -> f64 {
    let ops: Vec<f64> = loads.iter().map(|l| l.ops() as f64).collect();
    feedlab_workload::latency::max_over_mean(&ops)
}

/// `(meta bytes, timeline rows, timeline bytes)`: key + value bytes of
/// every row, split into the timeline table and the rest,
/// counted by scanning every shard in pages.
pub async fn logical_bytes(svc: &Service) -> feedlab_system::Result<(u64, u64, u64)> {
    const PAGE: usize = 50_000;
    let (mut meta, mut rows, mut timeline) = (0u64, 0u64, 0u64);
    for shard in svc.shards().all() {
        let mut range = KeyRange {
            start: Vec::new(),
            end: None,
        };
        loop {
            let page = shard.scan(&range, Direction::Forward, PAGE).await?;
            for (k, v) in &page {
                let bytes = (k.len() + v.len()) as u64;
                if tables::is_timeline(k) {
                    rows += 1;
                    timeline += bytes;
                } else {
                    meta += bytes;
                }
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
    Ok((meta, rows, timeline))
}
