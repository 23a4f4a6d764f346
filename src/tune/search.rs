//! The search for the cheapest counts of one design at one load.
//!
//! 1. **Probe** ([`super::demand`]): one run with nothing queueing gives each role's demand;
//!    a count below a role's floor (mean utilisation ≥ 1) is excluded without simulation,
//!    and a design whose cheapest floor costs more than the best answer so far is pruned.
//! 2. **A deployment that meets the targets**: start where the busiest node of every role
//!    runs at 60%; while a run breaks a target, double the roles of its saturated resources
//!    (or of its bottleneck). A run that breaks a latency target with nothing near
//!    saturation cannot be fixed with more machines: the design cannot meet it.
//! 3. **Trim** each role in turn (the dearest unit first) by bisection between its floor and
//!    its current count, the others held. Meeting the targets is nearly monotone in every
//!    count (a node more never slows the model down), so the result is minimal in each role:
//!    one unit less of any role breaks a target (or is under that role's floor). Near saturation
//!    the model is not strictly monotone, so a later trim can leave an earlier role a spare
//!    unit: one unit less of each role is run with the final counts, and a role that still
//!    meets is trimmed again.
//!
//! Every run of one search uses one seed (common random numbers), so two counts differ only
//! by their resources, not by the op stream.

mod steps;

use std::collections::HashMap;

use serde::Serialize;

use super::cost::{Traffic, bill};
use super::demand::{Demand, demand, probe_spec};
use super::eval::{Evaluation, evaluate, spec_for};
use super::space::{Counts, Design, Role, Space};
use crate::plan::catalogue::Catalogue;
use crate::sim::SimExecutor;
use crate::spec::RunSpec;
pub use steps::describe;

/// Busiest-node utilisation the search starts from.
const START_UTILISATION: f64 = 0.6;

/// What the search needs besides the executor.
pub struct Context<'a> {
    /// The scenario's base run (targets, traffic, `[sim]`).
    pub base: &'a RunSpec,
    /// The design space.
    pub space: &'a Space,
    /// Prices.
    pub catalogue: &'a Catalogue,
    /// The traffic's monthly bill at load 1.
    pub traffic: Traffic,
    /// Shards the metadata needs for its bytes (the plan's count), the shard role's floor.
    pub storage_shards: u32,
    /// `[tune] max-dropped`.
    pub max_dropped: f64,
    /// Model seconds per run at the headroom load.
    pub window_s: f64,
    /// Shortest window.
    pub min_window_s: f64,
    /// The headroom load (the window's reference).
    pub headroom: f64,
}

/// Why one unit less of a role is not enough.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinusOne {
    /// The role.
    pub role: Role,
    /// The count one unit below the answer's.
    pub count: u32,
    /// What rules it out: the breaches of its run, or the floor it is under.
    pub reason: String,
}

/// The search's outcome for one design at one load.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The cheapest counts found, and why one unit less of each role fails.
    Met {
        /// The run of the answer.
        best: Box<Evaluation>,
        /// One unit less, per role (roles at their lower bound are absent).
        minus_one: Vec<MinusOne>,
        /// The probe's demand.
        demand: Demand,
    },
    /// No counts within the bounds meet the targets.
    Unmet {
        /// Why.
        reason: String,
        /// The run that came closest (smallest worst breach), if any ran.
        closest: Option<Box<Evaluation>>,
    },
    /// Not searched: even its floors cost more than an answer already found (a design whose
    /// floors cost the same is searched: it may tie at a lower feed p99).
    Pruned {
        /// The floors' bill, $/month.
        floor_usd: f64,
    },
}

/// The searcher: the executor, its population cache, and every run so far.
pub struct Searcher<'a> {
    ctx: Context<'a>,
    exec: SimExecutor,
    memo: HashMap<String, Evaluation>,
    /// Every candidate run, in order.
    pub runs: Vec<Evaluation>,
    /// Probe runs.
    pub probes: u32,
}

