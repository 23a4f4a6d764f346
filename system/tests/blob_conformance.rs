//! The BlobStore conformance suite on `LocalBlobStore`, plus the failure
//! modes only the local backend has: flipped bytes, missing, truncated and
//! misplaced replica files, stray temp files, and scrub's repair of them.
//! Ends with a put-latency measurement next to a plain write+fsync (printed,
//! not asserted; run with `--nocapture` to see it).

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use feedlab_system::Error;
use feedlab_system::blob::{BlobKey, BlobStore, LocalBlobStore, ScrubReport, conformance};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;

/// The local store's CRC chunk size.
const CHUNK: u64 = feedlab_system::blob::format::CHUNK_SIZE as u64;

/// A store with read repair off, so scrub's own findings can be asserted
/// (read repair has its own tests, below).
fn open(replicas: usize) -> (TempDir, LocalBlobStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalBlobStore::open(dir.path(), replicas).expect("open store");
    store.set_read_repair(false);
    (dir, store)
}

fn random(seed: u64, len: usize) -> Bytes {
    let mut buf = vec![0u8; len];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut buf);
    Bytes::from(buf)
}

/// Put `len` random bytes from `seed`; returns the key and the data.
async fn put(store: &LocalBlobStore, seed: u64, len: usize) -> (BlobKey, Bytes) {
    let data = random(seed, len);
    let key = BlobKey::of(&data);
    store.put(&key, data.clone()).await.expect("put");
    (key, data)
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).expect("read replica file");
    bytes[offset as usize] ^= 0x40;
    fs::write(path, bytes).expect("write replica file");
}

fn truncate(path: &Path, len: u64) {
    let f = fs::OpenOptions::new().write(true).open(path).expect("open");
    f.set_len(len).expect("truncate");
}

fn report(checked: u64, repaired: u64, unrecoverable: u64, temps: u64) -> ScrubReport {
    ScrubReport {
        blobs_checked: checked,
        repaired,
        unrecoverable,
        temp_files_removed: temps,
        lost: Vec::new(),
    }
}

/// Scrub `store`, check that exactly `lost` was reported lost, and return
/// the report without the list (to compare with [`report`]).
async fn scrub_losing(store: &LocalBlobStore, lost: &BlobKey) -> ScrubReport {
    let mut got = store.scrub().await.expect("scrub");
    assert_eq!(got.lost, vec![lost.clone()]);
    got.lost.clear();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_local_1_2_3_replicas() {
    for replicas in [1, 2, 3] {
        let (_dir, store) = open(replicas);
        conformance::test_suite(Arc::new(store)).await;
    }
}

#[test]
fn open_rejects_zero_replicas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let res = LocalBlobStore::open(dir.path(), 0);
    assert!(matches!(res, Err(Error::InvalidInput(_))), "{res:?}");
}

#[tokio::test]
async fn layout_dedup_and_bytes_stored() {
    let (dir, store) = open(2);
    let (key, data) = put(&store, 1, 200_000).await;
    let k = key.as_str();
    let inodes: Vec<u64> = (0..2)
        .map(|i| {
            let p = dir
                .path()
                .join(format!("r{i}/{}/{}/{k}", &k[..2], &k[2..4]));
            assert_eq!(p, store.replica_path(i, &key));
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&p).expect("replica file"))
        })
        .collect();
    store.put(&key, data.clone()).await.expect("second put");
    for (i, ino) in inodes.iter().enumerate() {
        let meta = fs::metadata(store.replica_path(i, &key)).expect("replica file");
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&meta),
            *ino,
            "second put rewrote replica {i}"
        );
    }
    put(&store, 2, 0).await;
    put(&store, 3, 3 << 20).await;
    assert_eq!(
        store.bytes_stored().await.expect("bytes"),
        200_000 + (3 << 20)
    );
    // A replica missing its copy gets it back from a re-put.
    fs::remove_file(store.replica_path(1, &key)).expect("remove");
    store.put(&key, data).await.expect("re-put");
    assert!(
        store.replica_path(1, &key).exists(),
        "re-put did not restore replica 1"
    );
}

#[tokio::test]
async fn flipped_byte_falls_back_and_scrub_repairs() {
    let (_dir, store) = open(2);
    let (key, data) = put(&store, 10, 300_000).await;
    let (r0, r1) = (store.replica_path(0, &key), store.replica_path(1, &key));
    flip(&r0, CHUNK + 4464);
    assert!(store.get(&key, None).await.expect("full get") == data);
    let got = store
        .get(&key, Some(69_990..70_010))
        .await
        .expect("range get");
    assert!(got == data[69_990..70_010]);
    let got = store
        .get(&key, Some(200_000..200_100))
        .await
        .expect("range elsewhere");
    assert!(got == data[200_000..200_100]);
    assert_eq!(store.scrub().await.expect("scrub"), report(1, 1, 0, 0));
    assert_eq!(
        fs::read(&r0).expect("r0"),
        fs::read(&r1).expect("r1"),
        "r0 not repaired"
    );
    assert_eq!(store.scrub().await.expect("scrub"), report(1, 0, 0, 0));
}

