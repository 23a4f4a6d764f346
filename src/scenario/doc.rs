//! The typed form of one merged scenario document and its validation.
//!
//! A merged table (base, a variant's overrides, `--set`s) is deserialized
//! with `serde_path_to_error`, so a failure knows the key path; [`ErrorAt`]
//! turns that path into a location: the `--set` that wrote it, the variant
//! line that wrote it, or the base file's line. After deserializing, every
//! part is validated by its owner (service, partitioner, fan-out, population,
//! traffic, plan), and the key each owner names is located the same way.

use std::path::{Path, PathBuf};

use feedlab_system::ServiceConfig;
use feedlab_system::policy::{FanoutStrategy, Partitioner};
use feedlab_workload::{Population, PopulationConfig, TrafficConfig};
use serde::{Deserialize, Serialize};
use serde_path_to_error::Segment;
use toml::{Table, Value};

use super::locate::SpanDoc;
use super::merge::{SetArg, overlaps};
use super::{ScenarioError, invalid};
use crate::plan::PlanConfig;
use crate::spec::{DriverSettings, Mode, RunSpec, TargetSettings};

/// The `[scenario]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScenarioMeta {
    /// Name used in reports (default: the file stem).
    pub name: Option<String>,
    /// The question the scenario answers.
    pub description: String,
    /// Seed of every random choice. Default 42.
    pub seed: u64,
    /// `live` or `sim`. Default live.
    pub mode: Mode,
    /// Measured run length, seconds. Default 30.
    pub duration_s: f64,
    /// Simulator calibration file (relative to the scenario file).
    pub calibration: Option<PathBuf>,
}

impl Default for ScenarioMeta {
    fn default() -> Self {
        ScenarioMeta {
            name: None,
            description: String::new(),
            seed: 42,
            mode: Mode::Live,
            duration_s: 30.0,
            calibration: None,
        }
    }
}

/// One merged scenario document (the base, or the base with one variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ScenarioDoc {
    /// `[scenario]`.
    pub scenario: ScenarioMeta,
    /// `[population]`.
    pub population: PopulationConfig,
    /// `[traffic]`.
    pub traffic: TrafficConfig,
    /// `[system]`.
    pub system: ServiceConfig,
    /// `[driver]`.
    pub driver: DriverSettings,
    /// `[target]`.
    pub target: TargetSettings,
    /// `[gate]`, raw (the gate command owns its schema).
    pub gate: Option<Table>,
    /// `[plan]`.
    pub plan: PlanConfig,
    /// `[sim]`: the simulator's deployment model (used when mode = "sim").
    pub sim: feedlab_sim::model::SimSettings,
    /// `[sweep]`: the load ladder of `feedlab sweep`.
    pub sweep: crate::spec::SweepSettings,
    /// `[tune]`: the design space of `feedlab tune`.
    pub tune: crate::tune::TuneConfig,
    /// `[[faults]]`: fault windows of a live run (a variant's `faults` replaces the list).
    pub faults: Vec<crate::spec::FaultSpec>,
}

impl ScenarioDoc {
    /// The run this document describes.
    pub fn to_spec(&self, scenario: &str, variant: &str) -> RunSpec {
        RunSpec {
            scenario: scenario.to_string(),
            variant: variant.to_string(),
            seed: self.scenario.seed,
            mode: self.scenario.mode,
            duration_s: self.scenario.duration_s,
            system: self.system.clone(),
            population: self.population.clone(),
            traffic: self.traffic.clone(),
            driver: self.driver.clone(),
            target: self.target.clone(),
            calibration: self
                .sim
                .calibration
                .clone()
                .or_else(|| self.scenario.calibration.clone()),
            sim: self.sim.clone(),
            sweep: self.sweep.clone(),
            faults: self.faults.clone(),
        }
    }
}

/// Where a merged document came from, to locate its errors.
pub struct ErrorAt<'a> {
    /// The file name as given.
    pub file: &'a str,
    /// Spans of the file.
    pub spans: &'a SpanDoc<'a>,
    /// The `--set`s applied.
    pub sets: &'a [SetArg],
    /// The variant `(index, name)`, if any.
    pub variant: Option<(usize, &'a str)>,
}

impl ErrorAt<'_> {
    /// The error for the key at `path`: located at the last `--set` touching it, else the
    /// variant line that writes it, else the base line (or its deepest written ancestor).
    pub fn at(&self, path: &[String], message: String) -> ScenarioError {
        if let Some(s) = self.sets.iter().rev().find(|s| overlaps(&s.path, path)) {
            return ScenarioError::Invalid {
                location: format!("{} (--set {})", self.file, s.raw),
                message,
            };
        }
        if let Some((i, name)) = self.variant {
            let mut vpath = vec!["variants".to_string(), i.to_string()];
            vpath.extend(path.iter().cloned());
            let message = format!("in variant \"{name}\": {message}");
            if let Some(span) = self.spans.exact(&vpath) {
                return invalid(self.file, Some(self.spans.line_of(span.start)), message);
            }
            let line = self.spans.line(path).or_else(|| self.spans.line(&vpath));
            return invalid(self.file, line, message);
        }
        invalid(self.file, self.spans.line(path), message)
    }
}

