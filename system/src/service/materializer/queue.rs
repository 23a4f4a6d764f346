//! The fan-out queue: materializer tasks waiting for a worker, the set of
//! outbox rows queued or running on this server, and the close signal.
//!
//! The queue itself is unbounded; [`FanoutQueue::fanout`] refuses an
//! upload's task past `capacity` so that an upload burst leaves its rows in
//! the outbox for the sweeper instead of growing memory. A row's key enters
//! the in-flight set when it is reserved ([`FanoutQueue::reserve`], before
//! its task is built) and stays there until its task has been applied or
//! has failed ([`FanoutQueue::finish`]); the sweeper takes only keys it
//! could reserve.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

use super::Task;
use crate::id::PhotoId;
use crate::policy::UserId;

/// Queue of materializer tasks and the outbox keys it holds.
pub struct FanoutQueue {
    tx: mpsc::UnboundedSender<Task>,
    capacity: usize,
    pending: AtomicUsize,
    /// Outbox keys queued or running here.
    inflight: Mutex<HashSet<Vec<u8>>>,
    closed: watch::Sender<bool>,
}

impl FanoutQueue {
    /// A queue that accepts bounded work while it holds fewer than
    /// `capacity` tasks, and the receiver the workers take tasks from.
    pub fn new(capacity: usize) -> (Self, mpsc::UnboundedReceiver<Task>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let q = FanoutQueue {
            tx,
            capacity,
            pending: AtomicUsize::new(0),
            inflight: Mutex::new(HashSet::new()),
            closed: watch::channel(false).0,
        };
        (q, rx)
    }

    fn send(&self, task: Task) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.tx.send(task) {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            self.inflight.lock().remove(&e.0.outbox_key());
        }
    }

    /// Mark the row `key` as queued here before it is written, so the
    /// sweeper leaves it alone until [`FanoutQueue::submit_reserved`] or
    /// [`FanoutQueue::unreserve`]. False if it already is.
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

    /// Let the rows `keys` be swept again: their tasks were applied, or
    /// failed and left the rows for the sweeper.
    pub(super) fn finish<'a>(&self, keys: impl IntoIterator<Item = &'a [u8]>) {
        let mut inflight = self.inflight.lock();
        for key in keys {
            inflight.remove(key);
        }
    }

    /// Count `n` tasks a worker took as no longer pending.
    pub(super) fn taken(&self, n: usize) {
        self.pending.fetch_sub(n, Ordering::SeqCst);
    }

    /// Queue the fan-out of an acknowledged upload whose `o/pid` row was reserved
    /// ([`FanoutQueue::reserve`]) before it was written and holds `held`. When the queue
    /// is full the reservation is given up instead, and the sweeper queues the row later.
    pub fn fanout(&self, pid: PhotoId, author: UserId, held: Vec<u8>) {
        let key = crate::tables::outbox(pid);
        if self.pending.load(Ordering::SeqCst) >= self.capacity {
            self.unreserve(&key);
            return;
        }
        self.send(Task::Fanout {
            pid,
            author,
            at: Instant::now(),
            held,
            recovered: false,
        });
    }

    /// Tasks queued or running.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Stop the workers once the queue is empty.
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    /// A receiver that turns true when [`FanoutQueue::close`] is called.
    pub(super) fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}
