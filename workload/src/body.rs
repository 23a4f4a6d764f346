//! Synthetic upload bodies: valid magic bytes for the content type, then seeded filler.
//!
//! The service checks each upload's structure (a JPEG's segments up to its first scan and its
//! end marker, an MP4's top-level boxes), so a body is framed like a real file; the payload is
//! SplitMix64 filler seeded by the op's `content_seed` (each word's little-endian bytes, the
//! last word cut to fit), so no two uploads share content (the service deduplicates by hash)
//! and the bytes do not compress.
//!
//! The driver sends a body as a [`BodyStream`]: its frames are generated while the request is
//! written, [`FRAME`] bytes at a time, so a 500 MB video costs the generator no more memory
//! than a photo, and no runtime thread stops for the tens of milliseconds that building a
//! large body whole in fresh memory takes. [`upload_body`] gives the same bytes whole.

use bytes::{Bytes, BytesMut};
use feedlab_system::service::media::sample_frame;

use crate::hash::SplitMix;
use crate::ops::UploadSpec;

/// Bytes per generated frame (a multiple of 8, so every frame but the last holds whole words).
pub const FRAME: usize = 64 * 1024;

/// The MIME type of an upload: `video/mp4` for videos, `image/jpeg` for photos.
pub fn content_type(spec: &UploadSpec) -> &'static str {
    if spec.video {
        "video/mp4"
    } else {
        "image/jpeg"
    }
}

/// The body of an upload, whole: `spec.bytes` bytes (or the format's minimum), a well-formed
/// JPEG or MP4 framing ([`sample_frame`]) around seeded filler; the bytes of [`BodyStream`].
pub fn upload_body(spec: &UploadSpec) -> Vec<u8> {
    let mut stream = BodyStream::new(spec);
    let mut body = Vec::with_capacity(usize::try_from(stream.content_length()).unwrap_or(0));
    while let Some(frame) = stream.next_frame() {
        body.extend_from_slice(&frame);
    }
    body
}

/// An upload body generated frame by frame: the framing's head, the filler, its tail.
#[derive(Debug, Clone)]
pub struct BodyStream {
    head: Option<Bytes>,
    tail: Option<Bytes>,
    rng: SplitMix,
    /// Filler bytes not yet generated.
    filler: u64,
    len: u64,
}

impl BodyStream {
    /// The body of `spec`, not yet generated.
    pub fn new(spec: &UploadSpec) -> Self {
        let (head, tail) = sample_frame(content_type(spec), spec.bytes as usize);
        let frame = (head.len() + tail.len()) as u64;
        let len = spec.bytes.max(frame);
        Self {
            head: Some(Bytes::from(head)),
            tail: (!tail.is_empty()).then(|| Bytes::from(tail)),
            rng: SplitMix::new(spec.content_seed),
            filler: len - frame,
            len,
        }
    }

    /// The body's length in bytes, all frames together (its `Content-Length`).
    pub fn content_length(&self) -> u64 {
        self.len
    }

    /// Whether every frame has been handed out.
    pub fn is_done(&self) -> bool {
        self.head.is_none() && self.filler == 0 && self.tail.is_none()
    }

    /// Bytes not yet handed out.
    pub fn remaining(&self) -> u64 {
        let part = |b: &Option<Bytes>| b.as_ref().map_or(0, |b| b.len() as u64);
        part(&self.head) + self.filler + part(&self.tail)
    }

    /// The next frame: the head, then filler [`FRAME`] bytes at a time, then the tail.
    pub fn next_frame(&mut self) -> Option<Bytes> {
        if let Some(head) = self.head.take() {
            return Some(head);
        }
        if self.filler > 0 {
            let n = self.filler.min(FRAME as u64) as usize;
            let mut out = BytesMut::with_capacity(n);
            for _ in 0..n / 8 {
                out.extend_from_slice(&self.rng.next_u64().to_le_bytes());
            }
            if !n.is_multiple_of(8) {
                out.extend_from_slice(&self.rng.next_u64().to_le_bytes()[..n % 8]);
            }
            self.filler -= n as u64;
            return Some(out.freeze());
        }
        self.tail.take()
    }
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

    /// The filler is SplitMix's words from `content_seed`, little-endian, the last one cut, between the
    /// framing's head and tail, at every length around a word and a frame.
    #[test]
    fn frames_carry_the_seeded_words_between_head_and_tail() {
        for video in [false, true] {
            let (head, tail) = sample_frame(content_type(&spec(0, video, 0)), 0);
            let base = (head.len() + tail.len()) as u64;
            for extra in [
                0,
                1,
                7,
                8,
                9,
                FRAME as u64 - 1,
                FRAME as u64,
                3 * FRAME as u64 + 5,
            ] {
                let s = spec(base + extra, video, 77);
                let (head, tail) = sample_frame(content_type(&s), (base + extra) as usize);
                let mut stream = BodyStream::new(&s);
                assert_eq!(stream.content_length(), base + extra);
                let mut frames = Vec::new();
                while let Some(f) = stream.next_frame() {
                    assert!(f.len() <= FRAME.max(head.len()), "frame of {}", f.len());
                    frames.extend_from_slice(&f);
                    assert_eq!(stream.remaining(), base + extra - frames.len() as u64);
                }
                assert!(stream.is_done());
                let mut rng = SplitMix::new(77);
                let mut filler = Vec::new();
                while (filler.len() as u64) < extra {
                    filler.extend_from_slice(&rng.next_u64().to_le_bytes());
                }
                filler.truncate(extra as usize);
                let want = [head.clone(), filler, tail].concat();
                assert!(frames == want, "video {video}, {extra} filler bytes");
                assert!(upload_body(&s) == want);
            }
        }
    }
}
