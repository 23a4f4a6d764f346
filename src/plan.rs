//! `feedlab plan`: the analytic capacity plan at full scale.
//!
//! Storage, metadata, timelines, fan-out write rates, shard and web-server
//! counts and growth by year, computed from a scenario's population, traffic
//! and `[plan]` keys — no service is run. The seed design's arithmetic comes
//! out exactly: 2M photos × 200 KB = 400 GB a day, × 365 × 5 = 730 TB
//! (decimal), which the reference design writes "712 TB" (730,000 GB ÷ 1024) and which is
//! 663.9 TiB; replication and erasure factors go on top.
//!
//! Units: KB, GB, TB are decimal (10^3, 10^9, 10^12 bytes); TiB is 2^40.

pub mod catalogue;
mod model;
mod money;
mod report;

use serde::{Deserialize, Serialize};

pub use model::{CapacityPlan, compute};
pub use report::{PlanArgs, run};

/// Fixed row sizes of the metadata tables, bytes (the reference design's "storage
/// calculation for table" style: fixed-width columns, no overheads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RowSizes {
    /// users: UserID 4 + Name 20 + Email 32 + DateOfBirth 4 + CreationDate 4 + LastLogin 4 = 68.
    pub user: u64,
    /// photos: PhotoID 8 + UserID 4 + PhotoPath 256 + PhotoLatitude 4 + PhotoLongitude 4 +
    /// UserLatitude 4 + UserLongitude 4 + CreationDate 4 = 288 (the reference design's schema with a
    /// 64-bit photo id, since our ids carry a timestamp).
    pub photo: u64,
    /// user_follow: FollowerID 4 + LeaderID 4 = 8, one row per edge.
    pub follow: u64,
    /// The reverse (followers) index the reference service keeps: LeaderID 4 + FollowerID 4
    /// = 8 per edge; 0 drops it from the plan.
    pub follower_index: u64,
    /// user_photo: UserID 4 + PhotoID 8 = 12, one row per photo.
    pub user_photo: u64,
    /// A pre-generated timeline entry: ReaderID 4 + PhotoID 8 + AuthorID 4 = 16.
    pub timeline_entry: u64,
    /// A title-index posting: term 12 (average, padded) + PhotoID 8 = 20 per title word.
    pub title_index: u64,
    /// Title words per photo; default `(1 + traffic.title-max-words) / 2` (titles have
    /// 1..=max words, uniformly).
    pub title_terms_per_photo: Option<f64>,
}

impl Default for RowSizes {
    fn default() -> Self {
        RowSizes {
            user: 4 + 20 + 32 + 4 + 4 + 4,
            photo: 8 + 4 + 256 + 4 + 4 + 4 + 4 + 4,
            follow: 4 + 4,
            follower_index: 4 + 4,
            user_photo: 4 + 8,
            timeline_entry: 4 + 8 + 4,
            title_index: 12 + 8,
            title_terms_per_photo: None,
        }
    }
}

/// The `[plan]` table of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PlanConfig {
    /// Copies of every photo and metadata row. Default 3.
    pub replication_factor: u32,
    /// Storage overhead of erasure coding as an alternative to replication, e.g. 1.5 for
    /// RS(6,3); reported side by side when set.
    pub erasure_overhead: Option<f64>,
    /// Capacity of one DB shard (and one photo storage node), TB (decimal). Default 4.
    pub shard_size_tb: f64,
    /// Concurrent connections one web server holds. Default 500.
    pub web_server_connections: u64,
    /// Years photos are kept. Default 5.
    pub retention_years: u32,
    /// Yearly growth of the upload rate (0.1 = +10 % a year; year 1 has the scenario's
    /// rate). Default 0.
    pub growth_per_year: f64,
    /// Seconds an upload holds a write-server connection; default the feed target.
    pub write_hold_s: Option<f64>,
    /// Users sampled to estimate timeline sizes. Default 200,000.
    pub sample_users: u64,
    /// Row sizes, `[plan.rows]`.
    pub rows: RowSizes,
    /// Hardware and price catalogue (relative to the scenario file); default the compiled-in
    /// `catalogue/example.toml` (example list prices).
    pub catalogue: Option<std::path::PathBuf>,
    /// Machine type of every server the plan counts, from the catalogue. Default `m7g.large`.
    pub machine: String,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            replication_factor: 3,
            erasure_overhead: None,
            shard_size_tb: 4.0,
            web_server_connections: 500,
            retention_years: 5,
            growth_per_year: 0.0,
            write_hold_s: None,
            sample_users: 200_000,
            rows: RowSizes::default(),
            catalogue: None,
            machine: "m7g.large".to_string(),
        }
    }
}

impl PlanConfig {
    /// Checks ranges; the error names the offending key (relative to `[plan]`).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.replication_factor == 0 {
            return Err(("replication-factor", "must be at least 1".into()));
        }
        if let Some(e) = self.erasure_overhead
            && !(e.is_finite() && e >= 1.0)
        {
            return Err(("erasure-overhead", format!("must be ≥ 1, got {e}")));
        }
        if !(self.shard_size_tb.is_finite() && self.shard_size_tb > 0.0) {
            return Err(("shard-size-tb", "must be > 0".into()));
        }
        if self.web_server_connections == 0 {
            return Err(("web-server-connections", "must be at least 1".into()));
        }
        if !(1..=100).contains(&self.retention_years) {
            return Err(("retention-years", "must be in 1..=100".into()));
        }
        if !(self.growth_per_year.is_finite() && self.growth_per_year > -1.0) {
            return Err(("growth-per-year", "must be a finite number > -1".into()));
        }
        if let Some(h) = self.write_hold_s
            && !(h.is_finite() && h > 0.0)
        {
            return Err(("write-hold-s", "must be > 0".into()));
        }
        if !(1..=10_000_000).contains(&self.sample_users) {
            return Err(("sample-users", "must be in 1..=10,000,000".into()));
        }
        if let Some(t) = self.rows.title_terms_per_photo
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(("rows.title-terms-per-photo", "must be ≥ 0".into()));
        }
        Ok(())
    }
}
