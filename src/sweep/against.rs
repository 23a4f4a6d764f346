//! `feedlab sweep --against DIR`: each live knee of this sweep beside the same variant's knee
//! in an earlier sweep (a rerun, or another commit's), as run and on the reference host.
//!
//! A live knee is a capacity, and a shared machine's speed moves it: the same build's knee
//! has moved by two ladder steps between reruns when the host's machine-speed probe moved by a
//! fifth. The knee on the reference host (`Knee::at_reference`) scales that out, so its change
//! is the one that says whether the design got slower; both are reported.

use serde::{Deserialize, Serialize};

use std::path::Path;

use super::host::{knee_probe, recorded_probe};
use super::result::{SweepReport, VariantSweep, predict};

/// One live variant's knee in the earlier sweep and in this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KneeChange {
    /// Variant name.
    pub variant: String,
    /// `[earlier, this]` knee multipliers, as run.
    pub load: [f64; 2],
    /// This ÷ earlier − 1, as run.
    pub change: f64,
    /// `[earlier, this]` knees on the reference host (this sweep's
    /// `reference_probe_us`), when both ladders probed the host.
    pub at_reference: Option<[f64; 2]>,
    /// This ÷ earlier − 1 on the reference host.
    pub reference_change: Option<f64>,
    /// `[within, judged]`: the feed and photo_get p50 and p99 of this ladder's steps against
    /// the earlier's at the same loads, judged as a twin's prediction is (within 20%, at
    /// loads up to 80% of the earlier knee). It is how closely the
    /// live service reproduces itself, the floor for a twin's agreement; absent when no
    /// load was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<[u32; 2]>,
    /// `[within, judged]`: this ladder's feed and photo_get p50 and p99 against the earlier
    /// ladder's rise from its lowest step put on this ladder's lowest step (each figure the
    /// earlier's times this lowest step's over the earlier's), judged as this ladder's twin
    /// is (within 20%, at loads up to 80% of this knee, the lowest step not judged). It is
    /// what a twin calibrated on this ladder's first step would score if it knew the earlier
    /// ladder's curve exactly: the floor for the twin's own cells on a host whose live
    /// service does not repeat its curve. Absent when no load was judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebased_cells: Option<[u32; 2]>,
}

/// The comparison `sweep.json` keeps under `against`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Against {
    /// The earlier sweep's directory, as given.
    pub dir: String,
    /// One per live variant with a knee in both sweeps, in this sweep's order.
    pub knees: Vec<KneeChange>,
}

/// Reads the earlier sweep in `dir` (see [`SweepReport::load`]). A live step recorded before
/// steps kept their probe (`host_us`) has it read from its summary, where that is still
/// there, so that an older ladder's knee can be put on the reference host too.
pub fn load(dir: &Path) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::load(dir)?;
    for v in report.variants.iter_mut().filter(|v| v.mode == "live") {
        for s in v.steps.iter_mut().filter(|s| s.host_us.is_none()) {
            s.host_us = recorded_probe(&dir.join(&s.summary)).ok().flatten();
        }
    }
    Ok(report)
}

/// The knee changes from `earlier` to `now`, for each live variant with a knee in both.
/// Both sides are put on `now`'s reference host; an earlier ladder written before knees
/// carried their probe has it taken from its steps' probes.
pub fn compare(dir: &str, earlier: &SweepReport, now: &SweepReport) -> Against {
    let reference = now
        .reference_probe_us
        .unwrap_or(crate::spec::DEFAULT_REFERENCE_PROBE_US);
    let knees = (now.variants.iter())
        .filter(|v| v.mode == "live")
        .filter_map(|v| {
            let before =
                (earlier.variants.iter()).find(|e| e.mode == "live" && e.variant == v.variant)?;
            let ((l0, u0), (l1, u1)) = (knee_of(before)?, knee_of(v)?);
            let on_reference = u0
                .zip(u1)
                .map(|(u0, u1)| [l0 * u0 / reference, l1 * u1 / reference]);
            let cells = predict(before, v, now.factor, None).cells();
            let rebased = rebased(before, v)
                .map(|(curve, first)| predict(v, &curve, now.factor, Some(first)).cells());
            Some(KneeChange {
                variant: v.variant.clone(),
                load: [l0, l1],
                change: l1 / l0 - 1.0,
                at_reference: on_reference,
                reference_change: on_reference.map(|[a, b]| b / a - 1.0),
                cells: (cells[1] > 0).then_some(cells),
                rebased_cells: rebased.filter(|c| c[1] > 0),
            })
        })
        .collect();
    Against {
        dir: dir.to_string(),
        knees,
    }
}

