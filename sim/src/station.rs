//! Servers with a FIFO queue: [`ConnPool`] (a counting semaphore, e.g. an app
//! server's 500 connections) and [`Station`] (c identical workers whose service
//! time is drawn from a [`ServiceDist`], e.g. a shard server).
//!
//! Both are passive: they never touch the event queue. The caller delivers
//! arrivals and completions and schedules whatever they return, which keeps
//! them independent of the model's event type. A `Station` works like this:
//!
//! 1. `arrive(now, job, rng)` → [`Admission::Started`] with `done_at` (the caller
//!    schedules a completion event then), [`Admission::Queued`], or
//!    [`Admission::Rejected`] when the queue limit is reached;
//! 2. on that completion event the caller calls `complete(now)`, which frees the
//!    worker and may start the next queued job (again returning `done_at`).
//!
//! Service times are drawn when a job arrives (equivalent in distribution for
//! FIFO and i.i.d. service, and it keeps each station's random stream aligned
//! across variants). Waits (arrival → start) go to a histogram; busy workers
//! and queue length are time-averaged.

use std::collections::VecDeque;

use rand::Rng;
use serde::Serialize;

use crate::dist::ServiceDist;
use crate::engine::SimTime;
use crate::error::{Result, invalid};
use feedlab_workload::LatencyRecord;

use crate::stats::{DelayStats, TimeAverage};

/// What happens to arrivals that find every slot busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueLimit {
    /// They wait in an unbounded FIFO queue.
    #[default]
    Unbounded,
    /// They wait while fewer than this many are queued, else are rejected.
    /// `Max(0)` rejects every arrival that cannot start at once.
    Max(usize),
}

/// Outcome of [`ConnPool::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquire<T> {
    /// A slot was free; the job holds it from now on.
    Granted(T),
    /// The job waits; a later [`ConnPool::release`] hands it a slot.
    Queued,
    /// Queue full: the job is turned away (and counted) and handed back.
    Rejected(T),
}

/// Counters and averages of a pool or station, since the last stats reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolStats {
    /// Slots (connections or workers).
    pub capacity: u32,
    /// Jobs that obtained a slot.
    pub started: u64,
    /// Jobs that gave their slot back (for a station: served jobs).
    pub completed: u64,
    /// Jobs turned away by the queue limit.
    pub rejected: u64,
    /// Slots in use right now.
    pub busy: u32,
    /// Jobs queued right now.
    pub queued: usize,
    /// Time-average busy slots divided by capacity.
    pub utilisation: f64,
    /// Time-average queue length.
    pub mean_queue: f64,
    /// Longest queue seen.
    pub max_queue: u64,
    /// Waits from arrival to obtaining a slot.
    pub waits: LatencyRecord,
}

/// A counting semaphore with a FIFO wait queue and statistics.
#[derive(Debug, Clone)]
pub struct ConnPool<T> {
    capacity: u32,
    busy: u32,
    limit: QueueLimit,
    queue: VecDeque<(T, SimTime)>,
    busy_avg: TimeAverage,
    queue_avg: TimeAverage,
    waits: DelayStats,
    started: u64,
    completed: u64,
    rejected: u64,
}

impl<T> ConnPool<T> {
    /// A pool of `capacity` (≥ 1) slots with the given queue limit.
    pub fn new(capacity: u32, limit: QueueLimit) -> Result<Self> {
        if capacity == 0 {
            return Err(invalid("capacity", "must be at least 1"));
        }
        Ok(ConnPool {
            capacity,
            busy: 0,
            limit,
            queue: VecDeque::new(),
            busy_avg: TimeAverage::new(0),
            queue_avg: TimeAverage::new(0),
            waits: DelayStats::new(),
            started: 0,
            completed: 0,
            rejected: 0,
        })
    }

    /// Ask for a slot at `now`. Granted jobs record a wait of 0.
    #[inline]
    pub fn acquire(&mut self, now: SimTime, job: T) -> Acquire<T> {
        if self.busy < self.capacity {
            self.busy += 1;
            self.busy_avg.set(now, u64::from(self.busy));
            self.started += 1;
            self.waits.record(0);
            return Acquire::Granted(job);
        }
        if let QueueLimit::Max(max) = self.limit
            && self.queue.len() >= max
        {
            self.rejected += 1;
            return Acquire::Rejected(job);
        }
        self.queue.push_back((job, now));
        self.queue_avg.set(now, self.queue.len() as u64);
        Acquire::Queued
    }

