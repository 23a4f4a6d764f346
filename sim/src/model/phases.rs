//! The per-op phase functions of the photo model: what each phase of a
//! feed, upload, photo_get, search and follow/unfollow sends to which
//! station. [`super::flows`] drives them: it calls the op kind's phase
//! function with the next phase number, and the function plans that phase's
//! sub-requests in `self.plan` and returns how many it sent (`None` when the
//! op has no more phases). The final `DONE` phase (completion) is handled
//! once, by the caller. The flows themselves are described in
//! [`super::flows`]'s header.

use feedlab_system::meta::fjall_store::INLINE_BATCH_GET;
use feedlab_system::policy::FanoutKind;

use super::resources::Call;
use super::state::{Ev, PhotoModel, Send};
use crate::engine::{Engine, SimTime};

/// A batch-get of `n` keys to shard `s`: inline up to the embedded store's
/// `INLINE_BATCH_GET` keys, on its blocking pool above.
fn batch_send(s: usize, n: u64, t: Call) -> Send {
    if n > INLINE_BATCH_GET as u64 {
        Send::Pooled(s, t)
    } else {
        Send::Shard(s, t)
    }
}

impl PhotoModel<'_> {
    pub(super) fn feed_phase(&mut self, e: &mut Engine<Ev>, r: u32, phase: u8) -> Option<u32> {
        let kind = self.src.strategy().kind();
        let user = self.reqs[r as usize].user;
        let home = self.src.user_shard(user);
        let per_source = self.feed_limit + 16;
        let svc = &mut self.rng.service;
        match phase {
            1 if kind != FanoutKind::Pull => {
                let t = self.costs.scan.sample(per_source, svc);
                self.plan.push(Send::Shard(home, t));
            }
            2 if kind != FanoutKind::Push => self.pull_set(e.now(), r),
            3 if matches!(kind, FanoutKind::Hybrid | FanoutKind::Rate)
                && !self.reqs[r as usize].shape.set_cached =>
            {
                self.pull_set_stats(e.now(), r, home);
            }
            4 if self.pull_cache.is_some() && kind != FanoutKind::Push => {
                self.pulled_misses(e.now(), r);
            }
            4 => {
                let shape = &self.reqs[r as usize].shape;
                for (s, &n) in shape.pulled_per_shard.iter().enumerate() {
                    if n > 0 {
                        let rows = self.pulled_rows;
                        let t = self.costs.scan.sample_many(u64::from(n), rows, svc);
                        self.plan.push(Send::Shard(s, t));
                    }
                }
            }
            5 => {
                let shape = &self.reqs[r as usize].shape;
                // The newest `per_source` of the merged candidates.
                let timeline = if kind == FanoutKind::Pull {
                    0
                } else {
                    per_source
                };
                let cands = (timeline + shape.pulled * self.pulled_rows).min(per_source);
                self.reqs[r as usize].cands = cands;
                self.cache_lookup(cands);
                self.plan_batch_gets();
            }
            6 => {
                // The merge sorts and dedups every source's candidates (a
                // timeline page, and each pulled followee's rows) before the
                // newest `per_source` are resolved and ranked.
                let req = &self.reqs[r as usize];
                let pulled = if kind == FanoutKind::Push {
                    0
                } else {
                    req.shape.pulled
                };
                let timeline = if kind == FanoutKind::Pull {
                    0
                } else {
                    per_source
                };
                let merged = if req.cands > 0 {
                    timeline + pulled * self.pulled_rows
                } else {
                    0
                };
                self.app_step(e, r, merged);
                return None;
            }
            _ => {}
        }
        Some(self.plan.len() as u32)
    }

    /// Request `r`'s followees and which are pulled; the followee list is scanned unless the
    /// pull cache holds the reader's pull set at `now`.
    fn pull_set(&mut self, now: SimTime, r: u32) {
        let user = self.reqs[r as usize].user;
        let mut shape = std::mem::take(&mut self.reqs[r as usize].shape);
        self.src.feed_shape(user, &mut shape, &mut self.rng.shape);
        shape.set_cached = self
            .pull_cache
            .as_mut()
            .is_some_and(|c| c.set_hit(user, now));
        if !shape.set_cached {
            let t = self
                .costs
                .scan
                .sample(shape.followees.max(1), &mut self.rng.service);
            self.plan.push(Send::Shard(self.src.user_shard(user), t));
        }
        self.reqs[r as usize].shape = shape;
    }

    /// The counter reads of request `r`'s pull-set miss: under hybrid with the pull cache,
    /// those of the followees whose mode is unknown; otherwise the reader's own (on `home`)
    /// and every followee's, one batch-get per shard.
    fn pull_set_stats(&mut self, now: SimTime, r: u32, home: usize) {
        let kind = self.src.strategy().kind();
        if kind == FanoutKind::Hybrid && self.pull_cache.is_some() {
            return self.unknown_modes(now, r);
        }
        let svc = &mut self.rng.service;
        let t = self.costs.get.sample(1, svc);
        self.plan.push(Send::Shard(home, t));
        let shape = &self.reqs[r as usize].shape;
        for (s, &n) in shape.followees_per_shard.iter().enumerate() {
            if n > 0 {
                let t = self.costs.batch_get.sample(u64::from(n), svc);
                self.plan.push(batch_send(s, u64::from(n), t));
            }
        }
    }

    /// Hybrid with the pull cache: one batch-get per shard of the counters of request `r`'s
    /// followees whose mode the cache does not hold at `now`.
    fn unknown_modes(&mut self, now: SimTime, r: u32) {
        let (Some(cache), Some(list)) = (
            self.pull_cache.as_mut(),
            self.src.followees_of(self.reqs[r as usize].user),
        ) else {
            return;
        };
        let mut misses = vec![0u64; self.src.shards()];
        for &f in list {
            if !cache.mode_hit(u64::from(f), now) {
                misses[self.src.user_shard(u64::from(f))] += 1;
            }
        }
        for (s, n) in misses.into_iter().enumerate().filter(|&(_, n)| n > 0) {
            let t = self.costs.batch_get.sample(n, &mut self.rng.service);
            self.plan.push(batch_send(s, n, t));
        }
    }

    /// One scan per pulled followee of request `r` whose ids the pull cache does not hold
    /// at `now`, batched per shard.
    fn pulled_misses(&mut self, now: SimTime, r: u32) {
        let Some(cache) = self.pull_cache.as_mut() else {
            return;
        };
        let shape = &self.reqs[r as usize].shape;
        let mut misses = vec![0u64; shape.pulled_per_shard.len()];
        for &a in &shape.pulled_authors {
            if !cache.recent_hit(u64::from(a), now) {
                misses[self.src.user_shard(u64::from(a))] += 1;
            }
        }
        let rows = self.pulled_rows;
        for (s, n) in misses.into_iter().enumerate().filter(|&(_, n)| n > 0) {
            let t = self.costs.scan.sample_many(n, rows, &mut self.rng.service);
            self.plan.push(Send::Shard(s, t));
        }
    }

    /// One batch-get per shard for the cache misses in `self.split`.
    pub(super) fn plan_batch_gets(&mut self) {
        for s in 0..self.split.len() {
            let n = self.split[s];
            if n > 0 {
                let t = self.costs.batch_get.sample(n, &mut self.rng.service);
                self.plan.push(batch_send(s, n, t));
            }
        }
    }

    pub(super) fn upload_phase(&mut self, e: &mut Engine<Ev>, r: u32, phase: u8) -> Option<u32> {
        let req = &self.reqs[r as usize];
        let (user, kib) = (req.user, req.bytes.div_ceil(1024));
        let svc = &mut self.rng.service;
        match phase {
            1 => {
                let t = self.costs.blob_put.sample(kib, svc);
                self.plan.push(Send::Blob(t));
            }
            2 => {
                let t = self.costs.write.sample(8, svc);
                self.plan.push(Send::Shard(self.src.user_shard(user), t));
            }
            3 => {
                self.app_step(e, r, 0);
                return None;
            }
            _ => {}
        }
        Some(self.plan.len() as u32)
    }

    pub(super) fn photo_phase(&mut self, e: &mut Engine<Ev>, r: u32, phase: u8) -> Option<u32> {
        match phase {
            1 => {
                self.cache_lookup(1);
                self.plan_gets();
            }
            2 => {
                // Drawn at the view's launch (`launch`).
                let kib = self.reqs[r as usize].bytes.div_ceil(1024).max(1);
                let svc = &mut self.rng.service;
                let mut t = self.costs.blob_get.sample(kib, svc);
                if self.faults.any() && self.faults.blob_fallback(e.now()) {
                    // The bad replica's read, then the fallback's.
                    t = t.then(self.costs.blob_get.sample(kib, svc));
                }
                self.plan.push(Send::Blob(t));
            }
            3 => {
                self.app_step(e, r, 0);
                return None;
            }
            _ => {}
        }
        Some(self.plan.len() as u32)
    }

    /// One get per cache miss in `self.split`.
    pub(super) fn plan_gets(&mut self) {
        for s in 0..self.split.len() {
            for _ in 0..self.split[s] {
                let t = self.costs.get.sample(1, &mut self.rng.service);
                self.plan.push(Send::Shard(s, t));
            }
        }
    }

    pub(super) fn search_phase(&mut self, e: &mut Engine<Ev>, r: u32, phase: u8) -> Option<u32> {
        match phase {
            1 => {
                for s in 0..self.src.shards() {
                    let t = self
                        .costs
                        .scan
                        .sample(self.search_limit, &mut self.rng.service);
                    self.plan.push(Send::Shard(s, t));
                }
            }
            2 => {
                self.cache_lookup(self.search_limit);
                self.plan_batch_gets();
            }
            3 => {
                self.app_step(e, r, self.search_limit);
                return None;
            }
            _ => {}
        }
        Some(self.plan.len() as u32)
    }

    pub(super) fn follow_phase(&mut self, e: &mut Engine<Ev>, r: u32, phase: u8) -> Option<u32> {
        let req = &self.reqs[r as usize];
        let shards = [
            self.src.user_shard(req.user),
            self.src.user_shard(req.other),
        ];
        match phase {
            1 | 2 => {
                for s in shards {
                    let t = if phase == 1 {
                        self.costs.write.sample(2, &mut self.rng.service)
                    } else {
                        self.costs.cas.sample(1, &mut self.rng.service)
                    };
                    self.plan.push(Send::Shard(s, t));
                }
            }
            3 => {
                self.app_step(e, r, 0);
                return None;
            }
            _ => {}
        }
        Some(self.plan.len() as u32)
    }
}
