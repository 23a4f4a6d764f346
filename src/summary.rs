//! The `summary.json` and `comparison.json` contracts.
//!
//! A run writes one `summary.json`; a comparison writes one per variant under
//! `DIR/<variant>/summary.json` plus `DIR/comparison.json` listing them. The
//! gate, the report and CI read these files, so the field names here are the
//! contract: fields may be added, never renamed. Unknown fields are kept on
//! read (each struct has a flattened `extra` map) and written back unchanged,
//! so an older binary can still gate a newer summary, and [`Summary::metric`]
//! can address any numeric field, contract or not.

mod comparison;
mod invariants;
mod probe;
mod provenance;
mod sections;
mod targets;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use comparison::{Comparison, ComparisonEntry, write_json};
/// One op kind's counts and latency (ms, from intended start): the record the load
/// generator and the simulator produce.
pub use feedlab_workload::LatencyRecord as OpStats;
pub use invariants::{Invariant, Invariants, Violation};
pub use probe::{EventSplit, ProbeStats, Stall, TAIL_FACTOR, ThreadUse};
pub use provenance::Provenance;
pub use sections::{
    FanoutStats, FaultOutcome, HybridShares, OpWork, Population, QueueCheck, RunConfig, ShardStats,
    SimSection, StorageStats, Target, TopAuthor,
};
pub use targets::{
    Breach, CLIENT_SIDE_CODES, DEFAULT_MAX_FRACTION, Rule, Rules, client_side_errors,
};

/// Fields a writer added beyond the contract, kept verbatim.
pub type Extra = Map<String, Value>;

/// One `summary.json`: the measured outcome of one run of one variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of the feedlab binary that wrote the file.
    pub feedlab: String,
    /// Scenario name.
    pub scenario: String,
    /// Variant name (`default` when the scenario has no variants).
    pub variant: String,
    /// Seed of the run; the same seed reproduces the workload.
    pub seed: u64,
    /// `live` or `sim`.
    pub mode: String,
    /// Design choices of this variant.
    pub config: RunConfig,
    /// Shape of the user population.
    pub population: Population,
    /// Measured duration in seconds.
    pub duration_s: f64,
    /// Latency and counts per op kind (`feed`, `upload`, `photo_get`, ...).
    pub ops: BTreeMap<String, OpStats>,
    /// Fan-out work and freshness.
    pub fanout: FanoutStats,
    /// Shard balance.
    pub shards: ShardStats,
    /// Bytes stored.
    pub storage: StorageStats,
    /// The scenario's target and whether the run met it.
    pub target: Target,
    /// Where the summary came from (absent in older summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// What only the simulator knows (sim runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim: Option<SimSection>,
    /// Work counters per op kind (`null` where nothing was metered, as against an external
    /// deployment).
    #[serde(default)]
    pub work: Option<BTreeMap<String, OpWork>>,
    /// The machine-speed probe of a live run (`null` where none ran).
    #[serde(default)]
    pub probe: Option<ProbeStats>,
    /// The run's fault windows and their effect, in scenario order (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultOutcome>,
    /// What the harness checked after a live run with faults, and what it found (absent
    /// when the run had no faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariants: Option<Invariants>,
    /// Fields beyond the contract: the per-second `series` (a plot series) and fields of
    /// newer writers.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Summary {
    /// Reads and parses a `summary.json`; errors name the file and, for a
    /// missing or mistyped field, the field.
    pub fn load(path: &Path) -> anyhow::Result<Summary> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid summary.json", path.display()))
    }

    /// Writes the summary as pretty JSON, creating parent directories.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }

    /// The numeric value at a dotted `path`, or `None` when it is absent or
    /// not a number. A path whose first segment is not a top-level field is
    /// read under `ops`, so `feed.p99_ms` means `ops.feed.p99_ms`. Booleans
    /// read as 1.0 (true) and 0.0 (false), so `target.met` can be gated.
    pub fn metric(&self, path: &str) -> Option<f64> {
        let value = serde_json::to_value(self).ok()?;
        metric_in(&value, path)
    }
}

