//! The host's speed along a live ladder, for its twin (`sweep.twin-speed`).
//!
//! A shared machine's speed drifts over minutes: on this kind of box the same live step has
//! run with its machine-speed probe (`probe.us`, the CPU of a fixed piece of work) 20% above
//! or below the calibration step's, and a twin priced at the calibration step's speed then
//! predicts a knee for a machine the live ladder no longer ran on. [`HostTrack`] keeps each
//! live step's probe; a twin step at a load runs its cores at the calibration step's probe
//! over the probe at that load ([`HostTrack::speed_at`]), so the twin predicts the design on
//! the machine as each live step met it. The live ladder's own steps say nothing else to the
//! twin: their latencies, drops and CPU per op stay unseen.

use crate::spec::RunSpec;

use super::result::VariantSweep;
use super::verdict::Step;

/// The machine-speed probe, µs, that the step summary at `path` recorded (`None` without
/// one): for a `sweep.json` written before steps kept theirs as `host_us`.
pub fn recorded_probe(path: &std::path::Path) -> anyhow::Result<Option<f64>> {
    let probe = crate::summary::Summary::load(path)?.probe;
    Ok(probe.map(|p| p.us).filter(|&u| u > 0.0))
}

/// The host's machine-speed probe near a knee at `knee`: the median probe of the steps at or
/// above half of it, µs; `None` when none of them has one.
///
/// A knee is a capacity, and on a shared machine capacity follows the host's speed: over
/// fourteen recorded quickstart ladders, scaling each knee by this probe halved the
/// disagreement between reruns (BENCHMARKS.md). The steps near the knee (several, passes and
/// breaches alike) say how fast the host ran there better than the knee's single step.
pub fn knee_probe(steps: &[Step], knee: f64) -> Option<f64> {
    let us: Vec<f64> = steps
        .iter()
        .filter(|s| s.load >= 0.5 * knee * (1.0 - 1e-9))
        .filter_map(|s| s.host_us.filter(|&u| u > 0.0))
        .collect();
    (!us.is_empty()).then(|| crate::gate::mann_whitney::median(&us))
}

/// The machine-speed probe of each live step, and of the calibration step.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTrack {
    /// The calibration step's probe, µs.
    base_us: f64,
    /// `(load, probe µs)` of the live steps that ran it, by load.
    points: Vec<(f64, f64)>,
    /// The power of the probe ratio the speed is (`sweep.twin-speed-exponent`).
    exponent: f64,
}

impl HostTrack {
    /// The track of `live`, whose step at `start` calibrated the twin, with the speed at
    /// `exponent` of the probe ratio; `None` when that step or every other has no probe (a
    /// simulated or pre-probe ladder).
    pub fn of(live: &VariantSweep, start: f64, exponent: f64) -> Option<HostTrack> {
        let at_start = |l: f64| (l / start - 1.0).abs() < 1e-6;
        let base_us = live
            .steps
            .iter()
            .find(|s| at_start(s.load))
            .and_then(|s| s.host_us)
            .filter(|&u| u > 0.0)?;
        let mut points: Vec<(f64, f64)> = (live.steps.iter())
            .filter_map(|s| s.host_us.filter(|&u| u > 0.0).map(|u| (s.load, u)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points.dedup_by(|a, b| (a.0 / b.0 - 1.0).abs() < 1e-9);
        Some(HostTrack {
            base_us,
            points,
            exponent,
        })
    }

    /// The twin's core speed at `load` against the calibration step's machine: the base probe
    /// over the probe at `load`, interpolated in log-load between the nearest loads the live
    /// ladder ran and held beyond its lowest and highest, to the track's exponent.
    pub fn speed_at(&self, load: f64) -> f64 {
        (self.base_us / self.probe_at(load)).powf(self.exponent)
    }

    fn probe_at(&self, load: f64) -> f64 {
        let p = &self.points;
        let Some(hi) = p.iter().position(|&(l, _)| l >= load) else {
            return p.last().map_or(self.base_us, |x| x.1);
        };
        if hi == 0 || (p[hi].0 / load - 1.0).abs() < 1e-9 {
            return p[hi].1;
        }
        let ((l0, u0), (l1, u1)) = (p[hi - 1], p[hi]);
        let t = (load / l0).ln() / (l1 / l0).ln();
        u0 + (u1 - u0) * t
    }

    /// `spec` with its cores at the host's speed at `load` (see [`HostTrack::speed_at`]).
    pub fn apply(&self, spec: &RunSpec, load: f64) -> RunSpec {
        let mut s = spec.clone();
        s.sim.deployment.cpu_speed *= self.speed_at(load);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(points: &[(f64, f64)]) -> HostTrack {
        HostTrack {
            base_us: points[0].1,
            points: points.to_vec(),
            exponent: 1.0,
        }
    }

    #[test]
    fn a_slower_step_runs_the_twin_slower_and_loads_between_steps_interpolate() {
        let t = track(&[(1.0, 60.0), (2.0, 60.0), (4.0, 80.0), (8.0, 40.0)]);
        assert_eq!(t.speed_at(1.0), 1.0);
        assert_eq!(t.speed_at(4.0), 0.75);
        assert_eq!(t.speed_at(8.0), 1.5);
        // Halfway in log-load between x4 (80) and x8 (40).
        let mid = t.speed_at(4.0 * 2f64.sqrt());
        assert!((mid - 1.0).abs() < 1e-9, "{mid}");
        // Held beyond the ladder's ends.
        assert_eq!(t.speed_at(16.0), 1.5);
        assert_eq!(t.speed_at(0.5), 1.0);
    }

    #[test]
    fn the_exponent_damps_the_probe_ratio_and_zero_holds_the_calibration_speed() {
        let mut t = track(&[(1.0, 60.0), (4.0, 80.0), (8.0, 40.0)]);
        t.exponent = 0.5;
        assert!((t.speed_at(8.0) - 1.5f64.sqrt()).abs() < 1e-12);
        assert!((t.speed_at(4.0) - 0.75f64.sqrt()).abs() < 1e-12);
        t.exponent = 0.0;
        assert_eq!(t.speed_at(8.0), 1.0);
    }

    #[test]
    fn the_probe_near_a_knee_is_the_median_at_or_above_half_of_it() {
        let step = |load: f64, host_us: Option<f64>| Step::probed(load, true, host_us);
        let steps = [
            step(1.0, Some(100.0)),
            step(4.0, Some(70.0)),
            step(8.0, Some(60.0)),
            step(8.0 * 2f64.sqrt(), None),
            step(11.0, Some(90.0)),
            step(16.0, Some(64.0)),
        ];
        // x4 is below half of x11 and x1 far below; x11.3 has no probe.
        assert_eq!(knee_probe(&steps, 11.0), Some(64.0));
        assert_eq!(knee_probe(&steps, 8.0), Some(67.0));
        assert_eq!(knee_probe(&steps[..1], 8.0), None);
    }

    #[test]
    fn the_speed_scales_the_twins_own_core_speed() {
        let t = track(&[(1.0, 50.0), (2.0, 100.0)]);
        let mut spec = crate::scenario::ScenarioDoc::default().to_spec("t", "v");
        spec.sim.deployment.cpu_speed = 2.0;
        assert_eq!(t.apply(&spec, 2.0).sim.deployment.cpu_speed, 1.0);
        assert_eq!(t.apply(&spec, 1.0).sim.deployment.cpu_speed, 2.0);
    }
}
