//! `RunSpec`: one fully resolved variant of a scenario, ready to execute.
//!
//! This is the contract between the scenario loader (`scenario.rs`, which
//! parses TOML, applies `[[variants]]` and `--set` overrides) and the
//! executors (`run.rs` live, `sim` later). Everything an executor needs is
//! here, already validated; executors never read scenario files.

pub mod faults;
mod sweep;

use std::path::PathBuf;

use feedlab_system::ServiceConfig;
use feedlab_workload::{PopulationConfig, TrafficConfig};
use serde::{Deserialize, Serialize};

pub use faults::FaultSpec;
pub use sweep::{DEFAULT_REFERENCE_PROBE_US, SweepSettings, TwinSpeed};

/// Live run against the reference service, or the discrete-event simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The workload driver against a real service.
    #[default]
    Live,
    /// The discrete-event simulator at full scale.
    Sim,
}

/// Driver knobs of a live run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct DriverSettings {
    /// Most ops in flight; beyond it ops are counted as dropped. A sweep's live step runs
    /// with at least as many as the service holds before it sheds (`sweep/holds.rs`).
    pub max_in_flight: usize,
    /// Fraction of uploads probed for feed freshness.
    pub freshness_sample: f64,
    /// Longest a freshness probe waits, seconds.
    pub freshness_timeout_s: f64,
    /// How the driver reaches an in-process service: real HTTP on loopback
    /// (the default; what "live" means) or direct calls (tests, speed).
    /// Ignored when `target.write-url` names an external deployment.
    pub transport: Transport,
    /// Historical photos loaded per materialized user before the run (so
    /// feeds are not empty); fractional values round per user by a hash.
    pub history_photos_per_user: f64,
    /// A calibration burst after the measured window: this many times the run's traffic for
    /// `calibration-burst-s` seconds, to measure how the CPU per op falls on a busier box
    /// (the in-situ calibration's `[cpu-fall]`; see `run::burst`). Default 0: none. A
    /// sweep that predicts sets it on its calibration step from `sweep.calibration-burst`.
    pub calibration_burst: f64,
    /// Length of each phase of the calibration burst, seconds, in (0, 60]. Default 5.
    pub calibration_burst_s: f64,
    /// A photo view reads at most the first `view-bytes` of the file (one HTTP Range
    /// request), as a video player's first segment does: a photo (200 KB mean) whole, a
    /// video (5 MB mean) its first MiB. Default 1 MiB; 0 reads whole files.
    pub view_bytes: u64,
    /// The first `warmup-s` seconds of a live run are driven, at the run's own rate, but not
    /// measured: its figures (ops, series, work, calibration) cover the rest of
    /// `scenario.duration-s`, as the simulator's `sim.warmup-s` does, so a step of a ladder
    /// is judged on a warm service rather than on the first second of a fresh one. Must be
    /// less than `scenario.duration-s`; not with `[[faults]]`, whose windows are on the
    /// whole run's clock. Default 0.
    pub warmup_s: f64,
}

/// How a live run talks to an in-process reference service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// `HttpTarget` against the service's routers on `127.0.0.1:0`.
    #[default]
    Http,
    /// Direct `Service` calls, no HTTP stack.
    Direct,
}

impl Default for DriverSettings {
    fn default() -> Self {
        DriverSettings {
            max_in_flight: 256,
            freshness_sample: 0.1,
            freshness_timeout_s: 10.0,
            transport: Transport::Http,
            history_photos_per_user: 1.0,
            calibration_burst: 0.0,
            calibration_burst_s: 5.0,
            view_bytes: 1 << 20,
            warmup_s: 0.0,
        }
    }
}

impl DriverSettings {
    /// Checks ranges; the error names the offending key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.max_in_flight == 0 {
            return Err(("max-in-flight", "must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.freshness_sample) {
            return Err(("freshness-sample", "must be in [0, 1]".into()));
        }
        let t = self.freshness_timeout_s;
        if !(t.is_finite() && t > 0.0) {
            return Err(("freshness-timeout-s", "must be > 0".into()));
        }
        let b = self.calibration_burst;
        if !(b.is_finite() && b >= 0.0) {
            return Err(("calibration-burst", format!("must be >= 0, got {b}")));
        }
        let w = self.warmup_s;
        if !(w.is_finite() && w >= 0.0) {
            return Err(("warmup-s", format!("must be >= 0, got {w}")));
        }
        let s = self.calibration_burst_s;
        if !(s.is_finite() && s > 0.0 && s <= 60.0) {
            return Err((
                "calibration-burst-s",
                format!("must be in (0, 60], got {s}"),
            ));
        }
        Ok(())
    }
}

