//! Run statistics: one latency histogram per op kind, error and drop counts, a per-second time
//! series, and the feed-freshness histogram.
//!
//! Latencies are microseconds, recorded with 3 significant figures over 1 µs – 1 h (values
//! outside are clamped). The per-second series buckets an op by its *intended* start second;
//! each (second, kind) cell keeps a small 2-significant-figure histogram until the run has moved
//! [`SERIES_WINDOW_SECS`] past it, then is frozen to its count and p99 (later completions still
//! add to its counts, not its p99), which bounds memory on long runs.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::latency::LatencyRecord;
use crate::ops::OpKind;

/// Seconds after which a per-second cell is frozen.
pub const SERIES_WINDOW_SECS: u64 = 120;
/// Largest recordable latency in µs (one hour).
const MAX_US: u64 = 3_600_000_000;

fn new_histogram(sigfig: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, sigfig).expect("static histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(MAX_US)) as u64).max(1)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1_000.0
    }
}

/// The error code of the service's refusal under overload (503 with
/// `Retry-After`): counted as shed, apart from errors and drops.
pub const SHED_CODE: &str = "http_503";

/// Everything measured for one op kind.
#[derive(Debug, Clone)]
pub struct KindStats {
    /// Latency of successful ops in µs, measured from the intended start.
    pub latency: Histogram<u64>,
    /// Failed ops by error code.
    pub errors: BTreeMap<String, u64>,
    /// Ops that could not start because `max_in_flight` ops were running.
    pub dropped: u64,
    /// Ops the service refused under overload ([`SHED_CODE`]); not errors.
    pub shed: u64,
    /// Failed and shed ops by reason (the service's own error code, else the driver's).
    pub failures: BTreeMap<String, u64>,
}

impl KindStats {
    fn new() -> Self {
        Self {
            latency: new_histogram(3),
            errors: BTreeMap::new(),
            dropped: 0,
            shed: 0,
            failures: BTreeMap::new(),
        }
    }

    /// Successful ops.
    pub fn count(&self) -> u64 {
        self.latency.len()
    }

    /// Failed ops, all codes.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Feed freshness: time from an upload's acknowledgement until a follower's feed shows it.
#[derive(Debug, Clone)]
pub struct FreshnessStats {
    /// Ack → visible, µs (resolution: the probe's poll interval).
    pub latency: Histogram<u64>,
    /// Uploads probed.
    pub probed: u64,
    /// Probes that gave up at the timeout.
    pub timeouts: u64,
    /// Probe calls that failed (other than "unsupported").
    pub probe_errors: u64,
    /// Probes abandoned because the target does not support probing.
    pub unsupported: u64,
}

/// The summary.json `fanout.freshness_*` fields and counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FreshnessSummary {
    /// Uploads probed.
    pub probed: u64,
    /// Probes that saw the photo.
    pub visible: u64,
    /// Probes that timed out.
    pub timeouts: u64,
    /// Median ack → visible, ms.
    pub freshness_p50_ms: f64,
    /// 99th percentile ack → visible, ms.
    pub freshness_p99_ms: f64,
}

/// One (second, kind) point of the time series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SecondPoint {
    /// Second of the run (by intended start).
    pub second: u64,
    /// Op kind.
    pub kind: OpKind,
    /// Successful ops.
    pub count: u64,
    /// Failed ops.
    pub errors: u64,
    /// Dropped ops.
    pub dropped: u64,
    /// Ops the service refused under overload.
    pub shed: u64,
    /// p50 latency of the successful ops of this second, ms.
    pub p50_ms: f64,
    /// p99 latency of the successful ops of this second, ms.
    pub p99_ms: f64,
}

/// Feed freshness of the probed uploads intended in one second of the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FreshPoint {
    /// Second of the run (by the upload's intended start).
    pub second: u64,
    /// Probes of that second's uploads that saw their upload.
    pub visible: u64,
    /// p99 of their ack → visible delay, ms (frozen with the second's cells; later probes
    /// add to `visible` only).
    pub p99_ms: f64,
}

