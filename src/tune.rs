//! `feedlab tune SCENARIO`: the cheapest deployment that meets every target (feed p99,
//! freshness p99, no drops) at the scenario's peak × a headroom (default 1.5), searched over
//! the design space with the calibrated simulator at full scale.
//!
//! The space (`space`, from `[tune]`, `config`): fan-out strategy and hybrid threshold, shard
//! count, read and write app servers, blob nodes, cache entries, replication factor and CDN
//! hit ratio, each fixed or bounded by the scenario. Per design, `search` probes the demand,
//! excludes counts under each role's floor, grows to a deployment that meets the targets and
//! bisects each count down; a design whose floors already cost more than the best answer is
//! pruned. Populations are cached across runs (`SimExecutor::with_cache`), since a population
//! depends on the shard count and the CDN ratio but not on the rest.
//!
//! Output in `--out` (default `out/tune/<scenario>`): `tune.json` (`result`), `report.md`
//! and `report.html` with the frontier plotted. When no deployment in the space meets the
//! targets, both are written with the closest candidate and the command fails (exit 1).

pub mod config;
mod cost;
mod demand;
mod eval;
pub mod result;
mod search;
mod space;

use std::time::Instant;

use anyhow::Context as _;

pub use config::TuneConfig;
pub use result::TuneReport;
pub use space::Space;

use crate::cli::UserError;
use crate::plan::catalogue::Catalogue;
use crate::scenario::ScenarioArgs;
use eval::Evaluation;
use result::{
    Answer, Bandwidth, DesignRow, Recheck, Saturating, SearchStats, Sensitivity, Targets,
};
use search::{Context, Outcome, Searcher};

/// Arguments of `feedlab tune`.
#[derive(clap::Args, Debug, Clone)]
pub struct TuneArgs {
    /// Scenario, seed, output directory (default `out/tune/<scenario>`) and `--set`s.
    #[command(flatten)]
    pub common: ScenarioArgs,
}

/// How close to its minimum each count of a sensitivity answer is bisected (a share of the
/// count; the answer at the peak is bisected to the unit).
const SENSITIVITY_PRECISION: f64 = 0.05;

/// Runs `feedlab tune`.
pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let scenario = args.common.load()?;
    let doc = scenario.base();
    refuse_faults(&args.common.scenario, doc)?;
    let base = scenario.base_spec();
    let catalogue = Catalogue::load(doc.plan.catalogue.as_deref()).map_err(UserError)?;
    let space = Space::resolve(doc, &catalogue).map_err(|(k, m)| {
        UserError(format!("{}: tune.{k}: {m}", args.common.scenario.display()))
    })?;
    let plan = crate::plan::compute(scenario.name(), doc).map_err(UserError)?;
    let t = &doc.tune;
    let out = args
        .common
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out("tune", scenario.name()));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let ctx = context(&base, &space, &catalogue, &plan, t);
    let mut s = Searcher::new(ctx, t.populations);
    let (designs, met) = solve_all(&mut s, &space.designs, t.headroom, 0.0)?;
    let answer = cheapest(&mut s, &met)?;
    let answer = match answer {
        Some(a) => Some(recheck(&mut s, a, &out)?),
        None => None,
    };
    let unmet = answer
        .is_none()
        .then(|| unmet_of(&s, t.headroom, &doc.target));
    let sensitivity = sensitivity(&mut s, &met, t)?;
    let hit = answer
        .as_ref()
        .map_or(catalogue.cdn.hit_ratio, |a| a.design.cdn_hit_ratio);
    let mut report = TuneReport {
        feedlab: env!("CARGO_PKG_VERSION").into(),
        scenario: scenario.name().into(),
        seed: base.seed,
        provenance: Some(crate::summary::Provenance::of(&base)),
        catalogue: format!("{} ({})", catalogue.catalogue.name, catalogue.file),
        machines: space.machines.clone(),
        targets: Targets {
            feed_p99_ms: base.target.feed_p99_ms,
            freshness_p99_s: base.target.freshness_p99_s,
            max_dropped: t.max_dropped,
            max_errors: base.sweep.max_errors,
        },
        headroom: t.headroom,
        window_s: t.window_s,
        frontier: Vec::new(),
        evaluated: Vec::new(),
        answer,
        unmet,
        designs,
        sensitivity,
        bandwidth: Bandwidth {
            ingress_peak_gbps: plan.network.ingress_peak_gbps,
            egress_peak_gbps: plan.network.egress_peak_gbps,
            origin_egress_peak_gbps_with_cdn: plan.network.egress_peak_gbps * (1.0 - hit),
            cdn_hit_ratio: hit,
        },
        plan_read_servers: plan.web.read_servers,
        search: SearchStats {
            simulations: s.runs.len(),
            probes: s.probes,
            populations_built: s.populations_built(),
            wall_s: started.elapsed().as_secs_f64(),
        },
    };
    let at_headroom: Vec<&Evaluation> = s
        .runs
        .iter()
        .filter(|e| e.load == t.headroom && e.seed == base.seed)
        .collect();
    report.frontier = result::frontier(&at_headroom);
    report.evaluated = at_headroom.iter().map(|e| result::point(e)).collect();
    write(&out, &report)
}

