//! feedlab-workload: the workload model and the open-loop driver.
//!
//! - [`Population`]: a parametric population (300M users by default) whose user attributes are
//!   pure functions of `(seed, user id)`; [`FollowSampler`] and [`FollowGraph`] give its Chung–Lu
//!   follow graph; [`scaled`] materializes the live sub-population; [`Population::sample_users`]
//!   and [`write_csv`] back `feedlab population --sample N`.
//! - [`fit`]: power-law fits (Clauset–Shalizi–Newman) used to check the realized distributions.
//!
//! Everything random is seeded; equal seeds and configs give equal outputs.

pub mod error;
pub mod fit;
pub mod hash;
pub mod math;
pub mod powerlaw;

mod graph;
mod population;
mod sample;
mod sampler;

pub use error::{Error, Result};
pub use graph::{FollowGraph, FollowerIndex, scaled};
pub use population::{Population, PopulationConfig, UserAttrs};
pub use sample::{SampleRow, write_csv};
pub use sampler::{DEFAULT_THRESHOLD, FollowSampler, SamplerStats};
