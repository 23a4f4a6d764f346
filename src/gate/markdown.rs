//! The gate's CI-facing outputs besides JUnit: `gate.md` (verdict, notes
//! and a table of every check), appended to `$GITHUB_STEP_SUMMARY` when
//! that is set, and GitHub workflow commands (`::error` per failure,
//! `::warning` per provenance warning) when running under GitHub Actions.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::check::{Check, Outcome};
use super::config::num;
use super::output::result;

/// Counts of outcomes: (passed, failed, skipped).
pub fn counts(checks: &[Check]) -> (usize, usize, usize) {
    let n = |o: Outcome| checks.iter().filter(|c| c.outcome == o).count();
    (n(Outcome::Pass), n(Outcome::Fail), n(Outcome::Skip))
}

/// The one-line verdict shared by stdout and `gate.md`.
pub fn verdict(checks: &[Check]) -> String {
    let (passed, failed, skipped) = counts(checks);
    format!(
        "{} checks, {passed} passed, {failed} failed, {skipped} skipped -> {}",
        checks.len(),
        if failed == 0 { "PASS" } else { "FAIL" }
    )
}

/// Renders `gate.md`: a heading with the verdict, the inputs, the notes
/// (provenance warnings and facts), the failures, then every check.
pub fn render(checks: &[Check], inputs: &str, notes: &[String]) -> String {
    let (_, failed, _) = counts(checks);
    let mut md = format!(
        "## feedlab gate: {}\n\n{}\n\n{inputs}\n",
        if failed == 0 { "PASS" } else { "FAIL" },
        verdict(checks)
    );
    if !notes.is_empty() {
        md.push_str("\n### Notes\n\n");
        for n in notes {
            md.push_str(&format!("- {}\n", cell(n)));
        }
    }
    if failed > 0 {
        md.push_str("\n### Failures\n\n");
        for c in checks.iter().filter(|c| c.outcome == Outcome::Fail) {
            md.push_str(&format!("- {}\n", cell(&c.message)));
        }
    }
    md.push_str(
        "\n| metric | check | variant | baseline | current | change | limit | result | note |\n\
         |---|---|---|--:|--:|--:|---|---|---|\n",
    );
    for c in checks {
        let value = |v: Option<f64>| v.map_or_else(|| "-".into(), num);
        let change = c
            .change_pct()
            .map_or_else(|| "-".into(), |p| format!("{p:+.1}%"));
        let note = if c.outcome == Outcome::Fail {
            ""
        } else {
            &c.message
        };
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | **{}** | {} |\n",
            cell(&c.metric),
            c.kind,
            cell(&c.variant),
            value(c.baseline),
            value(c.current),
            change,
            cell(&c.limit),
            result(c.outcome),
            cell(note)
        ));
    }
    md
}

/// A table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Writes `gate.md` into `out`, and appends it to `$GITHUB_STEP_SUMMARY`
/// when that is set; returns where `gate.md` went. Failing to append to the
/// step summary is only a warning.
pub fn write(out: &Path, md: &str) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("gate.md");
    std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| writeln!(f, "{md}"));
        if let Err(e) = appended {
            let shown = Path::new(&summary).display().to_string();
            eprintln!("warning: cannot append to GITHUB_STEP_SUMMARY {shown}: {e}");
        }
    }
    Ok(path)
}

/// Whether to print GitHub workflow commands.
pub fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// The workflow command lines: `::error` per failed check and `::warning`
/// per warning, with messages escaped as workflow commands require.
pub fn annotations(checks: &[Check], warnings: &[String]) -> Vec<String> {
    let escape = |m: &str| {
        m.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| format!("::error title=feedlab gate::{}", escape(&c.message)))
        .chain(
            warnings
                .iter()
                .map(|w| format!("::warning title=feedlab gate::{}", escape(w))),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(outcome: Outcome, message: &str) -> Check {
        let mut c = Check::new("push", "feed.p50_ms trials".into(), "trial", "feed.p50_ms");
        c.baseline = Some(2.0);
        c.current = Some(3.0);
        c.judged(outcome, message.into())
    }

    #[test]
    fn markdown_has_verdict_failures_and_escaped_cells() {
        let checks = [
            check(Outcome::Fail, "feed grew | a lot"),
            check(Outcome::Skip, "no `series` section"),
        ];
        let md = render(&checks, "inputs", &["warning one".into()]);
        assert!(md.starts_with("## feedlab gate: FAIL\n"), "{md}");
        assert!(
            md.contains("2 checks, 0 passed, 1 failed, 1 skipped -> FAIL"),
            "{md}"
        );
        assert!(
            md.contains("- warning one") && md.contains("feed grew \\| a lot"),
            "{md}"
        );
        assert!(md.contains("| +50.0% |") && md.contains("**SKIP** | no `series` section |"));
    }

    #[test]
    fn annotations_escape_workflow_command_characters() {
        let checks = [
            check(Outcome::Fail, "50% up\nnext"),
            check(Outcome::Pass, ""),
        ];
        let lines = annotations(&checks, &["w".into()]);
        assert_eq!(
            lines,
            [
                "::error title=feedlab gate::50%25 up%0Anext",
                "::warning title=feedlab gate::w"
            ]
        );
    }
}
