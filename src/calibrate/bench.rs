//! The measurements behind `feedlab calibrate`: the preloaded stores and one
//! timing loop per op kind (see the parent module for what each op is).
//!
//! Every key choice and blob body is drawn from one [`ChaCha8Rng`] of the
//! run's seed, op kind after op kind in the order of [`measure`], so a seed
//! picks the same keys on every run.

use anyhow::Context;
use bytes::Bytes;
use feedlab_sim::model::{CalibOp, Calibration};
use feedlab_system::blob::local::LocalBlobStore;
use feedlab_system::blob::{BlobKey, BlobStore};
use feedlab_system::id::PhotoId;
use feedlab_system::meta::fjall_store::FjallStore;
use feedlab_system::meta::{Direction, KeyRange, MetaStore, WriteBatch};
use feedlab_system::policy::{Candidate, Ranker};
use feedlab_system::tables::{self, PhotoRow};
use feedlab_workload::Pacer;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CalibrateArgs, provenance, summarize, summarize_cpu, timed};

/// Users with a stats row and 20 photos each.
const USERS: u64 = 2_000;
/// Users (numbered after [`USERS`]) with a timeline of [`LONG`] entries.
const LONG_USERS: u64 = 20;
/// Entries of a long timeline: more than the largest scan.
const LONG: u64 = 1_100;

fn photo_row(pid: PhotoId, owner: u64) -> PhotoRow {
    PhotoRow {
        id: pid,
        owner,
        title: "sunset over the harbour".into(),
        content_type: "image/jpeg".into(),
        size: 200_000,
        blob: BlobKey::of(&pid.0.to_le_bytes()).to_string(),
        created_ms: 1_750_000_000_000 + pid.0 % 1_000_000,
    }
}

/// Measure the embedded backends and return the calibration.
pub async fn measure(args: &CalibrateArgs) -> anyhow::Result<Calibration> {
    let tmp = match &args.dir {
        Some(d) => tempfile::Builder::new()
            .prefix("feedlab-calib")
            .tempdir_in(d)?,
        None => tempfile::Builder::new().prefix("feedlab-calib").tempdir()?,
    };
    let store = FjallStore::open(&tmp.path().join("meta")).context("opening fjall")?;
    let blobs = LocalBlobStore::open(&tmp.path().join("blobs"), 2).context("opening blobs")?;
    let pids = preload(&store).await?;
    let n = args.samples.max(10);
    let mut b = Bench {
        store,
        blobs,
        rng: ChaCha8Rng::seed_from_u64(args.seed),
        n,
        pids,
        next_pid: 10_000_000,
        ops: Vec::new(),
    };
    b.gets().await?;
    b.batch_gets().await?;
    b.scans().await?;
    b.timeline_inserts().await?;
    b.writes().await?;
    b.cas().await?;
    b.blob_ops().await?;
    b.merges().await?;
    b.requests().await?;
    b.dispatch().await;
    Ok(Calibration {
        provenance: provenance(n),
        ops: b.ops,
        cpu_fall: None,
        transport_rise: None,
        burst: None,
    })
}

/// Preload `store` with the service's key layout: a stats row, 20 photo rows
/// and their timeline entries for each of [`USERS`], then [`LONG_USERS`]
/// long timelines for the big scans. Returns the photo ids, in write order.
async fn preload(store: &FjallStore) -> anyhow::Result<Vec<PhotoId>> {
    let mut pids = Vec::new();
    for u in 0..USERS {
        let mut b = WriteBatch::buffered();
        b.put(
            tables::stats(u),
            tables::encode(&tables::UserStats::default())?,
        );
        for k in 0..20 {
            let pid = PhotoId::from_parts(u * 20 + k + 1, (u % 8192) as u16, 0);
            b.put(tables::photo(pid), tables::encode(&photo_row(pid, u))?);
            b.put(tables::timeline(u, pid), vec![1u8]);
            pids.push(pid);
        }
        store.write(b).await?;
    }
    for u in 0..LONG_USERS {
        let mut b = WriteBatch::buffered();
        for k in 0..LONG {
            b.put(tables::timeline(USERS + u, PhotoId(k + 1)), vec![1u8]);
        }
        store.write(b).await?;
    }
    Ok(pids)
}

