//! Invariants of a live run with `[[faults]]`: what the driver had acknowledged must still
//! hold once the faults are lifted (the checks and their bounds are in [`checks`]; the typed
//! result is [`crate::summary::Invariants`]).
//!
//! [`Ledger::wrap`] puts a [`Target`] in front of the driver's target that remembers, for
//! every acknowledged upload, its photo id, owner, title, and the length and BLAKE3 digest
//! of the bytes sent (the body is rebuilt from the op's [`UploadSpec`], which fixes it). The
//! workload has no delete op, so the ledger deletes a few acknowledged photos itself: when
//! the driver starts the first op intended at or after [`delete_time`] (before the last fault
//! window), a task deletes up to [`DELETES`] of the uploads acknowledged so far, picked by a
//! seeded hash of their op sequence numbers, retrying a delete that found a shard down.
//! [`Ledger::check`] waits for that task and runs the checks on the service directly (after
//! the driver and the fan-out are done, before the service stops).

mod checks;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use feedlab_system::id::PhotoId;
use feedlab_system::policy::UserId;
use feedlab_system::{Error, Service};
use feedlab_workload::hash::mix;
use feedlab_workload::{OpError, OpOutcome, Payload, PlannedOp, Target, UploadSpec, upload_body};
use tokio::task::JoinHandle;

use crate::spec::faults::Fault;
use crate::summary::Invariants;

/// Photos the ledger deletes during a run (fewer when fewer uploads were acknowledged).
pub const DELETES: usize = 5;

/// Hash stream of the checker's seeded choices (deletes, samples).
const STREAM: u64 = 0x1a7e_c4ec;

/// Attempts per delete (a down shard answers `unavailable` until its window ends).
const DELETE_ATTEMPTS: u32 = 20;

/// One acknowledged upload as the driver sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// Position of the upload op in the stream (the seeded choices hash it).
    pub seq: u64,
    /// The photo id the service acknowledged.
    pub photo: PhotoId,
    /// The service user who uploaded it.
    pub owner: UserId,
    /// Its title.
    pub title: String,
    /// Bytes sent.
    pub len: u64,
    /// BLAKE3 of the bytes sent.
    pub digest: [u8; 32],
}

impl Acked {
    /// The record of `spec`'s body acknowledged as `photo` for `owner`.
    pub fn of(seq: u64, photo: PhotoId, owner: UserId, spec: &UploadSpec) -> Acked {
        let body = upload_body(spec);
        Acked {
            seq,
            photo,
            owner,
            title: spec.title.clone(),
            len: body.len() as u64,
            digest: *blake3::hash(&body).as_bytes(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    acked: Vec<Acked>,
    deleted: Vec<Acked>,
    deleted_at: Option<f64>,
}

/// What a live fault run acknowledged, and the checker's own deletes; see the module docs.
pub struct Ledger {
    svc: Service,
    ids: Vec<UserId>,
    seed: u64,
    delete_at: Option<Duration>,
    state: Mutex<State>,
    delete_due: AtomicBool,
    delete_task: Mutex<Option<JoinHandle<()>>>,
}

/// When the ledger deletes, s on the driver's clock: 2 s before the last fault window starts,
/// or half-way to it when it starts before 4 s; `None` without faults.
pub fn delete_time(plan: &[Fault]) -> Option<f64> {
    let last = plan.iter().map(|f| f.at_s).reduce(f64::max)?;
    Some((last - 2.0).max(last / 2.0))
}

impl Ledger {
    /// A ledger for a run on `svc` whose population user `i` is service user `ids[i]`, its
    /// choices seeded by `seed`, deleting before the last window of `plan`.
    pub fn new(svc: Service, ids: Vec<UserId>, seed: u64, plan: &[Fault]) -> Arc<Ledger> {
        Arc::new(Ledger {
            svc,
            ids,
            seed,
            delete_at: delete_time(plan).map(Duration::from_secs_f64),
            state: Mutex::new(State::default()),
            delete_due: AtomicBool::new(false),
            delete_task: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `target` with this ledger remembering its acknowledged uploads and deleting on time.
    pub fn wrap(self: &Arc<Self>, target: Arc<dyn Target>) -> Arc<dyn Target> {
        Arc::new(Remembering {
            inner: target,
            ledger: self.clone(),
        })
    }

    /// Records an acknowledged upload.
    pub fn ack(&self, acked: Acked) {
        self.lock().acked.push(acked);
    }

    /// The hash that orders the checker's seeded choices of `id`.
    fn pick(&self, id: u64) -> u64 {
        mix(self.seed, STREAM, id)
    }

    /// Starts the deletes once `at` (an op's intended start) reaches the delete time.
    fn tick(self: &Arc<Self>, at: Duration) {
        let due = self.delete_at.is_some_and(|d| at >= d);
        if !due || self.delete_due.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = self.clone();
        let task = tokio::spawn(async move { me.delete_some(at).await });
        *self.delete_task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// Deletes up to [`DELETES`] of the uploads acknowledged so far (see the module docs).
    async fn delete_some(&self, at: Duration) {
        let mut picks = self.lock().acked.clone();
        picks.sort_by_key(|a| (self.pick(a.seq), a.seq));
        picks.truncate(DELETES);
        for a in picks {
            for attempt in 1..=DELETE_ATTEMPTS {
                match self.svc.delete_photo(a.owner, a.photo).await {
                    Ok(()) => {
                        self.lock().deleted.push(a);
                        break;
                    }
                    Err(Error::Unavailable(_)) if attempt < DELETE_ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                    Err(e) => {
                        tracing::warn!(photo = a.photo.0, error = %e, "checker delete refused");
                        break;
                    }
                }
            }
        }
        self.lock().deleted_at = Some(at.as_secs_f64());
    }

    /// Waits for the deletes, then checks every invariant on the service (see [`checks`]).
    pub async fn check(&self) -> Invariants {
        let task = self
            .delete_task
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(t) = task
            && let Err(e) = t.await
        {
            tracing::warn!(error = %e, "checker delete task failed");
        }
        let (acked, deleted, deleted_at) = {
            let s = self.lock();
            (s.acked.clone(), s.deleted.clone(), s.deleted_at)
        };
        let mut inv = checks::Checker::new(&self.svc, &self.ids, self.seed)
            .run(&acked, &deleted)
            .await;
        inv.deleted_at_s = deleted_at;
        inv
    }
}

/// The driver's target behind a [`Ledger`].
struct Remembering {
    inner: Arc<dyn Target>,
    ledger: Arc<Ledger>,
}

#[async_trait]
impl Target for Remembering {
    async fn execute(&self, op: &PlannedOp) -> Result<OpOutcome, OpError> {
        self.ledger.tick(op.at);
        let out = self.inner.execute(op).await;
        if let (Ok(o), Payload::Upload(spec)) = (&out, &op.payload) {
            let photo = o.id.as_deref().and_then(|s| s.parse::<u64>().ok());
            let owner = self.ledger.ids.get(op.user as usize).copied();
            if let (Some(photo), Some(owner)) = (photo, owner) {
                self.ledger
                    .ack(Acked::of(op.seq, PhotoId(photo), owner, spec));
            }
        }
        out
    }

    async fn probe_visible(
        &self,
        upload: &PlannedOp,
        outcome: &OpOutcome,
        follower: u64,
    ) -> Result<bool, OpError> {
        self.inner.probe_visible(upload, outcome, follower).await
    }
}
