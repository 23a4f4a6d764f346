//! The `ticket` id scheme: interleaved ticket allocators on the metadata
//! store, after the original design notes' pair of odd/even ticket servers.
//!
//! Allocator `k` of `n` owns the counter row `K/k` and issues only tickets
//! `t ≡ k (mod n)`, so allocators never overlap and need not talk to each
//! other. A server reserves a block of `block` tickets from an allocator
//! with one `cas` on its counter and hands them out from memory; servers
//! sharing the store reserve disjoint blocks. Tickets are anchored to time:
//! a block starts at `max(counter, now_ms << 10)`, so a ticket read as
//! `ms << 10 | seq` is a time-sortable photo id (`ms` is the block's
//! reservation time, at most `max_age_ms` behind the upload, or ahead of
//! it by one ms per 1024 tickets issued in a millisecond).
//!
//! A server draws from its allocators in turn. An allocator whose store
//! fails is skipped for `retry_ms`, and the others carry on alone: losing
//! an allocator halves the ticket space in use, it never stops uploads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use async_trait::async_trait;

use super::{IdScheme, IdSource};
use crate::error::{Error, Result};
use crate::id::{Clock, EPOCH_MS, PhotoId};
use crate::meta::{CasOutcome, MetaStore};
use crate::tables;

/// Knobs of [`TicketIds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketOptions {
    /// Tickets reserved per `cas` (at least 1).
    pub block: u64,
    /// A block whose next ticket is older than this is dropped for a fresh
    /// one, so ids stay close to upload time.
    pub max_age_ms: u64,
    /// How long an allocator that failed is skipped.
    pub retry_ms: u64,
}

impl Default for TicketOptions {
    fn default() -> Self {
        TicketOptions {
            block: 1024,
            max_age_ms: 1000,
            retry_ms: 1000,
        }
    }
}

/// The smallest `t ≥ x` with `t ≡ k (mod n)`.
fn align(x: u64, k: u64, n: u64) -> u64 {
    x + (k + n - x % n) % n
}

struct Allocator {
    index: u64,
    of: u64,
    store: Arc<dyn MetaStore>,
    /// `(next, end)` of the block in hand; `next ≥ end` means none.
    block: tokio::sync::Mutex<(u64, u64)>,
    down_until: AtomicU64,
}

impl Allocator {
    async fn take(&self, opts: &TicketOptions, now_ms: u64) -> Result<u64> {
        let mut b = self.block.lock().await;
        if b.0 < b.1 && (b.0 >> 10) + opts.max_age_ms >= now_ms {
            let t = b.0;
            b.0 += self.of;
            return Ok(t);
        }
        let key = tables::ticket_counter(self.index as u16);
        for _ in 0..1000 {
            let cur = self.store.get(&key).await?;
            let stored = match &cur {
                Some(v) => tables::decode_u64(v)?,
                None => 0,
            };
            let start = align(stored.max(now_ms << 10), self.index, self.of);
            let end = start + opts.block.max(1) * self.of;
            let new = Some(end.to_be_bytes().to_vec());
            if self.store.cas(&key, cur.as_deref(), new).await? == CasOutcome::Swapped {
                *b = (start + self.of, end);
                return Ok(start);
            }
        }
        Err(Error::Unavailable(format!(
            "ticket allocator {} stayed contended for 1000 attempts",
            self.index
        )))
    }
}

/// Ids from `n` interleaved ticket allocators (see the module docs).
pub struct TicketIds {
    allocators: Vec<Allocator>,
    turn: AtomicUsize,
    opts: TicketOptions,
    clock: Clock,
}

impl TicketIds {
    /// One allocator per store in `stores` (allocator `k` keeps its counter
    /// on `stores[k]`; the same store may back several). At least one.
    pub fn new(stores: Vec<Arc<dyn MetaStore>>, opts: TicketOptions, clock: Clock) -> Result<Self> {
        let n = stores.len() as u64;
        if n == 0 || n > u64::from(u16::MAX) {
            return Err(Error::InvalidInput(
                "ticket-allocators must be between 1 and 65535".into(),
            ));
        }
        let allocators = stores
            .into_iter()
            .enumerate()
            .map(|(k, store)| Allocator {
                index: k as u64,
                of: n,
                store,
                block: tokio::sync::Mutex::new((0, 0)),
                down_until: AtomicU64::new(0),
            })
            .collect();
        Ok(TicketIds {
            allocators,
            turn: AtomicUsize::new(0),
            opts,
            clock,
        })
    }

    /// Number of allocators.
    pub fn allocators(&self) -> usize {
        self.allocators.len()
    }
}

/// The photo id of ticket `t` in logical shard `shard`: distinct tickets
/// give distinct ids whatever the shard.
pub fn ticket_id(t: u64, shard: u16) -> PhotoId {
    PhotoId::from_parts(t >> 10, shard, (t & 0x3ff) as u16)
}

#[async_trait]
impl IdSource for TicketIds {
    fn scheme(&self) -> IdScheme {
        IdScheme::Ticket
    }

    async fn next(&self, shard: u16) -> Result<PhotoId> {
        let now = (self.clock)().saturating_sub(EPOCH_MS);
        let n = self.allocators.len();
        let first = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let a = &self.allocators[(first + i) % n];
            if a.down_until.load(Ordering::Relaxed) > now {
                continue;
            }
            match a.take(&self.opts, now).await {
                Ok(t) => return Ok(ticket_id(t, shard)),
                Err(e) => {
                    tracing::warn!(allocator = a.index, error = %e, "ticket allocator failed; skipping it");
                    a.down_until
                        .store(now + self.opts.retry_ms, Ordering::Relaxed);
                    last = Some(e);
                }
            }
        }
        Err(Error::Unavailable(match last {
            Some(e) => format!("every ticket allocator is down (last: {e})"),
            None => "every ticket allocator is down; retrying soon".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_picks_the_allocators_residue() {
        assert_eq!(align(10, 1, 2), 11);
        assert_eq!(align(11, 1, 2), 11);
        assert_eq!(align(10, 0, 2), 10);
        assert_eq!(align(7, 2, 3), 8);
        for x in 0..50 {
            for n in 1..5 {
                for k in 0..n {
                    let t = align(x, k, n);
                    assert!(t >= x && t < x + n && t % n == k);
                }
            }
        }
    }

    #[test]
    fn ticket_ids_are_time_sortable_and_keep_the_shard() {
        let a = ticket_id((5 << 10) | 1023, 8191);
        let b = ticket_id(6 << 10, 0);
        assert!(a < b);
        assert_eq!((a.ms(), a.shard(), a.seq()), (5, 8191, 1023));
        assert_ne!(ticket_id(1, 4), ticket_id(2, 4));
    }
}
