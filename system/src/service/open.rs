//! Building a [`Service`]: opening the stores a configuration names (or taking the
//! caller's), wrapping every shard's store and the blob store in the fault switchboard (and
//! the timed wrappers when recording), taking the id source, and starting the materializer and the blob
//! store's background work.

use std::sync::Arc;

use super::{
    BlobBackend, Counters, FanoutQueue, FeedNotifier, Inner, MetaBackend, MetaCache, Metrics,
    Service, ServiceConfig, datadir, materializer, now_ms, pull_cache, receive,
};
use crate::blob::{BlobStore, LocalBlobStore, S3BlobStore};
use crate::error::{Error, Result};
use crate::faults::Faults;
use crate::id::system_clock;
use crate::ids::{IdScheme, IdSource, NodeIds, NodeLease, TicketIds, ticket::TicketOptions};
use crate::inject::SlowMeta;
use crate::meta::{MetaStore, ReadStats};
use crate::policy::{FanoutStrategy, Partitioner, Ranker};
use crate::shards::{ShardLimits, ShardSet};
use crate::timing::{Recorder, TimedBlobs, TimedMeta};

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
        let faults = Faults::new(cfg.sharding.shards);
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
            // Inside the timed wrapper, so an injected delay shows in the shard's call time.
            let store = faults.wrap(i, store);
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
        let svc = Service::with_stores_as(cfg, metas, blobs, instance, faults).await?;
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
        let (metas, faults) = wrap_faults(metas);
        Service::with_stores_as(cfg, metas, blobs, instance, faults).await
    }

    /// [`Service::with_stores`] as instance `instance` (a restarted server
    /// keeps its instance id, so it finds its own node lease and outbox
    /// claims at once). `metas` are already wrapped by `faults`.
    async fn with_stores_as(
        cfg: ServiceConfig,
        metas: Vec<Arc<dyn MetaStore>>,
        blobs: Arc<dyn BlobStore>,
        instance: u64,
        faults: Faults,
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
        Service::build(cfg, metas, blobs, ids, instance, faults).await
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
        let (metas, faults) = wrap_faults(metas);
        Service::build(cfg, metas, blobs, ids, instance, faults).await
    }

    /// The service on `metas`, already wrapped by `faults`; see
    /// [`Service::with_stores_and_ids`].
    async fn build(
        cfg: ServiceConfig,
        metas: Vec<Arc<dyn MetaStore>>,
        blobs: Arc<dyn BlobStore>,
        ids: Arc<dyn IdSource>,
        instance: u64,
        faults: Faults,
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
        // Outermost, so a stopped blob store refuses at once on every path that reaches it.
        let blobs = faults.wrap_blobs(blobs);
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
            faults,
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
}

/// `metas` (one per shard, in order) wrapped by a fresh fault switchboard, and the board.
fn wrap_faults(metas: Vec<Arc<dyn MetaStore>>) -> (Vec<Arc<dyn MetaStore>>, Faults) {
    let faults = Faults::new(metas.len());
    let metas = metas
        .into_iter()
        .enumerate()
        .map(|(i, m)| faults.wrap(i, m))
        .collect();
    (metas, faults)
}
