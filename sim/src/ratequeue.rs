//! A throughput-limited batching queue: the fan-out materializer.
//!
//! Items (timeline writes) are enqueued as uploads arrive. One logical worker
//! drains the queue in batches: whenever it is idle and items wait, it takes up
//! to `batch_max` of them (greedy, no linger) and spends
//! `batch_overhead + n / rate` on the batch. Throughput is therefore at most
//! `rate` items per second, and lower when the per-batch overhead bites.
//!
//! Like the stations, the queue is passive: [`RateQueue::push`] and
//! [`RateQueue::finish_batch`] return the finish time of a newly started batch
//! and the caller schedules one "batch done" event there. It reports the queue
//! delay (enqueue → batch start) and the total delay (enqueue → batch done,
//! i.e. feed freshness) as histograms.

use std::collections::VecDeque;

use serde::Serialize;

use crate::engine::{NANOS_PER_SEC, SimTime, ns};
use crate::error::{Result, invalid, positive};
use feedlab_workload::LatencyRecord;

use crate::stats::{DelayStats, TimeAverage};

/// Counters and delays of a [`RateQueue`] since the last reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateQueueStats {
    /// Items whose batch finished.
    pub processed: u64,
    /// Batches finished.
    pub batches: u64,
    /// Items waiting (not yet in a batch) right now.
    pub queued: usize,
    /// Time-average number of waiting items.
    pub mean_queue: f64,
    /// Most items waiting at once.
    pub max_queue: u64,
    /// Fraction of time the worker was busy.
    pub utilisation: f64,
    /// Enqueue → start of the item's batch.
    pub queue_delay: LatencyRecord,
    /// Enqueue → end of the item's batch.
    pub total_delay: LatencyRecord,
}

/// A FIFO drained by one worker at most `rate` items/s in batches.
#[derive(Debug, Clone)]
pub struct RateQueue<T> {
    ns_per_item: f64,
    batch_max: usize,
    batch_overhead: SimTime,
    queue: VecDeque<(T, SimTime)>,
    in_flight: Vec<(T, SimTime)>,
    busy: bool,
    queue_avg: TimeAverage,
    busy_avg: TimeAverage,
    queue_delay: DelayStats,
    total_delay: DelayStats,
    processed: u64,
    batches: u64,
}

impl<T> RateQueue<T> {
    /// A queue processing `rate_per_s` (> 0) items/s in batches of at most
    /// `batch_max` (≥ 1) items, each batch costing an extra `batch_overhead` ns.
    pub fn new(rate_per_s: f64, batch_max: u32, batch_overhead: SimTime) -> Result<Self> {
        let rate = positive("rate", rate_per_s)?;
        if batch_max == 0 {
            return Err(invalid("batch_max", "must be at least 1"));
        }
        Ok(RateQueue {
            ns_per_item: NANOS_PER_SEC as f64 / rate,
            batch_max: batch_max as usize,
            batch_overhead,
            queue: VecDeque::new(),
            in_flight: Vec::with_capacity(batch_max as usize),
            busy: false,
            queue_avg: TimeAverage::new(0),
            busy_avg: TimeAverage::new(0),
            queue_delay: DelayStats::new(),
            total_delay: DelayStats::new(),
            processed: 0,
            batches: 0,
        })
    }

    /// Enqueue `item` at `now`. If the worker was idle a batch starts at once
    /// and its finish time is returned: the caller must then call
    /// [`RateQueue::finish_batch`] at that time. Otherwise `None`.
    #[inline]
    pub fn push(&mut self, now: SimTime, item: T) -> Option<SimTime> {
        self.queue.push_back((item, now));
        if self.busy {
            self.queue_avg.set(now, self.queue.len() as u64);
            None
        } else {
            Some(self.start_batch(now))
        }
    }

    /// The running batch finishes at `now`: its items are appended to `out`
    /// (in FIFO order). If items wait, the next batch starts and its finish
    /// time is returned (call `finish_batch` again then).
    ///
    /// Contract: call only at a time returned by `push`/`finish_batch`; a
    /// call while idle appends nothing and returns `None`.
    pub fn finish_batch(&mut self, now: SimTime, out: &mut Vec<T>) -> Option<SimTime> {
        if !self.busy {
            return None;
        }
        self.batches += 1;
        self.processed += self.in_flight.len() as u64;
        for (item, since) in self.in_flight.drain(..) {
            self.total_delay.record(now.saturating_sub(since));
            out.push(item);
        }
        if self.queue.is_empty() {
            self.busy = false;
            self.busy_avg.set(now, 0);
            None
        } else {
            Some(self.start_batch(now))
        }
    }

    fn start_batch(&mut self, now: SimTime) -> SimTime {
        let n = self.queue.len().min(self.batch_max);
        for (item, since) in self.queue.drain(..n) {
            self.queue_delay.record(now.saturating_sub(since));
            self.in_flight.push((item, since));
        }
        self.queue_avg.set(now, self.queue.len() as u64);
        self.busy = true;
        self.busy_avg.set(now, 1);
        now.saturating_add(self.batch_overhead)
            .saturating_add(ns(n as f64 * self.ns_per_item))
    }

    /// Items waiting for a batch.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Items in the running batch.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Enqueue → batch-start delays (ns).
    pub fn queue_delay(&self) -> &DelayStats {
        &self.queue_delay
    }

    /// Enqueue → batch-end delays (ns).
    pub fn total_delay(&self) -> &DelayStats {
        &self.total_delay
    }

    /// Statistics since the last reset, averaged up to `now`.
    pub fn stats(&self, now: SimTime) -> RateQueueStats {
        RateQueueStats {
            processed: self.processed,
            batches: self.batches,
            queued: self.queue.len(),
            mean_queue: self.queue_avg.mean(now),
            max_queue: self.queue_avg.max(),
            utilisation: self.busy_avg.mean(now),
            queue_delay: self.queue_delay.summary(),
            total_delay: self.total_delay.summary(),
        }
    }

    /// Discard statistics gathered so far (warm-up); queued items are kept.
    pub fn reset_stats(&mut self, now: SimTime) {
        self.queue_avg.reset(now);
        self.busy_avg.reset(now);
        self.queue_delay.reset();
        self.total_delay.reset();
        self.processed = 0;
        self.batches = 0;
    }
}