/// The result of a driver run.
#[derive(Debug, Clone)]
pub struct RunStats {
    /// Run duration used for rates.
    pub duration: Duration,
    kinds: Vec<KindStats>,
    /// Feed freshness measurements.
    pub freshness: FreshnessStats,
    series: Vec<SecondPoint>,
    fresh_series: Vec<FreshPoint>,
    /// Per-op-kind interval logs of the latencies (`.hlog`, see [`crate::hlog`]).
    pub logs: crate::hlog::IntervalLogs,
}

impl RunStats {
    /// Statistics of one kind.
    pub fn kind(&self, kind: OpKind) -> &KindStats {
        &self.kinds[kind.index()]
    }

    /// The `summary.json` record of one kind: counts, rate, latency and its curve at
    /// [`crate::PERCENTILES`], and the failures by error code.
    pub fn summary(&self, kind: OpKind) -> LatencyRecord {
        let k = self.kind(kind);
        let h = &k.latency;
        let secs = self.duration.as_secs_f64();
        let max = if h.is_empty() {
            0.0
        } else {
            h.max() as f64 / 1_000.0
        };
        LatencyRecord {
            errors: k.error_count(),
            dropped: k.dropped,
            shed: k.shed,
            rate_per_s: if secs > 0.0 {
                k.count() as f64 / secs
            } else {
                0.0
            },
            error_codes: k.errors.clone(),
            failure_codes: k.failures.clone(),
            ..LatencyRecord::of_quantiles(k.count(), h.mean() / 1_000.0, max, |q| ms(h, q))
        }
    }

    /// Summaries of all kinds, keyed by [`OpKind::name`] (the summary.json `ops` object).
    pub fn ops_summary(&self) -> BTreeMap<&'static str, LatencyRecord> {
        OpKind::ALL
            .iter()
            .map(|&k| (k.name(), self.summary(k)))
            .collect()
    }

    /// Freshness summary.
    pub fn freshness_summary(&self) -> FreshnessSummary {
        let f = &self.freshness;
        FreshnessSummary {
            probed: f.probed,
            visible: f.latency.len(),
            timeouts: f.timeouts,
            freshness_p50_ms: ms(&f.latency, 0.5),
            freshness_p99_ms: ms(&f.latency, 0.99),
        }
    }

    /// The per-second series, ordered by second then kind.
    pub fn series(&self) -> &[SecondPoint] {
        &self.series
    }

    /// Freshness per second (seconds with a visible probe only), ordered by second.
    pub fn freshness_series(&self) -> &[FreshPoint] {
        &self.fresh_series
    }
}

#[derive(Debug, Clone, Copy)]
enum Update {
    Ok(u64),
    Error,
    Dropped,
    Shed,
}

#[derive(Debug)]
struct Cell {
    hist: Histogram<u64>,
    errors: u64,
    dropped: u64,
    shed: u64,
}

/// Mutable accumulator behind the driver's lock.
#[derive(Debug)]
pub(crate) struct Collector {
    kinds: Vec<KindStats>,
    freshness: FreshnessStats,
    open: BTreeMap<(u64, usize), Cell>,
    closed: BTreeMap<(u64, usize), SecondPoint>,
    fresh_open: BTreeMap<u64, Histogram<u64>>,
    fresh_closed: BTreeMap<u64, FreshPoint>,
    logs: crate::hlog::IntervalLogs,
}

impl Collector {
    pub(crate) fn new() -> Self {
        Self {
            kinds: OpKind::ALL.iter().map(|_| KindStats::new()).collect(),
            freshness: FreshnessStats {
                latency: new_histogram(3),
                probed: 0,
                timeouts: 0,
                probe_errors: 0,
                unsupported: 0,
            },
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            fresh_open: BTreeMap::new(),
            fresh_closed: BTreeMap::new(),
            logs: crate::hlog::IntervalLogs::new(),
        }
    }

