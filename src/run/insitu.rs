//! The in-situ calibration of a live run: the service times of every storage call made while
//! the driver ran (recorded by `feedlab_system::timing`), written next to the run's summary as
//! `calibration.toml` in the format `feedlab calibrate` writes, so that `feedlab sim` can
//! extrapolate from what the service actually paid rather than from a small synthetic store.
//!
//! Each recorded op is split into size classes by powers of two (1, 2–3, 4–7, …), pooled
//! upwards into groups of at least [`MIN_SAMPLES`] calls (see [`points`]). A group becomes one
//! calibration point at the mean size of its calls, with their mean CPU time (`cpu-mean-ms`);
//! the simulator interpolates between points and extrapolates beyond the largest, so a run's
//! few videos price the rest of the video sizes. Ops the run did not exercise often enough, and those no store call
//! measures (`merge`, `request`, `dispatch`), are taken from the base calibration: the
//! scenario's `calibration` file, else the built-in figures.
//!
//! The provenance's `other-cores` is the CPU other processes on the host used meanwhile
//! (see [`other_cores`]), so a prediction from it can say that the box was not quiet.
//!
//! Two more ops hold CPU that no call measures, each as a mean per op issued: `generator`,
//! the load generator's driver loop (it shares the process and the cores), and `background`,
//! the rest of the process's CPU while the driver ran (flushes, compaction, the runtime,
//! work of ops no timed call saw), i.e. process CPU less every recorded call's, op's and the
//! generator's and the ops' transport. An op's transport, `http-<kind>` (the HTTP client and
//! server work on its path), has as CPU its mean latency at the driver less its mean time in
//! the service's handler and its generator CPU, capped by the process's CPU left (see
//! [`cpu_ops`]), and as time the gap between the two distributions (see `spread.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use feedlab_sim::model::{CalibOp, Calibration};
use feedlab_system::timing::{Recorder, Sample, Total};
use feedlab_workload::RunStats;

use super::burst::{Burst, burst_p50, cpu_fall};
use super::rise::transport_rise;
use super::spread::transport_quantiles;
use crate::calibrate::{provenance, quantiles, summarize_cpu};
use crate::spec::RunSpec;
use crate::summary::Summary;

/// Fewest calls in a group of sizes for it to become a calibration point.
pub const MIN_SAMPLES: usize = 20;

/// Fewest calls in the largest sizes' group (a run's few videos, say) for it to become a point
/// of its own; fewer join the group below.
pub const MIN_TAIL_SAMPLES: usize = 5;

/// The calibration points of one op from its samples, smallest size first; empty when fewer
/// than [`MIN_SAMPLES`] calls were recorded. Power-of-two size classes are pooled upwards into
/// groups of at least [`MIN_SAMPLES`] calls; a last group of [`MIN_TAIL_SAMPLES`] or more is
/// a point too. Each point sits at its group's mean size with its calls' mean CPU, so a
/// cost that grows linearly with size keeps its slope whatever the grouping.
pub fn points(op: &str, samples: &[Sample]) -> Vec<CalibOp> {
    let mut classes: BTreeMap<u32, Vec<Sample>> = BTreeMap::new();
    for &(size, ns, cpu) in samples {
        let size = size.max(1);
        classes
            .entry(size.ilog2())
            .or_default()
            .push((size, ns, cpu));
    }
    let mut groups: Vec<Vec<Sample>> = Vec::new();
    let mut open: Vec<Sample> = Vec::new();
    for class in classes.into_values() {
        open.extend(class);
        if open.len() >= MIN_SAMPLES {
            groups.push(std::mem::take(&mut open));
        }
    }
    match groups.last_mut() {
        Some(_) if open.len() >= MIN_TAIL_SAMPLES => groups.push(open),
        Some(last) => last.extend(open),
        None => {}
    }
    groups
        .into_iter()
        .map(|g| {
            let mean = g.iter().map(|s| f64::from(s.0)).sum::<f64>() / g.len() as f64;
            let n = (mean.round() as u32).max(1);
            summarize_cpu(op, n, g.into_iter().map(|(_, ns, cpu)| (ns, cpu)).collect())
        })
        .collect()
}

