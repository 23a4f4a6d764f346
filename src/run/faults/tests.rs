//! What the summary reads from a series: the peak p99 inside the window only, the failures
//! inside it only, and recovery at the first second back under the target with its goodput,
//! or none; the scheduler sets and lifts switches on time, starts one-shot faults at their
//! start and reports them; a flash crowd becomes a read surge of the op stream.

use super::*;

/// Feed points for seconds `0..n` with `count(k)` reads at p99 `p99(k)`, plus one failed
/// upload in every second.
fn series(n: u64, count: impl Fn(u64) -> u64, p99: impl Fn(u64) -> f64) -> Vec<SecondPoint> {
    let point = |second, kind, count, errors, p99_ms| SecondPoint {
        second,
        kind,
        count,
        errors,
        dropped: 0,
        shed: 0,
        p50_ms: p99_ms / 2.0,
        p99_ms,
    };
    (0..n)
        .flat_map(|k| {
            [
                point(k, OpKind::Feed, count(k), 0, p99(k)),
                point(k, OpKind::Upload, 3, 1, 10.0),
            ]
        })
        .collect()
}

fn fault(at_s: f64, for_s: f64) -> Fault {
    Fault {
        action: FaultAction::ShardDown { shard: 1 },
        at_s,
        for_s,
    }
}

#[test]
fn peak_failures_and_recovery_come_from_the_window_and_after() {
    // Window [4, 7): p99 600 ms inside, 300 ms at 7 and 8, fine from 9; goodput 100/s
    // before, 50 inside, 80 at 9 (below 90%), 95 from 10.
    let p99 = |k: u64| match k {
        4..=6 => 600.0 + k as f64,
        7 | 8 => 300.0,
        _ => 20.0,
    };
    let count = |k: u64| match k {
        4..=6 => 50,
        9 => 80,
        _ => 100 - 5 * u64::from(k >= 10),
    };
    let s = series(15, count, p99);
    let out = outcomes(&[fault(4.0, 3.0)], &s, 15.0, 200.0);
    assert_eq!(out.len(), 1);
    let o = &out[0];
    assert_eq!(
        (o.kind.as_str(), o.target.as_str()),
        ("shard-down", "shard 1")
    );
    assert_eq!(o.peak_feed_p99_ms, Some(606.0));
    assert_eq!(o.failed, 3, "one failed upload in each of seconds 4, 5, 6");
    assert_eq!(
        o.recovery_s,
        Some(3.0),
        "second 10 starts 3 s after the window ends"
    );
    assert_eq!(o.extra_ms, None);
}

#[test]
fn no_recovery_within_the_run_is_none_and_a_window_at_zero_needs_only_the_p99() {
    let s = series(10, |_| 100, |k| if k >= 2 { 900.0 } else { 20.0 });
    let late = outcomes(&[fault(2.0, 3.0)], &s, 10.0, 200.0);
    assert_eq!(late[0].recovery_s, None);
    let s = series(10, |k| if k >= 5 { 10 } else { 100 }, |_| 20.0);
    let early = outcomes(&[fault(0.0, 2.5)], &s, 10.0, 200.0);
    assert_eq!(
        early[0].recovery_s,
        Some(0.5),
        "no seconds before: goodput not judged"
    );
    assert_eq!(early[0].failed, 3, "seconds 0, 1 and 2 overlap [0, 2.5)");
}

/// A target that acknowledges every op and sees every upload at once.
struct Accepting(std::sync::atomic::AtomicU64);

#[async_trait::async_trait]
impl Target for Accepting {
    async fn execute(
        &self,
        op: &feedlab_workload::PlannedOp,
    ) -> Result<feedlab_workload::OpOutcome, feedlab_workload::OpError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(op.kind, OpKind::Upload);
        Ok(feedlab_workload::OpOutcome {
            id: Some(n.to_string()),
            bytes: 1,
        })
    }

    async fn probe_visible(
        &self,
        _: &feedlab_workload::PlannedOp,
        _: &feedlab_workload::OpOutcome,
        _: u64,
    ) -> Result<bool, feedlab_workload::OpError> {
        Ok(true)
    }
}

fn reach(board: &Faults, dir: &std::path::Path) -> (Reach, Arc<Accepting>) {
    let blobs = feedlab_system::blob::LocalBlobStore::open(dir, 1).expect("blob store");
    let target = Arc::new(Accepting(0.into()));
    let author = burst::Author::top(&[2, 7, 1], |_| Some(0));
    let reach = Reach {
        board: board.clone(),
        blobs: board.wrap_blobs(Arc::new(blobs)),
        target: target.clone(),
        author,
    };
    (reach, target)
}

