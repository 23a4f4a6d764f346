//! `probe.events` of a live run's summary: for each kind of host or service event that can
//! stall requests (stolen CPU, a runtime with no free worker, the store's background
//! flushes and compactions, page-cache writeback, a burst of blob writes or of fsyncs),
//! how the seconds that had it compare with the seconds that did not, on the feed's
//! per-second p99.
//!
//! A second *breaks the tail* when its feed p99 is at least [`TAIL_FACTOR`] times the run's
//! median per-second feed p99 (`probe.tail_cut_ms`). An event lines up with the tail when
//! the share of its seconds that broke it is well above the share of the other seconds.
//! Every event but steal is split twice: over all seconds, and over the seconds in which the
//! host stole little (`among = "no-steal"`).

use serde::{Deserialize, Serialize};

/// A second breaks the tail from this multiple of the run's median per-second feed p99.
pub const TAIL_FACTOR: f64 = 3.0;

/// One event's split of a run's seconds (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSplit {
    /// The event: `steal`, `runtime-late`, `store-background`, `writeback`,
    /// `blob-write-burst` or `fsync-burst`.
    pub event: String,
    /// The seconds split: `all`, or `no-steal` (only the seconds in which the host stole
    /// less than the `steal` event's threshold, so that a host's dip does not hide or fake
    /// the service's own events).
    pub among: String,
    /// A second has the event from this much of it on, in `unit`.
    pub from: f64,
    /// The unit of `from`: `ms` (of steal, lateness or store thread CPU), `KiB` (written
    /// back, or blob bytes written), or `fsyncs` in the second.
    pub unit: String,
    /// Seconds with the event.
    pub seconds: u64,
    /// Of those, the seconds that broke the tail.
    pub tail_seconds: u64,
    /// Seconds without the event.
    pub other_seconds: u64,
    /// Of those, the seconds that broke the tail.
    pub other_tail_seconds: u64,
    /// Median per-second feed p99 of the seconds with the event, ms (0 without any).
    pub feed_p99_ms: f64,
    /// Median per-second feed p99 of the other seconds, ms (0 without any).
    pub other_feed_p99_ms: f64,
}
