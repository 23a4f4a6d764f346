//! Prometheus metrics of the service, served at `/metrics` on both routers.
//!
//! Counters that already live elsewhere (per-shard ops, cache lookups, blob
//! upkeep) are advanced to their current totals at scrape time rather than
//! counted twice; they are exported as counters all the same. Latencies are
//! histograms; the process's CPU, memory, threads and open files come from
//! the `process` collector.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::error::{Error, Result};

/// The service's metric families.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by router, route and status.
    pub http_requests: IntCounterVec,
    /// HTTP latency by router and route.
    pub http_seconds: HistogramVec,
    /// Requests refused by admission control, by route group.
    pub http_shed: IntCounterVec,
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
    /// Per-shard operations, advanced at scrape.
    pub shard_ops: IntCounterVec,
    /// Cache hits and misses, advanced at scrape.
    pub cache: IntCounterVec,
    /// Local blob upkeep since start (bad copies found, repaired, lost
    /// blobs, bytes scrubbed, scrub passes), refreshed at scrape.
    pub blob_upkeep: IntCounterVec,
    /// Serializes scrapes, so that two cannot advance a counter twice.
    scrape: parking_lot::Mutex<()>,
    /// Photo rows refused because the id was taken (retried with a fresh id).
    pub id_collisions: IntCounter,
    /// Outbox tasks (fan-out and follow work) this service applied.
    pub outbox_applied: IntCounter,
    /// Outbox rows this service's sweeper claimed from a lapsed owner.
    pub outbox_claims: IntCounter,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> Result<T> {
    r.register(Box::new(c.clone()))
        .map_err(|e| Error::Internal(format!("metrics: {e}")))?;
    Ok(c)
}

fn err(e: prometheus::Error) -> Error {
    Error::Internal(format!("metrics: {e}"))
}

fn counter(r: &Registry, name: &str, help: &str) -> Result<IntCounter> {
    reg(r, IntCounter::new(name, help).map_err(err)?)
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec> {
    reg(
        r,
        IntCounterVec::new(Opts::new(name, help), labels).map_err(err)?,
    )
}

/// Advance `c` to `total` (a count kept elsewhere, never decreasing).
fn advance(c: &IntCounter, total: u64) {
    c.inc_by(total.saturating_sub(c.get()));
}

/// Add the collector of this process's CPU, memory, threads and file
/// descriptors (`feedlab_process_*`) to `r`.
fn register_process(r: Registry) -> Result<Registry> {
    let pc = prometheus::process_collector::ProcessCollector::for_self();
    r.register(Box::new(pc)).map_err(err)?;
    Ok(r)
}

fn histogram_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<HistogramVec> {
    let buckets = vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let opts = HistogramOpts::new(name, help).buckets(buckets);
    reg(r, HistogramVec::new(opts, labels).map_err(err)?)
}

impl Metrics {
    /// A fresh registry with every family registered.
    pub fn new() -> Result<Self> {
        let r = Registry::new_custom(Some("feedlab".into()), None).map_err(err)?;
        let labels = ["router", "route", "status"];
        Ok(Metrics {
            http_requests: counter_vec(&r, "http_requests_total", "HTTP requests", &labels)?,
            http_seconds: histogram_vec(&r, "http_request_seconds", "HTTP latency", &labels[..2])?,
            http_shed: counter_vec(
                &r,
                "http_shed_total",
                "requests refused with 503 by admission control",
                &["group"],
            )?,
            uploads: counter(&r, "uploads_total", "acknowledged uploads")?,
            upload_bytes: counter(&r, "upload_bytes_total", "bytes uploaded")?,
            timeline_writes: counter(&r, "timeline_writes_total", "timeline entries written")?,
            fanout_seconds: histogram_vec(
                &r,
                "fanout_seconds",
                "ack to fan-out applied",
                &["task"],
            )?,
            fanout_queue: reg(
                &r,
                IntGauge::new("fanout_queue", "materializer tasks pending").map_err(err)?,
            )?,
            shard_ops: counter_vec(
                &r,
                "shard_ops_total",
                "operations per shard",
                &["shard", "kind"],
            )?,
            cache: counter_vec(&r, "cache_lookups_total", "metadata cache", &["result"])?,
            blob_upkeep: counter_vec(
                &r,
                "blob_upkeep_total",
                "local blob read repair and scrub, since start",
                &["kind"],
            )?,
            id_collisions: counter(
                &r,
                "id_collisions_total",
                "photo ids found taken and retried",
            )?,
            outbox_applied: counter(&r, "outbox_applied_total", "outbox tasks applied")?,
            outbox_claims: counter(&r, "outbox_claims_total", "outbox rows taken over")?,
            scrape: parking_lot::Mutex::new(()),
            registry: register_process(r)?,
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
        let _one_scrape = m.scrape.lock();
        for l in self.inner.shards.loads() {
            let s = l.shard.to_string();
            for (kind, v) in [
                ("read", l.reads),
                ("scan", l.scans),
                ("write", l.writes),
                ("wait_us", l.wait_us),
                ("refused", l.refused),
            ] {
                advance(&m.shard_ops.with_label_values(&[&s, kind]), v);
            }
        }
        advance(
            &m.cache.with_label_values(&["hit"]),
            self.inner.cache.hits(),
        );
        advance(
            &m.cache.with_label_values(&["miss"]),
            self.inner.cache.misses(),
        );
        m.fanout_queue.set(self.inner.fanout_queue.pending() as i64);
        if let Some(local) = self.inner.blobs.as_local() {
            let i = local.integrity();
            for (kind, v) in [
                ("bad_copies", i.bad_copies),
                ("repaired_copies", i.repaired_copies),
                ("lost_blobs", i.lost_blobs),
                ("scrubbed_bytes", i.scrubbed_bytes),
                ("scrub_passes", i.scrub_passes),
            ] {
                advance(&m.blob_upkeep.with_label_values(&[kind]), v);
            }
        }
        m.render()
    }
}
