//! Each fault kind's effect on a small photo model, on the simulated clock: a run with the
//! window against the same run (seed, population, op stream) without it.

use feedlab_system::policy::{
    FanoutConfig, FanoutKind, FanoutStrategy, Partitioner, PartitionerConfig,
};
use feedlab_workload::{OpKind, PopulationConfig, SecondPoint, TrafficConfig, Workload};

use super::{Effect, FaultWindow};
use crate::dist::DistSpec;
use crate::model::{
    CacheKind, Calibration, ModelReport, PopulationMode, RunParams, SimSettings, Source, simulate,
};

/// Model seconds of every run; windows sit in its middle.
const SECONDS: f64 = 16.0;

fn source(shards: usize) -> Source {
    let population = PopulationConfig {
        users: 200_000,
        daily_active: 20_000,
        max_followers: 20_000,
        ..PopulationConfig::default()
    };
    let workload = Workload::full(&population, 7).expect("population");
    let strategy = FanoutStrategy::new(FanoutConfig::default()).expect("strategy");
    let sharding = PartitionerConfig {
        shards,
        ..PartitionerConfig::default()
    };
    let partitioner = Partitioner::new(sharding).expect("partitioner");
    let mut rng = crate::rng_stream(7, 10);
    Source::new(
        workload,
        PopulationMode::Full,
        &traffic(),
        strategy,
        partitioner,
        20_000,
        &mut rng,
    )
}

fn traffic() -> TrafficConfig {
    TrafficConfig {
        uploads_per_day: 200_000.0,
        views_per_feed: 2.0,
        speedup: 40.0,
        diurnal_peak: 1.0,
        ..TrafficConfig::default()
    }
}

/// One run of `shards` shards of ample workers, fan-out `kind`, under `faults`.
fn run(shards: usize, kind: FanoutKind, faults: &[FaultWindow]) -> ModelReport {
    run_on(shards, kind, faults, 512)
}

/// [`run`] with `workers` per shard.
fn run_on(shards: usize, kind: FanoutKind, faults: &[FaultWindow], workers: u32) -> ModelReport {
    run_calibrated(shards, kind, faults, workers, &Calibration::builtin())
}

/// [`run_on`] priced by `cal`.
pub(crate) fn run_calibrated(
    shards: usize,
    kind: FanoutKind,
    faults: &[FaultWindow],
    workers: u32,
    cal: &Calibration,
) -> ModelReport {
    run_viewing(shards, kind, faults, workers, cal, None)
}

/// [`run_calibrated`] with each view reading at most `view_bytes` (`None`: whole files).
pub(crate) fn run_viewing(
    shards: usize,
    kind: FanoutKind,
    faults: &[FaultWindow],
    workers: u32,
    cal: &Calibration,
    view_bytes: Option<u64>,
) -> ModelReport {
    let mut src = source(shards);
    let settings = SimSettings {
        shard_workers: workers,
        network: DistSpec::Deterministic { ms: 0.0 },
        cache: crate::model::CacheSettings {
            kind: CacheKind::Fixed,
            ..Default::default()
        },
        ..SimSettings::default()
    };
    let fanout = FanoutConfig {
        kind,
        hybrid_threshold: 1_000,
        ..FanoutConfig::default()
    };
    let traffic = traffic();
    let p = RunParams {
        seed: 3,
        duration_s: SECONDS,
        traffic: &traffic,
        fanout: &fanout,
        settings: &settings,
        calibration: cal,
        photos_per_author: None,
        pull_cache: None,
        faults,
        view_bytes,
    };
    simulate(&mut src, &p).expect("simulated")
}

fn window(effect: Effect, at_s: f64, for_s: f64) -> FaultWindow {
    FaultWindow {
        effect,
        at_s,
        for_s,
    }
}

