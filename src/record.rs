//! `--record FILE`: the response body as it arrived, with one exception: the API key, if the
//! server echoed it, is written as `[redacted]`. A recording is a file people share (bug
//! reports, test fixtures) and the key must never be stored (README); a replay of it prints
//! what the live run printed, since the live run redacted the same bytes.
//!
//! A long recording reserves its disk blocks ahead of the writes (Linux `fallocate` with
//! `FALLOC_FL_KEEP_SIZE`, in growing steps), and the reservation beyond what was written is
//! given back when the recording ends (`ftruncate` to its length), or is dropped midway. On
//! ext4, a write into reserved blocks skips the delayed-allocation bookkeeping done for every
//! 4 KiB page otherwise: 47 MB written in 128 KiB pieces took 11 ms of kernel time, 7 ms with
//! the blocks reserved; what `--record` adds to a 47 MB run, +20.6 -> +17.9 ms of CPU
//! (BENCHMARKS.md, issue 17's second session). The file's size is always what was written,
//! so a reader following it (`tail -f`) never sees the reservation.
//!
//! While the stream comes faster than it is read (a read of [`ALIGN`] bytes or more), the file is
//! written in pieces that end on an [`ALIGN`] boundary, and the bytes past the last boundary wait
//! for the next read. The kernel then fills the page cache with large folios instead of single
//! pages: 65 MB arriving in reads of 131,008 bytes took 22.6 ms of kernel time written as they
//! came and 15.3 ms written on 64 KiB boundaries (fallocate in both; median of 15, python
//! `os.write` and `os.writev` on this ext4 VM). A read shorter than [`ALIGN`] (a stream that is
//! not outrunning us) writes everything it has, so a slow stream's recording is never behind,
//! and a fast one's is behind by less than [`ALIGN`] bytes until its next read, its end, or
//! [`flush`](Recording::flush) (the writing thread's, when a fast stream stalls: see
//! `read_ahead`).

use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::redact::ByteRedactor;

/// Recordings shorter than this reserve nothing: most are a few kilobytes.
const RESERVE_AFTER: u64 = 1 << 20;
/// The first reservation, doubled at each next one up to [`RESERVE_MAX`].
const RESERVE_FIRST: u64 = 1 << 20;
const RESERVE_MAX: u64 = 16 << 20;
/// The boundary a fast stream's writes end on (see the module's comment).
const ALIGN: u64 = 64 << 10;

pub struct Recording {
    file: File,
    redactor: ByteRedactor,
    buf: Vec<u8>,
    /// Bytes past the last [`ALIGN`] boundary of a fast stream, waiting for the next read.
    carry: Vec<u8>,
    /// Bytes written so far (the file's size).
    written: u64,
    /// Where the reserved blocks end (0: none reserved yet).
    reserved: u64,
    /// The next reservation's length; 0 once the file cannot reserve (a pipe, a device, a file
    /// system without `fallocate`, another system than Linux).
    step: u64,
}

