//! Where the body's reads come from: the main thread while the decoder keeps up with the
//! network, a read-ahead thread once it falls behind.
//!
//! A service streaming tokens sends a few hundred bytes at a time; each read then brings what
//! one wake-up of the socket holds and is decoded and written at once, with no hand-over
//! between threads (the latency budget). A read of [`AHEAD_AFTER`] bytes or more means the
//! bytes waited for the decoder (a fast local server, a replay of a file, a reader that was
//! paused): from then on a second thread reads, so that the socket, TLS and chunked framing
//! are served while the main thread decodes and writes (the throughput budget).
//!
//! Not for a cumulative stream (`--no-incremental`, [`Reads::without_read_ahead`]): there the
//! decoder's work on a read is mostly comparing the text it repeats with the text so far, a
//! `memcmp` cheaper than handing the read to another thread. On the 327 MB benchmark stream the
//! hand-overs took 4,000 context switches a run (the decoder woken on the reader's core,
//! preempting it), and one thread did the same in 10 ms less CPU and 7–13 ms less wall
//! (BENCHMARKS.md, issue 17's fifth session).
//!
//! The recording (`--record`) is written by the thread that reads, as each read returns, while
//! the main thread reads; once there is a reading thread, by a writing thread of its own, fed
//! the same buffers (shared, not copied) in the order they were read. A file write (the
//! kernel's copy into the page cache, about as long as the decoder's work on the same bytes)
//! then holds up neither the decoder nor the next read.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::record::Recording;

/// Bytes asked of the body per read. A read returns as soon as anything arrived, so this
/// bounds the burst handled between two flushes, not the wait.
pub const READ_SIZE: usize = 256 * 1024;

/// The same for a cumulative stream, whose lines (each repeating all the text so far) run to
/// hundreds of kilobytes: a line cut between two reads is copied, and its text checked again.
pub const LONG_READ_SIZE: usize = 512 * 1024;

/// A read this long switches to reading ahead.
const AHEAD_AFTER: usize = 64 * 1024;

/// Reads that may wait for the decoder, besides the one being read and the one decoded.
///
/// A reader that found the queue full sleeps until the decoder has taken all of it, then reads
/// until it is full again: one wake-up per `READS_AHEAD` reads instead of one per read when the
/// decoder is the slower side (it still has the read it took to decode while the reader
/// wakes). A decoder that waits for a read is woken by every read, so a slow stream's events
/// are never held back.
const READS_AHEAD: usize = 2;

/// Reads that may wait for the recording's writer, besides the one being written.
const WRITES_AHEAD: usize = 12;

/// While reads come long (the stream outruns us), a writer that waits is woken once this many
/// are queued, not by every read: each wake-up is a context switch on both threads, and 500 of
/// them cost more than the writes' own system calls on a 65 MB stream (with one wake-up per
/// read: +31–38% wall over the same run without `--record`; one per 8: +23%, BENCHMARKS.md).
/// A short read (a stream no longer outrunning us) wakes it at once.
const WRITES_WAKE: usize = 8;

/// How long a writer holding back for [`WRITES_WAKE`] reads waits before it writes what is
/// queued anyway: a stream that stalls after a fast burst has its recording current within
/// this, not at its next read.
const WRITES_STALL: std::time::Duration = std::time::Duration::from_millis(20);

/// A read's buffer: the decoder's, and the recording writer's until it has written it.
pub type Buf = Arc<Vec<u8>>;

/// One read: the buffer and how many of its bytes were read (0 at the end), or its error.
pub type Read1 = std::io::Result<(Buf, usize)>;

pub struct Reads {
    body: Option<Box<dyn Read + Send>>,
    buf: Option<Vec<u8>>,
    /// Bytes per read: [`READ_SIZE`] or [`LONG_READ_SIZE`].
    size: usize,
    /// The last read found a backlog: read ahead from the next one on.
    behind: bool,
    /// Whether a backlog moves the reads to a thread of their own.
    may_read_ahead: bool,
    ahead: Option<ReadAhead>,
    /// The recording while this thread reads (it moves to the writing thread with the body).
    record: Option<Recording>,
}

