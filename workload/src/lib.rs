//! feedlab-workload: the workload model and the open-loop driver.
//!
//! - [`Population`]: a parametric population (300M users by default) whose user attributes are
//!   pure functions of `(seed, user id)`; [`FollowSampler`] and [`FollowGraph`] give its Chung–Lu
//!   follow graph; [`scaled`] materializes the live sub-population; [`Population::sample_users`]
//!   and [`write_csv`] back `feedlab population --sample N`.
//! - [`TrafficConfig`], [`Workload`] and [`OpStream`]: daily rates, the diurnal curve and a
//!   seeded non-homogeneous Poisson stream of [`PlannedOp`]s; [`Surged`] adds the extra read
//!   arrivals of [`ReadSurge`] windows (a flash crowd).
//! - [`Driver`]: the open-loop, coordinated-omission-corrected driver over any [`Target`], with
//!   per-kind hdrhistograms, drops, a per-second series and feed-freshness probes ([`RunStats`]).
//! - [`HttpTarget`]: a [`Target`] for the service's HTTP API (write and read routers), over a
//!   lean HTTP/1.1 pool with one connection per request in flight.
//! - [`hlog`]: per-op HdrHistogram interval logs (`.hlog`) of a run's latencies, written and read.
//! - [`fit`]: power-law fits (Clauset–Shalizi–Newman) used to check the realized distributions.
//!
//! Everything random is seeded; equal seeds and configs give equal outputs.

pub mod error;
pub mod fit;
pub mod hash;
pub mod hlog;
pub mod latency;
pub mod math;
pub mod powerlaw;
pub mod threshold;

mod api;
mod body;
mod conn;
mod driver;
mod followees;
mod graph;
mod http;
mod live;
mod ops;
mod pace;
mod page;
mod population;
mod sample;
mod sampler;
mod sizes;
mod stats;
mod stream;
mod surge;
mod traffic;
mod words;

pub use api::UploadBody;
pub use body::{BodyStream, content_type, upload_body};
pub use conn::ReqBody;
pub use driver::{
    Driver, DriverConfig, FollowerOf, FreshnessProbe, OpError, OpOutcome, Progress, ProgressFn,
    Target,
};
pub use error::{Error, Result};
pub use graph::{FollowGraph, FollowerIndex, scaled};
pub use http::{Endpoint, HttpConfig, HttpTarget, ServiceUser, UserDirectory, feed_ids};
pub use latency::{LatencyRecord, PERCENTILES};
pub use live::LIVE_MAX_SHARE;
pub use ops::{OpKind, Payload, PlannedOp, UploadSpec};
pub use pace::Pacer;
pub use population::{Population, PopulationConfig, UserAttrs};
pub use sample::{SampleRow, write_csv};
pub use sampler::{DEFAULT_THRESHOLD, FollowSampler, SamplerStats};
pub use sizes::SizeMix;
pub use stats::{
    FreshPoint, FreshnessStats, FreshnessSummary, KindStats, RunStats, SERIES_WINDOW_SECS,
    SecondPoint,
};
pub use stream::{Actors, OpStream, Workload};
pub use surge::{ReadSurge, SURGE_SEQ, Surged};
pub use traffic::{DAY_SECS, Diurnal, TrafficConfig};
pub use words::Vocabulary;
