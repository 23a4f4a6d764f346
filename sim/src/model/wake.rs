//! The wake-up wait in an op's transport, and how it fades as the box gets busier.
//!
//! On a lightly loaded box an op's transport (`http-<kind>`: both HTTP stacks and the hand-offs
//! between the driver's, the server's and the store's threads) waits for idle threads, and the
//! idle cores under them, to wake at each hand-off. A busier box has its threads awake already,
//! so that wait fades: on the quickstart's recorded ladders live's feed p50 fell 5–46% from
//! ×1 to ×4 while its process CPU per op fell less, and a twin that priced the whole fall as
//! CPU ([`super::CpuFall`]) lent itself capacity that live did not have (BENCHMARKS.md).
//!
//! [`TransportWake`] splits each drawn transport (CPU `c`, wait `w`, as the calibration's
//! `http-<kind>` op gives them, the CPU capped as [`super::transportcpu`] says) into a part that stays on the op's path, `(1 - share)` of each,
//! and a wake-up part: its time `share × (c + w)` becomes a wait that the op pays in full up to
//! the calibration's busy fraction and `exp(-decay × x)` of beyond it, where
//! `x = (ρ - busy) / (burst-busy - busy)` measures the node's recent busy fraction `ρ` in the
//! calibration burst's units ([`super::CpuFall`]'s `busy` and `burst-busy`); its CPU,
//! `share × c`, is still spent on the node's cores, scaled by the CPU fall
//! ([`super::FallCurve::factor`]), but beside the op rather than on its path, so the box's
//! capacity is what it was without the split. At the
//! calibration's own load the op's time and the node's CPU are unchanged. Without a CPU fall
//! (a calibration with no burst, such as a full-scale scenario's) nothing is split.
//!
//! `share` and `decay` are properties of the host, fitted across recorded ladders of the
//! quickstart (BENCHMARKS.md): on one host live's p50 fell 5–46% from ×1 to ×4 and
//! `decay = 1` fitted it; on another it hardly fell, and `decay = 0` (the default: the wait
//! stays, and only the CPU beside the op follows the fall) fitted it. `share = 0` turns the
//! split off. `kinds` gives an op kind a decay of its own: a predicting sweep sets it from
//! what the calibration burst measured of each kind's p50 (`sweep/fade.rs` in the harness).
//!
//! ```toml
//! [sim]
//! transport-wake = { share = 0.65, decay = 0.0, kinds = { photo_get = 0.9 } }
//! ```

use std::collections::BTreeMap;

use feedlab_workload::OpKind;
use serde::{Deserialize, Serialize};

use super::FallCurve;
use crate::engine::SimTime;
use crate::error::{Result, invalid};

/// The wake-up share of each transport and how fast it fades (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TransportWake {
    /// The share of a transport's time (and of its CPU) that is waking, in `[0, 1]`.
    pub share: f64,
    /// How fast the wait fades per calibration burst's width of busy fraction, `>= 0`.
    pub decay: f64,
    /// The decay of the op kinds named (`feed`, `photo_get`, ...), in place of `decay`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, f64>,
}

impl Default for TransportWake {
    fn default() -> Self {
        TransportWake {
            share: 0.65,
            decay: 0.0,
            kinds: BTreeMap::new(),
        }
    }
}

/// What a calibration burst measured of each op kind's p50, from which a predicting sweep
/// sets each kind's decay: the calibration's `[burst]` table.
///
/// ```toml
/// [burst]
/// load = 10.0                # the high phase's load over the base phase's
/// [burst.p50-ms]             # base phase, high phase
/// feed = [1.10, 0.65]
/// photo_get = [0.93, 0.50]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BurstP50 {
    /// The high phase's load over the base phase's, above 1.
    pub load: f64,
    /// Each op kind's p50 in the base phase and in the high phase, ms, both above 0.
    pub p50_ms: BTreeMap<String, [f64; 2]>,
}

