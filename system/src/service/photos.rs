//! Upload, download, delete and per-user listing of photos and videos.
//!
//! Upload order: validate → content hash → durable blob put →
//! durable metadata → acknowledge → fan-out enqueue. The photo row is
//! written first, only if its id is free (a taken id is retried with a fresh
//! one, see [`super::photo_rows`]); its title postings, its blob reference
//! and its fan-out outbox entry then go to the photo's shard in one atomic
//! batch, so a search hit or a fan-out can never reference a photo row that
//! does not exist, and no row can point at a blob that was not durable
//! first. A crash anywhere leaves at worst an unreferenced blob, or a photo
//! row that nothing references and no client was told about.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::media::MediaLimits;
use super::outbox::{self, OutboxValue};
use super::receive::{Received, Receiver};
use super::{Service, now_ms};
use crate::blob::BlobKey;
use crate::error::{Error, Result};
use crate::id::PhotoId;
use crate::meta::{Direction, KeyRange, WriteBatch};
use crate::policy::{ShardKey, UserId};
use crate::tables::{self, PhotoRow};

/// Longest accepted title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Bytes per piece of a streamed photo or video body; bodies up to this
/// size are read in one piece.
pub const STREAM_WINDOW: u64 = 1 << 20;

/// The bytes of a photo read: whole, or a stream of pieces of at most
/// [`STREAM_WINDOW`] bytes (a failure after the first piece ends the
/// stream with the error).
pub enum PhotoBody {
    /// The bytes, read at once.
    Whole(Bytes),
    /// `.0` bytes in all, read piece by piece as they are sent.
    Stream(u64, futures::stream::BoxStream<'static, Result<Bytes>>),
}

/// Refuse a title that is too long or has control characters.
pub fn check_title(title: &str) -> Result<()> {
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::InvalidInput(format!(
            "title longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    if title.chars().any(char::is_control) {
        return Err(Error::InvalidInput("title has control characters".into()));
    }
    Ok(())
}

impl Service {
    /// The lock that orders puts and deletes of one blob's bytes.
    pub(crate) fn blob_lock(&self, key: &BlobKey) -> &tokio::sync::Mutex<()> {
        let b = key.as_str().as_bytes();
        let i = (b[0] as usize) << 8 | b[1] as usize;
        &self.inner.blob_locks[i % self.inner.blob_locks.len()]
    }

    /// The configured `photo-limit` and `video-limit`.
    fn media_limits(&self) -> MediaLimits {
        let cfg = &self.inner.cfg;
        MediaLimits {
            photo: cfg.photo_limit,
            video: cfg.video_limit,
        }
    }

    /// A [`Receiver`] for one upload body under this service's limits,
    /// writing past `upload-memory-bytes` to a sink of the blob store (which
    /// may spool to `<data-dir>/spool`).
    pub fn receiver(&self) -> Receiver {
        let cfg = &self.inner.cfg;
        Receiver::new(
            self.media_limits(),
            cfg.upload_memory_bytes,
            self.inner.blobs.clone(),
            &cfg.data_dir.join("spool"),
        )
    }

    /// Store an upload by `owner` and acknowledge it. `declared` is the
    /// request's Content-Type. Returns the new photo row once blob and
    /// metadata are durable; fan-out runs after the return.
    pub async fn upload(
        &self,
        owner: UserId,
        title: &str,
        declared: Option<&str>,
        body: Bytes,
    ) -> Result<PhotoRow> {
        check_title(title)?;
        let body = Received::whole(body, declared, self.media_limits()).await?;
        self.store_upload(owner, title, body).await
    }

    /// Store a received upload body by `owner` (see [`Service::receiver`])
    /// and acknowledge it, as [`Service::upload`] does.
    pub async fn store_upload(
        &self,
        owner: UserId,
        title: &str,
        body: Received,
    ) -> Result<PhotoRow> {
        self.burn("upload");
        check_title(title)?;
        let cfg = &self.inner.cfg;
        let key = body.key.clone();
        let size = body.len;
        let logical = self
            .inner
            .shards
            .partitioner()
            .logical_for_photo(owner, rand::random());
        let row = PhotoRow {
            id: PhotoId(0),
            owner,
            title: title.to_owned(),
            content_type: body.mime.to_owned(),
            size,
            blob: key.to_string(),
            created_ms: now_ms(),
        };
        let claim =
            OutboxValue::owned(owner, self.inner.instance, now_ms(), cfg.outbox_lease_ms).encode();
        let row = {
            // Held across put + reference so a concurrent delete of the same
            // bytes cannot remove the blob between the two.
            let _g = self.blob_lock(&key).lock().await;
            body.store(self.inner.blobs.as_ref()).await?;
            // The row first, only if its id is free; then everything that
            // references it (a crash in between leaves a row that nothing
            // points at and no client was given).
            let row = self.insert_photo_row(logical, row).await?;
            self.write_references(owner, row.id, title, &key, &claim)
                .await?;
            row
        };
        let pid = row.id;
        self.inner.pull_cache.photos_changed(owner);
        self.inner.metrics.uploads.inc();
        self.inner.metrics.upload_bytes.inc_by(size);
        let row = Arc::new(row);
        self.inner.cache.put_photo(row.clone());
        self.inner.fanout_queue.fanout(pid, owner, claim);
        Ok(Arc::unwrap_or_clone(row))
    }

    /// Write what references the new photo row `pid`: its title postings, blob reference and
    /// outbox row in one batch on the photo's shard, then its `p/` row on the owner's (in
    /// that batch when the shards are one). The outbox row is reserved in the fan-out
    /// queue until the caller queues it, so no sweeper applies the fan-out, which counts
    /// the photo in `posts`, before the `p/` row exists. On failure the outbox row, if
    /// written, is given back unclaimed: its fan-out is then taken over, which recounts.
    async fn write_references(
        &self,
        owner: UserId,
        pid: PhotoId,
        title: &str,
        blob: &BlobKey,
        claim: &[u8],
    ) -> Result<()> {
        let shards = &self.inner.shards;
        let (photo_shard, owner_shard) = (
            shards.index_of(ShardKey::Photo(pid)),
            shards.index_of(ShardKey::User(owner)),
        );
        let mut b = WriteBatch::new();
        for term in tables::terms(title) {
            b.put(tables::title_posting(&term, pid), tables::MARK);
        }
        b.put(tables::blob_ref(blob.as_str(), pid), tables::MARK);
        b.put(tables::outbox(pid), claim.to_vec());
        let mut own = WriteBatch::new();
        if photo_shard == owner_shard {
            b.put(tables::user_photo(owner, pid), tables::MARK);
        } else {
            own.put(tables::user_photo(owner, pid), tables::MARK);
        }
        let okey = tables::outbox(pid);
        self.inner.fanout_queue.reserve(&okey);
        let mut r = shards.get(photo_shard).write(b).await;
        if r.is_ok() && !own.is_empty() {
            r = shards.get(owner_shard).write(own).await;
        }
        if r.is_err() {
            self.inner.fanout_queue.unreserve(&okey);
            if let Err(e) = outbox::release(shards.get(photo_shard), &okey, claim).await {
                tracing::warn!(error = %e, "could not give back a failed upload's outbox row; it will lapse");
            }
        }
        r
    }

    /// The photo row, from the cache or its shard.
    pub async fn photo(&self, pid: PhotoId) -> Result<Arc<PhotoRow>> {
        if let Some(r) = self.inner.cache.photo(pid) {
            return Ok(r);
        }
        let bytes = self
            .inner
            .shards
            .of(ShardKey::Photo(pid))
            .get(&tables::photo(pid))
            .await?
            .ok_or_else(|| Error::NotFound(format!("photo {}", pid.0)))?;
        let row = Arc::new(tables::decode::<PhotoRow>(&bytes)?);
        self.inner.cache.put_photo(row.clone());
        Ok(row)
    }

    /// Rows of many photos, in order; missing photos are dropped. Reads
    /// the cache first, then one `batch_get` per shard for the rest.
    pub async fn photos(&self, ids: &[PhotoId]) -> Result<Vec<Arc<PhotoRow>>> {
        let mut slots: Vec<Option<Arc<PhotoRow>>> =
            ids.iter().map(|&id| self.inner.cache.photo(id)).collect();
        let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); self.inner.shards.len()];
        for (i, slot) in slots.iter().enumerate() {
            if slot.is_none() {
                by_shard[self.inner.shards.index_of(ShardKey::Photo(ids[i]))].push(i);
            }
        }
        let reads = by_shard
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(s, idx)| {
                let keys: Vec<Vec<u8>> = idx.iter().map(|&i| tables::photo(ids[i])).collect();
                async move { (idx, self.inner.shards.get(s).batch_get(&keys).await) }
            });
        for (idx, got) in futures::future::join_all(reads).await {
            for (&i, v) in idx.iter().zip(got?) {
                if let Some(b) = v {
                    let row = Arc::new(tables::decode::<PhotoRow>(&b)?);
                    self.inner.cache.put_photo(row.clone());
                    slots[i] = Some(row);
                }
            }
        }
        Ok(slots.into_iter().flatten().collect())
    }

    /// The photo's bytes, or a range of them, with its row. Counts a view.
    pub async fn photo_bytes(
        &self,
        pid: PhotoId,
        range: Option<Range<u64>>,
    ) -> Result<(Arc<PhotoRow>, Bytes)> {
        self.burn("photo_get");
        let row = self.photo(pid).await?;
        let key = BlobKey::parse(&row.blob)?;
        let bytes = match self.inner.blobs.get(&key, range).await {
            Err(e @ (Error::NotFound(_) | Error::Corrupt(_))) => {
                tracing::error!(photo = pid.0, blob = %key, "photo bytes lost: {e}");
                return Err(Error::Lost(format!(
                    "photo {}: no good copy of its bytes is left",
                    pid.0
                )));
            }
            other => other?,
        };
        self.inner.counters.count_view(pid);
        Ok((row, bytes))
    }

    /// The photo's bytes (or a range of them) with its row, streamed in
    /// pieces when there are more than [`STREAM_WINDOW`] of them, so a video
    /// is never held in memory whole. The first piece is read before this
    /// returns, so a missing or lost blob is an error here, not mid-body.
    /// Counts a view.
    pub async fn photo_body(
        &self,
        pid: PhotoId,
        range: Option<Range<u64>>,
    ) -> Result<(Arc<PhotoRow>, PhotoBody)> {
        let row = self.photo(pid).await?;
        let r = range.clone().unwrap_or(0..row.size);
        let end = r.end.min(row.size);
        if end.saturating_sub(r.start) <= STREAM_WINDOW {
            let (row, bytes) = self.photo_bytes(pid, range).await?;
            return Ok((row, PhotoBody::Whole(bytes)));
        }
        let first_end = ((r.start / STREAM_WINDOW + 1) * STREAM_WINDOW).min(end);
        let (row, first) = self.photo_bytes(pid, Some(r.start..first_end)).await?;
        let (blobs, key) = (self.inner.blobs.clone(), BlobKey::parse(&row.blob)?);
        let rest = futures::stream::unfold(first_end, move |pos| {
            let (blobs, key) = (blobs.clone(), key.clone());
            async move {
                if pos >= end {
                    return None;
                }
                let next = (pos + STREAM_WINDOW).min(end);
                match blobs.get(&key, Some(pos..next)).await {
                    Ok(b) => Some((Ok(b), next)),
                    Err(e) => {
                        tracing::error!(photo = pid.0, blob = %key, pos, "photo body cut short: {e}");
                        Some((Err(e), end))
                    }
                }
            }
        });
        let first = futures::stream::once(async move { Ok(first) });
        let body = futures::StreamExt::boxed(futures::StreamExt::chain(first, rest));
        Ok((row, PhotoBody::Stream(end - r.start, body)))
    }

    /// Up to `limit` of `uid`'s photos, newest first, older than `before`
    /// if given.
    pub async fn user_photos(
        &self,
        uid: UserId,
        limit: usize,
        before: Option<PhotoId>,
    ) -> Result<Vec<Arc<PhotoRow>>> {
        let ids = self.user_photo_ids(uid, limit, before).await?;
        self.photos(&ids).await
    }

    /// Ids of `uid`'s newest `limit` photos (older than `before` if given).
    pub async fn user_photo_ids(
        &self,
        uid: UserId,
        limit: usize,
        before: Option<PhotoId>,
    ) -> Result<Vec<PhotoId>> {
        let prefix = tables::user_photos_prefix(uid);
        let mut range = KeyRange::prefix(&prefix);
        if let Some(b) = before {
            range.end = Some(tables::user_photo(uid, b));
        }
        let rows = self
            .inner
            .shards
            .of(ShardKey::User(uid))
            .scan(&range, Direction::Reverse, limit)
            .await?;
        rows.iter()
            .map(|(k, _)| tables::trailing_id(k).map(PhotoId))
            .collect()
    }

    /// Delete a photo. Only its owner may ([`Error::Forbidden`]). References
    /// go first (user_photos, then the row with its postings in one batch),
    /// the blob last and only when no other photo shares its bytes.
    pub async fn delete_photo(&self, actor: UserId, pid: PhotoId) -> Result<()> {
        let row = self.photo(pid).await?;
        if row.owner != actor {
            return Err(Error::Forbidden(format!(
                "photo {} belongs to user {}",
                pid.0, row.owner
            )));
        }
        let mut b = WriteBatch::new();
        b.delete(tables::user_photo(row.owner, pid));
        self.inner
            .shards
            .of(ShardKey::User(row.owner))
            .write(b)
            .await?;
        let mut b = WriteBatch::new();
        b.delete(tables::photo(pid));
        for term in tables::terms(&row.title) {
            b.delete(tables::title_posting(&term, pid));
        }
        b.delete(tables::blob_ref(&row.blob, pid));
        b.delete(tables::outbox(pid));
        b.delete(tables::views(pid));
        self.inner.shards.of(ShardKey::Photo(pid)).write(b).await?;
        self.inner.cache.remove_photo(pid);
        self.inner.pull_cache.photos_changed(row.owner);
        let key = BlobKey::parse(&row.blob)?;
        let _g = self.blob_lock(&key).lock().await;
        let prefix = tables::blob_ref_prefix(key.as_str());
        for shard in self.inner.shards.all() {
            let refs = shard
                .scan(&KeyRange::prefix(&prefix), Direction::Forward, 1)
                .await?;
            if !refs.is_empty() {
                return Ok(());
            }
        }
        self.inner.blobs.delete(&key).await
    }
}
