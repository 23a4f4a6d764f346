//! What the summary reads from a series: the peak p99 inside the window only, the failures
//! inside it only, and recovery at the first second back under the target with its goodput,
//! or none; and the scheduler sets and lifts switches on time.

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

#[tokio::test]
async fn the_scheduler_sets_and_lifts_on_the_clock_and_stop_lifts_all() {
    let board = Faults::new(2);
    let plan = [
        Fault {
            action: FaultAction::MaterializerPause,
            at_s: 0.05,
            for_s: 0.1,
        },
        Fault {
            action: FaultAction::ShardDown { shard: 1 },
            at_s: 0.05,
            for_s: 10.0,
        },
    ];
    let sched = Scheduler::start(board.clone(), &plan, Instant::now());
    assert!(!board.materializer_paused(), "not before at-s");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(board.materializer_paused(), "inside the window");
    assert!(board.shard_down(1) && !board.shard_down(0));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!board.materializer_paused(), "lifted after for-s");
    assert!(board.shard_down(1), "its window is still open");
    sched.stop();
    assert!(!board.shard_down(1), "stop lifts every switch");
}
