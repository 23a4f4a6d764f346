//! Calibration files: measured service-time distributions of a real backend.
//!
//! `feedlab calibrate` writes one; scenarios point at it with
//! `[sim] calibration = "..."`. Each op kind (`get`, `batch-get`, `scan`,
//! `timeline-insert`, `write`, `cas`, `blob-put`, `blob-get`, `merge`) is
//! measured at one or more sizes `n` (keys, rows, entries or KiB), each as
//! empirical quantiles. [`OpCost`] samples a size in between by drawing one
//! uniform `u` and interpolating the two neighbouring sizes' quantiles at `u`
//! linearly in `n` (extrapolating from the last two beyond the largest), so
//! the cost of a scan of 57 rows follows from scans of 36 and 200.
//!
//! ```toml
//! [provenance]
//! date = "2025-01-01T00:00:00Z"
//! host = "ci"
//! cores = 2
//! git-rev = "abc123"
//! backend = "embedded"
//!
//! [[ops]]
//! op = "scan"
//! n = 36
//! count = 2000
//! mean-ms = 0.02
//! quantiles-ms = [[0.5, 0.018], [0.9, 0.03], [0.99, 0.07], [1.0, 0.4]]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::cpufall::CpuFall;
use crate::dist::{DistSpec, Empirical, ServiceDist};
use crate::engine::{NANOS_PER_MILLI, SimTime, ns};
use crate::error::{Result, invalid};

/// Where and how a calibration was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case")]
pub struct Provenance {
    /// When (UTC, RFC 3339).
    pub date: String,
    /// Host name.
    pub host: String,
    /// Logical CPU cores of the host.
    pub cores: u32,
    /// `git rev-parse HEAD` of the tree that measured, if known.
    pub git_rev: String,
    /// Backend measured (`embedded`: fjall + local blob store).
    pub backend: String,
    /// Free-form notes (sizes, durability, temp dir).
    pub notes: String,
    /// Cores' worth of CPU that other processes on the host used while this was measured (an
    /// in-situ calibration's other tenants); absent when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_cores: Option<f64>,
    /// Cores' worth of CPU the measuring process itself used (an in-situ calibration's
    /// service and load generator); absent when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_cores: Option<f64>,
    /// The process's CPU per op issued, ms (an in-situ calibration's); absent when not
    /// measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_per_op_ms: Option<f64>,
    /// The process's context switches per op issued (an in-situ calibration's): how often
    /// its threads parked and woke; absent when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switches_per_op: Option<f64>,
    /// Cores' worth of CPU the measuring process got when it was saturated (an in-situ
    /// calibration burst that dropped ops): the share of the box a service on it can use;
    /// absent when not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturated_cores: Option<f64>,
    /// The process's CPU per op that ran in the calibration burst's first phase, ms: the
    /// run's own load measured again seconds after its window, by the same process. Set
    /// beside `cpu-per-op-ms`, it shows whether the machine's speed held through the run;
    /// absent without a burst.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst_cpu_per_op_ms: Option<f64>,
}

/// One measured op at one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CalibOp {
    /// Op kind (`get`, `scan`, ...).
    pub op: String,
    /// Size: keys, rows, entries or KiB, per op kind.
    pub n: u32,
    /// Samples measured.
    pub count: u64,
    /// Mean of the samples, ms.
    pub mean_ms: f64,
    /// `[probability, ms]` points ending at `[1.0, max]`.
    pub quantiles_ms: Vec<(f64, f64)>,
    /// Mean CPU time of the samples (thread CPU clocks), ms, when measured. The share
    /// `cpu-mean-ms / mean-ms` of each drawn service time is CPU demand on the node's cores;
    /// the rest is waiting (I/O, fsync). Unmeasured: the kind's [`default_cpu_share`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_mean_ms: Option<f64>,
}

/// The CPU share of an op kind measured without CPU clocks: 1 for the in-memory work of
/// the metadata store, the merge and request handling; less for calls that wait on the disk
/// or a copy (rough figures, not measured).
pub fn default_cpu_share(op: &str) -> f64 {
    match op {
        "write" => 0.3,
        "blob-put" => 0.2,
        "blob-get" => 0.6,
        "dispatch" => 0.0,
        _ => 1.0,
    }
}

/// The CPU share of one op kind's service times by size (see [`CalibOp::cpu_mean_ms`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CpuShare(Vec<(f64, f64)>);

impl CpuShare {
    /// The same share at every size.
    pub fn flat(share: f64) -> Self {
        CpuShare(vec![(1.0, share.clamp(0.0, 1.0))])
    }

