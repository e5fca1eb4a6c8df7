//! Sinks: the only code that knows about stdout, stderr and flushing.
//!
//! Every sink buffers what it writes and writes it out in `flush`, which the stream loop calls
//! whenever it has handled all the bytes of one read, before it blocks on the next. So a delta
//! is never held back waiting for more input, and a burst of deltas costs one write.
//!
//! One file a job: `text` (answer on stdout, reasoning and usage on stderr), `json` (JSON
//! lines), `raw` (SSE events), `session` (what every mode shares: spinner, stats, audio),
//! `tool_calls` (assembly of streamed fragments).

mod json;
mod raw;
pub mod sanitize;
mod session;
pub mod stdio;
mod text;
mod tool_calls;
mod transcript;

pub use json::JsonSink;
pub use raw::RawSink;
pub use session::Session;
pub use text::{Render, TextSink};
pub use tool_calls::{ToolCall, ToolCalls};
pub use transcript::Transcript;

use std::io::Write;

use serde::Serialize;

use crate::cli::Reasoning;
use crate::error::{Error, Result};
use crate::event::{Event, Usage};
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
        stdio::line(line);
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
    /// stdout is a terminal: what goes there passes the sanitizer.
    pub out_tty: bool,
    /// stderr is a terminal: what goes there passes the sanitizer.
    pub err_tty: bool,
}

pub(crate) const DIM: &str = "\x1b[2m";
pub(crate) const BOLD: &str = "\x1b[1m";
pub(crate) const RESET: &str = "\x1b[0m";

/// `buf`, all of it JSON text, with every control the sanitizer knows made visible: for
/// `--json` and `--raw` on a terminal (JSON escapes C0 controls but not DEL or C1).
pub(crate) fn sanitize_buffer(buf: &mut Vec<u8>) {
    let Ok(text) = std::str::from_utf8(buf) else {
        return;
    };
    if sanitize::is_clean(text) {
        return;
    }
    let mut out = Vec::with_capacity(buf.len() + 16);
    sanitize::push(&mut out, text);
    *buf = out;
}

pub(crate) fn write_all(w: &mut dyn Write, buf: &mut Vec<u8>) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    let r = w.write_all(buf).and_then(|_| w.flush());
    buf.clear();
    r.map_err(Error::output)
}

/// Writing to stderr: errors there are not worth failing the run for, except a closed pipe
/// which ends it quietly like one on stdout.
pub(crate) fn write_err(w: &mut dyn Write, buf: &mut Vec<u8>) -> Result<()> {
    match write_all(w, buf) {
        Err(e) if e.is_quiet() => Err(e),
        _ => Ok(()),
    }
}

/// `usage: input 26 (12 cached), output 87 (40 reasoning), total 113 tokens, 1 web search`:
/// the parts in brackets and the searches only when the service reported them (and not zero:
/// `--json` has the exact fields).
pub fn usage_line(u: &Usage) -> String {
    let cached = u
        .cached_tokens
        .filter(|&n| n > 0)
        .map_or(String::new(), |n| format!(" ({n} cached)"));
    let reasoning = u
        .reasoning_tokens
        .filter(|&n| n > 0)
        .map_or(String::new(), |n| format!(" ({n} reasoning)"));
    let searches = match u.search_count.filter(|&n| n > 0) {
        Some(1) => ", 1 web search".to_owned(),
        Some(n) => format!(", {n} web searches"),
        None => String::new(),
    };
    format!(
        "usage: input {}{cached}, output {}{reasoning}, total {} tokens{searches}\n",
        u.input_tokens, u.output_tokens, u.total_tokens
    )
}

pub(crate) fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests;
