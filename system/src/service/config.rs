//! Service configuration: every knob of `feedlab serve` and of a scenario's
//! `[system]` table, with the original design's defaults. The backends'
//! own settings live next to them ([`S3Config`] with the S3 blob store,
//! [`TikvConfig`] with the TiKV meta store) and are re-exported here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::IdScheme;
use crate::inject::InjectConfig;
use crate::policy::{FanoutConfig, PartitionerConfig};

pub use crate::blob::s3::{S3Config, s3_env_var};
pub use crate::meta::tikv::{TikvConfig, parse_endpoints};

/// Which metadata store backs the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MetaBackend {
    /// fjall, one database per shard under the data directory.
    #[default]
    Embedded,
    /// TiKV through `tikv-client`: one namespace per shard in one cluster;
    /// see [`TikvConfig`].
    Tikv,
}

/// Which object store holds the photo bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BlobBackend {
    /// Replicated directories under the data directory.
    #[default]
    Local,
    /// An S3-compatible server (Garage, MinIO, AWS) through the `minio`
    /// crate; see [`S3Config`].
    S3,
}

/// Configuration of one [`super::Service`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceConfig {
    /// Root of the embedded stores (`meta/shard-NNN`, `blobs/rN`).
    pub data_dir: PathBuf,
    /// Metadata backend.
    pub meta: MetaBackend,
    /// Blob backend.
    pub blob: BlobBackend,
    /// The S3 backend's endpoint, bucket and credentials (used when
    /// `blob = "s3"`).
    pub s3: S3Config,
    /// The TiKV backend's PD endpoints and namespace (used when
    /// `meta = "tikv"`).
    pub tikv: TikvConfig,
    /// Fan-out strategy and its knobs.
    pub fanout: FanoutConfig,
    /// Sharding strategy and shard count.
    pub sharding: PartitionerConfig,
    /// Entries kept per pre-generated timeline.
    pub timeline_cap: usize,
    /// Default and maximum feed size.
    pub feed_limit: usize,
    /// Largest accepted photo, bytes.
    pub photo_limit: u64,
    /// Largest accepted video, bytes.
    pub video_limit: u64,
    /// Metadata cache capacity, rows.
    pub cache_entries: usize,
    /// Readers whose pull sets, and pulled authors whose newest photo ids,
    /// are cached (each; 0 turns the caches off). See
    /// [`super::pull_cache`].
    pub pull_cache_entries: usize,
    /// Age, ms, past which a cached pull set is read again: the longest a
    /// follow made through another server takes to show in pulled photos.
    pub pull_set_ttl_ms: u64,
    /// Age, ms, past which a pulled author's cached ids are read again: the
    /// longest their upload through another server takes to show.
    pub pull_recent_ttl_ms: u64,
    /// Concurrent operations admitted per shard.
    pub shard_concurrency: usize,
    /// Operations that may wait for a shard; more fail at once (503).
    pub shard_queue: usize,
    /// Blob replicas of the local backend.
    pub blob_replicas: usize,
    /// Materializer worker tasks.
    pub materializer_workers: usize,
    /// Materializer queue capacity (overflow stays in the outbox).
    pub materializer_queue: usize,
    /// Tasks taken per materializer batch.
    pub materializer_batch: usize,
    /// Popularity weight of the ranker (0 = recency only).
    pub popularity_weight: f64,
    /// Most followees one user may have.
    pub max_followees: u64,
    /// Concurrent requests admitted by the write router.
    pub write_concurrency: usize,
    /// Concurrent requests admitted by the read router (long-polls apart).
    pub read_concurrency: usize,
    /// Concurrent long-polls (`/v1/feed/updates`), a pool apart.
    pub longpoll_concurrency: usize,
    /// Requests that may wait for a slot of each route group when all its
    /// slots are taken; more are refused with 503 at once.
    pub admission_queue: usize,
    /// Longest wait for a slot, ms; a request that waited this long is
    /// refused with 503 (by default the feed target: it could not meet it).
    pub admission_wait_ms: u64,
    /// Concurrent uploads admitted (a pool apart from the other writes).
    pub upload_concurrency: usize,
    /// Bytes of one upload body held in memory; the rest of a larger body
    /// is spooled to `<data-dir>/spool` as it arrives.
    pub upload_memory_bytes: u64,
    /// A request head must arrive within this many ms of the connection
    /// being ready for it.
    pub header_timeout_ms: u64,
    /// Body allowance at the first read, and the longest pause in a body.
    pub body_timeout_ms: u64,
    /// Bytes a body must bring per extra second past `body-timeout-ms`.
    pub body_min_rate: u64,
    /// Background scrub of local blobs: bytes verified per second; 0 sets
    /// the pace that completes a pass in `scrub-pass-s`.
    pub scrub_rate: u64,
    /// Seconds between the starts of two background scrub passes (a day by
    /// default); 0 turns the background scrub off.
    pub scrub_pass_s: u64,
    /// Photo-id scheme: `"node"` (leased node bits) or `"ticket"`
    /// (interleaved ticket allocators); see [`crate::ids`].
    pub ids: IdScheme,
    /// Node number (`0..16`) of the `node` scheme; unset takes the lowest
    /// free one. Checked through the metadata store with a lease.
    pub node_id: Option<u16>,
    /// Length of the node-number lease, ms (renewed every third of it).
    pub node_lease_ms: u64,
    /// Ticket allocators of the `ticket` scheme (2 = odd and even).
    pub ticket_allocators: u16,
    /// Tickets reserved per `cas` on an allocator's counter.
    pub ticket_block: u64,
    /// How long a server owns an outbox task it wrote or claimed, ms; a
    /// task whose owner died is taken over after this.
    pub outbox_lease_ms: u64,
    /// Deliberate slowdowns for validating the gate (off by default; see [`crate::inject`]).
    pub inject: InjectConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            data_dir: PathBuf::from("feedlab-data"),
            meta: MetaBackend::Embedded,
            blob: BlobBackend::Local,
            s3: S3Config::default(),
            tikv: TikvConfig::default(),
            fanout: FanoutConfig::default(),
            sharding: PartitionerConfig::default(),
            timeline_cap: 500,
            feed_limit: 100,
            photo_limit: 20 * 1024 * 1024,
            video_limit: 500 * 1024 * 1024,
            cache_entries: 100_000,
            pull_cache_entries: 10_000,
            pull_set_ttl_ms: 30_000,
            pull_recent_ttl_ms: 1_000,
            shard_concurrency: 16,
            shard_queue: 1024,
            blob_replicas: 2,
            materializer_workers: 4,
            materializer_queue: 65_536,
            materializer_batch: 64,
            popularity_weight: 0.0,
            max_followees: 7_500,
            write_concurrency: 256,
            read_concurrency: 256,
            longpoll_concurrency: 1024,
            admission_queue: 256,
            admission_wait_ms: 200,
            upload_concurrency: 64,
            upload_memory_bytes: 1 << 20,
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            body_min_rate: 16 * 1024,
            scrub_rate: 0,
            scrub_pass_s: 86_400,
            ids: IdScheme::Node,
            node_id: None,
            node_lease_ms: 10_000,
            ticket_allocators: 2,
            ticket_block: 1024,
            outbox_lease_ms: 30_000,
            inject: InjectConfig::default(),
        }
    }
}

