//! The analytic side of the search: how many nodes of each role a design needs at a load,
//! from one probe run.
//!
//! The probe simulates the design at the load with resources that never queue (a million
//! cores per node, connections and workers without limit), so every resource's busy time is
//! its demand: CPU ms per op from the calibration (service time × CPU share) × the op rate,
//! disk slots and NIC links likewise. The read and write app servers run on two nodes of
//! their own (read on the first); the materializer runs at one write server's share, so its
//! utilisation is the write servers it needs. A role's demand in nodes of its machine is then
//! - **mean**: busy units ÷ one node's capacity. Below it the role's mean utilisation is
//!   ≥ 1, its queue grows without bound, and no target can hold: a count under it is
//!   excluded without simulation;
//! - **busiest**: the same with every node as busy as the probe's busiest (shard skew), the
//!   start of the search once divided by the utilisation aimed at.

use serde::Serialize;

use super::eval::ResourceUse;
use super::space::{Counts, Machines, Role};
use crate::spec::RunSpec;

/// Cores, connections and workers of the probe's unqueued resources.
const UNLIMITED: u32 = 1 << 20;

/// One resource's demand, in nodes of its role's machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDemand {
    /// The simulator's resource name (`app-cpu` split into `app-cpu/read` and `/write`).
    pub resource: String,
    /// The role that adds capacity to it.
    pub role: Role,
    /// Busy units per second at the load (cores, slots, links, workers).
    pub busy_units: f64,
    /// Nodes needed at 100% mean utilisation.
    pub mean_nodes: f64,
    /// Nodes needed with every node as busy as the busiest.
    pub busiest_nodes: f64,
}

/// Every resource's demand of one design at one load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    /// Per resource.
    pub resources: Vec<ResourceDemand>,
}

impl Demand {
    /// The smallest count of `role` whose mean utilisation stays below 1 on every resource.
    pub fn floor(&self, role: Role) -> u32 {
        self.of(role, |d| d.mean_nodes)
    }

    /// The count of `role` at which its busiest node runs at `utilisation`, counting at most
    /// twice the mean's nodes (a hot spot that more nodes cannot split is left to the search).
    pub fn start(&self, role: Role, utilisation: f64) -> u32 {
        self.of(role, |d| {
            d.busiest_nodes.min(2.0 * d.mean_nodes) / utilisation
        })
    }

    fn of(&self, role: Role, f: impl Fn(&ResourceDemand) -> f64) -> u32 {
        let need = self
            .resources
            .iter()
            .filter(|d| d.role == role)
            .map(&f)
            .fold(0.0, f64::max);
        // A hair under an integer is that integer (busy times are sums of floats).
        ((need - 1e-9).ceil().max(1.0)).min(f64::from(u32::MAX)) as u32
    }
}

/// The probe's spec: `spec` (a candidate's) with nothing that queues but the disks, the NICs
/// and the materializer, its two app servers on two nodes.
pub fn probe_spec(spec: &RunSpec) -> RunSpec {
    let mut s = spec.clone();
    s.variant = format!("probe-{}", s.variant);
    s.sim.read_servers = 1;
    s.sim.write_servers = 1;
    s.sim.connections = UNLIMITED;
    s.sim.backlog = UNLIMITED;
    s.sim.shard_workers = UNLIMITED;
    s.sim.blob_workers = UNLIMITED;
    let d = &mut s.sim.deployment;
    d.app_nodes = 2;
    d.app_cores = f64::from(UNLIMITED);
    d.shard_cores = f64::from(UNLIMITED);
    d.blob_cores = f64::from(UNLIMITED);
    s
}

/// The demand the probe of `counts` (run with [`probe_spec`] of `base`'s candidate) measured,
/// for nodes of `machines` with `base`'s per-node workers, connections and disk slots.
pub fn demand(
    probe: &[ResourceUse],
    counts: &Counts,
    machines: &Machines,
    base: &RunSpec,
) -> Demand {
    let mut out = Vec::new();
    let mut push = |resource: &str, role, busy: f64, mean: f64, busiest: f64| {
        out.push(ResourceDemand {
            resource: resource.to_string(),
            role,
            busy_units: busy,
            mean_nodes: mean,
            busiest_nodes: busiest.max(mean),
        });
    };
    let per_node = |name: &str| -> f64 {
        match name {
            "shard-cpu" => f64::from(machines.shard.cores),
            "blob-cpu" => f64::from(machines.blob.cores),
            "shard-workers" => f64::from(base.sim.shard_workers),
            "blob-workers" => f64::from(base.sim.blob_workers),
            "shard-disk" | "blob-disk" => f64::from(base.sim.deployment.disk_parallel),
            _ => 1.0,
        }
    };
    for r in probe {
        let busiest_busy = r.utilisation * r.capacity;
        match r.name.as_str() {
            "app-cpu" | "app-connections" => {
                let cap = if r.name == "app-cpu" {
                    f64::from(machines.app.cores)
                } else {
                    f64::from(base.sim.connections)
                };
                for (side, role, busy) in app_sides(r) {
                    let name = format!("{}/{side}", r.name);
                    push(&name, role, busy, busy / cap, busy / cap);
                }
            }
            "materializer" => push(
                &r.name,
                Role::WriteServers,
                r.busy_units,
                r.utilisation,
                r.utilisation,
            ),
            "blob-nic" => {
                // Two links a node (in, out); the busiest link is the direction that counts.
                let nodes = f64::from(counts.blob_nodes);
                push(
                    &r.name,
                    Role::BlobNodes,
                    r.busy_units,
                    r.busy_units / 2.0,
                    r.utilisation * nodes,
                );
            }
            name => {
                let Some(role) = super::eval::role_of(name) else {
                    continue;
                };
                let cap = per_node(name);
                let nodes = r.nodes.max(1) as f64;
                push(
                    name,
                    role,
                    r.busy_units,
                    r.busy_units / cap,
                    busiest_busy * nodes / cap,
                );
            }
        }
    }
    Demand { resources: out }
}

/// The probe's app resource `r` split into its read node (the first, and the busiest: reads
/// outnumber writes) and its write node: `(side, role, busy units)`.
fn app_sides(r: &ResourceUse) -> [(&'static str, Role, f64); 2] {
    let read = r.utilisation * r.capacity;
    let write = (r.busy_units - read).max(0.0);
    [
        ("read", Role::ReadServers, read),
        ("write", Role::WriteServers, write),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand_of(rs: Vec<ResourceDemand>) -> Demand {
        Demand { resources: rs }
    }

    #[test]
    fn floors_and_starts_round_up_per_role() {
        let d = demand_of(vec![
            ResourceDemand {
                resource: "shard-cpu".into(),
                role: Role::Shards,
                busy_units: 10.0,
                mean_nodes: 2.5,
                busiest_nodes: 3.0,
            },
            ResourceDemand {
                resource: "shard-disk".into(),
                role: Role::Shards,
                busy_units: 10.0,
                mean_nodes: 3.0000000001,
                busiest_nodes: 3.2,
            },
        ]);
        assert_eq!(d.floor(Role::Shards), 3);
        assert_eq!(d.start(Role::Shards, 0.5), 7);
        assert_eq!(d.floor(Role::ReadServers), 1);
        assert_eq!(d.floor(Role::BlobNodes), 1, "no demand: one node");
    }
}
