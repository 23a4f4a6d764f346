//! Checks the files a test wrote against the JSON Schemas in `docs/schema/`
//! (see `docs/summary.md`): every `summary.json`, `comparison.json` and
//! `sweep.json` under a directory, and any other `.json` file with a top-level
//! `recorded` object (a baseline written by `feedlab gate --record`) as a
//! comparison. A failure names the file, the JSON pointer and the message.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The three schemas, compiled once per check.
pub struct Contract {
    schemas: boon::Schemas,
    summary: boon::SchemaIndex,
    comparison: boon::SchemaIndex,
    sweep: boon::SchemaIndex,
}

/// Which schema a file is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `summary.schema.json`.
    Summary,
    /// `comparison.schema.json`.
    Comparison,
    /// `sweep.schema.json`.
    Sweep,
}

impl Contract {
    /// Compiles `docs/schema/*.schema.json`; panics if one is not a valid schema.
    pub fn load() -> Contract {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let mut compile = |name: &str| {
            let path = dir.join(format!("{name}.schema.json"));
            let loc = path.to_str().expect("utf-8 path");
            compiler
                .compile(loc, &mut schemas)
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
        };
        let (summary, comparison, sweep) =
            (compile("summary"), compile("comparison"), compile("sweep"));
        Contract {
            schemas,
            summary,
            comparison,
            sweep,
        }
    }

    /// What is wrong with `value` as a `kind` file, one `#<pointer>: <message>`
    /// per failing check; empty when it is valid.
    pub fn problems(&self, kind: Kind, value: &Value) -> Vec<String> {
        let index = match kind {
            Kind::Summary => self.summary,
            Kind::Comparison => self.comparison,
            Kind::Sweep => self.sweep,
        };
        let mut out = Vec::new();
        if let Err(e) = self.schemas.validate(value, index) {
            leaves(&e, value, &mut out);
        }
        out
    }
}

/// The innermost errors of `e` (those name the field and the broken rule),
/// each with the value found there.
fn leaves(e: &boon::ValidationError<'_, '_>, value: &Value, out: &mut Vec<String>) {
    if e.causes.is_empty() {
        let pointer = e.instance_location.to_string();
        let mut found = value
            .pointer(&pointer)
            .map(Value::to_string)
            .unwrap_or_default();
        if found.len() > 80 {
            found = format!("{}...", found.chars().take(77).collect::<String>());
        }
        out.push(format!("#{pointer}: {} (found {found})", e.kind));
    }
    for cause in &e.causes {
        leaves(cause, value, out);
    }
}

/// The schema a file at `path` holding `value` is checked against, if any.
pub fn kind_of(path: &Path, value: &Value) -> Option<Kind> {
    match path.file_name()?.to_str()? {
        "summary.json" => Some(Kind::Summary),
        "comparison.json" => Some(Kind::Comparison),
        "sweep.json" => Some(Kind::Sweep),
        _ if value.get("recorded").is_some() => Some(Kind::Comparison),
        _ => None,
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let path = entry.path();
        let file_type = entry.file_type().expect("file type");
        if file_type.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Checks every summary, comparison and sweep file under `dir` against its
/// schema; panics listing each problem (file, JSON pointer, message), or if
/// `dir` holds none of them. Returns the files checked and their kinds.
pub fn assert_valid_outputs(dir: &Path) -> Vec<(PathBuf, Kind)> {
    let contract = Contract::load();
    let mut files = Vec::new();
    json_files(dir, &mut files);
    files.sort();
    let (mut checked, mut problems) = (Vec::new(), Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            if kind_of(&path, &Value::Null).is_some() {
                problems.push(format!("{}: not JSON", path.display()));
            }
            continue;
        };
        let Some(kind) = kind_of(&path, &value) else {
            continue;
        };
        for p in contract.problems(kind, &value) {
            problems.push(format!("{}: {p}", path.display()));
        }
        checked.push((path, kind));
    }
    assert!(
        problems.is_empty(),
        "outputs break the schemas in docs/schema/:\n{}",
        problems.join("\n")
    );
    assert!(
        !checked.is_empty(),
        "no summary.json, comparison.json or sweep.json under {}",
        dir.display()
    );
    checked
}
