//! The stall study of a live run (`probe.events`, typed in [`crate::summary::EventSplit`]):
//! each second's feed p99 set beside what the host and the service did in it, and for each
//! event that can stall every request at once, the seconds with it against the others.
//!
//! Per second: the host's stolen CPU, the probe tick's lateness and its no-op's wait for
//! tokio's blocking pool (from [`super::probe`]),
//! the CPU of fjall's threads (memtable flushes, compactions, the journal's background
//! syncs), the page cache the kernel wrote back (every process's), the process's minor page
//! faults (first touches of memory; on a guest that returns free pages to its host each is
//! also served by the host), and the fsyncs and blob bytes the service's requests wrote (from
//! the work counters). Steal, the two latenesses and store CPU have fixed thresholds;
//! writeback, blob bytes, fsyncs and page faults, which follow the load, count as an event
//! from twice the run's median per second.

use std::collections::BTreeMap;

use feedlab_system::timing::OpWork;

use crate::summary::{EventSplit, Stall, TAIL_FACTOR};

/// What one second of a run held.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Facts {
    /// The second's feed p99, ms.
    pub feed_p99_ms: f64,
    /// CPU the hypervisor stole, ms.
    pub steal_ms: f64,
    /// The probe tick's worst lateness, ms.
    pub late_ms: f64,
    /// The worst wait of the probe's no-op for tokio's blocking pool, ms.
    pub pool_late_ms: f64,
    /// CPU of the store's background threads (thread groups `fjall…`), ms.
    pub store_ms: f64,
    /// Page cache written back by the host, KiB.
    pub writeback_kib: f64,
    /// Minor page faults of this process.
    pub page_faults: f64,
    /// fsyncs made by the service's requests.
    pub fsyncs: f64,
    /// Blob bytes the service's requests wrote, KiB (an upload's copies, fsynced, so also
    /// part of that second's writeback).
    pub blob_kib: f64,
}

/// A second has an event from a fixed amount, or from `times` the run's median (and at
/// least `floor`).
#[derive(Debug, Clone, Copy)]
enum Threshold {
    Fixed(f64),
    Median { times: f64, floor: f64 },
}

/// One event: its name, its unit, its per-second measure and its threshold.
struct Event {
    name: &'static str,
    unit: &'static str,
    of: fn(&Facts) -> f64,
    from: Threshold,
}

/// The events studied, in the order reported.
const EVENTS: [Event; 8] = [
    Event {
        name: "steal",
        unit: "ms",
        of: |f| f.steal_ms,
        from: Threshold::Fixed(super::probe::STALL_STEAL_MS),
    },
    Event {
        name: "runtime-late",
        unit: "ms",
        of: |f| f.late_ms,
        from: Threshold::Fixed(20.0),
    },
    Event {
        name: "pool-late",
        unit: "ms",
        of: |f| f.pool_late_ms,
        from: Threshold::Fixed(20.0),
    },
    Event {
        name: "store-background",
        unit: "ms",
        of: |f| f.store_ms,
        from: Threshold::Fixed(50.0),
    },
    Event {
        name: "writeback",
        unit: "KiB",
        of: |f| f.writeback_kib,
        from: Threshold::Median {
            times: 2.0,
            floor: 1024.0,
        },
    },
    Event {
        name: "blob-write-burst",
        unit: "KiB",
        of: |f| f.blob_kib,
        from: Threshold::Median {
            times: 2.0,
            floor: 1024.0,
        },
    },
    Event {
        name: "page-faults",
        unit: "faults",
        of: |f| f.page_faults,
        from: Threshold::Median {
            times: 2.0,
            floor: 1000.0,
        },
    },
    Event {
        name: "fsync-burst",
        unit: "fsyncs",
        of: |f| f.fsyncs,
        from: Threshold::Median {
            times: 2.0,
            floor: 10.0,
        },
    },
];

