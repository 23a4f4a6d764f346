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

/// The machine-speed probe of each live step, and of the calibration step.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTrack {
    /// The calibration step's probe, µs.
    base_us: f64,
    /// `(load, probe µs)` of the live steps that ran it, by load.
    points: Vec<(f64, f64)>,
}

impl HostTrack {
    /// The track of `live`, whose step at `start` calibrated the twin; `None` when that step
    /// or every other has no probe (a simulated or pre-probe ladder).
    pub fn of(live: &VariantSweep, start: f64) -> Option<HostTrack> {
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
        Some(HostTrack { base_us, points })
    }

    /// The twin's core speed at `load` against the calibration step's machine: the base probe
    /// over the probe at `load`, interpolated in log-load between the nearest loads the live
    /// ladder ran, and held beyond its lowest and highest.
    pub fn speed_at(&self, load: f64) -> f64 {
        self.base_us / self.probe_at(load)
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
    fn the_speed_scales_the_twins_own_core_speed() {
        let t = track(&[(1.0, 50.0), (2.0, 100.0)]);
        let mut spec = crate::scenario::ScenarioDoc::default().to_spec("t", "v");
        spec.sim.deployment.cpu_speed = 2.0;
        assert_eq!(t.apply(&spec, 2.0).sim.deployment.cpu_speed, 1.0);
        assert_eq!(t.apply(&spec, 1.0).sim.deployment.cpu_speed, 2.0);
    }
}
