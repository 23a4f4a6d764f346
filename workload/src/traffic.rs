//! Traffic keys of a scenario (`[traffic]`): daily operation rates, payload sizes, title words,
//! the diurnal curve and the time compression.
//!
//! Daily rates are for the full population and derive from its daily actives: feed reads =
//! actives × `feed-reads-per-active-per-day`, photo views = feed reads × `views-per-feed`, and so
//! on. A live run works on a sub-population, so every rate is multiplied by
//! [`crate::Population::rate_factor`] (≈ `scale`): the live service sees the per-user load of the
//! real one. `speedup` then compresses time: one wall second is `speedup` model seconds, so every
//! rate is multiplied by `speedup` and a day passes in `24 h / speedup`.
//!
//! The diurnal curve multiplies the mean rate by `f(hour)`, whose daily mean is exactly 1 and
//! whose maximum is `diurnal-peak` (at `peak-hour`): `1 + (p − 1)·cos θ` for `p ≤ 2`, and
//! `p·((1 + cos θ)/2)^k` with `k` solved numerically for `p > 2` (both agree at `p = 2`).

use serde::{Deserialize, Serialize};

use crate::error::{Result, config};
use crate::ops::OpKind;
use crate::population::Population;

/// Seconds in a day.
pub const DAY_SECS: f64 = 86_400.0;

/// Traffic keys; all have defaults (the original design's numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrafficConfig {
    /// New photos and videos a day, full population. Default 2M.
    pub uploads_per_day: f64,
    /// Feed reads per daily-active user per day. Default 20.
    pub feed_reads_per_active_per_day: f64,
    /// Photo fetches per feed read. Default 5.
    pub views_per_feed: f64,
    /// Searches per daily-active user per day. Default 2.
    pub searches_per_active_per_day: f64,
    /// New follows per daily-active user per day. Default 0.5.
    pub follows_per_active_per_day: f64,
    /// Unfollows as a fraction of follows. Default 0.1.
    pub unfollow_fraction: f64,
    /// `limit` of a feed read. Default 20.
    pub feed_limit: u32,
    /// `limit` of a search. Default 20.
    pub search_limit: u32,
    /// Mean photo size in bytes (lognormal around it, then clamped). Default 200,000.
    pub photo_mean_bytes: u64,
    /// Lognormal σ of photo sizes. Default 0.6.
    pub photo_sigma: f64,
    /// Smallest upload, photo or video. Default 4,096.
    pub photo_min_bytes: u64,
    /// Largest photo. Default 20,000,000.
    pub photo_max_bytes: u64,
    /// Fraction of uploads that are videos. Default 0.02.
    pub video_fraction: f64,
    /// Mean video size in bytes. Default 5,000,000.
    pub video_mean_bytes: u64,
    /// Lognormal σ of video sizes. Default 1.0.
    pub video_sigma: f64,
    /// Largest video (the service's video limit). Default 500,000,000.
    pub video_max_bytes: u64,
    /// Words in the title vocabulary. Default 10,000.
    pub title_vocabulary: u32,
    /// Zipf exponent of word popularity in titles and queries. Default 1.0.
    pub title_zipf: f64,
    /// Titles have 1 ..= this many words. Default 4.
    pub title_max_words: u32,
    /// Search queries have 1 ..= this many words. Default 2.
    pub query_max_words: u32,
    /// Peak-to-mean ratio of the daily curve, ≥ 1 (1 = flat). Default 2.0.
    pub diurnal_peak: f64,
    /// Hour of day of the peak, in [0, 24). Default 20.
    pub peak_hour: f64,
    /// Hour of day at which the run starts, in [0, 24). Default 20 (runs start at the peak).
    pub start_hour: f64,
    /// Time compression: model seconds per wall second, > 0. Default 1.
    pub speedup: f64,
    /// Offered-load multiplier on every op rate (uploads, feeds, views, searches, follows),
    /// greater than 0. Default 1. A load ladder (`feedlab sweep`) steps this; unlike `speedup` it leaves
    /// model time alone, so the same multiplier means the same thing live and simulated.
    pub load: f64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        Self {
            uploads_per_day: 2_000_000.0,
            feed_reads_per_active_per_day: 20.0,
            views_per_feed: 5.0,
            searches_per_active_per_day: 2.0,
            follows_per_active_per_day: 0.5,
            unfollow_fraction: 0.1,
            feed_limit: 20,
            search_limit: 20,
            photo_mean_bytes: 200_000,
            photo_sigma: 0.6,
            photo_min_bytes: 4_096,
            photo_max_bytes: 20_000_000,
            video_fraction: 0.02,
            video_mean_bytes: 5_000_000,
            video_sigma: 1.0,
            video_max_bytes: 500_000_000,
            title_vocabulary: 10_000,
            title_zipf: 1.0,
            title_max_words: 4,
            query_max_words: 2,
            diurnal_peak: 2.0,
            peak_hour: 20.0,
            start_hour: 20.0,
            speedup: 1.0,
            load: 1.0,
        }
    }
}

