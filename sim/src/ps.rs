//! A processor-sharing station: the CPU cores of one node.
//!
//! A node with `c` cores serves every runnable job at once: while `n` jobs are runnable each
//! one's remaining CPU demand falls at `min(1, c / n)` ns per ns. So a job alone finishes after
//! its demand, and jobs that outnumber the cores all slow down together, which is how queueing
//! for cores makes wall time grow with load.
//!
//! All jobs progress at the same rate, so they finish in the order of their *finish tags*:
//! the station keeps a virtual time `V` (CPU ns received so far by any job runnable since the
//! start) and a job arriving at `V = v` with demand `d` finishes when `V` reaches `v + d`. An
//! arrival or departure changes the rate, so the time of the next completion moves; the
//! station hands the caller a [`Tick`] (time and generation) for it, and a tick whose
//! generation is no longer current is ignored. Like [`crate::station`], it is passive: it
//! never touches the event queue.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use serde::Serialize;

use crate::cores::{Alarm, Ledger};
pub use crate::cores::{FIRST_READING_NS, RECENT_WINDOW_NS};
use crate::engine::SimTime;
use crate::error::{Result, invalid};

/// When the station next needs the caller: at `at`, with generation `gen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Model time of the next completion.
    pub at: SimTime,
    /// Generation the tick was issued for (see [`PsStation::tick`]).
    pub generation: u32,
}

/// One runnable job: finish tag, arrival order, payload.
#[derive(Debug, Clone, Copy)]
struct Entry<J> {
    tag: f64,
    seq: u64,
    job: J,
}

impl<J> PartialEq for Entry<J> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<J> Eq for Entry<J> {}
impl<J> PartialOrd for Entry<J> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<J> Ord for Entry<J> {
    /// Reversed, so the max-heap pops the smallest tag (then the earliest arrival).
    fn cmp(&self, o: &Self) -> Ordering {
        o.tag.total_cmp(&self.tag).then(o.seq.cmp(&self.seq))
    }
}

/// Busy time and counts of a [`PsStation`] since its last statistics reset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PsStats {
    /// Cores.
    pub cores: f64,
    /// Core-seconds spent serving jobs.
    pub busy_s: f64,
    /// Seconds observed.
    pub elapsed_s: f64,
    /// `busy_s / (cores * elapsed_s)`.
    pub utilisation: f64,
    /// Time-average runnable jobs.
    pub mean_runnable: f64,
    /// Jobs that finished.
    pub completed: u64,
    /// CPU demand those jobs brought, seconds.
    pub demand_s: f64,
}

/// The cores of one node, shared by every runnable job (see the module docs).
#[derive(Debug, Clone)]
pub struct PsStation<J> {
    cores: f64,
    vtime: f64,
    last: SimTime,
    jobs: BinaryHeap<Entry<J>>,
    seq: u64,
    alarm: Alarm,
    ledger: Ledger,
}

impl<J: Copy> PsStation<J> {
    /// A station of `cores` cores (`> 0`, fractional allowed), idle at time 0.
    pub fn new(cores: f64) -> Result<Self> {
        if !(cores.is_finite() && cores > 0.0) {
            return Err(invalid("cores", format!("must be > 0, got {cores}")));
        }
        Ok(PsStation {
            cores,
            vtime: 0.0,
            last: 0,
            jobs: BinaryHeap::new(),
            seq: 0,
            alarm: Alarm::default(),
            ledger: Ledger::default(),
        })
    }

    /// The busy fraction of the cores lately (see `RecentWindow::read`).
    pub fn recent_utilisation(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.ledger.recent(now, self.cores)
    }

    /// The station's cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// Runnable jobs.
    pub fn runnable(&self) -> usize {
        self.jobs.len()
    }

    /// Service rate of each job while `n` are runnable.
    fn rate(&self, n: usize) -> f64 {
        if n as f64 <= self.cores {
            1.0
        } else {
            self.cores / n as f64
        }
    }

    /// Bring virtual time and the busy integrals up to `now`.
    fn advance(&mut self, now: SimTime) {
        let n = self.jobs.len();
        if now > self.last && n > 0 {
            let dt = (now - self.last) as f64;
            self.vtime += dt * self.rate(n);
            self.ledger.pass(dt, (n as f64).min(self.cores), n as f64);
        }
        self.last = self.last.max(now);
    }

    /// The next completion as a tick, re-armed under a new generation.
    fn rearm(&mut self, now: SimTime) -> Option<Tick> {
        let head = self.jobs.peek()?;
        let left = (head.tag - self.vtime).max(0.0);
        let at = now + (left / self.rate(self.jobs.len())).ceil() as SimTime;
        Some(self.alarm.arm(at))
    }

    /// A job with `demand` ns of CPU becomes runnable at `now`. Returns a tick to schedule
    /// when the next completion moved (earlier ticks are then stale), else `None`.
    pub fn arrive(&mut self, now: SimTime, demand: SimTime, job: J) -> Option<Tick> {
        self.advance(now);
        let was = self.jobs.len();
        let tag = self.vtime + demand as f64;
        self.seq += 1;
        self.ledger.demand_ns += demand as f64;
        self.jobs.push(Entry {
            tag,
            seq: self.seq,
            job,
        });
        // Below the core count nobody slows down: the armed tick stays right unless the
        // newcomer finishes first.
        if (was + 1) as f64 <= self.cores
            && let Some(armed) = self.alarm.armed()
            && now + demand >= armed
        {
            return None;
        }
        self.rearm(now)
    }

