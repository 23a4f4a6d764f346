//! HdrHistogram interval logs (`.hlog`) of op latencies, in the format of the Java
//! `HistogramLogWriter` that HistogramLogAnalyzer and `HistogramLogProcessor` read.
//!
//! A log holds one histogram per [`INTERVAL`] of *completion* time (the HdrHistogram convention:
//! an interval holds what was measured during it), each with the latencies in µs from the
//! intended start (3 significant figures over 1 µs – 1 h, the bounds of [`crate::KindStats`]).
//! An op that completes while the next interval is already open is counted in the open one.
//! Headers: a format-version comment, a comment naming the unit, `StartTime` and `BaseTime`
//! (both the driver's start, seconds since the epoch), then the legend line. Interval timestamps
//! are seconds since `BaseTime`; `Interval_Max` is in µs like the values (tools that assume
//! nanoseconds need a unit ratio of 1000 to show ms). Histograms are encoded V2 with deflate
//! (`HISTFAAA…`). Seconds without a completion have no line.
//!
//! [`IntervalLogs`] encodes each interval when it closes, so a run keeps one open histogram per
//! op kind plus one text line (a few hundred bytes) per closed interval.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

use crate::error::{Error, Result};
use crate::ops::OpKind;

/// Length of one interval of a run's logs.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Largest recordable latency in µs (one hour), as in the run statistics.
const MAX_US: u64 = 3_600_000_000;

/// An empty latency histogram with the bounds and precision of every log (µs, 3 figures).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 3).expect("static histogram bounds are valid")
}

fn hlog_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Hlog(format!("{what}: {e}"))
}

/// One interval histogram: its start (since the log's base time) and length.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Start, relative to [`HistogramLog::base`].
    pub start: Duration,
    /// Length.
    pub length: Duration,
    /// Latencies in µs.
    pub histogram: Histogram<u64>,
}

/// A parsed interval log.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramLog {
    /// `StartTime`, else `BaseTime`, else the epoch.
    pub start: SystemTime,
    /// The time interval starts are relative to (`BaseTime`, else the epoch).
    pub base: SystemTime,
    /// The intervals in file order.
    pub intervals: Vec<Interval>,
}

impl HistogramLog {
    /// All intervals added into one histogram (µs, 3 significant figures).
    pub fn total(&self) -> Result<Histogram<u64>> {
        let mut total = latency_histogram();
        for i in &self.intervals {
            total
                .add(&i.histogram)
                .map_err(|e| hlog_error("adding intervals", format!("{e:?}")))?;
        }
        Ok(total)
    }

    /// Writes the log with its `StartTime` and `BaseTime` headers (see the module docs).
    pub fn write(&self, w: &mut impl Write) -> Result<()> {
        let mut body = Vec::new();
        for i in &self.intervals {
            encode_interval(&mut body, i.start, i.length, &i.histogram)?;
        }
        write_headers(w, self.start, self.base)?;
        w.write_all(&body)?;
        Ok(())
    }
}

/// Writes the headers of a log.
fn write_headers(w: &mut impl Write, start: SystemTime, base: SystemTime) -> Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    IntervalLogWriterBuilder::new()
        .add_comment("[Histogram log format version 1.3]")
        .add_comment("[latencies in microseconds from the intended start]")
        .with_start_time(start)
        .with_base_time(base)
        .begin_log_with(w, &mut serializer)?;
    writeln!(
        w,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    )?;
    Ok(())
}

/// Appends one interval line (no headers) to `out`.
fn encode_interval(
    out: &mut Vec<u8>,
    start: Duration,
    length: Duration,
    h: &Histogram<u64>,
) -> Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    IntervalLogWriterBuilder::new()
        .begin_log_with(out, &mut serializer)?
        .write_histogram(h, start, length, None)
        .map_err(|e| hlog_error("encoding an interval", e))
}

/// Parses an interval log; each interval's histogram is decoded.
pub fn read_log(bytes: &[u8]) -> Result<HistogramLog> {
    let (mut start, mut base) = (None, None);
    let mut intervals = Vec::new();
    let mut decoder = Deserializer::new();
    for entry in IntervalLogIterator::new(bytes) {
        match entry.map_err(|e| hlog_error("parsing", format!("{e:?}")))? {
            LogEntry::StartTime(t) => start = Some(UNIX_EPOCH + t),
            LogEntry::BaseTime(t) => base = Some(UNIX_EPOCH + t),
            LogEntry::Interval(i) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(i.encoded_histogram())
                    .map_err(|e| hlog_error("decoding base64", e))?;
                let histogram: Histogram<u64> = decoder
                    .deserialize(&mut raw.as_slice())
                    .map_err(|e| hlog_error("decoding a histogram", format!("{e:?}")))?;
                intervals.push(Interval {
                    start: i.start_timestamp(),
                    length: i.duration(),
                    histogram,
                });
            }
        }
    }
    let base = base.unwrap_or(UNIX_EPOCH);
    Ok(HistogramLog {
        start: start.unwrap_or(base),
        base,
        intervals,
    })
}

