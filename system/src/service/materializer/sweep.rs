//! The outbox sweeper: finds outbox rows no queue of this server holds and
//! queues them, claiming the ones whose owner's lease lapsed.
//!
//! For each `o/` and `q/` row of every shard: a row this server owns and
//! does not have queued (the queue was full when it was written) is queued
//! as it is; a row another server owns with a live claim is left alone; any
//! other row (unclaimed, or its owner's claim lapsed: a crash, or a server
//! that died) is claimed with `cas` and queued as recovered.
//!
//! A scan is a snapshot: by the time the sweeper looks at a row, the task
//! that held it may have applied it, deleted it and left the in-flight set.
//! So the sweeper first reserves the row's key in the queue (which fails
//! while a task holds it, and once it succeeds no task of this server can
//! touch the row), and only then checks the row against the store: its own
//! rows with a fresh `get`, others' through the claim's `cas`. A row that is
//! gone or changed is given back and left to the next sweep.

use std::time::Instant;

use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::{Direction, KeyRange};
use crate::service::outbox::{self, OutboxValue};
use crate::service::{Service, now_ms};
use crate::shards::Shard;
use crate::tables;

use super::Task;

/// Rows read per shard and outbox per sweep.
const SWEEP_ROWS: usize = 10_000;

/// Queue the outbox rows that this server should apply and has not
/// queued; returns how many rows the outboxes hold in all.
pub(crate) async fn sweep(svc: &Service) -> Result<usize> {
    let m = &svc.inner.fanout_queue;
    let mut total = 0;
    for shard in svc.inner.shards.all() {
        for prefix in [tables::outbox_prefix(), tables::edge_work_prefix()] {
            let range = KeyRange::prefix(&prefix);
            let rows = shard.scan(&range, Direction::Forward, SWEEP_ROWS).await?;
            total += rows.len();
            for (k, v) in rows {
                if !m.reserve(&k) {
                    continue;
                }
                let taken = match take(svc, shard, &k, &v).await {
                    Ok(Some((held, recovered))) => {
                        task_of(&prefix, &k, held, recovered).map(|t| Some((t, recovered)))
                    }
                    other => other.map(|_| None),
                };
                let (task, recovered) = match taken {
                    Ok(Some(t)) => t,
                    other => {
                        // Nothing queued: give the key back, then stop on an error.
                        m.unreserve(&k);
                        other?;
                        continue;
                    }
                };
                svc.inner.metrics.outbox_claims.inc_by(u64::from(recovered));
                m.submit_reserved(task);
            }
        }
    }
    Ok(total)
}

/// The task of the outbox row `key` (under `prefix`) held as `held`.
fn task_of(prefix: &[u8], key: &[u8], held: Vec<u8>, recovered: bool) -> Result<Task> {
    Ok(if prefix == tables::outbox_prefix().as_slice() {
        Task::Fanout {
            pid: PhotoId(tables::trailing_id(key)?),
            author: OutboxValue::decode(&held)?.payload,
            at: Instant::now(),
            held,
            recovered,
        }
    } else {
        let (follower, leader) = tables::edge_work_ids(key)?;
        Task::Edge {
            follower,
            leader,
            held,
            recovered,
        }
    })
}

/// Decide whether this server applies the row `key`, scanned as `scanned`,
/// whose key the caller has reserved: `Some((held, recovered))` with the
/// value now held, `None` to leave it (another server's live claim, or the
/// row is gone or changed since the scan).
async fn take(
    svc: &Service,
    shard: &Shard,
    key: &[u8],
    scanned: &[u8],
) -> Result<Option<(Vec<u8>, bool)>> {
    let me = svc.inner.instance;
    let lease = svc.inner.cfg.outbox_lease_ms;
    let now = now_ms();
    let value = OutboxValue::decode(scanned)?;
    if value.held_by_other(me, now) {
        return Ok(None);
    }
    if value.owner == me && value.until_ms > now {
        // Ours: left out of a full queue, or claimed by this instance before
        // a restart (then maybe half applied). The scan may predate the task
        // that applied and deleted it.
        if shard.get(key).await?.as_deref() != Some(scanned) {
            return Ok(None);
        }
        let earlier = value.until_ms < svc.inner.started_ms + lease;
        return Ok(Some((scanned.to_vec(), earlier)));
    }
    Ok(outbox::claim(shard, key, scanned, me, now, lease)
        .await?
        .map(|held| (held, true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::WriteBatch;
    use crate::policy::FanoutKind;
    use crate::service::bulk::tests::open;

    /// A row of this server's that a task applied and deleted after the scan
    /// read it is not taken again: applying it twice would write its
    /// timelines and count its photo twice.
    #[tokio::test]
    async fn a_row_applied_since_the_scan_is_not_taken_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = open(dir.path(), FanoutKind::Push).await;
        let pid = PhotoId::from_parts(1_000, 0, 0);
        let key = tables::outbox(pid);
        let shard = svc.inner.shards.of(crate::policy::ShardKey::Photo(pid));
        let lease = svc.inner.cfg.outbox_lease_ms;
        let mine = OutboxValue::owned(7, svc.inner.instance, now_ms(), lease).encode();
        // Reserved as the sweeper holds it, so the service's own sweeper leaves it alone.
        assert!(svc.inner.fanout_queue.reserve(&key));
        let mut b = WriteBatch::new();
        b.put(key.clone(), mine.clone());
        shard.write(b).await.expect("o/");
        let taken = take(&svc, shard, &key, &mine).await.expect("take");
        assert_eq!(taken, Some((mine.clone(), false)), "a live row of ours");
        let mut b = WriteBatch::new();
        b.delete(key.clone());
        shard.write(b).await.expect("delete");
        let taken = take(&svc, shard, &key, &mine).await.expect("take");
        assert_eq!(
            taken, None,
            "the row was applied and deleted since the scan"
        );
    }
}
