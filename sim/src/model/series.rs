//! Per-second series of a photo-model run, on the simulated clock: per op kind and second of
//! intended start, the ops that completed (their p50 and p99), failed, were shed or dropped,
//! as a live run's driver keeps them ([`SecondPoint`]); and per second, the freshness of the
//! uploads acknowledged then and the largest fan-out backlog (timeline entries queued and not
//! yet handed to a materializer worker) seen then ([`FreshPoint`]).
//!
//! A (second, kind) cell keeps a 2-significant-figure histogram until the model clock is
//! [`OPEN_SECS`] past it, then is frozen to its counts and percentiles (later completions add
//! to its counts only), which bounds memory on long runs.

use std::collections::BTreeMap;

use feedlab_workload::{OpKind, SecondPoint};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::{NANOS_PER_SEC, SimTime};

/// Model seconds after which a cell is frozen.
pub const OPEN_SECS: u64 = 120;
/// Largest recordable delay, µs (an hour; longer ones count as an hour).
const MAX_US: u64 = 3_600_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 2).expect("static histogram bounds are valid")
}

/// One second of the freshness series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FreshPoint {
    /// Second of the run (of the upload's acknowledgement).
    pub second: u64,
    /// Uploads acknowledged then whose fan-out finished.
    pub count: u64,
    /// Median freshness of those uploads, ms.
    pub p50_ms: f64,
    /// 99th percentile freshness, ms.
    pub p99_ms: f64,
    /// Largest fan-out backlog seen during the second, timeline entries.
    pub backlog: u64,
}

#[derive(Debug)]
struct Cell {
    hist: Histogram<u64>,
    errors: u64,
    dropped: u64,
    shed: u64,
}

impl Cell {
    fn new() -> Cell {
        Cell {
            hist: histogram(),
            errors: 0,
            dropped: 0,
            shed: 0,
        }
    }
}

/// How one op ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Completed after this many ns.
    Ok(SimTime),
    /// Failed (a stopped blob store).
    Error,
    /// Refused (a down shard: 503 `unavailable`).
    Shed,
    /// Not admitted (a full backlog).
    Dropped,
}

/// The run's per-second series; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct Series {
    open: BTreeMap<(u64, usize), Cell>,
    closed: BTreeMap<(u64, usize), SecondPoint>,
    fresh: BTreeMap<u64, Histogram<u64>>,
    backlog: Vec<u64>,
    level: u64,
    level_since: u64,
    compacted: u64,
}

fn second(t: SimTime) -> u64 {
    t / NANOS_PER_SEC
}

fn micros(d: SimTime) -> u64 {
    (d / 1_000).clamp(1, MAX_US)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1_000.0
    }
}

impl Series {
    /// An op of `kind` that was due at `t0` ended as `outcome`; the clock reads `now`.
    pub fn op(&mut self, kind: OpKind, t0: SimTime, now: SimTime, outcome: Outcome) {
        self.compact(second(now));
        let key = (second(t0), kind.index());
        if let Some(p) = self.closed.get_mut(&key) {
            match outcome {
                Outcome::Ok(_) => p.count += 1,
                Outcome::Error => p.errors += 1,
                Outcome::Shed => p.shed += 1,
                Outcome::Dropped => p.dropped += 1,
            }
            return;
        }
        let cell = self.open.entry(key).or_insert_with(Cell::new);
        match outcome {
            Outcome::Ok(d) => cell.hist.saturating_record(micros(d)),
            Outcome::Error => cell.errors += 1,
            Outcome::Shed => cell.shed += 1,
            Outcome::Dropped => cell.dropped += 1,
        }
    }

    /// An upload acknowledged at `ack` had its fan-out done at `now`.
    pub fn fresh(&mut self, ack: SimTime, now: SimTime) {
        let h = self.fresh.entry(second(ack)).or_insert_with(histogram);
        h.saturating_record(micros(now.saturating_sub(ack)));
    }

    /// The fan-out backlog is `level` entries from `now` on.
    pub fn backlog(&mut self, now: SimTime, level: u64) {
        let s = second(now) as usize;
        if self.backlog.len() <= s {
            // Seconds without a change held the previous level throughout.
            let held = self.level;
            self.backlog.resize(s + 1, held);
            let from = (self.level_since as usize).min(s);
            for b in &mut self.backlog[from..=s] {
                *b = (*b).max(held);
            }
        }
        self.backlog[s] = self.backlog[s].max(level);
        self.level = level;
        self.level_since = s as u64;
    }

    fn compact(&mut self, now_s: u64) {
        if now_s <= self.compacted {
            return;
        }
        self.compacted = now_s;
        let limit = now_s.saturating_sub(OPEN_SECS);
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 >= limit {
                break;
            }
            let ((s, k), cell) = entry.remove_entry();
            self.closed.insert((s, k), freeze(s, k, &cell));
        }
    }

    /// Every (second, kind) point, by second then kind.
    pub fn points(&self) -> Vec<SecondPoint> {
        let mut all = self.closed.clone();
        for (&(s, k), cell) in &self.open {
            all.insert((s, k), freeze(s, k, cell));
        }
        all.into_values().collect()
    }

    /// One freshness point per second from 0 to the last second with an upload or a backlog.
    pub fn freshness(&self) -> Vec<FreshPoint> {
        let last = self
            .fresh
            .keys()
            .next_back()
            .map_or(0, |&s| s + 1)
            .max(self.backlog.len() as u64);
        (0..last)
            .map(|s| {
                let h = self.fresh.get(&s);
                FreshPoint {
                    second: s,
                    count: h.map_or(0, |h| h.len()),
                    p50_ms: h.map_or(0.0, |h| ms(h, 0.5)),
                    p99_ms: h.map_or(0.0, |h| ms(h, 0.99)),
                    backlog: self.backlog.get(s as usize).copied().unwrap_or(self.level),
                }
            })
            .collect()
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
