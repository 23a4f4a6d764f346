//! The design space `feedlab tune` searches, resolved from a scenario's `[tune]` table, its
//! `[plan]` and the catalogue: the designs (fan-out strategy and hybrid threshold, cache
//! entries, replication factor, CDN hit ratio), the count of each resource role and the
//! machine type of each role.
//!
//! Three dimensions are settled by dominance before any simulation, each for a stated
//! reason:
//! - **cache entries**: more photo rows cached never slows a read and costs nothing while
//!   they fit, so the largest allowed count that fits in half a read server's memory is taken;
//! - **replication factor**: the simulator routes every call to a shard's primary, so extra
//!   copies only add machines; the lowest allowed factor is taken (its durability is the
//!   scenario's call, which is why `plan.replication-factor` is the default bound);
//! - **CDN hit ratio**: when the CDN's $/GB is at most the egress price, a higher ratio is
//!   cheaper and takes load off the blob nodes, so the highest allowed ratio is taken;
//!   otherwise both ends are designs of their own.

use feedlab_system::policy::FanoutKind;
use serde::Serialize;

use super::config::{Bound, MAX_NODES, MAX_SHARDS, Rejection, TuneConfig};
use crate::plan::catalogue::{Catalogue, Machine};
use crate::scenario::ScenarioDoc;

/// Bytes one cached photo row takes beyond its row (keys, LRU links, allocator).
const CACHE_ROW_OVERHEAD: u64 = 128;

/// What is chosen before the counts: everything but how many of each machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    /// Fan-out strategy.
    pub fanout: FanoutKind,
    /// Hybrid threshold (full-scale followers), hybrid only.
    pub hybrid_threshold: Option<u64>,
    /// Photo rows cached per read server.
    pub cache_entries: u64,
    /// Copies of each shard.
    pub replication_factor: u32,
    /// Share of photo views the CDN serves (0: no CDN).
    pub cdn_hit_ratio: f64,
}

impl Design {
    /// `push`, `pull`, `hybrid@10000`, ...
    pub fn label(&self) -> String {
        match self.hybrid_threshold {
            Some(t) => format!("{}@{t}", self.fanout.name()),
            None => self.fanout.name().to_string(),
        }
    }
}

/// A role whose count the search sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Metadata shards (one shard node each, times the replication factor in the bill).
    Shards,
    /// Read app servers (one node each).
    ReadServers,
    /// Write app servers (one node each).
    WriteServers,
    /// Blob-store nodes.
    BlobNodes,
}

impl Role {
    /// Every role, in the order the search trims them (the dearest unit first).
    pub const ALL: [Role; 4] = [
        Role::Shards,
        Role::ReadServers,
        Role::WriteServers,
        Role::BlobNodes,
    ];

    /// Its name in keys and output.
    pub fn name(self) -> &'static str {
        match self {
            Role::Shards => "shards",
            Role::ReadServers => "read-servers",
            Role::WriteServers => "write-servers",
            Role::BlobNodes => "blob-nodes",
        }
    }
}

/// How many of each role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Metadata shards.
    pub shards: u32,
    /// Read app servers.
    pub read_servers: u32,
    /// Write app servers.
    pub write_servers: u32,
    /// Blob-store nodes.
    pub blob_nodes: u32,
}

impl Counts {
    /// The count of `role`.
    pub fn get(&self, role: Role) -> u32 {
        match role {
            Role::Shards => self.shards,
            Role::ReadServers => self.read_servers,
            Role::WriteServers => self.write_servers,
            Role::BlobNodes => self.blob_nodes,
        }
    }

    /// `self` with `role` set to `n`.
    pub fn with(mut self, role: Role, n: u32) -> Counts {
        match role {
            Role::Shards => self.shards = n,
            Role::ReadServers => self.read_servers = n,
            Role::WriteServers => self.write_servers = n,
            Role::BlobNodes => self.blob_nodes = n,
        }
        self
    }

    /// `n` of every role.
    pub fn all(n: u32) -> Counts {
        Counts {
            shards: n,
            read_servers: n,
            write_servers: n,
            blob_nodes: n,
        }
    }
}

/// The machine type of each role.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machines {
    /// App servers (read and write).
    pub app: Machine,
    /// Shard servers.
    pub shard: Machine,
    /// Blob nodes.
    pub blob: Machine,
}

