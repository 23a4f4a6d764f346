//! The collector's summaries, per-code counts and per-second series.

use super::*;

#[test]
fn summaries_and_series_reflect_records() {
    let mut c = Collector::new();
    for i in 0..100u64 {
        c.ok(
            OpKind::Feed,
            Duration::from_millis(i * 10),
            Duration::from_millis(i + 1),
        );
    }
    c.error(
        OpKind::Feed,
        Duration::from_millis(5),
        "http_500",
        "internal",
    );
    c.error(
        OpKind::Feed,
        Duration::from_millis(6),
        SHED_CODE,
        "unavailable",
    );
    c.fresh(Duration::from_millis(1_200), Duration::from_millis(40));
    c.fresh(Duration::from_millis(1_900), Duration::from_millis(80));
    c.dropped(OpKind::Upload, Duration::from_millis(1_500));
    c.compact(1_000);
    // A late completion for a frozen second still counts.
    c.ok(
        OpKind::Feed,
        Duration::from_millis(20),
        Duration::from_secs(3),
    );
    let stats = c.finish(Duration::from_secs(2));
    let s = stats.summary(OpKind::Feed);
    assert_eq!((s.count, s.errors, s.dropped, s.shed), (101, 1, 0, 1));
    assert!((s.rate_per_s - 50.5).abs() < 1e-9);
    assert!((s.p50_ms - 51.0).abs() < 0.1, "{s:?}");
    assert!((s.max_ms - 3_000.0).abs() < 3.0, "{s:?}");
    assert_eq!(stats.summary(OpKind::Upload).dropped, 1);
    let codes: Vec<_> = s
        .failure_codes
        .iter()
        .map(|(c, n)| (c.as_str(), *n))
        .collect();
    assert_eq!(codes, [("internal", 1), ("unavailable", 1)]);
    assert_eq!(s.error_codes.len(), 1, "shed stays out of the error codes");
    let fresh = stats.freshness_series();
    assert_eq!((fresh.len(), fresh[0].second, fresh[0].visible), (1, 1, 2));
    assert!((fresh[0].p99_ms - 80.0).abs() < 1.0, "{fresh:?}");
    let feed_points: Vec<_> = stats
        .series()
        .iter()
        .filter(|p| p.kind == OpKind::Feed)
        .collect();
    assert_eq!(feed_points.len(), 1);
    assert_eq!(
        (
            feed_points[0].count,
            feed_points[0].errors,
            feed_points[0].shed
        ),
        (101, 1, 1)
    );
    assert!(
        (feed_points[0].p99_ms - 100.0).abs() < 2.0,
        "{:?}",
        feed_points[0]
    );
    assert_eq!(stats.ops_summary().len(), OpKind::COUNT);
    assert!(
        serde_json::to_value(s).expect("json")["p999_ms"]
            .as_f64()
            .is_some()
    );
}

#[test]
fn freshness_per_second_freezes_with_the_series_and_late_probes_only_count() {
    let mut c = Collector::new();
    for (at_ms, ms) in [(0, 10), (300, 20), (900, 500), (1_100, 30)] {
        c.fresh(Duration::from_millis(at_ms), Duration::from_millis(ms));
    }
    c.compact(SERIES_WINDOW_SECS + 1);
    // Second 0 is frozen now: a late probe adds to its count, not to its p99.
    c.fresh(Duration::from_millis(500), Duration::from_secs(9));
    let stats = c.finish(Duration::from_secs(2));
    let fresh = stats.freshness_series();
    assert_eq!(fresh.len(), 2, "{fresh:?}");
    assert_eq!((fresh[0].second, fresh[0].visible), (0, 4));
    assert!((fresh[0].p99_ms - 500.0).abs() < 5.0, "{fresh:?}");
    assert_eq!((fresh[1].second, fresh[1].visible), (1, 1));
    assert_eq!(stats.freshness_summary().visible, 5);
}

#[test]
fn failures_count_by_reason_for_every_kind_and_shed() {
    let mut c = Collector::new();
    let at = Duration::from_millis(100);
    c.error(OpKind::Upload, at, SHED_CODE, "overloaded");
    c.error(OpKind::Upload, at, SHED_CODE, "unavailable");
    c.error(OpKind::Upload, at, "timeout", "timeout");
    c.error(OpKind::Search, at, "http_404", "not_found");
    let stats = c.finish(Duration::from_secs(1));
    let up = stats.summary(OpKind::Upload);
    assert_eq!((up.errors, up.shed), (1, 2));
    let codes: Vec<_> = up.failure_codes.keys().map(String::as_str).collect();
    assert_eq!(codes, ["overloaded", "timeout", "unavailable"]);
    let search = stats.summary(OpKind::Search);
    assert_eq!(search.failure_codes.get("not_found"), Some(&1));
    assert!(stats.summary(OpKind::Feed).failure_codes.is_empty());
}
