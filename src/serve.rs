//! `feedlab serve`: the reference service on embedded metadata and local or
//! S3 blobs (`--blob s3` with `--s3-*` flags or `FEEDLAB_S3_*` env vars).
//!
//! Prints one line to stdout once both listeners are bound —
//! `feedlab serve: write=ADDR read=ADDR` — so scripts and tests that bind
//! port 0 can find the service. SIGTERM or Ctrl-C shut it down gracefully:
//! in-flight requests finish and the fan-out queue drains.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use feedlab_system::blob::s3::DEFAULT_REGION;
use feedlab_system::ids::IdScheme;
use feedlab_system::meta::tikv::DEFAULT_NAMESPACE;
use feedlab_system::policy::{FanoutKind, ShardingKind};
use feedlab_system::service::{BlobBackend, MetaBackend, S3Config, TikvConfig};
use feedlab_system::{Service, ServiceConfig};
use tokio::net::TcpListener;

/// The service's own defaults, which the flags below show and use.
fn defaults() -> ServiceConfig {
    ServiceConfig::default()
}

/// Flags of `feedlab serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data directory (created if missing).
    #[arg(long, default_value_os_t = defaults().data_dir)]
    data: PathBuf,
    /// Listen address of the write router.
    #[arg(long, default_value = "127.0.0.1:8080")]
    write_addr: String,
    /// Listen address of the read router.
    #[arg(long, default_value = "127.0.0.1:8081")]
    read_addr: String,
    /// Fan-out strategy: push, pull, hybrid or rate.
    #[arg(long, default_value_t = defaults().fanout.kind)]
    fanout: FanoutKind,
    /// Hybrid: authors with at least this many followers are pulled.
    #[arg(long, default_value_t = defaults().fanout.hybrid_threshold)]
    hybrid_threshold: u64,
    /// Sharding strategy: user, photo, logical or consistent.
    #[arg(long, default_value_t = defaults().sharding.kind)]
    sharding: ShardingKind,
    /// Physical shards (each its own store).
    #[arg(long, default_value_t = defaults().sharding.shards)]
    shards: usize,
    /// Entries kept per pre-generated timeline.
    #[arg(long, default_value_t = defaults().timeline_cap)]
    timeline_cap: usize,
    /// Default and largest feed size.
    #[arg(long, default_value_t = defaults().feed_limit)]
    feed_limit: usize,
    /// Largest photo, bytes.
    #[arg(long, default_value_t = defaults().photo_limit)]
    photo_limit: u64,
    /// Largest video, bytes.
    #[arg(long, default_value_t = defaults().video_limit)]
    video_limit: u64,
    /// Bytes of one upload body held in memory; the rest of a larger body
    /// is spooled to `<data>/spool` as it arrives.
    #[arg(long, default_value_t = defaults().upload_memory_bytes)]
    upload_memory_bytes: u64,
    /// Blob replicas (local blob store).
    #[arg(long, default_value_t = defaults().blob_replicas)]
    replicas: usize,
    /// Metadata cache capacity, rows.
    #[arg(long, default_value_t = defaults().cache_entries)]
    cache_entries: usize,
    /// Concurrent operations per shard.
    #[arg(long, default_value_t = defaults().shard_concurrency)]
    shard_concurrency: usize,
    /// Popularity weight of the feed ranker (0 = recency only).
    #[arg(long, default_value_t = defaults().popularity_weight)]
    popularity_weight: f64,
    /// Metadata backend: embedded (fjall per shard under --data) or tikv.
    #[arg(long, value_enum, default_value_t = defaults().meta)]
    meta: MetaBackend,
    /// TiKV PD endpoints, comma-separated (with --meta tikv).
    #[arg(long, env = "FEEDLAB_TIKV_PD", value_delimiter = ',')]
    tikv_pd: Vec<String>,
    /// Key namespace in TiKV, so services can share a cluster.
    #[arg(long, env = "FEEDLAB_TIKV_NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    tikv_namespace: String,
    /// Blob backend: local (replicated directories) or s3.
    #[arg(long, value_enum, default_value_t = defaults().blob)]
    blob: BlobBackend,
    /// S3 endpoint, e.g. http://127.0.0.1:3900 (path-style).
    #[arg(long, env = "FEEDLAB_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// S3 signing region.
    #[arg(long, env = "FEEDLAB_S3_REGION", default_value = DEFAULT_REGION)]
    s3_region: String,
    /// S3 bucket (must exist).
    #[arg(long, env = "FEEDLAB_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// S3 access key id.
    #[arg(long, env = "FEEDLAB_S3_ACCESS_KEY")]
    s3_access_key: Option<String>,
    /// S3 secret key (prefer the env var: flags show up in `ps`).
    #[arg(long, env = "FEEDLAB_S3_SECRET_KEY", hide_env_values = true)]
    s3_secret_key: Option<String>,
    /// Prefix of every object name (to share a bucket).
    #[arg(long, env = "FEEDLAB_S3_PREFIX", default_value = "")]
    s3_prefix: String,
    /// Photo-id scheme: node (leased node bits) or ticket (interleaved
    /// ticket allocators on the metadata store).
    #[arg(long, value_enum, default_value_t = defaults().ids)]
    ids: IdScheme,
    /// Node number 0..16 of the node id scheme (default: the lowest one no
    /// live server holds). Checked through the metadata store with a lease.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..16))]
    node_id: Option<u16>,
    /// Inject extra CPU per op, `KIND=MICROSECONDS` (kinds: upload, feed, photo_get, search,
    /// follow, unfollow); repeatable. For validating regression gates; off by default.
    #[arg(long = "inject-cpu", value_name = "KIND=US", value_parser = parse_cpu)]
    inject_cpu: Vec<(String, u64)>,
    /// Inject this much delay before every metadata call, µs (see --inject-delay-shards).
    #[arg(long, default_value_t = 0)]
    inject_storage_delay_us: u64,
    /// Shards that get --inject-storage-delay-us (comma-separated; default all).
    #[arg(long, value_delimiter = ',')]
    inject_delay_shards: Vec<usize>,
    /// Inject this many extra storage calls per feed.
    #[arg(long, default_value_t = 0)]
    inject_feed_calls: u32,
}

