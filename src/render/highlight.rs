//! Syntax highlighting of code lines, one line at a time, its state (inside a block comment, a
//! multi-line string, an HTML tag) carried from line to line so a line is coloured the moment it
//! completes.
//!
//! A small table-driven lexer: each language family is a `Spec` (keywords, types, constants,
//! comment and string delimiters, a few switches), plus two lexers of their own for markup
//! (HTML/XML) and diffs. No regexes, nothing to load, no allocation: a line is scanned once,
//! byte by byte (every delimiter is ASCII, so each token boundary is a char boundary), and each
//! run of one colour is written with `Emit::text`. The theme is a few mid-tone colours that read
//! on dark and on light backgrounds; on a 256-colour terminal `Emit` maps them to the palette.

mod langs;

use self::langs::{Lexer, Spec};
use super::style::{Emit, Fg, Style};

/// What a run of code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Plain,
    Keyword,
    Type,
    Const,
    Str,
    Comment,
    Func,
    Var,
    Meta,
    Key,
    Tag,
    Attr,
    Added,
    Removed,
    Hunk,
    Header,
}

impl Tok {
    /// The theme: Solarized's accents (built to read on dark and light backgrounds) and a
    /// mid grey for comments.
    fn style(self) -> Style {
        let fg = |r, g, b| Style::PLAIN.fg(Fg::Rgb(r, g, b));
        match self {
            Tok::Plain => Style::PLAIN,
            Tok::Keyword => fg(0xd3, 0x36, 0x82),
            Tok::Type | Tok::Attr => fg(0xb5, 0x89, 0x00),
            Tok::Const => fg(0xcb, 0x4b, 0x16),
            Tok::Str | Tok::Added => fg(0x85, 0x99, 0x00),
            Tok::Comment => fg(0x80, 0x80, 0x80).italic(),
            Tok::Func | Tok::Key | Tok::Tag => fg(0x26, 0x8b, 0xd2),
            Tok::Var | Tok::Hunk => fg(0x2a, 0xa1, 0x98),
            Tok::Meta => fg(0x6c, 0x71, 0xc4),
            Tok::Removed => fg(0xdc, 0x32, 0x2f),
            Tok::Header => Style::PLAIN.bold(),
        }
    }
}

/// Where the previous line left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// In a block comment that ends with this.
    Comment(&'static str),
    /// In a multi-line string that ends with `close`.
    Str {
        close: &'static str,
        esc: bool,
    },
    /// In a Rust raw string closed by `"` and this many `#`.
    Raw(u8),
    /// Markup: inside a tag, between its name and its `>`.
    Tag,
    /// Markup: in a quoted attribute value inside a tag.
    AttrStr(u8),
}

/// The highlighter of one fenced block.
pub struct Highlighter {
    spec: &'static Spec,
    state: State,
    /// The bytes a comment or a string can start with (their delimiters' first bytes and the
    /// string prefixes): the scan compares the delimiters only at those.
    starts: Starts,
}

/// What a line's scan can skip: the bytes where no comment or string starts, and (a 64-bit
/// filter on length and first letter) the words that are in none of the word lists.
#[derive(Clone, Copy)]
struct Starts {
    bytes: [bool; 256],
    words: u64,
}

/// The filter bit of a word: its length (7 for longer) and its first byte's low three bits
/// (the same for both cases of a letter).
fn word_bit(w: &[u8]) -> u64 {
    let first = w.first().map_or(0, |&b| u64::from(b & 7));
    1 << ((w.len().min(7) as u64) << 3 | first)
}

impl Starts {
    #[cfg(test)]
    const ALL: Starts = Starts {
        bytes: [true; 256],
        words: u64::MAX,
    };

    fn of(spec: &Spec) -> Starts {
        let mut words = 0;
        for list in [spec.keywords, spec.consts, spec.types] {
            for w in list {
                words |= word_bit(w.as_bytes());
            }
        }
        let mut t = [false; 256];
        let mut add = |d: &str| match d.as_bytes().first() {
            Some(&b) => t[usize::from(b)] = true,
            // An empty delimiter would match anywhere.
            None => t = [true; 256],
        };
        for &(open, _) in spec.block {
            add(open);
        }
        for &lc in spec.line {
            add(lc);
        }
        for q in spec.strings {
            add(q.open);
        }
        for &b in spec.str_prefix {
            t[usize::from(b)] = true;
        }
        Starts { bytes: t, words }
    }

    #[inline]
    fn has(&self, b: u8) -> bool {
        self.bytes[usize::from(b)]
    }

