//! The per-format steps of [`Walk`]: each judges the header just collected
//! and says what to read next.

use super::{Next, Walk, bad, be16, be32, le32, vint};

/// JPEG start-of-frame markers (C0–CF except DHT C4, JPG C8, DAC CC).
fn is_sof(m: u8) -> bool {
    (0xC0..=0xCF).contains(&m) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// Whether `t` is a PNG chunk type (four ASCII letters).
fn chunk_type_ok(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_alphabetic)
}

/// Whether a PNG colour type allows a bit depth.
fn png_depth_ok(color: u8, depth: u8) -> bool {
    match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    }
}

/// GIF: signature and a non-empty logical screen.
pub(super) fn gif(h: &[u8]) -> Next {
    if !(h.starts_with(b"GIF87a") || h.starts_with(b"GIF89a")) {
        return bad("bad GIF signature");
    }
    if h[6..8] == [0, 0] || h[8..10] == [0, 0] {
        return bad("the GIF screen is 0 pixels wide or high");
    }
    Next::Rest
}

impl Walk {
    /// JPEG: SOI, then marker segments until the first scan.
    pub(super) fn jpeg(&mut self) -> Next {
        let h = &mut self.hdr;
        if self.steps == 0 {
            return if h[..] == [0xFF, 0xD8] {
                Next::Skip(0, 4)
            } else {
                bad("no JPEG start-of-image marker")
            };
        }
        if h[0] != 0xFF {
            return bad(format!(
                "expected a JPEG marker at byte {}",
                self.at.saturating_sub(4)
            ));
        }
        let m = h[1];
        if m == 0xFF {
            // Fill byte before a marker.
            h.remove(0);
            return Next::More(4);
        }
        if (0xD0..=0xD7).contains(&m) || m == 0x01 {
            h.drain(..2);
            return Next::More(4);
        }
        if matches!(m, 0x00 | 0xD8 | 0xD9) {
            return bad(format!("JPEG marker FF {m:02X} before the first scan"));
        }
        let len = be16(&h[2..4]) as usize;
        if len < 2 {
            return bad("JPEG segment length under 2");
        }
        if !(is_sof(m) || m == 0xDA) {
            return Next::Skip(len as u64 - 2, 4);
        }
        if h.len() < 2 + len {
            return Next::More(2 + len);
        }
        let s = &h[4..];
        if is_sof(m) {
            let (depth, height, width, comps) = (s[0], be16(&s[1..3]), be16(&s[3..5]), s[5]);
            let ok = matches!(depth, 8 | 12 | 16)
                && height > 0
                && width > 0
                && (1..=4).contains(&comps)
                && len == 8 + 3 * comps as usize;
            if !ok {
                return bad("bad JPEG frame header");
            }
            self.seen = true;
            return Next::Skip(0, 4);
        }
        let comps = s[0] as usize;
        if !self.seen {
            return bad("JPEG scan before any frame header");
        }
        if !(1..=4).contains(&comps) || len != 6 + 2 * comps {
            return bad("bad JPEG scan header");
        }
        Next::Rest
    }

    /// PNG: signature + IHDR, then chunk after chunk until IEND.
    pub(super) fn png(&mut self) -> Next {
        let h = &self.hdr;
        if self.ended {
            return bad("data after the PNG IEND chunk");
        }
        if self.steps == 0 {
            if h[..8] != *b"\x89PNG\r\n\x1a\n" {
                return bad("bad PNG signature");
            }
            let c = &h[8..];
            if be32(&c[..4]) != 13 || &c[4..8] != b"IHDR" {
                return bad("the PNG does not start with an IHDR chunk");
            }
            if crc32fast::hash(&c[4..21]) as u64 != be32(&c[21..25]) {
                return bad("the PNG IHDR chunk fails its CRC");
            }
            let (w, ht, depth, color) = (be32(&c[8..12]), be32(&c[12..16]), c[16], c[17]);
            let ok = w > 0
                && ht > 0
                && w <= 1 << 31
                && ht <= 1 << 31
                && png_depth_ok(color, depth)
                && c[18] == 0
                && c[19] == 0
                && c[20] <= 1;
            if !ok {
                return bad("bad PNG IHDR values");
            }
            return Next::Skip(0, 8);
        }
        let (len, ty) = (be32(&h[..4]), &h[4..8]);
        if len > (1 << 31) - 1 || !chunk_type_ok(ty) {
            return bad(format!(
                "bad PNG chunk header at byte {}",
                self.at.saturating_sub(8)
            ));
        }
        match ty {
            b"IDAT" => self.seen = true,
            b"IEND" if len != 0 || !self.seen => return bad("bad PNG IEND (or no IDAT before it)"),
            b"IEND" => {
                self.ended = true;
                return Next::Skip(4, 1);
            }
            _ => {}
        }
        Next::Skip(len + 4, 8)
    }

