//! Small multiples for latency by percentile: one frame per op kind (in the
//! caller's order, feed first), two to a row, every frame on the "nines"
//! axis with ticks at p50, p90, p99 and p99.9 and a log latency axis in
//! human units, and one legend for all of them beside the grid. Series are
//! coloured by their index within a panel, so a caller that lists the same
//! variants in the same order in every panel (empty series included) gets
//! one colour per variant across the grid.

use plotters::prelude::*;

use super::axes::{Area, Axis, Series, err, millis};
use super::chart::{FRAME_W, Frame, draw_frame};
use super::legend;

/// Height of one row of panels, px.
const ROW_H: u32 = 300;

/// Height of the title band, px.
const TITLE_H: u32 = 34;

/// Panels per row.
const COLS: usize = 2;

/// `x = −log10(1 − q)` of p50, p90, p99 and p99.9.
const TICKS: [f64; 4] = [std::f64::consts::LOG10_2, 1.0, 2.0, 3.0];

/// One panel: the op kind it shows, its series, and its target line.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Caption (the op kind).
    pub name: String,
    /// One series per variant, in the same order in every panel.
    pub series: Vec<Series>,
    /// A labelled horizontal line (the feed target), when this op has one.
    pub hline: Option<(f64, String)>,
}

/// A nines value as `p50`, `p99.9`.
fn pct(x: f64) -> String {
    format!("p{}", super::axes::nines(x))
}

/// Draw `panels` under `title` into one SVG. The legend lists the first
/// panel's series and every distinct target line.
pub fn percentile_panels(title: &str, panels: &[Panel]) -> anyhow::Result<String> {
    let rows = panels.len().div_ceil(COLS).max(1);
    let height = TITLE_H + ROW_H * rows as u32;
    let mut svg = String::new();
    {
        let size = (FRAME_W + legend::WIDTH, height);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let centre = (FRAME_W / 2) as i32;
        let style = ("sans-serif", 18).into_font().into_text_style(&root).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            ),
        );
        root.draw(&Text::new(title.to_string(), (centre, 8), style))
            .map_err(err)?;
        let (grid, side) = root.split_horizontally(FRAME_W);
        let (_, grid) = grid.split_vertically(TITLE_H);
        let cells = grid.split_evenly((rows, COLS));
        for (panel, cell) in panels.iter().zip(&cells) {
            draw_panel(cell, panel)?;
        }
        legend::draw(&side, &legend_entries(panels), TITLE_H as i32)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn draw_panel(cell: &Area<'_>, panel: &Panel) -> anyhow::Result<()> {
    let frame = Frame {
        title: &panel.name,
        x: Axis {
            desc: "percentile",
            log: false,
            fmt: pct,
        },
        y: Axis {
            desc: "latency",
            log: true,
            fmt: millis,
        },
        x_ticks: Some(&TICKS),
        series: &panel.series,
        hline: panel.hline.as_ref(),
        shade: &[],
    };
    draw_frame(cell, &frame)
}

fn legend_entries(panels: &[Panel]) -> Vec<legend::Entry> {
    let mut out = legend::entries(panels.first().map_or(&[][..], |p| &p.series), None);
    for p in panels {
        for e in legend::entries(&[], p.hline.as_ref()) {
            if !out.contains(&e) {
                out.push(e);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::axes::Style;
    use super::*;

    fn panel(name: &str, hline: Option<f64>) -> Panel {
        let line = |label: &str, k: f64| Series {
            label: label.into(),
            points: vec![(TICKS[0], k), (1.0, 2.0 * k), (3.0, 9.0 * k)],
            style: Style::Line,
        };
        Panel {
            name: name.into(),
            series: vec![line("push", 1.0), line("pull", 3.0)],
            hline: hline.map(|t| (t, format!("{t:.0} ms feed target"))),
        }
    }

    #[test]
    fn one_frame_per_op_ticks_at_the_named_percentiles_and_one_legend() {
        let panels = [
            panel("feed", Some(200.0)),
            panel("upload", None),
            panel("search", None),
        ];
        let svg = percentile_panels("Latency by percentile", &panels).expect("panels draw");
        for name in ["feed", "upload", "search"] {
            assert!(svg.contains(&format!(">\n{name}\n<")), "caption {name}");
        }
        for tick in ["p50", "p90", "p99", "p99.9"] {
            assert!(svg.contains(&format!(">\n{tick}\n<")), "tick {tick}");
        }
        assert_eq!(
            svg.matches(">\npush\n<").count(),
            1,
            "one legend entry per variant"
        );
        assert_eq!(svg.matches(">\n200 ms feed target\n<").count(), 1);
        assert!(svg.contains(">\n10 ms\n<"), "latency ticks in human units");
    }

    #[test]
    fn human_units() {
        assert_eq!(millis(0.25), "250 µs");
        assert_eq!(millis(12.0), "12 ms");
        assert_eq!(millis(1500.0), "1.5 s");
        assert_eq!(super::super::axes::bytes(512.0), "512 B");
        assert_eq!(super::super::axes::bytes(2.5e9), "2.5 GB");
    }
}
