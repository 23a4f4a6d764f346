//! The client side of an op: the driver starts it (or, with `client-max-in-flight` ops
//! already running, drops it at once, for no CPU, as the live driver does), the client's
//! CPU for it (the generator's and the transport's, with a resource model) runs on its app
//! node, then after the dispatch delay it reaches its app server's connection pool.

use feedlab_workload::{OpKind, Payload, PlannedOp};
use rand::Rng;

use super::resources::{Call, CpuNext};
use super::series::Outcome;
use super::state::{Ev, PhotoModel, Req};
use super::wake::Woken;
use crate::engine::{Engine, SimTime};
use crate::station::Acquire;

impl PhotoModel<'_> {
    /// Start op `op` now: its request, its app server (by `op.seq`) and its client CPU.
    pub(super) fn launch(&mut self, e: &mut Engine<Ev>, op: &PlannedOp) {
        self.launch_as(e, op, false);
    }

    /// [`Self::launch`], for a celebrity burst's upload when `burst`: it takes none of the
    /// driver's slots (`client-max-in-flight`) and is never dropped.
    pub(super) fn launch_as(&mut self, e: &mut Engine<Ev>, op: &PlannedOp, burst: bool) {
        let now = e.now();
        if !burst && self.client_full() {
            self.count_drop(op.kind, now, now);
            return;
        }
        let (other, bytes) = match &op.payload {
            Payload::Upload(u) => (0, u.bytes),
            Payload::Follow { leader } | Payload::Unfollow { leader } => (*leader, 0),
            _ => (0, 0),
        };
        // A view's size is drawn now: it prices its transport as well as its blob read.
        let bytes = match op.kind {
            OpKind::PhotoGet => self.views.kib(&mut self.view_rng) * 1024,
            _ => bytes,
        };
        let write = matches!(op.kind, OpKind::Upload | OpKind::Follow | OpKind::Unfollow);
        let idx = self.alloc(Req {
            kind: op.kind,
            user: op.user,
            other,
            bytes,
            t0: now,
            write,
            server: 0,
            phase: 0,
            cands: 0,
            shape: Default::default(),
            pending: Vec::new(),
            calls: Default::default(),
            burst,
        });
        let servers = if write {
            self.write_pools.len()
        } else {
            self.read_pools.len()
        };
        self.reqs[idx as usize].server = (op.seq % servers as u64) as u16;
        let node = self.app_node(idx);
        match self.client_cpu(op.kind, bytes, node, e.now()) {
            Some((demand, wait, beside)) => {
                if beside > 0 {
                    self.cpu(e, node, beside, CpuNext::Nothing);
                }
                self.cpu(e, node, demand, CpuNext::Issue { req: idx, wait });
            }
            None => self.issued(e, idx, 0),
        }
    }

    /// Whether `client-max-in-flight` ops are running (a request's slot is held from its
    /// launch to its end).
    fn client_full(&self) -> bool {
        self.client_slots.is_some_and(|max| {
            self.reqs.len() - self.free.len() - self.burst.in_flight as usize >= max
        })
    }

    /// The client has issued request `idx`: after `wait` (the part of its transport that is
    /// not CPU) and its dispatch delay, it reaches its app server.
    pub(super) fn issued(&mut self, e: &mut Engine<Ev>, idx: u32, wait: SimTime) {
        let dispatch = match &self.costs.dispatch {
            Some(d) => d.sample(1, &mut self.rng.service),
            None => 0,
        };
        match wait + dispatch {
            0 if self.costs.dispatch.is_none() => self.admit(e, idx),
            t => e.schedule_in(t, Ev::Start { req: idx }),
        }
    }

    /// Request `idx` reaches its app server: a connection, a backlog slot
    /// or a drop.
    pub(super) fn admit(&mut self, e: &mut Engine<Ev>, idx: u32) {
        let now = e.now();
        let req = &self.reqs[idx as usize];
        let (kind, server) = (req.kind, usize::from(req.server));
        let pools = if req.write {
            &mut self.write_pools
        } else {
            &mut self.read_pools
        };
        match pools[server].acquire(now, idx) {
            Acquire::Granted(r) => self.advance(e, r),
            Acquire::Queued => {}
            Acquire::Rejected(r) => {
                self.count_drop(kind, self.reqs[r as usize].t0, now);
                self.free.push(r);
            }
        }
    }

    /// Count an op of `kind`, intended at `t0`, as dropped at `now`.
    fn count_drop(&mut self, kind: OpKind, t0: SimTime, now: SimTime) {
        if now >= self.warmup {
            self.kinds[kind.index()].dropped += 1;
        }
        self.series.op(kind, t0, now, Outcome::Dropped);
    }

    fn alloc(&mut self, r: Req) -> u32 {
        match self.free.pop() {
            Some(i) => {
                let shape = std::mem::take(&mut self.reqs[i as usize].shape);
                let mut pending = std::mem::take(&mut self.reqs[i as usize].pending);
                pending.clear();
                self.reqs[i as usize] = Req {
                    shape,
                    pending,
                    ..r
                };
                i
            }
            None => {
                self.reqs.push(r);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    /// CPU an op of `kind` spends before it reaches its app server `node` at `now`, with a
    /// resource model (the generator's work for it, when the generator shares the cores, and
    /// its transport's CPU share), and the wait that follows it (the rest of its transport,
    /// plus what the [`super::TransportRise`], if any, adds at the node's busy fraction). A
    /// view's transport CPU follows its `bytes` ([`super::views::ViewTransport`]).
    pub(super) fn client_cpu(
        &mut self,
        kind: OpKind,
        bytes: u64,
        node: u16,
        now: SimTime,
    ) -> Option<(SimTime, SimTime, SimTime)> {
        if !self.res.on() {
            return None;
        }
        let generator = self.costs.generator.as_ref().filter(|_| self.res.generator);
        let transport = self.costs.transport[kind.index()].as_ref();
        if generator.is_none() && transport.is_none() {
            return None;
        }
        let rng = &mut self.rng.service;
        let g = generator.map_or(0, |c| c.sample(1, rng));
        let (t, u) = match transport {
            Some(c) => {
                let u: f64 = rng.random();
                (c.sample_at(1, u, rng), u)
            }
            None => (Call::default(), 0.0),
        };
        let t = match (kind, &self.view_transport) {
            (OpKind::PhotoGet, Some(v)) => Call {
                cpu: v.cpu(t.cpu, bytes.div_ceil(1024).max(1)),
                ..t
            },
            _ => t,
        };
        let wait = match &self.costs.rise {
            Some(r) => {
                // The transport takes `f` times its drawn time; what it adds is waiting.
                let rho = self.res.cpus[usize::from(node)].recent_utilisation(now);
                let f = r.factor(r.exponent(kind.name(), u), rho);
                t.wait + ((t.cpu + t.wait) as f64 * (f - 1.0)) as SimTime
            }
            None => t.wait,
        };
        let woken = match &self.costs.fall {
            Some(f) if self.costs.wake.share > 0.0 => {
                let rho = self.res.cpus[usize::from(node)].recent_utilisation(now);
                let decay = self.costs.wake_decay[kind.index()];
                self.costs.wake.split(t.cpu, wait, decay, f, rho)
            }
            _ => Woken {
                cpu: t.cpu,
                wait,
                beside: 0,
            },
        };
        Some((g + woken.cpu, woken.wait, woken.beside))
    }
}
