//! The `[tune]` table of a scenario: which parts of the design space `feedlab tune` may
//! change, within which bounds, and how hard it looks.
//!
//! Every dimension is fixed by a single value or bounded by `{ min = .., max = .. }` (either
//! side optional); list dimensions (`fanout`, `hybrid-thresholds`) are the candidates
//! themselves. A bound that leaves no candidate (min above max, a count of 0, an empty list,
//! a ratio outside [0, 1]) is an error naming the key, which the scenario loader locates in
//! the file.

use feedlab_system::policy::FanoutKind;
use serde::{Deserialize, Serialize};

/// Most shards the partitioner accepts.
pub const MAX_SHARDS: u32 = 8192;
/// Most app servers or blob nodes of one role the search will place.
pub const MAX_NODES: u32 = 4096;

/// A count fixed to one value or bounded on either side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bound<T> {
    /// Exactly this value.
    Fixed(T),
    /// Any value within `[min, max]` (missing sides: the dimension's own limits).
    Range {
        /// Lowest allowed.
        #[serde(default)]
        min: Option<T>,
        /// Highest allowed.
        #[serde(default)]
        max: Option<T>,
    },
}

impl<T: Copy + PartialOrd> Bound<T> {
    /// `(lo, hi)` within the dimension's limits `[floor, ceil]`; `None` when nothing is left.
    pub fn within(&self, floor: T, ceil: T) -> Option<(T, T)> {
        let (lo, hi) = match *self {
            Bound::Fixed(v) => (v, v),
            Bound::Range { min, max } => (min.unwrap_or(floor), max.unwrap_or(ceil)),
        };
        let lo = if lo < floor { floor } else { lo };
        let hi = if hi > ceil { ceil } else { hi };
        // A fixed value outside the limits is excluded, not clamped.
        if let Bound::Fixed(v) = *self
            && (v < floor || v > ceil)
        {
            return None;
        }
        (lo <= hi).then_some((lo, hi))
    }
}

fn any_count() -> Bound<u32> {
    Bound::Range {
        min: None,
        max: None,
    }
}

/// `[tune]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TuneConfig {
    /// The deployment must meet every target at `headroom` × the scenario's peak. Default 1.5.
    pub headroom: f64,
    /// Model seconds simulated per candidate at the peak × headroom (higher loads simulate
    /// proportionally shorter windows, at least `min-window-s`). Default 20.
    pub window_s: f64,
    /// Shortest window at any load, model seconds. Default 1.
    pub min_window_s: f64,
    /// Largest fraction of offered ops dropped or shed that still counts as "no drops".
    /// Default 0.
    pub max_dropped: f64,
    /// Fan-out strategies tried, in this order (an early cheap answer prunes later designs).
    /// Default hybrid, push, pull.
    pub fanout: Vec<FanoutKind>,
    /// Hybrid thresholds tried (full-scale followers). Default 1,000, 10,000, 100,000.
    pub hybrid_thresholds: Vec<u64>,
    /// Metadata shards. Default any (1..=8192).
    pub shards: Bound<u32>,
    /// Read app servers (one node each). Default any.
    pub read_servers: Bound<u32>,
    /// Write app servers (one node each). Default any.
    pub write_servers: Bound<u32>,
    /// Blob-store nodes. Default any.
    pub blob_nodes: Bound<u32>,
    /// Photo rows cached per read server; default the scenario's `sim.cache.entries`.
    pub cache_entries: Option<Bound<u64>>,
    /// Copies of every shard; default the scenario's `plan.replication-factor`.
    pub replication_factor: Option<Bound<u32>>,
    /// Share of photo views a CDN serves; default from 0 (none) to the catalogue's ratio.
    pub cdn_hit_ratio: Option<Bound<f64>>,
    /// Machine type of the app servers (catalogue name); default `plan.machine`.
    pub app_machine: Option<String>,
    /// Machine type of the shard servers; default `plan.machine`.
    pub shard_machine: Option<String>,
    /// Machine type of the blob nodes; default `plan.machine`.
    pub blob_machine: Option<String>,
    /// Load multipliers of the sensitivity table (the cheapest deployment at each, with the
    /// same headroom). Default 2 and 10.
    pub sensitivity: Vec<f64>,
    /// Designs searched at each sensitivity load: the cheapest this many at the peak.
    /// Default 2.
    pub sensitivity_designs: usize,
    /// Most populations kept in memory at once: every shard count shares one, and another
    /// seed (the re-run that checks the answer) builds its own. Default 4.
    pub populations: usize,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            headroom: 1.5,
            window_s: 20.0,
            min_window_s: 1.0,
            max_dropped: 0.0,
            fanout: vec![FanoutKind::Hybrid, FanoutKind::Push, FanoutKind::Pull],
            hybrid_thresholds: vec![1_000, 10_000, 100_000],
            shards: any_count(),
            read_servers: any_count(),
            write_servers: any_count(),
            blob_nodes: any_count(),
            cache_entries: None,
            replication_factor: None,
            cdn_hit_ratio: None,
            app_machine: None,
            shard_machine: None,
            blob_machine: None,
            sensitivity: vec![2.0, 10.0],
            sensitivity_designs: 2,
            populations: 4,
        }
    }
}

