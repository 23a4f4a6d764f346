//! The fault switchboard on a running service: a paused materializer holds an upload's
//! fan-out (the follower's feed lacks it) and applies it once resumed; a down shard answers
//! the feed of a reader it holds with 503 `unavailable` and serves it again once up; a
//! stopped blob store answers uploads and photo reads with 503 `unavailable` (feeds still
//! served) until started; a damaged replica is read around, then repaired by the reads.

use std::time::Duration;

use feedlab_system::faults::{ReplicaDamage, damage_replica};
use feedlab_system::http::error::ApiError;
use feedlab_system::policy::{FanoutKind, ShardKey, UserId};
use feedlab_system::service::media::sample_body;
use feedlab_system::{Error, Service, ServiceConfig};

async fn service(dir: &std::path::Path) -> anyhow::Result<Service> {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Push;
    cfg.sharding.shards = 2;
    Ok(Service::open_embedded(cfg).await?)
}

/// An author and a follower of theirs.
async fn pair(svc: &Service) -> anyhow::Result<(UserId, UserId)> {
    let author = svc.create_user("author", "author@x.test").await?.id;
    let reader = svc.create_user("reader", "reader@x.test").await?.id;
    svc.follow(reader, reader, author).await?;
    svc.drain().await;
    Ok((author, reader))
}

async fn titles(svc: &Service, reader: UserId) -> anyhow::Result<Vec<String>> {
    let rows = svc.feed(reader, 20).await?;
    Ok(rows.iter().map(|r| r.title.clone()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_materializer_holds_fanout_and_applies_it_on_resume() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = service(dir.path()).await?;
    let (author, reader) = pair(&svc).await?;
    svc.faults().set_materializer_paused(true);
    let body = sample_body("image/png", 200, 1);
    svc.upload(author, "held back", None, body.into()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !titles(&svc, reader)
            .await?
            .contains(&"held back".to_string()),
        "fan-out ran during the pause"
    );
    svc.faults().set_materializer_paused(false);
    tokio::time::timeout(Duration::from_secs(10), svc.drain()).await?;
    assert!(
        titles(&svc, reader)
            .await?
            .contains(&"held back".to_string())
    );
    svc.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_shard_answers_503_for_what_it_holds_and_recovers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = service(dir.path()).await?;
    let (_, reader) = pair(&svc).await?;
    let shard = svc.shards().index_of(ShardKey::User(reader));
    svc.faults().set_shard_down(shard, true)?;
    let err = svc.feed(reader, 20).await.expect_err("its shard is down");
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    let api = ApiError::from(err);
    assert_eq!((api.status.as_u16(), api.code), (503, "unavailable"));
    svc.faults().set_shard_down(shard, false)?;
    svc.feed(reader, 20).await?;
    svc.shutdown().await;
    Ok(())
}

fn is_503(err: Error) -> bool {
    let api = ApiError::from(err);
    (api.status.as_u16(), api.code) == (503, "unavailable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_blob_store_answers_503_for_photos_only_and_recovers() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = service(dir.path()).await?;
    let (author, reader) = pair(&svc).await?;
    let body = sample_body("image/png", 200, 1);
    let row = svc.upload(author, "before", None, body.into()).await?;
    svc.drain().await;
    svc.faults().set_blob_stopped(true);
    let late = sample_body("image/png", 200, 2);
    let err = svc
        .upload(author, "during", None, late.clone().into())
        .await;
    assert!(is_503(err.expect_err("the blob store is stopped")));
    let err = svc.photo_bytes(row.id, None).await;
    assert!(is_503(err.expect_err("the blob store is stopped")));
    assert_eq!(
        titles(&svc, reader).await?,
        ["before"],
        "feeds need no blobs"
    );
    svc.faults().set_blob_stopped(false);
    svc.photo_bytes(row.id, None).await?;
    svc.upload(author, "after", None, late.into()).await?;
    svc.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_replica_is_read_around_and_repaired() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = service(dir.path()).await?;
    let (author, _) = pair(&svc).await?;
    let mut photos = Vec::new();
    for i in 0..4 {
        let body = sample_body("image/png", 300, i);
        let row = svc.upload(author, "p", None, body.clone().into()).await?;
        photos.push((row.id, body));
    }
    let damage = damage_replica(svc.blobs().as_ref(), ReplicaDamage::Corrupt, 3).await?;
    assert_eq!(damage.keys.len(), 3);
    for (id, body) in &photos {
        let (_, bytes) = svc.photo_bytes(*id, None).await?;
        assert_eq!(&bytes[..], &body[..], "a damaged photo reads back right");
    }
    let local = svc.blobs().as_local().expect("the local store");
    for _ in 0..200 {
        if local.repairs_pending() == 0 && local.integrity().repaired_copies >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let i = local.integrity();
    assert_eq!((i.bad_copies, i.repaired_copies), (3, 3), "{i:?}");
    svc.shutdown().await;
    Ok(())
}
