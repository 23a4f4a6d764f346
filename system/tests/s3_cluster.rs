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

mod common;
mod stream;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use common::{Env, User};
use feedlab_system::service::{BlobBackend, S3Config};
use stream::{Log, listed_is_acked, lost, uploader, verify_all, wait_for};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/s3-dev");

/// The service's S3 request timeout with two nodes down: an upload against
/// a lost quorum must be refused within about this long, not hang.
const S3_TIMEOUT_S: u64 = 5;

/// The S3 request timeout with one node down. Garage may hold the first
/// request after a kill for several seconds (about 6 s seen here) until it
/// notices the broken connection; the quorum still acknowledges it.
const S3_TIMEOUT_ONE_DOWN_S: u64 = 20;

/// One test at a time kills and revives nodes.
static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The S3 settings for one test (requests time out after `timeout_s`), or
/// `None` (skip) without a cluster.
fn cluster_s3(test: &str, timeout_s: u64) -> Option<S3Config> {
    let up = std::env::var("FEEDLAB_S3_CLUSTER").as_deref() == Ok("1")
        && std::env::var("FEEDLAB_S3_ENDPOINT").is_ok_and(|v| !v.is_empty());
    if !up {
        assert!(
            std::env::var("FEEDLAB_REQUIRE_S3").as_deref() != Ok("1"),
            "FEEDLAB_REQUIRE_S3=1 but no Garage cluster: FEEDLAB_S3_CLUSTER=1 and FEEDLAB_S3_ENDPOINT are not both set \
             (run scripts/s3-dev cluster start; eval \"$(scripts/s3-dev cluster env)\")"
        );
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"S3 cluster tests skipped: FEEDLAB_S3_CLUSTER not set (run scripts/s3-dev cluster start)\n",
        );
        return None;
    }
    Some(S3Config {
        prefix: common::unique_prefix(test),
        timeout_s,
        ..S3Config::default()
    })
}

