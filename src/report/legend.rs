//! A chart's legend, drawn in its own column beside the data so that no
//! entry covers a point: one row per series (a filled box in the series'
//! colour) and one for the horizontal target line (a red rule). Long labels
//! wrap onto a second row at a space.

use plotters::prelude::*;

use super::axes::{Area, Series, Style, err};

/// Width of the legend column, px.
pub(super) const WIDTH: u32 = 230;

/// Characters per legend row before a label wraps.
const WRAP: usize = 32;

/// Row height, px.
const ROW: i32 = 16;

/// How an entry's key is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Key {
    /// A filled box in the series colour.
    Fill(RGBAColor),
    /// A horizontal rule (the target line).
    Rule(RGBAColor),
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    /// Label text.
    pub label: String,
    /// Its key.
    pub key: Key,
}

/// The entries of `series` (coloured by index; [`Style::Mark`] series have
/// none) followed by the target line's, when there is one.
pub(super) fn entries(series: &[Series], hline: Option<&(f64, String)>) -> Vec<Entry> {
    let mut out: Vec<Entry> = series
        .iter()
        .enumerate()
        .filter(|(_, s)| !matches!(s.style, Style::Mark(_)))
        .map(|(i, s)| Entry {
            label: s.label.clone(),
            key: Key::Fill(Palette99::pick(i).to_rgba()),
        })
        .collect();
    if let Some((_, label)) = hline {
        out.push(Entry {
            label: label.clone(),
            key: Key::Rule(RED.to_rgba()),
        });
    }
    out
}

/// `label` cut into rows of at most [`WRAP`] characters at spaces (a word
/// longer than a row stays whole).
fn rows(label: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in label.split(' ') {
        match out.last_mut() {
            Some(row) if row.chars().count() + 1 + word.chars().count() <= WRAP => {
                row.push(' ');
                row.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// Draw `entries` top-down in `area`, starting `top` px below its top edge.
pub(super) fn draw(area: &Area<'_>, entries: &[Entry], top: i32) -> anyhow::Result<()> {
    let font = ("sans-serif", 12).into_font();
    let mut y = top;
    for e in entries {
        let mid = y + ROW / 2;
        match e.key {
            Key::Fill(c) => area
                .draw(&Rectangle::new([(4, mid - 5), (18, mid + 5)], c.filled()))
                .map_err(err)?,
            Key::Rule(c) => area
                .draw(&PathElement::new(
                    vec![(4, mid), (18, mid)],
                    c.stroke_width(2),
                ))
                .map_err(err)?,
        }
        for row in rows(&e.label) {
            area.draw(&Text::new(row, (24, y + 2), font.clone()))
                .map_err(err)?;
            y += ROW;
        }
        y += 4;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_wrap_at_spaces_and_short_ones_do_not() {
        assert_eq!(rows("push feed"), vec!["push feed"]);
        let long = "full-scale model (300M): fit α = 2.10 (x ≥ 12)";
        let r = rows(long);
        assert!(r.len() > 1, "{r:?}");
        assert!(r.iter().all(|row| row.chars().count() <= WRAP), "{r:?}");
        assert_eq!(r.join(" "), long);
    }

    #[test]
    fn marks_have_no_entry_and_the_target_comes_last() {
        let s = |label: &str, style| Series {
            label: label.into(),
            points: vec![(1.0, 1.0)],
            style,
        };
        let series = [s("push", Style::Line), s("knee", Style::Mark(0))];
        let target = (200.0, "200 ms target".to_string());
        let e = entries(&series, Some(&target));
        let labels: Vec<&str> = e.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["push", "200 ms target"]);
        assert!(matches!(e[1].key, Key::Rule(_)));
    }
}
