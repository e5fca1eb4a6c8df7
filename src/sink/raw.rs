//! Raw mode: every dispatched SSE event, before protocol decoding.

use std::io::Write;

use serde::Serialize;

use super::{write_all, Sink};
use crate::error::{Error, Result};
use crate::event::{Event, Usage};
use crate::sse::SseEvent;

#[derive(Serialize)]
struct RawEvent<'a> {
    id: &'a str,
    event: &'a str,
    data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

/// Every dispatched SSE event as one JSON object per line, before protocol decoding.
pub struct RawSink<O: Write> {
    out: O,
    buf: Vec<u8>,
    /// stdout is a terminal: the lines pass the sanitizer.
    sanitize: bool,
}

impl<O: Write> RawSink<O> {
    /// Sanitize every line: stdout is a terminal.
    pub fn for_terminal(mut self, terminal: bool) -> Self {
        self.sanitize = terminal;
        self
    }

    pub fn new(out: O) -> Self {
        RawSink {
            out,
            buf: Vec::with_capacity(64 * 1024),
            sanitize: false,
        }
    }
}

impl<O: Write> Sink for RawSink<O> {
    fn event(&mut self, _event: Event<'_>) -> Result<()> {
        Ok(())
    }

    fn sse(&mut self, e: &SseEvent<'_>) -> Result<()> {
        let raw = RawEvent {
            id: e.id,
            event: e.event,
            data: e.data,
            status: e.status,
        };
        serde_json::to_writer(&mut self.buf, &raw)
            .map_err(|e| Error::internal(format!("cannot encode an event: {e}")))?;
        self.buf.push(b'\n');
        Ok(())
    }

    fn wants_sse(&self) -> bool {
        true
    }

    fn flush(&mut self) -> Result<()> {
        if self.sanitize {
            super::sanitize_buffer(&mut self.buf);
        }
        write_all(&mut self.out, &mut self.buf)
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()
    }

    fn fail(&mut self, _error: &Error, _usage: Option<Usage>) -> Result<()> {
        self.flush()
    }
}
