//! A Garage outage in the middle of an upload stream.
//!
//! The test starts a Garage of its own through `scripts/s3-dev` (separate
//! state dir, free ports; the shared dev server is untouched), opens the
//! service with `blob = "s3"` on it, and uploads continuously through the
//! HTTP write router. It stops Garage mid-stream and checks that:
//! - uploads then get 503 with the JSON error body (`code: "unavailable"`);
//! - no metadata row points at a missing blob: the photos the service lists
//!   are exactly the acknowledged uploads (blob first, metadata second);
//! - after Garage restarts, uploads succeed again, and every listed photo —
//!   every acknowledged upload — reads back byte-identical.
//!
//! Runs only where S3 tests run (`FEEDLAB_S3_ENDPOINT` set, which means
//! `scripts/s3-dev` has a Garage binary); else prints the skip line.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::http::StatusCode;
use common::{Env, Resp, User, send};
use feedlab_system::service::media::sample_body;
use feedlab_system::service::{BlobBackend, S3Config};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/s3-dev");

/// A Garage run by `scripts/s3-dev` in its own dir and on its own ports.
struct Garage {
    dir: tempfile::TempDir,
    ports: [u16; 3],
}

impl Garage {
    fn run(&self, cmd: &str) -> anyhow::Result<()> {
        let st = Command::new(SCRIPT)
            .arg(cmd)
            .env("FEEDLAB_S3_DIR", self.dir.path())
            .env("FEEDLAB_S3_PORT", self.ports[0].to_string())
            .env("FEEDLAB_S3_RPC_PORT", self.ports[1].to_string())
            .env("FEEDLAB_S3_ADMIN_PORT", self.ports[2].to_string())
            .status()
            .with_context(|| format!("running {SCRIPT} {cmd}"))?;
        ensure!(st.success(), "scripts/s3-dev {cmd} failed: {st}");
        Ok(())
    }

