//! The simulator's own scenario keys (`[sim]`): servers, shard workers, the
//! network, the metadata cache, the materializer, and the optional M/M/c
//! validation queue.
//!
//! Service times do not live here: they come from a calibration file
//! ([`crate::model::Calibration`]), optionally overridden per op kind by
//! `[sim.service]` (e.g. an exponential `get` for a validation run). Every key
//! has a default, and unknown keys are rejected so a typo is an error that
//! names the key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::dist::DistSpec;
use crate::error::{Result, invalid};

pub use super::deployment::{Deployment, Layout};

/// Which population the simulator draws its ops from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PopulationMode {
    /// The whole modelled population (300M users by default); followees are
    /// drawn from a pre-sampled leader pool, follower counts are the
    /// Chung–Lu expectations.
    #[default]
    Full,
    /// The live sub-population (`users × scale`), with the exact follow graph
    /// a live run materializes: the same ops as `feedlab run`.
    Scaled,
}

/// How an app server issues the shard calls of one request step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShardCalls {
    /// All at once; the step ends with the slowest reply (remote shard
    /// servers behind a network: the fan-in of the design).
    #[default]
    Parallel,
    /// One after another; the step takes the sum of the calls. This is the
    /// reference service on its embedded store: small reads (a `get`, a
    /// `batch_get` of at most 64 keys, a `scan` of at most 1,024 rows) run
    /// inline on the request's own task, so a `join_all` over shards polls
    /// them in turn on one thread. Use it to model a live run.
    Serial,
}

/// How the metadata (photo-row) cache decides hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheKind {
    /// A simulated LRU of `entries` photo rows; keys follow the population's
    /// popularity (an author is drawn in proportion to follower weight, its
    /// `j`-th newest photo with `j` geometric around `hot-photos-per-author`,
    /// and no older than the photos the author holds when the run says how
    /// many: a live run's seeded history).
    /// At full scale (a leader pool) the LRU is not simulated: each key hits
    /// with its steady-state probability under Che's approximation for the
    /// same key popularity (an LRU of 10^5 rows over 10^8 keys is what Che's
    /// approximation is accurate for, and it costs no hash-map per lookup).
    #[default]
    Lru,
    /// Every lookup hits with probability `hit-ratio`.
    Fixed,
}

/// `[sim.cache]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CacheSettings {
    /// LRU or fixed ratio.
    pub kind: CacheKind,
    /// Photo rows held (LRU). Default 100,000 (the service's `cache-entries`).
    pub entries: usize,
    /// Hit probability (fixed). Default 0.
    pub hit_ratio: f64,
    /// Mean rank of the photo read among an author's newest (LRU keys). Default 4.
    pub hot_photos_per_author: f64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            kind: CacheKind::Lru,
            entries: 100_000,
            hit_ratio: 0.0,
            hot_photos_per_author: 4.0,
        }
    }
}

/// `[sim.queue]`: one shard server fed by Poisson arrivals, for validation
/// against queueing theory (M/M/c). When present, `feedlab sim` runs only it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueueSettings {
    /// Arrival rate λ, per second.
    pub arrival_rate: f64,
    /// Service rate μ of one worker, per second (exponential service).
    pub service_rate: f64,
    /// Workers c.
    pub workers: u32,
    /// Customers measured after the warm-up (a tenth as many are discarded first).
    pub customers: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            arrival_rate: 0.8,
            service_rate: 1.0,
            workers: 1,
            customers: 2_000_000,
        }
    }
}

