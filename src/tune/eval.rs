//! Evaluating one candidate: the run spec of a design with given counts at a load, simulated
//! on the calibrated model, judged against the targets, priced.
//!
//! A candidate runs the scenario's base spec with:
//! - the design's fan-out strategy and threshold, cache entries, and photo views cut to the
//!   CDN's misses (`views-per-feed × (1 − hit ratio)`: the hits never reach the origin);
//! - `[sim.deployment]` per-role, one node per app server and per shard, the role machines'
//!   cores, the shard machine's disk and the blob machine's NIC from the catalogue;
//! - the blob store's workers and the materializer (workers and entries/s) scaled with the
//!   blob nodes and the write servers, from the scenario's figures per node: the
//!   materializer runs in the write servers;
//! - `traffic.load` × the load (the headroom included) for the window's model seconds.
//!
//! The verdict is the sweep's (feed p99, freshness p99 and probe timeouts, errors, and drops
//! above `[tune] max-dropped`), plus one rule a short window needs: a resource at ≥ 99%
//! utilisation is saturated, since its queue grows without bound even when the window ends
//! before a target breaks.

use feedlab_sim::model::{Layout, ModelReport};
use serde::Serialize;

use super::cost::Bill;
use super::space::{Counts, Design, Machines, Role};
use crate::sim::SimExecutor;
use crate::spec::{Mode, RunSpec, SweepSettings};
use crate::sweep::verdict::judge;

/// Utilisation at which a resource counts as saturated.
pub const SATURATED: f64 = 0.99;

/// One broken target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `feed_p99`, `freshness`, `freshness_timeouts`, `dropped`, `errors` or `saturated`.
    pub target: String,
    /// The resource, for `saturated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The measured value.
    pub value: f64,
    /// The limit it exceeded.
    pub limit: f64,
}

impl Breach {
    /// How far over its limit, as a ratio (∞ for a zero limit).
    pub fn excess(&self) -> f64 {
        if self.limit > 0.0 {
            self.value / self.limit
        } else if self.value > 0.0 {
            f64::INFINITY
        } else {
            1.0
        }
    }
}

/// One resource's use in a candidate's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceUse {
    /// The simulator's name (`shard-cpu`, `app-cpu`, ...).
    pub name: String,
    /// Busy fraction of the busiest node.
    pub utilisation: f64,
    /// Busy units summed over the nodes, per model second (cores, slots, workers busy).
    pub busy_units: f64,
    /// Nodes of the role.
    pub nodes: usize,
    /// Capacity of one node.
    pub capacity: f64,
}

/// One simulated candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Its design.
    pub design: Design,
    /// Its counts.
    pub counts: Counts,
    /// Load multiplier on the scenario's traffic (headroom included).
    pub load: f64,
    /// Seed of the run.
    pub seed: u64,
    /// Model seconds simulated.
    pub window_s: f64,
    /// Whether every target held.
    pub good: bool,
    /// The targets that broke.
    pub breaches: Vec<Breach>,
    /// Feed p99, ms (∞ when no feed was read).
    pub feed_p99_ms: f64,
    /// Freshness p99, ms.
    pub freshness_p99_ms: f64,
    /// Dropped or shed fraction of offered ops.
    pub dropped_fraction: f64,
    /// The most utilised resource.
    pub bottleneck: String,
    /// Its utilisation.
    pub bottleneck_utilisation: f64,
    /// Every resource.
    pub resources: Vec<ResourceUse>,
    /// Its monthly bill.
    pub bill: Bill,
}

impl Evaluation {
    /// The worst breach's excess (1 or less: every target met).
    pub fn worst_excess(&self) -> f64 {
        self.breaches.iter().map(Breach::excess).fold(0.0, f64::max)
    }

    /// Whether every target but feed p99 held (a point of the $/p99 frontier).
    pub fn meets_all_but_feed(&self) -> bool {
        self.breaches.iter().all(|b| b.target == "feed_p99")
    }
}

/// The role whose count adds capacity to resource `name` (`app-*` is decided by the caller:
/// read and write servers share the name).
pub fn role_of(name: &str) -> Option<Role> {
    if name.starts_with("shard-") {
        Some(Role::Shards)
    } else if name.starts_with("blob-") {
        Some(Role::BlobNodes)
    } else if name == "materializer" {
        Some(Role::WriteServers)
    } else if name.starts_with("app-") {
        Some(Role::ReadServers)
    } else {
        None
    }
}

