//! Which trial of a live step's load counts (`sweep.confirm`).
//!
//! A shared machine stalls now and then: other tenants, the hypervisor. A live step that
//! breaks is run again, since a design that breaks at a load breaks there every time. When
//! a simulated twin will be judged against the ladder (`sweep.predict`), a step in which the
//! host stole CPU (its probe's stolen seconds, [`Step::stolen_s`]) is run again too, even a
//! good one: its latencies measured the neighbours as well as the design, and the first
//! step's in-situ calibration prices the twin's every op. Simulated steps are deterministic
//! and never rerun.
//!
//! Of the trials, a good one beats a broken one (a load that held once holds: the host only
//! takes CPU away); among trials with the same verdict, the one with fewer stolen seconds
//! wins, and among those, the first good trial or the last broken one. The trials not kept
//! are listed in [`Step::retried`].

use std::path::Path;

use crate::exec::Executor;
use crate::spec::{Mode, RunSpec};

use super::table;
use super::verdict::Step;

/// Runs `spec` at `load` and judges it, with up to `sweep.confirm` more trials of a live
/// step (each in its own directory, `x<load>-r<n>`) while the best trial so far broke or,
/// when predicting, the host stole CPU from it.
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

/// Why `step` should be run again, if it should: it broke, or (when `predict`) the host
/// stole CPU in some of its seconds.
fn rerun_because(step: &Step, predict: bool) -> Option<&'static str> {
    if !step.good {
        Some("")
    } else if predict && step.stolen_s > 0 {
        Some(", measured again for the twin")
    } else {
        None
    }
}

/// Whether trial `b`, run after `a`, should count instead of it.
fn prefer(b: &Step, a: &Step) -> bool {
    match (b.good, a.good) {
        (true, false) => true,
        (false, true) => false,
        // Both good: fewer stolen seconds, else keep the first. Both broken: fewer stolen
        // seconds, else the last.
        (good, _) => b.stolen_s < a.stolen_s || (!good && b.stolen_s == a.stolen_s),
    }
}
