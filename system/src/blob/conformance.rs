//! The `BlobStore` conformance suite, run on every backend.
//!
//! [`test_suite`] uses only the [`BlobStore`] trait, so the same checks run
//! on the local store and on S3. It tolerates a non-empty store: every blob
//! it writes is random data from a per-run seed, so keys are unique per run
//! (a failure prints its seed; set `FEEDLAB_BLOB_SEED` to replay it). It
//! deletes only the keys it wrote. The sink checks are in `sink`.
//!
//! Range semantics pinned here (the trait's contract, made precise):
//! - `start..end` is end-exclusive and `end` is clamped to the size, so
//!   `start..u64::MAX` means "from `start` to the end";
//! - `start >= size` is `RangeNotSatisfiable { size }` (also for an empty
//!   blob, and for an empty range at or past the end);
//! - an empty range (`end <= start`) at a valid start returns empty bytes.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use super::{BlobKey, BlobStore};
use crate::error::Error;

mod sink;

/// The CRC chunk size of the local backend; ranges are chosen to cross it.
const CHUNK: u64 = 64 * 1024;

/// Per-run context: the store, a seeded generator and its seed to print.
struct Ctx {
    store: Arc<dyn BlobStore>,
    rng: StdRng,
    seed: u64,
}

impl Ctx {
    /// Fresh random bytes of length `len`.
    fn data(&mut self, len: usize) -> Bytes {
        let mut buf = vec![0u8; len];
        self.rng.fill_bytes(&mut buf);
        Bytes::from(buf)
    }

    /// Panic message prefix naming the backend and its seed.
    fn tag(&self, check: &str) -> String {
        format!(
            "blob conformance [{} backend, FEEDLAB_BLOB_SEED={}] {check}",
            self.store.backend(),
            self.seed
        )
    }

    async fn put(&self, data: &Bytes) -> BlobKey {
        let key = BlobKey::of(data);
        if let Err(e) = self.store.put(&key, data.clone()).await {
            panic!(
                "{}: put of {} bytes failed: {e}",
                self.tag("put"),
                data.len()
            );
        }
        key
    }

    async fn get(&self, key: &BlobKey, range: Option<Range<u64>>) -> Bytes {
        match self.store.get(key, range.clone()).await {
            Ok(b) => b,
            Err(e) => panic!("{}: get {range:?} failed: {e}", self.tag("get")),
        }
    }

    /// A range read must equal the clamped slice of `data`.
    async fn check_range(&self, key: &BlobKey, data: &Bytes, r: Range<u64>) {
        let size = data.len() as u64;
        let end = r.end.min(size);
        let want = if end <= r.start {
            &[][..]
        } else {
            &data[r.start as usize..end as usize]
        };
        let got = self.get(key, Some(r.clone())).await;
        assert!(
            got == want,
            "{}: range {r:?} of a {size}-byte blob returned {} bytes, want {}",
            self.tag("range"),
            got.len(),
            want.len()
        );
    }

    /// A range read must fail with `RangeNotSatisfiable { size }`.
    async fn check_unsatisfiable(&self, key: &BlobKey, size: u64, r: Range<u64>) {
        match self.store.get(key, Some(r.clone())).await {
            Err(Error::RangeNotSatisfiable { size: s }) if s == size => {}
            other => panic!(
                "{}: range {r:?} of a {size}-byte blob: want RangeNotSatisfiable {{ size: {size} }}, got {other:?}",
                self.tag("range")
            ),
        }
    }

    async fn check_absent(&self, key: &BlobKey, check: &str) {
        let head = self.store.head(key).await;
        assert!(
            matches!(head, Ok(None)),
            "{}: head: want Ok(None), got {head:?}",
            self.tag(check)
        );
        for range in [None, Some(0..10)] {
            let got = self.store.get(key, range.clone()).await;
            assert!(
                matches!(got, Err(Error::NotFound(_))),
                "{}: get {range:?}: want NotFound, got {:?}",
                self.tag(check),
                got.map(|b| b.len())
            );
        }
    }
}

