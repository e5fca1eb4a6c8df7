//! Issue 12: markdown rendered on a real pseudo-terminal (`--replay` of constructed SSE
//! fixtures and a loopback server), fed to a terminal emulator; pipes keep the bytes; `-x`.
#![cfg(unix)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::pty::{run_in_pty, spawn_in_pty, PtyOptions};
use common::{qstream, run, temp_dir, Reply, Server};

/// A compatible-protocol stream carrying `text` as content deltas of `n` characters.
fn sse(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut body = String::new();
    for piece in chars.chunks(n) {
        let piece: String = piece.iter().collect();
        let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": piece}}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    );
    body.push_str("data: [DONE]\n\n");
    body
}

fn replay_file(tag: &str, body: &str) -> PathBuf {
    let path = temp_dir(tag).join("answer.sse");
    std::fs::write(&path, body).expect("write the fixture");
    path
}

/// The binary as a user's terminal would run it: colour allowed, a known TERM.
fn term_cmd() -> Command {
    let mut cmd = qstream();
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLORTERM")
        .env_remove("COLUMNS")
        .env("TERM", "xterm-256color");
    cmd
}

fn screen(bytes: &[u8], cols: u16) -> vt100::Parser {
    let mut p = vt100::Parser::new(
        std::num::NonZeroU16::new(100).expect("rows"),
        std::num::NonZeroU16::new(cols).expect("cols"),
        0,
    );
    p.process(bytes);
    p
}

fn rows(p: &vt100::Parser) -> Vec<String> {
    let (_, cols) = p.screen().size();
    let mut v: Vec<String> = p.screen().rows(0, cols.get()).collect();
    while v.last().is_some_and(|r| r.is_empty()) {
        v.pop();
    }
    v
}

fn find(p: &vt100::Parser, needle: &str) -> (u16, vt100::Cell) {
    for (i, line) in rows(p).iter().enumerate() {
        if let Some(byte) = line.find(needle) {
            let col = unicode_width::UnicodeWidthStr::width(&line[..byte]) as u16;
            let cell = p.screen().cell(i as u16, col).expect("cell").clone();
            return (i as u16, cell);
        }
    }
    panic!("{needle:?} not on screen: {:#?}", rows(p));
}

pub const ANSWER: &str = concat!(
    "# Sorting\n",
    "\n",
    "Use **sorted**:\n",
    "\n",
    "- by key\n",
    "  - nested `key=`\n",
    "\n",
    "| name | score |\n",
    "|:-----|------:|\n",
    "| alice | 10 |\n",
    "| bob | 7 |\n",
    "\n",
    "```python\n",
    "def by_score(row):\n",
    "    return row[\"score\"]  # a comment\n",
    "```\n",
    "Done.\n",
);

#[test]
fn on_a_pty_the_answer_is_rendered_at_80_and_40_columns() {
    let path = replay_file("render-pty", &sse(ANSWER, 3));
    for cols in [80u16, 40] {
        let run = run_in_pty(
            term_cmd().arg("--replay").arg(&path),
            PtyOptions {
                cols,
                ..PtyOptions::default()
            },
        );
        assert_eq!(run.status, Some(0), "{}", run.text());
        let p = screen(&run.output, cols);
        assert_eq!(
            rows(&p),
            vec![
                "Sorting",
                "",
                "Use sorted:",
                "",
                "• by key",
                "  ◦ nested key=",
                "",
                "| name  | score |",
                "|:------|------:|",
                "| alice |    10 |",
                "| bob   |     7 |",
                "",
                "```python",
                "def by_score(row):",
                "    return row[\"score\"]  # a comment",
                "```",
                "Done.",
            ],
            "{cols} columns"
        );
        let (_, h) = find(&p, "Sorting");
        assert!(h.bold() && h.underline());
        assert!(find(&p, "sorted").1.bold());
        assert!(find(&p, "name").1.bold());
        assert_eq!(find(&p, "key=").1.fgcolor(), vt100::Color::Idx(6));
        // Highlighted (256 colours: no COLORTERM), comment and keyword differ.
        let (_, def) = find(&p, "def");
        let (_, comment) = find(&p, "# a comment");
        assert!(matches!(def.fgcolor(), vt100::Color::Idx(_)));
        assert_ne!(def.fgcolor(), comment.fgcolor());
        // The terminal is left in its normal state.
        assert!(!p.screen().hide_cursor());
        assert_eq!(p.screen().fgcolor(), vt100::Color::Default);
        assert!(!p.screen().bold());
    }
}

#[test]
fn pipes_keep_the_bytes_and_markdown_mode_renders_into_them() {
    let evil =
        "# t\x1b]52;c;ZXZpbA==\x07\n\x1b[2J **b** \x1b]8;;http://e\x1b\\x\x1b]8;;\x1b\\\x07\n";
    let path = replay_file("render-pipe", &sse(&format!("{ANSWER}{evil}"), 5));
    // auto, in a pipe: the model's bytes exactly.
    let out = run(term_cmd().arg("--replay").arg(&path), None);
    assert_eq!(out.stdout, format!("{ANSWER}{evil}"));
    // --record keeps the body exactly too.
    let rec = temp_dir("render-rec").join("rec.sse");
    let mut cmd = term_cmd();
    cmd.args(["--render", "markdown", "--replay"])
        .arg(&path)
        .arg("--record")
        .arg(&rec);
    let out = run(&mut cmd, None);
    assert_eq!(
        std::fs::read(&rec).expect("record"),
        std::fs::read(&path).expect("fixture")
    );
    // markdown into a pipe: rendered and sanitized.
    assert!(out.stdout.contains("\x1b[0;1mb\x1b[0m"), "{:?}", out.stdout);
    assert!(out.stdout.contains("t^[]52;c;ZXZpbA==^G"));
    assert!(!out.stdout.contains('\x07'));
    assert!(!out.stdout.contains("\x1b]"));
    assert!(!out.stdout.contains("\x1b[2J"));
    // The environment variable does the same; the flag wins over it.
    let out = run(
        term_cmd()
            .env("QSTREAM_RENDER", "markdown")
            .arg("--replay")
            .arg(&path),
        None,
    );
    assert!(out.stdout.contains("\x1b[0;1mb\x1b[0m"));
    let out = run(
        term_cmd()
            .env("QSTREAM_RENDER", "markdown")
            .args(["--render", "plain", "--replay"])
            .arg(&path),
        None,
    );
    assert_eq!(out.stdout, format!("{ANSWER}{evil}"));
    // --json is unchanged by --render.
    let out = run(
        term_cmd()
            .args(["--render", "markdown", "--json", "--replay"])
            .arg(&path),
        None,
    );
    assert!(out.stdout.starts_with("{\"type\":\"content\""));
}

/// Escapes in `bytes` other than SGR, erase-line and show-cursor, and any other control.
fn foreign_controls(bytes: &[u8]) -> Vec<String> {
    let mut bad = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            let ok = bytes.get(i + 1) == Some(&b'[');
            let mut j = i + 2;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || b";?".contains(&bytes[j])) {
                j += 1;
            }
            if !ok || !matches!(bytes.get(j), Some(b'm' | b'K' | b'h')) {
                bad.push(String::from_utf8_lossy(&bytes[i..(j + 1).min(bytes.len())]).into());
            }
            i = j + 1;
            continue;
        }
        if (b < 0x20 && !matches!(b, b'\n' | b'\t' | b'\r')) || b == 0x7f {
            bad.push(format!("{b:#x}"));
        }
        i += 1;
    }
    bad
}

