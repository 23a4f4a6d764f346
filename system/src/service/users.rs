//! Accounts, bearer tokens, follow and unfollow.
//!
//! A token is `"<user id>.<32 hex>"`; the user row stores only the BLAKE3 of
//! the secret part, so tokens resolve on the user's own shard without a
//! global index. Follow and unfollow are idempotent: the follower-side edge
//! is flipped with `cas`, and only the caller that flips it updates counters.
//! Every call leaves a durable follow-work row that the materializer turns
//! into the timeline backfill or purge and a counter recount.

use std::sync::Arc;

use rand::RngCore;
use serde::Serialize;

use super::outbox::OutboxValue;
use super::{Service, now_ms};
use crate::error::{Error, Result};
use crate::meta::{CasOutcome, WriteBatch};
use crate::policy::{ShardKey, UserId};
use crate::tables::{self, UserRow, UserStats};

const ID_BLOCK: u64 = 1000;
const ID_COUNTER: &[u8] = b"n/users";

/// What `POST /v1/users` returns.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewUser {
    /// The new user's id.
    #[schema(value_type = u64)]
    pub id: UserId,
    /// The bearer token; shown once.
    pub token: String,
}

/// The outcome of a follow or unfollow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowChange {
    /// True if this call changed the graph; false if it already held.
    pub changed: bool,
}

