//! Tests of the structural walk: every sample passes whole and fed a byte
//! at a time, and truncated, padded or disguised bodies fail.

use crate::error::Error;
use crate::service::media::{ACCEPTED, sample_body, validate};

fn check(body: &[u8]) -> Result<(), Error> {
    validate(body, None, u64::MAX, u64::MAX).map(|_| ())
}

/// Validate `body` fed one byte at a time.
fn check_bytewise(body: &[u8]) -> Result<(), Error> {
    let mut s = crate::service::media::Sniffer::new(crate::service::media::MediaLimits {
        photo: u64::MAX,
        video: u64::MAX,
    });
    for b in body {
        s.feed(std::slice::from_ref(b))?;
    }
    s.finish(None).map(|_| ())
}

#[test]
fn samples_pass_whole_and_bytewise_at_any_length() {
    for (mime, _) in ACCEPTED {
        for len in [0, 60, 61, 1000, 70_000] {
            let body = sample_body(mime, len, 0xFF);
            check(&body).unwrap_or_else(|e| panic!("{mime} {len}: {e}"));
            check_bytewise(&body).unwrap_or_else(|e| panic!("{mime} {len} bytewise: {e}"));
        }
    }
}

#[test]
fn truncated_or_extended_bodies_fail() {
    for (mime, _) in ACCEPTED {
        let body = sample_body(mime, 5000, 7);
        for cut in [1, 2, 17, 2500, 4990] {
            let short = &body[..body.len() - cut];
            assert!(
                matches!(check(short), Err(Error::UnsupportedMedia(_))),
                "{mime} cut by {cut} passed"
            );
            assert!(
                check_bytewise(short).is_err(),
                "{mime} cut by {cut} bytewise"
            );
        }
        let mut long = body.clone();
        long.extend_from_slice(b"MZ\x90\0 trailing executable");
        if *mime != "image/jpeg" && *mime != "image/gif" {
            assert!(check(&long).is_err(), "{mime} with a trailer passed");
        }
    }
}

#[test]
fn magic_bytes_alone_or_in_front_of_something_else_fail() {
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0";
    let cases: Vec<Vec<u8>> = vec![
        vec![0xFF, 0xD8, 0xFF],
        [&[0xFF, 0xD8, 0xFF][..], elf, &[0xFF, 0xD9]].concat(),
        [
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10][..],
            elf,
            &[0xFF, 0xD9],
        ]
        .concat(),
        // A JFIF APP0 and then straight to the end marker: no frame, no scan.
        [&sample_body("image/jpeg", 45, 0)[..20], &[0xFF, 0xD9]].concat(),
        b"\x89PNG\r\n\x1a\n".to_vec(),
        b"GIF89a\0\0\0\0\0\0\0;".to_vec(),
        b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0".to_vec(),
        [&b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom"[..], elf].concat(),
        b"\x1a\x45\xdf\xa3\x84\x42\x82\x81x".to_vec(),
    ];
    for (i, body) in cases.iter().enumerate() {
        let got = check(body);
        assert!(
            matches!(got, Err(Error::UnsupportedMedia(_))),
            "case {i}: {got:?}"
        );
        assert!(check_bytewise(body).is_err(), "case {i} bytewise");
    }
}

#[test]
fn mp4_needs_a_moov_and_exact_box_sizes() {
    let body = sample_body("video/mp4", 1000, 0);
    let mut no_moov = body.clone();
    no_moov[28..32].copy_from_slice(b"free");
    assert!(check(&no_moov).is_err());
    let mut oversize = body.clone();
    oversize[47] += 1;
    assert!(check(&oversize).is_err(), "mdat past the end");
}
