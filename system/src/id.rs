//! Time-sortable photo ids, generated on each node with no central service.
//!
//! A [`PhotoId`] packs, from the most significant bit down:
//! - 41 bits of milliseconds since [`EPOCH_MS`] (2025-01-01; lasts until 2094),
//! - 13 bits of logical shard (0..8192; the partitioner maps it to a physical shard),
//! - 10 bits of sequence within that millisecond and logical shard.
//!
//! So comparing the `u64` compares upload time first, and the big-endian bytes
//! ([`PhotoId::to_be_bytes`]) sort the same way in an ordered KV: a newest-first
//! scan is a reverse scan of the key range.
//!
//! [`IdGenerator`] keeps the last issued `(ms, seq)` of every logical shard in
//! one atomic word and advances it with `compare_exchange`, so ids are unique
//! under any number of threads and strictly increasing per logical shard. When
//! the clock steps back, the generator keeps issuing from the last millisecond;
//! when 1024 ids were issued in one millisecond, it moves on to the next one
//! instead of sleeping. Under a burst or a clock step back the embedded time can
//! therefore run slightly ahead of the wall clock; it never repeats.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The id epoch: 2025-01-01T00:00:00Z in Unix ms.
pub const EPOCH_MS: u64 = 1_735_689_600_000;

/// Number of logical shards an id can name (13 bits).
pub const LOGICAL_SHARDS: usize = 1 << 13;

const MS_MASK: u64 = (1 << 41) - 1;
const SHARD_MASK: u64 = 0x1fff;
const SEQ_MASK: u64 = 0x3ff;

/// A photo id. Ordering of the `u64` is ordering by time, then shard, then
/// sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoId(pub u64);

impl PhotoId {
    /// Largest representable ms since [`EPOCH_MS`] (41 bits).
    pub const MAX_MS: u64 = MS_MASK;

    /// Assemble from parts (each masked to its width).
    pub fn from_parts(ms: u64, shard: u16, seq: u16) -> Self {
        PhotoId(
            ((ms & MS_MASK) << 23) | ((shard as u64 & SHARD_MASK) << 10) | (seq as u64 & SEQ_MASK),
        )
    }

    /// Ms since [`EPOCH_MS`].
    pub fn ms(self) -> u64 {
        self.0 >> 23
    }

    /// Unix time in ms at which the id was issued (its embedded time).
    pub fn unix_ms(self) -> u64 {
        self.ms() + EPOCH_MS
    }

    /// Logical shard (13 bits).
    pub fn shard(self) -> u16 {
        ((self.0 >> 10) & SHARD_MASK) as u16
    }

    /// Sequence (10 bits).
    pub fn seq(self) -> u16 {
        (self.0 & SEQ_MASK) as u16
    }

    /// The smallest id of millisecond `ms` (since [`EPOCH_MS`]); a lower bound
    /// for "photos since `ms`" range scans.
    pub fn lowest_at(ms: u64) -> Self {
        PhotoId::from_parts(ms, 0, 0)
    }

    /// The largest id of millisecond `ms` (since [`EPOCH_MS`]); an inclusive
    /// upper bound for "photos up to `ms`" range scans.
    pub fn highest_at(ms: u64) -> Self {
        PhotoId::from_parts(ms, SHARD_MASK as u16, SEQ_MASK as u16)
    }

    /// Big-endian bytes: byte order equals id order, so they make ordered keys.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Inverse of [`PhotoId::to_be_bytes`].
    pub fn from_be_bytes(bytes: [u8; 8]) -> Self {
        PhotoId(u64::from_be_bytes(bytes))
    }
}

impl fmt::Display for PhotoId {
    /// The id as a decimal number (the form used in URLs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for PhotoId {
    type Err = crate::Error;

    /// Parses a decimal id: ASCII digits only (no sign, spaces or prefix), at
    /// most `u64::MAX`. Never panics; anything else is `Error::InvalidInput`.
    fn from_str(s: &str) -> crate::Result<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(crate::Error::InvalidInput(format!(
                "photo id must be decimal digits, got {:?}",
                truncate_for_message(s)
            )));
        }
        s.parse::<u64>().map(PhotoId).map_err(|_| {
            crate::Error::InvalidInput(format!(
                "photo id out of range: {:?}",
                truncate_for_message(s)
            ))
        })
    }
}

