//! The pull cache of hybrid feed reads: a repeated read of the same feed
//! costs a fraction of the storage operations of the first, and what the
//! cache holds never hides a change made through this service: a pulled
//! author's new photo, the reader's new follow, or an author crossing the
//! hybrid threshold shows in the very next read.

use feedlab_system::policy::{FanoutKind, UserId};
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};

/// Storage operations of all shards so far.
fn ops(svc: &Service) -> u64 {
    svc.shards().loads().iter().map(|l| l.ops()).sum()
}

/// The titles of `reader`'s feed, and the storage operations it took.
async fn feed(svc: &Service, reader: UserId) -> anyhow::Result<(Vec<String>, u64)> {
    let before = ops(svc);
    let rows = svc.feed(reader, 20).await?;
    let titles = rows.iter().map(|r| r.title.clone()).collect();
    Ok((titles, ops(svc) - before))
}

async fn post(svc: &Service, who: UserId, title: &str) -> anyhow::Result<()> {
    let body = sample_body("image/png", 100 + title.len(), title.len() as u8);
    svc.upload(who, title, None, body.into()).await?;
    Ok(())
}

#[tokio::test]
async fn repeated_hybrid_reads_hit_the_cache_and_changes_show_at_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = ServiceConfig {
        data_dir: dir.path().to_path_buf(),
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Hybrid;
    cfg.fanout.hybrid_threshold = 2;
    cfg.sharding.shards = 3;
    // Long enough that only invalidation, not age, can explain a change.
    cfg.pull_set_ttl_ms = 600_000;
    cfg.pull_recent_ttl_ms = 600_000;
    let svc = Service::open_embedded(cfg).await?;
    let mut ids = Vec::new();
    for name in ["reader", "other", "celeb", "star", "rising"] {
        ids.push(svc.create_user(name, &format!("{name}@x.test")).await?.id);
    }
    let [reader, other, celeb, star, rising] = ids[..] else {
        unreachable!("five users")
    };
    for (f, l) in [
        (reader, celeb),
        (other, celeb),
        (other, star),
        (reader, rising),
    ] {
        svc.follow(f, f, l).await?;
    }
    post(&svc, celeb, "celeb one").await?;
    post(&svc, rising, "rising one").await?;
    svc.drain().await;

    let (first, cold) = feed(&svc, reader).await?;
    let (again, warm) = feed(&svc, reader).await?;
    eprintln!("storage operations per feed read: {cold} cold, {warm} warm");
    assert_eq!(first, again);
    assert!(first.contains(&"celeb one".to_string()), "{first:?}");
    assert!(
        warm * 2 <= cold,
        "warm read took {warm} operations, cold {cold}"
    );

    // A pulled author's upload shows at once.
    post(&svc, celeb, "celeb two").await?;
    let (titles, _) = feed(&svc, reader).await?;
    assert!(titles.contains(&"celeb two".to_string()), "{titles:?}");

    // The reader's new follow of a pulled author shows at once.
    post(&svc, star, "star one").await?;
    svc.feed(reader, 20).await?;
    svc.follow(reader, reader, star).await?;
    let (titles, _) = feed(&svc, reader).await?;
    assert!(titles.contains(&"star one".to_string()), "{titles:?}");

    // `rising` crosses the threshold (a second follower): no longer pushed,
    // so the reader must start pulling them at once.
    svc.follow(other, other, rising).await?;
    svc.drain().await;
    post(&svc, rising, "rising two").await?;
    svc.drain().await;
    let (titles, _) = feed(&svc, reader).await?;
    assert!(titles.contains(&"rising two".to_string()), "{titles:?}");
    Ok(())
}
