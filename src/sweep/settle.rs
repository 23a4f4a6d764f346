//! The twin's calibration step, settled.
//!
//! An in-situ calibration measures each op's transport (`http-<kind>`) as the driver's latency
//! less the handler's time. On a box of a few cores that time already holds the op's waits
//! for a core at the calibration step's load. The twin draws the transport and then queues
//! its CPU, and the handler's, on its own cores; so at the very load it was calibrated at it
//! counts that queueing twice. On two ladders of a 2-core host its feed and view p50 and p99
//! at the calibration step came out 11–13% above live's, and on 64 simulated cores within 1%
//! (BENCHMARKS.md, 2026-12-06 23:09).
//!
//! Settling removes the double count. The twin runs the calibration step itself; each
//! transport's quantiles move by [`STEP`] of the gap between the twin's percentile of that
//! op and the live step's, at the same probability (from the median up, and the median's
//! gap below it); and this repeats for `sweep.settle-rounds` rounds, so that the twin
//! reproduces the step it was calibrated on with its own queueing in place. A live
//! transport's CPU is its time as far as the process's unaccounted CPU covers it, so it
//! holds the same waits: where the moved time falls below it, the transport is all CPU, and
//! the CPU it no longer holds runs as `background` (per op issued, off the op's path, and
//! following the measured fall as the transports' CPU does), so that the box's CPU per op,
//! and the knee it sets, stay as measured. The settled calibration is written beside the
//! sweep's steps (`settle/<variant>/calibration.toml`), its notes saying so, and the twin's
//! ladder reads it. Over two ladders it took the twin's signed mean log error at ×1 from
//! +0.08 / +0.09 (p50 / p99) to 0.00 / +0.02, and at ×4 from +0.13 / +0.07 to +0.03 / +0.02
//! (BENCHMARKS.md, 2026-12-07 02:10).
//!
//! With `sweep.settle-cpu` (the default) each round also settles the box's CPU
//! ([`settle_cpu`]): the in-situ calibration's CPU per op adds up to the live process's, yet
//! the twin's cores ran 0.93–0.96 of live's at that very step on the quickstart's ladders
//! CB–CG, and its knees came late by as much or more (CE's push +30%). The shortfall, per op
//! issued, joins `background`. Replayed over CB–CG it took the knees within 15% from 16 to
//! 18 of 18 (mean abs error 5.9% to 3.2%), the judged cells staying at 135 of 148 and their
//! p50 error falling from 0.070 to 0.066 (BENCHMARKS.md, 2026-12-08 00:20).
//!
//! Before the rounds, with `sweep.settle-reads` (the default), each read call of the
//! calibration ([`READS`]: the store's reads and the handlers of feeds, views and searches)
//! is made as long as its CPU. On the calibration box the quickstart's reads come from memory
//! (the page cache and the store's block cache), so what such a call took beyond its CPU was
//! a wait for a thread to wake and for a core; the twin's cores queue the call's CPU again,
//! and the settled transports carry the waking, which fades with load
//! ([`feedlab_sim::model::TransportWake`]). Writes keep their waits: those are fsyncs. The
//! box's CPU per op is unchanged. On CB and CC, replayed, it took the twin's judged cells
//! from 41 to 45 of 48 and their mean abs log error at p99 from 0.137 to 0.115, knees and
//! onsets as they were (BENCHMARKS.md, 2026-12-07 18:45); out of sample, on the live ladders
//! CD and CE, 43 of 48 against 42 replayed without it, p99 error 0.117 against 0.140.

use std::path::Path;

use anyhow::Context;
use feedlab_sim::model::{CalibOp, Calibration};

use crate::exec::Executor;
use crate::run::deconv::at;
use crate::spec::RunSpec;
use crate::summary::{OpStats, Summary};

use super::result::SettledOp;

/// The live ops of fewer completions than this at the calibration step move no transport:
/// their percentiles are too coarse to settle on.
const MIN_OPS: u64 = 200;

/// The share of the gap a transport moves by in one round: an op's percentile is a
/// transport's and a handler's drawn apart, so moving the transport by the whole gap
/// overshoots where the handler makes the tail.
const STEP: f64 = 0.5;

/// How far the twin's calibration step was from live's, per op: `(op, [p50, p99])` as the
/// twin's over live's, less 1.
pub type Gaps = Vec<(String, [f64; 2])>;

