//! Local replicated `BlobStore` backend.
//!
//! STUB: to be written (helper B).

/// Blob store over N local replica directories.
#[derive(Debug)]
pub struct LocalBlobStore {}
