//! Screen tests: the rendered bytes fed to a terminal emulator (vt100), with the terminal's
//! ONLCR applied (`\n` arrives as `\r\n`), asserting text and attributes.

use super::*;

const TALL: u16 = 120;

fn renderer(width: usize, base: Style) -> Renderer {
    Renderer::new(Options {
        width: Width::Fixed(width),
        base,
        truecolor: true,
    })
}

/// Render `pieces` one write at a time; the bytes of each write.
fn writes(pieces: &[&str], width: usize, base: Style) -> Vec<Vec<u8>> {
    let mut r = renderer(width, base);
    let mut out = Vec::new();
    for p in pieces {
        let mut buf = Vec::new();
        r.push(p, &mut buf);
        out.push(buf);
    }
    let mut buf = Vec::new();
    r.finish(&mut buf);
    out.push(buf);
    out
}

fn onlcr(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 16);
    for &b in bytes {
        if b == b'\n' {
            v.push(b'\r');
        }
        v.push(b);
    }
    v
}

fn parser(cols: usize) -> vt100::Parser {
    let nz = |n: usize| std::num::NonZeroU16::new(n as u16).expect("non-zero");
    vt100::Parser::new(nz(TALL as usize), nz(cols), 0)
}

fn screen_of(pieces: &[&str], cols: usize) -> vt100::Parser {
    let mut p = parser(cols);
    for w in writes(pieces, cols, Style::PLAIN) {
        p.process(&onlcr(&w));
    }
    p
}

fn screen(text: &str, cols: usize) -> vt100::Parser {
    screen_of(&[text], cols)
}

fn rows(p: &vt100::Parser) -> Vec<String> {
    let (_, cols) = p.screen().size();
    let mut v: Vec<String> = p.screen().rows(0, cols.get()).collect();
    while v.last().is_some_and(|r| r.is_empty()) {
        v.pop();
    }
    v
}

fn cell(p: &vt100::Parser, row: u16, col: u16) -> vt100::Cell {
    p.screen().cell(row, col).expect("cell").clone()
}

/// The first cell of `row` whose text starts `needle`.
fn find(p: &vt100::Parser, row: u16, needle: &str) -> vt100::Cell {
    let (_, cols) = p.screen().size();
    let line: String = p
        .screen()
        .rows(0, cols.get())
        .nth(usize::from(row))
        .expect("row");
    let byte = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {line:?}"));
    let col = style::width(&line[..byte]) as u16;
    cell(p, row, col)
}

fn is_rgb(c: &vt100::Cell) -> bool {
    matches!(c.fgcolor(), vt100::Color::Rgb(..))
}

#[test]
fn headings_lists_quotes_rules_at_80_and_40() {
    let text = "# Title\n## Sub *it*\n### Third\n\n- one\n  - two\n    - three\n3. num\n> quoted **b**\n---\n";
    for cols in [80, 40] {
        let p = screen(text, cols);
        let r = rows(&p);
        let rule: String = "─".repeat(cols.min(80));
        assert_eq!(
            r,
            vec![
                "Title",
                "Sub it",
                "Third",
                "",
                "• one",
                "  ◦ two",
                "    ▪ three",
                "3. num",
                "│ quoted b",
                &rule
            ]
        );
        let h1 = cell(&p, 0, 0);
        assert!(h1.bold() && h1.underline() && h1.fgcolor() == vt100::Color::Idx(5));
        let h2 = cell(&p, 1, 0);
        assert!(h2.bold() && !h2.underline());
        assert!(find(&p, 1, "it").italic() && find(&p, 1, "it").bold());
        assert!(cell(&p, 2, 0).bold());
        assert!(cell(&p, 4, 0).bold() && !cell(&p, 4, 2).bold());
        assert!(cell(&p, 7, 0).bold());
        assert!(cell(&p, 8, 0).dim() && find(&p, 8, "quoted").italic());
        assert!(find(&p, 8, "b").bold());
        assert!(cell(&p, 9, 0).dim());
    }
}

