//! Helpers shared by the root package's end-to-end tests: a tiny resolved
//! run spec, running `feedlab run` on it, and reading summary fields.
#![allow(dead_code)]

pub mod files;
pub mod schema;
pub mod serve;
pub mod simtest;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// A resolved run spec: 300 materialized users, 3 s, time compressed.
pub fn spec(variant: &str, fanout: &str, transport: &str) -> Value {
    serde_json::json!({
        "scenario": "tiny",
        "variant": variant,
        "seed": 7,
        "mode": "live",
        "duration_s": 3.0,
        "system": {
            "blob-replicas": 1,
            "fanout": { "kind": fanout },
            "sharding": { "shards": 4 }
        },
        "population": {
            "users": 3_000_000u64,
            "daily-active": 1_000_000u64,
            "mean-followees": 20.0,
            "scale": 0.0001
        },
        "traffic": {
            "speedup": 2000.0,
            "photo-mean-bytes": 20_000u64,
            "video-fraction": 0.0
        },
        "driver": { "transport": transport, "freshness-sample": 0.5 },
        "target": { "feed-p99-ms": 200.0 },
        "calibration": null
    })
}

/// Run `feedlab run` on `spec` into `out`; returns the variant's summary.
/// Fails the test if the run fails or prints no results table.
pub fn run(out: &Path, spec: &Value) -> Value {
    let file = out.join(format!(
        "{}.json",
        spec["variant"].as_str().expect("variant")
    ));
    std::fs::create_dir_all(out).expect("out dir");
    std::fs::write(&file, spec.to_string()).expect("write spec");
    let res = Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run feedlab");
    assert!(
        res.status.success(),
        "feedlab run failed: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("feed p99 ms"), "table missing: {stdout}");
    let text = std::fs::read_to_string(
        out.join(spec["variant"].as_str().expect("v"))
            .join("summary.json"),
    )
    .expect("summary.json");
    serde_json::from_str(&text).expect("summary is JSON")
}

/// The summary field at a dotted `path`; fails the test if it is missing.
pub fn field<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .unwrap_or_else(|| panic!("summary lacks {path}"))
}

/// Runs the `feedlab` binary with `args` (logging errors only) and returns
/// its output, whatever its exit code.
pub fn feedlab_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedlab"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("run feedlab")
}
