//! A surge multiplies reads (feeds and photo views) inside its window by about its factor,
//! leaves every other kind and every base op alone, and is reproducible from its seed.

use super::*;
use crate::{PopulationConfig, TrafficConfig, Workload};

fn workload() -> Workload {
    let config = PopulationConfig {
        users: 3_000_000,
        daily_active: 1_000_000,
        mean_followees: 20.0,
        scale: 0.001,
        ..PopulationConfig::default()
    };
    Workload::scaled(&config, 5).expect("valid population")
}

fn traffic() -> TrafficConfig {
    TrafficConfig {
        speedup: 300.0,
        diurnal_peak: 1.0,
        ..TrafficConfig::default()
    }
}

const SURGE: ReadSurge = ReadSurge {
    from: Duration::from_secs(20),
    to: Duration::from_secs(40),
    factor: 4.0,
};

fn count(ops: &[PlannedOp], kinds: &[OpKind], from: u64, to: u64) -> usize {
    let range = Duration::from_secs(from)..Duration::from_secs(to);
    ops.iter()
        .filter(|o| kinds.contains(&o.kind) && range.contains(&o.at))
        .count()
}

#[test]
fn reads_in_the_window_arrive_factor_times_as_fast_and_nothing_else_changes() {
    let w = workload();
    let t = traffic();
    let run = Duration::from_secs(60);
    let base: Vec<PlannedOp> = w.ops(&t, 3, run).expect("stream").collect();
    let surged: Vec<PlannedOp> = w
        .ops(&t, 3, run)
        .expect("stream")
        .with_read_surges(&[SURGE], 3)
        .collect();
    let reads = [OpKind::Feed, OpKind::PhotoGet];
    // 20 s of reads at the usual rate, before and after: the window has about 4x as many.
    let outside = count(&surged, &reads, 0, 20) + count(&surged, &reads, 40, 60);
    let inside = count(&surged, &reads, 20, 40);
    let ratio = inside as f64 / (outside as f64 / 2.0);
    assert!(outside > 1_000, "enough reads to judge: {outside}");
    assert!(
        (3.6..4.4).contains(&ratio),
        "reads x{ratio:.2} in the window"
    );
    let others = [OpKind::Upload, OpKind::Search, OpKind::Follow];
    assert_eq!(
        count(&surged, &others, 0, 60),
        count(&base, &others, 0, 60),
        "only reads are added"
    );
    let kept: Vec<&PlannedOp> = surged.iter().filter(|o| o.seq < SURGE_SEQ).collect();
    assert!(
        kept.iter().copied().eq(base.iter()),
        "the base ops are unchanged"
    );
    assert!(
        surged.windows(2).all(|p| p[0].at <= p[1].at),
        "in time order"
    );
    let extra = surged.iter().filter(|o| o.seq >= SURGE_SEQ);
    assert!(extra.clone().all(|o| SURGE.from <= o.at && o.at < SURGE.to));
    assert!(extra.clone().any(|o| o.kind == OpKind::Feed));
    assert!(extra.clone().any(|o| o.kind == OpKind::PhotoGet));
}

#[test]
fn a_surge_is_reproducible_from_its_seed_and_a_factor_of_one_adds_nothing() {
    let w = workload();
    let t = traffic();
    let run = Duration::from_secs(30);
    let surged = |seed| -> Vec<PlannedOp> {
        w.ops(&t, 3, run)
            .expect("stream")
            .with_read_surges(&[SURGE], seed)
            .collect()
    };
    assert!(surged(9) == surged(9), "same seed, same stream");
    assert!(surged(9) != surged(10), "another seed, other extra reads");
    let flat = ReadSurge {
        factor: 1.0,
        ..SURGE
    };
    let base: Vec<PlannedOp> = w.ops(&t, 3, run).expect("stream").collect();
    let same: Vec<PlannedOp> = w
        .ops(&t, 3, run)
        .expect("stream")
        .with_read_surges(&[flat], 9)
        .collect();
    assert!(base == same);
}
