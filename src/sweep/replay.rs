//! `feedlab sweep --replay DIR`: the twins of a recorded predicting sweep, run again.
//!
//! A predicting sweep keeps its live ladders in `DIR/sweep.json` and each calibration step's
//! in-situ calibration under `DIR/steps/`. A replay takes those live ladders as they were
//! recorded, in place of running them, and runs each one's twin with this build and the
//! scenario's `[sim]` table as given now, as `--predict` would have: from the same
//! calibration, through the same loads, on the host's speed as the live ladder met it. The
//! twin's steps are deterministic, so a replay of an unchanged build reproduces the recorded
//! twin; a simulator change can thus be scored on every recorded ladder in seconds, without
//! a live ladder.

use std::path::Path;

use anyhow::Context;

use crate::spec::{Mode, RunSpec};

use super::result::{SweepReport, VariantSweep};

/// The recorded live ladder of every live spec of `specs`, by index, from `dir/sweep.json`;
/// each step's summary path made absolute (so the new sweep's report finds it) and, where the
/// record predates them, its machine-speed probe read from that summary and its process cores
/// from the in-situ calibration beside it. The knee is judged again, so that it carries the
/// host's speed near it (`Knee::at_reference`).
pub fn recorded(dir: &Path, specs: &[RunSpec]) -> anyhow::Result<Vec<(usize, VariantSweep)>> {
    let report = SweepReport::load(dir)?;
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        if spec.mode != Mode::Live {
            continue;
        }
        let mut ladder = (report.variants.iter())
            .find(|v| v.variant == spec.variant && v.mode == "live")
            .cloned()
            .with_context(|| {
                format!(
                    "{} has no live ladder of variant {:?}",
                    dir.join("sweep.json").display(),
                    spec.variant
                )
            })?;
        for step in &mut ladder.steps {
            let summary = dir.join(&step.summary);
            if step.host_us.is_none() {
                step.host_us = super::host::recorded_probe(&summary)?;
            }
            if step.cores.is_none() {
                let measured = super::in_situ(&summary.with_file_name("calibration.toml"))?;
                step.cores = measured.and_then(|p| p.process_cores);
            }
            step.summary = summary.display().to_string();
        }
        ladder.finish(spec.sweep.max, spec.sweep.reference_probe_us);
        out.push((i, ladder));
    }
    Ok(out)
}
