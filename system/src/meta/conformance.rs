//! The `MetaStore` conformance suite, run on every backend.
//!
//! STUB: to be written (helper A).

use std::sync::Arc;

use super::MetaStore;

/// Run every conformance check against an empty `store`; panics on failure.
pub async fn test_suite(store: Arc<dyn MetaStore>) {
    let _ = store;
}
