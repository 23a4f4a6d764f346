//! The S3 side of the shared test helpers: whether the suite runs on the S3
//! blob backend (`FEEDLAB_TEST_BLOB=s3`), the per-test S3 settings read from
//! the `FEEDLAB_S3_*` environment (skipping, or failing under
//! `FEEDLAB_REQUIRE_S3=1`, when no endpoint is set), and the unique object-name
//! prefixes that keep runs from colliding.

use feedlab_system::service::S3Config;

/// True when `FEEDLAB_TEST_BLOB=s3`: the suite runs on the S3 backend.
pub fn test_blob_is_s3() -> bool {
    std::env::var("FEEDLAB_TEST_BLOB").as_deref() == Ok("s3")
}

/// The S3 settings for one test from the `FEEDLAB_S3_*` environment
/// (`scripts/s3-dev env`), with a key prefix unique to this call so runs
/// never collide. When `FEEDLAB_S3_ENDPOINT` is unset: prints the skip line
/// and returns `None` — or panics if `FEEDLAB_REQUIRE_S3=1`.
pub fn s3_config(test: &str) -> Option<S3Config> {
    let set = std::env::var("FEEDLAB_S3_ENDPOINT").is_ok_and(|v| !v.is_empty());
    if !set {
        assert!(
            std::env::var("FEEDLAB_REQUIRE_S3").as_deref() != Ok("1"),
            "FEEDLAB_REQUIRE_S3=1 but FEEDLAB_S3_ENDPOINT is not set (run scripts/s3-dev start)"
        );
        // Straight to stderr: libtest captures eprint! of a passing test, and
        // a skip must be seen in plain `cargo test` output.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"S3 tests skipped: FEEDLAB_S3_ENDPOINT not set (run scripts/s3-dev start)\n",
        );
        return None;
    }
    Some(S3Config {
        prefix: unique_prefix(test),
        ..S3Config::default()
    })
}

/// `t/{test}/{pid}-{ns}-{n}/`: a fresh object-name prefix.
pub fn unique_prefix(test: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("t/{test}/{}-{ns}-{n}/", std::process::id())
}
