//! The checker on a real embedded service: uploads acknowledged through the ledger's target
//! read back and are listed, the ledger's deletes hold; and each invariant fails when broken
//! behind the service's back (a blob deleted, a wrong digest remembered, a delete that was
//! never made).

use std::time::Duration;

use feedlab_system::ServiceConfig;
use feedlab_system::blob::BlobKey;
use feedlab_system::policy::FanoutKind;
use feedlab_workload::OpKind;

use super::checks::Checker;
use super::*;
use crate::run::DirectTarget;
use crate::spec::faults::FaultAction;
use crate::summary::Invariant;

async fn service(dir: &std::path::Path) -> Service {
    let mut cfg = ServiceConfig {
        data_dir: dir.to_path_buf(),
        ..ServiceConfig::default()
    };
    cfg.fanout.kind = FanoutKind::Push;
    cfg.sharding.shards = 2;
    Service::open_embedded(cfg).await.expect("service opens")
}

fn upload(seq: u64, at_s: u64, user: u64) -> PlannedOp {
    PlannedOp {
        seq,
        at: Duration::from_secs(at_s),
        kind: OpKind::Upload,
        user,
        payload: Payload::Upload(UploadSpec {
            bytes: 3_000,
            video: false,
            title: format!("sunset{seq} beach"),
            content_seed: seq,
        }),
    }
}

/// A service with two users (user 1 follows user 0), a ledger whose deletes fall due at 8 s,
/// and six uploads by user 0 acknowledged through the ledger's target at 0..6 s, then a feed
/// read at 8 s that starts the deletes.
async fn run(dir: &std::path::Path) -> (Service, Arc<Ledger>) {
    let svc = service(dir).await;
    let a = svc.create_user("a", "a@x.test").await.expect("user").id;
    let b = svc.create_user("b", "b@x.test").await.expect("user").id;
    svc.follow(b, b, a).await.expect("follow");
    let plan = [Fault {
        action: FaultAction::MaterializerPause,
        at_s: 10.0,
        for_s: 2.0,
    }];
    assert_eq!(delete_time(&plan), Some(8.0));
    let ledger = Ledger::new(svc.clone(), vec![a, b], 7, &plan);
    let target = ledger.wrap(Arc::new(DirectTarget::new(svc.clone(), vec![a, b])));
    for seq in 0..6 {
        target.execute(&upload(seq, seq, 0)).await.expect("upload");
    }
    let read = PlannedOp {
        seq: 6,
        at: Duration::from_secs(8),
        kind: OpKind::Feed,
        user: 1,
        payload: Payload::Feed { limit: 10 },
    };
    target.execute(&read).await.expect("feed");
    svc.drain().await;
    (svc, ledger)
}

/// The one acknowledged upload the ledger did not delete.
fn kept(ledger: &Ledger) -> Acked {
    let s = ledger.lock();
    let mut live = s.acked.iter().filter(|a| !s.deleted.contains(a));
    live.next().cloned().expect("one upload kept")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_uploads_and_deletes_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, ledger) = run(dir.path()).await;
    let inv = ledger.check().await;
    assert!(inv.held, "{:?}", inv.violations);
    assert_eq!(inv.uploads_acknowledged, 6);
    assert_eq!(inv.deletes, DELETES as u64);
    assert_eq!(inv.uploads_checked, 1, "the undeleted one");
    assert_eq!(inv.uploads_selection, "all");
    assert_eq!(inv.deleted_at_s, Some(8.0));
    assert_eq!(inv.users_sampled, 2);
    assert!(inv.searches >= 1 && inv.delete_readers == 2, "{inv:?}");
    assert!(inv.entries_checked >= 4, "{inv:?}");
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_lost_behind_the_service_breaks_readback_and_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, ledger) = run(dir.path()).await;
    ledger.check().await;
    let kept = kept(&ledger);
    let row = svc.photo(kept.photo).await.expect("row");
    let key = BlobKey::parse(&row.blob).expect("key");
    svc.blobs().delete(&key).await.expect("blob deleted");
    let inv = ledger.check().await;
    assert!(!inv.held);
    let broke = |i| inv.violations.iter().any(|v| v.invariant == i);
    assert!(broke(Invariant::Readback), "{:?}", inv.violations);
    assert!(broke(Invariant::Dangling), "{:?}", inv.violations);
    assert!(!broke(Invariant::Deleted), "{:?}", inv.violations);
    let line = inv.failure().expect("a failure line");
    assert!(line.contains(&format!("photo {}", kept.photo.0)), "{line}");
    svc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_digest_or_an_undone_delete_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (svc, ledger) = run(dir.path()).await;
    ledger.check().await;
    let mut acked = ledger.lock().acked.clone();
    let last = acked
        .iter()
        .position(|a| *a == kept(&ledger))
        .expect("kept");
    acked[last].digest[0] ^= 1;
    let deleted = ledger.lock().deleted.clone();
    let inv = Checker::new(&svc, &ledger.ids, 7)
        .run(&acked, &deleted)
        .await;
    let only = |inv: &Invariants, i| inv.violations.iter().all(|v| v.invariant == i);
    assert_eq!(inv.violations.len(), 1, "{:?}", inv.violations);
    assert!(only(&inv, Invariant::Readback), "{:?}", inv.violations);
    // Claim the undeleted upload was deleted: it still reads and is listed.
    let claimed = [acked[last].clone()];
    let inv = Checker::new(&svc, &ledger.ids, 7).run(&[], &claimed).await;
    assert!(!inv.held);
    assert!(only(&inv, Invariant::Deleted), "{:?}", inv.violations);
    let seen = |what: &str| inv.violations.iter().any(|v| v.detail.contains(what));
    assert!(seen("still reads") && seen("photo list") && seen("feed of user"));
    svc.shutdown().await;
}