/// Ops the driver issued (completed, failed or dropped).
pub fn issued(stats: &RunStats) -> u64 {
    feedlab_workload::OpKind::ALL
        .iter()
        .map(|&k| {
            let s = stats.kind(k);
            s.latency.len() + s.errors.values().sum::<u64>() + s.dropped
        })
        .sum()
}

/// A CPU-only op: `cpu_ns` over `count` ops as a point mass at the mean.
fn cpu_op(op: &str, count: u64, cpu_ns: u64) -> CalibOp {
    let ms = cpu_ns as f64 / count.max(1) as f64 / 1e6;
    CalibOp {
        op: op.into(),
        n: 1,
        count,
        mean_ms: ms,
        quantiles_ms: vec![(0.0, ms), (1.0, ms)],
        cpu_mean_ms: Some(ms),
    }
}

/// Cores' worth of CPU the host's other processes used while the run recorded: the host's
/// busy time less this process's, over the wall time (`host` is [`Recorder::host`]'s busy
/// and wall ms); `None` when nothing was measured.
pub fn other_cores(host: (u64, u64), process_cpu_ns: u64) -> Option<f64> {
    let (busy_ms, wall_ms) = host;
    if wall_ms == 0 || busy_ms == 0 {
        return None;
    }
    let others = busy_ms as f64 - process_cpu_ns as f64 / 1e6;
    Some((others / wall_ms as f64).max(0.0))
}

/// The process's cores used, CPU per op issued (ms, less the machine-speed probe's) and
/// context switches per op issued while `recorder` recorded; `None` where not measured.
pub fn per_op(recorder: &Recorder) -> (Option<f64>, Option<f64>, Option<f64>) {
    let totals = recorder.totals();
    let issued = totals.get("generator").map_or(0, |t| t.count);
    let probe = totals.get("probe").map_or(0, |t| t.cpu_ns);
    let cpu_ns = recorder.process_cpu_ns().saturating_sub(probe);
    let wall_ms = recorder.host().1;
    let cores = (wall_ms > 0).then(|| cpu_ns as f64 / 1e6 / wall_ms as f64);
    if issued == 0 {
        return (cores, None, None);
    }
    let (n, switches) = (issued as f64, recorder.process_switches());
    let per_op = (switches > 0).then(|| switches as f64 / n);
    (cores, Some(cpu_ns as f64 / 1e6 / n), per_op)
}

/// Successful ops of one kind: how many, and their mean time in ms.
pub type Timed = (u64, f64);

/// The `generator`, `background` and `http-<kind>` ops from the recorder's totals, the process
/// CPU used while it recorded, each kind's mean latency at the driver (`latency`) and mean
/// wall time in the service's handler (`handler`); none when nothing was issued.
///
/// An op's transport (`http-<kind>`) is its driver latency less its handler time and its
/// generator CPU: the client's and server's HTTP work and the loopback, counted as CPU on the
/// op's path. It comes out of the unattributed CPU, so the ops' CPU still adds up to the
/// process's; when the gaps add up to more than that, they are scaled down to it.
pub fn cpu_ops(
    totals: &BTreeMap<String, Total>,
    process_cpu_ns: u64,
    latency: &BTreeMap<String, Timed>,
    handler: &BTreeMap<String, Timed>,
) -> Vec<CalibOp> {
    let Some(generator) = totals.get("generator").filter(|g| g.count > 0) else {
        return Vec::new();
    };
    let accounted: u64 = totals.values().map(|t| t.cpu_ns).sum();
    let unattributed = process_cpu_ns.saturating_sub(accounted);
    let generator_ms = generator.cpu_ns as f64 / generator.count as f64 / 1e6;
    let gaps: Vec<(&str, u64, f64)> = latency
        .iter()
        .filter_map(|(kind, &(n, ms))| {
            let (_, inside) = handler.get(kind)?;
            let gap = ms - inside - generator_ms;
            (n as usize >= MIN_SAMPLES && gap > 0.0).then_some((kind.as_str(), n, gap))
        })
        .collect();
    let gap_ns: f64 = gaps.iter().map(|&(_, n, ms)| n as f64 * ms * 1e6).sum();
    let scale = if gap_ns > unattributed as f64 {
        unattributed as f64 / gap_ns
    } else {
        1.0
    };
    let mut ops = vec![cpu_op("generator", generator.count, generator.cpu_ns)];
    let mut transport_ns = 0u64;
    for (kind, n, ms) in gaps {
        let ns = (n as f64 * ms * 1e6 * scale) as u64;
        transport_ns += ns;
        ops.push(cpu_op(&format!("http-{kind}"), n, ns));
    }
    ops.push(cpu_op(
        "background",
        generator.count,
        unattributed.saturating_sub(transport_ns),
    ));
    ops
}