#[tokio::test]
async fn missing_replica_falls_back_and_scrub_restores() {
    let (_dir, store) = open(3);
    let (key, data) = put(&store, 20, 100_000).await;
    fs::remove_file(store.replica_path(0, &key)).expect("remove r0");
    fs::remove_file(store.replica_path(2, &key)).expect("remove r2");
    assert!(store.get(&key, None).await.expect("get") == data);
    assert!(store.get(&key, Some(5..9)).await.expect("range") == data[5..9]);
    assert_eq!(
        store.head(&key).await.expect("head").map(|m| m.size),
        Some(100_000)
    );
    assert_eq!(store.scrub().await.expect("scrub"), report(1, 2, 0, 0));
    for i in 0..3 {
        assert!(
            store.replica_path(i, &key).exists(),
            "replica {i} not restored"
        );
    }
}

#[tokio::test]
async fn all_replicas_corrupt_is_an_error_never_wrong_bytes() {
    let (_dir, store) = open(3);
    let (key, data) = put(&store, 30, 300_000).await;
    // Chunks 0 and 2 (of 64 KiB) are bad on every replica; 1, 3, 4 are good.
    for i in 0..3 {
        flip(&store.replica_path(i, &key), 1000);
        flip(&store.replica_path(i, &key), 2 * CHUNK);
    }
    let full = store.get(&key, None).await;
    assert!(
        matches!(full, Err(Error::Corrupt(_))),
        "{:?}",
        full.map(|b| b.len())
    );
    let touched = store.get(&key, Some(900..1100)).await;
    assert!(
        matches!(touched, Err(Error::Corrupt(_))),
        "{:?}",
        touched.map(|b| b.len())
    );
    // Ranges touching only intact chunks are still served, verified: reads
    // check exactly the chunks they touch, no more and no fewer.
    for r in [CHUNK..2 * CHUNK, CHUNK + 5..CHUNK + 6, 3 * CHUNK..u64::MAX] {
        let got = store.get(&key, Some(r.clone())).await;
        let want = data.slice(r.start as usize..(r.end as usize).min(300_000));
        assert!(got.as_ref().ok() == Some(&want), "{r:?}: {got:?}");
    }
    for r in [
        CHUNK - 1..CHUNK + 1,
        2 * CHUNK - 1..2 * CHUNK + 1,
        0..300_000,
    ] {
        let got = store.get(&key, Some(r.clone())).await;
        assert!(
            matches!(got, Err(Error::Corrupt(_))),
            "{r:?}: {:?}",
            got.map(|b| b.len())
        );
    }
    assert_eq!(scrub_losing(&store, &key).await, report(1, 0, 1, 0));
    assert!(matches!(
        store.get(&key, None).await,
        Err(Error::Corrupt(_))
    ));
}

