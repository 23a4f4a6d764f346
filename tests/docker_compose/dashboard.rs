//! Monitoring: `system/src/service/metrics.rs` still registers the metric
//! families the dashboard relies on; `docker/grafana/feedlab.json` parses,
//! has a title, queries only registered metrics (histograms through their
//! `_bucket`/`_sum`/`_count` series) and has a panel on each key family;
//! and, when the monitoring profile exists, Grafana mounts the dashboard
//! and Prometheus scrapes feedlab's `--read-addr` port.

use std::collections::BTreeSet;

use anyhow::{Context, ensure};
use serde_norway::Value;

use super::{compose, feedlab_command, flag_value, mount_target, read, service, strings};

/// Metric families registered in `system/src/service/metrics.rs`, with the
/// registry prefix, and which of them are histograms.
fn registered_metrics() -> anyhow::Result<(BTreeSet<String>, BTreeSet<String>)> {
    let src = read("system/src/service/metrics.rs")?;
    let flat: String = src.chars().filter(|c| !c.is_whitespace()).collect();
    let prefix = flat
        .split("Registry::new_custom(Some(\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("no Registry::new_custom(Some(\"prefix\"...) in metrics.rs")?;
    let mut names = BTreeSet::new();
    let mut histograms = BTreeSet::new();
    for marker in ["(&r,\"", "::new(\""] {
        let mut parts = flat.split(marker);
        let mut before = parts.next().unwrap_or_default();
        for part in parts {
            let name = part.split('"').next().unwrap_or_default();
            let full = format!("{prefix}_{name}");
            if before.ends_with("histogram_vec") {
                histograms.insert(full.clone());
            }
            names.insert(full);
            before = part;
        }
    }
    // The prometheus crate's process collector (0.14), when registered:
    // its families get the registry prefix too.
    if flat.contains("ProcessCollector") {
        for name in [
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_max_fds",
            "process_virtual_memory_bytes",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_threads",
        ] {
            names.insert(format!("{prefix}_{name}"));
        }
    }
    Ok((names, histograms))
}

/// Every `expr` (and templating query) in a dashboard.
fn queries(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition" | "query", serde_json::Value::String(s)) => {
                        out.push(s.clone())
                    }
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

#[test]
fn dashboard_queries_registered_metrics() -> anyhow::Result<()> {
    let (names, histograms) = registered_metrics()?;
    metrics_rs_registers_key_families(&names, &histograms)?;
    let used = dashboard_metrics()?;
    used_metrics_are_registered(&used, &names, &histograms)?;
    dashboard_covers_key_families(&used)?;
    monitoring_scrapes_feedlab()
}

/// metrics.rs registers the request, shed and fan-out families, and the
/// request latency is a histogram.
fn metrics_rs_registers_key_families(
    names: &BTreeSet<String>,
    histograms: &BTreeSet<String>,
) -> anyhow::Result<()> {
    for must in [
        "feedlab_http_request_seconds",
        "feedlab_http_shed_total",
        "feedlab_fanout_seconds",
    ] {
        ensure!(
            names.contains(must),
            "metrics.rs no longer registers {must}: {names:?}"
        );
    }
    ensure!(
        histograms.contains("feedlab_http_request_seconds"),
        "{histograms:?}"
    );
    Ok(())
}

/// The `feedlab_*` metric names the dashboard's queries use; the dashboard
/// must parse as JSON and have a title.
fn dashboard_metrics() -> anyhow::Result<BTreeSet<String>> {
    let dash: serde_json::Value = serde_json::from_str(&read("docker/grafana/feedlab.json")?)
        .context("docker/grafana/feedlab.json is not JSON")?;
    ensure!(
        dash.get("title").and_then(|t| t.as_str()).is_some(),
        "dashboard title"
    );
    let mut exprs = Vec::new();
    queries(&dash, &mut exprs);
    let mut used = BTreeSet::new();
    for e in &exprs {
        let mut rest = e.as_str();
        while let Some(i) = rest.find("feedlab_") {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            used.insert(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    Ok(used)
}

/// Every metric in `used` belongs to a registered family, and no histogram
/// is queried by its bare family name.
fn used_metrics_are_registered(
    used: &BTreeSet<String>,
    names: &BTreeSet<String>,
    histograms: &BTreeSet<String>,
) -> anyhow::Result<()> {
    for metric in used {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| metric.strip_suffix(s).filter(|f| histograms.contains(*f)))
            .unwrap_or(metric);
        ensure!(
            names.contains(family),
            "the dashboard queries {metric}, which metrics.rs does not register ({names:?})"
        );
        ensure!(
            !histograms.contains(metric.as_str()),
            "{metric} is a histogram: query {metric}_bucket/_sum/_count"
        );
    }
    Ok(())
}

/// The dashboard has a panel on each key metric family.
fn dashboard_covers_key_families(used: &BTreeSet<String>) -> anyhow::Result<()> {
    for family in [
        "feedlab_http_requests_total",
        "feedlab_http_request_seconds_bucket",
        "feedlab_http_shed_total",
        "feedlab_uploads_total",
        "feedlab_timeline_writes_total",
        "feedlab_fanout_seconds_bucket",
        "feedlab_fanout_queue",
        "feedlab_cache_lookups_total",
        "feedlab_shard_ops_total",
    ] {
        ensure!(
            used.contains(family),
            "the dashboard has no panel on {family}"
        );
    }
    Ok(())
}

/// Provisioned by the monitoring profile, scraping the service: if there is
/// a grafana service, it mounts the dashboard and prometheus.yml scrapes
/// `feedlab:<port of --read-addr>`.
fn monitoring_scrapes_feedlab() -> anyhow::Result<()> {
    let c = compose()?;
    if let Ok(grafana) = service(&c, "grafana") {
        ensure!(
            mount_target(grafana, "./grafana/feedlab.json").is_some(),
            "grafana mounts the dashboard"
        );
        let prom: Value = serde_norway::from_str(&read("docker/prometheus.yml")?)?;
        let read_port = flag_value(&feedlab_command(&c)?, "--read-addr")
            .and_then(|a| a.rsplit(':').next())
            .context("--read-addr")?
            .to_string();
        let targets: Vec<String> = prom
            .get("scrape_configs")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .flat_map(|s| {
                s.get("static_configs")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .flat_map(|t| strings(t.get("targets")))
                    .collect::<Vec<_>>()
            })
            .collect();
        ensure!(
            targets.contains(&format!("feedlab:{read_port}")),
            "prometheus scrapes feedlab:{read_port}, got {targets:?}"
        );
    }
    Ok(())
}
