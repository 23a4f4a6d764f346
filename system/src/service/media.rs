//! Upload validation: media type by magic bytes, format structure, and
//! size limits.
//!
//! The declared `Content-Type` is never trusted on its own: the bytes must
//! start with the signature of an accepted type (JPEG, PNG, WebP, GIF, MP4,
//! WebM) and be framed like one ([`walk`]: no truncated file, no magic
//! bytes in front of something else), and a declared type, if given, must
//! agree with what was detected. [`Sniffer`] does all of it on a stream.

mod samples;
pub mod walk;

use crate::error::{Error, Result};
use walk::{Format, Walk};

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

/// The limit that applies to a body declared as `declared` (its
/// `Content-Type`): the photo limit for an accepted photo type, the video
/// limit for a video type, and the larger of the two when the declared
/// type says nothing.
pub fn limit_for(declared: Option<&str>, photo_limit: u64, video_limit: u64) -> u64 {
    let d = declared.map(essence).unwrap_or_default();
    match ACCEPTED.iter().find(|(m, _)| *m == d) {
        Some((_, MediaKind::Photo)) => photo_limit,
        Some((_, MediaKind::Video)) => video_limit,
        None => photo_limit.max(video_limit),
    }
}

/// The media type of a `Content-Type` value, lower-cased, parameters cut.
fn essence(v: &str) -> String {
    v.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The accepted type whose signature starts `head`, if any.
fn detect(head: &[u8]) -> Option<(&'static str, MediaKind, Format)> {
    let f = if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Format::Gif
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        Format::Webp
    } else if head.get(4..8) == Some(b"ftyp") {
        Format::Mp4
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Format::Webm
    } else {
        return None;
    };
    let i = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Gif,
        Format::Mp4,
        Format::Webm,
    ]
    .iter()
    .position(|x| *x == f)?;
    Some((ACCEPTED[i].0, ACCEPTED[i].1, f))
}

/// Bytes of the head kept for detection.
const SNIFF: usize = 64;

/// The largest accepted body of each media kind, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest photo.
    pub photo: u64,
    /// Largest video.
    pub video: u64,
}

impl MediaLimits {
    /// The limit of `kind`.
    pub fn of(self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Photo => self.photo,
            MediaKind::Video => self.video,
        }
    }
}

/// Checks an upload as its bytes go by, in bounded memory: the media type
/// from the signature, the format's structure ([`walk`]), agreement with
/// the declared type, and the size limit of the detected kind.
#[derive(Debug)]
pub struct Sniffer {
    head: Vec<u8>,
    total: u64,
    found: Option<(&'static str, MediaKind, Walk)>,
    limits: MediaLimits,
}

impl Sniffer {
    /// A sniffer that refuses bodies over `limits`.
    pub fn new(limits: MediaLimits) -> Self {
        Sniffer {
            head: Vec::with_capacity(SNIFF),
            total: 0,
            found: None,
            limits,
        }
    }

    /// Feed the next bytes. Fails early once the body is known to be over
    /// its kind's limit, or is not an accepted type.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        self.total += data.len() as u64;
        if let Some((_, kind, walk)) = &mut self.found {
            walk.feed(data);
            return over(*kind, self.total, self.limits);
        }
        let take = (SNIFF - self.head.len()).min(data.len());
        self.head.extend_from_slice(&data[..take]);
        if self.head.len() < SNIFF && take == data.len() {
            return Ok(());
        }
        let (mime, kind, fmt) = detect(&self.head).ok_or_else(|| unsupported(&self.head))?;
        let mut walk = Walk::new(fmt);
        walk.feed(&self.head);
        walk.feed(&data[take..]);
        self.found = Some((mime, kind, walk));
        over(kind, self.total, self.limits)
    }

    /// Judge the whole body against `declared` (its `Content-Type`; ignored
    /// when absent or `application/octet-stream`). Returns the MIME type.
    pub fn finish(mut self, declared: Option<&str>) -> Result<(&'static str, MediaKind)> {
        if self.total == 0 {
            return Err(Error::InvalidInput("empty body".into()));
        }
        if self.found.is_none() {
            let (mime, kind, fmt) = detect(&self.head).ok_or_else(|| unsupported(&self.head))?;
            let mut walk = Walk::new(fmt);
            walk.feed(&self.head);
            self.found = Some((mime, kind, walk));
        }
        let Some((mime, kind, walk)) = self.found else {
            return Err(Error::Internal("sniffer lost its walk".into()));
        };
        if let Some(d) = declared.map(essence)
            && !d.is_empty()
            && d != "application/octet-stream"
            && d != mime
        {
            return Err(Error::UnsupportedMedia(format!(
                "Content-Type says {d} but the bytes are {mime}"
            )));
        }
        over(kind, self.total, self.limits)?;
        walk.finish(self.total)
            .map_err(|why| Error::UnsupportedMedia(format!("not a valid {mime}: {why}")))?;
        Ok((mime, kind))
    }
}

fn over(kind: MediaKind, total: u64, limits: MediaLimits) -> Result<()> {
    let limit = limits.of(kind);
    if total > limit {
        return Err(Error::PayloadTooLarge { limit });
    }
    Ok(())
}

fn unsupported(head: &[u8]) -> Error {
    Error::UnsupportedMedia(format!(
        "the bytes are {}; accepted: JPEG, PNG, WebP, GIF, MP4, WebM",
        infer::get(head).map_or("not a known media type", |t| t.mime_type())
    ))
}

/// Check a whole `body` (see [`Sniffer`]). Returns the MIME type.
pub fn validate(
    body: &[u8],
    declared: Option<&str>,
    photo_limit: u64,
    video_limit: u64,
) -> Result<(&'static str, MediaKind)> {
    let mut s = Sniffer::new(MediaLimits {
        photo: photo_limit,
        video: video_limit,
    });
    s.feed(body)?;
    s.finish(declared)
}

/// The framing of a minimal well-formed `mime` body of `len` bytes: a head
/// and a tail such that `head ++ filler ++ tail` passes [`validate`] for
/// any filler of `len - head.len() - tail.len()` bytes (`len` is raised to
/// the smallest body the format allows). Unknown types give a JPEG.
pub fn sample_frame(mime: &str, len: usize) -> (Vec<u8>, Vec<u8>) {
    samples::frame(mime, len)
}

/// A minimal well-formed body of `mime` padded to `len` bytes with `fill`,
/// for tests, benches and the workload generator. Unknown types give a JPEG.
pub fn sample_body(mime: &str, len: usize, fill: u8) -> Vec<u8> {
    let (mut head, tail) = sample_frame(mime, len);
    let pad = len.saturating_sub(head.len() + tail.len());
    head.resize(head.len() + pad, fill);
    head.extend_from_slice(&tail);
    head
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
