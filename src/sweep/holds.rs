//! How many requests a live ladder's load generator keeps in flight, and how its twin's
//! client and app servers hold them.
//!
//! A sweep asks where the *design* breaks, so its load generator must not break first. The
//! live service admits at most `concurrency` requests of each route group (reads, writes,
//! uploads) and lets up to `admission-queue` more wait for a slot, each for at most
//! `admission-wait-ms` (the feed target by default); beyond that it answers 503 at once,
//! which the driver counts as shed. The driver itself drops an op it cannot start because
//! `max-in-flight` ops are running. With the driver's limit below what the service holds,
//! that limit decides the knee: at 256 ops in flight and ~6,000 ops/s near the quickstart's
//! knee, a backlog of about 40 ms dropped ops, and every knee of ladders AM–BA broke by
//! drops with a feed p99 of 40–80 ms, far below the 200 ms target (BENCHMARKS.md). So each
//! live step runs with at least [`service_holds`] ops in flight, and the service's own
//! admission, or the target, decides.
//!
//! The twin holds requests as the live step did: its client limit is the one the recorded
//! calibration step ran with, and its app servers have the read router's slots as
//! connections and its admission queue as their backlog.

use std::path::Path;

use feedlab_system::service::ServiceConfig;

use crate::spec::{Mode, RunSpec};

/// The most requests `cfg`'s service holds at once (running, or waiting for a slot) before
/// it refuses more with 503: the read, write and upload groups' slots, and a queue of
/// `admission-queue` each.
pub fn service_holds(cfg: &ServiceConfig) -> usize {
    let slots = cfg.read_concurrency + cfg.write_concurrency + cfg.upload_concurrency;
    slots + 3 * cfg.admission_queue
}

/// Raises a live `spec`'s driver limit to what its service holds ([`service_holds`]); a
/// larger limit, and any simulated spec, is kept as given.
pub fn raise_driver_limit(spec: &mut RunSpec) {
    if spec.mode == Mode::Live {
        let holds = service_holds(&spec.system);
        spec.driver.max_in_flight = spec.driver.max_in_flight.max(holds);
    }
}

/// The driver limit that the live step whose summary is `summary` ran with, from the
/// `spec.json` beside it; `None` when there is none or it names no limit.
pub fn recorded_limit(summary: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(summary.with_file_name("spec.json")).ok()?;
    let spec: RunSpec = serde_json::from_str(&text).ok()?;
    Some(spec.driver.max_in_flight)
}

/// Gives `twin` the live service's request holding: `limit` ops in flight at the client
/// (the recorded live step's), and for each app server the read router's slots as
/// connections and its admission queue as the backlog.
pub fn hold_like_live(twin: &mut RunSpec, limit: usize) {
    twin.sim.client_max_in_flight = u32::try_from(limit).ok();
    let cfg = &twin.system;
    twin.sim.connections = u32::try_from(cfg.read_concurrency.max(1)).unwrap_or(u32::MAX);
    twin.sim.backlog = u32::try_from(cfg.admission_queue).unwrap_or(u32::MAX);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quickstart() -> RunSpec {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
        crate::scenario::Scenario::load(&path, &[])
            .expect("quickstart loads")
            .base_spec()
    }

    #[test]
    fn a_live_step_holds_what_the_service_holds_and_a_larger_limit_stays() {
        let mut s = quickstart();
        s.mode = Mode::Live;
        s.driver.max_in_flight = 256;
        let holds = service_holds(&s.system);
        // 256 reads, 256 writes and 64 uploads running, 256 waiting in each group.
        assert_eq!(holds, 256 + 256 + 64 + 3 * 256);
        raise_driver_limit(&mut s);
        assert_eq!(s.driver.max_in_flight, holds);
        s.driver.max_in_flight = 5_000;
        raise_driver_limit(&mut s);
        assert_eq!(s.driver.max_in_flight, 5_000);
        let mut sim = quickstart();
        sim.mode = Mode::Sim;
        sim.driver.max_in_flight = 256;
        raise_driver_limit(&mut sim);
        assert_eq!(sim.driver.max_in_flight, 256);
    }

    #[test]
    fn the_twin_takes_the_recorded_limit_and_the_read_routers_bounds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut live = quickstart();
        live.driver.max_in_flight = 777;
        let summary = dir.path().join("summary.json");
        assert_eq!(recorded_limit(&summary), None);
        let json = serde_json::to_string(&live).expect("spec serializes");
        std::fs::write(dir.path().join("spec.json"), json).expect("write");
        assert_eq!(recorded_limit(&summary), Some(777));
        let mut twin = quickstart();
        twin.system.read_concurrency = 100;
        twin.system.admission_queue = 50;
        hold_like_live(&mut twin, 777);
        assert_eq!(twin.sim.client_max_in_flight, Some(777));
        assert_eq!((twin.sim.connections, twin.sim.backlog), (100, 50));
    }
}
