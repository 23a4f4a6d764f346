//! `blob-outage` with `how = "delete-replica"` or `"corrupt-replica"`: at the window's start,
//! replica 0's copy of a bounded sample of the stored photos is deleted or corrupted
//! ([`feedlab_system::faults::damage_replica`]: the first [`SAMPLE`] blobs in key order);
//! after the run the report says how many were damaged, how many bad copies reads found and
//! repaired meanwhile (the local store's integrity counters), how many were deleted since
//! (their photo was deleted), and how many of the rest could not be read back with the right
//! bytes (zero while the other replica holds).

use std::sync::Arc;

use feedlab_system::blob::{BlobStore, Integrity};
use feedlab_system::faults::{Damage, ReplicaDamage, damage_replica, readable};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::summary::Extra;

/// Most blobs one damage window touches.
pub const SAMPLE: usize = 100;

/// A damage started at its window's start; read by [`Damaging::report`] after the run.
pub struct Damaging {
    blobs: Arc<dyn BlobStore>,
    task: JoinHandle<feedlab_system::Result<(Damage, Integrity)>>,
}

/// What one damage window did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DamageReport {
    /// The replica damaged.
    pub replica: usize,
    /// Copies deleted or corrupted.
    pub damaged: u64,
    /// Bad or missing copies reads and scrubs found from the damage to the end of the run.
    pub found: u64,
    /// Copies rewritten from a good one meanwhile.
    pub repaired: u64,
    /// Damaged blobs deleted since (their photo was deleted): not counted as unreadable.
    pub deleted: u64,
    /// Damaged blobs still stored but not readable with the right bytes after the run.
    pub unreadable: u64,
    /// Why nothing was damaged, if so.
    pub error: Option<String>,
}

impl DamageReport {
    /// The fields the summary's fault entry gets.
    pub fn extra(&self) -> Extra {
        let mut v = json!({
            "replica": self.replica,
            "damaged": self.damaged,
            "bad_copies_found": self.found,
            "repaired": self.repaired,
            "deleted_since": self.deleted,
            "unreadable_after": self.unreadable,
        });
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        v.as_object().cloned().unwrap_or_default()
    }
}

fn integrity(blobs: &dyn BlobStore) -> Integrity {
    blobs.as_local().map(|l| l.integrity()).unwrap_or_default()
}

impl Damaging {
    /// Starts damaging `blobs` as `how` says, now.
    pub fn start(blobs: Arc<dyn BlobStore>, how: ReplicaDamage) -> Damaging {
        let b = blobs.clone();
        let task = tokio::spawn(async move {
            let before = integrity(&*b);
            let damage = damage_replica(&*b, how, SAMPLE).await?;
            tracing::info!(damaged = damage.keys.len(), ?how, "blob replica damaged");
            Ok((damage, before))
        });
        Damaging { blobs, task }
    }

    /// What the damage did, read after the run (the read-back check runs last).
    pub async fn report(self) -> DamageReport {
        let (damage, before) = match self.task.await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return failed(e.to_string()),
            Err(e) => return failed(format!("the damage task failed: {e}")),
        };
        let after = integrity(&*self.blobs);
        let back = readable(&*self.blobs, &damage.keys).await;
        DamageReport {
            replica: damage.replica,
            damaged: damage.keys.len() as u64,
            found: after.bad_copies.saturating_sub(before.bad_copies),
            repaired: after.repaired_copies.saturating_sub(before.repaired_copies),
            deleted: back.gone as u64,
            unreadable: damage.keys.len().saturating_sub(back.ok + back.gone) as u64,
            error: None,
        }
    }
}

fn failed(error: String) -> DamageReport {
    tracing::warn!(%error, "blob replica damage not applied");
    DamageReport {
        error: Some(error),
        ..DamageReport::default()
    }
}
