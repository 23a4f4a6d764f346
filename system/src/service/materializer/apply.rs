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
use crate::policy::{AuthorStats, EdgeMode, FollowerStats, ShardKey, UserId};
use crate::service::feed::rates;
use crate::service::{Service, now_ms};
use crate::tables;

struct Plan {
    inserts: Vec<(UserId, PhotoId, UserId)>,
    deletes: Vec<(UserId, PhotoId)>,
    done: Vec<(PhotoId, Instant)>,
}

async fn plan_fanout(svc: &Service, pid: PhotoId, author: UserId, plan: &mut Plan) -> Result<()> {
    svc.update_stats(author, |s| s.posts += 1).await?;
    if !svc.pushes() {
        return Ok(());
    }
    let now = now_ms();
    let a = svc.stats(author).await?;
    let astats = AuthorStats {
        followers: a.followers,
        posts_per_day: rates(&a, now).0,
    };
    let followers = svc.followers_of(author).await?;
    let fstats: Vec<FollowerStats> = if svc.inner.fanout.needs_follower_stats() {
        svc.stats_many(&followers)
            .await?
            .iter()
            .map(|s| FollowerStats {
                reads_per_day: rates(s, now).1,
            })
            .collect()
    } else {
        vec![FollowerStats::default(); followers.len()]
    };
    let p = svc.inner.fanout.plan(&astats, &fstats);
    for i in p.push {
        plan.inserts.push((followers[i], pid, author));
    }
    Ok(())
}

async fn plan_backfill(
    svc: &Service,
    follower: UserId,
    author: UserId,
    plan: &mut Plan,
) -> Result<()> {
    if !svc.pushes() {
        return Ok(());
    }
    let now = now_ms();
    let (a, f) = (svc.stats(author).await?, svc.stats(follower).await?);
    let astats = AuthorStats {
        followers: a.followers,
        posts_per_day: rates(&a, now).0,
    };
    let fstats = FollowerStats {
        reads_per_day: rates(&f, now).1,
    };
    if svc.inner.fanout.edge_mode(&astats, &fstats) == EdgeMode::Push {
        for pid in svc
            .user_photo_ids(author, svc.inner.cfg.timeline_cap, None)
            .await?
        {
            plan.inserts.push((follower, pid, author));
        }
    }
    Ok(())
}

async fn plan_purge(
    svc: &Service,
    follower: UserId,
    author: UserId,
    plan: &mut Plan,
) -> Result<()> {
    let shard = svc.inner.shards.of(ShardKey::User(follower));
    for (k, v) in shard
        .scan_all(&tables::timeline_prefix(follower), 1024)
        .await?
    {
        if tables::decode_u64(&v)? == author {
            plan.deletes
                .push((follower, PhotoId(tables::trailing_id(&k)?)));
        }
    }
    Ok(())
}

