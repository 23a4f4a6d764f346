//! Two app servers sharing the outboxes: every task is applied by exactly
//! one of them, and a task whose owner died mid-way is completed by the
//! other. On fjall, and on TiKV when `FEEDLAB_TIKV_PD` is set (otherwise
//! the TiKV test prints that it was skipped).

mod pair;

use std::sync::Arc;
use std::time::{Duration, Instant};

use feedlab_system::ids::IdScheme;
use feedlab_system::meta::{MetaStore, WriteBatch};
use feedlab_system::service::media::sample_body;
use feedlab_system::tables;
use feedlab_system::{Service, ServiceConfig};
use pair::{Killable, Stores};

/// Rows written straight into the outbox with no claim.
const TASKS: u64 = 300;

async fn wait_outbox_empty(stores: &Stores) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = pair::rows(&stores.metas, &tables::outbox_prefix()).await;
        let q = pair::rows(&stores.metas, &tables::edge_work_prefix()).await;
        if o.is_empty() && q.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} + {} outbox rows left",
            o.len(),
            q.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Both sweepers race for the same unclaimed rows; each row is applied once.
async fn each_task_applied_once(stores: &Stores) {
    let cfg = pair::config(stores, IdScheme::Node);
    let a = Service::with_stores(cfg.clone(), stores.metas.clone(), stores.blobs.clone())
        .await
        .expect("a");
    let author = a.create_user("au", "au@x.test").await.expect("author").id;
    let mut followers = Vec::new();
    for i in 0..3 {
        let f = a
            .create_user("f", &format!("f{i}@x.test"))
            .await
            .expect("f")
            .id;
        a.follow(f, f, author).await.expect("follow");
        followers.push(f);
    }
    a.drain().await;
    // Unclaimed fan-out rows of photos (the rows an older version or a
    // bulk loader leaves), on the shard each photo id maps to.
    let b = Service::with_stores(cfg.clone(), stores.metas.clone(), stores.blobs.clone())
        .await
        .expect("b");
    let before = a.metrics().outbox_applied.get();
    let part = a.shards().partitioner();
    let mut batches: Vec<WriteBatch> = (0..pair::SHARDS).map(|_| WriteBatch::new()).collect();
    for i in 0..TASKS {
        let pid = feedlab_system::id::PhotoId::from_parts(1_000 + i, 7, 0);
        let shard = part.shard_of(feedlab_system::policy::ShardKey::Photo(pid));
        batches[shard].put(tables::outbox(pid), author.to_be_bytes().to_vec());
    }
    for (s, batch) in batches.into_iter().enumerate() {
        stores.metas[s].write(batch).await.expect("write outbox");
    }
    // Both sweep in a tight loop at once: the strongest contention.
    tokio::join!(a.drain(), b.drain());
    wait_outbox_empty(stores).await;
    let (na, nb) = (
        a.metrics().outbox_applied.get() - before,
        b.metrics().outbox_applied.get(),
    );
    eprintln!("{TASKS} shared tasks: a applied {na}, b applied {nb}");
    assert_eq!(na + nb, TASKS, "a task was applied twice (or never)");
    for f in followers {
        let tl = pair::rows(&stores.metas, &tables::timeline_prefix(f)).await;
        assert_eq!(tl.len() as u64, TASKS, "follower {f}'s timeline");
    }
    // Replays recount; the author has no photo rows of its own here.
    a.shutdown().await;
    b.shutdown().await;
}

/// A server dies mid-task (its store fails on the first timeline write) in
/// a follow's backfill and in an upload's fan-out; the live server takes
/// both over once the claims lapse.
async fn dead_owner_is_taken_over(stores: &Stores) {
    let cfg = pair::config(stores, IdScheme::Node);
    let live = Service::with_stores(cfg.clone(), stores.metas.clone(), stores.blobs.clone())
        .await
        .expect("live");
    let author = live.create_user("au", "au@x.test").await.expect("a").id;
    let (x, y) = (
        live.create_user("x", "x@x.test").await.expect("x").id,
        live.create_user("y", "y@x.test").await.expect("y").id,
    );
    live.follow(x, x, author).await.expect("x follows");
    let body = |k: u8| bytes::Bytes::from(sample_body("image/png", 256, k));
    let old = live
        .upload(author, "old", Some("image/png"), body(1))
        .await
        .expect("old");
    live.drain().await;

    let doomed = |cfg: ServiceConfig| async move {
        let metas: Vec<Arc<dyn MetaStore>> = stores
            .metas
            .iter()
            .map(|m| {
                let k: Arc<dyn MetaStore> = Killable::new(m.clone(), Some(b'T'));
                k
            })
            .collect();
        Service::with_stores(cfg, metas, stores.blobs.clone())
            .await
            .expect("doomed")
    };
    // Follow acknowledged, then the backfill dies at its timeline write.
    let d1 = doomed(cfg.clone()).await;
    d1.follow(y, y, author)
        .await
        .expect("y follows via the doomed server");
    // Upload acknowledged, then the fan-out dies at its timeline write.
    let d2 = doomed(cfg.clone()).await;
    let new = d2
        .upload(author, "new", Some("image/png"), body(2))
        .await
        .expect("new");

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ty = live.feed(y, 10).await.expect("y feed");
        let tx = live.feed(x, 10).await.expect("x feed");
        let y_ok = ty.iter().any(|p| p.id == old.id);
        let x_ok = tx.iter().any(|p| p.id == new.id);
        if y_ok && x_ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not taken over: y's backfill {y_ok}, x's fan-out {x_ok}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_outbox_empty(stores).await;
    assert!(
        live.metrics().outbox_claims.get() >= 2,
        "live claimed both rows"
    );
    let s = live.stats(author).await.expect("stats");
    assert_eq!((s.followers, s.posts), (2, 2), "counters after takeover");
    assert_eq!(live.stats(y).await.expect("y").following, 1);
    live.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fjall_shared_outbox_tasks_apply_once() {
    each_task_applied_once(&pair::fjall(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fjall_dead_owners_tasks_are_taken_over() {
    dead_owner_is_taken_over(&pair::fjall(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tikv_shared_outbox_when_cluster_given() {
    let Some(stores) = pair::tikv("two_services_outbox").await else {
        return;
    };
    each_task_applied_once(&stores).await;
    let Some(stores) = pair::tikv("two_services_outbox").await else {
        return;
    };
    dead_owner_is_taken_over(&stores).await;
}
