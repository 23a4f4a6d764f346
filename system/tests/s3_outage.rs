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
mod stream;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, ensure};
use feedlab_system::service::{BlobBackend, S3Config};
use stream::{Log, listed_is_acked, uploader, verify_all, wait_for};

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
        "outage",
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
    listed_is_acked(&env, user.id, &acked)
        .await
        .context("during the outage")?;
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
    verify_all(&env, user.id, &acked).await?;
    eprintln!(
        "after restart: all {} acknowledged uploads read back byte-identical",
        acked.len()
    );
    // Close the service's S3 connections before Garage is stopped.
    env.svc.shutdown().await;
    drop(env);
    Ok(())
}
