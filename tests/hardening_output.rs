//! Issue 10, part A: what qstream writes. The key is never written (redaction on every output,
//! the recording included), terminals never get raw control sequences (the sanitizer), URL
//! passwords stay hidden, a closed stderr costs nothing, no output overwrites an input, stderr
//! lines start on their own line on a shared stdout/stderr, and colour follows the ecosystem's
//! environment variables.

mod common;

use std::fs::File;
use std::process::{Command, Stdio};

use common::{qstream, run, temp_dir, Output, Reply, Server};

const KEY: &str = "sk-SECRET-canary-1234";

fn compat(server: &Server) -> Command {
    common::compat_with_key(server, KEY)
}

fn delta_chunk(field: &str, text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"{field}\":{}}},\"index\":0,\"finish_reason\":null}}],\"id\":\"c1\"}}\n\n",
        serde_json::to_string(text).expect("json")
    )
}

fn tool_chunk(args: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{{\"name\":\"f\",\"arguments\":{}}}}}]}},\"index\":0,\"finish_reason\":null}}],\"id\":\"c1\"}}\n\n",
        serde_json::to_string(args).expect("json")
    )
}

const END: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"index\":0,\"finish_reason\":\"stop\"}],\"id\":\"c1\"}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12},\"id\":\"c1\"}\n\n\
data: [DONE]\n\n";

/// A stream that echoes the key: whole in one reasoning delta, split across three content
/// deltas, and split across tool-call argument fragments.
fn echoing_stream() -> String {
    let mut s = String::new();
    s.push_str(&delta_chunk(
        "reasoning_content",
        &format!("I saw {KEY} once."),
    ));
    for part in [
        "Your key is sk-SEC",
        "RET-can",
        "ary-1234, keep it s",
        "afe.",
    ] {
        s.push_str(&delta_chunk("content", part));
    }
    s.push_str(END);
    s
}

fn assert_no_key(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(KEY), "the key leaked into {what}:\n{text}");
}

fn assert_clean(out: &Output) {
    assert_no_key("stdout", out.stdout.as_bytes());
    assert_no_key("stderr", out.stderr.as_bytes());
}

// ---------------------------------------------------------------------------
// 1. Redaction
// ---------------------------------------------------------------------------

