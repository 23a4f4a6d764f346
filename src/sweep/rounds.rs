//! Ladders in progress, and live ladders run in rounds.
//!
//! A [`Climb`] is one variant's ladder between steps: the preset loads still to run, the steps
//! judged so far, and the search's next load. [`in_rounds`] runs several live ladders one step
//! each in turn (push ×1, pull ×1, hybrid ×1, push ×2, …) until every one has found its knee,
//! then runs each one's overload steps. A shared machine's speed drifts over minutes and hours,
//! so variants run one after another would each meet a different machine, and the comparison
//! would credit the drift to the design. In rounds, the variants' steps at each stage of the
//! search run minutes apart at most. Each step is its own run of a fresh service, so the order
//! changes nothing else.

use std::collections::VecDeque;
use std::path::Path;

use crate::exec::Executor;
use crate::spec::{Mode, RunSpec};

use super::host::HostTrack;
use super::result::VariantSweep;
use super::verdict::Step;
use super::{confirm, ladder, overload, table};

/// One variant's ladder between steps.
pub(super) struct Climb<'a> {
    spec: &'a RunSpec,
    /// Whether it was given loads to run first (a twin's: its live ladder's loads).
    preset: bool,
    /// Given loads not yet run.
    queue: VecDeque<f64>,
    /// A twin's: the host's speed along its live ladder, which each step runs at.
    host: Option<HostTrack>,
    steps: Vec<Step>,
    /// No more steps: the search settled or `sweep.max-steps` was reached.
    done: bool,
}

impl<'a> Climb<'a> {
    /// The ladder of `spec`, the `preset` loads first, nothing run yet.
    pub(super) fn new(spec: &'a RunSpec, preset: &[f64]) -> Self {
        Self {
            spec,
            preset: !preset.is_empty(),
            queue: preset.iter().copied().collect(),
            host: None,
            steps: Vec::new(),
            done: false,
        }
    }

    /// This ladder with each step's cores at `host`'s speed at its load.
    pub(super) fn at_host(mut self, host: Option<HostTrack>) -> Self {
        self.host = host;
        self
    }

    /// Runs the ladder's next step (with its confirming trials) and returns `true`, or returns
    /// `false` when the ladder is done.
    pub(super) fn step(&mut self, out: &Path, exec: &mut dyn Executor) -> anyhow::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let settings = &self.spec.sweep;
        let pts: Vec<(f64, bool)> = self.steps.iter().map(|s| (s.load, s.good)).collect();
        let Some(load) = self
            .queue
            .pop_front()
            .or_else(|| ladder::next_load(&pts, settings))
        else {
            self.done = true;
            return Ok(false);
        };
        if self.steps.len() as u32 >= settings.max_steps {
            eprintln!(
                "sweep: {}: stopped after {} steps (sweep.max-steps)",
                self.spec.variant, settings.max_steps
            );
            self.done = true;
            return Ok(false);
        }
        let at_host = self.host.as_ref().map(|h| h.apply(self.spec, load));
        let mut step =
            confirm::confirmed_step(at_host.as_ref().unwrap_or(self.spec), load, out, exec)?;
        step.speed = self.host.as_ref().map(|h| h.speed_at(load));
        eprintln!("{}", table::step_line(&self.spec.variant, &step));
        self.steps.push(step);
        Ok(true)
    }

    /// The finished ladder: its knee and verdicts, and (for a ladder that predicts none) its
    /// overload steps past the knee, run now.
    pub(super) fn finish(
        self,
        out: &Path,
        exec: &mut dyn Executor,
    ) -> anyhow::Result<VariantSweep> {
        let spec = self.spec;
        let mode = if spec.mode == Mode::Sim {
            "sim"
        } else {
            "live"
        };
        let predicts = (spec.variant.strip_suffix("-sim"))
            .filter(|_| spec.mode == Mode::Sim && self.preset)
            .map(str::to_string);
        let fanout = spec.system.fanout.kind.name();
        let mut v = VariantSweep::unjudged(&spec.variant, mode, fanout, predicts, self.steps);
        v.finish(spec.sweep.max, spec.sweep.reference_probe_us);
        if v.predicts.is_none() {
            v.overload = overload::run(spec, &v, out, exec)?;
        }
        Ok(v)
    }
}

/// The ladders of `specs` run in rounds, one step of each ladder per round in the order
/// given, until all are done; then each one's overload steps, in the same order. The
/// result is in the order of `specs`.
pub(super) fn in_rounds(
    specs: &[&RunSpec],
    out: &Path,
    exec: &mut dyn Executor,
) -> anyhow::Result<Vec<VariantSweep>> {
    let mut climbs: Vec<Climb> = specs.iter().map(|s| Climb::new(s, &[])).collect();
    loop {
        let mut ran = false;
        for c in &mut climbs {
            ran |= c.step(out, exec)?;
        }
        if !ran {
            break;
        }
    }
    climbs.into_iter().map(|c| c.finish(out, exec)).collect()
}
