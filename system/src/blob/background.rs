//! The background scrub of the local blob store: paced passes, one after
//! another, for as long as the store is open.
//!
//! The pace is a rate in bytes verified per second (every replica's copy
//! counts), either given or derived at the start of each pass from the
//! stored bytes so that a pass takes `pass_s` seconds (a day by default).
//! The task holds the store only while it works on a key: it ends once the
//! store is dropped or [`LocalBlobStore::stop_background`] is called.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::LocalBlobStore;
use super::scrub::scrub_pass;

/// Slowest derived pace, so a tiny store is not scrubbed a byte at a time.
const MIN_RATE: u64 = 64 * 1024;

/// How fast the background scrub goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrubPace {
    /// Bytes verified per second; 0 derives it from `pass_s`.
    pub rate: u64,
    /// Seconds from the start of one pass to the start of the next (also
    /// the delay before the first, capped at a minute); 0 turns the
    /// background scrub off.
    pub pass_s: u64,
}

impl LocalBlobStore {
    /// Start the background scrub on the current tokio runtime; `None` when
    /// `pace.pass_s` is 0. Lost blobs are logged at `error` with their keys.
    pub fn spawn_scrubber(&self, pace: ScrubPace) -> Option<tokio::task::JoinHandle<()>> {
        if pace.pass_s == 0 {
            return None;
        }
        let weak = Arc::downgrade(&self.inner);
        let period = Duration::from_secs(pace.pass_s);
        Some(tokio::spawn(async move {
            let mut next = Instant::now() + period.min(Duration::from_secs(60));
            loop {
                tokio::time::sleep_until(next).await;
                let Some(inner) = weak.upgrade().filter(|i| !i.upkeep_stopped()) else {
                    return;
                };
                let start = Instant::now();
                let rate = if pace.rate > 0 {
                    pace.rate
                } else {
                    let store = LocalBlobStore { inner };
                    let stored = store.bytes_stored().await.unwrap_or(0);
                    (stored * store.replicas() as u64 / pace.pass_s).max(MIN_RATE)
                };
                match scrub_pass(weak.clone(), Some(rate)).await {
                    Ok(report) => {
                        if let Some(i) = weak.upgrade() {
                            i.upkeep
                                .passes
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        for key in &report.lost {
                            tracing::error!(%key, "background scrub: blob has no good copy left");
                        }
                    }
                    Err(e) => tracing::warn!("background scrub pass failed: {e}"),
                }
                next = (start + period).max(Instant::now());
            }
        }))
    }
}