    /// Whether `w` may be in one of the word lists (if not, it is in none).
    #[inline]
    fn may_list(&self, w: &[u8]) -> bool {
        self.words & word_bit(w) != 0
    }
}

impl Highlighter {
    /// A highlighter for the language named `lang` (a name, an alias or a file extension), or
    /// `None` when it is unknown.
    pub fn new(lang: &str) -> Option<Highlighter> {
        let spec = langs::find(lang)?;
        Some(Highlighter {
            spec,
            state: State::Code,
            starts: Starts::of(spec),
        })
    }

    /// Write one line of code (without its newline), coloured, on top of `base`. Always
    /// `true`: every line is highlighted (the renderer's fallback for a failed line stays).
    pub fn line(&mut self, line: &str, base: Style, e: &mut Emit) -> bool {
        let mut out = Runs {
            line,
            base,
            e,
            start: 0,
            pos: 0,
            tok: Tok::Plain,
        };
        self.state = match self.spec.lexer {
            Lexer::Diff => {
                diff(line, &mut out);
                State::Code
            }
            Lexer::Markup => markup(self.state, line, &mut out),
            Lexer::Code => code(self.spec, &self.starts, self.state, line, &mut out),
        };
        out.finish();
        true
    }
}

/// The runs of one line: `put(from, to, tok)` colours `from..to` as `tok` and what lies between
/// the previous run and `from` as plain; neighbouring runs of one colour are written as one.
struct Runs<'l, 'e, 'o> {
    line: &'l str,
    base: Style,
    e: &'e mut Emit<'o>,
    /// Where the pending run starts.
    start: usize,
    /// Where the covered part of the line ends.
    pos: usize,
    tok: Tok,
}

impl Runs<'_, '_, '_> {
    fn put(&mut self, from: usize, to: usize, tok: Tok) {
        self.extend(from, Tok::Plain);
        self.extend(to, tok);
    }

    fn extend(&mut self, to: usize, tok: Tok) {
        let to = to.min(self.line.len());
        if to <= self.pos {
            return;
        }
        if tok != self.tok {
            self.flush();
            self.tok = tok;
        }
        self.pos = to;
    }

    fn flush(&mut self) {
        if self.pos > self.start {
            let text = self.line.get(self.start..self.pos).unwrap_or("");
            self.e.text(text, self.base.with(self.tok.style()));
            self.start = self.pos;
        }
    }

    fn finish(&mut self) {
        self.extend(self.line.len(), Tok::Plain);
        self.flush();
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The end of a string body starting at `i`: `(end, closed)`, `end` after the closing quote.
fn scan_str(b: &[u8], mut i: usize, close: &[u8], esc: bool) -> (usize, bool) {
    while i < b.len() {
        if esc && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i..].starts_with(close) {
            return (i + close.len(), true);
        }
        i += 1;
    }
    (b.len(), false)
}

/// The end of a Rust raw string body starting at `i`, closed by `"` and `hashes` `#`.
fn scan_raw(b: &[u8], mut i: usize, hashes: u8) -> (usize, bool) {
    let n = usize::from(hashes);
    while i < b.len() {
        if b[i] == b'"' && b.len() - i > n && b[i + 1..=i + n].iter().all(|&c| c == b'#') {
            return (i + 1 + n, true);
        }
        i += 1;
    }
    (b.len(), false)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn word_in(list: &[&str], w: &[u8], nocase: bool) -> bool {
    if nocase {
        list.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(w))
    } else {
        // Length and first byte first: most words are no keyword, and a call to memcmp costs
        // more than this whole check.
        let Some(&first) = w.first() else {
            return false;
        };
        list.iter().any(|k| {
            let k = k.as_bytes();
            k.len() == w.len() && k[0] == first && k == w
        })
    }
}