    /// WebP: RIFF header and the first chunk's header.
    pub(super) fn webp(&mut self) -> Next {
        let h = &self.hdr;
        if &h[..4] != b"RIFF" || &h[8..12] != b"WEBP" {
            return bad("bad WebP RIFF header");
        }
        let riff = le32(&h[4..8]);
        if !matches!(&h[12..16], b"VP8 " | b"VP8L" | b"VP8X") {
            return bad("the WebP does not start with a VP8, VP8L or VP8X chunk");
        }
        if riff < 12 || le32(&h[16..20]) > riff - 12 {
            return bad("the WebP chunk is larger than its RIFF container");
        }
        self.end = Some(8 + riff);
        Next::Rest
    }

    /// MP4: one top-level box header after another.
    pub(super) fn mp4(&mut self) -> Next {
        let h = &self.hdr;
        let mut size = be32(&h[..4]);
        let ty: [u8; 4] = [h[4], h[5], h[6], h[7]];
        let mut hl = 8;
        if !ty.iter().all(|b| (0x20..=0x7E).contains(b)) {
            return bad(format!(
                "bad MP4 box type at byte {}",
                self.at.saturating_sub(h.len() as u64)
            ));
        }
        if size == 1 {
            if h.len() < 16 {
                return Next::More(16);
            }
            size = u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
            hl = 16;
        }
        let first = self.at == h.len() as u64;
        if first && (&ty != b"ftyp" || !(16..=4096).contains(&size)) {
            return bad("the MP4 does not start with an ftyp box");
        }
        if first && (h.len() as u64) < size {
            return Next::More(size as usize);
        }
        if first && !h[8..12].iter().all(u8::is_ascii_graphic) {
            return bad("bad MP4 major brand");
        }
        if &ty == b"moov" {
            self.seen = true;
        }
        if size == 0 {
            return Next::Rest;
        }
        let got = h.len() as u64;
        if size < hl {
            return bad(format!(
                "MP4 box of {size} bytes at byte {}",
                self.at.saturating_sub(got)
            ));
        }
        Next::Skip(size - got, 8)
    }

    /// WebM: the EBML header (DocType `webm`), then the Segment's size.
    pub(super) fn webm(&mut self) -> Next {
        let h = &self.hdr;
        if h[..4] != [0x1A, 0x45, 0xDF, 0xA3] {
            return bad("bad EBML magic");
        }
        let Some((l, size, _)) = vint(&h[4..]).filter(|v| v.1 <= 1024) else {
            return bad("bad EBML header size");
        };
        let head_end = 4 + l + size as usize;
        if h.len() < head_end + 12 {
            return Next::More(head_end + 12);
        }
        if !doctype_is_webm(&h[4 + l..head_end]) {
            return bad("the EBML DocType is not webm");
        }
        let seg = &h[head_end..];
        if seg[..4] != [0x18, 0x53, 0x80, 0x67] {
            return bad("no Matroska Segment after the EBML header");
        }
        let Some((sl, ssize, unknown)) = vint(&seg[4..]) else {
            return bad("bad Segment size");
        };
        if !unknown {
            self.end = Some((head_end + 4 + sl) as u64 + ssize);
        }
        Next::Rest
    }
}

/// Whether the EBML header body `b` holds DocType (ID 42 82) = "webm".
fn doctype_is_webm(mut b: &[u8]) -> bool {
    while b.len() > 2 {
        let id = be16(&b[..2]);
        let Some((l, size, _)) = vint(&b[2..]) else {
            return false;
        };
        let start = 2 + l;
        let Some(data) = b.get(start..start + size as usize) else {
            return false;
        };
        if id == 0x4282 {
            return data == b"webm";
        }
        b = &b[start + size as usize..];
    }
    false
}
