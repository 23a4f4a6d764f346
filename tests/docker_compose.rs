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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
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

#[test]
fn interpolation_takes_defaults() {
    assert_eq!(interpolate("--x=${A:-hybrid}/${B}"), "--x=hybrid/");
    assert_eq!(interpolate("plain"), "plain");
}

#[test]
fn services_images_and_healthchecks() -> anyhow::Result<()> {
    let c = compose()?;
    let mut default = BTreeSet::new();
    for (name, svc) in services(&c)? {
        if profiles(svc).is_empty() {
            default.insert(name.as_str().context("service name")?.to_string());
        }
    }
    let want: BTreeSet<String> = ["pd", "tikv", "garage", "garage-init", "feedlab"]
        .map(String::from)
        .into();
    ensure!(
        default == want,
        "services without a profile: {default:?}, want {want:?}"
    );
    for (name, prefix) in [
        ("pd", "pingcap/pd:v"),
        ("tikv", "pingcap/tikv:v"),
        ("garage", "dxflrs/garage:v2."),
    ] {
        let image = image(&c, name)?;
        ensure!(
            image.starts_with(prefix),
            "{name}: image {image:?} is not {prefix}*"
        );
    }
    // MinIO is an option: a profile, frozen quay.io images.
    for (name, prefix) in [
        ("minio", "quay.io/minio/minio:RELEASE."),
        ("minio-init", "quay.io/minio/mc:RELEASE."),
    ] {
        let svc = service(&c, name)?;
        ensure!(
            profiles(svc) == ["minio"],
            "{name}: profiles {:?}, want [minio]",
            profiles(svc)
        );
        let image = image(&c, name)?;
        ensure!(
            image.starts_with(prefix),
            "{name}: image {image:?} is not {prefix}*"
        );
    }
    for name in ["prometheus", "grafana"] {
        if let Ok(svc) = service(&c, name) {
            ensure!(
                profiles(svc) == ["monitoring"],
                "{name}: profiles {:?}, want [monitoring]",
                profiles(svc)
            );
        }
    }

    let df = read("docker/Dockerfile")?;
    ensure!(
        df.contains("--bin feedlab"),
        "the Dockerfile builds feedlab"
    );
    ensure!(
        df.contains("profile.release.strip=true")
            || df
                .lines()
                .any(|l| l.trim_start().starts_with("RUN") && l.contains("strip ")),
        "the Dockerfile strips the feedlab binary"
    );

    // One-shot services (waited for with service_completed_successfully)
    // need no healthcheck; every other service must have one.
    let one_shot = one_shot_services(&c)?;
    ensure!(
        one_shot.contains("garage-init"),
        "feedlab waits for the bucket"
    );
    for (name, svc) in services(&c)? {
        let name = name.as_str().context("service name")?;
        if one_shot.contains(name) {
            ensure!(
                svc.get("restart").and_then(Value::as_str) == Some("no"),
                "{name}: a one-shot service must not restart"
            );
            continue;
        }
        let test = strings(svc.get("healthcheck").and_then(|h| h.get("test")));
        ensure!(
            matches!(test.first().map(String::as_str), Some("CMD" | "CMD-SHELL"))
                && test.len() >= 2,
            "{name}: healthcheck.test must be [CMD|CMD-SHELL, ...], got {test:?}"
        );
    }
    Ok(())
}

fn one_shot_services(c: &Value) -> anyhow::Result<BTreeSet<String>> {
    let mut one_shot = BTreeSet::new();
    for (_, svc) in services(c)? {
        if let Some(deps) = svc.get("depends_on").and_then(Value::as_mapping) {
            for (dep, cond) in deps {
                let done = cond.get("condition").and_then(Value::as_str)
                    == Some("service_completed_successfully");
                if let (true, Some(dep)) = (done, dep.as_str()) {
                    one_shot.insert(dep.to_string());
                }
            }
        }
    }
    Ok(one_shot)
}

/// Why `image` is not a pinned, pullable reference, if it is not.
fn unpinned(image: &str) -> Option<&'static str> {
    let name = image.split('@').next().unwrap_or(image);
    let has_digest = image.contains("@sha256:");
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t);
    let path = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .or_else(|| name.strip_prefix("registry-1.docker.io/"))
        .unwrap_or(name);
    if path.starts_with("minio/") {
        return Some("Docker Hub's minio/ repositories were deleted (use quay.io/minio/...)");
    }
    match tag {
        Some("latest") => Some("tag `latest`"),
        Some("") => Some("empty tag"),
        None if !has_digest => Some("no tag"),
        _ => None,
    }
}

