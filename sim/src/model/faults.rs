//! Fault windows in the photo model, on the simulated clock (seconds of the op stream, the
//! clock of a live run's per-second series).
//!
//! A [`FaultWindow`] is an [`Effect`] open over `[at_s, at_s + for_s)`. What each does:
//! - [`Effect::SlowShard`]: every metadata call sent to the shard (a request's or the
//!   materializer's) takes `extra_ms` more: a wait that uses no CPU but holds the shard
//!   worker running the call, as the live service's sleep holds one of the shard's admission
//!   slots (`shard-concurrency`), so a slow shard can queue (a durable write's extra delay
//!   precedes its arrival instead, since its wait is its disk I/O);
//! - [`Effect::ShardDown`]: a request step that needs the shard fails at once and the op
//!   counts as shed (the live service answers 503 `unavailable`); a materializer job for the
//!   shard waits for the window's end, holding its worker (it retries until the shard is back);
//! - [`Effect::MaterializerPause`]: queued fan-out jobs do not start; the queue drains after;
//! - [`Effect::BlobStop`]: a step that needs the blob store fails at once (photo reads and
//!   uploads count as errors);
//! - [`Effect::BlobReplica`]: every photo read pays one more blob read (the fallback to the
//!   other replica after a missing or corrupt one); the repair's own writes are not modelled;
//! - [`Effect::CelebrityBurst`]: from `at_s` the most-followed author posts `photos` photos
//!   through the normal upload flow and fan-out, [`BURST_AT_ONCE`] at a time, each next one
//!   when one ends, as the live harness posts them; like the live burst's, these uploads are
//!   not driver ops (not in the op counts, the series or freshness) but their timeline writes
//!   count;
//! - [`Effect::FlashCrowd`]: feed reads and photo views arrive `factor` times as fast: the
//!   op stream carries the extra arrivals (`feedlab_workload::Surged`, the stream a live run
//!   drives, so one seed gives both the same arrivals);
//! - [`Effect::Network`]: every network hop sent during the window takes `extra_ms` more.
//!
//! Whether an effect applies is decided when the call or op is sent (`now`), never later.

use crate::engine::{SimTime, from_millis, from_secs};

/// Uploads of a celebrity burst in flight at once: each next one is posted when one ends.
pub const BURST_AT_ONCE: u32 = 16;
use crate::error::{Result, invalid};

/// What a fault window does; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Calls on `shard` take `extra_ms` more.
    SlowShard {
        /// The shard.
        shard: usize,
        /// Extra delay per call, ms.
        extra_ms: f64,
    },
    /// Calls on `shard` fail.
    ShardDown {
        /// The shard.
        shard: usize,
    },
    /// The materializer starts nothing.
    MaterializerPause,
    /// The blob store answers nothing.
    BlobStop,
    /// One replica is missing or corrupt: each photo read pays a fallback read.
    BlobReplica,
    /// The most-followed author posts `photos` photos.
    CelebrityBurst {
        /// Photos posted.
        photos: u32,
    },
    /// Read arrivals are multiplied by `factor` (> 1).
    FlashCrowd {
        /// The multiplier.
        factor: f64,
    },
    /// Every hop takes `extra_ms` more.
    Network {
        /// Extra delay per hop, ms.
        extra_ms: f64,
    },
}

/// One fault window: `effect` over `[at_s, at_s + for_s)` of model time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultWindow {
    /// What it does.
    pub effect: Effect,
    /// Start, model seconds.
    pub at_s: f64,
    /// Length, model seconds (> 0).
    pub for_s: f64,
}

/// A window in model nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Open {
    pub effect: Effect,
    pub from: SimTime,
    pub to: SimTime,
    /// `extra_ms` of a slow shard or the network, ns.
    pub extra: SimTime,
}

impl Open {
    #[inline]
    fn covers(&self, now: SimTime) -> bool {
        self.from <= now && now < self.to
    }
}

/// The run's fault windows, queried by the flows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    pub windows: Vec<Open>,
    /// The most-followed author, when a burst needs one.
    pub celebrity: u64,
}

