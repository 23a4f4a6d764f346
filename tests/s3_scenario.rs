//! Scenario keys of the S3 blob backend, through the real binary
//! (`feedlab plan FILE --resolve`): `system.blob = "s3"` with a
//! `[system.s3]` table resolves; absent keys come from `FEEDLAB_S3_*`; the
//! secret key is never printed; an unknown key in `[system.s3]` names file,
//! line and key; `blob = "s3"` without an endpoint is a clear error. No S3
//! server is needed (nothing connects at plan time).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_feedlab");
const VARS: [&str; 6] = [
    "FEEDLAB_S3_ENDPOINT",
    "FEEDLAB_S3_REGION",
    "FEEDLAB_S3_BUCKET",
    "FEEDLAB_S3_ACCESS_KEY",
    "FEEDLAB_S3_SECRET_KEY",
    "FEEDLAB_S3_PREFIX",
];

/// `feedlab plan FILE --resolve` with exactly `env` among the S3 variables.
fn plan(path: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["plan", path.to_str().expect("utf-8"), "--resolve"])
        .env("RUST_LOG", "error");
    for v in VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run feedlab")
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s3.toml");
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let specs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    specs.into_iter().next().expect("one spec")
}

fn failed(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "want a clean failure: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

const FULL: &str = r#"[scenario]
name = "s3"

[system]
blob = "s3"

[system.s3]
endpoint = "http://127.0.0.1:3900"
region = "garage"
bucket = "photos"
access-key = "GKfile"
secret-key = "sekrit-from-file"
"#;

#[test]
fn s3_table_resolves_and_hides_the_secret() {
    let (_d, path) = file(FULL);
    let out = plan(&path, &[("FEEDLAB_S3_BUCKET", "from-env")]);
    let spec = ok(&out);
    let sys = &spec["system"];
    assert_eq!(sys["blob"], "s3");
    assert_eq!(sys["s3"]["endpoint"], "http://127.0.0.1:3900");
    assert_eq!(sys["s3"]["region"], "garage");
    assert_eq!(sys["s3"]["bucket"], "photos", "file keys beat env vars");
    assert_eq!(sys["s3"]["access-key"], "GKfile");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("sekrit-from-file"),
        "the secret key was printed"
    );
}

#[test]
fn absent_s3_keys_come_from_the_environment() {
    let (_d, path) = file("[scenario]\nname = \"s3\"\n\n[system]\nblob = \"s3\"\n");
    let env = [
        ("FEEDLAB_S3_ENDPOINT", "http://127.0.0.1:3999"),
        ("FEEDLAB_S3_BUCKET", "envbucket"),
        ("FEEDLAB_S3_ACCESS_KEY", "GKenv"),
        ("FEEDLAB_S3_SECRET_KEY", "envsecret"),
    ];
    let spec = ok(&plan(&path, &env));
    let s3 = &spec["system"]["s3"];
    assert_eq!(s3["endpoint"], "http://127.0.0.1:3999");
    assert_eq!(s3["bucket"], "envbucket");
    assert_eq!(s3["access-key"], "GKenv");
    assert_eq!(s3["region"], "us-east-1", "default region");
}

#[test]
fn unknown_s3_key_names_file_line_and_key() {
    let text = FULL.replace("bucket = \"photos\"", "buckett = \"photos\"");
    let (_d, path) = file(&text);
    let err = failed(&plan(&path, &[]));
    assert!(err.contains("s3.toml:10:"), "{err}");
    assert!(err.contains("s3.buckett"), "{err}");
}

#[test]
fn s3_without_an_endpoint_is_a_clear_error() {
    let (_d, path) = file("[scenario]\nname = \"s3\"\n\n[system]\nblob = \"s3\"\n");
    let err = failed(&plan(&path, &[]));
    assert!(
        err.contains("s3.endpoint") && err.contains("FEEDLAB_S3_ENDPOINT"),
        "{err}"
    );
    let (_d, path) = file("[scenario]\nname = \"s3\"\n\n[system]\nblob = \"s4\"\n");
    let err = failed(&plan(&path, &[]));
    assert!(err.contains("s3.toml:5:"), "{err}");
}
