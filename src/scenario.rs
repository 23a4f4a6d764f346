//! Scenario files: one TOML file describes a question, its base settings and
//! the variants to compare; loading it yields one [`RunSpec`] per variant.
//!
//! Layout (every table optional, every key defaulted from the reference design (the 300M-user photo service this workload models)):
//! `[scenario]` (name, description, seed, mode, duration-s, calibration),
//! `[population]` ([`PopulationConfig`]), `[traffic]` ([`TrafficConfig`]),
//! `[system]` ([`ServiceConfig`]), `[driver]`, `[target]`, `[gate]` (kept raw
//! for the gate), `[plan]` (`crate::plan::PlanConfig`) and `[[variants]]`, each with a
//! `name` and any keys of the tables above (dotted keys such as
//! `system.fanout.kind = "push"`), deep-merged over the base. `--set
//! key.path=value` overrides apply last, to the base and every variant.
//!
//! Every error names the file and, where the key is written, its line:
//! `scenarios/x.toml:12: unknown key "fanout.knd" in [system]`. Errors of a
//! variant point at the variant's line; errors of a `--set` name the argument.

mod doc;
pub(crate) mod locate;
pub mod merge;

use std::path::{Path, PathBuf};

use toml::{Table, Value};

pub use doc::ScenarioDoc;
pub(crate) use doc::key_segments as doc_key_segments;
use doc::{ErrorAt, resolve_doc};
use locate::SpanDoc;
use merge::{SetArg, deep_merge};

use crate::spec::RunSpec;

/// Why a scenario could not be loaded. The message carries the location.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The scenario file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file, a variant or a `--set` is invalid.
    #[error("{location}: {message}")]
    Invalid {
        /// `file:line`, `file`, or `file (--set k=v)`.
        location: String,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// Scenario arguments shared by every scenario command.
#[derive(clap::Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Seed overriding `scenario.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory (or file, where the command says so).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override a key after variants: `--set system.fanout.kind=push` (repeatable; the value
    /// is parsed as TOML, else taken as a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ScenarioArgs {
    /// Loads the scenario with the `--set` overrides and the `--seed` override applied.
    pub fn load(&self) -> Result<Scenario, ScenarioError> {
        let mut s = Scenario::load(&self.scenario, &self.set)?;
        if let Some(seed) = self.seed {
            s.set_seed(seed);
        }
        Ok(s)
    }
}

/// A loaded, validated scenario: the base and its resolved variants.
#[derive(Debug, Clone)]
pub struct Scenario {
    name: String,
    base: ScenarioDoc,
    variants: Vec<(String, ScenarioDoc)>,
}

