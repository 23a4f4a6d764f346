//! The photo-row cache of a scaled model: its keys are the photos the live run's authors
//! hold. A live run seeds `history-photos-per-user` photos per author into a fresh service
//! whose cache starts empty, and a feed asks for photos that exist, so a scaled twin's cache
//! misses each photo once, as the live service's does; keys ranked past an author's photos
//! would be rows no live feed can ask for.

use feedlab_system::policy::{FanoutConfig, FanoutKind, FanoutStrategy, Partitioner};
use feedlab_workload::{PopulationConfig, TrafficConfig, Workload};

use crate::dist::DistSpec;
use crate::model::{Calibration, ModelReport, PopulationMode, RunParams, SimSettings, Source};

/// A push run of 4 seconds over 2,000 live users, each holding `photos` photos when known.
fn run(photos: Option<f64>) -> ModelReport {
    let population = PopulationConfig {
        users: 200_000_000,
        daily_active: 20_000_000,
        scale: 0.00001,
        ..PopulationConfig::default()
    };
    let traffic = TrafficConfig {
        uploads_per_day: 2_000_000.0,
        views_per_feed: 2.0,
        speedup: 2_000.0,
        diurnal_peak: 1.0,
        ..TrafficConfig::default()
    };
    let workload = Workload::scaled(&population, 5).expect("population");
    let fanout = FanoutConfig {
        kind: FanoutKind::Push,
        ..FanoutConfig::default()
    };
    let strategy = FanoutStrategy::new(fanout.clone()).expect("strategy");
    let partitioner = Partitioner::new(Default::default()).expect("partitioner");
    let mut rng = crate::rng_stream(5, 10);
    let mut src = Source::new(
        workload,
        PopulationMode::Scaled,
        &traffic,
        strategy,
        partitioner,
        0,
        &mut rng,
    );
    let settings = SimSettings {
        network: DistSpec::Deterministic { ms: 0.0 },
        ..SimSettings::default()
    };
    let p = RunParams {
        seed: 5,
        duration_s: 4.0,
        traffic: &traffic,
        fanout: &fanout,
        settings: &settings,
        calibration: &Calibration::builtin(),
        photos_per_author: photos,
        pull_cache: None,
        faults: &[],
        view_bytes: None,
    };
    crate::model::simulate(&mut src, &p).expect("simulated")
}

fn hit_ratio(r: &ModelReport) -> f64 {
    r.cache_hits as f64 / r.cache_lookups.max(1) as f64
}

/// Storage calls per feed.
fn feed_calls(r: &ModelReport) -> f64 {
    let w = r.work.iter().find(|(k, _)| k == "feed").expect("feeds").1;
    w.shard as f64 / w.ops.max(1) as f64
}

#[test]
fn a_scaled_cache_starts_empty_and_misses_each_photo_an_author_holds_once() {
    let misses = |r: &ModelReport| r.cache_lookups - r.cache_hits;
    let (one, three) = (run(Some(1.0)), run(Some(3.0)));
    let (m1, m3) = (misses(&one), misses(&three));
    // 2,000 authors; a fresh service's cache fills as the first feeds ask.
    assert!((500..=2_000).contains(&m1), "{m1} misses, one photo each");
    assert!(m3 > m1 && m3 <= 6_000, "{m3} misses, three photos each");
    // Without the history's size, the LRU is warmed to its steady state first.
    let open = run(None);
    assert!(
        hit_ratio(&open) > hit_ratio(&one),
        "warmed {}",
        hit_ratio(&open)
    );
    // A push feed reads its timeline, plus a batch-get per shard with a miss.
    let (c1, c3) = (feed_calls(&one), feed_calls(&three));
    assert!(c1 < c3, "{c1} against {c3} storage calls a feed");
}
