//! The HdrHistogram interval logs a live run writes next to its `summary.json`, for users'
//! tools (HistogramLogAnalyzer, `HistogramLogProcessor`) and for `feedlab report`'s merge.
//!
//! `<variant>/<op>.hlog` holds one latency histogram (µs from the intended start, 3 significant
//! figures) per second of completion for each op kind with at least one success
//! ([`feedlab_workload::hlog`] describes the format); `<variant>/freshness.hlog` holds the run's
//! feed-freshness histogram (upload acknowledgement → visible in a follower's feed, µs) as one
//! interval over the whole run. The summary does not list them: they are found by these names.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use feedlab_workload::hlog::{HistogramLog, Interval, read_log};
use feedlab_workload::{OpKind, RunStats};

use crate::cli::UserError;

/// The name (without `.hlog`) of the feed-freshness log.
pub const FRESHNESS: &str = "freshness";

/// Where the log called `name` (an op kind name or [`FRESHNESS`]) of the variant in `vdir` is.
pub fn path(vdir: &Path, name: &str) -> PathBuf {
    vdir.join(format!("{name}.hlog"))
}

/// Writes `path` through `fill`, flushing before it returns.
pub fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<std::fs::File>) -> feedlab_workload::Result<()>,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(file);
    fill(&mut w)
        .and_then(|()| Ok(w.flush()?))
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes the logs of `stats` into `vdir` and removes logs of op kinds that had no success this
/// time (left by an earlier run in the same directory).
pub fn save(vdir: &Path, stats: &RunStats) -> anyhow::Result<()> {
    std::fs::create_dir_all(vdir).with_context(|| format!("creating {}", vdir.display()))?;
    for kind in OpKind::ALL {
        let p = path(vdir, kind.name());
        if stats.logs.is_empty(kind) {
            if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
            continue;
        }
        write_file(&p, |w| stats.logs.write(kind, w))?;
    }
    let p = path(vdir, FRESHNESS);
    let fresh = &stats.freshness.latency;
    if fresh.is_empty() {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
        return Ok(());
    }
    let log = HistogramLog {
        start: stats.logs.start(),
        base: stats.logs.start(),
        intervals: vec![Interval {
            start: Duration::ZERO,
            length: stats.duration.max(Duration::from_millis(1)),
            histogram: fresh.clone(),
        }],
    };
    write_file(&p, |w| log.write(w))
}

/// Reads a log; a missing or malformed file is a [`UserError`] naming it.
pub fn load(path: &Path) -> anyhow::Result<HistogramLog> {
    let bytes = std::fs::read(path)
        .map_err(|e| UserError(format!("cannot read {}: {e}", path.display())))?;
    read_log(&bytes).map_err(|e| UserError(format!("{}: {e}", path.display())).into())
}
