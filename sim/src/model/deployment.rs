//! `[sim.deployment]`: where the service's roles run and what each node has (cores and how
//! the kernel shares them, a disk, a NIC). [`super::resources`] turns it into nodes.

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// Where the service's roles run, which fixes what shares cores, disks and NICs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// No resource model: every node has a core for each runnable job, disks and NICs never
    /// queue. Latency grows only from the app-server, shard-worker and blob-worker queues.
    #[default]
    Unlimited,
    /// Every role on one node of `cores` cores and one disk, without a network (the live run
    /// on one box, direct calls): app steps, storage calls, the materializer's inserts and,
    /// with `generator-on-box`, the load generator all share the same cores.
    OneBox,
    /// Each role on its own nodes: `app-nodes` (0: one per app server), `shard-nodes` (0: one
    /// per shard; shards placed round-robin), `blob-nodes`; each shard and blob node has a
    /// disk and each blob node a NIC.
    PerRole,
}

/// `[sim.deployment]`: the nodes of each role, their cores, disks and NICs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Deployment {
    /// Unlimited (default), one-box or per-role.
    pub layout: Layout,
    /// Cores of the one box (one-box). Default 2.
    pub cores: f64,
    /// How each node's cores are shared, ms of CPU. 0 (default): processor sharing, every
    /// runnable job progresses at once ([`crate::ps`]). Above 0: time slices, as a kernel
    /// shares them ([`crate::sliced`]): a job runs up to this much CPU before it yields its
    /// core to the jobs waiting, those that have not run yet first. Linux's scheduler
    /// (EEVDF) gives 0.75 ms × (1 + log2 cores), 1.5 ms on two cores.
    pub cpu_slice_ms: f64,
    /// Threads in front of each node's cores ([`crate::threads`]): at most this many jobs
    /// are on the cores at once, the others wait first come first served for one to
    /// finish, as requests wait for an async runtime's workers. 0 (default): unlimited.
    pub cpu_threads: u32,
    /// App nodes (per-role; 0: one per app server). Default 0.
    pub app_nodes: u32,
    /// Cores per app node. Default 8.
    pub app_cores: f64,
    /// Shard nodes (per-role; 0: one per shard). Default 0.
    pub shard_nodes: u32,
    /// Cores per shard node. Default 8.
    pub shard_cores: f64,
    /// Blob-store nodes (per-role). Default 1.
    pub blob_nodes: u32,
    /// Cores per blob node. Default 8.
    pub blob_cores: f64,
    /// The load generator runs on the app node of each op (the box, one-box) and its CPU per
    /// op (calibration op `generator`) is a demand there that delays the op's start. Default
    /// false: the clients are elsewhere.
    pub generator_on_box: bool,
    /// CPU per completed op spent outside any measured call (calibration op `background`:
    /// flushes, compaction, the runtime), charged to the op's home shard node. Default true.
    pub background_cpu: bool,
    /// I/Os a disk serves at once. Default 8.
    pub disk_parallel: u32,
    /// I/Os per second a disk sustains; each I/O holds its slot at least
    /// `disk-parallel / disk-iops`. Default 50,000.
    pub disk_iops: f64,
    /// Disk bandwidth, MB/s. Default 1,000.
    pub disk_mb_s: f64,
    /// Fsync latency of a durable write, ms; `None`: the call's measured non-CPU time.
    pub fsync_ms: Option<f64>,
    /// NIC bandwidth of a blob node for photo bytes, Gbit/s per direction; 0: not modelled
    /// (no network between the roles, as with direct calls on one box). Default 10.
    pub nic_gbps: f64,
    /// Speed of every node's cores against the machine the calibration measured: each CPU
    /// demand takes `1 / cpu-speed` of its calibrated CPU time. Default 1 (left out of a
    /// written spec when 1).
    #[serde(skip_serializing_if = "is_unit")]
    pub cpu_speed: f64,
}

