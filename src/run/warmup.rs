//! The unmeasured start of a live run (`driver.warmup-s`).
//!
//! A run of `scenario.duration-s = D` with `driver.warmup-s = W` drives the op stream's first
//! `W` seconds against the target before anything is measured ([`run`]), then drives the rest
//! of the same stream, `[W, D)`, shifted to start at zero ([`measured`]), with the recorder,
//! the probe, the snapshots and the driver's statistics on. So the service's caches, the
//! connection pool and the allocator are warm when measuring starts, and the measured ops are
//! exactly the ones the same stream would have issued from `W` on: as a simulated run with
//! `sim.warmup-s = W` counts them. Between the two parts the driver waits for the warm-up's
//! last ops, so the measured part starts with no queue.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use feedlab_workload::{Driver, DriverConfig, PlannedOp, Target, Workload};

use crate::spec::RunSpec;

/// The warm-up of `spec`, as a duration (zero when there is none).
pub fn length(spec: &RunSpec) -> Duration {
    Duration::from_secs_f64(spec.driver.warmup_s.max(0.0))
}

/// Drives the first `driver.warmup-s` seconds of `spec`'s op stream against `target`, at the
/// run's own rate and in-flight limit, without freshness probes, and discards the statistics.
/// Returns the ops it issued (zero without a warm-up).
pub async fn run(
    spec: &RunSpec,
    workload: &Workload,
    target: Arc<dyn Target>,
) -> anyhow::Result<u64> {
    let warmup = length(spec);
    if warmup.is_zero() {
        return Ok(0);
    }
    let ops = workload
        .ops(&spec.traffic, spec.seed, warmup)
        .context("building the warm-up's op stream")?;
    let cfg = DriverConfig {
        max_in_flight: spec.driver.max_in_flight,
        duration: Some(warmup),
        drain_timeout: Duration::from_secs(30),
        ..DriverConfig::default()
    };
    let stats = Driver::run(ops, target, cfg).await;
    Ok(super::insitu::issued(&stats))
}

/// The measured part of a stream whose first `warmup` is the warm-up: its ops from `warmup`
/// on, each due `warmup` earlier (sequence numbers unchanged).
pub fn measured<I>(ops: I, warmup: Duration) -> impl Iterator<Item = PlannedOp>
where
    I: IntoIterator<Item = PlannedOp>,
{
    ops.into_iter()
        .skip_while(move |op| op.at < warmup)
        .map(move |mut op| {
            op.at -= warmup;
            op
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use feedlab_workload::{OpKind, Payload};

    fn op(seq: u64, ms: u64) -> PlannedOp {
        PlannedOp {
            seq,
            at: Duration::from_millis(ms),
            kind: OpKind::Feed,
            user: seq,
            payload: Payload::Feed { limit: 20 },
        }
    }

    #[test]
    fn the_measured_part_starts_at_the_warm_up_and_keeps_sequence_numbers() {
        let ops = vec![op(0, 0), op(1, 900), op(2, 1_000), op(3, 2_500)];
        let got: Vec<_> = measured(ops, Duration::from_secs(1))
            .map(|o| (o.seq, o.at.as_millis()))
            .collect();
        assert_eq!(got, vec![(2, 0), (3, 1_500)]);
        let all: Vec<_> = measured(vec![op(0, 0), op(1, 5)], Duration::ZERO)
            .map(|o| o.seq)
            .collect();
        assert_eq!(all, vec![0, 1]);
    }
}