/// `[sim]`: the modelled deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SimSettings {
    /// Calibration file (relative to the scenario file). `None`: the built-in
    /// defaults of [`crate::model::Calibration::builtin`].
    pub calibration: Option<PathBuf>,
    /// Full population or the live sub-population. Default full.
    pub population: PopulationMode,
    /// Read app servers (feed, photo, search). Default 4.
    pub read_servers: u32,
    /// Write app servers (upload, follow). Default 2.
    pub write_servers: u32,
    /// Connections per app server. Default 500.
    pub connections: u32,
    /// Requests queued per app server when every connection is busy; beyond
    /// it a request is dropped. Default 1,000.
    pub backlog: u32,
    /// The live driver's limit on ops running at once (its `max-in-flight`): an op due
    /// while that many run is dropped at once and costs no CPU. Default none: a
    /// population's users do not wait for each other. A sweep's twin sets it from the
    /// scenario's driver.
    pub client_max_in_flight: Option<u32>,
    /// Add the live driver's dispatch delay (calibration op `dispatch`:
    /// how late its timer starts an op, measured from the intended start as
    /// a live run measures latency) to every op. Default false: latency as
    /// the service sees it. Set it to compare with a live run.
    pub client_dispatch: bool,
    /// Scale client and app CPU by the calibration's `[cpu-fall]` (cheaper per op on a
    /// busier node), when it has one. Default true.
    pub cpu_fall: bool,
    /// How far the CPU fall goes on past the calibration burst's load, as a share of the
    /// exponent of the power law through its two points ([`super::FallCurve`]), in `[0, 2]`.
    /// 0 holds the burst's cost. Default 1.
    pub cpu_fall_beyond: f64,
    /// The steepest the CPU fall goes on past the burst's load: the most its exponent there
    /// can be, in `[0, 2]` ([`super::FallCurve`]). A burst from a nearly idle box measures a
    /// fall that does not go on at that pace to a full one. Default 0.3.
    pub cpu_fall_beyond_max: f64,
    /// How much more a client or app step costs per extra run queue of its node: `c` in
    /// `1 + c·min((q − n)/n, 4)` for `q` jobs runnable on `n` cores ([`super::FallCurve`]),
    /// in `[0, 2]`; it applies with a calibration's `[cpu-fall]`. Default 0.1.
    pub cpu_crowd: f64,
    /// Lengthen each op's transport by the calibration's `[transport-rise]` (a
    /// longer tail on a busier node), when it has one. Default false.
    pub transport_rise: bool,
    /// Cap each drawn transport's CPU so that its slow draws are waits, the mean CPU still
    /// the measured one ([`super::transportcpu`]). Default true.
    pub transport_cpu_cap: bool,
    /// The share of each op's transport that waits for idle threads to wake, and how fast
    /// that wait fades on a busier node ([`super::TransportWake`]); it applies with a
    /// calibration's `[cpu-fall]`. Default `{ share = 0.65, decay = 0.0 }`: the wait stays.
    pub transport_wake: super::TransportWake,
    /// Workers per shard server. Default 4.
    pub shard_workers: u32,
    /// Parallel (remote shards) or serial (the embedded store's inline
    /// reads) shard calls within one request step. Default parallel.
    pub shard_calls: ShardCalls,
    /// Concurrent transfers of the blob store. Default 16.
    pub blob_workers: u32,
    /// One-way network latency between app servers, shards and the blob store.
    pub network: DistSpec,
    /// The photo-row cache.
    pub cache: CacheSettings,
    /// Materializer workers. Default 4.
    pub materializer_workers: u32,
    /// Materializer throughput limit, timeline entries per second. Default 300,000.
    pub materializer_rate_per_s: f64,
    /// Timeline entries per insert batch. Default 64.
    pub materializer_batch: u32,
    /// Seconds of model time simulated before statistics are kept. Default 0.
    pub warmup_s: f64,
    /// Model seconds of arrivals for `feedlab sim` (default: `scenario.duration-s`).
    pub duration_s: Option<f64>,
    /// Leader draws pre-sampled for full-population followee lists. Default 4M.
    pub leader_pool: u32,
    /// Service-time overrides per op (`get`, `scan`, `blob-put`, ...).
    pub service: BTreeMap<String, DistSpec>,
    /// The validation queue; when set, only it runs.
    pub queue: Option<QueueSettings>,
    /// `[sim.deployment]`: nodes, cores, disks and NICs (the resources that run out).
    pub deployment: Deployment,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            calibration: None,
            population: PopulationMode::Full,
            read_servers: 4,
            write_servers: 2,
            connections: 500,
            backlog: 1_000,
            client_max_in_flight: None,
            client_dispatch: false,
            cpu_fall: true,
            cpu_fall_beyond: 1.0,
            cpu_fall_beyond_max: 0.3,
            cpu_crowd: 0.1,
            transport_rise: false,
            transport_cpu_cap: true,
            transport_wake: Default::default(),
            shard_workers: 4,
            shard_calls: ShardCalls::Parallel,
            blob_workers: 16,
            network: DistSpec::Lognormal {
                mean_ms: 0.25,
                p99_ms: 1.0,
            },
            cache: CacheSettings::default(),
            materializer_workers: 4,
            materializer_rate_per_s: 300_000.0,
            materializer_batch: 64,
            warmup_s: 0.0,
            duration_s: None,
            leader_pool: 4_000_000,
            service: BTreeMap::new(),
            queue: None,
            deployment: Deployment::default(),
        }
    }
}

