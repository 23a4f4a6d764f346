//! The CPU cores of one node, shared either by processor sharing ([`crate::ps`]) or in time
//! slices ([`crate::sliced`]), behind one interface. Both are passive stations: a job's
//! arrival or a tick returns the [`Tick`] the caller must schedule next.
//!
//! The contract both keep (checked by the conformance suite below on each): a job alone on
//! a node finishes after its demand; as many jobs as cores do not slow each other; every job
//! finishes exactly once; the busy core-time equals the demand served; a stale tick does
//! nothing. Both report their recent busy fraction the same way (`RecentWindow`).

use crate::engine::SimTime;
use crate::error::Result;
use crate::ps::{PsStation, PsStats, Tick};
use crate::sliced::SlicedStation;

/// A node's cores under one of the two disciplines.
#[derive(Debug, Clone)]
pub enum Cores<J> {
    /// Every runnable job progresses at once.
    Shared(PsStation<J>),
    /// Jobs take turns on the cores, a slice at a time.
    Sliced(SlicedStation<J>),
}

impl<J: Copy> Cores<J> {
    /// `cores` cores (`> 0`), processor-shared when `slice` is 0, else in slices of `slice`
    /// ns of CPU.
    pub fn new(cores: f64, slice: SimTime) -> Result<Self> {
        Ok(if slice == 0 {
            Cores::Shared(PsStation::new(cores)?)
        } else {
            Cores::Sliced(SlicedStation::new(cores, slice)?)
        })
    }

    /// A job with `demand` ns of CPU becomes runnable at `now`; a returned tick replaces
    /// every earlier one.
    #[inline]
    pub fn arrive(&mut self, now: SimTime, demand: SimTime, job: J) -> Option<Tick> {
        match self {
            Cores::Shared(s) => s.arrive(now, demand, job),
            Cores::Sliced(s) => s.arrive(now, demand, job),
        }
    }

    /// The tick of `generation` fired at `now`: finished jobs are appended to `done`; the
    /// next tick, if any, is returned.
    #[inline]
    pub fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<J>) -> Option<Tick> {
        match self {
            Cores::Shared(s) => s.tick(now, generation, done),
            Cores::Sliced(s) => s.tick(now, generation, done),
        }
    }

    /// The recent busy fraction of the cores (`RecentWindow::read`).
    #[inline]
    pub fn recent_utilisation(&mut self, now: SimTime) -> f64 {
        match self {
            Cores::Shared(s) => s.recent_utilisation(now),
            Cores::Sliced(s) => s.recent_utilisation(now),
        }
    }

    /// The node's cores (fractional allowed).
    pub fn count(&self) -> f64 {
        match self {
            Cores::Shared(s) => s.cores(),
            Cores::Sliced(s) => s.cores(),
        }
    }

    /// Runnable jobs.
    pub fn runnable(&self) -> usize {
        match self {
            Cores::Shared(s) => s.runnable(),
            Cores::Sliced(s) => s.runnable(),
        }
    }

    /// Forget the statistics gathered before `now`.
    pub fn reset_stats(&mut self, now: SimTime) {
        match self {
            Cores::Shared(s) => s.reset_stats(now),
            Cores::Sliced(s) => s.reset_stats(now),
        }
    }

    /// Busy time and counts since the last reset, observed up to `now`.
    pub fn stats(&self, now: SimTime) -> PsStats {
        match self {
            Cores::Shared(s) => s.stats(now),
            Cores::Sliced(s) => s.stats(now),
        }
    }
}

// The recent busy fraction both stations report (`recent_utilisation`).

/// Length of one window, ns.
pub const RECENT_WINDOW_NS: SimTime = 100_000_000;

/// Before the first window closes, the reading is the busy fraction since time 0 once this
/// much time has passed (0 before).
pub const FIRST_READING_NS: SimTime = 10_000_000;

/// The state of the reading: the current window's start and the busy integral there, the
/// smoothed busy fraction of the windows closed so far, and whether one has closed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecentWindow {
    start: SimTime,
    busy_at_start: f64,
    smoothed: f64,
    closed: bool,
}