/// Resolves a dotted metric `path` in a summary's JSON value; see
/// [`Summary::metric`] for the rules.
pub fn metric_in(summary: &Value, path: &str) -> Option<f64> {
    let first = path.split('.').next()?;
    let top_level = summary.as_object()?.contains_key(first);
    let mut node = if top_level {
        summary
    } else {
        summary.get("ops")?
    };
    for segment in path.split('.') {
        node = node.get(segment)?;
    }
    match node {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Summary {
        let mut s = Summary {
            scenario: "quickstart".into(),
            variant: "hybrid".into(),
            ..Summary::default()
        };
        let feed = OpStats {
            count: 1000,
            p50_ms: 4.5,
            p99_ms: 35.0,
            rate_per_s: 33.3,
            ..OpStats::default()
        };
        let upload = OpStats {
            p50_ms: 12.0,
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), feed);
        s.ops.insert("upload".into(), upload);
        s.fanout.freshness_p99_ms = 80.0;
        s.shards.load_max_over_mean = 1.25;
        s.target = Target {
            feed_p99_ms: 200.0,
            met: true,
            ..Target::default()
        };
        s
    }

    #[test]
    fn op_shorthand_resolves_under_ops() {
        let s = sample();
        assert_eq!(s.metric("feed.p99_ms"), Some(35.0));
        assert_eq!(s.metric("ops.feed.p99_ms"), Some(35.0));
        assert_eq!(s.metric("feed.count"), Some(1000.0));
        assert_eq!(s.metric("ops.upload.p50_ms"), Some(12.0));
        assert_eq!(s.metric("upload.p50_ms"), Some(12.0));
    }

    #[test]
    fn top_level_sections_resolve_directly() {
        let s = sample();
        assert_eq!(s.metric("fanout.freshness_p99_ms"), Some(80.0));
        assert_eq!(s.metric("shards.load_max_over_mean"), Some(1.25));
        assert_eq!(s.metric("target.feed_p99_ms"), Some(200.0));
        assert_eq!(s.metric("target.met"), Some(1.0));
        assert_eq!(s.metric("duration_s"), Some(0.0));
    }

    #[test]
    fn absent_or_non_numeric_paths_are_none() {
        let s = sample();
        assert_eq!(s.metric("search.p99_ms"), None, "op kind not in the run");
        assert_eq!(s.metric("feed.p75_ms"), None, "field not written");
        assert_eq!(s.metric("config.fanout"), None, "a string");
        assert_eq!(s.metric("fanout"), None, "an object");
        assert_eq!(s.metric(""), None);
        assert_eq!(s.metric("feed..p99_ms"), None);
    }

    #[test]
    fn unknown_fields_are_kept_and_addressable() {
        let mut v = serde_json::to_value(sample()).expect("serializable");
        v["ops"]["feed"]["p75_ms"] = 20.0.into();
        v["cache"] = serde_json::json!({ "hit_ratio": 0.9 });
        let s: Summary = serde_json::from_value(v.clone()).expect("extra fields tolerated");
        assert_eq!(s.metric("feed.p75_ms"), Some(20.0));
        assert_eq!(s.metric("cache.hit_ratio"), Some(0.9));
        assert_eq!(
            serde_json::to_value(&s).expect("serializable"),
            v,
            "round trip"
        );
    }

    #[test]
    fn missing_contract_field_is_an_error_naming_file_and_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.json");
        let mut v = serde_json::to_value(sample()).expect("serializable");
        v.as_object_mut().expect("object").remove("shards");
        std::fs::write(&path, v.to_string()).expect("write");
        let err = format!(
            "{:#}",
            Summary::load(&path).expect_err("shards is required")
        );
        assert!(err.contains("summary.json"), "{err}");
        assert!(err.contains("shards"), "{err}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hybrid/summary.json");
        let s = sample();
        s.save(&path).expect("save");
        assert_eq!(Summary::load(&path).expect("load"), s);
        let c = Comparison {
            scenario: "quickstart".into(),
            variants: vec![ComparisonEntry {
                variant: "hybrid".into(),
                summary: "hybrid/summary.json".into(),
                scenario: String::new(),
                extra: Extra::new(),
            }],
            extra: Extra::new(),
        };
        let cpath = dir.path().join("comparison.json");
        c.save(&cpath).expect("save");
        let back = Comparison::load(&cpath).expect("load");
        assert_eq!(back, c);
        assert_eq!(Comparison::summary_path(&cpath, &back.variants[0]), path);
    }
}