fn at(action: FaultAction, at_s: f64, for_s: f64) -> Fault {
    Fault {
        action,
        at_s,
        for_s,
    }
}

#[tokio::test]
async fn the_scheduler_sets_and_lifts_on_the_clock_and_finish_lifts_all() {
    let board = Faults::new(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let (reach, _) = reach(&board, dir.path());
    let stop = FaultAction::BlobOutage { how: BlobHow::Stop };
    let plan = [
        at(FaultAction::MaterializerPause, 0.05, 0.1),
        at(FaultAction::ShardDown { shard: 1 }, 0.05, 10.0),
        at(stop, 0.05, 0.1),
    ];
    let sched = Scheduler::start(reach, &plan, Instant::now());
    assert!(!board.materializer_paused(), "not before at-s");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(board.materializer_paused(), "inside the window");
    assert!(board.blob_stopped(), "inside the window");
    assert!(board.shard_down(1) && !board.shard_down(0));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!board.materializer_paused(), "lifted after for-s");
    assert!(!board.blob_stopped(), "lifted after for-s");
    assert!(board.shard_down(1), "its window is still open");
    let reports = sched.finish().await;
    assert!(!board.shard_down(1), "finish lifts every switch");
    assert!(
        reports.iter().all(|r| *r == FaultReport::Nothing),
        "switches report nothing"
    );
}

#[tokio::test]
async fn a_burst_posts_as_the_top_author_and_damage_is_refused_on_one_replica() {
    let board = Faults::new(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let (reach, target) = reach(&board, dir.path());
    let damage = FaultAction::BlobOutage {
        how: BlobHow::DeleteReplica,
    };
    let plan = [
        at(FaultAction::CelebrityBurst { photos: 40 }, 0.02, 1.0),
        at(damage, 0.02, 1.0),
    ];
    let sched = Scheduler::start(reach, &plan, Instant::now());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reports = sched.finish().await;
    assert_eq!(target.0.load(std::sync::atomic::Ordering::Relaxed), 40);
    assert_eq!(reports[0].uploads(), 40, "the burst's uploads count");
    let burst = &reports[0].extra();
    assert_eq!(burst["author"], 1, "the most followed: {burst:?}");
    assert_eq!(burst["followers"], 7);
    assert_eq!(burst["photos_posted"], 40);
    assert!(burst["last_visible_s"].is_number(), "{burst:?}");
    let damage = &reports[1].extra();
    assert_eq!(damage["damaged"], 0, "{damage:?}");
    let error = damage["error"].as_str().unwrap_or("");
    assert!(error.contains("blob-replicas"), "{damage:?}");
}

#[test]
fn a_flash_crowd_is_a_read_surge_and_nothing_else_is() {
    let plan = [
        at(FaultAction::FlashCrowd { factor: 3.0 }, 2.0, 4.0),
        at(FaultAction::MaterializerPause, 1.0, 1.0),
    ];
    let surges = surges(&plan);
    assert_eq!(surges.len(), 1);
    assert_eq!(
        (surges[0].from, surges[0].to, surges[0].factor),
        (Duration::from_secs(2), Duration::from_secs(6), 3.0)
    );
}

#[test]
fn freshness_peaks_in_the_window_and_recovers_at_the_first_second_within_the_target() {
    let plan = [at(FaultAction::MaterializerPause, 2.0, 2.0)];
    let mut out = vec![FaultOutcome::default()];
    // Uploads of seconds 2-3 wait for the pause; those of 4-5 for the backlog behind it.
    let fresh = [
        (1, 300.0),
        (2, 2_500.0),
        (3, 1_800.0),
        (4, 6_000.0),
        (5, 5_200.0),
        (6, 900.0),
        (7, 400.0),
    ];
    add_freshness(&mut out, &plan, &fresh, 5_000.0);
    assert_eq!(out[0].peak_freshness_p99_ms, Some(2_500.0));
    assert_eq!(out[0].freshness_recovery_s, Some(2.0));
    add_freshness(&mut out, &plan, &fresh[..5], 5_000.0);
    assert_eq!(
        out[0].freshness_recovery_s, None,
        "never back within the run"
    );
}
