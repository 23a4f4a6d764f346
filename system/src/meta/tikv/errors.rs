//! Mapping `tikv_client` errors onto [`crate::Error`].
//!
//! Each client error falls into one [`Class`]:
//!
//! - [`Class::Conflict`]: another transaction won (a write conflict, or our
//!   transaction's lock was rolled back by a reader). Nothing was committed,
//!   so the store retries the whole transaction itself, a bounded number of
//!   times.
//! - [`Class::Retryable`]: the cluster is unreachable or busy (gRPC
//!   transport errors, PD trouble, region errors that outlived the client's
//!   own backoff, unresolved locks, an undetermined commit). Reported as
//!   [`Error::Unavailable`] (503): the caller may retry later.
//! - [`Class::Fatal`]: anything else, reported as [`Error::Store`] (500).

use tikv_client::Error as TikvError;

use crate::error::Error;

/// How the store reacts to a `tikv_client` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Lost to a concurrent transaction; nothing committed; retry the txn.
    Conflict,
    /// The cluster is unreachable or busy; the caller may retry later.
    Retryable,
    /// A fault that retrying will not fix.
    Fatal,
}

/// gRPC status codes (numeric, as in the gRPC spec) worth retrying:
/// CANCELLED, DEADLINE_EXCEEDED, ABORTED and UNAVAILABLE.
const RETRYABLE_GRPC_CODES: [i32; 4] = [1, 4, 10, 14];

/// The class of `e`.
pub fn classify(e: &TikvError) -> Class {
    match e {
        TikvError::KeyError(k) => {
            if k.conflict.is_some() || k.txn_not_found.is_some() || k.deadlock.is_some() {
                Class::Conflict
            } else if k.locked.is_some()
                || !k.retryable.is_empty()
                || k.commit_ts_expired.is_some()
            {
                Class::Retryable
            } else {
                Class::Fatal
            }
        }
        TikvError::TxnNotFound(_) => Class::Conflict,
        TikvError::MultipleKeyErrors(es) | TikvError::ExtractedErrors(es) => {
            let classes: Vec<Class> = es.iter().map(classify).collect();
            if classes.contains(&Class::Conflict) {
                Class::Conflict
            } else if classes.is_empty() || classes.contains(&Class::Fatal) {
                Class::Fatal
            } else {
                Class::Retryable
            }
        }
        TikvError::PessimisticLockError { inner, .. } => classify(inner),
        TikvError::GrpcAPI(status) => {
            if RETRYABLE_GRPC_CODES.contains(&(status.code() as i32)) {
                Class::Retryable
            } else {
                Class::Fatal
            }
        }
        TikvError::Grpc(_)
        | TikvError::Io(_)
        | TikvError::Channel(_)
        | TikvError::Canceled(_)
        | TikvError::RegionError(_)
        | TikvError::RegionForKeyNotFound { .. }
        | TikvError::RegionForRangeNotFound { .. }
        | TikvError::RegionNotFoundInResponse { .. }
        | TikvError::LeaderNotFound { .. }
        | TikvError::NoCurrentRegions
        | TikvError::EntryNotFoundInRegionCache
        | TikvError::ResolveLockError(_)
        | TikvError::UndeterminedError(_)
        // PD connection and TSO failures surface as InternalError.
        | TikvError::InternalError { .. } => Class::Retryable,
        _ => Class::Fatal,
    }
}

/// The crate error for `e`, with `what` (the operation) in the message.
pub fn map_err(what: &str, e: TikvError) -> Error {
    let msg = format!("tikv {what}: {e}");
    match classify(&e) {
        Class::Retryable => Error::Unavailable(msg),
        Class::Conflict => Error::Unavailable(format!("{msg} (transaction conflict)")),
        Class::Fatal => Error::Store(msg),
    }
}

#[cfg(test)]
mod tests {
    use tikv_client::ProtoKeyError;

    use super::*;

    fn key_error(f: impl FnOnce(&mut ProtoKeyError)) -> TikvError {
        let mut k = ProtoKeyError::default();
        f(&mut k);
        TikvError::KeyError(Box::new(k))
    }

    #[test]
    fn write_conflicts_are_conflicts() {
        let e = key_error(|k| k.conflict = Some(Default::default()));
        assert_eq!(classify(&e), Class::Conflict);
        let many = TikvError::MultipleKeyErrors(vec![
            key_error(|k| k.locked = Some(Default::default())),
            e,
        ]);
        assert_eq!(classify(&many), Class::Conflict, "any conflict wins");
        let e = key_error(|k| k.txn_not_found = Some(Default::default()));
        assert_eq!(classify(&e), Class::Conflict);
    }

    #[test]
    fn outages_are_unavailable() {
        for e in [
            key_error(|k| k.locked = Some(Default::default())),
            key_error(|k| k.retryable = "write conflict".into()),
            TikvError::InternalError {
                message: "PD cluster failed to respond".into(),
            },
            TikvError::NoCurrentRegions,
            TikvError::RegionForKeyNotFound { key: b"k".to_vec() },
            TikvError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            TikvError::UndeterminedError(Box::new(TikvError::NoCurrentRegions)),
        ] {
            assert_eq!(classify(&e), Class::Retryable, "{e}");
            assert!(map_err("get", e).is_retryable());
        }
    }

    #[test]
    fn other_faults_are_store_errors() {
        for e in [
            key_error(|k| k.abort = "bad request".into()),
            key_error(|_| {}),
            TikvError::KvError {
                message: "boom".into(),
            },
            TikvError::DuplicateKeyInsertion,
            TikvError::MultipleKeyErrors(vec![]),
            TikvError::MultipleKeyErrors(vec![
                TikvError::NoCurrentRegions,
                key_error(|k| k.abort = "x".into()),
            ]),
        ] {
            assert_eq!(classify(&e), Class::Fatal, "{e}");
            let mapped = map_err("scan", e);
            assert!(matches!(&mapped, Error::Store(m) if m.starts_with("tikv scan: ")));
        }
    }

    #[test]
    fn conflicts_that_escape_are_retryable() {
        let e = key_error(|k| k.conflict = Some(Default::default()));
        assert!(matches!(map_err("write", e), Error::Unavailable(m) if m.contains("conflict")));
    }
}
