//! The resources that run out, placed by `[sim.deployment]`: the CPU cores of each node (a
//! [`Cores`] per node, processor-shared or time-sliced), a disk per storage node and a NIC
//! per blob node (FIFO [`Station`]s of I/O slots and of one link per direction).
//!
//! A storage call or app step is a [`Call`]: CPU demand served by the cores of the node it
//! runs on, then a wait that uses no CPU (I/O, fsync). A durable call's wait is a disk I/O
//! that queues for the node's disk; a blob transfer crosses the blob node's NIC. Under
//! [`Layout::Unlimited`] there are no nodes and a call simply takes `cpu + wait`.

use rand_chacha::ChaCha8Rng;

use super::calib::{CpuShare, OpCost};
use super::config::{Deployment, Layout};
use super::state::Job;
use crate::cores::Cores;
use crate::engine::{NANOS_PER_SEC, SimTime, ns};
use crate::error::Result;
use crate::station::{QueueLimit, Station};
use crate::threads::Threaded;
use crate::{ServiceDist, station::PoolStats};

/// One storage call or app step: CPU demand and a non-CPU wait, ns; `io` bytes written
/// durably (0: no disk I/O); `net` bytes of a blob transfer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Call {
    pub cpu: SimTime,
    pub wait: SimTime,
    pub io: u32,
    pub net: u32,
}

impl Call {
    /// Wall time without contention.
    #[inline]
    pub fn total(self) -> SimTime {
        self.cpu + self.wait
    }

    /// `self` then `o`, as one call.
    #[inline]
    pub fn then(self, o: Call) -> Call {
        Call {
            cpu: self.cpu + o.cpu,
            wait: self.wait + o.wait,
            io: self.io.max(o.io),
            net: self.net.max(o.net),
        }
    }
}

/// One op kind's service time and how it splits into CPU and waiting.
pub(crate) struct Priced {
    pub cost: OpCost,
    pub share: CpuShare,
    /// Bytes written durably per unit of size (0: no disk I/O).
    pub io_per_n: u32,
    /// Bytes crossing a NIC per unit of size (blob transfers).
    pub net_per_n: u32,
    /// The most CPU one call spends, ns, the rest of its time waiting; `None`: its CPU is
    /// its time times `share` (see [`super::transportcpu`]).
    pub cpu_cap: Option<SimTime>,
}

impl Priced {
    /// One call of size `n`.
    #[inline]
    pub fn sample(&self, n: u64, rng: &mut ChaCha8Rng) -> Call {
        self.split(self.cost.sample(n, rng), n)
    }

    /// One call of size `n` at quantile `u` (see [`OpCost::sample_at`]).
    #[inline]
    pub fn sample_at(&self, n: u64, u: f64, rng: &mut ChaCha8Rng) -> Call {
        self.split(self.cost.sample_at(n, u, rng), n)
    }

    /// `k` calls of size `n` as one (see [`OpCost::sample_many`]).
    #[inline]
    pub fn sample_many(&self, k: u64, n: u64, rng: &mut ChaCha8Rng) -> Call {
        self.split(self.cost.sample_many(k, n, rng), n)
    }

    #[inline]
    fn split(&self, t: SimTime, n: u64) -> Call {
        let cpu = match self.cpu_cap {
            Some(cap) => t.min(cap),
            None => (t as f64 * self.share.at(n)) as SimTime,
        };
        Call {
            cpu,
            wait: t - cpu.min(t),
            io: (u64::from(self.io_per_n) * n).min(u64::from(u32::MAX)) as u32,
            net: (u64::from(self.net_per_n) * n).min(u64::from(u32::MAX)) as u32,
        }
    }
}

/// What follows a finished CPU demand.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CpuNext {
    /// The generator issued request `.0`: it starts (dispatch, then its app server).
    Issue {
        /// The request.
        req: u32,
        /// The rest of its transport, spent waiting before it starts.
        wait: SimTime,
    },
    /// Request `req`'s app step ran; it resumes after `wait`.
    App { req: u32, wait: SimTime },
    /// A call on shard `shard` ran its CPU part; `wait` and `io` follow.
    Shard {
        shard: u16,
        job: Job,
        wait: SimTime,
        io: u32,
    },
    /// A blob call ran its CPU part on blob node `node` (index among the blob nodes): its
    /// `bytes` cross the NIC (in for a put, which writes `io` bytes, out for a get), then
    /// `wait` or the disk.
    Blob {
        node: u16,
        job: Job,
        wait: SimTime,
        io: u32,
        bytes: u32,
    },
    /// Nothing waits for it (background work).
    Nothing,
}