/// The lexer of the C-like, scripting and data languages, driven by `spec`; `starts` holds
/// every byte a comment or a string of `spec` can start with.
fn code(spec: &Spec, starts: &Starts, state: State, line: &str, out: &mut Runs) -> State {
    let b = line.as_bytes();
    let n = b.len();
    let mut i = 0;
    // Finish what the previous line left open.
    match state {
        State::Comment(end) => match find(b, 0, end.as_bytes()) {
            Some(p) => {
                i = p + end.len();
                out.put(0, i, Tok::Comment);
            }
            None => {
                out.put(0, n, Tok::Comment);
                return state;
            }
        },
        State::Str { close, esc } => {
            let (end, closed) = scan_str(b, 0, close.as_bytes(), esc);
            out.put(0, end, Tok::Str);
            if !closed {
                return state;
            }
            i = end;
        }
        State::Raw(h) => {
            let (end, closed) = scan_raw(b, 0, h);
            out.put(0, end, Tok::Str);
            if !closed {
                return state;
            }
            i = end;
        }
        State::Code | State::Tag | State::AttrStr(_) => {}
    }
    if i == 0 {
        i = line_start(spec, b, out);
    }
    'scan: while i < n {
        let c = b[i];
        let rest = &b[i..];
        if c == b' ' || c == b'\t' {
            i += 1;
            continue;
        }
        // Comments and strings: their delimiters are compared only where one can start.
        if starts.has(c) {
            for &(open, close) in spec.block {
                if rest.starts_with(open.as_bytes()) {
                    match find(b, i + open.len(), close.as_bytes()) {
                        Some(p) => {
                            out.put(i, p + close.len(), Tok::Comment);
                            i = p + close.len();
                            continue 'scan;
                        }
                        None => {
                            out.put(i, n, Tok::Comment);
                            return State::Comment(close);
                        }
                    }
                }
            }
            for &lc in spec.line {
                if rest.starts_with(lc.as_bytes())
                    && (!spec.hash_word
                        || lc != "#"
                        || i == 0
                        || b[i - 1] == b' '
                        || b[i - 1] == b'\t')
                {
                    out.put(i, n, Tok::Comment);
                    return State::Code;
                }
            }
            // A string, with a prefix letter or two (Python's r"", f"", b"") when allowed.
            let mut q_at = i;
            while q_at < n && q_at - i < 2 && spec.str_prefix.contains(&b[q_at]) {
                q_at += 1;
            }
            if q_at > i && !(q_at < n && (b[q_at] == b'"' || b[q_at] == b'\'')) {
                q_at = i;
            }
            for q in spec.strings {
                if b[q_at..].starts_with(q.open.as_bytes()) {
                    if spec.rust && q.open == "'" {
                        if let Some(end) = rust_quote(b, i) {
                            let tok = if b[end - 1] == b'\'' {
                                Tok::Str
                            } else {
                                Tok::Meta
                            };
                            out.put(i, end, tok);
                            i = end;
                            continue 'scan;
                        }
                        break;
                    }
                    let (end, closed) = scan_str(b, q_at + q.open.len(), q.close.as_bytes(), q.esc);
                    let tok = if spec.key_strings && closed && next_is(b, end, b':') {
                        Tok::Key
                    } else {
                        Tok::Str
                    };
                    out.put(i, end, tok);
                    if !closed && q.multi {
                        return State::Str {
                            close: q.close,
                            esc: q.esc,
                        };
                    }
                    i = end;
                    continue 'scan;
                }
            }
        }
        if c.is_ascii_digit() {
            let end = number(b, i);
            out.put(i, end, Tok::Const);
            i = end;
            continue;
        }
        if spec.rust && (c == b'r' || c == b'b') {
            // Raw strings: r"…", r#"…"#, br"…".
            let mut j = i + 1;
            if c == b'b' && j < n && b[j] == b'r' {
                j += 1;
            }
            if c == b'r' || j == i + 2 {
                let h = b[j..].iter().take_while(|&&x| x == b'#').count();
                if j + h < n && b[j + h] == b'"' && h < 256 {
                    let hashes = h as u8;
                    let (end, closed) = scan_raw(b, j + h + 1, hashes);
                    out.put(i, end, Tok::Str);
                    if !closed {
                        return State::Raw(hashes);
                    }
                    i = end;
                    continue;
                }
            }
        }
        if is_ident_start(c) || spec.ident_extra.contains(&c) {
            let mut j = i + 1;
            while j < n && (is_ident(b[j]) || spec.ident_extra.contains(&b[j])) {
                j += 1;
            }
            let w = &b[i..j];
            let listed = starts.may_list(w);
            let tok = if listed && word_in(spec.keywords, w, spec.nocase) {
                Tok::Keyword
            } else if listed && word_in(spec.consts, w, spec.nocase) {
                Tok::Const
            } else if listed && word_in(spec.types, w, spec.nocase) {
                Tok::Type
            } else if spec.key_sep == Some(b':')
                && b.get(j) == Some(&b':')
                && matches!(b.get(j + 1), None | Some(b' ' | b'\t'))
            {
                Tok::Key
            } else if spec.caps_types && w[0].is_ascii_uppercase() {
                if w.len() > 1 && w.iter().all(|&x| !x.is_ascii_lowercase()) {
                    Tok::Const
                } else {
                    Tok::Type
                }
            } else if j < n && b[j] == b'(' {
                Tok::Func
            } else if spec.rust && j + 1 < n && b[j] == b'!' && b[j + 1] != b'=' {
                j += 1;
                Tok::Func
            } else {
                Tok::Plain
            };
            out.put(i, j, tok);
            i = j;
            continue;
        }
        if let Some(end) = sigil(spec, b, i) {
            out.put(i, end.0, end.1);
            i = end.0;
            continue;
        }
        // Anything else (punctuation, non-ASCII text) is plain; a whole UTF-8 sequence at once.
        i += 1;
        while i < n && (b[i] & 0xC0) == 0x80 {
            i += 1;
        }
    }
    State::Code
}

