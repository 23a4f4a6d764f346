//! The [`IdSource`] contract as a suite, run on every scheme: two sources
//! built over the same metadata store (two app servers) must never mint the
//! same id, even concurrently, and must keep the requested logical shard.

use std::collections::HashSet;
use std::sync::Arc;

use super::IdSource;
use crate::id::PhotoId;

/// Ids each source mints concurrently in [`test_suite`].
pub const IDS_PER_SOURCE: usize = 20_000;

/// Check `a` and `b` (same scheme, same store, separate instances);
/// panics on a broken contract.
pub async fn test_suite(a: Arc<dyn IdSource>, b: Arc<dyn IdSource>) {
    assert_eq!(a.scheme(), b.scheme(), "both sources run one scheme");
    for shard in [0u16, 1, 4095, 8191, 8192 + 5] {
        let id = a.next(shard).await.expect("next");
        assert_eq!(id.shard(), shard & 0x1fff, "the id keeps its logical shard");
    }
    let tasks: Vec<_> = [a, b]
        .into_iter()
        .flat_map(|src| {
            (0..4u16).map(move |t| {
                let src = src.clone();
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(IDS_PER_SOURCE / 4);
                    for i in 0..IDS_PER_SOURCE / 4 {
                        // Two shards only, so both sources crowd the same ones.
                        let shard = ((i + usize::from(t)) % 2) as u16;
                        out.push(src.next(shard).await.expect("next"));
                    }
                    out
                })
            })
        })
        .collect();
    let mut all: Vec<PhotoId> = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("minting task"));
    }
    let distinct: HashSet<PhotoId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "two sources minted the same id");
}
