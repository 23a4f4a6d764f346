//! The sweep's terminal output: one line per step as it finishes, and a table of knees (plus
//! the predictions) at the end.

use std::fmt::Write as _;

use super::result::SweepReport;
use super::verdict::{Breach, Step};

/// The progress line of a finished step.
pub fn step_line(variant: &str, s: &Step) -> String {
    let feed = s.ops.get("feed").cloned().unwrap_or_default();
    let verdict = if s.good {
        "good".to_string()
    } else {
        s.breaches
            .iter()
            .map(Breach::reason)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut stolen = match s.stolen_s {
        0 => String::new(),
        n => format!(" (the host stole CPU in {n} s)"),
    };
    if let Some(c) = s.cores {
        stolen.push_str(&format!(", {c:.2} cores"));
    }
    if let Some(d) = s.cpu_drift {
        stolen.push_str(&format!(" (CPU per op ×{d:.2} its burst's at this load)"));
    }
    format!(
        "sweep: {variant} x{:.3}: feed {:.0}/s offered, {:.0}/s served, p50 {:.1} ms, p99 {:.1} ms{stolen}: {verdict}",
        s.load, feed.offered_per_s, feed.served_per_s, feed.p50_ms, feed.p99_ms
    )
}

/// The final table: knee (as run, and on the reference host), what broke first, per variant;
/// then the predictions.
pub fn render(r: &SweepReport) -> String {
    let reference = format!("on {:.0} µs", r.reference_probe_us.unwrap_or(f64::NAN));
    let mut t = format!(
        "{:<16} {:<5} {:>6} {:>10} {:>10} {:>14} {:>14}  {}\n",
        "variant",
        "mode",
        "steps",
        "knee ×",
        reference,
        "feeds/s at knee",
        "served/s",
        "breaks first by"
    );
    t.push_str(&"-".repeat(111));
    t.push('\n');
    for v in &r.variants {
        let knee = match (&v.knee, v.knee_above_ladder) {
            (Some(k), true) => format!("≥ {:.2}", k.load),
            (Some(k), false) => format!("{:.2}", k.load),
            (None, _) => "< min".to_string(),
        };
        let (offered, served) = v.knee.as_ref().map_or(("-".into(), "-".into()), |k| {
            (
                format!("{:.0}", k.feed_offered_per_s),
                format!("{:.0}", k.feed_served_per_s),
            )
        });
        let on_reference = (v.knee.as_ref().and_then(|k| k.at_reference))
            .map_or("-".into(), |x| format!("{x:.2}"));
        let mut first: Vec<String> = v.first_breach.iter().map(Breach::reason).collect();
        if let Some(b) = &v.bottleneck {
            first.push(format!("bottleneck {b}"));
        }
        let _ = writeln!(
            t,
            "{:<16} {:<5} {:>6} {:>10} {:>10} {:>14} {:>14}  {}",
            v.variant,
            v.mode,
            v.steps.len(),
            knee,
            on_reference,
            offered,
            served,
            first.join("; ")
        );
    }
    for v in &r.variants {
        for o in &v.overload {
            let _ = writeln!(t, "{}", super::overload::line(&v.variant, o));
        }
    }
    if let Some(a) = &r.against {
        let reference = r.reference_probe_us.unwrap_or(f64::NAN);
        for line in super::against::lines(a, reference) {
            let _ = writeln!(t, "{line}");
        }
    }
    for p in &r.predictions {
        let _ = writeln!(t, "{}", prediction_line(p));
    }
    t
}

/// One twin's verdict: its cells within 20%, the worst error among them, the knee error and
/// the drop onsets.
fn prediction_line(p: &super::result::Prediction) -> String {
    let worst = p
        .steps
        .iter()
        .filter(|s| s.judged)
        .flat_map(|s| s.error)
        .fold(0.0f64, |a, e| a.max(e.abs()));
    let [within, judged] = p.cells();
    format!(
        "prediction {} by {}: p50/p99 within 20% below 80% of the knee in {within} of {judged} (worst {:.0}%), knee error {}, drop onset live {} / sim {}{}: {}",
        p.live,
        p.sim,
        100.0 * worst,
        p.knee_error
            .map_or("-".into(), |e| format!("{:+.0}%", 100.0 * e)),
        onset(p.drop_onset[0], p.top_load[0]),
        onset(p.drop_onset[1], p.top_load[1]),
        cores_clause(p),
        if p.ok { "within tolerance" } else { "OFF" }
    )
}

/// A drop onset ("x12.34"), or where there is none the highest load run ("none up to x14.67";
/// "none" when that load was not kept).
fn onset(onset: Option<f64>, top: f64) -> String {
    match onset {
        Some(l) => format!("x{l:.2}"),
        None if top > 0.0 => format!("none up to x{top:.2}"),
        None => "none".into(),
    }
}

/// The twin's cores over live's at the lowest and the highest load they share up to the live
/// knee (", CPU twin ÷ live ×0.96 at x1.00 to ×1.17 at x14.67"); empty without figures.
fn cores_clause(p: &super::result::Prediction) -> String {
    let upto = p.knee[0].unwrap_or(f64::INFINITY) * (1.0 + 1e-9);
    let shared: Vec<_> = p.cores.iter().filter(|c| c.load <= upto).collect();
    match (shared.first(), shared.last()) {
        (Some(a), Some(b)) => format!(
            ", CPU twin ÷ live ×{:.2} at x{:.2} to ×{:.2} at x{:.2}",
            a.ratio(),
            a.load,
            b.ratio(),
            b.load
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::result::{PredictedCores, Prediction};
    use super::*;

    #[test]
    fn the_cpu_clause_spans_the_loads_up_to_the_live_knee_and_is_empty_without_figures() {
        let at = |load: f64, live: f64, twin: f64| PredictedCores {
            load,
            cores: [live, twin],
        };
        let mut p = Prediction {
            live: "v".into(),
            sim: "v-sim".into(),
            steps: Vec::new(),
            knee: [Some(4.0), Some(2.0)],
            knee_error: Some(-0.5),
            drop_onset: [None, Some(8.0)],
            top_load: [6.73, 8.0],
            cores: Vec::new(),
            ok: false,
            settled: Vec::new(),
            wake_decay: Default::default(),
        };
        assert_eq!(cores_clause(&p), "");
        p.cores = vec![at(1.0, 0.2, 0.19), at(4.0, 0.8, 0.96), at(8.0, 1.9, 2.0)];
        let clause = cores_clause(&p);
        assert_eq!(clause, ", CPU twin ÷ live ×0.95 at x1.00 to ×1.20 at x4.00");
        let line = prediction_line(&p);
        assert!(line.contains(&clause), "{line}");
        assert!(
            line.contains("drop onset live none up to x6.73 / sim x8.00"),
            "{line}"
        );
        p.top_load = [0.0, 0.0];
        assert!(prediction_line(&p).contains("drop onset live none / sim"));
    }
}
