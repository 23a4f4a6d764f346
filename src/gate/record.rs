//! `feedlab gate --record`: makes the current run the baseline.
//!
//! `--baseline B.json` receives a `comparison.json` listing every variant
//! at `B/<variant>/summary.json` (a copy of the current summary, byte for
//! byte; data and calibration files are not copied), plus a `recorded`
//! object: the commit, date, cores and load average of the machine that
//! recorded it and each variant's scenario hash. A single current
//! `summary.json` is recorded the same way, as a one-variant comparison. A
//! run with fault or slowdown injection on is refused.
//!
//! More runs of the same commit (`--also`, repeatable) make the baseline a
//! distribution rather than one run's: their per-second `series` entries
//! are appended to each variant's copy, tagged `run: 1, 2, …`, and the
//! statistical checks pool them. On a shared machine one run's CPU per op
//! can sit 10–20% off the commit's centre; a pooled baseline keeps a clean
//! run from looking like a regression against an unlucky recording.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::input;
use super::recorded::Recorded;

/// Records `current` as the baseline at `baseline`; returns the `recorded`
/// object written. Errors name the file at fault.
pub fn record(current: &Path, also: &[PathBuf], baseline: &Path) -> anyhow::Result<Recorded> {
    if baseline.extension().is_none_or(|e| e != "json") {
        bail!(
            "--baseline {} must be a .json path (the baseline comparison.json) with --record",
            baseline.display()
        );
    }
    let input = input::load(current)?;
    let stem = baseline
        .file_stem()
        .and_then(|s| s.to_str())
        .context("the --baseline file name must be valid UTF-8")?;
    let dir = baseline.with_extension("");
    let mut entries = Vec::new();
    let mut hashes = BTreeMap::new();
    recordable(&input, current)?;
    let extra = also
        .iter()
        .map(|p| {
            let more = input::load(p)?;
            recordable(&more, p)?;
            Ok(more)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for named in &input.named {
        let v = &named.variant;
        let dest = dir.join(v).join("summary.json");
        copy_summary(&named.file, &dest)?;
        if !extra.is_empty() {
            pool_series(&dest, v, &extra)?;
        }
        entries.push((v.clone(), format!("{stem}/{v}/summary.json")));
        let hash = named.facts.provenance.as_ref().ok();
        hashes.insert(v.clone(), hash.and_then(|p| p.scenario_hash.clone()));
    }
    let host = crate::calibrate::provenance(0);
    let commit = run_commit(current, &input, also, &extra)?;
    let recorded = Recorded {
        commit: commit.or(Some(host.git_rev).filter(|c| !c.is_empty())),
        date: host.date,
        cores: host.cores,
        load_avg: crate::calibrate::load_avg(),
        scenario_hashes: hashes,
        source: current.display().to_string(),
        also: also.iter().map(|p| p.display().to_string()).collect(),
    };
    let mut comparison = if input.single {
        let scenario = &input.named[0].summary.scenario;
        json!({ "scenario": scenario, "variants": [] })
    } else {
        let text = std::fs::read_to_string(current)
            .with_context(|| format!("cannot read {}", current.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", current.display()))?
    };
    comparison["variants"] = Value::Array(variant_entries(&comparison, &entries));
    comparison["recorded"] = serde_json::to_value(&recorded)?;
    let mut text = serde_json::to_string_pretty(&comparison)?;
    text.push('\n');
    std::fs::write(baseline, text)
        .with_context(|| format!("cannot write {}", baseline.display()))?;
    Ok(recorded)
}

/// The commit the runs' summaries say they ran (`provenance.commit`), so a baseline recorded
/// from another tree's runs names their commit, not this one's; `None` when no summary says.
/// Runs of two commits are refused: a baseline pools runs of one commit.
fn run_commit(
    current: &Path,
    input: &input::Input,
    also: &[PathBuf],
    extra: &[input::Input],
) -> anyhow::Result<Option<String>> {
    let runs =
        std::iter::once((current, input)).chain(also.iter().map(PathBuf::as_path).zip(extra));
    let mut first: Option<(String, &Path)> = None;
    for (file, run) in runs {
        for named in &run.named {
            let Some(commit) = named.summary.provenance.as_ref().map(|p| &p.commit) else {
                continue;
            };
            match &first {
                _ if commit.is_empty() => {}
                None => first = Some((commit.clone(), file)),
                Some((c, f)) if c != commit => bail!(
                    "{} ran commit {commit} and {} ran {c}: a baseline pools runs of one commit",
                    file.display(),
                    f.display()
                ),
                Some(_) => {}
            }
        }
    }
    Ok(first.map(|(c, _)| c))
}

/// Refuses variants whose names cannot be directories, and runs with fault
/// or slowdown injection on.
fn recordable(input: &input::Input, current: &Path) -> anyhow::Result<()> {
    for named in &input.named {
        let v = &named.variant;
        if v.is_empty() || v == "." || v == ".." || v.contains(['/', '\\']) {
            bail!("variant name {v:?} cannot be a directory name");
        }
        if let Some(inject) = super::provenance::injection(named) {
            bail!(
                "variant {v} of {} ran with injection on ({inject}); record a baseline from a \
                 clean run",
                current.display()
            );
        }
    }
    Ok(())
}

/// The `variants` list pointing at the copies: the current entries (with
/// any extra fields they carry) with `summary` replaced, or new entries.
fn variant_entries(comparison: &Value, entries: &[(String, String)]) -> Vec<Value> {
    let old = comparison["variants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .map(|(variant, path)| {
            let mut entry = old
                .iter()
                .find(|e| e["variant"].as_str() == Some(variant))
                .cloned()
                .unwrap_or_else(|| json!({ "variant": variant }));
            entry["summary"] = json!(path);
            entry
        })
        .collect()
}

/// Appends the `series` of `variant` in each of `extra` to the summary at
/// `dest`, tagging run `k + 1`'s entries with `run: k + 1`. A run that lacks
/// the variant or its series is an error naming it.
fn pool_series(dest: &Path, variant: &str, extra: &[input::Input]) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(dest).with_context(|| format!("cannot read {}", dest.display()))?;
    let mut summary: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", dest.display()))?;
    let mut series = summary["series"].as_array().cloned().unwrap_or_default();
    for (k, more) in extra.iter().enumerate() {
        let named = more
            .named
            .iter()
            .find(|n| n.variant == variant)
            .with_context(|| format!("--also run {} has no variant {variant}", k + 1))?;
        let Some(entries) = named.json["series"].as_array() else {
            bail!("{} has no series to pool", named.file.display());
        };
        series.extend(entries.iter().cloned().map(|mut e| {
            e["run"] = json!(k + 1);
            e
        }));
    }
    summary["series"] = Value::Array(series);
    let mut text = serde_json::to_string_pretty(&summary)?;
    text.push('\n');
    std::fs::write(dest, text).with_context(|| format!("cannot write {}", dest.display()))
}

/// Copies a summary unless source and destination are the same file.
fn copy_summary(from: &Path, to: &Path) -> anyhow::Result<()> {
    let same = match (from.canonicalize(), to.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_extra_fields_and_point_at_the_copies() {
        let c = json!({ "variants": [{ "variant": "push", "summary": "x", "note": 1 }] });
        let e = variant_entries(
            &c,
            &[
                ("push".into(), "qs/push/summary.json".into()),
                ("pull".into(), "qs/pull/summary.json".into()),
            ],
        );
        assert_eq!(
            e[0],
            json!({ "variant": "push", "summary": "qs/push/summary.json", "note": 1 })
        );
        assert_eq!(
            e[1],
            json!({ "variant": "pull", "summary": "qs/pull/summary.json" })
        );
    }

    #[test]
    fn description_is_one_line_even_when_facts_are_missing() {
        let r = Recorded {
            date: "2024-02-29T12:34:56Z".into(),
            cores: 2,
            ..Recorded::default()
        };
        let d = r.describe();
        assert!(d.contains("unknown commit") && d.contains("2 cores"), "{d}");
        assert!(!d.contains('\n'));
    }
}
