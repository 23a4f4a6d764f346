//! Statistics kept by the models: time-weighted averages and delay histograms.
//!
//! [`TimeAverage`] integrates a piecewise-constant integer level (busy workers,
//! queue length) over simulated time with exact `u128` arithmetic, and tracks
//! its maximum. [`DelayStats`] records durations (ns) in an hdrhistogram (3
//! significant digits, auto-resizing) plus an exact sum for the mean. Both can
//! be reset at a warm-up boundary so steady-state figures exclude the
//! transient.

use feedlab_workload::LatencyRecord;
use hdrhistogram::Histogram;

use crate::engine::SimTime;

/// Time-weighted average of an integer level that changes at event times.
#[derive(Debug, Clone, Default)]
pub struct TimeAverage {
    start: SimTime,
    last: SimTime,
    level: u64,
    area: u128,
    max: u64,
}

impl TimeAverage {
    /// A level of 0 observed from time `start`.
    pub fn new(start: SimTime) -> Self {
        TimeAverage {
            start,
            last: start,
            ..Self::default()
        }
    }

    /// The level changes to `level` at `now` (`now` must not go backwards;
    /// an earlier `now` contributes no area).
    #[inline]
    pub fn set(&mut self, now: SimTime, level: u64) {
        let dt = now.saturating_sub(self.last);
        self.area += u128::from(self.level) * u128::from(dt);
        self.last = self.last.max(now);
        self.level = level;
        self.max = self.max.max(level);
    }

    /// Current level.
    pub fn level(&self) -> u64 {
        self.level
    }

    /// Largest level seen since the last reset.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Mean level over `[start, now]`; the current level when no time passed.
    pub fn mean(&self, now: SimTime) -> f64 {
        let dt = now.saturating_sub(self.last);
        let area = self.area + u128::from(self.level) * u128::from(dt);
        let span = now.saturating_sub(self.start);
        if span == 0 {
            self.level as f64
        } else {
            area as f64 / span as f64
        }
    }

    /// Forget history: averaging restarts at `now` with the current level.
    pub fn reset(&mut self, now: SimTime) {
        *self = TimeAverage {
            start: now,
            last: now,
            level: self.level,
            area: 0,
            max: self.level,
        };
    }
}

/// A distribution of delays in nanoseconds: histogram plus exact mean.
#[derive(Debug, Clone)]
pub struct DelayStats {
    hist: Histogram<u64>,
    sum: u128,
    count: u64,
}

impl Default for DelayStats {
    fn default() -> Self {
        Self::new()
    }
}

impl DelayStats {
    /// An empty recorder (3 significant digits, grows as needed).
    pub fn new() -> Self {
        DelayStats {
            hist: Histogram::new(3).expect("3 significant figures is a valid histogram"),
            sum: 0,
            count: 0,
        }
    }

    /// Record one delay of `d` ns.
    #[inline]
    pub fn record(&mut self, d: SimTime) {
        if self.hist.record(d).is_err() {
            self.hist.saturating_record(d);
        }
        self.sum += u128::from(d);
        self.count += 1;
    }

    /// Number of delays recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean delay in ns (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Delay at quantile `q` in ns (histogram precision, 0.1%); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.hist.value_at_quantile(q.clamp(0.0, 1.0))
        }
    }

    /// The underlying histogram (ns), e.g. to merge into a report.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// Forget every recorded delay.
    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum = 0;
        self.count = 0;
    }

    /// The delays as a latency record in milliseconds, with the curve at
    /// [`feedlab_workload::PERCENTILES`].
    pub fn summary(&self) -> LatencyRecord {
        let ms = |v: f64| v / 1e6;
        let max = if self.count == 0 {
            0.0
        } else {
            self.hist.max() as f64
        };
        LatencyRecord::of_quantiles(self.count, ms(self.mean()), ms(max), |q| {
            ms(self.quantile(q) as f64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_average_integrates_levels() {
        let mut t = TimeAverage::new(0);
        t.set(10, 2); // level 0 on [0,10)
        t.set(20, 1); // level 2 on [10,20)
        // level 1 on [20,40): area = 0 + 20 + 20 = 40 over 40
        assert!((t.mean(40) - 1.0).abs() < 1e-12);
        assert_eq!(t.max(), 2);
        t.reset(40);
        assert!((t.mean(50) - 1.0).abs() < 1e-12);
        assert_eq!(t.max(), 1);
    }

    #[test]
    fn delay_stats_mean_and_quantiles() {
        let mut d = DelayStats::new();
        for v in 1..=1000u64 {
            d.record(v * 1000);
        }
        assert_eq!(d.count(), 1000);
        assert!((d.mean() - 500_500.0).abs() < 1e-6);
        let p99 = d.quantile(0.99) as f64;
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.002, "{p99}");
        d.reset();
        assert_eq!(d.quantile(0.5), 0);
    }
}
