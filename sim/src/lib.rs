//! `feedlab-sim`: a seeded, single-threaded discrete-event simulator.
//!
//! It models the photo service at full scale (300M users) with queues instead
//! of real stores. Everything here is deterministic: simulated time is integer
//! nanoseconds, every random draw comes from a ChaCha8 stream derived from the
//! run seed ([`rng_stream`]), and no wall clock is ever read, so a run
//! reproduces bit for bit.
//!
//! Layers:
//! - [`engine`]: the clock, the time-ordered event queue and the [`Model`] trait;
//! - [`dist`]: service-time and latency distributions (exponential,
//!   deterministic, log-normal from mean/p99, empirical from calibration
//!   quantiles) and the network hop;
//! - building blocks, all passive (the caller schedules what they return):
//!   [`station`] (c workers + FIFO; connection pools with reject-or-queue),
//!   [`join`] (fan-in of k sub-requests), [`ratequeue`] (the rate-limited
//!   batching materializer), [`ps`] (processor sharing) and [`sliced`] (time slices): a node's CPU cores,
//!   behind [`cores`], and [`threads`] (the threads in front of them);
//! - [`stats`]: time averages and delay histograms;
//! - validation: [`theory`] (Erlang C) and [`mod@mmc`] (the M/M/c model);
//! - [`model`]: the photo service at full scale (app servers, shards, blob
//!   store, cache, materializer) fed by the workload model, with service
//!   times from a calibration file.

pub mod cores;
pub mod dist;
pub mod engine;
pub mod error;
pub mod join;
pub mod mmc;
pub mod model;
pub mod ps;
mod queue;
pub mod ratequeue;
pub mod sliced;
pub mod station;
pub mod stats;
pub mod theory;
pub mod threads;

pub use cores::Cores;
pub use dist::{DistSpec, Empirical, NetHop, ServiceDist};
pub use engine::{Engine, Model, SimTime, rng_stream};
pub use error::{Error, Result};
pub use join::{JoinId, Joined, Joins};
pub use mmc::{MmcParams, MmcResult, mmc, mmc_with};
pub use ps::{PsStation, PsStats, Tick};
pub use ratequeue::{RateQueue, RateQueueStats};
pub use sliced::SlicedStation;
pub use station::{Acquire, Admission, ConnPool, PoolStats, QueueLimit, Started, Station};
pub use stats::{DelayStats, TimeAverage};
pub use theory::{MmcTheory, erlang_c};
pub use threads::Threaded;
