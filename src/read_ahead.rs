//! Where the body's reads come from: the main thread while the decoder keeps up with the
//! network, a read-ahead thread once it falls behind.
//!
//! A service streaming tokens sends a few hundred bytes at a time; each read then brings what
//! one wake-up of the socket holds and is decoded and written at once, with no hand-over
//! between threads (the latency budget). A read of [`AHEAD_AFTER`] bytes or more means the
//! bytes waited for the decoder (a fast local server, a replay of a file, a reader that was
//! paused): from then on a second thread reads, so that the socket, TLS and chunked framing
//! are served while the main thread decodes and writes (the throughput budget).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};

/// Bytes asked of the body per read. A read returns as soon as anything arrived, so this
/// bounds the burst handled between two flushes, not the wait.
const READ_SIZE: usize = 256 * 1024;

/// A read this long switches to reading ahead.
const AHEAD_AFTER: usize = 64 * 1024;

/// Reads that may wait for the decoder, besides the one being read and the one decoded.
const READS_AHEAD: usize = 2;

/// One read: the buffer and how many of its bytes were read (0 at the end), or its error.
pub type Read1 = std::io::Result<(Vec<u8>, usize)>;

pub struct Reads {
    body: Option<Box<dyn Read + Send>>,
    buf: Vec<u8>,
    ahead: Option<ReadAhead>,
}

impl Reads {
    pub fn new(body: Box<dyn Read + Send>) -> Self {
        Reads {
            body: Some(body),
            buf: vec![0; READ_SIZE],
            ahead: None,
        }
    }

    /// The next read. Reads are never cut short or reordered, whichever thread made them.
    pub fn next(&mut self) -> Result<Read1> {
        if let Some(ahead) = &self.ahead {
            return ahead.next();
        }
        let Some(body) = self.body.as_mut() else {
            return Err(Error::internal("the body was already handed over"));
        };
        let mut buf = std::mem::take(&mut self.buf);
        let n = loop {
            match body.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Ok(Err(e)),
            }
        };
        if n >= AHEAD_AFTER {
            if let Some(body) = self.body.take() {
                self.ahead = Some(ReadAhead::start(body)?);
            }
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
    /// A read was queued, or the reader stopped.
    ready: Condvar,
    /// A read was taken, or the main thread gave up.
    room: Condvar,
}

#[derive(Default)]
struct State {
    filled: VecDeque<Read1>,
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
    fn start(mut body: Box<dyn Read + Send>) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let done = ReaderDone(Arc::clone(&shared));
        std::thread::Builder::new()
            .name("qstream-read".into())
            .spawn(move || {
                let shared = Arc::clone(&done.0);
                loop {
                    let mut buf = shared
                        .lock()
                        .empty
                        .pop()
                        .unwrap_or_else(|| vec![0; READ_SIZE]);
                    let read = loop {
                        match body.read(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    // A read of 0 bytes (the end) and an error are both the last one.
                    let last = !matches!(read, Ok(n) if n > 0);
                    let mut state = shared.lock();
                    while state.filled.len() >= READS_AHEAD && !state.main_done {
                        state = shared.room.wait(state).unwrap_or_else(|p| p.into_inner());
                    }
                    if state.main_done {
                        return;
                    }
                    state.filled.push_back(read.map(|n| (buf, n)));
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
                return Ok(read);
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
        self.shared.lock().main_done = true;
        self.shared.room.notify_one();
    }
}