impl<'a> Searcher<'a> {
    /// A searcher keeping up to `populations` populations alive.
    pub fn new(ctx: Context<'a>, populations: usize) -> Searcher<'a> {
        Searcher {
            ctx,
            exec: SimExecutor::with_cache(populations),
            memo: HashMap::new(),
            runs: Vec::new(),
            probes: 0,
        }
    }

    /// Populations built so far.
    pub fn populations_built(&self) -> u64 {
        self.exec.populations_built()
    }

    /// The headroom load.
    pub fn headroom(&self) -> f64 {
        self.ctx.headroom
    }

    /// The seed of every search run.
    pub fn seed(&self) -> u64 {
        self.ctx.base.seed
    }

    /// The run spec of `counts` of `design` at `load`, as [`Searcher::run`] simulates it.
    pub fn spec_of(&self, design: &Design, counts: &Counts, load: f64) -> RunSpec {
        let c = &self.ctx;
        spec_for(
            c.base,
            &c.space.machines,
            design,
            counts,
            load,
            self.window(load),
        )
    }

    /// The model seconds of one run at `load`.
    pub fn window(&self, load: f64) -> f64 {
        (self.ctx.window_s * self.ctx.headroom / load).max(self.ctx.min_window_s)
    }

    /// Runs (or recalls) `counts` of `design` at `load` with `seed`.
    pub fn run(
        &mut self,
        design: &Design,
        counts: Counts,
        load: f64,
        seed: u64,
    ) -> anyhow::Result<Evaluation> {
        let key = format!(
            "{}|{counts:?}|{load}|{seed}",
            serde_json::to_string(design)?
        );
        if let Some(e) = self.memo.get(&key) {
            return Ok(e.clone());
        }
        let c = &self.ctx;
        let mut spec = spec_for(
            c.base,
            &c.space.machines,
            design,
            &counts,
            load,
            self.window(load),
        );
        spec.seed = seed;
        let load_of_bill = load / c.headroom;
        let b = bill(
            c.catalogue,
            &c.space.machines,
            &c.traffic,
            design,
            &counts,
            load_of_bill,
        );
        let e = evaluate(
            &mut self.exec,
            &spec,
            c.max_dropped,
            design,
            &counts,
            load,
            b,
        )?;
        eprintln!(
            "tune: {} x{load:.2}: {} ${:.0}/month feed p99 {:.2} ms fresh p99 {:.0} ms, {} {:.0}%",
            spec.variant,
            if e.good { "meets" } else { "breaks" },
            e.bill.total_usd,
            e.feed_p99_ms,
            e.freshness_p99_ms,
            e.bottleneck,
            100.0 * e.bottleneck_utilisation
        );
        self.memo.insert(key, e.clone());
        self.runs.push(e.clone());
        Ok(e)
    }

    /// The demand of `design` at `load`, from one probe run.
    fn probe(&mut self, design: &Design, load: f64) -> anyhow::Result<Demand> {
        let c = &self.ctx;
        let (lo_s, hi_s) = c.space.limit(Role::Shards);
        let s0 = (c.base.system.sharding.shards as u32)
            .max(c.storage_shards)
            .clamp(lo_s, hi_s);
        let b0 = c
            .base
            .sim
            .deployment
            .blob_nodes
            .clamp(1, c.space.limit(Role::BlobNodes).1);
        let counts = Counts {
            shards: s0,
            read_servers: 1,
            write_servers: 1,
            blob_nodes: b0,
        };
        let spec = spec_for(
            c.base,
            &c.space.machines,
            design,
            &counts,
            load,
            self.window(load),
        );
        let spec = probe_spec(&spec);
        let run = self.exec.evaluate(&spec)?;
        self.probes += 1;
        let uses = super::eval::uses(&run.report, spec.duration_s);
        Ok(demand(&uses, &counts, &c.space.machines, c.base))
    }

    /// The cheapest counts of `design` at `load`, each within `precision` × itself (0: to the
    /// unit); `best_usd` prunes a design whose floors cost more.
    pub fn solve(
        &mut self,
        design: &Design,
        load: f64,
        best_usd: Option<f64>,
        precision: f64,
    ) -> anyhow::Result<Outcome> {
        let demand = self.probe(design, load)?;
        let mut floor = Counts::all(1);
        let mut cur = Counts::all(1);
        for role in Role::ALL {
            let (lo, hi) = self.ctx.space.limit(role);
            let mut f = demand.floor(role).max(lo);
            if role == Role::Shards {
                f = f.max(self.ctx.storage_shards);
            }
            if f > hi {
                let reason = format!(
                    "{} needs at least {f} {} at x{load:.2} (utilisation < 100%), the bound allows {hi}",
                    design.label(),
                    role.name()
                );
                return Ok(Outcome::Unmet {
                    reason,
                    closest: None,
                });
            }
            floor = floor.with(role, f);
            cur = cur.with(role, demand.start(role, START_UTILISATION).clamp(f, hi));
        }
        let c = &self.ctx;
        let floor_bill = bill(
            c.catalogue,
            &c.space.machines,
            &c.traffic,
            design,
            &floor,
            load / c.headroom,
        );
        if let Some(best) = best_usd
            && floor_bill.total_usd > best
        {
            return Ok(Outcome::Pruned {
                floor_usd: floor_bill.total_usd,
            });
        }
        let seed = self.ctx.base.seed;
        let mut best = match self.grow(design, cur, load, seed)? {
            Ok(e) => e,
            Err(why) => {
                let closest = self
                    .runs
                    .iter()
                    .filter(|e| e.design == *design && e.load == load)
                    .min_by(|a, b| a.worst_excess().total_cmp(&b.worst_excess()))
                    .cloned()
                    .map(Box::new);
                let reason = format!(
                    "no deployment of {} within the bounds meets every target at x{load:.2}: {why}",
                    design.label()
                );
                return Ok(Outcome::Unmet { reason, closest });
            }
        };
        let mut minus_one = Vec::new();
        for role in Role::ALL {
            let (found, m) = self.trim(design, &best, role, floor.get(role), load, precision)?;
            best = found;
            minus_one.extend(m);
        }
        let best = self.retrim(best, &mut minus_one, &floor, precision)?;
        Ok(Outcome::Met {
            best: Box::new(best),
            minus_one,
            demand,
        })
    }
}