#[test]
fn on_a_pty_no_escape_from_the_model_reaches_the_screen_raw() {
    let evil = "# t\x1b]52;c;ZXZpbA==\x07\nx \x1b[2J **y**\x07 [l](http://a\x1b]8;;http://evil\x1b\\)\n\
                | a\x1b[2J | b |\n|---|---|\n| \u{9b}2J | \x07 |\n\n```sh\necho \x1b]8;;http://e\x1b\\hi\x07\n```\n\x1b[2J tail";
    let path = replay_file("render-evil", &sse(evil, 4));
    let run = run_in_pty(term_cmd().arg("--replay").arg(&path), PtyOptions::default());
    assert_eq!(run.status, Some(0));
    assert_eq!(foreign_controls(&run.output), Vec::<String>::new());
    let shown = screen(&run.output, 80).screen().contents();
    assert!(shown.contains("t^[]52;c;ZXZpbA==^G"), "{shown}");
    assert!(shown.contains("echo ^[]8;;http://e^[\\hi^G"), "{shown}");
    assert!(shown.contains("^[[2J tail"), "{shown}");
}

#[test]
fn ctrl_c_in_a_code_block_leaves_the_terminal_normal() {
    // The first part without its finish and [DONE]: after those qstream is done and exits
    // without waiting for the rest (issue 10 item 12).
    let head = sse("Here:\n```python\ndef f():\n    return \"**open", 4);
    let head = head[..head
        .find("data: {\"choices\":[{\"index\":0,\"delta\":{},")
        .unwrap()]
        .to_owned();
    let rest = sse(" string\"\n```\n", 4);
    let server = Server::start(vec![
        Reply::sse(format!("{head}{rest}")).stall_after(head.len(), Duration::from_secs(20))
    ]);
    let mut cmd = term_cmd();
    cmd.env("DASHSCOPE_API_KEY", "sk-test")
        .arg("--base-url")
        .arg(format!("{}/compatible-mode/v1", server.url()))
        .arg("hello");
    let mut child = spawn_in_pty(&mut cmd, PtyOptions::default());
    child.wait_for(b"**open", Duration::from_secs(10));
    child.send(b"\x03");
    let run = child.finish(Duration::from_secs(10));
    assert_eq!(run.status, Some(130), "{}", run.text());
    let p = screen(&run.output, 80);
    let s = p.screen();
    assert!(!s.hide_cursor());
    assert!(!s.bold() && !s.dim() && !s.italic() && !s.underline() && !s.inverse());
    assert_eq!(s.fgcolor(), vt100::Color::Default);
    // The completed code line was highlighted, the cut one kept as it came.
    let (_, def) = find(&p, "def");
    assert!(matches!(def.fgcolor(), vt100::Color::Idx(_)));
    assert!(rows(&p).iter().any(|r| r == "    return \"**open"));
}

