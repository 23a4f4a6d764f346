//! Node-number leases of the `node` id scheme.
//!
//! A node number `n` is owned by whoever holds the row `L/n` (a
//! [`LeaseRow`]) on the metadata store with an expiry in the future. A
//! server takes a free or lapsed row with `cas`, renews it with `cas` every
//! third of the lease, and deletes it on clean shutdown. It stops minting
//! ids as soon as its own clock says the lease may have lapsed (the local
//! deadline is taken *before* each `cas` is sent, so it is never later than
//! the stored one). Leases assume server clocks agree to well within the
//! lease length; a server whose renewal finds someone else's row stops
//! minting for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::id::{Clock, MAX_NODES};
use crate::meta::{CasOutcome, MetaStore};
use crate::tables::{self, LeaseRow};

/// A held lease on one node number. Renewed by a background task while any
/// handle is alive.
pub struct NodeLease {
    store: Arc<dyn MetaStore>,
    node: u16,
    holder: u64,
    ttl_ms: u64,
    clock: Clock,
    /// The row as last written by us (the `cas` expectation).
    held: Mutex<Option<Vec<u8>>>,
    /// Local deadline, Unix ms; 0 once lost or released.
    valid_until: AtomicU64,
}

impl std::fmt::Debug for NodeLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLease")
            .field("node", &self.node)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// Take `L/node` for `holder` if it is absent, lapsed or already ours.
/// Returns the value written, or `None` if a live lease of someone else
/// holds it (or another server won the race).
async fn try_take(
    store: &dyn MetaStore,
    node: u16,
    holder: u64,
    until_ms: u64,
    now: u64,
) -> Result<Option<Vec<u8>>> {
    let key = tables::node_lease(node);
    let cur = store.get(&key).await?;
    if let Some(v) = &cur {
        let row: LeaseRow = tables::decode(v)?;
        if row.holder != holder && row.until_ms > now {
            return Ok(None);
        }
    }
    let new = tables::encode(&LeaseRow { holder, until_ms })?;
    match store.cas(&key, cur.as_deref(), Some(new.clone())).await? {
        CasOutcome::Swapped => Ok(Some(new)),
        CasOutcome::Mismatch(_) => Ok(None),
    }
}

impl NodeLease {
    /// Lease node number `wanted` (must be `< MAX_NODES`), or the lowest free
    /// one when `None`, for `holder`, for `ttl_ms`.
    ///
    /// A wanted number held by a live lease is waited for once, until that
    /// lease's expiry (a restarted server finds its own dead predecessor's
    /// row); if it is renewed meanwhile, [`Error::Conflict`] names the
    /// number. With no free number, [`Error::Unavailable`].
    pub async fn acquire(
        store: Arc<dyn MetaStore>,
        wanted: Option<u16>,
        holder: u64,
        ttl_ms: u64,
        clock: Clock,
    ) -> Result<Arc<NodeLease>> {
        if ttl_ms < 3 {
            return Err(Error::InvalidInput(
                "node-lease-ms must be at least 3".into(),
            ));
        }
        let candidates: Vec<u16> = match wanted {
            Some(n) if n >= MAX_NODES => {
                return Err(Error::InvalidInput(format!(
                    "node-id must be below {MAX_NODES}, got {n}"
                )));
            }
            Some(n) => vec![n],
            None => (0..MAX_NODES).collect(),
        };
        for &node in &candidates {
            let start = clock();
            if let Some(v) = try_take(&*store, node, holder, start + ttl_ms, start).await? {
                return Ok(Self::held(store, node, holder, ttl_ms, clock, v, start));
            }
        }
        let Some(node) = wanted else {
            return Err(Error::Unavailable(format!(
                "all {MAX_NODES} node ids are leased by live servers"
            )));
        };
        // Wait out the current holder's lease once.
        if let Some(v) = store.get(&tables::node_lease(node)).await? {
            let row: LeaseRow = tables::decode(&v)?;
            let wait = row.until_ms.saturating_sub(clock()).min(ttl_ms) + 1;
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        let start = clock();
        match try_take(&*store, node, holder, start + ttl_ms, start).await? {
            Some(v) => Ok(Self::held(store, node, holder, ttl_ms, clock, v, start)),
            None => Err(Error::Conflict(format!(
                "node id {node} is leased by another live server; pick another --node-id"
            ))),
        }
    }

    fn held(
        store: Arc<dyn MetaStore>,
        node: u16,
        holder: u64,
        ttl_ms: u64,
        clock: Clock,
        value: Vec<u8>,
        sent_at: u64,
    ) -> Arc<NodeLease> {
        let lease = Arc::new(NodeLease {
            store,
            node,
            holder,
            ttl_ms,
            clock,
            held: Mutex::new(Some(value)),
            valid_until: AtomicU64::new(sent_at + ttl_ms),
        });
        let weak = Arc::downgrade(&lease);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(ttl_ms / 3)).await;
                let Some(lease) = weak.upgrade() else { return };
                if lease.valid_until.load(Ordering::SeqCst) == 0 {
                    return;
                }
                if let Err(e) = lease.renew().await {
                    tracing::warn!(node = lease.node, error = %e, "node lease renewal failed");
                }
            }
        });
        lease
    }

    /// The leased node number.
    pub fn node(&self) -> u16 {
        self.node
    }

    /// True while this server may mint ids with the node number.
    pub fn is_valid(&self) -> bool {
        (self.clock)() < self.valid_until.load(Ordering::SeqCst)
    }

    /// Extend the lease by one lease length. If the stored row is no longer
    /// ours, the lease is lost for good ([`Error::Conflict`]).
    pub async fn renew(&self) -> Result<()> {
        let Some(held) = self.held.lock().clone() else {
            return Err(Error::Conflict(format!(
                "node lease {} released",
                self.node
            )));
        };
        let sent_at = (self.clock)();
        let new = tables::encode(&LeaseRow {
            holder: self.holder,
            until_ms: sent_at + self.ttl_ms,
        })?;
        let key = tables::node_lease(self.node);
        match self.store.cas(&key, Some(&held), Some(new.clone())).await? {
            CasOutcome::Swapped => {
                *self.held.lock() = Some(new);
                self.valid_until
                    .store(sent_at + self.ttl_ms, Ordering::SeqCst);
                Ok(())
            }
            CasOutcome::Mismatch(_) => {
                self.valid_until.store(0, Ordering::SeqCst);
                *self.held.lock() = None;
                Err(Error::Conflict(format!(
                    "node lease {} was taken over by another server",
                    self.node
                )))
            }
        }
    }

    /// Stop minting and delete the row if it is still ours.
    pub async fn release(&self) -> Result<()> {
        self.valid_until.store(0, Ordering::SeqCst);
        let held = self.held.lock().take();
        if let Some(v) = held {
            self.store
                .cas(&tables::node_lease(self.node), Some(&v), None)
                .await?;
        }
        Ok(())
    }
}
