//! Seeding a live run: the scaled population, its follow graph and a few
//! historical photos per user, loaded through the service's bulk paths.
//!
//! The follow graph is generated on every core (each user's followees are a
//! pure function of the run's seed and the user), then stored with
//! `Service::bulk_follow` in chunks; its throughput is measured and reported.
//! Historical photos draw their sizes from the uploads' mix of photos and
//! videos but share a dozen bodies (content-addressed, each stored once); they
//! are fanned out by the materializer before the measured run starts.

use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use feedlab_system::Service;
use feedlab_system::id::PhotoId;
use feedlab_system::policy::UserId;
use feedlab_system::service::bulk_photos::{HistoryPhoto, SharedBody};
use feedlab_workload::{
    FollowGraph, FollowerIndex, SizeMix, UploadSpec, Vocabulary, Workload, content_type,
    upload_body,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::spec::RunSpec;

/// Edges per `bulk_follow` call.
const FOLLOW_CHUNK: usize = 200_000;
/// Photos per `bulk_photos` call.
const PHOTO_CHUNK: usize = 20_000;
/// Shared photo bodies of the historical photos (sizes of the upload mix).
const PHOTO_CLASSES: usize = 8;
/// Shared video bodies of the historical photos.
const VIDEO_CLASSES: usize = 4;
/// Historical photo ids handed to the targets ([`Seeded::known_photos`]).
pub const KNOWN_PHOTOS: usize = 4_096;

/// What seeding created and how fast.
pub struct Seeded {
    /// Service id of population user `i` at index `i`.
    pub ids: Vec<UserId>,
    /// Bearer token of population user `i`.
    pub tokens: Vec<String>,
    /// Follow edges stored.
    pub follows: u64,
    /// Followers of each population user (in-degree).
    pub in_degree: Vec<u64>,
    /// Leader → followers, for freshness probes.
    pub index: FollowerIndex,
    /// Historical photos stored.
    pub history_photos: u64,
    /// Ids of the last [`KNOWN_PHOTOS`] historical photos stored, which the
    /// targets may view before the run has read a feed or made an upload.
    pub known_photos: Vec<PhotoId>,
    /// Follow edges stored per second by `bulk_follow`.
    pub follows_per_s: f64,
    /// Wall seconds of the whole seeding, fan-out included.
    pub seconds: f64,
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:32}] {pos}/{len} {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// Every edge of `graph` as `(follower, leader)` population ids, generated
/// on all cores.
fn edges(graph: &FollowGraph) -> Vec<(u32, u32)> {
    let n = graph.users();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()) as u64;
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lo, hi) = ((t * chunk).min(n), ((t + 1) * chunk).min(n));
                s.spawn(move || {
                    let mut out = Vec::new();
                    for u in lo..hi {
                        out.extend(
                            graph
                                .followees_of(u)
                                .into_iter()
                                .map(|l| (u as u32, l as u32)),
                        );
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Create the users, store the follow graph, load historical photos and
/// wait for their fan-out.
pub async fn materialize(
    svc: &Service,
    workload: &Workload,
    spec: &RunSpec,
) -> anyhow::Result<Seeded> {
    let t0 = Instant::now();
    let graph = workload.graph().clone();
    let n = graph.users() as usize;
    let pb = bar(n as u64, "users");
    let users = svc.bulk_create_users(n).await.context("creating users")?;
    pb.finish();
    let ids: Vec<UserId> = users.iter().map(|u| u.id).collect();
    let tokens: Vec<String> = users.into_iter().map(|u| u.token).collect();

    let g = graph.clone();
    let pop_edges = tokio::task::spawn_blocking(move || edges(&g))
        .await
        .context("generating the follow graph")?;
    let mut in_degree = vec![0u64; n];
    for &(_, l) in &pop_edges {
        in_degree[l as usize] += 1;
    }
    let index = FollowerIndex::from_edges(
        n as u64,
        pop_edges.iter().map(|&(f, l)| (u64::from(f), u64::from(l))),
    );
    let pb = bar(pop_edges.len() as u64, "follows");
    let t_follow = Instant::now();
    let mut follows = 0;
    for chunk in pop_edges.chunks(FOLLOW_CHUNK) {
        let svc_edges: Vec<(UserId, UserId)> = chunk
            .iter()
            .map(|&(f, l)| (ids[f as usize], ids[l as usize]))
            .collect();
        follows += svc
            .bulk_follow(&svc_edges)
            .await
            .context("storing follows")?;
        pb.inc(chunk.len() as u64);
    }
    let follows_per_s = follows as f64 / t_follow.elapsed().as_secs_f64().max(1e-9);
    pb.finish_with_message(format!("{follows_per_s:.0} follows/s"));
    drop(pop_edges);

    let (history_photos, known_photos) = load_history(svc, &ids, spec).await?;
    Ok(Seeded {
        ids,
        tokens,
        follows,
        in_degree,
        index,
        history_photos,
        known_photos,
        follows_per_s,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Historical photos: `history-photos-per-user` per user (the fraction
/// rounded per user at random), titles from the traffic vocabulary, and a
/// body drawn from the uploads' size mix: a photo or (at `video-fraction`) a
/// video, of one of a few shared sizes ([`history_bodies`]). Returns how many
/// were stored and the ids of the last [`KNOWN_PHOTOS`].
async fn load_history(
    svc: &Service,
    ids: &[UserId],
    spec: &RunSpec,
) -> anyhow::Result<(u64, Vec<PhotoId>)> {
    let per_user = spec.driver.history_photos_per_user.max(0.0);
    let t = &spec.traffic;
    let vocab = Vocabulary::new(t.title_vocabulary, t.title_zipf).context("title vocabulary")?;
    let mix = SizeMix::new(t).context("upload sizes")?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0048_4953_544f_5259);
    let mut size_rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0048_4953_5349_5a45);
    let mut items: Vec<HistoryPhoto> = Vec::new();
    for &id in ids {
        let extra = u64::from(rng.random::<f64>() < per_user.fract());
        for _ in 0..per_user.floor() as u64 + extra {
            let words = rng.random_range(1..=t.title_max_words.max(1));
            let title: Vec<String> = (0..words)
                .map(|_| Vocabulary::word(vocab.draw(&mut rng)))
                .collect();
            let class = if mix.is_video(&mut size_rng) {
                PHOTO_CLASSES + size_rng.random_range(0..VIDEO_CLASSES)
            } else {
                size_rng.random_range(0..PHOTO_CLASSES)
            };
            items.push(HistoryPhoto {
                owner: id,
                title: title.join(" "),
                body: class,
            });
        }
    }
    if items.is_empty() {
        return Ok((0, Vec::new()));
    }
    let bodies = history_bodies(&mix, spec.seed);
    let pb = bar(items.len() as u64, "photos");
    let mut known = Vec::new();
    for chunk in items.chunks(PHOTO_CHUNK) {
        let stored = svc
            .bulk_photos(chunk, &bodies)
            .await
            .context("storing historical photos")?;
        known.extend(stored);
        known.drain(..known.len().saturating_sub(KNOWN_PHOTOS));
        svc.drain().await;
        pb.inc(chunk.len() as u64);
    }
    pb.finish_with_message("fanned out");
    Ok((items.len() as u64, known))
}

/// The historical photos' shared bodies: [`PHOTO_CLASSES`] photo sizes, then
/// [`VIDEO_CLASSES`] video sizes, each the mean of an equal-probability bin of
/// the uploads' size mix, so a body drawn as [`load_history`] draws it has
/// about an upload's mean size and the feeds of a run's first seconds ask
/// for the bytes that a long run's feeds do.
fn history_bodies(mix: &SizeMix, seed: u64) -> Vec<SharedBody> {
    let photos = mix.classes(false, PHOTO_CLASSES, seed ^ 1);
    let videos = mix.classes(true, VIDEO_CLASSES, seed ^ 2);
    let sized = photos.into_iter().map(|b| (b, false));
    sized
        .chain(videos.into_iter().map(|b| (b, true)))
        .enumerate()
        .map(|(i, (bytes, video))| {
            let spec = UploadSpec {
                bytes,
                video,
                title: String::new(),
                content_seed: seed ^ (i as u64 + 1) << 32,
            };
            SharedBody {
                content_type: content_type(&spec).to_owned(),
                bytes: Bytes::from(upload_body(&spec)),
            }
        })
        .collect()
}
