//! Blocking file I/O on one replica file of the local blob store.
//!
//! Everything here is synchronous and meant to run inside
//! `tokio::task::spawn_blocking`. The durable write path is: a unique temp
//! file in the target directory, data + trailer (`O_DIRECT` where allowed,
//! see [`super::direct`]), fsync, rename into place,
//! fsync the directory. Reads check the footer and the CRCs of exactly the
//! chunks they touch (see [`super::format`]); scrub also checks BLAKE3
//! against the key. A missing file is [`Error::NotFound`];
//! anything malformed, truncated or failing a check is [`Error::Corrupt`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::BlobKey;
use super::direct::DirectFile;
use super::format::{FOOTER_LEN, Footer, verify_chunks};
use crate::error::{Error, Result};

/// File-name prefix of in-flight (or crash-orphaned) temp files:
/// `.tmp.<key>.<pid>.<counter>.<random>`. Reads never look at them; scrub
/// removes them.
pub const TEMP_PREFIX: &str = ".tmp.";

/// Chunks per buffer when streaming a whole file (1 MiB at 64 KiB chunks).
const STREAM_CHUNKS: usize = 16;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temp-file name for a write of `key`. The random part keeps a
/// restarted process (same pid, counter back at 0) clear of its
/// predecessor's crash leftovers.
fn temp_name(key: &BlobKey) -> String {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let r: u32 = rand::random();
    format!("{TEMP_PREFIX}{key}.{}.{n}.{r:08x}", std::process::id())
}

/// Create a new temp file for `key` in `dir` (never an existing one).
fn create_temp(dir: &Path, key: &BlobKey) -> Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = dir.join(temp_name(key));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| Error::Internal("no temp name".into()), Error::Io))
}

/// The key a temp-file name was written for, if it is one of ours.
pub fn temp_key(name: &str) -> Option<BlobKey> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    BlobKey::parse(rest.get(..64)?).ok()
}

/// fsync a directory so entries created, renamed or removed in it persist.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// Map a read error: hitting EOF early means the file is truncated.
fn read_err(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::Corrupt("file shorter than its footer says (truncated)".into())
    } else {
        Error::Io(e)
    }
}