/// Checks `w` against a model of `shards` shards; the error names `faults[i]`.
fn check(i: usize, w: &FaultWindow, shards: usize) -> Result<()> {
    let bad = |what: String| Err(invalid("faults", format!("faults[{i}]: {what}")));
    if !(w.at_s.is_finite() && w.at_s >= 0.0 && w.for_s.is_finite() && w.for_s > 0.0) {
        return bad(format!("window {}s for {}s", w.at_s, w.for_s));
    }
    match w.effect {
        Effect::SlowShard { shard, .. } | Effect::ShardDown { shard } if shard >= shards => bad(
            format!("shard {shard} does not exist (shards: 0..{shards})"),
        ),
        Effect::SlowShard { extra_ms: x, .. } | Effect::Network { extra_ms: x }
            if !(x.is_finite() && x > 0.0) =>
        {
            bad(format!("extra-ms must be > 0, got {x}"))
        }
        Effect::FlashCrowd { factor } if !(factor.is_finite() && factor > 1.0) => {
            bad(format!("factor must be > 1, got {factor}"))
        }
        Effect::CelebrityBurst { photos: 0 } => bad("photos must be at least 1".into()),
        _ => Ok(()),
    }
}

impl Faults {
    /// The windows of `list` on a model of `shards` shards.
    pub fn new(list: &[FaultWindow], shards: usize) -> Result<Faults> {
        let mut windows = Vec::with_capacity(list.len());
        for (i, w) in list.iter().enumerate() {
            check(i, w, shards)?;
            let extra = match w.effect {
                Effect::SlowShard { extra_ms, .. } | Effect::Network { extra_ms } => {
                    from_millis(extra_ms)
                }
                _ => 0,
            };
            windows.push(Open {
                effect: w.effect,
                from: from_secs(w.at_s),
                to: from_secs(w.at_s + w.for_s),
                extra,
            });
        }
        Ok(Faults {
            windows,
            celebrity: 0,
        })
    }

    /// Whether any window is set (the flows skip every check otherwise).
    #[inline]
    pub fn any(&self) -> bool {
        !self.windows.is_empty()
    }

    fn open(&self, now: SimTime) -> impl Iterator<Item = &Open> {
        self.windows.iter().filter(move |w| w.covers(now))
    }

    /// Extra delay of a call sent to `shard` at `now`.
    #[inline]
    pub fn shard_extra(&self, shard: usize, now: SimTime) -> SimTime {
        self.open(now)
            .filter(|w| matches!(w.effect, Effect::SlowShard { shard: s, .. } if s == shard))
            .map(|w| w.extra)
            .sum()
    }

    /// Extra delay of a hop sent at `now`.
    #[inline]
    pub fn hop_extra(&self, now: SimTime) -> SimTime {
        self.open(now)
            .filter(|w| matches!(w.effect, Effect::Network { .. }))
            .map(|w| w.extra)
            .sum()
    }

    /// When `shard`, down at `now`, is back; `None` when it is up.
    pub fn shard_down_until(&self, shard: usize, now: SimTime) -> Option<SimTime> {
        self.open(now)
            .filter(|w| matches!(w.effect, Effect::ShardDown { shard: s } if s == shard))
            .map(|w| w.to)
            .max()
    }

    /// Whether the materializer is paused at `now`.
    pub fn paused(&self, now: SimTime) -> bool {
        self.open(now)
            .any(|w| matches!(w.effect, Effect::MaterializerPause))
    }

    /// Whether the blob store is stopped at `now`.
    pub fn blob_down(&self, now: SimTime) -> bool {
        self.open(now).any(|w| matches!(w.effect, Effect::BlobStop))
    }

    /// Whether a photo read at `now` pays a fallback read.
    pub fn blob_fallback(&self, now: SimTime) -> bool {
        self.open(now)
            .any(|w| matches!(w.effect, Effect::BlobReplica))
    }

    /// The times at which a window opens or closes, for the events that resume waiting work.
    pub fn edges(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.windows.iter().flat_map(|w| [w.from, w.to])
    }
}

#[cfg(test)]
pub(crate) mod tests;
