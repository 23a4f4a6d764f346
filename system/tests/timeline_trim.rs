//! Push timelines are trimmed back to `timeline-cap` from their oldest end:
//! after many uploads a follower's timeline holds the newest photos, never
//! more than the cap plus one trim interval, and none of the oldest.

use feedlab_system::policy::FanoutKind;
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};

const CAP: usize = 8;
const UPLOADS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trimmed_timeline_keeps_the_newest_photos() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut cfg = ServiceConfig {
        data_dir: dir.path().to_path_buf(),
        timeline_cap: CAP,
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Push;
    cfg.sharding.shards = 2;
    let svc = Service::open_embedded(cfg).await?;
    let author = svc.create_user("author", "author@x.test").await?.id;
    let reader = svc.create_user("reader", "reader@x.test").await?.id;
    svc.follow(reader, reader, author).await?;
    let mut titles = Vec::new();
    for i in 0..UPLOADS {
        let title = format!("photo {i}");
        let body = sample_body("image/png", 64 + i, i as u8);
        svc.upload(author, &title, None, body.into()).await?;
        titles.push(title);
        // Let each upload's fan-out (and any trim it makes due) run on its own.
        svc.drain().await;
    }
    let feed: Vec<String> = svc
        .feed(reader, 100)
        .await?
        .iter()
        .map(|r| r.title.clone())
        .collect();
    svc.shutdown().await;
    let newest: Vec<String> = titles.iter().rev().take(CAP).cloned().collect();
    assert_eq!(feed[..CAP], newest[..], "the newest {CAP} lead the feed");
    assert!(
        feed.len() <= CAP + CAP / 4,
        "the timeline was trimmed: {} entries for a cap of {CAP}",
        feed.len()
    );
    let oldest = &titles[..UPLOADS - CAP - CAP / 4];
    assert!(
        feed.iter().all(|t| !oldest.contains(t)),
        "no old photo survives a trim: {feed:?}"
    );
    Ok(())
}
