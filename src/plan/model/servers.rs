//! The plan's web servers from measured throughput per core, not from a hold time.
//!
//! An app server's work per request is CPU: the calibration's `request` step (and, for a feed
//! read, the `merge` of a page of candidates), each times its CPU share (measured where the
//! file has `cpu-mean-ms`, else the simulator's default for the kind). A side needs
//! `ceil(peak req/s × headroom × CPU per request ÷ cores)` servers, the same headroom
//! `feedlab tune` asks of its answer. `[sim.service]` overrides of those ops apply, as in the
//! simulator. Little's law's concurrent connections (peak rate × hold time) are reported
//! beside, as the connections the servers must hold, not as a count of servers.

use feedlab_sim::model::Calibration;
use feedlab_workload::OpKind;

use super::{DAY_S, WebServers};
use crate::scenario::ScenarioDoc;

/// CPU ms of one call of `op` of size `n` under `cal` with `doc`'s overrides.
fn cpu_ms(cal: &Calibration, doc: &ScenarioDoc, op: &str, n: u64) -> Result<f64, String> {
    let cost = cal
        .cost(op, &doc.sim.service)
        .map_err(|e| format!("calibration op {op}: {e}"))?;
    Ok(cost.mean(n) / 1e6 * cal.cpu_share(op).at(n))
}

/// Read and write servers for the peak of the daily op `rates` on machines of `cores`.
pub(super) fn web_servers(
    doc: &ScenarioDoc,
    rates: &[f64],
    cores: u32,
) -> Result<WebServers, String> {
    let (pc, tr) = (&doc.plan, &doc.traffic);
    let path = doc
        .sim
        .calibration
        .as_deref()
        .or(doc.scenario.calibration.as_deref());
    let (cal, name) = match path {
        Some(p) => (
            Calibration::load(p).map_err(|e| e.to_string())?,
            p.display().to_string(),
        ),
        None => (Calibration::builtin(), "builtin (not measured)".to_string()),
    };
    let per_s = |k: OpKind| rates[k.index()] / DAY_S * tr.diurnal_peak;
    let feeds = per_s(OpKind::Feed);
    let reads = feeds + per_s(OpKind::PhotoGet) + per_s(OpKind::Search);
    let writes = per_s(OpKind::Upload) + per_s(OpKind::Follow) + per_s(OpKind::Unfollow);
    let request = cpu_ms(&cal, doc, "request", 1)?;
    let merge = cpu_ms(&cal, doc, "merge", u64::from(tr.feed_limit))?;
    let read_cpu_ms = if reads > 0.0 {
        request + merge * feeds / reads
    } else {
        request + merge
    };
    let headroom = doc.tune.headroom;
    let servers = |rate: f64, ms: f64| {
        (rate * headroom * ms / 1000.0 / f64::from(cores))
            .ceil()
            .max(1.0) as u64
    };
    let read_hold = doc.target.feed_p99_ms / 1000.0;
    let write_hold = pc.write_hold_s.unwrap_or(read_hold);
    Ok(WebServers {
        peak_reads_per_s: reads,
        peak_writes_per_s: writes,
        read_cpu_ms,
        write_cpu_ms: request,
        reads_per_core_s: 1000.0 / read_cpu_ms.max(1e-12),
        calibration: name,
        cores,
        headroom,
        read_hold_s: read_hold,
        write_hold_s: write_hold,
        read_concurrent: reads * read_hold,
        write_concurrent: writes * write_hold,
        read_servers: servers(reads, read_cpu_ms),
        write_servers: servers(writes, request),
    })
}
