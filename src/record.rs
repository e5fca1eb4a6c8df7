//! `--record FILE`: the response body as it arrived, with one exception: the API key, if the
//! server echoed it, is written as `[redacted]`. A recording is a file people share (bug
//! reports, test fixtures) and the key must never be stored (README); a replay of it prints
//! what the live run printed, since the live run redacted the same bytes.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::redact::ByteRedactor;

pub struct Recording {
    file: File,
    redactor: ByteRedactor,
    buf: Vec<u8>,
}

impl Recording {
    pub fn create(path: &Path) -> Result<Recording> {
        let file = File::create(path)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
        Ok(Recording {
            file,
            redactor: ByteRedactor::default(),
            buf: Vec::new(),
        })
    }

    /// Record the bytes of one read (a tail that could start the key waits for the next).
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.redactor.passes(bytes) {
            // Nearly every read: nothing to redact, nothing held, so no copy.
            return self.file.write_all(bytes).map_err(write_error);
        }
        self.buf.clear();
        self.redactor.push(bytes, &mut self.buf);
        self.file.write_all(&self.buf).map_err(write_error)
    }

    /// The body ended: write what was held back.
    pub fn finish(mut self) -> Result<()> {
        let tail = self.redactor.take();
        self.file.write_all(&tail).map_err(write_error)
    }
}

impl Drop for Recording {
    /// The run failed midway: the recording still gets every byte that arrived.
    fn drop(&mut self) {
        let tail = self.redactor.take();
        let _ = self.file.write_all(&tail);
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::internal(format!("cannot write the recording: {e}"))
}
