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
//!    its current count, the others held. Meeting the targets is monotone in every count (a
//!    node more never slows the model down), so the result is minimal in each role: one
//!    unit less of any role breaks a target (or is under that role's floor), and trimming a
//!    later role never makes an earlier one's unit spare.
//!
//! Every run of one search uses one seed (common random numbers), so two counts differ only
//! by their resources, not by the op stream.

use std::collections::HashMap;

use serde::Serialize;

use super::cost::{Traffic, bill};
use super::demand::{Demand, demand, probe_spec};
use super::eval::{Evaluation, SATURATED, evaluate, role_of, spec_for};
use super::space::{Counts, Design, Role, Space};
use crate::plan::catalogue::Catalogue;
use crate::sim::SimExecutor;
use crate::spec::RunSpec;

/// Busiest-node utilisation the search starts from.
const START_UTILISATION: f64 = 0.6;
/// Doublings tried before a design is declared unable to meet the targets.
const MAX_GROWTH: u32 = 8;
/// Below this utilisation of its bottleneck, a latency breach is not a capacity problem.
const IDLE: f64 = 0.5;

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
    /// Not searched: even its floors cost more than an answer already found.
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
            && floor_bill.total_usd >= best
        {
            return Ok(Outcome::Pruned {
                floor_usd: floor_bill.total_usd,
            });
        }
        let seed = self.ctx.base.seed;
        let Some(mut best) = self.grow(design, cur, load, seed)? else {
            let closest = self
                .runs
                .iter()
                .filter(|e| e.design == *design && e.load == load)
                .min_by(|a, b| a.worst_excess().total_cmp(&b.worst_excess()))
                .cloned()
                .map(Box::new);
            let reason = format!(
                "no deployment of {} within the bounds meets every target at x{load:.2}",
                design.label()
            );
            return Ok(Outcome::Unmet { reason, closest });
        };
        let mut minus_one = Vec::new();
        for role in Role::ALL {
            let (found, m) = self.trim(design, &best, role, floor.get(role), load, precision)?;
            best = found;
            minus_one.extend(m);
        }
        Ok(Outcome::Met {
            best: Box::new(best),
            minus_one,
            demand,
        })
    }

    /// Re-runs each simulated "one unit less" of `best` with `best`'s final counts: a later
    /// trim may have lowered the counts an earlier role's was judged with (it still fails, by
    /// monotonicity; this shows it with the answer's own counts).
    pub fn confirm(&mut self, best: &Evaluation, minus_one: &mut [MinusOne]) -> anyhow::Result<()> {
        for m in minus_one.iter_mut() {
            if m.reason.starts_with("under") {
                continue;
            }
            let less = best.counts.with(m.role, m.count);
            let e = self.run(&best.design, less, best.load, best.seed)?;
            m.reason = describe(&e);
        }
        Ok(())
    }

    /// From `cur`, doubles the roles behind each failure until a run meets the targets;
    /// `None` when the bounds or the latency floor stop it.
    fn grow(
        &mut self,
        design: &Design,
        mut cur: Counts,
        load: f64,
        seed: u64,
    ) -> anyhow::Result<Option<Evaluation>> {
        for _ in 0..MAX_GROWTH {
            let e = self.run(design, cur, load, seed)?;
            if e.good {
                return Ok(Some(e));
            }
            if e.bottleneck_utilisation < IDLE {
                // Nothing is busy: the breach is the design's latency floor.
                return Ok(None);
            }
            let mut roles: Vec<Role> = e
                .resources
                .iter()
                .filter(|r| r.utilisation >= SATURATED * 0.9)
                .flat_map(|r| Self::roles_for(&r.name))
                .collect();
            if roles.is_empty() {
                roles = Self::roles_for(&e.bottleneck);
            }
            let mut uniq: Vec<Role> = Vec::new();
            for r in roles {
                if !uniq.contains(&r) {
                    uniq.push(r);
                }
            }
            let mut grew = false;
            for role in uniq {
                let hi = self.ctx.space.limit(role).1;
                let n = cur.get(role);
                let next = n.saturating_mul(2).min(hi);
                if next > n {
                    cur = cur.with(role, next);
                    grew = true;
                }
            }
            if !grew {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The roles that relieve resource `name`: both app-server sides for the app servers'
    /// resources (the trim takes back the side that did not need it).
    fn roles_for(name: &str) -> Vec<Role> {
        match role_of(name) {
            Some(Role::ReadServers) => vec![Role::ReadServers, Role::WriteServers],
            Some(r) => vec![r],
            None => Vec::new(),
        }
    }

    /// Bisects `role` between `floor` and `best`'s count (the others held) until the bracket
    /// is one unit, or `precision` × the count when that is more; returns the cheapest run
    /// that meets the targets and why one unit less does not (when the bracket closed).
    fn trim(
        &mut self,
        design: &Design,
        best: &Evaluation,
        role: Role,
        floor: u32,
        load: f64,
        precision: f64,
    ) -> anyhow::Result<(Evaluation, Option<MinusOne>)> {
        let seed = best.seed;
        let mut good = best.clone();
        let mut hi = best.counts.get(role);
        let mut lo = floor.saturating_sub(1); // known or assumed to fail
        let mut failed: Option<Evaluation> = None;
        while hi - lo > ((f64::from(hi) * precision) as u32).max(1) {
            let mid = lo + (hi - lo) / 2;
            let e = self.run(design, good.counts.with(role, mid), load, seed)?;
            if e.good {
                hi = mid;
                good = e;
            } else {
                lo = mid;
                failed = Some(e);
            }
        }
        let bound = self.ctx.space.limit(role).0;
        let minus = if hi <= bound || hi - lo > 1 {
            None
        } else {
            let reason = match failed.filter(|f| f.counts.get(role) == hi - 1) {
                Some(f) => describe(&f),
                None if role == Role::Shards && hi <= self.ctx.storage_shards => {
                    format!(
                        "under the {} shards the metadata's bytes need",
                        self.ctx.storage_shards
                    )
                }
                None => "under the role's floor: mean utilisation ≥ 100%".to_string(),
            };
            Some(MinusOne {
                role,
                count: hi - 1,
                reason,
            })
        };
        Ok((good, minus))
    }
}

/// A failed run's breaches in words.
pub fn describe(e: &Evaluation) -> String {
    if e.good {
        return "meets every target".into();
    }
    e.breaches
        .iter()
        .map(|b| match &b.resource {
            Some(r) => format!("{r} saturated ({:.0}%)", 100.0 * b.value),
            None => format!("{} {:.3} > {:.3}", b.target, b.value, b.limit),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
