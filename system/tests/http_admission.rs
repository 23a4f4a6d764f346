//! Admission control: with every read slot taken and the queue full, a
//! request is refused at once with `503 {"code":"overloaded"}` and
//! `Retry-After`; a queued request that waits longer than the admission
//! wait is refused the same way; `/healthz` and `/metrics` answer outside
//! the gate; long-polls have their own pool; and the refusals are counted
//! in `/metrics`. A slot is held by a feed read slowed by the storage-delay
//! injection knob.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use common::*;

/// Every storage call of the held feed read takes this long.
const DELAY: Duration = Duration::from_millis(400);

fn assert_overloaded(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
    assert_error_shape(r);
    assert_eq!(r.json()["code"], "overloaded", "{what}");
    assert_eq!(r.header(header::RETRY_AFTER), "1", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_read_gate_refuses_at_once_and_a_long_wait_is_refused() -> anyhow::Result<()> {
    let env = env_with(|c| {
        c.read_concurrency = 1;
        c.admission_queue = 1;
        c.admission_wait_ms = 100;
        c.inject.storage_delay_us = DELAY.as_micros() as u64;
        c.inject.storage_delay_shards = (0..c.sharding.shards).collect();
    })
    .await?;
    let alice = create_user(&env, "alice").await;
    let read = env.read.clone();

    let held = {
        let (read, token) = (read.clone(), alice.token.clone());
        tokio::spawn(async move { send(&read, get("/v1/feed", Some(&token))).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued = {
        let read = read.clone();
        tokio::spawn(async move { send(&read, get("/v1/search?q=x", None)).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The slot is held and the one queue place taken: refused at once.
    let full = send(&read, get("/v1/search?q=y", None)).await;
    assert_overloaded(&full, "a request beyond the queue");
    // Outside the gate.
    send(&read, get("/healthz", None))
        .await
        .expect(StatusCode::OK);
    assert_overloaded(
        &queued.await?,
        "a request that waited past admission-wait-ms",
    );
    held.await?.expect(StatusCode::OK);
    // The slot is free again.
    send(&read, get("/v1/search?q=z", None)).await;
    let metrics = send(&read, req(Method::GET, "/metrics", None, "")).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("feedlab_http_shed_total{group=\"read\"} 2"),
        "two refusals counted:\n{}",
        text.lines()
            .filter(|l| l.contains("shed"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}
