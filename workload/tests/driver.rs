//! Driver tests: coordinated omission is corrected, drops and errors are counted, freshness
//! probes measure ack → visible.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use feedlab_workload::{
    Driver, DriverConfig, FreshnessProbe, OpError, OpKind, OpOutcome, Payload, PlannedOp, Target,
    UploadSpec,
};
use hdrhistogram::Histogram;
use tokio::sync::RwLock;
use tokio::time::Instant;

fn feed_op(seq: u64, at: Duration) -> PlannedOp {
    PlannedOp {
        seq,
        at,
        kind: OpKind::Feed,
        user: seq % 100,
        payload: Payload::Feed { limit: 20 },
    }
}

/// Answers in about 1 ms, except while a stall holds the write lock: then every request waits.
struct Stalling {
    gate: RwLock<()>,
}

#[async_trait]
impl Target for Stalling {
    async fn execute(&self, _op: &PlannedOp) -> Result<OpOutcome, OpError> {
        let _pass = self.gate.read().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(OpOutcome::default())
    }
}

/// One 1 s stall of all requests in a 10 s run at 1,000 ops/s: the open-loop driver reports a
/// p99 of at least 500 ms (the ~1,000 ops scheduled during the stall waited up to 1 s), while a
/// closed-loop client on the same target at the same time reports a p99 ten times lower, because
/// it sent only one request during the stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sees_the_stall_closed_loop_hides_it() {
    let target = Arc::new(Stalling {
        gate: RwLock::new(()),
    });
    let run = Duration::from_secs(10);
    let ops: Vec<PlannedOp> = (0..10_000u64)
        .map(|i| feed_op(i, Duration::from_millis(i)))
        .collect();

    let staller = {
        let target = target.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _hold = target.gate.write().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
    };
    let closed = {
        let target = target.clone();
        tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3).expect("histogram");
            let end = Instant::now() + run;
            let op = feed_op(0, Duration::ZERO);
            while Instant::now() < end {
                let sent = Instant::now();
                target.execute(&op).await.expect("fake target succeeds");
                h.record(sent.elapsed().as_micros() as u64)
                    .expect("in range");
            }
            h
        })
    };
    let cfg = DriverConfig {
        max_in_flight: 5_000,
        duration: Some(run),
        ..DriverConfig::default()
    };
    let stats = Driver::run(ops, target.clone(), cfg).await;
    let closed = closed.await.expect("closed loop");
    staller.await.expect("staller");

    let open = stats.summary(OpKind::Feed);
    eprintln!(
        "open loop: {open:?}; closed loop: n={} p99={} us",
        closed.len(),
        closed.value_at_quantile(0.99)
    );
    assert_eq!(open.count + open.errors + open.dropped, 10_000);
    assert_eq!(open.dropped, 0);
    assert!(open.p99_ms >= 500.0, "open-loop p99 {} ms", open.p99_ms);
    let closed_p99_ms = closed.value_at_quantile(0.99) as f64 / 1_000.0;
    assert!(
        closed.len() > 1_000,
        "closed loop ran {} requests",
        closed.len()
    );
    assert!(
        closed_p99_ms < open.p99_ms / 10.0,
        "closed p99 {closed_p99_ms} vs open {}",
        open.p99_ms
    );
    assert!(closed_p99_ms < 50.0, "closed p99 {closed_p99_ms}");
    let stall_second: Vec<_> = stats.series().iter().filter(|p| p.second == 5).collect();
    assert!(
        stall_second.iter().any(|p| p.p99_ms >= 500.0),
        "{stall_second:?}"
    );
}

/// Fails every third op, takes 50 ms per op, and makes uploads visible 30 ms after the ack.
struct Flaky {
    calls: AtomicU64,
    acked: std::sync::Mutex<std::collections::HashMap<String, Instant>>,
}

#[async_trait]
impl Target for Flaky {
    async fn execute(&self, op: &PlannedOp) -> Result<OpOutcome, OpError> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if self.calls.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
            return Err(OpError::new("http_503", "overloaded"));
        }
        let id = format!("p{}", op.seq);
        self.acked
            .lock()
            .expect("lock")
            .insert(id.clone(), Instant::now());
        Ok(OpOutcome {
            id: Some(id),
            bytes: 0,
        })
    }

    async fn probe_visible(
        &self,
        _upload: &PlannedOp,
        outcome: &OpOutcome,
        _follower: u64,
    ) -> Result<bool, OpError> {
        let id = outcome.id.clone().unwrap_or_default();
        let acked = self.acked.lock().expect("lock").get(&id).copied();
        Ok(acked.is_some_and(|t| t.elapsed() >= Duration::from_millis(30)))
    }
}