#[test]
fn inline_spans_and_links() {
    let text = "a **strong** *em* `co*de*` ~~gone~~ [site](https://x.org) <https://y.org>\n";
    let p = screen(text, 80);
    assert_eq!(
        rows(&p),
        vec!["a strong em co*de* gone site (https://x.org) https://y.org"]
    );
    assert!(find(&p, 0, "strong").bold());
    assert!(find(&p, 0, "em").italic());
    assert_eq!(find(&p, 0, "co*de*").fgcolor(), vt100::Color::Idx(6));
    assert!(find(&p, 0, "site").underline());
    assert!(find(&p, 0, "(https").dim());
    assert!(find(&p, 0, "https://y").underline());
    assert!(!find(&p, 0, "a ").bold());
    // vt100 keeps no strikethrough attribute: the bytes carry it.
    let bytes = writes(&[text], 80, Style::PLAIN).concat();
    assert!(String::from_utf8_lossy(&bytes).contains("\x1b[0;9mgone"));
}

#[test]
fn code_is_highlighted_line_by_line_before_the_fence_closes() {
    for (open, close) in [
        ("```python", "```"),
        ("~~~py", "~~~"),
        ("  ````python", "````"),
    ] {
        let mut r = renderer(80, Style::PLAIN);
        let mut p = parser(80);
        let mut feed = |s: &str, p: &mut vt100::Parser| {
            let mut out = Vec::new();
            r.push(s, &mut out);
            p.process(&onlcr(&out));
        };
        feed(&format!("{open}\n"), &mut p);
        assert_eq!(rows(&p), vec![open.to_string()]);
        assert!(cell(&p, 0, open.len() as u16 - 1).dim());
        feed("def f(x):\n", &mut p);
        // Highlighted as soon as the line completes, with no closing fence yet.
        assert!(is_rgb(&find(&p, 1, "def")), "{open}");
        feed("    return \"\"\"a\n", &mut p);
        feed("b = 1\n", &mut p);
        // The string's state was carried: `b = 1` is inside it, one colour.
        let (b, eq) = (find(&p, 3, "b"), find(&p, 3, "="));
        assert_eq!(b.fgcolor(), eq.fgcolor());
        feed("\"\"\"\n", &mut p);
        feed(&format!("{close}\nafter\n"), &mut p);
        assert_eq!(
            rows(&p),
            vec![
                open.to_string(),
                "def f(x):".into(),
                "    return \"\"\"a".into(),
                "b = 1".into(),
                "\"\"\"".into(),
                close.to_string(),
                "after".into()
            ]
        );
        // A closing fence shorter than the opening one, or of the other kind, is code.
        assert!(!is_rgb(&find(&p, 6, "after")));
    }
    // Unknown language: shown, unhighlighted; no padding, no numbers.
    let p = screen("```klingon\nqapla'  \t x\n```\n", 80);
    assert_eq!(rows(&p), vec!["```klingon", "qapla'           x", "```"]);
    assert_eq!(find(&p, 1, "qapla").fgcolor(), vt100::Color::Default);
    // Four spaces in is not a fence (an indented line), and ``` inside code does not close ~~~.
    let p = screen("~~~\n```\nx\n~~~\n# H\n", 80);
    assert!(cell(&p, 4, 0).bold());
}

#[test]
fn tables_are_held_then_aligned() {
    let text = "| name | n |\n|:--|--:|\n| alice | 10 |\n| **bob** | 7 |\n\nafter\n";
    let p = screen(text, 80);
    assert_eq!(
        rows(&p),
        vec![
            "| name  |  n |",
            "|:------|---:|",
            "| alice | 10 |",
            "| bob   |  7 |",
            "",
            "after"
        ]
    );
    assert!(find(&p, 0, "name").bold());
    assert!(cell(&p, 0, 0).dim());
    assert!(find(&p, 3, "bob").bold());
    // Held: after the rows but before the table ends, nothing of it is on screen.
    let mut r = renderer(80, Style::PLAIN);
    let mut out = Vec::new();
    r.push("| a | b |\n|---|---|\n| 1 | 2 |\n| 3", &mut out);
    assert_eq!(out, b"| a | b |\r\x1b[K");
    // A pipe line that does not head a table is printed as a paragraph line.
    let p = screen("| not | a table\nnext **x**\n", 80);
    assert_eq!(rows(&p), vec!["| not | a table", "next x"]);
    // Wider than the terminal: rows unpadded, each on its own.
    let wide =
        "| aaaaaaaaaaaaaaaaaaaaaaa | bbbbbbbbbbbbbbbbbbbbbbbbbbbbb |\n|---|---|\n| 1 | 2 |\n";
    let p = screen(wide, 40);
    let r = rows(&p);
    assert_eq!(r[r.len() - 1], "| 1 | 2 |");
}