/// The search's context: the base run, the space, prices, the plan's traffic and storage
/// floor, and the `[tune]` settings.
/// `tune` sizes a deployment for steady load: a scenario with `[[faults]]` is refused at the
/// first one's line (exit 2) rather than sized without them.
fn refuse_faults(
    path: &std::path::Path,
    doc: &crate::scenario::ScenarioDoc,
) -> Result<(), UserError> {
    if doc.faults.is_empty() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("[[faults]]"))
        .map_or(String::new(), |i| format!(":{}", i + 1));
    Err(UserError(format!(
        "{}{line}: faults: tune sizes a deployment for steady load and applies no [[faults]]; \
         remove them to size this scenario",
        path.display()
    )))
}

fn context<'a>(
    base: &'a crate::spec::RunSpec,
    space: &'a Space,
    catalogue: &'a Catalogue,
    plan: &crate::plan::CapacityPlan,
    t: &TuneConfig,
) -> Context<'a> {
    Context {
        base,
        space,
        catalogue,
        traffic: cost::Traffic::of(plan),
        storage_shards: u32::try_from(plan.shards.metadata_shards).unwrap_or(u32::MAX),
        max_dropped: t.max_dropped,
        window_s: t.window_s,
        min_window_s: t.min_window_s,
        headroom: t.headroom,
    }
}

/// The answer re-run at the next seed, and written as `out/answer/spec.json` (which
/// `feedlab compare` re-runs).
fn recheck(s: &mut Searcher<'_>, mut a: Answer, out: &std::path::Path) -> anyhow::Result<Answer> {
    let load = s.headroom();
    let e = s.run(&a.design, a.counts, load, s.seed().wrapping_add(1))?;
    a.recheck = Some(Recheck {
        seed: e.seed,
        good: e.good,
        feed_p99_ms: e.feed_p99_ms,
        freshness_p99_ms: e.freshness_p99_ms,
        breaches: e.breaches.clone(),
    });
    let spec = s.spec_of(&a.design, &a.counts, load);
    crate::summary::write_json(&out.join("answer").join("spec.json"), &spec)?;
    Ok(a)
}

/// Writes `tune.json` and the report, prints the answer; fails when there is none.
fn write(out: &std::path::Path, report: &TuneReport) -> anyhow::Result<()> {
    report.save(out)?;
    crate::report::tune::write(out, report)?;
    print!("{}", crate::report::tune::summary_text(report));
    eprintln!(
        "wrote {}/tune.json and report.md, report.html",
        out.display()
    );
    match &report.unmet {
        Some(u) => anyhow::bail!("{}", u.message),
        None => Ok(()),
    }
}

/// Solves every design at `load`, cheapest answers pruning dearer designs; returns a row per
/// design and the met outcomes.
fn solve_all(
    s: &mut Searcher<'_>,
    designs: &[space::Design],
    load: f64,
    precision: f64,
) -> anyhow::Result<(Vec<DesignRow>, Vec<Outcome>)> {
    let mut rows = Vec::new();
    let mut met = Vec::new();
    let mut best: Option<f64> = None;
    for d in designs {
        let o = s.solve(d, load, best, precision)?;
        let mut row = DesignRow {
            label: d.label(),
            design: d.clone(),
            status: String::new(),
            counts: None,
            usd_per_month: None,
            feed_p99_ms: None,
            reason: None,
        };
        match &o {
            Outcome::Met { best: e, .. } => {
                row.status = "met".into();
                row.counts = Some(e.counts);
                row.usd_per_month = Some(e.bill.total_usd);
                row.feed_p99_ms = Some(e.feed_p99_ms);
                best = Some(best.map_or(e.bill.total_usd, |b: f64| b.min(e.bill.total_usd)));
                met.push(o.clone());
            }
            Outcome::Unmet { reason, .. } => {
                row.status = "unmet".into();
                row.reason = Some(reason.clone());
            }
            Outcome::Pruned { floor_usd } => {
                row.status = "pruned".into();
                row.usd_per_month = Some(*floor_usd);
                row.reason = Some(format!(
                    "its floors cost ${floor_usd:.0}/month, more than an answer already found"
                ));
            }
        }
        rows.push(row);
    }
    Ok((rows, met))
}