impl BurstP50 {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        if !(self.load.is_finite() && self.load > 1.0) {
            let l = self.load;
            return Err(invalid(
                "calibration",
                format!("burst.load must be > 1, got {l}"),
            ));
        }
        for (kind, [base, high]) in &self.p50_ms {
            if !(base.is_finite() && high.is_finite() && *base > 0.0 && *high > 0.0) {
                return Err(invalid(
                    "calibration",
                    format!("burst.p50-ms.{kind} must be two times > 0, got [{base}, {high}]"),
                ));
            }
        }
        Ok(())
    }
}

/// A transport after the split: what the op spends on its path, and the CPU spent beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Woken {
    /// CPU on the op's path, ns (before the node's CPU fall, which the caller applies).
    pub cpu: SimTime,
    /// The op's wait after that CPU, ns: the path's own wait plus what is left of waking.
    pub wait: SimTime,
    /// CPU spent beside the op, ns, already scaled by the fall at the node's busy fraction.
    pub beside: SimTime,
}

impl TransportWake {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.share) {
            return Err(invalid("sim", "transport-wake.share must be in [0, 1]"));
        }
        if !(self.decay.is_finite() && self.decay >= 0.0) {
            return Err(invalid("sim", "transport-wake.decay must be >= 0"));
        }
        for (kind, d) in &self.kinds {
            if !OpKind::ALL.iter().any(|k| k.name() == kind) {
                return Err(invalid(
                    "sim",
                    format!("transport-wake.kinds: no op kind {kind:?}"),
                ));
            }
            if !(d.is_finite() && *d >= 0.0) {
                return Err(invalid(
                    "sim",
                    format!("transport-wake.kinds.{kind} must be >= 0, got {d}"),
                ));
            }
        }
        Ok(())
    }

    /// Each op kind's decay, by [`OpKind::index`]: its own where `kinds` names it, else
    /// `decay`.
    pub fn decays(&self) -> [f64; OpKind::COUNT] {
        OpKind::ALL.map(|k| self.kinds.get(k.name()).copied().unwrap_or(self.decay))
    }

    /// The part of the wake-up wait an op pays on a node `rho` busy, at `decay`: 1 up to
    /// the calibration's busy fraction, then `exp(-decay × x)`.
    pub fn left(decay: f64, curve: &FallCurve, rho: f64) -> f64 {
        let fall = &curve.fall;
        let x = ((rho - fall.busy) / (fall.burst_busy - fall.busy)).max(0.0);
        (-decay * x).exp()
    }

    /// Splits a transport drawn as `cpu` and `wait` ns on a node `rho` busy, its wake-up
    /// wait fading at `decay` (one of [`TransportWake::decays`]).
    pub(crate) fn split(
        &self,
        cpu: SimTime,
        wait: SimTime,
        decay: f64,
        fall: &FallCurve,
        rho: f64,
    ) -> Woken {
        let off_cpu = (cpu as f64 * self.share) as SimTime;
        let off_wait = (wait as f64 * self.share) as SimTime;
        let waking = ((off_cpu + off_wait) as f64 * Self::left(decay, fall, rho)) as SimTime;
        Woken {
            cpu: cpu - off_cpu,
            wait: wait - off_wait + waking,
            beside: (off_cpu as f64 * fall.factor(rho)) as SimTime,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fall() -> FallCurve {
        let fall = crate::model::CpuFall {
            busy: 0.1,
            burst_busy: 0.3,
            ratio: 0.7,
        };
        FallCurve::new(fall, 0.0, 0.0)
    }

    #[test]
    fn at_the_calibration_s_load_the_op_s_time_and_the_cpu_are_unchanged() {
        let w = TransportWake::default();
        let s = w.split(200_000, 100_000, w.decay, &fall(), 0.05);
        assert_eq!(s.cpu + s.wait, 300_000, "{s:?}");
        assert_eq!(s.cpu + s.beside, 200_000, "{s:?}");
        assert!(s.cpu < 200_000 && s.beside > 0, "{s:?}");
    }

    #[test]
    fn the_wait_fades_with_load_and_the_cpu_beside_follows_the_fall() {
        let w = TransportWake {
            share: 0.5,
            decay: 1.0,
            ..Default::default()
        };
        let f = fall();
        let at_burst = w.split(200_000, 100_000, w.decay, &f, 0.3);
        // Half of each part stays; half of the 300 µs wakes, and e^-1 of it is left.
        assert_eq!(at_burst.cpu, 100_000);
        let left = (150_000.0 * (-1.0f64).exp()) as SimTime;
        assert_eq!(at_burst.wait, 50_000 + left);
        assert_eq!(at_burst.beside, (100_000.0 * f.factor(0.3)) as SimTime);
        let busier = w.split(200_000, 100_000, w.decay, &f, 0.6);
        assert!(busier.wait < at_burst.wait, "{busier:?}");
        assert!(busier.wait >= 50_000, "the path's own wait stays");
    }

    #[test]
    fn a_zero_share_changes_nothing_and_bad_values_name_their_key() {
        let off = TransportWake {
            share: 0.0,
            decay: 1.0,
            ..Default::default()
        };
        let s = off.split(200_000, 100_000, off.decay, &fall(), 0.9);
        assert_eq!((s.cpu, s.wait, s.beside), (200_000, 100_000, 0));
        assert!(TransportWake::default().validate().is_ok());
        let e = TransportWake {
            share: 1.5,
            ..off.clone()
        }
        .validate()
        .expect_err("a share above 1");
        assert!(e.to_string().contains("transport-wake.share"), "{e}");
        let e = TransportWake {
            decay: f64::NAN,
            ..off.clone()
        }
        .validate()
        .expect_err("a NaN decay");
        assert!(e.to_string().contains("transport-wake.decay"), "{e}");
        let named = |kind: &str, d: f64| TransportWake {
            kinds: BTreeMap::from([(kind.to_string(), d)]),
            ..off.clone()
        };
        let e = named("photo", 1.0).validate().expect_err("no such kind");
        assert!(e.to_string().contains("\"photo\""), "{e}");
        let e = named("feed", -1.0)
            .validate()
            .expect_err("a negative decay");
        assert!(e.to_string().contains("kinds.feed"), "{e}");
    }

    #[test]
    fn a_burst_record_checks_its_load_and_times() {
        let ok = BurstP50 {
            load: 4.0,
            p50_ms: BTreeMap::from([("feed".to_string(), [1.0, 0.6])]),
        };
        assert!(ok.validate().is_ok());
        let e = BurstP50 {
            load: 1.0,
            ..ok.clone()
        }
        .validate()
        .expect_err("load 1");
        assert!(e.to_string().contains("burst.load"), "{e}");
        let mut bad = ok.clone();
        bad.p50_ms.insert("photo_get".into(), [0.5, 0.0]);
        let e = bad.validate().expect_err("a zero time");
        assert!(e.to_string().contains("burst.p50-ms.photo_get"), "{e}");
    }

    #[test]
    fn a_kind_named_fades_at_its_own_decay_and_the_others_at_the_default() {
        let w = TransportWake {
            kinds: BTreeMap::from([("photo_get".to_string(), 2.0)]),
            ..Default::default()
        };
        assert!(w.validate().is_ok());
        let d = w.decays();
        assert_eq!(d[OpKind::PhotoGet.index()], 2.0);
        assert_eq!(d[OpKind::Feed.index()], w.decay);
        let f = fall();
        let view = w.split(200_000, 100_000, d[OpKind::PhotoGet.index()], &f, 0.3);
        let feed = w.split(200_000, 100_000, d[OpKind::Feed.index()], &f, 0.3);
        assert!(view.wait < feed.wait, "{view:?} {feed:?}");
        assert_eq!(view.beside, feed.beside, "the CPU beside is the same");
    }
}
