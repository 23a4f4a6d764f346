//! Unit tests of [`super`]: id layout, parsing, and the generator's clock,
//! overflow and node rules.

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
    // moves on each time that ms's 64 counter values run out.
    let pinned = ids[1499].ms();
    assert_eq!(pinned, 10_000_000 + 1499);
    assert_eq!(ids[1500], PhotoId::from_parts(pinned, 42, 1));
    assert_eq!(ids[1562], PhotoId::from_parts(pinned, 42, 63));
    assert_eq!(ids[1563], PhotoId::from_parts(pinned + 1, 42, 0));
    assert_eq!(ids[2999].ms(), pinned + (2999 - 1499) / 64);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3000);
}

#[test]
fn sequence_overflow_moves_to_next_ms() {
    let (_t, clock) = frozen(EPOCH_MS + 500);
    let g = IdGenerator::with_clock(clock);
    let ids: Vec<_> = (0..100).map(|_| g.next(1)).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids[0].ms(), 500);
    assert_eq!(ids[63], PhotoId::from_parts(500, 1, 63));
    assert_eq!(ids[64], PhotoId::from_parts(501, 1, 0));
    assert_eq!(ids[99].ms(), 501);
    // Another shard is unaffected by shard 1's burst.
    assert_eq!(g.next(2), PhotoId::from_parts(500, 2, 0));
}

#[test]
fn nodes_mint_disjoint_ids_in_the_same_millisecond() {
    let (_t, clock) = frozen(EPOCH_MS + 77);
    let a = IdGenerator::for_node(3, clock.clone());
    let b = IdGenerator::for_node(12, clock);
    let mut all = HashSet::new();
    for _ in 0..500 {
        let (x, y) = (a.next(9), b.next(9));
        assert_eq!((x.node(), y.node()), (3, 12));
        assert!(all.insert(x) && all.insert(y), "{x:?} / {y:?} repeated");
    }
    // Same node, same frozen clock: the very ids collide (what the
    // node lease exists to prevent).
    let (_t, clock) = frozen(EPOCH_MS + 77);
    let c = IdGenerator::for_node(3, clock);
    assert_eq!(c.next(9), PhotoId::from_parts(77, 9, 3 << 6));
    assert!(all.contains(&PhotoId::from_parts(77, 9, 3 << 6)));
}

#[test]
fn clock_before_epoch_counts_as_epoch() {
    let (_t, clock) = frozen(0);
    let g = IdGenerator::with_clock(clock);
    assert_eq!(g.next(0), PhotoId::from_parts(0, 0, 0));
    assert_eq!(g.next(0), PhotoId::from_parts(0, 0, 1));
}
