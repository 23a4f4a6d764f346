//! `probe` of a live run's summary: the machine-speed probe (see the `run` module's
//! probe), the seconds it found stalled or in which the tail broke, and the stall study.
//!
//! The stall study (`events`): for each kind of host or service event that can stall
//! requests (stolen CPU, a runtime with no free worker, the store's background flushes and
//! compactions, page-cache writeback, a burst of blob writes or of fsyncs), how the seconds
//! that had it compare with the seconds that did not, on the feed's per-second p99. A second
//! *breaks the tail* when its feed p99 is at least [`TAIL_FACTOR`] times the run's median
//! per-second feed p99 (`tail_cut_ms`). An event lines up with the tail when the share of
//! its seconds that broke it is well above the share of the other seconds. Every event but
//! steal is split twice: over all seconds, and over the seconds in which the host stole
//! little (`among = "no-steal"`).

use serde::{Deserialize, Serialize};

use super::Extra;

/// One second of a live run in which the probe ran late or the host stole CPU.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    /// Second since the run started.
    pub second: u64,
    /// How late the probe's worst tick that second ran, ms: the service's runtime had no
    /// free worker for that long.
    pub late_ms: f64,
    /// How long a no-op waited, at worst that second, for a thread of tokio's blocking pool
    /// (where the store's calls, the blob store's reads and the spool's writes run), ms.
    #[serde(default)]
    pub pool_late_ms: f64,
    /// CPU time the hypervisor gave other guests instead of this host that second (`steal`
    /// in `/proc/stat`, summed over cores), ms.
    pub steal_ms: f64,
    /// KiB the kernel wrote back from the page cache that second, for every process on the
    /// host (`nr_written` in `/proc/vmstat`).
    #[serde(default)]
    pub writeback_kib: f64,
    /// Page faults this process took that second that needed no disk read: mostly first
    /// touches of memory it had not used before (or had given back).
    #[serde(default)]
    pub page_faults: f64,
    /// CPU this process's threads used that second, by thread group (name without its
    /// number), largest first, groups under 10 ms left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ThreadUse>,
}

/// CPU one group of threads used in one second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadUse {
    /// The group: thread name without its number (`tokio-rt-worker`, `fjall:worker`, ...).
    pub name: String,
    /// CPU ms.
    pub cpu_ms: f64,
}

/// `probe`: the machine-speed probe of a live run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeStats {
    /// The probe's median CPU µs per run.
    pub us: f64,
    /// Its period, ms.
    pub every_ms: u64,
    /// Seconds in which the service's runtime or the host stalled (see [`Stall`]), in order;
    /// absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stalls: Vec<Stall>,
    /// Seconds not among `stalls` in which the tail broke (feed p99 over the target, or ops
    /// dropped), with the same figures, in order: what this process's threads did then;
    /// absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tails: Vec<Stall>,
    /// The feed p99 from which a second broke the tail, ms (see [`EventSplit`]);
    /// absent when the run had no per-second feed p99.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_cut_ms: Option<f64>,
    /// Each stall-making event against the seconds that broke the tail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSplit>,
    /// Fields beyond the contract.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProbeStats {
    /// The seconds, in order, in which the host stole at least `min_ms` of CPU from the box.
    pub fn stolen_seconds(&self, min_ms: f64) -> impl Iterator<Item = u64> + '_ {
        self.stalls
            .iter()
            .filter(move |s| s.steal_ms >= min_ms)
            .map(|s| s.second)
    }
}

/// A second breaks the tail from this multiple of the run's median per-second feed p99.
pub const TAIL_FACTOR: f64 = 3.0;

/// One event's split of a run's seconds (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSplit {
    /// The event: `steal`, `runtime-late`, `pool-late`, `store-background`, `writeback`,
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
