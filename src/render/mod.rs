//! Markdown rendered on a terminal while it streams: append-only and line-committed.
//!
//! The unfinished line is shown as it arrives (sanitized, unstyled). When its newline comes,
//! the line is rendered once and, while it still fits on one screen row, written over what was
//! shown (`\r`, erase line); a longer line was soft-wrapped by the terminal and is left as it
//! streamed. Nothing once committed is ever rewritten: no cursor-up, no raw mode, no queries.
//! What waits: the rows of a table (until it ends or grows past a bound), a pipe line until
//! the next line says whether it heads a table. Everything else appears token by token.
//!
//! One file a job: `markdown` (line classes, inline spans), `highlight` (a small lexer, per line),
//! `table` (aligned GFM tables), `extract` (`-x`: code blocks only), `style` (SGR, widths).

pub mod extract;
mod highlight;
mod markdown;
mod style;
mod table;

use markdown::MARKER;
pub use style::Style;

use self::highlight::Highlighter;
use self::style::Emit;
use self::table::{Ctx, Table};
use crate::cli::{Color, Render as RenderMode};
use crate::config::Config;
use crate::sink::sanitize;

/// Where the width of the screen comes from.
#[derive(Debug, Clone, Copy)]
pub enum Width {
    /// The terminal on this file descriptor, asked (TIOCGWINSZ) when a line starts or commits
    /// and the last answer is older than `WIDTH_TTL_MS`, so a resize is seen at the next line
    /// (in a burst of lines, within 10 ms); `fallback` when it cannot say.
    Tty {
        fd: i32,
        fallback: usize,
    },
    Fixed(usize),
}

impl Width {
    pub fn get(&self) -> usize {
        match *self {
            Width::Fixed(n) => n.max(1),
            Width::Tty { fd, fallback } => tty_width(fd).unwrap_or(fallback).max(1),
        }
    }
}

/// How long a terminal's width is taken as known. A line streamed at a model's pace is seconds
/// long, so each still gets a fresh answer; a burst (a replay, a fast server: a million lines a
/// second) asks about a hundred times a second instead of twice a line, the ioctl having been
/// a tenth of the renderer's CPU. A resize is then seen within 10 ms, less than a frame.
const WIDTH_TTL_MS: u64 = 10;

/// The last width a terminal gave, and when (milliseconds of `now_ms`).
#[derive(Debug, Clone, Copy, Default)]
struct WidthCache {
    known: Option<(usize, u64)>,
}

impl WidthCache {
    /// The width at `now`: the known one while it is fresh, else `ask`ed.
    fn get(&mut self, now: u64, ask: impl FnOnce() -> usize) -> usize {
        match self.known {
            Some((w, at)) if now >= at && now - at < WIDTH_TTL_MS => w,
            _ => {
                let w = ask();
                self.known = Some((w, now));
                w
            }
        }
    }
}

/// A monotonic clock in milliseconds, cheap enough to read for every line (the coarse clock:
/// a few nanoseconds, no system call).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointed-to value.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    start.elapsed().as_millis() as u64
}

#[cfg(unix)]
fn tty_width(fd: i32) -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes a winsize into the pointed-to value; any fd is allowed (an
    // error is returned for one that is not a terminal).
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

#[cfg(not(unix))]
fn tty_width(_fd: i32) -> Option<usize> {
    None
}

/// How a renderer writes.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub width: Width,
    /// Under every style: dim for the reasoning.
    pub base: Style,
    /// 24-bit colour for code (else the nearest of the 256-colour palette).
    pub truecolor: bool,
}

/// Bytes of one source line kept for rendering; past this the line is left as it streamed.
const LINE_CAP: usize = 64 * 1024;

const ERASE: &[u8] = b"\r\x1b[K";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Shown as it arrives, and still within one row.
    Live,
    /// Shown, but longer than a row: left as the terminal wrapped it.
    Wrapped,
    /// Not shown yet: a table row or a possible delimiter row.
    Held,
}

struct Fence {
    ch: u8,
    len: usize,
    highlighter: Option<Highlighter>,
}

/// The line-committed markdown renderer of one output stream.
pub struct Renderer {
    opts: Options,
    line: String,
    /// The line outgrew `LINE_CAP`.
    truncated: bool,
    tail: Tail,
    /// Column the shown tail reached, and the width it is measured against.
    col: usize,
    width: usize,
    fence: Option<Fence>,
    table: Option<Table>,
    /// A pipe line waiting to see whether the next line makes it a table header.
    candidate: Option<String>,
    scratch: Vec<u8>,
    plain: Vec<u8>,
    width_cache: WidthCache,
}

