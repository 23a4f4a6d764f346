//! The fan-out materializer of the photo model: an acknowledged upload's pushed timeline
//! entries become FIFO jobs (one per shard), started by a fixed number of workers within a
//! global rate limit in entries per second; each job is a batched `timeline-insert` call on
//! its shard. Freshness runs from the acknowledgement to the upload's last job done.
//!
//! Faults: while the materializer is paused no job starts (the queue grows and drains after
//! the window); a job for a down shard reaches it when the shard is back, holding its worker;
//! a slow shard or the network delays the job's arrival like any call's.

use super::state::{Ev, Job, MatJob, PhotoModel};
use crate::engine::{Engine, ns};

impl PhotoModel<'_> {
    /// Enqueue the fan-out of acknowledged upload `r`.
    pub(super) fn fan_out(&mut self, e: &mut Engine<Ev>, r: u32) {
        let (author, counted) = (self.reqs[r as usize].user, !self.reqs[r as usize].burst);
        let mut split = std::mem::take(&mut self.split);
        let pushed = self.src.push_split(author, &mut split, &mut self.rng.shape);
        let now = e.now();
        if now >= self.warmup {
            self.uploads += 1;
            self.timeline_writes += pushed;
        }
        let jobs = split.iter().filter(|&&n| n > 0).count() as u32;
        if jobs == 0 {
            if counted && self.src.author_stats(author).followers > 0 {
                self.series.fresh(now, now);
                if now >= self.warmup {
                    self.freshness.record(0);
                }
            }
        } else if let Ok(join) = self.mat.fresh.open(now, jobs, counted) {
            for (s, &n) in split.iter().enumerate().filter(|(_, n)| **n > 0) {
                self.mat.queue.push_back(MatJob {
                    join,
                    shard: s as u16,
                    n,
                });
                self.mat.backlog += n;
            }
            self.mat.queue_avg.set(now, self.mat.queue.len() as u64);
            self.series.backlog(now, self.mat.backlog);
            self.start_mat(e);
        }
        self.split = split;
    }

    /// Hand queued jobs to idle materializer workers, within the rate limit.
    pub(crate) fn start_mat(&mut self, e: &mut Engine<Ev>) {
        let now = e.now();
        if self.faults.any() && self.faults.paused(now) {
            return;
        }
        let backlog = self.mat.backlog;
        while self.mat.idle > 0 {
            let Some(job) = self.mat.queue.pop_front() else {
                break;
            };
            self.mat.backlog -= job.n;
            self.mat.idle -= 1;
            self.mat
                .busy_avg
                .set(now, u64::from(self.mat.workers - self.mat.idle));
            let start = self.mat.next_free.max(now);
            self.mat.next_free = start + ns(job.n as f64 * self.mat.ns_per_entry);
            let b = self.mat.batch;
            let mut call = self.costs.insert.sample_many(
                job.n.div_ceil(b),
                job.n.min(b),
                &mut self.rng.service,
            );
            // A down shard takes the job when it is back (the worker retries until then).
            let start = if self.faults.any() {
                let back = self.faults.shard_down_until(usize::from(job.shard), start);
                back.unwrap_or(start)
            } else {
                start
            };
            let slow = self.slow_call(usize::from(job.shard), start, &mut call);
            let at = start + self.hop(start) + slow;
            if now >= self.warmup {
                self.shard_ops[usize::from(job.shard)] += 1;
            }
            e.schedule_at(
                at,
                Ev::ShardArrive {
                    shard: job.shard,
                    job: Job::Mat(job.join),
                    call,
                },
            );
        }
        self.mat.queue_avg.set(now, self.mat.queue.len() as u64);
        if self.mat.backlog != backlog {
            self.series.backlog(now, self.mat.backlog);
        }
    }
}
