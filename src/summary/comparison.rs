//! `comparison.json`: the variants of one comparison and where each one's `summary.json`
//! is, and the pretty-JSON writer every output file goes through.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::Extra;

/// One entry of `comparison.json`: a variant and where its summary is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComparisonEntry {
    /// Variant name.
    pub variant: String,
    /// Path of its `summary.json`, relative to the directory of
    /// `comparison.json` (normally `<variant>/summary.json`).
    pub summary: String,
    /// The variant's scenario (variants of several scenarios can sit side by side).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scenario: String,
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
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        write_json(path, self)
    }

    /// Where `entry`'s summary lives, given where this comparison was read.
    pub fn summary_path(comparison_path: &Path, entry: &ComparisonEntry) -> PathBuf {
        let dir = comparison_path.parent().unwrap_or(Path::new("."));
        dir.join(&entry.summary)
    }
}

/// Writes `value` as pretty JSON with a final newline, creating parent directories.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
