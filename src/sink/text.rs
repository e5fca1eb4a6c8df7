//! Text mode: content on stdout, reasoning and the usage line on stderr.

use std::io::Write;

use super::{
    sanitize, usage_line, write_all, write_err, Sink, Stats, TextStyle, ToolCalls, BOLD, DIM, RESET,
};
use crate::cli::Reasoning;
use crate::error::{Error, Result};
use crate::event::{Event, Usage};

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

    /// Text for stderr; on a terminal through the sanitizer (qstream's own escapes for colour
    /// go into the buffer directly).
    fn err_text(&mut self, s: &str) {
        if let Some(&last) = s.as_bytes().last() {
            if self.style.err_tty {
                sanitize::push(&mut self.err_buf, s);
            } else {
                self.err_buf.extend_from_slice(s.as_bytes());
            }
            self.err_at_line_start = last == b'\n';
        }
    }

    /// Text for stdout; on a terminal through the sanitizer.
    fn out_text(&mut self, s: &str) {
        if let Some(&last) = s.as_bytes().last() {
            if self.style.out_tty {
                sanitize::push(&mut self.out_buf, s);
            } else {
                self.out_buf.extend_from_slice(s.as_bytes());
            }
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
        if !self.err_at_line_start {
            self.err_text("\n");
        }
        if self.style.color {
            self.err_buf.extend_from_slice(BOLD.as_bytes());
            self.err_text(name);
            self.err_buf.extend_from_slice(RESET.as_bytes());
        } else {
            self.err_text(name);
        }
        self.err_text("\n");
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
                let line = serde_json::to_string(&call)
                    .map_err(|e| Error::internal(format!("cannot encode a tool call: {e}")))?;
                self.out_text(&line);
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