/// Apply `tasks`: plan each, then write timelines, trim, wake readers, and
/// clear the outbox rows of the finished fan-outs.
pub(super) async fn apply(svc: &Service, tasks: Vec<Task>) -> Result<()> {
    let mut plan = Plan {
        inserts: Vec::new(),
        deletes: Vec::new(),
        done: Vec::new(),
    };
    let m = &svc.inner.materializer;
    let mut failed = Vec::new();
    for t in tasks {
        let r = match t {
            Task::Fanout { pid, author, at } => {
                let r = plan_fanout(svc, pid, author, &mut plan).await;
                if r.is_ok() {
                    plan.done.push((pid, at));
                } else {
                    failed.push(pid);
                }
                r
            }
            Task::Backfill { follower, author } => {
                plan_backfill(svc, follower, author, &mut plan).await
            }
            Task::Purge { follower, author } => plan_purge(svc, follower, author, &mut plan).await,
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "materializer task failed");
        }
    }
    let shards = &svc.inner.shards;
    let mut batches: HashMap<usize, WriteBatch> = HashMap::new();
    for &(f, pid, author) in &plan.inserts {
        batches
            .entry(shards.index_of(ShardKey::User(f)))
            .or_insert_with(WriteBatch::buffered)
            .put(tables::timeline(f, pid), author.to_be_bytes().to_vec());
    }
    for &(f, pid) in &plan.deletes {
        batches
            .entry(shards.index_of(ShardKey::User(f)))
            .or_insert_with(WriteBatch::buffered)
            .delete(tables::timeline(f, pid));
    }
    let writes = batches.into_iter().map(|(s, b)| shards.get(s).write(b));
    let result = futures::future::join_all(writes)
        .await
        .into_iter()
        .collect::<Result<Vec<()>>>();
    if let Err(e) = result {
        let mut inflight = m.inflight.lock();
        for (pid, _) in &plan.done {
            inflight.remove(pid);
        }
        for pid in failed {
            inflight.remove(&pid);
        }
        return Err(e);
    }
    svc.inner
        .metrics
        .timeline_writes
        .inc_by(plan.inserts.len() as u64);
    let touched: HashSet<UserId> = plan.inserts.iter().map(|&(f, _, _)| f).collect();
    trim(svc, &plan.inserts).await?;
    m.wake(touched.into_iter());
    let mut outbox: HashMap<usize, WriteBatch> = HashMap::new();
    for (pid, _) in &plan.done {
        outbox
            .entry(shards.index_of(ShardKey::Photo(*pid)))
            .or_insert_with(WriteBatch::buffered)
            .delete(tables::outbox(*pid));
    }
    for (s, b) in outbox {
        shards.get(s).write(b).await?;
    }
    let mut inflight = m.inflight.lock();
    for (pid, at) in &plan.done {
        inflight.remove(pid);
        svc.inner
            .metrics
            .fanout_seconds
            .with_label_values(&["fanout"])
            .observe(at.elapsed().as_secs_f64());
    }
    for pid in failed {
        inflight.remove(&pid);
    }
    Ok(())
}

/// Trim the timelines that crossed their trim interval (or are touched for
/// the first time since start) back to `timeline-cap` entries.
async fn trim(svc: &Service, inserts: &[(UserId, PhotoId, UserId)]) -> Result<()> {
    let cap = svc.inner.cfg.timeline_cap;
    let every = (cap / 4).max(1);
    let mut due = Vec::new();
    {
        let mut counts = svc.inner.materializer.trims.lock();
        let mut per_user: HashMap<UserId, usize> = HashMap::new();
        for &(f, _, _) in inserts {
            *per_user.entry(f).or_default() += 1;
        }
        for (f, n) in per_user {
            match counts.get_mut(&f) {
                Some(c) if *c + n < every => *c += n,
                Some(c) => {
                    *c = 0;
                    due.push(f);
                }
                None => {
                    counts.insert(f, 0);
                    due.push(f);
                }
            }
        }
    }
    for f in due {
        let shard = svc.inner.shards.of(ShardKey::User(f));
        let range = KeyRange::prefix(&tables::timeline_prefix(f));
        let rows = shard.scan(&range, Direction::Reverse, usize::MAX).await?;
        if rows.len() > cap {
            let mut b = WriteBatch::buffered();
            for (k, _) in &rows[cap..] {
                b.delete(k.clone());
            }
            shard.write(b).await?;
        }
    }
    Ok(())
}

/// Flush buffered view and feed-read counters to the stores.
pub(super) async fn flush_counters(svc: &Service) -> Result<()> {
    let views: Vec<(PhotoId, u64)> = svc.inner.materializer.views.lock().drain().collect();
    for (pid, d) in views {
        let shard = svc.inner.shards.of(ShardKey::Photo(pid));
        let key = tables::views(pid);
        let cur = match shard.get(&key).await? {
            Some(b) => tables::decode_u64(&b)?,
            None => 0,
        };
        let mut b = WriteBatch::buffered();
        b.put(key, (cur + d).to_be_bytes().to_vec());
        shard.write(b).await?;
    }
    let reads: Vec<(UserId, u64)> = svc.inner.materializer.reads.lock().drain().collect();
    for (uid, d) in reads {
        svc.update_stats(uid, |s| s.feed_reads += d).await?;
    }
    Ok(())
}