impl RecentWindow {
    /// The reading at `now`, given the busy core-ns since time 0 (`all_busy_ns`, never
    /// reset) of a node of `cores` cores. Each closed window weighs half and the ones before
    /// it the other half (the first closed window alone at first). The window in progress
    /// does not count, so a value holds for a window's length. Until the first window
    /// closes it is the busy fraction so far, read from [`FIRST_READING_NS`] on (0 before):
    /// a box that starts under load reads as busy within milliseconds.
    pub fn read(&mut self, now: SimTime, all_busy_ns: f64, cores: f64) -> f64 {
        let dt = now.saturating_sub(self.start);
        let busy = |from: f64| ((all_busy_ns - from) / (dt as f64 * cores)).clamp(0.0, 1.0);
        if dt >= RECENT_WINDOW_NS {
            let u = busy(self.busy_at_start);
            self.smoothed = if self.closed {
                0.5 * self.smoothed + 0.5 * u
            } else {
                u
            };
            self.closed = true;
            self.start = now;
            self.busy_at_start = all_busy_ns;
        } else if !self.closed {
            return if dt >= FIRST_READING_NS {
                busy(self.busy_at_start)
            } else {
                0.0
            };
        }
        self.smoothed
    }
}

/// A station's statistics: busy and runnable integrals since the last reset, jobs finished
/// and demand brought since then, busy core-ns since time 0 and the recent window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ledger {
    since: SimTime,
    busy_ns: f64,
    runnable_ns: f64,
    /// Jobs finished since the last reset.
    pub completed: u64,
    /// CPU ns brought by the jobs that arrived since the last reset.
    pub demand_ns: f64,
    all_busy_ns: f64,
    window: RecentWindow,
}

impl Ledger {
    /// `dt` ns passed with `busy` cores' worth of work done and `runnable` jobs runnable.
    #[inline]
    pub fn pass(&mut self, dt: f64, busy: f64, runnable: f64) {
        self.busy_ns += dt * busy;
        self.all_busy_ns += dt * busy;
        self.runnable_ns += dt * runnable;
    }

    /// Forget everything but the busy time since 0 and the recent window, from `now`.
    pub fn reset(&mut self, now: SimTime) {
        *self = Ledger {
            since: now,
            all_busy_ns: self.all_busy_ns,
            window: self.window,
            ..Ledger::default()
        };
    }

    /// The recent busy fraction of `cores` cores at `now` (see [`RecentWindow::read`]),
    /// once the integrals are brought up to `now`.
    pub fn recent(&mut self, now: SimTime, cores: f64) -> f64 {
        self.window.read(now, self.all_busy_ns, cores)
    }

    /// The statistics at `now` of `cores` cores, `dt` ns after the integrals were last
    /// brought up to date, during which `busy` cores' worth of work was done by `runnable`
    /// jobs.
    pub fn stats(&self, now: SimTime, cores: f64, dt: f64, busy: f64, runnable: f64) -> PsStats {
        let busy = self.busy_ns + dt * busy;
        let runnable = self.runnable_ns + dt * runnable;
        let elapsed = now.saturating_sub(self.since) as f64;
        let per = |x: f64| if elapsed > 0.0 { x / elapsed } else { 0.0 };
        PsStats {
            cores,
            busy_s: busy / 1e9,
            elapsed_s: elapsed / 1e9,
            utilisation: per(busy) / cores,
            mean_runnable: per(runnable),
            completed: self.completed,
            demand_s: self.demand_ns / 1e9,
        }
    }
}

/// A station's one pending tick: its time and generation. Arming a new one makes every
/// earlier tick stale.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Alarm {
    generation: u32,
    armed: Option<SimTime>,
}

impl Alarm {
    /// Arm a tick at `at` under a new generation.
    pub fn arm(&mut self, at: SimTime) -> Tick {
        self.generation = self.generation.wrapping_add(1);
        self.armed = Some(at);
        Tick {
            at,
            generation: self.generation,
        }
    }

    /// When the pending tick is due, if one is.
    pub fn armed(&self) -> Option<SimTime> {
        self.armed
    }

