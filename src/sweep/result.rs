//! `sweep.json`: the typed result of a sweep — per variant its steps, knee and headroom, and
//! for each live variant with a simulated twin how well the twin predicted it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ladder;
use super::verdict::{Breach, Rule, Step};

/// Relative error allowed on a predicted p50 or p99 below 80% of the live knee.
pub const PREDICT_LATENCY_TOLERANCE: f64 = 0.20;
/// Relative error allowed on a predicted knee.
pub const PREDICT_KNEE_TOLERANCE: f64 = 0.15;
/// Op kinds whose latency a prediction is judged on.
pub const PREDICTED_OPS: [&str; 2] = ["feed", "photo_get"];

/// The limits every step was judged by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Feed p99 target, ms.
    pub feed_p99_ms: f64,
    /// Freshness p99 target, s.
    pub freshness_p99_s: f64,
    /// Largest dropped fraction of offered ops.
    pub max_dropped: f64,
    /// Largest failed fraction of completed ops.
    pub max_errors: f64,
}

/// The knee of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The highest good load multiplier below the lowest bad one.
    pub load: f64,
    /// Feed reads offered per second there.
    pub feed_offered_per_s: f64,
    /// Feed reads served per second there.
    pub feed_served_per_s: f64,
    /// The host's machine-speed probe near the knee, µs: the median `host_us` of the live
    /// steps at or above half the knee's load (see [`super::host::knee_probe`]). Absent for a
    /// simulated ladder and for steps without a probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_us: Option<f64>,
    /// The knee on the reference host (`sweep.reference-probe-us`): `load × host_us ÷
    /// reference`. Capacity scales with the host's speed, so this is the figure to compare
    /// between reruns and commits on a shared machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_reference: Option<f64>,
}

/// One variant's ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSweep {
    /// Variant name.
    pub variant: String,
    /// `live` or `sim`.
    pub mode: String,
    /// Fan-out strategy.
    pub fanout: String,
    /// The live variant this simulated twin predicts, if it is one.
    pub predicts: Option<String>,
    /// Steps in order of load.
    pub steps: Vec<Step>,
    /// The knee, or `None` when even the lowest load broke.
    pub knee: Option<Knee>,
    /// Whether the ladder's top load was still good (the knee lies above the ladder).
    pub knee_above_ladder: bool,
    /// Knee ÷ the scenario's own load (`traffic.load` of the variant = 1).
    pub headroom: Option<f64>,
    /// What broke at the lowest bad load.
    pub first_breach: Vec<Breach>,
    /// The resource the simulator saw saturate first (at the lowest bad load), when simulated.
    pub bottleneck: Option<String>,
    /// Steps past the knee (`sweep.overload`), apart from `steps`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overload: Vec<super::overload::OverloadStep>,
}

impl VariantSweep {
    /// A ladder of `steps` not yet judged: [`VariantSweep::finish`] fills the rest.
    pub fn unjudged(
        variant: &str,
        mode: &str,
        fanout: &str,
        predicts: Option<String>,
        steps: Vec<Step>,
    ) -> VariantSweep {
        VariantSweep {
            variant: variant.to_string(),
            mode: mode.to_string(),
            fanout: fanout.to_string(),
            predicts,
            steps,
            knee: None,
            knee_above_ladder: false,
            headroom: None,
            first_breach: Vec::new(),
            bottleneck: None,
            overload: Vec::new(),
        }
    }

    /// Fills knee, headroom, first breach and bottleneck from the steps (sorted by load);
    /// `top` is the ladder's highest load and `reference_us` the reference host's probe.
    pub fn finish(&mut self, top: f64, reference_us: f64) {
        self.steps.sort_by(|a, b| a.load.total_cmp(&b.load));
        let pts: Vec<(f64, bool)> = self.steps.iter().map(|s| (s.load, s.good)).collect();
        let knee = ladder::knee(&pts);
        self.knee = knee.and_then(|k| self.step_at(k)).map(|s| {
            let host_us = super::host::knee_probe(&self.steps, s.load);
            Knee {
                load: s.load,
                feed_offered_per_s: s.ops.get("feed").map_or(0.0, |o| o.offered_per_s),
                feed_served_per_s: s.ops.get("feed").map_or(0.0, |o| o.served_per_s),
                host_us,
                at_reference: host_us.map(|u| s.load * u / reference_us),
            }
        });
        self.headroom = knee;
        self.knee_above_ladder =
            matches!(ladder::bracket(&pts), ladder::Bracket::AllGood(g) if g >= top * (1.0 - 1e-9));
        let first_bad = self.steps.iter().find(|s| !s.good);
        self.first_breach = first_bad.map(|s| s.breaches.clone()).unwrap_or_default();
        let lag = self
            .first_breach
            .iter()
            .any(|b| matches!(b.rule, Rule::Freshness | Rule::FreshnessTimeouts));
        self.bottleneck = first_bad
            .or(self.steps.last())
            .and_then(|s| s.bottleneck.clone())
            .or_else(|| lag.then(|| "materializer backlog (freshness lag)".to_string()));
    }

