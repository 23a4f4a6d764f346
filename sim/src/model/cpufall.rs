//! How the CPU cost of an op's client and app steps falls as its node gets busier.
//!
//! On a live box the transport (both HTTP stacks), the load generator and the app handler
//! cost less CPU per op at high load than at low load: threads that find work waiting park
//! and wake less often, and each wake-up is CPU. Storage calls do not fall this way (their
//! CPU per call is flat across a ladder). A calibration taken at one load therefore
//! over-prices these steps at a higher load, and a simulator that keeps its cost fills its
//! cores early.
//!
//! [`CpuFall`] scales the CPU demand of those steps by a factor of the node's recent busy
//! fraction `ρ`: 1 up to the calibration's own busy fraction (`busy`; a cost is not
//! extrapolated to loads lower than measured), then down along the power law through the two
//! measured points, `(ρ / busy)^-k` with `k` such that it is `ratio` at `burst-busy`, and
//! `ratio` beyond it. Live's fall comes early: on four quickstart ladders (twelve variants),
//! feeds had made a median 63% of their ×1 → ×4 fall in log CPU per op by ×2, where the
//! power law makes 50% and a straight line in `ρ` about 30% (BENCHMARKS.md). The in-situ
//! calibration measures `ratio` with a short burst at a multiple of its load after its
//! measured window: the burst's cost per op over the window's, for the part of an op that is
//! not storage calls. Past the burst's load the cost is held there unless
//! `sim.cpu-fall-beyond` carries it on.
//!
//! [`FallCurve`] is the fall as the model applies it, with two `[sim]` settings:
//! - `cpu-fall-beyond = b` carries the fall on past the burst's load as the power law through
//!   the two measured points, at `b` times its exponent (0 holds it at `ratio`), up to a full
//!   box. Live's CPU per op keeps falling past the burst (one quickstart ladder's pull: 0.32
//!   ms per op at the burst's ×4, 0.22 at ×13.45, its knee).
//! - `cpu-fall-beyond-max = m` caps that exponent at `m` ([`FallCurve::steepest`]). A burst
//!   from a nearly idle box measures a steep fall (a scaled test's ×1 → ×10: cost 0.32 of its
//!   first step's, exponent 0.75) that live does not keep up to a full box: carried at that
//!   pace, the twin served all of ×128 where live dropped 36%; capped at 0.3, it dropped 37%.
//!   The quickstart's bursts measure exponents of 0.15–0.68, and the cap moves only the
//!   steepest of them.
//! - `cpu-crowd = c` prices a crowded run queue: a step that starts with `q` jobs runnable on
//!   a node of `n` cores costs `1 + c·min((q − n)/n, 4)` times more. Live's tail near its knee
//!   comes in stalled stretches of a second or more; a twin whose CPU only falls with load has
//!   none, and its p99 runs thin there.
//!
//! Both settings were fitted over replays of recorded quickstart ladders (BENCHMARKS.md).
//!
//! ```toml
//! [cpu-fall]
//! busy = 0.23        # the calibration step's busy fraction of the box
//! burst-busy = 0.70  # the burst's
//! ratio = 0.70       # cost per op in the burst / in the calibration step
//!
//! [sim]
//! cpu-fall-beyond = 1.0
//! cpu-fall-beyond-max = 0.3
//! cpu-crowd = 0.1
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// The fall of client and app CPU per op with the node's load (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CpuFall {
    /// The busy fraction of the node (its cores' share in use) when the calibration's costs
    /// were measured, in `[0, 1)`.
    pub busy: f64,
    /// The busy fraction at which `ratio` was measured, in `(busy, 1]`.
    pub burst_busy: f64,
    /// Cost at `burst-busy` over cost at `busy`, in `(0, 2]`.
    pub ratio: f64,
}

/// The least gap between the two busy fractions for the ratio to say anything. A burst at
/// ten times a scaled test's load, on a box 2% busy, loads it only 8.5% more, and its fall
/// (half the cost per op) is the largest there is; the factor never extrapolates past the
/// burst, so a narrow gap only moves the whole fall to a lower busy fraction.
pub const MIN_SPREAD: f64 = 0.05;

