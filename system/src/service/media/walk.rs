//! Structural walk of each accepted media format, fed the bytes in order
//! and in bounded memory (so it can run beside a streaming upload).
//!
//! The walk reads what a decoder needs to start, and the framing that tells
//! where the file ends, then skips payloads without buffering them:
//! - JPEG: the marker segments up to the first scan (a frame header with a
//!   non-zero size must come first), and the `FF D9` end marker;
//! - PNG: every chunk's framing, a valid `IHDR` (CRC-checked), at least one
//!   `IDAT`, and `IEND` as the very last bytes;
//! - GIF: the logical screen descriptor and the `3B` trailer;
//! - WebP: the RIFF header, whose size must match the body's, and its first
//!   chunk (`VP8 `, `VP8L` or `VP8X`);
//! - MP4: every top-level box, `ftyp` first and a `moov` somewhere, the last
//!   box ending exactly at the end of the body;
//! - WebM: the EBML header with DocType `webm`, and a `Segment` whose size
//!   (when known) ends exactly at the end of the body.
//!
//! Anything truncated, padded, or merely wearing a format's magic bytes
//! fails with a message naming what is wrong.

/// A format the walk understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG/JFIF/Exif.
    Jpeg,
    /// PNG.
    Png,
    /// GIF87a/GIF89a.
    Gif,
    /// WebP (RIFF).
    Webp,
    /// ISO BMFF (MP4).
    Mp4,
    /// Matroska WebM.
    Webm,
}

/// What the step after a collected header asks for.
enum Next {
    /// Clear the header, skip `.0` bytes, then collect `.1` bytes.
    Skip(u64, usize),
    /// Keep the header and collect until it holds `.0` bytes.
    More(usize),
    /// The rest of the body is payload; stop walking.
    Rest,
    /// The body is malformed.
    Bad(String),
}

/// The walk of one body.
#[derive(Debug)]
pub struct Walk {
    fmt: Format,
    /// Bytes consumed so far (skipped or collected).
    at: u64,
    skip: u64,
    need: usize,
    hdr: Vec<u8>,
    /// Steps taken (0 for the first header).
    steps: u64,
    rest: bool,
    err: Option<String>,
    /// JPEG: frame header seen; PNG: IDAT seen; MP4: moov seen.
    seen: bool,
    /// PNG: IEND seen.
    ended: bool,
    /// Where the body must end, once known (WebP, WebM).
    end: Option<u64>,
    /// The last two bytes of the body.
    tail: [u8; 2],
}

fn be16(b: &[u8]) -> u64 {
    u64::from(u16::from_be_bytes([b[0], b[1]]))
}
fn be32(b: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}
fn le32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
fn bad<T: Into<String>>(m: T) -> Next {
    Next::Bad(m.into())
}

/// An EBML variable-length integer at the start of `b`: (length, value,
/// all value bits set = "unknown size"). `None` if `b` is too short or the
/// first byte is zero.
pub(super) fn vint(b: &[u8]) -> Option<(usize, u64, bool)> {
    let len = b.first()?.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = u64::from(b[0]) & (0xFF >> len);
    for &x in &b[1..len] {
        v = v << 8 | u64::from(x);
    }
    Some((len, v, v == (1u64 << (7 * len)) - 1))
}

impl Walk {
    /// A walk of a body that starts with `fmt`'s signature.
    pub fn new(fmt: Format) -> Walk {
        let need = match fmt {
            Format::Jpeg => 2,
            Format::Png => 8 + 25,
            Format::Gif => 13,
            Format::Webp => 20,
            Format::Mp4 => 8,
            Format::Webm => 12,
        };
        Walk {
            fmt,
            at: 0,
            skip: 0,
            need,
            hdr: Vec::with_capacity(64),
            steps: 0,
            rest: false,
            err: None,
            seen: false,
            ended: false,
            end: None,
            tail: [0; 2],
        }
    }

    /// Feed the next bytes of the body.
    pub fn feed(&mut self, data: &[u8]) {
        match data {
            [.., a, b] => self.tail = [*a, *b],
            [b] => self.tail = [self.tail[1], *b],
            [] => {}
        }
        let mut d = data;
        while !d.is_empty() && !self.rest && self.err.is_none() {
            if self.skip > 0 {
                let n = self.skip.min(d.len() as u64);
                self.skip -= n;
                self.at += n;
                d = &d[n as usize..];
                continue;
            }
            let n = (self.need - self.hdr.len()).min(d.len());
            self.hdr.extend_from_slice(&d[..n]);
            self.at += n as u64;
            d = &d[n..];
            if self.hdr.len() == self.need {
                let next = self.step();
                self.steps += 1;
                match next {
                    Next::Skip(skip, need) => {
                        self.hdr.clear();
                        (self.skip, self.need) = (skip, need);
                    }
                    Next::More(need) => self.need = need,
                    Next::Rest => self.rest = true,
                    Next::Bad(m) => self.err = Some(m),
                }
            }
        }
    }

    /// Judge the whole body of `total` bytes, once fed.
    pub fn finish(&self, total: u64) -> Result<(), String> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        let truncated = || Err("the file is truncated".to_string());
        let at_boundary = self.skip == 0 && self.hdr.is_empty();
        match self.fmt {
            Format::Jpeg if !self.rest => truncated(),
            Format::Jpeg if self.tail != [0xFF, 0xD9] => {
                Err("no JPEG end-of-image marker (FF D9) at the end".into())
            }
            Format::Png if !self.ended || !at_boundary => truncated(),
            Format::Gif if !self.rest => truncated(),
            Format::Gif if self.tail[1] != 0x3B => Err("no GIF trailer (3B) at the end".into()),
            Format::Mp4 if !(self.rest || at_boundary) => truncated(),
            Format::Mp4 if !self.seen => Err("the MP4 has no moov box".into()),
            Format::Webp | Format::Webm if !self.rest => truncated(),
            Format::Webp | Format::Webm if self.end.is_some_and(|e| e != total) => Err(format!(
                "the container says {} bytes, the body has {total}",
                self.end.unwrap_or(0)
            )),
            _ => Ok(()),
        }
    }

    fn step(&mut self) -> Next {
        match self.fmt {
            Format::Jpeg => self.jpeg(),
            Format::Png => self.png(),
            Format::Gif => formats::gif(&self.hdr),
            Format::Webp => self.webp(),
            Format::Mp4 => self.mp4(),
            Format::Webm => self.webm(),
        }
    }
}

mod formats;

#[cfg(test)]
mod tests;
