//! How calls use the deployment's resources ([`super::resources`]): a shard or blob call
//! that a worker starts runs its CPU part on its node's cores, then waits (or queues for the
//! disk, or crosses a NIC); an app step runs on its app node's cores; the generator's and the
//! background's CPU land on the box's cores; an op's client CPU (the generator's, its
//! transport's) runs before it reaches its app server. Without a resource model
//! ([`super::Layout::Unlimited`]) a call takes its drawn time, as a plain station.

use super::resources::{Call, CpuNext, IoNext};
use super::state::{Ev, Job, PhotoModel};
use crate::engine::{Engine, SimTime};
use crate::ps::Tick;
use crate::station::{Admission, Started};

impl PhotoModel<'_> {
    /// Put `demand` ns on node `node`'s cores with continuation `next`. A client or app
    /// step's demand is first scaled by the [`super::FallCurve`] at the node's recent busy
    /// fraction and run queue, if the calibration has a fall; every demand is then divided by
    /// the deployment's `cpu-speed`.
    #[inline]
    pub(super) fn cpu(&mut self, e: &mut Engine<Ev>, node: u16, demand: SimTime, next: CpuNext) {
        let now = e.now();
        let cores = &mut self.res.cpus[usize::from(node)];
        let mut scale = match (&self.costs.fall, next) {
            (Some(f), CpuNext::Issue { .. } | CpuNext::App { .. }) => {
                let rho = cores.recent_utilisation(now);
                f.step_factor(rho, cores.runnable(), cores.cores().count())
            }
            _ => 1.0,
        };
        scale /= self.res.speed;
        let demand = if scale == 1.0 {
            demand
        } else {
            (demand as f64 * scale) as SimTime
        };
        if let Some(t) = cores.arrive(now, demand, next) {
            schedule_tick(e, node, t);
        }
    }

    /// Node `node`'s tick of `generation` fired: run what follows each finished job.
    pub(super) fn cpu_tick(&mut self, e: &mut Engine<Ev>, node: u16, generation: u32) {
        let now = e.now();
        let mut done = std::mem::take(&mut self.res.done);
        done.clear();
        if let Some(t) = self.res.cpus[usize::from(node)].tick(now, generation, &mut done) {
            schedule_tick(e, node, t);
        }
        for &next in &done {
            match next {
                CpuNext::Issue { req, wait } => self.issued(e, req, wait),
                CpuNext::App { req, wait } => e.schedule_in(wait, Ev::AppDone { req }),
                CpuNext::Shard {
                    shard,
                    job,
                    wait,
                    io,
                } => {
                    let n = self.res.shard_node[usize::from(shard)];
                    if io > 0 {
                        self.disk(e, n, wait, io, IoNext::Shard(shard, job));
                    } else {
                        e.schedule_in(wait, Ev::ShardDone { shard, job });
                    }
                }
                CpuNext::Blob {
                    node,
                    job,
                    wait,
                    io,
                    bytes,
                } => {
                    let next = IoNext::Blob {
                        node,
                        job,
                        wait,
                        io,
                    };
                    if bytes > 0 && !self.res.nics.is_empty() {
                        self.nic(e, node, io == 0, bytes, next);
                    } else {
                        self.blob_io(e, next);
                    }
                }
                CpuNext::Nothing => {}
            }
        }
        self.res.done = done;
    }

    /// A durable I/O of `io` bytes after `wait` of non-CPU time on node `node`'s disk.
    fn disk(&mut self, e: &mut Engine<Ev>, node: u16, wait: SimTime, io: u32, next: IoNext) {
        let service = self.res.disk_service(wait, io);
        let now = e.now();
        if let Some(d) = self.res.disks[usize::from(node)].as_mut() {
            if let Admission::Started(s) = d.arrive_with_service(now, next, service) {
                e.schedule_at(s.done_at, Ev::DiskDone { node, next: s.job });
            }
        } else {
            self.io_done(e, next);
        }
    }

    /// `bytes` over blob node `node`'s link (`out`: towards the app servers).
    fn nic(&mut self, e: &mut Engine<Ev>, node: u16, out: bool, bytes: u32, next: IoNext) {
        let service = self.res.nic_service(bytes);
        let now = e.now();
        let (inl, outl) = &mut self.res.nics[usize::from(node)];
        let link = if out { outl } else { inl };
        if let Admission::Started(s) = link.arrive_with_service(now, next, service) {
            e.schedule_at(s.done_at, Ev::NicDone { node, out, next });
        }
    }

    /// The disk of node `node` finished an I/O: start the next, finish this one.
    pub(super) fn disk_done(&mut self, e: &mut Engine<Ev>, node: u16, next: IoNext) {
        let now = e.now();
        if let Some(d) = self.res.disks[usize::from(node)].as_mut()
            && let Some(s) = d.complete(now)
        {
            e.schedule_at(s.done_at, Ev::DiskDone { node, next: s.job });
        }
        self.io_done(e, next);
    }

    /// A NIC link finished a transfer: start the next, go on with this blob call.
    pub(super) fn nic_done(&mut self, e: &mut Engine<Ev>, node: u16, out: bool, next: IoNext) {
        let now = e.now();
        let (inl, outl) = &mut self.res.nics[usize::from(node)];
        let link = if out { outl } else { inl };
        if let Some(s) = link.complete(now) {
            e.schedule_at(
                s.done_at,
                Ev::NicDone {
                    node,
                    out,
                    next: s.job,
                },
            );
        }
        self.blob_io(e, next);
    }

    /// A blob call after its transfer: the disk for a put, else its wait.
    fn blob_io(&mut self, e: &mut Engine<Ev>, next: IoNext) {
        match next {
            IoNext::Blob {
                node,
                job,
                wait,
                io,
            } if io > 0 => {
                let n = self.res.blob_node[usize::from(node)];
                self.disk(
                    e,
                    n,
                    wait,
                    io,
                    IoNext::Blob {
                        node,
                        job,
                        wait: 0,
                        io: 0,
                    },
                );
            }
            IoNext::Blob { job, wait, .. } => e.schedule_in(wait, Ev::BlobDone { job }),
            IoNext::Shard(shard, job) => e.schedule_in(0, Ev::ShardDone { shard, job }),
        }
    }

    fn io_done(&mut self, e: &mut Engine<Ev>, next: IoNext) {
        match next {
            IoNext::Shard(shard, job) => e.schedule_in(0, Ev::ShardDone { shard, job }),
            IoNext::Blob { job, .. } => e.schedule_in(0, Ev::BlobDone { job }),
        }
    }

    /// Shard `shard`'s worker started call `s`: its CPU on the shard's node, or (no resource
    /// model) its whole time.
    #[inline]
    pub(super) fn shard_started(
        &mut self,
        e: &mut Engine<Ev>,
        shard: u16,
        s: Started<(Job, Call)>,
    ) {
        let (job, call) = s.job;
        if self.res.on() {
            let node = self.res.shard_node[usize::from(shard)];
            let next = CpuNext::Shard {
                shard,
                job,
                wait: call.wait,
                io: call.io,
            };
            self.cpu(e, node, call.cpu, next);
        } else {
            e.schedule_at(s.done_at, Ev::ShardDone { shard, job });
        }
    }

    /// A blob worker started call `s`.
    #[inline]
    pub(super) fn blob_started(&mut self, e: &mut Engine<Ev>, s: Started<(Job, Call)>) {
        let (job, call) = s.job;
        if self.res.on() {
            let (node, cpu) = self.res.pick_blob();
            let next = CpuNext::Blob {
                node,
                job,
                wait: call.wait,
                io: call.io,
                bytes: call.net,
            };
            self.cpu(e, cpu, call.cpu, next);
        } else {
            e.schedule_at(s.done_at, Ev::BlobDone { job });
        }
    }

    /// Request `r`'s app step `call` on its app server's node; it resumes after.
    pub(super) fn app_call(&mut self, e: &mut Engine<Ev>, r: u32, call: Call) {
        if self.res.on() {
            let node = self.app_node(r);
            let next = CpuNext::App {
                req: r,
                wait: call.wait,
            };
            self.cpu(e, node, call.cpu, next);
        } else {
            e.schedule_in(call.total(), Ev::AppDone { req: r });
        }
    }

    /// The node of request `r`'s app server.
    pub(super) fn app_node(&self, r: u32) -> u16 {
        let req = &self.reqs[r as usize];
        let i = usize::from(req.server) + if req.write { self.read_pools.len() } else { 0 };
        self.res.app_node.get(i).copied().unwrap_or(0)
    }

    /// CPU per op outside any measured call, on request `r`'s home shard node, scaled by the
    /// calibration's fall (without the crowding) at that node's recent busy fraction.
    pub(super) fn background(&mut self, e: &mut Engine<Ev>, r: u32) {
        if !self.res.on() || !self.res.background {
            return;
        }
        let Some(b) = &self.costs.background else {
            return;
        };
        let mut demand = b.sample(1, &mut self.rng.service);
        let user = self.reqs[r as usize].user;
        let node = self.res.shard_node[self.src.user_shard(user)];
        // The measured fall is of all the CPU per op that is not storage calls, the
        // background's too.
        if let Some(f) = &self.costs.fall {
            let rho = self.res.cpus[usize::from(node)].recent_utilisation(e.now());
            demand = (demand as f64 * f.factor(rho)) as SimTime;
        }
        self.cpu(e, node, demand, CpuNext::Nothing);
    }
}

#[inline]
fn schedule_tick(e: &mut Engine<Ev>, node: u16, t: Tick) {
    e.schedule_at(
        t.at,
        Ev::CpuTick {
            node,
            generation: t.generation,
        },
    );
}