    /// Whether a tick of `generation` is the pending one; if so it is no longer pending.
    pub fn fire(&mut self, generation: u32) -> bool {
        if generation != self.generation || self.armed.is_none() {
            return false;
        }
        self.armed = None;
        true
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A passive station the test driver [`run`] can feed: [`Cores`], and the threads in
    /// front of them ([`crate::threads`]).
    pub(crate) trait Passive {
        fn arrive(&mut self, now: SimTime, demand: SimTime, job: u32) -> Option<Tick>;
        fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<u32>) -> Option<Tick>;
    }

    impl Passive for Cores<u32> {
        fn arrive(&mut self, now: SimTime, demand: SimTime, job: u32) -> Option<Tick> {
            Cores::arrive(self, now, demand, job)
        }
        fn tick(&mut self, now: SimTime, generation: u32, done: &mut Vec<u32>) -> Option<Tick> {
            Cores::tick(self, now, generation, done)
        }
    }

    /// Runs `arrivals` (time, demand, id) through `st`; returns (id, finish) in finishing
    /// order, and the station for its statistics.
    pub(crate) fn run<S: Passive>(
        mut st: S,
        arrivals: &[(SimTime, SimTime, u32)],
    ) -> (Vec<(u32, SimTime)>, S) {
        let mut tick: Option<Tick> = None;
        let mut out = Vec::new();
        let mut done = Vec::new();
        let mut i = 0;
        loop {
            let next_arr = arrivals.get(i).map(|a| a.0);
            match (next_arr, tick) {
                (Some(a), t) if t.is_none_or(|t| a < t.at) => {
                    let (at, d, id) = arrivals[i];
                    i += 1;
                    if let Some(t) = st.arrive(at, d, id) {
                        tick = Some(t);
                    }
                }
                (_, Some(t)) => {
                    done.clear();
                    tick = st.tick(t.at, t.generation, &mut done);
                    out.extend(done.iter().map(|&id| (id, t.at)));
                }
                _ => return (out, st),
            }
        }
    }

    /// Both disciplines: processor sharing and 3 µs slices.
    fn both(cores: f64) -> [Cores<u32>; 2] {
        [
            Cores::new(cores, 0).expect("shared"),
            Cores::new(cores, 3_000).expect("sliced"),
        ]
    }

    #[test]
    fn a_job_alone_finishes_after_its_demand() {
        for st in both(2.0) {
            let (r, _) = run(st, &[(5, 10_000, 1), (20_000, 1, 2)]);
            assert_eq!(r, vec![(1, 10_005), (2, 20_001)]);
        }
    }

    #[test]
    fn as_many_jobs_as_cores_do_not_slow_each_other() {
        for st in both(2.0) {
            let (r, _) = run(st, &[(0, 10_000, 1), (3_000, 4_000, 2)]);
            assert_eq!(r, vec![(2, 7_000), (1, 10_000)]);
        }
    }

    #[test]
    fn every_job_finishes_once_and_busy_time_is_the_demand() {
        let arrivals: Vec<(SimTime, SimTime, u32)> = (0..40)
            .map(|i| (u64::from(i) * 2_000, 1_000 * (1 + u64::from(i * 7 % 13)), i))
            .collect();
        let total: SimTime = arrivals.iter().map(|a| a.1).sum();
        for st in both(2.0) {
            let (r, st) = run(st, &arrivals);
            let mut ids: Vec<u32> = r.iter().map(|x| x.0).collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..40).collect::<Vec<_>>());
            let end = r.iter().map(|x| x.1).max().expect("finished");
            let s = st.stats(end);
            // Processor sharing rounds each finish to whole ns: at most 1 ns per job.
            assert!((s.busy_s * 1e9 - total as f64).abs() <= 40.0, "{s:?}");
            assert!((s.demand_s * 1e9 - total as f64).abs() < 1e-3);
            assert_eq!(s.completed, 40);
        }
    }

    #[test]
    fn a_tick_fired_twice_does_nothing_the_second_time() {
        for mut st in both(1.0) {
            let t = st.arrive(0, 10_000, 1).expect("tick");
            let t = st.arrive(1_000, 10_000, 2).unwrap_or(t);
            let mut done = Vec::new();
            let next = st.tick(t.at, t.generation, &mut done);
            let seen = done.len();
            assert_eq!(st.tick(t.at, t.generation, &mut done), None);
            assert_eq!(done.len(), seen);
            assert!(next.is_some(), "a job is still runnable");
        }
    }
}
