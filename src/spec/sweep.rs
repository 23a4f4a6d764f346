//! The `[sweep]` table of a scenario: how a load ladder steps and what counts as meeting the
//! targets at a step.
//!
//! Loads are multipliers on the scenario's own traffic (`traffic.load`), so `1.0` is the
//! scenario as written and the knee's multiplier is its headroom.

use serde::{Deserialize, Serialize};

/// The speed of a twin's cores along its ladder (`sweep.twin-speed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TwinSpeed {
    /// Each step at the live ladder's machine speed at that load.
    #[default]
    Live,
    /// Every step at the calibration step's machine speed.
    Calibration,
}

/// The default `reference-probe-us`: about this box's probe on a quiet minute.
pub const DEFAULT_REFERENCE_PROBE_US: f64 = 60.0;

fn is_default_reference(us: &f64) -> bool {
    *us == DEFAULT_REFERENCE_PROBE_US
}

/// The default `twin-speed-exponent`: how the service's CPU per op followed the machine-speed
/// probe over the recorded ladders of this kind of box (BENCHMARKS.md).
pub const DEFAULT_TWIN_SPEED_EXPONENT: f64 = 0.7;

fn is_default_exponent(e: &f64) -> bool {
    *e == DEFAULT_TWIN_SPEED_EXPONENT
}

impl TwinSpeed {
    fn is_default(&self) -> bool {
        *self == TwinSpeed::default()
    }
}

