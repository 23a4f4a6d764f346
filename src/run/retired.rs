//! The data directories of a command's finished live runs, deleted when the command ends
//! rather than between its runs.
//!
//! Why: on ext4 without a journal (these machines' disks), allocating an inode passes over
//! every free inode of its group that was deleted less than 5 s ago, or less than 300 s ago
//! while its inode-table block is dirty, and a new run's file creations keep those blocks
//! dirty. A live run that followed the deletion of the one before spent 4–11% of all CPU
//! samples in `recently_deleted`, against 0.3% after 330 s idle (BENCHMARKS.md, "Tail
//! stalls"), so each step of a ladder paid for the steps before it. A run's blobs are a
//! file per photo and replica, so every run deletes thousands.
//!
//! Contract: [`Retired::push`] takes the data directory of a finished run; every directory
//! pushed is deleted when the list is dropped (the end of the command, on success or
//! error), or at once, with the ones before it, when the file system holding it has less
//! than its floor free (the larger of [`MIN_FREE_BYTES`] and [`MIN_FREE_SHARE`] of its
//! size). A process killed before then leaves them; the next run into the same output
//! directory deletes its variant's old `data` before it starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Free bytes below which deferred directories are deleted at once.
pub const MIN_FREE_BYTES: u64 = 10 << 30;
/// Share of the file system's size below which deferred directories are deleted at once.
pub const MIN_FREE_SHARE: f64 = 0.10;

/// Deferred deletions of finished runs' data directories (see the module docs).
#[derive(Debug)]
pub struct Retired {
    dirs: Vec<PathBuf>,
    min_free: u64,
}

impl Default for Retired {
    fn default() -> Self {
        Retired {
            dirs: Vec::new(),
            min_free: MIN_FREE_BYTES,
        }
    }
}

impl Retired {
    /// A list whose file systems must keep `bytes` free (at least; the share floor holds too).
    #[cfg(test)]
    fn with_floor(bytes: u64) -> Retired {
        Retired {
            dirs: Vec::new(),
            min_free: bytes,
        }
    }

    /// Defers deleting `dir`; deletes every deferred directory now if `dir`'s file system is
    /// short of space.
    pub fn push(&mut self, dir: PathBuf) {
        let short = short_of_space(&dir, self.min_free);
        self.dirs.push(dir);
        if short {
            tracing::info!(
                dirs = self.dirs.len(),
                "little disk space left: deleting finished runs' data now"
            );
            self.delete_all();
        }
    }

    /// Deletes every deferred directory (a failure is logged, not returned: the runs' results
    /// are already written).
    pub fn delete_all(&mut self) {
        for dir in self.dirs.drain(..) {
            remove(&dir);
        }
    }
}

impl Drop for Retired {
    fn drop(&mut self) {
        self.delete_all();
    }
}

/// Whether the file system holding `dir` has less than `min_free` bytes, or less than
/// [`MIN_FREE_SHARE`] of its size, available. Unknown counts as short.
fn short_of_space(dir: &Path, min_free: u64) -> bool {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let size = s.f_blocks.saturating_mul(s.f_frsize);
            free < min_free || (free as f64) < MIN_FREE_SHARE * size as f64
        }
        Err(_) => true,
    }
}

/// Removes `dir`, retrying for up to 2 s: the last store handles of a run that just ended
/// may still be closing.
fn remove(dir: &Path) {
    for _ in 0..20 {
        if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tracing::warn!(dir = %dir.display(), "could not delete a finished run's data");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir(root: &Path, name: &str) -> PathBuf {
        let d = root.join(name).join("data");
        std::fs::create_dir_all(d.join("blobs/r0/ab")).expect("mkdir");
        std::fs::write(d.join("blobs/r0/ab/x"), b"photo").expect("write");
        d
    }

    #[test]
    fn directories_outlive_their_runs_and_go_with_the_list() {
        let root = tempfile::tempdir().expect("tempdir");
        let (a, b) = (data_dir(root.path(), "a"), data_dir(root.path(), "b"));
        let mut retired = Retired::with_floor(0);
        retired.push(a.clone());
        retired.push(b.clone());
        assert_eq!(retired.dirs.len(), 2);
        assert!(a.exists() && b.exists(), "deleted before the command ended");
        drop(retired);
        assert!(!a.exists() && !b.exists(), "left behind at the end");
    }

    #[test]
    fn short_of_space_deletes_at_once() {
        let root = tempfile::tempdir().expect("tempdir");
        let a = data_dir(root.path(), "a");
        let mut retired = Retired::with_floor(u64::MAX);
        retired.push(a.clone());
        assert!(retired.dirs.is_empty());
        assert!(!a.exists(), "kept although the disk is short of space");
    }

    #[test]
    fn an_unknown_file_system_counts_as_short() {
        assert!(short_of_space(Path::new("/no/such/dir/anywhere"), 0));
    }
}
