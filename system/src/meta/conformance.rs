//! The `MetaStore` conformance suite, run on every backend.
//!
//! [`test_suite`] is library code so that every backend's test binary (the
//! embedded fjall store here, a TiKV one behind `FEEDLAB_TIKV_PD` later) runs
//! the very same checks. It panics with a message naming the backend, the
//! check and the run prefix on the first failure.
//!
//! The suite works on a shared, non-empty store: every key it touches lives
//! under a run prefix `feedlab-conformance/<16 hex digits>/`, and each check
//! has its own sub-prefix, so checks never see each other's keys or anyone
//! else's. The random run prefix only picks a namespace; no check depends on
//! random values. Keys are left behind (a TiKV cluster is shared, and
//! deleting them would need the very operations under test).
//!
//! Submodules: [`scan`] checks ordering, limits and ranges; [`cas`] checks
//! compare-and-swap, alone and under concurrency. Point reads, batches,
//! durability classes and checkpoints are checked here.

mod cas;
mod scan;

use std::sync::Arc;

use super::{Durability, MetaStore, WriteBatch};
use crate::error::Result;

/// Run every conformance check against `store` under a fresh random run
/// prefix; panics on the first failure.
pub async fn test_suite(store: Arc<dyn MetaStore>) {
    let run = format!("feedlab-conformance/{:016x}/", rand::random::<u64>());
    test_suite_in(store, run.as_bytes()).await;
}

/// Run every conformance check with all keys under `run_prefix`, which must
/// not hold keys already (use a fresh one per run); panics on failure.
pub async fn test_suite_in(store: Arc<dyn MetaStore>, run_prefix: &[u8]) {
    let cx = Cx {
        store,
        run: run_prefix.to_vec(),
    };
    get_absent_present(&cx).await;
    batch_get_order(&cx).await;
    batch_atomicity(&cx).await;
    buffered_visible(&cx).await;
    big_values(&cx).await;
    checkpoint_keeps_writes(&cx).await;
    scan::scan_limits(&cx).await;
    scan::scan_ranges(&cx).await;
    scan::nested_prefixes(&cx).await;
    scan::binary_keys(&cx).await;
    scan::unbounded_end(&cx).await;
    cas::cas_basic(&cx).await;
    cas::cas_concurrent(&cx).await;
}

/// Shared context of one suite run: the store and the run prefix.
pub(crate) struct Cx {
    store: Arc<dyn MetaStore>,
    run: Vec<u8>,
}

impl Cx {
    /// The namespace of one check: `run ++ check ++ "/"`.
    fn ns(&self, check: &str) -> Vec<u8> {
        let mut k = self.run.clone();
        k.extend_from_slice(check.as_bytes());
        k.push(b'/');
        k
    }

    /// A key inside a check's namespace.
    fn key(&self, check: &str, suffix: &[u8]) -> Vec<u8> {
        let mut k = self.ns(check);
        k.extend_from_slice(suffix);
        k
    }

    /// Unwrap a store result or panic naming the backend, check and step.
    #[track_caller]
    fn ok<T>(&self, r: Result<T>, what: &str) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!(
                "conformance[{}] run {:?}: {what}: unexpected error: {e}",
                self.store.backend(),
                String::from_utf8_lossy(&self.run)
            ),
        }
    }

    /// Panic unless `cond`, naming the backend, run prefix and the check.
    #[track_caller]
    fn check(&self, cond: bool, what: &str) {
        assert!(
            cond,
            "conformance[{}] run {:?}: {what}",
            self.store.backend(),
            String::from_utf8_lossy(&self.run)
        );
    }

    /// Panic unless `got == want`, showing both.
    #[track_caller]
    fn eq<T: PartialEq + std::fmt::Debug>(&self, got: T, want: T, what: &str) {
        assert!(
            got == want,
            "conformance[{}] run {:?}: {what}:\n  got:  {got:?}\n  want: {want:?}",
            self.store.backend(),
            String::from_utf8_lossy(&self.run)
        );
    }

    /// Write `pairs` as one batch with the given durability.
    async fn put_all(&self, pairs: &[(Vec<u8>, Vec<u8>)], durability: Durability, what: &str) {
        let mut b = WriteBatch::new();
        b.durability = durability;
        for (k, v) in pairs {
            b.put(k.clone(), v.clone());
        }
        let r = self.store.write(b).await;
        self.ok(r, what);
    }

    /// `get` that panics on error.
    async fn get(&self, key: &[u8], what: &str) -> Option<Vec<u8>> {
        let r = self.store.get(key).await;
        self.ok(r, what)
    }
}