/// Gives each `http-<kind>` op of `cpu` the time of its kind's latency less its handler time
/// (see [`transport_quantiles`]; `handlers` holds each kind's handler wall times, ns), its
/// measured CPU kept as `cpu-mean-ms`; an op whose figures are missing keeps its single
/// value, all CPU.
fn spread_transport(cpu: &mut [CalibOp], summary: &Summary, handlers: BTreeMap<String, Vec<u64>>) {
    let generator_ms = cpu
        .iter()
        .find(|o| o.op == "generator")
        .map_or(0.0, |o| o.mean_ms);
    for op in cpu.iter_mut() {
        let Some(kind) = op.op.strip_prefix("http-") else {
            continue;
        };
        let (Some(driver), Some(mut ns)) = (summary.ops.get(kind), handlers.get(kind).cloned())
        else {
            continue;
        };
        ns.sort_unstable();
        let handler_ms = ns.iter().map(|&x| x as f64).sum::<f64>() / ns.len().max(1) as f64 / 1e6;
        let time_ms = driver.mean_ms - handler_ms - generator_ms;
        let h = quantiles(&ns);
        if let Some(t) =
            transport_quantiles(&driver.percentiles, &h, generator_ms, time_ms, op.mean_ms)
        {
            op.cpu_mean_ms = Some(op.mean_ms);
            op.quantiles_ms = t.quantiles;
            op.mean_ms = t.mean_ms;
        }
    }
}

/// The calibration points of every recorded op that has any, by op name.
pub fn measured(recorded: &BTreeMap<String, Vec<Sample>>) -> BTreeMap<&str, Vec<CalibOp>> {
    recorded
        .iter()
        .map(|(op, samples)| (op.as_str(), points(op, samples)))
        .filter(|(_, pts)| !pts.is_empty())
        .collect()
}

/// `base` with every op of `measured` replaced by its points, and the `extra` ops replacing
/// the base's of the same names.
pub fn merge(
    base: &Calibration,
    measured: &BTreeMap<&str, Vec<CalibOp>>,
    extra: Vec<CalibOp>,
) -> Calibration {
    let mut ops: Vec<CalibOp> = base
        .ops
        .iter()
        .filter(|o| !measured.contains_key(o.op.as_str()))
        .filter(|o| !extra.iter().any(|e| e.op == o.op))
        .cloned()
        .collect();
    ops.extend(measured.values().flatten().cloned());
    ops.extend(extra);
    Calibration {
        provenance: base.provenance.clone(),
        ops,
        cpu_fall: None,
        transport_rise: None,
        burst: None,
    }
}

