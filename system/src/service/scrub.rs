//! An on-demand scrub of a stopped service's data directory, for
//! `feedlab scrub --data DIR`: one full pass over the local blob replicas
//! (verify every copy, repair from a good one, remove crash leftovers), and
//! for each blob with no good copy left, the photos that reference it.
//!
//! The running service scrubs in the background by itself
//! ([`crate::blob::ScrubPace`]); this is for an operator, with the service
//! stopped (the metadata stores admit one process at a time).

use std::path::Path;

use serde::Deserialize;

use crate::blob::{BlobKey, LocalBlobStore, ScrubReport};
use crate::error::{Error, Result};
use crate::id::PhotoId;
use crate::meta::{Direction, FjallStore, KeyRange, MetaStore};
use crate::tables;

/// What [`scrub_data_dir`] found and did.
#[derive(Debug, Clone)]
pub struct DataScrub {
    /// Blob replicas found under `DIR/blobs`.
    pub replicas: usize,
    /// The blob store's pass.
    pub report: ScrubReport,
    /// Each lost blob with the photos whose bytes it held.
    pub lost_photos: Vec<(BlobKey, Vec<PhotoId>)>,
}

/// The part of the layout file this needs.
#[derive(Deserialize)]
struct Layout {
    shards: usize,
}

/// Scrub the local blobs of the data directory `dir` once, and name the
/// photos of every lost blob. [`Error::InvalidInput`] if `dir` holds no
/// local blob store.
pub async fn scrub_data_dir(dir: &Path) -> Result<DataScrub> {
    let root = dir.join("blobs");
    let replicas = (0..)
        .take_while(|i| root.join(format!("r{i}")).is_dir())
        .count();
    if replicas == 0 {
        return Err(Error::InvalidInput(format!(
            "{} holds no local blob store (no blobs/r0)",
            dir.display()
        )));
    }
    let store = LocalBlobStore::open(&root, replicas)?;
    store.set_read_repair(false);
    let report = store.scrub().await?;
    let mut lost_photos = Vec::new();
    if !report.lost.is_empty() {
        let refs = referencing_photos(dir, &report.lost).await?;
        lost_photos = report.lost.iter().cloned().zip(refs).collect();
    }
    Ok(DataScrub {
        replicas,
        report,
        lost_photos,
    })
}

/// For each key, the photos that reference it (from every shard's
/// blob-reference rows).
async fn referencing_photos(dir: &Path, keys: &[BlobKey]) -> Result<Vec<Vec<PhotoId>>> {
    let path = super::layout_path(dir);
    let bytes = std::fs::read(&path)?;
    let layout: Layout = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))?;
    let mut out = vec![Vec::new(); keys.len()];
    for i in 0..layout.shards {
        let p = dir.join("meta").join(format!("shard-{i:03}"));
        let shard = tokio::task::spawn_blocking(move || FjallStore::open(&p))
            .await
            .map_err(|e| Error::Internal(format!("open task: {e}")))??;
        for (k, photos) in keys.iter().zip(&mut out) {
            let range = KeyRange::prefix(&tables::blob_ref_prefix(k.as_str()));
            for (key, _) in shard.scan(&range, Direction::Forward, 100_000).await? {
                photos.push(PhotoId(tables::trailing_id(&key)?));
            }
        }
    }
    Ok(out)
}
