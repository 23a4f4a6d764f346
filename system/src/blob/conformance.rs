//! The `BlobStore` conformance suite, run on every backend.
//!
//! STUB: to be written (helper B).

use std::sync::Arc;

use super::BlobStore;

/// Run every conformance check against an empty `store`; panics on failure.
pub async fn test_suite(store: Arc<dyn BlobStore>) {
    let _ = store;
}