fn is_unit(v: &f64) -> bool {
    *v == 1.0
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            layout: Layout::Unlimited,
            cores: 2.0,
            cpu_slice_ms: 0.0,
            cpu_threads: 0,
            app_nodes: 0,
            app_cores: 8.0,
            shard_nodes: 0,
            shard_cores: 8.0,
            blob_nodes: 1,
            blob_cores: 8.0,
            generator_on_box: false,
            background_cpu: true,
            disk_parallel: 8,
            disk_iops: 50_000.0,
            disk_mb_s: 1_000.0,
            fsync_ms: None,
            nic_gbps: 10.0,
            cpu_speed: 1.0,
        }
    }
}

impl Deployment {
    /// Check ranges; the error names the key (`deployment.<key>`).
    pub fn validate(&self) -> Result<()> {
        let pos = [
            ("cores", self.cores),
            ("app-cores", self.app_cores),
            ("shard-cores", self.shard_cores),
            ("blob-cores", self.blob_cores),
            ("disk-iops", self.disk_iops),
            ("disk-mb-s", self.disk_mb_s),
            ("cpu-speed", self.cpu_speed),
        ];
        for (key, v) in pos {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid("sim", format!("deployment.{key} must be > 0")));
            }
        }
        if self.blob_nodes == 0 || self.disk_parallel == 0 {
            return Err(invalid(
                "sim",
                "deployment.blob-nodes and deployment.disk-parallel must be at least 1",
            ));
        }
        if !(self.cpu_slice_ms.is_finite() && self.cpu_slice_ms >= 0.0) {
            return Err(invalid("sim", "deployment.cpu-slice-ms must be >= 0"));
        }
        if !(self.nic_gbps.is_finite() && self.nic_gbps >= 0.0) {
            return Err(invalid("sim", "deployment.nic-gbps must be >= 0"));
        }
        if let Some(f) = self.fsync_ms
            && !(f.is_finite() && f >= 0.0)
        {
            return Err(invalid("sim", "deployment.fsync-ms must be >= 0"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cores::Cores;
    use crate::model::resources::Resources;

    /// A change that makes a deployment invalid.
    type Spoil = fn(&mut Deployment);

    #[test]
    fn each_bad_key_is_an_error_that_names_it() {
        assert!(Deployment::default().validate().is_ok());
        let cases: [(&str, Spoil); 6] = [
            ("deployment.cores", |d| d.cores = 0.0),
            ("deployment.cpu-speed", |d| d.cpu_speed = f64::INFINITY),
            ("deployment.cpu-slice-ms", |d| d.cpu_slice_ms = -1.0),
            ("deployment.cpu-slice-ms", |d| d.cpu_slice_ms = f64::NAN),
            ("deployment.nic-gbps", |d| d.nic_gbps = -1.0),
            ("deployment.fsync-ms", |d| d.fsync_ms = Some(-1.0)),
        ];
        for (key, spoil) in cases {
            let mut d = Deployment::default();
            spoil(&mut d);
            let e = d.validate().expect_err(key).to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn a_slice_and_a_thread_count_reach_every_node() {
        let mut d = Deployment {
            layout: Layout::PerRole,
            ..Deployment::default()
        };
        let shared = Resources::new(&d, 2, 4).expect("nodes");
        assert!(
            shared
                .cpus
                .iter()
                .all(|c| matches!(c.cores(), Cores::Shared(_)))
        );
        d.cpu_slice_ms = 1.5;
        let sliced = Resources::new(&d, 2, 4).expect("nodes");
        assert_eq!(sliced.cpus.len(), shared.cpus.len());
        assert!(
            sliced
                .cpus
                .iter()
                .all(|c| matches!(c.cores(), Cores::Sliced(_)))
        );
        assert!(sliced.cpus.iter().all(|c| c.limit() == 0));
        d.cpu_threads = 4;
        let threaded = Resources::new(&d, 2, 4).expect("nodes");
        assert!(threaded.cpus.iter().all(|c| c.limit() == 4));
    }
}
