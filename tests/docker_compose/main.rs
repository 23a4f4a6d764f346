//! Structure of `docker/compose.yml` and the files it uses, checked without a
//! Docker engine (the build machines have none, so the file is never started
//! here).
//!
//! Checks: by default the PD, TiKV, Garage, Garage-init and feedlab services
//! run, with official images; MinIO (quay.io, pinned RELEASE tags) is behind
//! the `minio` profile and Prometheus + Grafana behind `monitoring`; every
//! image, in compose.yml and in the Dockerfiles it builds, has a version tag
//! (not `latest`, not none) and none comes from Docker Hub's deleted `minio/`
//! repositories; every long-running service has a healthcheck; feedlab waits
//! for the others to be healthy (and for the bucket to exist); every
//! published port is bound to 127.0.0.1; the S3 credentials, region,
//! endpoint and Garage settings agree between the stores and feedlab; the
//! feedlab image strips its binary; the Grafana dashboard parses and queries
//! only metrics that `system/src/service/metrics.rs` registers; and the
//! `feedlab serve` command uses only flags that `feedlab serve --help` lists
//! (with their values parsed by the real binary).
//!
//! Layout: this file holds the shared compose.yml helpers, the interpolation
//! and mounted-paths tests; `images` checks services, profiles, images and
//! healthchecks; `wiring` the start order, ports and credentials; `garage`
//! the Garage config and init; `dashboard` the Grafana dashboard and
//! Prometheus scrape; `serve` the `feedlab serve` command line.

mod dashboard;
mod garage;
mod images;
mod serve;
mod wiring;

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use serde_norway::{Mapping, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> anyhow::Result<String> {
    let path = root().join(rel);
    std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))
}

fn compose() -> anyhow::Result<Value> {
    let text = read("docker/compose.yml")?;
    let mut v: Value = serde_norway::from_str(&text).context("compose.yml is not YAML")?;
    v.apply_merge().context("resolving << merge keys")?;
    Ok(v)
}

fn services(c: &Value) -> anyhow::Result<&Mapping> {
    c.get("services")
        .and_then(Value::as_mapping)
        .context("no services mapping")
}

fn service<'a>(c: &'a Value, name: &str) -> anyhow::Result<&'a Value> {
    c.get("services")
        .and_then(|s| s.get(name))
        .with_context(|| format!("no service {name:?}"))
}

/// Compose-style interpolation with defaults: `${VAR:-default}` → default.
fn interpolate(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let inner = &rest[i + 2..i + j];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_sequence)
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn profiles(svc: &Value) -> Vec<String> {
    strings(svc.get("profiles"))
}

fn image(c: &Value, name: &str) -> anyhow::Result<String> {
    service(c, name)?
        .get("image")
        .and_then(Value::as_str)
        .map(interpolate)
        .with_context(|| format!("{name} has no image"))
}

/// `environment.key` of a service, interpolated with its defaults.
fn env(c: &Value, svc: &str, key: &str) -> anyhow::Result<String> {
    let v = service(c, svc)?
        .get("environment")
        .and_then(|e| e.get(key))
        .and_then(Value::as_str)
        .with_context(|| format!("{svc} has no env {key}"))?;
    Ok(interpolate(v))
}

/// The interpolated `feedlab serve` command line.
fn feedlab_command(c: &Value) -> anyhow::Result<Vec<String>> {
    Ok(strings(service(c, "feedlab")?.get("command"))
        .iter()
        .map(|a| interpolate(a))
        .collect())
}

fn flag_value<'a>(command: &'a [String], flag: &str) -> Option<&'a str> {
    command
        .iter()
        .find_map(|a| a.strip_prefix(flag)?.strip_prefix('='))
}

/// The container path a service mounts `source` at (`source:target[:ro]`).
fn mount_target(svc: &Value, source: &str) -> Option<String> {
    strings(svc.get("volumes")).iter().find_map(|v| {
        let mut parts = v.split(':');
        (parts.next() == Some(source)).then(|| parts.next().map(String::from))?
    })
}

#[test]
fn interpolation_takes_defaults() {
    assert_eq!(interpolate("--x=${A:-hybrid}/${B}"), "--x=hybrid/");
    assert_eq!(interpolate("plain"), "plain");
}

#[test]
fn paths_used_by_compose_exist() -> anyhow::Result<()> {
    let c = compose()?;
    for (name, svc) in services(&c)? {
        for v in strings(svc.get("volumes")) {
            if let Some(src) = v.split(':').next().filter(|s| s.starts_with("./")) {
                let path: &Path = &root().join("docker").join(src);
                ensure!(path.exists(), "{name:?} mounts {src}, which does not exist");
            }
        }
    }
    Ok(())
}