    /// The step run at `load`, if any.
    pub fn step_at(&self, load: f64) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| (s.load / load - 1.0).abs() < 1e-6)
    }
}

/// One op at one load, live against predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedStep {
    /// Load multiplier.
    pub load: f64,
    /// Op kind.
    pub op: String,
    /// Live p50 and p99, ms.
    pub live_ms: [f64; 2],
    /// Simulated p50 and p99, ms.
    pub sim_ms: [f64; 2],
    /// Relative errors of p50 and p99 (sim ÷ live − 1).
    pub error: [f64; 2],
    /// Whether this load is at most 80% of the live knee (where the tolerance applies) and
    /// is not the calibration step.
    pub judged: bool,
    /// Whether this is the live step that calibrated the twin: reproduced, not predicted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub calibration: bool,
    /// Seconds of the live step the host stole CPU in (see [`Step::stolen_s`]): its
    /// latencies measured the neighbours as well. Judged all the same.
    #[serde(default)]
    pub live_stolen_s: u32,
}

/// The CPU in use at one load, live against predicted: the check of the twin's CPU model that
/// noise moves least (see [`Step::cores`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictedCores {
    /// Load multiplier.
    pub load: f64,
    /// Cores' worth of CPU in use: the live step's process, and its twin's box.
    pub cores: [f64; 2],
}

impl PredictedCores {
    /// The twin's cores over live's.
    pub fn ratio(&self) -> f64 {
        self.cores[1] / self.cores[0]
    }
}

/// How well a simulated twin predicted its live variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The live variant.
    pub live: String,
    /// Its simulated twin.
    pub sim: String,
    /// Per load and op.
    pub steps: Vec<PredictedStep>,
    /// Knee multipliers, live and simulated.
    pub knee: [Option<f64>; 2],
    /// Relative error of the knee.
    pub knee_error: Option<f64>,
    /// Lowest load with drops beyond the limit, live and simulated.
    pub drop_onset: [Option<f64>; 2],
    /// Highest load each side ran, live and simulated: a side without a drop onset only says
    /// that its onset lies above it. Zero in a sweep written before it was kept.
    #[serde(default)]
    pub top_load: [f64; 2],
    /// Per load where both measured it, the cores in use; not judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cores: Vec<PredictedCores>,
    /// Whether every judged latency is within 20%, the knee within 15% and the drop onset
    /// within one ladder step.
    pub ok: bool,
    /// How far the twin's calibration step was from live's before and after settling
    /// (`sweep.settle-rounds`), per op; empty when it was not settled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled: Vec<SettledOp>,
    /// Per op kind, the twin's wake-up decay fitted on the calibration burst
    /// (`sweep.wake-from-burst`); empty when it was not fitted.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub wake_decay: std::collections::BTreeMap<String, f64>,
}

/// One op of the twin's calibration step against the live step it was calibrated on: its p50
/// and p99 as the twin's over live's, less 1, before the transports were settled and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettledOp {
    /// Op kind.
    pub op: String,
    /// `[p50, p99]` errors before settling.
    pub before: [f64; 2],
    /// `[p50, p99]` errors after.
    pub after: [f64; 2],
}

impl Prediction {
    /// `[within, judged]`: how many judged p50 and p99 errors are within
    /// [`PREDICT_LATENCY_TOLERANCE`] (an undefined error is not), and how many were judged.
    pub fn cells(&self) -> [u32; 2] {
        let judged = self.steps.iter().filter(|s| s.judged).flat_map(|s| s.error);
        judged.fold([0, 0], |[ok, all], e| {
            [
                ok + u32::from(e.abs() <= PREDICT_LATENCY_TOLERANCE),
                all + 1,
            ]
        })
    }
}

/// `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Version of the binary that wrote it.
    pub feedlab: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed of every step.
    pub seed: u64,
    /// The targets.
    pub limits: Limits,
    /// The ladder's geometric factor.
    pub factor: f64,
    /// One ladder per variant (twins included).
    pub variants: Vec<VariantSweep>,
    /// One per live variant with a twin.
    pub predictions: Vec<Prediction>,
    /// Each live knee beside an earlier sweep's (`--against`); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<super::against::Against>,
    /// The reference host's machine-speed probe, µs, that live knees are also given on
    /// (`Knee::at_reference`; absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_probe_us: Option<f64>,
    /// Where the sweep ran (its first variant's provenance; absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::summary::Provenance>,
}

impl SweepReport {
    /// Writes `sweep.json` under `out`.
    pub fn save(&self, out: &Path) -> anyhow::Result<()> {
        let path = out.join("sweep.json");
        crate::summary::write_json(&path, self)
    }