/// The points of `kind` whose second is in `secs`.
fn points(r: &ModelReport, kind: OpKind, secs: std::ops::Range<u64>) -> Vec<SecondPoint> {
    r.series
        .iter()
        .filter(|p| p.kind == kind && secs.contains(&p.second))
        .copied()
        .collect()
}

/// Mean of the per-second p50 of `kind` over `secs`, ms.
fn p50(r: &ModelReport, kind: OpKind, secs: std::ops::Range<u64>) -> f64 {
    let pts = points(r, kind, secs);
    assert!(!pts.is_empty(), "no {kind:?} points");
    pts.iter().map(|p| p.p50_ms).sum::<f64>() / pts.len() as f64
}

fn sum(
    r: &ModelReport,
    kind: OpKind,
    secs: std::ops::Range<u64>,
    f: fn(&SecondPoint) -> u64,
) -> u64 {
    points(r, kind, secs).iter().map(f).sum()
}

#[test]
fn a_slow_shard_adds_its_delay_to_calls_on_it_and_only_in_the_window() {
    let base = run(1, FanoutKind::Push, &[]);
    let slow = run(
        1,
        FanoutKind::Push,
        &[window(
            Effect::SlowShard {
                shard: 0,
                extra_ms: 50.0,
            },
            5.0,
            5.0,
        )],
    );
    // A photo view makes one call on the (only) shard: +50 ms.
    let (b, s) = (
        p50(&base, OpKind::PhotoGet, 5..10),
        p50(&slow, OpKind::PhotoGet, 5..10),
    );
    assert!(
        (s - b - 50.0).abs() < 5.0,
        "photo_get p50 {b} -> {s} in the window"
    );
    let (b, s) = (
        p50(&base, OpKind::PhotoGet, 11..16),
        p50(&slow, OpKind::PhotoGet, 11..16),
    );
    assert!(
        (s - b).abs() < 2.0,
        "photo_get p50 {b} -> {s} after the window"
    );
    assert!(p50(&slow, OpKind::Feed, 5..10) > p50(&base, OpKind::Feed, 5..10) + 50.0);
}

#[test]
fn a_slow_shard_holds_its_workers_so_too_few_of_them_queue() {
    // 16 workers hold 50 ms calls: at most 320 calls/s, fewer than arrive; the queue grows
    // through the window and drains after it.
    let slow = [window(
        Effect::SlowShard {
            shard: 0,
            extra_ms: 50.0,
        },
        5.0,
        3.0,
    )];
    let r = run_on(1, FanoutKind::Push, &slow, 16);
    let p99 = |s: u64| points(&r, OpKind::PhotoGet, s..s + 1)[0].p99_ms;
    assert!(
        p99(7) > p99(5) + 500.0,
        "the queue grows: {} then {}",
        p99(5),
        p99(7)
    );
    assert!(p99(2) < 50.0, "before: {}", p99(2));
    assert!(p99(15) < 50.0, "drained: {}", p99(15));
}

#[test]
fn a_down_shard_sheds_the_ops_that_need_it_only_in_its_window() {
    let down = run(
        2,
        FanoutKind::Push,
        &[window(Effect::ShardDown { shard: 1 }, 5.0, 3.0)],
    );
    let shed = |k, secs| sum(&down, k, secs, |p| p.shed);
    assert!(shed(OpKind::Feed, 5..8) > 0);
    // A search reads every shard: none completes in the window.
    assert_eq!(sum(&down, OpKind::Search, 5..8, |p| p.count), 0);
    assert!(shed(OpKind::Search, 5..8) > 0);
    // An op due in second 4 may reach the shard after 5 s; none due before or after may.
    for k in OpKind::ALL {
        assert_eq!(
            shed(k, 0..4) + shed(k, 8..16),
            0,
            "{k:?} shed outside the window"
        );
    }
    let shed_total: u64 = OpKind::ALL.iter().map(|&k| shed(k, 0..16)).sum();
    let reported: u64 = down.ops.iter().map(|(_, l)| l.shed).sum();
    assert_eq!(shed_total, reported, "series and ops agree");
}

