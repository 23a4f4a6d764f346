//! The `recorded` object `feedlab gate --record` writes into a baseline `comparison.json`:
//! where, when and from what the baseline was recorded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The `recorded` object of a baseline `comparison.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recorded {
    /// `git rev-parse HEAD` where the baseline was recorded, if a repository.
    pub commit: Option<String>,
    /// When it was recorded, UTC, RFC 3339.
    pub date: String,
    /// Cores of the recording machine.
    pub cores: u32,
    /// Load average (1, 5, 15 min) when it was recorded, if known.
    pub load_avg: Option<Vec<f64>>,
    /// Each variant's `provenance.scenario_hash` (null when absent).
    pub scenario_hashes: BTreeMap<String, Option<String>>,
    /// The file the baseline was recorded from.
    pub source: String,
    /// Further runs whose windows were pooled in (`--also`).
    pub also: Vec<String>,
}

impl Recorded {
    /// One line for people: commit, date, cores and load.
    pub fn describe(&self) -> String {
        let commit = self
            .commit
            .as_deref()
            .map_or("an unknown commit", |c| c.get(..12).unwrap_or(c));
        let load = self.load_avg.as_ref().map_or("unknown".into(), |l| {
            l.iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(" ")
        });
        format!(
            "baseline recorded at {commit} on {}, {} cores, load average {load}",
            self.date, self.cores
        )
    }
}
