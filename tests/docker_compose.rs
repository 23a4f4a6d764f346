//! Structure of `docker/compose.yml`, checked without a Docker engine (the
//! build machines have none, so the file is never started here).
//!
//! Checks: the PD, TiKV, MinIO, bucket-init and feedlab services exist with
//! official images; every long-running service has a healthcheck; feedlab
//! waits for the others to be healthy (and for the bucket to exist); every
//! published port is bound to 127.0.0.1; the S3 credentials of MinIO and
//! feedlab agree; and the `feedlab serve` command uses only flags that
//! `feedlab serve --help` lists, except a short list of flags that other
//! work is adding (reported while they are still missing). The flags that do
//! exist are also parsed by the real binary, so a bad value fails here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use serde_norway::{Mapping, Value};

fn compose() -> anyhow::Result<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/compose.yml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
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

#[test]
fn interpolation_takes_defaults() {
    assert_eq!(interpolate("--x=${A:-hybrid}/${B}"), "--x=hybrid/");
    assert_eq!(interpolate("plain"), "plain");
}

#[test]
fn services_images_and_healthchecks() -> anyhow::Result<()> {
    let c = compose()?;
    let images = [
        ("pd", "pingcap/pd:"),
        ("tikv", "pingcap/tikv:"),
        ("minio", "minio/minio:"),
        ("minio-init", "minio/mc:"),
    ];
    for (name, prefix) in images {
        let image = service(&c, name)?.get("image").and_then(Value::as_str);
        ensure!(
            image.is_some_and(|i| i.starts_with(prefix)),
            "{name}: image {image:?} is not {prefix}*"
        );
    }
    let feedlab = service(&c, "feedlab")?;
    let dockerfile = feedlab
        .get("build")
        .and_then(|b| b.get("dockerfile"))
        .and_then(Value::as_str)
        .context("feedlab has no build.dockerfile")?;
    let df = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(dockerfile))?;
    ensure!(
        df.contains("--bin feedlab"),
        "the Dockerfile builds feedlab"
    );

    // One-shot services (waited for with service_completed_successfully)
    // need no healthcheck; every other service must have one.
    let mut one_shot = BTreeSet::new();
    for (_, svc) in services(&c)? {
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
    ensure!(
        one_shot.contains("minio-init"),
        "feedlab waits for the bucket"
    );
    for (name, svc) in services(&c)? {
        let name = name.as_str().context("service name")?;
        if one_shot.contains(name) {
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
        ("minio", "service_healthy"),
        ("minio-init", "service_completed_successfully"),
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
    let tikv_waits = service(&c, "tikv")?
        .get("depends_on")
        .and_then(|d| d.get("pd"))
        .and_then(|d| d.get("condition"))
        .and_then(Value::as_str);
    ensure!(tikv_waits == Some("service_healthy"), "tikv waits for pd");
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
    ensure!(published >= 4, "pd, minio and feedlab ports are published");
    let env = |svc: &str, key: &str| -> anyhow::Result<String> {
        let v = service(&c, svc)?
            .get("environment")
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
            .with_context(|| format!("{svc} has no env {key}"))?;
        Ok(interpolate(v))
    };
    let user = env("minio", "MINIO_ROOT_USER")?;
    let pass = env("minio", "MINIO_ROOT_PASSWORD")?;
    ensure!(
        pass.len() >= 8,
        "MinIO rejects root passwords under 8 chars"
    );
    for svc in ["feedlab", "minio-init"] {
        ensure!(
            env(svc, "FEEDLAB_S3_ACCESS_KEY")? == user,
            "{svc} access key"
        );
        ensure!(
            env(svc, "FEEDLAB_S3_SECRET_KEY")? == pass,
            "{svc} secret key"
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
    let command: Vec<String> = strings(service(&c, "feedlab")?.get("command"))
        .iter()
        .map(|a| interpolate(a))
        .collect();
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
        "--s3-bucket",
    ] {
        ensure!(
            command.iter().any(|a| a.starts_with(&format!("{must}="))),
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