/// Keeps error messages short when a client sends a huge path segment.
fn truncate_for_message(s: &str) -> &str {
    match s.char_indices().nth(32) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A clock returning Unix time in milliseconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Sentinel for "no id issued yet in this logical shard".
const NONE: u64 = u64::MAX;

/// Per-node id generator. Cheap to share; safe under concurrency.
///
/// State is one `AtomicU64` per logical shard (64 KiB in all) holding the last
/// issued `ms << 10 | seq`; see the module docs for the clock rules.
pub struct IdGenerator {
    clock: Clock,
    last: Box<[AtomicU64]>,
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdGenerator").finish_non_exhaustive()
    }
}

impl Default for IdGenerator {
    /// Same as [`IdGenerator::new`].
    fn default() -> Self {
        IdGenerator::new()
    }
}

impl IdGenerator {
    /// A generator reading the system clock.
    pub fn new() -> Self {
        IdGenerator::with_clock(Arc::new(system_unix_ms))
    }

    /// A generator reading `clock` (Unix ms) — tests inject frozen or
    /// stepping clocks. A clock before [`EPOCH_MS`] counts as the epoch.
    pub fn with_clock(clock: Clock) -> Self {
        let last = (0..LOGICAL_SHARDS).map(|_| AtomicU64::new(NONE)).collect();
        IdGenerator { clock, last }
    }

    /// A new id in logical shard `shard` (masked to 13 bits); unique and
    /// strictly increasing per shard, across all threads sharing `self`.
    ///
    /// Its time is `max(clock, last issued ms)`, plus one ms each time the
    /// 1024 sequence numbers of a millisecond run out.
    pub fn next(&self, shard: u16) -> PhotoId {
        let shard = shard & SHARD_MASK as u16;
        let slot = &self.last[usize::from(shard)];
        let now = (self.clock)().saturating_sub(EPOCH_MS).min(MS_MASK);
        let mut last = slot.load(Ordering::Acquire);
        loop {
            let next = advance(last, now);
            match slot.compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return PhotoId::from_parts(next >> 10, shard, (next & SEQ_MASK) as u16);
                }
                Err(seen) => last = seen,
            }
        }
    }
}

/// The `ms << 10 | seq` state following `last` when the clock reads `now`.
fn advance(last: u64, now: u64) -> u64 {
    if last == NONE {
        return now << 10;
    }
    let (last_ms, last_seq) = (last >> 10, last & SEQ_MASK);
    if now > last_ms {
        now << 10
    } else if last_seq < SEQ_MASK {
        last + 1
    } else {
        // Sequence exhausted in this ms: borrow the next ms.
        (last_ms + 1) << 10
    }
}

