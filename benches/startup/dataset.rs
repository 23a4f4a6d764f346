//! A data directory of N photos for the start-up bench, built once and
//! cached under the target directory.
//!
//! Proportions (the quickstart's, scaled): one user per 50 photos, each user
//! following 50 others chosen with a popularity skew (a few authors have
//! thousands of followers), photo owners skewed more mildly, three-word
//! titles from a 64-word vocabulary, and every user's timeline holding the
//! newest `timeline-cap` (500) photos of its followees, as push fan-out
//! would have left it. Users and follows go through the service's bulk
//! loaders ([`Service::bulk_create_users`], [`Service::bulk_follow`]);
//! photos, their index rows, counters and timelines are written with the
//! key layouts of [`feedlab_system::tables`] in 10,000-op batches per shard
//! (the upload path would cost an fsync and a fan-out per photo). All
//! photos share one small blob (content addressed: stored once).
//!
//! The directory is keyed by [`VERSION`] and the spec, and marked complete
//! only after the service shut down cleanly, so an interrupted build is
//! rebuilt rather than measured.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bytes::Bytes;
use feedlab_system::blob::BlobKey;
use feedlab_system::id::PhotoId;
use feedlab_system::meta::WriteBatch;
use feedlab_system::policy::{ShardKey, UserId};
use feedlab_system::service::media::sample_body;
use feedlab_system::shards::ShardSet;
use feedlab_system::tables::{self, PhotoRow};
use feedlab_system::{Service, ServiceConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bump when the layout or proportions change, so cached dirs are rebuilt.
pub const VERSION: u32 = 2;
/// Ops per buffered write batch.
const BATCH: usize = 10_000;
/// Words of the titles.
const WORDS: [&str; 64] = [
    "sunset", "beach", "dog", "cat", "city", "night", "coffee", "mountain", "lake", "forest",
    "snow", "rain", "street", "food", "party", "friends", "family", "garden", "flower", "bird",
    "river", "bridge", "train", "car", "bike", "road", "sky", "cloud", "sun", "moon", "star",
    "house", "window", "door", "book", "music", "concert", "stage", "light", "shadow", "morning",
    "evening", "winter", "summer", "spring", "autumn", "market", "bread", "cake", "wine", "tea",
    "harbour", "boat", "island", "desert", "field", "farm", "horse", "portrait", "selfie", "art",
    "museum", "park", "trail",
];

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Photos in all.
    pub photos: usize,
    /// Users (photos / 50, at least 20).
    pub users: usize,
    /// Followees per user.
    pub followees: usize,
    /// Seed of the graph, owners and titles.
    pub seed: u64,
}

impl Spec {
    /// The quickstart's proportions at `photos` photos.
    pub fn for_photos(photos: usize) -> Spec {
        let users = (photos / 50).max(20);
        Spec {
            photos,
            users,
            followees: 50.min(users - 1),
            seed: 15,
        }
    }

    fn name(&self) -> String {
        format!(
            "startup-v{VERSION}-{}p-{}u-{}f-s{}",
            self.photos, self.users, self.followees, self.seed
        )
    }
}

/// The service configuration the directory is built and served with
/// (`feedlab serve`'s defaults).
pub fn config(dir: &Path) -> ServiceConfig {
    ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    }
}

