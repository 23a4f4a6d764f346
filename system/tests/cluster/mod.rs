//! The 3-node Garage of `scripts/s3-dev cluster`, as `s3_cluster.rs` drives
//! it: the script wrapper, the S3 settings for a test, and what "a revived
//! node has caught up" means (its table counts and block files against node
//! 1's).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use feedlab_system::service::S3Config;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/s3-dev");

/// The service's S3 request timeout with two nodes down: an upload against
/// a lost quorum must be refused within about this long, not hang.
pub const S3_TIMEOUT_S: u64 = 5;

/// The S3 request timeout with one node down. Garage may hold the first
/// request after a kill for several seconds (about 6 s seen here) until it
/// notices the broken connection; the quorum still acknowledges it.
pub const S3_TIMEOUT_ONE_DOWN_S: u64 = 20;

/// One test at a time kills and revives nodes.
pub static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The S3 settings for one test (requests time out after `timeout_s`), or
/// `None` (skip) without a cluster.
pub fn cluster_s3(test: &str, timeout_s: u64) -> Option<S3Config> {
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
        prefix: crate::common::unique_prefix(test),
        timeout_s,
        ..S3Config::default()
    })
}

/// `scripts/s3-dev cluster ARGS...`; its stdout. The script's log lines
/// go to the test's stderr; the garage CLI's errors (`cluster garage`) only
/// into the returned error, as callers poll through them.
pub fn cluster(args: &[&str]) -> anyhow::Result<String> {
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
pub struct Whole;

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
pub struct NodeStats {
    /// Items of the object, version and block_ref tables.
    pub items: BTreeMap<String, u64>,
    /// Blocks whose resync failed (for failure messages only: a block of an
    /// upload Garage refused may be referenced on one node and exist on
    /// none, and its fetch fails until the reference is collected).
    pub resync_errors: u64,
    /// The hashes of the block files on disk.
    pub blocks: BTreeSet<String>,
}

impl NodeStats {
    /// `scripts/s3-dev cluster garage N stats`, parsed, and the block files
    /// of node N (`$FEEDLAB_S3_CLUSTER_DIR/nodeN/data/ab/cd/<hash>[.zst]`).
    pub fn of(node: &str) -> anyhow::Result<NodeStats> {
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
    pub fn lacking(&self, full: &NodeStats, known: &BTreeSet<String>) -> usize {
        full.blocks
            .iter()
            .filter(|b| !self.blocks.contains(*b) && !known.contains(*b))
            .count()
    }

    /// Holds everything `full` holds: the same table items and every block
    /// but the `known` ones.
    pub fn caught_up_with(&self, full: &NodeStats, known: &BTreeSet<String>) -> bool {
        self.items == full.items && self.lacking(full, known) == 0
    }
}

/// The block files node 1 holds and node `n` lacks now. Blocks of uploads
/// Garage refused (no write quorum) can sit on one node unreferenced until
/// its GC removes them; nobody copies those, so a resync check leaves the
/// ones present before the outage aside.
pub fn lacking_now(n: &str) -> anyhow::Result<BTreeSet<String>> {
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
/// what node 1 holds, but for the `known` blocks (120 s at most; Garage
/// fetches a newly referenced block it lacks `2 × rpc_timeout_msec` after
/// the reference arrives). Returns how many blocks node `n` lacked before,
/// and how long catching up took.
pub async fn resync(n: &str, known: &BTreeSet<String>) -> anyhow::Result<(usize, Duration)> {
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(120);
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
        if node.resync_errors > 0 {
            // A block whose fetch failed waits out a backoff before its next try; ask for it
            // now (what an operator does with `garage block retry-now`).
            let _ = cluster(&["garage", n, "block", "retry-now", "--all"]);
        }
        ensure!(
            Instant::now() < deadline,
            "node {n} has not caught up with node 1 after 120 s: tables {:?} vs {:?}, \
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