/// Deserializes and validates one merged table; `dir` resolves `calibration`.
pub fn resolve_doc(
    table: Table,
    at: &ErrorAt<'_>,
    dir: Option<&Path>,
) -> Result<ScenarioDoc, ScenarioError> {
    let mut doc: ScenarioDoc =
        serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| {
            let msg = e.inner().message().trim().to_string();
            describe(key_segments(e.path()), &msg, at)
        })?;
    if let (Some(c), Some(dir)) = (&doc.scenario.calibration, dir)
        && c.is_relative()
    {
        doc.scenario.calibration = Some(dir.join(c));
    }
    if let (Some(c), Some(dir)) = (&doc.sim.calibration, dir)
        && c.is_relative()
    {
        doc.sim.calibration = Some(dir.join(c));
    }
    doc.plan.catalogue = crate::plan::catalogue::resolve(doc.plan.catalogue.as_deref(), dir);
    validate(&doc, at)?;
    Ok(doc)
}

/// The key path of a deserialization error (array indices as decimal segments).
pub fn key_segments(path: &serde_path_to_error::Path) -> Vec<String> {
    path.iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            _ => None,
        })
        .collect()
}

/// Turns a serde message at `path` into a located error (`unknown key "fanout.knd" in
/// [system]` or `system.timeline-cap: invalid type: …`).
fn describe(mut path: Vec<String>, msg: &str, at: &ErrorAt<'_>) -> ScenarioError {
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((field, tail)) = rest.split_once('`')
    {
        // serde_path_to_error may or may not already include the unknown key.
        if path.last().map(String::as_str) != Some(field) {
            path.push(field.to_string());
        }
        let expected = tail.trim_start_matches(',').trim();
        let hint = if expected.is_empty() {
            String::new()
        } else {
            format!(" ({expected})")
        };
        let message = match path.split_first() {
            // An entry of an array of tables, such as `[[faults]]`.
            Some((top, [index, rest @ ..]))
                if !rest.is_empty() && index.parse::<usize>().is_ok() =>
            {
                format!("unknown key \"{}\" in {top}[{index}]{hint}", rest.join("."))
            }
            Some((top, rest)) if !rest.is_empty() => {
                format!("unknown key \"{}\" in [{top}]{hint}", rest.join("."))
            }
            _ => format!("unknown table \"{field}\"{hint}"),
        };
        return at.at(&path, message);
    }
    let key = if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.join(".")
    };
    at.at(&path, format!("{key}: {msg}"))
}

fn key_path(table: &str, key: &str) -> Vec<String> {
    let mut p = vec![table.to_string()];
    p.extend(key.split('.').map(String::from));
    p
}

/// A key some owner's validation rejected: the key's table and dotted path
/// within it, and the whole message.
struct Rejected {
    table: &'static str,
    key: String,
    message: String,
}

impl Rejected {
    /// `table.key: msg`.
    fn key(table: &'static str, key: &str, msg: String) -> Rejected {
        Rejected {
            table,
            key: key.to_string(),
            message: format!("{table}.{key}: {msg}"),
        }
    }

    /// `[table]: msg`, pointing at `key` (empty: the table).
    fn table(table: &'static str, key: String, msg: impl std::fmt::Display) -> Rejected {
        Rejected {
            table,
            key,
            message: format!("[{table}]: {msg}"),
        }
    }
}

/// Runs every owner's validation; errors point at the key each owner names.
fn validate(doc: &ScenarioDoc, at: &ErrorAt<'_>) -> Result<(), ScenarioError> {
    check(doc).map_err(|r| at.at(&key_path(r.table, &r.key), r.message))
}