    /// Give one slot back at `now`. If a job is queued it takes the slot at
    /// once and is returned (its wait is recorded); otherwise `None`.
    ///
    /// Contract: call only while a slot is held; a release with no busy slot
    /// is ignored.
    #[inline]
    pub fn release(&mut self, now: SimTime) -> Option<T> {
        if self.busy == 0 {
            return None;
        }
        self.completed += 1;
        match self.queue.pop_front() {
            Some((job, since)) => {
                self.queue_avg.set(now, self.queue.len() as u64);
                self.waits.record(now.saturating_sub(since));
                self.started += 1;
                Some(job)
            }
            None => {
                self.busy -= 1;
                self.busy_avg.set(now, u64::from(self.busy));
                None
            }
        }
    }

    /// Slots in use.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    /// Jobs waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Wait-time recorder (arrival → slot), ns.
    pub fn waits(&self) -> &DelayStats {
        &self.waits
    }

    /// Statistics since the last reset, averaged up to `now`.
    pub fn stats(&self, now: SimTime) -> PoolStats {
        PoolStats {
            capacity: self.capacity,
            started: self.started,
            completed: self.completed,
            rejected: self.rejected,
            busy: self.busy,
            queued: self.queue.len(),
            utilisation: self.busy_avg.mean(now) / f64::from(self.capacity),
            mean_queue: self.queue_avg.mean(now),
            max_queue: self.queue_avg.max(),
            waits: self.waits.summary(),
        }
    }

    /// Time-average fraction of slots in use over `[last reset, now]`.
    pub fn utilisation(&self, now: SimTime) -> f64 {
        self.busy_avg.mean(now) / f64::from(self.capacity)
    }

    /// Discard statistics gathered so far (warm-up); jobs in flight are kept.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.busy_avg.reset(now);
        self.queue_avg.reset(now);
        self.waits.reset();
        self.started = 0;
        self.completed = 0;
        self.rejected = 0;
    }
}

/// A job that just started service and when it will finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started<T> {
    /// The caller's job handle.
    pub job: T,
    /// Completion time; schedule the completion event here.
    pub done_at: SimTime,
}

/// Outcome of [`Station::arrive`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission<T> {
    /// A worker was free and service began.
    Started(Started<T>),
    /// All workers busy; the job is queued.
    Queued,
    /// Queue limit reached; the job is turned away and handed back.
    Rejected(T),
}

/// `c` identical workers with a FIFO queue and a service-time distribution.
#[derive(Debug, Clone)]
pub struct Station<T> {
    pool: ConnPool<(T, SimTime)>,
    service: ServiceDist,
}

impl<T> Station<T> {
    /// A station of `workers` (≥ 1) workers drawing service times from `service`.
    pub fn new(workers: u32, service: ServiceDist, limit: QueueLimit) -> Result<Self> {
        Ok(Station {
            pool: ConnPool::new(workers, limit)?,
            service,
        })
    }

    /// A job arrives at `now`; its service time is drawn from `rng`.
    #[inline]
    pub fn arrive<R: Rng + ?Sized>(&mut self, now: SimTime, job: T, rng: &mut R) -> Admission<T> {
        let s = self.service.sample(rng);
        self.arrive_with_service(now, job, s)
    }

    /// A job with a caller-chosen service time (ns) arrives at `now`.
    #[inline]
    pub fn arrive_with_service(&mut self, now: SimTime, job: T, service: SimTime) -> Admission<T> {
        match self.pool.acquire(now, (job, service)) {
            Acquire::Granted((job, s)) => Admission::Started(Started {
                job,
                done_at: now.saturating_add(s),
            }),
            Acquire::Queued => Admission::Queued,
            Acquire::Rejected((job, _)) => Admission::Rejected(job),
        }
    }

    /// A job finishes at `now`, freeing its worker; the next queued job, if
    /// any, starts and is returned with its completion time.
    #[inline]
    pub fn complete(&mut self, now: SimTime) -> Option<Started<T>> {
        self.pool.release(now).map(|(job, s)| Started {
            job,
            done_at: now.saturating_add(s),
        })
    }

    /// The service-time distribution.
    pub fn service(&self) -> &ServiceDist {
        &self.service
    }

    /// The underlying worker pool (for its counters and wait histogram).
    pub fn pool(&self) -> &ConnPool<(T, SimTime)> {
        &self.pool
    }

    /// Statistics since the last reset; `completed` is the served count.
    pub fn stats(&self, now: SimTime) -> PoolStats {
        self.pool.stats(now)
    }

    /// Discard statistics gathered so far (warm-up).
    pub fn reset_stats(&mut self, now: SimTime) {
        self.pool.reset_stats(now);
    }
}
