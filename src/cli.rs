//! What every command shares at the command line: the user-mistake error type, the default
//! output root (`out/<command>/<scenario>`) and the "no such variant" message.

use std::path::{Path, PathBuf};

/// A mistake in what the user asked for (a variant that does not exist, a flag that does not
/// apply): printed on one line, exit code 2, like a scenario error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// The default output directory of `command` on `scenario`: `out/<command>/<scenario>`.
pub fn default_out(command: &str, scenario: &str) -> PathBuf {
    Path::new("out").join(command).join(scenario)
}

/// The error for `--variant name` when `file` has no such variant; it lists the known ones.
pub fn unknown_variant(file: &Path, name: &str, known: &[&str]) -> UserError {
    UserError(format!(
        "{} has no variant {name:?}; it has: {}",
        file.display(),
        known.join(", ")
    ))
}
