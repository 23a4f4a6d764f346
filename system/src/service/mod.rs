//! The reference photo service: the operations behind the HTTP routers.
//!
//! [`Service`] is a cheap-to-clone handle (an `Arc` inside, like mini-redis's
//! `Db`). It owns the sharded metadata stores, the blob store, the id
//! generator, the metadata cache and the fan-out materializer. The HTTP layer
//! ([`crate::http`]) only parses, authenticates and maps errors; every rule
//! of the product lives here:
//!
//! - [`users`]: accounts, bearer tokens, follow and unfollow;
//! - [`photos`]: upload (validate → hash → durable blob → metadata → ack →
//!   fan-out enqueue), download, delete, a user's photos;
//! - [`search`]: title search (AND of terms, newest first);
//! - [`feed`]: the ranked home feed and its long-poll;
//! - [`materializer`]: push fan-out, backfill on follow, purge on unfollow,
//!   outbox recovery after a crash;
//! - [`outbox`]: the claims that let many servers share the outboxes.

pub mod bulk;
pub mod bulk_photos;
pub mod cache;
pub mod config;
mod datadir;
mod open;

pub use datadir::layout_path;
pub mod feed;
pub mod materializer;
pub mod media;
mod merge;
pub mod metrics;
pub mod outbox;
pub mod photo_rows;
pub mod photos;
pub mod pull_cache;
pub mod receive;
pub mod scrub;
pub mod search;
pub mod users;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::blob::BlobStore;
use crate::faults::Faults;
use crate::ids::IdSource;
use crate::meta::ReadStats;
use crate::policy::{FanoutStrategy, Ranker, UserId};
use crate::shards::ShardSet;
use crate::timing::Recorder;

pub use cache::MetaCache;
pub use config::{BlobBackend, MetaBackend, S3Config, ServiceConfig, TikvConfig};
pub use materializer::{Counters, FanoutQueue, FeedNotifier};
pub use metrics::Metrics;

/// Unix time in ms (the service's wall clock; the simulator never calls it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub(crate) struct Inner {
    pub(crate) cfg: ServiceConfig,
    pub(crate) shards: ShardSet,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) ids: Arc<dyn IdSource>,
    /// Random id of this instance: its node-lease holder and outbox claims.
    pub(crate) instance: u64,
    /// When this process built the service, Unix ms: claims of `instance`
    /// older than this are a previous incarnation's.
    pub(crate) started_ms: u64,
    pub(crate) fanout: FanoutStrategy,
    pub(crate) ranker: Ranker,
    pub(crate) cache: MetaCache,
    pub(crate) pull_cache: pull_cache::PullCache,
    pub(crate) metrics: Metrics,
    pub(crate) fanout_queue: FanoutQueue,
    pub(crate) counters: Counters,
    pub(crate) notifier: FeedNotifier,
    pub(crate) blob_locks: Vec<tokio::sync::Mutex<()>>,
    /// User ids this server reserved and has not handed out yet.
    pub(crate) next_user: tokio::sync::Mutex<std::ops::Range<UserId>>,
    /// Where metered ops record their work (see [`Service::recorder`]).
    pub(crate) recorder: std::sync::OnceLock<Arc<Recorder>>,
    /// What the metadata stores had read when the service was built.
    pub(crate) opened: Option<ReadStats>,
    /// The fault switches every shard's store obeys (see [`Service::faults`]).
    pub(crate) faults: Faults,
}

/// Handle to a running service. Clone freely; all clones share state.
#[derive(Clone)]
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

impl Service {
    /// Records the work of metered ops (the HTTP routers meter each request) in `rec`; a
    /// service takes one recorder, later ones are ignored.
    pub fn recording(self, rec: Arc<Recorder>) -> Self {
        let _ = self.inner.recorder.set(rec);
        self
    }

    /// The recorder given to [`Service::open_recorded`] or [`Service::recording`], if any.
    pub fn recorder(&self) -> Option<&Arc<Recorder>> {
        self.inner.recorder.get()
    }

    /// Burns the injected CPU of op kind `op` (`[system.inject] cpu-us`; usually none).
    pub(crate) fn burn(&self, op: &str) {
        self.inner.cfg.inject.burn(op);
    }

    /// The fault switchboard every shard's metadata store, the blob store and the materializer
    /// obey (see [`crate::faults`]); all switches are off until a caller sets them.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The photo-id source in use.
    pub fn ids(&self) -> &Arc<dyn IdSource> {
        &self.inner.ids
    }

    /// This instance's id (its outbox claims and node lease carry it).
    pub fn instance(&self) -> u64 {
        self.inner.instance
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServiceConfig {
        &self.inner.cfg
    }

    /// The shards, for counters and reports.
    pub fn shards(&self) -> &ShardSet {
        &self.inner.shards
    }

    /// The blob store.
    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.inner.blobs
    }

    /// Prometheus metrics of this service.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The metadata cache.
    pub fn cache(&self) -> &MetaCache {
        &self.inner.cache
    }

    /// Wait until every queued fan-out, backfill and purge has been applied.
    pub async fn drain(&self) {
        self.drain_materializer().await;
    }

    /// What the metadata stores had read, summed over the shards, when the
    /// service was built (before the materializer's first outbox sweep):
    /// keys read since each store was opened and journal replayed at open.
    /// `None` when a backend does not count (TiKV). Start-up must not read
    /// more as the data grows; a test holds it to that.
    pub fn open_report(&self) -> Option<ReadStats> {
        self.inner.opened
    }

    /// Lift every fault switch, stop the materializer workers after the queue drains, the blob store's background work,
    /// give back the node lease, and checkpoint every metadata store so that the next open
    /// replays no journal (for shutdown).
    ///
    /// The checkpoint is an optimisation of the next start, not a durability step: every
    /// acknowledged write is already in the store's log. It is skipped when the data
    /// directory is gone, and each store's checkpoint is bounded in time
    /// ([`MetaStore::checkpoint`](crate::meta::MetaStore::checkpoint)); a failure or a
    /// timeout is logged at warn and shutdown goes on (the next open replays the log).
    pub async fn shutdown(&self) {
        // A paused materializer or a down shard would hold the drain forever.
        self.inner.faults.clear();
        self.drain_materializer().await;
        self.inner.fanout_queue.close();
        if let Some(local) = self.inner.blobs.as_local() {
            local.stop_background();
        }
        if let Err(e) = self.inner.ids.close().await {
            tracing::warn!(error = %e, "releasing the id source failed");
        }
        let dir = &self.config().data_dir;
        if !dir.is_dir() {
            tracing::warn!(dir = %dir.display(), "data directory gone; metadata stores not checkpointed");
            return;
        }
        let checkpoints = self
            .inner
            .shards
            .all()
            .iter()
            .map(|s| s.store().checkpoint());
        for r in futures::future::join_all(checkpoints).await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "checkpointing a metadata store failed; its next open replays the log");
            }
        }
    }
}
