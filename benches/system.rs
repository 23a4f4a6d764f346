//! Criterion benches of the reference service (`cargo bench --bench system`).
//!
//! - `id/next`: photo-id generation;
//! - `timeline/batched_insert_8_shards`: timeline rows written in per-shard
//!   batches of 1,000 to 8 shards at once, the materializer's write path
//!   (goal ≥ 500k inserts/s);
//! - `fanout/push_drain`: end to end, uploads by an author with 2,000
//!   followers until the materializer has drained;
//! - `feed/push` vs `feed/pull`: a reader following 200 authors;
//! - upload p50/p99 of 200 KB with 2 replicas next to this machine's
//!   write+fsync p50/p99 of 200 KB, measured in the same run and printed as
//!   a ratio (criterion reports means; the tail needs a histogram);
//! - `replica_write/{buffered,direct}_264k`: one replica file of 264 KB
//!   written and fsynced through the blob store's writer, with and without
//!   `O_DIRECT`, with the calling thread's CPU per write printed beside it (the
//!   kernel's copy into the page cache is charged to that thread);
//! - `photo_get/200k_2_replicas_x8`: whole 200 KB photos read back through
//!   the service, 8 reads in flight on 2 worker threads (throughput in reads
//!   per second), with the p50/p99 of a 2,000-read pass printed beside it.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use feedlab_system::blob::direct::DirectFile;
use feedlab_system::id::{IdGenerator, PhotoId};
use feedlab_system::meta::{FjallStore, MetaStore, WriteBatch};
use feedlab_system::policy::FanoutKind;
use feedlab_system::service::media::sample_body;
use feedlab_system::timing::cpu::thread_cpu_ns;
use feedlab_system::{Service, ServiceConfig, tables};
use hdrhistogram::Histogram;
use tokio::runtime::Runtime;

const SHARDS: usize = 8;

fn rt() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn bench_ids(c: &mut Criterion) {
    let ids = IdGenerator::new();
    let mut g = c.benchmark_group("id");
    g.throughput(Throughput::Elements(1));
    let mut shard = 0u16;
    g.bench_function("next", |b| {
        b.iter(|| {
            shard = (shard + 1) & 0x1fff;
            ids.next(shard)
        })
    });
    g.finish();
}

fn bench_timeline_inserts(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let shards: Vec<Arc<dyn MetaStore>> = (0..SHARDS)
        .map(|i| {
            let s = FjallStore::open(&dir.path().join(i.to_string())).expect("open");
            Arc::new(s) as Arc<dyn MetaStore>
        })
        .collect();
    let mut g = c.benchmark_group("timeline");
    g.throughput(Throughput::Elements(SHARDS as u64 * 1_000));
    let mut n: u64 = 0;
    // The materializer's write path: one buffered batch of 1,000 timeline
    // rows per shard, all shards written concurrently.
    g.bench_function("batched_insert_8_shards", |b| {
        b.iter(|| {
            let writes = shards.iter().map(|store| {
                let mut batch = WriteBatch::buffered();
                for i in 0..1_000u64 {
                    n += 1;
                    batch.put(
                        tables::timeline(i % 5_000, PhotoId(n)),
                        42u64.to_be_bytes().to_vec(),
                    );
                }
                store.write(batch)
            });
            let done = rt.block_on(futures::future::join_all(writes));
            done.into_iter()
                .collect::<Result<Vec<()>, _>>()
                .expect("write");
        })
    });
    g.finish();
}

async fn service(kind: FanoutKind, dir: &std::path::Path) -> Service {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = kind;
    cfg.fanout.hybrid_threshold = u64::MAX;
    Service::open_embedded(cfg).await.expect("open service")
}

fn bench_fanout(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, author) = rt.block_on(async {
        let svc = service(FanoutKind::Push, dir.path()).await;
        let author = svc
            .create_user("author", "a@x.test")
            .await
            .expect("user")
            .id;
        for i in 0..2_000 {
            let f = svc
                .create_user("f", &format!("f{i}@x.test"))
                .await
                .expect("user")
                .id;
            svc.follow(f, f, author).await.expect("follow");
        }
        svc.drain().await;
        (svc, author)
    });
    let mut g = c.benchmark_group("fanout");
    g.throughput(Throughput::Elements(10 * 2_000));
    let mut k = 0u8;
    g.bench_function("push_drain", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..10 {
                    k = k.wrapping_add(1);
                    let body = sample_body("image/png", 2_000, k);
                    svc.upload(author, "bench", None, body.into())
                        .await
                        .expect("upload");
                }
                svc.drain().await;
            })
        })
    });
    g.finish();
}

fn bench_feed(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("feed");
    for kind in [FanoutKind::Push, FanoutKind::Pull] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (svc, reader) = rt.block_on(async {
            let svc = service(kind, dir.path()).await;
            let reader = svc
                .create_user("reader", "r@x.test")
                .await
                .expect("user")
                .id;
            for a in 0..200 {
                let author = svc
                    .create_user("a", &format!("a{a}@x.test"))
                    .await
                    .expect("user")
                    .id;
                svc.follow(reader, reader, author).await.expect("follow");
                for p in 0..5u8 {
                    let body = sample_body("image/png", 600 + a, p);
                    svc.upload(author, "photo", None, body.into())
                        .await
                        .expect("upload");
                }
            }
            svc.drain().await;
            (svc, reader)
        });
        g.bench_with_input(BenchmarkId::from_parameter(kind), &kind, |b, _| {
            b.iter(|| rt.block_on(svc.feed(reader, 100)).expect("feed"))
        });
    }
    g.finish();
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