/// How `feedlab sweep` climbs to the knee of each variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SweepSettings {
    /// First load multiplier. Default 1.
    pub start: f64,
    /// Geometric step between loads while every step meets the targets, > 1. Default 2.
    pub factor: f64,
    /// Highest multiplier tried; a variant that still meets the targets there has its knee
    /// above the ladder. Default 64.
    pub max: f64,
    /// Lowest multiplier tried when the first step already breaks. Default 1/16.
    pub min: f64,
    /// Bisection steps (geometric midpoints) between the last good and the first bad load.
    /// Default 3, which pins the knee within `factor^(1/8)` (9% for a factor of 2).
    pub bisect: u32,
    /// Length of each live step, wall seconds; default the scenario's `duration-s`. A step
    /// is judged over all of its ops, so one stalled second of a shared host weighs as much
    /// in a step as the step is short: shorter steps finish the ladder sooner and find a
    /// knee that moves further between reruns.
    pub step_s: Option<f64>,
    /// Length of each simulated step, model seconds; default `sim.duration-s`, else `step-s`,
    /// else the scenario's `duration-s`. A simulated step can be longer than a live one at
    /// little cost, which keeps its p99 from being a sampling accident.
    pub sim_step_s: Option<f64>,
    /// Largest fraction of offered ops that may be dropped at a good step. Default 0.001.
    pub max_dropped: f64,
    /// Largest fraction of completed ops that may fail at a good step. Default 0.001.
    pub max_errors: f64,
    /// Predict each live variant with the simulator: after the live ladder's first step, a
    /// simulated twin (`<variant>-sim`, mode sim, the scenario's `[sim]` model of this box)
    /// reads that step's in-situ calibration and runs every load the live ladder ran, then
    /// searches its own knee. The sweep reports how far the prediction is off.
    pub predict: bool,
    /// Most steps per variant (a guard against a ladder that never settles). Default 16.
    pub max_steps: u32,
    /// Times a live step that breaks is run again before the breach counts; the step is
    /// good if any trial is. A shared machine stalls now and then (other tenants, the
    /// hypervisor), and one stalled second can drop more than 0.1% of a step's ops; a design
    /// that breaks at a load breaks there every time. With `predict`, a live step in whose
    /// seconds the host stole CPU is run again as well, and the trial stolen from least
    /// counts: the twin is calibrated on the first step and judged against the others.
    /// Simulated steps are deterministic and never rerun. Default 1; at most 3.
    pub confirm: u32,
    /// Multiples of each variant's knee, each > 1, at which one more step runs once the knee
    /// is found, to show how much of its peak goodput the design keeps when overloaded
    /// (`sweep.json`'s `overload`). Default none.
    pub overload: Vec<f64>,
    /// With `predict`, the calibration step ends with a burst at this many times its load
    /// (`driver.calibration-burst`), which measures how the CPU per op falls on a busier
    /// box, and the twin prices its client and app CPU by that fall. Default 4; 0: no burst,
    /// and the twin keeps the step's cost per op, which predicts knees low (see
    /// BENCHMARKS.md).
    pub calibration_burst: f64,
    /// With `predict`, the length of each of the calibration burst's two phases, seconds, in
    /// (0, 60] (`driver.calibration-burst-s` on the calibration step; the driver's own
    /// setting does not apply there). Default 15: on one host, four bursts of hybrid's
    /// calibration step measured its CPU fall as 0.50–0.66 with 5 s phases and 0.49–0.57
    /// with 15 s ones (BENCHMARKS.md), and a ladder's steps run 40 s.
    pub calibration_burst_s: f64,
    /// With `predict`, rounds of settling the twin on its calibration step before its ladder
    /// runs: the twin runs that step, and each op's transport moves by the gap between the
    /// twin's percentiles and live's, so that the queueing the live transports already hold
    /// is not counted again on the twin's cores (`sweep/settle.rs`). Default 3; 0: the
    /// calibration as measured; at most 8.
    pub settle_rounds: u32,
    /// With `predict`, the twin runs each read call of its calibration step (`get`,
    /// `batch-get`, `scan`, `blob-get` and the handlers of feeds, views and searches) as its
    /// CPU alone before it settles: on the calibration box those reads come from memory, so
    /// their time beyond their CPU is a wait for the box's threads and cores, which the
    /// twin's cores and settled transports make again (`sweep/settle.rs`). Default true.
    pub settle_reads: bool,
    /// With `predict` and settling rounds, each round also gives the twin's `background` the
    /// CPU per op by which the twin's cores at the calibration step fell short of the live
    /// process's (or takes back what they ran over, down to none), so that the twin runs the
    /// step it was calibrated on at live's CPU and meets its cores' limit at live's load
    /// (`sweep/settle.rs`). Default true.
    pub settle_cpu: bool,
    /// With `predict`, set the twin's wake-up fade per op kind (`sim.transport-wake.kinds`)
    /// from the calibration burst: each kind's decay is the one at which the twin's p50 at the
    /// burst's load, over its p50 at the calibration step, is what the burst measured of live
    /// (`sweep/fade.rs`). Default true; it needs an in-situ calibration with a burst.
    pub wake_from_burst: bool,
    /// With `predict`, how fast the twin's cores run at each step. `"live"`: at the
    /// calibration step's machine-speed probe over the probe of the live step at that load
    /// (interpolated between the loads the live ladder ran), so that the twin meets the
    /// machine as the live ladder did; a shared machine's speed drifts by ±20% over a ladder's
    /// minutes. `"calibration"`: at the calibration step's speed throughout. Default
    /// `"live"`.
    #[serde(skip_serializing_if = "TwinSpeed::is_default")]
    pub twin_speed: TwinSpeed,
    /// With `twin-speed = "live"`, the power of the probe ratio the twin's cores run at:
    /// speed = (calibration step's probe ÷ the step's probe) ^ this. The probe is a fixed
    /// piece of user-space arithmetic; the service's CPU per op (system calls, copies, memory
    /// waits as well) follows it less than in proportion. Over 72 live steps of eight
    /// quickstart ladders the CPU per op of feeds went as the probe to the power 0.72–0.83
    /// and of photo views to 0.60. 1: in proportion; 0: the calibration step's speed
    /// throughout. Default 0.7; at most 2.
    #[serde(skip_serializing_if = "is_default_exponent")]
    pub twin_speed_exponent: f64,
    /// The reference host a live knee is also given on (`knee.at_reference` in
    /// `sweep.json`): one whose machine-speed probe (`probe.us`, the CPU of a fixed piece of
    /// work) reads this many µs. A live knee is a capacity, and it moves with the shared
    /// host's speed; scaled by the probe its ladder read near the knee, reruns and commits
    /// can be compared on one host. Default 60.
    #[serde(skip_serializing_if = "is_default_reference")]
    pub reference_probe_us: f64,
    /// Seconds each step (live and simulated) runs at its load before it is measured, added
    /// in front of `step-s` and `sim-step-s` (`driver.warmup-s` and `sim.warmup-s` of the
    /// step): every step starts a fresh service, whose first second (cold caches, no
    /// connections yet) would otherwise judge the load. Not applied to a scenario with
    /// `[[faults]]`. Default 2; 0: none.
    pub warmup_s: f64,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            start: 1.0,
            factor: 2.0,
            max: 64.0,
            min: 1.0 / 16.0,
            bisect: 3,
            step_s: None,
            sim_step_s: None,
            max_dropped: crate::summary::DEFAULT_MAX_FRACTION,
            max_errors: crate::summary::DEFAULT_MAX_FRACTION,
            predict: false,
            max_steps: 16,
            confirm: 1,
            overload: Vec::new(),
            calibration_burst: 4.0,
            calibration_burst_s: 15.0,
            settle_rounds: 3,
            settle_reads: true,
            settle_cpu: true,
            wake_from_burst: true,
            warmup_s: 2.0,
            twin_speed: TwinSpeed::default(),
            twin_speed_exponent: DEFAULT_TWIN_SPEED_EXPONENT,
            reference_probe_us: DEFAULT_REFERENCE_PROBE_US,
        }
    }
}

