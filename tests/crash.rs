//! Crash safety of `feedlab serve`: kill -9 at random points while uploads
//! stream in, restart, and check that every acknowledged upload reads back
//! byte-identical, that no feed or search entry points at a missing photo,
//! and that the fan-out of acknowledged uploads is not lost (the outbox
//! replays it after the restart). Followers keep following and unfollowing
//! a leader meanwhile: after each restart every acknowledged follow's
//! backfill and every acknowledged unfollow's purge shows in the feed, and
//! after a clean stop every user's counters match a recount of the rows.
//!
//! With `FEEDLAB_TEST_BLOB=s3` the server runs with `--blob s3` against the
//! `FEEDLAB_S3_*` server (`scripts/s3-dev start`), under a key prefix unique
//! to this run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;

#[path = "crash/follows.rs"]
mod follows;
#[path = "crash/setup.rs"]
mod setup;

use follows::{Edges, check_counters, toggler, verify_follows};
use setup::{leader_photos, register};

const SEED: u64 = 0x5eed;
const CYCLES: usize = 6;

struct Server {
    child: Child,
    write: String,
    read: String,
}

impl Drop for Server {
    // A failing assertion must not leave a server running (it would also
    // hold the test runner's output pipe open).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The S3 key prefix of this run when `FEEDLAB_TEST_BLOB=s3`, else `None`.
fn s3_prefix() -> Option<&'static str> {
    static PREFIX: OnceLock<Option<String>> = OnceLock::new();
    PREFIX
        .get_or_init(|| {
            if std::env::var("FEEDLAB_TEST_BLOB").as_deref() != Ok("s3") {
                return None;
            }
            assert!(
                std::env::var("FEEDLAB_S3_ENDPOINT").is_ok_and(|v| !v.is_empty()),
                "FEEDLAB_TEST_BLOB=s3 needs FEEDLAB_S3_ENDPOINT (run scripts/s3-dev start)"
            );
            let ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            Some(format!("t/crash/{}-{ns}/", std::process::id()))
        })
        .as_deref()
}

fn start(data: &Path) -> anyhow::Result<Server> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedlab"));
    cmd.args(["serve", "--data"])
        .arg(data)
        .args(["--write-addr", "127.0.0.1:0", "--read-addr", "127.0.0.1:0"])
        .args(["--fanout", "push", "--shards", "4"])
        // Most bodies (1–120 KB) go through the spool and `put_file`.
        .args(["--upload-memory-bytes", "16384"]);
    if let Some(prefix) = s3_prefix() {
        cmd.args(["--blob", "s3"]).env("FEEDLAB_S3_PREFIX", prefix);
    }
    cmd.env("RUST_LOG", "warn");
    let (child, write, read) = common::serve::spawn(cmd)?;
    Ok(Server { child, write, read })
}

/// A well-formed PNG (the service checks the structure) around random bytes.
fn body(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = rng.random_range(1_000..120_000);
    let (mut v, tail) = feedlab_system::service::media::sample_frame("image/png", len);
    let fill = len.saturating_sub(v.len() + tail.len());
    v.extend((0..fill).map(|_| rng.random::<u8>()));
    v.extend_from_slice(&tail);
    v
}

#[derive(Clone)]
struct User {
    id: u64,
    token: String,
}

type Acked = Arc<Mutex<BTreeMap<String, (u64, Vec<u8>)>>>;

async fn uploader(http: reqwest::Client, url: String, user: User, seed: u64, acked: Acked) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in 0.. {
        let data = body(&mut rng);
        let res = http
            .post(format!("{url}/v1/photos?title=crash%20u{}%20n{i}", user.id))
            .bearer_auth(&user.token)
            .header("content-type", "image/png")
            .body(data.clone())
            .send()
            .await;
        match res {
            Ok(r) if r.status() == 201 => {
                let Ok(v) = r.json::<serde_json::Value>().await else {
                    return;
                };
                let id = v["id"].as_str().unwrap_or_default().to_owned();
                acked.lock().expect("lock").insert(id, (user.id, data));
            }
            _ => return, // the server died mid-request: not acknowledged
        }
    }
}

/// Acknowledged uploads read back at once after a restart.
const READ_BACK_AT_ONCE: usize = 8;

