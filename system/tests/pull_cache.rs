//! The pull cache of hybrid feed reads: a repeated read of the same feed
//! costs a fraction of the storage operations of the first, and what the
//! cache holds never hides a change made through this service: a pulled
//! author's new photo, the reader's new follow, or an author crossing the
//! hybrid threshold shows in the very next read. Readers that miss one
//! pulled author's ids at once cost one storage read between them.

use std::time::Duration;

use feedlab_system::policy::{FanoutKind, ShardKey, UserId};
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

/// A hybrid service on 3 shards that pulls authors with 2 followers or more, whose pull
/// cache entries live long enough that only invalidation, not age, can explain a change.
async fn hybrid(dir: &std::path::Path) -> anyhow::Result<Service> {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Hybrid;
    cfg.fanout.hybrid_threshold = 2;
    cfg.sharding.shards = 3;
    cfg.pull_set_ttl_ms = 600_000;
    cfg.pull_recent_ttl_ms = 600_000;
    Ok(Service::open_embedded(cfg).await?)
}

#[tokio::test]
async fn repeated_hybrid_reads_hit_the_cache_and_changes_show_at_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = hybrid(dir.path()).await?;
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

/// Storage operations on shard `s` so far.
fn ops_on(svc: &Service, s: usize) -> u64 {
    svc.shards().loads()[s].ops()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_of_one_pulled_author_read_it_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let svc = hybrid(dir.path()).await?;
    let celeb = svc.create_user("celeb", "celeb@x.test").await?.id;
    let home = svc.shards().index_of(ShardKey::User(celeb));
    // Readers held by other shards, so the celebrity's shard serves only the pulled part.
    let mut readers = Vec::new();
    for i in 0.. {
        if readers.len() == 30 {
            break;
        }
        let r = svc
            .create_user(&format!("r{i}"), &format!("r{i}@x.test"))
            .await?
            .id;
        if svc.shards().index_of(ShardKey::User(r)) != home {
            svc.follow(r, r, celeb).await?;
            readers.push(r);
        }
    }
    post(&svc, celeb, "celeb one").await?;
    svc.drain().await;
    for &r in &readers {
        svc.feed(r, 20).await?;
    }
    // The celebrity's new photo voids their cached ids; every reader misses at once,
    // while each call on their shard takes 50 ms.
    post(&svc, celeb, "celeb two").await?;
    svc.drain().await;
    svc.faults()
        .set_shard_delay(home, Duration::from_millis(50))?;
    let before = ops_on(&svc, home);
    let reads = readers.iter().map(|&r| svc.feed(r, 20));
    for rows in futures::future::join_all(reads).await {
        let titles: Vec<_> = rows?.iter().map(|r| r.title.clone()).collect();
        assert!(titles.contains(&"celeb two".to_string()), "{titles:?}");
    }
    let burst = ops_on(&svc, home) - before;
    eprintln!(
        "{} concurrent misses: {burst} operations on the author's shard",
        readers.len()
    );
    assert!(burst <= 3, "{burst} operations for one author's refill");
    Ok(())
}
