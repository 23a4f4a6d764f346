//! The photo-service model: the reference service's architecture as queues,
//! driven by the workload model at full scale (or the live sub-population).
//!
//! Components (see `state` and `flows`):
//! - read and write app servers, each a [`crate::ConnPool`] of `connections`
//!   with a bounded backlog (overflow is counted as dropped);
//! - shard servers, each a [`crate::Station`] of `shard-workers` with a FIFO
//!   queue; placement by the service's [`Partitioner`];
//! - the blob store (a station of `blob-workers`);
//! - network hops (a latency distribution, one per direction);
//! - a photo-row cache (simulated LRU or fixed ratio);
//! - the fan-out materializer: FIFO jobs of one upload × one shard, worker
//!   count and a throughput limit in entries per second.
//!
//! Service times come from a [`Calibration`]. Event count stays bounded: a
//! feed read costs one job per shard it touches, and an upload by an author
//! with a million followers costs one materializer job per shard.
//!
//! [`Source::new`] builds the expensive part (the population's sampler and
//! leader pool) once; [`simulate`] runs one variant over it.

mod build;
mod cache;
#[cfg(test)]
mod cache_tests;
mod calib;
mod client;
mod config;
mod cpufall;
mod deployment;
mod fanout;
mod faultflows;
mod faults;
mod flows;
mod nodes;
mod phases;
mod pullcache;
mod report;
mod resources;
mod rise;
mod series;
#[cfg(test)]
mod sized_tests;
mod source;
mod state;
mod transportcpu;
mod views;
mod wake;

use feedlab_system::policy::{FanoutConfig, FanoutStrategy};
use feedlab_workload::{OpKind, TrafficConfig};

pub use calib::{CalibOp, Calibration, CpuShare, OP_KINDS, OpCost, Provenance, default_cpu_share};
pub use config::{
    CacheKind, CacheSettings, Deployment, Layout, PopulationMode, QueueSettings, ShardCalls,
    SimSettings,
};
pub use cpufall::{CROWD_CAP, CpuFall, FallCurve};
pub use faults::{BURST_AT_ONCE, Effect, FaultWindow};
pub use pullcache::PullCacheParams;
pub use report::{ModelReport, ResourceReport, ShardReport, Snapshot, WorkCount};
pub use rise::{KindRise, TransportRise};
pub use series::FreshPoint;
pub use source::{FeedShape, Source};
pub use transportcpu::cpu_cap;
pub use wake::{BurstP50, TransportWake};

use state::{Ev, PhotoModel};

use crate::engine::{Engine, from_secs, ns, to_secs};
use crate::error::{Result, invalid};

/// One variant's run parameters.
#[derive(Debug, Clone)]
pub struct RunParams<'a> {
    /// Seed of every random choice.
    pub seed: u64,
    /// Model seconds of arrivals (wall seconds of the op stream).
    pub duration_s: f64,
    /// The traffic (rates, speedup, feed limit).
    pub traffic: &'a TrafficConfig,
    /// The fan-out strategy of this variant.
    pub fanout: &'a FanoutConfig,
    /// `[sim]`.
    pub settings: &'a SimSettings,
    /// Service times.
    pub calibration: &'a Calibration,
    /// Photos every author holds when the run starts, when known (a live
    /// run's seeded history, `driver.history-photos-per-user`, for the
    /// scaled population). A pulled followee's scan returns at most this
    /// many rows and adds as many candidates to the merge. `None`: every
    /// author has at least a feed page (a population in steady state).
    pub photos_per_author: Option<f64>,
    /// The service's pull cache, modelled where followees are individual (see
    /// [`PullCacheParams`]); `None`: every feed read goes to the stores.
    pub pull_cache: Option<PullCacheParams>,
    /// Fault windows on the model clock (see [`FaultWindow`]); empty: none.
    pub faults: &'a [FaultWindow],
    /// A photo view reads at most this many bytes of its file (the driver's `view-bytes`);
    /// `None`: whole files. Each view's file is drawn from the traffic's size mix.
    pub view_bytes: Option<u64>,
}

/// Run the photo model for one variant over `source` (whose strategy is
/// replaced by `params.fanout`). Deterministic in its inputs.
pub fn simulate(source: &mut Source, p: &RunParams<'_>) -> Result<ModelReport> {
    p.settings.validate()?;
    let strategy =
        FanoutStrategy::new(p.fanout.clone()).map_err(|e| invalid("fanout", e.to_string()))?;
    source.set_strategy(strategy);
    let (mut m, first) = build::model(source, p)?;
    let mut engine = Engine::with_capacity(1 << 16);
    if let Some(op) = first {
        engine.schedule_at(ns(op.at.as_nanos() as f64), Ev::NextOp);
        m.next = Some(op);
    }
    if m.warmup > 0 {
        engine.schedule_at(m.warmup, Ev::Warmup);
    }
    m.schedule_faults(&mut engine);
    let end = from_secs(p.duration_s);
    engine.schedule_at(end, Ev::Snapshot);
    let drain = end.saturating_add(from_secs((10.0 * p.duration_s).max(3_600.0)));
    engine.run(&mut m, drain);
    let snapshot = m
        .snapshot
        .take()
        .unwrap_or_else(|| m.take_snapshot(engine.now()));
    Ok(report(&m, snapshot, &engine))
}

/// The report of a finished run: per-kind latency, drops and work counts,
/// freshness, the cache and fan-out counters, and the snapshot taken at the
/// end of arrivals (`snapshot`).
fn report(m: &PhotoModel<'_>, snapshot: Snapshot, engine: &Engine<Ev>) -> ModelReport {
    let ops = OpKind::ALL
        .iter()
        .map(|k| {
            let ks = &m.kinds[k.index()];
            let rec = feedlab_workload::LatencyRecord {
                errors: ks.errors,
                shed: ks.shed,
                ..report::latency_of(&ks.latency, ks.dropped)
            };
            (k.name().to_string(), rec)
        })
        .collect();
    let work = OpKind::ALL
        .iter()
        .map(|k| (k.name().to_string(), m.kinds[k.index()].calls))
        .collect();
    ModelReport {
        ops,
        work,
        freshness: report::latency_of(&m.freshness, 0),
        timeline_writes: m.timeline_writes,
        uploads: m.uploads,
        fanout_pending: m.mat.fresh.open_count() as u64,
        cache_lookups: m.cache_lookups,
        cache_hits: m.cache_hits,
        snapshot,
        series: m.series.points(),
        freshness_series: m.series.freshness(),
        events: engine.processed(),
        end_s: to_secs(engine.now()),
    }
}