async fn get_absent_present(cx: &Cx) {
    const C: &str = "get";
    let k = cx.key(C, b"present");
    cx.eq(
        cx.get(&k, "get before put").await,
        None,
        "get of a never-written key",
    );
    cx.put_all(&[(k.clone(), b"v1".to_vec())], Durability::Sync, "put")
        .await;
    cx.eq(
        cx.get(&k, "get after put").await,
        Some(b"v1".to_vec()),
        "get after put",
    );
    cx.eq(
        cx.get(&cx.key(C, b"absent"), "get absent").await,
        None,
        "get of an absent neighbour",
    );
    cx.eq(
        cx.get(&cx.key(C, b"presen"), "get shorter").await,
        None,
        "get of a strict prefix of a present key",
    );
    cx.put_all(
        &[(k.clone(), b"v2".to_vec())],
        Durability::Sync,
        "overwrite",
    )
    .await;
    cx.eq(
        cx.get(&k, "get after overwrite").await,
        Some(b"v2".to_vec()),
        "overwrite replaces the value",
    );
}

async fn batch_get_order(cx: &Cx) {
    const C: &str = "batch_get";
    // Even slots are written, odd ones are not; 100 keys (bigger than any
    // inline fast path) plus a duplicate and an empty request.
    let keys: Vec<Vec<u8>> = (0..100u32)
        .map(|i| cx.key(C, format!("{i:03}").as_bytes()))
        .collect();
    let pairs: Vec<_> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(2))
        .map(|(i, k)| (k.clone(), format!("v{i}").into_bytes()))
        .collect();
    cx.put_all(&pairs, Durability::Sync, "seed batch_get keys")
        .await;

    let mut request: Vec<Vec<u8>> = keys.iter().rev().cloned().collect();
    request.push(keys[0].clone());
    let got = cx.ok(cx.store.batch_get(&request).await, "batch_get");
    cx.eq(
        got.len(),
        request.len(),
        "batch_get returns one slot per key",
    );
    for (slot, key) in got.iter().zip(&request) {
        let i: usize = (0..100)
            .find(|&i| &keys[i] == key)
            .expect("request built from keys");
        let want = i.is_multiple_of(2).then(|| format!("v{i}").into_bytes());
        cx.eq(slot.clone(), want, &format!("batch_get slot for key #{i}"));
    }
    let small = vec![keys[1].clone(), keys[2].clone()];
    let got = cx.ok(cx.store.batch_get(&small).await, "small batch_get");
    cx.eq(
        got,
        vec![None, Some(b"v2".to_vec())],
        "small batch_get keeps order and absent slots",
    );
    let got = cx.ok(cx.store.batch_get(&[]).await, "empty batch_get");
    cx.check(got.is_empty(), "batch_get of no keys returns no slots");
}

async fn batch_atomicity(cx: &Cx) {
    const C: &str = "batch";
    let (a, b, gone, flip, twice) = (
        cx.key(C, b"a"),
        cx.key(C, b"b"),
        cx.key(C, b"gone"),
        cx.key(C, b"flip"),
        cx.key(C, b"twice"),
    );
    cx.put_all(&[(gone.clone(), b"old".to_vec())], Durability::Sync, "seed")
        .await;

    let mut wb = WriteBatch::new();
    wb.put(a.clone(), b"1".to_vec())
        .put(b.clone(), b"2".to_vec())
        .delete(gone.clone())
        .put(flip.clone(), b"x".to_vec())
        .delete(flip.clone())
        .put(twice.clone(), b"first".to_vec())
        .put(twice.clone(), b"second".to_vec())
        .delete(cx.key(C, b"never-existed"));
    cx.ok(cx.store.write(wb).await, "mixed batch");

    cx.eq(cx.get(&a, "a").await, Some(b"1".to_vec()), "batch put a");
    cx.eq(cx.get(&b, "b").await, Some(b"2".to_vec()), "batch put b");
    cx.eq(
        cx.get(&gone, "gone").await,
        None,
        "batch delete of an existing key",
    );
    cx.eq(
        cx.get(&flip, "flip").await,
        None,
        "put then delete in one batch: delete wins",
    );
    cx.eq(
        cx.get(&twice, "twice").await,
        Some(b"second".to_vec()),
        "two puts in one batch: the later wins",
    );

    let mut wb = WriteBatch::new();
    wb.delete(flip.clone()).put(flip.clone(), b"back".to_vec());
    cx.ok(cx.store.write(wb).await, "delete-then-put batch");
    cx.eq(
        cx.get(&flip, "flip").await,
        Some(b"back".to_vec()),
        "delete then put in one batch: put wins",
    );

    cx.ok(cx.store.write(WriteBatch::new()).await, "empty batch");
    let all = cx.ok(
        cx.store
            .scan(
                &super::KeyRange::prefix(&cx.ns(C)),
                super::Direction::Forward,
                100,
            )
            .await,
        "scan batch keys",
    );
    let names: Vec<&[u8]> = all.iter().map(|(k, _)| &k[cx.ns(C).len()..]).collect();
    cx.eq(
        names,
        vec![&b"a"[..], b"b", b"flip", b"twice"],
        "keys after the batches",
    );
}

