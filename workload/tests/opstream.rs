//! Op-stream tests: reproducibility from its seed, rates and mix as configured, diurnal shape.

use std::time::Duration;

use feedlab_workload::{OpKind, Payload, PopulationConfig, TrafficConfig, Workload};

fn workload(seed: u64) -> Workload {
    Workload::scaled(&PopulationConfig::default(), seed).expect("valid population")
}

fn fast_traffic() -> TrafficConfig {
    TrafficConfig {
        speedup: 1_000.0,
        ..TrafficConfig::default()
    }
}

/// The same seed and configs give an identical stream (first 100k ops); another seed gives a
/// different one; a shorter duration gives a prefix.
#[test]
fn same_seed_gives_identical_op_stream() {
    let w = workload(42);
    let traffic = fast_traffic();
    let long = Duration::from_secs(3_600);
    let a: Vec<_> = w
        .ops(&traffic, 7, long)
        .expect("stream")
        .take(100_000)
        .collect();
    let b: Vec<_> = w
        .ops(&traffic, 7, long)
        .expect("stream")
        .take(100_000)
        .collect();
    assert_eq!(a.len(), 100_000, "stream long enough");
    assert!(a == b, "same seed, different streams");
    let c: Vec<_> = w
        .ops(&traffic, 8, long)
        .expect("stream")
        .take(100_000)
        .collect();
    assert!(a != c, "different seeds, same stream");
    let other_population = workload(43);
    let d: Vec<_> = other_population
        .ops(&traffic, 7, long)
        .expect("stream")
        .take(1_000)
        .collect();
    assert!(a[..1_000] != d[..], "different populations, same stream");
    // `at` is rounded to whole nanoseconds, so op 50,000 itself may or may not make the cut.
    let short_end = a[50_000].at;
    let short: Vec<_> = w.ops(&traffic, 7, short_end).expect("stream").collect();
    assert!(
        (50_000..=50_001).contains(&short.len()),
        "{} ops",
        short.len()
    );
    assert!(
        short[..] == a[..short.len()],
        "a shorter run is not a prefix"
    );
    assert!(
        a.windows(2)
            .all(|p| p[0].at <= p[1].at && p[1].seq == p[0].seq + 1)
    );
}

/// Over one model day the op count and the kind mix match the configured daily rates (times the
/// scale), and the peak hour is busier than the trough by about the configured factor.
#[test]
fn one_model_day_matches_daily_rates() {
    let w = workload(1);
    let traffic = fast_traffic();
    let day = Duration::from_secs_f64(86_400.0 / traffic.speedup);
    let ops: Vec<_> = w.ops(&traffic, 3, day).expect("stream").collect();
    let rates = traffic.daily_rates(w.graph().population());
    let total: f64 = rates.iter().sum();
    let n = ops.len() as f64;
    assert!(
        (n - total).abs() < 5.0 * total.sqrt(),
        "{n} ops vs {total} expected"
    );
    for kind in [
        OpKind::Feed,
        OpKind::PhotoGet,
        OpKind::Upload,
        OpKind::Search,
    ] {
        let got = ops.iter().filter(|o| o.kind == kind).count() as f64;
        let want = rates[kind.index()];
        assert!(
            (got - want).abs() < 5.0 * want.sqrt() + 2.0,
            "{kind:?}: {got} vs {want}"
        );
    }
    // Peak at 20:00 (run starts there): first model hour vs the hour 12 h later.
    let hour = day.as_secs_f64() / 24.0;
    let count_in = |from: f64| {
        ops.iter()
            .filter(|o| (from..from + hour).contains(&o.at.as_secs_f64()))
            .count() as f64
    };
    let (near_peak, near_trough) = (count_in(0.0), count_in(11.5 * hour));
    assert!(
        near_peak > 8.0 * near_trough.max(1.0),
        "peak {near_peak}, trough {near_trough}"
    );
    let actives: std::collections::HashSet<u64> =
        w.actors().ids().iter().map(|&u| u64::from(u)).collect();
    assert!(ops.iter().all(|o| actives.contains(&o.user)));
}

/// Upload payloads respect the size limits and video fraction; follows never target the actor.
#[test]
fn payloads_respect_limits() {
    let w = workload(5);
    let traffic = TrafficConfig {
        speedup: 20_000.0,
        video_fraction: 0.2,
        ..TrafficConfig::default()
    };
    let ops: Vec<_> = w
        .ops(&traffic, 9, Duration::from_secs(10))
        .expect("stream")
        .collect();
    let mut uploads = 0;
    let mut videos = 0;
    for op in &ops {
        match &op.payload {
            Payload::Upload(u) => {
                uploads += 1;
                videos += usize::from(u.video);
                let max = if u.video {
                    traffic.video_max_bytes
                } else {
                    traffic.photo_max_bytes
                };
                assert!(u.bytes >= traffic.photo_min_bytes && u.bytes <= max);
                let words = u.title.split(' ').count() as u32;
                assert!(words >= 1 && words <= traffic.title_max_words);
            }
            Payload::Follow { leader } => assert_ne!(*leader, op.user),
            Payload::Search { query, .. } => assert!(!query.is_empty()),
            _ => {}
        }
    }
    assert!(uploads > 200, "{uploads} uploads");
    let frac = videos as f64 / uploads as f64;
    assert!((frac - 0.2).abs() < 0.08, "video fraction {frac}");
}