impl Reads {
    pub fn new(body: Box<dyn Read + Send>, record: Option<Recording>, size: usize) -> Self {
        Reads {
            body: Some(body),
            buf: None,
            size,
            behind: false,
            may_read_ahead: true,
            ahead: None,
            record,
        }
    }

    /// Every read on the calling thread, however far the decoder falls behind (a cumulative
    /// stream: see the module's comment).
    pub fn without_read_ahead(mut self) -> Self {
        self.may_read_ahead = false;
        self
    }

    /// The body ended (or the stream said it is over): the recording gets what it held back.
    /// Reads made ahead of the decoder are in it too.
    pub fn finish_record(&mut self) -> Result<()> {
        let record = match &mut self.ahead {
            Some(ahead) => ahead.stop_writer()?,
            None => self.record.take(),
        };
        match record {
            Some(record) => record.finish(),
            None => Ok(()),
        }
    }

    /// The next read. Reads are never cut short or reordered, whichever thread made them.
    pub fn next(&mut self) -> Result<Read1> {
        // The switch happens here, after the read that found the backlog was handed out: if
        // the thread cannot start, no byte read so far is lost.
        if self.behind && self.ahead.is_none() {
            if let Some(body) = self.body.take() {
                // The buffer handed back before this read becomes the thread's first.
                let spare = self.buf.take();
                self.ahead = Some(ReadAhead::start(
                    body,
                    self.record.take(),
                    self.size,
                    spare,
                )?);
            }
        }
        if let Some(ahead) = &self.ahead {
            return ahead.next();
        }
        let Some(body) = self.body.as_mut() else {
            return Err(Error::internal("the body was already handed over"));
        };
        // The last buffer, unless it was not handed back (a caller that stopped early).
        let mut buf = self.buf.take().unwrap_or_else(|| vec![0; self.size]);
        let n = loop {
            match body.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Ok(Err(e)),
            }
        };
        self.behind = self.may_read_ahead && n >= AHEAD_AFTER;
        if let (Some(record), Some(bytes)) = (self.record.as_mut(), buf.get(..n)) {
            record.write(bytes)?;
        }
        Ok(Ok((Arc::new(buf), n)))
    }

    /// Hands a buffer back for another read.
    pub fn recycle(&mut self, buf: Buf) {
        match &self.ahead {
            Some(ahead) => ahead.shared.give_back(buf),
            None => self.buf = Arc::into_inner(buf),
        }
    }
}

/// What the threads share. Mutexes and condition variables, not channels: the std channel
/// spins before it sleeps, which on a small machine takes a core from the server the bytes
/// come from.
///
/// A condition variable is signalled only when a thread waits on it (a flag under the lock,
/// set before the wait, cleared after it): std's `notify_one` makes a `FUTEX_WAKE` system call
/// whether or not anybody sleeps, and most hand-overs find the other thread busy. The flag is
/// read under the same lock as the change it signals, so a waiter either sees the change before
/// it sleeps or is flagged and gets the signal.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// A read was queued, or the reader stopped.
    ready: Condvar,
    /// A read was taken, or the main thread gave up.
    room: Condvar,
    /// The recording's writer, if there is a recording (a lock of its own: a file write never
    /// holds up a hand-over).
    writes: Option<Writes>,
}

#[derive(Default)]
struct State {
    /// Reads, or the recording's failure to write one (the last item then).
    filled: VecDeque<Result<Read1>>,
    /// Buffers handed back by the decoder and the writer, for the next reads.
    empty: Vec<Vec<u8>>,
    /// The reader thread is gone (its last read is queued, or it panicked).
    reader_done: bool,
    /// The main thread is gone: the reader stops at its next hand-over.
    main_done: bool,
    /// The main thread waits on `ready`.
    main_waits: bool,
    /// The reader waits on `room`.
    reader_waits: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-changed: every change
        // is one push or pop. So a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A buffer that neither the decoder nor the writer needs any more goes back for reads
    /// (whichever of the two lets go of it last).
    fn give_back(&self, buf: Buf) {
        if let Some(buf) = Arc::into_inner(buf) {
            self.lock().empty.push(buf);
        }
    }
}

