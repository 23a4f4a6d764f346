//! `report.md`: the key figures per variant as a table, then the plots as
//! links to `plots/*.svg`.

use serde_json::Value;

use super::{FIGURES, cell, text};

/// The Markdown report.
pub fn render(summaries: &[Value], plots: &[(&str, &str, String)]) -> String {
    let mut out = String::from("# feedlab report\n\n");
    let scenario = summaries
        .first()
        .map(|s| text(s, "scenario"))
        .unwrap_or_default();
    out.push_str(&format!(
        "Scenario `{scenario}`, {} variant(s), mode {}, seed {}.\n\n",
        summaries.len(),
        summaries
            .first()
            .map(|s| text(s, "mode"))
            .unwrap_or_default(),
        summaries
            .first()
            .map(|s| text(s, "seed"))
            .unwrap_or_default(),
    ));
    out.push_str("| figure |");
    for s in summaries {
        out.push_str(&format!(" {} |", text(s, "variant")));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(summaries.len()));
    out.push('\n');
    for (label, path) in FIGURES {
        out.push_str(&format!("| {label} |"));
        for s in summaries {
            out.push_str(&format!(" {} |", cell(s, path)));
        }
        out.push('\n');
    }
    out.push_str("\n## Plots\n\n");
    for (file, title, _) in plots {
        out.push_str(&format!("- [{title}](plots/{file}.svg)\n"));
    }
    out
}