    fn point(&mut self, kind: OpKind, at: Duration, update: Update) {
        let key = (at.as_secs(), kind.index());
        if let Some(p) = self.closed.get_mut(&key) {
            match update {
                Update::Ok(_) => p.count += 1,
                Update::Error => p.errors += 1,
                Update::Dropped => p.dropped += 1,
                Update::Shed => p.shed += 1,
            }
            return;
        }
        let cell = self.open.entry(key).or_insert_with(|| Cell {
            hist: Histogram::new(2).expect("2 significant figures are valid"),
            errors: 0,
            dropped: 0,
            shed: 0,
        });
        match update {
            Update::Ok(us) => {
                let _ = cell.hist.record(us);
            }
            Update::Error => cell.errors += 1,
            Update::Dropped => cell.dropped += 1,
            Update::Shed => cell.shed += 1,
        }
    }

    pub(crate) fn ok(&mut self, kind: OpKind, at: Duration, latency: Duration) {
        let us = micros(latency);
        let _ = self.kinds[kind.index()].latency.record(us);
        self.logs.record(kind, at + latency, us);
        self.point(kind, at, Update::Ok(us));
    }

    /// A failed op with the driver's `code` and its `reason` (see [`KindStats::failures`]);
    /// [`SHED_CODE`] counts as shed, not as an error.
    pub(crate) fn error(&mut self, kind: OpKind, at: Duration, code: &str, reason: &str) {
        *self.kinds[kind.index()]
            .failures
            .entry(reason.to_string())
            .or_default() += 1;
        if code == SHED_CODE {
            self.kinds[kind.index()].shed += 1;
            self.point(kind, at, Update::Shed);
            return;
        }
        *self.kinds[kind.index()]
            .errors
            .entry(code.to_string())
            .or_default() += 1;
        self.point(kind, at, Update::Error);
    }

    pub(crate) fn dropped(&mut self, kind: OpKind, at: Duration) {
        self.kinds[kind.index()].dropped += 1;
        self.point(kind, at, Update::Dropped);
    }

    pub(crate) fn freshness(&mut self) -> &mut FreshnessStats {
        &mut self.freshness
    }

    /// A probe saw the upload intended at `at` after `latency`.
    pub(crate) fn fresh(&mut self, at: Duration, latency: Duration) {
        let us = micros(latency);
        let _ = self.freshness.latency.record(us);
        let second = at.as_secs();
        if let Some(p) = self.fresh_closed.get_mut(&second) {
            p.visible += 1;
            return;
        }
        let h = self
            .fresh_open
            .entry(second)
            .or_insert_with(|| Histogram::new(2).expect("2 significant figures are valid"));
        let _ = h.record(us);
    }

    /// Freezes the cells of seconds before `now_secs − SERIES_WINDOW_SECS`.
    pub(crate) fn compact(&mut self, now_secs: u64) {
        let limit = now_secs.saturating_sub(SERIES_WINDOW_SECS);
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 >= limit {
                break;
            }
            let ((second, k), cell) = entry.remove_entry();
            self.closed.insert((second, k), freeze(second, k, &cell));
        }
        while let Some(entry) = self.fresh_open.first_entry() {
            if *entry.key() >= limit {
                break;
            }
            let (second, h) = entry.remove_entry();
            let point = FreshPoint {
                second,
                visible: h.len(),
                p99_ms: ms(&h, 0.99),
            };
            self.fresh_closed.insert(second, point);
        }
    }

    pub(crate) fn finish(mut self, duration: Duration) -> RunStats {
        self.compact(u64::MAX);
        self.logs.close_all();
        RunStats {
            duration,
            kinds: self.kinds,
            freshness: self.freshness,
            series: self.closed.into_values().collect(),
            fresh_series: self.fresh_closed.into_values().collect(),
            logs: self.logs,
        }
    }
}

fn freeze(second: u64, k: usize, cell: &Cell) -> SecondPoint {
    SecondPoint {
        second,
        kind: OpKind::ALL[k],
        count: cell.hist.len(),
        errors: cell.errors,
        dropped: cell.dropped,
        shed: cell.shed,
        p50_ms: ms(&cell.hist, 0.50),
        p99_ms: ms(&cell.hist, 0.99),
    }
}

#[cfg(test)]
mod tests;
