//! The machine-speed probe of a live run: a fixed piece of CPU work run on the service's own
//! runtime every [`EVERY`] while the driver runs, and the thread CPU it took.
//!
//! On a shared machine the same op costs more CPU when a neighbour shares the core's
//! execution units: measured on the quickstart, the feed's CPU per op moved by ~20% between
//! two runs of the same commit, and every op kind moved together. The probe sees the same
//! contention, so an op's CPU divided by the probe's (`cpu_rel`) keeps the op's own cost and
//! drops most of the machine's mood. The work is a request's kind of work in a working set
//! that fits the L2 cache: allocations, formatting, ordered-map inserts and lookups, and
//! hashing. It holds no buffer that must come from DRAM: the host's memory latency moves
//! with its other tenants far more than an op's CPU does.
//!
//! Each tick also sends a no-op to tokio's blocking pool and keeps, per second, how long it
//! waited for a thread (`pool_late_ms`): a request whose store call or blob read queues there
//! waits as long, while the runtime's own tick may be on time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use feedlab_system::timing::{host_steal_ms, host_writeback, process_minor_faults, thread_cpu_ns};

use super::threads::ThreadCpu;
use crate::summary::{Stall, ThreadUse};

/// How often the probe runs.
pub const EVERY: Duration = Duration::from_millis(50);

/// Entries the probe puts in its ordered map, then looks up.
const ENTRIES: u64 = 256;
/// Bytes hashed per probe.
const HASHED: usize = 16 * 1024;

