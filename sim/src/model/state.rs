//! The photo model's state, events and the plumbing every flow uses: app
//! server connections, shard and blob stations behind network hops, the
//! fan-in of sub-requests and the materializer (the photo-row cache is in
//! `cache.rs`).
//!
//! A request lives in a slab slot ([`Req`]) and advances through numbered
//! phases (see `flows`); each phase sends zero or more sub-requests and opens
//! one join over them, and the join's completion runs the next phase. A
//! sub-request is two events: arrival at the station (after a network hop)
//! and service completion; the reply hop back is folded into the join, whose
//! completion is one event at the latest reply time.

use std::collections::VecDeque;

use feedlab_workload::{OpKind, PlannedOp, Surged};
use rand_chacha::ChaCha8Rng;

use super::cache::Cache;
use super::calib::OpCost;
use super::report::WorkCount;
use super::resources::{Call, Priced, Resources};
use super::source::{FeedShape, Source};
use crate::dist::ServiceDist;
use crate::engine::{Engine, SimTime};
use crate::join::{JoinId, Joins};
use crate::station::{ConnPool, Station};
use crate::stats::{DelayStats, TimeAverage};

/// A sub-request's owner: a client request or a materializer job.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Job {
    /// Part of request fan-in `JoinId`.
    Req(JoinId),
    /// A timeline insert for the upload whose freshness join is `JoinId`.
    Mat(JoinId),
}

/// Events of the photo model.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ev {
    /// The next planned op is due.
    NextOp,
    /// A sub-request reaches shard `shard`.
    ShardArrive { shard: u16, job: Job, call: Call },
    /// Shard `shard` finished `job`.
    ShardDone { shard: u16, job: Job },
    /// A transfer reaches the blob store.
    BlobArrive { job: Job, call: Call },
    /// The blob store finished `job`.
    BlobDone { job: Job },
    /// A sub-request's reply is back at its app server.
    Reply { job: Job },
    /// Request `req` resumes: its app-server CPU step or its fan-in is done.
    AppDone { req: u32 },
    /// Request `req`, dispatched late by the modelled client, reaches its
    /// app server.
    Start { req: u32 },
    /// The cores of node `node` may have finished a job (see [`crate::ps::Tick`]).
    CpuTick { node: u16, generation: u32 },
    /// A disk I/O on node `node` is done.
    DiskDone {
        node: u16,
        next: super::resources::IoNext,
    },
    /// A transfer on blob node `node`'s NIC (`out`: towards the app servers) is done.
    NicDone {
        node: u16,
        out: bool,
        next: super::resources::IoNext,
    },
    /// End of the warm-up: statistics restart.
    Warmup,
    /// End of the arrivals: utilisations are snapshotted.
    Snapshot,
    /// A fault window opens or closes: paused or held work may resume.
    FaultEdge,
    /// A celebrity burst of `.0` photos starts.
    Burst(u32),
}

/// One sub-request planned by a phase.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Send {
    /// To shard `.0`, the call `.1`.
    Shard(usize, Call),
    /// To shard `.0`, `.1` ns of service, a call the embedded store hands to its blocking pool
    /// (a batch-get of more than `INLINE_BATCH_GET` keys): with serial shard calls it runs
    /// beside the step's inline calls instead of after them.
    Pooled(usize, Call),
    /// To the blob store, the call `.0` (a put when it writes bytes, else a get).
    Blob(Call),
}

/// One client request in flight.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub kind: OpKind,
    pub user: u64,
    pub other: u64,
    pub bytes: u64,
    pub t0: SimTime,
    pub write: bool,
    pub server: u16,
    pub phase: u8,
    pub cands: u64,
    pub shape: FeedShape,
    /// Sub-requests of the current step still to send, last first (serial
    /// shard calls only).
    pub pending: Vec<Send>,
    /// Shard and blob calls sent for this request so far.
    pub calls: WorkCount,
    /// A celebrity burst's upload: not a driver op (not counted, nor its freshness).
    pub burst: bool,
}

