//! The follow half of the crash test: followers that keep following and
//! unfollowing one leader while the server is killed, the feed checks of
//! their backfills and purges, and the final counter recount.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use feedlab_system::meta::{Direction, FjallStore, KeyRange, MetaStore};
use feedlab_system::tables::{self, UserStats};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Server, User};

/// Last acknowledged state of each toggled follow edge, by follower index:
/// `Some(following)`, or `None` when the last request got no answer.
pub type Edges = Arc<Mutex<BTreeMap<usize, Option<bool>>>>;

/// Follow or unfollow `leader` as one of `followers` at random until the
/// server dies, recording each acknowledged state.
pub async fn toggler(
    http: reqwest::Client,
    url: String,
    followers: Vec<(usize, User)>,
    leader: u64,
    seed: u64,
    edges: Edges,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        let (i, u) = &followers[rng.random_range(0..followers.len())];
        let on = rng.random_bool(0.5);
        let req = format!("{url}/v1/users/{}/following/{leader}", u.id);
        let req = if on { http.put(req) } else { http.delete(req) };
        let acked = matches!(req.bearer_auth(&u.token).send().await, Ok(r) if r.status() == 200);
        edges.lock().expect("lock").insert(*i, acked.then_some(on));
        if !acked {
            return; // the server died mid-request
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(2..30))).await;
    }
}

/// `(id, owner)` of the items of `user`'s feed (newest 100).
async fn feed_items(
    http: &reqwest::Client,
    s: &Server,
    user: &User,
) -> anyhow::Result<Vec<(u64, u64)>> {
    let feed: serde_json::Value = http
        .get(format!("{}/v1/feed?limit=100", s.read))
        .bearer_auth(&user.token)
        .send()
        .await?
        .json()
        .await?;
    Ok(feed["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| Some((i["id"].as_str()?.parse().ok()?, i["owner"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default())
}

/// Wait (up to 30 s) until each toggled follower's feed holds all of the
/// leader's photos if its last acknowledged request was a follow, and none
/// if it was an unfollow. Returns the states checked (follower index,
/// following), and fails if there were none.
pub async fn verify_follows(
    http: &reqwest::Client,
    s: &Server,
    users: &[User],
    leader: (u64, &[u64]),
    edges: &Edges,
) -> anyhow::Result<Vec<(usize, bool)>> {
    let snapshot = edges.lock().expect("lock").clone();
    let mut checked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for (&i, &state) in &snapshot {
        let Some(on) = state else { continue };
        checked.push((i, on));
        loop {
            let items = feed_items(http, s, &users[i]).await?;
            let of_leader: Vec<u64> = items
                .iter()
                .filter(|(_, o)| *o == leader.0)
                .map(|(id, _)| *id)
                .collect();
            let ok = if on {
                leader.1.iter().all(|p| of_leader.contains(p))
            } else {
                of_leader.is_empty()
            };
            if ok {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "user {} {} the leader, but the feed holds {} of its {} photos",
                    users[i].id,
                    if on { "follows" } else { "unfollowed" },
                    of_leader.len(),
                    leader.1.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    anyhow::ensure!(!checked.is_empty(), "no follow request was acknowledged");
    Ok(checked)
}

/// Stop the server with SIGTERM (it drains its queues), then check every
/// user's stored counters against a recount of the rows on the shards.
pub async fn check_counters(mut s: Server, data: &Path, users: &[User]) -> anyhow::Result<()> {
    let pid = s.child.id().to_string();
    let st = Command::new("kill").args(["-TERM", &pid]).status()?;
    anyhow::ensure!(st.success(), "kill -TERM {pid} failed");
    s.child.wait()?;
    drop(s);
    {
        let mut shards = Vec::new();
        for i in 0..4 {
            let path = data.join("meta").join(format!("shard-{i:03}"));
            shards.push(FjallStore::open(&path)?);
        }
        let count = |prefix: Vec<u8>| {
            let shards = &shards;
            async move {
                let mut n = 0;
                for sh in shards {
                    n += sh
                        .scan(&KeyRange::prefix(&prefix), Direction::Forward, usize::MAX)
                        .await?
                        .len() as u64;
                }
                anyhow::Ok(n)
            }
        };
        for u in users {
            let mut stats = None;
            for sh in &shards {
                if let Some(b) = sh.get(&tables::stats(u.id)).await? {
                    stats = Some(tables::decode::<UserStats>(&b)?);
                }
            }
            let st = stats.context("stats row")?;
            let want = (
                count(tables::followers_prefix(u.id)).await?,
                count(tables::follows_prefix(u.id)).await?,
                count(tables::user_photos_prefix(u.id)).await?,
            );
            anyhow::ensure!(
                (st.followers, st.following, st.posts) == want,
                "user {}: counters (followers, following, posts) = {:?}, recount {want:?}",
                u.id,
                (st.followers, st.following, st.posts)
            );
        }
        anyhow::Ok(())
    }
}
