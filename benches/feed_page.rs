//! Decoding one feed page as the load generator does (`cargo bench --bench feed_page`).
//!
//! The generator reads every feed page it receives on the cores it shares with the service
//! it loads, so its decode cost lowers the knee it measures. A page here is the service's
//! own shape (`{"items": [...]}` of 20 photos, each with the fields of the read API's
//! `PhotoView`). Two figures:
//!
//! - `feed_page/ids`: [`feedlab_workload::feed_ids`], which streams the page and keeps only
//!   the ids;
//! - `feed_page/tree`: the same bytes parsed into a `serde_json::Value`, the reading the
//!   generator used before (kept as the yardstick).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// A feed page of `n` photos in the service's shape.
fn page(n: u64) -> Vec<u8> {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let id = 7_300_000_000_000_000_000u64 + i * 4_099;
            json!({
                "id": id.to_string(),
                "owner": 1_000 + i,
                "title": format!("sunset at sea number {i}"),
                "content_type": "image/jpeg",
                "size": 204_800 + i,
                "created_ms": 1_764_000_000_000u64 + i,
                "url": format!("/v1/photos/{id}"),
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "items": items })).expect("a page serializes")
}

fn bench(c: &mut Criterion) {
    let body = page(20);
    let mut g = c.benchmark_group("feed_page");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("ids", |b| {
        b.iter(|| feedlab_workload::feed_ids(std::hint::black_box(&body)))
    });
    g.bench_function("tree", |b| {
        b.iter(|| serde_json::from_slice::<Value>(std::hint::black_box(&body)).ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