#[test]
fn unpinned_spots_latest_and_docker_hub_minio() {
    assert_eq!(unpinned("pingcap/pd:v8.5.0"), None);
    assert_eq!(
        unpinned("quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z"),
        None
    );
    assert_eq!(unpinned("localhost:5000/x:1.0"), None);
    assert_eq!(unpinned("busybox@sha256:abc"), None);
    assert!(unpinned("localhost:5000/x").is_some());
    assert!(unpinned("busybox").is_some());
    assert!(unpinned("busybox:latest").is_some());
    assert!(unpinned("minio/minio:RELEASE.2025-04-22T22-12-26Z").is_some());
    assert!(unpinned("docker.io/minio/mc:RELEASE.2025-04-16T18-13-26Z").is_some());
}

/// Base images of a Dockerfile, with `ARG` defaults substituted; stage
/// names and `scratch` are left out.
fn dockerfile_bases(text: &str) -> Vec<String> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut stages = BTreeSet::new();
    let mut bases = Vec::new();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match words.next().map(str::to_ascii_uppercase).as_deref() {
            Some("ARG") => {
                if let Some((k, v)) = words.next().and_then(|a| a.split_once('=')) {
                    args.push((k.to_string(), v.trim_matches('"').to_string()));
                }
            }
            Some("FROM") => {
                let mut image = words
                    .by_ref()
                    .find(|w| !w.starts_with("--"))
                    .unwrap_or_default()
                    .to_string();
                for (k, v) in &args {
                    image = image
                        .replace(&format!("${{{k}}}"), v)
                        .replace(&format!("${k}"), v);
                }
                if let (Some(r#as), Some(stage)) = (words.next(), words.next())
                    && r#as.eq_ignore_ascii_case("as")
                {
                    stages.insert(stage.to_string());
                }
                if image != "scratch" && !stages.contains(&image) {
                    bases.push(image);
                }
            }
            _ => {}
        }
    }
    bases
}

#[test]
fn every_image_is_pinned_and_pullable() -> anyhow::Result<()> {
    let c = compose()?;
    let mut checked = 0;
    for (name, svc) in services(&c)? {
        let name = name.as_str().context("service name")?;
        if let Some(image) = svc.get("image").and_then(Value::as_str) {
            let image = interpolate(image);
            if let Some(why) = unpinned(&image) {
                bail!("{name}: image {image:?}: {why}");
            }
            checked += 1;
        } else {
            ensure!(svc.get("build").is_some(), "{name}: no image and no build");
        }
        // Dockerfiles built here: their FROM lines are pulled too.
        if let Some(build) = svc.get("build") {
            let context = build.get("context").and_then(Value::as_str).unwrap_or(".");
            let file = build
                .get("dockerfile")
                .and_then(Value::as_str)
                .unwrap_or("Dockerfile");
            let path = root().join("docker").join(context).join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{name}: {}", path.display()))?;
            let bases = dockerfile_bases(&text);
            ensure!(!bases.is_empty(), "{name}: no FROM in {}", path.display());
            for base in bases {
                if let Some(why) = unpinned(&base) {
                    bail!("{name}: {} FROM {base:?}: {why}", path.display());
                }
                checked += 1;
            }
        }
    }
    ensure!(checked >= 8, "only {checked} images checked");
    Ok(())
}

#[test]
fn feedlab_waits_for_healthy_backends() -> anyhow::Result<()> {
    let c = compose()?;
    let deps = service(&c, "feedlab")?
        .get("depends_on")
        .and_then(Value::as_mapping)
        .context("feedlab has no depends_on mapping")?;
    for (dep, want) in [
        ("pd", "service_healthy"),
        ("tikv", "service_healthy"),
        ("garage", "service_healthy"),
        ("garage-init", "service_completed_successfully"),
    ] {
        let got = deps
            .get(dep)
            .and_then(|d| d.get("condition"))
            .and_then(Value::as_str);
        ensure!(
            got == Some(want),
            "feedlab depends_on {dep}: {got:?}, want {want}"
        );
    }
    for (svc, dep, want) in [
        ("tikv", "pd", "service_healthy"),
        ("garage-init", "garage", "service_healthy"),
        ("minio-init", "minio", "service_healthy"),
    ] {
        let got = service(&c, svc)?
            .get("depends_on")
            .and_then(|d| d.get(dep))
            .and_then(|d| d.get("condition"))
            .and_then(Value::as_str);
        ensure!(got == Some(want), "{svc} waits for {dep}: {got:?}");
    }
    // A dependency behind a profile the dependent does not share must be
    // `required: false`, or `docker compose up` without that profile fails.
    for (name, svc) in services(&c)? {
        let mine = profiles(svc);
        let Some(deps) = svc.get("depends_on").and_then(Value::as_mapping) else {
            continue;
        };
        for (dep, cond) in deps {
            let dep = dep.as_str().context("dependency name")?;
            let theirs = profiles(service(&c, dep)?);
            let shared = theirs.is_empty() || theirs.iter().any(|p| mine.contains(p));
            let required = cond.get("required").and_then(Value::as_bool) != Some(false);
            ensure!(
                shared || !required,
                "{name:?} depends on {dep} (profiles {theirs:?}) without required: false"
            );
        }
    }
    Ok(())
}