/// What follows a disk I/O or a NIC transfer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IoNext {
    /// Shard `.0`'s call `.1` is done.
    Shard(u16, Job),
    /// A blob call is done (`wait` still to go, `io` bytes still to write on `node`).
    Blob {
        node: u16,
        job: Job,
        wait: SimTime,
        io: u32,
    },
}

/// A FIFO station of `slots` parallel slots and an unbounded queue (a
/// disk's I/O slots or one NIC link); service times are given per use.
fn fifo(slots: u32) -> Result<Station<IoNext>> {
    Station::new(slots, ServiceDist::deterministic(0), QueueLimit::Unbounded)
}

/// The nodes of a deployment and where each role runs.
pub(crate) struct Resources {
    pub layout: Layout,
    /// CPU of each node, behind its threads.
    pub cpus: Vec<Threaded<CpuNext>>,
    /// Disk of each node (`None`: an app node).
    pub disks: Vec<Option<Station<IoNext>>>,
    /// NIC links of each blob node: (in, out).
    pub nics: Vec<(Station<IoNext>, Station<IoNext>)>,
    pub app_node: Vec<u16>,
    pub shard_node: Vec<u16>,
    pub blob_node: Vec<u16>,
    pub next_blob: usize,
    /// Role name of each node (`box`, `app`, `shard`, `blob`).
    pub role: Vec<&'static str>,
    pub ns_per_byte_disk: f64,
    pub min_io: SimTime,
    pub fsync: Option<SimTime>,
    pub ns_per_byte_nic: f64,
    /// CPU slice of every node's cores, ns (0: processor sharing).
    pub slice: SimTime,
    /// Threads of every node (0: unlimited).
    pub threads: usize,
    pub generator: bool,
    pub background: bool,
    /// Speed of every node's cores against the calibration's machine (`cpu-speed`).
    pub speed: f64,
    /// Finished CPU jobs of the current tick (reused buffer).
    pub done: Vec<CpuNext>,
}

impl Resources {
    /// The nodes of `d` for `app_servers` app servers and `shards` shards.
    pub fn new(d: &Deployment, app_servers: usize, shards: usize) -> Result<Self> {
        let mut r = Resources::unplaced(d);
        match d.layout {
            Layout::Unlimited => {}
            Layout::OneBox => {
                r.add(d.cores, "box", Some(fifo(d.disk_parallel)?));
                r.app_node = vec![0; app_servers];
                r.shard_node = vec![0; shards];
                r.blob_node = vec![0];
                r.ns_per_byte_nic = 0.0;
            }
            Layout::PerRole => r.place_per_role(d, app_servers, shards)?,
        }
        if r.ns_per_byte_nic > 0.0 {
            for _ in 0..r.blob_node.len() {
                r.nics.push((fifo(1)?, fifo(1)?));
            }
        }
        Ok(r)
    }

    /// `d`'s resources before any node is placed: no nodes, no roles, the
    /// disk, NIC and fsync rates and the generator and background flags.
    fn unplaced(d: &Deployment) -> Resources {
        Resources {
            layout: d.layout,
            cpus: Vec::new(),
            disks: Vec::new(),
            nics: Vec::new(),
            app_node: Vec::new(),
            shard_node: Vec::new(),
            blob_node: Vec::new(),
            next_blob: 0,
            role: Vec::new(),
            ns_per_byte_disk: NANOS_PER_SEC as f64 / (d.disk_mb_s * 1e6),
            min_io: ns(f64::from(d.disk_parallel) * NANOS_PER_SEC as f64 / d.disk_iops),
            fsync: d.fsync_ms.map(|ms| ns(ms * 1e6)),
            ns_per_byte_nic: if d.nic_gbps > 0.0 {
                8.0 / d.nic_gbps
            } else {
                0.0
            },
            slice: ns(d.cpu_slice_ms * 1e6),
            threads: d.cpu_threads as usize,
            generator: d.generator_on_box,
            background: d.background_cpu,
            speed: d.cpu_speed,
            done: Vec::new(),
        }
    }