#[tokio::test]
async fn truncated_files_fall_back_then_fail_as_corrupt() {
    let (_dir, store) = open(2);
    let (key, data) = put(&store, 40, 200_000).await;
    let (r0, r1) = (store.replica_path(0, &key), store.replica_path(1, &key));
    truncate(&r0, 100_000);
    assert!(store.get(&key, None).await.expect("get") == data);
    assert!(store.get(&key, Some(10..20)).await.expect("range") == data[10..20]);
    assert_eq!(
        store.head(&key).await.expect("head").map(|m| m.size),
        Some(200_000)
    );
    let r1_len = fs::metadata(&r1).expect("r1").len();
    truncate(&r1, r1_len - 1);
    assert!(matches!(
        store.get(&key, None).await,
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(
        store.get(&key, Some(0..5)).await,
        Err(Error::Corrupt(_))
    ));
    assert!(matches!(store.head(&key).await, Err(Error::Corrupt(_))));
    assert_eq!(scrub_losing(&store, &key).await, report(1, 0, 1, 0));
}

#[tokio::test]
async fn corrupt_footer_and_misplaced_file_fall_back() {
    let (_dir, store) = open(2);
    let (key, data) = put(&store, 50, 200_000).await;
    let r0 = store.replica_path(0, &key);
    let len = fs::metadata(&r0).expect("r0").len();
    flip(&r0, len - 20);
    assert_eq!(
        store.head(&key).await.expect("head").map(|m| m.size),
        Some(200_000)
    );
    assert!(store.get(&key, Some(0..3)).await.expect("range") == data[0..3]);
    // Another blob's well-formed file under this key: its chunk CRCs hold,
    // so reads (which check only CRCs) cannot tell; scrub's BLAKE3 does.
    let (other, _) = put(&store, 51, 200_000).await;
    fs::copy(store.replica_path(0, &other), &r0).expect("copy");
    assert_eq!(store.scrub().await.expect("scrub"), report(2, 1, 0, 0));
    assert!(store.get(&key, None).await.expect("full get") == data);
    assert!(store.get(&key, Some(0..3)).await.expect("range") == data[0..3]);
}

#[tokio::test]
async fn stray_temp_files_are_ignored_then_removed_by_scrub() {
    let (_dir, store) = open(2);
    let (key, data) = put(&store, 60, 50_000).await;
    let dir = store
        .replica_path(0, &key)
        .parent()
        .expect("dir")
        .to_path_buf();
    let stray = dir.join(format!(".tmp.{key}.4242.0"));
    fs::write(&stray, b"half a blob").expect("stray");
    let never = BlobKey::of(b"never stored");
    let never_dir = store
        .replica_path(1, &never)
        .parent()
        .expect("dir")
        .to_path_buf();
    fs::create_dir_all(&never_dir).expect("mkdir");
    let orphan = never_dir.join(format!(".tmp.{never}.4242.1"));
    fs::write(&orphan, b"crashed").expect("orphan");
    assert!(store.get(&key, None).await.expect("get") == data);
    assert_eq!(store.head(&never).await.expect("head"), None);
    assert!(matches!(
        store.get(&never, None).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.scrub().await.expect("scrub"), report(1, 0, 0, 2));
    assert!(
        !stray.exists() && !orphan.exists(),
        "temp files left behind"
    );
    assert!(store.get(&key, None).await.expect("get") == data);
}

#[tokio::test]
async fn wiped_replica_directory_is_rebuilt() {
    let (dir, store) = open(2);
    let mut blobs = Vec::new();
    for seed in 70..73 {
        blobs.push(put(&store, seed, 80_000).await);
    }
    fs::remove_dir_all(dir.path().join("r1")).expect("wipe r1");
    fs::remove_file(store.replica_path(0, &blobs[2].0)).expect("remove");
    for (key, data) in &blobs[..2] {
        assert!(store.get(key, None).await.expect("get from r0") == *data);
    }
    let lost = store.get(&blobs[2].0, None).await;
    assert!(matches!(lost, Err(Error::NotFound(_))), "{lost:?}");
    // A re-put finds its fan-out dir gone though it was known durable.
    store
        .put(&blobs[0].0, blobs[0].1.clone())
        .await
        .expect("re-put");
    assert!(store.replica_path(1, &blobs[0].0).exists());
    assert_eq!(store.scrub().await.expect("scrub"), report(2, 1, 0, 0));
    for (key, _) in &blobs[..2] {
        let (r0, r1) = (store.replica_path(0, key), store.replica_path(1, key));
        assert_eq!(fs::read(r0).expect("r0"), fs::read(r1).expect("r1"));
    }
}

fn percentile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i].as_secs_f64() * 1e3
}

/// Put latency of 200 KB blobs (2 replicas) next to a plain write+fsync of
/// a 200 KB file, same run, same disk. Printed, never asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_put_latency_vs_plain_fsync() {
    const N: usize = 200;
    const SIZE: usize = 200_000;
    let (dir, store) = open(2);
    let blobs: Vec<Bytes> = (0..N).map(|i| random(1000 + i as u64, SIZE)).collect();
    let timed_puts = |label: &'static str| {
        let (store, blobs) = (store.clone(), blobs.clone());
        async move {
            let mut t = Vec::with_capacity(N);
            for b in &blobs {
                let start = Instant::now();
                store.put(&BlobKey::of(b), b.clone()).await.expect("put");
                t.push(start.elapsed());
            }
            let (p50, p99) = (percentile(&mut t, 0.5), percentile(&mut t, 0.99));
            println!("put 200 KB x{N}, 2 replicas, {label}: p50 {p50:.2} ms, p99 {p99:.2} ms");
        }
    };
    timed_puts("new fan-out dirs").await;
    assert_eq!(
        store.bytes_stored().await.expect("bytes"),
        (N * SIZE) as u64
    );
    for b in &blobs {
        store.delete(&BlobKey::of(b)).await.expect("delete");
    }
    timed_puts("existing dirs").await;
    let plain = dir.path().join("plain");
    fs::create_dir(&plain).expect("mkdir");
    let mut t = Vec::with_capacity(N);
    for (i, b) in blobs.iter().enumerate() {
        let start = Instant::now();
        let mut f = fs::File::create(plain.join(i.to_string())).expect("create");
        std::io::Write::write_all(&mut f, b).expect("write");
        f.sync_all().expect("fsync");
        t.push(start.elapsed());
    }
    let (p50, p99) = (percentile(&mut t, 0.5), percentile(&mut t, 0.99));
    println!("plain write+fsync 200 KB x{N}: p50 {p50:.2} ms, p99 {p99:.2} ms");
    assert_eq!(
        store.bytes_stored().await.expect("bytes"),
        (N * SIZE) as u64
    );
}
