//! `feedlab calibrate --out calib.toml`: measure the service-time
//! distributions the simulator draws from, on the embedded backends.
//!
//! A temp directory gets a [`FjallStore`] preloaded with the service's own
//! key layout (stats rows, photo rows, timelines long enough for every scan
//! size) and a [`LocalBlobStore`] with the service's replica count. Each op
//! kind the photo model uses is then timed one call at a time (no queueing:
//! a service time) at several sizes: `get`, `batch-get` of n keys, reverse
//! `scan` of n rows, buffered `timeline-insert` batches of n entries, durable
//! metadata `write` of n puts, `cas`, `blob-put`/`blob-get` of 200 KiB,
//! `merge` (sort, dedup and rank n candidates), `request` (one task
//! spawn and join, the per-request overhead of the in-process path) and
//! `dispatch` (how late the open-loop driver's pacer starts an op
//! after its intended time; used only with `sim.client-dispatch`). The
//! file records empirical quantiles, the mean CPU time of each op and size
//! (`cpu-mean-ms`: thread CPU clocks around each poll plus the blocking-pool
//! work the call handed off, see `feedlab_system::timing::cpu`) and its
//! provenance (date, host, cores, git revision, backend).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use feedlab_sim::model::{Calibration, Provenance};
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

/// The 1, 5 and 15 minute load averages, where `/proc/loadavg` exists.
pub(crate) fn load_avg() -> Option<Vec<f64>> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .filter_map(|s| s.parse().ok())
        .collect();
    (v.len() == 3).then_some(v)
}

/// `feedlab calibrate`.
#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    /// Where to write the calibration TOML. The default, `out/calibrate/embedded.toml`, leaves
    /// the committed `calibration/embedded.toml` alone; name that file to replace it.
    #[arg(long, default_value = "out/calibrate/embedded.toml")]
    pub out: PathBuf,
    /// Samples per op and size (blob ops take a quarter as many).
    #[arg(long, default_value_t = 2_000)]
    pub samples: usize,
    /// Seed of the preloaded data and key choices.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Directory for the temporary stores (default: the system temp dir).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

mod quantiles;

pub(crate) use quantiles::{summarize, summarize_cpu, timed};

