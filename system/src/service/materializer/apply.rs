//! Applying one batch of materializer tasks to the shards.
//!
//! All timeline inserts of a batch are grouped per shard into one buffered
//! write, so a batch of 64 uploads by authors with 200 followers each costs
//! one write per shard rather than 12,800.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::Task;
use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::{Direction, KeyRange, WriteBatch};
use crate::policy::{FollowerStats, ShardKey, UserId};
use crate::service::{Service, now_ms, outbox};
use crate::tables;

/// One planned timeline entry: `pid` by `author` in `reader`'s timeline.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimelineEntry {
    pub(super) reader: UserId,
    pub(super) pid: PhotoId,
    pub(super) author: UserId,
}

/// One planned removal of `pid` from `reader`'s timeline.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimelineRemoval {
    pub(super) reader: UserId,
    pub(super) pid: PhotoId,
}

/// The timeline writes of one batch.
#[derive(Default)]
pub(super) struct Plan {
    pub(super) inserts: Vec<TimelineEntry>,
    pub(super) deletes: Vec<TimelineRemoval>,
}

/// The outbox row a task was applied under, as this server holds it.
struct Claim {
    key: Vec<u8>,
    shard: usize,
    held: Vec<u8>,
}

/// A task whose plan succeeded, waiting for its timeline writes.
enum Done {
    Fanout {
        pid: PhotoId,
        at: Instant,
    },
    Edge {
        key: Vec<u8>,
        shard: usize,
        held: Vec<u8>,
    },
}

/// Counts `pid` in its author's `posts` (unless `recovered`: the batch recounted the
/// author, see [`super::posts`]) and plans its timeline inserts.
async fn plan_fanout(
    svc: &Service,
    pid: PhotoId,
    author: UserId,
    recovered: bool,
    plan: &mut Plan,
) -> Result<()> {
    if !recovered {
        super::posts::count_upload(svc, author, pid).await?;
    }
    if !svc.pushes() {
        return Ok(());
    }
    let now = now_ms();
    let astats = svc.stats(author).await?.as_author(now);
    let followers = svc.followers_of(author).await?;
    let fstats: Vec<FollowerStats> = if svc.inner.fanout.needs_follower_stats() {
        svc.stats_many(&followers)
            .await?
            .iter()
            .map(|s| s.as_follower(now))
            .collect()
    } else {
        vec![FollowerStats::default(); followers.len()]
    };
    let p = svc.inner.fanout.plan(&astats, &fstats);
    for i in p.push {
        plan.inserts.push(TimelineEntry {
            reader: followers[i],
            pid,
            author,
        });
    }
    Ok(())
}

/// Check the claim of `task` (extending it if it runs short) and plan it.
/// `Ok(None)`: the row changed hands or is gone; drop the task.
async fn plan_task(svc: &Service, task: Task, plan: &mut Plan) -> Result<Option<Done>> {
    let shards = &svc.inner.shards;
    let key = task.outbox_key();
    let shard = task_shard(svc, &task);
    let (me, lease) = (svc.inner.instance, svc.inner.cfg.outbox_lease_ms);
    let held = task.held().to_vec();
    let Some(held) = outbox::ensure(shards.get(shard), &key, held, me, now_ms(), lease).await?
    else {
        return Ok(None);
    };
    match task {
        Task::Fanout {
            pid,
            author,
            at,
            recovered,
            ..
        } => {
            plan_fanout(svc, pid, author, recovered, plan).await?;
            Ok(Some(Done::Fanout { pid, at }))
        }
        Task::Edge {
            follower,
            leader,
            recovered,
            ..
        } => {
            super::edges::plan_edge(svc, follower, leader, recovered, plan).await?;
            Ok(Some(Done::Edge { key, shard, held }))
        }
    }
}

/// Apply `tasks`: plan each, then write timelines, trim, wake readers, and
/// clear the outbox rows of the finished tasks. Every task's key leaves
/// the in-flight set whatever happens; a task that failed keeps its row
/// for the sweeper.
pub(super) async fn apply(svc: &Service, tasks: Vec<Task>) -> Result<()> {
    let claims: Vec<Claim> = tasks
        .iter()
        .map(|t| Claim {
            key: t.outbox_key(),
            shard: task_shard(svc, t),
            held: t.held().to_vec(),
        })
        .collect();
    let mut finished = HashSet::new();
    let result = apply_planned(svc, tasks, &mut finished).await;
    // A task that failed gives its row back, so that a server that can
    // finish it need not wait for the claim to lapse.
    for c in &claims {
        if !finished.contains(&c.key)
            && let Err(e) = outbox::release(svc.inner.shards.get(c.shard), &c.key, &c.held).await
        {
            tracing::warn!(error = %e, "could not give back an outbox claim; it will lapse");
        }
    }
    svc.inner
        .fanout_queue
        .finish(claims.iter().map(|c| c.key.as_slice()));
    result
}

