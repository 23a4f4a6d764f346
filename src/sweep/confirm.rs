//! Which trial of a live step's load counts (`sweep.confirm`).
//!
//! A shared machine stalls now and then: other tenants, the hypervisor. A live step that
//! breaks is run again, since a design that breaks at a load breaks there every time. When
//! a simulated twin will be judged against the ladder (`sweep.predict`), a step in which the
//! host stole CPU (its probe's stolen seconds, [`Step::stolen_s`]) is run again too, even a
//! good one: its latencies measured the neighbours as well as the design, and the first
//! step's in-situ calibration prices the twin's every op. So is a calibration step whose
//! CPU per op strayed beyond [`MAX_CPU_DRIFT`] from its own burst's at the same load seconds
//! later: the machine's speed moved under it. Simulated steps are deterministic and never
//! rerun.
//!
//! Of the trials, a good one beats a broken one (a load that held once holds: the host only
//! takes CPU away); among trials with the same verdict, the one with fewer stolen seconds
//! wins, then the one whose CPU drift lies less beyond the bound, and among those, the first
//! good trial or the last broken one. The trials not kept are listed in [`Step::retried`].

use std::path::Path;

use crate::exec::Executor;
use crate::spec::{Mode, RunSpec};

use super::table;
use super::verdict::Step;

/// Runs `spec` at `load` and judges it, with up to `sweep.confirm` more trials of a live
/// step (each in its own directory, `x<load>-r<n>`) while the best trial so far broke or,
/// when predicting, the host stole CPU from it or its calibration drifted
/// ([`rerun_because`]).
pub(super) fn confirmed_step(
    spec: &RunSpec,
    load: f64,
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Step> {
    let mut step = super::step_of(spec, load, out, exec, "")?;
    let trials = if spec.mode == Mode::Live {
        spec.sweep.confirm
    } else {
        0
    };
    for n in 1..=trials {
        let Some(why) = rerun_because(&step, spec.sweep.predict) else {
            break;
        };
        eprintln!(
            "{}{why} (trial {n} of {trials} more)",
            table::step_line(&spec.variant, &step)
        );
        let again = super::step_of(spec, load, out, exec, &format!("-r{n}"))?;
        let (mut kept, mut other) = if prefer(&again, &step) {
            (again, step)
        } else {
            (step, again)
        };
        // One of the two is fresh and has no trials of its own; the other's came first.
        kept.retried.append(&mut other.retried);
        kept.retried.push(other.into_retried());
        step = kept;
    }
    Ok(step)
}

/// How far a calibration step's CPU per op may stray from its burst's at the same load,
/// as a ratio either way, before the step is measured again ([`Step::cpu_drift`]).
pub const MAX_CPU_DRIFT: f64 = 1.25;

/// How far beyond [`MAX_CPU_DRIFT`] `step`'s CPU drift lies, in log terms; 0 within it or
/// when not measured.
fn drift_excess(step: &Step) -> f64 {
    step.cpu_drift
        .filter(|d| *d > 0.0)
        .map_or(0.0, |d| (d.ln().abs() - MAX_CPU_DRIFT.ln()).max(0.0))
}

/// Why `step` should be run again, if it should: it broke, or (when `predict`) the host
/// stole CPU in some of its seconds, or its CPU per op strayed from its burst's.
fn rerun_because(step: &Step, predict: bool) -> Option<&'static str> {
    if !step.good {
        Some("")
    } else if predict && step.stolen_s > 0 {
        Some(", measured again for the twin")
    } else if predict && drift_excess(step) > 0.0 {
        Some(", the machine's speed moved: measured again for the twin")
    } else {
        None
    }
}

/// Whether trial `b`, run after `a`, should count instead of it.
fn prefer(b: &Step, a: &Step) -> bool {
    match (b.good, a.good) {
        (true, false) => true,
        (false, true) => false,
        // Same verdict: fewer stolen seconds, then less CPU drift beyond the bound; on a tie
        // the first good trial or the last broken one.
        (good, _) => {
            let key = |s: &Step| (s.stolen_s, drift_excess(s));
            match key(b).partial_cmp(&key(a)) {
                Some(std::cmp::Ordering::Less) => true,
                Some(std::cmp::Ordering::Equal) => !good,
                _ => false,
            }
        }
    }
}
