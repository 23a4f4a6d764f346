//! How the `minio` client's errors become [`crate::Error`] variants.
//!
//! The rule: anything that may pass on its own — the server cannot be
//! reached, the connection broke, a timeout, HTTP 5xx, 429/408, or the S3
//! codes `InternalError`, `ServiceUnavailable`, `SlowDown`,
//! `RequestTimeout` — is [`Error::Unavailable`] (retryable; HTTP 503).
//! `NoSuchKey` is [`Error::NotFound`]; `InvalidRange` is
//! [`Error::RangeNotSatisfiable`] with a size the caller fills in from a
//! HEAD. A missing bucket, denied access or a bad signature is a
//! configuration fault: [`Error::Store`] (500), with a hint.

use std::fmt;

use minio::s3::error::{Error as MinioError, NetworkError, S3ServerError, ValidationErr};
use minio::s3::minio_error_response::MinioErrorCode;

use crate::error::Error;

/// The operation that failed, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    /// The bucket check at open.
    Check,
    /// PUT (single or multipart).
    Put,
    /// GET, whole or ranged.
    Get,
    /// HEAD (stat).
    Head,
    /// DELETE.
    Delete,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Check => "bucket check",
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Delete => "delete",
        })
    }
}

/// S3 error codes (lowercase, as the client reports unknown ones) that a
/// retry may cure.
const RETRYABLE_CODES: &[&str] = &[
    "internalerror",
    "serviceunavailable",
    "slowdown",
    "requesttimeout",
    "requesttimeouterror",
    "throttling",
    "throttlingexception",
];

/// The error for an HTTP status without a usable S3 code.
fn by_status(ctx: &str, status: u16, detail: &str) -> Error {
    if status >= 500 || status == 429 || status == 408 {
        Error::Unavailable(format!("{ctx}: HTTP {status} {detail}"))
    } else if status == 416 {
        Error::RangeNotSatisfiable { size: 0 }
    } else if status == 404 {
        Error::NotFound(ctx.to_owned())
    } else {
        Error::Store(format!("{ctx}: HTTP {status} {detail}"))
    }
}

/// Map a client error of `op` on object `name`.
pub(crate) fn map_err(op: Op, name: &str, e: MinioError) -> Error {
    let ctx = format!("s3 {op} {name}");
    match e {
        MinioError::Network(NetworkError::ServerError(status)) => by_status(&ctx, status, ""),
        MinioError::Network(NetworkError::ReqwestError(e))
        | MinioError::Validation(ValidationErr::HttpError(e)) => {
            if e.is_builder() {
                Error::Internal(format!("{ctx}: {e}"))
            } else {
                Error::Unavailable(format!("{ctx}: {}", chain(&e)))
            }
        }
        MinioError::S3Server(S3ServerError::S3Error(r)) => {
            let msg = r.message().clone().unwrap_or_default();
            match r.code() {
                MinioErrorCode::NoSuchKey => Error::NotFound(ctx),
                MinioErrorCode::NoSuchBucket => Error::Store(format!(
                    "{ctx}: the bucket does not exist (check s3.bucket): {msg}"
                )),
                MinioErrorCode::AccessDenied => Error::Store(format!(
                    "{ctx}: access denied (check s3.access-key and the bucket's permissions): {msg}"
                )),
                MinioErrorCode::OtherError(code) => {
                    let lower = code.to_lowercase();
                    if lower == "invalidrange" {
                        Error::RangeNotSatisfiable { size: 0 }
                    } else if RETRYABLE_CODES.contains(&lower.as_str()) {
                        Error::Unavailable(format!("{ctx}: {code}: {msg}"))
                    } else if let Some(status) = lower
                        .strip_prefix("http ")
                        .and_then(|s| s.trim().parse::<u16>().ok())
                    {
                        by_status(&ctx, status, &msg)
                    } else {
                        Error::Store(format!("{ctx}: {code}: {msg}"))
                    }
                }
                other => Error::Store(format!("{ctx}: {other}: {msg}")),
            }
        }
        MinioError::S3Server(S3ServerError::InvalidServerResponse {
            http_status_code,
            message,
            ..
        }) => by_status(&ctx, http_status_code, &message),
        MinioError::S3Server(S3ServerError::HttpError(status, body)) => {
            by_status(&ctx, status, &body)
        }
        MinioError::DriveIo(e) => Error::Store(format!("{ctx}: {e}")),
        MinioError::Validation(e) => Error::Store(format!("{ctx}: {e}")),
    }
}

/// An error with its sources, `a: b: c` (reqwest hides the cause, e.g.
/// "connection refused", one level down).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use minio::s3::minio_error_response::MinioErrorResponse;

    fn s3(code: MinioErrorCode) -> MinioError {
        MinioError::S3Server(S3ServerError::S3Error(Box::new(MinioErrorResponse::new(
            Default::default(),
            code,
            Some("m".into()),
            String::new(),
            String::new(),
            String::new(),
            None,
            None,
        ))))
    }

    fn status(code: u16) -> MinioError {
        MinioError::S3Server(S3ServerError::S3Error(Box::new(
            MinioErrorResponse::from_status_and_message(code, "m".into()),
        )))
    }

    #[test]
    fn server_trouble_is_retryable() {
        for e in [
            MinioError::Network(NetworkError::ServerError(503)),
            MinioError::Network(NetworkError::ServerError(500)),
            MinioError::S3Server(S3ServerError::HttpError(502, String::new())),
            s3(MinioErrorCode::OtherError("slowdown".into())),
            s3(MinioErrorCode::OtherError("InternalError".into())),
            status(503),
            status(429),
        ] {
            let got = map_err(Op::Put, "k", e);
            assert!(got.is_retryable(), "{got:?}");
        }
    }

    #[test]
    fn client_faults_are_not_retryable() {
        let got = map_err(Op::Get, "k", s3(MinioErrorCode::NoSuchKey));
        assert!(matches!(got, Error::NotFound(_)), "{got:?}");
        let got = map_err(Op::Get, "k", status(404));
        assert!(matches!(got, Error::NotFound(_)), "{got:?}");
        let got = map_err(
            Op::Get,
            "k",
            s3(MinioErrorCode::OtherError("InvalidRange".into())),
        );
        assert!(matches!(got, Error::RangeNotSatisfiable { .. }), "{got:?}");
        for code in [
            MinioErrorCode::NoSuchBucket,
            MinioErrorCode::AccessDenied,
            MinioErrorCode::OtherError("signaturedoesnotmatch".into()),
        ] {
            let got = map_err(Op::Put, "k", s3(code));
            assert!(matches!(got, Error::Store(_)), "{got:?}");
        }
        let got = map_err(Op::Put, "k", status(400));
        assert!(!got.is_retryable(), "{got:?}");
    }
}
