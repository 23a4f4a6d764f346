//! Start order, ports and credentials: feedlab waits for PD, TiKV and
//! Garage to be healthy and for garage-init (the bucket) to complete; each
//! init service waits for its store; a dependency behind a profile the
//! dependent does not share is `required: false`; every published port is
//! bound to 127.0.0.1; the S3 keys (Garage's format), bucket and Garage RPC
//! secret agree between the stores, their init services and feedlab.

use anyhow::{Context, ensure};
use serde_norway::Value;

use super::{compose, env, feedlab_command, flag_value, profiles, service, services, strings};

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
