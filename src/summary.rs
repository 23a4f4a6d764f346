//! The `summary.json` and `comparison.json` contracts.
//!
//! A run writes one `summary.json`; a comparison writes one per variant under
//! `DIR/<variant>/summary.json` plus `DIR/comparison.json` listing them. The
//! gate, the report and CI read these files, so the field names here are the
//! contract: fields may be added, never renamed. Unknown fields are kept on
//! read (each struct has a flattened `extra` map) and written back unchanged,
//! so an older binary can still gate a newer summary, and [`Summary::metric`]
//! can address any numeric field, contract or not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields a writer added beyond the contract, kept verbatim.
pub type Extra = Map<String, Value>;

/// One `summary.json`: the measured outcome of one run of one variant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of the feedlab binary that wrote the file.
    pub feedlab: String,
    /// Scenario name.
    pub scenario: String,
    /// Variant name (the scenario name again when it has no variants).
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
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `config`: which strategy and backend each seam used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Fan-out strategy (`push`, `pull`, `hybrid`, `rate`).
    pub fanout: String,
    /// Sharding strategy (`user`, `photo`, `logical`, `consistent`).
    pub sharding: String,
    /// Metadata backend (`embedded`, `tikv`, or `model` in the simulator).
    pub meta: String,
    /// Blob backend (`local`, `s3`, or `model`).
    pub blob: String,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `population`: the modelled users and how much of it was materialized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// Users modelled.
    pub users: u64,
    /// Users actually created (live runs use a scaled sub-population).
    pub materialized_users: u64,
    /// Follow edges created.
    pub follows: u64,
    /// Power-law exponent of follower counts.
    pub alpha: f64,
    /// Mean followees per user.
    pub mean_followees: f64,
    /// Largest follower count in the population.
    pub max_followers: u64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One op kind's counts and latency percentiles (ms, from intended start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    /// Ops completed.
    pub count: u64,
    /// Ops that completed with an error.
    pub errors: u64,
    /// Ops that could not start within the concurrency limit.
    pub dropped: u64,
    /// Ops the service refused under overload (503); neither errors nor
    /// drops. Absent (0) where nothing is refused, as in the sim.
    #[serde(default)]
    pub shed: u64,
    /// Completed ops per second.
    pub rate_per_s: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile latency.
    pub p90_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// 99.9th percentile latency.
    pub p999_ms: f64,
    /// Largest latency seen.
    pub max_ms: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `fanout`: timeline writes caused by uploads and how fresh feeds were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FanoutStats {
    /// Timeline entries written.
    pub timeline_writes: u64,
    /// Timeline entries written per upload.
    pub writes_per_upload: f64,
    /// Median delay from upload acknowledgement to timeline visibility.
    pub freshness_p50_ms: f64,
    /// 99th percentile of that delay.
    pub freshness_p99_ms: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `shards`: how evenly the load spread.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardStats {
    /// Physical shards.
    pub count: u64,
    /// Busiest shard's load over the mean load (1.0 is perfectly even).
    pub load_max_over_mean: f64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `storage`: bytes held at the end of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageStats {
    /// Metadata store bytes.
    pub meta_bytes: u64,
    /// Blob store bytes.
    pub blob_bytes: u64,
    /// Bytes of materialized timelines.
    pub timeline_bytes: u64,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `target`: the scenario's feed target and the verdict of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Target p99 of feed reads in ms.
    pub feed_p99_ms: f64,
    /// Whether the run's feed p99 was within the target.
    pub met: bool,
    /// Fields beyond the contract.
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
    #[allow(dead_code, reason = "the run and compare commands write summaries")]
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

/// One entry of `comparison.json`: a variant and where its summary is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComparisonEntry {
    /// Variant name.
    pub variant: String,
    /// Path of its `summary.json`, relative to the directory of
    /// `comparison.json` (normally `<variant>/summary.json`).
    pub summary: String,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `comparison.json`: the variants of one comparison and their summaries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// Variants in the order they ran.
    pub variants: Vec<ComparisonEntry>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Comparison {
    /// Reads and parses a `comparison.json`; errors name the file.
    pub fn load(path: &Path) -> anyhow::Result<Comparison> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid comparison.json", path.display()))
    }

    /// Writes the comparison as pretty JSON, creating parent directories.
    #[allow(dead_code, reason = "the compare command writes comparisons")]
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }

    /// Where `entry`'s summary lives, given where this comparison was read.
    pub fn summary_path(comparison_path: &Path, entry: &ComparisonEntry) -> PathBuf {
        let dir = comparison_path.parent().unwrap_or(Path::new("."));
        dir.join(&entry.summary)
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
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
            extra: Extra::new(),
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