/// The shard holding `task`'s outbox row.
fn task_shard(svc: &Service, task: &Task) -> usize {
    match task {
        Task::Fanout { pid, .. } => svc.inner.shards.index_of(ShardKey::Photo(*pid)),
        Task::Edge { follower, .. } => svc.inner.shards.index_of(ShardKey::User(*follower)),
    }
}

async fn apply_planned(
    svc: &Service,
    tasks: Vec<Task>,
    finished: &mut HashSet<Vec<u8>>,
) -> Result<()> {
    recount_taken_over(svc, &tasks).await?;
    let mut plan = Plan::default();
    let mut done = Vec::new();
    for t in tasks {
        let key = t.outbox_key();
        match plan_task(svc, t, &mut plan).await {
            Ok(Some(d)) => done.push(d),
            Ok(None) => {
                finished.insert(key);
            }
            Err(e) => tracing::warn!(error = %e, "materializer task failed"),
        }
    }
    write_timelines(svc, &plan).await?;
    svc.inner
        .metrics
        .timeline_writes
        .inc_by(plan.inserts.len() as u64);
    let touched: HashSet<UserId> = plan.inserts.iter().map(|e| e.reader).collect();
    trim(svc, &plan.inserts).await?;
    svc.inner.notifier.wake(touched);
    // Fan-out rows are never rewritten, and this server holds their claim:
    // a buffered delete suffices. Follow-work rows may have been rewritten
    // by a newer change, so they go with `cas`.
    let shards = &svc.inner.shards;
    let mut outbox: HashMap<usize, WriteBatch> = HashMap::new();
    for d in &done {
        match d {
            Done::Fanout { pid, .. } => {
                outbox
                    .entry(shards.index_of(ShardKey::Photo(*pid)))
                    .or_insert_with(WriteBatch::buffered)
                    .delete(tables::outbox(*pid));
            }
            Done::Edge { key, shard, held } => {
                outbox::finish(shards.get(*shard), key, held).await?;
            }
        }
    }
    for (s, b) in outbox {
        shards.get(s).write(b).await?;
    }
    svc.inner.metrics.outbox_applied.inc_by(done.len() as u64);
    for d in &done {
        finished.insert(match d {
            Done::Fanout { pid, .. } => tables::outbox(*pid),
            Done::Edge { key, .. } => key.clone(),
        });
    }
    for d in &done {
        if let Done::Fanout { at, .. } = d {
            svc.inner
                .metrics
                .fanout_seconds
                .with_label_values(&["fanout"])
                .observe(at.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// Recount `posts` of the authors of the fan-outs in `tasks` that were taken over (a
/// crash or a dead owner may have counted them already), once per batch.
async fn recount_taken_over(svc: &Service, tasks: &[Task]) -> Result<()> {
    let mut authors = HashSet::new();
    let mut taken = HashSet::new();
    for t in tasks {
        if let Task::Fanout {
            pid,
            author,
            recovered: true,
            ..
        } = t
        {
            authors.insert(*author);
            taken.insert(pid.0);
        }
    }
    if authors.is_empty() {
        return Ok(());
    }
    super::posts::recount(svc, authors, &taken).await
}

/// Write the planned timeline inserts and deletes: one buffered batch per
/// shard, all shards at once.
async fn write_timelines(svc: &Service, plan: &Plan) -> Result<()> {
    let shards = &svc.inner.shards;
    let mut batches: HashMap<usize, WriteBatch> = HashMap::new();
    for e in &plan.inserts {
        batches
            .entry(shards.index_of(ShardKey::User(e.reader)))
            .or_insert_with(WriteBatch::buffered)
            .put(
                tables::timeline(e.reader, e.pid),
                e.author.to_be_bytes().to_vec(),
            );
    }
    for r in &plan.deletes {
        batches
            .entry(shards.index_of(ShardKey::User(r.reader)))
            .or_insert_with(WriteBatch::buffered)
            .delete(tables::timeline(r.reader, r.pid));
    }
    let writes = batches.into_iter().map(|(s, b)| shards.get(s).write(b));
    futures::future::join_all(writes)
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// Trim the timelines that crossed their trim interval (or are touched for
/// the first time since start) back to `timeline-cap` entries.
async fn trim(svc: &Service, inserts: &[TimelineEntry]) -> Result<()> {
    let cap = svc.inner.cfg.timeline_cap;
    let mut per_user: HashMap<UserId, usize> = HashMap::new();
    for e in inserts {
        *per_user.entry(e.reader).or_default() += 1;
    }
    let due = svc.inner.counters.trims_due(per_user, (cap / 4).max(1));
    for f in due {
        let shard = svc.inner.shards.of(ShardKey::User(f));
        let range = KeyRange::prefix(&tables::timeline_prefix(f));
        // Oldest first: a forward scan costs a step per entry, a reverse one
        // a skiplist search per entry in the memtable.
        let rows = shard.scan(&range, Direction::Forward, usize::MAX).await?;
        if rows.len() > cap {
            let mut b = WriteBatch::buffered();
            for (k, _) in &rows[..rows.len() - cap] {
                b.delete(k.clone());
            }
            shard.write(b).await?;
        }
    }
    Ok(())
}