impl Recording {
    pub fn create(path: &Path) -> Result<Recording> {
        let file = File::create(path)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
        Ok(Recording {
            file,
            redactor: ByteRedactor::default(),
            buf: Vec::new(),
            carry: Vec::new(),
            written: 0,
            reserved: 0,
            step: if cfg!(target_os = "linux") {
                RESERVE_FIRST
            } else {
                0
            },
        })
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

    /// Write the bytes waiting for an [`ALIGN`] boundary (a stream that stalled after a fast
    /// burst): the file then has every byte recorded so far, but a tail that could start the
    /// key, which waits for the bytes after it.
    pub fn flush(&mut self) -> Result<()> {
        if self.carry.is_empty() {
            return Ok(());
        }
        write_both(&mut self.file, &self.carry, &[]).map_err(write_error)?;
        self.written += self.carry.len() as u64;
        self.carry.clear();
        Ok(())
    }

    /// The body ended: write what was held back.
    pub fn finish(mut self) -> Result<()> {
        let tail = self.redactor.take();
        // A read shorter than ALIGN writes what waits with it: this one writes everything.
        self.put(&tail)?;
        self.release().map_err(write_error)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.written + (self.carry.len() + bytes.len()) as u64;
        if end > self.reserved && end > RESERVE_AFTER && self.step > 0 {
            self.reserve(end);
        }
        // Up to the last boundary for a long read, else everything.
        let upto = if bytes.len() as u64 >= ALIGN {
            end - end % ALIGN
        } else {
            end
        };
        // A long read reaches past the boundary before `end`, so the cut is inside `bytes`.
        let cut = (upto - self.written) as usize - self.carry.len();
        let (now, later) = bytes.split_at(cut);
        write_both(&mut self.file, &self.carry, now).map_err(write_error)?;
        self.written = upto;
        self.carry.clear();
        self.carry.extend_from_slice(later);
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
        let tail = self.redactor.take();
        let _ = self.put(&tail);
        let _ = self.release();
    }
}

/// Write `a` then `b`, whole, in as few calls as the file takes.
fn write_both(file: &mut File, a: &[u8], b: &[u8]) -> std::io::Result<()> {
    let mut both = [IoSlice::new(a), IoSlice::new(b)];
    let mut left = &mut both[..];
    IoSlice::advance_slices(&mut left, 0);
    while !left.is_empty() {
        match file.write_vectored(left) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut left, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_error(e: std::io::Error) -> Error {
    Error::internal(format!("cannot write the recording: {e}"))
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
            // sees reserved blocks as content. A long read ends on a boundary, with less than
            // ALIGN bytes waiting; a short one writes everything.
            let len = std::fs::metadata(&file.0).expect("metadata").len();
            let got = std::fs::read(&file.0).expect("the recording");
            assert!(got[..] == want[..got.len()], "read {i}: bytes out of order");
            if (*n as u64) < ALIGN {
                assert_eq!(len, want.len() as u64, "read {i} of {n} bytes");
            } else {
                assert_eq!(len % ALIGN, 0, "read {i} of {n} bytes");
                assert!(want.len() as u64 - len < ALIGN, "read {i} of {n} bytes");
            }
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

    #[test]
    fn a_fast_stream_that_slows_down_or_breaks_off_is_recorded_whole() {
        // Long reads leave bytes past the boundary waiting; the first short read writes them,
        // and so does a recording dropped right after a long read.
        for stop_after_long in [false, true] {
            let file = Scratch::new(if stop_after_long { "broken" } else { "slowed" });
            let mut rec = Recording::create(&file.0).expect("a scratch file");
            let mut want = Vec::new();
            for (i, n) in [131008usize, 131008, 200_000].iter().enumerate() {
                let bytes = pattern(*n, i as u8);
                rec.write(&bytes).expect("written");
                want.extend_from_slice(&bytes);
            }
            assert!(!rec.carry.is_empty(), "the test needs bytes waiting");
            if !stop_after_long {
                let event = b"data: {\"slow\":1}\n\n";
                rec.write(event).expect("written");
                want.extend_from_slice(event);
                let len = std::fs::metadata(&file.0).expect("metadata").len();
                assert_eq!(len, want.len() as u64, "a short read writes everything");
            }
            drop(rec);
            assert!(std::fs::read(&file.0).expect("the recording") == want);
        }
    }

    #[test]
    fn a_flush_writes_what_waits_for_a_boundary_and_the_next_reads_follow_it() {
        // A fast stream that stalls: the writing thread flushes, and the file has every byte
        // so far; the reads after the stall are appended in order, unaligned from there on.
        let file = Scratch::new("flush");
        let mut rec = Recording::create(&file.0).expect("a scratch file");
        let mut want = Vec::new();
        for (i, n) in [131008usize, 200_000, 77, 131008, 131008]
            .iter()
            .enumerate()
        {
            let bytes = pattern(*n, i as u8);
            rec.write(&bytes).expect("written");
            want.extend_from_slice(&bytes);
            rec.flush().expect("flushed");
            assert!(rec.carry.is_empty());
            assert!(
                std::fs::read(&file.0).expect("the recording") == want,
                "read {i}"
            );
        }
        rec.flush().expect("a flush with nothing waiting");
        rec.finish().expect("finished");
        assert!(std::fs::read(&file.0).expect("the recording") == want);
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