/// Parses `KIND=MICROSECONDS` of `--inject-cpu`.
fn parse_cpu(s: &str) -> Result<(String, u64), String> {
    let (kind, us) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=MICROSECONDS, got {s:?}"))?;
    let us = us
        .parse()
        .map_err(|_| format!("{us:?} is not a whole number of microseconds"))?;
    Ok((kind.to_string(), us))
}

impl ServeArgs {
    fn config(&self) -> ServiceConfig {
        let mut c = ServiceConfig {
            data_dir: self.data.clone(),
            timeline_cap: self.timeline_cap,
            feed_limit: self.feed_limit,
            photo_limit: self.photo_limit,
            video_limit: self.video_limit,
            upload_memory_bytes: self.upload_memory_bytes,
            blob_replicas: self.replicas,
            cache_entries: self.cache_entries,
            shard_concurrency: self.shard_concurrency,
            popularity_weight: self.popularity_weight,
            ..ServiceConfig::default()
        };
        c.fanout.kind = self.fanout;
        c.fanout.hybrid_threshold = self.hybrid_threshold;
        c.sharding.kind = self.sharding;
        c.sharding.shards = self.shards;
        c.meta = self.meta;
        c.tikv = TikvConfig {
            pd: self.tikv_pd.clone(),
            namespace: self.tikv_namespace.clone(),
        };
        c.ids = self.ids;
        c.node_id = self.node_id;
        c.inject.cpu_us = self.inject_cpu.iter().cloned().collect();
        c.inject.storage_delay_us = self.inject_storage_delay_us;
        c.inject.storage_delay_shards = self.inject_delay_shards.clone();
        c.inject.feed_extra_calls = self.inject_feed_calls;
        c.blob = self.blob;
        c.s3 = S3Config {
            endpoint: self.s3_endpoint.clone().unwrap_or_default(),
            region: self.s3_region.clone(),
            bucket: self.s3_bucket.clone().unwrap_or_default(),
            access_key: self.s3_access_key.clone().unwrap_or_default(),
            secret_key: self.s3_secret_key.clone().unwrap_or_default(),
            prefix: self.s3_prefix.clone(),
            ..S3Config::default()
        };
        c
    }
}

async fn shutdown_signal() {
    let term = async {
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests and draining fan-out");
}

/// Open the stores, bind both listeners, serve until a signal.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = args.config();
    cfg.inject
        .validate(cfg.sharding.shards)
        .map_err(|e| crate::cli::UserError(format!("--inject-*: {e}")))?;
    if !cfg.inject.is_off() {
        eprintln!("feedlab serve: slowdown injection is on: {:?}", cfg.inject);
    }
    let svc = Service::open(cfg).await.with_context(|| {
        format!(
            "opening the service (data directory {}, blob {:?})",
            args.data.display(),
            args.blob
        )
    })?;
    let write = TcpListener::bind(&args.write_addr)
        .await
        .with_context(|| format!("binding --write-addr {}", args.write_addr))?;
    let read = TcpListener::bind(&args.read_addr)
        .await
        .with_context(|| format!("binding --read-addr {}", args.read_addr))?;
    let (w, r) = (write.local_addr()?, read.local_addr()?);
    tracing::info!(write = %w, read = %r, blob = ?args.blob, fanout = %args.fanout, sharding = %args.sharding, "feedlab serve listening");
    println!("feedlab serve: write={w} read={r}");
    std::io::stdout().flush()?;
    feedlab_system::http::serve(write, read, svc, shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> ServiceConfig {
        let argv = std::iter::once("serve").chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .expect("flags parse")
            .serve
            .config()
    }

    #[test]
    fn no_flags_give_the_service_defaults() {
        assert_eq!(parse(&[]), ServiceConfig::default());
    }

    #[test]
    fn backend_flags_take_the_config_spellings() {
        let c = parse(&["--meta", "tikv", "--blob", "s3", "--ids", "ticket"]);
        assert_eq!(
            (c.meta, c.blob, c.ids),
            (MetaBackend::Tikv, BlobBackend::S3, IdScheme::Ticket)
        );
        let c = parse(&[
            "--fanout",
            "pull",
            "--shards",
            "3",
            "--hybrid-threshold",
            "7",
        ]);
        assert_eq!(c.fanout.kind, FanoutKind::Pull);
        assert_eq!((c.sharding.shards, c.fanout.hybrid_threshold), (3, 7));
        assert!(Cli::try_parse_from(["serve", "--meta", "fjall"]).is_err());
    }
}