    /// The share at size `n`: linear between measured sizes, flat beyond them.
    #[inline]
    pub fn at(&self, n: u64) -> f64 {
        let n = n.max(1) as f64;
        let v = &self.0;
        match v.iter().position(|&(m, _)| m >= n) {
            None => v[v.len() - 1].1,
            Some(0) => v[0].1,
            Some(i) => {
                let ((x0, y0), (x1, y1)) = (v[i - 1], v[i]);
                y0 + (y1 - y0) * (n - x0) / (x1 - x0)
            }
        }
    }
}

/// A calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Calibration {
    /// Provenance.
    pub provenance: Provenance,
    /// Measured ops.
    pub ops: Vec<CalibOp>,
    /// How the client and app steps' CPU per op falls with load, when measured (an in-situ
    /// calibration with a saturating burst).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_fall: Option<CpuFall>,
    /// How the transports' wait grows with load, when a calibration burst measured it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_rise: Option<super::TransportRise>,
    /// Each op kind's p50 in the calibration burst's two phases, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<super::BurstP50>,
}

/// The op kinds the photo model draws service times for.
pub const OP_KINDS: [&str; 10] = [
    "get",
    "batch-get",
    "scan",
    "timeline-insert",
    "write",
    "cas",
    "blob-put",
    "blob-get",
    "merge",
    "request",
];

impl Calibration {
    /// Read and parse a calibration TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid("calibration", format!("{}: {e}", path.display())))?;
        let cal: Calibration = toml::from_str(&text)
            .map_err(|e| invalid("calibration", format!("{}: {e}", path.display())))?;
        let curves = cal.cpu_fall.as_ref().map_or(Ok(()), CpuFall::validate);
        let rise = cal.transport_rise.as_ref().map_or(Ok(()), |r| r.validate());
        let burst = cal.burst.as_ref().map_or(Ok(()), |b| b.validate());
        curves
            .and(rise)
            .and(burst)
            .map_err(|e| invalid("calibration", format!("{}: {e}", path.display())))?;
        Ok(cal)
    }

    /// The file as TOML text.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| invalid("calibration", e.to_string()))
    }

    /// Rough figures for a local SSD-backed embedded store, used when a
    /// scenario names no calibration file (tests, quick looks). Not measured:
    /// the provenance says so.
    pub fn builtin() -> Self {
        let op = |op: &str, n: u32, p50: f64| CalibOp {
            op: op.into(),
            n,
            count: 0,
            mean_ms: p50 * 1.3,
            quantiles_ms: vec![
                (0.5, p50),
                (0.9, p50 * 2.0),
                (0.99, p50 * 5.0),
                (1.0, p50 * 20.0),
            ],
            cpu_mean_ms: None,
        };
        Calibration {
            provenance: Provenance {
                backend: "builtin (not measured)".into(),
                ..Provenance::default()
            },
            cpu_fall: None,
            transport_rise: None,
            burst: None,
            ops: vec![
                op("get", 1, 0.004),
                op("batch-get", 1, 0.005),
                op("batch-get", 36, 0.06),
                op("scan", 1, 0.005),
                op("scan", 36, 0.02),
                op("scan", 200, 0.08),
                op("timeline-insert", 1, 0.01),
                op("timeline-insert", 64, 0.15),
                op("write", 8, 0.05),
                op("cas", 1, 0.01),
                op("blob-put", 200, 1.0),
                op("blob-get", 200, 0.1),
                op("merge", 36, 0.01),
                op("request", 1, 0.02),
            ],
        }
    }

    /// The CPU share of `op` by size: measured where the file has `cpu-mean-ms`, else
    /// [`default_cpu_share`]; an op whose CPU is all it is (`generator`, `background`) is 1.
    pub fn cpu_share(&self, op: &str) -> CpuShare {
        let mut pts: Vec<(f64, f64)> = self
            .ops
            .iter()
            .filter(|c| c.op == op && c.mean_ms > 0.0)
            .filter_map(|c| {
                let cpu = c.cpu_mean_ms?;
                Some((f64::from(c.n.max(1)), (cpu / c.mean_ms).clamp(0.0, 1.0)))
            })
            .collect();
        if pts.is_empty() {
            return CpuShare::flat(default_cpu_share(op));
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts.dedup_by(|b, a| b.0 == a.0);
        CpuShare(pts)
    }

    /// The cost model of `op`, with `[sim.service]` overrides taking
    /// precedence (an override ignores size). Errors when the op was neither
    /// measured nor overridden, or its quantiles are malformed.
    pub fn cost(&self, op: &str, overrides: &BTreeMap<String, DistSpec>) -> Result<OpCost> {
        if let Some(d) = overrides.get(op) {
            return Ok(OpCost::Fixed(d.build()?));
        }
        let mut sizes: Vec<(u32, Empirical)> = Vec::new();
        for c in self.ops.iter().filter(|c| c.op == op) {
            let ms = NANOS_PER_MILLI as f64;
            let pts: Vec<(f64, f64)> = c.quantiles_ms.iter().map(|&(p, v)| (p, v * ms)).collect();
            match ServiceDist::empirical(&pts)? {
                ServiceDist::Empirical(e) => sizes.push((c.n.max(1), e)),
                _ => return Err(invalid("calibration", "empirical expected")),
            }
        }
        if sizes.is_empty() {
            return Err(invalid(
                "calibration",
                format!(
                    "op `{op}` is not in the calibration file (and has no [sim.service] override)"
                ),
            ));
        }
        sizes.sort_by_key(|(n, _)| *n);
        sizes.dedup_by_key(|(n, _)| *n);
        Ok(OpCost::Sized(sizes))
    }
}