    /// The S3 settings from the env file `start` wrote.
    fn config(&self, test: &str) -> anyhow::Result<S3Config> {
        let text = std::fs::read_to_string(self.dir.path().join("env"))?;
        let mut cfg = S3Config {
            prefix: common::unique_prefix(test),
            ..S3Config::default()
        };
        for line in text.lines() {
            let Some((k, v)) = line.trim_start_matches("export ").split_once('=') else {
                continue;
            };
            let v = v.to_owned();
            match k {
                "FEEDLAB_S3_ENDPOINT" => cfg.endpoint = v,
                "FEEDLAB_S3_REGION" => cfg.region = v,
                "FEEDLAB_S3_BUCKET" => cfg.bucket = v,
                "FEEDLAB_S3_ACCESS_KEY" => cfg.access_key = v,
                "FEEDLAB_S3_SECRET_KEY" => cfg.secret_key = v,
                _ => {}
            }
        }
        cfg.timeout_s = 10;
        Ok(cfg)
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}

fn free_ports() -> anyhow::Result<[u16; 3]> {
    let ls: Vec<_> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let mut p = [0u16; 3];
    for (i, l) in ls.iter().enumerate() {
        p[i] = l.local_addr()?.port();
    }
    Ok(p)
}

#[derive(Default)]
struct Log {
    acked: BTreeMap<String, Vec<u8>>,
    unavailable: usize,
    other: Vec<String>,
}

/// A 503 with `application/json` `{code: "unavailable", message}`.
fn is_unavailable_json(r: &Resp) -> bool {
    let json = r
        .header(axum::http::header::CONTENT_TYPE)
        .starts_with("application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    json && v["code"] == "unavailable" && v["message"].is_string()
}

/// Upload distinct PNGs until `stop`, logging every outcome.
async fn uploader(env: Arc<Env>, user: User, stop: Arc<AtomicBool>, log: Arc<Mutex<Log>>) {
    for i in 0u32.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut body = sample_body("image/png", 20_000 + (i as usize % 7) * 3_000, 0);
        body[100..104].copy_from_slice(&i.to_be_bytes());
        let req = common::upload_req(
            Some(&user.token),
            &format!("title=outage%20{i}"),
            Some("image/png"),
            body.clone(),
        );
        let r = send(&env.write, req).await;
        {
            let mut log = log.lock().expect("lock");
            match r.status {
                StatusCode::CREATED => {
                    let id = common::pid(&r.json());
                    log.acked.insert(id, body);
                }
                StatusCode::SERVICE_UNAVAILABLE if is_unavailable_json(&r) => log.unavailable += 1,
                s => log
                    .other
                    .push(format!("{s}: {}", String::from_utf8_lossy(&r.body))),
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Wait until `cond` holds on the log (or fail after `secs`).
async fn wait_for(log: &Mutex<Log>, secs: u64, what: &str, cond: impl Fn(&Log) -> bool) {
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
async fn listed(env: &Env, uid: u64) -> anyhow::Result<Vec<String>> {
    let rows = env.svc.user_photos(uid, 100_000, None).await?;
    Ok(rows.iter().map(|r| r.id.0.to_string()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garage_outage_mid_stream_loses_nothing() -> anyhow::Result<()> {
    if common::s3_config("outage").is_none() {
        return Ok(());
    }
    let garage = Garage {
        dir: tempfile::tempdir()?,
        ports: free_ports()?,
    };
    garage.run("start")?;
    let s3 = garage.config("outage")?;
    let env = Arc::new(
        common::env_with(|c| {
            c.blob = BlobBackend::S3;
            c.s3 = s3;
        })
        .await?,
    );
    let user = common::create_user(&env, "outage").await;
    let stop = Arc::new(AtomicBool::new(false));
    let log: Arc<Mutex<Log>> = Arc::default();
    let task = tokio::spawn(uploader(
        env.clone(),
        user.clone(),
        stop.clone(),
        log.clone(),
    ));

    wait_for(&log, 60, "10 uploads before the outage", |l| {
        l.acked.len() >= 10
    })
    .await;
    garage.run("stop")?;
    let acked_at_stop = log.lock().expect("lock").acked.len();
    wait_for(&log, 60, "5 answers of 503", |l| l.unavailable >= 5).await;
    let (acked, unavailable) = {
        let l = log.lock().expect("lock");
        (l.acked.clone(), l.unavailable)
    };
    let ids = listed(&env, user.id).await?;
    ensure!(
        ids.len() == acked.len() && ids.iter().all(|i| acked.contains_key(i)),
        "during the outage the service lists {} photos but {} uploads were acknowledged",
        ids.len(),
        acked.len()
    );
    eprintln!(
        "outage: {} acknowledged ({acked_at_stop} when Garage stopped), {unavailable} answered 503 with a JSON error",
        acked.len()
    );

    garage.run("start")?;
    let before = log.lock().expect("lock").acked.len();
    wait_for(&log, 120, "10 uploads after the restart", |l| {
        l.acked.len() >= before + 10
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    task.await?;

    let acked = log.lock().expect("lock").acked.clone();
    let ids = listed(&env, user.id).await?;
    ensure!(
        ids.len() == acked.len(),
        "{} photos listed, {} acknowledged",
        ids.len(),
        acked.len()
    );
    for id in &ids {
        let Some(want) = acked.get(id) else {
            bail!("photo {id} is listed but was never acknowledged");
        };
        let r = send(&env.read, common::get(&format!("/v1/photos/{id}"), None)).await;
        ensure!(r.status == StatusCode::OK, "photo {id}: {}", r.status);
        ensure!(r.body.as_ref() == want.as_slice(), "photo {id} differs");
    }
    eprintln!(
        "after restart: all {} acknowledged uploads read back byte-identical",
        ids.len()
    );
    // Close the service's S3 connections before Garage is stopped.
    env.svc.shutdown().await;
    drop(env);
    Ok(())
}
