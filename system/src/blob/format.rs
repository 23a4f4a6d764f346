//! On-disk format of one stored blob replica, and the pure checks on it.
//!
//! A replica file is the blob's bytes followed by an integrity trailer:
//!
//! ```text
//! data (data_len bytes)
//! crc32c of chunk 0 .. chunk n-1   (n = ceil(data_len / chunk_size), u32 LE each)
//! footer, FOOTER_LEN = 24 bytes:
//!   data_len   u64 LE
//!   chunk_size u32 LE
//!   footer_crc u32 LE   (crc32c of the 12 bytes above)
//!   magic      8 bytes  (b"FLBLOB" + version u16 LE)
//! ```
//!
//! The file length is fully determined by `data_len`, so a truncated or
//! extended file is caught before any data is read. A read verifies the
//! CRCs of exactly the chunks it touches; this module does the arithmetic
//! and the checks, `replica` does the file I/O.

use crate::error::{Error, Result};

/// Chunk size covered by one CRC32C in files this version writes.
pub const CHUNK_SIZE: u32 = 64 * 1024;
/// Length of the fixed footer at the very end of a replica file.
pub const FOOTER_LEN: u64 = 24;
/// Magic bytes and format version that end every replica file.
pub const MAGIC: [u8; 8] = *b"FLBLOB\x01\x00";

/// The parsed fixed footer of a replica file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Length of the blob's bytes.
    pub data_len: u64,
    /// Bytes covered by one CRC entry (the last chunk may be shorter).
    pub chunk_size: u32,
}

impl Footer {
    /// Number of CRC entries (chunks); 0 for an empty blob.
    pub fn chunks(&self) -> u64 {
        self.data_len.div_ceil(u64::from(self.chunk_size))
    }

    /// The exact length a well-formed file with this footer has, or `None`
    /// on overflow (which only a corrupt footer can cause).
    pub fn file_len(&self) -> Option<u64> {
        self.chunks()
            .checked_mul(4)?
            .checked_add(self.data_len)?
            .checked_add(FOOTER_LEN)
    }

    /// Byte range `[start, end)` of the data covered by chunk `i`.
    pub fn chunk_bounds(&self, i: u64) -> (u64, u64) {
        let cs = u64::from(self.chunk_size);
        (i * cs, ((i + 1) * cs).min(self.data_len))
    }

    /// Offset in the file of chunk `i`'s CRC entry.
    pub fn crc_offset(&self, i: u64) -> u64 {
        self.data_len + 4 * i
    }

    /// Encode to the 24 footer bytes.
    pub fn encode(&self) -> [u8; FOOTER_LEN as usize] {
        let mut out = [0u8; FOOTER_LEN as usize];
        out[0..8].copy_from_slice(&self.data_len.to_le_bytes());
        out[8..12].copy_from_slice(&self.chunk_size.to_le_bytes());
        let crc = crc32c::crc32c(&out[0..12]);
        out[12..16].copy_from_slice(&crc.to_le_bytes());
        out[16..24].copy_from_slice(&MAGIC);
        out
    }

    /// Parse the last [`FOOTER_LEN`] bytes of a file of `file_len` bytes;
    /// [`Error::Corrupt`] if the magic, footer CRC, chunk size or the file
    /// length do not match.
    pub fn decode(bytes: &[u8], file_len: u64) -> Result<Footer> {
        let corrupt = |why: &str| Err(Error::Corrupt(format!("blob footer: {why}")));
        if bytes.len() != FOOTER_LEN as usize {
            return corrupt("short footer");
        }
        if bytes[16..24] != MAGIC {
            return corrupt("bad magic or unknown version");
        }
        let le4 = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        if crc32c::crc32c(&bytes[0..12]) != le4(&bytes[12..16]) {
            return corrupt("footer checksum mismatch");
        }
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&bytes[0..8]);
        let footer = Footer {
            data_len: u64::from_le_bytes(len8),
            chunk_size: le4(&bytes[8..12]),
        };
        if !footer.chunk_size.is_power_of_two() || footer.chunk_size > 1 << 26 {
            return corrupt("bad chunk size");
        }
        if footer.file_len() != Some(file_len) {
            return corrupt(&format!(
                "file is {file_len} bytes, footer implies {:?} (truncated?)",
                footer.file_len()
            ));
        }
        Ok(footer)
    }
}

