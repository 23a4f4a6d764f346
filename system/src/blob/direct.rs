//! Replica writes that bypass the page cache (`O_DIRECT`) where the file
//! system allows it.
//!
//! A replica is written once, fsynced at once and read later, if ever, so
//! copying its bytes into the page cache only for writeback to copy them out
//! again is pure cost: the kernel's copy into freshly allocated cache pages
//! (which on some VMs costs milliseconds per replica) and dirty pages whose
//! writeback bursts hold up other I/O. [`DirectFile`] stages writes in a reused, 4 KiB-aligned buffer of its
//! thread and writes whole aligned blocks with `O_DIRECT`; the last partial
//! block goes through the page cache (`O_DIRECT` cleared with `fcntl`), so
//! the file has its exact length. A file system that refuses `O_DIRECT`
//! (when it is set, or at the first aligned write) gets plain buffered
//! writes: the bytes on disk are the same either way.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};

/// Alignment of the staged blocks: a page, a multiple of every logical
/// block size `O_DIRECT` asks for.
pub const ALIGN: usize = 4096;

/// The errno of a refused direct write.
const EINVAL: i32 = rustix::io::Errno::INVAL.raw_os_error();

/// Bytes staged before an aligned write (a multiple of [`ALIGN`]).
pub const STAGE: usize = 256 * 1024;

thread_local! {
    /// The staging buffer a finished write left for the next one on this
    /// thread, so its pages stay warm instead of being allocated anew.
    static SPARE: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// A new file's writer: bytes written reach the file only in staged blocks
/// and at [`DirectFile::finish`], which also fsyncs it. Dropping it
/// unfinished leaves the file short; the caller deletes such a file.
pub struct DirectFile {
    file: File,
    direct: bool,
    buf: Vec<u8>,
    /// Start of the aligned stage within `buf`.
    off: usize,
    /// Bytes staged.
    fill: usize,
    /// Bytes already in the file: where the next block goes.
    pos: u64,
}

impl DirectFile {
    /// Wrap `file` (opened for writing, empty) and try to switch it to
    /// `O_DIRECT`; see [`DirectFile::is_direct`].
    pub fn new(file: File) -> Self {
        let mut me = Self::buffered(file);
        me.direct = set_direct(&me.file, true).is_ok();
        me
    }

    /// Wrap `file` for plain buffered writes (the fallback path).
    pub fn buffered(file: File) -> Self {
        let buf = SPARE
            .with(|s| s.borrow_mut().take())
            .unwrap_or_else(|| vec![0u8; STAGE + ALIGN]);
        let off = buf.as_ptr().align_offset(ALIGN);
        Self {
            file,
            direct: false,
            buf,
            off,
            fill: 0,
            pos: 0,
        }
    }

    /// True while whole blocks bypass the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Write what is staged (its aligned part directly) and fsync the file.
    pub fn finish(mut self) -> io::Result<()> {
        let aligned = self.fill & !(ALIGN - 1);
        self.write_block(self.off..self.off + aligned)?;
        if self.fill > aligned {
            if self.direct {
                set_direct(&self.file, false)?;
                self.direct = false;
            }
            let tail = self.off + aligned..self.off + self.fill;
            self.file.write_all_at(&self.buf[tail], self.pos)?;
        }
        self.fill = 0;
        self.file.sync_all()
    }

    /// Copy up to `len` bytes of `src` into the file, read straight into
    /// the stage (no intermediate buffer, one read call per stage-full).
    /// Returns the bytes copied: fewer than `len` only when `src` ended.
    pub fn copy_from(&mut self, src: &mut impl Read, len: u64) -> io::Result<u64> {
        let mut copied = 0u64;
        while copied < len {
            let room = (STAGE - self.fill).min(usize::try_from(len - copied).unwrap_or(STAGE));
            let at = self.off + self.fill;
            let n = match src.read(&mut self.buf[at..at + room]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.fill += n;
            copied += n as u64;
            if self.fill == STAGE {
                self.write_block(self.off..self.off + STAGE)?;
                self.fill = 0;
            }
        }
        Ok(copied)
    }

    /// Write `buf[range]` (aligned when direct) at `pos` and advance it. A
    /// file system that refuses the direct write (`EINVAL`) gets the same
    /// block rewritten buffered at the same offset, and so does the rest.
    fn write_block(&mut self, range: std::ops::Range<usize>) -> io::Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let len = range.len() as u64;
        match self.file.write_all_at(&self.buf[range.clone()], self.pos) {
            Err(e) if self.direct && e.raw_os_error() == Some(EINVAL) => {
                set_direct(&self.file, false)?;
                self.direct = false;
                self.file.write_all_at(&self.buf[range], self.pos)?;
            }
            other => other?,
        }
        self.pos += len;
        Ok(())
    }
}

impl Write for DirectFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (STAGE - self.fill).min(data.len());
        let at = self.off + self.fill;
        self.buf[at..at + n].copy_from_slice(&data[..n]);
        self.fill += n;
        if self.fill == STAGE {
            self.write_block(self.off..self.off + STAGE)?;
            self.fill = 0;
        }
        Ok(n)
    }

    /// Staged bytes stay staged: only [`DirectFile::finish`] can write a
    /// partial block.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DirectFile {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        SPARE.with(|s| *s.borrow_mut() = Some(buf));
    }
}

