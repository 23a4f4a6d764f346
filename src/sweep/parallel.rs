//! Simulated ladders side by side: a sweep's sim variants (no live step, no twin) run on up
//! to `jobs` threads, each with a [`SimExecutor`] of its own. A simulated step is
//! deterministic and each executor builds the same population from the variant's seed, so
//! the ladders, their steps and `sweep.json` are the same as one after another; the wall
//! time is divided by the threads, and the memory multiplied by the populations alive.
//! Live ladders never run here: they measure the box, and a second ladder would share it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::result::VariantSweep;
use crate::sim::SimExecutor;
use crate::spec::{Mode, RunSpec};

/// The ladders of the sim specs among `specs`, by index into `specs`, run on up to `jobs`
/// threads; empty when fewer than two would run at once (the caller runs every spec then).
/// The first failing ladder's error, in spec order, is the result's.
pub(super) fn sim_ladders(
    specs: &[RunSpec],
    out: &Path,
    jobs: usize,
) -> anyhow::Result<Vec<(usize, VariantSweep)>> {
    let todo: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].mode == Mode::Sim)
        .collect();
    let threads = jobs.min(todo.len());
    if threads < 2 {
        return Ok(Vec::new());
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, anyhow::Result<VariantSweep>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut exec = SimExecutor::default();
                while let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let ladder = super::ladder_of(&specs[i], out, &[], None, &mut exec);
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, ladder));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter()
        .map(|(i, ladder)| ladder.map(|l| (i, l)))
        .collect()
}

/// Threads for `--jobs 0`: the machine's cores.
pub(super) fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