/// A rejected `[tune]` key: its path under `[tune]` and what is wrong.
pub type Rejection = (&'static str, String);

impl TuneConfig {
    /// Checks every key on its own; the error names it. Machine names are checked against the
    /// catalogue by the scenario loader ([`TuneConfig::machines`]).
    pub fn validate(&self) -> Result<(), Rejection> {
        let pos = |key: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err((key, format!("must be a finite number > 0, got {v}")))
            }
        };
        if !(self.headroom.is_finite() && self.headroom >= 1.0) {
            return Err(("headroom", format!("must be ≥ 1, got {}", self.headroom)));
        }
        pos("window-s", self.window_s)?;
        pos("min-window-s", self.min_window_s)?;
        if !(0.0..=1.0).contains(&self.max_dropped) {
            return Err(("max-dropped", "must be in [0, 1]".into()));
        }
        if self.fanout.is_empty() {
            return Err((
                "fanout",
                "excludes every candidate: the list is empty".into(),
            ));
        }
        let hybrid = self.fanout.contains(&FanoutKind::Hybrid);
        if hybrid && self.hybrid_thresholds.is_empty() {
            return Err((
                "hybrid-thresholds",
                "excludes every hybrid candidate: the list is empty".into(),
            ));
        }
        if self.hybrid_thresholds.contains(&0) {
            return Err(("hybrid-thresholds", "a threshold must be ≥ 1".into()));
        }
        let counts = [
            ("shards", self.shards, MAX_SHARDS),
            ("read-servers", self.read_servers, MAX_NODES),
            ("write-servers", self.write_servers, MAX_NODES),
            ("blob-nodes", self.blob_nodes, MAX_NODES),
        ];
        for (key, b, ceil) in counts {
            if b.within(1, ceil).is_none() {
                return Err((key, excludes(&b, 1, ceil)));
            }
        }
        if let Some(b) = self.cache_entries
            && b.within(1, u64::MAX).is_none()
        {
            return Err(("cache-entries", excludes(&b, 1, u64::MAX)));
        }
        if let Some(b) = self.replication_factor
            && b.within(1, 16).is_none()
        {
            return Err(("replication-factor", excludes(&b, 1, 16)));
        }
        if let Some(b) = self.cdn_hit_ratio
            && b.within(0.0, 1.0).is_none()
        {
            return Err(("cdn-hit-ratio", excludes(&b, 0.0, 1.0)));
        }
        for l in &self.sensitivity {
            pos("sensitivity", *l)?;
        }
        if self.populations == 0 {
            return Err(("populations", "must be at least 1".into()));
        }
        Ok(())
    }

    /// The machine keys that are set: `(key, name)`.
    pub fn machines(&self) -> Vec<(&'static str, &str)> {
        [
            ("app-machine", &self.app_machine),
            ("shard-machine", &self.shard_machine),
            ("blob-machine", &self.blob_machine),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.as_deref().map(|m| (k, m)))
        .collect()
    }
}

/// "excludes every candidate" with the bound and the dimension's limits.
fn excludes<T: std::fmt::Debug>(b: &Bound<T>, floor: T, ceil: T) -> String {
    let what = match b {
        Bound::Fixed(v) => format!("{v:?}"),
        Bound::Range { min, max } => format!(
            "min {} max {}",
            min.as_ref().map_or("-".into(), |v| format!("{v:?}")),
            max.as_ref().map_or("-".into(), |v| format!("{v:?}"))
        ),
    };
    format!("excludes every candidate: {what} leaves nothing within {floor:?}..={ceil:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_clip_to_the_limits_and_empty_ones_are_named() {
        assert_eq!(Bound::Fixed(4u32).within(1, 10), Some((4, 4)));
        assert_eq!(Bound::Fixed(40u32).within(1, 10), None);
        let r = Bound::Range {
            min: Some(3u32),
            max: None,
        };
        assert_eq!(r.within(1, 10), Some((3, 10)));
        let empty = Bound::Range {
            min: Some(5u32),
            max: Some(2),
        };
        assert_eq!(empty.within(1, 10), None);
        let mut c = TuneConfig {
            shards: empty,
            ..TuneConfig::default()
        };
        assert_eq!(c.validate().map_err(|e| e.0), Err("shards"));
        c.shards = any_count();
        assert_eq!(c.validate(), Ok(()));
        c.fanout.clear();
        assert_eq!(c.validate().map_err(|e| e.0), Err("fanout"));
        let c = TuneConfig {
            cdn_hit_ratio: Some(Bound::Fixed(1.5)),
            ..TuneConfig::default()
        };
        assert_eq!(c.validate().map_err(|e| e.0), Err("cdn-hit-ratio"));
    }

    #[test]
    fn a_bound_reads_as_a_number_or_a_table() {
        let t: TuneConfig =
            toml::from_str("shards = 8\nread-servers = { min = 2 }\nfanout = [\"push\"]")
                .expect("parses");
        assert_eq!(t.shards, Bound::Fixed(8));
        assert_eq!(t.read_servers.within(1, 100), Some((2, 100)));
        assert_eq!(t.fanout, vec![FanoutKind::Push]);
    }
}
