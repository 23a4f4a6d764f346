//! CPU time of this process's threads, grouped by thread name, read from `/proc/self/task`.
//!
//! A stalled second of a live run (see [`super::probe`]) is easier to explain when it says
//! which threads ran in it: the runtime's workers serving requests (`tokio-rt-worker`), fjall's
//! workers flushing memtables and compacting, the blocking pool doing file I/O and fsyncs
//! (`tokio-blocking`), the writer pool (`blob-writer`), or the generator. Each thread's
//! CPU comes from `/proc/self/task/TID/schedstat` (ns on CPU, the first field); its group is
//! its name (`comm`) with trailing digits and separators dropped, so `fjall:worker` and
//! `tokio-rt-worker` stay whole. Threads that ended between two samples leave their CPU out
//! of the later one; a group's delta is never negative. Off Linux every sample is empty.

use std::collections::BTreeMap;

/// CPU ns by thread group at one instant, cumulative since each thread started.
pub type ThreadCpu = BTreeMap<String, u64>;

/// The CPU of every live thread of this process, by group (empty if `/proc` is absent).
pub fn sample() -> ThreadCpu {
    let mut out = ThreadCpu::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let Some(ns) = stat
            .split_whitespace()
            .next()
            .and_then(|w| w.parse::<u64>().ok())
        else {
            continue;
        };
        *out.entry(group(&comm)).or_default() += ns;
    }
    out
}

/// The group of a thread named `comm`: the name without its trailing digits and separators.
pub fn group(comm: &str) -> String {
    let name = comm.trim();
    let cut = name.trim_end_matches(|c: char| c.is_ascii_digit() || "-_:#".contains(c));
    if cut.is_empty() { name } else { cut }.to_string()
}

/// CPU ms each group used from `from` to `to`, largest first, groups under `min_ms` left out.
pub fn used_ms(from: &ThreadCpu, to: &ThreadCpu, min_ms: f64) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = to
        .iter()
        .map(|(g, &ns)| {
            let before = from.get(g).copied().unwrap_or(0);
            (g.clone(), ns.saturating_sub(before) as f64 / 1e6)
        })
        .filter(|(_, ms)| *ms >= min_ms)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_group_without_their_numbers() {
        assert_eq!(group("fjall:worker\n"), "fjall:worker");
        assert_eq!(group("tokio-rt-worker"), "tokio-rt-worker");
        assert_eq!(group("worker-12"), "worker");
        assert_eq!(group("pool_3"), "pool");
        assert_eq!(group("1234"), "1234");
    }

    #[test]
    fn deltas_are_per_group_largest_first_and_never_negative() {
        let from: ThreadCpu = [("a".into(), 5_000_000), ("b".into(), 9_000_000)].into();
        let to: ThreadCpu = [
            ("a".into(), 125_000_000),
            ("b".into(), 4_000_000),
            ("c".into(), 30_000_000),
        ]
        .into();
        let got = used_ms(&from, &to, 1.0);
        assert_eq!(got, vec![("a".into(), 120.0), ("c".into(), 30.0)]);
    }

    #[test]
    fn a_busy_named_thread_shows_its_own_cpu() {
        if !std::path::Path::new("/proc/self/task").exists() {
            return;
        }
        // A thread of its own, with a name no other test uses: other tests' threads start
        // and end concurrently, so only this group's delta is stable.
        let name = "cpu-probe-only";
        let (before, after) = std::thread::Builder::new()
            .name(name.into())
            .spawn(|| {
                let before = sample();
                // Busy for 50 ms of this thread's own CPU: /proc counts in clock ticks
                // (10 ms), and a fixed loop could end inside one on a fast core.
                let start = feedlab_system::timing::thread_cpu_ns();
                let mut x = 0u64;
                while feedlab_system::timing::thread_cpu_ns() - start < 50_000_000 {
                    for i in 0..10_000u64 {
                        x = x.wrapping_mul(31).wrapping_add(i);
                    }
                }
                std::hint::black_box(x);
                (before, sample())
            })
            .expect("spawn")
            .join()
            .expect("join");
        let of = |s: &ThreadCpu| s.get(name).copied().unwrap_or(0);
        assert!(of(&after) > of(&before), "{before:?} -> {after:?}");
    }
}
