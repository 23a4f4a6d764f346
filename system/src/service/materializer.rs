//! The fan-out materializer: applies push fan-out, follow backfill and
//! unfollow purge to pre-generated timelines, off the request path.
//!
//! Durability: an upload's outbox row (`o/pid`) is written atomically with
//! the photo's other rows before the upload is acknowledged, and a follow
//! change's row (`q/follower/leader`) before the change is acknowledged;
//! each is deleted only after its work is applied. A sweeper re-enqueues
//! outbox rows at start-up and every two seconds, so a crash or a full
//! queue delays the work but never loses it. Rows carry a claim, so
//! servers sharing the stores never apply one row at the same time and
//! take over the rows of a server that died ([`super::outbox`]). Timeline
//! writes are buffered (derived data, rebuilt from the outbox). Timelines
//! are capped at `timeline-cap`: a user's timeline is trimmed on first
//! touch after start and every `cap / 4` inserts, so it holds at most
//! `cap + cap/4 + batch` entries.
//!
//! A fault window may pause the workers ([`crate::faults::Faults::set_materializer_paused`]):
//! each holds the batch it took, without polling, and applies it when the pause is lifted;
//! the rest stay queued or in the outbox, so fan-out lags during the window and catches up.
//!
//! Parts: the [`FanoutQueue`] (tasks and the outbox rows held here), the
//! [`Counters`] (views, feed reads, inserts since a trim) and the
//! [`FeedNotifier`] (long-poll wake-ups); the workers here and in `apply`
//! use them only through their methods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::Service;
use crate::id::PhotoId;
use crate::policy::{FanoutKind, UserId};

mod apply;
mod counters;
mod edges;
mod notify;
mod posts;
mod queue;
mod sweep;

pub use counters::Counters;
pub use notify::FeedNotifier;
pub use queue::FanoutQueue;
pub(crate) use sweep::sweep;

/// One unit of materializer work. Each task stands for one outbox row and
/// carries the row's value as this server holds it (see
/// [`super::outbox`]).
#[derive(Debug, Clone)]
pub enum Task {
    /// Push a new photo to the author's followers.
    Fanout {
        /// The photo.
        pid: PhotoId,
        /// Its author.
        author: UserId,
        /// When the upload was acknowledged (or recovered).
        at: Instant,
        /// The `o/pid` value held.
        held: Vec<u8>,
        /// Taken over from the outbox by a sweeper (a crash or a dead
        /// owner may have applied part of it): its author's `posts` is recounted
        /// instead of added to.
        recovered: bool,
    },
    /// Bring `leader`'s photos in `follower`'s timeline, the leader-side
    /// follower row and both users' counters in line with whether
    /// `follower` follows `leader` now (backfill after a follow, purge after
    /// an unfollow).
    Edge {
        /// The follower.
        follower: UserId,
        /// The followed or unfollowed author.
        leader: UserId,
        /// The `q/follower/leader` value held.
        held: Vec<u8>,
        /// Taken over from the outbox: the change may have stopped half
        /// way, so the leader-side row is repaired too.
        recovered: bool,
    },
}

impl Task {
    /// The outbox row value this server holds.
    pub fn held(&self) -> &[u8] {
        match self {
            Task::Fanout { held, .. } | Task::Edge { held, .. } => held,
        }
    }

    /// The key of the task's outbox row.
    pub fn outbox_key(&self) -> Vec<u8> {
        match self {
            Task::Fanout { pid, .. } => crate::tables::outbox(*pid),
            Task::Edge {
                follower, leader, ..
            } => crate::tables::edge_work(*follower, *leader),
        }
    }
}

/// Start workers, the outbox sweeper and the counter flusher.
pub(crate) fn start(svc: Service, rx: mpsc::UnboundedReceiver<Task>) {
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..svc.inner.cfg.materializer_workers {
        let (svc, rx) = (svc.clone(), rx.clone());
        tokio::spawn(async move { worker(svc, rx).await });
    }
    let s = svc.clone();
    tokio::spawn(async move { background(s).await });
}

async fn worker(svc: Service, rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Task>>>) {
    let mut closed = svc.inner.fanout_queue.closed();
    let max = svc.inner.cfg.materializer_batch;
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let first = tokio::select! {
                t = rx.recv() => t,
                _ = closed.wait_for(|c| *c) => None,
            };
            let Some(first) = first else { return };
            let mut batch = vec![first];
            while batch.len() < max {
                match rx.try_recv() {
                    Ok(t) => batch.push(t),
                    Err(_) => break,
                }
            }
            batch
        };
        let n = batch.len();
        // A fault window may pause fan-out: the batch waits here and is applied after it.
        svc.inner.faults.materializer_resumed().await;
        if let Err(e) = apply::apply(&svc, batch).await {
            tracing::warn!(error = %e, "materializer batch failed; the outbox sweeper will retry");
        }
        svc.inner.fanout_queue.taken(n);
    }
}

async fn background(svc: Service) {
    let mut closed = svc.inner.fanout_queue.closed();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = closed.wait_for(|c| *c) => return,
        }
        if n.is_multiple_of(2)
            && let Err(e) = sweep(&svc).await
        {
            tracing::warn!(error = %e, "outbox sweep failed");
        }
        if let Err(e) = svc.inner.counters.flush(&svc).await {
            tracing::warn!(error = %e, "counter flush failed");
        }
        n += 1;
    }
}

impl Service {
    /// Wait until the materializer is idle and the outbox is empty.
    pub(crate) async fn drain_materializer(&self) {
        loop {
            if self.inner.fanout_queue.pending() == 0 {
                match sweep(self).await {
                    Ok(0) if self.inner.fanout_queue.pending() == 0 => return,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "drain sweep failed"),
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// True when the fan-out policy may write timelines at all.
    pub(crate) fn pushes(&self) -> bool {
        self.inner.fanout.kind() != FanoutKind::Pull
    }
}
