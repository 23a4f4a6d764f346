//! Live runs against an external deployment (`target.write-url`): users
//! and follows are created through the HTTP API, and the service's own
//! counters are read from its Prometheus `/metrics` before and after.
//!
//! What cannot be observed from outside is reported as such: storage bytes
//! are 0 with `storage.measured = false`, and no historical photos are
//! loaded (feeds start empty and fill during the run).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use feedlab_system::shards::ShardLoad;
use feedlab_workload::{Endpoint, FollowerIndex, HttpConfig, HttpTarget, UserDirectory, Workload};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::measure::Snapshot;
use super::seed::{Seeded, bar};
use crate::spec::RunSpec;
use crate::summary::Summary;

/// Concurrent requests while seeding.
const SEED_CONCURRENCY: usize = 64;

/// A run against `target.write-url`: seed over HTTP, counters from `/metrics`.
pub(super) async fn drive(spec: &RunSpec, vdir: &Path) -> anyhow::Result<Summary> {
    let workload = super::workload(spec).await?;
    let (target, seeded) = seed(spec, &workload).await?;
    let base = spec.target.write_url.clone().unwrap_or_default();
    super::warmup::run(spec, &workload, target.clone()).await?;
    let before = scrape(&base).await?;
    let (stats, _) = super::drive_ops(spec, &workload, &seeded, target, None).await?;
    crate::hlogs::save(vdir, &stats)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = scrape(&base).await?;
    let run_loads = super::measure::load_delta(&before.loads, &after.loads);
    let mut s = super::contract::summary(&super::contract::Measured {
        spec,
        seeded: &seeded,
        population: workload.graph().population(),
        stats: &stats,
        before: &before,
        after: &after,
        run_loads: &run_loads,
        timeline: (0, 0),
        transport: "external",
        work: None,
        faults: &[],
        side_uploads: 0,
    });
    s.storage.measured = Some(false);
    Ok(s)
}

/// Parse `feedlab_timeline_writes_total` and the `feedlab_shard_ops_total` counters.
pub fn parse_metrics(text: &str) -> Snapshot {
    let mut snap = Snapshot {
        timeline_writes: 0,
        loads: Vec::new(),
        meta_bytes: 0,
        timeline_rows: 0,
        timeline_bytes: 0,
        blob_bytes: 0,
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let v = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        if name == "feedlab_timeline_writes_total" {
            snap.timeline_writes = v;
        } else if let Some(labels) = name.strip_prefix("feedlab_shard_ops_total{") {
            let label = |k: &str| {
                labels
                    .split(',')
                    .find_map(|p| p.trim_end_matches('}').strip_prefix(&format!("{k}=\"")))
                    .map(|s| s.trim_end_matches('"').to_string())
            };
            let (Some(shard), Some(kind)) = (label("shard"), label("kind")) else {
                continue;
            };
            let Ok(shard) = shard.parse::<usize>() else {
                continue;
            };
            if snap.loads.len() <= shard {
                snap.loads.resize_with(shard + 1, ShardLoad::default);
                for (i, l) in snap.loads.iter_mut().enumerate() {
                    l.shard = i;
                }
            }
            let l = &mut snap.loads[shard];
            match kind.as_str() {
                "read" => l.reads = v,
                "scan" => l.scans = v,
                "write" => l.writes = v,
                "wait_us" => l.wait_us = v,
                _ => {}
            }
        }
    }
    snap
}

/// Scrape `base/metrics`.
pub async fn scrape(base: &str) -> anyhow::Result<Snapshot> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("GET {base}/metrics"))?
        .text()
        .await?;
    Ok(parse_metrics(&text))
}

/// Create users `0..n` (`user{i}`, `user{i}@feedlab.test`) through the API,
/// at most `slots` requests at a time; the first failure ends the loading.
async fn create_users(
    target: &Arc<HttpTarget>,
    n: u64,
    slots: &Arc<Semaphore>,
) -> anyhow::Result<()> {
    let pb = bar(n, "users");
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (t, permit) = (target.clone(), slots.clone().acquire_owned().await?);
        tasks.spawn(async move {
            let r = t
                .create_user(i, &format!("user{i}"), &format!("user{i}@feedlab.test"))
                .await;
            drop(permit);
            r
        });
        while let Some(r) = tasks.try_join_next() {
            r?.map_err(|e| anyhow::anyhow!("creating a user: {e}"))?;
            pb.inc(1);
        }
    }
    while let Some(r) = tasks.join_next().await {
        r?.map_err(|e| anyhow::anyhow!("creating a user: {e}"))?;
        pb.inc(1);
    }
    pb.finish();
    Ok(())
}

