//! `report.html`: one self-contained page — inline CSS, a header naming each summary's
//! provenance, the key-figures table and the plots as inline SVG. No scripts and no external
//! resources, so it opens offline and can be attached to CI runs.

use super::figures::{FIGURES, provenance_line};
use crate::summary::Summary;

/// Escape text for HTML.
pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px}\
td.n{text-align:right}th{background:#f3f3f3}figure{margin:1.5em 0}\
figcaption{font-weight:bold;margin-bottom:.4em}.no{color:#b00}.yes{color:#070}";

/// The HTML report.
pub fn render(summaries: &[Summary], plots: &[(&str, &str, String)]) -> String {
    let scenario = summaries
        .first()
        .map(|s| s.scenario.clone())
        .unwrap_or_default();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>feedlab report: {}</title><style>{STYLE}</style></head><body>\n\
         <h1>feedlab report: {}</h1>\n",
        esc(&scenario),
        esc(&scenario)
    );
    out.push_str("<ul class=\"provenance\">\n");
    for s in summaries {
        out.push_str(&format!(
            "<li>{} ({} mode, seed {}): {}</li>\n",
            esc(&s.variant),
            esc(&s.mode),
            s.seed,
            esc(&provenance_line(s))
        ));
    }
    out.push_str("</ul>\n<table><tr><th>figure</th>");
    for s in summaries {
        out.push_str(&format!("<th>{}</th>", esc(&s.variant)));
    }
    out.push_str("</tr>\n");
    for (label, read) in FIGURES {
        out.push_str(&format!("<tr><td>{}</td>", esc(label)));
        for s in summaries {
            let c = read(s).cell();
            let class = match (label.starts_with("met targets"), c.as_str()) {
                (true, "yes") => "n yes",
                (true, "no") => "n no",
                _ => "n",
            };
            out.push_str(&format!("<td class=\"{class}\">{}</td>", esc(&c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out.push_str(&super::fault_tables::html(summaries));
    for (file, title, svg) in plots {
        out.push_str(&format!(
            "<figure id=\"{file}\"><figcaption>{}</figcaption>\n{svg}\n</figure>\n",
            esc(title)
        ));
    }
    out.push_str("</body></html>\n");
    out
}
