//! The outbox sweeper: finds outbox rows no queue of this server holds and
//! queues them, claiming the ones whose owner's lease lapsed.
//!
//! For each `o/` and `q/` row of every shard: a row this server owns and
//! does not have queued (the queue was full when it was written) is queued
//! as it is; a row another server owns with a live claim is left alone; any
//! other row (unclaimed, or its owner's claim lapsed: a crash, or a server
//! that died) is claimed with `cas` and queued as recovered.

use std::time::Instant;

use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::{Direction, KeyRange};
use crate::service::outbox::{self, OutboxValue};
use crate::service::{Service, now_ms};
use crate::tables;

use super::Task;

/// Rows read per shard and outbox per sweep.
const SWEEP_ROWS: usize = 10_000;

/// Queue the outbox rows that this server should apply and has not
/// queued; returns how many rows the outboxes hold in all.
pub(crate) async fn sweep(svc: &Service) -> Result<usize> {
    let m = &svc.inner.fanout_queue;
    let me = svc.inner.instance;
    let lease = svc.inner.cfg.outbox_lease_ms;
    let mut total = 0;
    for shard in svc.inner.shards.all() {
        for prefix in [tables::outbox_prefix(), tables::edge_work_prefix()] {
            let range = KeyRange::prefix(&prefix);
            let rows = shard.scan(&range, Direction::Forward, SWEEP_ROWS).await?;
            total += rows.len();
            for (k, v) in rows {
                if m.is_inflight(&k) {
                    continue;
                }
                let now = now_ms();
                let value = OutboxValue::decode(&v)?;
                if value.held_by_other(me, now) {
                    continue;
                }
                let (held, recovered) = if value.owner == me && value.until_ms > now {
                    // Ours: left out of a full queue, or claimed by this
                    // instance before a restart (then maybe half applied).
                    let earlier = value.until_ms < svc.inner.started_ms + lease;
                    (v, earlier)
                } else {
                    match outbox::claim(shard, &k, &v, me, now, lease).await? {
                        Some(held) => (held, true),
                        None => continue,
                    }
                };
                svc.inner.metrics.outbox_claims.inc_by(u64::from(recovered));
                let task = if prefix == tables::outbox_prefix() {
                    Task::Fanout {
                        pid: PhotoId(tables::trailing_id(&k)?),
                        author: value.payload,
                        at: Instant::now(),
                        held,
                        recovered,
                    }
                } else {
                    let (follower, leader) = tables::edge_work_ids(&k)?;
                    Task::Edge {
                        follower,
                        leader,
                        held,
                        recovered,
                    }
                };
                m.enqueue(task, false);
            }
        }
    }
    Ok(total)
}
