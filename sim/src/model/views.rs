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
//!
//! The size prices the view's transport too ([`ViewTransport`]): its body crosses both HTTP
//! stacks, so a view of 1 MiB costs the client and the server more CPU than one of 100 KiB.
//! A calibration measures the transport of views of mixed sizes as one figure; drawn alike
//! for every size, the biggest views (about 1% of them at the quickstart's mix, so the
//! p99's) would get a mean view's transport.

use feedlab_workload::{SizeMix, TrafficConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::SimTime;
use crate::error::{Result, invalid};

/// Views drawn to estimate the mean view size (from a fixed seed, so the estimate is the
/// same in every run).
const MEAN_DRAWS: usize = 20_000;

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

    /// The mean of [`ViewSizes::kib`], estimated from [`MEAN_DRAWS`] views of a fixed seed.
    pub fn mean_kib(&self) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7669_6577);
        (0..MEAN_DRAWS)
            .map(|_| self.kib(&mut rng) as f64)
            .sum::<f64>()
            / MEAN_DRAWS as f64
    }
}

/// How a view's transport CPU follows its bytes (see the module docs): a view's transport
/// costs what a feed's does (a body of a few KiB), plus what a calibration measured beyond
/// that, spread over the views' bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ViewTransport {
    ns_per_kib: f64,
    mean_kib: f64,
}

impl ViewTransport {
    /// From the mean transport CPU (ns) of a view and of a feed, and the views' mean size;
    /// `None` when a view's transport is no dearer than a feed's.
    pub fn new(view_cpu_ns: f64, feed_cpu_ns: f64, mean_kib: f64) -> Option<Self> {
        let excess = view_cpu_ns - feed_cpu_ns;
        (excess > 0.0 && mean_kib >= 1.0).then(|| ViewTransport {
            ns_per_kib: excess / mean_kib,
            mean_kib,
        })
    }

    /// The transport CPU of a view of `kib` KiB whose drawn CPU (a view of the mean size)
    /// is `cpu` ns: more for a bigger view, less for a smaller one, never below 0; the mean
    /// over the size mix is unchanged.
    pub fn cpu(&self, cpu: SimTime, kib: u64) -> SimTime {
        (cpu as f64 + self.ns_per_kib * (kib as f64 - self.mean_kib)).max(0.0) as SimTime
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
    fn a_bigger_view_pays_more_transport_and_the_mean_view_what_was_drawn() {
        // Views cost 300 µs of transport CPU, feeds 100 µs, views are 200 KiB on average:
        // 1 µs per KiB.
        let t = ViewTransport::new(300_000.0, 100_000.0, 200.0).expect("dearer views");
        assert_eq!(t.cpu(300_000, 200), 300_000);
        assert_eq!(t.cpu(300_000, 1024), 300_000 + 824_000);
        assert_eq!(t.cpu(300_000, 100), 200_000);
        assert_eq!(t.cpu(50_000, 1), 0, "never below 0");
        assert_eq!(ViewTransport::new(100_000.0, 120_000.0, 200.0), None);
        let views = ViewSizes::new(&TrafficConfig::default(), Some(1 << 20)).expect("views");
        let mean = views.mean_kib();
        assert_eq!(mean, views.mean_kib(), "the same estimate every time");
        let mut rng = crate::engine::rng_stream(3, 16);
        let drawn = (0..50_000).map(|_| views.kib(&mut rng) as f64).sum::<f64>() / 50_000.0;
        assert!((drawn / mean - 1.0).abs() < 0.03, "{drawn} against {mean}");
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