/// Set or clear `O_DIRECT` on `file`.
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let mut flags = fcntl_getfl(file)?;
    flags.set(OFlags::DIRECT, on);
    fcntl_setfl(file, flags)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A writer of a new file at `path`, `O_DIRECT` if asked (and allowed).
    fn writer(path: &std::path::Path, direct: bool) -> DirectFile {
        let file = File::create_new(path).expect("create");
        if direct {
            DirectFile::new(file)
        } else {
            DirectFile::buffered(file)
        }
    }

    /// Write `data` through a [`DirectFile`] in pieces of `piece` bytes and
    /// read the file back.
    fn round_trip(data: &[u8], piece: usize, direct: bool) -> (Vec<u8>, bool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let mut w = writer(&path, direct);
        let was_direct = w.is_direct();
        for p in data.chunks(piece.max(1)) {
            w.write_all(p).expect("write");
        }
        w.finish().expect("finish");
        let mut back = Vec::new();
        File::open(&path)
            .expect("open")
            .read_to_end(&mut back)
            .expect("read back");
        (back, was_direct)
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + i / 4093) as u8).collect()
    }

    #[test]
    fn every_length_reads_back_exactly() {
        let lens = [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            STAGE - 1,
            STAGE,
            STAGE + 1,
            3 * STAGE + ALIGN + 17,
        ];
        for direct in [true, false] {
            for &len in &lens {
                for piece in [1000, 65_536, STAGE + 5] {
                    let data = pattern(len);
                    let (back, was_direct) = round_trip(&data, piece, direct);
                    assert!(
                        direct || !was_direct,
                        "the buffered writer never goes direct"
                    );
                    assert_eq!(back.len(), len, "len {len} piece {piece} direct {direct}");
                    assert!(back == data, "bytes differ: len {len} piece {piece}");
                }
            }
        }
    }

    #[test]
    fn the_stage_is_reused_and_aligned() {
        let file = File::create_new(tempfile::tempdir().expect("tempdir").path().join("a"))
            .expect("create a");
        let w = DirectFile::buffered(file);
        let ptr = w.buf.as_ptr();
        assert_eq!((ptr as usize + w.off) % ALIGN, 0);
        drop(w);
        let file = File::create_new(tempfile::tempdir().expect("tempdir").path().join("b"))
            .expect("create b");
        let w = DirectFile::buffered(file);
        assert_eq!(
            w.buf.as_ptr(),
            ptr,
            "a finished write's buffer serves the next"
        );
    }

    /// A reader that hands out at most `max` bytes per call.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(out.len()).min(self.1);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn copy_from_takes_len_bytes_after_written_ones_and_stops_at_the_source_s_end() {
        let data = pattern(3 * STAGE + 4113);
        for direct in [true, false] {
            for max in [1000, STAGE + 5] {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("f");
                let mut w = writer(&path, direct);
                w.write_all(&data[..77]).expect("head");
                let want = (2 * STAGE + 9) as u64;
                let mut src = Trickle(&data[77..], max);
                assert_eq!(w.copy_from(&mut src, want).expect("copy"), want);
                let rest = src.0.len() as u64;
                assert_eq!(w.copy_from(&mut src, u64::MAX).expect("rest"), rest);
                w.finish().expect("finish");
                let back = std::fs::read(&path).expect("read back");
                assert!(back == data, "direct {direct}, reads of {max}");
            }
        }
    }
}
