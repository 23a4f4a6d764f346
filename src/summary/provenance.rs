//! `provenance`: where a summary came from — the commit, date, host, cores, load average and
//! build of the machine that wrote it, and the hash of the scenario it ran — so a gate can
//! tell a baseline of another scenario or machine, and a report can say what it shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;
use crate::spec::{Mode, RunSpec};

/// `provenance` of one summary. Every field reads as empty when absent, so a partial record
/// from an older writer still loads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `git rev-parse HEAD` of the tree that ran, empty when unknown.
    #[serde(default)]
    pub commit: String,
    /// When the summary was written (UTC, RFC 3339).
    #[serde(default)]
    pub date: String,
    /// Host name, empty when unknown.
    #[serde(default)]
    pub host: String,
    /// Logical cores of the machine.
    #[serde(default)]
    pub cores: u32,
    /// The 1, 5 and 15 minute load averages when written (empty where unknown).
    #[serde(default)]
    pub load_avg: Vec<f64>,
    /// `debug` or `release`.
    #[serde(default)]
    pub build: String,
    /// [`scenario_hash`] of the spec that ran.
    #[serde(default)]
    pub scenario_hash: String,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Provenance {
    /// The provenance of a summary of `spec` written now on this machine.
    pub fn of(spec: &RunSpec) -> Provenance {
        let p = crate::calibrate::provenance(0);
        Provenance {
            commit: p.git_rev,
            date: p.date,
            host: p.host,
            cores: p.cores,
            load_avg: crate::calibrate::load_avg().unwrap_or_default(),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .into(),
            scenario_hash: scenario_hash(spec),
            extra: Extra::new(),
        }
    }

    /// One line for a report header: commit, date, host, cores, load average and build.
    pub fn line(&self) -> String {
        let commit = if self.commit.is_empty() {
            "unknown commit".to_string()
        } else {
            format!("commit {}", &self.commit[..self.commit.len().min(12)])
        };
        let load: Vec<String> = self.load_avg.iter().map(|l| format!("{l:.2}")).collect();
        format!(
            "{commit}, {}, host {}, {} cores, load average {}, {} build, scenario hash {}",
            or_unknown(&self.date),
            or_unknown(&self.host),
            self.cores,
            if load.is_empty() {
                "unknown".to_string()
            } else {
                load.join(" / ")
            },
            or_unknown(&self.build),
            or_unknown(&self.scenario_hash),
        )
    }
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

/// A stable hash of `spec` without the parts the environment or an injection sets (the S3
/// and TiKV endpoints, the data directory, `[system.inject]`), nor, for a live run, the parts
/// it does not run (`[sim]`, the simulator's settings and calibration, and `[sweep]`): 16 hex
/// digits of BLAKE3.
pub fn scenario_hash(spec: &RunSpec) -> String {
    let mut v = serde_json::to_value(spec).unwrap_or(Value::Null);
    if spec.mode == Mode::Live
        && let Some(top) = v.as_object_mut()
    {
        for k in ["sim", "sweep", "calibration"] {
            top.remove(k);
        }
    }
    if let Some(system) = v.get_mut("system").and_then(Value::as_object_mut) {
        for k in ["s3", "tikv", "inject", "data-dir"] {
            system.remove(k);
        }
    }
    let text = serde_json::to_string(&v).unwrap_or_default();
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quickstart's base run spec (a live run).
    fn quickstart() -> RunSpec {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
        crate::scenario::Scenario::load(&path, &[])
            .expect("quickstart loads")
            .base_spec()
    }

    #[test]
    fn the_scenario_hash_ignores_injection_but_not_the_design() {
        let spec = quickstart();
        let mut injected = spec.clone();
        injected.system.inject.feed_extra_calls = 1;
        assert_eq!(scenario_hash(&spec), scenario_hash(&injected));
        let mut other = spec.clone();
        other.system.timeline_cap += 1;
        assert_ne!(scenario_hash(&spec), scenario_hash(&other));
        assert_eq!(scenario_hash(&spec).len(), 16);
    }

    #[test]
    fn a_live_run_s_hash_ignores_the_simulator_s_settings_and_a_sim_run_s_does_not() {
        let live = quickstart();
        assert_eq!(live.mode, Mode::Live);
        let mut tuned = live.clone();
        tuned.sim.transport_wake.share = 0.0;
        tuned.sim.read_servers += 1;
        tuned.sweep.bisect += 1;
        assert_eq!(scenario_hash(&live), scenario_hash(&tuned));
        let (mut sim, mut sim_tuned) = (live.clone(), tuned);
        sim.mode = Mode::Sim;
        sim_tuned.mode = Mode::Sim;
        assert_ne!(scenario_hash(&sim), scenario_hash(&sim_tuned));
    }

    #[test]
    fn a_partial_record_loads_and_prints() {
        let p: Provenance =
            serde_json::from_value(serde_json::json!({ "cores": 4 })).expect("partial");
        assert_eq!(p.cores, 4);
        assert!(p.line().contains("unknown commit"), "{}", p.line());
    }
}