/// Split a token in its one canonical form, `<id>.<secret>`: the id in
/// decimal without sign or leading zero, the secret exactly 32 lowercase
/// hex digits. Anything else (`+7.…`, `07.…`, upper-case hex, padding) is
/// `None`, so each user has exactly one token string.
pub fn parse_token(token: &str) -> Option<(UserId, &str)> {
    let (id, secret) = token.split_once('.')?;
    let canonical_id = !id.is_empty()
        && id.len() <= 20
        && id.bytes().all(|b| b.is_ascii_digit())
        && (id == "0" || !id.starts_with('0'));
    let canonical_secret = secret.len() == 32
        && secret
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !(canonical_id && canonical_secret) {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

impl Service {
    /// Reserve `n` consecutive user ids from the counter on shard 0;
    /// returns the first.
    pub(crate) async fn reserve_user_ids(&self, n: u64) -> Result<UserId> {
        let shard = self.inner.shards.get(0);
        loop {
            let cur = shard.get(ID_COUNTER).await?;
            let start = match &cur {
                Some(v) => tables::decode_u64(v)?,
                None => 1,
            };
            let end = start + n;
            let out = shard
                .cas(ID_COUNTER, cur.as_deref(), Some(end.to_be_bytes().to_vec()))
                .await?;
            if out == CasOutcome::Swapped {
                return Ok(start);
            }
        }
    }

    async fn allocate_user_id(&self) -> Result<UserId> {
        let mut block = self.inner.next_user.lock().await;
        if block.is_empty() {
            let start = self.reserve_user_ids(ID_BLOCK).await?;
            *block = start..start + ID_BLOCK;
        }
        let id = block.start;
        block.start += 1;
        Ok(id)
    }

    /// Create a user; returns its id and bearer token. Name 1–64 and e-mail
    /// 3–128 characters, the e-mail with one `@`.
    pub async fn create_user(&self, name: &str, email: &str) -> Result<NewUser> {
        let name = name.trim();
        let email = email.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Error::InvalidInput("name must be 1–64 characters".into()));
        }
        if name.chars().chain(email.chars()).any(char::is_control) {
            return Err(Error::InvalidInput(
                "name and email must not contain control characters".into(),
            ));
        }
        if email.chars().count() < 3
            || email.chars().count() > 128
            || email.matches('@').count() != 1
        {
            return Err(Error::InvalidInput(
                "email must be 3–128 characters with one @".into(),
            ));
        }
        let id = self.allocate_user_id().await?;
        let mut secret = [0u8; 16];
        rand::rng().fill_bytes(&mut secret);
        let secret = hex::encode(secret);
        let now = now_ms();
        let row = UserRow {
            id,
            name: name.to_owned(),
            email: email.to_owned(),
            created_ms: now,
            token_hash: blake3::hash(secret.as_bytes()).to_hex().to_string(),
        };
        let stats = UserStats {
            since_ms: now,
            ..UserStats::default()
        };
        let mut b = WriteBatch::new();
        b.put(tables::user(id), tables::encode(&row)?);
        b.put(tables::stats(id), tables::encode(&stats)?);
        self.inner.shards.of(ShardKey::User(id)).write(b).await?;
        Ok(NewUser {
            id,
            token: format!("{id}.{secret}"),
        })
    }

    /// The user row, from the cache or its shard.
    pub async fn user(&self, id: UserId) -> Result<Arc<UserRow>> {
        if let Some(u) = self.inner.cache.user(id) {
            return Ok(u);
        }
        let bytes = self
            .inner
            .shards
            .of(ShardKey::User(id))
            .get(&tables::user(id))
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {id}")))?;
        let row = Arc::new(tables::decode::<UserRow>(&bytes)?);
        self.inner.cache.put_user(row.clone());
        Ok(row)
    }

    /// Resolve a bearer token to its user, or [`Error::Unauthorized`].
    /// Only the canonical form is accepted (see [`parse_token`]).
    pub async fn authenticate(&self, token: &str) -> Result<UserId> {
        let (id, secret) = parse_token(token).ok_or(Error::Unauthorized)?;
        let row = match self.user(id).await {
            Ok(r) => r,
            Err(Error::NotFound(_)) => return Err(Error::Unauthorized),
            Err(e) => return Err(e),
        };
        let want = blake3::Hash::from_hex(&row.token_hash)
            .map_err(|_| Error::Corrupt(format!("token hash of user {id}")))?;
        // blake3::Hash equality is constant-time.
        if blake3::hash(secret.as_bytes()) == want {
            Ok(id)
        } else {
            Err(Error::Unauthorized)
        }
    }

    /// The user's counters (zeroes if the row is missing).
    pub async fn stats(&self, id: UserId) -> Result<UserStats> {
        match self
            .inner
            .shards
            .of(ShardKey::User(id))
            .get(&tables::stats(id))
            .await?
        {
            Some(b) => tables::decode(&b),
            None => Ok(UserStats::default()),
        }
    }

    /// Apply `f` to the user's counters with a cas retry loop.
    pub(crate) async fn update_stats(
        &self,
        id: UserId,
        f: impl Fn(&mut UserStats),
    ) -> Result<UserStats> {
        let shard = self.inner.shards.of(ShardKey::User(id));
        let key = tables::stats(id);
        loop {
            let cur = shard.get(&key).await?;
            let mut s: UserStats = match &cur {
                Some(b) => tables::decode(b)?,
                None => UserStats::default(),
            };
            f(&mut s);
            let new = tables::encode(&s)?;
            if shard.cas(&key, cur.as_deref(), Some(new)).await? == CasOutcome::Swapped {
                return Ok(s);
            }
        }
    }

    /// `actor` asks that `follower` follow `leader`. Only the follower may
    /// change their own follows ([`Error::Forbidden`]); following yourself is
    /// [`Error::InvalidInput`]; an unknown leader is [`Error::NotFound`].
    pub async fn follow(
        &self,
        actor: UserId,
        follower: UserId,
        leader: UserId,
    ) -> Result<FollowChange> {
        self.burn("follow");
        self.check_edge(actor, follower, leader).await?;
        let stats = self.stats(follower).await?;
        let fshard = self.inner.shards.of(ShardKey::User(follower));
        let edge = tables::follows(follower, leader);
        if fshard.get(&edge).await?.is_some() {
            return Ok(FollowChange { changed: false });
        }
        if stats.following >= self.inner.cfg.max_followees {
            return Err(Error::Conflict(format!(
                "user {follower} already follows the maximum of {} users",
                self.inner.cfg.max_followees
            )));
        }
        self.change_edge(follower, leader, true).await
    }

    /// `actor` asks that `follower` stop following `leader`; idempotent.
    pub async fn unfollow(
        &self,
        actor: UserId,
        follower: UserId,
        leader: UserId,
    ) -> Result<FollowChange> {
        self.burn("unfollow");
        self.check_edge(actor, follower, leader).await?;
        let fshard = self.inner.shards.of(ShardKey::User(follower));
        if fshard
            .get(&tables::follows(follower, leader))
            .await?
            .is_none()
        {
            return Ok(FollowChange { changed: false });
        }
        self.change_edge(follower, leader, false).await
    }

    /// Flip the edge `follower → leader` to `on`, with its follow work made
    /// durable first: the `q/` row is written (claimed by this server)
    /// before the change and rewritten after it, so a crash anywhere leaves
    /// a row that a sweeper reconciles, and a reconcile that raced the
    /// change sees the row change and runs again
    /// ([`super::materializer::Task::Edge`]). Only the caller whose `cas`
    /// flips the edge updates the counters (recounted by the reconcile).
    async fn change_edge(
        &self,
        follower: UserId,
        leader: UserId,
        on: bool,
    ) -> Result<FollowChange> {
        let work = tables::edge_work(follower, leader);
        let m = &self.inner.fanout_queue;
        let reserved = m.reserve(&work);
        let result = self.change_edge_rows(follower, leader, on).await;
        match result {
            Ok((changed, held)) => {
                if reserved {
                    m.submit_reserved(super::materializer::Task::Edge {
                        follower,
                        leader,
                        held,
                        recovered: false,
                    });
                }
                Ok(FollowChange { changed })
            }
            Err(e) => {
                if reserved {
                    m.unreserve(&work);
                }
                Err(e)
            }
        }
    }

    async fn change_edge_rows(
        &self,
        follower: UserId,
        leader: UserId,
        on: bool,
    ) -> Result<(bool, Vec<u8>)> {
        let fshard = self.inner.shards.of(ShardKey::User(follower));
        let edge = tables::follows(follower, leader);
        self.write_edge_work(follower, leader).await?;
        let mut b = WriteBatch::new();
        if on {
            b.put(tables::followers(leader, follower), tables::MARK);
        } else {
            b.delete(tables::followers(leader, follower));
        }
        self.inner
            .shards
            .of(ShardKey::User(leader))
            .write(b)
            .await?;
        let (expected, new) = if on {
            (None, Some(tables::MARK.to_vec()))
        } else {
            (Some(tables::MARK), None)
        };
        let changed = fshard.cas(&edge, expected, new).await? == CasOutcome::Swapped;
        if changed {
            let d: i64 = if on { 1 } else { -1 };
            let add = |v: u64| v.saturating_add_signed(d);
            let count = self.update_stats(leader, |s| s.followers = add(s.followers));
            let count = count.await?.followers;
            self.update_stats(follower, |s| s.following = add(s.following))
                .await?;
            // The uniform mode depends on the follower count only.
            let mode = |followers| {
                let author = crate::policy::AuthorStats {
                    followers,
                    posts_per_day: 0.0,
                };
                self.inner.fanout.uniform_mode(&author)
            };
            if mode(count) != mode(count.saturating_add_signed(-d)) {
                self.inner.pull_cache.policy_changed();
            }
            self.inner.pull_cache.follows_changed(follower);
        }
        let held = self.write_edge_work(follower, leader).await?;
        Ok((changed, held))
    }

    /// Write `q/follower/leader` with a fresh nonce, claimed by this
    /// server; returns the value written.
    async fn write_edge_work(&self, follower: UserId, leader: UserId) -> Result<Vec<u8>> {
        let value = OutboxValue::owned(
            rand::random(),
            self.inner.instance,
            now_ms(),
            self.inner.cfg.outbox_lease_ms,
        )
        .encode();
        let mut b = WriteBatch::new();
        b.put(tables::edge_work(follower, leader), value.clone());
        self.inner
            .shards
            .of(ShardKey::User(follower))
            .write(b)
            .await?;
        Ok(value)
    }

    async fn check_edge(&self, actor: UserId, follower: UserId, leader: UserId) -> Result<()> {
        if actor != follower {
            return Err(Error::Forbidden(format!(
                "user {actor} cannot change the follows of user {follower}"
            )));
        }
        if follower == leader {
            return Err(Error::InvalidInput(
                "a user cannot follow themselves".into(),
            ));
        }
        self.user(leader).await?;
        Ok(())
    }

    /// The user ids that end the keys of one of `uid`'s wide rows, in id
    /// order, read in pages of `page`.
    async fn edge_ids(&self, uid: UserId, prefix: &[u8], page: usize) -> Result<Vec<UserId>> {
        let shard = self.inner.shards.of(ShardKey::User(uid));
        let rows = shard.scan_all(prefix, page).await?;
        rows.iter().map(|(k, _)| tables::trailing_id(k)).collect()
    }

    /// Everyone `uid` follows, in id order.
    pub async fn followees(&self, uid: UserId) -> Result<Vec<UserId>> {
        self.edge_ids(uid, &tables::follows_prefix(uid), 1024).await
    }

    /// Everyone following `uid`, in id order.
    pub async fn followers_of(&self, uid: UserId) -> Result<Vec<UserId>> {
        self.edge_ids(uid, &tables::followers_prefix(uid), 4096)
            .await
    }
}
