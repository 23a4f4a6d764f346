//! Judging one ladder step: the figures a sweep keeps from a step's `summary.json` and whether
//! the step met every target, by the rules every run is judged by ([`crate::summary::Rules`]:
//! feed p99, dropped and failed fractions over `sweep.max-dropped` and `sweep.max-errors`,
//! freshness).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::run::STALL_STEAL_MS;
use crate::spec::SweepSettings;
use crate::spec::TargetSettings;
use crate::summary::{Summary, client_side_errors};

pub use crate::summary::{Breach, Rule};

/// One op kind at one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepOp {
    /// Ops offered per second (completed plus dropped, over the step).
    pub offered_per_s: f64,
    /// Goodput: ops completed without error per second.
    pub served_per_s: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Ops that failed at the service (client-side codes excluded).
    pub errors: u64,
    /// Ops dropped at the concurrency limit.
    pub dropped: u64,
    /// Ops the service refused under overload (503).
    #[serde(default)]
    pub shed: u64,
}

/// One step of a ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Load multiplier on the scenario's traffic.
    pub load: f64,
    /// Step length, seconds.
    pub duration_s: f64,
    /// The step's `summary.json`, relative to the sweep's output directory.
    pub summary: String,
    /// Per op kind.
    pub ops: BTreeMap<String, StepOp>,
    /// Freshness p99, ms.
    pub freshness_p99_ms: f64,
    /// Whether every target held.
    pub good: bool,
    /// The targets that broke.
    pub breaches: Vec<Breach>,
    /// The simulator's most utilised resource at this step, when simulated.
    pub bottleneck: Option<String>,
    /// Seconds of the measured step in which the host stole at least
    /// [`STALL_STEAL_MS`] of CPU from the box (a live step's probe; 0 when simulated).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stolen_s: u32,
    /// A predicting ladder's calibration step: its process CPU per op over its measured
    /// window ÷ over its calibration burst's first phase, the same load seconds later (1:
    /// the machine's speed held through the step). Absent on other steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_drift: Option<f64>,
    /// A live step's machine-speed probe, µs (`probe.us`: the CPU of a fixed piece of work;
    /// higher on a slower machine). Absent when simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_us: Option<f64>,
    /// Cores' worth of CPU in use over the measured step: a live step's process (its in-situ
    /// calibration's `process-cores`, the machine-speed probe's own CPU left out), a twin's
    /// simulated CPU resources (`sim.cpu_cores`). Absent where not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<f64>,
    /// A twin's step: its cores' speed against the calibration step's machine, from the live
    /// ladder's probe at this load (`sweep.twin-speed = "live"`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// The other trials of this load (`sweep.confirm`): ones that broke, or that the host
    /// stole CPU from while a twin was to be judged against them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<Retried>,
}

/// A trial of a step's load that was run again and not kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retried {
    /// Its `summary.json`, relative to the sweep's output directory.
    pub summary: String,
    /// The targets that broke (none when it was run again only for stolen seconds).
    pub breaches: Vec<Breach>,
    /// Its seconds the host stole CPU in.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stolen_s: u32,
    /// Its [`Step::cpu_drift`], for a calibration step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_drift: Option<f64>,
}

impl Step {
    /// A step at `load` with no ops, judged `good`, that probed the host at `host_us`.
    #[cfg(test)]
    pub fn probed(load: f64, good: bool, host_us: Option<f64>) -> Step {
        Step {
            load,
            duration_s: 10.0,
            summary: String::new(),
            ops: BTreeMap::new(),
            freshness_p99_ms: 0.0,
            good,
            breaches: Vec::new(),
            bottleneck: None,
            stolen_s: 0,
            cpu_drift: None,
            host_us,
            cores: None,
            speed: None,
            retried: Vec::new(),
        }
    }

