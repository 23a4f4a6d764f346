//! The chart core behind the report's plots: one [`chart`] call draws line,
//! point or bar series on linear or log axes into a standalone SVG string
//! (plotters' SVG backend, no fonts needed: text becomes `<text>` elements),
//! with its legend in a column to the right of the data
//! ([`super::legend`]), so no entry hides a point. [`super::panels`] draws
//! a grid of such frames sharing one legend.
//!
//! Log axes are drawn by plotting `log10` of the values on linear axes and
//! labelling ticks with the original values; the latency curves use the
//! "nines" scale `x = −log10(1 − q)`, so p50, p90, p99 and p99.9 are evenly
//! spaced.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::axes::{Area, Axis, Series, Style, err, tf};
use super::legend;

/// Width of the data frame of a chart, px.
pub(super) const FRAME_W: u32 = 760;
/// Height of a chart, px.
pub(super) const FRAME_H: u32 = 420;

/// The plotted points of each series: `log10` of the values on a log axis,
/// dropping points an axis cannot show (not finite, or not positive on a
/// log axis).
pub(super) fn plotted(x: Axis, y: Axis, series: &[Series]) -> Vec<Vec<(f64, f64)>> {
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
pub(super) fn ranges(
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

/// A linear f64 coordinate whose ticks are given, not chosen by plotters.
struct Coord {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ranged for Coord {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// A chart on linear f64 axes drawing into an SVG string.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Coord, Coord>>;

/// Ticks of a log axis over plotted `lo..hi`: 1, 2 and 5 of each decade,
/// or only the decades when that would be more than a dozen ticks.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let decades = (lo.floor() as i32)..=(hi.ceil() as i32);
    let steps: &[f64] = if hi - lo > 4.0 {
        &[0.0]
    } else {
        &[0.0, std::f64::consts::LOG10_2, 0.698_970_004_336_018_8]
    };
    decades
        .flat_map(|d| steps.iter().map(move |s| f64::from(d) + s))
        .filter(|v| (lo..=hi).contains(v))
        .collect()
}

/// The coordinate `lo..hi` of `axis` with ticks at `ticks` (plotted
/// values) inside it; else 1-2-5 per decade on a log axis, and plotters'
/// own choice of about ten on a linear one.
fn coord(lo: f64, hi: f64, axis: Axis, ticks: Option<&[f64]>) -> Coord {
    let linear: RangedCoordf64 = (lo..hi).into();
    let ticks = match ticks {
        Some(t) => t
            .iter()
            .copied()
            .filter(|v| (lo..=hi).contains(v))
            .collect(),
        None if axis.log => log_ticks(lo, hi),
        None => linear.key_points(10usize),
    };
    Coord { linear, ticks }
}

/// One data frame: its caption, axes, series and optional horizontal line.
pub(super) struct Frame<'s> {
    /// Caption above the frame.
    pub title: &'s str,
    /// x axis.
    pub x: Axis,
    /// y axis.
    pub y: Axis,
    /// Tick positions on the x axis (untransformed), or automatic.
    pub x_ticks: Option<&'s [f64]>,
    /// The series, coloured by index.
    pub series: &'s [Series],
    /// A labelled horizontal line at an untransformed y.
    pub hline: Option<&'s (f64, String)>,
    /// x spans (untransformed) shaded behind the data across the whole frame.
    pub shade: &'s [(f64, f64)],
}

/// The colour of a shaded span ([`Frame::shade`]) and of its legend key.
pub(super) fn shade_colour() -> RGBAColor {
    RGBColor(255, 170, 60).mix(0.25)
}

/// Draw each series' plotted points (`data`, in series order) in the
/// palette colour of its index; a [`Style::Mark`] series takes the colour
/// of the series it marks. The legend is drawn apart ([`legend::draw`]).
fn draw_series(
    ch: &mut Chart<'_, '_>,
    series: &[Series],
    data: &[Vec<(f64, f64)>],
) -> anyhow::Result<()> {
    for (i, (s, pts)) in series.iter().zip(data).enumerate() {
        let color = Palette99::pick(i).to_rgba();
        match s.style {
            Style::Line => ch
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?,
            Style::Points => ch
                .draw_series(pts.iter().map(|&p| Circle::new(p, 2, color.filled())))
                .map_err(err)?,
            Style::Mark(of) => {
                let c = Palette99::pick(of).to_rgba();
                ch.draw_series(pts.iter().map(|&p| Circle::new(p, 6, c.filled())))
                    .map_err(err)?
            }
            Style::Bars(w) => ch
                .draw_series(pts.iter().map(|&(a, b)| {
                    Rectangle::new([(a - w / 2.0, 0.0), (a + w / 2.0, b)], color.filled())
                }))
                .map_err(err)?,
        };
    }
    Ok(())
}

/// Draw `f` into `area`: caption, mesh with the axes' tick labels, the
/// series and the horizontal line.
pub(super) fn draw_frame(area: &Area<'_>, f: &Frame<'_>) -> anyhow::Result<()> {
    let (x, y) = (f.x, f.y);
    let data = plotted(x, y, f.series);
    let h = f.hline.and_then(|(v, _)| tf(y.log, *v));
    let bars = f.series.iter().any(|s| matches!(s.style, Style::Bars(_)));
    let ((x0, x1), (y0, y1)) = ranges(&data, h, x, y, bars);
    let ticks: Option<Vec<f64>> = f
        .x_ticks
        .map(|t| t.iter().filter_map(|v| tf(x.log, *v)).collect());
    let mut ch = ChartBuilder::on(area)
        .caption(f.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(coord(x0, x1, x, ticks.as_deref()), coord(y0, y1, y, None))
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
    let spans = f.shade.iter().filter_map(|&(a, b)| {
        let (a, b) = (tf(x.log, a)?.max(x0), tf(x.log, b)?.min(x1));
        (a < b).then(|| Rectangle::new([(a, y0), (b, y1)], shade_colour().filled()))
    });
    if !f.shade.is_empty() {
        ch.draw_series(spans).map_err(err)?;
    }
    draw_series(&mut ch, f.series, &data)?;
    if let Some(v) = h {
        ch.draw_series(LineSeries::new(vec![(x0, v), (x1, v)], RED.stroke_width(2)))
            .map_err(err)?;
    }
    Ok(())
}

/// Draw one chart with its legend to the right of the data; `hline` is a
/// labelled horizontal line at an untransformed y.
pub fn chart(
    title: &str,
    x: Axis,
    y: Axis,
    series: &[Series],
    hline: Option<(f64, String)>,
) -> anyhow::Result<String> {
    shaded_chart(title, (x, y), series, hline, None)
}

/// [`chart`] with the x spans of `shade` shaded behind the data and named by its label in
/// the legend.
pub fn shaded_chart(
    title: &str,
    (x, y): (Axis, Axis),
    series: &[Series],
    hline: Option<(f64, String)>,
    shade: Option<(&[(f64, f64)], &str)>,
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let size = (FRAME_W + legend::WIDTH, FRAME_H);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(FRAME_W);
        let frame = Frame {
            title,
            x,
            y,
            x_ticks: None,
            series,
            hline: hline.as_ref(),
            shade: shade.map_or(&[], |(s, _)| s),
        };
        draw_frame(&plot, &frame)?;
        let mut keys = legend::entries(series, hline.as_ref());
        if let Some((_, label)) = shade {
            keys.push(legend::Entry {
                label: label.to_string(),
                key: legend::Key::Fill(shade_colour()),
            });
        }
        legend::draw(&side, &keys, 40)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