impl CpuFall {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, v: f64, range: &str| {
            Err(invalid(
                "calibration",
                format!("cpu-fall.{key} must be in {range}, got {v}"),
            ))
        };
        if !(self.busy.is_finite() && (0.0..1.0).contains(&self.busy)) {
            return bad("busy", self.busy, "[0, 1)");
        }
        let b = self.burst_busy;
        if !(b.is_finite() && b > self.busy && b <= 1.0) {
            return bad("burst-busy", b, "(busy, 1]");
        }
        if !(self.ratio.is_finite() && self.ratio > 0.0 && self.ratio <= 2.0) {
            return bad("ratio", self.ratio, "(0, 2]");
        }
        Ok(())
    }

    /// The fall measured by a burst `burst_busy` busy whose cost was `ratio` times that of a
    /// window `busy` busy; `None` when the burst was less than [`MIN_SPREAD`] busier or a
    /// value is out of range (see [`CpuFall::validate`]).
    pub fn measured(busy: f64, burst_busy: f64, ratio: f64) -> Option<CpuFall> {
        let f = CpuFall {
            busy,
            burst_busy: burst_busy.min(1.0),
            ratio,
        };
        (f.burst_busy - busy >= MIN_SPREAD && f.validate().is_ok()).then_some(f)
    }

    /// The exponent `k` of the power law `(ρ / busy)^-k` through the two measured points
    /// (`busy` read as at least [`BUSY_FLOOR`]); positive for a fall, negative for a rise.
    pub fn exponent(&self) -> f64 {
        self.ratio.ln() / (self.busy.max(BUSY_FLOOR) / self.burst_busy).ln()
    }

    /// The share of the calibration's cost that a node `rho` busy pays: 1 up to `busy`, the
    /// power law through the two points up to `burst-busy`, `ratio` beyond it.
    #[inline]
    pub fn factor(&self, rho: f64) -> f64 {
        if rho <= self.busy {
            return 1.0;
        }
        if rho >= self.burst_busy {
            return self.ratio;
        }
        let f = (rho / self.busy.max(BUSY_FLOOR)).powf(-self.exponent());
        f.clamp(self.ratio.min(1.0), self.ratio.max(1.0))
    }
}

/// The least busy fraction the power law is taken from: a calibration on a nearly idle box
/// would otherwise put the whole fall in its first hundredth of load.
pub const BUSY_FLOOR: f64 = 0.01;

/// How far the crowding factor goes: at `q ≥ 5n` runnable jobs it is `1 + 4c`.
pub const CROWD_CAP: f64 = 4.0;

/// A measured [`CpuFall`] as the model applies it (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FallCurve {
    /// The calibration's fall.
    pub fall: CpuFall,
    /// The power law's exponent past the burst, already times `cpu-fall-beyond` (0: held).
    beyond: f64,
    /// `cpu-crowd`.
    crowd: f64,
}

impl FallCurve {
    /// The fall of `fall`, carried past the burst at `beyond` times the exponent of the power
    /// law through its two points, and priced `crowd` more per extra run queue of a node.
    pub fn new(fall: CpuFall, beyond: f64, crowd: f64) -> FallCurve {
        let exponent = fall.exponent();
        let beyond = if exponent.is_finite() && beyond > 0.0 {
            exponent * beyond
        } else {
            0.0
        };
        FallCurve {
            fall,
            beyond,
            crowd,
        }
    }

    /// This curve with its exponent past the burst at most `max` (a non-negative exponent).
    pub fn steepest(self, max: f64) -> FallCurve {
        FallCurve {
            beyond: self.beyond.min(max.max(0.0)),
            ..self
        }
    }

    /// The share of the calibration's cost that a node `rho` busy pays (the fall only).
    #[inline]
    pub fn factor(&self, rho: f64) -> f64 {
        let held = self.fall.factor(rho);
        let past = self.fall.burst_busy;
        if self.beyond > 0.0 && rho > past {
            held * (rho.min(1.0) / past).powf(-self.beyond)
        } else {
            held
        }
    }