/// With 4 slots and 50 ms ops at 200 ops/s, about 3 in 5 ops are dropped; every op is
/// accounted for as a success, an error (by code), a drop or a shed 503; and probed uploads
/// become visible about 30 ms after their ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_errors_and_freshness_are_accounted() {
    let target = Arc::new(Flaky {
        calls: AtomicU64::new(0),
        acked: Default::default(),
    });
    let ops: Vec<PlannedOp> = (0..200u64)
        .map(|i| PlannedOp {
            seq: i,
            at: Duration::from_millis(i * 5),
            kind: OpKind::Upload,
            user: 1,
            payload: Payload::Upload(UploadSpec {
                bytes: 10,
                video: false,
                title: "baba".into(),
                content_seed: i,
            }),
        })
        .collect();
    let progress_calls = Arc::new(AtomicU64::new(0));
    let counter = progress_calls.clone();
    let cfg = DriverConfig {
        max_in_flight: 4,
        freshness: Some(FreshnessProbe {
            fraction: 1.0,
            seed: 1,
            poll_every: Duration::from_millis(5),
            timeout: Duration::from_secs(2),
            follower_of: Arc::new(|_uploader, _pick| Some(2)),
        }),
        progress: Some(Arc::new(move |_p| {
            counter.fetch_add(1, Ordering::Relaxed);
        })),
        progress_every: Duration::from_millis(200),
        ..DriverConfig::default()
    };
    let stats = Driver::run(ops, target, cfg).await;
    let s = stats.summary(OpKind::Upload);
    assert_eq!(s.count + s.errors + s.dropped + s.shed, 200, "{s:?}");
    assert!(s.dropped > 60 && s.dropped < 180, "{s:?}");
    // The target's failures are 503s: counted as shed, not as errors.
    assert_eq!(stats.kind(OpKind::Upload).errors.get("http_503"), None);
    assert_eq!(s.errors, 0, "{s:?}");
    assert!(s.shed > 0, "{s:?}");
    let f = stats.freshness_summary();
    assert_eq!(f.probed, s.count);
    assert_eq!(f.visible + f.timeouts, f.probed);
    assert!(f.freshness_p50_ms >= 29.0, "{f:?}");
    assert!(progress_calls.load(Ordering::Relaxed) >= 2);
}

struct Plain;

#[async_trait]
impl Target for Plain {
    async fn execute(&self, _op: &PlannedOp) -> Result<OpOutcome, OpError> {
        Ok(OpOutcome::default())
    }
}

/// A target without probe support is reported as such, not as a timeout.
#[tokio::test]
async fn probing_an_unsupported_target_is_reported() {
    let ops: Vec<PlannedOp> = (0..5u64)
        .map(|i| PlannedOp {
            seq: i,
            at: Duration::from_millis(i),
            kind: OpKind::Upload,
            user: 1,
            payload: Payload::Feed { limit: 1 },
        })
        .collect();
    let cfg = DriverConfig {
        freshness: Some(FreshnessProbe {
            fraction: 1.0,
            seed: 1,
            poll_every: Duration::from_millis(5),
            timeout: Duration::from_secs(1),
            follower_of: Arc::new(|_, _| Some(0)),
        }),
        ..DriverConfig::default()
    };
    let stats = Driver::run(ops, Arc::new(Plain), cfg).await;
    assert_eq!(stats.freshness.unsupported, 5);
    assert_eq!(stats.freshness.timeouts, 0);
    assert_eq!(stats.summary(OpKind::Upload).count, 5);
}

/// Takes 70 ms per op.
struct Slow70;

#[async_trait]
impl Target for Slow70 {
    async fn execute(&self, _op: &PlannedOp) -> Result<OpOutcome, OpError> {
        tokio::time::sleep(Duration::from_millis(70)).await;
        Ok(OpOutcome::default())
    }
}

/// One slot, 70 ms ops due every 50 ms for 1 s: an op that finds the slot busy waits for it
/// until the next op is due, so the slot never idles and about 1000 / 70 = 14 ops complete,
/// where dropping at once would leave it idle 30 ms in every 100 and complete only every other
/// op (10). The rest are dropped, and the wait counts in the latency, which is measured from
/// the intended start. (Lower bounds only: a slow machine cannot make them fail.)
#[tokio::test]
async fn a_freed_slot_is_used_by_the_waiting_op() {
    let ops: Vec<PlannedOp> = (0..20u64)
        .map(|i| feed_op(i, Duration::from_millis(50 * i)))
        .collect();
    let cfg = DriverConfig {
        max_in_flight: 1,
        ..DriverConfig::default()
    };
    let stats = Driver::run(ops, Arc::new(Slow70), cfg).await;
    let s = stats.summary(OpKind::Feed);
    assert_eq!(s.count + s.errors + s.dropped, 20, "{s:?}");
    assert_eq!(s.errors, 0, "{s:?}");
    assert!(s.count >= 12, "the slot idled: {s:?}");
    assert!(s.max_ms >= 85.0, "waiting is not in the latency: {s:?}");
}
