//! The `posts` counter of an author, exact across crashes and takeovers.
//!
//! An upload's own fan-out counts its photo once ([`count_upload`]). A fan-out taken over
//! from the outbox may follow an apply that already counted it, so it recounts the author
//! instead ([`recount`]): `posts` becomes the number of the author's photo rows. Some of
//! those rows belong to uploads whose own fan-out has not run yet and will count them; the
//! recount lists those photos in `counted_ahead`, and that fan-out takes its photo off the
//! list instead of adding one. So, once no photo was deleted and every fan-out has run,
//! `posts` equals the author's photo rows.
//!
//! Why the list is right. A recount reads the stats row, then the author's photo rows,
//! then the outbox, and swaps the stats row only if it is unchanged, so no count lands
//! between its first read and its swap. An upload writes its outbox row before its photo
//! row, and its fan-out counts before deleting the outbox row and runs only after the
//! photo row is written (the upload holds the outbox row out of the sweeper until then).
//! So a photo row seen by the recount whose outbox row is gone was counted before the
//! recount (and is in the new count), one whose outbox row is still there is listed, and
//! one not yet seen is counted later by its own fan-out. A listed photo whose fan-out
//! counted it just before the recount, or is itself being taken over, stays listed
//! harmlessly until the author's next recount.

use std::collections::HashSet;

use crate::error::Result;
use crate::id::PhotoId;
use crate::meta::CasOutcome;
use crate::policy::{ShardKey, UserId};
use crate::service::Service;
use crate::tables::{self, UserStats};

/// Count `pid` in `author`'s `posts`: the first apply of its upload's fan-out. A photo a
/// recount already counted leaves `counted_ahead` instead.
pub(super) async fn count_upload(svc: &Service, author: UserId, pid: PhotoId) -> Result<()> {
    svc.update_stats(author, |s| {
        match s.counted_ahead.iter().position(|&p| p == pid.0) {
            Some(i) => {
                s.counted_ahead.swap_remove(i);
            }
            None => s.posts += 1,
        }
    })
    .await?;
    Ok(())
}

/// Set each author's `posts` to its photo rows and `counted_ahead` to those of them whose
/// fan-out is still in the outbox, but for `taken`: the photos whose fan-outs are being
/// taken over, which never count their photo.
pub(super) async fn recount(
    svc: &Service,
    authors: HashSet<UserId>,
    taken: &HashSet<u64>,
) -> Result<()> {
    let mut todo: Vec<UserId> = authors.into_iter().collect();
    while !todo.is_empty() {
        // Every author's stats and rows first, then the outbox (see the module docs).
        let mut read = Vec::with_capacity(todo.len());
        for &author in &todo {
            let shard = svc.inner.shards.of(ShardKey::User(author));
            let cur = shard.get(&tables::stats(author)).await?;
            let prefix = tables::user_photos_prefix(author);
            let photos = shard
                .scan_all(&prefix, 4096)
                .await?
                .iter()
                .map(|(k, _)| tables::trailing_id(k))
                .collect::<Result<Vec<u64>>>()?;
            read.push((author, cur, photos));
        }
        let pending = pending_fanouts(svc).await?;
        let mut again = Vec::new();
        for (author, cur, photos) in read {
            let mut s: UserStats = match &cur {
                Some(b) => tables::decode(b)?,
                None => UserStats::default(),
            };
            s.posts = photos.len() as u64;
            s.counted_ahead = photos
                .into_iter()
                .filter(|p| pending.contains(p) && !taken.contains(p))
                .collect();
            let new = tables::encode(&s)?;
            let shard = svc.inner.shards.of(ShardKey::User(author));
            let key = tables::stats(author);
            if shard.cas(&key, cur.as_deref(), Some(new)).await? != CasOutcome::Swapped {
                again.push(author);
            }
        }
        todo = again;
    }
    Ok(())
}

/// The photo ids of every fan-out in the outbox, over all shards.
async fn pending_fanouts(svc: &Service) -> Result<HashSet<u64>> {
    let mut out = HashSet::new();
    for shard in svc.inner.shards.all() {
        for (k, _) in shard.scan_all(&tables::outbox_prefix(), 4096).await? {
            out.insert(tables::trailing_id(&k)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::WriteBatch;
    use crate::policy::FanoutKind;
    use crate::service::bulk::tests::open;

    /// Write photo `ms`'s `p/` row for `author` and, if `pending`, its `o/` row: an upload
    /// whose fan-out has not run yet, its row reserved in the queue as an upload's is (so
    /// the service's own sweeper leaves it to the test).
    async fn photo(svc: &Service, author: UserId, ms: u64, pending: bool) -> PhotoId {
        let pid = PhotoId::from_parts(ms, 0, 0);
        let shards = &svc.inner.shards;
        let mut b = WriteBatch::new();
        b.put(tables::user_photo(author, pid), tables::MARK);
        shards
            .of(ShardKey::User(author))
            .write(b)
            .await
            .expect("p/");
        if pending {
            svc.inner.fanout_queue.reserve(&tables::outbox(pid));
            let mut b = WriteBatch::new();
            b.put(tables::outbox(pid), author.to_be_bytes().to_vec());
            shards.of(ShardKey::Photo(pid)).write(b).await.expect("o/");
        }
        pid
    }

    #[tokio::test]
    async fn a_photo_counted_by_a_recount_is_not_counted_again_by_its_upload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = open(dir.path(), FanoutKind::Pull).await;
        let author = svc.create_user("au", "au@x.test").await.expect("user").id;
        let old = photo(&svc, author, 1_000, false).await;
        let flying = photo(&svc, author, 2_000, true).await;
        let taken = photo(&svc, author, 3_000, true).await;
        recount(&svc, HashSet::from([author]), &HashSet::from([taken.0]))
            .await
            .expect("recount");
        let s = svc.stats(author).await.expect("stats");
        assert_eq!((s.posts, s.counted_ahead.clone()), (3, vec![flying.0]));
        // The pending upload's own fan-out runs: counted already, so not again.
        count_upload(&svc, author, flying).await.expect("count");
        let s = svc.stats(author).await.expect("stats");
        assert_eq!((s.posts, s.counted_ahead.len()), (3, 0));
        // A photo the recount never saw is counted by its fan-out.
        let late = photo(&svc, author, 4_000, false).await;
        count_upload(&svc, author, late).await.expect("count");
        assert_eq!(svc.stats(author).await.expect("stats").posts, 4);
        assert_ne!(old, late);
    }
}
