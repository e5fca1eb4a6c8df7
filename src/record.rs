//! `--record FILE`: the response body as it arrived, with one exception: the API key, if the
//! server echoed it, is written as `[redacted]`. A recording is a file people share (bug
//! reports, test fixtures) and the key must never be stored (README); a replay of it prints
//! what the live run printed, since the live run redacted the same bytes.
//!
//! A long recording reserves its disk blocks ahead of the writes (Linux `fallocate` with
//! `FALLOC_FL_KEEP_SIZE`, in growing steps), and the reservation beyond what was written is
//! given back when the recording ends (`ftruncate` to its length), or is dropped midway. On
//! ext4, a write into reserved blocks skips the delayed-allocation bookkeeping done for every
//! 4 KiB page otherwise: a 47 MB recording cost 11 ms of kernel time, 7 ms with the blocks
//! reserved (BENCHMARKS.md, section (h)). The file's size is always what was written, so a
//! reader following it (`tail -f`) never sees the reservation.
//!
//! On a fast stream (the reads have moved to a thread of their own, `read_ahead`), the
//! recording is written by a thread of its own too, and around the page cache where the file
//! allows it (`O_DIRECT`, in aligned blocks of 1 MiB): the kernel's copy of every byte into the
//! page cache was the recording's whole cost, as much as the decoder's work on the same bytes.
//! The recording then lags the stream by up to a block; it is whole when qstream exits.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::redact::ByteRedactor;

/// Recordings shorter than this reserve nothing: most are a few kilobytes.
const RESERVE_AFTER: u64 = 1 << 20;
/// The first reservation, doubled at each next one up to [`RESERVE_MAX`].
const RESERVE_FIRST: u64 = 1 << 20;
const RESERVE_MAX: u64 = 16 << 20;

pub struct Recording {
    file: File,
    redactor: ByteRedactor,
    buf: Vec<u8>,
    /// Bytes written so far.
    written: u64,
    /// Where the reserved blocks end (0: none reserved yet).
    reserved: u64,
    /// The next reservation's length; 0 once the file cannot reserve (a pipe, a device, a file
    /// system without `fallocate`, another system than Linux).
    step: u64,
    /// Writes that bypass the page cache, once [`Recording::direct`] was asked for and the file
    /// takes them.
    #[cfg(target_os = "linux")]
    direct: Option<direct::Direct>,
}

impl Recording {
    pub fn create(path: &Path) -> Result<Recording> {
        let file = File::create(path)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
        Ok(Recording {
            file,
            redactor: ByteRedactor::default(),
            buf: Vec::new(),
            written: 0,
            reserved: 0,
            step: if cfg!(target_os = "linux") {
                RESERVE_FIRST
            } else {
                0
            },
            #[cfg(target_os = "linux")]
            direct: None,
        })
    }

    /// From here on, write around the page cache where the file allows it (`O_DIRECT`, Linux):
    /// asked for by the recording's own thread on a fast stream, where the kernel's copy of
    /// every byte into the page cache is the recording's whole cost. Bytes are gathered into
    /// aligned blocks of 1 MiB; what does not fill a block (the first bytes up to a block
    /// boundary, the last ones) is written as before. A file that refuses (a pipe, tmpfs, a
    /// file system without `O_DIRECT`) is written as before.
    pub fn direct(&mut self) {
        #[cfg(target_os = "linux")]
        if self.direct.is_none() {
            self.direct = direct::Direct::open(&self.file, self.written);
        }
    }

    /// Record the bytes of one read (a tail that could start the key waits for the next).
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.redactor.passes(bytes) {
            // Nearly every read: nothing to redact, nothing held, so no copy.
            return self.put(bytes);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        self.redactor.push(bytes, &mut buf);
        let done = self.put(&buf);
        self.buf = buf;
        done
    }

    /// The body ended: write what was held back.
    pub fn finish(mut self) -> Result<()> {
        self.flush_direct().map_err(write_error)?;
        let tail = self.redactor.take();
        self.put(&tail)?;
        self.release()
            .map_err(|e| Error::internal(format!("cannot write the recording: {e}")))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.written + bytes.len() as u64;
        if end > self.reserved && end > RESERVE_AFTER && self.step > 0 {
            self.reserve(end);
        }
        #[cfg(target_os = "linux")]
        if let Some(direct) = &mut self.direct {
            direct.put(&self.file, bytes).map_err(write_error)?;
            self.written = end;
            return Ok(());
        }
        self.file.write_all(bytes).map_err(write_error)?;
        self.written = end;
        Ok(())
    }