/// The provenance's sentence on a calibration burst.
fn burst_note(b: &Burst) -> String {
    let phase = |p: &super::burst::Phase| {
        let latency: Vec<String> = (p.latency.iter())
            .map(|(kind, (_, q))| {
                let ms: Vec<String> = q.iter().map(|(_, ms)| format!("{ms:.3}")).collect();
                format!("{kind} {}", ms.join("/"))
            })
            .collect();
        format!(
            "x{} for {:.1} s, {} ops ran ({} dropped), {:.4} ms process CPU per op that ran, \
             {:.2} cores, probe {:.1} µs, latency ms at p50/p75/p90/p95/p99: {}",
            p.load,
            p.seconds,
            p.ran,
            p.dropped,
            p.cpu_per_op_ms().unwrap_or(0.0),
            p.cores().unwrap_or(0.0),
            p.probe_us.unwrap_or(0.0),
            latency.join(", ")
        )
    };
    format!(
        " Calibration burst: {}; then {}.",
        phase(&b.base),
        phase(&b.high)
    )
}

/// Writes `vdir/calibration.toml` for the live run of `spec` from what `recorder` holds
/// (it is emptied).
pub fn save(
    spec: &RunSpec,
    vdir: &Path,
    recorder: &Recorder,
    summary: &Summary,
    burst: Option<&Burst>,
) -> anyhow::Result<()> {
    let base = match &spec.calibration {
        Some(p) => Calibration::load(p)?,
        None => Calibration::builtin(),
    };
    let recorded = recorder.take();
    let by_op = measured(&recorded);
    let latency = summary
        .ops
        .iter()
        .map(|(k, o)| (k.clone(), (o.count, o.mean_ms)))
        .collect();
    let mut cpu = cpu_ops(
        &recorder.totals(),
        recorder.process_cpu_ns(),
        &latency,
        &recorder.handler_ms(),
    );
    let handlers = recorder.handler_samples();
    let generator_ms = cpu
        .iter()
        .find(|o| o.op == "generator")
        .map_or(0.0, |o| o.mean_ms);
    spread_transport(&mut cpu, summary, handlers.clone());
    let cpu_note = cpu
        .iter()
        .map(|o| {
            let cpu = o.cpu_mean_ms.unwrap_or(o.mean_ms);
            format!("{} {cpu:.4} ms CPU per op", o.op)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut cal = merge(&base, &by_op, cpu);
    let calls: usize = recorded.values().map(Vec::len).sum();
    let mut prov = provenance(calls);
    let from_run: Vec<String> = by_op
        .iter()
        .map(|(op, pts)| format!("{op} ({})", pts.iter().map(|p| p.count).sum::<u64>()))
        .collect();
    prov.backend = format!("{:?} + {:?}", spec.system.meta, spec.system.blob).to_lowercase();
    prov.notes = format!(
        "in-situ: service times and thread CPU times of the storage calls made while the \
         driver ran, live run of variant {:?} of scenario {:?}, seed {}, {} s; from the run: \
         {}; {}; other ops from {}. Base provenance: {}",
        spec.variant,
        spec.scenario,
        spec.seed,
        spec.duration_s,
        from_run.join(", "),
        cpu_note,
        spec.calibration.as_ref().map_or_else(
            || "the built-in figures".into(),
            |p| p.display().to_string()
        ),
        cal.provenance.notes,
    );
    prov.date = provenance(0).date;
    prov.other_cores = other_cores(recorder.host(), recorder.process_cpu_ns());
    (prov.process_cores, prov.cpu_per_op_ms, prov.switches_per_op) = per_op(recorder);
    if let Some(b) = burst {
        cal.cpu_fall = cpu_fall(recorder, prov.cores, b, spec.sweep.twin_speed_exponent);
        cal.transport_rise =
            (cal.cpu_fall.as_ref()).and_then(|f| transport_rise(f, b, &handlers, generator_ms));
        cal.burst = burst_p50(b);
        prov.saturated_cores = b.high.saturated_cores();
        prov.burst_cpu_per_op_ms = b.base.cpu_per_op_ms();
        prov.notes.push_str(&burst_note(b));
    }
    cal.provenance = prov;
    let path = vdir.join("calibration.toml");
    std::fs::create_dir_all(vdir)?;
    std::fs::write(&path, cal.to_toml()?).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
#[path = "insitu_tests.rs"]
mod tests;