impl Renderer {
    pub fn new(opts: Options) -> Renderer {
        Renderer {
            opts,
            line: String::new(),
            truncated: false,
            tail: Tail::Live,
            col: 0,
            width: 0,
            fence: None,
            table: None,
            candidate: None,
            scratch: Vec::new(),
            plain: Vec::new(),
            width_cache: WidthCache::default(),
        }
    }

    /// Take the next piece of the text, writing what may be shown now into `out`.
    pub fn push(&mut self, text: &str, out: &mut Vec<u8>) {
        let mut rest = text;
        while let Some(nl) = memchr::memchr(b'\n', rest.as_bytes()) {
            self.feed(&rest[..nl], out);
            self.commit(out, true);
            rest = &rest[nl + 1..];
        }
        if !rest.is_empty() {
            self.feed(rest, out);
        }
    }

    /// The text is complete: render the unfinished line (leaving it without a newline) and
    /// print whatever is held.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line.is_empty() || self.truncated {
            self.commit(out, false);
        }
        self.release(out);
        self.fence = None;
    }

    /// The run stops early (Ctrl-C, an error): print what is held and leave the terminal in its
    /// normal state.
    pub fn abort(&mut self, out: &mut Vec<u8>) {
        self.finish(out);
        out.extend_from_slice(b"\x1b[0m\x1b[?25h");
    }

    /// The screen's width now (a terminal's: asked at most every `WIDTH_TTL_MS`).
    fn screen_width(&mut self) -> usize {
        match self.opts.width {
            Width::Fixed(n) => n.max(1),
            w @ Width::Tty { .. } => self.width_cache.get(now_ms(), || w.get()),
        }
    }

    fn ctx(&self, width: usize) -> Ctx {
        Ctx {
            base: self.opts.base,
            width,
            truecolor: self.opts.truecolor,
        }
    }

    /// Whether the tail `line` may stay unshown.
    fn still_held(&self) -> bool {
        if self.line.len() > table::MAX_BYTES {
            return false;
        }
        if self.table.is_some() {
            let t = self.line.trim_start_matches(' ');
            self.line.len() - t.len() <= 3 && (t.is_empty() || t.starts_with('|'))
        } else {
            self.candidate.is_some()
                && self
                    .line
                    .bytes()
                    .all(|b| matches!(b, b'|' | b':' | b'-' | b' ' | b'\t'))
        }
    }

    fn feed(&mut self, piece: &str, out: &mut Vec<u8>) {
        if self.line.is_empty() && !self.truncated {
            self.width = self.screen_width();
            self.col = 0;
            self.tail = if self.table.is_some() || self.candidate.is_some() {
                Tail::Held
            } else {
                Tail::Live
            };
        }
        let before = self.line.len();
        if before + piece.len() <= LINE_CAP {
            self.line.push_str(piece);
        } else {
            let mut cut = LINE_CAP.saturating_sub(before);
            while !piece.is_char_boundary(cut) {
                cut -= 1;
            }
            self.line.push_str(&piece[..cut]);
            self.truncated = true;
        }
        match self.tail {
            Tail::Held if self.still_held() && !self.truncated => {}
            Tail::Held => {
                // Not a table row after all: print what was held, then show the line.
                self.release(out);
                self.tail = Tail::Live;
                let line = std::mem::take(&mut self.line);
                self.show(&line, out);
                self.line = line;
                if self.truncated {
                    self.show(&piece[self.line.len() - before..], out);
                }
            }
            Tail::Live => self.show(piece, out),
            Tail::Wrapped => self.write_tail(piece, out),
        }
    }

    /// Show a piece of the tail, tracking whether it still fits on one row.
    fn show(&mut self, piece: &str, out: &mut Vec<u8>) {
        // One scan classifies the piece: printable ASCII is written as it is, a column a byte.
        let printable = sanitize::is_printable_ascii(piece.as_bytes());
        if printable && self.opts.base == Style::PLAIN {
            out.extend_from_slice(piece.as_bytes());
        } else {
            self.write_tail(piece, out);
        }
        if self.tail != Tail::Live {
            return;
        }
        if printable {
            self.col += piece.len();
        } else {
            for c in piece.chars() {
                let next = style::advance(self.col, c);
                if c == '\t' {
                    // A tab stops at the last column; it does not wrap.
                    self.col = next.min(self.width);
                    continue;
                }
                if next > self.width {
                    self.col = next;
                    break;
                }
                self.col = next;
            }
        }
        if self.col > self.width {
            self.tail = Tail::Wrapped;
        }
    }

    fn write_tail(&self, piece: &str, out: &mut Vec<u8>) {
        if self.opts.base == Style::PLAIN {
            sanitize::push(out, piece);
        } else {
            self.opts.base.sgr(out, false);
            sanitize::push(out, piece);
            out.extend_from_slice(b"\x1b[0m");
        }
    }

    /// Print a held table or candidate line.
    fn release(&mut self, out: &mut Vec<u8>) {
        if self.table.is_none() && self.candidate.is_none() {
            return;
        }
        let width = self.screen_width();
        if let Some(mut t) = self.table.take() {
            t.print(&self.ctx(width), out);
        }
        if let Some(c) = self.candidate.take() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            self.block(&c, width, &mut scratch);
            out.extend_from_slice(&scratch);
            out.push(b'\n');
            self.scratch = scratch;
        }
    }

    /// The line is complete (`newline`: by a newline, else by the end of the text).
    fn commit(&mut self, out: &mut Vec<u8>, newline: bool) {
        let mut line = std::mem::take(&mut self.line);
        if line.ends_with('\r') {
            line.pop();
        }
        let width = self.screen_width();
        let shown = match self.tail {
            Tail::Held => false,
            Tail::Live => true,
            Tail::Wrapped => true,
        };
        let replace = self.tail == Tail::Live && self.col <= width && !self.truncated;
        let truncated = std::mem::replace(&mut self.truncated, false);
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let held = self.render(
            &line,
            width,
            replace || !shown,
            truncated,
            out,
            &mut scratch,
        );
        if held {
            if replace {
                out.extend_from_slice(ERASE);
            }
        } else {
            if replace {
                // Rewrite only a line whose rendered form differs from what is on screen (the
                // line as streamed, sanitized); a clean line is compared as it is, uncopied.
                let differs = if sanitize::is_clean(&line) {
                    scratch != line.as_bytes()
                } else {
                    self.plain.clear();
                    sanitize::push(&mut self.plain, &line);
                    scratch != self.plain
                };
                if differs {
                    out.extend_from_slice(ERASE);
                    out.extend_from_slice(&scratch);
                }
            } else if !shown {
                out.extend_from_slice(&scratch);
            }
            if newline {
                out.push(b'\n');
            }
        }
        self.scratch = scratch;
        line.clear();
        self.line = line;
    }

    /// Render a complete line into `dst`, updating the block state. Returns `true` when the
    /// line is held (nothing to print now). `can_hold`: the line is not on screen (or can be
    /// erased). Anything held before that this line ends is printed into `out` first.
    fn render(
        &mut self,
        line: &str,
        width: usize,
        can_hold: bool,
        truncated: bool,
        out: &mut Vec<u8>,
        dst: &mut Vec<u8>,
    ) -> bool {
        let base = self.opts.base;
        let ctx = self.ctx(width);
        if let Some(f) = &mut self.fence {
            let mut e = Emit::new(dst, self.opts.truecolor);
            if markdown::fence_close(line, f.ch, f.len) {
                e.text(line, base.with(MARKER));
                self.fence = None;
            } else {
                let ok = match (&mut f.highlighter, truncated) {
                    (Some(h), false) => h.line(line, base, &mut e),
                    _ => false,
                };
                if !ok {
                    if f.highlighter.is_some() && !truncated {
                        f.highlighter = None;
                    }
                    e.text(line, base);
                }
            }
            e.end();
            return false;
        }
        if let Some(t) = &mut self.table {
            if markdown::is_row(line) {
                t.row(line, &ctx, out);
                return true;
            }
            self.release(out);
        }
        if let Some(c) = self.candidate.take() {
            if let Some(aligns) = markdown::delimiter_row(line) {
                if aligns.len() == markdown::cell_count(&c) {
                    self.table = Some(Table::new(&c, aligns));
                    return true;
                }
            }
            self.candidate = Some(c);
            self.release(out);
        }
        if can_hold && !truncated && markdown::is_row(line) && markdown::cell_count(line) > 1 {
            self.candidate = Some(line.to_owned());
            return true;
        }
        if truncated {
            return false;
        }
        if let Some(f) = markdown::fence_open(line) {
            self.fence = Some(Fence {
                ch: f.ch,
                len: f.len,
                highlighter: Highlighter::new(f.lang()),
            });
            let mut e = Emit::new(dst, self.opts.truecolor);
            e.text(line, base.with(MARKER));
            e.end();
            return false;
        }
        self.block(line, width, dst);
        false
    }

    /// A line outside code and tables: heading, rule, quote, list item or paragraph.
    fn block(&self, line: &str, width: usize, dst: &mut Vec<u8>) {
        let mut e = Emit::new(dst, self.opts.truecolor);
        self.block_into(line, self.opts.base, width, &mut e);
        e.end();
    }

    fn block_into(&self, line: &str, base: Style, width: usize, e: &mut Emit) {
        if line.trim().is_empty() {
            e.text(line, base);
            return;
        }
        if let Some((level, text)) = markdown::heading(line) {
            let st = base.with(markdown::HEADING[(level - 1).min(2)]);
            markdown::inline(text, st, e);
            return;
        }
        if markdown::is_rule(line) {
            let n = width.min(80);
            let rule: String = std::iter::repeat_n('─', n).collect();
            e.text(&rule, base.with(MARKER));
            return;
        }
        if let Some(rest) = markdown::quote(line) {
            e.text("│ ", base.with(MARKER));
            self.block_into(rest, base.italic(), width.saturating_sub(2), e);
            return;
        }
        if let Some((indent, marker, gap, text)) = markdown::list_item(line) {
            e.text(indent, base);
            if marker.len() == 1 {
                let level = style::width(indent) / 2;
                let bullet = ["•", "◦", "▪"][level % 3];
                e.text(bullet, base.with(markdown::BULLET));
            } else {
                e.text(marker, base.with(markdown::BULLET));
            }
            e.text(gap, base);
            markdown::inline(text, base, e);
            return;
        }
        markdown::inline(line, base, e);
    }
}

