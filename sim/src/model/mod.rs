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

mod calib;
mod config;
mod fanout;
mod flows;
mod nodes;
mod phases;
mod report;
mod resources;
mod source;
mod state;

use std::collections::VecDeque;

use feedlab_system::policy::{FanoutConfig, FanoutStrategy};
use feedlab_workload::{OpKind, TrafficConfig};
use lru::LruCache;

pub use calib::{CalibOp, Calibration, CpuShare, OP_KINDS, OpCost, Provenance, default_cpu_share};
pub use config::{
    CacheKind, CacheSettings, Deployment, Layout, PopulationMode, QueueSettings, ShardCalls,
    SimSettings,
};
pub use report::{
    CURVE, LatencyReport, ModelReport, ResourceReport, ShardReport, Snapshot, WorkCount,
};
pub use source::{FeedShape, Source};

use resources::Priced;
use resources::Resources;
use state::{Cache, Costs, Ev, KindStats, Mat, PhotoModel, Rngs};

use crate::engine::{Engine, NANOS_PER_SEC, from_secs, ns, rng_stream, to_secs};
use crate::error::{Result, invalid};
use crate::join::Joins;
use crate::station::{ConnPool, QueueLimit, Station};
use crate::stats::{DelayStats, TimeAverage};

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
}

/// `op`'s cost and CPU share; `io` and `net` bytes per unit of size.
fn priced(cal: &Calibration, s: &SimSettings, op: &str, io: u32, net: u32) -> Result<Priced> {
    Ok(Priced {
        cost: cal.cost(op, &s.service)?,
        share: cal.cpu_share(op),
        io_per_n: io,
        net_per_n: net,
    })
}

/// The in-situ app-step costs (`app-<op kind>`) the calibration or the overrides have.
fn app_costs(cal: &Calibration, s: &SimSettings) -> Result<[Option<Priced>; OpKind::COUNT]> {
    let mut out: [Option<Priced>; OpKind::COUNT] = Default::default();
    for kind in OpKind::ALL {
        let op = format!("app-{}", kind.name());
        if s.service.contains_key(&op) || cal.ops.iter().any(|c| c.op == op) {
            out[kind.index()] = Some(priced(cal, s, &op, 0, 0)?);
        }
    }
    Ok(out)
}

/// The cost of `op` if the calibration (or an override) has it.
fn optional(cal: &Calibration, s: &SimSettings, op: &str) -> Result<Option<OpCost>> {
    if s.service.contains_key(op) || cal.ops.iter().any(|c| c.op == op) {
        return cal.cost(op, &s.service).map(Some);
    }
    Ok(None)
}

/// Bytes a durable metadata write puts on the disk per row.
const ROW_BYTES: u32 = 256;

/// The costs of every op kind of a run.
fn costs(cal: &Calibration, s: &SimSettings) -> Result<Costs> {
    let p = |op: &str| priced(cal, s, op, 0, 0);
    Ok(Costs {
        get: p("get")?,
        batch_get: p("batch-get")?,
        scan: p("scan")?,
        insert: p("timeline-insert")?,
        write: priced(cal, s, "write", ROW_BYTES, 0)?,
        cas: p("cas")?,
        blob_put: priced(cal, s, "blob-put", 1024, 1024)?,
        blob_get: priced(cal, s, "blob-get", 0, 1024)?,
        merge: p("merge")?,
        request: p("request")?,
        dispatch: if s.client_dispatch {
            Some(cal.cost("dispatch", &s.service)?)
        } else {
            None
        },
        app: app_costs(cal, s)?,
        generator: optional(cal, s, "generator")?,
        background: optional(cal, s, "background")?,
    })
}