/// The preloaded stores, the key-choice stream and the ops measured so far
/// (each method appends its op kind's sizes to `ops`).
struct Bench {
    store: FjallStore,
    blobs: LocalBlobStore,
    rng: ChaCha8Rng,
    /// Samples per op and size.
    n: usize,
    /// The preloaded photo ids.
    pids: Vec<PhotoId>,
    /// The last photo id written by a measurement (new rows and entries
    /// never collide with the preload).
    next_pid: u64,
    ops: Vec<CalibOp>,
}

impl Bench {
    /// A random preloaded photo id.
    fn random_pid(&mut self) -> PhotoId {
        self.pids[self.rng.random_range(0..self.pids.len())]
    }

    /// `get` of a random stats row.
    async fn gets(&mut self) -> anyhow::Result<()> {
        let mut v = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let key = tables::stats(self.rng.random_range(0..USERS));
            let (r, sample) = timed(async {
                self.store.get(&key).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        self.ops.push(summarize_cpu("get", 1, v));
        Ok(())
    }

    /// `batch-get` of 1, 8, 36 and 128 random photo rows, decoded.
    async fn batch_gets(&mut self) -> anyhow::Result<()> {
        for size in [1usize, 8, 36, 128] {
            let mut v = Vec::with_capacity(self.n);
            for _ in 0..self.n {
                let keys: Vec<Vec<u8>> = (0..size)
                    .map(|_| tables::photo(self.random_pid()))
                    .collect();
                let (r, sample) = timed(async {
                    let rows = self.store.batch_get(&keys).await?;
                    for r in rows.iter().flatten() {
                        let _: PhotoRow = tables::decode(r)?;
                    }
                    anyhow::Ok(())
                })
                .await;
                r?;
                v.push(sample);
            }
            self.ops.push(summarize_cpu("batch-get", size as u32, v));
        }
        Ok(())
    }

    /// Reverse `scan` of 1, 36, 200 and 1024 rows of a random long timeline.
    async fn scans(&mut self) -> anyhow::Result<()> {
        for size in [1usize, 36, 200, 1024] {
            let mut v = Vec::with_capacity(self.n);
            for _ in 0..self.n {
                let u = USERS + self.rng.random_range(0..LONG_USERS);
                let range = KeyRange::prefix(&tables::timeline_prefix(u));
                let (r, sample) = timed(async {
                    let rows = self.store.scan(&range, Direction::Reverse, size).await?;
                    for (k, _) in &rows {
                        tables::trailing_id(k)?;
                    }
                    anyhow::Ok(())
                })
                .await;
                r?;
                v.push(sample);
            }
            self.ops.push(summarize_cpu("scan", size as u32, v));
        }
        Ok(())
    }

    /// Buffered `timeline-insert` batches of 1, 64 and 1024 entries for
    /// random users (the 1024 size takes a quarter of the samples).
    async fn timeline_inserts(&mut self) -> anyhow::Result<()> {
        for size in [1u64, 64, 1024] {
            let reps = if size >= 1024 { self.n / 4 } else { self.n };
            let mut v = Vec::with_capacity(reps);
            for _ in 0..reps.max(10) {
                let mut b = WriteBatch::buffered();
                for _ in 0..size {
                    self.next_pid += 1;
                    b.put(
                        tables::timeline(self.rng.random_range(0..USERS), PhotoId(self.next_pid)),
                        vec![1u8],
                    );
                }
                let (r, sample) = timed(async {
                    self.store.write(b).await?;
                    anyhow::Ok(())
                })
                .await;
                r?;
                v.push(sample);
            }
            self.ops
                .push(summarize_cpu("timeline-insert", size as u32, v));
        }
        Ok(())
    }

    /// Durable metadata `write` of 2 and 8 new photo rows of a random owner.
    async fn writes(&mut self) -> anyhow::Result<()> {
        for size in [2u64, 8] {
            let mut v = Vec::with_capacity(self.n);
            for _ in 0..self.n {
                let mut b = WriteBatch::new();
                let owner = self.rng.random_range(0..USERS);
                for _ in 0..size {
                    self.next_pid += 1;
                    let pid = PhotoId(self.next_pid);
                    b.put(tables::photo(pid), tables::encode(&photo_row(pid, owner))?);
                }
                let (r, sample) = timed(async {
                    self.store.write(b).await?;
                    anyhow::Ok(())
                })
                .await;
                r?;
                v.push(sample);
            }
            self.ops.push(summarize_cpu("write", size as u32, v));
        }
        Ok(())
    }

    /// `cas`: read, bump and compare-and-set a random stats row.
    async fn cas(&mut self) -> anyhow::Result<()> {
        let mut v = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let key = tables::stats(self.rng.random_range(0..USERS));
            let (r, sample) = timed(async {
                let cur = self.store.get(&key).await?;
                let mut s: tables::UserStats = match &cur {
                    Some(b) => tables::decode(b)?,
                    None => tables::UserStats::default(),
                };
                s.posts += 1;
                self.store
                    .cas(&key, cur.as_deref(), Some(tables::encode(&s)?))
                    .await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        self.ops.push(summarize_cpu("cas", 1, v));
        Ok(())
    }

    /// `blob-put` of random 200 KiB bodies, then `blob-get` of random ones
    /// of them (a quarter of the samples each, at least 10).
    async fn blob_ops(&mut self) -> anyhow::Result<()> {
        let blob_n = (self.n / 4).max(10);
        let mut keys = Vec::with_capacity(blob_n);
        let mut v = Vec::with_capacity(blob_n);
        for i in 0..blob_n {
            let mut body = vec![0u8; 200 * 1024];
            self.rng.fill(&mut body[..]);
            body[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = BlobKey::of(&body);
            let data = Bytes::from(body);
            let (r, sample) = timed(async {
                self.blobs.put(&key, data).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
            keys.push(key);
        }
        self.ops.push(summarize_cpu("blob-put", 200, v));
        let mut v = Vec::with_capacity(blob_n);
        for _ in 0..blob_n {
            let key = &keys[self.rng.random_range(0..keys.len())];
            let (r, sample) = timed(async {
                self.blobs.get(key, None).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        self.ops.push(summarize_cpu("blob-get", 200, v));
        Ok(())
    }

    /// `merge`: sort, dedup and rank 36 and 1000 random candidates.
    async fn merges(&mut self) -> anyhow::Result<()> {
        let ranker = Ranker::RECENCY;
        for size in [36usize, 1000] {
            let mut v = Vec::with_capacity(self.n);
            for _ in 0..self.n {
                let mut ids: Vec<PhotoId> = (0..size).map(|_| self.random_pid()).collect();
                let (r, sample) = timed(async {
                    ids.sort_unstable_by(|a, b| b.cmp(a));
                    ids.dedup();
                    let cands: Vec<Candidate> = ids
                        .iter()
                        .map(|&photo| Candidate { photo, views: 0 })
                        .collect();
                    let top = ranker.top(cands, 20, 1_000_000);
                    std::hint::black_box(top);
                    anyhow::Ok(())
                })
                .await;
                r?;
                v.push(sample);
            }
            self.ops.push(summarize_cpu("merge", size as u32, v));
        }
        Ok(())
    }

    /// `request`: one task spawn and join carrying a handle to the store.
    async fn requests(&mut self) -> anyhow::Result<()> {
        let shared = std::sync::Arc::new(self.store.clone());
        let mut v = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let s = shared.clone();
            let (r, sample) = timed(async {
                tokio::spawn(async move { std::hint::black_box(s) }).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        self.ops.push(summarize_cpu("request", 1, v));
        Ok(())
    }

    /// `dispatch`: how late the open-loop driver's clock starts an op. It
    /// waits for each op's intended start (0–2 ms ahead) on a [`Pacer`]
    /// (timerfd, or a yield loop for the last 50 us) and latency runs from
    /// that intended start.
    async fn dispatch(&mut self) {
        let mut pacer = Pacer::new();
        let mut v = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let ahead = std::time::Duration::from_nanos(self.rng.random_range(0..2_000_000));
            let intended = tokio::time::Instant::now() + ahead;
            pacer.sleep_until(intended).await;
            v.push(
                tokio::time::Instant::now()
                    .saturating_duration_since(intended)
                    .as_nanos() as u64,
            );
        }
        self.ops.push(summarize("dispatch", 1, v));
    }
}
