//! Garage: `docker/garage.toml` (one node, replication factor 1, no
//! `rpc_secret` in the file) is mounted by garage and garage-init, whose
//! volumes hold its `metadata_dir` and `data_dir`; its RPC address is the
//! garage service; its S3 region and port are feedlab's `--s3-region` and
//! `--s3-endpoint`; garage-init is built from the garage service's image;
//! and `garage-init.sh` passes `sh -n` and runs the `scripts/s3-dev` steps.

use std::process::Command;

use anyhow::{Context, ensure};
use serde_norway::Value;

use super::images::dockerfile_bases;
use super::{
    compose, feedlab_command, flag_value, image, interpolate, mount_target, read, root, service,
};

#[test]
fn garage_config_matches_compose_and_feedlab() -> anyhow::Result<()> {
    let c = compose()?;
    let cfg: toml::Value =
        toml::from_str(&read("docker/garage.toml")?).context("docker/garage.toml is not TOML")?;
    config_matches_mounts(&c, &cfg)?;
    feedlab_dials_garage_s3(&c, &cfg)?;
    init_runs_the_server_release(&c)?;
    init_script_sets_up_the_bucket()
}

/// The value at `path` in garage.toml.
fn get(cfg: &toml::Value, path: &[&str]) -> anyhow::Result<toml::Value> {
    let mut v = cfg;
    for k in path {
        v = v
            .get(k)
            .with_context(|| format!("garage.toml has no {path:?}"))?;
    }
    Ok(v.clone())
}

/// The string at `path` in garage.toml.
fn get_str(cfg: &toml::Value, path: &[&str]) -> anyhow::Result<String> {
    get(cfg, path)?
        .as_str()
        .map(String::from)
        .with_context(|| format!("garage.toml {path:?} is not a string"))
}

/// garage.toml has `replication_factor = 1` and no `rpc_secret`; garage and
/// garage-init mount it at /etc/garage.toml; the garage-meta volume is its
/// `metadata_dir` in both, garage-data its `data_dir` in garage; and
/// `rpc_public_addr` is on the garage service.
fn config_matches_mounts(c: &Value, cfg: &toml::Value) -> anyhow::Result<()> {
    ensure!(
        get(cfg, &["replication_factor"])?.as_integer() == Some(1),
        "one node: replication_factor = 1"
    );
    ensure!(
        cfg.get("rpc_secret").is_none(),
        "rpc_secret comes from GARAGE_RPC_SECRET, not the file"
    );
    let garage = service(c, "garage")?;
    let init = service(c, "garage-init")?;
    for (name, svc) in [("garage", garage), ("garage-init", init)] {
        ensure!(
            mount_target(svc, "./garage.toml").as_deref() == Some("/etc/garage.toml"),
            "{name} mounts ./garage.toml at /etc/garage.toml"
        );
    }
    let meta = get_str(cfg, &["metadata_dir"])?;
    ensure!(
        mount_target(garage, "garage-meta").as_deref() == Some(meta.as_str()),
        "garage keeps {meta} in the garage-meta volume"
    );
    ensure!(
        mount_target(init, "garage-meta").as_deref() == Some(meta.as_str()),
        "garage-init reads the node key from {meta}"
    );
    ensure!(
        mount_target(garage, "garage-data").as_deref()
            == Some(get_str(cfg, &["data_dir"])?.as_str()),
        "garage keeps data_dir in the garage-data volume"
    );
    ensure!(
        get_str(cfg, &["rpc_public_addr"])?.starts_with("garage:"),
        "the CLI in garage-init dials the garage service"
    );
    Ok(())
}

/// feedlab's `--s3-region` is Garage's `s3_api.s3_region`, and its
/// `--s3-endpoint` is `http://garage:<port of s3_api.api_bind_addr>`.
fn feedlab_dials_garage_s3(c: &Value, cfg: &toml::Value) -> anyhow::Result<()> {
    let command = feedlab_command(c)?;
    let region = flag_value(&command, "--s3-region").context("--s3-region")?;
    ensure!(
        get_str(cfg, &["s3_api", "s3_region"])? == region,
        "Garage signs for region {:?}, feedlab for {region:?}",
        get_str(cfg, &["s3_api", "s3_region"])?
    );
    let port = get_str(cfg, &["s3_api", "api_bind_addr"])?
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let endpoint = flag_value(&command, "--s3-endpoint").context("--s3-endpoint")?;
    ensure!(
        endpoint == format!("http://garage:{port}"),
        "feedlab's default endpoint {endpoint:?} is Garage's S3 API (port {port})"
    );
    Ok(())
}

/// The init image runs the garage CLI of the same release as the server:
/// garage-init's `build.args.GARAGE_IMAGE` and the default in
/// garage-init.Dockerfile are the garage service's image.
fn init_runs_the_server_release(c: &Value) -> anyhow::Result<()> {
    let init = service(c, "garage-init")?;
    let args = init.get("build").and_then(|b| b.get("args"));
    let arg = args
        .and_then(|a| a.get("GARAGE_IMAGE"))
        .and_then(Value::as_str)
        .context("garage-init build.args.GARAGE_IMAGE")?;
    ensure!(
        interpolate(arg) == image(c, "garage")?,
        "garage-init is built from {arg}, garage runs {}",
        image(c, "garage")?
    );
    let df = read("docker/garage-init.Dockerfile")?;
    ensure!(
        dockerfile_bases(&df).contains(&image(c, "garage")?),
        "garage-init.Dockerfile's default GARAGE_IMAGE is the garage service's image"
    );
    Ok(())
}

/// garage-init.sh does the steps of `scripts/s3-dev start` and, where `sh`
/// exists, passes `sh -n`.
fn init_script_sets_up_the_bucket() -> anyhow::Result<()> {
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