/// The bytes photo `id` answers with; an error naming its status and JSON error body if
/// it does not answer 200.
async fn photo(http: &reqwest::Client, s: &Server, id: &str) -> anyhow::Result<bytes::Bytes> {
    let r = http
        .get(format!("{}/v1/photos/{id}", s.read))
        .send()
        .await?;
    let status = r.status();
    if status != 200 {
        bail!(
            "photo {id} answers {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
    Ok(r.bytes().await?)
}

/// Acknowledged photo `id` answers 200 with exactly `data`.
async fn read_back(
    http: &reqwest::Client,
    s: &Server,
    id: &str,
    data: &[u8],
) -> anyhow::Result<()> {
    let got = photo(http, s, id)
        .await
        .context("an acknowledged upload after restart")?;
    if got.as_ref() != data {
        bail!("acknowledged photo {id} reads back different bytes");
    }
    Ok(())
}

async fn verify(
    http: &reqwest::Client,
    s: &Server,
    users: &[User],
    acked: &Acked,
) -> anyhow::Result<()> {
    let snapshot = acked.lock().expect("lock").clone();
    // Read back READ_BACK_AT_ONCE at a time: one by one, the read-back of every upload
    // acknowledged so far grew to half a minute a cycle on S3.
    futures::stream::iter(&snapshot)
        .map(|(id, (_, data))| read_back(http, s, id, data))
        .buffer_unordered(READ_BACK_AT_ONCE)
        .try_collect::<()>()
        .await?;
    let mut listed = Vec::new();
    for u in users {
        let feed: serde_json::Value = http
            .get(format!("{}/v1/feed?limit=100", s.read))
            .bearer_auth(&u.token)
            .send()
            .await?
            .json()
            .await?;
        listed.extend(feed["items"].as_array().cloned().unwrap_or_default());
    }
    let search: serde_json::Value = http
        .get(format!("{}/v1/search?q=crash&limit=100", s.read))
        .send()
        .await?
        .json()
        .await?;
    listed.extend(search["items"].as_array().cloned().unwrap_or_default());
    for item in listed {
        let id = item["id"].as_str().context("item id")?;
        photo(http, s, id)
            .await
            .context("listed by a feed or search after restart")?;
    }
    Ok(())
}

/// What the crash cycles share: the client, the data directory, the users, the
/// leader's photo ids, and the acknowledged follow states and uploads.
struct Lab<'a> {
    http: reqwest::Client,
    data: &'a Path,
    users: Vec<User>,
    leader_photos: Vec<u64>,
    edges: Edges,
    acked: Acked,
}

/// One crash cycle: users 0..3 upload and users 4..7 follow and unfollow the leader
/// until `s` is killed with SIGKILL after a random 150–900 ms. The server then
/// restarts on the same data, and [`verify`] (acknowledged uploads read back
/// byte-identical, no feed or search entry points at a missing photo) and
/// [`verify_follows`] (acknowledged backfills and purges show) must pass.
async fn crash_cycle(
    lab: &Lab<'_>,
    mut s: Server,
    cycle: usize,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Server> {
    let (http, users) = (&lab.http, &lab.users);
    let toggling = tokio::spawn(toggler(
        http.clone(),
        s.write.clone(),
        (4..7).map(|i| (i, users[i].clone())).collect(),
        users[3].id,
        SEED ^ (cycle as u64 + 1000),
        lab.edges.clone(),
    ));
    let tasks: Vec<_> = users[..3]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let seed = SEED ^ ((cycle * 10 + i) as u64);
            tokio::spawn(uploader(
                http.clone(),
                s.write.clone(),
                u.clone(),
                seed,
                lab.acked.clone(),
            ))
        })
        .collect();
    let before = lab.acked.lock().expect("lock").len();
    tokio::time::sleep(Duration::from_millis(rng.random_range(150..900))).await;
    s.child.kill()?; // SIGKILL
    s.child.wait()?;
    drop(s);
    for t in tasks {
        t.await?;
    }
    toggling.await?;
    let after = lab.acked.lock().expect("lock").len();
    eprintln!(
        "cycle {cycle}: {} uploads acknowledged before kill -9 (seed {SEED})",
        after - before
    );
    let s = start(lab.data)?;
    verify(http, &s, &users[..3], &lab.acked)
        .await
        .with_context(|| format!("cycle {cycle}, seed {SEED}"))?;
    let checked = verify_follows(
        http,
        &s,
        users,
        (users[3].id, &lab.leader_photos),
        &lab.edges,
    )
    .await
    .with_context(|| format!("follows, cycle {cycle}, seed {SEED}"))?;
    eprintln!("cycle {cycle}: follow states checked after restart: {checked:?}");
    Ok(s)
}

/// Fan-out of every acknowledged upload by user 0 reaches user 1's feed
/// within 30 s (replayed from the outbox after each kill). The feed holds the
/// newest 100 of user 0's photos, which may include uploads that were
/// committed but whose response the kill swallowed; so every acknowledged
/// upload at least as new as the feed's oldest entry must be in it.
async fn verify_fanout(lab: &Lab<'_>, s: &Server) -> anyhow::Result<()> {
    let (http, users) = (&lab.http, &lab.users);
    let want: Vec<u64> = lab
        .acked
        .lock()
        .expect("lock")
        .iter()
        .filter(|(_, (owner, _))| *owner == users[0].id)
        .filter_map(|(id, _)| id.parse().ok())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let feed: serde_json::Value = http
            .get(format!("{}/v1/feed?limit=100", s.read))
            .bearer_auth(&users[1].token)
            .send()
            .await?
            .json()
            .await?;
        let have: Vec<u64> = feed["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["id"].as_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let floor = if have.len() < 100 {
            0
        } else {
            have.iter().copied().min().unwrap_or(0)
        };
        let missing: Vec<u64> = want
            .iter()
            .copied()
            .filter(|w| *w >= floor && !have.contains(w))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} acknowledged uploads never reached a follower's feed, e.g. {} (seed {SEED})",
                missing.len(),
                missing[0]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_uploads_survive_kill_9() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let http = reqwest::Client::new();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    eprintln!(
        "crash test with blob = {}",
        if s3_prefix().is_some() { "s3" } else { "local" }
    );
    let mut s = start(dir.path())?;
    // 0..3 upload and follow each other; 3 is a leader with a fixed set of
    // photos; 4..7 keep following and unfollowing it.
    let users = register(&http, &s).await?;
    let leader_photos = leader_photos(&http, &s, &users[3], &mut rng).await?;
    let lab = Lab {
        http,
        data: dir.path(),
        users,
        leader_photos,
        edges: Arc::default(),
        acked: Arc::default(),
    };
    for cycle in 0..CYCLES {
        s = crash_cycle(&lab, s, cycle, &mut rng).await?;
    }
    let total = lab.acked.lock().expect("lock").len();
    assert!(
        total >= CYCLES,
        "too few uploads acknowledged ({total}) to test anything"
    );
    verify_fanout(&lab, &s).await?;
    check_counters(s, dir.path(), &lab.users).await
}