#[test]
fn tables_past_the_bound_are_printed_and_go_on_row_by_row() {
    let mut text = String::from("| k | v |\n|---|---|\n");
    for i in 0..table::MAX_ROWS + 5 {
        text.push_str(&format!("| {i} | x |\n"));
    }
    // Fed in one write per line: past the bound rows appear before the table ends.
    let lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let ws = writes(&refs, 80, Style::PLAIN);
    let printed_at = ws.iter().position(|w| !w.is_empty()).expect("printed");
    assert!(printed_at < refs.len() - 1);
    let p = screen(&text, 80);
    let r = rows(&p);
    assert_eq!(r.len(), table::MAX_ROWS + 7);
    // The widths of the held rows are kept: a wider cell later overflows its column.
    assert_eq!(r[2], "| 0  | x |");
    assert_eq!(r[r.len() - 1], "| 104 | x |");
}

#[test]
fn a_line_longer_than_the_screen_is_left_as_it_streamed() {
    let long = format!("**{}** end", "word ".repeat(10));
    let p = screen(&format!("{long}\nshort **b**\n"), 40);
    let r = rows(&p);
    // Markers stay: the line was not replaced, the terminal wrapped it.
    assert_eq!(r[0].clone() + &r[1], long);
    assert!(!cell(&p, 0, 2).bold());
    assert_eq!(r[2], "short b");
    assert!(find(&p, 2, "b").bold());
    // Exactly the width still fits and is rendered.
    let exact = format!("**{}**", "x".repeat(36));
    let p = screen(&format!("{exact}\n"), 40);
    assert_eq!(rows(&p), vec!["x".repeat(36)]);
}

#[test]
fn wide_characters_and_tabs() {
    // 19 CJK characters (38 columns) plus markers fit in 40 after rendering but not before.
    let cjk = "中".repeat(19);
    let p = screen(&format!("# {cjk}\n**{cjk}**\n表情 😀 *ok*\n"), 40);
    let r = rows(&p);
    assert_eq!(r[0], cjk);
    assert!(cell(&p, 0, 0).bold());
    // 42 columns: wrapped, left as streamed.
    assert_eq!(r[1].clone() + &r[2], format!("**{cjk}**"));
    assert_eq!(r[3], "表情 😀 ok");
    assert!(find(&p, 3, "ok").italic());
    // A tab keeps its stops and the line is still rendered.
    let p = screen("a\t**b**\n", 40);
    assert_eq!(rows(&p), vec!["a       b"]);
    assert!(cell(&p, 0, 8).bold());
}

const SAMPLE: &str = "# Hi *there*\n\nSome **bold** and `code`, 中文 and 😀.\n\n- a\n  1. b\n> q\n\n| x | y |\n|---|:-:|\n| 1 | 22 |\n\n```rust\nfn main() {\n\tlet s = \"a\";\n}\n```\n---\ntail **t**";

fn split_chars(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

#[test]
fn the_final_screen_does_not_depend_on_how_the_text_was_split() {
    for cols in [80, 40] {
        let whole = screen(SAMPLE, cols).screen().contents_formatted();
        for n in [7, 1] {
            let pieces = split_chars(SAMPLE, n);
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let got = screen_of(&refs, cols).screen().contents_formatted();
            assert_eq!(got, whole, "{n}-char writes at {cols} columns");
        }
        // Every split point (into two writes, and into three around it).
        let idx: Vec<usize> = SAMPLE.char_indices().map(|(i, _)| i).collect();
        for &i in &idx {
            let got = screen_of(&[&SAMPLE[..i], &SAMPLE[i..]], cols)
                .screen()
                .contents_formatted();
            assert_eq!(got, whole, "split at {i} at {cols} columns");
        }
    }
}

/// CSI sequences in `bytes` other than SGR (`m`) and erase-line (`K`), and any other escape.
fn foreign_controls(bytes: &[u8]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            if bytes.get(i + 1) != Some(&b'[') {
                bad.push(format!("ESC at {i}"));
                i += 1;
                continue;
            }
            let mut j = i + 2;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b';') {
                j += 1;
            }
            match bytes.get(j) {
                Some(b'm') | Some(b'K') => {}
                other => bad.push(format!("CSI …{:?} at {i}", other.map(|&c| c as char))),
            }
            i = j + 1;
            continue;
        }
        if (b < 0x20 && !matches!(b, b'\n' | b'\t' | b'\r')) || b == 0x7f {
            bad.push(format!("control {b:#x} at {i}"));
        }
        i += 1;
    }
    if String::from_utf8_lossy(bytes)
        .chars()
        .any(|c| ('\u{80}'..='\u{9f}').contains(&c))
    {
        bad.push("C1 control".into());
    }
    bad
}

