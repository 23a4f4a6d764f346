//! Reports of a run or comparison: `report.md` and a self-contained
//! `report.html` (inline SVG, inline CSS, no scripts, no network fetches),
//! plus the plots as `plots/*.svg` for the Markdown to link, and the terminal table.
//!
//! Reports read the typed summaries: the key figures and the table from contract fields,
//! the plots from the plot series kept in the sections' `extra` maps; a missing series
//! leaves a plot empty rather than failing. The header names each summary's provenance.
//! A run whose summaries list `faults` also gets the fault charts ([`faults`]) and tables
//! (windows, failures by code, invariants); other reports are unchanged by them.

mod axes;
mod chart;
mod fault_tables;
pub mod faults;
mod figures;
mod html;
mod legend;
mod markdown;
mod panels;
pub mod plots;
pub mod sweep;
pub mod table;
pub mod tune;

use std::path::Path;

use anyhow::Context;

use crate::summary::Summary;

/// Write `out/report.md`, `out/report.html` and `out/plots/*.svg` for
/// `summaries` (one per variant, in order).
pub fn write(out: &Path, summaries: &[Summary]) -> anyhow::Result<()> {
    let plots = plots::all(summaries)?;
    let dir = out.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, _, svg) in &plots {
        let p = dir.join(format!("{file}.svg"));
        std::fs::write(&p, svg).with_context(|| format!("writing {}", p.display()))?;
    }
    let md = out.join("report.md");
    std::fs::write(&md, markdown::render(summaries, &plots))
        .with_context(|| format!("writing {}", md.display()))?;
    let html = out.join("report.html");
    std::fs::write(&html, html::render(summaries, &plots))
        .with_context(|| format!("writing {}", html.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::figures::{FIGURES, Figure};
    use super::{html, markdown};
    use crate::summary::{OpStats, Summary};

    fn summary() -> Summary {
        let mut s = Summary {
            variant: "push".into(),
            ..Summary::default()
        };
        let op = |errors, dropped| OpStats {
            errors,
            dropped,
            ..OpStats::default()
        };
        s.ops.insert("feed".into(), op(2, 1));
        s.ops.insert("photo_get".into(), op(7, 0));
        s.ops.insert("upload".into(), op(0, 0));
        s
    }

    #[test]
    fn errors_and_drops_rows_sum_over_op_kinds() {
        let s = summary();
        let md = markdown::render(std::slice::from_ref(&s), &[]);
        assert!(md.contains("| errors (all ops) | 9 |"), "{md}");
        assert!(md.contains("| dropped (all ops) | 1 |"), "{md}");
        assert!(md.contains("| shed under overload (all ops) | 0 |"), "{md}");
        let page = html::render(std::slice::from_ref(&s), &[]);
        assert!(
            page.contains("<td>errors (all ops)</td><td class=\"n\">9</td>"),
            "{page}"
        );
        let errors = FIGURES[10].1;
        assert_eq!(errors(&Summary::default()).cell(), "?");
    }

    #[test]
    fn small_shares_keep_two_significant_digits() {
        assert_eq!(Figure::Num(0.0013).cell(), "0.0013");
        assert_eq!(Figure::Num(13.666).cell(), "13.67");
        assert_eq!(Figure::Num(35.0).cell(), "35.0");
    }
}