/// The full trailer (CRC table + footer) for `data`, in the current format.
pub fn trailer(data: &[u8]) -> Vec<u8> {
    let chunks = data.chunks(CHUNK_SIZE as usize);
    let mut out = Vec::with_capacity(chunks.len() * 4 + FOOTER_LEN as usize);
    for chunk in chunks {
        out.extend_from_slice(&crc32c::crc32c(chunk).to_le_bytes());
    }
    let footer = Footer {
        data_len: data.len() as u64,
        chunk_size: CHUNK_SIZE,
    };
    out.extend_from_slice(&footer.encode());
    out
}

/// Check `data`, the bytes of consecutive chunks starting at chunk
/// `first`, against `crcs` (their little-endian CRC entries).
pub fn verify_chunks(footer: &Footer, first: u64, data: &[u8], crcs: &[u8]) -> Result<()> {
    let cs = footer.chunk_size as usize;
    for (i, (chunk, crc)) in data.chunks(cs).zip(crcs.chunks_exact(4)).enumerate() {
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(chunk) != want {
            return Err(Error::Corrupt(format!(
                "chunk {} failed its checksum",
                first + i as u64
            )));
        }
    }
    if data.len().div_ceil(cs) != crcs.len() / 4 {
        return Err(Error::Internal("chunk/crc count mismatch".into()));
    }
    Ok(())
}

/// The data length of a well-formed current-format file of `file_len`
/// bytes, computed without opening it (inverse of [`Footer::file_len`]);
/// `None` if no data length gives that file length.
pub fn data_len_of_file_len(file_len: u64) -> Option<u64> {
    let body = file_len.checked_sub(FOOTER_LEN)?;
    let chunks = body.div_ceil(u64::from(CHUNK_SIZE) + 4);
    let data_len = body.checked_sub(4 * chunks)?;
    let f = Footer {
        data_len,
        chunk_size: CHUNK_SIZE,
    };
    (f.file_len() == Some(file_len)).then_some(data_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_roundtrip_and_length_inverse() {
        for len in [0u64, 1, 65535, 65536, 65537, 3 << 20, (3 << 20) + 7] {
            let f = Footer {
                data_len: len,
                chunk_size: CHUNK_SIZE,
            };
            let file_len = f.file_len().expect("small");
            assert_eq!(Footer::decode(&f.encode(), file_len).expect("valid"), f);
            assert!(Footer::decode(&f.encode(), file_len - 1).is_err(), "{len}");
            assert_eq!(data_len_of_file_len(file_len), Some(len), "{len}");
        }
    }

    #[test]
    fn any_flipped_footer_bit_is_caught() {
        let f = Footer {
            data_len: 200_000,
            chunk_size: CHUNK_SIZE,
        };
        let file_len = f.file_len().expect("small");
        for bit in 0..(FOOTER_LEN as usize * 8) {
            let mut b = f.encode();
            b[bit / 8] ^= 1 << (bit % 8);
            assert!(Footer::decode(&b, file_len).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn verify_chunks_detects_a_flip() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7) as u8).collect();
        let t = trailer(&data);
        let f = Footer::decode(&t[t.len() - 24..], (data.len() + t.len()) as u64).expect("ok");
        let crcs = &t[..t.len() - 24];
        verify_chunks(&f, 0, &data, crcs).expect("clean data verifies");
        let mut bad = data.clone();
        bad[70_000] ^= 0x10;
        assert!(verify_chunks(&f, 0, &bad, crcs).is_err());
        verify_chunks(&f, 2, &bad[131_072..], &crcs[8..]).expect("untouched chunks verify");
    }
}
