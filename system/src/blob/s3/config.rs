//! [`S3Config`]: where the S3 blob backend ([`super::S3BlobStore`]) stores
//! objects and with which credentials, as `[system.s3]` and the
//! `FEEDLAB_S3_*` environment give them.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The signing region used when neither `[system.s3]` nor the environment
/// names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the S3 blob backend stores objects, and with which credentials.
///
/// A key absent from the `[system.s3]` table (or the whole table) takes its
/// value from the environment — `FEEDLAB_S3_ENDPOINT`, `FEEDLAB_S3_REGION`,
/// `FEEDLAB_S3_BUCKET`, `FEEDLAB_S3_ACCESS_KEY`, `FEEDLAB_S3_SECRET_KEY`,
/// `FEEDLAB_S3_PREFIX` — so secrets need not live in scenario files. The
/// secret key is never serialized and is redacted from `Debug`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct S3Config {
    /// Base URL, e.g. `http://127.0.0.1:3900` (path-style addressing).
    pub endpoint: String,
    /// Signing region (Garage's `s3_region`; default [`DEFAULT_REGION`]).
    pub region: String,
    /// Bucket holding the blobs (must exist).
    pub bucket: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    #[serde(skip_serializing)]
    pub secret_key: String,
    /// Prepended to every object name, so several services can share one
    /// bucket (e.g. `"run-42/"`). Empty by default.
    pub prefix: String,
    /// Per-request timeout in seconds for small objects; large objects get
    /// one more second per MiB on top. An outage fails requests within
    /// this bound instead of hanging uploads.
    pub timeout_s: u64,
}

/// The environment variable that supplies an absent `[system.s3]` key.
pub fn s3_env_var(key: &str) -> String {
    format!("FEEDLAB_S3_{}", key.replace('-', "_").to_uppercase())
}

impl Default for S3Config {
    fn default() -> Self {
        let env = |k: &str, d: &str| std::env::var(s3_env_var(k)).unwrap_or_else(|_| d.into());
        S3Config {
            endpoint: env("endpoint", ""),
            region: env("region", DEFAULT_REGION),
            bucket: env("bucket", ""),
            access_key: env("access-key", ""),
            secret_key: env("secret-key", ""),
            prefix: env("prefix", ""),
            timeout_s: 30,
        }
    }
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("prefix", &self.prefix)
            .field("timeout_s", &self.timeout_s)
            .finish()
    }
}

impl S3Config {
    /// Reject a configuration the S3 backend cannot start with, naming the
    /// missing key and its environment variable.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("endpoint", &self.endpoint),
            ("region", &self.region),
            ("bucket", &self.bucket),
            ("access-key", &self.access_key),
            ("secret-key", &self.secret_key),
        ] {
            if v.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "blob = \"s3\" needs s3.{name} (or env {}); `scripts/s3-dev start` prints a working set",
                    s3_env_var(name)
                )));
            }
        }
        if self.timeout_s == 0 {
            return Err(Error::InvalidInput(
                "s3.timeout-s must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