/// Line-start forms: a TOML/INI `[section]`, a YAML/TOML/Makefile key, a C preprocessor line.
/// Returns where the ordinary scan goes on.
fn line_start(spec: &Spec, b: &[u8], out: &mut Runs) -> usize {
    let ind = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    let t = &b[ind..];
    if spec.sections && t.first() == Some(&b'[') {
        let end = t
            .iter()
            .position(|&c| c == b']')
            .map_or(b.len(), |p| ind + p + 1);
        out.put(ind, end, Tok::Type);
        return end;
    }
    if spec.preproc && t.first() == Some(&b'#') {
        let mut j = ind + 1;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        while j < b.len() && is_ident(b[j]) {
            j += 1;
        }
        out.put(ind, j, Tok::Meta);
        return j;
    }
    let Some(sep) = spec.key_sep else {
        return 0;
    };
    if spec.targets && ind > 0 {
        return 0;
    }
    let mut k = ind;
    // YAML list items: `- key: value`.
    while sep == b':' && b[k..].starts_with(b"- ") {
        k += 2;
    }
    let mut j = k;
    while j < b.len()
        && b[j] != sep
        && !matches!(
            b[j],
            b'#' | b'"' | b'\'' | b'[' | b'{' | b'(' | b'$' | b'=' | b'<'
        )
    {
        j += 1;
    }
    if j < b.len() && b[j] == sep {
        let key = b[k..j].trim_ascii_end();
        let ok = if sep == b':' {
            matches!(b.get(j + 1), None | Some(b' ' | b'\t'))
        } else {
            !key.contains(&b' ')
        };
        if ok && !key.is_empty() {
            out.put(k, k + key.len(), Tok::Key);
            return k + key.len();
        }
    }
    ind
}

/// Skips spaces from `j`: is the next byte `c`?
fn next_is(b: &[u8], j: usize, c: u8) -> bool {
    b.get(j..)
        .and_then(|r| r.iter().find(|&&x| x != b' ' && x != b'\t'))
        == Some(&c)
}

/// The end of a number starting at `i`: digits, letters (hex, suffixes, units), `_`, a `.`
/// before a digit, a sign after an exponent.
fn number(b: &[u8], mut i: usize) -> usize {
    let hex = b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X'));
    i += 1;
    while i < b.len() {
        let c = b[i];
        let more = is_ident(c)
            || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
            || ((c == b'+' || c == b'-') && !hex && matches!(b[i - 1], b'e' | b'E'));
        if !more {
            break;
        }
        i += 1;
    }
    i
}

/// Rust's `'`: a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`). The end,
/// or `None` for a lone quote.
fn rust_quote(b: &[u8], i: usize) -> Option<usize> {
    let n = b.len();
    if b.get(i + 1) == Some(&b'\\') {
        let (end, closed) = scan_str(b, i + 1, b"'", true);
        return closed.then_some(end);
    }
    // One char (any UTF-8 length), then a quote: a char literal.
    let mut j = i + 1;
    if j < n {
        j += 1;
        while j < n && (b[j] & 0xC0) == 0x80 {
            j += 1;
        }
        if b.get(j) == Some(&b'\'') {
            return Some(j + 1);
        }
    }
    let mut j = i + 1;
    while j < n && is_ident(b[j]) {
        j += 1;
    }
    (j > i + 1).then_some(j)
}