/// Settles `twin` (whose `calibration` is the live calibration step's file) on the summary
/// of that step at `live`, at load `load`: with `twin.sweep.settle-reads`, first runs its
/// read calls as their CPU ([`drop_read_waits`]); then for `rounds` rounds, each running the
/// twin at that load under `out/settle/r<round>/` and moving the transports (see the module
/// docs). The calibration is written to `out/settle/<variant>/calibration.toml`, which
/// `twin` then reads. Returns the gaps before the first round and after the last; with 0
/// rounds, nothing runs (and without `settle-reads`, `twin` is unchanged).
pub(super) fn settle(
    twin: &mut RunSpec,
    live: &Path,
    load: f64,
    rounds: u32,
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Option<(Gaps, Gaps)>> {
    let reads = twin.sweep.settle_reads;
    if rounds == 0 && !reads {
        return Ok(None);
    }
    let path = twin
        .calibration
        .clone()
        .context("the twin has no calibration")?;
    let mut cal = Calibration::load(&path)?;
    let settled = out
        .join("settle")
        .join(&twin.variant)
        .join("calibration.toml");
    let mut notes = Vec::new();
    if reads {
        let n = drop_read_waits(&mut cal);
        notes.push(format!(
            "{n} read call(s) run as their CPU alone (feedlab sweep, sweep.settle-reads)"
        ));
        save(&cal, &settled, &notes)?;
        twin.calibration = Some(settled.clone());
    }
    if rounds == 0 {
        return Ok(None);
    }
    let live = &Summary::load(live)?;
    let (mut first, mut added_ms) = (None, 0.0);
    for round in 0..rounds {
        let run = super::at_load(twin, load);
        let dir = out.join("settle").join(format!("r{round}"));
        let sim = exec.run(&run, &dir)?;
        first.get_or_insert_with(|| gaps(live, &sim));
        shift(&mut cal, live, &sim);
        let mut round_note = format!(
            "transports settled in {} round(s) on the twin's own queueing at the calibration \
             step (feedlab sweep, sweep.settle-rounds)",
            round + 1
        );
        if twin.sweep.settle_cpu {
            added_ms += settle_cpu(&mut cal, live, &sim);
            round_note.push_str(&format!(
                ", and {added_ms:+.4} ms of background CPU per op issued to run that step at \
                 the live process's cores (sweep.settle-cpu)"
            ));
        }
        save(&cal, &settled, &[notes.as_slice(), &[round_note]].concat())?;
        twin.calibration = Some(settled.clone());
    }
    let last = exec.run(
        &super::at_load(twin, load),
        &out.join("settle").join("settled"),
    )?;
    Ok(first.map(|f| (f, gaps(live, &last))))
}

/// The settled ops of `before` and `after` (as [`settle`] returns them) for the sweep's
/// report, and a line on stderr for the twin `variant`: each op's p50 and p99 gap before and
/// after.
pub(super) fn report(variant: &str, before: &Gaps, after: &Gaps) -> Vec<SettledOp> {
    let ops: Vec<SettledOp> = (before.iter())
        .filter_map(|(op, b)| {
            let (_, a) = after.iter().find(|(o, _)| o == op)?;
            Some(SettledOp {
                op: op.clone(),
                before: *b,
                after: *a,
            })
        })
        .collect();
    let pct = |e: f64| format!("{:+.0}%", e * 100.0);
    let line: Vec<String> = (ops.iter())
        .map(|o| {
            let [b, a] = [o.before, o.after].map(|g| format!("{}/{}", pct(g[0]), pct(g[1])));
            format!("{} {b} → {a}", o.op)
        })
        .collect();
    eprintln!(
        "sweep: {variant}: settled on its calibration step (p50/p99 against live): {}",
        line.join(", ")
    );
    ops
}

/// Writes `cal` to `path`, its provenance notes followed by `notes` (what settling did).
fn save(cal: &Calibration, path: &Path, notes: &[String]) -> anyhow::Result<()> {
    let mut cal = cal.clone();
    let note = notes.join("; ");
    cal.provenance.notes = if cal.provenance.notes.is_empty() {
        note
    } else {
        format!("{}; {note}", cal.provenance.notes)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::write(path, cal.to_toml()?).with_context(|| path.display().to_string())
}

/// The calls a twin runs as their CPU alone with `sweep.settle-reads` (see the module docs):
/// the metadata store's reads, the blob store's reads, and the handler steps of the read ops.
pub const READS: [&str; 7] = [
    "get",
    "batch-get",
    "scan",
    "blob-get",
    "app-feed",
    "app-photo_get",
    "app-search",
];

/// Makes each entry of a [`READS`] call in `cal` whose CPU was measured, and is below its
/// time, as long as its CPU: its quantiles and mean scaled by its CPU over its mean, so that
/// its CPU share becomes 1 and its CPU stays as measured. Returns how many entries changed.
pub fn drop_read_waits(cal: &mut Calibration) -> usize {
    let mut changed = 0;
    for op in (cal.ops.iter_mut()).filter(|o| READS.contains(&o.op.as_str())) {
        let Some(cpu) = op.cpu_mean_ms.filter(|c| *c > 0.0 && *c < op.mean_ms) else {
            continue;
        };
        let r = cpu / op.mean_ms;
        op.quantiles_ms.iter_mut().for_each(|q| q.1 *= r);
        op.mean_ms = cpu;
        changed += 1;
    }
    changed
}

/// The twin's p50 and p99 over live's, less 1, of each op both measured.
pub fn gaps(live: &Summary, sim: &Summary) -> Gaps {
    (live.ops.iter())
        .filter(|(_, l)| l.count >= MIN_OPS && l.p50_ms > 0.0 && l.p99_ms > 0.0)
        .filter_map(|(op, l)| {
            let s = sim.ops.get(op)?;
            let gap = [s.p50_ms / l.p50_ms - 1.0, s.p99_ms / l.p99_ms - 1.0];
            Some((op.clone(), gap))
        })
        .collect()
}

/// Moves each `http-<kind>` op of `cal` by the gap between `sim`'s percentiles of `kind` and
/// `live`'s (see the module docs), and gives the CPU that leaves the transports to
/// `background`; returns how many moved.
pub fn shift(cal: &mut Calibration, live: &Summary, sim: &Summary) -> usize {
    let (mut moved, mut freed_ms) = (0, 0.0);
    for op in &mut cal.ops {
        let Some(kind) = op.op.strip_prefix("http-") else {
            continue;
        };
        let (Some(l), Some(s)) = (live.ops.get(kind), sim.ops.get(kind)) else {
            continue;
        };
        if l.count < MIN_OPS {
            continue;
        }
        let (Some(l), Some(s)) = (probabilities(l), probabilities(s)) else {
            continue;
        };
        if let Some(freed) = move_op(op, |p| STEP * (at(&s, p) - at(&l, p))) {
            moved += 1;
            freed_ms += freed * op.count as f64;
        }
    }
    if let Some(bg) = cal.ops.iter_mut().find(|o| o.op == "background")
        && bg.count > 0
        && freed_ms > 0.0
    {
        let add = freed_ms / bg.count as f64;
        bg.mean_ms += add;
        bg.cpu_mean_ms = Some(bg.cpu_mean_ms.unwrap_or(0.0) + add);
        bg.quantiles_ms.iter_mut().for_each(|q| q.1 += add);
    }
    moved
}

/// Gives `cal`'s `background` the CPU per op issued by which `sim`'s cores fell short of the
/// live process's at the calibration step (`cal`'s `process-cores`), or takes back what they
/// ran over, never below none; returns the ms per op added (negative: taken). Ops issued per
/// second are `live`'s completions over its measured seconds. Nothing moves without both
/// figures or a `background` op.
///
/// The in-situ calibration's CPU per op adds up to the live process's, yet the twin's cores
/// run less of it at that very step (on the quickstart's ladders CB–CG, 0.93–0.96 of live's;
/// on CG's pull 0.976 with neither the CPU fall nor settling, 0.948 with the fall, which is
/// anchored at the burst's first phase rather than the window), and its knee comes late by as
/// much or more. Settling the CPU here prices the box as measured.
pub fn settle_cpu(cal: &mut Calibration, live: &Summary, sim: &Summary) -> f64 {
    let live_cores = cal.provenance.process_cores.filter(|c| *c > 0.0);
    let twin_cores = sim
        .sim
        .as_ref()
        .and_then(|s| s.cpu_cores)
        .filter(|c| *c > 0.0);
    let ops: u64 = live.ops.values().map(|o| o.count).sum();
    let per_s = ops as f64 / live.duration_s;
    let (Some(l), Some(t)) = (live_cores, twin_cores) else {
        return 0.0;
    };
    let Some(bg) = cal.ops.iter_mut().find(|o| o.op == "background") else {
        return 0.0;
    };
    if !(per_s.is_finite() && per_s > 0.0) {
        return 0.0;
    }
    let add = ((l - t) / per_s * 1e3).max(-bg.mean_ms);
    bg.mean_ms += add;
    bg.cpu_mean_ms = Some(bg.cpu_mean_ms.unwrap_or(0.0) + add);
    bg.quantiles_ms
        .iter_mut()
        .for_each(|q| q.1 = (q.1 + add).max(0.0));
    add
}

/// An op's percentiles as `(p, ms)`, `p` in 0..=1; `None` when it has fewer than two.
fn probabilities(stats: &OpStats) -> Option<Vec<(f64, f64)>> {
    let q: Vec<(f64, f64)> = (stats.percentiles.iter())
        .map(|&(pct, ms)| (pct / 100.0, ms))
        .collect();
    (q.len() >= 2).then_some(q)
}

/// Moves `op`'s quantiles down by `gap(p)` (from the median up; the median's below it),
/// keeping them non-negative and non-decreasing, with the mean recomputed. A live transport's
/// CPU is its time, capped by the process's CPU that no call accounts for; where the moved
/// time falls below it, the CPU is the moved time and the rest is returned, CPU per op that
/// runs off the op's path. `None` (and `op` untouched) when the op has no CPU measured or
/// the moved shape has no mass.
fn move_op(op: &mut CalibOp, gap: impl Fn(f64) -> f64) -> Option<f64> {
    let cpu = op.cpu_mean_ms.filter(|c| *c > 0.0)?;
    let mut floor = 0.0f64;
    let pts: Vec<(f64, f64)> = (op.quantiles_ms.iter())
        .map(|&(p, v)| {
            floor = floor.max(v - gap(p.max(0.5)));
            (p, floor)
        })
        .collect();
    let mean = crate::run::spread::mean(&pts);
    if !(mean.is_finite() && mean > 0.0) {
        return None;
    }
    op.quantiles_ms = pts;
    op.mean_ms = mean;
    op.cpu_mean_ms = Some(cpu.min(mean));
    Some((cpu - mean).max(0.0))
}

#[cfg(test)]
mod tests;