/// The run spec of `counts` of `design` on `machines` at `load` × `base`'s traffic.
pub fn spec_for(
    base: &RunSpec,
    machines: &Machines,
    design: &Design,
    counts: &Counts,
    load: f64,
    window_s: f64,
) -> RunSpec {
    let mut s = base.clone();
    s.mode = Mode::Sim;
    s.variant = format!(
        "{}-{}s-{}r-{}w-{}b",
        design.label(),
        counts.shards,
        counts.read_servers,
        counts.write_servers,
        counts.blob_nodes
    );
    s.duration_s = window_s;
    s.sim.duration_s = Some(window_s);
    s.traffic.load = base.traffic.load * load;
    s.traffic.views_per_feed = base.traffic.views_per_feed * (1.0 - design.cdn_hit_ratio);
    s.system.fanout.kind = design.fanout;
    if let Some(h) = design.hybrid_threshold {
        s.system.fanout.hybrid_threshold = h;
    }
    s.system.sharding.shards = counts.shards as usize;
    s.sim.read_servers = counts.read_servers;
    s.sim.write_servers = counts.write_servers;
    s.sim.cache.entries = usize::try_from(design.cache_entries).unwrap_or(usize::MAX);
    let per_write = f64::from(counts.write_servers) / f64::from(base.sim.write_servers.max(1));
    s.sim.materializer_rate_per_s = base.sim.materializer_rate_per_s * per_write;
    s.sim.materializer_workers =
        ((f64::from(base.sim.materializer_workers) * per_write).ceil() as u32).max(1);
    s.sim.blob_workers = base.sim.blob_workers.saturating_mul(counts.blob_nodes);
    let d = &mut s.sim.deployment;
    d.layout = Layout::PerRole;
    d.app_nodes = 0;
    d.shard_nodes = 0;
    d.app_cores = f64::from(machines.app.cores);
    d.shard_cores = f64::from(machines.shard.cores);
    d.blob_nodes = counts.blob_nodes;
    d.blob_cores = f64::from(machines.blob.cores);
    d.disk_iops = machines.shard.disk_iops;
    d.disk_mb_s = machines.shard.disk_mb_s;
    d.nic_gbps = machines.blob.nic_gbps;
    s
}

/// Simulates `spec` and judges it with `max_dropped`; `bill` is its price.
pub fn evaluate(
    exec: &mut SimExecutor,
    spec: &RunSpec,
    max_dropped: f64,
    design: &Design,
    counts: &Counts,
    load: f64,
    bill: Bill,
) -> anyhow::Result<Evaluation> {
    let run = exec.evaluate(spec)?;
    let limits = SweepSettings {
        max_dropped,
        ..spec.sweep.clone()
    };
    let step = judge(&run.summary, load, String::new(), &spec.target, &limits);
    let mut breaches: Vec<Breach> = step
        .breaches
        .iter()
        .map(|b| Breach {
            target: b.rule.name().to_string(),
            resource: None,
            value: b.value,
            limit: b.limit,
        })
        .collect();
    let resources = uses(&run.report, spec.duration_s);
    for r in &resources {
        if r.utilisation >= SATURATED {
            breaches.push(Breach {
                target: "saturated".into(),
                resource: Some(r.name.clone()),
                value: r.utilisation,
                limit: SATURATED,
            });
        }
    }
    let offered: f64 = step.ops.values().map(|o| o.offered_per_s).sum();
    let dropped: f64 = step
        .ops
        .values()
        .map(|o| (o.dropped + o.shed) as f64 / step.duration_s.max(1e-9))
        .sum();
    let snap = &run.report.snapshot;
    let util = resources
        .iter()
        .find(|r| r.name == snap.bottleneck)
        .map_or(0.0, |r| r.utilisation);
    Ok(Evaluation {
        design: design.clone(),
        counts: *counts,
        load,
        seed: spec.seed,
        window_s: spec.duration_s,
        good: breaches.is_empty(),
        breaches,
        feed_p99_ms: step.ops.get("feed").map_or(f64::INFINITY, |f| f.p99_ms),
        freshness_p99_ms: step.freshness_p99_ms,
        dropped_fraction: if offered > 0.0 {
            dropped / offered
        } else {
            0.0
        },
        bottleneck: snap.bottleneck.clone(),
        bottleneck_utilisation: util,
        resources,
        bill,
    })
}

/// Each resource of `r`, its busy units per second over `window_s`.
pub(super) fn uses(r: &ModelReport, window_s: f64) -> Vec<ResourceUse> {
    r.snapshot
        .resources
        .iter()
        .map(|x| ResourceUse {
            name: x.name.clone(),
            utilisation: crate::sim::finite(x.utilisation),
            busy_units: crate::sim::finite(x.busy_s / window_s.max(1e-9)),
            nodes: x.nodes,
            capacity: x.capacity,
        })
        .collect()
}
