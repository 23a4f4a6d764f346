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
//! take over the rows of a server that died ([`super::outbox`]). Timeline writes are buffered (derived data, rebuilt from the
//! outbox). Timelines are capped at `timeline-cap`: a user's timeline is
//! trimmed on first touch after start and every `cap / 4` inserts, so it
//! holds at most `cap + cap/4 + batch` entries.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc};

use super::Service;
use crate::error::Result;
use crate::id::PhotoId;
use crate::policy::{FanoutKind, ShardKey, UserId};

mod apply;
mod edges;
mod sweep;

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
        /// owner may have applied part of it): recount instead of adding.
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

/// Queue, bookkeeping and wake-ups of the materializer.
pub struct Materializer {
    tx: mpsc::UnboundedSender<Task>,
    capacity: usize,
    pending: AtomicUsize,
    /// Outbox keys queued or running here.
    inflight: Mutex<HashSet<Vec<u8>>>,
    waiters: Mutex<HashMap<UserId, Weak<Notify>>>,
    trims: Mutex<HashMap<UserId, usize>>,
    views: Mutex<HashMap<PhotoId, u64>>,
    reads: Mutex<HashMap<UserId, u64>>,
    closed: tokio::sync::watch::Sender<bool>,
}

impl Materializer {
    /// A materializer whose fan-out queue holds `capacity` tasks; overflow
    /// stays in the outbox for the sweeper.
    pub fn new(capacity: usize) -> (Self, mpsc::UnboundedReceiver<Task>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let m = Materializer {
            tx,
            capacity,
            pending: AtomicUsize::new(0),
            inflight: Mutex::new(HashSet::new()),
            waiters: Mutex::new(HashMap::new()),
            trims: Mutex::new(HashMap::new()),
            views: Mutex::new(HashMap::new()),
            reads: Mutex::new(HashMap::new()),
            closed: tokio::sync::watch::channel(false).0,
        };
        (m, rx)
    }

    fn send(&self, task: Task) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.tx.send(task) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            self.inflight.lock().remove(&e.0.outbox_key());
        }
    }

    /// Queue `task` unless its row is already queued here (or, when
    /// `bounded`, the queue is full; the outbox keeps it).
    pub(crate) fn enqueue(&self, task: Task, bounded: bool) {
        if bounded && self.pending.load(Ordering::SeqCst) >= self.capacity {
            return;
        }
        if self.inflight.lock().insert(task.outbox_key()) {
            self.send(task);
        }
    }

    /// Mark the row `key` as queued here before it is written, so the
    /// sweeper leaves it alone until [`Materializer::submit_reserved`] or
    /// [`Materializer::unreserve`]. False if it already is.
    pub(crate) fn reserve(&self, key: &[u8]) -> bool {
        self.inflight.lock().insert(key.to_vec())
    }

    /// Queue a task whose row was reserved.
    pub(crate) fn submit_reserved(&self, task: Task) {
        self.send(task);
    }

    /// Give up a reservation without queueing (the sweeper takes over).
    pub(crate) fn unreserve(&self, key: &[u8]) {
        self.inflight.lock().remove(key);
    }

    /// True if the row `key` is queued or running here.
    pub(crate) fn is_inflight(&self, key: &[u8]) -> bool {
        self.inflight.lock().contains(key)
    }

    /// Enqueue the fan-out of an acknowledged upload whose `o/pid` row holds
    /// `held` (skipped when the queue is full or the photo is already
    /// queued; the outbox keeps it).
    pub fn fanout(&self, pid: PhotoId, author: UserId, held: Vec<u8>) {
        let task = Task::Fanout {
            pid,
            author,
            at: Instant::now(),
            held,
            recovered: false,
        };
        self.enqueue(task, true);
    }

    /// Tasks queued or running.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// A handle that is notified when `reader`'s timeline gets entries.
    pub fn subscribe(&self, reader: UserId) -> Arc<Notify> {
        let mut w = self.waiters.lock();
        if let Some(n) = w.get(&reader).and_then(Weak::upgrade) {
            return n;
        }
        let n = Arc::new(Notify::new());
        w.insert(reader, Arc::downgrade(&n));
        n
    }

    fn wake(&self, readers: impl Iterator<Item = UserId>) {
        let mut w = self.waiters.lock();
        for r in readers {
            if let Some(n) = w.get(&r).and_then(Weak::upgrade) {
                n.notify_waiters();
            }
        }
        w.retain(|_, n| n.strong_count() > 0);
    }

    /// Count one view of `pid` (flushed to the `v/` table every second).
    pub fn count_view(&self, pid: PhotoId) {
        *self.views.lock().entry(pid).or_default() += 1;
    }

    /// Count one feed read by `reader` (flushed to its stats every second).
    pub fn count_read(&self, reader: UserId) {
        *self.reads.lock().entry(reader).or_default() += 1;
    }

    /// Stored plus unflushed view counts of `ids`.
    pub async fn views(&self, svc: &Service, ids: &[PhotoId]) -> Result<HashMap<PhotoId, u64>> {
        let mut out = HashMap::new();
        for &id in ids {
            let shard = svc.inner.shards.of(ShardKey::Photo(id));
            let stored = match shard.get(&crate::tables::views(id)).await? {
                Some(b) => crate::tables::decode_u64(&b)?,
                None => 0,
            };
            out.insert(id, stored);
        }
        for (id, d) in self.views.lock().iter() {
            if let Some(v) = out.get_mut(id) {
                *v += d;
            }
        }
        Ok(out)
    }

    /// Stop the workers once the queue is empty.
    pub fn close(&self) {
        let _ = self.closed.send(true);
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
    let mut closed = svc.inner.materializer.closed.subscribe();
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
        if let Err(e) = apply::apply(&svc, batch).await {
            tracing::warn!(error = %e, "materializer batch failed; the outbox sweeper will retry");
        }
        svc.inner
            .materializer
            .pending
            .fetch_sub(n, Ordering::SeqCst);
    }
}

async fn background(svc: Service) {
    let mut closed = svc.inner.materializer.closed.subscribe();
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
        if let Err(e) = apply::flush_counters(&svc).await {
            tracing::warn!(error = %e, "counter flush failed");
        }
        n += 1;
    }
}

impl Service {
    /// Wait until the materializer is idle and the outbox is empty.
    pub(crate) async fn drain_materializer(&self) {
        loop {
            if self.inner.materializer.pending() == 0 {
                match sweep(self).await {
                    Ok(0) if self.inner.materializer.pending() == 0 => return,
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
