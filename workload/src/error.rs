//! The crate's one error type.
//!
//! Configuration problems name the offending key (kebab-case, as written in a scenario file) so a
//! user can find it; everything else wraps its source. Per-operation failures during a run are not
//! errors of this kind: they are [`crate::OpError`] values counted by the driver.

/// Everything that can go wrong while building a workload or writing its outputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent with another one.
    #[error("invalid value for `{key}`: {reason}")]
    Config {
        /// The kebab-case key, e.g. `mean-followees`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The population has no daily-active user to issue operations.
    #[error("the population has no daily-active user (raise `users`, `scale` or `daily-active`)")]
    NoActiveUsers,
    /// Writing an output (e.g. the population CSV) failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// An HdrHistogram interval log could not be encoded or parsed.
    #[error("interval log: {0}")]
    Hlog(String),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a [`Error::Config`] error.
pub(crate) fn config(key: &'static str, reason: impl Into<String>) -> Error {
    Error::Config {
        key,
        reason: reason.into(),
    }
}