    /// Place the per-role layout's nodes, in this order: app nodes
    /// (`d.app_nodes`, or one per app server when 0), shard nodes
    /// (`d.shard_nodes`, or one per shard when 0), then `d.blob_nodes` blob
    /// nodes. App servers and shards go round-robin over their nodes; shard
    /// and blob nodes have a disk.
    fn place_per_role(&mut self, d: &Deployment, app_servers: usize, shards: usize) -> Result<()> {
        let apps = if d.app_nodes == 0 {
            app_servers
        } else {
            d.app_nodes as usize
        };
        let first = self.cpus.len();
        for _ in 0..apps.max(1) {
            self.add(d.app_cores, "app", None);
        }
        self.app_node = (0..app_servers)
            .map(|i| (first + i % apps.max(1)) as u16)
            .collect();
        let nodes = if d.shard_nodes == 0 {
            shards
        } else {
            d.shard_nodes as usize
        };
        let first = self.cpus.len();
        for _ in 0..nodes.max(1) {
            self.add(d.shard_cores, "shard", Some(fifo(d.disk_parallel)?));
        }
        self.shard_node = (0..shards)
            .map(|s| (first + s % nodes.max(1)) as u16)
            .collect();
        let first = self.cpus.len();
        for _ in 0..d.blob_nodes {
            self.add(d.blob_cores, "blob", Some(fifo(d.disk_parallel)?));
        }
        self.blob_node = (0..d.blob_nodes as usize)
            .map(|i| (first + i) as u16)
            .collect();
        Ok(())
    }

    fn add(&mut self, cores: f64, role: &'static str, disk: Option<Station<IoNext>>) {
        // Cores were validated > 0 with the deployment.
        if let Ok(c) = Cores::new(cores, self.slice) {
            self.cpus.push(Threaded::new(c, self.threads));
            self.disks.push(disk);
            self.role.push(role);
        }
    }

    /// Whether calls run on modelled nodes.
    #[inline]
    pub fn on(&self) -> bool {
        self.layout != Layout::Unlimited
    }

    /// The next blob node (transfers are spread round-robin) as (index, cpu node).
    pub fn pick_blob(&mut self) -> (u16, u16) {
        let i = self.next_blob % self.blob_node.len().max(1);
        self.next_blob = self.next_blob.wrapping_add(1);
        (i as u16, self.blob_node.get(i).copied().unwrap_or(0))
    }

    /// How long a durable I/O of `io` bytes with non-CPU time `wait` holds a disk slot.
    #[inline]
    pub fn disk_service(&self, wait: SimTime, io: u32) -> SimTime {
        let lat = self.fsync.unwrap_or(wait);
        (lat + ns(f64::from(io) * self.ns_per_byte_disk)).max(self.min_io)
    }

    /// How long `bytes` hold a NIC link.
    #[inline]
    pub fn nic_service(&self, bytes: u32) -> SimTime {
        ns(f64::from(bytes) * self.ns_per_byte_nic)
    }

    /// Statistics restart at `now`.
    pub fn reset_stats(&mut self, now: SimTime) {
        for c in &mut self.cpus {
            c.reset_stats(now);
        }
        for d in self.disks.iter_mut().flatten() {
            d.reset_stats(now);
        }
        for (a, b) in &mut self.nics {
            a.reset_stats(now);
            b.reset_stats(now);
        }
    }

    /// Disk and NIC statistics of each node that has them, by role.
    pub fn io_stats(&self, now: SimTime) -> (Vec<(&'static str, PoolStats)>, Vec<PoolStats>) {
        let disks = self
            .disks
            .iter()
            .zip(&self.role)
            .filter_map(|(d, role)| d.as_ref().map(|d| (*role, d.stats(now))))
            .collect();
        let nics = self
            .nics
            .iter()
            .flat_map(|(a, b)| [a.stats(now), b.stats(now)])
            .collect();
        (disks, nics)
    }
}