/// `earlier`'s steps with each op's p50 and p99 scaled by `now`'s over `earlier`'s at the
/// lowest load both ran, and that load; `None` when they share no load.
fn rebased(earlier: &VariantSweep, now: &VariantSweep) -> Option<(VariantSweep, f64)> {
    let (n0, e0) = (now.steps.iter()).find_map(|s| Some((s, earlier.step_at(s.load)?)))?;
    let mut curve = earlier.clone();
    for step in &mut curve.steps {
        for (op, o) in &mut step.ops {
            let (Some(n), Some(e)) = (n0.ops.get(op), e0.ops.get(op)) else {
                continue;
            };
            let scale = |x: f64, n: f64, e: f64| if e > 0.0 { x * n / e } else { f64::NAN };
            o.p50_ms = scale(o.p50_ms, n.p50_ms, e.p50_ms);
            o.p99_ms = scale(o.p99_ms, n.p99_ms, e.p99_ms);
        }
    }
    Some((curve, n0.load))
}

/// A ladder's knee multiplier and the host's probe near it, µs.
fn knee_of(v: &VariantSweep) -> Option<(f64, Option<f64>)> {
    let k = v.knee.as_ref()?;
    Some((k.load, k.host_us.or_else(|| knee_probe(&v.steps, k.load))))
}