/// Run every conformance check against `store`; panics with a message
/// naming the check, the backend and its seed on the first failure. The
/// seed comes from `FEEDLAB_BLOB_SEED` if set, else it is random.
pub async fn test_suite(store: Arc<dyn BlobStore>) {
    let seed = std::env::var("FEEDLAB_BLOB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    test_suite_with_seed(store, seed).await;
}

/// [`test_suite`] with an explicit seed for the random blob contents.
pub async fn test_suite_with_seed(store: Arc<dyn BlobStore>, seed: u64) {
    eprintln!(
        "blob conformance on {}: FEEDLAB_BLOB_SEED={seed}",
        store.backend()
    );
    let mut cx = Ctx {
        store,
        rng: StdRng::seed_from_u64(seed),
        seed,
    };
    roundtrip(&mut cx).await;
    wrong_key_rejected(&mut cx).await;
    absent(&mut cx).await;
    ranges(&mut cx).await;
    delete(&mut cx).await;
    concurrent_same_key(&mut cx).await;
    put_file(&mut cx).await;
    sink::sink(&mut cx).await;
}

/// put/get/head round trip at sizes from empty to many chunks, plus an
/// idempotent second put.
async fn roundtrip(cx: &mut Ctx) {
    for len in [0usize, 1, 200_000, 3 << 20] {
        let data = cx.data(len);
        let key = cx.put(&data).await;
        let got = cx.get(&key, None).await;
        assert!(
            got == data,
            "{}: {len}-byte blob read back differently",
            cx.tag("roundtrip")
        );
        let head = cx.store.head(&key).await;
        assert!(
            matches!(head, Ok(Some(m)) if m.size == len as u64),
            "{}: head of {len}-byte blob: {head:?}",
            cx.tag("roundtrip")
        );
        cx.put(&data).await;
        let again = cx.get(&key, None).await;
        assert!(
            again == data,
            "{}: {len}-byte blob changed after a second put",
            cx.tag("double put")
        );
    }
}

/// A key that is not the hash of the data is rejected and stores nothing.
async fn wrong_key_rejected(cx: &mut Ctx) {
    let (data, other) = (cx.data(1000), cx.data(1000));
    let wrong = BlobKey::of(&other);
    let res = cx.store.put(&wrong, data).await;
    assert!(
        matches!(res, Err(Error::InvalidInput(_))),
        "{}: want InvalidInput, got {res:?}",
        cx.tag("wrong key")
    );
    cx.check_absent(&wrong, "wrong key").await;
}

/// head and get of keys never written.
async fn absent(cx: &mut Ctx) {
    let never = BlobKey::of(&cx.data(64));
    cx.check_absent(&never, "absent").await;
}

/// Range reads: inside, at the edges, clamped, empty, unsatisfiable and
/// across 64 KiB chunk boundaries, plus random ranges.
async fn ranges(cx: &mut Ctx) {
    let len = 3 * CHUNK + 12_345;
    let data = cx.data(len as usize);
    let key = cx.put(&data).await;
    let fixed = [
        (10..u64::MAX),                 // start only
        (0..u64::MAX),                  // everything
        (100..len),                     // exact end
        (len - 10..len + 1000),         // end beyond size: clamped
        (len - 1..len),                 // last byte
        (0..1),                         // first byte
        (5..5),                         // empty at a valid start
        (len - 1..len - 1),             // empty at the last valid start
        Range { start: 9, end: 3 },     // inverted: empty
        (CHUNK - 6..CHUNK + 6),         // crosses one boundary
        (CHUNK - 1..CHUNK),             // last byte of chunk 0
        (CHUNK..CHUNK + 1),             // first byte of chunk 1
        (0..CHUNK),                     // exactly chunk 0
        (2 * CHUNK - 1..3 * CHUNK + 1), // spans chunks 1..=3
        (CHUNK + 7..3 * CHUNK + 100),   // crosses into the short last chunk
    ];
    for r in fixed {
        cx.check_range(&key, &data, r).await;
    }
    for _ in 0..40 {
        let start = cx.rng.random_range(0..len);
        let end = start + cx.rng.random_range(0..3 * CHUNK);
        cx.check_range(&key, &data, start..end).await;
    }
    for r in [
        len..len + 1,
        len..len,
        len + 1..len + 5,
        u64::MAX - 1..u64::MAX,
    ] {
        cx.check_unsatisfiable(&key, len, r).await;
    }
    let empty = cx.put(&Bytes::new()).await;
    cx.check_unsatisfiable(&empty, 0, 0..0).await;
    cx.check_unsatisfiable(&empty, 0, 0..10).await;
    let tiny = cx.data(1);
    let tiny_key = cx.put(&tiny).await;
    cx.check_range(&tiny_key, &tiny, 0..u64::MAX).await;
    cx.check_unsatisfiable(&tiny_key, 1, 1..2).await;
}

/// delete removes the blob, is idempotent, and the blob can be put again.
async fn delete(cx: &mut Ctx) {
    let data = cx.data(150_000);
    let key = cx.put(&data).await;
    for attempt in ["first", "second"] {
        if let Err(e) = cx.store.delete(&key).await {
            panic!("{}: {attempt} delete failed: {e}", cx.tag("delete"));
        }
        cx.check_absent(&key, "delete").await;
    }
    let never = BlobKey::of(&cx.data(10));
    let res = cx.store.delete(&never).await;
    assert!(
        res.is_ok(),
        "{}: delete of a never-stored key: {res:?}",
        cx.tag("delete")
    );
    cx.put(&data).await;
    let got = cx.get(&key, None).await;
    assert!(
        got == data,
        "{}: re-put after delete reads back differently",
        cx.tag("delete")
    );
}

/// Eight tasks putting the same key at once all succeed.
async fn concurrent_same_key(cx: &mut Ctx) {
    let data = cx.data(1 << 20);
    let key = BlobKey::of(&data);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, key, data) = (cx.store.clone(), key.clone(), data.clone());
            tokio::spawn(async move { store.put(&key, data).await })
        })
        .collect();
    for (i, t) in futures::future::join_all(tasks)
        .await
        .into_iter()
        .enumerate()
    {
        match t {
            Ok(Ok(())) => {}
            other => panic!("{}: task {i}: {other:?}", cx.tag("concurrent put")),
        }
    }
    let got = cx.get(&key, None).await;
    assert!(
        got == data,
        "{}: data differs after concurrent puts",
        cx.tag("concurrent put")
    );
    cx.check_range(&key, &data, CHUNK - 3..CHUNK + 3).await;
}