/// The cheapest met outcome (at equal cost, the lower feed p99) as an answer, its "one unit
/// less" runs confirmed.
fn cheapest(s: &mut Searcher<'_>, met: &[Outcome]) -> anyhow::Result<Option<Answer>> {
    let best = met
        .iter()
        .filter_map(|o| match o {
            Outcome::Met {
                best,
                minus_one,
                demand,
            } => Some((best, minus_one, demand)),
            _ => None,
        })
        .min_by(|a, b| {
            let (a, b) = (&a.0, &b.0);
            (a.bill.total_usd.total_cmp(&b.bill.total_usd))
                .then(a.feed_p99_ms.total_cmp(&b.feed_p99_ms))
        });
    let Some((best, minus_one, demand)) = best else {
        return Ok(None);
    };
    let mut minus_one = minus_one.clone();
    s.confirm(best, &mut minus_one)?;
    Ok(Some(answer_of(best, &minus_one, demand)))
}

/// The answer of a met design: its run, what saturates and what one unit less breaks.
fn answer_of(e: &Evaluation, minus_one: &[search::MinusOne], demand: &demand::Demand) -> Answer {
    let role = eval::role_of(&e.bottleneck).map(|r| {
        if r != space::Role::ReadServers {
            return r;
        }
        // App resources: the side whose nodes carry more of the demand.
        let per = |side: &str, n: u32| {
            demand
                .resources
                .iter()
                .filter(|d| d.resource == format!("{}/{side}", e.bottleneck))
                .map(|d| d.mean_nodes / f64::from(n.max(1)))
                .fold(0.0, f64::max)
        };
        if per("write", e.counts.write_servers) > per("read", e.counts.read_servers) {
            space::Role::WriteServers
        } else {
            space::Role::ReadServers
        }
    });
    Answer {
        design: e.design.clone(),
        label: e.design.label(),
        counts: e.counts,
        usd_per_month: e.bill.total_usd,
        bill: e.bill,
        feed_p99_ms: e.feed_p99_ms,
        freshness_p99_ms: e.freshness_p99_ms,
        dropped_fraction: e.dropped_fraction,
        saturating: Saturating {
            resource: e.bottleneck.clone(),
            utilisation: e.bottleneck_utilisation,
            role,
        },
        minus_one: minus_one.to_vec(),
        recheck: None,
    }
}

/// "No deployment in the space meets every target", with the closest candidate.
fn unmet_of(s: &Searcher<'_>, load: f64, target: &crate::spec::TargetSettings) -> result::Unmet {
    let closest = s
        .runs
        .iter()
        .filter(|e| e.load == load)
        .min_by(|a, b| a.worst_excess().total_cmp(&b.worst_excess()))
        .cloned();
    let near = closest.as_ref().map_or_else(
        || "no candidate could be run (every design's floor is above its bounds)".to_string(),
        |c| {
            format!(
                "closest candidate: {} with {} shards, {} read, {} write servers, {} blob nodes (${:.0}/month): {}",
                c.design.label(),
                c.counts.shards,
                c.counts.read_servers,
                c.counts.write_servers,
                c.counts.blob_nodes,
                c.bill.total_usd,
                search::describe(c)
            )
        },
    );
    result::Unmet {
        message: format!(
            "no deployment in the space meets every target (feed p99 ≤ {} ms, freshness p99 ≤ {} s, no drops) at x{load}; {near}",
            target.feed_p99_ms, target.freshness_p99_s
        ),
        closest,
    }
}

/// The cheapest deployment at each `[tune] sensitivity` load, over the designs that met the
/// targets at the peak (the cheapest `sensitivity-designs` of them).
fn sensitivity(
    s: &mut Searcher<'_>,
    met: &[Outcome],
    t: &TuneConfig,
) -> anyhow::Result<Vec<Sensitivity>> {
    let mut designs: Vec<(f64, f64, space::Design)> = met
        .iter()
        .filter_map(|o| match o {
            Outcome::Met { best, .. } => {
                Some((best.bill.total_usd, best.feed_p99_ms, best.design.clone()))
            }
            _ => None,
        })
        .collect();
    // Cheapest first; at equal cost the lower feed p99, as the answer's tie-break.
    designs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let designs: Vec<space::Design> = designs
        .into_iter()
        .take(t.sensitivity_designs)
        .map(|d| d.2)
        .collect();
    let mut rows = Vec::new();
    for &k in &t.sensitivity {
        if designs.is_empty() {
            rows.push(Sensitivity {
                load: k,
                answer: None,
                message: Some("no design met the targets at the peak".into()),
            });
            continue;
        }
        let (_, met_k) = solve_all(s, &designs, k * t.headroom, SENSITIVITY_PRECISION)?;
        let answer = cheapest(s, &met_k)?;
        let message = answer.is_none().then(|| {
            format!("no deployment of the peak's best designs meets every target at {k}× the load")
        });
        rows.push(Sensitivity {
            load: k,
            answer,
            message,
        });
    }
    Ok(rows)
}