#[test]
fn an_echoed_key_is_redacted_in_text_mode_even_split_across_deltas_and_reads() {
    let server = Server::start(vec![Reply::sse(echoing_stream()).chunks(5)]);
    let out = run(compat(&server).arg("hi"), None);
    assert_clean(&out);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "Your key is [redacted], keep it safe.");
    assert!(
        out.stderr.starts_with("I saw [redacted] once.\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_echoed_key_is_redacted_in_json_lines_even_split_across_deltas() {
    let server = Server::start(vec![Reply::sse(echoing_stream()).chunks(3)]);
    let out = run(compat(&server).args(["--json", "hi"]), None);
    assert_clean(&out);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let joined: String = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .filter(|v| v["type"] == "content")
        .map(|v| v["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(joined, "Your key is [redacted], keep it safe.");
    // Ordinary text is not held back: the first delta's text up to the key's start arrives
    // in the first content line.
    let first = out
        .stdout
        .lines()
        .find(|l| l.contains("\"content\""))
        .expect("a content line");
    assert!(first.contains("Your key is "), "{first}");
}

#[test]
fn an_echoed_key_is_redacted_in_tool_call_arguments() {
    let mut body = String::new();
    for part in ["{\"k\":\"sk-SECRET", "-canary-12", "34\"}"] {
        body.push_str(&tool_chunk(part));
    }
    body.push_str(END);
    for mode in [None, Some("--json")] {
        let server = Server::start(vec![Reply::sse(body.clone()).chunks(4)]);
        let mut cmd = compat(&server);
        cmd.args(mode).arg("hi");
        let out = run(&mut cmd, None);
        assert_clean(&out);
        assert!(out.stdout.contains("[redacted]"), "{}", out.stdout);
    }
}

#[test]
fn raw_mode_request_ids_and_stats_redact_the_key() {
    let mut body = delta_chunk("content", &format!("one {KEY} two"));
    body.push_str(END);
    let server = Server::start(vec![Reply::sse(body.clone())]);
    let out = run(compat(&server).args(["--raw", "hi"]), None);
    assert_clean(&out);
    assert!(out.stdout.contains("[redacted]"), "{}", out.stdout);

    let server = Server::start(vec![
        Reply::sse(body.clone()).header("x-request-id", format!("req-{KEY}"))
    ]);
    let out = run(compat(&server).args(["--stats", "hi"]), None);
    assert_clean(&out);
    assert!(
        out.stderr.contains("request_id req-[redacted]"),
        "{}",
        out.stderr
    );

    let server = Server::start(vec![
        Reply::sse(body).header("x-request-id", format!("req-{KEY}"))
    ]);
    let out = run(compat(&server).args(["--stats", "--json", "hi"]), None);
    assert_clean(&out);
}

#[test]
fn the_recording_never_holds_the_key_and_replays_as_the_live_run_printed() {
    let dir = temp_dir("record-redact");
    let record = dir.join("rec.sse");
    // Split across reads of one byte: the key straddles many reads.
    let server = Server::start(vec![Reply::sse(echoing_stream()).chunks(1)]);
    let live = run(compat(&server).arg("--record").arg(&record).arg("hi"), None);
    assert_clean(&live);
    assert_eq!(live.status, Some(0), "{}", live.stderr);
    let recorded = std::fs::read(&record).expect("recording");
    assert_no_key("the recording", &recorded);
    // Only the key changed: everything else is byte for byte what the server sent.
    assert_eq!(
        String::from_utf8_lossy(&recorded),
        echoing_stream().replace(KEY, "[redacted]")
    );
    assert!(String::from_utf8_lossy(&recorded).contains("I saw [redacted] once."));
    // The key split across deltas is stored as the fragments the server sent; a replay with
    // the key in the environment redacts it again, as the live run did.
    let replay = run(
        qstream()
            .env("DASHSCOPE_API_KEY", KEY)
            .arg("--replay")
            .arg(&record),
        None,
    );
    assert_eq!(replay.status, Some(0), "{}", replay.stderr);
    assert_eq!(replay.stdout, live.stdout);
    assert_eq!(replay.stderr, live.stderr);
}

#[test]
fn a_fast_recording_written_by_its_own_thread_is_whole_and_redacted() {
    // Megabytes sent at once: the reads fill qstream's buffer, move to the reading thread, and
    // the recording to its writer thread. The key, echoed in the middle and split across
    // deltas, is redacted there too, and every other byte is what the server sent.
    let dir = temp_dir("record-fast");
    let record = dir.join("rec.sse");
    let filler = |from: usize| -> String {
        (from..from + 20_000)
            .map(|i| delta_chunk("content", &format!("piece {i} of the text, ")))
            .collect()
    };
    let echo = echoing_stream();
    let body = format!(
        "{}{}",
        filler(0),
        echo.replace(END, &format!("{}{END}", filler(20_000)))
    );
    assert!(body.len() > 4 << 20);
    let server = Server::start(vec![Reply::sse(body.clone())]);
    let live = run(compat(&server).arg("--record").arg(&record).arg("hi"), None);
    assert_clean(&live);
    assert_eq!(live.status, Some(0), "{}", live.stderr);
    let recorded = std::fs::read(&record).expect("recording");
    assert_no_key("the recording", &recorded);
    assert!(
        recorded == body.replace(KEY, "[redacted]").into_bytes(),
        "the recording differs from the body ({} bytes, body {})",
        recorded.len(),
        body.len()
    );
    assert!(live.stdout.contains("piece 39999 of the text, "));
}

#[test]
fn a_prefix_of_the_key_at_the_end_of_the_stream_is_not_lost() {
    // "sk-SEC" could be the start of the key, so it is held back; the stream ends and it is
    // written after all.
    let mut body = delta_chunk("content", "tail sk-SEC");
    body.push_str(END);
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).arg("hi"), None);
    assert_eq!(out.stdout, "tail sk-SEC");
}

// ---------------------------------------------------------------------------
// 2. The terminal sanitizer
// ---------------------------------------------------------------------------

/// Every attack from the issue: OSC 52, clear screen, OSC 0, OSC 8, BEL, C1 CSI, DEL.
const HOSTILE: &str = "A\x1b]52;c;ZXZpbA==\x07B\x1b[2JC\x1b]0;pwned\x07D\x1b]8;;http://evil\x1b\\E\x1b]8;;\x1b\\F\u{9b}31mG\x7fH";

fn hostile_stream() -> String {
    let mut s = delta_chunk("reasoning_content", HOSTILE);
    s.push_str(&delta_chunk("content", HOSTILE));
    s.push_str(&tool_chunk(HOSTILE));
    s.push_str(END);
    s
}

fn hostile_error() -> Reply {
    // A header cannot carry controls; the body's request_id can.
    let body = serde_json::json!({
        "error": {"message": format!("bad {HOSTILE}"), "code": format!("code{HOSTILE}")},
        "request_id": format!("req{HOSTILE}"),
    });
    Reply::json(400, body.to_string())
}

/// None of the hostile sequences, and no BEL, DEL or C1 control, reached the terminal (the
/// spinner's own `ESC[2K` may).
#[cfg(unix)]
fn assert_inert(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for bad in ["\x1b]", "\x1b[2J", "\x1b\\", "\x07", "\x7f", "\u{9b}"] {
        assert!(
            !text.contains(bad),
            "{bad:?} reached the terminal raw:\n{text:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn no_escape_sequence_from_the_server_reaches_a_terminal() {
    use common::pty::{run_in_pty, PtyOptions};
    for (stdout_tty, stderr_tty) in [(true, true), (true, false), (false, true)] {
        let opts = PtyOptions {
            stdout_tty,
            stderr_tty,
            ..Default::default()
        };
        for mode in [None, Some("--json"), Some("--raw")] {
            let server = Server::start(vec![Reply::sse(hostile_stream())]);
            let mut cmd = compat(&server);
            cmd.args(["--color", "never", "--stats"])
                .args(mode)
                .arg("hi");
            let r = run_in_pty(&mut cmd, opts);
            assert_eq!(r.status, Some(0), "{mode:?}: {}", r.text());
            assert_inert(&r.output);
            let shown = match mode {
                None => "A^[]52;c;ZXZpbA==^GB",
                // JSON escapes C0 controls itself; C1 and DEL pass the sanitizer.
                Some(_) => "FM-^[31mG^?H",
            };
            if stdout_tty || mode.is_none() {
                assert!(r.text().contains(shown), "{}", r.text());
            }
            // What went to a pipe beside the terminal is exact.
            if !stdout_tty && mode.is_none() {
                let args = serde_json::to_string(HOSTILE).expect("json");
                assert_eq!(
                    String::from_utf8_lossy(&r.stdout),
                    format!(
                        "{HOSTILE}\n{{\"index\":0,\"id\":\"call_1\",\"name\":\"f\",\"arguments\":{args}}}\n"
                    )
                );
            }
            if !stderr_tty && mode.is_none() {
                assert!(String::from_utf8_lossy(&r.stderr).starts_with(HOSTILE));
            }
        }
        // An error: message, code and request id.
        let server = Server::start(vec![hostile_error()]);
        let mut cmd = compat(&server);
        cmd.args(["--color", "never", "hi"]);
        let r = run_in_pty(&mut cmd, opts);
        assert_eq!(r.status, Some(4));
        assert_inert(&r.output);
        if !stderr_tty {
            assert!(String::from_utf8_lossy(&r.stderr).contains(HOSTILE));
        }
    }
}

#[test]
fn pipes_get_the_hostile_bytes_exactly() {
    let server = Server::start(vec![Reply::sse(hostile_stream())]);
    let out = run(compat(&server).arg("hi"), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!("{HOSTILE}\n")),
        "{:?}",
        out.stdout
    );
    assert!(out.stderr.starts_with(HOSTILE), "{:?}", out.stderr);

    let server = Server::start(vec![hostile_error()]);
    let out = run(compat(&server).arg("hi"), None);
    assert_eq!(out.status, Some(4));
    assert!(
        out.stderr.contains(&format!("bad {HOSTILE}")),
        "{:?}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------
// 6. URL passwords
// ---------------------------------------------------------------------------

#[test]
fn a_password_in_the_base_url_is_never_printed() {
    let out = run(
        qstream().args([
            "--dry-run",
            "--base-url",
            "https://user:hunter2-pw@proxy.example/compatible-mode/v1",
            "hi",
        ]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(!out.stdout.contains("hunter2-pw"), "{}", out.stdout);
    assert!(
        out.stdout.contains("https://user:***@proxy.example/"),
        "{}",
        out.stdout
    );

    // An error naming the URL.
    let out = run(
        qstream().env("DASHSCOPE_API_KEY", KEY).args([
            "--base-url",
            "ftp://user:hunter2-pw@proxy.example/v1",
            "hi",
        ]),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("user:***@"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2-pw"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// 7. A closed stderr
// ---------------------------------------------------------------------------

#[test]
fn a_closed_stderr_never_costs_the_answer() {
    let mut body = String::new();
    for part in ["thinking ", "hard"] {
        body.push_str(&delta_chunk("reasoning_content", part));
    }
    for part in ["Hello", ", world"] {
        body.push_str(&delta_chunk("content", part));
    }
    body.push_str(END);
    let server = Server::start(vec![Reply::sse(body)]);
    let mut cmd = compat(&server);
    cmd.args(["--stats", "hi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // The reader of stderr is gone before qstream writes a byte.
    drop(child.stderr.take());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(stdout, "Hello, world");
    assert_eq!(status.code(), Some(0));
}

// ---------------------------------------------------------------------------
// 8. No output overwrites an input
// ---------------------------------------------------------------------------

fn refused(out: &Output) {
    assert_eq!(out.status, Some(2), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("same file"), "{}", out.stderr);
}

#[test]
fn no_output_file_overwrites_an_input_or_another_output() {
    let dir = temp_dir("identity");
    let sse = dir.join("a.sse");
    let original = format!("{}{END}", delta_chunk("content", "kept"));
    std::fs::write(&sse, &original).expect("write");

    // --replay a.sse --record a.sse
    let out = run(
        qstream()
            .arg("--replay")
            .arg(&sse)
            .arg("--record")
            .arg(&sse),
        None,
    );
    refused(&out);
    assert_eq!(std::fs::read_to_string(&sse).expect("read"), original);

    // The same file by another name: a hard link, a symlink, a path with `.`.
    let hard = dir.join("hard.sse");
    std::fs::hard_link(&sse, &hard).expect("link");
    let dotted = dir.join(".").join("a.sse");
    #[cfg_attr(not(unix), allow(unused_mut))] // the symlink is Unix-only
    let mut others = vec![hard, dotted];
    #[cfg(unix)]
    {
        let soft = dir.join("soft.sse");
        std::os::unix::fs::symlink(&sse, &soft).expect("symlink");
        others.push(soft);
    }
    for other in others {
        let out = run(
            qstream()
                .arg("--replay")
                .arg(&sse)
                .arg("--record")
                .arg(&other),
            None,
        );
        refused(&out);
        assert_eq!(std::fs::read_to_string(&sse).expect("read"), original);
    }

    // --messages h.json --record h.json: nothing is sent either.
    let history = dir.join("h.json");
    let messages = r#"[{"role":"user","content":"hi"}]"#;
    std::fs::write(&history, messages).expect("write");
    let server = Server::start(vec![Reply::sse(original.clone())]);
    let out = run(
        compat(&server)
            .arg("--messages")
            .arg(&history)
            .arg("--record")
            .arg(&history),
        None,
    );
    refused(&out);
    assert_eq!(std::fs::read_to_string(&history).expect("read"), messages);
    assert_eq!(server.requests().len(), 0);

    // --record x --audio-out x, x not existing yet.
    let x = dir.join("x");
    let server = Server::start(vec![Reply::sse(original.clone())]);
    let out = run(
        compat(&server)
            .arg("--record")
            .arg(&x)
            .arg("--audio-out")
            .arg(&x)
            .arg("hi"),
        None,
    );
    refused(&out);
    assert!(!x.exists(), "nothing is created");

    // The key file is an input too.
    let key_file = dir.join("key");
    std::fs::write(&key_file, KEY).expect("write");
    let server = Server::start(vec![Reply::sse(original.clone())]);
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY_FILE_PATH", &key_file)
        .arg("--base-url")
        .arg(format!("{}/compatible-mode/v1", server.url()))
        .arg("--record")
        .arg(&key_file)
        .arg("hi");
    let out = run(&mut cmd, None);
    refused(&out);
    assert_eq!(std::fs::read_to_string(&key_file).expect("read"), KEY);

    // stdout redirected to the recording (`--record out > out`), or to the replayed file.
    for (flag, path) in [("--record", dir.join("out.sse")), ("--replay", sse.clone())] {
        if flag == "--record" {
            std::fs::write(&path, "").expect("write");
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open");
        let out = qstream()
            .arg(flag)
            .arg(&path)
            .args(if flag == "--record" {
                vec!["--replay".into(), sse.clone()]
            } else {
                vec![]
            })
            .stdout(Stdio::from(file))
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("stdout and"), "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(&sse).expect("read"), original);

    // /dev/null twice is fine: not a regular file.
    let out = run(
        qstream()
            .arg("--replay")
            .arg(&sse)
            .args(["--record", "/dev/null"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "kept");
}

// ---------------------------------------------------------------------------
// 19. stderr lines on their own line when stdout and stderr are one file
// ---------------------------------------------------------------------------

#[test]
fn the_usage_line_starts_a_line_when_stdout_and_stderr_share_a_file_or_pipe() {
    let body = format!(
        "{}{}{END}",
        delta_chunk("content", "Hello"),
        delta_chunk("content", ", world")
    );
    let dir = temp_dir("shared");
    let replay = dir.join("a.sse");
    std::fs::write(&replay, &body).expect("write");

    // One file (2>&1 > file).
    let path = dir.join("out");
    let file = File::create(&path).expect("create");
    let status = qstream()
        .arg("--replay")
        .arg(&replay)
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "Hello, world\nusage: input 5, output 7, total 12 tokens\n"
    );

    // One pipe (2>&1 | cat).
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let mut child = qstream()
        .arg("--replay")
        .arg(&replay)
        .stdout(writer.try_clone().expect("clone"))
        .stderr(writer)
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let status = child.wait().expect("wait");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reader, &mut text).expect("read");
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        text,
        "Hello, world\nusage: input 5, output 7, total 12 tokens\n"
    );

    // An error after part of the answer: the error line starts a line too.
    let cut = dir.join("cut.sse");
    std::fs::write(&cut, delta_chunk("content", "Hello")).expect("write");
    let path = dir.join("out-cut");
    let file = File::create(&path).expect("create");
    let status = qstream()
        .arg("--replay")
        .arg(&cut)
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file))
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(7));
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with("Hello\nqstream: "), "{text:?}");

    // Separate pipes: stdout keeps its exact bytes, no newline added anywhere.
    let out = run(qstream().arg("--replay").arg(&replay), None);
    assert_eq!(out.stdout, "Hello, world");
    assert_eq!(out.stderr, "usage: input 5, output 7, total 12 tokens\n");
}

// ---------------------------------------------------------------------------
// 24. Colour the ecosystem's way
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn colour_follows_no_color_clicolor_clicolor_force_and_term() {
    use common::pty::{run_in_pty, PtyOptions};
    let replay = format!(
        "{}/tests/fixtures/compatible_thinking.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let dim = "\x1b[2m";
    // The rendered reasoning (issue 12) writes dim as an absolute SGR, `ESC[0;2m`.
    let has_dim = |t: &str| t.contains(dim) || t.contains("\x1b[0;2m");
    let on_tty = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = qstream();
        cmd.env("TERM", "xterm-256color").env_remove("CI");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.arg("--replay").arg(&replay).args(args);
        let r = run_in_pty(&mut cmd, PtyOptions::default());
        assert_eq!(r.status, Some(0));
        r.text()
    };
    assert!(has_dim(&on_tty(&[], &[])));
    assert!(!has_dim(&on_tty(&[("NO_COLOR", "1")], &[])));
    assert!(!has_dim(&on_tty(&[("CLICOLOR", "0")], &[])));
    assert!(!has_dim(&on_tty(&[("TERM", "dumb")], &[])));
    assert!(has_dim(&on_tty(
        &[("TERM", "dumb"), ("CLICOLOR_FORCE", "1")],
        &[]
    )));
    assert!(has_dim(&on_tty(
        &[("NO_COLOR", "1")],
        &["--color", "always"]
    )));
    assert!(!has_dim(&on_tty(
        &[("CLICOLOR_FORCE", "1")],
        &["--color", "never"]
    )));

    // CLICOLOR_FORCE colours a pipe; --color never still wins.
    let out = run(
        qstream()
            .env("CLICOLOR_FORCE", "1")
            .arg("--replay")
            .arg(&replay),
        None,
    );
    assert!(out.stderr.contains(dim), "{:?}", out.stderr);
    let out = run(qstream().arg("--replay").arg(&replay), None);
    assert!(!out.stderr.contains(dim), "{:?}", out.stderr);
}
