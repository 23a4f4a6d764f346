//! A node's cores behind a bounded set of threads: at most `limit` jobs are runnable on the
//! [`Cores`] at once, and the others wait first come first served for one of them to finish,
//! as requests wait in an async runtime's queue for one of its worker threads.
//!
//! The kernel only ever sees the threads: on a live box of 2 cores with 4 runtime workers,
//! a fifth request does not take a share of a core (as processor sharing would give it) or a
//! turn in the kernel's run queue (as time slices would); it waits for a worker. With no
//! limit (`limit == 0`) every job goes straight to the cores, and [`Threaded`] behaves
//! exactly as the [`Cores`] it wraps.
//!
//! The contract (checked below, and by the cores' own suite on the inner station): a job
//! finishes exactly once; no more than `limit` jobs are on the cores at any time; jobs
//! that waited start in the order they arrived; a stale tick does nothing.

use std::collections::VecDeque;

use crate::cores::Cores;
use crate::engine::SimTime;
use crate::ps::{PsStats, Tick};

/// [`Cores`] whose jobs first take one of `limit` threads (see the module docs).
#[derive(Debug, Clone)]
pub struct Threaded<J> {
    cores: Cores<J>,
    limit: usize,
    on_cores: usize,
    waiting: VecDeque<(J, SimTime)>,
}

impl<J: Copy> Threaded<J> {
    /// `cores` behind `limit` threads; 0: unlimited.
    pub fn new(cores: Cores<J>, limit: usize) -> Self {
        Threaded {
            cores,
            limit,
            on_cores: 0,
            waiting: VecDeque::new(),
        }
    }

    /// The cores behind the threads.
    pub fn cores(&self) -> &Cores<J> {
        &self.cores
    }

    /// The threads (0: unlimited).
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn has_thread(&self) -> bool {
        self.limit == 0 || self.on_cores < self.limit
    }

    /// A job with `demand` ns of CPU arrives at `now`: it goes to the cores if a thread is
    /// free, else it waits. A returned tick replaces every earlier one.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, demand: SimTime, job: J) -> Option<Tick> {
        if !self.has_thread() {
            self.waiting.push_back((job, demand));
            return None;
        }
        self.on_cores += 1;
        self.cores.arrive(now, demand, job)
    }

    /// The tick of `generation` fired at `now`: finished jobs are appended to `done`, their
    /// threads take the longest-waiting jobs, and the next tick, if any, is returned.
    pub fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<J>) -> Option<Tick> {
        let before = done.len();
        let mut next = self.cores.tick(now, generation, done);
        self.on_cores -= (done.len() - before).min(self.on_cores);
        while self.has_thread() {
            let Some((job, demand)) = self.waiting.pop_front() else {
                break;
            };
            self.on_cores += 1;
            if let Some(t) = self.cores.arrive(now, demand, job) {
                next = Some(t);
            }
        }
        next
    }

    /// The recent busy fraction of the cores (`RecentWindow::read`).
    #[inline]
    pub fn recent_utilisation(&mut self, now: SimTime) -> f64 {
        self.cores.recent_utilisation(now)
    }

    /// Jobs on the cores and waiting for a thread.
    pub fn runnable(&self) -> usize {
        self.cores.runnable() + self.waiting.len()
    }

    /// Forget the statistics gathered before `now`.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.cores.reset_stats(now);
    }

    /// The cores' busy time and counts since the last reset, observed up to `now` (jobs
    /// waiting for a thread are not counted until they reach the cores).
    pub fn stats(&self, now: SimTime) -> PsStats {
        self.cores.stats(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cores::tests::Passive;

    impl Passive for Threaded<u32> {
        fn arrive(&mut self, now: SimTime, demand: SimTime, job: u32) -> Option<Tick> {
            Threaded::arrive(self, now, demand, job)
        }
        /// Also checks that no more than `limit` jobs are ever on the cores.
        fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<u32>) -> Option<Tick> {
            let next = Threaded::tick(self, now, generation, done);
            assert!(self.limit == 0 || self.on_cores <= self.limit);
            next
        }
    }

    /// (id, finish) of `arrivals` (time, demand, id) through `st`, in finishing order.
    fn run(st: Threaded<u32>, arrivals: &[(SimTime, SimTime, u32)]) -> Vec<(u32, SimTime)> {
        crate::cores::tests::run(st, arrivals).0
    }

    fn both(cores: f64, limit: usize) -> [Threaded<u32>; 2] {
        [0, 3_000].map(|slice| Threaded::new(Cores::new(cores, slice).expect("cores"), limit))
    }

    #[test]
    fn a_job_past_the_threads_waits_for_one_to_finish() {
        // Two threads on two cores: the third job starts when the first finishes at 10.
        for st in both(2.0, 2) {
            let r = run(st, &[(0, 10, 1), (0, 20, 2), (1, 5, 3)]);
            assert_eq!(r, vec![(1, 10), (3, 15), (2, 20)]);
        }
    }

    #[test]
    fn without_a_limit_it_is_the_cores_themselves() {
        let arrivals: Vec<(SimTime, SimTime, u32)> = (0..30)
            .map(|i| (u64::from(i) * 700, 1_000 * (1 + u64::from(i * 5 % 11)), i))
            .collect();
        for slice in [0, 3_000] {
            let plain = Cores::new(2.0, slice).expect("cores");
            let (want, _) = crate::cores::tests::run(plain.clone(), &arrivals);
            assert_eq!(run(Threaded::new(plain, 0), &arrivals), want);
        }
    }

    #[test]
    fn waiting_jobs_start_in_arrival_order_and_each_finishes_once() {
        // One thread: a FIFO queue whatever the cores do.
        for st in both(2.0, 1) {
            let r = run(st, &[(0, 4, 1), (1, 4, 2), (2, 1, 3), (3, 1, 4)]);
            assert_eq!(r, vec![(1, 4), (2, 8), (3, 9), (4, 10)]);
        }
    }
}
