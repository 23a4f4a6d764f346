//! The home feed: candidates from the pre-generated timeline and from the
//! followees the fan-out policy serves by pull, merged and ranked.
//!
//! - push: the reader's timeline only;
//! - pull: the newest `limit` photos of every followee, merged;
//! - hybrid and rate: the timeline plus the followees whose edge the
//!   [`crate::policy::FanoutStrategy`] marks `Pull` for this reader.
//!
//! Rows that no longer exist (deleted photos) are dropped before ranking, so
//! the feed never points at a missing photo.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pull_cache::Recent;
use super::{Service, now_ms};
use crate::error::{Error, Result};
use crate::id::{EPOCH_MS, PhotoId};
use crate::meta::{Direction, KeyRange};
use crate::policy::{Candidate, EdgeMode, FanoutKind, FollowerStats, ShardKey, UserId};
use crate::tables::{self, PhotoRow, UserStats};

/// Longest long-poll wait accepted.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

impl Service {
    /// Followees of `reader` whose photos must be pulled at read time.
    async fn pulled_followees(&self, reader: UserId) -> Result<Arc<Vec<UserId>>> {
        if self.inner.fanout.kind() == FanoutKind::Push {
            return Ok(Arc::default());
        }
        let cache = &self.inner.pull_cache;
        if let Some(set) = cache.pull_set(reader) {
            return Ok(set);
        }
        let ticket = cache.set_ticket(reader);
        let set = self.compute_pulled(reader).await?;
        cache.fill_pull_set(reader, ticket, set.clone());
        Ok(Arc::new(set))
    }

    /// [`Service::pulled_followees`] read from the stores.
    async fn compute_pulled(&self, reader: UserId) -> Result<Vec<UserId>> {
        let kind = self.inner.fanout.kind();
        let followees = self.followees(reader).await?;
        if kind == FanoutKind::Pull || followees.is_empty() {
            return Ok(followees);
        }
        if kind == FanoutKind::Hybrid {
            return self.pulled_by_author(followees).await;
        }
        let now = now_ms();
        let me = self.stats(reader).await?.as_follower(now);
        let stats = self.stats_many(&followees).await?;
        Ok(followees
            .into_iter()
            .zip(stats)
            .filter(|(_, s)| self.inner.fanout.edge_mode(&s.as_author(now), &me) == EdgeMode::Pull)
            .map(|(f, _)| f)
            .collect())
    }

    /// Hybrid: the `followees` the threshold puts on pull. The mode depends
    /// on the author alone, so known modes come from the pull cache and only
    /// the others' counters are read.
    async fn pulled_by_author(&self, followees: Vec<UserId>) -> Result<Vec<UserId>> {
        let cache = &self.inner.pull_cache;
        let epoch = cache.mode_epoch();
        let mut modes = cache.author_modes(&followees);
        let unknown: Vec<UserId> = followees
            .iter()
            .zip(&modes)
            .filter(|(_, m)| m.is_none())
            .map(|(&f, _)| f)
            .collect();
        if !unknown.is_empty() {
            let now = now_ms();
            let reader = FollowerStats::default();
            let found: Vec<(UserId, EdgeMode)> = unknown
                .iter()
                .zip(self.stats_many(&unknown).await?)
                .map(|(&a, s)| (a, self.inner.fanout.edge_mode(&s.as_author(now), &reader)))
                .collect();
            cache.fill_modes(epoch, &found);
            let mut found = found.into_iter();
            for m in modes.iter_mut().filter(|m| m.is_none()) {
                *m = found.next().map(|(_, mode)| mode);
            }
        }
        Ok(followees
            .into_iter()
            .zip(modes)
            .filter(|(_, m)| *m == Some(EdgeMode::Pull))
            .map(|(f, _)| f)
            .collect())
    }

    /// The newest `limit` photo ids of a pulled author, through the pull
    /// cache.
    async fn recent_ids(&self, author: UserId, limit: usize) -> Result<Arc<Recent>> {
        let cache = &self.inner.pull_cache;
        if let Some(ids) = cache.recent(author, limit) {
            return Ok(ids);
        }
        let _refill = cache.refill_lock(author).await;
        if let Some(ids) = cache.recent(author, limit) {
            return Ok(ids);
        }
        let ticket = cache.recent_ticket(author);
        let ids = self.user_photo_ids(author, limit, None).await?;
        Ok(cache.fill_recent(author, ticket, limit, ids))
    }