/// Per-op-kind outcome.
#[derive(Debug, Clone, Default)]
pub(crate) struct KindStats {
    pub latency: DelayStats,
    pub dropped: u64,
    /// Ops failed by a fault (a stopped blob store).
    pub errors: u64,
    /// Ops refused by a fault (a down shard).
    pub shed: u64,
    /// Shard and blob calls of the measured ops that completed.
    pub calls: WorkCount,
}

/// The service-time models of every op kind.
pub(crate) struct Costs {
    pub get: Priced,
    pub batch_get: Priced,
    pub scan: Priced,
    pub insert: Priced,
    pub write: Priced,
    pub cas: Priced,
    pub blob_put: Priced,
    pub blob_get: Priced,
    pub merge: Priced,
    pub request: Priced,
    /// The open-loop client's dispatch delay (`sim.client-dispatch`).
    pub dispatch: Option<OpCost>,
    /// Per op kind, the app-side time measured in a live run (`app-feed`, ...: the op's wall
    /// time less its storage calls), which replaces `request` + `merge` when present.
    pub app: [Option<Priced>; OpKind::COUNT],
    /// The load generator's CPU per op (`generator`), when it shares the box.
    pub generator: Option<OpCost>,
    /// CPU per op outside any measured call (`background`).
    pub background: Option<OpCost>,
    /// Per op kind, the op's transport on its own path (`http-feed`, ...: the client and
    /// server HTTP stacks of a live run and the wake-ups between them), spent before the op
    /// reaches its app server: its CPU share on the app node's cores, then the rest as a wait.
    pub transport: [Option<Priced>; OpKind::COUNT],
    /// How client and app CPU per op falls with the node's load and grows with its run queue
    /// (`sim.cpu-fall`, `sim.cpu-fall-beyond`, `sim.cpu-crowd` and the calibration file's
    /// cpu-fall table).
    pub fall: Option<super::FallCurve>,
    /// How transports lengthen with load (`sim.transport-rise` and the calibration's rise).
    pub rise: Option<super::TransportRise>,
    /// The transports' wake-up share and how it fades (`sim.transport-wake`).
    pub wake: super::TransportWake,
    /// Each op kind's wake-up decay ([`super::TransportWake::decays`]).
    pub wake_decay: [f64; feedlab_workload::OpKind::COUNT],
}

/// A materializer job: `n` timeline entries of one upload on one shard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatJob {
    pub join: JoinId,
    pub shard: u16,
    pub n: u64,
}

/// The fan-out materializer: FIFO jobs, `idle` free workers, a global
/// token bucket of `ns_per_entry`.
pub(crate) struct Mat {
    pub queue: VecDeque<MatJob>,
    pub idle: u32,
    pub next_free: SimTime,
    pub ns_per_entry: f64,
    pub batch: u64,
    pub queue_avg: TimeAverage,
    /// Busy workers, time-averaged.
    pub busy_avg: TimeAverage,
    pub workers: u32,
    /// Per upload's fan-out; the payload is whether its freshness is counted.
    pub fresh: Joins<bool>,
    /// Timeline entries queued and not yet handed to a worker.
    pub backlog: u64,
}

/// Random streams, one per component (common random numbers across variants).
pub(crate) struct Rngs {
    pub service: ChaCha8Rng,
    pub net: ChaCha8Rng,
    pub shape: ChaCha8Rng,
    pub cache: ChaCha8Rng,
}