impl TrafficConfig {
    /// Checks ranges and consistency; errors name the offending key.
    pub fn validate(&self) -> Result<()> {
        let rates = [
            ("uploads-per-day", self.uploads_per_day),
            (
                "feed-reads-per-active-per-day",
                self.feed_reads_per_active_per_day,
            ),
            ("views-per-feed", self.views_per_feed),
            (
                "searches-per-active-per-day",
                self.searches_per_active_per_day,
            ),
            (
                "follows-per-active-per-day",
                self.follows_per_active_per_day,
            ),
            ("unfollow-fraction", self.unfollow_fraction),
            ("photo-sigma", self.photo_sigma),
            ("video-sigma", self.video_sigma),
        ];
        for (key, v) in rates {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(config(key, format!("must be a finite number ≥ 0, got {v}")));
            }
        }
        if !(0.0..=1.0).contains(&self.video_fraction) {
            return Err(config("video-fraction", "must be in [0, 1]"));
        }
        let min = self.photo_min_bytes.max(1);
        if !(min <= self.photo_mean_bytes && self.photo_mean_bytes <= self.photo_max_bytes) {
            return Err(config(
                "photo-mean-bytes",
                "needs photo-min ≤ mean ≤ photo-max",
            ));
        }
        if !(min <= self.video_mean_bytes && self.video_mean_bytes <= self.video_max_bytes) {
            return Err(config(
                "video-mean-bytes",
                "needs photo-min ≤ mean ≤ video-max",
            ));
        }
        if self.title_vocabulary == 0 || self.title_max_words == 0 || self.query_max_words == 0 {
            return Err(config(
                "title-vocabulary",
                "vocabulary and word counts must be ≥ 1",
            ));
        }
        if !(self.title_zipf >= 0.0 && self.title_zipf.is_finite()) {
            return Err(config("title-zipf", "must be a finite number ≥ 0"));
        }
        if !(self.diurnal_peak >= 1.0 && self.diurnal_peak <= 100.0) {
            return Err(config("diurnal-peak", "must be in [1, 100]"));
        }
        for (key, h) in [
            ("peak-hour", self.peak_hour),
            ("start-hour", self.start_hour),
        ] {
            if !(0.0..24.0).contains(&h) {
                return Err(config(key, "must be in [0, 24)"));
            }
        }
        if !(self.speedup > 0.0 && self.speedup.is_finite()) {
            return Err(config("speedup", "must be a finite number > 0"));
        }
        if !(self.load > 0.0 && self.load.is_finite()) {
            return Err(config("load", "must be a finite number > 0"));
        }
        Ok(())
    }

    /// Mean operations per model day for `population`, indexed by [`OpKind::index`]; already
    /// multiplied by the population's [`Population::rate_factor`] and by [`Self::load`].
    pub fn daily_rates(&self, population: &Population) -> [f64; OpKind::COUNT] {
        let f = population.rate_factor() * self.load;
        let actives = population.expected_daily_active() * self.load;
        let feeds = actives * self.feed_reads_per_active_per_day;
        let follows = actives * self.follows_per_active_per_day;
        let mut r = [0.0; OpKind::COUNT];
        r[OpKind::Upload.index()] = self.uploads_per_day * f;
        r[OpKind::Feed.index()] = feeds;
        r[OpKind::PhotoGet.index()] = feeds * self.views_per_feed;
        r[OpKind::Search.index()] = actives * self.searches_per_active_per_day;
        r[OpKind::Follow.index()] = follows;
        r[OpKind::Unfollow.index()] = follows * self.unfollow_fraction;
        r
    }
}

