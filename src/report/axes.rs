//! The vocabulary of the report's charts, shared by the chart core
//! ([`super::chart`]), its legend and the panel grid: how a series is drawn
//! ([`Style`], [`Series`]), an axis ([`Axis`]) and the tick formatters in
//! human units (counts, bytes, milliseconds, percentiles).

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// An SVG drawing area.
pub(super) type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

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

/// Bytes in human units: `512 B`, `12 KB`, `3.5 GB` (powers of 1000).
pub(super) fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut x = v;
    let mut unit = 0;
    while x.abs() >= 1000.0 && unit + 1 < UNITS.len() {
        x /= 1000.0;
        unit += 1;
    }
    let digits = if x == x.round() || x.abs() >= 100.0 {
        0
    } else {
        1
    };
    format!("{x:.digits$} {}", UNITS[unit])
}

/// At most two decimals, trailing zeros dropped: `1.5`, `12`, `0.25`.
fn compact(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Milliseconds in human units: `250 µs`, `12 ms`, `1.5 s`.
pub(super) fn millis(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{} s", compact(v / 1000.0))
    } else if v.abs() >= 1.0 || v == 0.0 {
        format!("{} ms", compact(v))
    } else {
        format!("{:.0} µs", v * 1000.0)
    }
}

/// A "nines" axis value shown as its percentile.
pub(super) fn nines(x: f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    let s = format!("{q:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `v` as plotted: `log10(v)` on a log axis; `None` for what the axis cannot show.
pub(super) fn tf(log: bool, v: f64) -> Option<f64> {
    if !log {
        return v.is_finite().then_some(v);
    }
    (v > 0.0 && v.is_finite()).then(|| v.log10())
}

/// A plotters error as an `anyhow` error.
pub(super) fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plot: {e}")
}