/// The whole model.
pub(crate) struct PhotoModel<'a> {
    pub src: &'a Source,
    /// The op stream with the extra reads of its flash crowds, as a live run drives it.
    pub ops: Surged<'a>,
    pub next: Option<PlannedOp>,
    pub costs: Costs,
    pub net: Option<ServiceDist>,
    pub shards: Vec<Station<(Job, Call)>>,
    pub blob: Station<(Job, Call)>,
    pub res: Resources,
    pub read_pools: Vec<ConnPool<u32>>,
    pub write_pools: Vec<ConnPool<u32>>,
    pub joins: Joins<u32>,
    pub reqs: Vec<Req>,
    pub free: Vec<u32>,
    /// Most client ops running at once (`client-max-in-flight`), if limited.
    pub client_slots: Option<usize>,
    pub mat: Mat,
    pub cache: Cache,
    /// The service's pull cache, where modelled.
    pub pull_cache: Option<super::pullcache::PullCache>,
    pub rng: Rngs,
    pub kinds: Vec<KindStats>,
    pub freshness: DelayStats,
    pub timeline_writes: u64,
    pub uploads: u64,
    pub cache_lookups: u64,
    pub cache_hits: u64,
    pub shard_ops: Vec<u64>,
    pub warmup: SimTime,
    pub feed_limit: u64,
    /// Rows a pulled followee's photo scan returns (see `RunParams`).
    pub pulled_rows: u64,
    pub search_limit: u64,
    /// A mean photo's KiB (a celebrity burst's uploads).
    pub photo_kib: u64,
    /// The bytes each photo view reads.
    pub views: super::views::ViewSizes,
    /// How a view's transport CPU follows its bytes (`None`: as drawn).
    pub view_transport: Option<super::views::ViewTransport>,
    /// The draws of [`PhotoModel::views`] (stream 16 of the seed).
    pub view_rng: rand_chacha::ChaCha8Rng,
    pub split: Vec<u64>,
    pub plan: Vec<Send>,
    /// Shard calls of a step run one after another ([`super::ShardCalls`]).
    pub serial: bool,
    pub snapshot: Option<super::report::Snapshot>,
    /// The run's fault windows.
    pub faults: super::faults::Faults,
    /// The per-second series.
    pub series: super::series::Series,
    /// The celebrity bursts' uploads.
    pub burst: super::faultflows::BurstLoop,
}

impl PhotoModel<'_> {
    /// One network hop's delay, for a hop sent at `now` (a `network` fault adds to it).
    #[inline]
    pub fn hop(&mut self, now: SimTime) -> SimTime {
        let extra = if self.faults.any() {
            self.faults.hop_extra(now)
        } else {
            0
        };
        extra
            + match &self.net {
                Some(d) => d.sample(&mut self.rng.net),
                None => 0,
            }
    }

    /// A slow-shard fault's delay for `call` sent to `shard` at `now`: added to the call's
    /// non-CPU wait, so it holds the shard worker that runs it (as the service's sleep holds
    /// the shard's admission slot) and no CPU; a durable write's wait is its disk I/O, so its
    /// delay is returned instead, to be added to its arrival. 0 outside any window.
    #[inline]
    pub fn slow_call(&self, shard: usize, now: SimTime, call: &mut Call) -> SimTime {
        if !self.faults.any() {
            return 0;
        }
        let extra = self.faults.shard_extra(shard, now);
        if call.io == 0 {
            call.wait += extra;
            0
        } else {
            extra
        }
    }

    /// Send a sub-request of `service` ns to shard `shard` on behalf of `job`; a slow-shard
    /// fault lengthens it ([`Self::slow_call`]).
    #[inline]
    pub fn send_shard(&mut self, e: &mut Engine<Ev>, shard: usize, job: Job, mut call: Call) {
        let now = e.now();
        let slow = self.slow_call(shard, now, &mut call);
        let at = now + self.hop(now) + slow;
        if e.now() >= self.warmup {
            self.shard_ops[shard] += 1;
        }
        let shard = shard as u16;
        e.schedule_at(at, Ev::ShardArrive { shard, job, call });
    }

    /// Send a blob call to the blob store.
    #[inline]
    pub fn send_blob(&mut self, e: &mut Engine<Ev>, job: Job, call: Call) {
        let at = e.now() + self.hop(e.now());
        e.schedule_at(at, Ev::BlobArrive { job, call });
    }
}
