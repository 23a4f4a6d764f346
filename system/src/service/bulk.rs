//! Bulk materialization: load a population, its follow graph and its
//! historical photos far faster than the request path would.
//!
//! A live run starts from a scaled population of tens of thousands of users
//! and millions of follows. Creating them one call at a time costs a `cas`
//! and an fsync per edge; here rows are grouped per shard into batches of
//! [`BATCH_OPS`] operations written with [`Durability::Buffered`], and each
//! shard's last batch is written with [`Durability::Sync`], which persists
//! the journal up to it (so everything before it too). The key layouts are
//! exactly those of [`crate::tables`] and of the single-item paths in
//! `users.rs` and `photos.rs`, so the loaded data is indistinguishable from
//! data created through the API.
//!
//! Contract and limits (this is a loader, not a request path):
//! - [`Service::bulk_follow`] is meant for fresh users before traffic starts:
//!   it skips self-edges, duplicates and edges already stored, but it updates
//!   follower/following counters with a read-modify-write that a concurrent
//!   `follow` could race, and it enqueues no timeline backfill (load the graph
//!   before the photos);
//! - [`Service::bulk_photos`] (in `bulk_photos.rs`) stores each of a few
//!   shared bodies once (content-addressed) and writes every photo's rows and
//!   outbox entry before it returns; the fan-out then runs in the
//!   materializer (`drain` waits for it).

use std::collections::BTreeMap;

use rand::RngCore;

use super::users::NewUser;
use super::{Service, now_ms};
use crate::error::{Error, Result};
use crate::meta::{Durability, WriteBatch};
use crate::policy::{ShardKey, UserId};
use crate::tables::{self, UserRow, UserStats};

/// Operations per buffered batch.
pub const BATCH_OPS: usize = 10_000;
/// Per-shard operations waiting to be written in batches.
pub(super) struct ShardOps {
    ops: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl ShardOps {
    pub(super) fn new(shards: usize) -> Self {
        ShardOps {
            ops: vec![Vec::new(); shards],
        }
    }

    pub(super) fn put(&mut self, shard: usize, key: Vec<u8>, value: Vec<u8>) {
        self.ops[shard].push((key, value));
    }

    fn len(&self) -> usize {
        self.ops.iter().map(Vec::len).sum()
    }
}

impl Service {
    /// Write `ops` to their shards, all shards concurrently: batches of
    /// [`BATCH_OPS`] buffered, the last batch of each shard synced.
    pub(super) async fn write_bulk(&self, ops: ShardOps) -> Result<()> {
        let shards = &self.inner.shards;
        let writes = ops
            .ops
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(s, rows)| async move {
                let chunks = rows.len().div_ceil(BATCH_OPS);
                let mut it = rows.into_iter();
                for c in 0..chunks {
                    let mut b = WriteBatch::buffered();
                    if c + 1 == chunks {
                        b.durability = Durability::Sync;
                    }
                    for (k, v) in it.by_ref().take(BATCH_OPS) {
                        b.put(k, v);
                    }
                    shards.get(s).write(b).await?;
                }
                Ok::<(), Error>(())
            });
        for r in futures::future::join_all(writes).await {
            r?;
        }
        Ok(())
    }

