//! The one error type of `feedlab-system`.
//!
//! Every fallible function in the crate returns [`Result`]. The variants are
//! chosen so the HTTP layer can map each to a status code and a stable JSON
//! `code` without looking at message text: input problems are 4xx, backend
//! trouble that may pass is [`Error::Unavailable`] (503), and everything else
//! is a real server fault (500).

use thiserror::Error;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the reference service and its stores.
#[derive(Debug, Error)]
pub enum Error {
    /// The named thing does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request or argument is malformed (400).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// No or an unknown bearer token (401).
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// Authenticated, but acting on someone else's behalf (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The body is larger than the configured limit (413).
    #[error("payload too large: limit is {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes that was exceeded.
        limit: u64,
    },
    /// The bytes are not one of the accepted media types (415).
    #[error("unsupported media: {0}")]
    UnsupportedMedia(String),
    /// A byte range outside the object (416).
    #[error("range not satisfiable for an object of {size} bytes")]
    RangeNotSatisfiable {
        /// The object's size in bytes.
        size: u64,
    },
    /// A conflicting state, e.g. a duplicate unique key (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A backend is down or overloaded; retrying later may succeed (503).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// Stored bytes that should exist have no good copy left on any replica
    /// (500 with its own code, `data_lost`): repair needs a backup.
    #[error("data lost: {0}")]
    Lost(String),
    /// Stored data failed its checksum on every replica (500).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A storage engine reported a fault (500).
    #[error("store error: {0}")]
    Store(String),
    /// Operating-system I/O failure (500).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or broken invariant (500).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// True when the operation may succeed if retried later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}
