//! Compare-and-swap checks of the conformance suite: every outcome of a
//! single `cas`, and a counter incremented concurrently by several tokio
//! tasks through a cas retry loop, which must lose no increment.

use std::sync::Arc;

use super::Cx;
use crate::meta::{CasOutcome, MetaStore, WriteBatch};

/// Tasks that increment the shared counter concurrently.
const TASKS: u64 = 8;
/// Increments per task.
const INCREMENTS: u64 = 50;

pub(super) async fn cas_basic(cx: &Cx) {
    const C: &str = "cas";
    let k = cx.key(C, b"k");
    let s = &cx.store;

    let r = cx.ok(
        s.cas(&k, Some(b"x"), Some(b"y".to_vec())).await,
        "cas expecting a value on an absent key",
    );
    cx.eq(
        r,
        CasOutcome::Mismatch(None),
        "cas on an absent key expecting a value",
    );
    cx.eq(
        cx.get(&k, "get").await,
        None,
        "a mismatched cas writes nothing",
    );

    let r = cx.ok(
        s.cas(&k, None, Some(b"v1".to_vec())).await,
        "cas from absent",
    );
    cx.eq(r, CasOutcome::Swapped, "cas from absent to a value");
    cx.eq(
        cx.get(&k, "get").await,
        Some(b"v1".to_vec()),
        "cas from absent wrote the value",
    );

    let r = cx.ok(
        s.cas(&k, None, Some(b"v9".to_vec())).await,
        "cas expecting absent on a present key",
    );
    cx.eq(
        r,
        CasOutcome::Mismatch(Some(b"v1".to_vec())),
        "cas expecting absent returns the current value",
    );

    let r = cx.ok(
        s.cas(&k, Some(b"v1"), Some(b"v2".to_vec())).await,
        "cas success",
    );
    cx.eq(r, CasOutcome::Swapped, "cas with the right expected value");
    cx.eq(
        cx.get(&k, "get").await,
        Some(b"v2".to_vec()),
        "cas replaced the value",
    );

    cas_mismatch(cx, &k).await;
    cas_delete_and_write(cx, &k).await;
}

/// `k` holds `v2`: stale and prefix expectations mismatch and change nothing.
async fn cas_mismatch(cx: &Cx, k: &[u8]) {
    let (s, k) = (&cx.store, k.to_vec());
    let r = cx.ok(
        s.cas(&k, Some(b"v1"), Some(b"v3".to_vec())).await,
        "cas mismatch",
    );
    cx.eq(
        r,
        CasOutcome::Mismatch(Some(b"v2".to_vec())),
        "cas with a stale expected value returns the current one",
    );
    let r = cx.ok(
        s.cas(&k, Some(b"v"), Some(b"v3".to_vec())).await,
        "cas with a prefix of the value",
    );
    cx.eq(
        r,
        CasOutcome::Mismatch(Some(b"v2".to_vec())),
        "cas compares whole values, not prefixes",
    );
    cx.eq(
        cx.get(&k, "get").await,
        Some(b"v2".to_vec()),
        "a mismatched cas leaves the value",
    );
}

/// `k` holds `v2`: cas deletes, and cas and `write` see each other's values.
async fn cas_delete_and_write(cx: &Cx, k: &[u8]) {
    let (s, k) = (&cx.store, k.to_vec());
    let r = cx.ok(s.cas(&k, Some(b"v2"), None).await, "cas delete");
    cx.eq(
        r,
        CasOutcome::Swapped,
        "cas delete with the right expected value",
    );
    cx.eq(cx.get(&k, "get").await, None, "cas delete removed the key");
    let r = cx.ok(s.cas(&k, Some(b"v2"), None).await, "cas delete again");
    cx.eq(r, CasOutcome::Mismatch(None), "cas delete of a deleted key");

    // A cas sees values written by `write`, and `write` sees cas results.
    let mut wb = WriteBatch::new();
    wb.put(k.clone(), b"w".to_vec());
    cx.ok(s.write(wb).await, "write before cas");
    let r = cx.ok(
        s.cas(&k, Some(b"w"), Some(b"c".to_vec())).await,
        "cas after write",
    );
    cx.eq(
        r,
        CasOutcome::Swapped,
        "cas expecting the value a batch wrote",
    );
    let r = cx.ok(
        s.batch_get(std::slice::from_ref(&k)).await,
        "batch_get after cas",
    );
    cx.eq(
        r,
        vec![Some(b"c".to_vec())],
        "batch_get sees the cas result",
    );
}

/// One task: `INCREMENTS` increments of the big-endian u64 at `key`, each a
/// read followed by a cas retry loop. Returns the number of mismatches seen.
async fn increment(store: Arc<dyn MetaStore>, key: Vec<u8>) -> Result<u64, String> {
    let mut conflicts = 0;
    for _ in 0..INCREMENTS {
        let mut current = store.get(&key).await.map_err(|e| format!("get: {e}"))?;
        loop {
            let n = match &current {
                None => 0,
                Some(b) => u64::from_be_bytes(
                    b.as_slice()
                        .try_into()
                        .map_err(|_| format!("counter is not 8 bytes: {b:?}"))?,
                ),
            };
            let next = (n + 1).to_be_bytes().to_vec();
            match store.cas(&key, current.as_deref(), Some(next)).await {
                Ok(CasOutcome::Swapped) => break,
                Ok(CasOutcome::Mismatch(now)) => {
                    conflicts += 1;
                    current = now;
                }
                Err(e) => return Err(format!("cas: {e}")),
            }
            // Give other tasks a turn so conflicts actually happen.
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
    }
    Ok(conflicts)
}

pub(super) async fn cas_concurrent(cx: &Cx) {
    const C: &str = "cas_concurrent";
    let key = cx.key(C, b"counter");
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| tokio::spawn(increment(cx.store.clone(), key.clone())))
        .collect();
    let mut conflicts = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(c)) => conflicts += c,
            Ok(Err(e)) => cx.check(false, &format!("concurrent cas task failed: {e}")),
            Err(e) => cx.check(false, &format!("concurrent cas task panicked: {e}")),
        }
    }
    let v = cx.get(&key, "read counter").await;
    let n = v
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map(u64::from_be_bytes);
    cx.eq(
        n,
        Some(TASKS * INCREMENTS),
        &format!("{TASKS} tasks x {INCREMENTS} cas increments ({conflicts} retries)"),
    );
}