/// The feed-latency yardstick: p99 of feed reads, ms.
pub const DEFAULT_FEED_P99_MS: f64 = 200.0;

/// The delivery target: p99 of upload-to-timeline delay, seconds.
pub const DEFAULT_FRESHNESS_P99_S: f64 = 5.0;

/// Where a live run sends its traffic, and the targets every run is judged by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TargetSettings {
    /// Write router base URL of an existing deployment; `None` starts the
    /// reference service in-process on loopback.
    pub write_url: Option<String>,
    /// Read router base URL (defaults to `write_url`).
    pub read_url: Option<String>,
    /// The feed p99 target, ms (the yardstick: 200).
    pub feed_p99_ms: f64,
    /// The freshness target: p99 of the delay from an upload's acknowledgement to its
    /// visibility in a follower's feed, seconds (default 5). A design whose feed is fast but
    /// whose timelines lag has not met its targets.
    pub freshness_p99_s: f64,
}

impl Default for TargetSettings {
    fn default() -> Self {
        TargetSettings {
            write_url: None,
            read_url: None,
            feed_p99_ms: DEFAULT_FEED_P99_MS,
            freshness_p99_s: DEFAULT_FRESHNESS_P99_S,
        }
    }
}

impl TargetSettings {
    /// The rules a run is judged by: these targets and `limits`' fractions of dropped and
    /// failed ops.
    pub fn rules(&self, limits: &SweepSettings) -> crate::summary::Rules {
        crate::summary::Rules {
            feed_p99_ms: self.feed_p99_ms,
            freshness_p99_s: self.freshness_p99_s,
            max_dropped: limits.max_dropped,
            max_errors: limits.max_errors,
        }
    }
}

/// One resolved variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Scenario name (file stem unless the file names it).
    pub scenario: String,
    /// Variant name (`"default"` when the scenario has no variants).
    pub variant: String,
    /// Seed of the population, the op stream and every random choice.
    pub seed: u64,
    /// Live or sim.
    pub mode: Mode,
    /// Measured run length, seconds of wall time (live) or model time (sim).
    pub duration_s: f64,
    /// The service under test (its `data_dir` is replaced by the executor).
    pub system: ServiceConfig,
    /// The modelled population.
    pub population: PopulationConfig,
    /// The traffic mix and rates.
    pub traffic: TrafficConfig,
    /// Driver knobs.
    pub driver: DriverSettings,
    /// Target and yardstick.
    pub target: TargetSettings,
    /// Calibration file for the simulator, if any (`[sim] calibration`,
    /// else `[scenario] calibration`; resolved against the scenario file).
    pub calibration: Option<PathBuf>,
    /// `[sim]`: the simulator's deployment model.
    #[serde(default)]
    pub sim: feedlab_sim::model::SimSettings,
    /// `[sweep]`: the load ladder of `feedlab sweep`.
    #[serde(default)]
    pub sweep: SweepSettings,
    /// `[[faults]]`: fault windows a live run applies (see [`faults`]); absent when none, so
    /// a spec without faults serializes (and hashes) as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_defaults_are_valid_and_bad_keys_are_named() {
        assert_eq!(DriverSettings::default().validate(), Ok(()));
        let bad = |f: fn(&mut DriverSettings)| {
            let mut d = DriverSettings::default();
            f(&mut d);
            d.validate().map_err(|(k, _)| k)
        };
        assert_eq!(bad(|d| d.max_in_flight = 0), Err("max-in-flight"));
        assert_eq!(bad(|d| d.freshness_sample = 1.5), Err("freshness-sample"));
        assert_eq!(
            bad(|d| d.freshness_timeout_s = 0.0),
            Err("freshness-timeout-s")
        );
        assert_eq!(
            bad(|d| d.calibration_burst = f64::NAN),
            Err("calibration-burst")
        );
        assert_eq!(
            bad(|d| d.calibration_burst_s = 61.0),
            Err("calibration-burst-s")
        );
        assert_eq!(bad(|d| d.calibration_burst = 4.0), Ok(()));
        assert_eq!(bad(|d| d.warmup_s = -1.0), Err("warmup-s"));
        assert_eq!(bad(|d| d.warmup_s = 2.0), Ok(()));
    }
}
