//! The executor contract: whatever runs one variant — live against the in-process service,
//! against an external deployment, or in the simulator — takes a resolved [`RunSpec`] and
//! an output directory and returns the variant's typed [`Summary`].
//!
//! Contract of [`Executor::run`]: it writes `out/<variant>/spec.json` and
//! `out/<variant>/summary.json` (the summary it returns) and whatever else its mode keeps
//! under `out/<variant>/` (the in-situ calibration of a live run); it writes nothing
//! outside that directory. It is synchronous: a live executor owns a handle to the tokio
//! runtime and blocks on it, so it must be called from a thread of a multi-threaded runtime
//! or from outside any runtime.

use std::path::Path;

use crate::spec::RunSpec;
use crate::summary::Summary;

/// Runs one variant of a scenario; see the module docs for the contract.
pub trait Executor {
    /// Runs `spec` and writes its files under `out/<spec.variant>/`.
    fn run(&mut self, spec: &RunSpec, out: &Path) -> anyhow::Result<Summary>;
}

/// Writes `out/<variant>/spec.json` and `out/<variant>/summary.json` of one run.
pub fn save(spec: &RunSpec, out: &Path, summary: &Summary) -> anyhow::Result<()> {
    let vdir = out.join(&spec.variant);
    crate::summary::write_json(&vdir.join("spec.json"), spec)?;
    summary.save(&vdir.join("summary.json"))
}
