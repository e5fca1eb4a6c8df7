//! One line of markdown: what kind of block line it is, and its inline spans.
//!
//! A small subset of CommonMark/GFM chosen for what models write: ATX headings, rules, block
//! quotes, list items, fences, table rows and paragraphs, with code spans, emphasis, strong,
//! strikethrough and links inside. Everything is decided from the line alone (and the block
//! state the renderer carries), so a committed line is rendered once.

use super::style::{Emit, Fg, Style};

pub const HEADING: [Style; 3] = [
    Style {
        bold: true,
        underline: true,
        fg: Some(Fg::Idx(5)),
        ..Style::PLAIN
    },
    Style {
        bold: true,
        fg: Some(Fg::Idx(5)),
        ..Style::PLAIN
    },
    Style {
        bold: true,
        ..Style::PLAIN
    },
];
pub const CODE: Style = Style {
    fg: Some(Fg::Idx(6)),
    ..Style::PLAIN
};
pub const LINK: Style = Style {
    underline: true,
    fg: Some(Fg::Idx(4)),
    ..Style::PLAIN
};
pub const MARKER: Style = Style {
    dim: true,
    ..Style::PLAIN
};
pub const BULLET: Style = Style {
    bold: true,
    fg: Some(Fg::Idx(3)),
    ..Style::PLAIN
};

/// Leading spaces, if at most three (the indent CommonMark allows for block syntax).
fn indent3(line: &str) -> Option<usize> {
    let n = line.bytes().take_while(|&b| b == b' ').count();
    (n <= 3).then_some(n)
}

/// An opening code fence: ``` or ~~~ (or longer), at most three spaces in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceOpen<'a> {
    pub indent: usize,
    pub ch: u8,
    pub len: usize,
    pub info: &'a str,
}

impl FenceOpen<'_> {
    /// The language: the info string's first word.
    pub fn lang(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or("")
    }
}

pub fn fence_open(line: &str) -> Option<FenceOpen<'_>> {
    let indent = indent3(line)?;
    let rest = &line[indent..];
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // A backtick fence's info string may not hold a backtick (it would be a code span).
    if ch == b'`' && info.contains('`') {
        return None;
    }
    Some(FenceOpen {
        indent,
        ch,
        len,
        info,
    })
}

/// Whether `line` closes a fence opened with `len` × `ch`.
pub fn fence_close(line: &str, ch: u8, len: usize) -> bool {
    let Some(indent) = indent3(line) else {
        return false;
    };
    let rest = &line[indent..];
    let run = rest.bytes().take_while(|&b| b == ch).count();
    run >= len && rest[run..].bytes().all(|b| b == b' ' || b == b'\t')
}

/// A thematic break: three or more of one of `-`, `*`, `_`, spaces allowed between.
pub fn is_rule(line: &str) -> bool {
    let Some(indent) = indent3(line) else {
        return false;
    };
    let rest = line[indent..].trim_end();
    let Some(&c) = rest.as_bytes().first() else {
        return false;
    };
    if !matches!(c, b'-' | b'*' | b'_') {
        return false;
    }
    rest.bytes().all(|b| b == c || b == b' ' || b == b'\t')
        && rest.bytes().filter(|&b| b == c).count() >= 3
}

/// An ATX heading: level and text (closing `#`s removed).
pub fn heading(line: &str) -> Option<(usize, &str)> {
    let indent = indent3(line)?;
    let rest = &line[indent..];
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let text = &rest[level..];
    if !text.is_empty() && !text.starts_with([' ', '\t']) {
        return None;
    }
    let mut text = text.trim();
    // An optional closing sequence of #s, preceded by a space.
    let stripped = text.trim_end_matches('#');
    if stripped.is_empty() || stripped.ends_with([' ', '\t']) {
        text = stripped.trim_end();
    }
    Some((level, text))
}

/// A list item: its indent, its marker (`-`, `*`, `+`, `1.`, `1)`), the spaces after it, and
/// its text.
pub fn list_item(line: &str) -> Option<(&str, &str, &str, &str)> {
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    let rest = &line[indent..];
    let bytes = rest.as_bytes();
    let marker_len = match bytes.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || !matches!(bytes.get(digits), Some(b'.' | b')')) {
                return None;
            }
            digits + 1
        }
        _ => return None,
    };
    let after = &rest[marker_len..];
    let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
    if gap == 0 && !after.is_empty() {
        return None;
    }
    Some((
        &line[..indent],
        &rest[..marker_len],
        &after[..gap],
        &after[gap..],
    ))
}

