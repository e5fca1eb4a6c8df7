//! Sinks: the only code that knows about stdout, stderr and flushing.
//!
//! Every sink buffers what it writes and writes it out in `flush`, which the stream loop calls
//! whenever it has handled all the bytes of one read, before it blocks on the next. So a delta
//! is never held back waiting for more input, and a burst of deltas costs one write.

use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::event::{ApiError, Event, Usage};
use crate::sse::SseEvent;

pub trait Sink {
    /// A decoded event.
    fn event(&mut self, event: Event<'_>) -> Result<()>;
    /// An SSE event before decoding; only the raw sink wants these.
    fn sse(&mut self, _event: &SseEvent<'_>) -> Result<()> {
        Ok(())
    }
    /// Whether `sse` should be fed instead of decoding.
    fn wants_sse(&self) -> bool {
        false
    }
    /// Write out what is buffered.
    fn flush(&mut self) -> Result<()>;
    /// The stream finished.
    fn finish(&mut self) -> Result<()>;
    /// The run failed with `error` (already decided, not yet printed); `usage` is the last
    /// known. Write what the mode says about it and flush; the caller prints the stderr line.
    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()>;
}

fn write_all(w: &mut dyn Write, buf: &mut Vec<u8>) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let r = w.write_all(buf).and_then(|_| w.flush());
    buf.clear();
    r.map_err(Error::output)
}

/// Writing to stderr: errors there are not worth failing the run for, except a closed pipe
/// which ends it quietly like one on stdout.
fn write_err(w: &mut dyn Write, buf: &mut Vec<u8>) -> Result<()> {
    match write_all(w, buf) {
        Err(e) if e.is_quiet() => Err(e),
        _ => Ok(()),
    }
}

pub fn usage_line(u: &Usage) -> String {
    format!(
        "usage: input {}, output {}, total {} tokens\n",
        u.input_tokens, u.output_tokens, u.total_tokens
    )
}

/// Plain text: content to stdout, reasoning to stderr, the usage line on stderr at the end.
pub struct TextSink<O: Write, E: Write> {
    out: O,
    err: E,
    out_buf: Vec<u8>,
    err_buf: Vec<u8>,
    quiet: bool,
    usage: Option<Usage>,
    /// The last byte written to stderr was a newline (or nothing was written).
    err_at_line_start: bool,
    out_at_line_start: bool,
    /// End the answer with a newline if it has none (for a terminal, never for a pipe).
    newline_at_end: bool,
    tool_calls: ToolCalls,
}

impl<O: Write, E: Write> TextSink<O, E> {
    pub fn new(out: O, err: E, quiet: bool, newline_at_end: bool) -> Self {
        TextSink {
            out,
            err,
            out_buf: Vec::with_capacity(64 * 1024),
            err_buf: Vec::new(),
            quiet,
            usage: None,
            err_at_line_start: true,
            out_at_line_start: true,
            newline_at_end,
            tool_calls: ToolCalls::default(),
        }
    }

    fn err_text(&mut self, s: &str) {
        if let Some(&last) = s.as_bytes().last() {
            self.err_buf.extend_from_slice(s.as_bytes());
            self.err_at_line_start = last == b'\n';
        }
    }

    /// Start a line of its own on stderr.
    fn err_line(&mut self, line: &str) {
        if !self.err_at_line_start {
            self.err_text("\n");
        }
        self.err_text(line);
    }

    pub fn into_inner(self) -> (O, E) {
        (self.out, self.err)
    }
}

impl<O: Write, E: Write> Sink for TextSink<O, E> {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        match event {
            Event::Content { choice: 0, text } => {
                if !self.err_at_line_start && !self.quiet {
                    // The reasoning ended: leave stderr at the start of a line.
                    self.err_text("\n");
                }
                self.out_buf.extend_from_slice(text.as_bytes());
                self.out_at_line_start = text.ends_with('\n');
            }
            Event::Reasoning { choice: 0, text } if !self.quiet => self.err_text(&text),
            Event::ToolCall { .. } => self.tool_calls.add(&event),
            Event::Usage(u) => self.usage = Some(u),
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        write_err(&mut self.err, &mut self.err_buf)?;
        write_all(&mut self.out, &mut self.out_buf)
    }

