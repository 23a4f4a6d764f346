//! How the photo model's flows meet its fault windows ([`super::faults`]): a step whose calls
//! need a down shard or a stopped blob store fails the op at once; a celebrity burst's
//! uploads and a flash crowd's extra reads enter as ops of their own; window edges wake the
//! materializer. The delays (slow shard, network) are applied where calls are sent
//! ([`PhotoModel::send_shard`], [`PhotoModel::hop`]).

use std::time::Duration;

use feedlab_workload::{OpKind, OpStream, Payload, PlannedOp, TrafficConfig, UploadSpec};

use super::faults::Effect;
use super::series::Outcome;
use super::state::{Ev, PhotoModel, Send};
use crate::engine::{Engine, SimTime, ns};
use crate::error::{Result, invalid};

/// A flash crowd's extra reads: an op stream of its own, of which only the reads within the
/// window are run.
pub(crate) struct Crowd<'a> {
    ops: OpStream<'a>,
    next: Option<PlannedOp>,
    from: SimTime,
    to: SimTime,
}

impl<'a> Crowd<'a> {
    /// The reads of `traffic` at `factor - 1` times its load from stream `seed`, over
    /// `[from, to)`.
    pub fn new(
        src: &'a super::source::Source,
        traffic: &TrafficConfig,
        factor: f64,
        seed: u64,
        (from, to): (SimTime, SimTime),
    ) -> Result<Crowd<'a>> {
        let extra = TrafficConfig {
            load: traffic.load * (factor - 1.0),
            ..traffic.clone()
        };
        let until = Duration::from_nanos(to);
        let ops = src
            .workload()
            .ops(&extra, seed, until)
            .map_err(|e| invalid("faults", format!("flash-crowd: {e}")))?;
        let mut c = Crowd {
            ops,
            next: None,
            from,
            to,
        };
        c.advance();
        Ok(c)
    }

    /// Move to the stream's next read within the window.
    fn advance(&mut self) {
        self.next = self.ops.by_ref().find(|op| {
            let at = op.at.as_nanos() as SimTime;
            is_read(op.kind) && at >= self.from && at < self.to
        });
    }

    fn due(&self) -> Option<SimTime> {
        self.next.as_ref().map(|op| ns(op.at.as_nanos() as f64))
    }
}

fn is_read(kind: OpKind) -> bool {
    matches!(kind, OpKind::Feed | OpKind::PhotoGet | OpKind::Search)
}

impl PhotoModel<'_> {
    /// Schedule what the fault windows start by themselves: an event at every window edge,
    /// each burst upload and each crowd's first read.
    pub(super) fn schedule_faults(&mut self, e: &mut Engine<Ev>) {
        let edges: Vec<SimTime> = self.faults.edges().collect();
        for t in edges {
            e.schedule_at(t, Ev::FaultEdge);
        }
        for w in &self.faults.windows {
            if let Effect::CelebrityBurst { photos } = w.effect {
                let step = (w.to - w.from) / u64::from(photos);
                for i in 0..u64::from(photos) {
                    e.schedule_at(w.from + i * step, Ev::Burst);
                }
            }
        }
        for (i, c) in self.crowds.iter().enumerate() {
            if let Some(at) = c.due() {
                e.schedule_at(at, Ev::CrowdOp(i as u8));
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
        self.series.op(kind, t0, e.now(), out);
        if t0 >= self.warmup {
            let ks = &mut self.kinds[kind.index()];
            match out {
                Outcome::Shed => ks.shed += 1,
                _ => ks.errors += 1,
            }
        }
        self.release(e, r, write, server);
    }

    /// One upload of a celebrity burst, by the most-followed author.
    pub(super) fn burst_upload(&mut self, e: &mut Engine<Ev>) {
        self.burst_seq += 1;
        let op = PlannedOp {
            seq: self.burst_seq,
            at: Duration::from_nanos(e.now()),
            kind: OpKind::Upload,
            user: self.faults.celebrity,
            payload: Payload::Upload(UploadSpec {
                bytes: self.photo_kib * 1024,
                video: false,
                title: String::new(),
                content_seed: self.burst_seq,
            }),
        };
        self.launch(e, &op);
    }

    /// Crowd `i`'s due read starts; its next is scheduled.
    pub(super) fn crowd_op(&mut self, e: &mut Engine<Ev>, i: usize) {
        let Some(op) = self.crowds.get_mut(i).and_then(|c| c.next.take()) else {
            return;
        };
        self.launch(e, &op);
        let c = &mut self.crowds[i];
        c.advance();
        if let Some(at) = c.due() {
            e.schedule_at(at, Ev::CrowdOp(i as u8));
        }
    }
}

/// The crowds of `windows`' flash-crowd effects over `src`, each on a stream of `seed`.
pub(super) fn crowds<'a>(
    src: &'a super::source::Source,
    traffic: &TrafficConfig,
    windows: &[super::faults::Open],
    seed: u64,
) -> Result<Vec<Crowd<'a>>> {
    let mut out = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        if let Effect::FlashCrowd { factor } = w.effect {
            let stream = feedlab_workload::hash::mix(seed, 0x4352_4f57_4400, i as u64);
            out.push(Crowd::new(src, traffic, factor, stream, (w.from, w.to))?);
        }
    }
    if out.len() > usize::from(u8::MAX) {
        return Err(invalid("faults", "at most 255 flash-crowd windows"));
    }
    Ok(out)
}
