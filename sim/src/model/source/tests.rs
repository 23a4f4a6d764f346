//! Tests of [`Source`]: re-sharding a built source equals building it on the new shards.

use feedlab_system::policy::{
    FanoutConfig, FanoutKind, FanoutStrategy, Partitioner, PartitionerConfig, ShardingKind,
};
use feedlab_workload::{PopulationConfig, TrafficConfig, Workload};

use super::Source;
use crate::model::PopulationMode;

fn source(sharding: PartitionerConfig) -> Source {
    let population = PopulationConfig {
        users: 200_000,
        daily_active: 20_000,
        max_followers: 50_000,
        ..PopulationConfig::default()
    };
    let workload = Workload::full(&population, 7).expect("population");
    let strategy = FanoutStrategy::new(FanoutConfig {
        kind: FanoutKind::Hybrid,
        hybrid_threshold: 200,
        ..FanoutConfig::default()
    })
    .expect("strategy");
    let partitioner = Partitioner::new(sharding).expect("partitioner");
    let mut rng = crate::rng_stream(7, 10);
    Source::new(
        workload,
        PopulationMode::Full,
        &TrafficConfig::default(),
        strategy,
        partitioner,
        20_000,
        &mut rng,
    )
}

fn sharding(kind: ShardingKind, shards: usize) -> PartitionerConfig {
    PartitionerConfig {
        kind,
        shards,
        ..PartitionerConfig::default()
    }
}

#[test]
fn a_resharded_source_equals_one_built_on_the_new_shards() {
    let target = sharding(ShardingKind::Consistent, 7);
    let mut moved = source(sharding(ShardingKind::User, 4));
    let built = source(target.clone());
    assert_ne!(moved.user_cdf, built.user_cdf, "the two layouts differ");
    moved.set_partitioner(Partitioner::new(target.clone()).expect("partitioner"));
    assert_eq!(moved.partitioner().config(), &target);
    assert_eq!(moved.shards(), 7);
    assert_eq!(moved.user_cdf, built.user_cdf);
    assert_eq!(moved.pool, built.pool);
    assert_eq!(moved.categories, built.categories);
    let pulled: u64 = built.categories.as_ref().expect("categories")[1..]
        .iter()
        .step_by(2)
        .sum();
    assert!(pulled > 0, "the hybrid threshold pulls some leaders");
}
