//! Scan checks of the conformance suite: order, limits, range bounds, nested
//! and `0xff`-terminated prefixes, binary keys and an unbounded upper end.
//!
//! Every expected result is computed from a model (a sorted list of the keys
//! the check wrote), never hard-coded, and both directions are compared
//! against the same model.

use super::Cx;
use crate::meta::{Direction, Durability, Entry, KeyRange};

/// Scan `range` both ways with `limit` and compare with the model `all`
/// (every entry of this check's namespace, ascending).
async fn expect_scan(cx: &Cx, all: &[Entry], range: &KeyRange, limit: usize, what: &str) {
    let inside: Vec<Entry> = all
        .iter()
        .filter(|(k, _)| range.contains(k))
        .cloned()
        .collect();
    let fwd: Vec<Entry> = inside.iter().take(limit).cloned().collect();
    let rev: Vec<Entry> = inside.iter().rev().take(limit).cloned().collect();
    let got = cx.ok(cx.store.scan(range, Direction::Forward, limit).await, what);
    cx.eq(
        keys(&got),
        keys(&fwd),
        &format!("{what}: forward, limit {limit}"),
    );
    cx.eq(got, fwd, &format!("{what}: forward values, limit {limit}"));
    let got = cx.ok(cx.store.scan(range, Direction::Reverse, limit).await, what);
    cx.eq(
        keys(&got),
        keys(&rev),
        &format!("{what}: reverse, limit {limit}"),
    );
    cx.eq(got, rev, &format!("{what}: reverse values, limit {limit}"));
}

fn keys(entries: &[Entry]) -> Vec<Vec<u8>> {
    entries.iter().map(|(k, _)| k.clone()).collect()
}

/// Write one entry per suffix (value = "v" ++ suffix) and return the model.
async fn seed(cx: &Cx, check: &str, suffixes: &[&[u8]]) -> Vec<Entry> {
    let mut all: Vec<Entry> = suffixes
        .iter()
        .map(|s| {
            let mut v = b"v".to_vec();
            v.extend_from_slice(s);
            (cx.key(check, s), v)
        })
        .collect();
    cx.put_all(&all, Durability::Sync, &format!("seed {check}"))
        .await;
    all.sort();
    all
}

pub(super) async fn scan_limits(cx: &Cx) {
    const C: &str = "scan_limits";
    let names: Vec<Vec<u8>> = (0..10u8).map(|i| format!("k{i:02}").into_bytes()).collect();
    let suffixes: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let all = seed(cx, C, &suffixes).await;
    let whole = KeyRange::prefix(&cx.ns(C));
    for limit in [0, 1, 3, 9, 10, 11, 5000] {
        expect_scan(cx, &all, &whole, limit, "whole namespace").await;
    }
    let got = cx.ok(cx.store.scan(&whole, Direction::Reverse, 1).await, "newest");
    cx.eq(
        keys(&got),
        vec![cx.key(C, b"k09")],
        "reverse limit 1 is the greatest key",
    );
}

pub(super) async fn scan_ranges(cx: &Cx) {
    const C: &str = "scan_ranges";
    let all = seed(cx, C, &[b"a", b"b", b"c", b"d", b"e", b"f"]).await;
    let k = |s: &[u8]| cx.key(C, s);
    let cases = [
        (
            KeyRange::between(&k(b"b"), &k(b"e")),
            "between b and e (end exclusive)",
        ),
        (
            KeyRange::between(&k(b"b"), &k(b"b\0")),
            "between b and b\\0: exactly b",
        ),
        (
            KeyRange::between(&k(b"bb"), &k(b"dd")),
            "bounds that are not keys",
        ),
        (
            KeyRange::between(&k(b"0"), &k(b"a")),
            "range just below the first key",
        ),
        (
            KeyRange::between(&k(b"c"), &k(b"c")),
            "empty range start == end",
        ),
        (
            KeyRange::between(&k(b"e"), &k(b"b")),
            "inverted range start > end",
        ),
        (
            KeyRange::between(&k(b"x"), &k(b"z")),
            "range past every key",
        ),
        (KeyRange::prefix(&k(b"c")), "prefix of one key"),
        (KeyRange::prefix(&k(b"q")), "prefix with no keys"),
    ];
    for (range, what) in &cases {
        for limit in [0, 1, 2, 3, 100] {
            expect_scan(cx, &all, range, limit, what).await;
        }
    }
    // Guard against a model that is empty by mistake.
    let got = cx.ok(
        cx.store.scan(&cases[0].0, Direction::Reverse, 100).await,
        "between",
    );
    cx.eq(
        keys(&got),
        vec![k(b"d"), k(b"c"), k(b"b")],
        "reverse between b and e is d, c, b",
    );
}

