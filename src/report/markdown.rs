//! `report.md`: a header naming the scenario, mode, seed and each summary's provenance,
//! the key figures per variant as a table, then the plots as links to `plots/*.svg`.

use super::figures::{FIGURES, provenance_line};
use crate::summary::Summary;

/// The Markdown report.
pub fn render(summaries: &[Summary], plots: &[(&str, &str, String)]) -> String {
    let mut out = String::from("# feedlab report\n\n");
    if let Some(first) = summaries.first() {
        out.push_str(&format!(
            "Scenario `{}`, {} variant(s), mode {}, seed {}.\n\n",
            first.scenario,
            summaries.len(),
            first.mode,
            first.seed,
        ));
    }
    for s in summaries {
        out.push_str(&format!("- `{}`: {}\n", s.variant, provenance_line(s)));
    }
    out.push_str("\n| figure |");
    for s in summaries {
        out.push_str(&format!(" {} |", s.variant));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(summaries.len()));
    out.push('\n');
    for (label, read) in FIGURES {
        out.push_str(&format!("| {label} |"));
        for s in summaries {
            out.push_str(&format!(" {} |", read(s).cell()));
        }
        out.push('\n');
    }
    out.push_str(&super::fault_tables::markdown(summaries));
    out.push_str("\n## Plots\n\n");
    for (file, title, _) in plots {
        out.push_str(&format!("- [{title}](plots/{file}.svg)\n"));
    }
    out
}
