//! The chart core behind the report's plots: one [`chart`] call draws line,
//! point or bar series on linear or log axes into a standalone SVG string
//! (plotters' SVG backend, no fonts needed: text becomes `<text>` elements).
//!
//! Log axes are drawn by plotting `log10` of the values on linear axes and
//! labelling ticks with the original values; the latency curves use the
//! "nines" scale `x = −log10(1 − q)`, so p50, p90, p99 and p99.9 are evenly
//! spaced.

use anyhow::anyhow;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// How a series is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// A polyline.
    Line,
    /// Dots.
    Points,
    /// Bars of this width (x units) from 0.
    Bars(f64),
    /// Large dots in the colour of the series at this index, without a legend entry (marks
    /// such as a knee on that series' line).
    Mark(usize),
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Data points (untransformed).
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
}

/// An axis: description, log scale, tick label formatter.
#[derive(Debug, Clone, Copy)]
pub struct Axis {
    /// Axis title.
    pub desc: &'static str,
    /// Plot `log10` of the values.
    pub log: bool,
    /// Formats an untransformed tick value.
    pub fmt: fn(f64) -> String,
}

/// Integers as they are, other values with two decimals.
pub(super) fn plain(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Labels whole numbers only (shard indices); other ticks stay blank.
pub(super) fn whole(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v >= 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// Compact counts: `12k`, `3M`.
pub(super) fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.0}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1.0 || a == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1e}")
    }
}

/// A "nines" axis value shown as its percentile.
pub(super) fn nines(x: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{q:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn tf(log: bool, v: f64) -> Option<f64> {
    if !log {
        return v.is_finite().then_some(v);
    }
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}

/// The plotted points of each series: `log10` of the values on a log axis,
/// dropping points an axis cannot show (not finite, or not positive on a
/// log axis).
fn plotted(x: Axis, y: Axis, series: &[Series]) -> Vec<Vec<(f64, f64)>> {
    series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(a, b)| Some((tf(x.log, a)?, tf(y.log, b)?)))
                .collect()
        })
        .collect()
}

/// The x and y ranges over every plotted point and the plotted horizontal
/// line `h` (0..1 when empty), padded by 5% of the span on each side, at
/// least 0.05 on a log axis and 0.5 on a linear one. With `bars` on a linear
/// y axis the range reaches down to 0, and is not padded below a 0 floor.
fn ranges(
    data: &[Vec<(f64, f64)>],
    h: Option<f64>,
    x: Axis,
    y: Axis,
    bars: bool,
) -> ((f64, f64), (f64, f64)) {
    let xs = data.iter().flatten().map(|p| p.0);
    let ys = data.iter().flatten().map(|p| p.1).chain(h);
    let (mut x0, mut x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (mut y0, mut y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if y0 > y1 {
        (y0, y1) = (0.0, 1.0);
    }
    for (lo, hi, log, from_zero) in [
        (&mut x0, &mut x1, x.log, false),
        (&mut y0, &mut y1, y.log, bars),
    ] {
        if from_zero && !log {
            *lo = lo.min(0.0);
        }
        let pad = ((*hi - *lo) * 0.05).max(if log { 0.05 } else { 0.5 });
        if !(from_zero && *lo == 0.0) {
            *lo -= pad;
        }
        *hi += pad;
    }
    ((x0, x1), (y0, y1))
}

/// A chart on linear f64 axes drawing into an SVG string.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draw each series' plotted points (`data`, in series order) in the
/// palette colour of its index, with a legend entry; a [`Style::Mark`]
/// series takes the colour of the series it marks and has no legend entry.
fn draw_series(
    ch: &mut Chart<'_, '_>,
    series: &[Series],
    data: &[Vec<(f64, f64)>],
) -> anyhow::Result<()> {
    for (i, (s, pts)) in series.iter().zip(data).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let legend =
            move |(a, b): (i32, i32)| Rectangle::new([(a, b - 4), (a + 14, b + 4)], color.filled());
        match s.style {
            Style::Line => ch
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(s.label.clone())
                .legend(legend),
            Style::Points => ch
                .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                .map_err(err)?
                .label(s.label.clone())
                .legend(legend),
            Style::Mark(of) => {
                let c = Palette99::pick(of).to_rgba();
                ch.draw_series(pts.iter().map(|&p| Circle::new(p, 6, c.filled())))
                    .map_err(err)?;
                continue;
            }
            Style::Bars(w) => ch
                .draw_series(pts.iter().map(|&(a, b)| {
                    Rectangle::new([(a - w / 2.0, 0.0), (a + w / 2.0, b)], color.filled())
                }))
                .map_err(err)?
                .label(s.label.clone())
                .legend(legend),
        };
    }
    Ok(())
}

/// Draw one chart; `hline` is a labelled horizontal line at an untransformed y.
pub fn chart(
    title: &str,
    x: Axis,
    y: Axis,
    series: &[Series],
    hline: Option<(f64, String)>,
) -> anyhow::Result<String> {
    let data = plotted(x, y, series);
    let h = hline.as_ref().and_then(|(v, _)| tf(y.log, *v));
    let bars = series.iter().any(|s| matches!(s.style, Style::Bars(_)));
    let ((x0, x1), (y0, y1)) = ranges(&data, h, x, y, bars);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut ch = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let (xl, yl) = (x.log, y.log);
        let fx = move |v: &f64| (x.fmt)(if xl { 10f64.powf(*v) } else { *v });
        let fy = move |v: &f64| (y.fmt)(if yl { 10f64.powf(*v) } else { *v });
        ch.configure_mesh()
            .x_desc(x.desc)
            .y_desc(y.desc)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(err)?;
        draw_series(&mut ch, series, &data)?;
        if let (Some(v), Some((_, label))) = (h, &hline) {
            ch.draw_series(LineSeries::new(vec![(x0, v), (x1, v)], RED.stroke_width(2)))
                .map_err(err)?
                .label(label.clone())
                .legend(|(a, b)| PathElement::new(vec![(a, b), (a + 14, b)], RED.stroke_width(2)));
        }
        ch.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
