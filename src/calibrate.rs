//! `feedlab calibrate --out calib.toml`: measure the service-time
//! distributions the simulator draws from, on the embedded backends.
//!
//! A temp directory gets a [`FjallStore`] preloaded with the service's own
//! key layout (stats rows, photo rows, timelines long enough for every scan
//! size) and a [`LocalBlobStore`] with the service's replica count. Each op
//! kind the photo model uses is then timed one call at a time (no queueing:
//! a service time) at several sizes: `get`, `batch-get` of n keys, reverse
//! `scan` of n rows, buffered `timeline-insert` batches of n entries, durable
//! metadata `write` of n puts, `cas`, `blob-put`/`blob-get` of 200 KiB,
//! `merge` (sort, dedup and rank n candidates), `request` (one task
//! spawn and join, the per-request overhead of the in-process path) and
//! `dispatch` (how late the open-loop driver's pacer starts an op
//! after its intended time; used only with `sim.client-dispatch`). The
//! file records empirical quantiles, the mean CPU time of each op and size
//! (`cpu-mean-ms`: thread CPU clocks around each poll plus the blocking-pool
//! work the call handed off, see `feedlab_system::timing::cpu`) and its
//! provenance (date, host, cores, git revision, backend).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use feedlab_sim::model::Provenance;

/// The 1, 5 and 15 minute load averages, where `/proc/loadavg` exists.
pub(crate) fn load_avg() -> Option<Vec<f64>> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|s| s.parse().ok())
        .collect();
    (v.len() == 3).then_some(v)
}

/// `feedlab calibrate`.
#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// Where to write the calibration TOML. The default, `out/calibrate/embedded.toml`, leaves
    /// the committed `calibration/embedded.toml` alone; name that file to replace it.
    #[arg(long, default_value = "out/calibrate/embedded.toml")]
    pub out: PathBuf,
    /// Samples per op and size (blob ops take a quarter as many).
    #[arg(long, default_value_t = 2_000)]
    pub samples: usize,
    /// Seed of the preloaded data and key choices.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Directory for the temporary stores (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

mod bench;
mod quantiles;

pub use bench::measure;

pub(crate) use quantiles::{quantiles, summarize, summarize_cpu, timed};

/// Where and how a calibration was measured (date, host, cores, git
/// revision, build, load average).
pub(crate) fn provenance(samples: usize) -> Provenance {
    let cmd = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    Provenance {
        date: cmd("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        host: std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, |c| c.get() as u32),
        git_rev: cmd("git", &["rev-parse", "HEAD"]),
        backend: "embedded".into(),
        notes: format!(
            "fjall 3.1 FjallStore + LocalBlobStore (2 replicas, fsync) in a temp dir; \
             {samples} samples per op and size (blob ops a quarter); one call at a time, \
             so these are service times without queueing; {} build; load average \
             (1/5/15 min) when done: {}",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_avg().map_or_else(
                || "unknown".into(),
                |l| l.iter().map(f64::to_string).collect::<Vec<_>>().join(" ")
            )
        ),
        ..Provenance::default()
    }
}

/// `feedlab calibrate`.
pub async fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let cal = measure(&args).await?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# Measured by `feedlab calibrate`; see [provenance].\n{}",
        cal.to_toml()?
    );
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    for op in &cal.ops {
        let p50 = op
            .quantiles_ms
            .iter()
            .find(|q| q.0 == 0.5)
            .map_or(0.0, |q| q.1);
        let p99 = op
            .quantiles_ms
            .iter()
            .find(|q| q.0 == 0.99)
            .map_or(0.0, |q| q.1);
        println!(
            "{:<16} n={:<5} mean {:>9.4} ms  p50 {:>9.4}  p99 {:>9.4}",
            op.op, op.n, op.mean_ms, p50, p99
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