/// What text mode does with the text, from `--render`, `-x` and the surroundings: render on
/// stdout and/or stderr, extract a block, or nothing. `var` reads the environment; `colour`
/// says whether the colour rules (`--color`, `NO_COLOR`, `CLICOLOR`, `TERM`) allow colour on a
/// terminal.
///
/// `auto` renders only on a real terminal (`isatty`, not the test-only force flag), so pipes,
/// files and every existing byte-exact contract keep the model's bytes.
pub fn choose(
    config: &Config,
    var: &dyn Fn(&str) -> Option<String>,
    colour: &dyn Fn(bool) -> bool,
) -> crate::sink::Render {
    use std::io::IsTerminal;
    let out_tty = std::io::stdout().is_terminal();
    let err_tty = std::io::stderr().is_terminal();
    choose_for(
        config,
        var,
        (out_tty, out_tty && colour(true)),
        (err_tty, err_tty && colour(true)),
    )
}

/// `out`, `err`: (is a terminal, colour allowed there).
fn choose_for(
    config: &Config,
    var: &dyn Fn(&str) -> Option<String>,
    (out_tty, out_colour): (bool, bool),
    (err_tty, err_colour): (bool, bool),
) -> crate::sink::Render {
    let on = |tty: bool, colour: bool| match config.render {
        RenderMode::Plain => false,
        RenderMode::Markdown => true,
        RenderMode::Auto => tty && colour && config.color != Color::Never,
    };
    let truecolor = matches!(var("COLORTERM").as_deref(), Some("truecolor" | "24bit"));
    let columns = var("COLUMNS")
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80);
    let width = |tty: bool, fd: i32| {
        if tty {
            Width::Tty {
                fd,
                fallback: columns,
            }
        } else {
            Width::Fixed(columns)
        }
    };
    if let Some(which) = config.extract {
        return crate::sink::Render {
            extract: Some(extract::Extractor::new(which, out_tty)),
            err: None,
            out: None,
        };
    }
    crate::sink::Render {
        out: on(out_tty, out_colour).then(|| {
            Renderer::new(Options {
                width: width(out_tty, 1),
                base: Style::PLAIN,
                truecolor,
            })
        }),
        err: (on(err_tty, err_colour) && config.reasoning == crate::cli::Reasoning::Stderr).then(
            || {
                Renderer::new(Options {
                    width: width(err_tty, 2),
                    base: Style::PLAIN.dim(),
                    truecolor,
                })
            },
        ),
        extract: None,
    }
}

#[cfg(test)]
mod tests;
