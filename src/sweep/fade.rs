//! The twin's wake-up fade, measured by the calibration burst.
//!
//! Each transport of the twin keeps a wake-up wait that fades as its node gets busier
//! (`feedlab_sim::model::TransportWake`). How fast it fades is a property of the host and of
//! the op: on one scaled ladder live's photo views at ×16 ran at half their ×1 time, while
//! its feeds fell less, and on the quickstart's ladders neither fell much from ×1 to ×4. A
//! decay fitted across recorded ladders carries from one host to another only by luck.
//!
//! The calibration burst measures it: its two phases run on the same warmed service, at the
//! calibration step's load and at `driver.calibration-burst` times it, and the calibration's
//! `[burst]` keeps each op kind's p50 in both. [`fit`] runs the twin at those two loads and
//! finds, per kind, the decay at which the twin's p50 falls (or rises) between them by what
//! live's did: the base load once, then the burst's load [`ROUNDS`] times, bisecting each
//! kind's decay in `[0, MAX_DECAY]` (the decay moves only the op's own wait, not the box's
//! CPU, so the kinds barely move each other). A kind whose twin already falls as far at
//! decay 0 keeps 0: the fade cannot make an op slower. The fitted decays go into the twin's
//! `sim.transport-wake.kinds`, and the sweep reports them.

use std::collections::BTreeMap;
use std::path::Path;

use feedlab_sim::model::Calibration;

use crate::exec::Executor;
use crate::spec::RunSpec;
use crate::summary::Summary;

/// The largest decay tried: `exp(-8)` of the wait is left at the burst's load.
pub const MAX_DECAY: f64 = 8.0;

/// Runs of the twin at the burst's load after the first (at decay 0): each halves every
/// kind's interval, so the decay is found to `MAX_DECAY / 2^ROUNDS`.
pub const ROUNDS: u32 = 7;

/// Fewest ops of a kind in the twin's base run for its p50 to be fitted on.
const MIN_OPS: u64 = 50;

/// How far (in log p50) the twin's fall between the two loads may be from the burst's
/// before a kind is fitted: about the burst's own noise. On the quickstart's ladders the
/// p50 ratio of a 5 s burst and that of the ladder's own ×1 and ×4 steps differ by 10–15%,
/// and fitting within that moved 5 of 212 cells out of 20% (BENCHMARKS.md).
pub const NOISE: f64 = 0.1;

/// Fits the wake-up decay of each op kind that `twin`'s calibration burst measured (see
/// the module docs), with runs under `out/fade/<variant>/`, the calibration step at `load`;
/// sets them in `twin.sim.transport-wake.kinds` and returns them. `None`, with `twin`
/// unchanged, when `sweep.wake-from-burst` is off, the calibration has no `[burst]` or no
/// `[cpu-fall]`, the twin has no wake-up share, or no kind needed fitting.
pub(super) fn fit(
    twin: &mut RunSpec,
    load: f64,
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Option<BTreeMap<String, f64>>> {
    let on = twin.sweep.wake_from_burst && twin.sim.cpu_fall;
    let Some(path) = twin.calibration.clone().filter(|_| on) else {
        return Ok(None);
    };
    let cal = Calibration::load(&path)?;
    let (Some(burst), Some(_)) = (cal.burst, cal.cpu_fall) else {
        return Ok(None);
    };
    if twin.sim.transport_wake.share == 0.0 {
        return Ok(None);
    }
    let dir = out.join("fade").join(&twin.variant);
    let base = exec.run(&super::at_load(twin, load), &dir.join("base"))?;
    let want: BTreeMap<&String, f64> = (burst.p50_ms.iter())
        .filter(|(kind, _)| p50(&base, kind).is_some())
        .map(|(kind, [b, h])| (kind, (h / b).ln()))
        .collect();
    if want.is_empty() {
        return Ok(None);
    }
    let given = twin.sim.transport_wake.kinds.clone();
    let high_load = load * burst.load;
    // As the scenario gives it: the kinds the twin already meets within the noise stay so.
    let first = exec.run(&super::at_load(twin, high_load), &dir.join("as-given"))?;
    let mut bounds: BTreeMap<&String, [f64; 2]> = (want.iter())
        .filter(|(kind, w)| fall(&base, &first, kind).is_some_and(|g| (g - *w).abs() > NOISE))
        .map(|(k, _)| (*k, [0.0, MAX_DECAY]))
        .collect();
    for round in 0..=ROUNDS {
        if bounds.is_empty() {
            twin.sim.transport_wake.kinds = given;
            return Ok(None);
        }
        let trial: BTreeMap<&String, f64> = (bounds.iter())
            .map(|(k, [lo, hi])| (*k, if round == 0 { 0.0 } else { (lo + hi) / 2.0 }))
            .collect();
        set(twin, &given, &trial);
        let high = exec.run(
            &super::at_load(twin, high_load),
            &dir.join(format!("r{round}")),
        )?;
        bounds.retain(|kind, _| fall(&base, &high, kind).is_some());
        for (kind, [lo, hi]) in bounds.iter_mut() {
            let (got, d) = (fall(&base, &high, kind).unwrap_or(0.0), trial[kind]);
            match (got > want[kind], round) {
                (false, 0) => *hi = 0.0,
                (true, _) => *lo = d,
                (false, _) => *hi = d,
            }
        }
    }
    let fitted: BTreeMap<&String, f64> = (bounds.iter())
        .map(|(k, [lo, hi])| (*k, (lo + hi) / 2.0))
        .collect();
    set(twin, &given, &fitted);
    Ok(Some(
        fitted.into_iter().map(|(k, d)| (k.clone(), d)).collect(),
    ))
}

/// The log of the twin's p50 of `kind` in `high` over its p50 in `base`, when both ran
/// [`MIN_OPS`] times.
fn fall(base: &Summary, high: &Summary, kind: &str) -> Option<f64> {
    Some((p50(high, kind)? / p50(base, kind)?).ln())
}

/// The twin's p50 of `kind` in `s`, ms, when it ran [`MIN_OPS`] times.
fn p50(s: &Summary, kind: &str) -> Option<f64> {
    let op = s.ops.get(kind)?;
    (op.count >= MIN_OPS && op.p50_ms > 0.0).then_some(op.p50_ms)
}

/// Sets `twin`'s per-kind decays to `given` (the scenario's own) with `decays` over them.
fn set(twin: &mut RunSpec, given: &BTreeMap<String, f64>, decays: &BTreeMap<&String, f64>) {
    let mut kinds = given.clone();
    kinds.extend(decays.iter().map(|(k, d)| ((*k).clone(), *d)));
    twin.sim.transport_wake.kinds = kinds;
}

/// `decays` for the sweep's prediction, after a line on the terminal that lists them.
pub(super) fn report(variant: &str, decays: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let list: Vec<String> = (decays.iter())
        .map(|(k, d)| format!("{k} {d:.2}"))
        .collect();
    println!(
        "sweep: {variant}: wake-up decay per op kind from the calibration burst: {}",
        list.join(", ")
    );
    decays
}

#[cfg(test)]
mod tests;
