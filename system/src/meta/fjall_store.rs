//! Embedded `MetaStore` backend on fjall.
//!
//! STUB: to be written (helper A).

/// Embedded ordered KV store on fjall.
#[derive(Debug)]
pub struct FjallStore {}