/// The reads waiting for the recording's writer.
#[derive(Default)]
struct Writes {
    queue: Mutex<WriteQueue>,
    /// A read was queued for writing, or the queue was closed.
    ready: Condvar,
    /// A read was taken for writing, or the writer failed.
    room: Condvar,
}

#[derive(Default)]
struct WriteQueue {
    reads: VecDeque<(Buf, usize)>,
    /// No more reads are taken: the writer writes those queued, then ends.
    closed: bool,
    /// The writer failed: reads are no longer taken.
    failed: bool,
    /// Its error, until somebody reports it.
    error: Option<Error>,
    /// The writer waits on `ready`.
    writer_waits: bool,
    /// ... with no time limit: the next read wakes it, long or short.
    writer_idle: bool,
    /// The reader waits on `room`.
    reader_waits: bool,
}

impl Writes {
    fn lock(&self) -> MutexGuard<'_, WriteQueue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a read for the recording (waiting while the writer is [`WRITES_AHEAD`] behind);
    /// `Err` once the writer has failed. A read after the queue was closed is not recorded.
    fn push(&self, buf: &Buf, n: usize) -> Result<()> {
        let mut q = self.lock();
        while q.reads.len() >= WRITES_AHEAD && !q.failed && !q.closed {
            q.reader_waits = true;
            q = self.room.wait(q).unwrap_or_else(|p| p.into_inner());
            q.reader_waits = false;
        }
        if q.failed {
            return Err(q
                .error
                .take()
                .unwrap_or_else(|| Error::internal("cannot write the recording")));
        }
        if !q.closed {
            q.reads.push_back((Arc::clone(buf), n));
            let wake = q.writer_waits
                && (q.writer_idle || n < AHEAD_AFTER || q.reads.len() >= WRITES_WAKE);
            drop(q);
            if wake {
                self.ready.notify_one();
            }
        }
        Ok(())
    }

    /// The writer's loop: every queued read, in order, until the queue is closed and empty or
    /// a write fails. Gives the recording back.
    fn run(shared: &Shared, writes: &Writes, mut record: Recording) -> Recording {
        // Whether the reader may be holding back wake-ups (the last read was long).
        let mut held = false;
        loop {
            let mut q = writes.lock();
            let (buf, n) = loop {
                if let Some(read) = q.reads.pop_front() {
                    break read;
                }
                if q.closed {
                    return record;
                }
                q.writer_waits = true;
                if held {
                    let (guard, waited) = writes
                        .ready
                        .wait_timeout(q, WRITES_STALL)
                        .unwrap_or_else(|p| p.into_inner());
                    q = guard;
                    if waited.timed_out() && q.reads.is_empty() {
                        // Nothing came for that long: the recording gets the bytes it held
                        // for a boundary, and the next read, whatever its length, wakes the
                        // writer (no periodic wake-ups while a stream stays stalled).
                        held = false;
                        q.writer_waits = false;
                        drop(q);
                        if let Err(e) = record.flush() {
                            Self::fail(shared, writes, e);
                            return record;
                        }
                        q = writes.lock();
                        continue;
                    }
                } else {
                    q.writer_idle = true;
                    q = writes.ready.wait(q).unwrap_or_else(|p| p.into_inner());
                    q.writer_idle = false;
                }
                q.writer_waits = false;
            };
            held = n >= AHEAD_AFTER;
            let wake = q.reader_waits;
            drop(q);
            if wake {
                writes.room.notify_one();
            }
            let written = match buf.get(..n) {
                Some(bytes) => record.write(bytes),
                None => Err(Error::internal("a read claimed more bytes than its buffer")),
            };
            shared.give_back(buf);
            if let Err(e) = written {
                Self::fail(shared, writes, e);
                return record;
            }
        }
    }

