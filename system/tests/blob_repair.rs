//! Replica repair while serving: a read repairs the copy it had to skip,
//! the background scrub repairs what no read touches, clients never see an
//! error; a blob with no good copy left answers `data_lost` and is listed,
//! with its photo, by the on-demand scrub of the data directory.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use feedlab_system::blob::{BlobKey, LocalBlobStore};
use feedlab_system::id::PhotoId;
use tower::ServiceExt;

fn local(env: &Env) -> &LocalBlobStore {
    env.svc.blobs().as_local().expect("local blob store")
}

async fn key_of(env: &Env, photo: &str) -> anyhow::Result<BlobKey> {
    let row = env.svc.photo(PhotoId(photo.parse()?)).await?;
    Ok(BlobKey::parse(&row.blob)?)
}

/// Flip one byte of the data region of a replica file.
fn flip(path: &std::path::Path, at: usize) -> anyhow::Result<()> {
    let mut b = std::fs::read(path)?;
    b[at] ^= 0x20;
    std::fs::write(path, b)?;
    Ok(())
}

/// Poll `cond` every 50 ms for up to 30 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Upload 12 distinct 40 kB PNGs as `a`; returns each photo's id and bytes.
async fn upload_photos(env: &Env, a: &User) -> Vec<(String, Vec<u8>)> {
    let mut photos = Vec::new();
    for i in 0..12 {
        let mut body = patterned_png(40_000);
        body[100] = i;
        photos.push((
            pid(&upload(env, a, "p", "image/png", body.clone()).await),
            body,
        ));
    }
    photos
}

/// Client load running against the read router while replicas are repaired.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Four readers cycling through photo reads of `ids` and `a`'s feed,
    /// counting successful and failed answers.
    fn start(env: &Arc<Env>, a: &User, ids: Vec<String>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let mut tasks = Vec::new();
        for t in 0..4 {
            let (env, stop, ok, failed) = (env.clone(), stop.clone(), ok.clone(), failed.clone());
            let ids = ids.clone();
            let tok = a.token.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = t;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let r = if n % 3 == 0 {
                        call(&env.read, get("/v1/feed", Some(&tok))).await
                    } else {
                        call(
                            &env.read,
                            get(&format!("/v1/photos/{}", ids[n % ids.len()]), None),
                        )
                        .await
                    };
                    let c = if r.status.is_success() { &ok } else { &failed };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        Load {
            stop,
            ok,
            failed,
            tasks,
        }
    }

    /// Stop the readers; asserts none of their requests failed and that
    /// some succeeded.
    async fn finish(self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await?;
        }
        assert_eq!(
            self.failed.load(Ordering::Relaxed),
            0,
            "client errors under repair"
        );
        assert!(self.ok.load(Ordering::Relaxed) > 0, "the load ran");
        Ok(())
    }
}

