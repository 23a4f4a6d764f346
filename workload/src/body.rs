//! Synthetic upload bodies: valid magic bytes for the content type, then seeded filler.
//!
//! The service checks each upload's structure (a JPEG's segments up to its first scan and its
//! end marker, an MP4's top-level boxes), so a body is framed like a real file; the payload is
//! SplitMix64 filler seeded by the op's `content_seed`, so no two uploads share content (the
//! service deduplicates by hash) and the bytes do not compress.

use feedlab_system::service::media::sample_frame;

use crate::hash::SplitMix;
use crate::ops::UploadSpec;

/// The MIME type of an upload: `video/mp4` for videos, `image/jpeg` for photos.
pub fn content_type(spec: &UploadSpec) -> &'static str {
    if spec.video {
        "video/mp4"
    } else {
        "image/jpeg"
    }
}

/// The body of an upload: `spec.bytes` bytes (or the format's minimum), a well-formed JPEG or
/// MP4 framing ([`sample_frame`]) around seeded filler.
pub fn upload_body(spec: &UploadSpec) -> Vec<u8> {
    let (mut body, tail) = sample_frame(content_type(spec), spec.bytes as usize);
    let len = (spec.bytes as usize).max(body.len() + tail.len());
    body.reserve_exact(len - body.len());
    let mut rng = SplitMix::new(spec.content_seed);
    while body.len() + tail.len() + 8 <= len {
        body.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    let rest = len - body.len() - tail.len();
    body.extend_from_slice(&rng.next_u64().to_le_bytes()[..rest]);
    body.extend_from_slice(&tail);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(bytes: u64, video: bool, seed: u64) -> UploadSpec {
        UploadSpec {
            bytes,
            video,
            title: String::new(),
            content_seed: seed,
        }
    }

    #[test]
    fn bodies_have_magic_bytes_exact_size_and_distinct_content() {
        let jpeg = upload_body(&spec(1_001, false, 1));
        assert_eq!(jpeg.len(), 1_001);
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
        let mp4 = upload_body(&spec(5_000, true, 1));
        assert_eq!(mp4.len(), 5_000);
        assert_eq!(&mp4[4..8], b"ftyp");
        assert_eq!(content_type(&spec(1, true, 1)), "video/mp4");
        assert_eq!(upload_body(&spec(3, false, 1)).len(), 45);
        for (bytes, video) in [(1_001, false), (5_000, true), (3, false), (3, true)] {
            let b = upload_body(&spec(bytes, video, 9));
            let ct = content_type(&spec(bytes, video, 9));
            feedlab_system::service::media::validate(&b, Some(ct), u64::MAX, u64::MAX)
                .unwrap_or_else(|e| panic!("{ct} of {bytes} bytes: {e}"));
        }
        assert_ne!(upload_body(&spec(1_001, false, 2)), jpeg);
        assert_eq!(upload_body(&spec(1_001, false, 1)), jpeg);
    }
}
