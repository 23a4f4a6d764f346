//! The size mix of uploads: a photo or a video (`video-fraction`), each of a log-normal size
//! with the configured mean, clamped to the traffic's bounds.
//!
//! The op stream draws every upload's size from it. A live run's historical photos draw their
//! sizes from it too, through [`SizeMix::classes`]: a few shared bodies whose sizes are the
//! means of equal-probability bins of each distribution, so the feeds that the first seconds
//! of a run read hold the same mix of photos and videos (and the same mean bytes per view) as
//! the feeds of a long run, while the population build stores only a handful of distinct
//! bodies.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};

use crate::error::{Result, config};
use crate::traffic::TrafficConfig;

/// Reference draws per distribution behind [`SizeMix::classes`].
const CLASS_DRAWS: usize = 8_192;

/// The upload size distributions of one [`TrafficConfig`].
#[derive(Debug, Clone)]
pub struct SizeMix {
    photo: LogNormal<f64>,
    video: LogNormal<f64>,
    video_fraction: f64,
    min: u64,
    photo_max: u64,
    video_max: u64,
}

impl SizeMix {
    /// The mix `traffic` describes; an invalid sigma is a config error naming its key.
    pub fn new(traffic: &TrafficConfig) -> Result<Self> {
        let lognormal = |mean: u64, sigma: f64, key| {
            LogNormal::new((mean as f64).ln() - 0.5 * sigma * sigma, sigma)
                .map_err(|e| config(key, e.to_string()))
        };
        Ok(Self {
            photo: lognormal(traffic.photo_mean_bytes, traffic.photo_sigma, "photo-sigma")?,
            video: lognormal(traffic.video_mean_bytes, traffic.video_sigma, "video-sigma")?,
            video_fraction: traffic.video_fraction,
            min: traffic.photo_min_bytes.max(1),
            photo_max: traffic.photo_max_bytes,
            video_max: traffic.video_max_bytes,
        })
    }

    /// Whether the next upload is a video: one uniform draw from `rng`.
    pub fn is_video<R: Rng>(&self, rng: &mut R) -> bool {
        rng.random::<f64>() < self.video_fraction
    }

    /// The size of a photo (or a video when `video`): one log-normal draw from `rng`, clamped.
    pub fn bytes<R: Rng>(&self, video: bool, rng: &mut R) -> u64 {
        let (dist, max) = if video {
            (&self.video, self.video_max)
        } else {
            (&self.photo, self.photo_max)
        };
        (dist.sample(rng).round() as u64).clamp(self.min, max.max(self.min))
    }

    /// `k` sizes (k ≥ 1) of photos, or of videos when `video`, ascending: the mean of each of
    /// `k` equal-probability bins of the clamped distribution, estimated from a fixed number of
    /// draws seeded by `seed`. A bin drawn uniformly then has about the distribution's mean.
    pub fn classes(&self, video: bool, k: usize, seed: u64) -> Vec<u64> {
        let k = k.max(1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut draws: Vec<u64> = (0..CLASS_DRAWS)
            .map(|_| self.bytes(video, &mut rng))
            .collect();
        draws.sort_unstable();
        let per = CLASS_DRAWS.div_ceil(k);
        draws
            .chunks(per)
            .map(|bin| bin.iter().sum::<u64>() / bin.len() as u64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_ascend_and_keep_the_mean() {
        let t = TrafficConfig::default();
        let mix = SizeMix::new(&t).expect("mix");
        for (video, mean) in [(false, t.photo_mean_bytes), (true, t.video_mean_bytes)] {
            let c = mix.classes(video, 8, 7);
            assert_eq!(c.len(), 8);
            assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
            let avg = c.iter().sum::<u64>() as f64 / c.len() as f64;
            let err = (avg / mean as f64 - 1.0).abs();
            // Sampling error of 8,192 draws (sigma 1 for videos) and the clamps.
            assert!(err < 0.08, "video {video}: class mean {avg} against {mean}");
            assert!(c[7] > 2 * c[0], "the bins spread: {c:?}");
        }
    }

    #[test]
    fn draws_respect_the_bounds_and_the_video_share() {
        let t = TrafficConfig {
            video_fraction: 0.25,
            photo_max_bytes: 300_000,
            ..TrafficConfig::default()
        };
        let mix = SizeMix::new(&t).expect("mix");
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let mut videos = 0;
        for _ in 0..n {
            let video = mix.is_video(&mut rng);
            videos += usize::from(video);
            let b = mix.bytes(video, &mut rng);
            assert!(b >= t.photo_min_bytes);
            assert!(video || b <= 300_000, "photo of {b} bytes");
        }
        let share = videos as f64 / n as f64;
        assert!((share - 0.25).abs() < 0.02, "video share {share}");
    }

    #[test]
    fn a_bad_sigma_names_its_key() {
        let t = TrafficConfig {
            video_sigma: f64::NAN,
            ..TrafficConfig::default()
        };
        let e = SizeMix::new(&t).expect_err("NaN sigma").to_string();
        assert!(e.contains("video-sigma"), "{e}");
    }
}