impl ServiceConfig {
    /// Reject values the service cannot run with.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("timeline-cap", self.timeline_cap),
            ("feed-limit", self.feed_limit),
            ("shard-concurrency", self.shard_concurrency),
            ("blob-replicas", self.blob_replicas),
            ("materializer-workers", self.materializer_workers),
            ("materializer-queue", self.materializer_queue),
            ("materializer-batch", self.materializer_batch),
            ("write-concurrency", self.write_concurrency),
            ("read-concurrency", self.read_concurrency),
            ("longpoll-concurrency", self.longpoll_concurrency),
            ("upload-concurrency", self.upload_concurrency),
            ("header-timeout-ms", self.header_timeout_ms as usize),
            ("body-timeout-ms", self.body_timeout_ms as usize),
            ("body-min-rate", self.body_min_rate as usize),
            ("ticket-allocators", usize::from(self.ticket_allocators)),
            ("ticket-block", self.ticket_block as usize),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(Error::InvalidInput(format!("{name} must be at least 1")));
            }
        }
        if self.blob == BlobBackend::S3 {
            self.s3.validate()?;
        }
        if self.meta == MetaBackend::Tikv && self.tikv.pd.is_empty() {
            return Err(Error::InvalidInput(
                "meta = \"tikv\" needs tikv.pd (or env FEEDLAB_TIKV_PD), e.g. [\"127.0.0.1:2379\"]"
                    .into(),
            ));
        }
        if let Some(n) = self.node_id
            && n >= crate::id::MAX_NODES
        {
            return Err(Error::InvalidInput(format!(
                "node-id must be below {}, got {n}",
                crate::id::MAX_NODES
            )));
        }
        for (name, v) in [
            ("node-lease-ms", self.node_lease_ms),
            ("outbox-lease-ms", self.outbox_lease_ms),
        ] {
            if v < 30 {
                return Err(Error::InvalidInput(format!("{name} must be at least 30")));
            }
        }
        if !(self.popularity_weight.is_finite() && self.popularity_weight >= 0.0) {
            return Err(Error::InvalidInput(
                "popularity-weight must be a finite number ≥ 0".into(),
            ));
        }
        self.inject.validate(self.sharding.shards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI's spelling of each value (clap `ValueEnum`) is the config
    /// file's (serde).
    fn same_spellings<T: clap::ValueEnum + Serialize>() {
        for v in T::value_variants() {
            let cli = v.to_possible_value().expect("not skipped");
            let serde = serde_json::to_value(v).expect("serializes");
            assert_eq!(serde.as_str(), Some(cli.get_name()));
        }
    }

    #[test]
    fn cli_and_config_spell_the_backends_alike() {
        same_spellings::<MetaBackend>();
        same_spellings::<BlobBackend>();
        same_spellings::<IdScheme>();
        for v in <IdScheme as clap::ValueEnum>::value_variants() {
            let cli = clap::ValueEnum::to_possible_value(v).expect("not skipped");
            assert_eq!(v.name(), cli.get_name());
        }
    }

    #[test]
    fn tikv_without_pd_is_refused_naming_the_key_and_env() {
        let mut cfg = ServiceConfig {
            meta: MetaBackend::Tikv,
            ..ServiceConfig::default()
        };
        cfg.tikv.pd.clear();
        let err = cfg.validate().expect_err("no PD").to_string();
        assert!(
            err.contains("tikv.pd") && err.contains("FEEDLAB_TIKV_PD"),
            "{err}"
        );
        cfg.tikv.pd = vec!["127.0.0.1:2379".into()];
        cfg.validate().expect("valid with a PD endpoint");
    }
}
