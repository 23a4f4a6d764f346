//! A time-sliced station: the CPU cores of one node as a kernel's scheduler shares them.
//!
//! A node of `c` cores has `ceil(c)` cores, each running at `c / ceil(c)` (so fractional
//! cores keep their total rate). A runnable job takes a free core; when none is free it
//! waits. A job on a core runs until it has used `slice` ns of CPU or finished, whichever is
//! first; if it has CPU left it then yields the core and waits again. A freed core takes,
//! first come first served, a job that has not run yet, and only when none waits, one that
//! used up a slice, as Linux's scheduler (EEVDF) places a newly woken thread ahead of threads
//! that have just run a full slice. So a short job that arrives behind long ones waits up to
//! a slice for a core, where processor sharing ([`crate::ps`]) would start it at once at a
//! lower rate (the wait for a core that a woken thread sees on a busy box), but it does not
//! wait behind every long job's next turn.
//!
//! Like [`crate::ps::PsStation`] it is passive and hands the caller a [`Tick`] for its next
//! event (a slice's end); a tick whose generation is no longer current is ignored.

use std::collections::VecDeque;

use crate::cores::{Alarm, Ledger};
use crate::engine::SimTime;
use crate::error::{Result, invalid};
use crate::ps::{PsStats, Tick};

/// A job on a core: CPU left after its current slice, and when the slice ends.
#[derive(Debug, Clone, Copy)]
struct OnCore<J> {
    job: J,
    left: f64,
    end: SimTime,
}

/// The cores of one node, shared in time slices (see the module docs).
#[derive(Debug, Clone)]
pub struct SlicedStation<J> {
    cores: f64,
    servers: usize,
    speed: f64,
    slice: f64,
    running: Vec<OnCore<J>>,
    /// Jobs that have not run yet, with their CPU.
    fresh: VecDeque<(J, f64)>,
    /// Jobs that used up a slice, with their CPU left.
    ready: VecDeque<(J, f64)>,
    alarm: Alarm,
    last: SimTime,
    ledger: Ledger,
}

impl<J: Copy> SlicedStation<J> {
    /// A station of `cores` cores (`> 0`, fractional allowed) that runs a job for at most
    /// `slice` ns of CPU at a time (`> 0`), idle at time 0.
    pub fn new(cores: f64, slice: SimTime) -> Result<Self> {
        if !(cores.is_finite() && cores > 0.0) {
            return Err(invalid("cores", format!("must be > 0, got {cores}")));
        }
        if slice == 0 {
            return Err(invalid("slice", "must be > 0"));
        }
        let servers = cores.ceil() as usize;
        Ok(SlicedStation {
            cores,
            servers,
            speed: cores / servers as f64,
            slice: slice as f64,
            running: Vec::with_capacity(servers),
            fresh: VecDeque::new(),
            ready: VecDeque::new(),
            alarm: Alarm::default(),
            last: 0,
            ledger: Ledger::default(),
        })
    }

    /// The station's cores.
    pub fn cores(&self) -> f64 {
        self.cores
    }

    /// Runnable jobs: on a core or waiting for one.
    pub fn runnable(&self) -> usize {
        self.running.len() + self.ready.len() + self.fresh.len()
    }

    /// Bring the busy integrals up to `now`.
    fn advance(&mut self, now: SimTime) {
        if now > self.last {
            let busy = self.running.len() as f64 * self.speed;
            let runnable = self.runnable() as f64;
            self.ledger.pass((now - self.last) as f64, busy, runnable);
        }
        self.last = self.last.max(now);
    }

    /// Put a job with `cpu` ns of CPU left on a free core at `now`; returns its slice's end.
    fn start(&mut self, now: SimTime, job: J, cpu: f64) -> SimTime {
        let run = cpu.min(self.slice);
        let end = now + (run / self.speed).ceil() as SimTime;
        self.running.push(OnCore {
            job,
            left: cpu - run,
            end,
        });
        end
    }

    /// The next slice end as a tick, re-armed under a new generation.
    fn rearm(&mut self) -> Option<Tick> {
        let at = self.running.iter().map(|r| r.end).min()?;
        Some(self.alarm.arm(at))
    }

