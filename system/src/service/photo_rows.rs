//! Minting a photo id and writing the photo row only if it is absent.
//!
//! Ids are unique by construction under both id schemes ([`crate::ids`]),
//! but a misconfigured pair of servers (same `--node-id` with leases
//! bypassed, a clock step across a restart, mixed schemes on one store)
//! could still mint one twice. The photo row is therefore written with
//! `cas` from absent: a taken id is counted in `id_collisions_total` and
//! retried with a fresh id, never overwritten.

use super::Service;
use crate::error::{Error, Result};
use crate::meta::CasOutcome;
use crate::policy::ShardKey;
use crate::tables::{self, PhotoRow};

/// Fresh ids tried before an upload gives up.
pub const MAX_ID_ATTEMPTS: usize = 16;

impl Service {
    /// Write `row` under a fresh id in logical shard `logical` (the row's
    /// `id` field is overwritten), only if no row has that id; returns the
    /// row as written. A taken id is retried with another up to
    /// [`MAX_ID_ATTEMPTS`] times ([`Error::Unavailable`] after that).
    pub async fn insert_photo_row(&self, logical: u16, mut row: PhotoRow) -> Result<PhotoRow> {
        for _ in 0..MAX_ID_ATTEMPTS {
            row.id = self.inner.ids.next(logical).await?;
            let shard = self.inner.shards.of(ShardKey::Photo(row.id));
            let bytes = tables::encode(&row)?;
            match shard.cas(&tables::photo(row.id), None, Some(bytes)).await? {
                CasOutcome::Swapped => return Ok(row),
                CasOutcome::Mismatch(_) => {
                    self.inner.metrics.id_collisions.inc();
                    tracing::warn!(id = row.id.0, "photo id already taken; minting another");
                }
            }
        }
        Err(Error::Unavailable(format!(
            "{MAX_ID_ATTEMPTS} fresh photo ids in a row were taken; is another server minting with the same node id?"
        )))
    }
}
