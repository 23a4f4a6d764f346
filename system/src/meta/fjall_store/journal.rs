//! The journal after a clean close: emptied, so the next open reads none of
//! it.
//!
//! fjall replays its active journal at every open, item by item, including
//! items already flushed to tables (it skips them one at a time), and only
//! starts a new journal at a flush once the active one passed 64 MB. Left
//! alone, each shard's open would read up to 64 MB of journal however
//! little was written since the last flush (about 25 ms of CPU per MB).
//!
//! Rule: when the last handle of a store is dropped after
//! [`super::FjallStore::flush_memtable`] with no write left in memory (no
//! sealed memtable, an empty active one), every item of every journal is
//! in a table. Once the
//! database is closed (its lock file can be taken), the active journal (the
//! highest-numbered `*.jnl`) is truncated to zero bytes and fsynced, under
//! that lock. An empty active journal is a valid one: the next open replays
//! nothing and takes its sequence number from the tables, as it does after
//! a replay. If anything fails or the rule does not hold, the journal is
//! left as it is and the next open replays it as usual, so durability never
//! depends on this.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Bytes of journal (`*.jnl`) files in the database directory `dir`: an
/// upper bound on the journal an open reads (fjall preallocates 64 MiB per
/// journal file and stops reading at the first invalid entry).
pub(super) fn bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for (_, path) in journals(dir)? {
        total += std::fs::metadata(path)?.len();
    }
    Ok(total)
}

/// The journal files of `dir` with their numbers; none if `dir` is absent.
fn journals(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(id) = id {
            out.push((id, path));
        }
    }
    Ok(out)
}

/// Empties the active journal of `dir` when dropped, if armed. Declared as
/// the last field of the store so that it drops after the database.
pub(super) struct TrimOnClose {
    pub(super) dir: PathBuf,
    pub(super) armed: bool,
}

impl Drop for TrimOnClose {
    fn drop(&mut self) {
        if self.armed
            && let Err(e) = trim(&self.dir)
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "emptying the fjall journal after a clean close failed; the next open replays it");
        }
    }
}

/// Truncate the active journal of the closed database in `dir` to zero
/// bytes, holding the database's lock file; does nothing if the database is
/// still open.
fn trim(dir: &Path) -> std::io::Result<()> {
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("lock"))?;
    if lock.try_lock().is_err() {
        return Ok(());
    }
    if let Some((_, active)) = journals(dir)?.into_iter().max_by_key(|(id, _)| *id) {
        let f = OpenOptions::new().write(true).open(active)?;
        f.set_len(0)?;
        f.sync_all()?;
    }
    File::unlock(&lock)
}
