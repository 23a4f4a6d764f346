//! Work counters of metered HTTP requests, and the slowdown injection knobs that the
//! regression gate is validated with: each op kind's storage calls, keys, rows, fsyncs, blob
//! bytes and CPU land in the recorder's ledger under the op's name, and each injection knob
//! moves exactly the counter it should; and the sizes the app-side samples are recorded at.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::{Env, call, create_user, follow, get, upload_png};
use feedlab_system::policy::FanoutKind;
use feedlab_system::timing::{OpWork, Recorder};
use feedlab_system::{Service, ServiceConfig};

/// Bytes of the uploaded photo.
const PHOTO: usize = 20_000;

/// A push service over timed stores, recording into the returned recorder.
async fn recorded(tweak: impl FnOnce(&mut ServiceConfig)) -> anyhow::Result<(Env, Arc<Recorder>)> {
    let dir = tempfile::tempdir()?;
    let mut cfg = common::config(&dir, FanoutKind::Push);
    tweak(&mut cfg);
    let rec = Recorder::new();
    let svc = Service::open_recorded(cfg, Some(rec.clone())).await?;
    let env = Env {
        write: feedlab_system::http::write_router(svc.clone()),
        read: feedlab_system::http::read_router(svc.clone()),
        svc,
        dir,
    };
    Ok((env, rec))
}

/// Follow, upload, fan out, read the feed and the photo once each, recording only that;
/// returns the ledger's totals.
async fn one_of_each(env: &Env, rec: &Recorder) -> std::collections::BTreeMap<String, OpWork> {
    let author = create_user(env, "author").await;
    let reader = create_user(env, "reader").await;
    rec.start();
    assert!(follow(env, &reader, &author).await);
    let view = upload_png(env, &author, "sunset", PHOTO, 7).await;
    env.svc.drain().await;
    let feed = call(&env.read, get("/v1/feed?limit=10", Some(&reader.token))).await;
    assert_eq!(
        feed.expect(StatusCode::OK).json()["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let id = view["id"].to_string().trim_matches('"').to_string();
    call(&env.read, get(&format!("/v1/photos/{id}"), None))
        .await
        .expect(StatusCode::OK);
    rec.stop();
    rec.ledger().totals()
}

#[tokio::test]
async fn each_op_kind_records_its_storage_and_blob_work() -> anyhow::Result<()> {
    let (env, rec) = recorded(|_| {}).await?;
    let t = one_of_each(&env, &rec).await;
    let (up, feed, photo, fol) = (&t["upload"], &t["feed"], &t["photo_get"], &t["follow"]);
    assert_eq!(
        (up.ops, feed.ops, photo.ops, fol.ops),
        (1, 1, 1, 1),
        "{t:?}"
    );
    assert!(
        !t.contains_key("create_user"),
        "only workload ops are metered"
    );
    assert_eq!(up.work.blob_bytes_written, PHOTO as u64);
    assert!(up.work.fsyncs >= 1 && up.work.rows_written >= 1, "{up:?}");
    assert_eq!(photo.work.blob_bytes_read, PHOTO as u64);
    assert!(
        feed.work.storage_calls >= 1 && feed.work.keys_read >= 1,
        "{feed:?}"
    );
    assert_eq!((feed.work.rows_written, feed.work.fsyncs), (0, 0));
    assert!(
        fol.work.rows_written >= 1 && fol.work.fsyncs >= 1,
        "{fol:?}"
    );
    assert!(
        t.values().all(|w| w.work.cpu_ns > 0),
        "every op used CPU: {t:?}"
    );
    Ok(())
}

/// The in-situ calibration's app-side samples: an upload's at its body's KiB (the model
/// prices a video by its bytes), every other op's at size 1.
#[tokio::test]
async fn an_upload_s_app_time_is_recorded_at_its_body_s_kib() -> anyhow::Result<()> {
    let (env, rec) = recorded(|_| {}).await?;
    one_of_each(&env, &rec).await;
    let samples = rec.take();
    let sizes = |op: &str| -> Vec<u32> { samples[op].iter().map(|s| s.0).collect() };
    assert_eq!(sizes("app-upload"), vec![PHOTO.div_ceil(1024) as u32]);
    assert_eq!(sizes("app-feed"), vec![1]);
    assert_eq!(sizes("app-photo_get"), vec![1]);
    Ok(())
}

#[tokio::test]
async fn injected_feed_calls_add_exactly_that_many_storage_calls() -> anyhow::Result<()> {
    let (env, rec) = recorded(|_| {}).await?;
    let plain = one_of_each(&env, &rec).await["feed"];
    let (env, rec) = recorded(|c| c.inject.feed_extra_calls = 3).await?;
    let slowed = one_of_each(&env, &rec).await["feed"];
    assert_eq!(slowed.work.storage_calls, plain.work.storage_calls + 3);
    assert_eq!(slowed.work.keys_read, plain.work.keys_read + 3);
    Ok(())
}

#[tokio::test]
async fn injected_cpu_is_charged_to_its_op_kind_only() -> anyhow::Result<()> {
    let (env, rec) = recorded(|c| {
        c.inject.cpu_us.insert("feed".into(), 30_000);
    })
    .await?;
    let t = one_of_each(&env, &rec).await;
    assert!(t["feed"].work.cpu_ns >= 30_000_000, "{:?}", t["feed"]);
    assert!(
        t["photo_get"].work.cpu_ns < 30_000_000,
        "{:?}",
        t["photo_get"]
    );
    Ok(())
}

#[tokio::test]
async fn injected_delay_slows_only_the_chosen_shard() -> anyhow::Result<()> {
    let delay = Duration::from_millis(20);
    let (env, rec) = recorded(|c| {
        c.inject.storage_delay_us = delay.as_micros() as u64;
        c.inject.storage_delay_shards = vec![1];
    })
    .await?;
    one_of_each(&env, &rec).await;
    let calls = rec.shard_call_us();
    let slow = calls.get(&1).map(|c| c.1).unwrap_or_default();
    assert!(slow >= 20_000.0, "shard 1 took {slow} µs per call");
    for (shard, (n, us)) in calls.iter().filter(|(s, _)| **s != 1) {
        assert!(*us < 20_000.0, "shard {shard}: {n} calls of {us} µs");
    }
    Ok(())
}
