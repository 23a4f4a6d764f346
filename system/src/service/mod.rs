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
pub mod cache;
pub mod config;
mod datadir;

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

use crate::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use crate::error::{Error, Result};
use crate::id::system_clock;
use crate::ids::{IdScheme, IdSource, NodeIds, NodeLease, TicketIds, ticket::TicketOptions};
use crate::inject::SlowMeta;
use crate::meta::{MetaStore, ReadStats};
use crate::policy::{FanoutStrategy, Partitioner, Ranker, UserId};
use crate::shards::{ShardLimits, ShardSet};
use crate::timing::{Recorder, TimedBlobs, TimedMeta};

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
}

/// Handle to a running service. Clone freely; all clones share state.
#[derive(Clone)]
pub struct Service {
    pub(crate) inner: Arc<Inner>,
}

impl Service {
    /// Open the stores `cfg` names and start the materializer.
    ///
    /// Metadata: `meta = "embedded"` opens fjall, one database per shard
    /// under `cfg.data_dir`; `meta = "tikv"` connects one [`TikvStore`] per
    /// shard to `cfg.tikv.pd`, shard `i` under its own namespace
    /// ([`Error::Unavailable`] if PD cannot be reached). Blobs:
    /// `blob = "local"` opens replicated directories under
    /// `cfg.data_dir/blobs`; `blob = "s3"` connects to `cfg.s3` and checks
    /// its bucket ([`Error::Unavailable`] if the server cannot be reached).
    /// The shard layout is recorded on first open; reopening with a
    /// different sharding or shard count is refused rather than silently
    /// misplacing data.
    pub async fn open(cfg: ServiceConfig) -> Result<Service> {
        Self::open_recorded(cfg, None).await
    }

    /// [`Service::open`], with every store wrapped in [`TimedMeta`] / [`TimedBlobs`] when
    /// `recorder` is given, so that the service times of its storage calls are recorded
    /// (see [`crate::timing`]).
    pub async fn open_recorded(
        cfg: ServiceConfig,
        recorder: Option<Arc<Recorder>>,
    ) -> Result<Service> {
        cfg.validate()?;
        let dir = cfg.data_dir.clone();
        datadir::check_layout(&dir, &cfg)?;
        receive::clear_spool(&dir.join("spool"))?;
        let blobs: Arc<dyn BlobStore> = match cfg.blob {
            BlobBackend::Local => {
                Arc::new(LocalBlobStore::open(&dir.join("blobs"), cfg.blob_replicas)?)
            }
            BlobBackend::S3 => Arc::new(S3BlobStore::open(&cfg.s3).await?),
        };
        // Shards open concurrently: each replays its own journal.
        let opened = (0..cfg.sharding.shards).map(|i| datadir::open_shard(&cfg, i));
        let mut metas: Vec<Arc<dyn MetaStore>> = Vec::new();
        for (i, store) in futures::future::join_all(opened)
            .await
            .into_iter()
            .enumerate()
        {
            let store = match cfg.inject.delay_for(i) {
                Some(delay) => Arc::new(SlowMeta::new(store?, delay)),
                None => store?,
            };
            metas.push(match &recorder {
                Some(rec) => Arc::new(TimedMeta::new(store, rec.clone()).on_shard(i)),
                None => store,
            });
        }
        let blobs: Arc<dyn BlobStore> = match &recorder {
            Some(rec) => Arc::new(TimedBlobs::new(blobs, rec.clone())),
            None => blobs,
        };
        let instance = datadir::instance_id(&dir)?;
        let svc = Service::with_stores_as(cfg, metas, blobs, instance).await?;
        Ok(match recorder {
            Some(rec) => svc.recording(rec),
            None => svc,
        })
    }

    /// [`Service::open`] restricted to the embedded backends (fjall and
    /// local blobs); refuses any other `meta` or `blob` choice.
    pub async fn open_embedded(cfg: ServiceConfig) -> Result<Service> {
        if cfg.meta != MetaBackend::Embedded || cfg.blob != BlobBackend::Local {
            return Err(Error::InvalidInput(
                "open_embedded needs meta = \"embedded\" and blob = \"local\"; use Service::open"
                    .into(),
            ));
        }
        Service::open(cfg).await
    }

