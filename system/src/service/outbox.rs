//! Outbox rows shared by many app servers, and the leases that say who
//! applies each one.
//!
//! Two outboxes hold work that must survive a crash: `o/pid` (an upload's
//! fan-out, payload = author) and `q/follower/leader` (a follow change's
//! backfill or purge and counter repair, payload = a random nonce that
//! changes on every rewrite). Every row's value is an [`OutboxValue`]: the
//! payload plus a claim — the owning service instance and the Unix ms until
//! which it owns the row.
//!
//! Rules, all through `cas` on the row itself (the row is its own claim
//! key):
//! - the writer of a row owns it from the start (the claim is part of the
//!   row's first write), so its own queue applies it without another round
//!   trip;
//! - a sweeper takes a row only when its claim has lapsed, with `cas` from
//!   the value it read, so two sweepers never both win;
//! - before applying, an owner whose claim has less than a third of the
//!   lease left extends it with `cas`, and drops the task if the row
//!   changed hands;
//! - a task that fails gives its row back unclaimed, so a server that can
//!   finish it need not wait for the claim to lapse;
//! - a finished `q/` row is deleted with `cas` from the value held; a row
//!   rewritten meanwhile (a newer follow change) is handed back unclaimed so
//!   that the edge is reconciled once more from its final state.
//!
//! A server that dies mid-task simply stops renewing: its rows lapse and
//! another server's sweeper takes them over. Applying a task twice in
//! sequence is harmless (timeline inserts are puts, counters are recounted
//! on takeover); claims make sure it never happens twice at the same time,
//! provided a task finishes within two thirds of the lease and server clocks
//! agree to well within it.

use crate::error::{Error, Result};
use crate::meta::CasOutcome;
use crate::shards::Shard;

/// An outbox row's value: payload and claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxValue {
    /// Author (`o/`) or change nonce (`q/`).
    pub payload: u64,
    /// Instance id of the owning service; 0 = unclaimed.
    pub owner: u64,
    /// The claim lapses at this Unix ms.
    pub until_ms: u64,
}

impl OutboxValue {
    /// A row owned by `owner` for `lease_ms` from `now`.
    pub fn owned(payload: u64, owner: u64, now: u64, lease_ms: u64) -> Self {
        OutboxValue {
            payload,
            owner,
            until_ms: now + lease_ms,
        }
    }

    /// 24 bytes: payload, owner, until, each u64 big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(24);
        v.extend_from_slice(&self.payload.to_be_bytes());
        v.extend_from_slice(&self.owner.to_be_bytes());
        v.extend_from_slice(&self.until_ms.to_be_bytes());
        v
    }

    /// Inverse of [`OutboxValue::encode`]; an 8-byte value (a bare payload,
    /// as older versions wrote) is an unclaimed row.
    pub fn decode(v: &[u8]) -> Result<Self> {
        let word = |i: usize| -> u64 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&v[i * 8..i * 8 + 8]);
            u64::from_be_bytes(b)
        };
        match v.len() {
            8 => Ok(OutboxValue {
                payload: word(0),
                owner: 0,
                until_ms: 0,
            }),
            24 => Ok(OutboxValue {
                payload: word(0),
                owner: word(1),
                until_ms: word(2),
            }),
            n => Err(Error::Corrupt(format!("outbox value of {n} bytes"))),
        }
    }

    /// True if `me` may not touch the row at `now`: another owner's claim
    /// is live.
    pub fn held_by_other(&self, me: u64, now: u64) -> bool {
        self.owner != me && self.owner != 0 && self.until_ms > now
    }
}

/// Claim `key`, currently `cur`, for `me` until `now + lease_ms`. Returns the
/// value now held, or `None` if another server changed the row first.
pub async fn claim(
    store: &Shard,
    key: &[u8],
    cur: &[u8],
    me: u64,
    now: u64,
    lease_ms: u64,
) -> Result<Option<Vec<u8>>> {
    let v = OutboxValue::decode(cur)?;
    let new = OutboxValue::owned(v.payload, me, now, lease_ms).encode();
    match store.cas(key, Some(cur), Some(new.clone())).await? {
        CasOutcome::Swapped => Ok(Some(new)),
        CasOutcome::Mismatch(_) => Ok(None),
    }
}

/// Make sure `me` still holds `held` with at least a third of the lease
/// left, extending it if not. Returns the value held afterwards, or `None`
/// if the row changed hands (or is gone): then the task must be dropped.
pub async fn ensure(
    store: &Shard,
    key: &[u8],
    held: Vec<u8>,
    me: u64,
    now: u64,
    lease_ms: u64,
) -> Result<Option<Vec<u8>>> {
    let v = OutboxValue::decode(&held)?;
    if v.owner == me && v.until_ms > now + lease_ms / 3 * 2 {
        return Ok(Some(held));
    }
    claim(store, key, &held, me, now, lease_ms).await
}

/// Give back a claim: the row, if it still holds `held`, becomes unclaimed
/// so any sweeper may take it at once. Used after a task failed here.
pub async fn release(store: &Shard, key: &[u8], held: &[u8]) -> Result<()> {
    let v = OutboxValue::decode(held)?;
    let free = OutboxValue {
        owner: 0,
        until_ms: 0,
        ..v
    };
    store.cas(key, Some(held), Some(free.encode())).await?;
    Ok(())
}

/// Delete a finished `q/` row if it still holds `held`. If it changed (or
/// vanished) meanwhile, the task may have read the edge mid-change, so the
/// row is rewritten unclaimed with a fresh nonce and a sweeper reconciles
/// the edge once more. Returns true if the row was deleted.
pub async fn finish(store: &Shard, key: &[u8], held: &[u8]) -> Result<bool> {
    match store.cas(key, Some(held), None).await? {
        CasOutcome::Swapped => Ok(true),
        CasOutcome::Mismatch(cur) => {
            let again = OutboxValue {
                payload: rand::random(),
                owner: 0,
                until_ms: 0,
            };
            // Losing this race means a newer change rewrote the row, and
            // that change reconciles the edge itself.
            store.cas(key, cur.as_deref(), Some(again.encode())).await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_roundtrip_and_legacy_rows_are_unclaimed() {
        let v = OutboxValue::owned(7, 99, 1000, 500);
        assert_eq!(OutboxValue::decode(&v.encode()).expect("decode"), v);
        let legacy = OutboxValue::decode(&42u64.to_be_bytes()).expect("legacy");
        assert_eq!((legacy.payload, legacy.owner), (42, 0));
        assert!(!legacy.held_by_other(5, 0));
        assert!(v.held_by_other(5, 1499) && !v.held_by_other(5, 1500));
        assert!(!v.held_by_other(99, 1000));
        assert!(OutboxValue::decode(b"abc").is_err());
    }
}