/// The open interval of one op kind and the lines of the closed ones.
#[derive(Debug, Clone)]
struct KindLog {
    open: Option<u64>,
    histogram: Histogram<u64>,
    lines: Vec<u8>,
}

/// The interval logs of a run, one per op kind, filled as ops complete.
#[derive(Debug, Clone)]
pub struct IntervalLogs {
    start: SystemTime,
    kinds: Vec<KindLog>,
    failed: Option<String>,
}

impl IntervalLogs {
    /// Empty logs of a run that starts now.
    pub(crate) fn new() -> Self {
        let kind = KindLog {
            open: None,
            histogram: latency_histogram(),
            lines: Vec::new(),
        };
        Self {
            start: SystemTime::now(),
            kinds: vec![kind; OpKind::COUNT],
            failed: None,
        }
    }

    /// Records a latency of `us` of an op of `kind` that completed `completed` after the start.
    pub(crate) fn record(&mut self, kind: OpKind, completed: Duration, us: u64) {
        let second = completed.as_secs() / INTERVAL.as_secs();
        let k = kind.index();
        if self.kinds[k].open.is_some_and(|open| second > open) {
            self.close(k);
        }
        let log = &mut self.kinds[k];
        log.open.get_or_insert(second);
        let _ = log.histogram.record(us.clamp(1, MAX_US));
    }

    fn close(&mut self, k: usize) {
        let log = &mut self.kinds[k];
        let Some(open) = log.open.take() else { return };
        let start = INTERVAL * u32::try_from(open).unwrap_or(u32::MAX);
        if let Err(e) = encode_interval(&mut log.lines, start, INTERVAL, &log.histogram) {
            self.failed.get_or_insert(e.to_string());
        }
        log.histogram.reset();
    }

    /// Closes every open interval (at the end of the run).
    pub(crate) fn close_all(&mut self) {
        for k in 0..self.kinds.len() {
            self.close(k);
        }
    }

    /// When the run started (the logs' `StartTime` and `BaseTime`).
    pub fn start(&self) -> SystemTime {
        self.start
    }

    /// Whether `kind` has no interval (no op of it succeeded).
    pub fn is_empty(&self, kind: OpKind) -> bool {
        let log = &self.kinds[kind.index()];
        log.lines.is_empty() && log.open.is_none()
    }

    /// Writes the log of `kind` (closed intervals only; see [`IntervalLogs::close_all`]).
    /// Fails if an interval could not be encoded during the run.
    pub fn write(&self, kind: OpKind, w: &mut impl Write) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(Error::Hlog(e.clone()));
        }
        write_headers(w, self.start, self.start)?;
        w.write_all(&self.kinds[kind.index()].lines)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_log_reads_back_as_the_same_intervals() {
        let mut logs = IntervalLogs::new();
        let mut whole = latency_histogram();
        for i in 0..5_000u64 {
            let us = 100 + (i * 7_919) % 250_000;
            let completed = Duration::from_micros(i * 1_000 + us);
            logs.record(OpKind::Feed, completed, us);
            whole.record(us).expect("in range");
        }
        logs.close_all();
        assert!(logs.is_empty(OpKind::Upload));
        let mut text = Vec::new();
        logs.write(OpKind::Feed, &mut text).expect("write");
        let text = String::from_utf8(text).expect("utf-8");
        assert_eq!(text.matches("#[StartTime: ").count(), 1, "{text}");
        assert_eq!(
            text.lines().filter(|l| l.starts_with('#')).count(),
            4,
            "{text}"
        );
        assert!(text.contains("#[BaseTime: "), "{text}");
        assert!(text.contains("\n0.000,1.000,"), "{text}");
        assert!(text.contains(",HISTFAAA"), "deflate V2: {text}");

        let log = read_log(text.as_bytes()).expect("read");
        assert_eq!(log.base, log.start);
        let secs = (log.start.duration_since(UNIX_EPOCH).expect("after epoch")).as_secs_f64();
        let wrote = logs.start().duration_since(UNIX_EPOCH).expect("e");
        assert!((secs - wrote.as_secs_f64()).abs() < 0.001);
        assert_eq!(log.intervals.len(), 6, "5.25 s of completions");
        assert!(
            log.intervals
                .windows(2)
                .all(|w| w[1].start == w[0].start + INTERVAL)
        );
        let total = log.total().expect("total");
        assert_eq!(total, whole);
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(total.value_at_quantile(q), whole.value_at_quantile(q));
        }
        let mut again = Vec::new();
        log.write(&mut again).expect("rewrite");
        assert_eq!(read_log(&again).expect("reread"), log);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read_log(b"0.000,1.000,2.0,notbase64!\n").is_err());
        assert!(read_log(b"no log here\n").is_err());
    }
}