/// Run the photo model for one variant over `source` (whose strategy is
/// replaced by `params.fanout`). Deterministic in its inputs.
pub fn simulate(source: &mut Source, p: &RunParams<'_>) -> Result<ModelReport> {
    let s = p.settings;
    s.validate()?;
    let strategy =
        FanoutStrategy::new(p.fanout.clone()).map_err(|e| invalid("fanout", e.to_string()))?;
    source.set_strategy(strategy);
    let src: &Source = source;
    let costs = costs(p.calibration, s)?;
    let net = s.network.build()?;
    let net = (net.mean() > 0.0).then_some(net);
    let duration = std::time::Duration::from_secs_f64(p.duration_s.max(0.0));
    let mut ops = src
        .workload()
        .ops(p.traffic, p.seed, duration)
        .map_err(|e| invalid("traffic", e.to_string()))?;
    let first = ops.next();
    let pools = |n: u32| -> Result<Vec<ConnPool<u32>>> {
        (0..n)
            .map(|_| ConnPool::new(s.connections, QueueLimit::Max(s.backlog as usize)))
            .collect()
    };
    let shards = (0..src.shards())
        .map(|_| {
            Station::new(
                s.shard_workers,
                crate::ServiceDist::deterministic(0),
                QueueLimit::Unbounded,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut cache_rng = rng_stream(p.seed, 14);
    let cache = match s.cache.kind {
        CacheKind::Fixed => Cache::Fixed(s.cache.hit_ratio),
        CacheKind::Lru if src.pool_len() > 0 => {
            Cache::che(src, s.cache.entries.max(1), s.cache.hot_photos_per_author)
        }
        CacheKind::Lru => {
            let cap = std::num::NonZeroUsize::new(s.cache.entries.max(1))
                .ok_or_else(|| invalid("cache.entries", "must be >= 1"))?;
            Cache::Lru {
                lru: LruCache::new(cap),
                ln_q: (1.0 - 1.0 / s.cache.hot_photos_per_author).ln(),
            }
        }
    };
    let mut m = PhotoModel {
        src,
        ops,
        next: None,
        costs,
        net,
        shards,
        blob: Station::new(
            s.blob_workers,
            crate::ServiceDist::deterministic(0),
            QueueLimit::Unbounded,
        )?,
        res: Resources::new(
            &s.deployment,
            (s.read_servers + s.write_servers) as usize,
            src.shards(),
        )?,
        read_pools: pools(s.read_servers)?,
        write_pools: pools(s.write_servers)?,
        joins: Joins::new(),
        reqs: Vec::new(),
        free: Vec::new(),
        mat: Mat {
            queue: VecDeque::new(),
            idle: s.materializer_workers,
            next_free: 0,
            ns_per_entry: NANOS_PER_SEC as f64 / s.materializer_rate_per_s,
            batch: u64::from(s.materializer_batch),
            queue_avg: TimeAverage::new(0),
            busy_avg: TimeAverage::new(0),
            workers: s.materializer_workers,
            fresh: Joins::new(),
        },
        cache,
        rng: Rngs {
            service: rng_stream(p.seed, 11),
            net: rng_stream(p.seed, 12),
            shape: rng_stream(p.seed, 13),
            cache: rng_stream(p.seed, 15),
        },
        kinds: vec![KindStats::default(); OpKind::COUNT],
        freshness: DelayStats::new(),
        timeline_writes: 0,
        uploads: 0,
        cache_lookups: 0,
        cache_hits: 0,
        shard_ops: vec![0; src.shards()],
        warmup: from_secs(s.warmup_s),
        feed_limit: u64::from(p.traffic.feed_limit),
        pulled_rows: {
            let page = u64::from(p.traffic.feed_limit) + 16;
            p.photos_per_author
                .map_or(page, |h| (h.max(0.0).ceil() as u64).min(page))
        },
        search_limit: u64::from(p.traffic.search_limit),
        photo_kib: p.traffic.photo_mean_bytes.div_ceil(1024),
        split: Vec::new(),
        plan: Vec::new(),
        serial: s.shard_calls == ShardCalls::Serial,
        snapshot: None,
    };
    // Warm the LRU with the same key popularity before the run.
    if let Cache::Lru { .. } = m.cache {
        std::mem::swap(&mut m.rng.cache, &mut cache_rng);
        m.cache_lookup(s.cache.entries as u64);
        std::mem::swap(&mut m.rng.cache, &mut cache_rng);
        m.cache_lookups = 0;
        m.cache_hits = 0;
    }
    let mut engine = Engine::with_capacity(1 << 16);
    if let Some(op) = first {
        engine.schedule_at(ns(op.at.as_nanos() as f64), Ev::NextOp);
        m.next = Some(op);
    }
    if m.warmup > 0 {
        engine.schedule_at(m.warmup, Ev::Warmup);
    }
    let end = from_secs(p.duration_s);
    engine.schedule_at(end, Ev::Snapshot);
    let drain = end.saturating_add(from_secs((10.0 * p.duration_s).max(3_600.0)));
    engine.run(&mut m, drain);
    let snapshot = m
        .snapshot
        .take()
        .unwrap_or_else(|| m.take_snapshot(engine.now()));
    let ops = OpKind::ALL
        .iter()
        .map(|k| {
            let ks = &m.kinds[k.index()];
            (
                k.name().to_string(),
                LatencyReport::of(&ks.latency, ks.dropped),
            )
        })
        .collect();
    let work = OpKind::ALL
        .iter()
        .map(|k| (k.name().to_string(), m.kinds[k.index()].calls))
        .collect();
    Ok(ModelReport {
        ops,
        work,
        freshness: LatencyReport::of(&m.freshness, 0),
        timeline_writes: m.timeline_writes,
        uploads: m.uploads,
        fanout_pending: m.mat.fresh.open_count() as u64,
        cache_lookups: m.cache_lookups,
        cache_hits: m.cache_hits,
        snapshot,
        events: engine.processed(),
        end_s: to_secs(engine.now()),
    })
}
