//! Issue 10, part C: network setup, configuration and input. Configuration problems get
//! configuration exit codes, input is bounded and checked, the stdin trap has a way out, and
//! the network never goes around (or through) a proxy against the user's intent.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{fixture, qstream, run, temp_dir, Output, Reply, Server};

const KEY: &str = "sk-SECRET-canary-1234";

/// The binary against `server` over the compatible protocol, with the canary key set.
fn compat(server: &Server) -> Command {
    common::compat_with_key(server, KEY)
}

fn ok_stream() -> Reply {
    Reply::sse(fixture("compatible_basic.sse"))
}

fn assert_exit(out: &Output, code: i32, needle: &str) {
    assert_eq!(
        out.status,
        Some(code),
        "exit code; stdout {:?}, stderr {:?}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "stderr should mention {needle:?}: {:?}",
        out.stderr
    );
    assert!(
        !out.stderr.contains(KEY),
        "the key leaked: {:?}",
        out.stderr
    );
    assert!(
        !out.stdout.contains(KEY),
        "the key leaked: {:?}",
        out.stdout
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a temp file");
    path
}

/// The user message's text of the one request `server` received.
fn sent_prompt(server: &Server) -> String {
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "one request");
    let body = reqs[0].json();
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------
// 14. Configuration problems get configuration exit codes
// ---------------------------------------------------------------------------

#[test]
fn malformed_base_urls_are_usage_errors() {
    let server = Server::start(vec![]);
    let port = server.addr.port();
    for (url, needle) in [
        ("https://".to_owned(), "base URL"),
        ("https://exa mple.com/v1".to_owned(), "base URL"),
        ("https://example.com:99999/v1".to_owned(), "base URL"),
        (format!("http://127.0.0.1:{port}/v1?x=1"), "query"),
        (format!("http://127.0.0.1:{port}/v1#frag"), "fragment"),
    ] {
        let out = run(
            qstream()
                .env("DASHSCOPE_API_KEY", KEY)
                .args(["--base-url", &url, "hi"]),
            None,
        );
        assert_exit(&out, 2, needle);
        assert!(out.stderr.contains("base URL"), "{url}: {}", out.stderr);
    }
    assert_eq!(server.connections(), 0, "nothing may be sent");
}

#[test]
fn line_breaks_in_workspace_and_headers_are_usage_errors() {
    let server = Server::start(vec![]);
    for args in [
        ["--workspace", "ws-1\r\nX-Evil: 1", "hi"],
        ["--workspace", "ws-1\nX", "hi"],
        ["-H", "X-A: one\rtwo", "hi"],
        ["-H", "X-A: one\ntwo", "hi"],
    ] {
        let out = run(compat(&server).args(args), None);
        assert_exit(&out, 2, "line break");
    }
    // From the environment too.
    let out = run(
        compat(&server)
            .env("DASHSCOPE_WORKSPACE", "ws\r\nX-Evil: 1")
            .arg("hi"),
        None,
    );
    assert_exit(&out, 2, "DASHSCOPE_WORKSPACE");
    assert_eq!(server.connections(), 0);
}

#[test]
fn replay_of_a_directory_is_a_usage_error() {
    let dir = temp_dir("replay-dir");
    let out = run(qstream().arg("--replay").arg(&dir), None);
    assert_exit(&out, 2, &dir.display().to_string());
    assert!(out.stderr.contains("directory"), "{}", out.stderr);
}

#[test]
fn a_key_with_a_bom_is_used_without_it() {
    let server = Server::start(vec![ok_stream(), ok_stream()]);
    let out = run(
        compat(&server)
            .env("DASHSCOPE_API_KEY", format!("\u{feff}{KEY}"))
            .arg("hi"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let dir = temp_dir("key-bom");
    let file = write(&dir, "key", format!("\u{feff}{KEY}\n").as_bytes());
    let out = run(
        qstream()
            .env("DASHSCOPE_API_KEY_FILE_PATH", &file)
            .arg("--base-url")
            .arg(format!("{}/compatible-mode/v1", server.url()))
            .arg("hi"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    for req in server.requests() {
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
}

#[test]
fn bad_keys_exit_3_naming_the_cause_never_the_key() {
    let server = Server::start(vec![]);
    for (key, needle) in [
        (format!("{KEY}\u{1}x"), "control character"),
        (format!("{KEY}é"), "non-ASCII"),
        (format!("{KEY}\u{7f}"), "control character"),
        ("   ".to_owned(), "blank"),
        ("sk-a b".to_owned(), "space"),
    ] {
        let out = run(
            compat(&server).env("DASHSCOPE_API_KEY", &key).arg("hi"),
            None,
        );
        assert_exit(&out, 3, needle);
        assert!(out.stderr.contains("DASHSCOPE_API_KEY"), "{}", out.stderr);
        let trimmed = key.trim();
        if !trimmed.is_empty() {
            assert!(!out.stderr.contains(trimmed), "{}", out.stderr);
        }
    }
    assert_eq!(server.connections(), 0);
}

#[test]
fn bad_key_files_exit_3_naming_the_file_and_the_cause() {
    let server = Server::start(vec![]);
    let dir = temp_dir("key-files");
    let mut huge = KEY.as_bytes().to_vec();
    huge.resize(64 * 1024 + 1, b'a');
    let cases: Vec<(PathBuf, &str)> = vec![
        (dir.clone(), "directory"),
        (write(&dir, "latin1", b"sk-caf\xe9-123456789\n"), "UTF-8"),
        (write(&dir, "huge", &huge), "64 KiB"),
        (write(&dir, "blank", b" \n\t\n"), "blank"),
        (
            write(&dir, "ctl", format!("{KEY}\u{1b}\n").as_bytes()),
            "control character",
        ),
        (dir.join("missing"), "no such file"),
    ];
    for (path, needle) in cases {
        let out = run(
            qstream()
                .env("DASHSCOPE_API_KEY_FILE_PATH", &path)
                .arg("--base-url")
                .arg(format!("{}/compatible-mode/v1", server.url()))
                .arg("hi"),
            None,
        );
        assert_exit(&out, 3, needle);
        assert!(
            out.stderr.contains(&path.display().to_string()),
            "{}",
            out.stderr
        );
    }
    // The home key file: a directory there is a problem too, not "no key".
    let mut cmd = qstream();
    let home = temp_dir("key-home");
    std::fs::create_dir_all(home.join(".dashscope/api_key")).expect("mkdir");
    cmd.env("HOME", &home)
        .arg("--base-url")
        .arg(format!("{}/compatible-mode/v1", server.url()))
        .arg("hi");
    let out = run(&mut cmd, None);
    assert_exit(&out, 3, "directory");
    assert!(out.stderr.contains("api_key"), "{}", out.stderr);
    assert_eq!(server.connections(), 0);
}

// ---------------------------------------------------------------------------
// 17. Bounded input
// ---------------------------------------------------------------------------

#[test]
fn stdin_over_the_cap_is_refused_naming_the_cap() {
    let server = Server::start(vec![]);
    let big = vec![b'a'; 64 * 1024 * 1024 + 1];
    let out = run(compat(&server).arg("summarise"), Some(&big));
    assert_exit(&out, 2, "64 MiB");
    assert_eq!(server.connections(), 0);
}

#[test]
fn stdin_at_the_cap_is_taken() {
    let server = Server::start(vec![ok_stream()]);
    let big = vec![b'a'; 64 * 1024 * 1024];
    let out = run(compat(&server).args(["-q", "-"]), Some(&big));
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(sent_prompt(&server).len(), big.len());
}

#[test]
fn stdin_that_is_not_utf8_is_refused_naming_the_offset() {
    let server = Server::start(vec![]);
    let out = run(compat(&server).arg("hi"), Some(b"hello\xffworld"));
    assert_exit(&out, 2, "byte 5");
    assert!(out.stderr.contains("UTF-8"), "{}", out.stderr);
    let out = run(
        compat(&server).args(["--messages", "-", "hi"]),
        Some(b"[{\"role\":\"user\",\"content\":\"\xc3\"}]"),
    );
    assert_exit(&out, 2, "byte 27");
    assert_eq!(server.connections(), 0);
}

// ---------------------------------------------------------------------------
// 18. The stdin trap
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn no_stdin_leaves_stdin_alone() {
    for flag in ["-n", "--no-stdin"] {
        let server = Server::start(vec![ok_stream()]);
        let out = run(
            compat(&server).args([flag, "hi"]),
            Some(b"next line of the list\n"),
        );
        assert_eq!(out.status, Some(0), "{}", out.stderr);
        assert_eq!(sent_prompt(&server), "hi");
    }
    // With nothing else, there is no prompt.
    let out = run(qstream().arg("-n"), Some(b"a prompt that is not read"));
    assert_exit(&out, 2, "no prompt");
    // And the list loop from the issue keeps its list.
    let server = Server::start(vec![ok_stream(), ok_stream(), ok_stream()]);
    let script = "while read f; do \"$QS\" -q -n --base-url \"$URL\" \"about $f\" >/dev/null; done";
    let out = run(
        qstream_shell(script)
            .env("QS", env!("CARGO_BIN_EXE_qstream"))
            .env("URL", format!("{}/compatible-mode/v1", server.url())),
        Some(b"a\nb\nc\n"),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(server.requests().len(), 3);
}

/// `sh -c SCRIPT` with qstream's scrubbed environment and the canary key.
#[cfg(unix)]
fn qstream_shell(script: &str) -> Command {
    let base = qstream();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    cmd.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.env("DASHSCOPE_API_KEY", KEY);
    cmd
}

#[cfg(unix)]
mod stdin_hint {
    use super::*;
    use common::pty::{spawn_in_pty, PtyOptions};
    use std::fs::File;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::process::Stdio;

    const HINT: &str = "reading the prompt from stdin… (Ctrl-D ends it; --no-stdin to skip)";

    fn pipe() -> (File, File) {
        let mut fds = [-1; 2];
        // SAFETY: pipe writes two fresh fds into the array.
        let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        for fd in fds {
            // SAFETY: fcntl on the fds just created.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // SAFETY: both fds were just created and are owned by nobody else.
        unsafe {
            (
                File::from(OwnedFd::from_raw_fd(fds[0])),
                File::from(OwnedFd::from_raw_fd(fds[1])),
            )
        }
    }

    #[test]
    fn a_silent_stdin_pipe_gets_one_hint_on_the_terminal() {
        let server = Server::start(vec![ok_stream()]);
        let (read_end, mut write_end) = pipe();
        let mut cmd = compat(&server);
        cmd.arg("explain").stdin(Stdio::from(read_end));
        let mut child = spawn_in_pty(
            &mut cmd,
            PtyOptions {
                stdout_tty: false,
                ..PtyOptions::default()
            },
        );
        child.wait_for(HINT.as_bytes(), Duration::from_secs(20));
        write_end.write_all(b"the input").expect("write stdin");
        drop(write_end);
        let run = child.finish(Duration::from_secs(30));
        assert_eq!(run.status, Some(0), "{}", run.text());
        assert_eq!(run.text().matches(HINT).count(), 1, "{}", run.text());
        assert_eq!(sent_prompt(&server), "explain\n\nthe input");
    }

    #[test]
    fn no_hint_when_stdin_has_data_or_stderr_is_not_a_terminal() {
        // Data already waiting: no hint.
        let server = Server::start(vec![ok_stream()]);
        let (read_end, mut write_end) = pipe();
        write_end.write_all(b"ready").expect("write stdin");
        drop(write_end);
        let mut cmd = compat(&server);
        cmd.arg("explain").stdin(Stdio::from(read_end));
        let run = spawn_in_pty(&mut cmd, PtyOptions::default()).finish(Duration::from_secs(30));
        assert_eq!(run.status, Some(0), "{}", run.text());
        assert!(!run.text().contains("reading the prompt"), "{}", run.text());
        // Stderr in a pipe: no hint, however long stdin stays silent.
        let server = Server::start(vec![ok_stream()]);
        let (read_end, mut write_end) = pipe();
        let mut cmd = compat(&server);
        cmd.arg("explain").stdin(Stdio::from(read_end));
        let child = spawn_in_pty(
            &mut cmd,
            PtyOptions {
                stderr_tty: false,
                ..PtyOptions::default()
            },
        );
        thread::sleep(Duration::from_millis(1500));
        write_end.write_all(b"late").expect("write stdin");
        drop(write_end);
        let run = child.finish(Duration::from_secs(30));
        assert_eq!(run.status, Some(0));
        assert!(
            !String::from_utf8_lossy(&run.stderr).contains("reading the prompt"),
            "{:?}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

// ---------------------------------------------------------------------------
// 13. --max-time bounds the whole run
// ---------------------------------------------------------------------------

#[test]
fn max_time_bounds_retry_after_waits() {
    // A Retry-After longer than --max-time: no wait, no retry, the error as it is.
    let server = Server::start(vec![
        Reply::json(
            429,
            r#"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#,
        )
        .header("Retry-After", "3"),
        ok_stream(),
    ]);
    let out = run(compat(&server).args(["--max-time", "2", "hi"]), None);
    assert_exit(&out, 5, "--max-time");
    assert_eq!(server.connections(), 1, "{}", out.stderr);

    // Waits add up: the second 2-second wait no longer fits into 3 seconds.
    let server = Server::start(vec![
        Reply::json(503, r#"{"error":{"message":"busy"}}"#).header("Retry-After", "2"),
        Reply::json(503, r#"{"error":{"message":"busy"}}"#).header("Retry-After", "2"),
        ok_stream(),
    ]);
    let out = run(compat(&server).args(["--max-time", "3", "hi"]), None);
    assert_exit(&out, 6, "--max-time");
    assert_eq!(server.connections(), 2, "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// 3, 4, 5. Proxies and loopback
// ---------------------------------------------------------------------------

/// A listener that counts the connections it gets and never answers.
fn silent_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            // Keep it open a while, as a proxy that is thinking would.
            thread::spawn(move || {
                thread::sleep(Duration::from_secs(5));
                drop(stream);
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[test]
fn loopback_targets_are_never_proxied() {
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"] {
        let (proxy, contacted) = silent_proxy();
        let server = Server::start(vec![ok_stream()]);
        let out = run(
            compat(&server)
                .env(var, &proxy)
                .args(["--timeout", "3", "--retries", "0", "hi"]),
            None,
        );
        assert_eq!(out.status, Some(0), "{var}: {}", out.stderr);
        assert_eq!(
            contacted.load(Ordering::SeqCst),
            0,
            "{var}: the proxy saw the key"
        );
        assert_eq!(server.requests().len(), 1);
    }
}

/// A one-connection SOCKS5 proxy (no authentication) that answers the tunnelled HTTP request
/// itself with `body`, and reports the host it was asked to connect to.
fn socks5_proxy(body: Vec<u8>) -> (String, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut greet = [0u8; 2];
        s.read_exact(&mut greet).expect("greeting");
        let mut methods = vec![0u8; greet[1] as usize];
        s.read_exact(&mut methods).expect("methods");
        s.write_all(&[5, 0]).expect("choose no auth");
        let mut head = [0u8; 4];
        s.read_exact(&mut head).expect("request");
        let host = match head[3] {
            3 => {
                let mut len = [0u8; 1];
                s.read_exact(&mut len).expect("len");
                let mut name = vec![0u8; len[0] as usize];
                s.read_exact(&mut name).expect("name");
                String::from_utf8_lossy(&name).into_owned()
            }
            1 => {
                let mut ip = [0u8; 4];
                s.read_exact(&mut ip).expect("ip");
                format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
            }
            other => panic!("address type {other}"),
        };
        let mut port = [0u8; 2];
        s.read_exact(&mut port).expect("port");
        s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
            .expect("reply");
        // The HTTP request, head and body: read until the JSON body closes.
        let mut req = Vec::new();
        let mut buf = [0u8; 4096];
        while !req.ends_with(b"}") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).expect("head");
        s.write_all(&body).expect("body");
        host
    });
    (format!("127.0.0.1:{}", addr.port()), handle)
}

#[test]
fn a_socks_proxy_is_used_not_ignored() {
    for scheme in ["socks5h", "socks5"] {
        let (addr, proxy) = socks5_proxy(fixture("compatible_basic.sse"));
        // A name only the proxy knows (socks5h), or a public address (socks5 resolves
        // locally): either way the direct route would fail, and only the proxy answers.
        let target = if scheme == "socks5h" {
            "qstream-test.invalid"
        } else {
            "192.0.2.1"
        };
        let out = run(
            qstream()
                .env("DASHSCOPE_API_KEY", KEY)
                .env("ALL_PROXY", format!("{scheme}://{addr}"))
                .env("HTTPS_PROXY", "http://127.0.0.1:9")
                .args([
                    "--allow-insecure-http",
                    "--connect-timeout",
                    "5",
                    "--retries",
                    "0",
                    "--base-url",
                    &format!("http://{target}/compatible-mode/v1"),
                    "hi",
                ]),
            None,
        );
        assert_eq!(out.status, Some(0), "{scheme}: {}", out.stderr);
        assert!(out.stdout.starts_with("I am"), "{}", out.stdout);
        assert_eq!(proxy.join().expect("proxy thread"), target);
    }
}

#[test]
fn a_proxy_setting_that_cannot_be_used_is_an_error() {
    for value in ["ftp://127.0.0.1:1", "http://exa mple:1"] {
        let out = run(
            qstream()
                .env("DASHSCOPE_API_KEY", KEY)
                .env("ALL_PROXY", value)
                .args(["--base-url", "https://qstream-test.invalid/v1", "hi"]),
            None,
        );
        assert_exit(&out, 2, "ALL_PROXY");
    }
}

#[test]
fn dot_localhost_names_are_not_taken_for_loopback() {
    let out = run(
        qstream().env("DASHSCOPE_API_KEY", KEY).args([
            "--base-url",
            "http://api.localhost:9/v1",
            "hi",
        ]),
        None,
    );
    assert_exit(&out, 2, "refusing plain http://");
}

// ---------------------------------------------------------------------------
// 21. Media are what they claim
// ---------------------------------------------------------------------------

#[test]
fn media_that_are_not_what_the_flag_says_are_refused() {
    let dir = temp_dir("media-kind");
    let notes = write(&dir, "notes.txt", b"remember the milk\n");
    let png = common::fixture("media/pixel.png");
    let png_as_wav = write(&dir, "tone.wav", &png);
    let zeros = write(&dir, "blank.dat", &[0u8; 64]);
    let empty = write(&dir, "empty.jpg", b"");
    for (flag, path, needle) in [
        ("--image", &notes, "text/plain"),
        ("--video", &notes, "text/plain"),
        ("--audio", &png_as_wav, "image/png"),
        ("--image", &zeros, "unrecognised"),
        ("--image", &empty, "empty"),
        ("--video", &png_as_wav, "image/png"),
    ] {
        let out = run(
            qstream()
                .env("DASHSCOPE_API_KEY", KEY)
                .args(["--dry-run", flag])
                .arg(path)
                .arg("what is this?"),
            None,
        );
        assert_exit(&out, 2, needle);
        assert!(out.stderr.contains(flag), "{}", out.stderr);
    }
}

// ---------------------------------------------------------------------------
// 22. Small ones
// ---------------------------------------------------------------------------

#[test]
fn stats_have_no_rate_for_a_replay() {
    let dir = temp_dir("stats-replay");
    let rec = write(&dir, "a.sse", &fixture("compatible_basic.sse"));
    let out = run(qstream().arg("--stats").arg("--replay").arg(&rec), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("stats:"), "{}", out.stderr);
    assert!(!out.stderr.contains("tokens/s"), "{}", out.stderr);
    let out = run(
        qstream().args(["--stats", "--json", "--replay"]).arg(&rec),
        None,
    );
    assert!(
        !out.stdout.contains("output_tokens_per_s"),
        "{}",
        out.stdout
    );
}

#[test]
fn stats_have_no_rate_for_a_single_delta() {
    let one = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"index\":0,\"finish_reason\":null}]}\n\n\
data: {\"choices\":[{\"delta\":{},\"index\":0,\"finish_reason\":\"stop\"}]}\n\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":900,\"total_tokens\":903}}\n\n\
data: [DONE]\n\n";
    let server = Server::start(vec![Reply::sse(one)]);
    let out = run(compat(&server).args(["--stats", "hi"]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("stats:"), "{}", out.stderr);
    assert!(!out.stderr.contains("tokens/s"), "{}", out.stderr);
}

#[test]
fn empty_environment_values_count_as_unset() {
    let server = Server::start(vec![ok_stream()]);
    let out = run(
        compat(&server)
            .env("QSTREAM_MODEL", "")
            .env("QSTREAM_PROTOCOL", "")
            .env("QSTREAM_REGION", "")
            .env("DASHSCOPE_WORKSPACE", "")
            .arg("hi"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let req = &server.requests()[0];
    assert_eq!(req.json()["model"], "qwen-plus");
    assert_eq!(req.header("x-dashscope-workspace"), None);
}

#[test]
fn invalid_environment_values_name_the_variable() {
    for (var, value) in [("QSTREAM_PROTOCOL", "openai"), ("QSTREAM_REGION", "mars")] {
        let out = run(qstream().env(var, value).args(["--dry-run", "hi"]), None);
        assert_exit(&out, 2, var);
        assert!(out.stderr.contains(value), "{}", out.stderr);
    }
}

#[test]
fn qstream_region_sets_the_region() {
    let out = run(
        qstream()
            .env("QSTREAM_REGION", "cn")
            .args(["--dry-run", "hi"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("https://dashscope.aliyuncs.com/compatible-mode/v1"),
        "{}",
        out.stdout
    );
    // The flag still wins.
    let out = run(
        qstream()
            .env("QSTREAM_REGION", "cn")
            .args(["--region", "intl", "--dry-run", "hi"]),
        None,
    );
    assert!(out.stdout.contains("dashscope-intl"), "{}", out.stdout);
}

#[test]
fn docs_join_content_fragments_with_jq_j() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let man = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/qstream.1"))
        .expect("man page")
        .replace("\\-", "-");
    let help = run(qstream().arg("--help"), None).stdout;
    for (name, text) in [("README", readme), ("man page", man), ("--help", help)] {
        // The content events of --json are fragments; `map`'s and `batch fetch`'s lines hold
        // whole answers (`.content`), which need no joining.
        for line in text
            .lines()
            .filter(|l| l.contains("jq") && l.contains("\"content\""))
        {
            assert!(
                line.contains("jq -j") || line.contains("jq -rj"),
                "{name} joins content fragments without -j: {line}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn the_readme_xargs_recipe_survives_spaces_and_quotes() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let recipe = readme
        .lines()
        .find(|l| l.contains("xargs"))
        .expect("an xargs recipe");
    let server = Server::start(vec![ok_stream(), ok_stream()]);
    let dir = temp_dir("xargs");
    write(&dir, "a b.md", b"first");
    write(&dir, "it's.md", b"second");
    // qstream on PATH is the binary under test, pointed at the loopback server.
    let bin = temp_dir("xargs-bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_qstream"), bin.join("qstream"))
        .expect("symlink");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(
        qstream_shell(&format!("cd \"$DIR\" && {recipe}"))
            .env("DIR", &dir)
            .env("PATH", path)
            .env(
                "DASHSCOPE_COMPATIBLE_BASE_URL",
                format!("{}/compatible-mode/v1", server.url()),
            ),
        None,
    );
    assert_eq!(out.status, Some(0), "{recipe}\n{}", out.stderr);
    for name in ["a b.md.summary", "it's.md.summary"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(text.starts_with("I am"), "{name}: {text:?}\n{}", out.stderr);
    }
    let mut prompts: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            r.json()["messages"][0]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    prompts.sort();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts[0].ends_with("first") && prompts[1].ends_with("second"),
        "{prompts:?}"
    );
}
