//! "Never lose a photo" on a 3-node Garage (`scripts/s3-dev cluster`,
//! replication factor 3, reads and writes at quorum 2).
//!
//! The service runs with `blob = "s3"` on node 1 and uploads stream
//! through the HTTP write router while the tests kill the other nodes
//! with `scripts/s3-dev cluster kill` (SIGKILL):
//! - one node down: every upload is still acknowledged, and every
//!   acknowledged upload reads back byte-identical while the node is down,
//!   again once it is revived and has caught up with node 1 (a forced
//!   table sync; polled until its table counts match node 1's and its data
//!   dir holds every block file node 1 gained while it was down), and
//!   again with another node down, so the revived node is one of the two
//!   answering reads;
//! - two nodes down (no write quorum): uploads are refused with 503 and the
//!   JSON `unavailable` body within the S3 timeout, nothing is
//!   acknowledged after the refusals begin, the service lists only
//!   acknowledged uploads, and once one node is revived uploads succeed
//!   again and every acknowledged upload reads back.
//!
//! Runs only when `FEEDLAB_S3_CLUSTER=1` and `FEEDLAB_S3_ENDPOINT` are set
//! (`eval "$(scripts/s3-dev cluster env)"`); else prints the skip line, or
//! fails if `FEEDLAB_REQUIRE_S3=1`. The two tests share the cluster, so
//! they take turns; each revives every node when it ends, pass or fail.

mod cluster;
mod common;
mod stream;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cluster::{
    CLUSTER, S3_TIMEOUT_ONE_DOWN_S, S3_TIMEOUT_S, Whole, cluster, cluster_s3, lacking_now, resync,
};
use common::{Env, User};
use feedlab_system::service::{BlobBackend, S3Config};
use stream::{Log, listed_is_acked, lost, uploader, verify_all, wait_for};

