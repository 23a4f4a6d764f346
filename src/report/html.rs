//! `report.html`: one self-contained page — inline CSS, the key-figures
//! table and the six plots as inline SVG. No scripts and no external
//! resources, so it opens offline and can be attached to CI runs.

use serde_json::Value;

use super::{FIGURES, cell, text};

/// Escape text for HTML.
fn esc(s: &str) -> String {
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
pub fn render(summaries: &[Value], plots: &[(&str, &str, String)]) -> String {
    let scenario = summaries
        .first()
        .map(|s| text(s, "scenario"))
        .unwrap_or_default();
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>feedlab report: {}</title><style>{STYLE}</style></head><body>\n\
         <h1>feedlab report: {}</h1>\n<table><tr><th>figure</th>",
        esc(&scenario),
        esc(&scenario)
    );
    for s in summaries {
        out.push_str(&format!("<th>{}</th>", esc(&text(s, "variant"))));
    }
    out.push_str("</tr>\n");
    for (label, path) in FIGURES {
        out.push_str(&format!("<tr><td>{}</td>", esc(label)));
        for s in summaries {
            let c = cell(s, path);
            let class = match (path, c.as_str()) {
                ("target.met", "yes") => "n yes",
                ("target.met", "no") => "n no",
                _ => "n",
            };
            out.push_str(&format!("<td class=\"{class}\">{}</td>", esc(&c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    for (file, title, svg) in plots {
        out.push_str(&format!(
            "<figure id=\"{file}\"><figcaption>{}</figcaption>\n{svg}\n</figure>\n",
            esc(title)
        ));
    }
    out.push_str("</body></html>\n");
    out
}