#[test]
fn ports_are_loopback_only_and_credentials_agree() -> anyhow::Result<()> {
    let c = compose()?;
    let mut published = 0;
    for (name, svc) in services(&c)? {
        for p in strings(svc.get("ports")) {
            ensure!(
                p.starts_with("127.0.0.1:"),
                "{name:?} publishes {p} beyond loopback"
            );
            published += 1;
        }
    }
    ensure!(published >= 5, "pd, garage and feedlab ports are published");

    let user = env(&c, "feedlab", "FEEDLAB_S3_ACCESS_KEY")?;
    let pass = env(&c, "feedlab", "FEEDLAB_S3_SECRET_KEY")?;
    // Garage's key format, which `garage key import` takes in every 2.x.
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    ensure!(
        user.len() == 26 && user.starts_with("GK") && hex(&user[2..]),
        "access key {user:?} is not GK + 24 hex digits"
    );
    ensure!(
        pass.len() == 64 && hex(&pass),
        "secret key is not 64 hex digits"
    );
    for svc in ["garage-init", "minio-init"] {
        ensure!(
            env(&c, svc, "FEEDLAB_S3_ACCESS_KEY")? == user,
            "{svc} access key"
        );
        ensure!(
            env(&c, svc, "FEEDLAB_S3_SECRET_KEY")? == pass,
            "{svc} secret key"
        );
    }
    ensure!(
        env(&c, "minio", "MINIO_ROOT_USER")? == user,
        "MinIO root user"
    );
    ensure!(
        env(&c, "minio", "MINIO_ROOT_PASSWORD")? == pass,
        "MinIO root password"
    );
    let bucket = flag_value(&feedlab_command(&c)?, "--s3-bucket")
        .context("--s3-bucket")?
        .to_string();
    for svc in ["garage-init", "minio-init"] {
        ensure!(env(&c, svc, "FEEDLAB_S3_BUCKET")? == bucket, "{svc} bucket");
    }
    let rpc = env(&c, "garage", "GARAGE_RPC_SECRET")?;
    ensure!(
        rpc.len() == 64 && hex(&rpc),
        "GARAGE_RPC_SECRET is 32 bytes of hex"
    );
    ensure!(
        env(&c, "garage-init", "GARAGE_RPC_SECRET")? == rpc,
        "garage-init has the node's RPC secret"
    );
    Ok(())
}

/// The container path a service mounts `source` at (`source:target[:ro]`).
fn mount_target(svc: &Value, source: &str) -> Option<String> {
    strings(svc.get("volumes")).iter().find_map(|v| {
        let mut parts = v.split(':');
        (parts.next() == Some(source)).then(|| parts.next().map(String::from))?
    })
}

