//! Prometheus metrics of the service, served at `/metrics` on both routers.
//!
//! Counters that already live elsewhere (per-shard ops, cache hits) are
//! copied into gauges at scrape time rather than double-counted.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::error::{Error, Result};

/// The service's metric families.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by router, route and status.
    pub http_requests: IntCounterVec,
    /// HTTP latency by router and route.
    pub http_seconds: HistogramVec,
    /// Acknowledged uploads.
    pub uploads: IntCounter,
    /// Bytes of acknowledged uploads.
    pub upload_bytes: IntCounter,
    /// Timeline entries written by the materializer.
    pub timeline_writes: IntCounter,
    /// Upload acknowledged → fan-out applied, seconds.
    pub fanout_seconds: HistogramVec,
    /// Tasks waiting in the materializer.
    pub fanout_queue: IntGauge,
    /// Per-shard operations, refreshed at scrape.
    pub shard_ops: IntGaugeVec,
    /// Cache hits and misses, refreshed at scrape.
    pub cache: IntGaugeVec,
    /// Local blob upkeep since start (bad copies found, repaired, lost
    /// blobs, bytes scrubbed, scrub passes), refreshed at scrape.
    pub blob_upkeep: IntGaugeVec,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> Result<T> {
    r.register(Box::new(c.clone()))
        .map_err(|e| Error::Internal(format!("metrics: {e}")))?;
    Ok(c)
}

fn err(e: prometheus::Error) -> Error {
    Error::Internal(format!("metrics: {e}"))
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Result<Self> {
        let r = Registry::new_custom(Some("feedlab".into()), None).map_err(err)?;
        let buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        Ok(Metrics {
            http_requests: reg(
                &r,
                IntCounterVec::new(
                    Opts::new("http_requests_total", "HTTP requests"),
                    &["router", "route", "status"],
                )
                .map_err(err)?,
            )?,
            http_seconds: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("http_request_seconds", "HTTP latency")
                        .buckets(buckets.clone()),
                    &["router", "route"],
                )
                .map_err(err)?,
            )?,
            uploads: reg(
                &r,
                IntCounter::new("uploads_total", "acknowledged uploads").map_err(err)?,
            )?,
            upload_bytes: reg(
                &r,
                IntCounter::new("upload_bytes_total", "bytes uploaded").map_err(err)?,
            )?,
            timeline_writes: reg(
                &r,
                IntCounter::new("timeline_writes_total", "timeline entries written")
                    .map_err(err)?,
            )?,
            fanout_seconds: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new("fanout_seconds", "ack to fan-out applied").buckets(buckets),
                    &["task"],
                )
                .map_err(err)?,
            )?,
            fanout_queue: reg(
                &r,
                IntGauge::new("fanout_queue", "materializer tasks pending").map_err(err)?,
            )?,
            shard_ops: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new("shard_ops", "operations per shard"),
                    &["shard", "kind"],
                )
                .map_err(err)?,
            )?,
            cache: reg(
                &r,
                IntGaugeVec::new(Opts::new("cache_lookups", "metadata cache"), &["result"])
                    .map_err(err)?,
            )?,
            blob_upkeep: reg(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "blob_upkeep",
                        "local blob read repair and scrub, since start",
                    ),
                    &["kind"],
                )
                .map_err(err)?,
            )?,
            registry: r,
        })
    }

    /// Render the text exposition format.
    pub fn render(&self) -> Result<String> {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .map_err(err)?;
        String::from_utf8(buf).map_err(|e| Error::Internal(format!("metrics utf8: {e}")))
    }
}

impl super::Service {
    /// Refresh scrape-time gauges and render `/metrics`.
    pub fn render_metrics(&self) -> Result<String> {
        let m = &self.inner.metrics;
        for l in self.inner.shards.loads() {
            let s = l.shard.to_string();
            for (kind, v) in [
                ("read", l.reads),
                ("scan", l.scans),
                ("write", l.writes),
                ("wait_us", l.wait_us),
            ] {
                m.shard_ops.with_label_values(&[&s, kind]).set(v as i64);
            }
        }
        m.cache
            .with_label_values(&["hit"])
            .set(self.inner.cache.hits() as i64);
        m.cache
            .with_label_values(&["miss"])
            .set(self.inner.cache.misses() as i64);
        m.fanout_queue.set(self.inner.materializer.pending() as i64);
        if let Some(local) = self.inner.blobs.as_local() {
            let i = local.integrity();
            for (kind, v) in [
                ("bad_copies", i.bad_copies),
                ("repaired_copies", i.repaired_copies),
                ("lost_blobs", i.lost_blobs),
                ("scrubbed_bytes", i.scrubbed_bytes),
                ("scrub_passes", i.scrub_passes),
            ] {
                m.blob_upkeep.with_label_values(&[kind]).set(v as i64);
            }
        }
        m.render()
    }
}
