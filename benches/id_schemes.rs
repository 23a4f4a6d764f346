//! The two photo-id schemes side by side (`cargo bench --bench id_schemes`).
//!
//! - `ids/node` vs `ids/ticket`: ids per second from each scheme's id
//!   source on embedded shards (the `node` source checks its lease and
//!   bumps an atomic; the `ticket` source takes a lock and, once per block
//!   of 1,024, reserves the next block with a `cas` on an fsynced store);
//! - upload p50/p99 of 4 KB photos under each scheme, through the whole
//!   upload path (blob fsync, put-if-absent row, batch, ack), from 400
//!   uploads after 50 of warm-up, printed from a histogram (criterion
//!   reports means; the tail needs one).

use std::io::Write;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feedlab_system::ids::IdScheme;
use feedlab_system::policy::FanoutKind;
use feedlab_system::service::media::sample_body;
use feedlab_system::{Service, ServiceConfig};
use hdrhistogram::Histogram;
use tokio::runtime::Runtime;

const SCHEMES: [IdScheme; 2] = [IdScheme::Node, IdScheme::Ticket];

fn rt() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn service(ids: IdScheme, dir: &std::path::Path) -> Service {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ids,
        blob_replicas: 1,
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Push;
    cfg.sharding.shards = 4;
    Service::open_embedded(cfg).await.expect("open service")
}

fn bench_ids(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("ids");
    g.throughput(Throughput::Elements(1));
    for scheme in SCHEMES {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = rt.block_on(service(scheme, dir.path()));
        let ids = svc.ids().clone();
        g.bench_function(scheme.name(), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t0 = Instant::now();
                    for i in 0..iters {
                        let shard = (i & 0x1fff) as u16;
                        std::hint::black_box(ids.next(shard).await.expect("id"));
                    }
                    t0.elapsed()
                })
            })
        });
        rt.block_on(svc.shutdown());
    }
    g.finish();
}

fn upload_tails(_c: &mut Criterion) {
    let rt = rt();
    let mut out = std::io::stdout();
    for scheme in SCHEMES {
        let dir = tempfile::tempdir().expect("tempdir");
        let svc = rt.block_on(service(scheme, dir.path()));
        let owner = rt
            .block_on(svc.create_user("bench", "bench@x.test"))
            .expect("user")
            .id;
        let mut h = Histogram::<u64>::new(3).expect("histogram");
        for i in 0..450u32 {
            let body = Bytes::from(sample_body("image/png", 4096, (i % 251) as u8));
            let t0 = Instant::now();
            rt.block_on(svc.upload(owner, "bench", Some("image/png"), body))
                .expect("upload");
            if i >= 50 {
                h.record(t0.elapsed().as_micros() as u64).expect("record");
            }
        }
        rt.block_on(svc.shutdown());
        let _ = writeln!(
            out,
            "upload/{}: p50 {} us, p99 {} us over {} uploads of 4 KB",
            scheme.name(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.len()
        );
    }
}

criterion_group!(benches, bench_ids, upload_tails);
criterion_main!(benches);