/// The resolved space.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    /// The designs to search, in order.
    pub designs: Vec<Design>,
    /// The allowed `(lo, hi)` count of each role, in [`Role::ALL`] order.
    pub limits: [(u32, u32); 4],
    /// The machine of each role.
    pub machines: Machines,
}

impl Space {
    /// Resolves `doc`'s `[tune]` against its `[plan]`, `[sim]` and `catalogue`; the error
    /// names the `[tune]` key whose bound leaves nothing.
    pub fn resolve(doc: &ScenarioDoc, catalogue: &Catalogue) -> Result<Space, Rejection> {
        let t: &TuneConfig = &doc.tune;
        let machine = |key: &'static str, name: &Option<String>| {
            let name = name.as_deref().unwrap_or(&doc.plan.machine);
            catalogue.machine(name).cloned().map_err(|e| (key, e))
        };
        let machines = Machines {
            app: machine("app-machine", &t.app_machine)?,
            shard: machine("shard-machine", &t.shard_machine)?,
            blob: machine("blob-machine", &t.blob_machine)?,
        };
        let limits = [
            (t.shards, MAX_SHARDS),
            (t.read_servers, MAX_NODES),
            (t.write_servers, MAX_NODES),
            (t.blob_nodes, MAX_NODES),
        ]
        .map(|(b, ceil)| b.within(1, ceil).unwrap_or((1, 0)));
        for (role, (lo, hi)) in Role::ALL.iter().zip(limits) {
            if lo > hi {
                return Err((role.name(), "excludes every candidate".into()));
            }
        }
        let cache = cache_entries(doc, &machines.app)?;
        let rf = t
            .replication_factor
            .unwrap_or(Bound::Fixed(doc.plan.replication_factor))
            .within(1, 16)
            .ok_or(("replication-factor", "excludes every candidate".to_string()))?
            .0;
        let cdn = cdn_ratios(t, catalogue)?;
        let mut designs = Vec::new();
        for &fanout in &t.fanout {
            let thresholds: Vec<Option<u64>> = if fanout == FanoutKind::Hybrid {
                t.hybrid_thresholds.iter().map(|&h| Some(h)).collect()
            } else {
                vec![None]
            };
            for h in thresholds {
                for &ratio in &cdn {
                    designs.push(Design {
                        fanout,
                        hybrid_threshold: h,
                        cache_entries: cache,
                        replication_factor: rf,
                        cdn_hit_ratio: ratio,
                    });
                }
            }
        }
        Ok(Space {
            designs,
            limits,
            machines,
        })
    }

    /// The allowed counts of `role`.
    pub fn limit(&self, role: Role) -> (u32, u32) {
        let i = Role::ALL.iter().position(|r| *r == role).unwrap_or(0);
        self.limits[i]
    }
}

/// The largest allowed cache that fits in half of a read server's memory.
fn cache_entries(doc: &ScenarioDoc, app: &Machine) -> Result<u64, Rejection> {
    let bound = doc
        .tune
        .cache_entries
        .unwrap_or(Bound::Fixed(doc.sim.cache.entries as u64));
    let (lo, hi) = bound
        .within(1, u64::MAX)
        .ok_or(("cache-entries", "excludes every candidate".to_string()))?;
    let row = doc.plan.rows.photo + CACHE_ROW_OVERHEAD;
    let fits = (app.memory_gib * f64::from(1u32 << 30) * 0.5 / row as f64) as u64;
    if lo > fits {
        return Err((
            "cache-entries",
            format!(
                "excludes every candidate: {lo} rows of {row} B need more than half of {}'s {} GiB",
                app.name, app.memory_gib
            ),
        ));
    }
    Ok(hi.min(fits))
}

/// The CDN hit ratios to try: the highest allowed when the CDN is no dearer than egress,
/// else both ends of the bound.
fn cdn_ratios(t: &TuneConfig, c: &Catalogue) -> Result<Vec<f64>, Rejection> {
    let bound = t.cdn_hit_ratio.unwrap_or(Bound::Range {
        min: Some(0.0),
        max: Some(c.cdn.hit_ratio),
    });
    let (lo, hi) = bound
        .within(0.0, 1.0)
        .ok_or(("cdn-hit-ratio", "excludes every candidate".to_string()))?;
    if c.cdn.usd_per_gb <= c.egress.usd_per_gb || lo == hi {
        Ok(vec![hi])
    } else {
        Ok(vec![lo, hi])
    }
}