    /// Reads `dir/sweep.json`, a directory the user named; a missing or malformed file is a
    /// [`crate::cli::UserError`] naming it (and the line and column of a JSON error).
    pub fn load(dir: &Path) -> anyhow::Result<SweepReport> {
        let path = dir.join("sweep.json");
        let user = |e: String| crate::cli::UserError(format!("{}: {e}", path.display()));
        let text = std::fs::read_to_string(&path).map_err(|e| user(format!("cannot read: {e}")))?;
        serde_json::from_str(&text).map_err(|e| user(format!("not a valid sweep.json: {e}")).into())
    }
}

/// Judges `sim`'s prediction of `live`; `factor` is the ladder's step. The step at
/// `calibrated_at`, the load whose live run calibrated the twin, is listed but not judged:
/// the twin reproduces it rather than predicts it.
pub fn predict(
    live: &VariantSweep,
    sim: &VariantSweep,
    factor: f64,
    calibrated_at: Option<f64>,
) -> Prediction {
    let live_knee = live.knee.as_ref().map(|k| k.load);
    let sim_knee = sim.knee.as_ref().map(|k| k.load);
    let (mut steps, mut cores) = (Vec::new(), Vec::new());
    for l in &live.steps {
        let Some(s) = sim.step_at(l.load) else {
            continue;
        };
        if let (Some(a), Some(b)) = (l.cores, s.cores)
            && a > 0.0
        {
            cores.push(PredictedCores {
                load: l.load,
                cores: [a, b],
            });
        }
        let calibration = calibrated_at.is_some_and(|c| (l.load / c - 1.0).abs() < 1e-6);
        let judged = !calibration && live_knee.is_some_and(|k| l.load <= 0.8 * k * (1.0 + 1e-9));
        for op in PREDICTED_OPS {
            let (Some(lo), Some(so)) = (l.ops.get(op), s.ops.get(op)) else {
                continue;
            };
            let rel = |a: f64, b: f64| if a > 0.0 { b / a - 1.0 } else { f64::NAN };
            steps.push(PredictedStep {
                load: l.load,
                op: op.to_string(),
                live_ms: [lo.p50_ms, lo.p99_ms],
                sim_ms: [so.p50_ms, so.p99_ms],
                error: [rel(lo.p50_ms, so.p50_ms), rel(lo.p99_ms, so.p99_ms)],
                judged,
                calibration,
                live_stolen_s: l.stolen_s,
            });
        }
    }
    let knee_error = match (live_knee, sim_knee) {
        (Some(l), Some(s)) => Some(s / l - 1.0),
        _ => None,
    };
    let drop_onset = [drop_onset(live), drop_onset(sim)];
    let latency_ok = steps
        .iter()
        .filter(|p| p.judged)
        .all(|p| p.error.iter().all(|e| e.abs() <= PREDICT_LATENCY_TOLERANCE));
    let knee_ok = match (live_knee, sim_knee) {
        (Some(_), Some(_)) => knee_error.is_some_and(|e| e.abs() <= PREDICT_KNEE_TOLERANCE),
        (None, None) => true,
        _ => false,
    };
    let top = [top_load(live), top_load(sim)];
    let onset_ok = onsets_agree(drop_onset, top, factor);
    Prediction {
        live: live.variant.clone(),
        sim: sim.variant.clone(),
        steps,
        knee: [live_knee, sim_knee],
        knee_error,
        drop_onset,
        top_load: top,
        cores,
        ok: latency_ok && knee_ok && onset_ok,
        settled: Vec::new(),
        wake_decay: Default::default(),
    }
}

/// The lowest load at which `v` dropped or shed past the limit, if any step did.
fn drop_onset(v: &VariantSweep) -> Option<f64> {
    (v.steps.iter())
        .find(|s| s.breaches.iter().any(|b| b.rule == Rule::Dropped))
        .map(|s| s.load)
}

/// The highest load `v` ran.
fn top_load(v: &VariantSweep) -> f64 {
    v.steps.iter().map(|s| s.load).fold(0.0, f64::max)
}

/// Whether live's and the twin's drop onsets (`[live, sim]`) can lie within one ladder step
/// (`factor`) of each other. A ladder that never dropped up to its `top` load only says that
/// its onset lies above it, since a ladder stops once its knee is bracketed; so an onset on
/// one side and none on the other agree when the onset lies less than a step above the
/// other side's top.
pub(super) fn onsets_agree(onset: [Option<f64>; 2], top: [f64; 2], factor: f64) -> bool {
    let within = factor * (1.0 + 1e-9);
    match onset {
        [Some(l), Some(s)] => (s / l).max(l / s) <= within,
        // The censored side's onset lies strictly above its top.
        [None, Some(s)] => s * factor > top[0],
        [Some(l), None] => l * factor > top[1],
        [None, None] => true,
    }
}
