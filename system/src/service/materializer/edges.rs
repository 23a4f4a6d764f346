//! Follow-change work: reconcile one edge's leader-side row, timelines and
//! counters with whether the follow holds now, and recount counters.
//!
//! A reconcile reads the follower-side edge (`f/`, the source of truth) and
//! makes everything derived from it agree: the leader's photos are
//! backfilled into or purged from the follower's timeline, both users'
//! `followers`/`following` counters are recounted from the edge rows, and,
//! when the task was taken over from the outbox (the change may have
//! stopped half way), the leader-side `F/` row is put or deleted. Because it
//! acts on the current state rather than on what the change was, replaying
//! it is harmless; a change that overlaps it rewrites the `q/` row, so it
//! runs once more afterwards.

use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::{CasOutcome, WriteBatch};
use crate::policy::{EdgeMode, ShardKey, UserId};
use crate::service::{Service, now_ms};
use crate::tables::{self, UserStats};

use super::apply::{Plan, TimelineEntry, TimelineRemoval};

/// Plan the reconcile of `follower → leader` (see the module docs); writes
/// the counters, and the leader-side row when `recovered`, itself.
pub(super) async fn plan_edge(
    svc: &Service,
    follower: UserId,
    leader: UserId,
    recovered: bool,
    plan: &mut Plan,
) -> Result<()> {
    let shards = &svc.inner.shards;
    let follows = shards
        .of(ShardKey::User(follower))
        .get(&tables::follows(follower, leader))
        .await?
        .is_some();
    if recovered {
        let mut b = WriteBatch::new();
        if follows {
            b.put(tables::followers(leader, follower), tables::MARK);
        } else {
            b.delete(tables::followers(leader, follower));
        }
        shards.of(ShardKey::User(leader)).write(b).await?;
    }
    recount(svc, follower, &tables::follows_prefix(follower), |s, n| {
        s.following = n
    })
    .await?;
    recount(svc, leader, &tables::followers_prefix(leader), |s, n| {
        s.followers = n
    })
    .await?;
    if follows {
        plan_backfill(svc, follower, leader, plan).await
    } else {
        plan_purge(svc, follower, leader, plan).await
    }
}

/// Set one counter of `uid` to the number of rows under `prefix` (on the
/// user's shard). The stats row is read before the rows are counted and
/// swapped only if unchanged, so a concurrent update forces a fresh count:
/// the value stored always comes from a count taken after every update it
/// overwrites.
pub(crate) async fn recount(
    svc: &Service,
    uid: UserId,
    prefix: &[u8],
    set: impl Fn(&mut UserStats, u64),
) -> Result<()> {
    let shard = svc.inner.shards.of(ShardKey::User(uid));
    let key = tables::stats(uid);
    loop {
        let cur = shard.get(&key).await?;
        let n = shard.scan_all(prefix, 4096).await?.len() as u64;
        let mut s: UserStats = match &cur {
            Some(b) => tables::decode(b)?,
            None => UserStats::default(),
        };
        set(&mut s, n);
        let new = tables::encode(&s)?;
        if shard.cas(&key, cur.as_deref(), Some(new)).await? == CasOutcome::Swapped {
            return Ok(());
        }
    }
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
    let astats = svc.stats(author).await?.as_author(now);
    let fstats = svc.stats(follower).await?.as_follower(now);
    if svc.inner.fanout.edge_mode(&astats, &fstats) == EdgeMode::Push {
        for pid in svc
            .user_photo_ids(author, svc.inner.cfg.timeline_cap, None)
            .await?
        {
            plan.inserts.push(TimelineEntry {
                reader: follower,
                pid,
                author,
            });
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
            plan.deletes.push(TimelineRemoval {
                reader: follower,
                pid: PhotoId(tables::trailing_id(&k)?),
            });
        }
    }
    Ok(())
}