/// The cached directory for `spec` under `root`, built first if absent or
/// unfinished; true if it was built now.
pub fn ensure(spec: Spec, root: &Path) -> anyhow::Result<(PathBuf, bool)> {
    let dir = root.join(spec.name());
    let done = root.join(format!("{}.complete", spec.name()));
    if done.exists() {
        return Ok((dir, false));
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let t0 = std::time::Instant::now();
    rt.block_on(build(spec, &dir))?;
    std::fs::write(&done, format!("{spec:?}\n"))?;
    eprintln!(
        "built {} in {:.1} s",
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok((dir, true))
}

/// Buffered per-shard batches of 10,000 ops.
struct Writer<'a> {
    shards: &'a ShardSet,
    batches: Vec<WriteBatch>,
}

impl<'a> Writer<'a> {
    fn new(shards: &'a ShardSet) -> Self {
        let batches = (0..shards.len()).map(|_| WriteBatch::buffered()).collect();
        Writer { shards, batches }
    }

    async fn put(&mut self, key: ShardKey, k: Vec<u8>, v: Vec<u8>) -> anyhow::Result<()> {
        let s = self.shards.index_of(key);
        self.batches[s].put(k, v);
        if self.batches[s].len() >= BATCH {
            let full = std::mem::replace(&mut self.batches[s], WriteBatch::buffered());
            self.shards.get(s).write(full).await?;
        }
        Ok(())
    }

    /// Write what is left, each shard's last batch synced.
    async fn finish(self) -> anyhow::Result<()> {
        for (s, mut b) in self.batches.into_iter().enumerate() {
            if !b.is_empty() {
                b.durability = feedlab_system::meta::Durability::Sync;
                self.shards.get(s).write(b).await?;
            }
        }
        Ok(())
    }
}

/// An index in `0..n` skewed towards 0 by `power` (> 1: more skew).
fn skewed(rng: &mut ChaCha8Rng, n: usize, power: f64) -> usize {
    ((rng.random::<f64>().powf(power) * n as f64) as usize).min(n - 1)
}

async fn build(spec: Spec, dir: &Path) -> anyhow::Result<()> {
    let svc = Service::open_embedded(config(dir)).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let users: Vec<UserId> = svc
        .bulk_create_users(spec.users)
        .await?
        .iter()
        .map(|u| u.id)
        .collect();
    let mut followees: Vec<Vec<UserId>> = Vec::with_capacity(users.len());
    let mut edges = Vec::with_capacity(users.len() * spec.followees);
    for &u in &users {
        let mut mine: Vec<UserId> = Vec::with_capacity(spec.followees);
        while mine.len() < spec.followees {
            let l = users[skewed(&mut rng, users.len(), 3.0)];
            if l != u && !mine.contains(&l) {
                mine.push(l);
                edges.push((u, l));
            }
        }
        followees.push(mine);
    }
    svc.bulk_follow(&edges).await?;
    let by_owner = write_photos(&svc, spec, &users, &mut rng).await?;
    write_derived(&svc, &users, &followees, &by_owner).await?;
    svc.shutdown().await;
    Ok(())
}

/// Photo rows, title postings, blob refs and the owners' photo lists;
/// returns each owner's photo ids, oldest first.
async fn write_photos(
    svc: &Service,
    spec: Spec,
    users: &[UserId],
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<HashMap<UserId, Vec<PhotoId>>> {
    let body = Bytes::from(sample_body("image/jpeg", 2048, 7));
    let key = BlobKey::of(&body);
    let size = body.len() as u64;
    svc.blobs().put(&key, body).await?;
    let shards = svc.shards();
    let mut w = Writer::new(shards);
    let mut by_owner: HashMap<UserId, Vec<PhotoId>> = HashMap::new();
    let now = feedlab_system::service::now_ms();
    for _ in 0..spec.photos {
        let owner = users[skewed(rng, users.len(), 1.5)];
        let logical = shards.partitioner().logical_for_photo(owner, rng.random());
        let pid = svc.ids().next(logical).await?;
        let title = (0..3)
            .map(|_| WORDS[skewed(rng, WORDS.len(), 2.0)])
            .collect::<Vec<_>>()
            .join(" ");
        let row = PhotoRow {
            id: pid,
            owner,
            content_type: "image/jpeg".into(),
            size,
            blob: key.to_string(),
            created_ms: now,
            title,
        };
        let at = ShardKey::Photo(pid);
        for term in tables::terms(&row.title) {
            let k = tables::title_posting(&term, pid);
            w.put(at, k, tables::MARK.to_vec()).await?;
        }
        let k = tables::blob_ref(key.as_str(), pid);
        w.put(at, k, tables::MARK.to_vec()).await?;
        w.put(at, tables::photo(pid), tables::encode(&row)?).await?;
        let k = tables::user_photo(owner, pid);
        w.put(ShardKey::User(owner), k, tables::MARK.to_vec())
            .await?;
        by_owner.entry(owner).or_default().push(pid);
    }
    w.finish().await?;
    Ok(by_owner)
}

/// Post counters, and each user's timeline: the newest `timeline-cap`
/// photos of its followees.
async fn write_derived(
    svc: &Service,
    users: &[UserId],
    followees: &[Vec<UserId>],
    by_owner: &HashMap<UserId, Vec<PhotoId>>,
) -> anyhow::Result<()> {
    let cap = svc.config().timeline_cap;
    let mut w = Writer::new(svc.shards());
    let stats = svc.stats_many(users).await?;
    for (&u, mut s) in users.iter().zip(stats) {
        s.posts = by_owner.get(&u).map_or(0, Vec::len) as u64;
        w.put(ShardKey::User(u), tables::stats(u), tables::encode(&s)?)
            .await?;
    }
    for (&u, leaders) in users.iter().zip(followees) {
        let mut feed: Vec<(PhotoId, UserId)> = leaders
            .iter()
            .flat_map(|l| {
                let own = by_owner.get(l).map_or(&[][..], Vec::as_slice);
                own[own.len().saturating_sub(cap)..]
                    .iter()
                    .map(move |&p| (p, *l))
            })
            .collect();
        feed.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
        feed.truncate(cap);
        for (pid, author) in feed {
            let v = author.to_be_bytes().to_vec();
            w.put(ShardKey::User(u), tables::timeline(u, pid), v)
                .await?;
        }
    }
    w.finish().await
}
