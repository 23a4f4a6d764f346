//! The one HTTP error type: every failure becomes `{ "code", "message" }`
//! with a 4xx for bad input and a 5xx only for real server faults.
//!
//! Internal details (store errors, paths) are logged, never sent: a 500
//! says only "internal error".

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Error;

/// At most one "backend unavailable" line per second: an outage fails every request that
/// needs the backend, and one line per request would bury everything else in the log.
static UNAVAILABLE_LOG: Throttle = Throttle::new(1_000);

/// A log line allowed once per `every_ms`; the next allowed line counts those held back.
struct Throttle {
    every_ms: u64,
    last_ms: AtomicU64,
    held: AtomicU64,
}

impl Throttle {
    const fn new(every_ms: u64) -> Self {
        Throttle {
            every_ms,
            last_ms: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// Whether a line may be written at `now_ms`; if so, how many were held back before it.
    fn admit(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        let due = now_ms >= last.saturating_add(self.every_ms) || last == 0;
        if due
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::AcqRel));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }

    fn warn(&self, e: &Error) {
        if let Some(held) = self.admit(crate::service::now_ms()) {
            tracing::warn!(error = %e, held_back = held, "backend unavailable");
        }
    }
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

/// The JSON body of every error response (`Error` in the OpenAPI document).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(super) struct Body<'a> {
    /// Stable machine-readable code (`invalid_input`, `unauthorized`, `overloaded`, …).
    code: &'a str,
    /// Human-readable message.
    message: &'a str,
}

impl ApiError {
    /// A 400 `invalid_input`.
    pub fn bad(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_input",
            message: message.into(),
        }
    }

    /// A 404 `not_found` for an unknown route.
    pub fn no_route() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: "no such route".into(),
        }
    }

    /// A 408 `body_timeout`: the body arrived too slowly
    /// ([`super::limits::BodyTimeout`]).
    pub fn body_timeout() -> Self {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "body_timeout",
            message: super::limits::BodyTimeout.to_string(),
        }
    }

    /// The answer to a failed read of a streamed request body: 408 when
    /// it arrived too slowly, else 400 `invalid_body`.
    pub fn from_body_error(e: axum::Error) -> Self {
        if super::limits::is_body_timeout(&e) {
            return ApiError::body_timeout();
        }
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message: format!("the request body could not be read: {e}"),
        }
    }

    /// A 405 `method_not_allowed`.
    pub fn bad_method() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "method not allowed on this route".into(),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let (status, code) = match &e {
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::InvalidInput(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Error::UnsupportedMedia(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media"),
            Error::RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable")
            }
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Error::Lost(_) => {
                // Logged with its photo id where it was found.
                return ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "data_lost",
                    message: e.to_string(),
                };
            }
            Error::Corrupt(_) | Error::Store(_) | Error::Io(_) | Error::Internal(_) => {
                tracing::error!(error = %e, "internal error");
                return ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message: "internal error".into(),
                };
            }
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            UNAVAILABLE_LOG.warn(&e);
        }
        ApiError {
            status,
            code,
            message: e.to_string(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if super::limits::is_body_timeout(&r) {
            return ApiError::body_timeout();
        }
        let status = r.status();
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "invalid_json",
        };
        ApiError {
            status: if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            code,
            message: r.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad(r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad(r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(Body {
                code: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body is not worth waiting for.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// Handler result.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::Throttle;

    #[test]
    fn a_throttle_admits_one_line_per_interval_and_counts_the_rest() {
        let t = Throttle::new(1_000);
        assert_eq!(t.admit(5_000), Some(0));
        assert_eq!(t.admit(5_400), None);
        assert_eq!(t.admit(5_999), None);
        assert_eq!(t.admit(6_000), Some(2));
        assert_eq!(t.admit(6_001), None);
        assert_eq!(t.admit(9_000), Some(1));
    }
}