    /// [`Service::recent_ids`] of each of `authors`, in order: the cached
    /// ones in one cache lookup, the others read concurrently.
    async fn recents(&self, authors: &[UserId], limit: usize) -> Result<Vec<Arc<Recent>>> {
        let cached = self.inner.pull_cache.recent_many(authors, limit);
        let misses = authors
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(&a, _)| self.recent_ids(a, limit));
        let mut read = futures::future::join_all(misses).await.into_iter();
        cached
            .into_iter()
            .map(|c| match c {
                Some(r) => Ok(r),
                None => read
                    .next()
                    .unwrap_or_else(|| Err(Error::Internal("a pulled author was not read".into()))),
            })
            .collect()
    }

    /// Counters of many users, one `batch_get` per shard, in order.
    pub async fn stats_many(&self, users: &[UserId]) -> Result<Vec<UserStats>> {
        let mut by_shard: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &u) in users.iter().enumerate() {
            by_shard
                .entry(self.inner.shards.index_of(ShardKey::User(u)))
                .or_default()
                .push(i);
        }
        let reads = by_shard.into_iter().map(|(s, idx)| {
            let keys: Vec<Vec<u8>> = idx.iter().map(|&i| tables::stats(users[i])).collect();
            async move { (idx, self.inner.shards.get(s).batch_get(&keys).await) }
        });
        let mut out = vec![UserStats::default(); users.len()];
        for (idx, got) in futures::future::join_all(reads).await {
            for (&i, v) in idx.iter().zip(got?) {
                if let Some(b) = v {
                    out[i] = tables::decode(&b)?;
                }
            }
        }
        Ok(out)
    }

    /// Candidate photo ids for `reader`'s feed, newest first and distinct
    /// (they may hold deleted photos): the newest `per_source` of all
    /// sources, or every id of the newest `per_source` of each source when
    /// `all` (for a popularity weight, which may lift older photos).
    async fn candidates(
        &self,
        reader: UserId,
        per_source: usize,
        all: bool,
    ) -> Result<Vec<PhotoId>> {
        let mut timeline = Vec::new();
        if self.inner.fanout.kind() != FanoutKind::Pull {
            let shard = self.inner.shards.of(ShardKey::User(reader));
            let range = KeyRange::prefix(&tables::timeline_prefix(reader));
            for (k, _) in shard.scan(&range, Direction::Reverse, per_source).await? {
                timeline.push(PhotoId(tables::trailing_id(&k)?));
            }
        }
        let pulled = self.pulled_followees(reader).await?;
        let recents = self.recents(&pulled, per_source).await?;
        let mut lists: Vec<&[PhotoId]> = vec![&timeline];
        lists.extend(
            recents
                .iter()
                .map(|r| &r.ids()[..r.ids().len().min(per_source)]),
        );
        if !all {
            return Ok(super::merge::newest(&lists, per_source));
        }
        let mut ids: Vec<PhotoId> = lists.concat();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        Ok(ids)
    }

    /// `reader`'s home feed: the top `limit` photos (1..=feed-limit) of the
    /// people they follow, ranked by recency and the popularity weight.
    pub async fn feed(&self, reader: UserId, limit: usize) -> Result<Vec<Arc<PhotoRow>>> {
        let max = self.inner.cfg.feed_limit;
        if !(1..=max).contains(&limit) {
            return Err(Error::InvalidInput(format!("limit must be 1–{max}")));
        }
        self.burn("feed");
        for _ in 0..self.inner.cfg.inject.feed_extra_calls {
            let shard = self.inner.shards.of(ShardKey::User(reader));
            shard.get(&tables::stats(reader)).await?;
        }
        let weighted = self.inner.cfg.popularity_weight > 0.0;
        // With recency only, the newest `limit` (plus slack for deletions)
        // of each source suffice; a popularity weight may lift older photos.
        let per_source = if weighted {
            self.inner.cfg.timeline_cap
        } else {
            limit + 16
        };
        let ids = self.candidates(reader, per_source, weighted).await?;
        let rows = self.photos(&ids).await?;
        let views = if weighted {
            self.inner.counters.views(self, &ids).await?
        } else {
            HashMap::new()
        };
        let cands: Vec<Candidate> = rows
            .iter()
            .map(|r| Candidate {
                photo: r.id,
                views: views.get(&r.id).copied().unwrap_or(0),
            })
            .collect();
        let now = now_ms().saturating_sub(EPOCH_MS);
        let top = self.inner.ranker.top(cands, limit, now);
        let by_id: HashMap<PhotoId, Arc<PhotoRow>> = rows.into_iter().map(|r| (r.id, r)).collect();
        self.inner.counters.count_read(reader);
        Ok(top
            .iter()
            .filter_map(|c| by_id.get(&c.photo).cloned())
            .collect())
    }

    /// Long-poll: feed entries newer than `since`, waiting up to `wait` for
    /// at least one. Woken by the materializer when it writes this reader's
    /// timeline; pulled authors are re-checked every 500 ms.
    pub async fn feed_updates(
        &self,
        reader: UserId,
        since: PhotoId,
        wait: Duration,
    ) -> Result<Vec<Arc<PhotoRow>>> {
        if wait > MAX_WAIT {
            return Err(Error::InvalidInput(format!(
                "wait must be at most {} s",
                MAX_WAIT.as_secs()
            )));
        }
        let deadline = Instant::now() + wait;
        let notify = self.inner.notifier.subscribe(reader);
        loop {
            let woken = notify.notified();
            let fresh: Vec<_> = self
                .feed(reader, self.inner.cfg.feed_limit)
                .await?
                .into_iter()
                .filter(|r| r.id > since)
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            if !fresh.is_empty() || left.is_zero() {
                return Ok(fresh);
            }
            let tick = left.min(Duration::from_millis(500));
            let _ = tokio::time::timeout(tick, woken).await;
        }
    }
}
