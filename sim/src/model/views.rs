//! The bytes one photo view reads.
//!
//! A view picks a photo from the viewer's feed, and a feed holds the run's mix of photos and
//! videos (the live run's historical photos are drawn from the same mix, see
//! `feedlab_workload::SizeMix`). So each simulated view draws its file from the traffic's size
//! mix: a video with probability `video-fraction`, then a log-normal size. The read stops at
//! the driver's `view-bytes` when set (one `Range: bytes=0-(n-1)` request, as a video
//! player's first segment), else takes the whole file.
//!
//! The drawn size prices the view's blob read and its transfer across the blob node's NIC,
//! so videos read whole move the egress a capacity plan needs: with the default mix (2%
//! videos of 5 MB mean, photos of 200 KB) a view reads ~296 KB whole, ~48% more than a mean
//! photo, and ~217 KB capped at 1 MiB.

use feedlab_workload::{SizeMix, TrafficConfig};
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, invalid};

/// The size distribution of one view's read (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct ViewSizes {
    mix: SizeMix,
    cap: Option<u64>,
}

impl ViewSizes {
    /// Views of `traffic`'s size mix, each read up to `cap` bytes (`None` or 0: whole files).
    pub fn new(traffic: &TrafficConfig, cap: Option<u64>) -> Result<Self> {
        let mix = SizeMix::new(traffic).map_err(|e| invalid("traffic", e.to_string()))?;
        Ok(Self {
            mix,
            cap: cap.filter(|&n| n > 0),
        })
    }

    /// The bytes of one view: two draws from `rng` (video or photo, then its size), capped.
    pub fn bytes(&self, rng: &mut ChaCha8Rng) -> u64 {
        let video = self.mix.is_video(rng);
        let b = self.mix.bytes(video, rng);
        self.cap.map_or(b, |c| b.min(c))
    }

    /// [`ViewSizes::bytes`] in KiB, at least 1: the size a blob read is priced at.
    pub fn kib(&self, rng: &mut ChaCha8Rng) -> u64 {
        self.bytes(rng).div_ceil(1024).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng_stream;

    fn mean_bytes(views: &ViewSizes, n: usize) -> f64 {
        let mut rng = rng_stream(5, 16);
        (0..n).map(|_| views.bytes(&mut rng) as f64).sum::<f64>() / n as f64
    }

    #[test]
    fn whole_files_carry_the_videos_bytes_and_a_cap_cuts_them() {
        let t = TrafficConfig::default();
        let n = 200_000;
        let whole = mean_bytes(&ViewSizes::new(&t, None).expect("views"), n);
        // 98% photos of 200 KB and 2% videos of 5 MB, clamped: ~296 KB.
        let expect = 0.98 * t.photo_mean_bytes as f64 + 0.02 * t.video_mean_bytes as f64;
        assert!(
            (whole / expect - 1.0).abs() < 0.05,
            "{whole} against {expect}"
        );
        let capped = mean_bytes(&ViewSizes::new(&t, Some(1 << 20)).expect("views"), n);
        assert!(capped < 0.8 * whole, "capped {capped}, whole {whole}");
        assert!(capped > t.photo_mean_bytes as f64, "{capped}");
        let zero = mean_bytes(&ViewSizes::new(&t, Some(0)).expect("views"), n);
        assert_eq!(zero, whole, "a cap of 0 reads whole files");
    }

    #[test]
    fn without_videos_a_view_is_a_photo_and_never_exceeds_its_cap() {
        let t = TrafficConfig {
            video_fraction: 0.0,
            ..TrafficConfig::default()
        };
        let views = ViewSizes::new(&t, Some(300_000)).expect("views");
        let mut rng = rng_stream(9, 16);
        let draws: Vec<u64> = (0..10_000).map(|_| views.bytes(&mut rng)).collect();
        assert!(draws.iter().all(|&b| b <= 300_000));
        assert!(draws.contains(&300_000), "the photo tail reaches the cap");
        let kib = views.kib(&mut rng);
        assert!((1..=293).contains(&kib), "{kib}");
    }
}