impl SimSettings {
    /// Check ranges; the error names the offending key (kebab-case, without
    /// the `sim.` prefix).
    pub fn validate(&self) -> Result<()> {
        let ge1 = [
            ("read-servers", self.read_servers),
            ("write-servers", self.write_servers),
            ("connections", self.connections),
            ("shard-workers", self.shard_workers),
            ("blob-workers", self.blob_workers),
            ("materializer-workers", self.materializer_workers),
            ("materializer-batch", self.materializer_batch),
            ("leader-pool", self.leader_pool),
        ];
        for (key, v) in ge1 {
            if v == 0 {
                return Err(invalid("sim", format!("{key} must be at least 1")));
            }
        }
        if self.client_max_in_flight == Some(0) {
            return Err(invalid("sim", "client-max-in-flight must be at least 1"));
        }
        let r = self.materializer_rate_per_s;
        if !(r.is_finite() && r > 0.0) {
            return Err(invalid("sim", "materializer-rate-per-s must be > 0"));
        }
        if let Some(d) = self.duration_s
            && !(d.is_finite() && d > 0.0)
        {
            return Err(invalid("sim", "duration-s must be > 0"));
        }
        if !(self.warmup_s.is_finite() && self.warmup_s >= 0.0) {
            return Err(invalid("sim", "warmup-s must be >= 0"));
        }
        let h = self.cache.hit_ratio;
        if !(0.0..=1.0).contains(&h) {
            return Err(invalid("sim", "cache.hit-ratio must be in [0, 1]"));
        }
        if self.cache.hot_photos_per_author.is_nan() || self.cache.hot_photos_per_author < 1.0 {
            return Err(invalid("sim", "cache.hot-photos-per-author must be >= 1"));
        }
        self.network
            .build()
            .map_err(|e| invalid("sim", format!("network: {e}")))?;
        for (op, d) in &self.service {
            d.build()
                .map_err(|e| invalid("sim", format!("service.{op}: {e}")))?;
        }
        self.deployment.validate()?;
        self.transport_wake.validate()?;
        for (key, v) in [
            ("cpu-fall-beyond", self.cpu_fall_beyond),
            ("cpu-fall-beyond-max", self.cpu_fall_beyond_max),
            ("cpu-crowd", self.cpu_crowd),
        ] {
            if !(0.0..=2.0).contains(&v) {
                return Err(invalid("sim", format!("{key} must be in [0, 2], got {v}")));
            }
        }
        if let Some(q) = &self.queue {
            crate::theory::MmcTheory::new(q.arrival_rate, q.service_rate, q.workers)
                .map_err(|e| invalid("sim", format!("queue: {e}")))?;
            if q.customers == 0 {
                return Err(invalid("sim", "queue.customers must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_and_an_out_of_range_cpu_setting_names_its_key() {
        assert!(SimSettings::default().validate().is_ok());
        let s = SimSettings {
            cpu_crowd: -0.1,
            ..SimSettings::default()
        };
        let e = s.validate().expect_err("a negative crowding").to_string();
        assert!(e.contains("cpu-crowd") && e.contains("-0.1"), "{e}");
        let s = SimSettings {
            cpu_fall_beyond: f64::NAN,
            ..SimSettings::default()
        };
        let e = s.validate().expect_err("a NaN beyond").to_string();
        assert!(e.contains("cpu-fall-beyond"), "{e}");
    }
}