    fn finish(&mut self) -> Result<()> {
        if !self.tool_calls.is_empty() {
            if !self.out_at_line_start {
                self.out_buf.push(b'\n');
            }
            for call in self.tool_calls.calls() {
                serde_json::to_writer(&mut self.out_buf, &call)
                    .map_err(|e| Error::internal(format!("cannot encode a tool call: {e}")))?;
                self.out_buf.push(b'\n');
            }
            self.out_at_line_start = true;
        }
        if self.newline_at_end && !self.out_at_line_start {
            self.out_buf.push(b'\n');
            self.out_at_line_start = true;
        }
        if let (Some(u), false) = (self.usage, self.quiet) {
            self.err_line(&usage_line(&u));
        }
        self.flush()
    }

    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()> {
        if self.newline_at_end && !self.out_at_line_start {
            self.out_buf.push(b'\n');
        }
        if !self.err_at_line_start {
            self.err_text("\n");
        }
        self.flush()?;
        if error.exit == crate::error::Exit::Interrupted && !self.quiet {
            // The stderr line for the error itself comes from the caller, after this.
            match usage.or(self.usage) {
                Some(u) => self.err_line(&usage_line(&u)),
                None => self.err_line(
                    "usage: unknown (the stream was interrupted before the service reported it)\n",
                ),
            }
        }
        self.flush()
    }
}

/// The JSON-lines form of an event (DESIGN §3).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum JsonEvent<'a> {
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
    Finish {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        reason: &'a str,
    },
    Error(&'a ApiError),
    Interrupted {},
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One JSON object per event on stdout.
pub struct JsonSink<O: Write> {
    out: O,
    buf: Vec<u8>,
    tool_calls: ToolCalls,
    usage_written: bool,
}

impl<O: Write> JsonSink<O> {
    pub fn new(out: O) -> Self {
        JsonSink {
            out,
            buf: Vec::with_capacity(64 * 1024),
            tool_calls: ToolCalls::default(),
            usage_written: false,
        }
    }

    fn line(&mut self, e: &JsonEvent<'_>) -> Result<()> {
        serde_json::to_writer(&mut self.buf, e)
            .map_err(|e| Error::internal(format!("cannot encode an event: {e}")))?;
        self.buf.push(b'\n');
        Ok(())
    }

    pub fn into_inner(self) -> O {
        self.out
    }
}

impl<O: Write> Sink for JsonSink<O> {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        let e = match &event {
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
            Event::Finish { choice, reason } => JsonEvent::Finish {
                choice: *choice,
                reason,
            },
        };
        self.line(&e)
    }

    fn flush(&mut self) -> Result<()> {
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
}

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
}

impl<O: Write> RawSink<O> {
    pub fn new(out: O) -> Self {
        RawSink {
            out,
            buf: Vec::with_capacity(64 * 1024),
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
        write_all(&mut self.out, &mut self.buf)
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()
    }

    fn fail(&mut self, _error: &Error, _usage: Option<Usage>) -> Result<()> {
        self.flush()
    }
}

/// A tool call assembled from its streamed fragments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    #[serde(skip_serializing_if = "is_zero")]
    pub choice: u32,
    pub index: u32,
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Assembles fragments by (choice, index): the first non-empty `id` and `name` win and the
/// `arguments` concatenate.
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: Vec<ToolCall>,
}