/// The facts of every second that has both a feed p99 and a probe record, in order.
pub fn facts(
    probe: &BTreeMap<u64, Stall>,
    work: &BTreeMap<(u64, String), OpWork>,
    feed_p99: &BTreeMap<u64, f64>,
) -> Vec<Facts> {
    let mut writes: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for ((second, _), w) in work {
        let e = writes.entry(*second).or_default();
        e.0 += w.work.fsyncs;
        e.1 += w.work.blob_bytes_written;
    }
    feed_p99
        .iter()
        .filter_map(|(second, &feed_p99_ms)| {
            let p = probe.get(second)?;
            let store_ms = p
                .threads
                .iter()
                .filter(|t| t.name.starts_with("fjall"))
                .map(|t| t.cpu_ms)
                .sum();
            let (fsyncs, blob_bytes) = writes.get(second).copied().unwrap_or_default();
            Some(Facts {
                feed_p99_ms,
                steal_ms: p.steal_ms,
                late_ms: p.late_ms,
                pool_late_ms: p.pool_late_ms,
                store_ms,
                writeback_kib: p.writeback_kib,
                page_faults: p.page_faults,
                fsyncs: fsyncs as f64,
                blob_kib: blob_bytes as f64 / 1024.0,
            })
        })
        .collect()
}

/// The median of `v` (0 when empty).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The tail cut (ms) and every event's split of `facts`, over all seconds and (but for
/// steal) over the seconds without steal; `None` and nothing without seconds.
pub fn split(facts: &[Facts]) -> (Option<f64>, Vec<EventSplit>) {
    if facts.is_empty() {
        return (None, Vec::new());
    }
    let cut = TAIL_FACTOR * median(facts.iter().map(|f| f.feed_p99_ms).collect());
    let calm: Vec<Facts> = facts
        .iter()
        .filter(|f| f.steal_ms < super::probe::STALL_STEAL_MS)
        .copied()
        .collect();
    let mut out: Vec<EventSplit> = EVENTS.iter().map(|e| one(e, facts, "all", cut)).collect();
    out.extend(
        EVENTS
            .iter()
            .filter(|e| e.name != "steal")
            .map(|e| one(e, &calm, "no-steal", cut)),
    );
    (Some(cut), out)
}