    /// Create `n` users at once: ids come from one block of the user-id
    /// counter, rows (`u/`, `s/`) are written in per-shard batches. Each user
    /// is named `user<id>` with e-mail `user<id>@feedlab.test` and gets its
    /// own bearer token, exactly as [`Service::create_user`] would issue it.
    pub async fn bulk_create_users(&self, n: usize) -> Result<Vec<NewUser>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let start = self.reserve_user_ids(n as u64).await?;
        let now = now_ms();
        let stats = tables::encode(&UserStats {
            since_ms: now,
            ..UserStats::default()
        })?;
        let mut ops = ShardOps::new(self.inner.shards.len());
        let mut out = Vec::with_capacity(n);
        let mut rng = rand::rng();
        for id in start..start + n as u64 {
            let mut secret = [0u8; 16];
            rng.fill_bytes(&mut secret);
            let secret = hex::encode(secret);
            let row = UserRow {
                id,
                name: format!("user{id}"),
                email: format!("user{id}@feedlab.test"),
                created_ms: now,
                token_hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
            };
            let s = self.inner.shards.index_of(ShardKey::User(id));
            ops.put(s, tables::user(id), tables::encode(&row)?);
            ops.put(s, tables::stats(id), stats.clone());
            out.push(NewUser {
                id,
                token: format!("{id}.{secret}"),
            });
        }
        self.write_bulk(ops).await?;
        Ok(out)
    }

    /// Store many follow edges `(follower, leader)` at once and return how
    /// many were new. Self-edges, repeated edges and edges already stored
    /// are skipped. Both sides (`f/`, `F/`) go to their users' shards in
    /// batches; then each touched user's counters are read, adjusted and
    /// written back. No timeline backfill is queued (see the module docs).
    pub async fn bulk_follow(&self, edges: &[(UserId, UserId)]) -> Result<u64> {
        let shards = &self.inner.shards;
        let mut edges: Vec<(UserId, UserId)> =
            edges.iter().copied().filter(|(f, l)| f != l).collect();
        edges.sort_unstable();
        edges.dedup();
        // Drop edges already stored (one batch_get per shard and chunk).
        let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); shards.len()];
        for (i, &(f, _)) in edges.iter().enumerate() {
            by_shard[shards.index_of(ShardKey::User(f))].push(i);
        }
        let mut exists = vec![false; edges.len()];
        for (s, idx) in by_shard.iter().enumerate() {
            for chunk in idx.chunks(BATCH_OPS) {
                let keys: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|&i| tables::follows(edges[i].0, edges[i].1))
                    .collect();
                for (&i, v) in chunk.iter().zip(shards.get(s).batch_get(&keys).await?) {
                    exists[i] = v.is_some();
                }
            }
        }
        let mut ops = ShardOps::new(shards.len());
        let mut deltas: BTreeMap<UserId, (u64, u64)> = BTreeMap::new();
        for (&(f, l), _) in edges.iter().zip(&exists).filter(|(_, e)| !**e) {
            ops.put(
                shards.index_of(ShardKey::User(l)),
                tables::followers(l, f),
                tables::MARK.to_vec(),
            );
            ops.put(
                shards.index_of(ShardKey::User(f)),
                tables::follows(f, l),
                tables::MARK.to_vec(),
            );
            deltas.entry(l).or_default().0 += 1;
            deltas.entry(f).or_default().1 += 1;
        }
        let added = (ops.len() / 2) as u64;
        // Leader-side rows are written with their follower-side twins; the
        // follow path tolerates an extra `F/` row, never a missing one, and
        // every batch of a shard is durable once its last (synced) one is.
        self.write_bulk(ops).await?;
        self.bulk_adjust_stats(&deltas).await?;
        self.inner.pull_cache.policy_changed();
        Ok(added)
    }

    /// Add `(followers, following)` deltas to users' counters.
    async fn bulk_adjust_stats(&self, deltas: &BTreeMap<UserId, (u64, u64)>) -> Result<()> {
        let shards = &self.inner.shards;
        let users: Vec<UserId> = deltas.keys().copied().collect();
        let mut ops = ShardOps::new(shards.len());
        for chunk in users.chunks(BATCH_OPS) {
            let current = self.stats_many(chunk).await?;
            for (&u, mut s) in chunk.iter().zip(current) {
                let (followers, following) = deltas[&u];
                s.followers += followers;
                s.following += following;
                ops.put(
                    shards.index_of(ShardKey::User(u)),
                    tables::stats(u),
                    tables::encode(&s)?,
                );
            }
        }
        self.write_bulk(ops).await
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::policy::FanoutKind;
    use crate::service::ServiceConfig;

    /// A fresh embedded service in `dir` with 4 shards, one blob replica and `fanout`.
    pub(in crate::service) async fn open(dir: &std::path::Path, fanout: FanoutKind) -> Service {
        let mut cfg = ServiceConfig {
            data_dir: dir.to_path_buf(),
            blob_replicas: 1,
            ..ServiceConfig::default()
        };
        cfg.fanout.kind = fanout;
        cfg.sharding.shards = 4;
        Service::open_embedded(cfg).await.expect("open")
    }

    #[tokio::test]
    async fn bulk_users_authenticate_and_ids_do_not_collide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = open(dir.path(), FanoutKind::Push).await;
        let before = svc.create_user("a", "a@x.y").await.expect("user");
        let users = svc.bulk_create_users(300).await.expect("bulk");
        assert_eq!(users.len(), 300);
        for u in &users {
            assert_eq!(svc.authenticate(&u.token).await.expect("auth"), u.id);
            assert_ne!(u.id, before.id);
        }
        assert!(
            svc.authenticate(&format!("{}.00", users[0].id))
                .await
                .is_err()
        );
        let after = svc.create_user("b", "b@x.y").await.expect("user");
        assert!(users.iter().all(|u| u.id != after.id));
        assert_eq!(
            svc.user(users[7].id).await.expect("row").name,
            format!("user{}", users[7].id)
        );
    }

    #[tokio::test]
    async fn bulk_follows_are_visible_counted_and_idempotent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = open(dir.path(), FanoutKind::Push).await;
        let u: Vec<UserId> = svc
            .bulk_create_users(20)
            .await
            .expect("bulk")
            .iter()
            .map(|n| n.id)
            .collect();
        let mut edges = Vec::new();
        for (i, &f) in u.iter().enumerate() {
            for &l in &u[..i] {
                edges.push((f, l));
            }
        }
        let want = edges.len() as u64;
        edges.push((u[3], u[3]));
        edges.push((u[5], u[1]));
        assert_eq!(svc.bulk_follow(&edges).await.expect("follow"), want);
        assert_eq!(
            svc.followees(u[19]).await.expect("followees"),
            u[..19].to_vec()
        );
        assert_eq!(
            svc.followers_of(u[0]).await.expect("followers"),
            u[1..].to_vec()
        );
        let s = svc.stats(u[0]).await.expect("stats");
        assert_eq!((s.followers, s.following), (19, 0));
        let s = svc.stats(u[10]).await.expect("stats");
        assert_eq!((s.followers, s.following), (9, 10));
        // Loading again adds nothing and leaves the counters alone.
        assert_eq!(svc.bulk_follow(&edges).await.expect("again"), 0);
        assert_eq!(svc.stats(u[0]).await.expect("stats").followers, 19);
        // The per-edge path agrees that the edge exists.
        let c = svc.follow(u[19], u[19], u[0]).await.expect("follow");
        assert!(!c.changed);
    }
}