impl SweepSettings {
    /// Checks ranges; the error names the offending key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let positive = |key: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err((key, format!("must be a finite number > 0, got {v}")))
            }
        };
        positive("start", self.start)?;
        positive("max", self.max)?;
        positive("min", self.min)?;
        positive("reference-probe-us", self.reference_probe_us)?;
        if !(self.factor.is_finite() && self.factor > 1.0) {
            return Err(("factor", format!("must be > 1, got {}", self.factor)));
        }
        if self.max < self.start {
            return Err(("max", format!("must be ≥ start ({})", self.start)));
        }
        if self.min > self.start {
            return Err(("min", format!("must be ≤ start ({})", self.start)));
        }
        if self.bisect > 10 {
            return Err(("bisect", format!("must be ≤ 10, got {}", self.bisect)));
        }
        if let Some(s) = self.step_s {
            positive("step-s", s)?;
        }
        if let Some(s) = self.sim_step_s {
            positive("sim-step-s", s)?;
        }
        for (key, v) in [
            ("max-dropped", self.max_dropped),
            ("max-errors", self.max_errors),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err((key, format!("must be in [0, 1], got {v}")));
            }
        }
        if self.max_steps == 0 {
            return Err(("max-steps", "must be at least 1".into()));
        }
        if let Some(m) = self.overload.iter().find(|m| !(m.is_finite() && **m > 1.0)) {
            return Err(("overload", format!("each multiple must be > 1, got {m}")));
        }
        let b = self.calibration_burst;
        if !(b.is_finite() && b >= 0.0) {
            return Err(("calibration-burst", format!("must be >= 0, got {b}")));
        }
        let s = self.calibration_burst_s;
        if !(s.is_finite() && s > 0.0 && s <= 60.0) {
            let msg = format!("must be in (0, 60], got {s}");
            return Err(("calibration-burst-s", msg));
        }
        let w = self.warmup_s;
        if !(w.is_finite() && w >= 0.0) {
            return Err(("warmup-s", format!("must be >= 0, got {w}")));
        }
        let x = self.twin_speed_exponent;
        if !(0.0..=2.0).contains(&x) {
            return Err(("twin-speed-exponent", format!("must be in [0, 2], got {x}")));
        }
        if self.settle_rounds > 8 {
            let n = self.settle_rounds;
            return Err(("settle-rounds", format!("must be ≤ 8, got {n}")));
        }
        if self.confirm > 3 {
            return Err(("confirm", format!("must be ≤ 3, got {}", self.confirm)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_keys_are_named() {
        assert_eq!(SweepSettings::default().validate(), Ok(()));
        let bad = |f: fn(&mut SweepSettings)| {
            let mut s = SweepSettings::default();
            f(&mut s);
            s.validate().map_err(|(k, _)| k)
        };
        assert_eq!(bad(|s| s.factor = 1.0), Err("factor"));
        assert_eq!(
            bad(|s| s.calibration_burst = -1.0),
            Err("calibration-burst")
        );
        assert_eq!(
            bad(|s| s.calibration_burst_s = 0.0),
            Err("calibration-burst-s")
        );
        assert_eq!(
            bad(|s| s.calibration_burst_s = 61.0),
            Err("calibration-burst-s")
        );
        assert_eq!(bad(|s| s.warmup_s = f64::NAN), Err("warmup-s"));
        assert_eq!(bad(|s| s.start = 0.0), Err("start"));
        assert_eq!(bad(|s| s.max = 0.5), Err("max"));
        assert_eq!(bad(|s| s.min = 2.0), Err("min"));
        assert_eq!(
            bad(|s| s.reference_probe_us = 0.0),
            Err("reference-probe-us")
        );
        assert_eq!(bad(|s| s.step_s = Some(-1.0)), Err("step-s"));
        assert_eq!(
            bad(|s| s.twin_speed_exponent = f64::NAN),
            Err("twin-speed-exponent")
        );
        assert_eq!(
            bad(|s| s.twin_speed_exponent = 2.5),
            Err("twin-speed-exponent")
        );
        assert_eq!(bad(|s| s.max_dropped = 2.0), Err("max-dropped"));
        assert_eq!(bad(|s| s.max_steps = 0), Err("max-steps"));
        assert_eq!(bad(|s| s.bisect = 11), Err("bisect"));
        assert_eq!(bad(|s| s.confirm = 4), Err("confirm"));
        assert_eq!(bad(|s| s.settle_rounds = 9), Err("settle-rounds"));
        assert_eq!(bad(|s| s.overload = vec![2.0, 1.0]), Err("overload"));
    }
}
