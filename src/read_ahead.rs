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
//! The recording (`--record`) is written by the thread that reads, as each read returns: on
//! the reading thread once there is one, its file writes off the decoder's path.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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
const READS_AHEAD: usize = 2;

/// One read: the buffer and how many of its bytes were read (0 at the end), or its error.
pub type Read1 = std::io::Result<(Vec<u8>, usize)>;

pub struct Reads {
    body: Option<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    /// Bytes per read: [`READ_SIZE`] or [`LONG_READ_SIZE`].
    size: usize,
    /// The last read found a backlog: read ahead from the next one on.
    behind: bool,
    ahead: Option<ReadAhead>,
    /// The recording while this thread reads (it moves to the reading thread with the body).
    record: Option<Recording>,
}

impl Reads {
    pub fn new(body: Box<dyn Read + Send>, record: Option<Recording>, size: usize) -> Self {
        Reads {
            body: Some(body),
            buf: vec![0; size],
            size,
            behind: false,
            ahead: None,
            record,
        }
    }

    /// The body ended (or the stream said it is over): the recording gets what it held back.
    /// Reads made ahead of the decoder are in it too.
    pub fn finish_record(&mut self) -> Result<()> {
        let record = match &self.ahead {
            Some(ahead) => ahead.shared.take_record(),
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
                self.ahead = Some(ReadAhead::start(body, self.record.take(), self.size)?);
            }
        }
        if let Some(ahead) = &self.ahead {
            return ahead.next();
        }
        let Some(body) = self.body.as_mut() else {
            return Err(Error::internal("the body was already handed over"));
        };
        let mut buf = std::mem::take(&mut self.buf);
        if buf.is_empty() {
            // The last buffer was not handed back (a caller that stopped early).
            buf = vec![0; self.size];
        }
        let n = loop {
            match body.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Ok(Err(e)),
            }
        };
        self.behind = n >= AHEAD_AFTER;
        if let (Some(record), Some(bytes)) = (self.record.as_mut(), buf.get(..n)) {
            record.write(bytes)?;
        }
        Ok(Ok((buf, n)))
    }

    /// Hands a buffer back for another read.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        match &self.ahead {
            Some(ahead) => ahead.recycle(buf),
            None => self.buf = buf,
        }
    }
}

/// What the two threads share. A mutex and condition variables, not a channel: the std
/// channel spins before it sleeps, which on a small machine takes a core from the server the
/// bytes come from.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// The recording, written by the reader after each read; taken by the main thread when it
    /// is done (a lock of its own: a file write never holds up a hand-over).
    record: Mutex<Option<Recording>>,
    /// A read was queued, or the reader stopped.
    ready: Condvar,
    /// A read was taken, or the main thread gave up.
    room: Condvar,
}

#[derive(Default)]
struct State {
    /// Reads, or the recording's failure to write one (the last item then).
    filled: VecDeque<Result<Read1>>,
    empty: Vec<Vec<u8>>,
    /// The reader thread is gone (its last read is queued, or it panicked).
    reader_done: bool,
    /// The main thread is gone: the reader stops at its next hand-over.
    main_done: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-changed: every change
        // is one push or pop. So a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take_record(&self) -> Option<Recording> {
        self.record.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Records one read; `Err` if the recording cannot be written.
    fn record(&self, bytes: &[u8]) -> Result<()> {
        match self
            .record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            Some(record) => record.write(bytes),
            None => Ok(()),
        }
    }
}

struct ReadAhead {
    shared: Arc<Shared>,
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
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            record: Mutex::new(record),
            ..Shared::default()
        });
        let done = ReaderDone(Arc::clone(&shared));
        std::thread::Builder::new()
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
                        Ok(n) => match buf.get(..n).map(|bytes| shared.record(bytes)) {
                            Some(Err(e)) => Err(e),
                            _ => Ok(Ok((buf, n))),
                        },
                        Err(e) => Ok(Err(e)),
                    };
                    // A read of 0 bytes (the end) and an error are both the last one.
                    let last = !matches!(read, Ok(Ok((_, n))) if n > 0);
                    let mut state = shared.lock();
                    while state.filled.len() >= READS_AHEAD && !state.main_done {
                        state = shared.room.wait(state).unwrap_or_else(|p| p.into_inner());
                    }
                    if state.main_done {
                        return;
                    }
                    state.filled.push_back(read);
                    drop(state);
                    shared.ready.notify_one();
                    if last {
                        return;
                    }
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the reader thread: {e}")))?;
        Ok(ReadAhead { shared })
    }

    fn next(&self) -> Result<Read1> {
        let mut state = self.shared.lock();
        loop {
            if let Some(read) = state.filled.pop_front() {
                drop(state);
                self.shared.room.notify_one();
                return read;
            }
            if state.reader_done {
                return Err(Error::internal("the reader thread stopped"));
            }
            state = self
                .shared
                .ready
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    fn recycle(&self, buf: Vec<u8>) {
        self.shared.lock().empty.push(buf);
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // The run failed midway: the recording gets what it held back now (dropping it), not
        // when a reader blocked on the network ends.
        drop(self.shared.take_record());
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

    #[test]
    fn a_buffer_not_handed_back_is_replaced_not_taken_for_the_end() {
        let mut r = reads(&[10, 20]);
        let first = r.next().expect("a read").expect("no error");
        let second = r.next().expect("a read").expect("no error");
        assert_eq!((first.1, second.1), (10, 20));
    }
}