/// `put_file` stores a file's bytes (empty, and over one S3 part), is
/// idempotent and agrees with `put`; a wrong key or a wrong length is
/// InvalidInput and stores nothing.
async fn put_file(cx: &mut Ctx) {
    let dir = tempfile::tempdir().expect("temp dir");
    for len in [0usize, (17 << 20) + 5] {
        let data = cx.data(len);
        let path = dir.path().join(format!("body-{len}"));
        std::fs::write(&path, &data).expect("write the source file");
        let key = BlobKey::of(&data);
        for attempt in ["first", "second"] {
            let res = cx.store.put_file(&key, &path, len as u64).await;
            assert!(
                res.is_ok(),
                "{}: {attempt} put_file of {len} bytes: {res:?}",
                cx.tag("put_file")
            );
        }
        let got = cx.get(&key, None).await;
        assert!(
            got == data,
            "{}: {len}-byte file read back differently",
            cx.tag("put_file")
        );
        if len > 0 {
            cx.check_range(&key, &data, CHUNK - 3..CHUNK + 3).await;
        }
    }
    let data = cx.data(5000);
    let path = dir.path().join("small");
    std::fs::write(&path, &data).expect("write the source file");
    let wrong = BlobKey::of(&cx.data(5000));
    let res = cx.store.put_file(&wrong, &path, 5000).await;
    assert!(
        matches!(res, Err(Error::InvalidInput(_))),
        "{}: wrong key: {res:?}",
        cx.tag("put_file")
    );
    cx.check_absent(&wrong, "put_file wrong key").await;
    let key = BlobKey::of(&data);
    let res = cx.store.put_file(&key, &path, 4999).await;
    assert!(
        matches!(res, Err(Error::InvalidInput(_))),
        "{}: wrong length: {res:?}",
        cx.tag("put_file")
    );
    cx.check_absent(&key, "put_file wrong length").await;
}
