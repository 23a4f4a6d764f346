//! `feedlab report DIR...`: reports rebuilt from saved results, and the merge of runs that
//! several generator processes made against one target.
//!
//! A DIR is what `run` or `compare` wrote: `comparison.json` and the `summary.json` of each
//! variant it lists (without `comparison.json`, every `DIR/<name>/summary.json`, by name); it
//! may also be a comparison file itself, such as a gate baseline.
//! - One DIR: `comparison.json`, `report.md`, `report.html` and `plots/` are rewritten from the
//!   saved files alone, byte for byte what `run`, `compare` or `sim` wrote (they write their
//!   reports through [`write_reports`] too). With `--out`, they go there with a copy of each
//!   variant's saved files.
//! - Several DIRs: runs of the same scenario and variants by different generators; each
//!   variant is merged (`merge`) into `--out` (default `out/report/<scenario>`).
//!
//! Unusable input (no summary, a malformed file, mismatched runs) is a [`UserError`] naming the
//! file: one line, exit code 2.

mod merge;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::cli::UserError;
use crate::summary::{Comparison, ComparisonEntry, Extra, Summary};

/// `feedlab report DIR...`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Saved run or comparison directories; several are merged (one generator each).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output directory (default: the DIR itself for one, `out/report/<scenario>` for several).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A saved run or comparison: its comparison and the summaries it lists, in its order.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    /// Where `comparison.json` is (or would be).
    pub comparison_path: PathBuf,
    /// The comparison.
    pub comparison: Comparison,
    /// Each variant's summary and where it was read.
    pub summaries: Vec<(PathBuf, Summary)>,
}

fn user(e: anyhow::Error) -> anyhow::Error {
    UserError(format!("{e:#}")).into()
}

impl Saved {
    /// Reads the comparison in `dir` (or the comparison file `dir`, such as a gate baseline)
    /// and every summary it lists.
    pub fn load(dir: &Path) -> anyhow::Result<Saved> {
        let comparison_path = if dir.is_file() {
            dir.to_path_buf()
        } else if dir.is_dir() {
            dir.join("comparison.json")
        } else {
            let msg = format!("{}: no such directory or comparison file", dir.display());
            return Err(UserError(msg).into());
        };
        let comparison = if comparison_path.exists() {
            Comparison::load(&comparison_path).map_err(user)?
        } else {
            discover(dir)?
        };
        if comparison.variants.is_empty() {
            let msg = format!("{}: lists no variant", comparison_path.display());
            return Err(UserError(msg).into());
        }
        let mut summaries = Vec::new();
        for entry in &comparison.variants {
            let path = Comparison::summary_path(&comparison_path, entry);
            let summary = Summary::load(&path).map_err(user)?;
            if summary.variant != entry.variant {
                let msg = format!(
                    "{}: variant {:?}, but {} lists {:?} there",
                    path.display(),
                    summary.variant,
                    comparison_path.display(),
                    entry.variant
                );
                return Err(UserError(msg).into());
            }
            summaries.push((path, summary));
        }
        Ok(Saved {
            comparison_path,
            comparison,
            summaries,
        })
    }

    /// The directory holding the comparison.
    pub fn dir(&self) -> &Path {
        self.comparison_path.parent().unwrap_or(Path::new("."))
    }

    /// The directory holding variant `i`'s summary (and its `.hlog` files).
    pub fn variant_dir(&self, i: usize) -> &Path {
        self.summaries[i].0.parent().unwrap_or(Path::new("."))
    }

    fn all(&self) -> Vec<Summary> {
        self.summaries.iter().map(|(_, s)| s.clone()).collect()
    }
}

/// The comparison of a directory without `comparison.json`: each `<name>/summary.json`, by name.
fn discover(dir: &Path) -> anyhow::Result<Comparison> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        if entry.path().join("summary.json").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut variants = Vec::new();
    for name in names {
        let summary = Summary::load(&dir.join(&name).join("summary.json")).map_err(user)?;
        variants.push(ComparisonEntry {
            variant: summary.variant,
            summary: format!("{name}/summary.json"),
            scenario: summary.scenario,
            extra: Extra::new(),
        });
    }
    let Some(first) = variants.first() else {
        let msg = format!(
            "{}: no comparison.json and no <variant>/summary.json",
            dir.display()
        );
        return Err(UserError(msg).into());
    };
    Ok(Comparison {
        scenario: first.scenario.clone(),
        variants,
        extra: Extra::new(),
    })
}

/// Writes `out/report.md`, `out/report.html` and `out/plots/` from the comparison and summaries
/// saved in `out`, so a report never depends on anything the files do not hold.
pub fn write_reports(out: &Path) -> anyhow::Result<()> {
    let saved = Saved::load(out)?;
    crate::report::write(out, &saved.all())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
}

/// Copies the files of each variant of `saved` (summary, spec, `.hlog`s) under `out`.
fn copy_variants(saved: &Saved, out: &Path) -> anyhow::Result<()> {
    for (i, entry) in saved.comparison.variants.iter().enumerate() {
        let from = saved.variant_dir(i);
        let to = out.join(&entry.summary);
        let to = to.parent().unwrap_or(out);
        std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
        for file in
            std::fs::read_dir(from).with_context(|| format!("listing {}", from.display()))?
        {
            let file = file?.path();
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            if file.is_file() && (name.ends_with(".json") || name.ends_with(".hlog")) {
                let dest = to.join(file.file_name().unwrap_or_default());
                std::fs::copy(&file, &dest)
                    .with_context(|| format!("copying {} to {}", file.display(), dest.display()))?;
            }
        }
    }
    Ok(())
}

/// Rewrites the comparison and reports of one saved run: in place when `out` is its directory,
/// else into `out` with a copy of its variants' files.
fn rebuild(saved: &Saved, out: &Path) -> anyhow::Result<()> {
    if same_dir(saved.dir(), out) {
        saved.comparison.save(&saved.comparison_path)?;
        return crate::report::write(out, &saved.all());
    }
    copy_variants(saved, out)?;
    saved.comparison.save(&out.join("comparison.json"))?;
    write_reports(out)
}

/// `feedlab report`.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    let saved = args
        .dirs
        .iter()
        .map(|d| Saved::load(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = match (&args.out, saved.as_slice()) {
        (Some(out), _) => out.clone(),
        (None, [one]) => one.dir().to_path_buf(),
        (None, several) => {
            let scenario = several
                .first()
                .map_or("", |s| s.comparison.scenario.as_str());
            crate::cli::default_out("report", scenario)
        }
    };
    if let [one] = saved.as_slice() {
        rebuild(one, &out)?;
    } else {
        merge::write(&saved, &out)?;
    }
    eprintln!("wrote {}", out.join("report.html").display());
    Ok(())
}