/// Event `e`'s split of `facts` (called `among`), a second breaking the tail from `cut` ms.
fn one(e: &Event, facts: &[Facts], among: &str, cut: f64) -> EventSplit {
    let from = match e.from {
        Threshold::Fixed(v) => v,
        Threshold::Median { times, floor } => {
            (times * median(facts.iter().map(e.of).collect())).max(floor)
        }
    };
    let (with, without): (Vec<&Facts>, Vec<&Facts>) = facts.iter().partition(|f| (e.of)(f) >= from);
    let p99s = |v: &[&Facts]| median(v.iter().map(|f| f.feed_p99_ms).collect());
    let tails = |v: &[&Facts]| v.iter().filter(|f| f.feed_p99_ms >= cut).count() as u64;
    EventSplit {
        event: e.name.to_string(),
        among: among.to_string(),
        from,
        unit: e.unit.to_string(),
        seconds: with.len() as u64,
        tail_seconds: tails(&with),
        other_seconds: without.len() as u64,
        other_tail_seconds: tails(&without),
        feed_p99_ms: p99s(&with),
        other_feed_p99_ms: p99s(&without),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::ThreadUse;
    use feedlab_system::timing::Work;

    fn quiet(p99: f64) -> Facts {
        Facts {
            feed_p99_ms: p99,
            writeback_kib: 4_000.0,
            fsyncs: 40.0,
            blob_kib: 2_000.0,
            ..Facts::default()
        }
    }

    #[test]
    fn an_event_that_comes_with_the_tail_shows_in_its_split() {
        let mut v: Vec<Facts> = (0..20).map(|i| quiet(2.0 + f64::from(i % 3))).collect();
        // Three seconds of a flush, two of them slow; one slow second with steal only.
        for (i, p99) in [(4, 40.0), (9, 60.0), (14, 3.0)] {
            v[i].store_ms = 300.0;
            v[i].feed_p99_ms = p99;
        }
        v[17].steal_ms = 250.0;
        v[17].feed_p99_ms = 30.0;
        // A burst of first touches of memory in the two slow flush seconds; a few elsewhere.
        v.iter_mut().for_each(|f| f.page_faults = 300.0);
        v[4].page_faults = 40_000.0;
        v[9].page_faults = 25_000.0;
        let (cut, splits) = split(&v);
        assert_eq!(cut, Some(9.0), "3 × the median per-second p99 of 3 ms");
        let by = |name: &str| {
            let all = |s: &&EventSplit| s.event == name && s.among == "all";
            splits.iter().find(all).expect(name).clone()
        };
        let store = by("store-background");
        assert_eq!(
            (store.seconds, store.tail_seconds, store.other_tail_seconds),
            (3, 2, 1)
        );
        assert_eq!(store.feed_p99_ms, 40.0);
        let faults = by("page-faults");
        assert_eq!(
            faults.from, 1_000.0,
            "the floor, above twice the median of 300"
        );
        assert_eq!((faults.seconds, faults.tail_seconds), (2, 2));
        let steal = by("steal");
        assert_eq!((steal.seconds, steal.tail_seconds), (1, 1));
        assert_eq!((steal.other_seconds, steal.other_tail_seconds), (19, 2));
        // Writeback and fsyncs are flat: twice their median is never reached.
        assert_eq!(by("writeback").from, 8_000.0);
        assert_eq!(by("writeback").seconds, 0);
        assert_eq!(by("fsync-burst").seconds, 0);
        // Without the steal second, the flush still lines up with the tail: 2 of 3 seconds
        // against 0 of 16.
        let calm = splits
            .iter()
            .find(|s| s.event == "store-background" && s.among == "no-steal")
            .expect("a no-steal split");
        assert_eq!(
            (
                calm.tail_seconds,
                calm.other_seconds,
                calm.other_tail_seconds
            ),
            (2, 16, 0)
        );
        assert_eq!(
            splits.len(),
            15,
            "eight events over all seconds, seven over calm ones"
        );
        assert!(split(&[]).0.is_none());
    }

    #[test]
    fn facts_join_the_probe_the_work_and_the_feed_series_by_second() {
        let stall = |second: u64| Stall {
            second,
            late_ms: 1.0,
            pool_late_ms: 25.0,
            steal_ms: 5.0,
            writeback_kib: 512.0,
            page_faults: 3_000.0,
            threads: vec![
                ThreadUse {
                    name: "fjall:worker".into(),
                    cpu_ms: 70.0,
                },
                ThreadUse {
                    name: "fjall:journal".into(),
                    cpu_ms: 12.0,
                },
                ThreadUse {
                    name: "tokio-rt-worker".into(),
                    cpu_ms: 900.0,
                },
            ],
        };
        let probe: BTreeMap<u64, Stall> = [(0, stall(0)), (1, stall(1))].into();
        let w = |fsyncs: u64| OpWork {
            ops: 1,
            work: Work {
                fsyncs,
                blob_bytes_written: fsyncs * 1024,
                ..Work::default()
            },
        };
        let work: BTreeMap<(u64, String), OpWork> = [
            ((0, "upload".to_string()), w(6)),
            ((0, "follow".to_string()), w(2)),
        ]
        .into();
        // Second 2 has no probe record and is left out.
        let feed: BTreeMap<u64, f64> = [(0, 3.5), (1, 4.0), (2, 9.0)].into();
        let f = facts(&probe, &work, &feed);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].store_ms, 82.0, "both fjall groups, not the runtime");
        assert_eq!(f[0].pool_late_ms, 25.0);
        assert_eq!((f[0].fsyncs, f[0].blob_kib), (8.0, 8.0));
        assert_eq!(f[1].fsyncs, 0.0);
        assert_eq!((f[1].feed_p99_ms, f[1].writeback_kib), (4.0, 512.0));
        assert_eq!(f[1].page_faults, 3_000.0);
    }
}
