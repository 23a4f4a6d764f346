//! What the service keeps in its data directory: the metadata shards
//! (`meta/shard-NNN`, opened here), and beside the stores the shard layout
//! (`layout.json`), refused if a later open asks for another, and the
//! instance id (`instance`), kept across restarts.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{MetaBackend, ServiceConfig};
use crate::error::{Error, Result};
use crate::meta::{FjallStore, MetaStore, TikvStore};

/// This data directory's service instance id (file `instance`, created
/// with a random non-zero id on first open). A restarted server keeps it,
/// so it recognises its own node lease and outbox claims.
pub(crate) fn instance_id(dir: &Path) -> Result<u64> {
    let path = dir.join("instance");
    match std::fs::read_to_string(&path) {
        Ok(text) => u64::from_str_radix(text.trim(), 16)
            .ok()
            .filter(|&v| v != 0)
            .ok_or_else(|| Error::Corrupt(format!("{}: not a hex instance id", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = rand::random::<u64>().max(1);
            std::fs::write(&path, format!("{id:016x}\n"))?;
            Ok(id)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Layout {
    sharding: String,
    shards: usize,
    logical_partitions: u32,
    vnodes: u32,
}

/// Record the shard layout on first open; refuse a different one later.
pub(crate) fn check_layout(dir: &Path, cfg: &ServiceConfig) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = layout_path(dir);
    let want = Layout {
        sharding: format!("{:?}", cfg.sharding.kind).to_lowercase(),
        shards: cfg.sharding.shards,
        logical_partitions: cfg.sharding.logical_partitions,
        vnodes: cfg.sharding.vnodes,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let have: Layout = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))?;
            if have != want {
                return Err(Error::InvalidInput(format!(
                    "{} was created with sharding {} over {} shards; this run asks for {} over {} (use a new --data dir)",
                    dir.display(),
                    have.sharding,
                    have.shards,
                    want.sharding,
                    want.shards
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = serde_json::to_vec_pretty(&want)
                .map_err(|e| Error::Internal(format!("layout: {e}")))?;
            std::fs::write(&path, bytes)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Open metadata shard `i` of `cfg`: its fjall database under the data
/// directory, or its namespace on the TiKV cluster.
pub(crate) async fn open_shard(cfg: &ServiceConfig, i: usize) -> Result<Arc<dyn MetaStore>> {
    Ok(match cfg.meta {
        MetaBackend::Embedded => {
            let path = cfg.data_dir.join("meta").join(format!("shard-{i:03}"));
            let store = tokio::task::spawn_blocking(move || FjallStore::open(&path))
                .await
                .map_err(|e| Error::Internal(format!("open task: {e}")))??;
            Arc::new(store)
        }
        MetaBackend::Tikv => {
            let ns = crate::meta::tikv::shard_namespace(
                cfg.tikv.namespace.as_bytes(),
                u32::try_from(i).unwrap_or(u32::MAX),
            );
            Arc::new(TikvStore::connect(cfg.tikv.pd.clone(), &ns).await?)
        }
    })
}

/// Open the data directory's layout file path (for tools and tests).
pub fn layout_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("layout.json")
}