fn bench_upload_vs_fsync(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = rt.block_on(service(FanoutKind::Hybrid, dir.path()));
    let owner = rt
        .block_on(svc.create_user("u", "u@x.test"))
        .expect("user")
        .id;
    let mut up = Histogram::<u64>::new(3).expect("hist");
    let mut fs = Histogram::<u64>::new(3).expect("hist");
    let fsync_dir = dir.path().join("fsync");
    std::fs::create_dir_all(&fsync_dir).expect("mkdir");
    for i in 0..300u32 {
        let mut body = sample_body("image/jpeg", 200_000, 0);
        body[100..104].copy_from_slice(&i.to_le_bytes());
        let t = Instant::now();
        rt.block_on(svc.upload(owner, "p", None, body.clone().into()))
            .expect("upload");
        up.record(t.elapsed().as_micros() as u64).expect("record");
        let t = Instant::now();
        let mut f = std::fs::File::create(fsync_dir.join(i.to_string())).expect("create");
        f.write_all(&body).expect("write");
        f.sync_all().expect("fsync");
        fs.record(t.elapsed().as_micros() as u64).expect("record");
    }
    println!(
        "upload_200k_2_replicas: p50 {:.2} ms p99 {:.2} ms | write+fsync_200k: p50 {:.2} ms p99 {:.2} ms | p99 ratio {:.2}",
        ms(&up, 0.5),
        ms(&up, 0.99),
        ms(&fs, 0.5),
        ms(&fs, 0.99),
        ms(&up, 0.99) / ms(&fs, 0.99).max(0.001)
    );
    let mut g = c.benchmark_group("upload");
    g.throughput(Throughput::Bytes(200_000));
    let mut i = 1_000u32;
    g.bench_function("200k_2_replicas", |b| {
        b.iter(|| {
            i += 1;
            let mut body = sample_body("image/jpeg", 200_000, 0);
            body[100..104].copy_from_slice(&i.to_le_bytes());
            rt.block_on(svc.upload(owner, "p", None, body.into()))
                .expect("upload")
        })
    });
    g.finish();
}

/// Write `data` to a new file in `dir` through a [`DirectFile`] (direct or
/// buffered) and fsync it; returns the calling thread's CPU in ns.
fn write_replica(dir: &std::path::Path, n: u64, data: &[u8], direct: bool) -> u64 {
    let cpu = thread_cpu_ns();
    let file = std::fs::File::create_new(dir.join(n.to_string())).expect("create");
    let mut w = if direct {
        DirectFile::new(file)
    } else {
        DirectFile::buffered(file)
    };
    w.write_all(data).expect("write");
    w.finish().expect("finish");
    thread_cpu_ns() - cpu
}

fn bench_replica_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = sample_body("image/jpeg", 264_000, 7);
    let mut n = 0u64;
    for direct in [false, true] {
        let cpu: u64 = (0..200)
            .map(|_| {
                n += 1;
                write_replica(dir.path(), n, &data, direct)
            })
            .sum();
        println!(
            "replica_write_264k direct={direct}: {:.0} µs of the thread's CPU per write",
            cpu as f64 / 200.0 / 1_000.0
        );
    }
    let mut g = c.benchmark_group("replica_write");
    g.throughput(Throughput::Bytes(264_000));
    for (name, direct) in [("buffered_264k", false), ("direct_264k", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                write_replica(dir.path(), n, &data, direct)
            })
        });
    }
    g.finish();
}

fn bench_photo_get(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = rt.block_on(service(FanoutKind::Push, dir.path()));
    let owner = rt
        .block_on(svc.create_user("u", "u@x.test"))
        .expect("user")
        .id;
    let mut ids = Vec::new();
    for i in 0..64u32 {
        let mut body = sample_body("image/jpeg", 200_000, 0);
        body[100..104].copy_from_slice(&i.to_le_bytes());
        let row = rt.block_on(svc.upload(owner, "p", None, body.into()));
        ids.push(row.expect("upload").id);
    }
    // `n` reads, 8 in flight, each task cycling through the photos; the latencies.
    let reads = |n: u64| {
        let _in_runtime = rt.enter();
        let tasks: Vec<_> = (0..8u64)
            .map(|t| {
                let (svc, ids) = (svc.clone(), ids.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for k in (t..n).step_by(8) {
                        let start = Instant::now();
                        let pid = ids[k as usize % ids.len()];
                        let (_, bytes) = svc.photo_bytes(pid, None).await.expect("read");
                        assert_eq!(bytes.len(), 200_000);
                        lat.push(start.elapsed().as_micros() as u64);
                    }
                    lat
                })
            })
            .collect();
        rt.block_on(futures::future::join_all(tasks))
    };
    let mut h = Histogram::<u64>::new(3).expect("hist");
    let t = Instant::now();
    for lat in reads(2_000) {
        lat.expect("task")
            .iter()
            .for_each(|&us| h.record(us).expect("record"));
    }
    println!(
        "photo_get_200k_x8: {:.0} reads/s, p50 {:.2} ms p99 {:.2} ms",
        2_000.0 / t.elapsed().as_secs_f64(),
        ms(&h, 0.5),
        ms(&h, 0.99)
    );
    let mut g = c.benchmark_group("photo_get");
    g.throughput(Throughput::Elements(1));
    g.bench_function("200k_2_replicas_x8", |b| {
        b.iter_custom(|n| {
            let t = Instant::now();
            reads(n);
            t.elapsed()
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_ids, bench_timeline_inserts, bench_fanout, bench_feed, bench_upload_vs_fsync,
        bench_replica_write, bench_photo_get
}
criterion_main!(benches);