const TWO_BLOCKS: &str =
    "Run this:\n\n```bash\necho one\n  two\n```\n\nor:\n\n~~~sh\necho last\n~~~\n";

#[test]
fn extract_writes_only_a_code_block() {
    let path = replay_file("render-x", &sse(TWO_BLOCKS, 3));
    let out = run(term_cmd().arg("-x").arg("--replay").arg(&path), None);
    assert!(out.success());
    assert_eq!(out.stdout, "echo one\n  two\n");
    let out = run(term_cmd().arg("--extract").arg("--replay").arg(&path), None);
    assert_eq!(out.stdout, "echo one\n  two\n");
    let out = run(
        term_cmd().arg("--extract-last").arg("--replay").arg(&path),
        None,
    );
    assert_eq!(out.stdout, "echo last\n");
    // No block: nothing on stdout, a word on stderr.
    let none = replay_file("render-x-none", &sse("no code here\n", 3));
    let out = run(term_cmd().arg("-x").arg("--replay").arg(&none), None);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("no fenced code block"),
        "{}",
        out.stderr
    );
    // On a terminal: the same lines, no styling, sanitized.
    let evil = replay_file("render-x-evil", &sse("```\nx\x1b[2Jy\n```\n", 2));
    let run = run_in_pty(
        term_cmd().arg("-x").arg("--replay").arg(&evil),
        PtyOptions::default(),
    );
    assert_eq!(run.text(), "x^[[2Jy\n");
}

#[test]
fn reasoning_is_rendered_dim_under_the_thinking_header() {
    let mut body = String::new();
    for piece in ["## Plan\n", "- **check** it\n", "done"] {
        let chunk =
            serde_json::json!({"choices": [{"index": 0, "delta": {"reasoning_content": piece}}]});
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str(&sse("# Answer\n", 2));
    let path = replay_file("render-think", &body);
    let run = run_in_pty(term_cmd().arg("--replay").arg(&path), PtyOptions::default());
    assert_eq!(run.status, Some(0));
    let p = screen(&run.output, 80);
    assert_eq!(
        rows(&p),
        vec!["thinking", "Plan", "• check it", "done", "answer", "Answer"]
    );
    for needle in ["Plan", "check", "done"] {
        assert!(find(&p, needle).1.dim(), "{needle}");
    }
    // (Bold and dim share one intensity attribute in the emulator: dim is what it keeps.)
    assert!(!find(&p, "Answer").1.dim());
}