    /// This step as a trial not kept.
    pub fn into_retried(self) -> Retried {
        Retried {
            summary: self.summary,
            breaches: self.breaches,
            stolen_s: self.stolen_s,
            cpu_drift: self.cpu_drift,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Judges `s`, run at `load`, against `target` and the sweep's limits.
pub fn judge(
    s: &Summary,
    load: f64,
    summary: String,
    target: &TargetSettings,
    limits: &SweepSettings,
) -> Step {
    let d = s.duration_s.max(1e-9);
    let mut ops = BTreeMap::new();
    for (name, o) in &s.ops {
        // `count` is successes; errors are apart. A client-side error (the generator had
        // nothing to ask for) never reached the service, so it is neither offered nor served.
        let service_errors = o.errors.saturating_sub(client_side_errors(o));
        let attempted = o.count + service_errors;
        ops.insert(
            name.clone(),
            StepOp {
                offered_per_s: (attempted + o.dropped + o.shed) as f64 / d,
                served_per_s: o.count as f64 / d,
                p50_ms: o.p50_ms,
                p99_ms: o.p99_ms,
                errors: service_errors,
                dropped: o.dropped,
                shed: o.shed,
            },
        );
    }
    let breaches = s.breaches(&target.rules(limits));
    let fresh = s.fanout.freshness_p99_ms;
    Step {
        load,
        duration_s: s.duration_s,
        summary,
        ops,
        freshness_p99_ms: fresh,
        good: breaches.is_empty(),
        breaches,
        bottleneck: bottleneck(s),
        stolen_s: stolen_seconds(s),
        cpu_drift: None,
        host_us: s.probe.as_ref().map(|p| p.us).filter(|&u| u > 0.0),
        cores: s.sim.as_ref().and_then(|x| x.cpu_cores),
        speed: None,
        retried: Vec::new(),
    }
}

/// Seconds of `s` in which its probe saw the host steal [`STALL_STEAL_MS`] or more.
fn stolen_seconds(s: &Summary) -> u32 {
    let n = s
        .probe
        .as_ref()
        .map_or(0, |p| p.stolen_seconds(STALL_STEAL_MS).count());
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The simulator's named bottleneck (`sim.bottleneck`).
fn bottleneck(s: &Summary) -> Option<String> {
    s.sim.as_ref().and_then(|x| x.bottleneck.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::OpStats;

    fn summary(feed_p99: f64, dropped: u64, no_photo: u64, http_500: u64) -> Summary {
        let mut s = Summary {
            duration_s: 10.0,
            ..Summary::default()
        };
        s.ops.insert(
            "feed".into(),
            OpStats {
                count: 1000,
                dropped,
                p99_ms: feed_p99,
                ..OpStats::default()
            },
        );
        let mut view = OpStats {
            count: 2000,
            errors: no_photo + http_500,
            ..OpStats::default()
        };
        view.error_codes = [("no_photo".into(), no_photo), ("http_500".into(), http_500)].into();
        s.ops.insert("photo_get".into(), view);
        s
    }

    fn rules(step: &Step) -> Vec<Rule> {
        step.breaches.iter().map(|b| b.rule).collect()
    }

    #[test]
    fn good_step_and_each_breach() {
        let (t, l) = (TargetSettings::default(), SweepSettings::default());
        let ok = judge(&summary(50.0, 0, 10, 0), 1.0, "s".into(), &t, &l);
        assert!(ok.good, "{:?}", ok.breaches);
        assert_eq!(ok.ops["photo_get"].errors, 0);
        assert!((ok.ops["feed"].offered_per_s - 100.0).abs() < 1e-9);
        // 2,000 successes in 10 s; the 10 client-side misses are neither offered nor served.
        assert!((ok.ops["photo_get"].served_per_s - 200.0).abs() < 1e-9);
        assert!((ok.ops["photo_get"].offered_per_s - 200.0).abs() < 1e-9);
        let failing = judge(&summary(50.0, 0, 0, 500), 1.0, "s".into(), &t, &l);
        assert!((failing.ops["photo_get"].offered_per_s - 250.0).abs() < 1e-9);
        assert!((failing.ops["photo_get"].served_per_s - 200.0).abs() < 1e-9);
        let slow = judge(&summary(250.0, 0, 0, 0), 1.0, "s".into(), &t, &l);
        assert_eq!(rules(&slow), vec![Rule::FeedP99]);
        let drops = judge(&summary(50.0, 10, 0, 0), 1.0, "s".into(), &t, &l);
        assert_eq!(rules(&drops), vec![Rule::Dropped]);
        let errs = judge(&summary(50.0, 0, 0, 5), 1.0, "s".into(), &t, &l);
        assert_eq!(rules(&errs), vec![Rule::Errors]);
        let mut lag = summary(50.0, 0, 0, 0);
        lag.fanout.freshness_p99_ms = 6000.0;
        lag.fanout.freshness_timeouts = Some(2);
        let lag = judge(&lag, 1.0, "s".into(), &t, &l);
        assert_eq!(rules(&lag), vec![Rule::Freshness, Rule::FreshnessTimeouts]);
    }

    #[test]
    fn no_feed_read_breaks_the_feed_target_and_reads_back() {
        let mut s = summary(1.0, 0, 0, 0);
        s.ops.get_mut("feed").expect("feed").count = 0;
        let step = judge(
            &s,
            1.0,
            "s".into(),
            &TargetSettings::default(),
            &SweepSettings::default(),
        );
        assert_eq!(rules(&step), vec![Rule::NoFeedRead]);
        // The breach's figures are finite, so `sweep.json` reads back what was written.
        let text = serde_json::to_string(&step).expect("serialise");
        let back: Step = serde_json::from_str(&text).expect("read back");
        assert_eq!(back, step);
    }
}