#[test]
fn a_materializer_pause_holds_freshness_then_it_recovers() {
    let r = run(
        2,
        FanoutKind::Push,
        &[window(Effect::MaterializerPause, 4.0, 4.0)],
    );
    let at = |s: u64| {
        r.freshness_series
            .iter()
            .find(|p| p.second == s)
            .expect("second")
    };
    assert!(at(2).p99_ms < 500.0, "before: {:?}", at(2));
    // An upload acknowledged in second 5 waits for the end of the pause at 8 s.
    assert!(
        at(5).p50_ms > 2_000.0 && at(5).p99_ms < 3_500.0,
        "{:?}",
        at(5)
    );
    assert!(
        at(7).backlog > at(3).backlog,
        "the backlog grows while paused"
    );
    assert!(
        at(12).p99_ms < 500.0 && at(12).count > 0,
        "recovered: {:?}",
        at(12)
    );
    assert_eq!(r.fanout_pending, 0);
}

#[test]
fn network_delay_is_added_to_every_hop_in_the_window() {
    let base = run(1, FanoutKind::Push, &[]);
    let slow = run(
        1,
        FanoutKind::Push,
        &[window(Effect::Network { extra_ms: 10.0 }, 5.0, 5.0)],
    );
    // A photo view: a shard call and a blob call, two hops each.
    let (b, s) = (
        p50(&base, OpKind::PhotoGet, 5..10),
        p50(&slow, OpKind::PhotoGet, 5..10),
    );
    assert!((s - b - 40.0).abs() < 5.0, "photo_get p50 {b} -> {s}");
}

#[test]
fn a_stopped_blob_store_fails_photo_reads_and_uploads_in_its_window() {
    let r = run(2, FanoutKind::Push, &[window(Effect::BlobStop, 5.0, 3.0)]);
    for k in [OpKind::PhotoGet, OpKind::Upload] {
        assert_eq!(sum(&r, k, 5..8, |p| p.count), 0, "{k:?} completed");
        assert!(sum(&r, k, 5..8, |p| p.errors) > 0, "{k:?} failed");
        assert_eq!(
            sum(&r, k, 0..5, |p| p.errors) + sum(&r, k, 8..16, |p| p.errors),
            0
        );
    }
    assert_eq!(
        sum(&r, OpKind::Feed, 0..16, |p| p.errors),
        0,
        "feeds need no blob"
    );
    let base = run(2, FanoutKind::Push, &[]);
    let replica = run(
        2,
        FanoutKind::Push,
        &[window(Effect::BlobReplica, 5.0, 3.0)],
    );
    // A photo view is a row get and a blob read; the fallback adds a second blob read.
    let (b, f) = (
        p50(&base, OpKind::PhotoGet, 5..8),
        p50(&replica, OpKind::PhotoGet, 5..8),
    );
    assert!(f > 1.3 * b, "photo_get p50 {b} -> {f} in the window");
    let (b, f) = (
        p50(&base, OpKind::PhotoGet, 9..16),
        p50(&replica, OpKind::PhotoGet, 9..16),
    );
    assert!(
        (f / b - 1.0).abs() < 0.05,
        "photo_get p50 {b} -> {f} after the window"
    );
}

#[test]
fn bad_windows_are_refused_naming_the_entry() {
    let bad = [
        window(Effect::ShardDown { shard: 2 }, 1.0, 1.0),
        window(Effect::FlashCrowd { factor: 1.0 }, 1.0, 1.0),
        window(Effect::MaterializerPause, 1.0, 0.0),
    ];
    for w in bad {
        let e = super::Faults::new(&[window(Effect::MaterializerPause, 0.0, 1.0), w], 2)
            .expect_err("refused");
        assert!(e.to_string().contains("faults[1]"), "{e}");
    }
}

mod arrivals;