/// Every owner's validation, in file order; the first rejection wins.
fn check(doc: &ScenarioDoc) -> Result<(), Rejected> {
    let d = doc.scenario.duration_s;
    if !(d.is_finite() && d > 0.0) {
        let msg = format!("must be > 0, got {d}");
        return Err(Rejected::key("scenario", "duration-s", msg));
    }
    check_system(doc)?;
    check_workload(doc)?;
    check_driver_and_target(doc)?;
    doc.plan
        .validate()
        .map_err(|(key, msg)| Rejected::key("plan", key, msg))?;
    let catalogue = crate::plan::catalogue::Catalogue::load(doc.plan.catalogue.as_deref())
        .map_err(|msg| Rejected::key("plan", "catalogue", msg))?;
    catalogue
        .machine(&doc.plan.machine)
        .map_err(|msg| Rejected::key("plan", "machine", msg))?;
    doc.tune
        .validate()
        .map_err(|(key, msg)| Rejected::key("tune", key, msg))?;
    for (key, name) in doc.tune.machines() {
        catalogue
            .machine(name)
            .map_err(|msg| Rejected::key("tune", key, msg))?;
    }
    crate::tune::Space::resolve(doc, &catalogue)
        .map_err(|(key, msg)| Rejected::key("tune", key, msg))?;
    doc.sweep
        .validate()
        .map_err(|(key, msg)| Rejected::key("sweep", key, msg))?;
    check_faults(doc)?;
    if let Err(e) = doc.sim.validate() {
        // The message starts with the offending key (`shard-workers must ...`).
        let text = match &e {
            feedlab_sim::Error::InvalidParam { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        let key = text.split([' ', ':']).next().unwrap_or("").to_string();
        return Err(Rejected::key("sim", &key, text));
    }
    Ok(())
}

/// `[system]`: the service's own validation (pointing at the first
/// kebab-case word of its message), then the partitioner and the fan-out
/// strategy.
fn check_system(doc: &ScenarioDoc) -> Result<(), Rejected> {
    if let Err(e) = doc.system.validate() {
        let text = e.to_string();
        let key = text
            .split_whitespace()
            .find(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && w.contains('-'))
            .unwrap_or("")
            .to_string();
        return Err(Rejected::table("system", key, text));
    }
    if let Err(e) = Partitioner::new(doc.system.sharding.clone()) {
        return Err(Rejected::key("system", "sharding", e.to_string()));
    }
    if let Err(e) = FanoutStrategy::new(doc.system.fanout.clone()) {
        return Err(Rejected::key("system", "fanout", e.to_string()));
    }
    Ok(())
}

/// `[[faults]]`: valid windows for this run (`spec::faults::resolve`), of kinds a live run
/// applies when it is live (the simulator models every kind).
fn check_faults(doc: &ScenarioDoc) -> Result<(), Rejected> {
    let (shards, duration) = (doc.system.sharding.shards, doc.scenario.duration_s);
    let reject = |index: usize, key: &str, message: String| Rejected {
        table: "faults",
        key: format!("{index}.{key}"),
        message,
    };
    let plan = crate::spec::faults::resolve(&doc.faults, shards, duration)
        .map_err(|r| reject(r.index, r.key, r.message))?;
    let refused = crate::spec::faults::live_refusal(&plan, &doc.system);
    match refused.filter(|_| doc.scenario.mode == Mode::Live) {
        Some(r) => Err(reject(r.index, r.key, r.message)),
        None => Ok(()),
    }
}

/// `[population]` (the model and its scaled sub-population) and
/// `[traffic]`, pointing at the key the workload's error names.
fn check_workload(doc: &ScenarioDoc) -> Result<(), Rejected> {
    let workload_key = |e: &feedlab_workload::Error| match e {
        feedlab_workload::Error::Config { key, .. } => key.to_string(),
        _ => String::new(),
    };
    let pop =
        Population::new(&doc.population, doc.scenario.seed).and_then(|p| p.scaled().map(|_| ()));
    if let Err(e) = pop {
        return Err(Rejected::table("population", workload_key(&e), e));
    }
    if let Err(e) = doc.traffic.validate() {
        return Err(Rejected::table("traffic", workload_key(&e), e));
    }
    Ok(())
}

/// `[driver]` (in-flight cap, freshness sampling and timeout) and
/// `[target]` (positive feed p99 and freshness p99).
fn check_driver_and_target(doc: &ScenarioDoc) -> Result<(), Rejected> {
    if let Err((key, msg)) = doc.driver.validate() {
        return Err(Rejected::key("driver", key, msg));
    }
    let (w, d) = (doc.driver.warmup_s, doc.scenario.duration_s);
    if w > 0.0 && w >= d {
        let msg = format!("must be less than scenario.duration-s ({d}), got {w}");
        return Err(Rejected::key("driver", "warmup-s", msg));
    }
    if w > 0.0 && !doc.faults.is_empty() {
        let msg = "cannot be used with [[faults]] (their windows are on the whole run's clock)";
        return Err(Rejected::key("driver", "warmup-s", msg.to_string()));
    }
    let t = doc.target.feed_p99_ms;
    if !(t.is_finite() && t > 0.0) {
        let msg = format!("must be > 0, got {t}");
        return Err(Rejected::key("target", "feed-p99-ms", msg));
    }
    let f = doc.target.freshness_p99_s;
    if !(f.is_finite() && f > 0.0) {
        let msg = format!("must be > 0, got {f}");
        return Err(Rejected::key("target", "freshness-p99-s", msg));
    }
    Ok(())
}
