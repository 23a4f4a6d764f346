//! Two app servers minting photo ids over the same metadata store, under
//! both id schemes, on fjall (and on TiKV when `FEEDLAB_TIKV_PD` is set;
//! otherwise each TiKV test prints that it was skipped).
//!
//! Scale, chosen to fit CI in a debug build: 100,000 photo rows (50,000 per
//! service, concurrently) go through each scheme's id source and the
//! put-if-absent row write directly; 400 uploads (200 per service) go
//! through the full upload path. TiKV runs 5,000 rows.

mod pair;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use feedlab_system::Service;
use feedlab_system::id::{Clock, EPOCH_MS, IdGenerator, PhotoId};
use feedlab_system::ids::ticket::{TicketOptions, ticket_id};
use feedlab_system::ids::{IdScheme, IdSource, NodeIds, TicketIds, conformance as id_conformance};
use feedlab_system::meta::{MetaStore, conformance};
use feedlab_system::service::media::sample_body;
use feedlab_system::tables::{self, PhotoRow};
use pair::Stores;

fn row(owner: u64, i: usize) -> PhotoRow {
    PhotoRow {
        id: PhotoId(0),
        owner,
        title: format!("p{i}"),
        content_type: "image/png".into(),
        size: 1,
        blob: "x".into(),
        created_ms: 0,
    }
}

