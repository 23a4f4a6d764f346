//! The request flows of the photo model, phase by phase, and its event loop.
//!
//! - feed: (1) timeline scan unless pull; (2) followee-list scan unless push;
//!   (3) for hybrid and rate, the reader's and followees' counters (one get,
//!   one batch-get per shard); (4) the pulled followees' photo scans, one job
//!   per shard; (5) photo rows of the candidates, through the cache, one
//!   batch-get per shard for the misses; (6) merge (sort and dedup of every
//!   source's candidates) and respond on the app server. Latency runs from
//!   the op's intended start. With `shard-calls = "serial"` the (inline) calls of
//!   one step run one after another (the embedded store's inline reads).
//! - upload: blob put, metadata write, respond (acknowledged), then the
//!   fan-out plan splits pushed entries per shard into materializer jobs.
//!   Freshness = acknowledgement → last of its jobs done.
//! - photo_get: photo row (cache or shard get), blob get of the view's bytes (drawn from the
//!   traffic's size mix, see `views.rs`), respond.
//! - search: a title-index scan on every shard, photo rows, respond.
//! - follow/unfollow: a write on both users' shards, then both counters (cas).

use feedlab_workload::OpKind;

use super::series::Outcome;

use super::state::{Ev, Job, PhotoModel, Send};
use crate::engine::{Engine, Model, SimTime, ns};
use crate::station::Admission;

/// The op's request kind has no more phases.
const DONE: u8 = u8::MAX;

impl Model for PhotoModel<'_> {
    type Event = Ev;

    fn handle(&mut self, e: &mut Engine<Ev>, ev: Ev) {
        let now = e.now();
        match ev {
            Ev::NextOp => self.next_op(e),
            Ev::ShardArrive { shard, job, call } => {
                let st = &mut self.shards[usize::from(shard)];
                if let Admission::Started(s) =
                    st.arrive_with_service(now, (job, call), call.total())
                {
                    self.shard_started(e, shard, s);
                }
            }
            Ev::ShardDone { shard, job } => {
                if let Some(s) = self.shards[usize::from(shard)].complete(now) {
                    self.shard_started(e, shard, s);
                }
                let at = now + self.hop(now);
                self.reply(e, job, at);
            }
            Ev::BlobArrive { job, call } => {
                if let Admission::Started(s) =
                    self.blob
                        .arrive_with_service(now, (job, call), call.total())
                {
                    self.blob_started(e, s);
                }
            }
            Ev::BlobDone { job } => {
                if let Some(s) = self.blob.complete(now) {
                    self.blob_started(e, s);
                }
                let at = now + self.hop(now);
                self.reply(e, job, at);
            }
            Ev::CpuTick { node, generation } => self.cpu_tick(e, node, generation),
            Ev::DiskDone { node, next } => self.disk_done(e, node, next),
            Ev::NicDone { node, out, next } => self.nic_done(e, node, out, next),
            Ev::Reply { job: Job::Req(j) } => {
                if let Ok(Some(done)) = self.joins.arrive(j) {
                    self.advance(e, done.parent);
                }
            }
            Ev::Reply { job: Job::Mat(j) } => {
                self.mat.idle += 1;
                self.mat
                    .busy_avg
                    .set(now, u64::from(self.mat.workers - self.mat.idle));
                if let Ok(Some(done)) = self.mat.fresh.arrive(j).map(|d| d.filter(|d| d.parent)) {
                    self.series.fresh(done.opened_at, now);
                    if done.opened_at >= self.warmup {
                        self.freshness.record(now - done.opened_at);
                    }
                }
                self.start_mat(e);
            }
            Ev::AppDone { req } => self.advance(e, req),
            Ev::Start { req } => self.admit(e, req),
            Ev::Warmup => self.reset_stats(now),
            Ev::Snapshot => self.snapshot = Some(self.take_snapshot(now)),
            Ev::FaultEdge => self.start_mat(e),
            Ev::Burst(photos) => self.burst_start(e, photos),
        }
    }
}

