//! The machine-speed probe of a live run: a fixed piece of CPU work run on the service's own
//! runtime every [`EVERY`] while the driver runs, and the thread CPU it took.
//!
//! On a shared machine the same op costs more CPU when a neighbour shares the core's caches
//! and execution units: measured on the quickstart, the feed's CPU per op moved by ~20%
//! between two runs of the same commit, and every op kind moved together. The probe sees the
//! same contention, so an op's CPU divided by the probe's (`cpu_rel`) keeps the op's own cost
//! and drops most of the machine's mood. The work mixes hashing (compute-bound) with
//! dependent reads over a buffer larger than the L2 cache (memory-bound), as a request does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use feedlab_system::timing::thread_cpu_ns;

/// How often the probe runs.
pub const EVERY: Duration = Duration::from_millis(50);

/// Words in the probe's buffer (4 MiB).
const WORDS: usize = 1 << 19;
/// Dependent reads per probe.
const HOPS: usize = 4_000;
/// Bytes hashed per probe.
const HASHED: usize = 64 * 1024;

/// The probe's buffer: a single cycle through all words (a fixed permutation), so every read
/// depends on the one before.
fn ring() -> Vec<u32> {
    let mut next = vec![0u32; WORDS];
    // A full-period LCG step over 2^19 visits every slot once.
    let mut at = 0usize;
    for _ in 0..WORDS {
        let to = (at.wrapping_mul(1_103_515_245).wrapping_add(12_345)) & (WORDS - 1);
        next[at] = to as u32;
        at = to;
    }
    next
}

/// One probe: returns a value that depends on all the work so none is optimized away.
fn work(ring: &[u32], bytes: &[u8], start: usize) -> u64 {
    let mut at = start & (WORDS - 1);
    for _ in 0..HOPS {
        at = ring[at] as usize;
    }
    let h = blake3::hash(bytes);
    at as u64 ^ u64::from(h.as_bytes()[0])
}

/// Probe CPU µs per second of the run.
#[derive(Debug, Clone, Default)]
pub struct ProbeSeries {
    /// Mean CPU µs of one probe, by second since the probe started.
    pub per_second: BTreeMap<u64, f64>,
    /// Probes run.
    pub runs: u64,
    /// Their CPU time in all, ns.
    pub cpu_ns: u64,
}

impl ProbeSeries {
    /// The median of the per-second means, µs (0 when there are none).
    pub fn median_us(&self) -> f64 {
        let mut v: Vec<f64> = self.per_second.values().copied().collect();
        if v.is_empty() {
            return 0.0;
        }
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

/// A running probe; [`Probe::stop`] ends it and returns its series.
pub struct Probe {
    task: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<BTreeMap<u64, (u64, u64)>>>,
}

impl Probe {
    /// Starts probing on the current runtime; seconds count from now.
    pub fn start() -> Self {
        let samples: Arc<Mutex<BTreeMap<u64, (u64, u64)>>> = Arc::default();
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let ring = ring();
            let bytes = vec![0x5au8; HASHED];
            let epoch = Instant::now();
            let mut tick = tokio::time::interval(EVERY);
            let mut salt = 0usize;
            loop {
                tick.tick().await;
                let t0 = thread_cpu_ns();
                salt = salt.wrapping_add(work(&ring, &bytes, salt) as usize | 1);
                let used = thread_cpu_ns().saturating_sub(t0);
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                let e = s.entry(epoch.elapsed().as_secs()).or_default();
                e.0 += 1;
                e.1 += used;
            }
        });
        Probe { task, samples }
    }

    /// Stops the probe and returns what it measured.
    pub fn stop(self) -> ProbeSeries {
        self.task.abort();
        let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        ProbeSeries {
            runs: s.values().map(|v| v.0).sum(),
            cpu_ns: s.values().map(|v| v.1).sum(),
            per_second: s
                .iter()
                .map(|(&sec, &(n, ns))| (sec, ns as f64 / n.max(1) as f64 / 1e3))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_one_cycle_through_every_word() {
        let r = ring();
        let mut seen = vec![false; WORDS];
        let mut at = 0usize;
        for _ in 0..WORDS {
            assert!(!seen[at], "slot {at} visited twice");
            seen[at] = true;
            at = r[at] as usize;
        }
        assert_eq!(at, 0);
    }

    #[tokio::test]
    async fn a_probe_reports_per_second_cpu() {
        let p = Probe::start();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s = p.stop();
        assert!(!s.per_second.is_empty());
        assert!(s.median_us() > 0.0);
    }
}
