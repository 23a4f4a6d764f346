//! All four fan-out strategies serve the same feed for the same graph once
//! the materializer has drained, and that feed is the oracle's: the newest
//! photos of the reader's current followees, deleted photos excluded.
//!
//! The graph is seeded and exercises backfill (follows made after uploads),
//! purge (unfollows) and deletes, so every materializer task kind is used.

use std::collections::{BTreeSet, HashMap};

use feedlab_system::id::PhotoId;
use feedlab_system::policy::{FanoutKind, UserId};
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const USERS: usize = 24;
const SEED: u64 = 7;

/// What one strategy ended with: for each reader, the titles of the feed at
/// two limits, and the oracle's titles at the same limits.
type Outcome = Vec<(BTreeSet<String>, BTreeSet<String>, Vec<String>, Vec<String>)>;

/// The graph and photos a run left, as the oracle tracks them: the
/// (follower, leader) pairs of user indices, and the photos not deleted as
/// (owner index, id, title).
struct World {
    follows: BTreeSet<(usize, usize)>,
    photos: Vec<(usize, PhotoId, String)>,
}

/// A service in `dir` with `kind` fan-out: three shards, a hybrid threshold
/// of 4 followers and timelines capped at 200.
async fn open(kind: FanoutKind, dir: &std::path::Path) -> anyhow::Result<Service> {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        timeline_cap: 200,
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = kind;
    cfg.fanout.hybrid_threshold = 4;
    cfg.sharding.shards = 3;
    Ok(Service::open_embedded(cfg).await?)
}

/// Create the [`USERS`] users; returns their ids, by index.
async fn create_users(svc: &Service) -> anyhow::Result<Vec<UserId>> {
    let mut users = Vec::new();
    for i in 0..USERS {
        users.push(
            svc.create_user(&format!("u{i}"), &format!("u{i}@x.test"))
                .await?
                .id,
        );
    }
    Ok(users)
}

/// Drive `svc` (users `ids`) through three seeded rounds of: some follows,
/// some uploads, some unfollows, a delete. Returns what the oracle expects
/// to be left.
async fn build(svc: &Service, ids: &[UserId]) -> anyhow::Result<World> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let id = |i: usize| ids[i];
    let mut follows: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut photos: Vec<(usize, PhotoId, String)> = Vec::new();
    let mut next_title = 0;
    for _round in 0..3 {
        for _ in 0..40 {
            let (a, b) = (rng.random_range(0..USERS), rng.random_range(0..USERS / 3));
            if a != b && follows.insert((a, b)) {
                svc.follow(id(a), id(a), id(b)).await?;
            }
        }
        for _ in 0..30 {
            let owner = rng.random_range(0..USERS / 2);
            let title = format!("photo {next_title} by {owner}");
            next_title += 1;
            let body = sample_body("image/png", 64 + next_title, next_title as u8);
            let row = svc.upload(id(owner), &title, None, body.into()).await?;
            photos.push((owner, row.id, title));
        }
        let gone: Vec<_> = follows
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.1))
            .collect();
        for (a, b) in gone {
            follows.remove(&(a, b));
            svc.unfollow(id(a), id(a), id(b)).await?;
        }
        let victim = rng.random_range(0..photos.len());
        let (owner, pid, _) = photos.remove(victim);
        svc.delete_photo(id(owner), pid).await?;
    }
    Ok(World { follows, photos })
}

/// For each reader: the titles of its feed from `svc` at limits 100 and 5,
/// beside the oracle's (the newest photos of its followees in `world`).
async fn feeds(svc: &Service, ids: &[UserId], world: &World) -> anyhow::Result<Outcome> {
    let id = |i: usize| ids[i];
    let mut out = Vec::new();
    for reader in 0..USERS {
        let leaders: BTreeSet<usize> = world
            .follows
            .iter()
            .filter(|(a, _)| *a == reader)
            .map(|(_, b)| *b)
            .collect();
        let mut expect: Vec<&(usize, PhotoId, String)> = world
            .photos
            .iter()
            .filter(|(o, _, _)| leaders.contains(o))
            .collect();
        expect.sort_by_key(|p| std::cmp::Reverse(p.1));
        let titles = |n: usize| {
            expect
                .iter()
                .take(n)
                .map(|p| p.2.clone())
                .collect::<Vec<_>>()
        };
        let all = svc.feed(id(reader), 100).await?;
        let top = svc.feed(id(reader), 5).await?;
        out.push((
            all.iter().map(|r| r.title.clone()).collect(),
            titles(100).into_iter().collect(),
            top.iter().map(|r| r.title.clone()).collect(),
            titles(5),
        ));
    }
    Ok(out)
}

/// One strategy's run: build the seeded world, drain the materializer, and
/// read every reader's feed beside the oracle's.
async fn run(kind: FanoutKind, dir: &std::path::Path) -> anyhow::Result<Outcome> {
    let svc = open(kind, dir).await?;
    let ids = create_users(&svc).await?;
    let world = build(&svc, &ids).await?;
    svc.drain().await;
    let out = feeds(&svc, &ids, &world).await?;
    svc.shutdown().await;
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_strategy_serves_the_oracle_feed() -> anyhow::Result<()> {
    let mut results: HashMap<FanoutKind, Outcome> = HashMap::new();
    for kind in FanoutKind::ALL {
        let dir = tempfile::tempdir()?;
        let outcome = run(kind, dir.path()).await?;
        let mut nonempty = 0;
        for (reader, (got, want, top, top_want)) in outcome.iter().enumerate() {
            assert_eq!(got, want, "{kind}: feed of reader {reader} (seed {SEED})");
            assert_eq!(
                top, top_want,
                "{kind}: top 5 of reader {reader} (seed {SEED})"
            );
            nonempty += usize::from(!got.is_empty());
        }
        assert!(
            nonempty > USERS / 2,
            "{kind}: too few readers have a feed to compare"
        );
        results.insert(kind, outcome);
    }
    let push: Vec<_> = results[&FanoutKind::Push].iter().map(|o| &o.0).collect();
    for kind in FanoutKind::ALL {
        let other: Vec<_> = results[&kind].iter().map(|o| &o.0).collect();
        assert_eq!(push, other, "push and {kind} disagree");
    }
    Ok(())
}