/// Durably create `dir/<key>`: `fill` writes the full file contents into a
/// fresh temp file (through a [`DirectFile`], bypassing the page cache where
/// the file system allows), which is then fsynced and renamed into place, and `dir`
/// is fsynced. On any error the temp file is removed and nothing is renamed.
pub fn write_durable(
    dir: &Path,
    key: &BlobKey,
    fill: impl FnOnce(&mut DirectFile) -> Result<()>,
) -> Result<()> {
    let (tmp, file) = create_temp(dir, key)?;
    let mut out = DirectFile::new(file);
    let result = fill(&mut out)
        .and_then(|()| Ok(out.finish()?))
        .and_then(|()| Ok(fs::rename(&tmp, dir.join(key.as_str()))?))
        .and_then(|()| sync_dir(dir));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Open `path` and parse its footer. Missing → [`Error::NotFound`].
pub fn open(path: &Path) -> Result<(File, Footer)> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::NotFound(path.display().to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    if len < FOOTER_LEN {
        return Err(Error::Corrupt(format!("{len}-byte file has no footer")));
    }
    let mut raw = [0u8; FOOTER_LEN as usize];
    file.seek(SeekFrom::Start(len - FOOTER_LEN))?;
    file.read_exact(&mut raw).map_err(read_err)?;
    let footer = Footer::decode(&raw, len)?;
    Ok((file, footer))
}

/// Read `len` bytes at `offset`, into a buffer that is not zeroed first (the read fills it,
/// and zeroing touched every page of a view's buffer once more). Fewer bytes than `len` is a
/// truncated file.
fn read_at(file: &mut File, offset: u64, len: u64) -> Result<Vec<u8>> {
    let want = usize::try_from(len).map_err(|_| Error::Internal("read too large".into()))?;
    let mut buf = Vec::with_capacity(want);
    file.seek(SeekFrom::Start(offset))?;
    file.take(len).read_to_end(&mut buf).map_err(read_err)?;
    if buf.len() < want {
        return Err(read_err(io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(buf)
}

/// Read bytes `range` (end exclusive, clamped to the size) of the blob at
/// `path`, verifying only the chunks the range touches. A start at or past
/// the size is [`Error::RangeNotSatisfiable`]; an empty range at a valid
/// start returns empty bytes.
pub fn read_range(path: &Path, range: Range<u64>) -> Result<Bytes> {
    let (mut file, footer) = open(path)?;
    let size = footer.data_len;
    if range.start >= size {
        return Err(Error::RangeNotSatisfiable { size });
    }
    let end = range.end.min(size);
    if end <= range.start {
        return Ok(Bytes::new());
    }
    let cs = u64::from(footer.chunk_size);
    let (first, last) = (range.start / cs, (end - 1) / cs);
    let crcs = read_at(&mut file, footer.crc_offset(first), 4 * (last - first + 1))?;
    let (from, _) = footer.chunk_bounds(first);
    let (_, to) = footer.chunk_bounds(last);
    let data = read_at(&mut file, from, to - from)?;
    verify_chunks(&footer, first, &data, &crcs)?;
    let (lo, hi) = ((range.start - from) as usize, (end - from) as usize);
    Ok(Bytes::from(data).slice(lo..hi))
}

/// Read the whole blob at `path`, verifying every chunk CRC. The BLAKE3 of
/// the whole (that the bytes are the key's) is left to scrub: the CRCs
/// already catch rot, and hashing every read would cost more than the read.
pub fn read_full(path: &Path) -> Result<Bytes> {
    let (mut file, footer) = open(path)?;
    let total = footer
        .file_len()
        .ok_or_else(|| Error::Internal("footer length overflow".into()))?;
    let mut buf = read_at(&mut file, 0, total - FOOTER_LEN)?;
    let data_len = footer.data_len as usize;
    verify_chunks(&footer, 0, &buf[..data_len], &buf[data_len..])?;
    buf.truncate(data_len);
    Ok(Bytes::from(buf))
}

/// Stream the whole blob at `src` through every check (chunk CRCs and
/// BLAKE3 == `key`) in bounded memory; if `sink` is given, also copy the
/// file's bytes (data and trailer) into it. Returns the data length.
fn stream_verified(src: &Path, key: &BlobKey, mut sink: Option<&mut DirectFile>) -> Result<u64> {
    let (mut file, footer) = open(src)?;
    let crcs = read_at(&mut file, footer.crc_offset(0), 4 * footer.chunks())?;
    file.seek(SeekFrom::Start(0))?;
    let step = footer.chunk_size as usize * STREAM_CHUNKS;
    let mut buf = vec![0u8; step];
    let mut hasher = blake3::Hasher::new();
    let (mut pos, mut chunk) = (0u64, 0u64);
    while pos < footer.data_len {
        let n = (footer.data_len - pos).min(step as u64) as usize;
        file.read_exact(&mut buf[..n]).map_err(read_err)?;
        let n_chunks = n.div_ceil(footer.chunk_size as usize);
        let crc_slice = &crcs[4 * chunk as usize..4 * (chunk as usize + n_chunks)];
        verify_chunks(&footer, chunk, &buf[..n], crc_slice)?;
        hasher.update(&buf[..n]);
        if let Some(out) = sink.as_deref_mut() {
            out.write_all(&buf[..n])?;
        }
        pos += n as u64;
        chunk += n_chunks as u64;
    }
    if hasher.finalize().to_hex().as_str() != key.as_str() {
        return Err(Error::Corrupt(
            "BLAKE3 of the data does not match the key".into(),
        ));
    }
    if let Some(out) = sink {
        out.write_all(&crcs)?;
        out.write_all(&footer.encode())?;
    }
    Ok(footer.data_len)
}

/// Read the plain file `src` (which must be `len` bytes long) once, in
/// bounded memory, and return its BLAKE3 key and the integrity trailer a
/// replica of it ends with ([`super::format`]). A file of another length
/// is [`Error::InvalidInput`].
pub fn scan_plain(src: &Path, len: u64) -> Result<(BlobKey, Vec<u8>)> {
    let mut file = File::open(src)?;
    let actual = file.metadata()?.len();
    if actual != len {
        return Err(Error::InvalidInput(format!(
            "{} is {actual} bytes, not {len}",
            src.display()
        )));
    }
    let cs = super::format::CHUNK_SIZE as usize;
    let mut buf = vec![0u8; cs * STREAM_CHUNKS];
    let mut hasher = blake3::Hasher::new();
    let mut crcs = Vec::with_capacity(4 * len.div_ceil(cs as u64) as usize);
    let mut pos = 0u64;
    while pos < len {
        let n = (len - pos).min(buf.len() as u64) as usize;
        file.read_exact(&mut buf[..n]).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                Error::InvalidInput(format!("{} is shorter than {len} bytes", src.display()))
            }
            _ => Error::Io(e),
        })?;
        hasher.update(&buf[..n]);
        for chunk in buf[..n].chunks(cs) {
            crcs.extend_from_slice(&crc32c::crc32c(chunk).to_le_bytes());
        }
        pos += n as u64;
    }
    let footer = Footer {
        data_len: len,
        chunk_size: super::format::CHUNK_SIZE,
    };
    crcs.extend_from_slice(&footer.encode());
    let key = BlobKey::parse(hasher.finalize().to_hex().as_str())?;
    Ok((key, crcs))
}

/// A `fill` for [`write_durable`]: the `len` bytes of the plain file `src`,
/// then `trailer` (from [`scan_plain`]).
pub fn copy_plain(src: &Path, len: u64, trailer: &[u8], out: &mut DirectFile) -> Result<()> {
    let copied = out.copy_from(&mut File::open(src)?, len)?;
    if copied != len {
        return Err(Error::InvalidInput(format!(
            "{} shrank while it was stored",
            src.display()
        )));
    }
    out.write_all(trailer)?;
    Ok(())
}

/// Fully verify the blob at `path` against `key`; returns its size.
pub fn verify_file(path: &Path, key: &BlobKey) -> Result<u64> {
    stream_verified(path, key, None)
}

/// A `fill` for [`write_durable`] that copies the blob at `src` while
/// verifying every byte, so a bad source fails the write before the rename.
pub fn copy_verified(src: &Path, key: &BlobKey, out: &mut DirectFile) -> Result<()> {
    stream_verified(src, key, Some(out)).map(|_| ())
}

/// Remove `path` if present and fsync its directory; true if it existed.
pub fn remove_durable(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}
