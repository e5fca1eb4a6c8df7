//! Sinks: the only code that knows about stdout, stderr and flushing.
//!
//! Every sink buffers what it writes and writes it out in `flush`, which the stream loop calls
//! whenever it has handled all the bytes of one read, before it blocks on the next. So a delta
//! is never held back waiting for more input, and a burst of deltas costs one write.

use std::io::Write;

use serde::Serialize;

use crate::cli::Reasoning;
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
    /// `--stats`: the figures of the run, written and flushed at its end.
    fn stats(&mut self, _stats: &Stats) -> Result<()> {
        Ok(())
    }
    /// `bytes` of PCM speech arrived (the session decodes and saves it).
    fn audio(&mut self, _choice: u32, _bytes: usize) -> Result<()> {
        Ok(())
    }
    /// A line for the user on stderr (a retry, a warning), unless quiet.
    fn notice(&mut self, line: &str) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// What `--stats` reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Seconds from sending the request to the first reasoning, content or tool-call delta.
    pub ttft_s: Option<f64>,
    pub total_s: f64,
    pub deltas: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Output tokens (from usage) per second of generation, first delta to end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Stats {
    pub fn line(&self) -> String {
        let mut parts = vec![match self.ttft_s {
            Some(t) => format!("ttft {t:.3} s"),
            None => "ttft -".to_owned(),
        }];
        parts.push(format!("total {:.3} s", self.total_s));
        parts.push(format!("{} deltas", self.deltas));
        if let Some(r) = self.output_tokens_per_s {
            parts.push(format!("{r:.1} tokens/s"));
        }
        if let Some(id) = &self.request_id {
            parts.push(format!("request_id {id}"));
        }
        format!("stats: {}\n", parts.join(", "))
    }
}

/// How text mode dresses its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    pub quiet: bool,
    pub reasoning: Reasoning,
    /// Dim the reasoning on stderr.
    pub color: bool,
    /// Headers between reasoning and answer, and a final newline: for a person at a terminal.
    pub terminal: bool,
}

const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

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
    style: TextStyle,
    usage: Option<Usage>,
    /// The last byte written to stderr was a newline (or nothing was written).
    err_at_line_start: bool,
    out_at_line_start: bool,
    /// Reasoning has been shown and the answer has not begun.
    in_reasoning: bool,
    reasoning_shown: bool,
    tool_calls: ToolCalls,
}

impl<O: Write, E: Write> TextSink<O, E> {
    pub fn new(out: O, err: E, style: TextStyle) -> Self {
        TextSink {
            out,
            err,
            out_buf: Vec::with_capacity(64 * 1024),
            err_buf: Vec::new(),
            style,
            usage: None,
            err_at_line_start: true,
            out_at_line_start: true,
            in_reasoning: false,
            reasoning_shown: false,
            tool_calls: ToolCalls::default(),
        }
    }

    fn err_text(&mut self, s: &str) {
        if let Some(&last) = s.as_bytes().last() {
            self.err_buf.extend_from_slice(s.as_bytes());
            self.err_at_line_start = last == b'\n';
        }
    }

    fn out_text(&mut self, s: &str) {
        if let Some(&last) = s.as_bytes().last() {
            self.out_buf.extend_from_slice(s.as_bytes());
            self.out_at_line_start = last == b'\n';
        }
    }

    /// Start a line of its own on stderr.
    fn err_line(&mut self, line: &str) {
        if !self.err_at_line_start {
            self.err_text("\n");
        }
        self.err_text(line);
    }

    fn header(&mut self, name: &str) {
        let line = if self.style.color {
            format!("{BOLD}{name}{RESET}\n")
        } else {
            format!("{name}\n")
        };
        self.err_line(&line);
    }

    fn reasoning(&mut self, text: &str) {
        match self.style.reasoning {
            Reasoning::Hide => return,
            Reasoning::Stderr if self.style.quiet => return,
            Reasoning::Stderr => {
                if !self.reasoning_shown && self.style.terminal {
                    self.header("thinking");
                }
                if self.style.color {
                    self.err_buf.extend_from_slice(DIM.as_bytes());
                    self.err_text(text);
                    self.err_buf.extend_from_slice(RESET.as_bytes());
                } else {
                    self.err_text(text);
                }
            }
            Reasoning::Stdout => {
                if !self.reasoning_shown {
                    self.out_text("<think>\n");
                }
                self.out_text(text);
            }
        }
        self.in_reasoning = true;
        self.reasoning_shown = true;
    }

