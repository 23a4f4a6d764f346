//! Upload latency of 200 KB photos on the local blob store vs S3 (Garage),
//! in one run.
//!
//! Two services (embedded metadata, one shard set each) differ only in the
//! blob backend: `local` (2 fsynced replicas) and `s3` (the `FEEDLAB_S3_*`
//! server, e.g. Garage from `scripts/s3-dev start`, under a fresh prefix).
//! First 300 uploads alternate between the two so both see the same machine
//! noise; p50/p99 are printed from hdrhistograms. Then criterion times each.
//! Without `FEEDLAB_S3_ENDPOINT` the bench prints one skip line.
//!
//! Run: `cargo bench --bench blob_backends`.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedlab_system::service::media::sample_body;
use feedlab_system::service::{BlobBackend, S3Config};
use feedlab_system::{Service, ServiceConfig};
use hdrhistogram::Histogram;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn service(dir: &std::path::Path, s3: Option<S3Config>) -> (Service, u64) {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    };
    if let Some(s3) = s3 {
        cfg.blob = BlobBackend::S3;
        cfg.s3 = s3;
    }
    let svc = Service::open(cfg).await.expect("open service");
    let owner = svc.create_user("u", "u@x.test").await.expect("user").id;
    (svc, owner)
}

fn body(i: u32) -> bytes::Bytes {
    let mut b = sample_body("image/jpeg", 200_000, 0);
    b[100..104].copy_from_slice(&i.to_le_bytes());
    b.into()
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

fn bench_blob_backends(c: &mut Criterion) {
    if std::env::var("FEEDLAB_S3_ENDPOINT").map_or(true, |v| v.is_empty()) {
        println!(
            "blob_backends bench skipped: FEEDLAB_S3_ENDPOINT not set (run scripts/s3-dev start)"
        );
        return;
    }
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let s3 = S3Config {
        prefix: format!("bench/{ns}/"),
        ..S3Config::default()
    };
    let rt = rt();
    let (ldir, sdir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (local, lu) = rt.block_on(service(ldir.path(), None));
    let (remote, ru) = rt.block_on(service(sdir.path(), Some(s3)));
    let mut hl = Histogram::<u64>::new(3).expect("hist");
    let mut hs = Histogram::<u64>::new(3).expect("hist");
    const N: u32 = 300;
    for i in 0..N {
        for (svc, owner, h) in [(&local, lu, &mut hl), (&remote, ru, &mut hs)] {
            let b = body(i);
            let t = Instant::now();
            rt.block_on(svc.upload(owner, "p", None, b))
                .expect("upload");
            h.record(t.elapsed().as_micros() as u64).expect("record");
        }
    }
    println!(
        "upload 200 KB x{N} (alternating): local (2 replicas, fsync) p50 {:.2} ms p99 {:.2} ms | s3 ({}) p50 {:.2} ms p99 {:.2} ms | p50 ratio s3/local {:.2}",
        ms(&hl, 0.5),
        ms(&hl, 0.99),
        remote.config().s3.endpoint,
        ms(&hs, 0.5),
        ms(&hs, 0.99),
        ms(&hs, 0.5) / ms(&hl, 0.5).max(0.001)
    );
    let mut g = c.benchmark_group("blob_backends/upload_200k");
    g.throughput(Throughput::Bytes(200_000));
    for (name, svc, owner) in [("local", &local, lu), ("s3", &remote, ru)] {
        let mut i = 1_000_000u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(svc.upload(owner, "p", None, body(i)))
                    .expect("upload")
            })
        });
    }
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
    targets = bench_blob_backends
}
criterion_main!(benches);