/// The store's integrity counters show at least two bad and two repaired
/// copies and no lost blob, and `/metrics` reports at least two of each in
/// `feedlab_blob_upkeep_total`.
async fn check_upkeep_counted(env: &Env) -> anyhow::Result<()> {
    let i = local(env).integrity();
    assert!(i.bad_copies >= 2 && i.repaired_copies >= 2, "{i:?}");
    assert_eq!(i.lost_blobs, 0, "{i:?}");
    let m = call(&env.read, get("/metrics", None)).await;
    let text = String::from_utf8_lossy(&m.expect(StatusCode::OK).body).into_owned();
    for kind in ["bad_copies", "repaired_copies"] {
        let line = text
            .lines()
            .find(|l| l.starts_with("feedlab_blob_upkeep_total{") && l.contains(kind))
            .unwrap_or_else(|| panic!("no {kind} in /metrics"));
        let v: u64 = line.rsplit(' ').next().unwrap_or("").parse()?;
        assert!(v >= 2, "{line}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_repair_and_background_scrub_under_load() -> anyhow::Result<()> {
    let env = Arc::new(
        env_with(|c| {
            c.scrub_pass_s = 1;
            c.scrub_rate = 64 << 20;
        })
        .await?,
    );
    if test_blob_is_s3() {
        return Ok(());
    }
    let a = create_user(&env, "alice").await;
    let photos = upload_photos(&env, &a).await;
    let (p1, p2) = (photos[0].clone(), photos[1].clone());
    let (k1, k2) = (key_of(&env, &p1.0).await?, key_of(&env, &p2.0).await?);

    // Load: readers of every photo but p2 (left to the scrub), and feeds.
    let ids: Vec<String> = photos.iter().skip(2).map(|p| p.0.clone()).collect();
    let load = Load::start(&env, &a, ids);

    flip(&local(&env).replica_path(0, &k1), 5_000)?;
    std::fs::remove_file(local(&env).replica_path(1, &k2))?;

    // A read of p1 answers the right bytes from replica 1 and repairs 0.
    let r = call(&env.read, get(&format!("/v1/photos/{}", p1.0), None)).await;
    assert_eq!(r.expect(StatusCode::OK).body.as_ref(), p1.1.as_slice());
    let r0 = local(&env).replica_path(0, &k1);
    eventually("read repair of p1", || {
        std::fs::read(&r0).is_ok_and(|b| b[..p1.1.len()] == p1.1[..])
    })
    .await;
    // Nothing reads p2: the background scrub puts its copy back.
    let r1 = local(&env).replica_path(1, &k2);
    eventually("scrub repair of p2", || r1.exists()).await;
    let r = call(&env.read, get(&format!("/v1/photos/{}", p2.0), None)).await;
    assert_eq!(r.expect(StatusCode::OK).body.as_ref(), p2.1.as_slice());

    load.finish().await?;
    check_upkeep_counted(&env).await
}

#[tokio::test]
async fn a_blob_with_no_good_copy_is_data_lost_and_listed_by_scrub() -> anyhow::Result<()> {
    let env = env_with(|c| c.scrub_pass_s = 0).await?;
    if test_blob_is_s3() {
        return Ok(());
    }
    let a = create_user(&env, "alice").await;
    let kept = pid(&upload_png(&env, &a, "kept", 30_000, 1).await);
    let lost = pid(&upload_png(&env, &a, "lost", 30_000, 2).await);
    let key = key_of(&env, &lost).await?;
    flip(&local(&env).replica_path(0, &key), 100)?;
    std::fs::remove_file(local(&env).replica_path(1, &key))?;
    let res = env
        .read
        .clone()
        .oneshot(get(&format!("/v1/photos/{lost}"), None))
        .await?;
    let (parts, body) = res.into_parts();
    let r = Resp {
        status: parts.status,
        headers: parts.headers,
        body: axum::body::to_bytes(body, 1 << 20).await?,
    };
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error_shape(&r);
    assert_eq!(r.json()["code"], "data_lost");
    assert!(r.json()["message"].as_str().unwrap_or("").contains(&lost));
    call(&env.read, get(&format!("/v1/photos/{kept}"), None))
        .await
        .expect(StatusCode::OK);

    let dir = env.dir.path().to_path_buf();
    env.svc.shutdown().await;
    let Env {
        svc,
        write,
        read,
        dir: _keep,
    } = env;
    drop((svc, write, read));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = feedlab_system::service::scrub::scrub_data_dir(&dir).await?;
    assert_eq!(done.report.unrecoverable, 1);
    assert_eq!(done.report.lost, vec![key.clone()]);
    assert_eq!(done.lost_photos, vec![(key, vec![PhotoId(lost.parse()?)])]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_repair_never_resurrects_a_deleted_blob() -> anyhow::Result<()> {
    use feedlab_system::blob::BlobStore;
    let dir = tempfile::tempdir()?;
    let store = LocalBlobStore::open(dir.path(), 2)?;
    for round in 0..20u8 {
        let data = bytes::Bytes::from(vec![round; 150_000]);
        let key = BlobKey::of(&data);
        store.put(&key, data.clone()).await?;
        std::fs::remove_file(store.replica_path(round as usize % 2, &key))?;
        assert!(store.get(&key, None).await? == data);
        store.delete(&key).await?;
        eventually("repairs to settle", || store.repairs_pending() == 0).await;
        for r in 0..2 {
            assert!(
                !store.replica_path(r, &key).exists(),
                "round {round}: replica {r} came back"
            );
        }
    }
    // Without the delete, the same read brings the copy back.
    let data = bytes::Bytes::from(vec![7u8; 150_000]);
    let key = BlobKey::of(&data);
    store.put(&key, data.clone()).await?;
    std::fs::remove_file(store.replica_path(0, &key))?;
    assert!(store.get(&key, Some(10..20)).await? == data.slice(10..20));
    let r0 = store.replica_path(0, &key);
    eventually("read repair", || {
        r0.exists() && store.repairs_pending() == 0
    })
    .await;
    assert!(store.integrity().repaired_copies >= 1);
    Ok(())
}
