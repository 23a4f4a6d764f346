//! Fan-in: a request that sends `k` sub-requests and completes when all `k`
//! have completed (a feed read = max of per-shard reads, then a merge).
//!
//! The continuation is a slot in a slab: [`Joins::open`] stores the parent's
//! handle `P` (anything `Copy`, e.g. a request index) and a countdown, and
//! returns a [`JoinId`] of 8 bytes that the sub-requests carry in their events.
//! Each sub-request completion calls [`Joins::arrive`]; the last one frees the
//! slot and returns the parent with the time the join was opened, so the
//! caller can continue (schedule the merge) and measure the span. Slots are
//! reused through a free list, so a steady state allocates nothing. A
//! generation counter makes a late or duplicated arrival an error rather than
//! a silent corruption of another request.

use crate::engine::SimTime;
use crate::error::{Error, Result, invalid};

/// Handle of an open join, carried by its sub-requests' events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JoinId {
    index: u32,
    generation: u32,
}

/// A join whose last sub-request just completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined<P> {
    /// The handle given to [`Joins::open`].
    pub parent: P,
    /// When the join was opened; `now - opened_at` is the fan-in span.
    pub opened_at: SimTime,
}

#[derive(Debug, Clone)]
struct Slot<P> {
    generation: u32,
    remaining: u32,
    opened_at: SimTime,
    /// Latest arrival time given to [`Joins::arrive_at`] so far.
    latest: SimTime,
    parent: Option<P>,
}

/// A slab of open joins.
#[derive(Debug, Clone)]
pub struct Joins<P> {
    slots: Vec<Slot<P>>,
    free: Vec<u32>,
    open: usize,
    completed: u64,
}

impl<P: Copy> Default for Joins<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Copy> Joins<P> {
    /// An empty slab.
    pub fn new() -> Self {
        Joins {
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            completed: 0,
        }
    }

    /// Open a join at `now` waiting for `k` (≥ 1) sub-requests on behalf of
    /// `parent`.
    #[inline]
    pub fn open(&mut self, now: SimTime, k: u32, parent: P) -> Result<JoinId> {
        if k == 0 {
            return Err(invalid("k", "a join needs at least one sub-request"));
        }
        if let Some(index) = self.free.pop() {
            self.open += 1;
            let slot = &mut self.slots[index as usize];
            slot.remaining = k;
            slot.opened_at = now;
            slot.latest = now;
            slot.parent = Some(parent);
            return Ok(JoinId {
                index,
                generation: slot.generation,
            });
        }
        let index = u32::try_from(self.slots.len())
            .map_err(|_| invalid("joins", "more than 2^32 joins open at once"))?;
        self.open += 1;
        self.slots.push(Slot {
            generation: 0,
            remaining: k,
            opened_at: now,
            latest: now,
            parent: Some(parent),
        });
        Ok(JoinId {
            index,
            generation: 0,
        })
    }

    /// One sub-request of `id` completed. Returns `Some` when it was the last
    /// one (the slot is then freed and `id` becomes stale), else `None`.
    ///
    /// Errors with [`Error::StaleJoin`] when `id` is not open (it already
    /// completed, or came from another slab).
    #[inline]
    pub fn arrive(&mut self, id: JoinId) -> Result<Option<Joined<P>>> {
        Ok(self.arrive_at(id, 0)?.map(|(j, _)| j))
    }

    /// Like [`Joins::arrive`], for a sub-request whose reply lands at `at`
    /// (possibly after now): when it is the last one, also returns the
    /// latest `at` of all the join's sub-requests (at least the opening
    /// time), i.e. when the fan-in completes. Lets a caller skip one reply
    /// event per sub-request.
    #[inline]
    pub fn arrive_at(&mut self, id: JoinId, at: SimTime) -> Result<Option<(Joined<P>, SimTime)>> {
        let stale = Error::StaleJoin {
            index: id.index,
            generation: id.generation,
        };
        let Some(slot) = self.slots.get_mut(id.index as usize) else {
            return Err(stale);
        };
        if slot.generation != id.generation || slot.remaining == 0 {
            return Err(stale);
        }
        slot.remaining -= 1;
        slot.latest = slot.latest.max(at);
        if slot.remaining > 0 {
            return Ok(None);
        }
        slot.generation = slot.generation.wrapping_add(1);
        let parent = slot.parent.take().ok_or(stale)?;
        let opened_at = slot.opened_at;
        self.free.push(id.index);
        self.open -= 1;
        self.completed += 1;
        Ok(Some((Joined { parent, opened_at }, slot.latest)))
    }

    /// Sub-requests still outstanding for `id` (`None` if `id` is stale).
    pub fn remaining(&self, id: JoinId) -> Option<u32> {
        self.slots
            .get(id.index as usize)
            .filter(|s| s.generation == id.generation && s.remaining > 0)
            .map(|s| s.remaining)
    }

    /// Joins currently open.
    pub fn open_count(&self) -> usize {
        self.open
    }

    /// Joins completed so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_on_the_kth_arrival_and_reuses_slots() -> Result<()> {
        let mut j = Joins::new();
        let a = j.open(5, 3, 'a')?;
        let b = j.open(6, 1, 'b')?;
        assert_eq!(j.arrive(a)?, None);
        assert_eq!(j.remaining(a), Some(2));
        assert_eq!(
            j.arrive(b)?,
            Some(Joined {
                parent: 'b',
                opened_at: 6
            })
        );
        assert_eq!(j.arrive(a)?, None);
        assert_eq!(j.arrive(a)?.map(|d| d.parent), Some('a'));
        assert_eq!(j.open_count(), 0);
        assert_eq!(j.completed(), 2);
        // Both ids are now stale; a new join reuses a slot with a new generation.
        assert!(matches!(j.arrive(a), Err(Error::StaleJoin { .. })));
        let c = j.open(7, 1, 'c')?;
        assert_ne!(c, a);
        assert_ne!(c, b);
        assert!(j.arrive(b).is_err());
        assert_eq!(j.arrive(c)?.map(|d| d.parent), Some('c'));
        Ok(())
    }

    #[test]
    fn zero_fan_in_is_rejected() {
        let mut j: Joins<u32> = Joins::new();
        assert!(j.open(0, 0, 1).is_err());
        assert_eq!(j.open_count(), 0);
    }
}