    /// The share that a client or app step pays when it starts on a node of `cores` cores,
    /// `rho` busy, with `runnable` jobs on its run queue: the fall times the crowding.
    #[inline]
    pub fn step_factor(&self, rho: f64, runnable: usize, cores: f64) -> f64 {
        let extra = ((runnable as f64 - cores).max(0.0) / cores).min(CROWD_CAP);
        self.factor(rho) * (1.0 + self.crowd * extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fall() -> CpuFall {
        CpuFall {
            busy: 0.25,
            burst_busy: 0.75,
            ratio: 0.6,
        }
    }

    #[test]
    fn the_factor_falls_from_one_to_the_ratio_along_the_power_law_then_holds() {
        let f = fall();
        assert_eq!(
            f.factor(0.0),
            1.0,
            "no extrapolation below the measured load"
        );
        assert_eq!(f.factor(0.25), 1.0);
        // 0.6 = (0.75 / 0.25)^-k, so at ρ = 0.5 the factor is 2^-k, below the straight
        // line's 0.8: most of the fall comes early.
        let k = 0.6f64.ln() / (0.25f64 / 0.75).ln();
        assert!((f.exponent() - k).abs() < 1e-12);
        assert!(
            (f.factor(0.5) - 2f64.powf(-k)).abs() < 1e-12,
            "{}",
            f.factor(0.5)
        );
        assert!(f.factor(0.5) < 0.8 && f.factor(0.5) > 0.6);
        assert!((f.factor(0.75) - 0.6).abs() < 1e-12);
        assert_eq!(f.factor(1.0), f.factor(0.75), "held past the burst's load");
    }

    #[test]
    fn a_rise_follows_the_same_law_and_a_near_idle_calibration_stays_bounded() {
        let rise = CpuFall {
            ratio: 1.5,
            ..fall()
        };
        assert!(rise.exponent() < 0.0);
        assert!(rise.factor(0.5) > 1.0 && rise.factor(0.5) < 1.5);
        let idle = CpuFall {
            busy: 0.001,
            burst_busy: 0.3,
            ratio: 0.5,
        };
        assert_eq!(
            idle.factor(0.005),
            1.0,
            "below the floor the law gives more than 1"
        );
        assert!(idle.factor(0.02) < 1.0 && idle.factor(0.02) > 0.5);
        assert!((idle.factor(0.3) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_burst_too_close_to_the_window_measures_nothing() {
        assert_eq!(CpuFall::measured(0.25, 0.75, 0.6), Some(fall()));
        assert_eq!(CpuFall::measured(0.25, 0.28, 0.9), None, "too close");
        assert_eq!(CpuFall::measured(0.25, 0.9, f64::NAN), None);
        let capped = CpuFall::measured(0.25, 1.3, 0.5).expect("capped at 1");
        assert_eq!(capped.burst_busy, 1.0);
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let mut f = fall();
        f.busy = 1.0;
        let e = f.validate().expect_err("out of range").to_string();
        assert!(e.contains("cpu-fall.busy"), "{e}");
        let mut f = fall();
        f.burst_busy = 0.2;
        assert!(
            f.validate()
                .expect_err("out of range")
                .to_string()
                .contains("burst-busy")
        );
        let mut f = fall();
        f.ratio = 0.0;
        assert!(
            f.validate()
                .expect_err("out of range")
                .to_string()
                .contains("ratio")
        );
        assert!(fall().validate().is_ok());
    }

    #[test]
    fn past_the_burst_the_curve_holds_or_follows_the_power_law_through_the_two_points() {
        let f = fall();
        let held = FallCurve::new(f, 0.0, 0.0);
        assert_eq!(held.factor(0.9), f.ratio);
        assert_eq!(held.factor(0.5), f.factor(0.5), "the same below the burst");
        let on = FallCurve::new(f, 1.0, 0.0);
        assert_eq!(on.factor(0.75), f.ratio, "continuous at the burst");
        assert_eq!(
            on.factor(0.5),
            f.factor(0.5),
            "one law on both sides of the burst"
        );
        // cost ∝ ρ^-k with 0.6 = (0.75 / 0.25)^-k: at ρ = 1 it is 0.6 × (1 / 0.75)^-k.
        let k = 0.6f64.ln() / (0.25f64 / 0.75).ln();
        assert!((on.factor(1.0) - 0.6 * (1.0f64 / 0.75).powf(-k)).abs() < 1e-12);
        assert_eq!(on.factor(1.5), on.factor(1.0), "capped at a full box");
        let half = FallCurve::new(f, 0.5, 0.0);
        assert!(on.factor(1.0) < half.factor(1.0) && half.factor(1.0) < f.ratio);
    }

    #[test]
    fn the_steepest_setting_caps_the_exponent_past_the_burst_only() {
        let f = fall();
        let k = f.exponent();
        let on = FallCurve::new(f, 1.0, 0.0);
        let capped = on.steepest(k / 2.0);
        assert_eq!(
            capped.factor(0.5),
            on.factor(0.5),
            "below the burst unchanged"
        );
        assert_eq!(capped.factor(0.75), f.ratio, "continuous at the burst");
        let want = 0.6 * (1.0f64 / 0.75).powf(-k / 2.0);
        assert!((capped.factor(1.0) - want).abs() < 1e-12);
        assert!(on.factor(1.0) < capped.factor(1.0) && capped.factor(1.0) < f.ratio);
        assert_eq!(
            on.steepest(2.0 * k),
            on,
            "a cap above the exponent changes nothing"
        );
        assert_eq!(
            on.steepest(-1.0).factor(1.0),
            f.ratio,
            "a negative cap holds it"
        );
    }

    #[test]
    fn a_step_costs_more_on_a_crowded_run_queue_up_to_the_cap() {
        let c = FallCurve::new(fall(), 0.0, 0.25);
        let base = c.factor(0.5);
        assert_eq!(c.step_factor(0.5, 0, 2.0), base);
        assert_eq!(
            c.step_factor(0.5, 2, 2.0),
            base,
            "one job a core is not crowded"
        );
        assert!((c.step_factor(0.5, 4, 2.0) - base * 1.25).abs() < 1e-12);
        let capped = base * (1.0 + 0.25 * CROWD_CAP);
        assert!((c.step_factor(0.5, 10, 2.0) - capped).abs() < 1e-12);
        assert_eq!(c.step_factor(0.5, 500, 2.0), c.step_factor(0.5, 10, 2.0));
        let off = FallCurve::new(fall(), 0.0, 0.0);
        assert_eq!(off.step_factor(0.5, 500, 2.0), base);
    }
}
