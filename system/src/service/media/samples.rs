//! Minimal well-formed framings of each accepted type, for
//! [`super::sample_frame`]: the smallest head and tail that pass the
//! structural walk, with sizes written for a body of the requested length.

/// JPEG head: SOI, APP0 "JFIF", a 1×1 greyscale baseline frame, one scan.
const JPEG_HEAD: [u8; 43] = [
    0xFF, 0xD8, // SOI
    0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, // APP0
    0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, // SOF0
    0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, // SOS
];

/// The body of a WebM EBML header: versions, DocType "webm".
const EBML_BODY: [u8; 31] = [
    0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81, 0x01, 0x42, 0xF2, 0x81, 0x04, 0x42, 0xF3, 0x81, 0x08,
    0x42, 0x82, 0x84, b'w', b'e', b'b', b'm', 0x42, 0x87, 0x81, 0x04, 0x42, 0x85, 0x81, 0x02,
];

/// (head, tail) of a `mime` body of at least `len` bytes.
pub(super) fn frame(mime: &str, len: usize) -> (Vec<u8>, Vec<u8>) {
    match mime {
        "image/png" => png(len),
        "image/gif" => (b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec(), vec![0x3B]),
        "image/webp" => {
            let total = len.max(20) as u32;
            let mut h = b"RIFF".to_vec();
            h.extend_from_slice(&(total - 8).to_le_bytes());
            h.extend_from_slice(b"WEBPVP8L");
            h.extend_from_slice(&(total - 20).to_le_bytes());
            (h, Vec::new())
        }
        "video/mp4" => {
            let total = len.max(48) as u64;
            let mut h = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\0\0\0\x08moov".to_vec();
            // A 64-bit mdat size, so bodies over 4 GiB frame too.
            h.extend_from_slice(b"\0\0\0\x01mdat");
            h.extend_from_slice(&(total - 32).to_be_bytes());
            (h, Vec::new())
        }
        "video/webm" => {
            let mut h = vec![0x1A, 0x45, 0xDF, 0xA3, 0x80 | EBML_BODY.len() as u8];
            h.extend_from_slice(&EBML_BODY);
            h.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01]);
            let seg = len.max(h.len() + 7) - h.len() - 7;
            h.extend_from_slice(&(seg as u64).to_be_bytes()[1..]);
            (h, Vec::new())
        }
        _ => (JPEG_HEAD.to_vec(), vec![0xFF, 0xD9]),
    }
}

/// PNG: signature, a 1×1 greyscale IHDR, one IDAT holding the filler, IEND.
fn png(len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut h = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = b"IHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0";
    h.extend_from_slice(&13u32.to_be_bytes());
    h.extend_from_slice(ihdr);
    h.extend_from_slice(&crc32fast::hash(ihdr).to_be_bytes());
    let data = len.max(57) - 57;
    h.extend_from_slice(&(data as u32).to_be_bytes());
    h.extend_from_slice(b"IDAT");
    // The IDAT CRC is not checked by the walk (the filler is unknown here).
    let mut t = vec![0u8; 4];
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(b"IEND");
    t.extend_from_slice(&crc32fast::hash(b"IEND").to_be_bytes());
    (h, t)
}