impl Scenario {
    /// Reads, merges and validates `path` with `sets` (`key.path=value`) applied after the
    /// variants. Never panics on bad input; errors carry file, line and key.
    pub fn load(path: &Path, sets: &[String]) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: file.clone(),
            source,
        })?;
        Self::from_text(&file, &text, sets, path.parent())
    }

    /// [`Scenario::load`] on text already read; `file` names it in errors and `dir` resolves a
    /// relative `calibration` path.
    pub fn from_text(
        file: &str,
        text: &str,
        sets: &[String],
        dir: Option<&Path>,
    ) -> Result<Scenario, ScenarioError> {
        let mut table: Table = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| locate::line_of(text, s.start));
            invalid(file, line, e.message().trim().to_string())
        })?;
        let spans = SpanDoc::new(text);
        let sets = sets
            .iter()
            .map(|raw| {
                SetArg::parse(raw).map_err(|m| ScenarioError::Invalid {
                    location: format!("{file} (--set {raw})"),
                    message: m,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw_variants = take_variants(file, &spans, &mut table)?;
        let mut base_table = defaults_overlay();
        deep_merge(&mut base_table, table);
        let mut with_sets = base_table.clone();
        for s in &sets {
            deep_merge(&mut with_sets, s.to_table());
        }
        let at = ErrorAt {
            file,
            spans: &spans,
            sets: &sets,
            variant: None,
        };
        let base = resolve_doc(with_sets, &at, dir)?;
        let mut variants = Vec::with_capacity(raw_variants.len());
        for (i, (name, over)) in raw_variants.into_iter().enumerate() {
            let mut t = base_table.clone();
            deep_merge(&mut t, over);
            for s in &sets {
                deep_merge(&mut t, s.to_table());
            }
            let at = ErrorAt {
                variant: Some((i, name.as_str())),
                ..at
            };
            let doc = resolve_doc(t, &at, dir)?;
            variants.push((name, doc));
        }
        let name = base.scenario.name.clone().unwrap_or_else(|| {
            Path::new(file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        });
        Ok(Scenario {
            name,
            base,
            variants,
        })
    }

    /// `scenario.name`, else the file stem.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The seed of the base (variants may override it).
    pub fn seed(&self) -> u64 {
        self.base.scenario.seed
    }

    /// Replaces the base's seed and every variant's (the `--seed` flag).
    pub fn set_seed(&mut self, seed: u64) {
        self.base.scenario.seed = seed;
        for (_, v) in &mut self.variants {
            v.scenario.seed = seed;
        }
    }

    /// The resolved base document (before variants, after `--set`).
    pub fn base(&self) -> &ScenarioDoc {
        &self.base
    }

    /// The base as one run named `"default"`.
    pub fn base_spec(&self) -> RunSpec {
        self.base.to_spec(&self.name, "default")
    }

    /// One [`RunSpec`] per variant, in file order; one `"default"` spec without variants.
    pub fn variants(&self) -> Vec<RunSpec> {
        if self.variants.is_empty() {
            return vec![self.base_spec()];
        }
        self.variants
            .iter()
            .map(|(n, d)| d.to_spec(&self.name, n))
            .collect()
    }
}

/// The defaults that differ from the embedded types' own `Default` impls.
/// (the target's default is the yardstick, [`crate::spec::DEFAULT_FEED_P99_MS`]).
fn defaults_overlay() -> Table {
    let mut target = Table::new();
    target.insert(
        "feed-p99-ms".into(),
        Value::Float(crate::spec::DEFAULT_FEED_P99_MS),
    );
    let mut t = Table::new();
    t.insert("target".into(), Value::Table(target));
    t
}

/// Removes `[[variants]]` from `table` and returns `(name, overrides)` per variant.
fn take_variants(
    file: &str,
    spans: &SpanDoc<'_>,
    table: &mut Table,
) -> Result<Vec<(String, Table)>, ScenarioError> {
    let key = |i: usize, k: &str| vec!["variants".to_string(), i.to_string(), k.to_string()];
    let Some(v) = table.remove("variants") else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = v else {
        let line = spans.line(&["variants".to_string()]);
        return Err(invalid(
            file,
            line,
            "variants: expected an array of tables ([[variants]])".into(),
        ));
    };
    let mut out: Vec<(String, Table)> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let line = spans.line(&key(i, "name"));
        let Value::Table(mut t) = item else {
            return Err(invalid(
                file,
                line,
                format!("variants[{i}]: expected a table"),
            ));
        };
        let name = match t.remove("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(_) => {
                return Err(invalid(
                    file,
                    line,
                    format!("variants[{i}].name: expected a non-empty string"),
                ));
            }
            None => {
                return Err(invalid(
                    file,
                    line,
                    format!("variants[{i}]: missing key \"name\""),
                ));
            }
        };
        if t.contains_key("variants") {
            let line = spans.line(&key(i, "variants"));
            return Err(invalid(
                file,
                line,
                format!("in variant \"{name}\": variants cannot nest"),
            ));
        }
        if out.iter().any(|(n, _)| *n == name) {
            return Err(invalid(
                file,
                line,
                format!("variant name \"{name}\" is used twice"),
            ));
        }
        out.push((name, t));
    }
    Ok(out)
}

/// An [`ScenarioError::Invalid`] at `file[:line]`.
fn invalid(file: &str, line: Option<usize>, message: String) -> ScenarioError {
    let location = match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    ScenarioError::Invalid { location, message }
}