    /// Build on caller-supplied stores (one meta store per shard). Leases a
    /// node id or sets up the ticket allocators (`cfg.ids`), starts the
    /// materializer and replays any work left in the outboxes.
    pub async fn with_stores(
        cfg: ServiceConfig,
        metas: Vec<Arc<dyn MetaStore>>,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<Service> {
        let instance: u64 = rand::random::<u64>().max(1);
        Service::with_stores_as(cfg, metas, blobs, instance).await
    }

    /// [`Service::with_stores`] as instance `instance` (a restarted server
    /// keeps its instance id, so it finds its own node lease and outbox
    /// claims at once).
    async fn with_stores_as(
        cfg: ServiceConfig,
        metas: Vec<Arc<dyn MetaStore>>,
        blobs: Arc<dyn BlobStore>,
        instance: u64,
    ) -> Result<Service> {
        cfg.validate()?;
        if metas.is_empty() {
            return Err(Error::InvalidInput("no metadata shards".into()));
        }
        let ids: Arc<dyn IdSource> = match cfg.ids {
            IdScheme::Node => {
                let store = metas[0].clone();
                let lease = NodeLease::acquire(
                    store,
                    cfg.node_id,
                    instance,
                    cfg.node_lease_ms,
                    system_clock(),
                )
                .await?;
                Arc::new(NodeIds::leased(lease, system_clock()))
            }
            IdScheme::Ticket => {
                let stores = (0..usize::from(cfg.ticket_allocators))
                    .map(|k| metas[k % metas.len()].clone())
                    .collect();
                let opts = TicketOptions {
                    block: cfg.ticket_block,
                    ..TicketOptions::default()
                };
                Arc::new(TicketIds::new(stores, opts, system_clock())?)
            }
        };
        Service::with_stores_and_ids(cfg, metas, blobs, ids, instance).await
    }

    /// [`Service::with_stores`] with a caller-built id source, and the
    /// instance id its outbox claims carry (non-zero, distinct per live
    /// service). Tests use it to force id collisions or kill an allocator.
    pub async fn with_stores_and_ids(
        cfg: ServiceConfig,
        metas: Vec<Arc<dyn MetaStore>>,
        blobs: Arc<dyn BlobStore>,
        ids: Arc<dyn IdSource>,
        instance: u64,
    ) -> Result<Service> {
        cfg.validate()?;
        if instance == 0 {
            return Err(Error::InvalidInput("instance id 0 means unclaimed".into()));
        }
        let partitioner = Partitioner::new(cfg.sharding.clone())?;
        let limits = ShardLimits {
            concurrency: cfg.shard_concurrency,
            queue: cfg.shard_queue,
        };
        let shards = ShardSet::new(metas, partitioner, limits)?;
        let fanout = FanoutStrategy::new(cfg.fanout.clone())?;
        let metrics = Metrics::new()?;
        let (fanout_queue, rx) = FanoutQueue::new(cfg.materializer_queue);
        let opened = ReadStats::total(shards.all().iter().map(|s| s.store().as_ref()));
        if let Some(r) = opened {
            tracing::debug!(
                keys_read = r.keys_read,
                log_bytes_replayed = r.log_bytes_replayed,
                "metadata stores opened"
            );
        }
        let inner = Arc::new(Inner {
            ranker: Ranker {
                popularity_weight: cfg.popularity_weight,
            },
            cache: MetaCache::new(cfg.cache_entries),
            pull_cache: pull_cache::PullCache::new(
                cfg.pull_cache_entries,
                std::time::Duration::from_millis(cfg.pull_set_ttl_ms),
                std::time::Duration::from_millis(cfg.pull_recent_ttl_ms),
            ),
            ids,
            instance,
            started_ms: now_ms(),
            blob_locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            next_user: tokio::sync::Mutex::new(0..0),
            recorder: std::sync::OnceLock::new(),
            opened,
            cfg,
            shards,
            blobs,
            fanout,
            metrics,
            fanout_queue,
            counters: Counters::default(),
            notifier: FeedNotifier::default(),
        });
        let svc = Service { inner };
        materializer::start(svc.clone(), rx);
        if let Some(local) = svc.inner.blobs.as_local() {
            local.spawn_scrubber(crate::blob::ScrubPace {
                rate: svc.inner.cfg.scrub_rate,
                pass_s: svc.inner.cfg.scrub_pass_s,
            });
        }
        Ok(svc)
    }

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

    /// Stop the materializer workers after the queue drains, the blob store's background work,
    /// give back the node lease, and checkpoint every metadata store so that the next open
    /// replays no journal (for shutdown).
    ///
    /// The checkpoint is an optimisation of the next start, not a durability step: every
    /// acknowledged write is already in the store's log. It is skipped when the data
    /// directory is gone, and each store's checkpoint is bounded in time
    /// ([`MetaStore::checkpoint`](crate::meta::MetaStore::checkpoint)); a failure or a
    /// timeout is logged at warn and shutdown goes on (the next open replays the log).
    pub async fn shutdown(&self) {
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
