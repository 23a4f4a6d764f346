//! What the gate reads: `summary.json` or `comparison.json` files (the kind
//! is told by content), and the optional sections its checks use — the
//! per-second `series` (a plot series, read from the summary's extra map), the
//! per-op `work` counters and the run's `provenance` (typed summary fields).
//!
//! Those sections are optional: an older summary lacks them, and a check
//! that needs one then SKIPs with the reason kept here. A contract field
//! missing or mistyped is an error naming the file (exit 2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::recorded::Recorded;
use crate::run::STALL_STEAL_MS;
use crate::summary::{Comparison, Extra, ProbeStats, Summary};

/// One summary read from the command line, under its variant name.
#[derive(Debug, Clone)]
pub struct Named {
    /// Variant name (from `comparison.json`, or the summary's `variant`).
    pub variant: String,
    /// The parsed summary.
    pub summary: Summary,
    /// The same summary as JSON, for dotted metric paths.
    pub json: Value,
    /// The typed optional sections.
    pub facts: Facts,
    /// The file it came from, for messages.
    pub file: PathBuf,
}

/// The optional sections of a summary; `Err` holds why one is unusable
/// (absent in an older summary, or malformed), to be shown in a SKIP.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `series`: one entry per second per op kind.
    pub windows: Result<Vec<Window>, String>,
    /// `work`: per-op means measured on the server, by op kind (its
    /// `cpu_us` is judged over windows instead, so not read here).
    pub work: Result<BTreeMap<String, Work>, String>,
    /// `provenance`: where and from what the run came.
    pub provenance: Result<Provenance, String>,
}

/// One `series` entry: one op kind during one second of the run.
#[derive(Debug, Clone, Deserialize)]
pub struct Window {
    /// Seconds since the measured part of the run started.
    pub second: u64,
    /// Op kind (`feed`, `upload`, ...).
    pub kind: String,
    /// Ops of the kind completed in that second.
    #[serde(default)]
    pub count: u64,
    /// Median latency in ms, when written.
    #[serde(default)]
    pub p50_ms: Option<f64>,
    /// 99th percentile latency in ms, when written.
    #[serde(default)]
    pub p99_ms: Option<f64>,
    /// Mean server CPU µs per op, when the server metered the kind then.
    #[serde(default)]
    pub cpu_us: Option<f64>,
    /// `cpu_us` over the machine-speed probe's CPU that second, when both were measured.
    #[serde(default)]
    pub cpu_rel: Option<f64>,
    /// Which run of a pooled baseline the window belongs to (0 in a run's own summary; see
    /// `feedlab gate --record --also`).
    #[serde(default)]
    pub run: u32,
    /// The host stole at least [`STALL_STEAL_MS`] of CPU from this box in that second (the
    /// run's probe says so; run 0's windows only, the run the summary's probe measured).
    #[serde(skip)]
    pub stolen: bool,
}

/// One `work.<op>` entry: per-op means of server-side counters.
pub use crate::summary::OpWork as Work;

/// The noise-free counters of [`Work`], by their JSON names.
pub const COUNTERS: [&str; 6] = [
    "storage_calls",
    "keys_read",
    "rows_written",
    "fsyncs",
    "blob_bytes_read",
    "blob_bytes_written",
];

impl Work {
    /// The counter named `name` (one of [`COUNTERS`]), when written.
    pub fn counter(&self, name: &str) -> Option<f64> {
        match name {
            "storage_calls" => self.storage_calls,
            "keys_read" => self.keys_read,
            "rows_written" => self.rows_written,
            "fsyncs" => self.fsyncs,
            "blob_bytes_read" => self.blob_bytes_read,
            "blob_bytes_written" => self.blob_bytes_written,
            _ => None,
        }
    }
}

/// `provenance`: where the run came from; the fields the gate compares
/// (others, such as the commit and date, are ignored). Every field is
/// optional so a partial record still gives what it has.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Cores of the machine.
    pub cores: Option<u32>,
    /// Hash of the resolved scenario the run used.
    pub scenario_hash: Option<String>,
    /// `release` or `debug`.
    pub build: Option<String>,
}