/// Service time of one op kind as a function of its size.
#[derive(Debug, Clone)]
pub enum OpCost {
    /// One distribution whatever the size (a `[sim.service]` override).
    Fixed(ServiceDist),
    /// Measured sizes, ascending; see the module docs.
    Sized(Vec<(u32, Empirical)>),
}

impl OpCost {
    /// Draw the service time (ns) of one op of size `n`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, n: u64, rng: &mut R) -> SimTime {
        match self {
            OpCost::Fixed(d) => d.sample(rng),
            OpCost::Sized(sizes) => {
                let u: f64 = rng.random();
                ns(interp(sizes, n.max(1) as f64, |e| e.quantile(u)))
            }
        }
    }

    /// The service time (ns) of one op of size `n` at quantile `u` (what [`OpCost::sample`]
    /// draws with `u` uniform; a fixed distribution draws from `rng` regardless).
    #[inline]
    pub fn sample_at<R: Rng + ?Sized>(&self, n: u64, u: f64, rng: &mut R) -> SimTime {
        match self {
            OpCost::Fixed(d) => d.sample(rng),
            OpCost::Sized(sizes) => ns(interp(sizes, n.max(1) as f64, |e| e.quantile(u))),
        }
    }

    /// The mean service time (ns) at size `n`.
    pub fn mean(&self, n: u64) -> f64 {
        match self {
            OpCost::Fixed(d) => d.mean(),
            OpCost::Sized(sizes) => interp(sizes, n.max(1) as f64, Empirical::mean),
        }
    }

    /// The total of `k` independent ops of size `n` (bounded work for a shard
    /// job that batches many scans or inserts): the sum of up to 16 draws,
    /// plus the mean for each op beyond 16. That keeps the total's mean, with
    /// a spread within the true sum's; scaling the 16 draws up to `k` instead
    /// multiplied any outlier among them `k / 16`-fold (a feed pulling 100
    /// followees had its rare slow scan counted 6 times), which put the
    /// model's feed p99 25-45% above a live run's.
    pub fn sample_many<R: Rng + ?Sized>(&self, k: u64, n: u64, rng: &mut R) -> SimTime {
        let draws = k.min(16);
        if draws == 0 {
            return 0;
        }
        let sum: u64 = (0..draws).map(|_| self.sample(n, rng)).sum();
        if draws == k {
            sum
        } else {
            sum + ns((k - draws) as f64 * self.mean(n))
        }
    }
}

/// `f` at size `n`, interpolated (or extrapolated, never below 0) linearly
/// in size between the measured neighbours.
fn interp(sizes: &[(u32, Empirical)], n: f64, f: impl Fn(&Empirical) -> f64) -> f64 {
    if sizes.len() == 1 {
        return f(&sizes[0].1);
    }
    let i = sizes
        .iter()
        .position(|(m, _)| f64::from(*m) >= n)
        .unwrap_or(sizes.len() - 1)
        .max(1);
    let (n0, e0) = &sizes[i - 1];
    let (n1, e1) = &sizes[i];
    let (x0, x1) = (f64::from(*n0), f64::from(*n1));
    let y0 = f(e0);
    if n <= x0 {
        return y0;
    }
    let y1 = f(e1);
    (y0 + (y1 - y0) * (n - x0) / (x1 - x0)).max(0.0)
}

#[cfg(test)]
mod tests;