/// The lines the terminal table ends with.
pub fn lines(a: &Against, reference_us: f64) -> Vec<String> {
    a.knees
        .iter()
        .map(|k| {
            let on_reference = match (k.at_reference, k.reference_change) {
                (Some([a, b]), Some(c)) => format!(
                    "; on the {reference_us:.0} µs host {a:.2} → {b:.2} ({:+.0}%)",
                    100.0 * c
                ),
                _ => String::new(),
            };
            let cells = k.cells.map_or(String::new(), |[ok, all]| {
                format!("; p50/p99 within 20% of the earlier's in {ok} of {all}")
            });
            let rebased = k.rebased_cells.map_or(String::new(), |[ok, all]| {
                format!(", of its rise put on this first step in {ok} of {all}")
            });
            format!(
                "against {}: {} knee x{:.2} → x{:.2} ({:+.0}%){on_reference}{cells}{rebased}",
                a.dir,
                k.variant,
                k.load[0],
                k.load[1],
                100.0 * k.change
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::verdict::Step;

    /// A live ladder good up to `knee` (of x1, x2, x4, x8, x16), each step probing `us(load)`;
    /// the knee judged with its probe when `judged`, else left as an older file has it.
    fn ladder(name: &str, knee: f64, us: fn(f64) -> f64, judged: bool) -> VariantSweep {
        let steps = [1.0, 2.0, 4.0, 8.0, 16.0]
            .map(|l| Step::probed(l, l <= knee, Some(us(l))))
            .to_vec();
        let mut v = VariantSweep::unjudged(name, "live", "push", None, steps);
        v.finish(64.0, 60.0);
        if !judged {
            let k = v.knee.as_mut().expect("knee");
            (k.host_us, k.at_reference) = (None, None);
        }
        v
    }

    fn report(variants: Vec<VariantSweep>) -> SweepReport {
        SweepReport {
            feedlab: String::new(),
            scenario: "s".into(),
            seed: 1,
            limits: crate::sweep::result::Limits {
                feed_p99_ms: 200.0,
                freshness_p99_s: 5.0,
                max_dropped: 0.001,
                max_errors: 0.001,
            },
            factor: 2.0,
            variants,
            predictions: Vec::new(),
            against: None,
            reference_probe_us: Some(60.0),
            provenance: None,
        }
    }

    #[test]
    fn a_knee_halved_by_a_host_half_as_fast_is_unchanged_on_the_reference_host() {
        let earlier = report(vec![
            ladder("push", 8.0, |_| 60.0, false),
            ladder("gone", 8.0, |_| 60.0, true),
        ]);
        let now = report(vec![
            ladder("push", 4.0, |_| 120.0, true),
            ladder("pull", 4.0, |_| 60.0, true),
        ]);
        let a = compare("d", &earlier, &now);
        assert_eq!(a.knees.len(), 1, "only push is in both: {a:?}");
        let k = &a.knees[0];
        assert_eq!((k.load, k.change), ([8.0, 4.0], -0.5));
        // The earlier knee's probe came from its steps: 60 µs near x8, 120 µs near x4.
        assert_eq!(k.at_reference, Some([8.0, 8.0]));
        assert_eq!(k.reference_change, Some(0.0));
        let line = &lines(&a, 60.0)[0];
        assert!(
            line.contains("x8.00 → x4.00 (-50%)") && line.contains("8.00 → 8.00 (+0%)"),
            "{line}"
        );
    }

    /// Gives every step of `v` a feed and a photo_get with p50 1 ms and p99 `p99(load)` ms.
    fn with_latencies(mut v: VariantSweep, p99: fn(f64) -> f64) -> VariantSweep {
        for s in &mut v.steps {
            for op in ["feed", "photo_get"] {
                let o = crate::sweep::verdict::StepOp {
                    p50_ms: 1.0,
                    p99_ms: p99(s.load),
                    ..Default::default()
                };
                s.ops.insert(op.into(), o);
            }
        }
        v
    }

    #[test]
    fn a_rerun_is_judged_against_the_earlier_ladder_as_a_twin_is() {
        let earlier = with_latencies(ladder("push", 8.0, |_| 60.0, true), |_| 4.0);
        // Below 80% of the earlier knee (x1, x2, x4) only x2's p99s moved past 20%; x8 and
        // x16 are not judged, however far they moved.
        let p99 = |l: f64| if l == 2.0 || l >= 8.0 { 8.0 } else { 4.5 };
        let now = with_latencies(ladder("push", 8.0, |_| 60.0, true), p99);
        let a = compare("d", &report(vec![earlier]), &report(vec![now]));
        assert_eq!(a.knees[0].cells, Some([10, 12]));
        // Rebased on x1 (4.0 → 4.5), the earlier curve is 4.5 everywhere: x2's p99s miss
        // by 44%, x4's hit; x1 is the calibration step and is not judged.
        assert_eq!(a.knees[0].rebased_cells, Some([6, 8]));
        let line = &lines(&a, 60.0)[0];
        assert!(
            line.ends_with(
                "within 20% of the earlier's in 10 of 12, of its rise put on this first step \
                 in 6 of 8"
            ),
            "{line}"
        );
    }

    #[test]
    fn a_ladder_without_probes_is_compared_as_run_only() {
        let mut earlier = ladder("push", 8.0, |_| 60.0, false);
        earlier.steps.iter_mut().for_each(|s| s.host_us = None);
        let now = report(vec![ladder("push", 16.0, |_| 60.0, true)]);
        let a = compare("d", &report(vec![earlier]), &now);
        assert_eq!(a.knees[0].change, 1.0);
        assert_eq!(
            (a.knees[0].at_reference, a.knees[0].reference_change),
            (None, None)
        );
    }
}