pub(super) async fn nested_prefixes(cx: &Cx) {
    const C: &str = "nested";
    let all = seed(cx, C, &[b"a", b"ab", b"abc", b"abd", b"abd\0", b"ac", b"b"]).await;
    for p in [&b"a"[..], b"ab", b"abc", b"abd", b"abd\0", b"b", b""] {
        let range = KeyRange::prefix(&cx.key(C, p));
        for limit in [1, 2, 100] {
            expect_scan(cx, &all, &range, limit, &format!("prefix {p:?}")).await;
        }
    }
    let got = cx.ok(
        cx.store
            .scan(
                &KeyRange::prefix(&cx.key(C, b"ab")),
                Direction::Forward,
                100,
            )
            .await,
        "ab",
    );
    cx.eq(
        keys(&got),
        vec![
            cx.key(C, b"ab"),
            cx.key(C, b"abc"),
            cx.key(C, b"abd"),
            cx.key(C, b"abd\0"),
        ],
        "prefix ab",
    );
    cx.eq(
        cx.get(&cx.key(C, b"a"), "get a").await,
        Some(b"va".to_vec()),
        "a key that prefixes others keeps its value",
    );
}

pub(super) async fn binary_keys(cx: &Cx) {
    const C: &str = "binary";
    let suffixes: [&[u8]; 10] = [
        &[0x00],
        &[0x00, 0x00],
        &[0x00, 0xff],
        &[0x01],
        &[0x7f, 0xff],
        &[0xfe, 0xff],
        &[0xff],
        &[0xff, 0x00],
        &[0xff, 0xff],
        &[0xff, 0xff, 0xff],
    ];
    let all = seed(cx, C, &suffixes).await;
    let got = cx.ok(
        cx.store
            .scan(&KeyRange::prefix(&cx.ns(C)), Direction::Forward, 100)
            .await,
        "all binary",
    );
    let want: Vec<Vec<u8>> = suffixes.iter().map(|s| cx.key(C, s)).collect();
    cx.eq(
        keys(&got),
        want,
        "binary keys sort bytewise (0x00 low, 0xff high, shorter first)",
    );
    for p in [
        &[0x00][..],
        &[0xff],
        &[0xff, 0xff],
        &[0xff, 0xff, 0xff],
        &[0xfe],
        &[0x7f, 0xff],
    ] {
        let range = KeyRange::prefix(&cx.key(C, p));
        for limit in [1, 2, 100] {
            expect_scan(cx, &all, &range, limit, &format!("binary prefix {p:02x?}")).await;
        }
    }
    for (i, s) in suffixes.iter().enumerate() {
        let v = cx.get(&cx.key(C, s), "get binary").await;
        cx.eq(
            v,
            Some(all[i].1.clone()),
            &format!("get binary key {s:02x?}"),
        );
    }
}

pub(super) async fn unbounded_end(cx: &Cx) {
    const C: &str = "unbounded";
    let all = seed(cx, C, &[b"a", b"b", b"c"]).await;
    // Keys above the start are ours first; anything after them belongs to
    // other checks or other users of a shared store, so only take ours.
    let range = KeyRange {
        start: cx.key(C, b"b"),
        end: None,
    };
    let got = cx.ok(
        cx.store.scan(&range, Direction::Forward, 2).await,
        "unbounded forward",
    );
    cx.eq(got, all[1..].to_vec(), "forward scan with no upper bound");
    let got = cx.ok(
        cx.store.scan(&range, Direction::Reverse, 50).await,
        "unbounded reverse",
    );
    cx.check(
        !got.is_empty(),
        "reverse scan with no upper bound finds keys",
    );
    cx.check(
        got.iter().all(|(k, _)| range.contains(k)),
        "reverse unbounded scan stays above start",
    );
    cx.check(
        got.windows(2).all(|w| w[0].0 > w[1].0),
        "reverse unbounded scan is strictly descending",
    );
}