impl Facts {
    /// Reads the optional sections of `summary`.
    pub fn of(summary: &Summary) -> Facts {
        Facts {
            windows: section(&summary.extra, "series")
                .map(|w| mark_stolen(w, summary.probe.as_ref())),
            work: summary
                .work
                .clone()
                .ok_or_else(|| "no `work` section (an older summary)".to_string()),
            provenance: summary
                .provenance
                .as_ref()
                .map(Provenance::of)
                .ok_or_else(|| "no `provenance` section (an older summary)".to_string()),
        }
    }
}

impl Provenance {
    /// The compared fields of a summary's provenance; an empty or zero field is unknown.
    fn of(p: &crate::summary::Provenance) -> Provenance {
        let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Provenance {
            cores: (p.cores > 0).then_some(p.cores),
            scenario_hash: text(&p.scenario_hash),
            build: text(&p.build),
        }
    }
}

impl Named {
    /// Seconds of the run (its own, run 0) in which the host stole CPU from the box
    /// ([`Window::stolen`]), and all its seconds; (0, 0) without a usable series.
    pub fn stolen_seconds(&self) -> (usize, usize) {
        let windows = self.facts.windows.as_deref().unwrap_or_default();
        let own = windows.iter().filter(|w| w.run == 0);
        let all: BTreeSet<u64> = own.clone().map(|w| w.second).collect();
        let stolen: BTreeSet<u64> = own.filter(|w| w.stolen).map(|w| w.second).collect();
        (stolen.len(), all.len())
    }
}

/// `windows` with [`Window::stolen`] set from the stalls of the run's `probe`.
fn mark_stolen(mut windows: Vec<Window>, probe: Option<&ProbeStats>) -> Vec<Window> {
    let stolen: BTreeSet<u64> = probe
        .map(|p| p.stolen_seconds(STALL_STEAL_MS).collect())
        .unwrap_or_default();
    for w in &mut windows {
        w.stolen = w.run == 0 && stolen.contains(&w.second);
    }
    windows
}

/// Deserializes `extra[key]`; `Err` says it is absent or why it is unusable.
fn section<T: DeserializeOwned>(extra: &Extra, key: &str) -> Result<T, String> {
    let value = extra
        .get(key)
        .filter(|v| !v.is_null())
        .ok_or_else(|| format!("no `{key}` section (an older summary)"))?;
    T::deserialize(value).map_err(|e| format!("unreadable `{key}` section: {e}"))
}

/// The summaries of one command-line input.
#[derive(Debug, Clone)]
pub struct Input {
    /// Each variant's summary, in the file's order.
    pub named: Vec<Named>,
    /// Whether the input was a single `summary.json`.
    pub single: bool,
    /// The `recorded` object of a baseline written by `gate --record`.
    pub recorded: Option<Recorded>,
}

/// Reads a summary, or a comparison and every summary it lists. Errors
/// name the file (and the variant, for a listed summary).
pub fn load(path: &Path) -> anyhow::Result<Input> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let is_comparison = value.get("variants").is_some() && value.get("ops").is_none();
    if !is_comparison {
        let summary = Summary::load(path)?;
        let named = named(summary.variant.clone(), summary, path.to_path_buf())?;
        return Ok(Input {
            named: vec![named],
            single: true,
            recorded: None,
        });
    }
    let comparison = Comparison::load(path)?;
    let mut out: Vec<Named> = Vec::with_capacity(comparison.variants.len());
    for entry in &comparison.variants {
        if out.iter().any(|n| n.variant == entry.variant) {
            bail!("{} lists variant {} twice", path.display(), entry.variant);
        }
        let file = Comparison::summary_path(path, entry);
        let summary = Summary::load(&file)
            .with_context(|| format!("variant {} of {}", entry.variant, path.display()))?;
        out.push(named(entry.variant.clone(), summary, file)?);
    }
    if out.is_empty() {
        bail!("{} lists no variants", path.display());
    }
    let recorded = comparison
        .extra
        .get("recorded")
        .and_then(|v| Recorded::deserialize(v).ok());
    Ok(Input {
        named: out,
        single: false,
        recorded,
    })
}

fn named(variant: String, summary: Summary, file: PathBuf) -> anyhow::Result<Named> {
    let json = serde_json::to_value(&summary)
        .with_context(|| format!("cannot re-encode {}", file.display()))?;
    Ok(Named {
        variant,
        facts: Facts::of(&summary),
        summary,
        json,
        file,
    })
}