/// A block quote line: the text after one `>` and its optional space.
pub fn quote(line: &str) -> Option<&str> {
    let indent = indent3(line)?;
    let rest = line[indent..].strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Whether the line could be a table row: it starts (after up to three spaces) with a pipe.
pub fn is_row(line: &str) -> bool {
    indent3(line).is_some_and(|i| line[i..].starts_with('|'))
}

/// How many cells `cells` finds, without collecting them.
pub fn cell_count(line: &str) -> usize {
    let mut n = 0;
    for_each_cell(line, |_| n += 1);
    n
}

/// The cells of a table row, trimmed; pipes inside code spans or escaped do not split.
pub fn cells(line: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    for_each_cell(line, |c| cells.push(c));
    cells
}

fn for_each_cell<'a>(line: &'a str, mut cell: impl FnMut(&'a str)) {
    let mut s = line.trim();
    s = s.strip_prefix('|').unwrap_or(s);
    if s.ends_with('|') && !s.ends_with("\\|") {
        s = &s[..s.len() - 1];
    }
    let b = s.as_bytes();
    let (mut start, mut i, mut code) = (0, 0, 0usize);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'`' => {
                let n = b[i..].iter().take_while(|&&c| c == b'`').count();
                code = if code == 0 {
                    n
                } else if code == n {
                    0
                } else {
                    code
                };
                i += n - 1;
            }
            b'|' if code == 0 => {
                cell(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    cell(s[start..].trim());
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    None,
    Left,
    Center,
    Right,
}

/// The alignments of a delimiter row (`|---|:--:|`), or `None` if it is not one.
pub fn delimiter_row(line: &str) -> Option<Vec<Align>> {
    if !line.contains('-') {
        return None;
    }
    cells(line)
        .iter()
        .map(|c| {
            let left = c.starts_with(':');
            let right = c.ends_with(':') && c.len() > 1;
            let dashes = c.trim_start_matches(':').trim_end_matches(':');
            if dashes.is_empty() || !dashes.bytes().all(|b| b == b'-') {
                return None;
            }
            Some(match (left, right) {
                (true, true) => Align::Center,
                (true, false) => Align::Left,
                (false, true) => Align::Right,
                (false, false) => Align::None,
            })
        })
        .collect()
}

/// The bytes that can start inline markup; everything else is literal text.
const INLINE_START: [bool; 256] = {
    let mut t = [false; 256];
    let starts = b"\\`*_~[<";
    let mut k = 0;
    while k < starts.len() {
        t[starts[k] as usize] = true;
        k += 1;
    }
    t
};

/// Inline markdown of `src`, written in `style` (and the span styles on top of it).
pub fn inline(src: &str, style: Style, e: &mut Emit) {
    inline_with::<true>(src, style, e);
}

/// `SKIP`: literal text is passed over with one table load a byte (the slow path, every byte
/// through the match, is kept for the test that compares the two).
fn inline_with<const SKIP: bool>(src: &str, style: Style, e: &mut Emit) {
    let b = src.as_bytes();
    let (mut i, mut lit) = (0, 0);
    while i < b.len() {
        if SKIP && !INLINE_START[usize::from(b[i])] {
            i += 1;
            continue;
        }
        match b[i] {
            b'\\' if b.get(i + 1).is_some_and(u8::is_ascii_punctuation) => {
                e.text(&src[lit..i], style);
                lit = i + 1;
                i += 2;
            }
            b'`' => {
                let n = run(b, i, b'`');
                match find_run(b, i + n, b'`', n) {
                    Some(close) => {
                        e.text(&src[lit..i], style);
                        let mut code = &src[i + n..close];
                        if code.len() >= 2
                            && code.starts_with(' ')
                            && code.ends_with(' ')
                            && !code.bytes().all(|c| c == b' ')
                        {
                            code = &code[1..code.len() - 1];
                        }
                        e.text(code, style.with(CODE));
                        i = close + n;
                        lit = i;
                    }
                    None => i += n,
                }
            }
            c @ (b'*' | b'_' | b'~') => match delimited(b, i, c) {
                Some((inner, end, span)) => {
                    e.text(&src[lit..i], style);
                    inline_with::<SKIP>(&src[inner.0..inner.1], style.with(span), e);
                    i = end;
                    lit = i;
                }
                None => i += run(b, i, c),
            },
            b'[' => match link(src, i) {
                Some((text, url, end)) => {
                    e.text(&src[lit..i], style);
                    inline_with::<SKIP>(text, style.with(LINK), e);
                    if !url.is_empty() && url != text {
                        e.text(" (", style.with(MARKER));
                        e.text(url, style.with(MARKER));
                        e.text(")", style.with(MARKER));
                    }
                    i = end;
                    lit = i;
                }
                None => i += 1,
            },
            b'<' => match autolink(src, i) {
                Some((url, end)) => {
                    e.text(&src[lit..i], style);
                    e.text(url, style.with(LINK));
                    i = end;
                    lit = i;
                }
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    e.text(&src[lit..], style);
}

fn run(b: &[u8], i: usize, c: u8) -> usize {
    b[i..].iter().take_while(|&&x| x == c).count()
}

/// The start of the next run of exactly `n` × `c` at or after `from`.
fn find_run(b: &[u8], from: usize, c: u8, n: usize) -> Option<usize> {
    let mut j = from;
    while j < b.len() {
        if b[j] == c {
            let r = run(b, j, c);
            if r == n {
                return Some(j);
            }
            j += r;
        } else {
            j += 1;
        }
    }
    None
}

fn is_space(b: Option<&u8>) -> bool {
    b.is_none_or(|c| c.is_ascii_whitespace())
}

fn is_alnum(b: Option<&u8>) -> bool {
    b.is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80)
}

/// An emphasis, strong or strikethrough span opening at `i`: (inner range, end, style).
fn delimited(b: &[u8], i: usize, c: u8) -> Option<((usize, usize), usize, Style)> {
    let r = run(b, i, c);
    let n = match (c, r) {
        (b'~', 2) => 2,
        (b'~', _) => return None,
        (_, 1) => 1,
        _ => 2,
    };
    // Opening: not followed by a space; `_` not inside a word.
    if is_space(b.get(i + n)) || (c == b'_' && i > 0 && is_alnum(b.get(i - 1))) {
        return None;
    }
    let mut j = i + n;
    while j < b.len() {
        if b[j] == b'`' {
            // A code span inside is skipped whole.
            let m = run(b, j, b'`');
            j = find_run(b, j + m, b'`', m).map_or(j + m, |k| k + m);
            continue;
        }
        if b[j] != c {
            j += 1;
            continue;
        }
        let rr = run(b, j, c);
        let fits = if n == 1 { rr == 1 } else { rr >= 2 };
        // For a longer run, the closer is its last `n` (the rest belongs inside).
        let close = if n == 2 && rr > 2 { j + rr - 2 } else { j };
        let closes = fits
            && close > i + n
            && !is_space(b.get(close - 1))
            && !(c == b'_' && is_alnum(b.get(close + n)));
        if closes {
            let span = match (c, n) {
                (b'~', _) => Style::PLAIN.strike(),
                (_, 1) => Style::PLAIN.italic(),
                _ => Style::PLAIN.bold(),
            };
            return Some(((i + n, close), close + n, span));
        }
        j += rr;
    }
    None
}

/// `[text](url)` at `i`: text, url (title dropped) and the end.
fn link(src: &str, i: usize) -> Option<(&str, &str, usize)> {
    let b = src.as_bytes();
    let mut depth = 0;
    let mut j = i;
    let close = loop {
        match b.get(j)? {
            b'\\' => j += 1,
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    break j;
                }
            }
            _ => {}
        }
        j += 1;
    };
    if b.get(close + 1) != Some(&b'(') {
        return None;
    }
    let mut depth = 0;
    let mut k = close + 1;
    let end = loop {
        match b.get(k)? {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    break k;
                }
            }
            _ => {}
        }
        k += 1;
    };
    let target = src[close + 2..end].trim();
    let url = match target.find([' ', '\t']) {
        Some(sp) => &target[..sp],
        None => target,
    };
    let url = url
        .strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .unwrap_or(url);
    Some((&src[i + 1..close], url, end + 1))
}

/// `<scheme://…>` at `i`: the URL and the end.
fn autolink(src: &str, i: usize) -> Option<(&str, usize)> {
    let rest = &src[i + 1..];
    let end = rest.find('>')?;
    let url = &rest[..end];
    let scheme = url.find(':')?;
    let ok = scheme >= 2
        && url[..scheme]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'.' || b == b'-')
        && !url.contains([' ', '<']);
    ok.then_some((url, i + 1 + end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str) -> String {
        let mut out = Vec::new();
        let mut e = Emit::new(&mut out, false);
        inline(src, Style::PLAIN, &mut e);
        e.end();
        String::from_utf8(out).expect("utf8")
    }

    /// The text without escapes.
    fn text(src: &str) -> String {
        let s = render(src);
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\x1b' {
                for d in it.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn markers_are_removed_where_rendered() {
        assert_eq!(text("a **b** c"), "a b c");
        assert_eq!(text("a *b* _c_ ~~d~~"), "a b c d");
        assert_eq!(text("`x*y*` and ``a`b``"), "x*y* and a`b");
        assert_eq!(text("***both***"), "both");
        assert_eq!(text("*a **b** c*"), "a b c");
        assert_eq!(text("[site](https://x.org \"t\")"), "site (https://x.org)");
        assert_eq!(text("[https://x.org](https://x.org)"), "https://x.org");
        assert_eq!(text("<https://x.org>"), "https://x.org");
        assert_eq!(text(r"\*not\*"), "*not*");
    }

    /// Skipping literal text by table gives what the match on every byte gives, on generated
    /// lines of markup characters, words, spaces and wide and odd characters.
    #[test]
    fn skipping_literal_text_changes_nothing() {
        let atoms = [
            "*",
            "**",
            "_",
            "__",
            "~~",
            "~",
            "`",
            "``",
            "[",
            "]",
            "(",
            ")",
            "<",
            ">",
            "\\",
            "\\*",
            "a",
            "word",
            " ",
            "  ",
            "\t",
            "x_y",
            "https://x.org",
            ":",
            "é",
            "中文",
            "😀",
            "\u{1b}",
            "\u{9b}",
            "!",
            "#",
            "|",
        ];
        let mut rng = crate::testing::Xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut next = |n: usize| rng.below(n);
        for _ in 0..5000 {
            let src: String = (0..next(16)).map(|_| atoms[next(atoms.len())]).collect();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            let mut e = Emit::new(&mut fast, false);
            inline_with::<true>(&src, Style::PLAIN, &mut e);
            let fast_col = e.col;
            e.end();
            let mut e = Emit::new(&mut slow, false);
            inline_with::<false>(&src, Style::PLAIN, &mut e);
            let slow_col = e.col;
            e.end();
            assert_eq!(fast, slow, "{src:?}");
            assert_eq!(fast_col, slow_col, "{src:?}");
        }
    }

    #[test]
    fn what_is_not_markup_stays() {
        for s in [
            "snake_case_name",
            "2 * 3 * 4",
            "a ** b",
            "**unclosed",
            "`unclosed",
            "[text] (x)",
            "x < y > z",
            "~single~",
        ] {
            assert_eq!(text(s), s);
        }
    }

    #[test]
    fn styles() {
        assert_eq!(render("**b**"), "\x1b[0;1mb\x1b[0m");
        assert_eq!(render("*i*"), "\x1b[0;3mi\x1b[0m");
        assert_eq!(render("~~s~~"), "\x1b[0;9ms\x1b[0m");
        assert_eq!(render("`c`"), "\x1b[0;38;5;6mc\x1b[0m");
        assert_eq!(render("**a *b***"), "\x1b[0;1ma \x1b[0;1;3mb\x1b[0m");
    }

    #[test]
    fn blocks() {
        assert_eq!(heading("## Title ##"), Some((2, "Title")));
        assert_eq!(heading("#nospace"), None);
        assert_eq!(heading("    # code"), None);
        assert!(is_rule("---") && is_rule(" * * *") && !is_rule("--") && !is_rule("-- x"));
        assert_eq!(list_item("  - item"), Some(("  ", "-", " ", "item")));
        assert_eq!(list_item("12. x"), Some(("", "12.", " ", "x")));
        assert_eq!(list_item("-x"), None);
        assert_eq!(quote("> q"), Some("q"));
        let f = fence_open("  ~~~~ python  extra").expect("fence");
        assert_eq!((f.indent, f.ch, f.len, f.lang()), (2, b'~', 4, "python"));
        assert!(fence_open("    ```").is_none() && fence_open("``` a`b").is_none());
        assert!(fence_close("~~~~~", b'~', 4) && !fence_close("~~~", b'~', 4));
        assert!(!fence_close("```x", b'`', 3));
        assert_eq!(cells("| a | `b|c` | d\\|e |"), vec!["a", "`b|c`", "d\\|e"]);
        for row in ["| a | `b|c` | d\\|e |", "|", "", "a|b", "| x |  |", "|`|`|"] {
            assert_eq!(cell_count(row), cells(row).len(), "{row:?}");
        }
        assert_eq!(
            delimiter_row("|:--|:-:|--:|---|"),
            Some(vec![Align::Left, Align::Center, Align::Right, Align::None])
        );
        assert_eq!(delimiter_row("| a | - |"), None);
    }
}
