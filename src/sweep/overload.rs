//! Past the knee (`sweep.overload`): after a variant's ladder has found its knee, one step at
//! each listed multiple of it, and the share of the ladder's peak goodput each step kept.
//!
//! A design with working admission control keeps serving near its peak when offered 2× or 4×
//! what it can take (the excess is refused fast or dropped); one whose queues grow without
//! bound serves less the more it is offered. Goodput counts every op kind completed without
//! error per second. The overload steps are kept apart from the ladder's steps, so they never
//! move the knee.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::result::VariantSweep;
use super::verdict::Step;
use crate::exec::Executor;
use crate::spec::RunSpec;

/// One step past the knee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverloadStep {
    /// Multiple of the knee's load.
    pub multiple: f64,
    /// Ops completed without error per second, all kinds.
    pub goodput_per_s: f64,
    /// That goodput ÷ the highest goodput of the ladder's own steps.
    pub share_of_peak: f64,
    /// The step, at the knee's load × `multiple`.
    pub step: Step,
}

/// Ops completed without error per second at `step`, all kinds.
pub fn goodput(step: &Step) -> f64 {
    step.ops.values().map(|o| o.served_per_s).sum()
}

/// Runs one step at each of `spec.sweep.overload` times `v`'s knee, when the ladder found a
/// knee below its top; none otherwise.
pub fn run(
    spec: &RunSpec,
    v: &VariantSweep,
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Vec<OverloadStep>> {
    let Some(knee) = v.knee.as_ref().filter(|_| !v.knee_above_ladder) else {
        return Ok(Vec::new());
    };
    let peak = v.steps.iter().map(goodput).fold(0.0, f64::max);
    let mut steps = Vec::new();
    for &multiple in &spec.sweep.overload {
        let step = super::step_of(spec, knee.load * multiple, out, exec, "")?;
        let g = goodput(&step);
        let o = OverloadStep {
            multiple,
            goodput_per_s: g,
            share_of_peak: if peak > 0.0 { g / peak } else { 0.0 },
            step,
        };
        eprintln!("{}", line(&spec.variant, &o));
        steps.push(o);
    }
    Ok(steps)
}

/// The line printed for `o`.
pub fn line(variant: &str, o: &OverloadStep) -> String {
    format!(
        "sweep: {variant} {}x the knee: goodput {:.0} ops/s, {:.0}% of the ladder's peak",
        o.multiple,
        o.goodput_per_s,
        o.share_of_peak * 100.0
    )
}
