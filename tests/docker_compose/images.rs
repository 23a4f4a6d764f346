//! Services, profiles, images and healthchecks: by default PD, TiKV, Garage,
//! Garage-init and feedlab run, with official images; MinIO (quay.io, pinned
//! RELEASE tags) is behind the `minio` profile and Prometheus + Grafana
//! behind `monitoring`; the feedlab Dockerfile builds and strips the binary;
//! one-shot services never restart and every other service has a
//! healthcheck; every image, in compose.yml and in the `FROM` lines of the
//! Dockerfiles it builds, is pinned and not from Docker Hub's `minio/`.

use std::collections::BTreeSet;

use anyhow::{Context, bail, ensure};
use serde_norway::Value;

use super::{compose, image, interpolate, profiles, read, root, service, services, strings};

#[test]
fn services_images_and_healthchecks() -> anyhow::Result<()> {
    let c = compose()?;
    default_services_are_the_backends(&c)?;
    images_and_profiles(&c)?;
    dockerfile_strips_feedlab()?;
    healthchecks(&c)
}

/// The services without a profile are exactly pd, tikv, garage,
/// garage-init and feedlab.
fn default_services_are_the_backends(c: &Value) -> anyhow::Result<()> {
    let mut default = BTreeSet::new();
    for (name, svc) in services(c)? {
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
    Ok(())
}

/// PD, TiKV and Garage run official images; minio and minio-init are in
/// the `minio` profile with quay.io RELEASE images; prometheus and grafana
/// (if present) are in the `monitoring` profile.
fn images_and_profiles(c: &Value) -> anyhow::Result<()> {
    for (name, prefix) in [
        ("pd", "pingcap/pd:v"),
        ("tikv", "pingcap/tikv:v"),
        ("garage", "dxflrs/garage:v2."),
    ] {
        let image = image(c, name)?;
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
        let svc = service(c, name)?;
        ensure!(
            profiles(svc) == ["minio"],
            "{name}: profiles {:?}, want [minio]",
            profiles(svc)
        );
        let image = image(c, name)?;
        ensure!(
            image.starts_with(prefix),
            "{name}: image {image:?} is not {prefix}*"
        );
    }
    for name in ["prometheus", "grafana"] {
        if let Ok(svc) = service(c, name) {
            ensure!(
                profiles(svc) == ["monitoring"],
                "{name}: profiles {:?}, want [monitoring]",
                profiles(svc)
            );
        }
    }
    Ok(())
}

/// `docker/Dockerfile` builds the feedlab binary and strips it.
fn dockerfile_strips_feedlab() -> anyhow::Result<()> {
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
    Ok(())
}

/// feedlab waits for garage-init to complete; one-shot services (waited for
/// with `service_completed_successfully`) have `restart: "no"` and need no
/// healthcheck; every other service has a `[CMD|CMD-SHELL, ...]` one.
fn healthchecks(c: &Value) -> anyhow::Result<()> {
    let one_shot = one_shot_services(c)?;
    ensure!(
        one_shot.contains("garage-init"),
        "feedlab waits for the bucket"
    );
    for (name, svc) in services(c)? {
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
pub(super) fn dockerfile_bases(text: &str) -> Vec<String> {
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