fn system_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn frozen(at_unix_ms: u64) -> (Arc<AtomicU64>, Clock) {
        let t = Arc::new(AtomicU64::new(at_unix_ms));
        let t2 = Arc::clone(&t);
        (t, Arc::new(move || t2.load(Ordering::SeqCst)))
    }

    #[test]
    fn parts_roundtrip() {
        for (ms, shard, seq) in [
            (0, 0, 0),
            (1, 8191, 1023),
            (MS_MASK, 4242, 7),
            (123_456, 1, 512),
        ] {
            let id = PhotoId::from_parts(ms, shard, seq);
            assert_eq!((id.ms(), id.shard(), id.seq()), (ms, shard, seq));
            assert_eq!(PhotoId::from_be_bytes(id.to_be_bytes()), id);
            assert_eq!(id.unix_ms(), ms + EPOCH_MS);
        }
        // Out-of-width parts are masked, not spilled into neighbours.
        let id = PhotoId::from_parts(5, 0x2001, 0x401);
        assert_eq!((id.ms(), id.shard(), id.seq()), (5, 1, 1));
    }

    #[test]
    fn ordering_is_time_order_also_as_bytes() {
        let older = PhotoId::from_parts(1000, 8191, 1023);
        let newer = PhotoId::from_parts(1001, 0, 0);
        assert!(older < newer);
        assert!(older.to_be_bytes() < newer.to_be_bytes());
        assert!(PhotoId::lowest_at(1001) <= newer && newer <= PhotoId::highest_at(1001));
        assert!(PhotoId::highest_at(1000) >= older);
    }

    #[test]
    fn display_and_parse() {
        let id = PhotoId::from_parts(77, 3, 9);
        assert_eq!(id.to_string().parse::<PhotoId>().expect("roundtrip"), id);
        assert_eq!(
            "18446744073709551615".parse::<PhotoId>().expect("max").0,
            u64::MAX
        );
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1a",
            "0x10",
            "18446744073709551616",
            "１",
        ] {
            assert!(
                bad.parse::<PhotoId>().is_err(),
                "{bad:?} should be rejected"
            );
        }
        let long = "9".repeat(10_000);
        assert!(long.parse::<PhotoId>().is_err());
    }

    #[test]
    fn unique_across_threads() {
        let generator = Arc::new(IdGenerator::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = Arc::clone(&generator);
                std::thread::spawn(move || (0..100_000).map(|_| g.next(7)).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            let ids = h.join().expect("thread");
            // Each thread sees its own ids strictly increasing.
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            all.extend(ids);
        }
        assert_eq!(all.len(), 400_000);
    }

    #[test]
    fn monotonic_per_shard_and_shard_embedded() {
        let g = IdGenerator::new();
        let mut last = [PhotoId(0); 3];
        for i in 0..30_000u32 {
            let shard = (i % 3) as u16 * 4000;
            let id = g.next(shard);
            assert_eq!(id.shard(), shard);
            let slot = &mut last[(i % 3) as usize];
            assert!(id > *slot);
            *slot = id;
        }
    }

    #[test]
    fn clock_step_back_never_repeats() {
        let start = EPOCH_MS + 10_000_000;
        let (t, clock) = frozen(start);
        let g = IdGenerator::with_clock(clock);
        let mut ids = Vec::new();
        for i in 0..3000u64 {
            // Ticks 1 ms per id; at id 1500 the clock steps back 5 s.
            let now = if i < 1500 {
                start + i
            } else {
                start + i - 5000
            };
            t.store(now, Ordering::SeqCst);
            ids.push(g.next(42));
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        // While the clock is behind, time stays at the last ms issued, and
        // moves on only when that ms's 1024 sequence numbers run out.
        let pinned = ids[1499].ms();
        assert_eq!(pinned, 10_000_000 + 1499);
        assert_eq!(ids[1500], PhotoId::from_parts(pinned, 42, 1));
        assert_eq!(ids[2522], PhotoId::from_parts(pinned, 42, 1023));
        assert_eq!(ids[2523], PhotoId::from_parts(pinned + 1, 42, 0));
        assert_eq!(ids[2999].ms(), pinned + 1);
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3000);
    }

    #[test]
    fn sequence_overflow_moves_to_next_ms() {
        let (_t, clock) = frozen(EPOCH_MS + 500);
        let g = IdGenerator::with_clock(clock);
        let ids: Vec<_> = (0..2000).map(|_| g.next(1)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].ms(), 500);
        assert_eq!(ids[1023], PhotoId::from_parts(500, 1, 1023));
        assert_eq!(ids[1024], PhotoId::from_parts(501, 1, 0));
        assert_eq!(ids[1999].ms(), 501);
        // Another shard is unaffected by shard 1's burst.
        assert_eq!(g.next(2), PhotoId::from_parts(500, 2, 0));
    }

    #[test]
    fn clock_before_epoch_counts_as_epoch() {
        let (_t, clock) = frozen(0);
        let g = IdGenerator::with_clock(clock);
        assert_eq!(g.next(0), PhotoId::from_parts(0, 0, 0));
        assert_eq!(g.next(0), PhotoId::from_parts(0, 0, 1));
    }
}
