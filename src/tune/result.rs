//! `tune.json`: the answer (or why there is none, with the closest candidate), every
//! design's outcome, the Pareto frontier of $/month against feed p99, the sensitivity table
//! and the bandwidth at the peak. Fields may be added, never renamed or removed.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::cost::Bill;
use super::eval::{Breach, Evaluation};
use super::search::MinusOne;
use super::space::{Counts, Design, Machines, Role};
use crate::summary::Provenance;

/// The targets every candidate is judged by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    /// Feed p99, ms.
    pub feed_p99_ms: f64,
    /// Freshness p99, s.
    pub freshness_p99_s: f64,
    /// Largest dropped or shed fraction.
    pub max_dropped: f64,
    /// Largest failed fraction.
    pub max_errors: f64,
}

/// The resource that runs out first in the answer, and the role whose count relieves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saturating {
    /// The simulator's name (`shard-cpu`, `app-cpu`, `materializer`, ...).
    pub resource: String,
    /// Its utilisation in the answer's run.
    pub utilisation: f64,
    /// The role whose count adds to it.
    pub role: Option<Role>,
}

/// The answer's run at another seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recheck {
    /// Its seed.
    pub seed: u64,
    /// Whether every target held.
    pub good: bool,
    /// Feed p99, ms.
    pub feed_p99_ms: f64,
    /// Freshness p99, ms.
    pub freshness_p99_ms: f64,
    /// What broke.
    pub breaches: Vec<Breach>,
}

/// The cheapest deployment meeting every target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// Its design.
    pub design: Design,
    /// `push`, `hybrid@10000`, ...
    pub label: String,
    /// Its counts.
    pub counts: Counts,
    /// Its monthly bill's total.
    pub usd_per_month: f64,
    /// The bill.
    pub bill: Bill,
    /// Feed p99 at the headroom load, ms.
    pub feed_p99_ms: f64,
    /// Freshness p99 at the headroom load, ms.
    pub freshness_p99_ms: f64,
    /// Dropped or shed fraction.
    pub dropped_fraction: f64,
    /// What saturates first.
    pub saturating: Saturating,
    /// One unit less of each role, and what it breaks.
    pub minus_one: Vec<MinusOne>,
    /// The answer at another seed (main answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recheck: Option<Recheck>,
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unmet {
    /// "no deployment in the space meets ..." with the closest candidate.
    pub message: String,
    /// The candidate whose worst breach was smallest.
    pub closest: Option<Evaluation>,
}

/// One design's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignRow {
    /// `push`, `hybrid@10000`, ...
    pub label: String,
    /// The design.
    pub design: Design,
    /// `met`, `unmet` or `pruned`.
    pub status: String,
    /// Its cheapest counts, when met.
    pub counts: Option<Counts>,
    /// Their $/month when met; the floors' when pruned.
    pub usd_per_month: Option<f64>,
    /// Feed p99 of its answer, ms.
    pub feed_p99_ms: Option<f64>,
    /// Why it is unmet or pruned.
    pub reason: Option<String>,
}

/// A point of the frontier plot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// `push`, `hybrid@10000`, ...
    pub label: String,
    /// Its counts.
    pub counts: Counts,
    /// $/month.
    pub usd_per_month: f64,
    /// Feed p99, ms.
    pub feed_p99_ms: f64,
    /// Whether every target held.
    pub good: bool,
}

/// The cheapest deployment at another load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sensitivity {
    /// Multiplier on the scenario's peak (the headroom applies on top).
    pub load: f64,
    /// The cheapest answer found at it.
    pub answer: Option<Answer>,
    /// Why there is none.
    pub message: Option<String>,
}

/// Bandwidth at the scenario's peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bandwidth {
    /// Uploads in, Gbit/s.
    pub ingress_peak_gbps: f64,
    /// Photo bytes out without a CDN, Gbit/s.
    pub egress_peak_gbps: f64,
    /// Photo bytes out of the origin behind the answer's CDN, Gbit/s.
    pub origin_egress_peak_gbps_with_cdn: f64,
    /// The CDN hit ratio used.
    pub cdn_hit_ratio: f64,
}

/// How much work the search did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchStats {
    /// Candidate runs.
    pub simulations: usize,
    /// Probe runs.
    pub probes: u32,
    /// Populations built (each shard count and CDN ratio needs its own).
    pub populations_built: u64,
    /// Wall time of the whole search, s.
    pub wall_s: f64,
}

/// `tune.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneReport {
    /// feedlab version.
    pub feedlab: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed of every search run.
    pub seed: u64,
    /// Where and when.
    pub provenance: Option<Provenance>,
    /// The catalogue priced from.
    pub catalogue: String,
    /// Machine of each role.
    pub machines: Machines,
    /// The targets.
    pub targets: Targets,
    /// Every target must hold at this multiple of the peak.
    pub headroom: f64,
    /// Model seconds per run at the headroom load.
    pub window_s: f64,
    /// The cheapest deployment meeting every target, if any.
    pub answer: Option<Answer>,
    /// Why there is none.
    pub unmet: Option<Unmet>,
    /// Every design's outcome.
    pub designs: Vec<DesignRow>,
    /// Runs at the headroom load meeting every target but perhaps feed p99, Pareto-optimal in
    /// ($/month, feed p99), cheapest first.
    pub frontier: Vec<Point>,
    /// Every run at the headroom load (the plot's cloud).
    pub evaluated: Vec<Point>,
    /// The cheapest deployment at each sensitivity load.
    pub sensitivity: Vec<Sensitivity>,
    /// Bandwidth at the peak.
    pub bandwidth: Bandwidth,
    /// The plan's read servers (per-core throughput), for comparison.
    pub plan_read_servers: u64,
    /// Search effort.
    pub search: SearchStats,
}

impl TuneReport {
    /// Writes `out/tune.json`.
    pub fn save(&self, out: &Path) -> anyhow::Result<()> {
        let p = out.join("tune.json");
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(&p, json).with_context(|| format!("writing {}", p.display()))
    }
}

/// A run as a plot point.
pub fn point(e: &Evaluation) -> Point {
    Point {
        label: e.design.label(),
        counts: e.counts,
        usd_per_month: e.bill.total_usd,
        feed_p99_ms: e.feed_p99_ms,
        good: e.good,
    }
}

/// The Pareto frontier of `runs` in ($/month, feed p99): runs meeting every target but
/// feed p99, each cheaper or faster than every other, cheapest first.
pub fn frontier(runs: &[&Evaluation]) -> Vec<Point> {
    let mut pts: Vec<Point> = runs
        .iter()
        .filter(|e| e.meets_all_but_feed() && e.feed_p99_ms.is_finite())
        .map(|e| point(e))
        .collect();
    pts.sort_by(|a, b| {
        a.usd_per_month
            .total_cmp(&b.usd_per_month)
            .then(a.feed_p99_ms.total_cmp(&b.feed_p99_ms))
    });
    let mut out: Vec<Point> = Vec::new();
    for p in pts {
        if out.last().is_none_or(|l| p.feed_p99_ms < l.feed_p99_ms) {
            out.push(p);
        }
    }
    out
}