    /// The reasoning is over: close it off before the answer.
    fn end_reasoning(&mut self) {
        if !self.in_reasoning {
            return;
        }
        self.in_reasoning = false;
        match self.style.reasoning {
            Reasoning::Stdout => {
                let close = if self.out_at_line_start {
                    "</think>\n\n"
                } else {
                    "\n</think>\n\n"
                };
                self.out_text(close);
            }
            _ => {
                if self.style.terminal {
                    if !self.err_at_line_start {
                        self.err_text("\n");
                    }
                    self.header("answer");
                } else if !self.err_at_line_start {
                    self.err_text("\n");
                }
            }
        }
    }

    pub fn into_inner(self) -> (O, E) {
        (self.out, self.err)
    }
}

impl<O: Write, E: Write> Sink for TextSink<O, E> {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        match event {
            Event::Content { choice: 0, text } => {
                self.end_reasoning();
                self.out_text(&text);
            }
            Event::Reasoning { choice: 0, text } => self.reasoning(&text),
            Event::ToolCall { choice: 0, .. } => {
                self.end_reasoning();
                self.tool_calls.add(&event);
            }
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
        self.end_reasoning();
        if !self.tool_calls.is_empty() {
            if !self.out_at_line_start {
                self.out_text("\n");
            }
            for call in self.tool_calls.calls() {
                serde_json::to_writer(&mut self.out_buf, &call)
                    .map_err(|e| Error::internal(format!("cannot encode a tool call: {e}")))?;
                self.out_text("\n");
            }
        }
        if self.style.terminal && !self.out_at_line_start {
            self.out_text("\n");
        }
        // The answer first: on a terminal the usage line must not glue onto it.
        self.flush()?;
        if let (Some(u), false) = (self.usage, self.style.quiet) {
            self.err_line(&usage_line(&u));
        }
        self.flush()
    }

    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()> {
        if self.style.terminal && !self.out_at_line_start {
            self.out_text("\n");
        }
        if !self.err_at_line_start {
            self.err_text("\n");
        }
        self.flush()?;
        if error.exit == crate::error::Exit::Interrupted && !self.style.quiet {
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

    fn stats(&mut self, stats: &Stats) -> Result<()> {
        if !self.style.quiet {
            self.err_line(&stats.line());
        }
        self.flush()
    }
}

/// `s` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\` with a
/// backslash, `\b \f \n \r \t` by name, other control characters as `\u00xx`, all else as is.
fn json_string(out: &mut Vec<u8>, s: &str) {
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
    Stats(&'a Stats),
    Audio {
        #[serde(skip_serializing_if = "is_zero")]
        choice: u32,
        bytes: usize,
    },
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

    pub fn into_inner(self) -> O {
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

/// Wraps the sink of the chosen mode with what every mode shares: the spinner while waiting
/// for the first token (a terminal only), and the figures for `--stats`.
pub struct Session {
    inner: Box<dyn Sink>,
    spinner: Option<indicatif::ProgressBar>,
    start: std::time::Instant,
    first_delta: Option<std::time::Instant>,
    deltas: u64,
    usage: Option<Usage>,
    stats: bool,
    quiet: bool,
    request_id: Option<String>,
    /// `--audio-out`, and a decoder to count speech bytes without it.
    wav: Option<crate::wav::WavWriter>,
    audio_count: crate::media::Base64Decoder,
    scratch: Vec<u8>,
}

impl Session {
    /// `spinner`: show one with this message (the caller decided stderr is a terminal).
    pub fn new(inner: Box<dyn Sink>, spinner: Option<String>, stats: bool, quiet: bool) -> Self {
        let spinner = spinner.map(|msg| {
            let pb = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            {
                pb.set_style(style);
            }
            pb.set_message(msg);
            pb.enable_steady_tick(std::time::Duration::from_millis(100));
            pb
        });
        Session {
            inner,
            spinner,
            start: std::time::Instant::now(),
            first_delta: None,
            deltas: 0,
            usage: None,
            stats,
            quiet,
            request_id: None,
            wav: None,
            audio_count: Default::default(),
            scratch: Vec::new(),
        }
    }

    /// Save speech to this WAV file.
    pub fn with_wav(mut self, wav: Option<crate::wav::WavWriter>) -> Self {
        self.wav = wav;
        self
    }

    fn audio_piece(&mut self, choice: u32, data: &str) -> Result<()> {
        let bytes = match (&mut self.wav, choice) {
            (Some(w), 0) => w.push(data)?,
            _ => {
                self.scratch.clear();
                self.audio_count
                    .feed(data.as_bytes(), &mut self.scratch)
                    .map_err(|_| Error::network("malformed stream: audio data is not base64"))?;
                self.scratch.len()
            }
        };
        if bytes == 0 {
            // The piece did not complete a 4-character group: nothing to report yet.
            return Ok(());
        }
        self.inner.audio(choice, bytes)
    }

    /// Close the WAV file and say what it holds.
    fn finish_wav(&mut self) -> Result<()> {
        if let Some(mut w) = self.wav.take() {
            let bytes = w.finish()?;
            if !self.quiet {
                let line = format!(
                    "audio: {bytes} bytes, {:.2} s of 24 kHz 16-bit mono written to {}",
                    f64::from(bytes) / f64::from(crate::wav::SAMPLE_RATE * 2),
                    w.path().display()
                );
                self.notice(&line);
            }
        }
        Ok(())
    }

    /// The request ID, once known (a response header, or the stream itself).
    pub fn set_request_id(&mut self, id: Option<String>) {
        if id.is_some() {
            self.request_id = id;
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    fn clear_spinner(&mut self) {
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
    }

    fn report(&self) -> Stats {
        let end = std::time::Instant::now();
        let total_s = (end - self.start).as_secs_f64();
        let ttft_s = self.first_delta.map(|t| (t - self.start).as_secs_f64());
        let output_tokens = self.usage.map(|u| u.output_tokens);
        let output_tokens_per_s = match (self.first_delta, output_tokens) {
            (Some(first), Some(n)) if (end - first).as_secs_f64() > 0.0 => {
                Some(n as f64 / (end - first).as_secs_f64())
            }
            _ => None,
        };
        Stats {
            ttft_s,
            total_s,
            deltas: self.deltas,
            output_tokens,
            output_tokens_per_s,
            request_id: self.request_id.clone(),
        }
    }
}

impl Sink for Session {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        if event.is_delta() {
            if self.first_delta.is_none() {
                self.first_delta = Some(std::time::Instant::now());
                self.clear_spinner();
            }
            self.deltas += 1;
        } else if let Event::Usage(u) = &event {
            self.usage = Some(*u);
        }
        if let Event::Audio { choice, data } = &event {
            return self.audio_piece(*choice, data);
        }
        self.inner.event(event)
    }

    fn sse(&mut self, event: &SseEvent<'_>) -> Result<()> {
        self.clear_spinner();
        self.inner.sse(event)
    }

    fn wants_sse(&self) -> bool {
        self.inner.wants_sse()
    }

    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<()> {
        self.clear_spinner();
        self.inner.finish()?;
        self.finish_wav()?;
        if self.stats {
            let report = self.report();
            self.inner.stats(&report)?;
        }
        Ok(())
    }

    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()> {
        self.clear_spinner();
        self.inner.fail(error, usage)?;
        self.finish_wav()?;
        if self.stats && !error.is_quiet() {
            if self.usage.is_none() {
                self.usage = usage;
            }
            let report = self.report();
            self.inner.stats(&report)?;
        }
        Ok(())
    }

    fn stats(&mut self, stats: &Stats) -> Result<()> {
        self.inner.stats(stats)
    }

    fn notice(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.spinner {
            Some(pb) => pb.suspend(|| self.inner.notice(line)),
            None => self.inner.notice(line),
        }
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

    #[test]
    fn json_string_is_byte_for_byte_serde_json() {
        let mut samples: Vec<String> = (0u8..=0x7f).map(|c| format!("a{}b", c as char)).collect();
        samples.extend(
            [
                "",
                "plain text of some length, longer than a word",
                "\"quoted\" \\ back\\slash\n\r\t\u{8}\u{c}\u{1f}\u{7f}",
                "中文, кириллица, emoji 😀 and \u{2028}\u{2029}",
                "\n\n\n\"\"",
            ]
            .map(String::from),
        );
        for s in samples {
            let mut ours = Vec::new();
            json_string(&mut ours, &s);
            let theirs = serde_json::to_vec(&s).expect("a string serializes");
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{s:?}"
            );
        }
        // And the whole line, against the serde path it replaces.
        for (event, via_serde) in [
            (
                content("x\"y"),
                JsonEvent::Content {
                    choice: 0,
                    text: "x\"y",
                },
            ),
            (
                reasoning("r\n"),
                JsonEvent::Reasoning {
                    choice: 0,
                    text: "r\n",
                },
            ),
        ] {
            let mut sink = JsonSink::new(Vec::new());
            sink.event(event).expect("written");
            sink.flush().expect("flushed");
            let want = serde_json::to_string(&via_serde).expect("serializes") + "\n";
            assert_eq!(String::from_utf8_lossy(&sink.into_inner()), want);
        }
    }

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

    fn style(quiet: bool, terminal: bool) -> TextStyle {
        TextStyle {
            quiet,
            reasoning: Reasoning::Stderr,
            color: false,
            terminal,
        }
    }

    #[test]
    fn terminal_style_headers_dim_reasoning() {
        let mut s = TextSink::new(
            Vec::new(),
            Vec::new(),
            TextStyle {
                quiet: false,
                reasoning: Reasoning::Stderr,
                color: true,
                terminal: true,
            },
        );
        s.event(reasoning("hm")).expect("ok");
        s.event(content("yes")).expect("ok");
        s.finish().expect("ok");
        let (out, err) = s.into_inner();
        assert_eq!(out, b"yes\n");
        assert_eq!(
            String::from_utf8_lossy(&err),
            "\x1b[1mthinking\x1b[0m\n\x1b[2mhm\x1b[0m\n\x1b[1manswer\x1b[0m\n"
        );
    }

    #[test]
    fn reasoning_to_stdout_or_hidden() {
        let mut st = style(false, false);
        st.reasoning = Reasoning::Stdout;
        let mut s = TextSink::new(Vec::new(), Vec::new(), st);
        s.event(reasoning("a")).expect("ok");
        s.event(reasoning("b")).expect("ok");
        s.event(content("c")).expect("ok");
        s.finish().expect("ok");
        let (out, err) = s.into_inner();
        assert_eq!(String::from_utf8_lossy(&out), "<think>\nab\n</think>\n\nc");
        assert!(err.is_empty());
        st.reasoning = Reasoning::Hide;
        let mut s = TextSink::new(Vec::new(), Vec::new(), st);
        s.event(reasoning("a")).expect("ok");
        s.event(content("c")).expect("ok");
        s.finish().expect("ok");
        let (out, err) = s.into_inner();
        assert_eq!((out.as_slice(), err.as_slice()), (&b"c"[..], &b""[..]));
    }

    #[test]
    fn stats_line_and_json() {
        let st = Stats {
            ttft_s: Some(0.25),
            total_s: 1.5,
            deltas: 3,
            output_tokens: Some(10),
            output_tokens_per_s: Some(8.0),
            request_id: Some("r".into()),
        };
        assert_eq!(
            st.line(),
            "stats: ttft 0.250 s, total 1.500 s, 3 deltas, 8.0 tokens/s, request_id r\n"
        );
        let mut j = JsonSink::new(Vec::new());
        j.stats(&st).expect("ok");
        assert_eq!(
            String::from_utf8_lossy(&j.into_inner()),
            "{\"type\":\"stats\",\"ttft_s\":0.25,\"total_s\":1.5,\"deltas\":3,\"output_tokens\":10,\"output_tokens_per_s\":8.0,\"request_id\":\"r\"}\n"
        );
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
        let mut s = TextSink::new(Vec::new(), Vec::new(), style(false, false));
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
        let mut s = TextSink::new(Vec::new(), Vec::new(), style(true, true));
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
