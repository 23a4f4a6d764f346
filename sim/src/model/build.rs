//! A variant's initial [`PhotoModel`] from its [`RunParams`]: the op costs
//! from the calibration, the app servers' pools, the shard and blob
//! stations, the photo-row cache (with Che's approximation at full scale), the fault windows,
//! the materializer and the random streams.
//!
//! Every random stream is a fixed stream of the run's seed (see [`rngs`]),
//! so building the model draws nothing but the first op of the op stream
//! and, for a simulated LRU, its warm-up lookups on a stream of their own.

use std::collections::VecDeque;

use feedlab_workload::{OpKind, PlannedOp};

use super::RunParams;
use super::cache::{cache, warm_lru};
use super::calib::{Calibration, OpCost};
use super::config::{ShardCalls, SimSettings};
use super::faults::{Effect, Faults};
use super::resources::{Priced, Resources};
use super::series::Series;
use super::source::Source;
use super::state::{Costs, KindStats, Mat, PhotoModel, Rngs};
use crate::engine::{NANOS_PER_SEC, from_secs, rng_stream};
use crate::error::{Result, invalid};
use crate::join::Joins;
use crate::station::{ConnPool, QueueLimit, Station};
use crate::stats::{DelayStats, TimeAverage};

/// `op`'s cost and CPU share; `io` and `net` bytes per unit of size.
fn priced(cal: &Calibration, s: &SimSettings, op: &str, io: u32, net: u32) -> Result<Priced> {
    Ok(Priced {
        cost: cal.cost(op, &s.service)?,
        share: cal.cpu_share(op),
        io_per_n: io,
        net_per_n: net,
        cpu_cap: None,
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

/// Per op kind, its transport (`http-<kind>`: time and CPU share) where the calibration has
/// it.
fn transport_costs(cal: &Calibration, s: &SimSettings) -> Result<[Option<Priced>; OpKind::COUNT]> {
    let mut out: [Option<Priced>; OpKind::COUNT] = Default::default();
    for kind in OpKind::ALL {
        let op = format!("http-{}", kind.name());
        if s.service.contains_key(&op) || cal.ops.iter().any(|c| c.op == op) {
            let mut p = priced(cal, s, &op, 0, 0)?;
            if s.transport_cpu_cap && !s.service.contains_key(&op) {
                p.cpu_cap = transport_cap(cal, &op);
            }
            out[kind.index()] = Some(p);
        }
    }
    Ok(out)
}

/// The CPU cap of the transport `op` (see [`super::transportcpu`]), when the calibration
/// has one entry of it with its CPU measured.
fn transport_cap(cal: &Calibration, op: &str) -> Option<crate::engine::SimTime> {
    let mut entries = cal.ops.iter().filter(|c| c.op == op);
    let (c, None) = (entries.next()?, entries.next()) else {
        return None;
    };
    let share = cal.cpu_share(op).at(u64::from(c.n.max(1)));
    let ms = super::cpu_cap(&c.quantiles_ms, share)?;
    Some((ms * 1e6) as crate::engine::SimTime)
}

/// How a view's transport follows its bytes, from the mean transport CPU of views and of
/// feeds (see [`super::views::ViewTransport`]), when the calibration has both.
fn view_transport(
    transport: &[Option<Priced>; OpKind::COUNT],
    views: &super::views::ViewSizes,
) -> Option<super::views::ViewTransport> {
    let cpu = |k: OpKind| {
        let p = transport[k.index()].as_ref()?;
        Some(p.cost.mean(1) * p.share.at(1))
    };
    super::views::ViewTransport::new(cpu(OpKind::PhotoGet)?, cpu(OpKind::Feed)?, views.mean_kib())
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
        transport: transport_costs(cal, s)?,
        fall: cal.cpu_fall.filter(|_| s.cpu_fall).map(|f| {
            super::FallCurve::new(f, s.cpu_fall_beyond, s.cpu_crowd).steepest(s.cpu_fall_beyond_max)
        }),
        rise: cal.transport_rise.clone().filter(|_| s.transport_rise),
        wake_decay: s.transport_wake.decays(),
        wake: s.transport_wake.clone(),
    })
}

/// A station of `workers` with a FIFO queue of unbounded length; service
/// times are given per call, so its own distribution is unused.
fn station<T>(workers: u32) -> Result<Station<T>> {
    Station::new(
        workers,
        crate::ServiceDist::deterministic(0),
        QueueLimit::Unbounded,
    )
}

/// `n` app servers' connection pools: `s.connections` each, with a backlog
/// of `s.backlog` (overflow is dropped).
fn pools(s: &SimSettings, n: u32) -> Result<Vec<ConnPool<u32>>> {
    (0..n)
        .map(|_| ConnPool::new(s.connections, QueueLimit::Max(s.backlog as usize)))
        .collect()
}

/// An idle materializer with `s`'s workers, entry rate and batch size.
fn materializer(s: &SimSettings) -> Mat {
    Mat {
        queue: VecDeque::new(),
        idle: s.materializer_workers,
        next_free: 0,
        ns_per_entry: NANOS_PER_SEC as f64 / s.materializer_rate_per_s,
        batch: u64::from(s.materializer_batch),
        queue_avg: TimeAverage::new(0),
        busy_avg: TimeAverage::new(0),
        workers: s.materializer_workers,
        fresh: Joins::new(),
        backlog: 0,
    }
}

/// The run's random streams of `seed`: service 11, network 12, feed shape
/// 13, cache 15. Stream 14 is the LRU warm-up's ([`warm_lru`]); the op
/// stream seeds its own.
fn rngs(seed: u64) -> Rngs {
    Rngs {
        service: rng_stream(seed, 11),
        net: rng_stream(seed, 12),
        shape: rng_stream(seed, 13),
        cache: rng_stream(seed, 15),
    }
}

/// Rows a pulled followee's scan returns: a feed page plus 16, capped by
/// the photos every author holds when that is known.
fn pulled_rows(p: &RunParams<'_>) -> u64 {
    let page = u64::from(p.traffic.feed_limit) + 16;
    p.photos_per_author
        .map_or(page, |h| (h.max(0.0).ceil() as u64).min(page))
}

/// The run's fault windows; with a celebrity burst among them, the author it posts as
/// (`src`'s most-followed).
fn faults(src: &Source, p: &RunParams<'_>) -> Result<Faults> {
    let mut faults = Faults::new(p.faults, src.shards())?;
    if faults
        .windows
        .iter()
        .any(|w| matches!(w.effect, Effect::CelebrityBurst { .. }))
    {
        faults.celebrity = src.top_author();
    }
    Ok(faults)
}

/// The model of one variant over `src` at time zero, and the first op of
/// its op stream (taken from the stream, not yet scheduled). `p.settings`
/// must have been validated.
pub(super) fn model<'a>(
    src: &'a Source,
    p: &RunParams<'_>,
) -> Result<(PhotoModel<'a>, Option<PlannedOp>)> {
    let s = p.settings;
    let costs = costs(p.calibration, s)?;
    let net = s.network.build()?;
    let net = (net.mean() > 0.0).then_some(net);
    let duration = std::time::Duration::from_secs_f64(p.duration_s.max(0.0));
    let mut ops = src
        .workload()
        .ops(p.traffic, p.seed, duration)
        .map_err(|e| invalid("traffic", e.to_string()))?
        .with_read_surges(&super::faultflows::surges(p.faults), p.seed);
    let first = ops.next();
    let shards = (0..src.shards())
        .map(|_| station(s.shard_workers))
        .collect::<Result<Vec<_>>>()?;
    let cache = cache(src, s, p.photos_per_author)?;
    let faults = faults(src, p)?;
    let views = super::views::ViewSizes::new(p.traffic, p.view_bytes)?;
    let view_transport = view_transport(&costs.transport, &views);
    let mut m = PhotoModel {
        src,
        ops,
        next: None,
        costs,
        net,
        shards,
        blob: station(s.blob_workers)?,
        res: Resources::new(
            &s.deployment,
            (s.read_servers + s.write_servers) as usize,
            src.shards(),
        )?,
        read_pools: pools(s, s.read_servers)?,
        write_pools: pools(s, s.write_servers)?,
        joins: Joins::new(),
        reqs: Vec::new(),
        free: Vec::new(),
        client_slots: s.client_max_in_flight.map(|n| n as usize),
        mat: materializer(s),
        cache,
        pull_cache: p.pull_cache.as_ref().and_then(|c| {
            let users = src.exact_users()?;
            super::pullcache::PullCache::new(users, c)
        }),
        rng: rngs(p.seed),
        kinds: vec![KindStats::default(); OpKind::COUNT],
        freshness: DelayStats::new(),
        timeline_writes: 0,
        uploads: 0,
        cache_lookups: 0,
        cache_hits: 0,
        shard_ops: vec![0; src.shards()],
        warmup: from_secs(s.warmup_s),
        feed_limit: u64::from(p.traffic.feed_limit),
        pulled_rows: pulled_rows(p),
        search_limit: u64::from(p.traffic.search_limit),
        photo_kib: p.traffic.photo_mean_bytes.div_ceil(1024),
        views,
        view_transport,
        view_rng: rng_stream(p.seed, 16),
        split: Vec::new(),
        plan: Vec::new(),
        serial: s.shard_calls == ShardCalls::Serial,
        snapshot: None,
        faults,
        series: Series::default(),
        burst: Default::default(),
    };
    warm_lru(&mut m, s, p.seed);
    Ok((m, first))
}