impl PhotoModel<'_> {
    /// A sub-request's reply lands back at its app server at `at`. For a
    /// client request this is folded into its join (no event per reply): the
    /// last one schedules the next phase at the latest reply time. A
    /// materializer reply is an event (it frees a worker then).
    #[inline]
    fn reply(&mut self, e: &mut Engine<Ev>, job: Job, at: SimTime) {
        match job {
            Job::Req(j) => {
                if let Ok(Some((done, latest))) = self.joins.arrive_at(j, at) {
                    if latest <= e.now() {
                        self.advance(e, done.parent);
                    } else {
                        e.schedule_at(latest, Ev::AppDone { req: done.parent });
                    }
                }
            }
            Job::Mat(_) => e.schedule_at(at, Ev::Reply { job }),
        }
    }

    /// Start the due op and schedule the next one.
    fn next_op(&mut self, e: &mut Engine<Ev>) {
        let Some(op) = self.next.take() else { return };
        self.launch(e, &op);
        self.next = self.ops.next();
        if let Some(n) = &self.next {
            e.schedule_at(ns(n.at.as_nanos() as f64), Ev::NextOp);
        }
    }

    /// Run the next phase of request `r` (skipping phases with no work).
    pub(crate) fn advance(&mut self, e: &mut Engine<Ev>, r: u32) {
        if let Some(next) = self.reqs[r as usize].pending.pop() {
            // Serial shard calls: the step's next call, after the last reply.
            self.plan.push(next);
            if let Some(out) = self.blocked(e.now()) {
                self.fail(e, r, out);
                return;
            }
            if let Ok(j) = self.joins.open(e.now(), 1, r) {
                self.issue(e, r, j);
            }
            return;
        }
        loop {
            let req = &mut self.reqs[r as usize];
            req.phase = req.phase.saturating_add(1);
            let (kind, phase) = (req.kind, req.phase);
            if phase == DONE {
                // The app step has replied: the op is complete, whatever its kind.
                self.finish(e, r);
                return;
            }
            let sent = match kind {
                OpKind::Feed => self.feed_phase(e, r, phase),
                OpKind::Upload => self.upload_phase(e, r, phase),
                OpKind::PhotoGet => self.photo_phase(e, r, phase),
                OpKind::Search => self.search_phase(e, r, phase),
                OpKind::Follow | OpKind::Unfollow => self.follow_phase(e, r, phase),
            };
            match sent {
                Some(0) => continue,
                Some(k) => {
                    if let Some(out) = self.blocked(e.now()) {
                        self.fail(e, r, out);
                        return;
                    }
                    let k = if self.serial && k > 1 {
                        // Inline calls run one after another: keep the first in the plan,
                        // the rest pending. Pooled calls start with the first.
                        let pending = &mut self.reqs[r as usize].pending;
                        let start = pending.len();
                        let mut first = true;
                        self.plan.retain(|p| match p {
                            Send::Pooled(..) => true,
                            Send::Shard(..) if first => {
                                first = false;
                                true
                            }
                            _ => {
                                pending.push(*p);
                                false
                            }
                        });
                        pending[start..].reverse();
                        self.plan.len() as u32
                    } else {
                        k
                    };
                    let Ok(j) = self.joins.open(e.now(), k, r) else {
                        return;
                    };
                    self.issue(e, r, j);
                    return;
                }
                None => return,
            }
        }
    }

    /// The app-server CPU step (request handling plus `merge` of `n`), then
    /// completion.
    pub(super) fn app_step(&mut self, e: &mut Engine<Ev>, r: u32, merge: u64) {
        let req = &self.reqs[r as usize];
        let kind = req.kind;
        let t = if let Some(app) = &self.costs.app[kind.index()] {
            // Measured in a live run: the whole app-side work of the op, merge included; an
            // upload's at its body's KiB, as the live run records it.
            let n = match kind {
                OpKind::Upload => req.bytes.div_ceil(1024).max(1),
                _ => 1,
            };
            app.sample(n, &mut self.rng.service)
        } else if merge > 0 {
            let req = self.costs.request.sample(1, &mut self.rng.service);
            req.then(self.costs.merge.sample(merge, &mut self.rng.service))
        } else {
            self.costs.request.sample(1, &mut self.rng.service)
        };
        self.reqs[r as usize].phase = DONE - 1;
        self.app_call(e, r, t);
    }

    /// Record request `r` as complete and free its connection.
    fn finish(&mut self, e: &mut Engine<Ev>, r: u32) {
        let now = e.now();
        let req = &self.reqs[r as usize];
        let (kind, t0, write, server) = (req.kind, req.t0, req.write, usize::from(req.server));
        let burst = req.burst;
        if !burst {
            self.series.op(kind, t0, now, Outcome::Ok(now - t0));
        }
        if t0 >= self.warmup && !burst {
            let ks = &mut self.kinds[kind.index()];
            ks.latency.record(now - t0);
            ks.calls.ops += 1;
            ks.calls.shard += req.calls.shard;
            ks.calls.blob += req.calls.blob;
            match kind {
                OpKind::Upload => ks.calls.blob_bytes_written += req.bytes,
                OpKind::PhotoGet => ks.calls.blob_bytes_read += req.bytes,
                _ => {}
            }
        }
        if kind == OpKind::Upload {
            self.fan_out(e, r);
        }
        if let Some(c) = self.pull_cache.as_mut() {
            let user = self.reqs[r as usize].user;
            match kind {
                OpKind::Upload => c.uploaded(user),
                OpKind::Follow | OpKind::Unfollow => c.followed(user),
                _ => {}
            }
        }
        self.background(e, r);
        self.release(e, r, write, server);
        if burst {
            self.burst_done(e);
        }
    }

    /// Free request `r`'s slot and its connection on `server`, admitting the next waiter.
    pub(super) fn release(&mut self, e: &mut Engine<Ev>, r: u32, write: bool, server: usize) {
        self.free.push(r);
        let pools = if write {
            &mut self.write_pools
        } else {
            &mut self.read_pools
        };
        if let Some(next) = pools[server].release(e.now()) {
            self.advance(e, next);
        }
    }

    /// Sub-requests of the current phase were counted by the phase function;
    /// this sends them (phases store their plan in `self.split` or the req).
    pub(super) fn issue(&mut self, e: &mut Engine<Ev>, r: u32, j: crate::join::JoinId) {
        let plan = std::mem::take(&mut self.plan);
        let calls = &mut self.reqs[r as usize].calls;
        for p in &plan {
            match p {
                Send::Shard(..) | Send::Pooled(..) => calls.shard += 1,
                Send::Blob(_) => calls.blob += 1,
            }
        }
        for p in &plan {
            match *p {
                Send::Shard(s, t) | Send::Pooled(s, t) => self.send_shard(e, s, Job::Req(j), t),
                Send::Blob(t) => self.send_blob(e, Job::Req(j), t),
            }
        }
        self.plan = plan;
        self.plan.clear();
    }

    /// Discard statistics gathered so far (end of the warm-up).
    fn reset_stats(&mut self, now: SimTime) {
        for s in &mut self.shards {
            s.reset_stats(now);
        }
        self.blob.reset_stats(now);
        for p in self
            .read_pools
            .iter_mut()
            .chain(self.write_pools.iter_mut())
        {
            p.reset_stats(now);
        }
        self.mat.queue_avg.reset(now);
        self.mat.busy_avg.reset(now);
        self.res.reset_stats(now);
    }
}