impl ToolCalls {
    pub fn add(&mut self, event: &Event<'_>) {
        let Event::ToolCall {
            choice,
            index,
            id,
            name,
            arguments,
        } = event
        else {
            return;
        };
        let pos = match self
            .calls
            .iter()
            .position(|c| c.choice == *choice && c.index == *index)
        {
            Some(p) => p,
            None => {
                self.calls.push(ToolCall {
                    choice: *choice,
                    index: *index,
                    ..Default::default()
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[pos];
        if let (true, Some(id)) = (call.id.is_empty(), id) {
            call.id.push_str(id);
        }
        if let (true, Some(name)) = (call.name.is_empty(), name) {
            call.name.push_str(name);
        }
        call.arguments.push_str(arguments);
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls, ordered by choice and index.
    pub fn calls(&self) -> Vec<ToolCall> {
        let mut calls = self.calls.clone();
        calls.sort_by_key(|c| (c.choice, c.index));
        calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn content(t: &str) -> Event<'_> {
        Event::Content {
            choice: 0,
            text: Cow::Borrowed(t),
        }
    }

    fn reasoning(t: &str) -> Event<'_> {
        Event::Reasoning {
            choice: 0,
            text: Cow::Borrowed(t),
        }
    }

    fn usage() -> Usage {
        Usage {
            input_tokens: 1,
            output_tokens: 2,
            total_tokens: 3,
            ..Default::default()
        }
    }

    #[test]
    fn text_sink_separates_reasoning_and_reports_usage() {
        let mut s = TextSink::new(Vec::new(), Vec::new(), false, false);
        s.event(reasoning("think")).expect("ok");
        s.event(content("ans")).expect("ok");
        s.flush().expect("ok");
        s.event(content("wer")).expect("ok");
        s.event(Event::Usage(usage())).expect("ok");
        s.finish().expect("ok");
        let (out, err) = s.into_inner();
        assert_eq!(out, b"answer");
        assert_eq!(
            String::from_utf8_lossy(&err),
            "think\nusage: input 1, output 2, total 3 tokens\n"
        );
    }

    #[test]
    fn text_sink_quiet_prints_no_reasoning_or_usage() {
        let mut s = TextSink::new(Vec::new(), Vec::new(), true, true);
        s.event(reasoning("think")).expect("ok");
        s.event(content("a")).expect("ok");
        s.event(Event::Usage(usage())).expect("ok");
        s.finish().expect("ok");
        let (out, err) = s.into_inner();
        assert_eq!(out, b"a\n");
        assert!(err.is_empty());
    }

    #[test]
    fn json_sink_lines() {
        let mut s = JsonSink::new(Vec::new());
        s.event(content("a\"b")).expect("ok");
        s.event(Event::Finish {
            choice: 1,
            reason: Cow::Borrowed("stop"),
        })
        .expect("ok");
        s.event(Event::Usage(usage())).expect("ok");
        s.finish().expect("ok");
        assert_eq!(
            String::from_utf8_lossy(&s.into_inner()),
            "{\"type\":\"content\",\"text\":\"a\\\"b\"}\n\
             {\"type\":\"finish\",\"choice\":1,\"reason\":\"stop\"}\n\
             {\"type\":\"usage\",\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}\n"
        );
    }

    #[test]
    fn json_sink_error_then_usage() {
        let mut s = JsonSink::new(Vec::new());
        let err = Error::api(ApiError {
            status: Some(429),
            code: Some("Throttling".into()),
            message: "slow down".into(),
            request_id: Some("r".into()),
        });
        s.fail(&err, Some(usage())).expect("ok");
        assert_eq!(
            String::from_utf8_lossy(&s.into_inner()),
            "{\"type\":\"error\",\"status\":429,\"code\":\"Throttling\",\"message\":\"slow down\",\"request_id\":\"r\"}\n\
             {\"type\":\"usage\",\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}\n"
        );
    }

    #[test]
    fn tool_calls_assemble_by_index() {
        let mut t = ToolCalls::default();
        let frag =
            |index, id: Option<&'static str>, name: Option<&'static str>, args| Event::ToolCall {
                choice: 0,
                index,
                id: id.map(Cow::Borrowed),
                name: name.map(Cow::Borrowed),
                arguments: Cow::Borrowed(args),
            };
        t.add(&frag(1, Some("c2"), Some("g"), "{\"b"));
        t.add(&frag(0, Some("c1"), Some("f"), "{\"a\":"));
        t.add(&frag(0, Some("ignored"), None, "1}"));
        t.add(&frag(1, None, Some("ignored"), "\":2}"));
        let calls = t.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (
                calls[0].id.as_str(),
                calls[0].name.as_str(),
                calls[0].arguments.as_str()
            ),
            ("c1", "f", "{\"a\":1}")
        );
        assert_eq!(
            (
                calls[1].id.as_str(),
                calls[1].name.as_str(),
                calls[1].arguments.as_str()
            ),
            ("c2", "g", "{\"b\":2}")
        );
    }
}