/// `scripts/s3-dev cluster ARGS...`; its stdout. The script's log lines
/// go to the test's stderr; the garage CLI's errors (`cluster garage`) only
/// into the returned error, as callers poll through them.
fn cluster(args: &[&str]) -> anyhow::Result<String> {
    let quiet = args.first() == Some(&"garage");
    let out = Command::new(SCRIPT)
        .arg("cluster")
        .args(args)
        .stdin(Stdio::null())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .output()
        .with_context(|| format!("running {SCRIPT} cluster {args:?}"))?;
    ensure!(
        out.status.success(),
        "scripts/s3-dev cluster {args:?} failed: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Revives nodes 2 and 3 when dropped, so every test leaves the cluster
/// whole, pass or fail (`revive` of a running node is a no-op).
struct Whole;

impl Drop for Whole {
    fn drop(&mut self) {
        for n in ["2", "3"] {
            if let Err(e) = cluster(&["revive", n]) {
                eprintln!("could not revive node {n}: {e:#}");
            }
        }
    }
}

/// One node's copy of the data: what `garage stats` reports, and the block
/// files in its data dir. (Its "RC entries" count is left out: blocks of
/// refused uploads keep an entry at zero on some nodes until GC.) Caught
/// up means the same table counts and the blocks on disk.
#[derive(Debug, Default, PartialEq)]
struct NodeStats {
    /// Items of the object, version and block_ref tables.
    items: BTreeMap<String, u64>,
    /// Blocks whose resync failed (for failure messages only: a block of an
    /// upload Garage refused may be referenced on one node and exist on
    /// none, and its fetch fails until the reference is collected).
    resync_errors: u64,
    /// The hashes of the block files on disk.
    blocks: BTreeSet<String>,
}

impl NodeStats {
    /// `scripts/s3-dev cluster garage N stats`, parsed, and the block files
    /// of node N (`$FEEDLAB_S3_CLUSTER_DIR/nodeN/data/ab/cd/<hash>[.zst]`).
    fn of(node: &str) -> anyhow::Result<NodeStats> {
        let text = cluster(&["garage", node, "stats"])?;
        let mut s = NodeStats::default();
        let num = |v: &str| v.split_whitespace().next().and_then(|x| x.parse().ok());
        for line in text.lines().map(str::trim) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if let [t @ ("object" | "version" | "block_ref"), items, ..] = cols[..] {
                s.items.insert(t.to_owned(), items.parse()?);
            } else if let Some((k, v)) = line.split_once(':') {
                let slot = match k {
                    "blocks with resync errors" => &mut s.resync_errors,
                    _ => continue,
                };
                *slot = num(v).with_context(|| format!("parsing {line:?}"))?;
            }
        }
        ensure!(s.items.len() == 3, "no table counts in: {text}");
        s.blocks = block_files(&cluster_dir().join(format!("node{node}/data")))?;
        Ok(s)
    }

    /// The blocks `full` holds and this node lacks, but for `known`.
    fn lacking(&self, full: &NodeStats, known: &BTreeSet<String>) -> usize {
        full.blocks
            .iter()
            .filter(|b| !self.blocks.contains(*b) && !known.contains(*b))
            .count()
    }

    /// Holds everything `full` holds: the same table items and every block
    /// but the `known` ones.
    fn caught_up_with(&self, full: &NodeStats, known: &BTreeSet<String>) -> bool {
        self.items == full.items && self.lacking(full, known) == 0
    }
}

/// The block files node 1 holds and node `n` lacks now. Blocks of uploads
/// Garage refused (no write quorum) can sit on one node unreferenced until
/// its GC removes them; nobody copies those, so a resync check leaves the
/// ones present before the outage aside.
fn lacking_now(n: &str) -> anyhow::Result<BTreeSet<String>> {
    let dir = cluster_dir();
    let full = block_files(&dir.join("node1/data"))?;
    let node = block_files(&dir.join(format!("node{n}/data")))?;
    Ok(full.difference(&node).cloned().collect())
}

/// The cluster's state dir, as `scripts/s3-dev cluster env` exported it.
fn cluster_dir() -> PathBuf {
    std::env::var_os("FEEDLAB_S3_CLUSTER_DIR")
        .map_or_else(|| "/tmp/feedlab-s3-cluster".into(), PathBuf::from)
}

/// The hashes of the block files under a Garage data dir (two levels of
/// fan-out directories; a compressed block ends in `.zst`).
fn block_files(data: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for a in std::fs::read_dir(data).with_context(|| format!("{}", data.display()))? {
        let a = a?.path();
        if !a.is_dir() {
            continue;
        }
        for b in std::fs::read_dir(&a)? {
            for f in std::fs::read_dir(b?.path())? {
                let name = f?.file_name().to_string_lossy().into_owned();
                let hash = name.trim_end_matches(".zst");
                if hash.len() == 64 && hash.bytes().all(|c| c.is_ascii_hexdigit()) {
                    out.insert(hash.to_owned());
                }
            }
        }
    }
    Ok(out)
}

/// Force a full table sync on every node, then poll until node `n` holds
/// what node 1 holds, but for the `known` blocks (60 s at most; Garage
/// fetches a newly referenced block it lacks `2 × rpc_timeout_msec` after
/// the reference arrives). Returns how many blocks node `n` lacked before,
/// and how long catching up took.
async fn resync(n: &str, known: &BTreeSet<String>) -> anyhow::Result<(usize, Duration)> {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(60);
    let (full, node) = both_stats(n, deadline).await?;
    let behind = node.lacking(&full, known);
    while let Err(e) = cluster(&["garage", "1", "repair", "-a", "--yes", "tables"]) {
        ensure!(Instant::now() < deadline, "repair tables: {e:#}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    loop {
        let (full, node) = both_stats(n, deadline).await?;
        if node.caught_up_with(&full, known) {
            return Ok((behind, t0.elapsed()));
        }
        ensure!(
            Instant::now() < deadline,
            "node {n} has not caught up with node 1 after 60 s: tables {:?} vs {:?}, \
             {} resync errors, {} of node 1's blocks missing",
            node.items,
            full.items,
            node.resync_errors,
            node.lacking(&full, known)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The stats of node 1 and node `n`, retried until `deadline`: right after
/// a revive the node is not yet connected to the others, and `garage stats`
/// needs a quorum.
async fn both_stats(n: &str, deadline: Instant) -> anyhow::Result<(NodeStats, NodeStats)> {
    loop {
        match NodeStats::of("1").and_then(|full| Ok((full, NodeStats::of(n)?))) {
            Ok(both) => return Ok(both),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

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
