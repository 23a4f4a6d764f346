//! The hybrid threshold a live run (or a simulation of the scaled population) applies.
//!
//! `system.fanout.hybrid-threshold` counts followers at full scale, as in `plan` and in `sim` at
//! full scale. A run over the scaled population applies the live follower count that pulls the
//! same share of follower edges (`feedlab_workload::threshold`); the summary reports both
//! thresholds and the shares of authors and of follower edges each pulls ([`shares`]).

use anyhow::Context;
use feedlab_sim::model::{PopulationMode, Source};
use feedlab_system::policy::FanoutConfig;
use feedlab_workload::scaled;
use feedlab_workload::threshold::{ThresholdMap, map_threshold};

use crate::spec::RunSpec;
use crate::summary::HybridShares;

/// The fan-out config a live service of `spec` runs with: the spec's, with the hybrid threshold
/// mapped to the live graph (built here from the run's seed; the run builds the same graph again).
pub async fn live_fanout(spec: &RunSpec) -> anyhow::Result<FanoutConfig> {
    let (pop_cfg, seed) = (spec.population.clone(), spec.seed);
    let mut fanout = spec.system.fanout.clone();
    let full = fanout.hybrid_threshold;
    fanout.hybrid_threshold = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let graph = scaled(&pop_cfg, seed)?;
        let index = graph.follower_index();
        let degrees: Vec<u64> = (0..graph.users()).map(|u| index.in_degree(u)).collect();
        Ok(map_threshold(graph.population(), &degrees, full).live_threshold)
    })
    .await
    .context("mapping the hybrid threshold")??;
    Ok(fanout)
}

/// The fan-out config a simulation of `spec` runs with: mapped to the scaled graph (its exact
/// follower counts, from `source`) when it simulates the scaled population; the spec's at full
/// scale, where the threshold already means full-scale followers.
pub fn sim_fanout(spec: &RunSpec, source: &Source) -> FanoutConfig {
    let mut fanout = spec.system.fanout.clone();
    if spec.sim.population == PopulationMode::Scaled {
        let pop = source.population();
        let degrees: Vec<u64> = (0..pop.users())
            .map(|u| source.author_stats(u).followers)
            .collect();
        fanout.hybrid_threshold =
            map_threshold(pop, &degrees, fanout.hybrid_threshold).live_threshold;
    }
    fanout
}

/// The summary's `fanout.hybrid` section: both thresholds and what each pulls.
pub fn shares(map: &ThresholdMap) -> HybridShares {
    HybridShares {
        threshold: map.full_threshold,
        live_threshold: map.live_threshold,
        full_author_share: map.full_author_share,
        full_edge_share: map.full_edge_share,
        live_author_share: map.live_author_share,
        live_edge_share: map.live_edge_share,
        extra: Default::default(),
    }
}