#[test]
fn nothing_once_committed_is_rewritten() {
    for cols in [80, 40] {
        for n in [1, 3, 7] {
            let mut p = parser(cols);
            let pieces = split_chars(SAMPLE, n);
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            let mut committed: Vec<String> = Vec::new();
            let mut last_row = 0;
            for w in writes(&refs, cols, Style::PLAIN) {
                assert!(
                    foreign_controls(&w).is_empty(),
                    "{:?}",
                    foreign_controls(&w)
                );
                p.process(&onlcr(&w));
                let (row, _) = p.screen().cursor_position();
                assert!(row >= last_row, "the cursor moved up");
                let now: Vec<String> = p
                    .screen()
                    .rows_formatted(0, cols as u16)
                    .map(|r| r.to_string())
                    .collect();
                // Every row above the cursor's row at the previous write is unchanged.
                for (i, old) in committed.iter().enumerate().take(usize::from(last_row)) {
                    assert_eq!(&now[i], old, "row {i} rewritten");
                }
                committed = now;
                last_row = row;
            }
        }
    }
}

#[test]
fn escapes_from_the_model_never_reach_the_terminal() {
    let evil = "# t\x1b]52;c;ZXZpbA==\x07\nx \x1b[2J **y**\x07 [l](http://a\x1b]8;;http://evil\x1b\\)\n\
                | a\x1b[2J | b |\n|---|---|\n| \u{9b}2J | \x07 |\n\n```sh\necho \x1b]8;;http://e\x1b\\hi\n```\n\x1b[2J tail";
    for n in [1, 5, 1000] {
        let pieces = split_chars(evil, n);
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let bytes = writes(&refs, 80, Style::PLAIN).concat();
        assert_eq!(foreign_controls(&bytes), Vec::<String>::new(), "{n}");
        let mut p = parser(80);
        p.process(&onlcr(&bytes));
        let shown = p.screen().contents();
        assert!(shown.contains("t^[]52;c;ZXZpbA==^G"), "{shown}");
        assert!(shown.contains("^[[2J"), "{shown}");
        assert!(shown.contains("^[]8;;http://e^[\\hi"), "{shown}");
    }
}

#[test]
fn reasoning_is_dim_throughout() {
    let text = "## Plan\n- **a**\n```py\nx = 1\n```\nraw tail";
    let mut p = parser(80);
    for w in writes(&[text], 80, Style::PLAIN.dim()) {
        p.process(&onlcr(&w));
    }
    let r = rows(&p);
    assert_eq!(r, vec!["Plan", "• a", "```py", "x = 1", "```", "raw tail"]);
    for (row, line) in r.iter().enumerate() {
        for col in 0..style::width(line) as u16 {
            let c = cell(&p, row as u16, col);
            if c.has_contents() && c.contents() != " " {
                assert!(c.dim(), "row {row} col {col}");
            }
        }
    }
    // The live tail is dim too, before its line completes.
    let mut r = renderer(80, Style::PLAIN.dim());
    let mut out = Vec::new();
    r.push("partial", &mut out);
    let mut p = parser(80);
    p.process(&out);
    assert!(cell(&p, 0, 0).dim());
}

#[test]
fn an_interrupted_block_leaves_the_terminal_normal() {
    let mut r = renderer(80, Style::PLAIN);
    let mut out = Vec::new();
    r.push("```python\nx = \"open string\nmore **bold", &mut out);
    r.abort(&mut out);
    let mut p = parser(80);
    p.process(&onlcr(&out));
    assert!(out.ends_with(b"\x1b[0m\x1b[?25h"));
    let s = p.screen();
    assert!(!s.hide_cursor());
    assert!(!s.bold() && !s.dim() && !s.italic() && !s.underline());
    assert_eq!(s.fgcolor(), vt100::Color::Default);
    // A held table is printed, not lost.
    let mut r = renderer(80, Style::PLAIN);
    let mut out = Vec::new();
    r.push("| a | b |\n|---|---|\n| 1 |", &mut out);
    r.abort(&mut out);
    let mut p = parser(80);
    p.process(&onlcr(&out));
    assert_eq!(rows(&p)[0], "| a | b |");
}

