//! `feedlab-system`: the reference photo service.
//!
//! Layers, bottom up:
//! - seams: [`meta::MetaStore`] (ordered KV) and [`blob::BlobStore`] (bytes);
//! - pure policies shared with the simulator: [`policy`] and [`id`];
//! - [`ids`]: photo-id sources that stay unique across app servers;
//! - [`tables`]: key layouts of the metadata tables on the ordered KV;
//! - [`shards`]: one store per physical shard with bounded concurrency;
//! - [`faults`]: run-time fault switches (slow or down shards, a paused materializer);
//! - [`service`]: upload, feed, follow, search, fan-out materializer;
//! - [`http`]: the read and write routers.

pub mod blob;
pub mod error;
pub mod faults;
pub mod http;
pub mod id;
pub mod ids;
pub mod inject;
pub mod meta;
pub mod policy;
pub mod service;
pub mod shards;
pub mod tables;
pub mod timing;

pub use error::{Error, Result};
pub use service::{Service, ServiceConfig};