async fn buffered_visible(cx: &Cx) {
    const C: &str = "buffered";
    let pairs: Vec<_> = (0..10u8)
        .map(|i| (cx.key(C, &[b'k', i]), vec![i; 3]))
        .collect();
    cx.put_all(&pairs, Durability::Buffered, "buffered batch")
        .await;
    for (k, v) in &pairs {
        cx.eq(
            cx.get(k, "get buffered").await,
            Some(v.clone()),
            "buffered put is visible to get",
        );
    }
    let mut wb = WriteBatch::buffered();
    wb.delete(pairs[0].0.clone());
    cx.ok(cx.store.write(wb).await, "buffered delete");
    let got = cx.ok(
        cx.store
            .scan(
                &super::KeyRange::prefix(&cx.ns(C)),
                super::Direction::Forward,
                100,
            )
            .await,
        "scan buffered",
    );
    cx.eq(
        got,
        pairs[1..].to_vec(),
        "buffered puts and delete are visible to scan",
    );
}

async fn big_values(cx: &Cx) {
    const C: &str = "big";
    let big: Vec<u8> = (0..(1u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (k1, k2) = (cx.key(C, b"one"), cx.key(C, b"two"));
    let mut other = big.clone();
    other.reverse();
    cx.put_all(
        &[(k1.clone(), big.clone()), (k2.clone(), other.clone())],
        Durability::Sync,
        "put 1 MiB values",
    )
    .await;
    cx.check(
        cx.get(&k1, "get big").await.as_deref() == Some(big.as_slice()),
        "1 MiB value reads back intact",
    );
    let got = cx.ok(
        cx.store
            .scan(
                &super::KeyRange::prefix(&cx.ns(C)),
                super::Direction::Reverse,
                10,
            )
            .await,
        "scan big",
    );
    cx.check(
        got.len() == 2 && got[0].1 == other && got[1].1 == big,
        "reverse scan returns both 1 MiB values intact",
    );
    let r = cx.store.cas(&k1, Some(&big), Some(other.clone())).await;
    cx.eq(
        cx.ok(r, "cas on big value"),
        super::CasOutcome::Swapped,
        "cas comparing a 1 MiB value",
    );
    cx.check(
        cx.get(&k1, "get after cas").await.as_deref() == Some(other.as_slice()),
        "cas wrote the 1 MiB value",
    );
}

async fn checkpoint_keeps_writes(cx: &Cx) {
    const C: &str = "checkpoint";
    let pairs: Vec<_> = (0..20u8)
        .map(|i| (cx.key(C, &[b'k', i]), vec![i; 5]))
        .collect();
    cx.put_all(&pairs[..10], Durability::Sync, "synced batch")
        .await;
    cx.put_all(&pairs[10..], Durability::Buffered, "buffered batch")
        .await;
    let mut wb = WriteBatch::buffered();
    wb.delete(pairs[0].0.clone());
    cx.ok(cx.store.write(wb).await, "delete before checkpoint");
    cx.ok(cx.store.checkpoint().await, "checkpoint");
    let range = super::KeyRange::prefix(&cx.ns(C));
    let scan = cx.store.scan(&range, super::Direction::Forward, 100).await;
    cx.eq(
        cx.ok(scan, "scan after checkpoint"),
        pairs[1..].to_vec(),
        "puts and the delete before a checkpoint read back after it",
    );
    cx.put_all(&pairs[..1], Durability::Sync, "put after checkpoint")
        .await;
    cx.ok(cx.store.checkpoint().await, "second checkpoint");
    cx.eq(
        cx.get(&pairs[0].0, "get after second checkpoint").await,
        Some(pairs[0].1.clone()),
        "a write after a checkpoint reads back after the next one",
    );
}
