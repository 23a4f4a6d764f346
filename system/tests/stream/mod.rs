//! An upload stream that logs every answer, and the "nothing lost" check:
//! helpers of the blob-store outage tests (`s3_outage`, `s3_cluster`).
//!
//! [`uploader`] posts distinct PNGs through the HTTP write router until told
//! to stop and records each outcome in a [`Log`]: the acknowledged uploads
//! (201) with their bytes, the 503s with the JSON `unavailable` body, and
//! anything else (which fails [`wait_for`]). [`verify_all`] checks that the
//! photos the service lists are exactly the acknowledged uploads and that
//! each reads back byte-identical.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::ensure;
use axum::http::StatusCode;
use feedlab_system::service::media::sample_body;

use crate::common::{self, Env, Resp, User, send};

/// Every outcome of an upload stream.
#[derive(Default)]
pub struct Log {
    /// Acknowledged uploads (201): photo id → the bytes sent.
    pub acked: BTreeMap<String, Vec<u8>>,
    /// Uploads answered 503 with the JSON `unavailable` body.
    pub unavailable: usize,
    /// The longest time an upload took to be acknowledged.
    pub slowest_ack: Duration,
    /// The longest time an upload took to be answered 503.
    pub slowest_refusal: Duration,
    /// The messages of the first few 503s, for failure reports.
    pub refusals: Vec<String>,
    /// Any other answer, as `status: body`.
    pub other: Vec<String>,
}

/// A 503 with `application/json` `{code: "unavailable", message}`.
pub fn is_unavailable_json(r: &Resp) -> bool {
    let json = r
        .header(axum::http::header::CONTENT_TYPE)
        .starts_with("application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    json && v["code"] == "unavailable" && v["message"].is_string()
}

/// Upload distinct PNGs (titled `{tag} {i}`) until `stop`, logging every
/// outcome.
pub async fn uploader(
    env: Arc<Env>,
    user: User,
    tag: &'static str,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
) {
    // Bytes unique to this stream, so no upload shares its content (and
    // thus its blocks in the store) with an earlier run's.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    for i in 0u32.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut body = sample_body("image/png", 20_000 + (i as usize % 7) * 3_000, 0);
        body[100..104].copy_from_slice(&i.to_be_bytes());
        body[104..112].copy_from_slice(&nonce.to_be_bytes());
        let req = common::upload_req(
            Some(&user.token),
            &format!("title={tag}%20{i}"),
            Some("image/png"),
            body.clone(),
        );
        let t0 = Instant::now();
        let r = send(&env.write, req).await;
        {
            let mut log = log.lock().expect("lock");
            match r.status {
                StatusCode::CREATED => {
                    let id = common::pid(&r.json());
                    log.acked.insert(id, body);
                    log.slowest_ack = log.slowest_ack.max(t0.elapsed());
                }
                StatusCode::SERVICE_UNAVAILABLE if is_unavailable_json(&r) => {
                    log.unavailable += 1;
                    log.slowest_refusal = log.slowest_refusal.max(t0.elapsed());
                    if log.refusals.len() < 3 {
                        let at = format!("{:.1?}", t0.elapsed());
                        log.refusals
                            .push(format!("after {at}: {}", r.json()["message"]));
                    }
                }
                s => log
                    .other
                    .push(format!("{s}: {}", String::from_utf8_lossy(&r.body))),
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Wait until `cond` holds on the log (or fail after `secs`); fails at once
/// on any answer other than 201 or the JSON 503.
pub async fn wait_for(log: &Mutex<Log>, secs: u64, what: &str, cond: impl Fn(&Log) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        {
            let l = log.lock().expect("lock");
            assert!(l.other.is_empty(), "unexpected answers: {:?}", l.other);
            if cond(&l) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The ids of every photo row the service lists for `uid`.
pub async fn listed(env: &Env, uid: u64) -> anyhow::Result<Vec<String>> {
    let rows = env.svc.user_photos(uid, 100_000, None).await?;
    Ok(rows.iter().map(|r| r.id.0.to_string()).collect())
}

/// The service lists exactly the acknowledged uploads of `uid` (no row
/// without its blob, no acknowledged upload missing).
pub async fn listed_is_acked(
    env: &Env,
    uid: u64,
    acked: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<()> {
    let ids = listed(env, uid).await?;
    let unknown: Vec<_> = ids.iter().filter(|i| !acked.contains_key(*i)).collect();
    ensure!(
        ids.len() == acked.len() && unknown.is_empty(),
        "the service lists {} photos, {} uploads were acknowledged; listed but never acknowledged: {unknown:?}",
        ids.len(),
        acked.len()
    );
    Ok(())
}

/// [`listed_is_acked`], then every acknowledged upload is read back through
/// the read router. Returns the acknowledged uploads that did not read back
/// byte-identical (`id: reason`); empty means nothing was lost.
pub async fn lost(
    env: &Env,
    uid: u64,
    acked: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<Vec<String>> {
    listed_is_acked(env, uid, acked).await?;
    let mut lost = Vec::new();
    for (id, want) in acked {
        let r = send(&env.read, common::get(&format!("/v1/photos/{id}"), None)).await;
        if r.status != StatusCode::OK {
            lost.push(format!("{id}: {}", r.status));
        } else if r.body.as_ref() != want.as_slice() {
            lost.push(format!("{id}: bytes differ"));
        }
    }
    Ok(lost)
}

/// [`lost`], failing unless it is empty.
pub async fn verify_all(
    env: &Env,
    uid: u64,
    acked: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<()> {
    let lost = lost(env, uid, acked).await?;
    ensure!(
        lost.is_empty(),
        "{} of {} acknowledged uploads lost: {lost:?}",
        lost.len(),
        acked.len()
    );
    Ok(())
}