/// A service on the cluster and a running upload stream.
struct Stream {
    env: Arc<Env>,
    user: User,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stream {
    async fn start(s3: S3Config, tag: &'static str) -> anyhow::Result<Stream> {
        let env = Arc::new(
            common::env_with(|c| {
                c.blob = BlobBackend::S3;
                c.s3 = s3;
            })
            .await?,
        );
        let user = common::create_user(&env, tag).await;
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Log>> = Arc::default();
        let task = tokio::spawn(uploader(
            env.clone(),
            user.clone(),
            tag,
            stop.clone(),
            log.clone(),
        ));
        Ok(Stream {
            env,
            user,
            stop,
            log,
            task,
        })
    }

    fn acked(&self) -> usize {
        self.log.lock().expect("lock").acked.len()
    }

    /// Stop uploading; the acknowledged uploads, the count of 503s and the
    /// slowest acknowledgement.
    async fn finish(&mut self) -> anyhow::Result<(BTreeMap<String, Vec<u8>>, usize, Duration)> {
        self.stop.store(true, Ordering::Relaxed);
        (&mut self.task).await?;
        let l = self.log.lock().expect("lock");
        ensure!(l.other.is_empty(), "unexpected answers: {:?}", l.other);
        if l.unavailable > 0 {
            eprintln!("first refusals: {:?}", l.refusals);
        }
        Ok((l.acked.clone(), l.unavailable, l.slowest_ack))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_killed_mid_stream_loses_nothing() -> anyhow::Result<()> {
    let Some(s3) = cluster_s3("cluster-one-down", S3_TIMEOUT_ONE_DOWN_S) else {
        return Ok(());
    };
    let _turn = CLUSTER.lock().await;
    let _whole = Whole;
    let t0 = Instant::now();
    let mut s = Stream::start(s3, "onedown").await?;
    wait_for(&s.log, 30, "10 uploads with 3 nodes up", |l| {
        l.acked.len() >= 10
    })
    .await;
    let known = lacking_now("3")?;
    cluster(&["kill", "3"])?;
    let at_kill = s.acked();
    wait_for(
        &s.log,
        60,
        "30 uploads acknowledged with node 3 down",
        |l| l.acked.len() >= at_kill + 30,
    )
    .await;
    let (acked, refused, slowest_ack) = s.finish().await?;
    ensure!(
        refused == 0,
        "{refused} uploads were refused with one node of three down (the write quorum is 2)"
    );
    let (env, uid) = (&s.env, s.user.id);
    let lost_down = lost(env, uid, &acked).await?;
    eprintln!(
        "node 3 down: {} acknowledged ({} after the kill; slowest {slowest_ack:.1?}), 0 refused, {} lost",
        acked.len(),
        acked.len() - at_kill,
        lost_down.len()
    );
    ensure!(lost_down.is_empty(), "lost with node 3 down: {lost_down:?}");

    cluster(&["revive", "3"])?;
    let (behind, took) = resync("3", &known).await?;
    let lost_back = lost(env, uid, &acked).await?;
    eprintln!(
        "node 3 revived lacking {behind} of node 1's blocks, caught up in {took:.1?}: {} lost",
        lost_back.len()
    );
    ensure!(lost_back.is_empty(), "lost after revive: {lost_back:?}");

    // Now the revived node is one of the two that must answer every read.
    cluster(&["kill", "2"])?;
    let lost_without_2 = lost(env, uid, &acked).await?;
    cluster(&["revive", "2"])?;
    eprintln!(
        "node 2 down, reads on nodes 1 and 3: {} of {} lost; test took {:.1?}",
        lost_without_2.len(),
        acked.len(),
        t0.elapsed()
    );
    ensure!(
        lost_without_2.is_empty(),
        "lost with node 2 down after node 3's resync: {lost_without_2:?}"
    );
    s.env.svc.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_killed_refuse_uploads_then_recover() -> anyhow::Result<()> {
    let Some(s3) = cluster_s3("cluster-two-down", S3_TIMEOUT_S) else {
        return Ok(());
    };
    let _turn = CLUSTER.lock().await;
    let _whole = Whole;
    let t0 = Instant::now();
    let mut s = Stream::start(s3, "twodown").await?;
    wait_for(&s.log, 30, "10 uploads with 3 nodes up", |l| {
        l.acked.len() >= 10
    })
    .await;
    cluster(&["kill", "2"])?;
    cluster(&["kill", "3"])?;
    let at_kill = s.acked();
    wait_for(&s.log, 60, "5 uploads refused with 503", |l| {
        l.unavailable >= 5
    })
    .await;
    let (refusing_from, slowest) = {
        let l = s.log.lock().expect("lock");
        (l.acked.clone(), l.slowest_refusal)
    };
    listed_is_acked(&s.env, s.user.id, &refusing_from)
        .await
        .context("with two nodes down")?;
    ensure!(
        slowest < Duration::from_secs(S3_TIMEOUT_S + 5),
        "an upload took {slowest:?} to be refused (S3 timeout {S3_TIMEOUT_S} s)"
    );
    // Keep the outage a moment longer: still nothing may be acknowledged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let in_outage = s.acked() - refusing_from.len();
    ensure!(
        in_outage == 0,
        "{in_outage} uploads acknowledged without a write quorum"
    );

    cluster(&["revive", "2"])?;
    let back = Instant::now();
    let before = s.acked();
    wait_for(&s.log, 60, "10 uploads after node 2 is back", |l| {
        l.acked.len() >= before + 10
    })
    .await;
    let recovered_in = back.elapsed();
    let (acked, refused, _) = s.finish().await?;
    verify_all(&s.env, s.user.id, &acked)
        .await
        .context("with node 2 back and node 3 still down")?;
    eprintln!(
        "two nodes down: {} acknowledged ({} before the refusals, {at_kill} at the kill), \
         {refused} refused with 503 (slowest {slowest:.1?}), uploads back {recovered_in:.1?} after the revive, \
         0 lost; test took {:.1?}",
        acked.len(),
        refusing_from.len(),
        t0.elapsed()
    );
    s.env.svc.shutdown().await;
    Ok(())
}
