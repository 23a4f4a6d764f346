//! The driver's op tasks: starting one op on its own task and recording its
//! outcome, probing the freshness of a sampled upload, and draining the
//! started ops at the end of a run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};

use super::{DriverConfig, FreshnessProbe, OpOutcome, Shared, Target};
use crate::hash::{mix, streams, unit_open};
use crate::ops::{OpKind, PlannedOp};

/// Starts `op` on its own task, holding `permit` until it completes, and
/// records its outcome (latency from `intended`) and, when probing, its
/// freshness.
pub(super) fn spawn_op<T: Target + ?Sized + 'static>(
    tasks: &mut JoinSet<()>,
    op: PlannedOp,
    permit: OwnedSemaphorePermit,
    intended: Instant,
    target: &Arc<T>,
    shared: &Arc<Shared>,
    cfg: &DriverConfig,
) {
    let (target, shared, probe) = (target.clone(), shared.clone(), cfg.freshness.clone());
    tasks.spawn(async move {
        let result = target.execute(&op).await;
        let done = Instant::now();
        {
            let mut c = shared.lock();
            match &result {
                Ok(_) => c.ok(op.kind, op.at, done.saturating_duration_since(intended)),
                Err(e) => c.error(op.kind, op.at, &e.code, e.reason_or_code()),
            }
        }
        shared.in_flight[op.kind.index()].fetch_sub(1, Ordering::Relaxed);
        shared.completed.fetch_add(1, Ordering::Relaxed);
        drop(permit);
        if let (Ok(outcome), Some(probe)) = (result, probe) {
            freshness(&*target, &shared, &probe, &op, &outcome, done).await;
        }
    });
}

/// Waits for the started ops until `deadline`; past it, aborts the rest
/// and counts each as an `unfinished` error (at `last_at`) and each running
/// freshness probe as timed out.
pub(super) async fn drain(
    tasks: &mut JoinSet<()>,
    shared: &Shared,
    deadline: Instant,
    last_at: Duration,
) {
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = sleep_until(deadline) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                let mut c = shared.lock();
                for kind in OpKind::ALL {
                    for _ in 0..shared.in_flight[kind.index()].load(Ordering::Relaxed) {
                        c.error(kind, last_at, "unfinished", "unfinished");
                    }
                }
                c.freshness().timeouts += shared.probing.load(Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Polls until a sampled upload is visible to a follower, or the probe's
/// timeout passes (see the driver's module docs).
async fn freshness<T: Target + ?Sized>(
    target: &T,
    shared: &Shared,
    probe: &FreshnessProbe,
    op: &PlannedOp,
    outcome: &OpOutcome,
    acked: Instant,
) {
    let bits = mix(probe.seed, streams::PROBE, op.seq);
    if op.kind != OpKind::Upload || unit_open(bits) >= probe.fraction {
        return;
    }
    let Some(follower) = (probe.follower_of)(op.user, bits) else {
        return;
    };
    shared.lock().freshness().probed += 1;
    shared.probing.fetch_add(1, Ordering::Relaxed);
    loop {
        match target.probe_visible(op, outcome, follower).await {
            Ok(true) => {
                shared.lock().fresh(op.at, acked.elapsed());
                break;
            }
            Ok(false) => {}
            Err(e) if e.code == "unsupported" => {
                shared.lock().freshness().unsupported += 1;
                break;
            }
            Err(_) => shared.lock().freshness().probe_errors += 1,
        }
        if acked.elapsed() >= probe.timeout {
            shared.lock().freshness().timeouts += 1;
            break;
        }
        sleep(probe.poll_every).await;
    }
    shared.probing.fetch_sub(1, Ordering::Relaxed);
}
