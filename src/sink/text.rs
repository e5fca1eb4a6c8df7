//! Text mode: content on stdout, reasoning and the usage line on stderr.

use std::io::Write;

use super::{
    sanitize, usage_line, write_all, write_err, Sink, Stats, TextStyle, ToolCalls, BOLD, DIM, RESET,
};
use crate::cli::Reasoning;
use crate::error::{Error, Result};
use crate::event::{Event, Usage, WebSource};
use crate::render::extract::Extractor;
use crate::render::Renderer;

/// `[1] Title — URL`, on one line whatever the title holds.
pub(crate) fn source_line(s: &WebSource) -> String {
    let title: String = s
        .title
        .split(['\n', '\r', '\t'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match (title.trim(), s.url.trim()) {
        ("", url) => format!("[{}] {url}\n", s.index),
        (title, "") => format!("[{}] {title}\n", s.index),
        (title, url) => format!("[{}] {title} \u{2014} {url}\n", s.index),
    }
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
    /// Web sources, listed after the answer.
    sources: Vec<WebSource>,
    render: Render,
}

/// What text mode does to the text besides writing it: markdown rendering (stdout, stderr) or
/// extracting a code block (stdout). Nothing by default.
#[derive(Default)]
pub struct Render {
    pub out: Option<Renderer>,
    pub err: Option<Renderer>,
    pub extract: Option<Extractor>,
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
            sources: Vec::new(),
            render: Render::default(),
        }
    }

    pub fn with_render(mut self, render: Render) -> Self {
        self.render = render;
        self
    }

    /// The answer's text: rendered, extracted, or as it came.
    fn content(&mut self, s: &str) {
        let Some(&last) = s.as_bytes().last() else {
            return;
        };
        if let Some(x) = &mut self.render.extract {
            x.push(s, &mut self.out_buf);
            return;
        }
        match &mut self.render.out {
            Some(r) => r.push(s, &mut self.out_buf),
            None => return self.out_text(s),
        }
        self.out_at_line_start = last == b'\n';
    }

    /// The text is complete (`abort`: cut short): write what the renderers hold.
    fn end_render(&mut self, abort: bool) {
        if let Some(x) = &mut self.render.extract {
            x.finish(&mut self.out_buf);
            if !abort && !x.found() && !self.style.quiet {
                self.err_line("qstream: no fenced code block in the answer\n");
            }
        }
        for (r, buf) in [
            (&mut self.render.out, &mut self.out_buf),
            (&mut self.render.err, &mut self.err_buf),
        ] {
            if let Some(r) = r {
                if abort {
                    r.abort(buf);
                } else {
                    r.finish(buf);
                }
            }
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
                if let Some(r) = &mut self.render.err {
                    r.push(text, &mut self.err_buf);
                    self.err_at_line_start = text.ends_with('\n');
                } else if self.style.color {
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
                if let Some(r) = &mut self.render.err {
                    r.finish(&mut self.err_buf);
                }
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

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> (O, E) {
        (self.out, self.err)
    }
}

impl<O: Write, E: Write> Sink for TextSink<O, E> {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        match event {
            Event::Content { choice: 0, text } => {
                self.end_reasoning();
                self.content(&text);
            }
            Event::Reasoning { choice: 0, text } => self.reasoning(&text),
            Event::ToolCall { choice: 0, .. } => {
                self.end_reasoning();
                self.tool_calls.add(&event);
            }
            Event::Usage(u) => self.usage = Some(u),
            Event::Sources(s) => self.sources = s,
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
        self.end_render(false);
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
        if !self.sources.is_empty() && self.render.extract.is_none() {
            self.out_text(if self.out_at_line_start { "\n" } else { "\n\n" });
            for source in std::mem::take(&mut self.sources) {
                let line = source_line(&source);
                if self.style.terminal {
                    super::sanitize::push(&mut self.out_buf, &line);
                } else {
                    self.out_buf.extend_from_slice(line.as_bytes());
                }
                self.out_at_line_start = true;
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
        self.end_render(true);
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
