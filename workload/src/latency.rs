//! The latency record of one op kind (or of any delay), shared by the load generator, the
//! simulator and the harness's `summary.json`, with the one list of percentiles its curve
//! keeps, and the busiest-over-mean skew of a set of loads.
//!
//! A record's field names are the `summary.json` contract of `ops.<kind>`: fields may be
//! added, never renamed or removed. Fields a newer writer added are kept in `extra` on read
//! and written back unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Percentiles (in %) of the latency curve every record keeps in `percentiles`.
pub const PERCENTILES: [f64; 9] = [50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.8, 99.9];

/// Counts and latency of one op kind, or of any delay; times in ms (from the intended start
/// for the load generator's ops).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyRecord {
    /// Ops (or delays) completed successfully; failed ops are counted in `errors` only.
    pub count: u64,
    /// Ops that completed with an error (0 where nothing fails, as in the simulator).
    #[serde(default)]
    pub errors: u64,
    /// Ops that could not start (concurrency limit, or a full backlog in the simulator).
    #[serde(default)]
    pub dropped: u64,
    /// Ops the service refused under overload (503); neither errors nor drops.
    #[serde(default)]
    pub shed: u64,
    /// Completed ops per second of the measured duration (0 where no duration applies).
    #[serde(default)]
    pub rate_per_s: f64,
    /// Mean latency.
    #[serde(default)]
    pub mean_ms: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile latency.
    pub p90_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// 99.9th percentile latency.
    pub p999_ms: f64,
    /// Largest latency seen.
    pub max_ms: f64,
    /// `[percent, ms]` at [`PERCENTILES`]; empty when nothing completed.
    #[serde(default)]
    pub percentiles: Vec<(f64, f64)>,
    /// Failed ops by error code.
    #[serde(default)]
    pub error_codes: BTreeMap<String, u64>,
    /// Failed and shed ops by the service's own error code (`unavailable`, `not_found`,
    /// `overloaded`, `internal`, …), or by the driver's code where no answer carried one
    /// (`timeout`, `no_photo`, `unfinished`, …); absent where nothing failed or nothing counts
    /// them (the simulator).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failure_codes: BTreeMap<String, u64>,
    /// Fields beyond the contract, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl LatencyRecord {
    /// The latency fields of `count` delays from `quantile_ms(q)` (`q` in 0..=1, ms), their
    /// mean and maximum; every latency is 0 and the curve empty when `count` is 0. Counts
    /// other than `count` and the rate are 0, for the caller to set.
    pub fn of_quantiles(
        count: u64,
        mean_ms: f64,
        max_ms: f64,
        quantile_ms: impl Fn(f64) -> f64,
    ) -> Self {
        let q = |p: f64| if count == 0 { 0.0 } else { quantile_ms(p) };
        LatencyRecord {
            count,
            mean_ms: if count == 0 { 0.0 } else { mean_ms },
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: if count == 0 { 0.0 } else { max_ms },
            percentiles: if count == 0 {
                Vec::new()
            } else {
                PERCENTILES.iter().map(|&p| (p, q(p / 100.0))).collect()
            },
            ..LatencyRecord::default()
        }
    }
}

/// The busiest load over the mean load (1.0 when nothing ran or there is nothing to load):
/// the shard skew of `summary.json`.
pub fn max_over_mean(loads: &[f64]) -> f64 {
    let total: f64 = loads.iter().sum();
    if loads.is_empty() || total <= 0.0 {
        return 1.0;
    }
    let mean = total / loads.len() as f64;
    loads.iter().copied().fold(0.0, f64::max) / mean
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_record_has_no_curve_and_zero_latencies() {
        let r = LatencyRecord::of_quantiles(0, 5.0, 9.0, |_| 7.0);
        assert_eq!(r.p99_ms, 0.0);
        assert_eq!(r.max_ms, 0.0);
        assert!(r.percentiles.is_empty());
    }

    #[test]
    fn the_curve_follows_the_percentile_list() {
        let r = LatencyRecord::of_quantiles(10, 1.0, 9.0, |q| q * 10.0);
        assert_eq!(r.percentiles.len(), PERCENTILES.len());
        assert_eq!(r.percentiles[0], (50.0, 5.0));
        assert_eq!(r.p99_ms, 9.9);
    }

    #[test]
    fn unknown_fields_round_trip() {
        let v = serde_json::json!({ "count": 1, "errors": 0, "dropped": 0, "rate_per_s": 1.0,
            "p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 1.0, "p999_ms": 1.0, "max_ms": 1.0,
            "p75_ms": 1.0 });
        let r: LatencyRecord = serde_json::from_value(v).expect("a record");
        assert_eq!(r.extra.get("p75_ms"), Some(&serde_json::json!(1.0)));
    }

    #[test]
    fn skew_is_the_busiest_over_the_mean() {
        assert_eq!(max_over_mean(&[1.0, 3.0]), 1.5);
        assert_eq!(max_over_mean(&[]), 1.0);
        assert_eq!(max_over_mean(&[0.0, 0.0]), 1.0);
    }
}
