//! Synthetic upload bodies: valid magic bytes for the content type, then seeded filler.
//!
//! The service sniffs uploads (JPEG starts `FF D8 FF`, MP4 has an `ftyp` box at offset 4), so a
//! body must begin with a real header to be accepted; the rest is SplitMix64 filler seeded by
//! the op's `content_seed`, so no two uploads share content (the service deduplicates by hash)
//! and the bytes do not compress.

use crate::hash::SplitMix;
use crate::ops::UploadSpec;

/// JFIF header: SOI, APP0 segment "JFIF\0" v1.1, no thumbnail.
const JPEG_HEAD: [u8; 20] = [
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00,
];
/// A 32-byte `ftyp` box: major brand isom, compatible isom/iso2/avc1/mp41.
const MP4_HEAD: [u8; 32] = [
    0x00, 0x00, 0x00, 0x20, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02, 0x00,
    b'i', b's', b'o', b'm', b'i', b's', b'o', b'2', b'a', b'v', b'c', b'1', b'm', b'p', b'4', b'1',
];

/// The MIME type of an upload: `video/mp4` for videos, `image/jpeg` for photos.
pub fn content_type(spec: &UploadSpec) -> &'static str {
    if spec.video {
        "video/mp4"
    } else {
        "image/jpeg"
    }
}

/// The body of an upload: `max(spec.bytes, header + 2)` bytes, header first; a JPEG ends with
/// the EOI marker `FF D9`.
pub fn upload_body(spec: &UploadSpec) -> Vec<u8> {
    let head: &[u8] = if spec.video { &MP4_HEAD } else { &JPEG_HEAD };
    let len = (spec.bytes as usize).max(head.len() + 2);
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(head);
    let mut rng = SplitMix::new(spec.content_seed);
    while body.len() + 8 <= len {
        body.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    let rest = len - body.len();
    body.extend_from_slice(&rng.next_u64().to_le_bytes()[..rest]);
    if !spec.video {
        body[len - 2] = 0xFF;
        body[len - 1] = 0xD9;
    }
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
        assert_eq!(upload_body(&spec(3, false, 1)).len(), JPEG_HEAD.len() + 2);
        assert_ne!(upload_body(&spec(1_001, false, 2)), jpeg);
        assert_eq!(upload_body(&spec(1_001, false, 1)), jpeg);
    }
}