    /// The tick of generation `generation` fired at `now`: finished jobs are appended to
    /// `done` (in finishing order) and the next tick, if any, is returned. A stale tick does
    /// nothing and returns `None`.
    pub fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<J>) -> Option<Tick> {
        if !self.alarm.fire(generation) {
            return None;
        }
        self.advance(now);
        // Ticks are rounded up to whole ns, so a due job's tag is at most a rounding step
        // ahead of virtual time.
        while let Some(head) = self.jobs.peek() {
            if head.tag > self.vtime + 1.0 {
                break;
            }
            let e = self.jobs.pop().map(|e| e.job);
            done.extend(e);
            self.ledger.completed += 1;
        }
        if self.jobs.is_empty() {
            // Idle: restart virtual time so tags keep full precision.
            self.vtime = 0.0;
        }
        self.rearm(now)
    }

    /// Forget the statistics gathered before `now`.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.advance(now);
        self.ledger.reset(now);
    }

    /// Busy time and counts since the last reset, observed up to `now`.
    pub fn stats(&self, now: SimTime) -> PsStats {
        let n = self.jobs.len() as f64;
        let dt = now.saturating_sub(self.last) as f64;
        self.ledger.stats(now, self.cores, dt, n.min(self.cores), n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `arrivals` (time, demand, id) through a station of `cores`; returns (id, finish).
    fn run(cores: f64, arrivals: &[(SimTime, SimTime, u32)]) -> Vec<(u32, SimTime)> {
        let mut st = PsStation::new(cores).expect("cores");
        let mut ticks: Vec<Tick> = Vec::new();
        let mut out = Vec::new();
        let mut i = 0;
        let mut done = Vec::new();
        loop {
            let next_tick = ticks.iter().map(|t| t.at).min();
            let next_arr = arrivals.get(i).map(|a| a.0);
            match (next_arr, next_tick) {
                (Some(a), t) if t.is_none_or(|t| a < t) => {
                    let (at, d, id) = arrivals[i];
                    i += 1;
                    ticks.extend(st.arrive(at, d, id));
                }
                (_, Some(t)) => {
                    let k = ticks.iter().position(|x| x.at == t).expect("tick");
                    let tk = ticks.swap_remove(k);
                    done.clear();
                    ticks.extend(st.tick(tk.at, tk.generation, &mut done));
                    out.extend(done.iter().map(|&id| (id, t)));
                }
                _ => return out,
            }
        }
    }

    #[test]
    fn two_jobs_on_one_core_share_it() {
        // 10 and 4 ns at time 0: both at half speed until the short one ends at 8, then the
        // long one alone for its last 6.
        assert_eq!(run(1.0, &[(0, 10, 1), (0, 4, 2)]), vec![(2, 8), (1, 14)]);
    }

    #[test]
    fn jobs_within_the_core_count_run_at_full_speed() {
        assert_eq!(
            run(2.0, &[(0, 10, 1), (3, 4, 2)]),
            vec![(2, 7), (1, 10)],
            "two jobs on two cores do not slow each other"
        );
        // A third job on two cores: all three at 2/3 from t = 3.
        let r = run(2.0, &[(0, 9, 1), (3, 3, 2), (3, 3, 3)]);
        assert_eq!(r.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 3, 1]);
        assert_eq!(r[0].1, 8);
        assert_eq!(r[2].1, 9 + 2, "the long job lost 2 ns of 5 at 2/3 speed");
    }

    #[test]
    fn busy_time_equals_the_demand_served() {
        let mut st = PsStation::new(2.0).expect("cores");
        let mut done = Vec::new();
        let t = st.arrive(0, 1_000, 1).expect("tick");
        let _ = st.arrive(0, 3_000, 2);
        let t2 = st.tick(t.at, t.generation, &mut done);
        assert_eq!(done, vec![1]);
        let t2 = t2.expect("second");
        st.tick(t2.at, t2.generation, &mut done);
        let s = st.stats(4_000);
        assert!((s.busy_s - 4e-6).abs() < 1e-12, "{s:?}");
        assert!((s.utilisation - 0.5).abs() < 1e-9);
        assert!(PsStation::<u8>::new(0.0).is_err());
    }

    #[test]
    fn recent_utilisation_follows_the_closed_windows() {
        let w = RECENT_WINDOW_NS;
        let mut st = PsStation::<u8>::new(2.0).expect("cores");
        // One core busy for the whole first window: half the cores.
        let t = st.arrive(0, w, 1).expect("tick");
        assert_eq!(
            st.recent_utilisation(FIRST_READING_NS / 2),
            0.0,
            "too soon to read"
        );
        let early = st.recent_utilisation(w / 2);
        assert!(
            (early - 0.5).abs() < 1e-9,
            "before a window closed, so far: {early}"
        );
        let mut done = Vec::new();
        st.tick(t.at, t.generation, &mut done);
        let u1 = st.recent_utilisation(w);
        assert!((u1 - 0.5).abs() < 1e-9, "the first window alone: {u1}");
        // An idle second window halves it; a reset of the statistics does not touch it.
        st.reset_stats(w + 1);
        let u2 = st.recent_utilisation(2 * w);
        assert!(
            (u2 - 0.25).abs() < 1e-9,
            "half weight on the idle window: {u2}"
        );
    }
}
