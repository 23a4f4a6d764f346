//! `celebrity-burst`: the most-followed author of the live population posts K photos at once,
//! through the driver's own target, and one follower's feed is polled until the last of them
//! shows.
//!
//! The author is the population user with the most followers stored at seeding (the lowest
//! index on a tie); the follower probed is the first of their followers in index order. The
//! K uploads are photos of the scenario's mean photo size, with bodies seeded by the run's
//! seed and the photo's index (distinct, so content dedup hides no work), posted at most
//! [`AT_ONCE`] at a time, as one client's burst. They are not the driver's ops: they are not
//! in the per-second `series` or the op counts. The service's counters hold their timeline
//! writes and bytes, so the summary's per-upload figures (`fanout.writes_per_upload`, storage
//! per upload) count them as uploads ([`FaultReport::uploads`](super::FaultReport::uploads)).
//! What they cost shows in the other ops (the freshness of uploads probed meanwhile, under
//! push) and in the report here.

use std::sync::Arc;
use std::time::Duration;

use feedlab_workload::{OpKind, OpOutcome, Payload, PlannedOp, Target, UploadSpec};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::summary::Extra;

/// Uploads of a burst in flight at once (the simulator's twin posts the same way).
pub const AT_ONCE: usize = feedlab_sim::model::BURST_AT_ONCE as usize;

/// `seq` of a burst's first upload (apart from the op stream's and a surge's).
const BURST_SEQ: u64 = 3 << 62;

/// Who posts and how, fixed before the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Author {
    /// Population index of the most-followed user.
    pub user: u64,
    /// Their followers stored at seeding.
    pub followers: u64,
    /// The follower whose feed is polled (none without followers).
    pub follower: Option<u64>,
    /// Bytes of each photo.
    pub bytes: u64,
    /// Seed of the photo bodies.
    pub seed: u64,
    /// Poll interval of the visibility probe.
    pub poll: Duration,
    /// Give up probing after this long.
    pub timeout: Duration,
}

impl Author {
    /// The most-followed user of `in_degree` (population index → followers) and their first
    /// follower in `followers_of`; `None` for an empty population.
    pub fn top(in_degree: &[u64], followers_of: impl Fn(u64) -> Option<u64>) -> Option<Author> {
        let (user, &followers) = in_degree
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
        let user = user as u64;
        Some(Author {
            user,
            followers,
            follower: followers_of(user),
            bytes: 0,
            seed: 0,
            poll: Duration::from_millis(10),
            timeout: Duration::from_secs(5),
        })
    }
}

/// What a burst did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BurstReport {
    /// Population index of the author.
    pub author: u64,
    /// Their followers at seeding.
    pub followers: u64,
    /// Photos acknowledged.
    pub posted: u64,
    /// Photos refused or failed.
    pub failed: u64,
    /// Seconds from the start of the burst to its last acknowledgement.
    pub posted_in_s: f64,
    /// Seconds from the last acknowledgement to the last photo in the probed follower's feed
    /// (`None`: not within the timeout, or nothing to probe).
    pub last_visible_s: Option<f64>,
}

impl BurstReport {
    /// The fields the summary's fault entry gets.
    pub fn extra(&self) -> Extra {
        let v = json!({
            "author": self.author,
            "followers": self.followers,
            "photos_posted": self.posted,
            "photos_failed": self.failed,
            "posted_in_s": self.posted_in_s,
            "last_visible_s": self.last_visible_s,
        });
        v.as_object().cloned().unwrap_or_default()
    }
}

/// The `i`th photo of the burst.
fn upload(author: &Author, i: u32) -> PlannedOp {
    PlannedOp {
        seq: BURST_SEQ + u64::from(i),
        at: Duration::ZERO,
        kind: OpKind::Upload,
        user: author.user,
        payload: Payload::Upload(UploadSpec {
            bytes: author.bytes.max(1),
            video: false,
            title: format!("burst {i}"),
            content_seed: feedlab_workload::hash::mix(author.seed, 0xb5, u64::from(i)),
        }),
    }
}

/// Posts `photos` photos as `author` through `target`, then probes the last one; see the
/// module docs.
pub async fn post(target: Arc<dyn Target>, author: Author, photos: u32) -> BurstReport {
    let start = Instant::now();
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    let mut tasks = JoinSet::new();
    for i in 0..photos {
        let (target, slots, op) = (target.clone(), slots.clone(), upload(&author, i));
        tasks.spawn(async move {
            let _permit = slots.acquire_owned().await.ok();
            let r = target.execute(&op).await;
            (op, r, Instant::now())
        });
    }
    let mut report = BurstReport {
        author: author.user,
        followers: author.followers,
        ..BurstReport::default()
    };
    let mut last: Option<(PlannedOp, OpOutcome, Instant)> = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((op, Ok(outcome), at)) => {
                report.posted += 1;
                if last.as_ref().is_none_or(|l| at >= l.2) {
                    last = Some((op, outcome, at));
                }
            }
            _ => report.failed += 1,
        }
    }
    let Some((op, outcome, acked)) = last else {
        return report;
    };
    report.posted_in_s = (acked - start).as_secs_f64();
    if let Some(follower) = author.follower {
        report.last_visible_s = visible_after(&*target, &op, &outcome, follower, &author).await;
    }
    report
}

/// Seconds from now until `op` shows in `follower`'s feed, polled; `None` after the timeout.
async fn visible_after(
    target: &dyn Target,
    op: &PlannedOp,
    outcome: &OpOutcome,
    follower: u64,
    author: &Author,
) -> Option<f64> {
    let from = Instant::now();
    while from.elapsed() < author.timeout {
        if let Ok(true) = target.probe_visible(op, outcome, follower).await {
            return Some(from.elapsed().as_secs_f64());
        }
        tokio::time::sleep(author.poll).await;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_author_is_the_most_followed_and_the_lowest_on_a_tie() {
        let a = Author::top(&[3, 9, 2, 9], |u| Some(u + 100)).expect("non-empty");
        assert_eq!((a.user, a.followers, a.follower), (1, 9, Some(101)));
        assert!(Author::top(&[], |_| None).is_none());
    }

    #[test]
    fn burst_photos_are_distinct_uploads_by_the_author() {
        let a = Author::top(&[1, 5], |_| None).expect("non-empty");
        let (p, q) = (upload(&a, 0), upload(&a, 1));
        assert_eq!((p.user, p.kind), (1, OpKind::Upload));
        assert_ne!(p.payload, q.payload);
        assert_ne!(p.seq, q.seq);
    }
}
