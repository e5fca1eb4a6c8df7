//! JSON lines: one object per event on stdout (DESIGN §3).

use std::io::Write;

use serde::Serialize;

use super::{is_zero, write_all, Sink, Stats, ToolCall, ToolCalls};
use crate::error::{Error, Result};
use crate::event::{ApiError, Event, Usage, WebSource};

/// `s` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\` with a
/// backslash, `\b \f \n \r \t` by name, other control characters as `\u00xx`, all else as is.
pub(super) fn json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.push(b'"');
    let mut start = 0;
    loop {
        let end = crate::protocol::json::string_end(b, start);
        out.extend_from_slice(&b[start..end]);
        let Some(&c) = b.get(end) else {
            break;
        };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
        start = end + 1;
    }
    out.push(b'"');
}

/// The JSON-lines form of an event (DESIGN §3).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum JsonEvent<'a> {
    Reasoning {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        text: &'a str,
    },
    Content {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        text: &'a str,
    },
    ToolCall {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        index: u32,
        id: Option<&'a str>,
        name: Option<&'a str>,
        arguments: &'a str,
    },
    ToolCalls {
        calls: &'a [ToolCall],
    },
    Usage(&'a Usage),
    Sources {
        results: &'a [WebSource],
    },
    Finish {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        reason: &'a str,
    },
    Error(&'a ApiError),
    Interrupted {},
    Stats(&'a Stats),
    Audio {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        bytes: usize,
    },
}

/// One JSON object per event on stdout.
pub struct JsonSink<O: Write> {
    out: O,
    buf: Vec<u8>,
    /// stdout is a terminal: the lines pass the sanitizer.
    sanitize: bool,
    tool_calls: ToolCalls,
    usage_written: bool,
}

impl<O: Write> JsonSink<O> {
    /// Sanitize every line: stdout is a terminal.
    pub fn for_terminal(mut self, terminal: bool) -> Self {
        self.sanitize = terminal;
        self
    }

    pub fn new(out: O) -> Self {
        JsonSink {
            out,
            buf: Vec::with_capacity(64 * 1024),
            sanitize: false,
            tool_calls: ToolCalls::default(),
            usage_written: false,
        }
    }

    /// `{"type":"content","text":"…"}` and its reasoning twin, the lines nearly every event
    /// becomes: written directly, byte for byte as serde_json writes them.
    fn text_line(&mut self, head: &[u8], text: &str) {
        self.buf.extend_from_slice(head);
        json_string(&mut self.buf, text);
        self.buf.extend_from_slice(b"}\n");
    }

    fn line(&mut self, e: &JsonEvent<'_>) -> Result<()> {
        serde_json::to_writer(&mut self.buf, e)
            .map_err(|e| Error::internal(format!("cannot encode an event: {e}")))?;
        self.buf.push(b'\n');
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> O {
        self.out
    }
}

impl<O: Write> Sink for JsonSink<O> {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        let e = match &event {
            Event::Content { choice: 0, text } => {
                self.text_line(br#"{"type":"content","text":"#, text);
                return Ok(());
            }
            Event::Reasoning { choice: 0, text } => {
                self.text_line(br#"{"type":"reasoning","text":"#, text);
                return Ok(());
            }
            Event::Reasoning { choice, text } => JsonEvent::Reasoning {
                choice: *choice,
                text,
            },
            Event::Content { choice, text } => JsonEvent::Content {
                choice: *choice,
                text,
            },
            Event::ToolCall {
                choice,
                index,
                id,
                name,
                arguments,
            } => {
                self.tool_calls.add(&event);
                JsonEvent::ToolCall {
                    choice: *choice,
                    index: *index,
                    id: id.as_deref(),
                    name: name.as_deref(),
                    arguments,
                }
            }
            Event::Usage(u) => {
                self.usage_written = true;
                JsonEvent::Usage(u)
            }
            Event::Sources(results) => JsonEvent::Sources { results },
            Event::Finish { choice, reason } => JsonEvent::Finish {
                choice: *choice,
                reason,
            },
            // The session turns speech into `audio` calls with byte counts.
            Event::Audio { .. } => return Ok(()),
        };
        self.line(&e)
    }

    fn audio(&mut self, choice: u32, bytes: usize) -> Result<()> {
        self.line(&JsonEvent::Audio { choice, bytes })
    }

    fn flush(&mut self) -> Result<()> {
        if self.sanitize {
            super::sanitize_buffer(&mut self.buf);
        }
        write_all(&mut self.out, &mut self.buf)
    }

    fn finish(&mut self) -> Result<()> {
        if !self.tool_calls.is_empty() {
            let calls = self.tool_calls.calls();
            self.line(&JsonEvent::ToolCalls { calls: &calls })?;
        }
        self.flush()
    }

    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()> {
        match error.exit {
            crate::error::Exit::Success => {}
            crate::error::Exit::Interrupted => self.line(&JsonEvent::Interrupted {})?,
            _ => {
                let api = error.api.clone().unwrap_or_else(|| ApiError {
                    message: error.message.clone(),
                    ..Default::default()
                });
                self.line(&JsonEvent::Error(&api))?;
            }
        }
        if let (Some(u), false) = (usage, self.usage_written) {
            self.line(&JsonEvent::Usage(&u))?;
        }
        self.flush()
    }

    fn stats(&mut self, stats: &Stats) -> Result<()> {
        self.line(&JsonEvent::Stats(stats))?;
        self.flush()
    }
}
