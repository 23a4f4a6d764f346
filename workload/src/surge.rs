//! Read surges (flash crowds): windows of a run in which reads arrive `factor` times as fast.
//!
//! [`OpStream::with_read_surges`] returns [`Surged`], the op stream merged in time order with
//! a second, independent Poisson stream of read arrivals that exists only inside the windows,
//! at `(factor − 1)` times the stream's feed-read and photo-view rate at that time of day
//! (thinned by the same diurnal curve). Superposed Poisson streams add their rates, so reads
//! arrive `factor` times as fast in a window and at the usual rate outside it. The extra
//! arrivals draw from their own seeded generator, so the base stream is unchanged: every op
//! it would have produced comes out with the same `seq`, time and payload, and the extra ones
//! carry `seq` from [`SURGE_SEQ`] upward (the freshness probes' selection by `seq` stays as it
//! was). An extra arrival is a feed read or a photo view in proportion to their rates, by a
//! reader drawn by read propensity, like any other read.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

use crate::hash::{mix, streams};
use crate::ops::{OpKind, Payload, PlannedOp};
use crate::stream::OpStream;
use crate::traffic::DAY_SECS;

/// First `seq` of the extra arrivals of a surge.
pub const SURGE_SEQ: u64 = 1 << 62;

/// A window `[from, to)` of the run in which reads arrive `factor` (≥ 1) times as fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadSurge {
    /// Start of the window, wall time from the run's start.
    pub from: Duration,
    /// End of the window.
    pub to: Duration,
    /// Multiplier on the feed-read and photo-view rates inside the window.
    pub factor: f64,
}

/// The op stream with the extra reads of its surges; see the module docs.
#[derive(Debug, Clone)]
pub struct Surged<'a> {
    base: std::iter::Peekable<OpStream<'a>>,
    extra: ExtraReads<'a>,
    pending: Option<PlannedOp>,
}

/// The extra arrivals of the surge windows.
#[derive(Debug, Clone)]
struct ExtraReads<'a> {
    stream: OpStream<'a>,
    rng: ChaCha8Rng,
    /// `(from, to, peak extra rate per wall second)`, in time order, ends within the run.
    windows: Vec<(f64, f64, f64)>,
    /// Share of feed reads among reads.
    feed_share: f64,
    window: usize,
    t: f64,
    seq: u64,
}

impl<'a> OpStream<'a> {
    /// This stream plus the extra reads of `surges` (seeded by `seed`); windows with a factor
    /// at or below 1 add nothing. See the module docs.
    pub fn with_read_surges(self, surges: &[ReadSurge], seed: u64) -> Surged<'a> {
        let rates = self.traffic.daily_rates(self.workload.graph().population());
        let (feed, views) = (rates[OpKind::Feed.index()], rates[OpKind::PhotoGet.index()]);
        let per_wall_s = (feed + views) / DAY_SECS * self.traffic.speedup * self.diurnal.peak();
        let end = self.end;
        let mut windows: Vec<(f64, f64, f64)> = surges
            .iter()
            .filter(|s| s.factor > 1.0)
            .map(|s| {
                let to = s.to.as_secs_f64().min(end);
                (s.from.as_secs_f64(), to, (s.factor - 1.0) * per_wall_s)
            })
            .filter(|&(from, to, rate)| from < to && rate > 0.0 && rate.is_finite())
            .collect();
        windows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let extra = ExtraReads {
            stream: self.clone(),
            rng: ChaCha8Rng::seed_from_u64(mix(seed, streams::SURGE, 0)),
            windows,
            feed_share: if feed + views > 0.0 {
                feed / (feed + views)
            } else {
                1.0
            },
            window: 0,
            t: 0.0,
            seq: SURGE_SEQ,
        };
        Surged {
            base: self.peekable(),
            extra,
            pending: None,
        }
    }
}

impl ExtraReads<'_> {
    /// The time of the next kept extra arrival, or `None` after the last window.
    fn next_time(&mut self) -> Option<f64> {
        let peak = self.stream.diurnal.peak();
        loop {
            let &(from, to, rate) = self.windows.get(self.window)?;
            self.t = self.t.max(from);
            self.t += -(1.0 - self.rng.random::<f64>()).ln() / rate;
            if self.t >= to {
                self.window += 1;
                continue;
            }
            let keep = self.stream.diurnal.factor(self.stream.hour(self.t)) / peak;
            if self.rng.random::<f64>() < keep {
                return Some(self.t);
            }
        }
    }
}

impl Iterator for ExtraReads<'_> {
    type Item = PlannedOp;

    fn next(&mut self) -> Option<PlannedOp> {
        let t = self.next_time()?;
        let actors = self.stream.workload.actors();
        let user = u64::from(actors.ids()[actors.read.sample(&mut self.rng)]);
        let (kind, payload) = if self.rng.random::<f64>() < self.feed_share {
            let limit = self.stream.traffic.feed_limit;
            (OpKind::Feed, Payload::Feed { limit })
        } else {
            let pick = self.rng.random();
            (OpKind::PhotoGet, Payload::PhotoGet { pick })
        };
        let op = PlannedOp {
            seq: self.seq,
            at: Duration::from_secs_f64(t),
            kind,
            user,
            payload,
        };
        self.seq += 1;
        Some(op)
    }
}

impl Iterator for Surged<'_> {
    type Item = PlannedOp;

    fn next(&mut self) -> Option<PlannedOp> {
        if self.pending.is_none() {
            self.pending = self.extra.next();
        }
        let extra_first = match (self.base.peek(), &self.pending) {
            (Some(b), Some(e)) => e.at < b.at,
            (None, pending) => pending.is_some(),
            (Some(_), None) => false,
        };
        if extra_first {
            self.pending.take()
        } else {
            self.base.next()
        }
    }
}

#[cfg(test)]
mod tests;
