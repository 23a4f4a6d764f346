//! Bulk historical photos: many photo rows that share a few bodies, loaded
//! far faster than uploads would be (see `bulk.rs` for the batching).
//!
//! Each distinct body is validated, hashed and put once (content-addressed);
//! every photo then gets its rows, title postings, blob reference and outbox
//! entry, in input order, so the photos' time-sortable ids interleave the
//! bodies as the input does. The fan-out runs in the materializer afterwards
//! ([`Service::drain`] waits for it).

use bytes::Bytes;

use super::bulk::ShardOps;
use super::media;
use super::outbox::OutboxValue;
use super::{Service, now_ms};
use crate::blob::BlobKey;
use crate::error::{Error, Result};
use crate::id::PhotoId;
use crate::policy::{ShardKey, UserId};
use crate::tables::{self, PhotoRow};

/// A body that historical photos share, with its declared media type.
#[derive(Debug, Clone)]
pub struct SharedBody {
    /// The file's bytes.
    pub bytes: Bytes,
    /// Its declared media type, checked against the bytes.
    pub content_type: String,
}

/// One historical photo: its owner, its title, and the index of its body in
/// the bodies passed beside it.
#[derive(Debug, Clone)]
pub struct HistoryPhoto {
    /// The owner.
    pub owner: UserId,
    /// The title, checked as an upload's is.
    pub title: String,
    /// Index into the shared bodies.
    pub body: usize,
}

/// A validated shared body: its key, size and media type.
struct Stored {
    key: BlobKey,
    size: u64,
    mime: &'static str,
}

impl Service {
    /// Store historical photos that share `bodies` (each put once) and
    /// return their ids in input order. Photo rows, title postings, blob
    /// references and outbox entries go to the photos' shards, then
    /// `user_photos` rows to the owners' shards, in batches; each photo is
    /// then queued for fan-out. Titles are checked as in
    /// [`Service::upload`]; each body's media type must match its bytes, and
    /// an item naming a body that does not exist is invalid input.
    pub async fn bulk_photos(
        &self,
        items: &[HistoryPhoto],
        bodies: &[SharedBody],
    ) -> Result<Vec<PhotoId>> {
        let cfg = &self.inner.cfg;
        for it in items {
            if it.title.chars().count() > super::photos::MAX_TITLE_CHARS
                || it.title.chars().any(char::is_control)
            {
                return Err(Error::InvalidInput(format!("bad title {:?}", it.title)));
            }
            if it.body >= bodies.len() {
                return Err(Error::InvalidInput(format!("no shared body {}", it.body)));
            }
        }
        let stored = bodies
            .iter()
            .map(|b| {
                let (mime, _) = media::validate(
                    &b.bytes,
                    Some(&b.content_type),
                    cfg.photo_limit,
                    cfg.video_limit,
                )?;
                let key = BlobKey::of(&b.bytes);
                let size = b.bytes.len() as u64;
                Ok(Stored { key, size, mime })
            })
            .collect::<Result<Vec<_>>>()?;
        let now = now_ms();
        let (photo_ops, owner_ops, ids) = self.history_rows(items, &stored, now).await?;
        // As an upload's: no sweeper applies a fan-out before its `p/` row exists.
        let m = &self.inner.fanout_queue;
        for pid in &ids {
            m.reserve(&tables::outbox(*pid));
        }
        let written = self
            .write_history(&stored, bodies, photo_ops, owner_ops)
            .await;
        if written.is_err() {
            for pid in &ids {
                m.unreserve(&tables::outbox(*pid));
            }
        }
        written?;
        for (pid, it) in ids.iter().zip(items) {
            m.fanout(*pid, it.owner, self.history_claim(it.owner, now));
        }
        self.inner.pull_cache.policy_changed();
        Ok(ids)
    }

    /// Put the shared bodies, then the photo-shard rows, then the owner-shard rows.
    async fn write_history(
        &self,
        stored: &[Stored],
        bodies: &[SharedBody],
        photo_ops: ShardOps,
        owner_ops: ShardOps,
    ) -> Result<()> {
        {
            // Same rule as upload: a blob is durable before any row
            // references it, and a concurrent delete cannot slip between.
            // Bodies may share a lock stripe: take each stripe once, in
            // address order.
            let mut locks: Vec<&tokio::sync::Mutex<()>> =
                stored.iter().map(|s| self.blob_lock(&s.key)).collect();
            locks.sort_by_key(|l| std::ptr::from_ref(*l) as usize);
            locks.dedup_by_key(|l| std::ptr::from_ref(*l) as usize);
            let mut guards = Vec::with_capacity(locks.len());
            for l in locks {
                guards.push(l.lock().await);
            }
            for (s, b) in stored.iter().zip(bodies) {
                self.inner.blobs.put(&s.key, b.bytes.clone()).await?;
            }
            self.write_bulk(photo_ops).await?;
        }
        self.write_bulk(owner_ops).await
    }

    /// This instance's outbox claim on a photo of `owner` at `now`.
    fn history_claim(&self, owner: UserId, now: u64) -> Vec<u8> {
        let lease = self.inner.cfg.outbox_lease_ms;
        OutboxValue::owned(owner, self.inner.instance, now, lease).encode()
    }

