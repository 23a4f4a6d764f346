//! The crate's one error type.
//!
//! Every fallible constructor in `feedlab-sim` (distributions, stations, queues,
//! the M/M/c driver) returns [`Result`]. Hot-path calls (arrivals, completions,
//! sampling) never fail once a component is built, except where a caller hands
//! back a handle that is no longer valid ([`Error::StaleJoin`]).

/// Errors raised by the simulator's building blocks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A model parameter is out of range (non-finite, negative, zero where a
    /// positive value is required, ...). `name` is the parameter, `reason` says why.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter name as the caller spelled it (e.g. `"mean"`, `"workers"`).
        name: &'static str,
        /// Human-readable explanation, including the offending value.
        reason: String,
    },
    /// The offered load is at or above capacity, so no steady state exists
    /// (`lambda >= c * mu`).
    #[error("unstable queue: arrival rate {lambda} >= capacity {capacity}")]
    Unstable {
        /// Arrival rate (per second).
        lambda: f64,
        /// Total service capacity `c * mu` (per second).
        capacity: f64,
    },
    /// A [`crate::JoinId`] was used after its join completed (or never existed).
    #[error("stale or unknown join id {index}/{generation}")]
    StaleJoin {
        /// Slot index carried by the id.
        index: u32,
        /// Generation carried by the id.
        generation: u32,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Build an [`Error::InvalidParam`]; shorthand used by constructors.
pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParam {
        name,
        reason: reason.into(),
    }
}

/// Check that `v` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(name, format!("must be finite and > 0, got {v}")))
    }
}