#[test]
fn garage_config_matches_compose_and_feedlab() -> anyhow::Result<()> {
    let c = compose()?;
    let cfg: toml::Value =
        toml::from_str(&read("docker/garage.toml")?).context("docker/garage.toml is not TOML")?;
    let get = |path: &[&str]| -> anyhow::Result<toml::Value> {
        let mut v = &cfg;
        for k in path {
            v = v
                .get(k)
                .with_context(|| format!("garage.toml has no {path:?}"))?;
        }
        Ok(v.clone())
    };
    let s = |path: &[&str]| -> anyhow::Result<String> {
        get(path)?
            .as_str()
            .map(String::from)
            .with_context(|| format!("garage.toml {path:?} is not a string"))
    };
    ensure!(
        get(&["replication_factor"])?.as_integer() == Some(1),
        "one node: replication_factor = 1"
    );
    ensure!(
        cfg.get("rpc_secret").is_none(),
        "rpc_secret comes from GARAGE_RPC_SECRET, not the file"
    );
    let garage = service(&c, "garage")?;
    let init = service(&c, "garage-init")?;
    for (name, svc) in [("garage", garage), ("garage-init", init)] {
        ensure!(
            mount_target(svc, "./garage.toml").as_deref() == Some("/etc/garage.toml"),
            "{name} mounts ./garage.toml at /etc/garage.toml"
        );
    }
    let meta = s(&["metadata_dir"])?;
    ensure!(
        mount_target(garage, "garage-meta").as_deref() == Some(meta.as_str()),
        "garage keeps {meta} in the garage-meta volume"
    );
    ensure!(
        mount_target(init, "garage-meta").as_deref() == Some(meta.as_str()),
        "garage-init reads the node key from {meta}"
    );
    ensure!(
        mount_target(garage, "garage-data").as_deref() == Some(s(&["data_dir"])?.as_str()),
        "garage keeps data_dir in the garage-data volume"
    );
    ensure!(
        s(&["rpc_public_addr"])?.starts_with("garage:"),
        "the CLI in garage-init dials the garage service"
    );

    let command = feedlab_command(&c)?;
    let region = flag_value(&command, "--s3-region").context("--s3-region")?;
    ensure!(
        s(&["s3_api", "s3_region"])? == region,
        "Garage signs for region {:?}, feedlab for {region:?}",
        s(&["s3_api", "s3_region"])?
    );
    let port = s(&["s3_api", "api_bind_addr"])?
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let endpoint = flag_value(&command, "--s3-endpoint").context("--s3-endpoint")?;
    ensure!(
        endpoint == format!("http://garage:{port}"),
        "feedlab's default endpoint {endpoint:?} is Garage's S3 API (port {port})"
    );

    // The init image runs the garage CLI of the same release as the server.
    let args = init.get("build").and_then(|b| b.get("args"));
    let arg = args
        .and_then(|a| a.get("GARAGE_IMAGE"))
        .and_then(Value::as_str)
        .context("garage-init build.args.GARAGE_IMAGE")?;
    ensure!(
        interpolate(arg) == image(&c, "garage")?,
        "garage-init is built from {arg}, garage runs {}",
        image(&c, "garage")?
    );
    let df = read("docker/garage-init.Dockerfile")?;
    ensure!(
        dockerfile_bases(&df).contains(&image(&c, "garage")?),
        "garage-init.Dockerfile's default GARAGE_IMAGE is the garage service's image"
    );

    // The init script does the steps of scripts/s3-dev start.
    let script = read("docker/garage-init.sh")?;
    for step in [
        "layout assign",
        "layout apply",
        "key import",
        "bucket create",
        "bucket allow --read --write --owner",
    ] {
        ensure!(
            script.contains(&format!("garage {step}")),
            "garage-init.sh runs garage {step}"
        );
    }
    if let Ok(out) = Command::new("sh")
        .arg("-n")
        .arg(root().join("docker/garage-init.sh"))
        .output()
    {
        ensure!(
            out.status.success(),
            "garage-init.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

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
    for metric in &used {
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

    // Provisioned by the monitoring profile, scraping the service.
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

/// Flags (`--name`) listed by `feedlab serve --help`.
fn serve_help_flags() -> anyhow::Result<BTreeSet<String>> {
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(["serve", "--help"])
        .output()?;
    ensure!(out.status.success(), "feedlab serve --help failed");
    let help = String::from_utf8(out.stdout)?;
    Ok(help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '[' || c == '<')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(String::from)
        .collect())
}

#[test]
fn feedlab_command_uses_real_serve_flags() -> anyhow::Result<()> {
    let c = compose()?;
    let command = feedlab_command(&c)?;
    ensure!(
        command.first().map(String::as_str) == Some("serve"),
        "{command:?}"
    );
    let known = serve_help_flags()?;
    ensure!(
        known.contains("--data") && known.contains("--fanout"),
        "{known:?}"
    );
    let mut usable = vec!["serve".to_string()];
    for arg in &command[1..] {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if !flag.starts_with("--") {
            bail!("positional argument {arg:?}: use --flag=value");
        }
        ensure!(known.contains(flag), "feedlab serve has no flag {flag}");
        usable.push(arg.clone());
    }
    for must in [
        "--meta",
        "--tikv-pd",
        "--blob",
        "--s3-endpoint",
        "--s3-region",
        "--s3-bucket",
    ] {
        ensure!(
            flag_value(&command, must).is_some(),
            "the command sets {must}"
        );
    }
    // The real parser checks every value of the flags that exist.
    usable.push("--help".into());
    let out = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(&usable)
        .output()?;
    ensure!(
        out.status.success(),
        "feedlab {} rejected: {}",
        usable.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
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