const USERS: u64 = 2_000;
const LONG_USERS: u64 = 20;
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
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let n = args.samples.max(10);
    // Preload: stats and 20 photos per user; long timelines for big scans.
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
    let mut ops = Vec::new();

    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let key = tables::stats(rng.random_range(0..USERS));
        let (r, sample) = timed(async {
            store.get(&key).await?;
            anyhow::Ok(())
        })
        .await;
        r?;
        v.push(sample);
    }
    ops.push(summarize_cpu("get", 1, v));

    for size in [1usize, 8, 36, 128] {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let keys: Vec<Vec<u8>> = (0..size)
                .map(|_| tables::photo(pids[rng.random_range(0..pids.len())]))
                .collect();
            let (r, sample) = timed(async {
                let rows = store.batch_get(&keys).await?;
                for r in rows.iter().flatten() {
                    let _: PhotoRow = tables::decode(r)?;
                }
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        ops.push(summarize_cpu("batch-get", size as u32, v));
    }

    for size in [1usize, 36, 200, 1024] {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let u = USERS + rng.random_range(0..LONG_USERS);
            let range = KeyRange::prefix(&tables::timeline_prefix(u));
            let (r, sample) = timed(async {
                let rows = store.scan(&range, Direction::Reverse, size).await?;
                for (k, _) in &rows {
                    tables::trailing_id(k)?;
                }
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        ops.push(summarize_cpu("scan", size as u32, v));
    }

    let mut next_pid = 10_000_000u64;
    for size in [1u64, 64, 1024] {
        let reps = if size >= 1024 { n / 4 } else { n };
        let mut v = Vec::with_capacity(reps);
        for _ in 0..reps.max(10) {
            let mut b = WriteBatch::buffered();
            for _ in 0..size {
                next_pid += 1;
                b.put(
                    tables::timeline(rng.random_range(0..USERS), PhotoId(next_pid)),
                    vec![1u8],
                );
            }
            let (r, sample) = timed(async {
                store.write(b).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        ops.push(summarize_cpu("timeline-insert", size as u32, v));
    }

    for size in [2u64, 8] {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let mut b = WriteBatch::new();
            let owner = rng.random_range(0..USERS);
            for _ in 0..size {
                next_pid += 1;
                let pid = PhotoId(next_pid);
                b.put(tables::photo(pid), tables::encode(&photo_row(pid, owner))?);
            }
            let (r, sample) = timed(async {
                store.write(b).await?;
                anyhow::Ok(())
            })
            .await;
            r?;
            v.push(sample);
        }
        ops.push(summarize_cpu("write", size as u32, v));
    }

    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let key = tables::stats(rng.random_range(0..USERS));
        let (r, sample) = timed(async {
            let cur = store.get(&key).await?;
            let mut s: tables::UserStats = match &cur {
                Some(b) => tables::decode(b)?,
                None => tables::UserStats::default(),
            };
            s.posts += 1;
            store
                .cas(&key, cur.as_deref(), Some(tables::encode(&s)?))
                .await?;
            anyhow::Ok(())
        })
        .await;
        r?;
        v.push(sample);
    }
    ops.push(summarize_cpu("cas", 1, v));

    let blob_n = (n / 4).max(10);
    let mut keys = Vec::with_capacity(blob_n);
    let mut v = Vec::with_capacity(blob_n);
    for i in 0..blob_n {
        let mut body = vec![0u8; 200 * 1024];
        rng.fill(&mut body[..]);
        body[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = BlobKey::of(&body);
        let data = Bytes::from(body);
        let (r, sample) = timed(async {
            blobs.put(&key, data).await?;
            anyhow::Ok(())
        })
        .await;
        r?;
        v.push(sample);
        keys.push(key);
    }
    ops.push(summarize_cpu("blob-put", 200, v));
    let mut v = Vec::with_capacity(blob_n);
    for _ in 0..blob_n {
        let key = &keys[rng.random_range(0..keys.len())];
        let (r, sample) = timed(async {
            blobs.get(key, None).await?;
            anyhow::Ok(())
        })
        .await;
        r?;
        v.push(sample);
    }
    ops.push(summarize_cpu("blob-get", 200, v));

    let ranker = Ranker::RECENCY;
    for size in [36usize, 1000] {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let mut ids: Vec<PhotoId> = (0..size)
                .map(|_| pids[rng.random_range(0..pids.len())])
                .collect();
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
        ops.push(summarize_cpu("merge", size as u32, v));
    }

    let shared = Arc::new(store.clone());
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let s = shared.clone();
        let (r, sample) = timed(async {
            tokio::spawn(async move { std::hint::black_box(s) }).await?;
            anyhow::Ok(())
        })
        .await;
        r?;
        v.push(sample);
    }
    ops.push(summarize_cpu("request", 1, v));

    // How late the open-loop driver's clock starts an op: it waits for
    // each op's intended start on a [`Pacer`] (timerfd, or a yield loop for
    // the last 50 us) and latency runs from that intended start.
    let mut pacer = Pacer::new();
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let ahead = std::time::Duration::from_nanos(rng.random_range(0..2_000_000));
        let intended = tokio::time::Instant::now() + ahead;
        pacer.sleep_until(intended).await;
        v.push(
            tokio::time::Instant::now()
                .saturating_duration_since(intended)
                .as_nanos() as u64,
        );
    }
    ops.push(summarize("dispatch", 1, v));
    drop(shared);
    drop(store);
    drop(blobs);

    Ok(Calibration {
        provenance: provenance(n),
        ops,
    })
}

/// Where and how a calibration was measured (date, host, cores, git
/// revision, build, load average).
pub(crate) fn provenance(samples: usize) -> Provenance {
    let cmd = |c: &str, a: &[&str]| {
        std::process::Command::new(c)
            .args(a)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    Provenance {
        date: cmd("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        host: std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cores: std::thread::available_parallelism().map_or(1, |c| c.get() as u32),
        git_rev: cmd("git", &["rev-parse", "HEAD"]),
        backend: "embedded".into(),
        notes: format!(
            "fjall 3.1 FjallStore + LocalBlobStore (2 replicas, fsync) in a temp dir; \
             {samples} samples per op and size (blob ops a quarter); one call at a time, \
             so these are service times without queueing; {} build; load average \
             (1/5/15 min) when done: {}",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            load_avg().map_or_else(
                || "unknown".into(),
                |l| l.iter().map(f64::to_string).collect::<Vec<_>>().join(" ")
            )
        ),
    }
}

/// `feedlab calibrate`.
pub async fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let cal = measure(&args).await?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# Measured by `feedlab calibrate`; see [provenance].\n{}",
        cal.to_toml()?
    );
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    for op in &cal.ops {
        let p50 = op
            .quantiles_ms
            .iter()
            .find(|q| q.0 == 0.5)
            .map_or(0.0, |q| q.1);
        let p99 = op
            .quantiles_ms
            .iter()
            .find(|q| q.0 == 0.99)
            .map_or(0.0, |q| q.1);
        println!(
            "{:<16} n={:<5} mean {:>9.4} ms  p50 {:>9.4}  p99 {:>9.4}",
            op.op, op.n, op.mean_ms, p50, p99
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
