//! What the gate shows: a plain-text table on stdout and a JUnit XML report
//! (one test suite per variant, one test case per check) for CI.

use std::path::Path;

use anyhow::Context;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::check::{Check, Outcome};
use super::config::num;

/// Renders the checks as an aligned table with a header row.
pub fn table(checks: &[Check]) -> String {
    let header = [
        "metric", "check", "variant", "baseline", "current", "change", "limit", "result", "note",
    ];
    let rows: Vec<[String; 9]> = checks
        .iter()
        .map(|c| {
            let note = if c.outcome == Outcome::Fail {
                String::new()
            } else {
                c.message.clone()
            };
            [
                c.metric.clone(),
                c.kind.to_string(),
                c.variant.clone(),
                c.baseline.map(num).unwrap_or_else(|| "-".into()),
                c.current.map(num).unwrap_or_else(|| "-".into()),
                c.change_pct()
                    .map(|p| format!("{p:+.1}%"))
                    .unwrap_or_else(|| "-".into()),
                c.limit.clone(),
                result(c.outcome).to_string(),
                note,
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Numbers right-aligned, text left-aligned.
            if (3..=5).contains(&i) {
                text.push_str(&format!("{cell:>w$}"));
            } else {
                text.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header.map(String::from));
    for row in &rows {
        line(row);
    }
    out
}

/// `PASS`, `FAIL` or `SKIP`.
pub fn result(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Skip => "SKIP",
    }
}

/// Builds the JUnit report: a suite per variant (in first-seen order), a
/// test case per check, `<failure message=...>` on a breach and
/// `<skipped message=...>` on a skipped check.
pub fn junit(checks: &[Check]) -> Report {
    let mut report = Report::new("feedlab gate");
    let mut variants: Vec<&str> = Vec::new();
    for c in checks {
        if !variants.contains(&c.variant.as_str()) {
            variants.push(&c.variant);
        }
    }
    for variant in variants {
        let mut suite = TestSuite::new(format!("gate.{variant}"));
        for c in checks.iter().filter(|c| c.variant == variant) {
            let mut status = match c.outcome {
                Outcome::Pass => TestCaseStatus::success(),
                Outcome::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                Outcome::Skip => TestCaseStatus::skipped(),
            };
            if c.outcome != Outcome::Pass {
                status.set_message(c.message.as_str());
            }
            let mut case = TestCase::new(c.name.as_str(), status);
            case.set_classname(format!("gate.{variant}"));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
}

/// Writes the JUnit report to `path`, creating parent directories.
pub fn write_junit(checks: &[Check], path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let xml = junit(checks)
        .to_string()
        .context("cannot serialize the JUnit report")?;
    std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))
}