    /// A job with `demand` ns of CPU becomes runnable at `now`. Returns a tick to schedule
    /// when the next slice end moved (earlier ticks are then stale), else `None`.
    pub fn arrive(&mut self, now: SimTime, demand: SimTime, job: J) -> Option<Tick> {
        self.advance(now);
        self.ledger.demand_ns += demand as f64;
        if self.running.len() >= self.servers {
            self.fresh.push_back((job, demand as f64));
            return None;
        }
        let end = self.start(now, job, demand as f64);
        if self.alarm.armed().is_some_and(|a| a <= end) {
            return None;
        }
        self.rearm()
    }

    /// The tick of generation `generation` fired at `now`: jobs that finished are appended
    /// to `done`, jobs whose slice ended wait again behind those that used up a slice before
    /// them, free cores take the jobs that have not run yet and then those, and the next
    /// tick, if any, is returned. A stale tick does nothing and returns `None`.
    pub fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<J>) -> Option<Tick> {
        if !self.alarm.fire(generation) {
            return None;
        }
        self.advance(now);
        let mut i = 0;
        while i < self.running.len() {
            if self.running[i].end > now {
                i += 1;
                continue;
            }
            let r = self.running.swap_remove(i);
            if r.left <= 0.0 {
                done.push(r.job);
                self.ledger.completed += 1;
            } else {
                self.ready.push_back((r.job, r.left));
            }
        }
        while self.running.len() < self.servers
            && let Some((job, cpu)) = self.fresh.pop_front().or_else(|| self.ready.pop_front())
        {
            self.start(now, job, cpu);
        }
        self.rearm()
    }

    /// The busy fraction of the cores lately (see `RecentWindow::read`).
    pub fn recent_utilisation(&mut self, now: SimTime) -> f64 {
        self.advance(now);
        self.ledger.recent(now, self.cores)
    }

    /// Forget the statistics gathered before `now`.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.advance(now);
        self.ledger.reset(now);
    }

    /// Busy time and counts since the last reset, observed up to `now`.
    pub fn stats(&self, now: SimTime) -> PsStats {
        let dt = now.saturating_sub(self.last) as f64;
        let busy = self.running.len() as f64 * self.speed;
        self.ledger
            .stats(now, self.cores, dt, busy, self.runnable() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cores::Cores;
    use crate::cores::tests::run;

    #[test]
    fn a_short_job_behind_long_ones_waits_for_a_slice_to_end() {
        // Two 10 ns jobs hold both cores; a 1 ns job arriving at 1 waits for their slices
        // to end at 3, then runs first: done at 4. Processor sharing would run all three at
        // 2/3 from 1 and finish it at 2.5.
        let st = Cores::new(2.0, 3).expect("sliced");
        let (r, _) = run(st, &[(0, 10, 1), (0, 10, 2), (1, 1, 3)]);
        assert_eq!(r[0], (3, 4));
        let shared = Cores::new(2.0, 0).expect("shared");
        let (r, _) = run(shared, &[(0, 10, 1), (0, 10, 2), (1, 1, 3)]);
        assert_eq!(r[0], (3, 3), "2.5, rounded up to whole ns");
    }

    #[test]
    fn jobs_past_their_slice_take_turns_first_come_first_served() {
        // One core, slices of 3: A (5) runs 0-3, B (2) 3-5, A's last 2 from 5 to 7.
        let st = Cores::new(1.0, 3).expect("sliced");
        let (r, _) = run(st, &[(0, 5, 1), (1, 2, 2)]);
        assert_eq!(r, vec![(2, 5), (1, 7)]);
    }

    #[test]
    fn a_job_that_has_not_run_goes_before_those_that_used_a_slice() {
        // One core, slices of 3: A (10) runs 0-3, B (10, at 1) 3-6; C (1, at 4) has not
        // run, so it takes the core at 6 before A's second turn: done at 7 (at 10 if it
        // queued behind A).
        let st = Cores::new(1.0, 3).expect("sliced");
        let (r, _) = run(st, &[(0, 10, 1), (1, 10, 2), (4, 1, 3)]);
        assert_eq!(r[0], (3, 7));
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn fractional_cores_keep_their_total_rate() {
        // 1.5 cores: two cores at 0.75 each.
        let st = Cores::new(1.5, 100).expect("sliced");
        let (r, st) = run(st, &[(0, 3, 1), (0, 3, 2)]);
        assert_eq!(r.iter().map(|x| x.1).collect::<Vec<_>>(), vec![4, 4]);
        assert!((st.stats(4).utilisation - 1.0).abs() < 1e-9);
        assert!(SlicedStation::<u8>::new(0.0, 1).is_err());
        assert!(SlicedStation::<u8>::new(1.0, 0).is_err());
    }
}