/// `n` photo rows per service, written concurrently by both through
/// `insert_photo_row`; then every row is checked present and intact.
async fn rows_are_unique(stores: &Stores, ids: IdScheme, n: usize) {
    let cfg = pair::config(stores, ids);
    let (a, b) = pair::pair(stores, &cfg).await;
    let tasks: Vec<_> = [(a.clone(), 1u64), (b.clone(), 2u64)]
        .into_iter()
        .flat_map(|(svc, owner)| {
            (0..8).map(move |t| {
                let svc = svc.clone();
                tokio::spawn(async move {
                    let mut out = Vec::with_capacity(n / 8);
                    for i in (t..n).step_by(8) {
                        // A few logical shards, so ids crowd each other.
                        let logical = (i % 4) as u16;
                        let r = svc.insert_photo_row(logical, row(owner, i)).await;
                        out.push(r.expect("insert photo row").id);
                    }
                    out
                })
            })
        })
        .collect();
    let mut minted = Vec::new();
    for t in tasks {
        minted.extend(t.await.expect("task"));
    }
    let distinct: HashSet<PhotoId> = minted.iter().copied().collect();
    let stored = pair::rows(&stores.metas, b"P").await;
    let collisions = a.metrics().id_collisions.get() + b.metrics().id_collisions.get();
    eprintln!(
        "{}: {} rows minted, {} distinct ids, {} rows stored, {collisions} collisions retried",
        ids.name(),
        minted.len(),
        distinct.len(),
        stored.len()
    );
    assert_eq!(minted.len(), 2 * n);
    assert_eq!(distinct.len(), 2 * n, "duplicate ids");
    assert_eq!(stored.len(), 2 * n, "rows overwritten or lost");
    for (k, v) in &stored {
        let r: PhotoRow = tables::decode(v).expect("row");
        assert_eq!(tables::photo(r.id), *k, "row stored under another id");
    }
    assert_eq!(collisions, 0, "disjoint schemes should never collide");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_thousand_rows_two_services_node_ids() {
    rows_are_unique(&pair::fjall(true), IdScheme::Node, 50_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_thousand_rows_two_services_ticket_ids() {
    rows_are_unique(&pair::fjall(true), IdScheme::Ticket, 50_000).await;
}

/// 200 uploads per service through the full path, concurrently; every
/// photo reads back through the other service.
async fn uploads_are_unique(stores: &Stores, ids: IdScheme) {
    let cfg = pair::config(stores, ids);
    let (a, b) = pair::pair(stores, &cfg).await;
    let owner = a.create_user("o", "o@x.test").await.expect("user").id;
    let up = |svc: Service, k: u8| {
        tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..200usize {
                let body = Bytes::from(sample_body("image/png", 200 + i, k));
                let title = format!("u{k} {i}");
                let r = svc.upload(owner, &title, Some("image/png"), body).await;
                out.push(r.expect("upload").id);
            }
            out
        })
    };
    let (ta, tb) = (up(a.clone(), 1), up(b.clone(), 2));
    let (ia, ib) = (ta.await.expect("a"), tb.await.expect("b"));
    let all: HashSet<PhotoId> = ia.iter().chain(&ib).copied().collect();
    assert_eq!(all.len(), 400, "duplicate ids across the two services");
    for &pid in &ia {
        b.photo(pid).await.expect("a's photo through b");
    }
    for &pid in &ib {
        a.photo(pid).await.expect("b's photo through a");
    }
    a.drain().await;
    b.drain().await;
    let listed = a.user_photo_ids(owner, 1000, None).await.expect("list");
    assert_eq!(listed.len(), 400);
    // `posts` counts each photo once, except that a recovered fan-out task recounts it from
    // the author's rows, uploads not yet counted included (see `plan_fanout`): on a loaded
    // machine it can run over by the tasks then unapplied, at most a batch (64) per server.
    let posts = a.stats(owner).await.expect("stats").posts;
    assert!((400..=400 + 2 * 64).contains(&posts), "posts {posts}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_uploads_two_services_both_schemes() {
    for ids in [IdScheme::Node, IdScheme::Ticket] {
        uploads_are_unique(&pair::fjall(false), ids).await;
    }
}

fn frozen(at: u64) -> Clock {
    let t = Arc::new(AtomicU64::new(at));
    Arc::new(move || t.load(Ordering::SeqCst))
}

/// Two services forced to mint the same id (same node number, same frozen
/// millisecond, same sequence): the second photo row is refused and
/// retried under a fresh id; the first photo is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_collision_is_refused_and_retried() {
    let stores = pair::fjall(false);
    let cfg = pair::config(&stores, IdScheme::Node);
    let open = |instance: u64| {
        let ids: Arc<dyn IdSource> = Arc::new(NodeIds::unleased(IdGenerator::for_node(
            5,
            frozen(EPOCH_MS + 1_000_000),
        )));
        Service::with_stores_and_ids(
            cfg.clone(),
            stores.metas.clone(),
            stores.blobs.clone(),
            ids,
            instance,
        )
    };
    let (a, b) = (open(1).await.expect("a"), open(2).await.expect("b"));
    let owner = a.create_user("o", "o@x.test").await.expect("user").id;
    let body = |k: u8| Bytes::from(sample_body("image/png", 300, k));
    let first = a
        .upload(owner, "first", Some("image/png"), body(1))
        .await
        .expect("first");
    let second = b
        .upload(owner, "second", Some("image/png"), body(2))
        .await
        .expect("second");
    assert_eq!(b.metrics().id_collisions.get(), 1, "b's first id was taken");
    assert_eq!(a.metrics().id_collisions.get(), 0);
    assert_ne!(first.id, second.id);
    assert_eq!((first.id.ms(), first.id.seq()), (1_000_000, 5 << 6));
    assert_eq!(
        second.id,
        PhotoId(first.id.0 + 1),
        "retried with the next id"
    );
    let fresh = pair::pair(&stores, &cfg).await.0;
    assert_eq!(fresh.photo(first.id).await.expect("first").title, "first");
    assert_eq!(
        fresh.photo(second.id).await.expect("second").title,
        "second"
    );
}

/// Allocator 0's store dies mid-run: uploads go on, from allocator 1 only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_a_ticket_allocator_does_not_stop_uploads() {
    let stores = pair::fjall(false);
    let cfg = pair::config(&stores, IdScheme::Ticket);
    let dying = pair::Killable::new(stores.metas[0].clone(), None);
    let opts = TicketOptions {
        block: 8,
        ..TicketOptions::default()
    };
    let allocators: Vec<Arc<dyn MetaStore>> = vec![dying.clone(), stores.metas[1].clone()];
    let clock: Clock = Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    });
    let ids = Arc::new(TicketIds::new(allocators, opts, clock).expect("tickets"));
    let svc = Service::with_stores_and_ids(cfg, stores.metas.clone(), stores.blobs.clone(), ids, 7)
        .await
        .expect("service");
    let owner = svc.create_user("o", "o@x.test").await.expect("user").id;
    let mut parity = Vec::new();
    for i in 0..240usize {
        if i == 80 {
            dying.kill();
        }
        let body = Bytes::from(sample_body("image/png", 100 + i, 3));
        let r = svc.upload(owner, "t", Some("image/png"), body).await;
        let id = r
            .unwrap_or_else(|e| panic!("upload {i} failed after the kill: {e}"))
            .id;
        let ticket = (id.ms() << 10) | u64::from(id.seq());
        assert_eq!(ticket_id(ticket, id.shard()), id);
        parity.push(ticket % 2);
    }
    assert!(
        parity[..80].contains(&0) && parity[..80].contains(&1),
        "both allocators served"
    );
    // Allocator 0 hands out at most its block in hand after the kill.
    assert!(
        parity[120..].iter().all(|&p| p == 1),
        "only allocator 1 serves once 0 is dead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tikv_pair_ids_and_conformance_when_cluster_given() {
    for ids in [IdScheme::Node, IdScheme::Ticket] {
        // A fresh namespace per scheme, so each counts only its own rows.
        let Some(stores) = pair::tikv("two_services_ids").await else {
            return;
        };
        for m in &stores.metas {
            conformance::test_suite_in(m.clone(), b"\xfe-conformance/").await;
        }
        rows_are_unique(&stores, ids, 2_500).await;
        uploads_are_unique(&stores, ids).await;
        id_sources_conform(&stores).await;
    }
}

/// The `IdSource` suite on two sources per scheme over one store.
async fn id_sources_conform(stores: &Stores) {
    for ids in [IdScheme::Node, IdScheme::Ticket] {
        let cfg = pair::config(stores, ids);
        let (a, b) = pair::pair(stores, &cfg).await;
        id_conformance::test_suite(a.ids().clone(), b.ids().clone()).await;
        a.shutdown().await;
        b.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fjall_id_sources_pass_the_id_conformance_suite() {
    id_sources_conform(&pair::fjall(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fjall_pair_handles_pass_the_meta_conformance_suite() {
    let stores = pair::fjall(false);
    let cfg = pair::config(&stores, IdScheme::Node);
    let (a, b) = pair::pair(&stores, &cfg).await;
    // The suite runs on the very handles both services hold, while they run.
    for m in &stores.metas {
        conformance::test_suite_in(m.clone(), b"\xfe-conformance/").await;
    }
    let owner = a.create_user("o", "o@x.test").await.expect("user").id;
    let p = b
        .upload(
            owner,
            "x",
            Some("image/png"),
            Bytes::from(sample_body("image/png", 64, 9)),
        )
        .await
        .expect("upload");
    assert_eq!(a.photo(p.id).await.expect("read via a").owner, owner);
}