#[test]
fn plain_prose_costs_no_rewrite() {
    // A line without markup is not erased and rewritten: the bytes are the source's.
    let bytes = writes(&["just words, nothing else\nand more\n"], 80, Style::PLAIN).concat();
    assert_eq!(bytes, b"just words, nothing else\nand more\n");
}

#[test]
fn choose_follows_the_flags_and_the_surroundings() {
    use crate::cli::Render as Mode;
    let cli = |args: &[&str]| {
        let mut all = vec!["qstream", "--replay", "x"];
        all.extend_from_slice(args);
        crate::cli::try_parse_from(all).expect("parse")
    };
    use crate::config::testing::NoEnv;
    let config = |args: &[&str]| {
        Config::from_cli(&cli(args), &NoEnv, crate::config::Stdin::default()).expect("config")
    };
    let none = |_: &str| None;
    let c = config(&[]);
    assert_eq!(c.render, Mode::Auto);
    let tty = (true, true);
    let r = choose_for(&c, &none, tty, tty);
    assert!(r.out.is_some() && r.err.is_some() && r.extract.is_none());
    let r = choose_for(&c, &none, (false, false), (false, false));
    assert!(r.out.is_none() && r.err.is_none());
    // A terminal where the colour rules (NO_COLOR, CLICOLOR=0, TERM=dumb) say no.
    let r = choose_for(&c, &none, (true, false), (true, false));
    assert!(r.out.is_none() && r.err.is_none());
    assert!(choose_for(&config(&["--color", "never"]), &none, tty, tty)
        .out
        .is_none());
    assert!(choose_for(&config(&["--render", "plain"]), &none, tty, tty)
        .out
        .is_none());
    let r = choose_for(
        &config(&["--render", "markdown"]),
        &none,
        (false, false),
        (false, false),
    );
    assert!(r.out.is_some());
    let r = choose_for(&config(&["-x"]), &none, tty, tty);
    assert!(r.out.is_none() && r.extract.is_some());
    assert!(crate::cli::try_parse_from(["qstream", "-x", "--json", "p"]).is_err());
}

#[test]
fn a_terminal_width_is_reused_for_ten_ms_then_asked_again() {
    let mut c = WidthCache::default();
    let asked = std::cell::Cell::new(0);
    let ask = |w: usize| {
        asked.set(asked.get() + 1);
        w
    };
    assert_eq!(c.get(1000, || ask(80)), 80);
    // Within the time to live: the known width, the terminal not asked.
    assert_eq!(c.get(1000 + WIDTH_TTL_MS - 1, || ask(40)), 80);
    assert_eq!(asked.get(), 1);
    // Past it: asked again, and the new width kept.
    assert_eq!(c.get(1000 + WIDTH_TTL_MS, || ask(40)), 40);
    assert_eq!(c.get(1000 + WIDTH_TTL_MS + 1, || ask(99)), 40);
    assert_eq!(asked.get(), 2);
    // A stamp from the future (a clock that went back) never pins a width.
    assert_eq!(c.get(5, || ask(60)), 60);
    assert_eq!(asked.get(), 3);
}

/// The live tail's one-scan path (printable ASCII: written as is, a column a byte) and its slow
/// path (tabs, wide and odd characters, controls) agree: generated lines, each split at every
/// point (so a piece takes one path or the other), give the screen the whole text gives, at a
/// width where some lines fit and others wrap.
#[test]
fn the_tail_fast_and_slow_paths_agree_at_every_split() {
    let atoms = [
        "a",
        "word ",
        "**b** ",
        "`c` ",
        "中文",
        "😀",
        "\t",
        "\u{1b}[2J",
        "\u{7}",
        "é ",
        "- ",
        "# ",
        "| x ",
        "12345678 ",
    ];
    let mut rng = crate::testing::Xorshift(0x0123_4567_89ab_cdefu64);
    let mut next = |n: usize| rng.below(n);
    for _ in 0..40 {
        let line: String = (0..1 + next(8)).map(|_| atoms[next(atoms.len())]).collect();
        let text = format!("{line}\nafter\n");
        for cols in [80, 16] {
            let whole = screen(&text, cols).screen().contents_formatted();
            for (i, _) in text.char_indices() {
                let got = screen_of(&[&text[..i], &text[i..]], cols)
                    .screen()
                    .contents_formatted();
                assert_eq!(got, whole, "{text:?} split at {i}, {cols} columns");
            }
        }
    }
}