/// `$var`, `${…}`, `@decorator`, `#color`, `:symbol`: the end and colour, if `b[i]` opens one.
fn sigil(spec: &Spec, b: &[u8], i: usize) -> Option<(usize, Tok)> {
    let c = b[i];
    let n = b.len();
    let ident_end = |from: usize| {
        let mut j = from;
        while j < n && (is_ident(b[j]) || spec.ident_extra.contains(&b[j])) {
            j += 1;
        }
        j
    };
    if c == b'$' && spec.dollar {
        return match b.get(i + 1) {
            Some(b'{') => Some((find(b, i + 2, b"}").map_or(n, |p| p + 1), Tok::Var)),
            Some(b'(') if spec.targets => {
                Some((find(b, i + 2, b")").map_or(n, |p| p + 1), Tok::Var))
            }
            Some(&d) if is_ident(d) => Some((ident_end(i + 1), Tok::Var)),
            Some(b'@' | b'#' | b'?' | b'*' | b'!' | b'$' | b'<' | b'^') => Some((i + 2, Tok::Var)),
            _ => None,
        };
    }
    if c == b'@' && spec.at != Tok::Plain {
        let j = ident_end(i + 1);
        return (j > i + 1).then_some((j, spec.at));
    }
    if c == b'#' && spec.hash_const {
        let j = ident_end(i + 1);
        return (j > i + 1).then_some((j, Tok::Const));
    }
    if c == b'#' && spec.rust && matches!(b.get(i + 1), Some(b'[' | b'!')) {
        return Some((find(b, i, b"]").map_or(n, |p| p + 1), Tok::Meta));
    }
    if c == b':' && spec.symbols && b.get(i + 1).is_some_and(|&d| is_ident_start(d)) {
        let prev_colon = i > 0 && b[i - 1] == b':';
        if !prev_colon {
            return Some((ident_end(i + 1), Tok::Const));
        }
    }
    None
}

/// HTML and XML: tags, attributes, their values, comments, entities.
fn markup(mut state: State, line: &str, out: &mut Runs) -> State {
    let b = line.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        match state {
            State::Comment(end) => match find(b, i, end.as_bytes()) {
                Some(p) => {
                    out.put(i, p + end.len(), Tok::Comment);
                    i = p + end.len();
                    state = State::Code;
                }
                None => {
                    out.put(i, n, Tok::Comment);
                    return state;
                }
            },
            State::AttrStr(q) => match b[i..].iter().position(|&c| c == q) {
                Some(p) => {
                    out.put(i, i + p + 1, Tok::Str);
                    i += p + 1;
                    state = State::Tag;
                }
                None => {
                    out.put(i, n, Tok::Str);
                    return state;
                }
            },
            State::Tag => {
                let c = b[i];
                if c == b'>' || (c == b'/' && b.get(i + 1) == Some(&b'>')) {
                    let end = if c == b'>' { i + 1 } else { i + 2 };
                    out.put(i, end, Tok::Tag);
                    i = end;
                    state = State::Code;
                } else if c == b'"' || c == b'\'' {
                    out.put(i, i + 1, Tok::Str);
                    i += 1;
                    state = State::AttrStr(c);
                } else if is_ident_start(c) {
                    let mut j = i + 1;
                    while j < n && (is_ident(b[j]) || matches!(b[j], b'-' | b':' | b'.')) {
                        j += 1;
                    }
                    out.put(i, j, Tok::Attr);
                    i = j;
                } else {
                    i += 1;
                }
            }
            State::Code | State::Str { .. } | State::Raw(_) => {
                let c = b[i];
                if b[i..].starts_with(b"<!--") {
                    out.put(i, i + 4, Tok::Comment);
                    i += 4;
                    state = State::Comment("-->");
                } else if c == b'<'
                    && b.get(i + 1).is_some_and(|&d| {
                        d.is_ascii_alphabetic() || matches!(d, b'/' | b'!' | b'?')
                    })
                {
                    let mut j = i + 1;
                    while j < n
                        && (is_ident(b[j])
                            || matches!(b[j], b'/' | b'!' | b'?' | b'-' | b':' | b'.'))
                    {
                        j += 1;
                    }
                    out.put(i, j, Tok::Tag);
                    i = j;
                    state = State::Tag;
                } else if c == b'&' {
                    let j = b[i..]
                        .iter()
                        .take(12)
                        .position(|&c| c == b';')
                        .map_or(i + 1, |p| i + p + 1);
                    if j > i + 1 {
                        out.put(i, j, Tok::Const);
                    }
                    i = j;
                } else {
                    i += 1;
                    while i < n && (b[i] & 0xC0) == 0x80 {
                        i += 1;
                    }
                }
            }
        }
    }
    state
}

/// Unified diffs: a line is coloured by its first bytes.
fn diff(line: &str, out: &mut Runs) {
    let b = line.as_bytes();
    let tok = if b.starts_with(b"+++")
        || b.starts_with(b"---")
        || b.starts_with(b"diff ")
        || b.starts_with(b"index ")
    {
        Tok::Header
    } else if b.starts_with(b"@@") {
        Tok::Hunk
    } else if b.starts_with(b"+") {
        Tok::Added
    } else if b.starts_with(b"-") {
        Tok::Removed
    } else {
        Tok::Plain
    };
    out.put(0, b.len(), tok);
}

#[cfg(test)]
mod tests;
