//! Upload validation: media type by magic bytes, and size limits.
//!
//! The declared `Content-Type` is never trusted on its own: the bytes must
//! start with the signature of an accepted type (JPEG, PNG, WebP, GIF, MP4,
//! WebM), and a declared type, if given, must agree with what was detected.

use crate::error::{Error, Result};

/// Photo or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// Still image (photo limit applies).
    Photo,
    /// Video (video limit applies).
    Video,
}

/// The accepted types: (MIME, kind).
pub const ACCEPTED: &[(&str, MediaKind)] = &[
    ("image/jpeg", MediaKind::Photo),
    ("image/png", MediaKind::Photo),
    ("image/webp", MediaKind::Photo),
    ("image/gif", MediaKind::Photo),
    ("video/mp4", MediaKind::Video),
    ("video/webm", MediaKind::Video),
];

/// Detect the media type of `body` from its magic bytes and check it
/// against the declared type (ignored when absent or
/// `application/octet-stream`) and the size limits. Returns the MIME type.
pub fn validate(
    body: &[u8],
    declared: Option<&str>,
    photo_limit: u64,
    video_limit: u64,
) -> Result<(&'static str, MediaKind)> {
    if body.is_empty() {
        return Err(Error::InvalidInput("empty body".into()));
    }
    let detected = infer::get(body).map(|t| t.mime_type());
    let (mime, kind) = ACCEPTED
        .iter()
        .copied()
        .find(|(m, _)| Some(*m) == detected)
        .ok_or_else(|| {
            Error::UnsupportedMedia(format!(
                "the bytes are {}; accepted: JPEG, PNG, WebP, GIF, MP4, WebM",
                detected.unwrap_or("not a known media type")
            ))
        })?;
    if let Some(d) = declared {
        let d = d
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !d.is_empty() && d != "application/octet-stream" && d != mime {
            return Err(Error::UnsupportedMedia(format!(
                "Content-Type says {d} but the bytes are {mime}"
            )));
        }
    }
    let limit = match kind {
        MediaKind::Photo => photo_limit,
        MediaKind::Video => video_limit,
    };
    if body.len() as u64 > limit {
        return Err(Error::PayloadTooLarge { limit });
    }
    Ok((mime, kind))
}

/// A minimal valid-looking body of `mime` padded to `len` bytes, for tests,
/// benches and the workload generator. Unknown types give a JPEG.
pub fn sample_body(mime: &str, len: usize, fill: u8) -> Vec<u8> {
    let head: &[u8] = match mime {
        "image/png" => b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        "image/gif" => b"GIF89a",
        "image/webp" => b"RIFF\0\0\0\0WEBPVP8 ",
        "video/mp4" => b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom",
        "video/webm" => b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02",
        _ => b"\xff\xd8\xff\xe0\0\x10JFIF\0",
    };
    let mut v = head.to_vec();
    v.resize(len.max(head.len()), fill);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_type_is_detected_from_its_sample() {
        for (mime, kind) in ACCEPTED {
            let body = sample_body(mime, 4096, 7);
            let got = validate(&body, Some(mime), 1 << 20, 1 << 20).expect(mime);
            assert_eq!(got, (*mime, *kind));
        }
    }

    #[test]
    fn rejects_wrong_magic_mismatch_and_size() {
        assert!(matches!(
            validate(b"hello world", None, 100, 100),
            Err(Error::UnsupportedMedia(_))
        ));
        let png = sample_body("image/png", 64, 0);
        assert!(matches!(
            validate(&png, Some("image/jpeg"), 100, 100),
            Err(Error::UnsupportedMedia(_))
        ));
        assert!(validate(&png, Some("application/octet-stream"), 100, 100).is_ok());
        assert!(matches!(
            validate(&png, None, 10, 100),
            Err(Error::PayloadTooLarge { limit: 10 })
        ));
        assert!(matches!(
            validate(b"", None, 10, 10),
            Err(Error::InvalidInput(_))
        ));
    }
}