/// Create every `(follower, leader)` edge through the API as the follower
/// (both must be in `users`), at most `slots` requests at a time; the first
/// failure ends the loading. Returns the follows created.
async fn follow_all(
    target: &Arc<HttpTarget>,
    users: &UserDirectory,
    edges: &[(u64, u64)],
    slots: &Arc<Semaphore>,
) -> anyhow::Result<u64> {
    let pb = bar(edges.len() as u64, "follows");
    let mut follows = 0u64;
    let mut tasks = JoinSet::new();
    for &(f, l) in edges {
        let (fa, la) = (
            users.get(f).context("user missing")?,
            users.get(l).context("user missing")?,
        );
        let (t, permit) = (target.clone(), slots.clone().acquire_owned().await?);
        tasks.spawn(async move {
            let r = t
                .call(Endpoint::Follow(fa.id.clone(), la.id), Some(&fa.token))
                .await
                .map(|_| ());
            drop(permit);
            r
        });
        while let Some(r) = tasks.try_join_next() {
            r?.map_err(|e| anyhow::anyhow!("following: {e}"))?;
            follows += 1;
            pb.inc(1);
        }
    }
    while let Some(r) = tasks.join_next().await {
        r?.map_err(|e| anyhow::anyhow!("following: {e}"))?;
        follows += 1;
        pb.inc(1);
    }
    pb.finish();
    Ok(follows)
}

/// Create the scaled population's users and follows through the API.
pub async fn seed(
    spec: &RunSpec,
    workload: &Workload,
) -> anyhow::Result<(Arc<HttpTarget>, Seeded)> {
    let t0 = std::time::Instant::now();
    let write = spec.target.write_url.clone().context("no write url")?;
    let read = spec
        .target
        .read_url
        .clone()
        .unwrap_or_else(|| write.clone());
    let users = Arc::new(UserDirectory::new());
    let mut cfg = HttpConfig::new(write, read);
    cfg.view_bytes = Some(spec.driver.view_bytes).filter(|&n| n > 0);
    let target = Arc::new(HttpTarget::new(cfg, users.clone())?);
    let n = workload.graph().users();
    let slots = Arc::new(Semaphore::new(SEED_CONCURRENCY));
    create_users(&target, n, &slots).await?;
    let edges: Vec<(u64, u64)> = workload.graph().edges().collect();
    let t_follow = std::time::Instant::now();
    let follows = follow_all(&target, &users, &edges, &slots).await?;
    let follows_per_s = follows as f64 / t_follow.elapsed().as_secs_f64().max(1e-9);
    let mut in_degree = vec![0u64; n as usize];
    for &(_, l) in &edges {
        in_degree[l as usize] += 1;
    }
    let seeded = Seeded {
        ids: (0..n).collect(),
        tokens: Vec::new(),
        follows,
        in_degree,
        index: FollowerIndex::from_edges(n, edges),
        history_photos: 0,
        known_photos: Vec::new(),
        follows_per_s,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((target, seeded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_text_gives_timeline_writes_and_shard_loads() {
        let text = "# HELP x\nfeedlab_timeline_writes_total 42\n\
                    feedlab_shard_ops_total{kind=\"read\",shard=\"1\"} 7\n\
                    feedlab_shard_ops_total{kind=\"write\",shard=\"0\"} 3\n\
                    feedlab_shard_ops_total{kind=\"scan\",shard=\"1\"} 2\n\
                    feedlab_uploads_total 5\n";
        let s = parse_metrics(text);
        assert_eq!(s.timeline_writes, 42);
        assert_eq!(s.loads.len(), 2);
        assert_eq!((s.loads[0].shard, s.loads[0].writes), (0, 3));
        assert_eq!((s.loads[1].reads, s.loads[1].scans), (7, 2));
    }
}
