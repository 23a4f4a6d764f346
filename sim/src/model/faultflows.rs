//! How the photo model's flows meet its fault windows ([`super::faults`]): a step whose calls
//! need a down shard or a stopped blob store fails the op at once; a celebrity burst's
//! uploads enter as ops of their own; a flash crowd's extra reads are in the op stream, as
//! a live run's are ([`surges`]); window edges wake the materializer. The delays (slow shard, network) are applied where calls are sent
//! ([`PhotoModel::send_shard`], [`PhotoModel::hop`]).

use std::time::Duration;

use feedlab_workload::{OpKind, Payload, PlannedOp, ReadSurge, UploadSpec};

use super::BURST_AT_ONCE;
use super::faults::{Effect, FaultWindow};
use super::series::Outcome;
use super::state::{Ev, PhotoModel, Send};
use crate::engine::{Engine, SimTime};

/// The read surges of `windows`' flash crowds, for the op stream: the same windows, built
/// the same way, as a live run's, so a seed gives both the same extra arrivals.
pub(super) fn surges(windows: &[FaultWindow]) -> Vec<ReadSurge> {
    windows
        .iter()
        .filter_map(|w| match w.effect {
            Effect::FlashCrowd { factor } => Some(ReadSurge {
                from: Duration::from_secs_f64(w.at_s),
                to: Duration::from_secs_f64(w.at_s + w.for_s),
                factor,
            }),
            _ => None,
        })
        .collect()
}

/// The uploads of celebrity bursts: posted [`BURST_AT_ONCE`] at a time, each next one when
/// one is acknowledged (or fails), as the live harness posts them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BurstLoop {
    /// Uploads posted so far (their `seq`).
    pub seq: u64,
    /// Uploads still to post.
    pub left: u32,
    /// Uploads running.
    pub in_flight: u32,
}

impl PhotoModel<'_> {
    /// Schedule what the fault windows start by themselves: an event at every window edge,
    /// and each burst's start.
    pub(super) fn schedule_faults(&mut self, e: &mut Engine<Ev>) {
        let edges: Vec<SimTime> = self.faults.edges().collect();
        for t in edges {
            e.schedule_at(t, Ev::FaultEdge);
        }
        for w in &self.faults.windows {
            if let Effect::CelebrityBurst { photos } = w.effect {
                e.schedule_at(w.from, Ev::Burst(photos));
            }
        }
    }

    /// The outcome of a step planned in `self.plan` at `now` when a fault refuses it: shed
    /// for a down shard, an error for a stopped blob store.
    pub(super) fn blocked(&self, now: SimTime) -> Option<Outcome> {
        if !self.faults.any() {
            return None;
        }
        self.plan.iter().find_map(|p| match *p {
            Send::Shard(s, _) | Send::Pooled(s, _) => {
                self.faults.shard_down_until(s, now).map(|_| Outcome::Shed)
            }
            Send::Blob(_) => self.faults.blob_down(now).then_some(Outcome::Error),
        })
    }

    /// Request `r` fails now as `out`: it is counted, its connection freed, and nothing it
    /// would have done after (its fan-out) happens.
    pub(super) fn fail(&mut self, e: &mut Engine<Ev>, r: u32, out: Outcome) {
        self.plan.clear();
        let req = &mut self.reqs[r as usize];
        req.pending.clear();
        let (kind, t0, write, server) = (req.kind, req.t0, req.write, usize::from(req.server));
        let burst = req.burst;
        if !burst {
            self.series.op(kind, t0, e.now(), out);
        }
        if t0 >= self.warmup && !burst {
            let ks = &mut self.kinds[kind.index()];
            match out {
                Outcome::Shed => ks.shed += 1,
                _ => ks.errors += 1,
            }
        }
        self.release(e, r, write, server);
        if burst {
            self.burst_done(e);
        }
    }

    /// A celebrity burst of `photos` starts: they join the uploads still to post.
    pub(super) fn burst_start(&mut self, e: &mut Engine<Ev>, photos: u32) {
        self.burst.left += photos;
        self.burst_more(e);
    }

    /// A burst upload ended (acknowledged or failed): the next one is posted.
    pub(super) fn burst_done(&mut self, e: &mut Engine<Ev>) {
        self.burst.in_flight -= 1;
        self.burst_more(e);
    }

    /// Post burst uploads until [`BURST_AT_ONCE`] run or none is left.
    fn burst_more(&mut self, e: &mut Engine<Ev>) {
        while self.burst.left > 0 && self.burst.in_flight < BURST_AT_ONCE {
            self.burst.left -= 1;
            self.burst.in_flight += 1;
            self.burst_upload(e);
        }
    }

    /// One upload of a celebrity burst, by the most-followed author.
    fn burst_upload(&mut self, e: &mut Engine<Ev>) {
        self.burst.seq += 1;
        let seq = self.burst.seq;
        let op = PlannedOp {
            seq,
            at: Duration::from_nanos(e.now()),
            kind: OpKind::Upload,
            user: self.faults.celebrity,
            payload: Payload::Upload(UploadSpec {
                bytes: self.photo_kib * 1024,
                video: false,
                title: String::new(),
                content_seed: seq,
            }),
        };
        self.launch_as(e, &op, true);
    }
}