    /// The rows of `items` (photo-shard and owner-shard batches, outbox rows claimed
    /// from `now`) and their new ids, in input order.
    async fn history_rows(
        &self,
        items: &[HistoryPhoto],
        stored: &[Stored],
        now: u64,
    ) -> Result<(ShardOps, ShardOps, Vec<PhotoId>)> {
        let shards = &self.inner.shards;
        let mut photo_ops = ShardOps::new(shards.len());
        let mut owner_ops = ShardOps::new(shards.len());
        let mut ids = Vec::with_capacity(items.len());
        for it in items {
            let owner = it.owner;
            let body = &stored[it.body];
            let logical = shards
                .partitioner()
                .logical_for_photo(owner, rand::random::<u64>());
            let pid = self.inner.ids.next(logical).await?;
            let row = PhotoRow {
                id: pid,
                owner,
                title: it.title.clone(),
                content_type: body.mime.to_owned(),
                size: body.size,
                blob: body.key.to_string(),
                created_ms: now,
            };
            let ps = shards.index_of(ShardKey::Photo(pid));
            photo_ops.put(ps, tables::photo(pid), tables::encode(&row)?);
            for term in tables::terms(&it.title) {
                photo_ops.put(ps, tables::title_posting(&term, pid), tables::MARK.to_vec());
            }
            let blob_ref = tables::blob_ref(body.key.as_str(), pid);
            photo_ops.put(ps, blob_ref, tables::MARK.to_vec());
            photo_ops.put(ps, tables::outbox(pid), self.history_claim(owner, now));
            let us = shards.index_of(ShardKey::User(owner));
            owner_ops.put(us, tables::user_photo(owner, pid), tables::MARK.to_vec());
            ids.push(pid);
        }
        Ok((photo_ops, owner_ops, ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::FanoutKind;
    use crate::service::bulk::tests::open;

    fn shared(bytes: &Bytes, content_type: &str) -> SharedBody {
        SharedBody {
            bytes: bytes.clone(),
            content_type: content_type.to_owned(),
        }
    }

    #[tokio::test]
    async fn bulk_photos_reach_feeds_after_drain() {
        for fanout in [FanoutKind::Push, FanoutKind::Pull] {
            let dir = tempfile::tempdir().expect("tempdir");
            let svc = open(dir.path(), fanout).await;
            let u: Vec<UserId> = svc
                .bulk_create_users(3)
                .await
                .expect("bulk")
                .iter()
                .map(|n| n.id)
                .collect();
            svc.bulk_follow(&[(u[1], u[0]), (u[2], u[0])])
                .await
                .expect("follow");
            let body = Bytes::from(media::sample_body("image/jpeg", 2048, 3));
            let video = Bytes::from(media::sample_body("video/mp4", 9000, 4));
            let bodies = [shared(&body, "image/jpeg"), shared(&video, "video/mp4")];
            let items: Vec<HistoryPhoto> = (0..5)
                .map(|i| HistoryPhoto {
                    owner: u[0],
                    title: format!("sunset number {i}"),
                    body: usize::from(i == 3),
                })
                .collect();
            let ids = svc.bulk_photos(&items, &bodies).await.expect("photos");
            assert_eq!(ids.len(), 5);
            svc.drain().await;
            for reader in [u[1], u[2]] {
                let feed: Vec<PhotoId> = svc
                    .feed(reader, 10)
                    .await
                    .expect("feed")
                    .iter()
                    .map(|r| r.id)
                    .collect();
                let mut want = ids.clone();
                want.reverse();
                assert_eq!(feed, want, "{fanout:?}");
            }
            assert!(svc.feed(u[0], 10).await.expect("feed").is_empty());
            assert_eq!(
                svc.user_photo_ids(u[0], 10, None).await.expect("own").len(),
                5
            );
            let hits = svc.search("sunset", 10).await.expect("search");
            assert_eq!(hits.len(), 5);
            let (row, bytes) = svc.photo_bytes(ids[2], None).await.expect("bytes");
            assert_eq!((row.size, bytes), (2048, body.clone()));
            let (row, bytes) = svc.photo_bytes(ids[3], None).await.expect("bytes");
            assert_eq!(
                (row.size, &row.content_type[..], bytes),
                (9000, "video/mp4", video.clone())
            );
            let pushed = svc.metrics().timeline_writes.get();
            assert_eq!(pushed, if fanout == FanoutKind::Push { 10 } else { 0 });
        }
    }

    #[tokio::test]
    async fn a_missing_body_or_a_mislabelled_one_is_refused_and_stores_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = open(dir.path(), FanoutKind::Push).await;
        let u = svc.bulk_create_users(1).await.expect("bulk")[0].id;
        let jpeg = Bytes::from(media::sample_body("image/jpeg", 2048, 3));
        let item = |body| HistoryPhoto {
            owner: u,
            title: "lake".into(),
            body,
        };
        let e = svc
            .bulk_photos(&[item(1)], &[shared(&jpeg, "image/jpeg")])
            .await;
        assert!(matches!(e, Err(Error::InvalidInput(_))), "{e:?}");
        let e = svc
            .bulk_photos(&[item(0)], &[shared(&jpeg, "video/mp4")])
            .await;
        assert!(e.is_err(), "a JPEG declared as MP4 was stored");
        assert!(
            svc.user_photo_ids(u, 10, None)
                .await
                .expect("own")
                .is_empty()
        );
    }
}