/// One probe: returns a value that depends on all the work so none is optimized away.
fn work(bytes: &[u8], salt: u64) -> u64 {
    let key = |i: u64| (i ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let map: BTreeMap<u64, String> = (0..ENTRIES)
        .map(|i| (key(i), format!("photo-{:x}", key(i))))
        .collect();
    let found = (0..ENTRIES)
        .filter_map(|i| map.get(&key(i * 2)))
        .map(|v| v.len() as u64)
        .sum::<u64>();
    let h = blake3::hash(std::hint::black_box(bytes));
    found ^ u64::from(h.as_bytes()[0])
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
    /// Seconds in which the probe ran [`STALL_LATE_MS`] late or the host stole
    /// [`STALL_STEAL_MS`] of CPU.
    pub stalls: Vec<Stall>,
    /// Every second's lateness, steal and thread CPU, stalled or not.
    pub seconds: BTreeMap<u64, Stall>,
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

/// What the probe saw in one second: runs, their CPU ns, the latest tick's lateness ns, the
/// host's steal ms, page-cache KiB written back and this process's minor page faults at the
/// second's first tick and at its last, and this process's thread CPU at its first tick.
#[derive(Debug, Clone, Default)]
struct Second {
    runs: u64,
    cpu_ns: u64,
    late_ns: u64,
    pool_late_ns: u64,
    steal: (u64, u64),
    written: (u64, u64),
    faults: (u64, u64),
    threads: ThreadCpu,
}

/// A running probe; [`Probe::stop`] ends it and returns its series.
pub struct Probe {
    task: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<BTreeMap<u64, Second>>>,
}

impl Probe {
    /// Starts probing on the current runtime; seconds count from now.
    pub fn start() -> Self {
        let samples: Arc<Mutex<BTreeMap<u64, Second>>> = Arc::default();
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let bytes = vec![0x5au8; HASHED];
            let epoch = Instant::now();
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut salt = 0u64;
            loop {
                let due = tick.tick().await;
                let late = u64::try_from(due.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let steal = host_steal_ms();
                let written = host_writeback().written_kib;
                let faults = process_minor_faults();
                let t0 = thread_cpu_ns();
                salt = salt.wrapping_add(work(&bytes, salt) | 1);
                let used = thread_cpu_ns().saturating_sub(t0);
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                let e = s.entry(epoch.elapsed().as_secs()).or_default();
                if e.runs == 0 {
                    e.steal.0 = steal;
                    e.written.0 = written;
                    e.faults.0 = faults;
                    e.threads = super::threads::sample();
                }
                e.runs += 1;
                e.cpu_ns += used;
                e.late_ns = e.late_ns.max(late);
                e.steal.1 = steal;
                e.written.1 = written;
                e.faults.1 = faults;
                drop(s);
                tokio::spawn(pool_wait(sink.clone(), epoch));
            }
        });
        Probe { task, samples }
    }

    /// Stops the probe and returns what it measured.
    pub fn stop(self) -> ProbeSeries {
        self.task.abort();
        let s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let all = by_second(&s);
        ProbeSeries {
            runs: s.values().map(|v| v.runs).sum(),
            cpu_ns: s.values().map(|v| v.cpu_ns).sum(),
            per_second: s
                .iter()
                .map(|(&sec, v)| (sec, v.cpu_ns as f64 / v.runs.max(1) as f64 / 1e3))
                .collect(),
            stalls: stalls(&all),
            seconds: all,
        }
    }
}

/// How long a no-op waits for a thread of tokio's blocking pool, kept as the worst of the
/// second (since `epoch`) in which it was sent, if the probe saw that second.
async fn pool_wait(sink: Arc<Mutex<BTreeMap<u64, Second>>>, epoch: Instant) {
    let (sent, second) = (Instant::now(), epoch.elapsed().as_secs());
    let Ok(waited) = tokio::task::spawn_blocking(move || sent.elapsed()).await else {
        return;
    };
    let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
    let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = s.get_mut(&second) {
        e.pool_late_ns = e.pool_late_ns.max(ns);
    }
}

/// Lateness of the probe's tick from which a second counts as stalled, ms: two probe
/// periods without a free worker.
pub const STALL_LATE_MS: f64 = 100.0;

/// Steal from which a second counts as stalled, ms (summed over cores): a tenth of a core.
pub const STALL_STEAL_MS: f64 = 100.0;

/// Thread groups under this much CPU in a stalled second are left out of it, ms.
const THREAD_MIN_MS: f64 = 10.0;

/// Every second of `s` with its lateness, and its steal, writeback, page faults and thread CPU
/// from its first tick to the next second's first (steal, writeback and faults to its own
/// last tick, and no threads, for the last second).
fn by_second(s: &BTreeMap<u64, Second>) -> BTreeMap<u64, Stall> {
    let secs: Vec<(&u64, &Second)> = s.iter().collect();
    secs.iter()
        .enumerate()
        .map(|(i, &(&second, v))| {
            let next = secs.get(i + 1).map(|(_, n)| *n);
            let end = next.map_or(v.steal.1, |n| n.steal.0);
            let written = next.map_or(v.written.1, |n| n.written.0);
            let faults = next.map_or(v.faults.1, |n| n.faults.0);
            let threads = next.map_or_else(Vec::new, |n| {
                super::threads::used_ms(&v.threads, &n.threads, THREAD_MIN_MS)
                    .into_iter()
                    .map(|(name, cpu_ms)| ThreadUse { name, cpu_ms })
                    .collect()
            });
            let stall = Stall {
                second,
                late_ms: v.late_ns as f64 / 1e6,
                pool_late_ms: v.pool_late_ns as f64 / 1e6,
                steal_ms: end.saturating_sub(v.steal.0) as f64,
                writeback_kib: written.saturating_sub(v.written.0) as f64,
                page_faults: faults.saturating_sub(v.faults.0) as f64,
                threads,
            };
            (second, stall)
        })
        .collect()
}

/// The seconds of `all` that stalled: the probe [`STALL_LATE_MS`] late or [`STALL_STEAL_MS`]
/// stolen.
fn stalls(all: &BTreeMap<u64, Stall>) -> Vec<Stall> {
    all.values()
        .filter(|s| s.late_ms >= STALL_LATE_MS || s.steal_ms >= STALL_STEAL_MS)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_tick_or_a_stolen_tenth_of_a_core_marks_a_second() {
        let sec = |late_ms: u64, steal: (u64, u64)| Second {
            runs: 20,
            cpu_ns: 1,
            late_ns: late_ms * 1_000_000,
            pool_late_ns: 0,
            steal,
            written: (steal.0 * 4, steal.1 * 4),
            faults: (steal.0 * 10, steal.1 * 10),
            threads: [("fjall:worker".to_string(), steal.0 * 1_000_000)].into(),
        };
        let s: BTreeMap<u64, Second> = [
            (0, sec(3, (1_000, 1_000))),
            (1, sec(150, (1_010, 1_020))),
            (2, sec(2, (1_020, 1_200))),
            (3, sec(99, (1_250, 1_300))),
        ]
        .into();
        let all = by_second(&s);
        assert_eq!(all.len(), 4, "every second is kept");
        assert_eq!(
            (all[&0].late_ms, all[&0].steal_ms),
            (3.0, 10.0),
            "an unflagged second"
        );
        assert!(
            all[&3].threads.is_empty(),
            "the last second has no next tick"
        );
        let got = stalls(&all);
        let seconds: Vec<u64> = got.iter().map(|x| x.second).collect();
        // Second 2's steal runs to second 3's first tick: 230 ms.
        assert_eq!(seconds, [1, 2]);
        assert_eq!(got[0].late_ms, 150.0);
        assert_eq!(got[1].steal_ms, 230.0);
        // Writeback runs the same way: second 2 from 4,080 KiB to second 3's 5,000 KiB.
        assert_eq!(got[1].writeback_kib, 920.0);
        assert_eq!(
            all[&3].writeback_kib, 200.0,
            "the last second to its own last tick"
        );
        // Page faults too: second 2 from 10,200 to second 3's 12,500.
        assert_eq!(got[1].page_faults, 2_300.0);
        assert_eq!(
            all[&3].page_faults, 500.0,
            "the last second to its own last tick"
        );
        // Thread CPU runs from the second's first tick to the next one's, as steal does.
        assert_eq!(got[0].threads[0].cpu_ms, 10.0);
        assert_eq!(got[1].threads[0].name, "fjall:worker");
        assert_eq!(got[1].threads[0].cpu_ms, 230.0);
    }

    #[test]
    fn the_work_finds_every_key_it_put_whatever_the_salt() {
        let bytes = vec![0x5au8; HASHED];
        let h = u64::from(blake3::hash(&bytes).as_bytes()[0]);
        // The lookups ask for keys 0, 2, …, 510: the 128 below 256 are in the map, each named
        // "photo-" and up to 16 hex digits, and a salted key is a bijection, so no other hits.
        for salt in [0, 7, u64::MAX] {
            let found = work(&bytes, salt) ^ h;
            assert!(
                (128 * 18..=128 * 22).contains(&found),
                "salt {salt}: {found}"
            );
        }
    }

    #[tokio::test]
    async fn a_probe_reports_per_second_cpu() {
        let p = Probe::start();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let s = p.stop();
        assert!(!s.per_second.is_empty());
        assert!(s.median_us() > 0.0);
    }

    /// A blocking pool held busy makes the probe's no-op wait, and the second shows it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_busy_blocking_pool_shows_as_pool_lateness() {
        // tokio's default pool starts up to 512 threads, too many to hold; a runtime with
        // one blocking thread stands in for a pool whose threads are all busy.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .enable_time()
            .build()
            .expect("runtime");
        let s = std::thread::spawn(move || {
            rt.block_on(async {
                let p = Probe::start();
                tokio::time::sleep(Duration::from_millis(120)).await;
                let hold =
                    tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)));
                tokio::time::sleep(Duration::from_millis(500)).await;
                hold.await.expect("held");
                p.stop()
            })
        })
        .join()
        .expect("probe thread");
        let worst = s
            .seconds
            .values()
            .map(|v| v.pool_late_ms)
            .fold(0.0, f64::max);
        assert!(
            worst >= 150.0,
            "the no-op waited behind the held thread: {worst} ms"
        );
    }
}
