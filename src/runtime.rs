//! The multi-threaded tokio runtime of every async command, with its threads named by role.
//!
//! At least four workers even on two cores: the service reads fjall inline on its workers,
//! a read that page-faults on a busy disk parks its worker, and with only two workers that
//! stalls half of the service (and, in `run`, the driver's clock with it).
//!
//! The workers are named `tokio-rt-worker` and the blocking pool's threads `tokio-blocking`
//! (the OS name, `/proc/.../comm`), so that a live run's probe tells their CPU apart. A name
//! cannot be given by spawn order: tokio's blocking pool starts the workers' threads, and a
//! blocking thread started just after them may pick up a worker's task first. So every
//! thread starts as `tokio-blocking`, and [`build`] renames each worker from a task that
//! runs on it, one task per worker, held until every one of them runs (so no two share a
//! worker).

use std::ffi::CStr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::runtime::Runtime;

/// OS name of the runtime's workers.
const WORKER: &CStr = c"tokio-rt-worker";
/// OS name of the blocking pool's threads.
const BLOCKING: &str = "tokio-blocking";

/// How long [`build`] waits for every worker to run its renaming task.
const NAMING_WAIT: Duration = Duration::from_secs(2);

/// The runtime, its workers named [`WORKER`] and its blocking threads [`BLOCKING`]; the
/// process's open-file limit first raised as far as it may go ([`raise_open_files`]).
pub fn build() -> std::io::Result<Runtime> {
    raise_open_files();
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let workers = cores.max(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(BLOCKING)
        .enable_all()
        .build()?;
    name_workers(&rt, workers)?;
    Ok(rt)
}

/// Raises the soft limit on open files to the hard limit. A live run holds a connection per
/// request in flight at each end (a sweep's step up to what the service admits and queues,
/// about 1,300 with the defaults), plus the stores' files; a common soft limit of 1,024 would
/// fail requests that the service would have served. Left as it is when it cannot be read
/// or raised.
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current < now.maximum {
        let raised = Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        let _ = setrlimit(Resource::Nofile, raised);
    }
}

/// Renames `rt`'s `workers` workers [`WORKER`]: each task renames the thread it runs on, then
/// waits until all have started, so that each runs on a worker of its own. A worker that has
/// not started within [`NAMING_WAIT`] keeps the blocking name (the runtime still works).
fn name_workers(rt: &Runtime, workers: usize) -> std::io::Result<()> {
    let started = Arc::new((Mutex::new(0usize), Condvar::new()));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let started = started.clone();
            rt.spawn(async move {
                let named = rustix::thread::set_name(WORKER);
                let (count, all) = &*started;
                let mut n = count.lock().unwrap_or_else(|e| e.into_inner());
                *n += 1;
                all.notify_all();
                // Blocks this worker on purpose, briefly: until every worker holds a task.
                let _held = all
                    .wait_timeout_while(n, NAMING_WAIT, |n| *n < workers)
                    .unwrap_or_else(|e| e.into_inner());
                named
            })
        })
        .collect();
    rt.block_on(async {
        for t in tasks {
            t.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OS name of the thread that runs on `rt`'s blocking pool (`blocking`) or as a task.
    fn thread_of(rt: &Runtime, blocking: bool) -> String {
        let name = || {
            std::fs::read_to_string("/proc/thread-self/comm")
                .expect("comm")
                .trim_end()
                .to_string()
        };
        rt.block_on(async move {
            let handle = if blocking {
                tokio::task::spawn_blocking(name)
            } else {
                tokio::spawn(async move { name() })
            };
            handle.await.expect("joined")
        })
    }

    #[test]
    fn workers_and_blocking_threads_have_their_own_names() {
        for _ in 0..20 {
            let rt = build().expect("runtime");
            for _ in 0..3 {
                assert_eq!(thread_of(&rt, false), WORKER.to_str().expect("ascii"));
                assert_eq!(thread_of(&rt, true), BLOCKING);
            }
        }
    }
}