    /// A write failed: no more reads are taken, and those queued go back.
    fn fail(shared: &Shared, writes: &Writes, e: Error) {
        let mut q = writes.lock();
        q.failed = true;
        q.error = Some(e);
        for (buf, _) in std::mem::take(&mut q.reads) {
            shared.give_back(buf);
        }
        drop(q);
        writes.room.notify_all();
    }
}

struct ReadAhead {
    shared: Arc<Shared>,
    /// The recording's writing thread, until it is stopped.
    writer: Option<JoinHandle<Recording>>,
}

/// Marks the reader as gone however its thread ends, so the main thread never waits forever.
struct ReaderDone(Arc<Shared>);

impl Drop for ReaderDone {
    fn drop(&mut self) {
        self.0.lock().reader_done = true;
        self.0.ready.notify_one();
    }
}

impl ReadAhead {
    fn start(
        mut body: Box<dyn Read + Send>,
        record: Option<Recording>,
        size: usize,
        spare: Option<Vec<u8>>,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            writes: record.as_ref().map(|_| Writes::default()),
            ..Shared::default()
        });
        shared.lock().empty.extend(spare);
        let writer = match record {
            Some(record) => {
                let shared = Arc::clone(&shared);
                let thread = std::thread::Builder::new()
                    .name("qstream-record".into())
                    .spawn(move || match &shared.writes {
                        Some(writes) => Writes::run(&shared, writes, record),
                        None => record,
                    })
                    .map_err(|e| Error::internal(format!("cannot start the writer thread: {e}")))?;
                Some(thread)
            }
            None => None,
        };
        let mut ahead = ReadAhead {
            shared: Arc::clone(&shared),
            writer,
        };
        let done = ReaderDone(Arc::clone(&shared));
        let reader = std::thread::Builder::new()
            .name("qstream-read".into())
            .spawn(move || {
                let shared = Arc::clone(&done.0);
                loop {
                    let mut buf = shared.lock().empty.pop().unwrap_or_else(|| vec![0; size]);
                    let read = loop {
                        match body.read(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let read = match read {
                        Ok(n) => {
                            let buf = Arc::new(buf);
                            match shared.writes.as_ref().filter(|_| n > 0) {
                                Some(writes) => match writes.push(&buf, n) {
                                    Ok(()) => Ok(Ok((buf, n))),
                                    Err(e) => Err(e),
                                },
                                None => Ok(Ok((buf, n))),
                            }
                        }
                        Err(e) => Ok(Err(e)),
                    };
                    // A read of 0 bytes (the end) and an error are both the last one.
                    let last = !matches!(read, Ok(Ok((_, n))) if n > 0);
                    let mut state = shared.lock();
                    while state.filled.len() >= READS_AHEAD && !state.main_done {
                        state.reader_waits = true;
                        state = shared.room.wait(state).unwrap_or_else(|p| p.into_inner());
                        state.reader_waits = false;
                    }
                    if state.main_done {
                        return;
                    }
                    state.filled.push_back(read);
                    let wake = state.main_waits;
                    drop(state);
                    if wake {
                        shared.ready.notify_one();
                    }
                    if last {
                        return;
                    }
                }
            });
        if let Err(e) = reader {
            // Stop the writer before saying so: the recording keeps what it had.
            drop(ahead.stop_writer());
            return Err(Error::internal(format!(
                "cannot start the reader thread: {e}"
            )));
        }
        Ok(ahead)
    }

    fn next(&self) -> Result<Read1> {
        let mut state = self.shared.lock();
        loop {
            if let Some(read) = state.filled.pop_front() {
                let wake = state.reader_waits && state.filled.is_empty();
                drop(state);
                if wake {
                    self.shared.room.notify_one();
                }
                return read;
            }
            if state.reader_done {
                return Err(Error::internal("the reader thread stopped"));
            }
            state.main_waits = true;
            state = self
                .shared
                .ready
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
            state.main_waits = false;
        }
    }

    /// Closes the recording's queue and waits for the writer to write what is in it: the
    /// recording, to finish or drop; `Err` if a write failed and nobody has said so yet.
    fn stop_writer(&mut self) -> Result<Option<Recording>> {
        let (Some(thread), Some(writes)) = (self.writer.take(), &self.shared.writes) else {
            return Ok(None);
        };
        writes.lock().closed = true;
        writes.ready.notify_one();
        writes.room.notify_all();
        let record = thread
            .join()
            .map_err(|_| Error::internal("the recording's writer stopped"))?;
        match writes.lock().error.take() {
            Some(e) => Err(e),
            None => Ok(Some(record)),
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // The run failed midway: the recording gets what was read and what it held back now
        // (dropping it), not when a reader blocked on the network ends.
        drop(self.stop_writer());
        self.shared.lock().main_done = true;
        self.shared.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out the given reads in order (each filled with its index), then the end.
    struct Script(VecDeque<usize>, u8);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(n) = self.0.pop_front() else {
                return Ok(0);
            };
            self.1 += 1;
            let n = n.min(buf.len());
            buf[..n].fill(self.1);
            Ok(n)
        }
    }

    fn reads(sizes: &[usize]) -> Reads {
        Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            None,
            READ_SIZE,
        )
    }

    #[test]
    fn a_backlog_moves_reading_to_a_thread_without_losing_or_reordering() {
        let mut r = reads(&[100, AHEAD_AFTER, 7, 200_000, 1, 3]);
        let mut got = Vec::new();
        loop {
            let (buf, n) = r.next().expect("a read").expect("no error");
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == buf[0]));
            got.push((buf[0], n, r.ahead.is_some()));
            r.recycle(buf);
        }
        assert_eq!(
            got,
            [
                (1, 100, false),
                (2, AHEAD_AFTER, false),
                (3, 7, true),
                (4, 200_000, true),
                (5, 1, true),
                (6, 3, true)
            ]
        );
    }

    #[test]
    fn the_buffer_read_before_the_switch_is_the_reading_threads_first() {
        // Handed back before the read that switches, it goes to the thread, not idle beside
        // it: a 256 KiB buffer less for the whole of a long stream (DESIGN §5: 10 MiB on 1 GB).
        let mut r = reads(&[AHEAD_AFTER, 5]);
        let (buf, n) = r.next().expect("read").expect("ok");
        assert_eq!(n, AHEAD_AFTER);
        let before = buf.as_ptr();
        r.recycle(buf);
        let (buf, n) = r.next().expect("read").expect("ok");
        assert!(r.ahead.is_some(), "read ahead");
        assert!(r.buf.is_none(), "a buffer kept idle");
        assert_eq!((buf.as_ptr(), n), (before, 5));
    }

    #[test]
    fn without_read_ahead_every_read_stays_on_the_calling_thread_and_is_recorded() {
        // A cumulative stream: backlogs as long as any, and no thread; the reads and the
        // recording are the same as with one.
        let sizes = [AHEAD_AFTER, 200_000, 7, LONG_READ_SIZE, 1, AHEAD_AFTER + 1];
        let file = Scratch::new("no-ahead");
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            Some(Recording::create(&file.0).expect("a scratch file")),
            LONG_READ_SIZE,
        )
        .without_read_ahead();
        let mut got = Vec::new();
        loop {
            let (buf, n) = r.next().expect("a read").expect("no error");
            assert!(r.ahead.is_none(), "no reading thread");
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == buf[0]));
            got.push((buf[0], n));
            r.recycle(buf);
        }
        let want: Vec<(u8, usize)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (i as u8 + 1, n))
            .collect();
        assert_eq!(got, want);
        r.finish_record().expect("finished");
        assert_eq!(file.bytes(), scripted(&sizes));
    }

    /// A scratch file for a recording, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            Scratch(std::env::temp_dir().join(format!(
                "qstream-read-ahead-{}-{name}.sse",
                std::process::id()
            )))
        }
        fn bytes(&self) -> Vec<u8> {
            std::fs::read(&self.0).expect("the recording")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// What `Script` hands out for these sizes, in order.
    fn scripted(sizes: &[usize]) -> Vec<u8> {
        let mut all = Vec::new();
        for (i, &n) in sizes.iter().enumerate() {
            all.extend(std::iter::repeat_n(i as u8 + 1, n));
        }
        all
    }

    #[test]
    fn the_recording_gets_every_read_in_order_from_either_thread() {
        let sizes = [100, AHEAD_AFTER, 7, 200_000, 1, 3];
        let file = Scratch::new("all");
        let record = Recording::create(&file.0).expect("a scratch file");
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            Some(record),
            READ_SIZE,
        );
        let mut ahead = false;
        loop {
            let (buf, n) = r.next().expect("a read").expect("no error");
            ahead |= r.ahead.is_some();
            r.recycle(buf);
            if n == 0 {
                break;
            }
        }
        r.finish_record().expect("finished");
        assert!(ahead, "the reads moved to the reading thread");
        assert_eq!(file.bytes(), scripted(&sizes));
    }

    #[test]
    fn a_run_that_stops_early_keeps_what_was_recorded() {
        // The decoder stops after the third read (an error, or the end of the answer): the
        // recording has at least every read handed out, in order, and nothing made up.
        let sizes = [AHEAD_AFTER, 5, 6, 7, 8];
        let file = Scratch::new("early");
        let record = Recording::create(&file.0).expect("a scratch file");
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            Some(record),
            READ_SIZE,
        );
        for _ in 0..3 {
            let (buf, _) = r.next().expect("a read").expect("no error");
            r.recycle(buf);
        }
        assert!(r.ahead.is_some());
        drop(r);
        let got = file.bytes();
        let all = scripted(&sizes);
        assert!(got.len() >= AHEAD_AFTER + 5 + 6, "{} bytes", got.len());
        assert_eq!(got, all[..got.len()]);
    }

    /// Hands out the given reads (filled like [`Script`]'s), then waits for `gate` before the
    /// end: a stream that stalls.
    struct Gated(VecDeque<usize>, u8, std::sync::mpsc::Receiver<()>);

    impl Read for Gated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some(n) = self.0.pop_front() else {
                // A dropped sender ends the stall too.
                let _ = self.2.recv();
                return Ok(0);
            };
            self.1 += 1;
            let n = n.min(buf.len());
            buf[..n].fill(self.1);
            Ok(n)
        }
    }

    #[test]
    fn a_fast_stream_that_stalls_has_its_recording_whole_while_it_waits() {
        // Long reads, fewer than the writer is woken for, then nothing: within the stall time
        // the recording has every byte read, the part past the last boundary included. Before
        // the stall time existed, these reads waited for the next read or the end.
        let sizes = [AHEAD_AFTER, 100_000, 100_003, 99_999];
        assert!(sizes.len() - 1 < WRITES_WAKE);
        let (go, gate) = std::sync::mpsc::channel();
        let file = Scratch::new("stall");
        let mut r = Reads::new(
            Box::new(Gated(sizes.iter().copied().collect(), 0, gate)),
            Some(Recording::create(&file.0).expect("a scratch file")),
            READ_SIZE,
        );
        for _ in sizes {
            let (buf, n) = r.next().expect("a read").expect("no error");
            assert!(n > 0);
            r.recycle(buf);
        }
        assert!(r.ahead.is_some(), "the reads moved to the reading thread");
        let want = scripted(&sizes);
        // A bound for a hung writer, not a measure of speed: the flush comes after 20 ms.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while file.bytes().len() < want.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {} bytes recorded while the stream stalls",
                file.bytes().len(),
                want.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(file.bytes(), want);
        go.send(()).expect("the reader waits at the gate");
        let (buf, n) = r.next().expect("a read").expect("no error");
        assert_eq!(n, 0);
        r.recycle(buf);
        r.finish_record().expect("finished");
        assert_eq!(file.bytes(), want);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_recording_that_cannot_be_written_stops_the_run_with_its_error() {
        // /dev/full refuses every write (ENOSPC): on the reading thread the failure comes back
        // as the last item of the reads, and finishing the recording says so too.
        let sizes = [AHEAD_AFTER, 5000, 6000, 7000, 8000, 9000, 10000];
        let record = Recording::create(std::path::Path::new("/dev/full")).expect("/dev/full");
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            Some(record),
            READ_SIZE,
        );
        // The first read is made (and recorded) on this thread: the failure is immediate.
        let first = r.next();
        assert!(first.is_err(), "the first write failed");
        // Once the reads move to the reading thread, the writer's failure ends them.
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            None,
            READ_SIZE,
        );
        let (buf, _) = r.next().expect("a read").expect("no error");
        r.recycle(buf);
        r.record = Some(Recording::create(std::path::Path::new("/dev/full")).expect("/dev/full"));
        let mut failed = false;
        for _ in 0..sizes.len() + 1 {
            match r.next() {
                Err(e) => {
                    assert!(e.to_string().contains("recording"), "{e}");
                    failed = true;
                    break;
                }
                Ok(Ok((buf, n))) => {
                    r.recycle(buf);
                    if n == 0 {
                        break;
                    }
                }
                Ok(Err(e)) => panic!("{e}"),
            }
        }
        assert!(failed || r.finish_record().is_err(), "the failure was said");
    }

    #[test]
    fn the_recording_keeps_up_with_many_reads_through_its_writer() {
        // More reads than the queues hold, the decoder slow to hand buffers back: every byte
        // still reaches the recording, in order.
        let mut sizes = vec![AHEAD_AFTER];
        sizes.extend((0..200).map(|i| 1 + (i * 7919) % 70_000));
        let file = Scratch::new("many");
        let record = Recording::create(&file.0).expect("a scratch file");
        let mut r = Reads::new(
            Box::new(Script(sizes.iter().copied().collect(), 0)),
            Some(record),
            READ_SIZE,
        );
        let mut held = VecDeque::new();
        loop {
            let (buf, n) = r.next().expect("a read").expect("no error");
            held.push_back(buf);
            if held.len() > 3 {
                let old = held.pop_front().expect("held");
                r.recycle(old);
            }
            if n == 0 {
                break;
            }
        }
        r.finish_record().expect("finished");
        let want: Vec<u8> = sizes
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| std::iter::repeat_n((i as u8).wrapping_add(1), n))
            .collect();
        assert!(
            file.bytes() == want,
            "{} bytes, want {}",
            file.bytes().len(),
            want.len()
        );
    }

    use crate::testing::Xorshift as Rng;

    /// Nothing, a spin, a yield or a short sleep: the other thread finds this one busy, about
    /// to wait, or asleep.
    fn pause(rng: &mut Rng) {
        match rng.next() % 8 {
            0..=2 => {}
            3 | 4 => {
                for _ in 0..rng.next() % 2000 {
                    std::hint::spin_loop();
                }
            }
            5 | 6 => std::thread::yield_now(),
            _ => std::thread::sleep(std::time::Duration::from_micros(rng.next() % 200)),
        }
    }

    /// A body of `reads` reads (the first long enough to start reading ahead, then 1 to 300
    /// bytes each), pausing at random before each; byte `i` of the body is `i * 7 mod 251`.
    struct Jittery {
        rng: Rng,
        reads: usize,
        sent: usize,
    }

    fn body_byte(i: usize) -> u8 {
        (i * 7 % 251) as u8
    }

    impl Read for Jittery {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.reads == 0 {
                return Ok(0);
            }
            self.reads -= 1;
            pause(&mut self.rng);
            let want = if self.sent == 0 {
                AHEAD_AFTER
            } else {
                1 + (self.rng.next() % 300) as usize
            };
            let n = want.min(buf.len());
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = body_byte(self.sent + i);
            }
            self.sent += n;
            Ok(n)
        }
    }

    #[test]
    fn hand_overs_under_random_delays_lose_nothing_and_never_hang() {
        // Both sides pause at random, so that every hand-over meets the other thread busy,
        // about to wait and asleep, many times over, with and without a recording. A lost
        // wake-up would hang a run: the whole test runs on a thread with a generous deadline
        // (a hang detector, not a timing).
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for run in 0..120u64 {
                let mut rng =
                    Rng(0x9e37_79b9_7f4a_7c15 ^ (run + 1).wrapping_mul(0x2545_f491_4f6c_dd1d));
                let reads = 50 + (rng.next() % 150) as usize;
                let file = (run % 3 == 0).then(|| Scratch::new(&format!("jitter-{run}")));
                let record = file
                    .as_ref()
                    .map(|f| Recording::create(&f.0).expect("a scratch file"));
                let body = Jittery {
                    rng: Rng(rng.next() | 1),
                    reads,
                    sent: 0,
                };
                let mut r = Reads::new(Box::new(body), record, AHEAD_AFTER);
                let mut got = 0usize;
                let mut held = VecDeque::new();
                loop {
                    let (buf, n) = r.next().expect("a read").expect("no error");
                    for (i, &b) in buf[..n].iter().enumerate() {
                        assert_eq!(b, body_byte(got + i), "run {run}, byte {}", got + i);
                    }
                    got += n;
                    pause(&mut rng);
                    // Buffers go back late and out of turn now and then.
                    held.push_back(buf);
                    while held.len() > (rng.next() % 3) as usize {
                        let old = held.pop_front().expect("held");
                        r.recycle(old);
                    }
                    if n == 0 {
                        break;
                    }
                }
                assert!(r.ahead.is_some(), "run {run} read ahead");
                r.finish_record().expect("finished");
                if let Some(file) = &file {
                    let bytes = file.bytes();
                    assert_eq!(bytes.len(), got, "run {run}: the recording's length");
                    assert!(
                        bytes.iter().enumerate().all(|(i, &b)| b == body_byte(i)),
                        "run {run}: the recording's bytes"
                    );
                }
            }
            let _ = done.send(());
        });
        match finished.recv_timeout(std::time::Duration::from_secs(300)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("a hand-over hung"),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the runs failed (see the panic above)")
            }
        }
    }

    /// A body that hands out its reads, then blocks until told to end.
    struct ThenBlock(VecDeque<usize>, std::sync::mpsc::Receiver<()>);

    impl Read for ThenBlock {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.pop_front() {
                Some(n) => {
                    let n = n.min(buf.len());
                    buf[..n].fill(7);
                    Ok(n)
                }
                None => {
                    let _ = self.1.recv();
                    Ok(0)
                }
            }
        }
    }

    #[test]
    fn a_read_ahead_of_the_decoder_is_handed_over_before_the_next_read_returns() {
        // A bulk stream that turns slow: once reading moved to its thread, each read reaches
        // the decoder while the reader waits on the network for the next one (were it held
        // until the queue fills, this would wait for ever: the generous deadline is a hang
        // detector, not a timing).
        let (release, blocked) = std::sync::mpsc::channel();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let body = ThenBlock([AHEAD_AFTER, 10].into_iter().collect(), blocked);
            let mut r = Reads::new(Box::new(body), None, READ_SIZE);
            let mut got = Vec::new();
            for _ in 0..2 {
                let (buf, n) = r.next().expect("a read").expect("no error");
                got.push(n);
                r.recycle(buf);
            }
            // The short read arrived alone, while the reader is blocked on the next one.
            let _ = release.send(());
            let (_, end) = r.next().expect("a read").expect("no error");
            got.push(end);
            let _ = done.send((got, r.ahead.is_some()));
        });
        match finished.recv_timeout(std::time::Duration::from_secs(120)) {
            Ok((got, ahead)) => {
                assert_eq!(got, [AHEAD_AFTER, 10, 0]);
                assert!(ahead, "the reads moved to the reading thread");
            }
            Err(e) => panic!("a read was held back: {e}"),
        }
    }

    #[test]
    fn a_buffer_not_handed_back_is_replaced_not_taken_for_the_end() {
        let mut r = reads(&[10, 20]);
        let first = r.next().expect("a read").expect("no error");
        let second = r.next().expect("a read").expect("no error");
        assert_eq!((first.1, second.1), (10, 20));
    }
}