    /// Writes what waits in the direct blocks, and goes back to writing through the file.
    fn flush_direct(&mut self) -> std::io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(mut direct) = self.direct.take() {
            direct.flush(&self.file)?;
            use std::io::{Seek, SeekFrom};
            self.file.seek(SeekFrom::Start(self.written))?;
        }
        Ok(())
    }

    /// Reserve blocks up to at least `end`; on any failure reserve nothing more (the write
    /// then does as it would have, and says so if the disk is full).
    #[cfg(target_os = "linux")]
    fn reserve(&mut self, end: u64) {
        let from = self.reserved.max(self.written);
        let len = (end - from).max(self.step);
        let ok = match (libc::off_t::try_from(from), libc::off_t::try_from(len)) {
            (Ok(at), Ok(n)) => {
                use std::os::fd::AsRawFd;
                let fd = self.file.as_raw_fd();
                // SAFETY: fallocate on a file descriptor this struct owns; no memory involved.
                let done = unsafe { libc::fallocate(fd, libc::FALLOC_FL_KEEP_SIZE, at, n) };
                done == 0
            }
            _ => false,
        };
        if ok {
            self.reserved = from + len;
            self.step = (self.step * 2).min(RESERVE_MAX);
        } else {
            self.step = 0;
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn reserve(&mut self, _end: u64) {
        self.step = 0;
    }

    /// Give back the blocks reserved beyond what was written.
    fn release(&mut self) -> std::io::Result<()> {
        if self.reserved > self.written {
            self.reserved = 0;
            self.file.set_len(self.written)?;
        }
        Ok(())
    }
}

impl Drop for Recording {
    /// The run failed midway: the recording still gets every byte that arrived.
    fn drop(&mut self) {
        let _ = self.flush_direct();
        let tail = self.redactor.take();
        let _ = self.put(&tail);
        let _ = self.release();
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::internal(format!("cannot write the recording: {e}"))
}

#[cfg(target_os = "linux")]
mod direct {
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileExt, OpenOptionsExt};

    /// Direct writes are whole blocks at block offsets, from memory aligned the same way.
    pub(super) const BLOCK: usize = 4096;
    /// Bytes gathered per direct write.
    pub(super) const STAGE: usize = 1 << 20;

    pub(super) struct Direct {
        /// A second open of the same file, with `O_DIRECT`.
        file: File,
        /// The blocks being gathered: `mem[start..start + STAGE]`, `start` aligned to BLOCK.
        mem: Vec<u8>,
        start: usize,
        /// Bytes gathered.
        fill: usize,
        /// Where the gathered bytes go in the file (a block boundary).
        at: u64,
        /// Bytes still to write through the buffered file before `at` (up to the boundary).
        head: usize,
        /// The file refused a direct write: blocks go through the buffered file.
        refused: bool,
    }

    impl Direct {
        /// `None` when the file cannot be opened for direct writes.
        pub(super) fn open(file: &File, written: u64) -> Option<Direct> {
            if !file.metadata().ok()?.is_file() {
                return None;
            }
            let path = format!("/proc/self/fd/{}", file.as_raw_fd());
            let direct = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(path)
                .ok()?;
            let block = BLOCK as u64;
            let at = written.div_ceil(block) * block;
            let mem = vec![0u8; STAGE + BLOCK];
            let start = mem.as_ptr().align_offset(BLOCK);
            Some(Direct {
                file: direct,
                mem,
                start,
                fill: 0,
                at,
                head: usize::try_from(at - written).ok()?,
                refused: false,
            })
        }

        pub(super) fn put(&mut self, buffered: &File, mut bytes: &[u8]) -> std::io::Result<()> {
            if self.head > 0 {
                let n = self.head.min(bytes.len());
                (&*buffered).write_all(&bytes[..n])?;
                self.head -= n;
                bytes = &bytes[n..];
            }
            while !bytes.is_empty() {
                let n = (STAGE - self.fill).min(bytes.len());
                let to = self.start + self.fill;
                self.mem[to..to + n].copy_from_slice(&bytes[..n]);
                self.fill += n;
                bytes = &bytes[n..];
                if self.fill == STAGE {
                    self.write_blocks(buffered, STAGE)?;
                }
            }
            Ok(())
        }

        /// Writes the first `n` gathered bytes (whole blocks) at `at`, directly if the file
        /// takes it, else through the buffered file; moves the rest to the front.
        fn write_blocks(&mut self, buffered: &File, n: usize) -> std::io::Result<()> {
            let blocks = &self.mem[self.start..self.start + n];
            let direct = match self.refused {
                true => Err(std::io::Error::from_raw_os_error(libc::EINVAL)),
                false => self.file.write_all_at(blocks, self.at),
            };
            match direct {
                Ok(()) => {}
                // The file system wants another alignment, or no direct writes after all.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    self.refused = true;
                    buffered.write_all_at(blocks, self.at)?;
                }
                Err(e) => return Err(e),
            }
            self.at += n as u64;
            self.mem
                .copy_within(self.start + n..self.start + self.fill, self.start);
            self.fill -= n;
            Ok(())
        }

        /// Writes every gathered byte: the whole blocks directly, the last part through the
        /// buffered file.
        pub(super) fn flush(&mut self, buffered: &File) -> std::io::Result<()> {
            let whole = self.fill - self.fill % BLOCK;
            if whole > 0 {
                self.write_blocks(buffered, whole)?;
            }
            let rest = &self.mem[self.start..self.start + self.fill];
            buffered.write_all_at(rest, self.at)?;
            self.at += rest.len() as u64;
            self.fill = 0;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch file, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir();
            Scratch(dir.join(format!("qstream-record-{}-{name}", std::process::id())))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Blocks the file holds on disk, in bytes (`st_blocks` counts 512-byte units).
    #[cfg(unix)]
    fn on_disk(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).expect("metadata").blocks() * 512
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    #[test]
    fn a_long_recording_is_every_byte_in_order_and_no_longer() {
        let file = Scratch::new("long");
        let mut rec = Recording::create(&file.0).expect("a scratch file");
        let mut want = Vec::new();
        // Reads of uneven sizes, past several reservations (1, 2, 4, 8 MiB ...).
        for (i, n) in [1, 4095, 65536, 131008, 1 << 20, 3 << 20, 77, 5 << 20]
            .iter()
            .cycle()
            .take(16)
            .enumerate()
        {
            let bytes = pattern(*n, i as u8);
            rec.write(&bytes).expect("written");
            want.extend_from_slice(&bytes);
            // The size is what was written at every step: a reader following the file never
            // sees reserved blocks as content.
            let len = std::fs::metadata(&file.0).expect("metadata").len();
            assert_eq!(len, want.len() as u64);
        }
        rec.finish().expect("finished");
        assert!(std::fs::read(&file.0).expect("the recording") == want);
        // Nothing reserved is left beyond the end (allow the file system's last block).
        #[cfg(unix)]
        assert!(
            on_disk(&file.0) < want.len() as u64 + 64 * 1024,
            "{}",
            on_disk(&file.0)
        );
    }

    #[test]
    fn a_recording_dropped_midway_keeps_its_bytes_and_gives_back_the_reservation() {
        let file = Scratch::new("dropped");
        let mut rec = Recording::create(&file.0).expect("a scratch file");
        let mut bytes = pattern(3 << 20, 7);
        rec.write(&bytes).expect("written");
        // This read reserves the next step (2 MiB), far past its end.
        let more = pattern(1000, 9);
        rec.write(&more).expect("written");
        assert!(rec.step == 0 || rec.reserved > rec.written + (1 << 20));
        bytes.extend_from_slice(&more);
        drop(rec);
        assert!(std::fs::read(&file.0).expect("the recording") == bytes);
        #[cfg(unix)]
        assert!(
            on_disk(&file.0) < bytes.len() as u64 + 64 * 1024,
            "{}",
            on_disk(&file.0)
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_recording_into_a_pipe_is_written_without_reserving() {
        // /dev/null takes writes but not fallocate: the recording goes on, reserving nothing.
        let mut rec = Recording::create(Path::new("/dev/null")).expect("/dev/null");
        for _ in 0..4 {
            rec.write(&pattern(1 << 20, 1)).expect("written");
        }
        assert_eq!(rec.step, 0);
        rec.finish().expect("finished");
    }

    #[test]
    fn direct_writes_record_every_byte_from_any_offset_and_on_drop() {
        // Switched to direct writes at an offset off any block boundary, then reads of every
        // size around the block and the gathering size; finished, and dropped midway.
        for finish in [true, false] {
            let file = Scratch::new(if finish { "direct" } else { "direct-drop" });
            let mut rec = Recording::create(&file.0).expect("a scratch file");
            let mut want = pattern(5000, 1);
            rec.write(&want).expect("written");
            rec.direct();
            for (i, n) in [
                1,
                4095,
                4096,
                4097,
                1 << 20,
                (1 << 20) + 1,
                131008,
                3,
                2 << 20,
            ]
            .into_iter()
            .enumerate()
            {
                let bytes = pattern(n, i as u8 + 2);
                rec.write(&bytes).expect("written");
                want.extend_from_slice(&bytes);
            }
            if finish {
                rec.finish().expect("finished");
            } else {
                drop(rec);
            }
            let got = std::fs::read(&file.0).expect("the recording");
            assert!(got == want, "{} bytes, want {}", got.len(), want.len());
        }
    }

    #[test]
    fn a_short_recording_reserves_nothing() {
        let file = Scratch::new("short");
        let mut rec = Recording::create(&file.0).expect("a scratch file");
        rec.write(b"data: {}\n\n").expect("written");
        assert_eq!(rec.reserved, 0);
        rec.finish().expect("finished");
        assert_eq!(
            std::fs::read(&file.0).expect("the recording"),
            b"data: {}\n\n"
        );
    }
}