/// The daily curve `f(hour)` (mean 1, maximum `peak`); see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Diurnal {
    peak: f64,
    peak_hour: f64,
    power: f64,
}

impl Diurnal {
    /// The curve with peak-to-mean ratio `peak ≥ 1` at `peak_hour`.
    pub fn new(peak: f64, peak_hour: f64) -> Self {
        let peak = peak.max(1.0);
        let mut power = 1.0;
        if peak > 2.0 {
            // mean of ((1 + cos θ)/2)^k decreases in k; find k with mean = 1/peak.
            let (mut lo, mut hi) = (1.0f64, 1e5f64);
            for _ in 0..80 {
                let mid = (lo * hi).sqrt();
                if raised_cos_mean(mid) > 1.0 / peak {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            power = (lo * hi).sqrt();
        }
        Self {
            peak,
            peak_hour,
            power,
        }
    }

    /// The maximum of the curve.
    pub fn peak(&self) -> f64 {
        self.peak
    }

    /// The rate multiplier at `hour` (any real; taken modulo 24).
    pub fn factor(&self, hour: f64) -> f64 {
        let c = (std::f64::consts::TAU * (hour - self.peak_hour) / 24.0).cos();
        if self.peak <= 2.0 {
            1.0 + (self.peak - 1.0) * c
        } else {
            self.peak * (0.5 * (1.0 + c)).powf(self.power)
        }
    }
}

fn raised_cos_mean(k: f64) -> f64 {
    const N: usize = 4096;
    (0..N)
        .map(|i| {
            (0.5 * (1.0 + (std::f64::consts::TAU * (i as f64 + 0.5) / N as f64).cos())).powf(k)
        })
        .sum::<f64>()
        / N as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_curve_has_mean_one_and_the_configured_peak() {
        for &p in &[1.0, 1.5, 2.0, 3.0, 8.0] {
            let d = Diurnal::new(p, 20.0);
            let n = 24_000;
            let mean = (0..n)
                .map(|i| d.factor(i as f64 * 24.0 / n as f64))
                .sum::<f64>()
                / n as f64;
            assert!((mean - 1.0).abs() < 1e-3, "peak {p}: mean {mean}");
            assert!(
                (d.factor(20.0) - p).abs() < 1e-9,
                "peak {p}: {}",
                d.factor(20.0)
            );
            assert!((0..n).all(|i| d.factor(i as f64 * 24.0 / n as f64) >= -1e-12));
        }
    }

    #[test]
    fn validation_names_the_key() {
        let mut t = TrafficConfig::default();
        assert!(t.validate().is_ok());
        t.speedup = 0.0;
        let e = t.validate().expect_err("invalid").to_string();
        assert!(e.contains("speedup"), "{e}");
        let parsed: TrafficConfig =
            toml::from_str("speedup = 100.0\nvideo-fraction = 0.5").expect("parses");
        assert_eq!(parsed.speedup, 100.0);
        assert!(toml::from_str::<TrafficConfig>("speed-up = 1.0").is_err());
    }
}
