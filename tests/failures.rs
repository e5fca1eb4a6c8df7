//! Issue 3: failures and exit codes (DESIGN §4), end to end against a loopback server.
//!
//! Every failure must be exactly one stderr line
//! `qstream: <message> (<code>, HTTP <status>, request_id <id>)` (parts the service did not
//! send are left out), text received before it must be kept, and the API key must never show
//! up in any output.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
#[cfg(unix)]
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{fixture, qstream, run, run_with_timeout, temp_dir, Output, Reply, Server};

const KEY: &str = "sk-SECRET-canary-1234";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The binary against `server` over the compatible protocol, with the canary key set.
fn compat(server: &Server) -> Command {
    common::compat_with_key(server, KEY)
}

/// The binary against `server` over the DashScope-native protocol, with the canary key set.
fn native(server: &Server) -> Command {
    common::native_with_key(server, KEY)
}

/// The key must never be written anywhere.
fn assert_no_secret(out: &Output) {
    assert!(
        !out.stdout.contains(KEY) && !out.stderr.contains(KEY),
        "the API key leaked:\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
}

fn assert_file_has_no_secret(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(KEY),
        "the API key leaked into {}",
        path.display()
    );
}

fn is_retry_line(line: &str) -> bool {
    line.starts_with("qstream: ") && line.contains("; retrying in ")
}

/// Checks the exit code, that the key is nowhere, and that stderr holds exactly one error
/// line, the last one, and nothing but usage and retry lines besides; returns the error line
/// without its `qstream: ` prefix.
fn failure(out: &Output, code: i32) -> String {
    assert_no_secret(out);
    assert_eq!(
        out.status,
        Some(code),
        "exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    let errors: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("qstream: ") && !is_retry_line(l))
        .collect();
    assert_eq!(errors.len(), 1, "one error line on stderr:\n{}", out.stderr);
    assert_eq!(
        lines.last(),
        errors.first(),
        "the error is the last line:\n{}",
        out.stderr
    );
    for l in &lines {
        assert!(
            l.starts_with("qstream: ") || l.starts_with("usage: "),
            "unexpected stderr line {l:?} in:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.ends_with('\n'), "{:?}", out.stderr);
    errors[0]["qstream: ".len()..].to_string()
}

fn retry_lines(out: &Output) -> usize {
    out.stderr.lines().filter(|l| is_retry_line(l)).count()
}

fn ok(out: &Output) {
    assert_no_secret(out);
    assert_eq!(
        out.status,
        Some(0),
        "exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
}

/// One compatible-protocol chunk carrying `text`.
fn compat_chunk(text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}},\"index\":0,\"finish_reason\":null}}],\"object\":\"chat.completion.chunk\",\"usage\":null,\"model\":\"qwen-plus\",\"id\":\"chatcmpl-1\"}}\n\n",
        serde_json::to_string(text).unwrap()
    )
}

fn compat_chunks(texts: &[&str]) -> String {
    texts.iter().map(|t| compat_chunk(t)).collect()
}

/// A whole, well-formed compatible stream.
fn compat_complete(texts: &[&str]) -> String {
    let mut s = compat_chunks(texts);
    s.push_str("data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"index\":0,\"finish_reason\":\"stop\"}],\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12},\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: [DONE]\n\n");
    s
}

/// One native-protocol `event:result` chunk (incremental output) carrying `text`.
fn native_chunk(id: usize, text: &str) -> String {
    format!(
        "id:{id}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{{\"content\":{},\"role\":\"assistant\"}},\"finish_reason\":\"null\"}}]}},\"usage\":{{\"total_tokens\":{},\"output_tokens\":{id},\"input_tokens\":26}},\"request_id\":\"req-native-1\"}}\n\n",
        serde_json::to_string(text).unwrap(),
        26 + id
    )
}

fn native_chunks(texts: &[&str]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| native_chunk(i + 1, t))
        .collect()
}

const PARTS: [&str; 3] = ["Hello", ", wor", "ld"];
const PARTIAL: &str = "Hello, world";

/// Forward what `r` yields, as it arrives.
#[cfg(unix)]
fn pump<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = r.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running child whose stdout and stderr are collected as they arrive (for the Ctrl-C
/// tests, Unix only).
#[cfg(unix)]
struct Live {
    child: Child,
    out: mpsc::Receiver<Vec<u8>>,
    err: mpsc::Receiver<Vec<u8>>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

#[cfg(unix)]
impl Live {
    fn spawn(cmd: &mut Command) -> Live {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn qstream");
        let out = pump(child.stdout.take().expect("stdout"));
        let err = pump(child.stderr.take().expect("stderr"));
        Live {
            child,
            out,
            err,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn collect(&mut self) {
        while let Ok(b) = self.out.try_recv() {
            self.stdout.extend_from_slice(&b);
        }
        while let Ok(b) = self.err.try_recv() {
            self.stderr.extend_from_slice(&b);
        }
    }

    /// Wait until stdout (or stderr) holds `needle`.
    fn wait_for(&mut self, on_stderr: bool, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            self.collect();
            let seen = if on_stderr {
                &self.stderr
            } else {
                &self.stdout
            };
            if String::from_utf8_lossy(seen).contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {needle:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&self.stdout),
                String::from_utf8_lossy(&self.stderr)
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Send SIGINT; wait for the exit; the output and how long the exit took.
    fn interrupt(mut self) -> (Output, Duration) {
        let start = Instant::now();
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let code = wait(&mut self.child, Duration::from_secs(5));
        let took = start.elapsed();
        for b in self.out.iter() {
            self.stdout.extend_from_slice(&b);
        }
        for b in self.err.iter() {
            self.stderr.extend_from_slice(&b);
        }
        let out = Output {
            status: code,
            stdout: String::from_utf8_lossy(&self.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&self.stderr).into_owned(),
            stdout_bytes: self.stdout,
        };
        (out, took)
    }
}

fn wait(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qstream did not exit within {within:?}");
        }
        thread::sleep(Duration::from_millis(5));
    }
}

// ---------------------------------------------------------------------------
// 1. HTTP errors before the stream
// ---------------------------------------------------------------------------

#[test]
fn compatible_401_is_an_auth_failure() {
    let server = Server::start(vec![Reply::json(
        401,
        r#"{"error":{"message":"Incorrect API key provided. ","type":"invalid_request_error","param":null,"code":"invalid_api_key"},"request_id":"req-401"}"#,
    )]);
    let record = temp_dir("401").join("rec.sse");
    let out = run(
        compat(&server).arg("--record").arg(&record).arg("hello"),
        None,
    );
    let line = failure(&out, 3);
    // The hint for keys from another region (issue 11) sits between the message and the codes.
    assert!(
        line.starts_with(
            "Incorrect API key provided: the key was sent to base URL http://127.0.0.1:"
        ),
        "{line}"
    );
    assert!(
        line.ends_with(
            "fails the same way (try --region) (invalid_api_key, HTTP 401, request_id req-401)"
        ),
        "{line}"
    );
    assert_file_has_no_secret(&record);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert_eq!(server.requests().len(), 1, "401 is not retried");
}

#[test]
fn native_403_without_body_is_an_auth_failure() {
    let server = Server::start(vec![
        Reply::status(403, "text/plain", "").header("x-request-id", "req-403")
    ]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 3);
    assert!(line.ends_with("(HTTP 403, request_id req-403)"), "{line}");
}

#[test]
fn native_arrearage_is_a_quota_failure() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"Arrearage","message":"Access denied, please make sure your account is in good standing.","request_id":"req-arrears"}"#,
    )]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 5);
    assert_eq!(
        line,
        "Access denied, please make sure your account is in good standing: the quota or balance is used up (not a rate limit: not retried) (Arrearage, HTTP 400, request_id req-arrears)"
    );
    assert_eq!(server.requests().len(), 1, "a quota failure is not retried");
}

#[test]
fn native_invalid_parameter_is_a_rejection() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"InvalidParameter","message":"Range of input length should be [1, 30720]","request_id":"req-param"}"#,
    )]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 4);
    assert_eq!(
        line,
        "Range of input length should be [1, 30720] (InvalidParameter, HTTP 400, request_id req-param)"
    );
}

#[test]
fn sse_framed_429_is_a_rate_limit() {
    let body = "id:1\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded, please try again later.\",\"request_id\":\"req-429\"}\n\n";
    let server = Server::start(vec![Reply::status(429, "text/event-stream", body)]);
    let out = run(native(&server).args(["--retries", "0", "hello"]), None);
    let line = failure(&out, 5);
    assert_eq!(
        line,
        "Requests rate limit exceeded, please try again later: too many requests per minute (RPM) for this model (Throttling.RateQuota, HTTP 429, request_id req-429)"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn html_502_from_a_proxy_is_a_server_failure_with_an_excerpt() {
    let page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let server = Server::start(vec![Reply::status(502, "text/html", page)
        .content_length()
        .header("x-request-id", "req-502")]);
    let out = run(compat(&server).args(["--retries", "0", "hello"]), None);
    let line = failure(&out, 6);
    assert!(line.contains("HTTP 502"), "{line}");
    assert!(
        line.contains("Bad Gateway"),
        "an excerpt of the page: {line}"
    );
    assert!(!line.contains('<'), "no markup: {line}");
    assert!(line.len() < 300, "a short excerpt: {line}");
    assert!(line.ends_with("(HTTP 502, request_id req-502)"), "{line}");
}

#[test]
fn not_found_is_a_rejection() {
    let server = Server::start(vec![Reply::status(404, "text/plain", "404 page not found")]);
    let out = run(compat(&server).arg("hello"), None);
    let line = failure(&out, 4);
    assert!(line.contains("HTTP 404"), "{line}");
    assert!(line.contains("404 page not found"), "{line}");
    assert_eq!(server.requests().len(), 1, "404 is not retried");

    // A JSON 404 in the compatible shape, as the service sends for an unknown model.
    let server = Server::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"The model `qwen-nope` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"},"request_id":"req-404"}"#,
    )]);
    let out = run(compat(&server).arg("hello"), None);
    let line = failure(&out, 4);
    assert!(
        line.ends_with("(model_not_found, HTTP 404, request_id req-404)"),
        "{line}"
    );
}

#[test]
fn json_mode_reports_an_http_error_as_an_error_event() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"InvalidParameter","message":"bad temperature","request_id":"req-j"}"#,
    )]);
    let out = run(native(&server).args(["--json", "hello"]), None);
    let line = failure(&out, 4);
    assert_eq!(
        line,
        "bad temperature (InvalidParameter, HTTP 400, request_id req-j)"
    );
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        events,
        vec![
            serde_json::json!({"type":"error","status":400,"code":"InvalidParameter","message":"bad temperature","request_id":"req-j"})
        ],
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// 2. Errors inside the stream
// ---------------------------------------------------------------------------

#[test]
fn native_in_stream_throttling_keeps_the_text() {
    let mut body = native_chunks(&PARTS);
    body.push_str("id:4\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded, please try again later.\",\"request_id\":\"req-native-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body.clone()).chunks(7)]);
    let dir = temp_dir("native-429");
    let record = dir.join("rec.sse");
    let out = run(
        native(&server).arg("--record").arg(&record).arg("hello"),
        None,
    );
    let line = failure(&out, 5);
    assert_eq!(
        line,
        "Requests rate limit exceeded, please try again later: too many requests per minute (RPM) for this model (Throttling.RateQuota, HTTP 429, request_id req-native-1)"
    );
    assert_eq!(out.stdout, PARTIAL);
    assert_file_has_no_secret(&record);
    assert_eq!(std::fs::read_to_string(&record).unwrap(), body);
    assert_eq!(
        server.requests().len(),
        1,
        "nothing is retried once output began"
    );
}

#[test]
fn native_in_stream_inspection_failure_is_a_rejection() {
    let mut body = native_chunks(&PARTS);
    body.push_str("id:4\nevent:error\n:HTTP_STATUS/400\ndata:{\"code\":\"DataInspectionFailed\",\"message\":\"Output data may contain inappropriate content.\",\"request_id\":\"req-native-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 4);
    assert_eq!(
        line,
        "Output data may contain inappropriate content: content inspection blocked the input or the answer (DataInspectionFailed, HTTP 400, request_id req-native-1)"
    );
    assert_eq!(out.stdout, PARTIAL);
}

#[test]
fn native_in_stream_internal_error_is_a_server_failure() {
    let mut body = native_chunks(&PARTS);
    body.push_str("id:4\nevent:error\n:HTTP_STATUS/500\ndata:{\"code\":\"InternalError.Algo\",\"message\":\"An internal error has occured during execution\",\"request_id\":\"req-native-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 6);
    assert!(
        line.ends_with("(InternalError.Algo, HTTP 500, request_id req-native-1)"),
        "{line}"
    );
    assert_eq!(out.stdout, PARTIAL);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn compatible_in_stream_error_keeps_the_text() {
    let mut body = compat_chunks(&PARTS);
    body.push_str("data: {\"error\":{\"code\":\"data_inspection_failed\",\"param\":null,\"message\":\"Output data may contain inappropriate content.\",\"type\":\"data_inspection_failed\"},\"id\":\"chatcmpl-1\",\"request_id\":\"req-compat-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body).chunks(11)]);
    let dir = temp_dir("compat-err");
    let record = dir.join("rec.sse");
    let out = run(
        compat(&server).arg("--record").arg(&record).arg("hello"),
        None,
    );
    let line = failure(&out, 4);
    assert_eq!(
        line,
        "Output data may contain inappropriate content: content inspection blocked the input or the answer (data_inspection_failed, request_id req-compat-1)"
    );
    assert_eq!(out.stdout, PARTIAL);
    assert_file_has_no_secret(&record);
}

#[test]
fn compatible_in_stream_rate_limit_is_exit_5() {
    let mut body = compat_chunks(&PARTS);
    body.push_str("data: {\"error\":{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded\",\"type\":\"Throttling.RateQuota\"},\"request_id\":\"req-compat-2\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).arg("hello"), None);
    let line = failure(&out, 5);
    assert!(
        line.starts_with(
            "Requests rate limit exceeded: too many requests per minute (RPM) for this model ("
        ),
        "{line}"
    );
    assert!(line.contains("request_id req-compat-2"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

#[test]
fn json_mode_writes_an_error_event_for_in_stream_errors() {
    // Native.
    let mut body = native_chunks(&PARTS);
    body.push_str("id:4\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded\",\"request_id\":\"req-native-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).args(["--json", "hello"]), None);
    failure(&out, 5);
    let events = json_lines(&out.stdout);
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content")
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, PARTIAL);
    let errors: Vec<_> = events.iter().filter(|e| e["type"] == "error").collect();
    assert_eq!(errors.len(), 1, "{}", out.stdout);
    assert_eq!(
        *errors[0],
        serde_json::json!({"type":"error","status":429,"code":"Throttling.RateQuota","message":"Requests rate limit exceeded","request_id":"req-native-1"})
    );

    // Compatible.
    let mut body = compat_chunks(&PARTS);
    body.push_str("data: {\"error\":{\"code\":\"data_inspection_failed\",\"message\":\"Output data may contain inappropriate content.\",\"type\":\"data_inspection_failed\"},\"request_id\":\"req-compat-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).args(["--json", "hello"]), None);
    failure(&out, 4);
    let events = json_lines(&out.stdout);
    let last = events
        .iter()
        .rfind(|e| e["type"] == "error")
        .expect("an error event");
    assert_eq!(last["code"], "data_inspection_failed");
    assert_eq!(last["request_id"], "req-compat-1");
    assert_eq!(
        events.iter().filter(|e| e["type"] == "content").count(),
        3,
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// 3. Truncated and broken streams
// ---------------------------------------------------------------------------

#[test]
fn compatible_stream_without_done_or_finish_ended_early() {
    let server = Server::start(vec![Reply::sse(compat_chunks(&PARTS))]);
    let out = run(compat(&server).arg("hello"), None);
    let line = failure(&out, 7);
    assert!(line.contains("stream ended early"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
}

#[test]
fn native_stream_without_a_real_finish_reason_ended_early() {
    let server = Server::start(vec![Reply::sse(native_chunks(&PARTS))]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 7);
    assert!(line.contains("stream ended early"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
}

#[test]
fn connection_cut_mid_chunk_keeps_the_text() {
    let body = compat_complete(&PARTS);
    // Cut in the middle of the fourth event (the finish chunk).
    let cut = compat_chunks(&PARTS).len() + 20;
    for reply in [
        Reply::sse(body.clone()).cut_after(cut),
        Reply::sse(body.clone()).cut_after(cut).content_length(),
        Reply::sse(body.clone()).chunks(9).cut_after(cut),
    ] {
        let server = Server::start(vec![reply, Reply::sse(body.clone())]);
        let out = run(compat(&server).arg("hello"), None);
        let line = failure(&out, 7);
        assert!(
            line.contains("ended early") || line.contains("closed"),
            "says the stream was cut: {line}"
        );
        assert_eq!(out.stdout, PARTIAL);
        assert_eq!(server.connections(), 1, "no retry once output began");
    }
}

#[test]
fn malformed_json_is_a_stream_failure() {
    let mut body = compat_chunks(&PARTS);
    body.push_str("data: {\"choices\":[{\"delta\":{\"content\":\"x\"\n\n");
    body.push_str(&compat_complete(&["never"]));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).arg("hello"), None);
    let line = failure(&out, 7);
    assert!(line.contains("malformed"), "{line}");
    assert_eq!(out.stdout, PARTIAL);

    let mut body = native_chunks(&PARTS);
    body.push_str("id:4\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 7);
    assert!(line.contains("malformed"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
}

/// Peak resident set size of the child in KiB, with its output.
#[cfg(target_os = "linux")]
fn run_measuring_rss(cmd: Command) -> (Output, u64) {
    if Path::new("/usr/bin/time").exists() {
        let mut timed = Command::new("/usr/bin/time");
        timed
            .arg("-f")
            .arg("peak-rss-kib %M")
            .arg(cmd.get_program());
        timed.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => timed.env(k, v),
                None => timed.env_remove(k),
            };
        }
        timed.stdin(Stdio::null());
        let mut out = run(&mut timed, None);
        let mut kept = String::new();
        let mut rss = None;
        for line in out.stderr.lines() {
            if let Some(v) = line.strip_prefix("peak-rss-kib ") {
                rss = v.trim().parse().ok();
            } else if !line.starts_with("Command exited with non-zero status")
                && !line.starts_with("Command terminated by signal")
            {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        out.stderr = kept;
        return (out, rss.expect("/usr/bin/time reported the peak RSS"));
    }
    // No /usr/bin/time: poll VmHWM while the child runs.
    let mut cmd = cmd;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn qstream");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let o = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let e = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let mut peak = 0u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            for l in s.lines() {
                if let Some(v) = l.strip_prefix("VmHWM:") {
                    let kib: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kib);
                }
            }
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "qstream did not exit");
        thread::sleep(Duration::from_millis(2));
    };
    let stdout = o.join().unwrap();
    let stderr = e.join().unwrap();
    let out = Output {
        status: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        stdout_bytes: stdout,
    };
    (out, peak)
}

#[cfg(target_os = "linux")] // GNU time or /proc
#[test]
fn a_64_mib_line_fails_cleanly_in_bounded_memory() {
    const SIZE: usize = 64 << 20;
    let mut body = Vec::with_capacity(SIZE + 16);
    body.extend_from_slice(b"data: ");
    body.resize(SIZE, b'x');
    body.extend_from_slice(b"\n\n");
    let server = Server::start(vec![Reply::sse(body).chunks(8 << 20)]);
    let mut cmd = compat(&server);
    cmd.arg("hello");
    let (out, peak_kib) = run_measuring_rss(cmd);
    let line = failure(&out, 7);
    assert!(
        line.contains("malformed") || line.contains("too long") || line.contains("longer than"),
        "{line}"
    );
    assert!(
        peak_kib < 48 * 1024,
        "peak RSS {peak_kib} KiB for a 64 MiB line (the line cap is 16 MiB)"
    );
}

// ---------------------------------------------------------------------------
// 4. Timeouts and connection failures
// ---------------------------------------------------------------------------

#[test]
fn a_stalled_stream_hits_the_idle_timeout() {
    let first = compat_chunk("Hello");
    let mut body = first.clone();
    body.push_str(&compat_complete(&["never"]));
    let server = Server::start(vec![
        Reply::sse(body).stall_after(first.len(), Duration::from_secs(6))
    ]);
    let start = Instant::now();
    let out = run_with_timeout(
        compat(&server).args(["--timeout", "1", "hello"]),
        None,
        Duration::from_secs(10),
    );
    let took = start.elapsed();
    let line = failure(&out, 7);
    assert!(line.contains("--timeout"), "{line}");
    assert_eq!(out.stdout, "Hello");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_millis(2500),
        "took {took:?}"
    );
    assert_eq!(server.connections(), 1);
}

#[test]
fn no_response_headers_hits_the_idle_timeout() {
    // A server that accepts and reads but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY).args([
        "--base-url",
        &format!("http://{addr}/compatible-mode/v1"),
        "--timeout",
        "1",
        "--retries",
        "0",
        "hello",
    ]);
    let start = Instant::now();
    let out = run_with_timeout(&mut cmd, None, Duration::from_secs(10));
    let took = start.elapsed();
    let line = failure(&out, 7);
    assert!(line.contains("--timeout"), "{line}");
    assert!(took <= Duration::from_millis(2500), "took {took:?}");
    drop(holder);
}

#[test]
fn max_time_cuts_a_slow_live_stream() {
    let texts: Vec<String> = (0..25).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let events: Vec<String> = refs.iter().map(|t| compat_chunk(t)).collect();
    let body = compat_complete(&refs);
    // One event per write, 200 ms apart: about 5 s in all.
    let server = Server::start(vec![Reply::sse(body)
        .chunks(events[0].len())
        .delay(Duration::from_millis(200))]);
    let start = Instant::now();
    let out = run_with_timeout(
        compat(&server).args(["--max-time", "1", "hello"]),
        None,
        Duration::from_secs(10),
    );
    let took = start.elapsed();
    let line = failure(&out, 7);
    assert!(line.contains("--max-time"), "{line}");
    assert!(out.stdout.starts_with("w0 w1 "), "{:?}", out.stdout);
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_millis(2500),
        "took {took:?}"
    );
}

#[test]
fn connection_refused_cannot_connect() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/compatible-mode/v1");
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .args(["--base-url", &base, "--retries", "0", "hello"]);
    let out = run(&mut cmd, None);
    let line = failure(&out, 7);
    assert!(line.starts_with("cannot connect"), "{line}");
    assert_eq!(retry_lines(&out), 0);

    // A connect failure is retried (before any output).
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .args(["--base-url", &base, "--retries", "1", "hello"]);
    let out = run(&mut cmd, None);
    let line = failure(&out, 7);
    assert!(line.starts_with("cannot connect"), "{line}");
    assert_eq!(retry_lines(&out), 1, "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// 5. Retries
// ---------------------------------------------------------------------------

fn unavailable() -> Reply {
    Reply::json(
        503,
        r#"{"error":{"message":"Service temporarily unavailable","type":"server_error","code":"ServiceUnavailable"},"request_id":"req-503"}"#,
    )
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let server = Server::start(vec![
        unavailable(),
        unavailable(),
        Reply::sse(fixture("compatible_basic.sse")).chunks(7),
    ]);
    let out = run(compat(&server).arg("hello"), None);
    ok(&out);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(retry_lines(&out), 2, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("I am a large-scale"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .ends_with("usage: input 22, output 17, total 39 tokens\n"),
        "{}",
        out.stderr
    );
    for line in out.stderr.lines().filter(|l| is_retry_line(l)) {
        assert!(line.contains("HTTP 503"), "{line}");
    }
}

#[test]
fn retry_after_is_honoured() {
    let server = Server::start(vec![
        Reply::json(
            429,
            r#"{"code":"Throttling","message":"Requests throttling triggered.","request_id":"req-ra"}"#,
        )
        .header("Retry-After", "1"),
        Reply::sse(fixture("dashscope_incremental.sse")),
    ]);
    let start = Instant::now();
    let out = run(native(&server).arg("hello"), None);
    let took = start.elapsed();
    ok(&out);
    assert!(took >= Duration::from_secs(1), "waited {took:?}");
    assert!(took < Duration::from_secs(3), "waited {took:?}");
    assert_eq!(server.requests().len(), 2);
    assert_eq!(retry_lines(&out), 1, "{}", out.stderr);
    let retry = out.stderr.lines().find(|l| is_retry_line(l)).unwrap();
    assert!(retry.contains("retrying in 1.0 s"), "{retry}");
}

#[test]
fn a_retry_after_of_over_a_minute_is_not_waited_for() {
    let server = Server::start(vec![
        Reply::json(
            429,
            r#"{"code":"Throttling.AllocationQuota","message":"Allocated quota exceeded, please increase your quota limit.","request_id":"req-long"}"#,
        )
        .header("Retry-After", "120"),
        Reply::sse(fixture("dashscope_incremental.sse")),
    ]);
    let start = Instant::now();
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 5);
    assert_eq!(
        line,
        "Allocated quota exceeded, please increase your quota limit: too many tokens per minute (TPM) for this model (Throttling.AllocationQuota, HTTP 429, request_id req-long)"
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(retry_lines(&out), 0);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_redirect_is_not_followed_nor_retried() {
    let server = Server::start(vec![
        Reply::status(301, "text/html", "<html>Moved</html>").header(
            "Location",
            "https://elsewhere.example/compatible-mode/v1/chat/completions",
        ),
        Reply::sse(fixture("compatible_basic.sse")),
    ]);
    let out = run(compat(&server).arg("hello"), None);
    // A redirect means a wrong base URL: a configuration failure.
    let line = failure(&out, 3);
    assert!(
        line.contains("https://elsewhere.example/compatible-mode/v1/chat/completions"),
        "{line}"
    );
    assert!(line.ends_with("(HTTP 301)"), "{line}");
    assert_eq!(server.connections(), 1, "neither followed nor retried");
    assert_eq!(retry_lines(&out), 0);
}

#[test]
fn no_retries_means_one_request() {
    let server = Server::start(vec![
        unavailable(),
        Reply::sse(fixture("compatible_basic.sse")),
    ]);
    let out = run(compat(&server).args(["--retries", "0", "hello"]), None);
    let line = failure(&out, 6);
    assert_eq!(
        line,
        "Service temporarily unavailable (ServiceUnavailable, HTTP 503, request_id req-503)"
    );
    assert_eq!(server.connections(), 1);
    assert_eq!(retry_lines(&out), 0);
}

#[test]
fn retries_run_out() {
    let server = Server::start(vec![unavailable(), unavailable()]);
    let out = run(compat(&server).args(["--retries", "1", "hello"]), None);
    let line = failure(&out, 6);
    assert!(line.contains("HTTP 503"), "{line}");
    assert_eq!(server.connections(), 2);
    assert_eq!(retry_lines(&out), 1);
}

#[test]
fn a_stream_cut_after_output_began_is_not_retried() {
    let body = fixture("dashscope_incremental.sse");
    let cut = body.len() / 2;
    let server = Server::start(vec![
        Reply::sse(body.clone()).chunks(64).cut_after(cut),
        Reply::sse(body),
    ]);
    let out = run(native(&server).arg("hello"), None);
    failure(&out, 7);
    assert!(out.stdout.starts_with("I am Qwen"), "{}", out.stdout);
    assert_eq!(server.connections(), 1);
}

#[test]
fn quiet_suppresses_retry_lines() {
    let server = Server::start(vec![
        unavailable(),
        Reply::sse(fixture("compatible_basic.sse")),
    ]);
    let out = run(compat(&server).args(["-q", "hello"]), None);
    ok(&out);
    assert_eq!(out.stderr, "");
    assert_eq!(server.requests().len(), 2);

    // Errors are still said under -q.
    let server = Server::start(vec![unavailable(), unavailable()]);
    let out = run(
        compat(&server).args(["-q", "--retries", "1", "hello"]),
        None,
    );
    failure(&out, 6);
    assert_eq!(retry_lines(&out), 0);
}

// ---------------------------------------------------------------------------
// 6. Ctrl-C
// ---------------------------------------------------------------------------

/// Run `cmd`, SIGINT it once `expect` is on stdout.
#[cfg(unix)]
fn interrupt(mut cmd: Command, expect: &str) -> (Output, Duration) {
    let mut live = Live::spawn(&mut cmd);
    live.wait_for(false, expect, Duration::from_secs(10));
    live.interrupt()
}

#[cfg(unix)]
fn stalling(head: &str, rest: &str) -> Reply {
    let mut body = head.to_string();
    body.push_str(rest);
    Reply::sse(body).stall_after(head.len(), Duration::from_secs(8))
}

#[cfg(unix)] // SIGINT
#[test]
fn ctrl_c_native_keeps_text_and_prints_usage() {
    let head = native_chunks(&PARTS);
    let server = Server::start(vec![stalling(&head, &native_chunk(4, "!"))]);
    let mut cmd = native(&server);
    cmd.arg("hello");
    let (out, took) = interrupt(cmd, PARTIAL);
    let line = failure(&out, 130);
    assert!(line.contains("interrupted"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
    assert!(
        out.stderr
            .contains("usage: input 26, output 3, total 29 tokens\n"),
        "{}",
        out.stderr
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[cfg(unix)] // SIGINT
#[test]
fn ctrl_c_compatible_says_usage_is_unknown() {
    let head = compat_chunks(&PARTS);
    let server = Server::start(vec![stalling(&head, &compat_complete(&["!"]))]);
    let mut cmd = compat(&server);
    cmd.arg("hello");
    let (out, took) = interrupt(cmd, PARTIAL);
    let line = failure(&out, 130);
    assert!(line.contains("interrupted"), "{line}");
    assert_eq!(out.stdout, PARTIAL);
    let usage = out
        .stderr
        .lines()
        .find(|l| l.starts_with("usage: "))
        .unwrap_or_else(|| panic!("a usage line: {}", out.stderr));
    assert!(usage.contains("unknown"), "{usage}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[cfg(unix)] // SIGINT
#[test]
fn ctrl_c_in_json_mode_writes_interrupted_then_usage() {
    let head = native_chunks(&PARTS);
    let server = Server::start(vec![stalling(&head, &native_chunk(4, "!"))]);
    let mut cmd = native(&server);
    cmd.args(["--json", "hello"]);
    let (out, took) = interrupt(cmd, "\"ld\"");
    failure(&out, 130);
    let events = json_lines(&out.stdout);
    let n = events.len();
    assert!(n >= 2, "{}", out.stdout);
    assert_eq!(events[n - 2], serde_json::json!({"type":"interrupted"}));
    assert_eq!(
        events[n - 1],
        serde_json::json!({"type":"usage","input_tokens":26,"output_tokens":3,"total_tokens":29})
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[cfg(unix)] // SIGINT
#[test]
fn ctrl_c_during_a_retry_wait_stops_at_once() {
    let throttled = || {
        Reply::json(
            429,
            r#"{"code":"Throttling","message":"Requests throttling triggered.","request_id":"req-wait"}"#,
        )
        .header("Retry-After", "30")
    };
    for json in [false, true] {
        let server = Server::start(vec![
            throttled(),
            Reply::sse(fixture("compatible_basic.sse")),
        ]);
        let mut cmd = compat(&server);
        if json {
            cmd.arg("--json");
        }
        cmd.arg("hello");
        let mut live = Live::spawn(&mut cmd);
        live.wait_for(true, "retrying in 30", Duration::from_secs(10));
        let (out, took) = live.interrupt();
        let line = failure(&out, 130);
        assert!(line.contains("interrupted"), "{line}");
        assert_eq!(retry_lines(&out), 1, "{}", out.stderr);
        assert!(took < Duration::from_secs(2), "took {took:?}");
        assert_eq!(server.connections(), 1, "no request after the interrupt");
        if json {
            assert_eq!(
                json_lines(&out.stdout),
                vec![serde_json::json!({"type":"interrupted"})],
                "{}",
                out.stdout
            );
        } else {
            assert_eq!(out.stdout, "");
        }
    }
}

// ---------------------------------------------------------------------------
// 7. The reader closes stdout
// ---------------------------------------------------------------------------

#[test]
fn closed_stdout_is_a_quiet_success() {
    let texts: Vec<String> = (0..40).map(|i| format!("word{i:02} ")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let event_len = compat_chunk(refs[0]).len();
    for (json, expect) in [(false, &b"word00 wor"[..]), (true, &b"{\"type\":\"c"[..])] {
        // One event every 50 ms: about 2 s in all.
        let server = Server::start(vec![Reply::sse(compat_complete(&refs))
            .chunks(event_len)
            .delay(Duration::from_millis(50))]);
        let mut cmd = compat(&server);
        if json {
            cmd.arg("--json");
        }
        cmd.arg("hello")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut first = [0u8; 10];
        stdout.read_exact(&mut first).expect("10 bytes");
        assert_eq!(&first[..], expect);
        drop(stdout); // as `head -c 10` does
        let start = Instant::now();
        let err = thread::spawn(move || {
            let mut v = String::new();
            let _ = stderr.read_to_string(&mut v);
            v
        });
        let code = wait(&mut child, Duration::from_secs(10));
        let took = start.elapsed();
        let err = err.join().unwrap();
        assert_eq!(code, Some(0), "stderr: {err}");
        assert_eq!(err, "");
        assert!(
            took < Duration::from_millis(1200),
            "stopped at the next write, not at the end of the stream: {took:?}"
        );
        assert_eq!(server.connections(), 1);
    }
}

// ---------------------------------------------------------------------------
// 8. Secrets
// ---------------------------------------------------------------------------

#[test]
fn plain_http_to_a_remote_host_is_refused_before_connecting() {
    // A proxy that would see any connection attempt.
    let proxy = Server::start(vec![]);
    for base in [
        "http://example.invalid/v1",
        "HTTP://Example.Invalid:8080/compatible-mode/v1",
        "http://127.0.0.1.example.invalid/v1",
        "http://localhost@example.invalid/v1",
    ] {
        let mut cmd = qstream();
        cmd.env("DASHSCOPE_API_KEY", KEY)
            .env("ALL_PROXY", proxy.url())
            .env("HTTP_PROXY", proxy.url())
            .args(["--base-url", base, "hello"]);
        let out = run(&mut cmd, None);
        let line = failure(&out, 2);
        assert!(line.contains("--allow-insecure-http"), "{base}: {line}");
        assert!(out.stdout.is_empty());
    }
    // The same through the environment and the native protocol.
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .env("ALL_PROXY", proxy.url())
        .env("DASHSCOPE_HTTP_BASE_URL", "http://example.invalid/api/v1")
        .args(["--protocol", "dashscope", "hello"]);
    let out = run(&mut cmd, None);
    let line = failure(&out, 2);
    assert!(line.contains("--allow-insecure-http"), "{line}");
    assert_eq!(proxy.connections(), 0, "nothing was sent anywhere");
}

#[test]
fn a_key_echoed_by_the_server_is_not_repeated() {
    // Some gateways echo the credential they rejected.
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}. You can find your API key at https://example.com.","type":"invalid_request_error","code":"invalid_api_key"}},"request_id":"req-echo"}}"#
    );
    for json in [false, true] {
        let server = Server::start(vec![Reply::json(401, body.clone())]);
        let mut cmd = compat(&server);
        if json {
            cmd.arg("--json");
        }
        let out = run(cmd.arg("hello"), None);
        let line = failure(&out, 3);
        assert!(line.contains("Incorrect API key provided"), "{line}");
        assert!(
            line.ends_with("(invalid_api_key, HTTP 401, request_id req-echo)"),
            "{line}"
        );
        if json {
            let events = json_lines(&out.stdout);
            assert_eq!(events.len(), 1, "{}", out.stdout);
            assert_eq!(events[0]["type"], "error");
            assert_eq!(events[0]["code"], "invalid_api_key");
        }
    }
}

#[test]
fn the_key_is_sent_but_never_recorded() {
    let server = Server::start(vec![Reply::sse(fixture("compatible_basic.sse"))]);
    let dir = temp_dir("record-secret");
    let record = dir.join("answer.sse");
    let out = run(
        compat(&server).arg("--record").arg(&record).arg("hello"),
        None,
    );
    ok(&out);
    assert_file_has_no_secret(&record);
    let req = &server.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str()),
        "the key travels only in the Authorization header"
    );
    assert!(!req.path.contains(KEY));
    assert!(!req.body_str().contains(KEY));
}

#[test]
fn a_key_echoed_inside_the_stream_is_not_repeated() {
    let mut body = native_chunks(&PARTS);
    body.push_str(&format!(
        "id:4\nevent:error\n:HTTP_STATUS/401\ndata:{{\"code\":\"InvalidApiKey\",\"message\":\"key {KEY} was revoked\",\"request_id\":\"req-revoked\"}}\n\n"
    ));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hello"), None);
    let line = failure(&out, 3);
    assert!(
        line.starts_with("key [redacted] was revoked: the key was sent to "),
        "{line}"
    );
    assert!(
        line.ends_with("(InvalidApiKey, HTTP 401, request_id req-revoked)"),
        "{line}"
    );
    assert_eq!(out.stdout, PARTIAL);

    let mut body = compat_chunks(&PARTS);
    body.push_str(&format!(
        "data: {{\"error\":{{\"message\":\"bad key {KEY}\",\"code\":\"invalid_api_key\"}}}}\n\n"
    ));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).args(["--json", "hello"]), None);
    let line = failure(&out, 3);
    assert!(
        line.starts_with("bad key [redacted]: the key was sent to "),
        "{line}"
    );
    assert!(line.ends_with("(try --region) (invalid_api_key)"), "{line}");
    let events = json_lines(&out.stdout);
    assert_eq!(
        events.last(),
        Some(
            &serde_json::json!({"type":"error","code":"invalid_api_key","message":"bad key [redacted]"})
        )
    );
}

#[test]
fn raw_mode_still_exits_with_the_code_of_an_error_event() {
    let dir = temp_dir("raw-error");
    let path = dir.join("err.sse");
    std::fs::write(
        &path,
        "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":\"null\"}]}}\n\n\
         id:2\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":\"slow down\",\"request_id\":\"r-raw\"}\n\n",
    )
    .expect("write");
    let out = run(qstream().args(["--raw", "--replay"]).arg(&path), None);
    assert_eq!(out.status, Some(5), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 2, "both events printed first");
    assert_eq!(
        out.stderr,
        "qstream: slow down: too many requests per minute (RPM) for this model (Throttling.RateQuota, HTTP 429, request_id r-raw)\n"
    );
    std::fs::write(
        &path,
        "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"message\":\"bad\",\"code\":\"InvalidParameter\"}}\n\n",
    )
    .expect("write");
    let out = run(qstream().args(["--raw", "--replay"]).arg(&path), None);
    assert_eq!(out.status, Some(4), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// 7. Bulk streams: reads of 64 KiB and more move reading to a read-ahead thread
// ---------------------------------------------------------------------------

/// `n` numbered pieces of text and their native stream: about 330 bytes per chunk, so 1,000
/// chunks are well over the 64 KiB after which qstream reads ahead on a thread.
fn bulk(n: usize) -> (String, String) {
    let pieces: Vec<String> = (0..n).map(|i| format!("<{i}> ")).collect();
    let texts: Vec<&str> = pieces.iter().map(String::as_str).collect();
    (pieces.concat(), native_chunks(&texts))
}

#[test]
fn bulk_stream_whole_over_the_network_is_exact() {
    let (text, mut body) = bulk(3000);
    body.push_str(&native_chunk(3001, "").replace("\"null\"", "\"stop\""));
    let server = Server::start(vec![Reply::sse(body)]);
    let mut cmd = native(&server);
    cmd.arg("hello");
    let out = run(&mut cmd, None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, text);
    assert!(
        out.stderr
            .contains("usage: input 26, output 3001, total 3027 tokens"),
        "{}",
        out.stderr
    );
}

#[test]
fn bulk_replay_of_a_file_is_exact_in_every_mode() {
    // A file read fills the whole 256 KiB buffer: the read-ahead thread always takes over.
    let (text, mut body) = bulk(5000);
    body.push_str(&native_chunk(5001, "").replace("\"null\"", "\"stop\""));
    assert!(body.len() > 1 << 20);
    let dir = temp_dir("bulk-replay");
    let path = dir.join("bulk.sse");
    std::fs::write(&path, &body).expect("write the recording");
    let out = run(qstream().arg("--replay").arg(&path), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, text);
    let out = run(qstream().args(["--json", "--replay"]).arg(&path), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let events = json_lines(&out.stdout);
    assert_eq!(events.len(), 5000 + 2, "5000 contents, finish, usage");
    assert_eq!(
        events[4999],
        serde_json::json!({"type":"content","text":"<4999> "})
    );
    let out = run(qstream().args(["--raw", "--replay"]).arg(&path), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 5001);
}

#[test]
fn bulk_stream_cut_after_a_megabyte_keeps_every_whole_chunk() {
    let (_, body) = bulk(5000);
    let chunk_len = native_chunk(1, "<0> ").len();
    // Cut in the middle of chunk 4001 (it is longer than chunk 1, whose length is used).
    let cut = body
        .match_indices("id:4001\n")
        .next()
        .map(|(i, _)| i + chunk_len / 2)
        .expect("chunk 4001");
    let server = Server::start(vec![Reply::sse(body).cut_after(cut)]);
    let mut cmd = native(&server);
    cmd.arg("hello");
    let out = run(&mut cmd, None);
    let line = failure(&out, 7);
    assert!(
        line.contains("ended early") || line.contains("connection"),
        "{line}"
    );
    let want: String = (0..4000).map(|i| format!("<{i}> ")).collect();
    assert_eq!(out.stdout, want);
}

#[cfg(unix)] // SIGINT
#[test]
fn ctrl_c_while_reading_ahead_keeps_the_text_and_stops_at_once() {
    let (text, body) = bulk(3000);
    let server = Server::start(vec![stalling(&body, &native_chunk(3001, "!"))]);
    let mut cmd = native(&server);
    cmd.arg("hello");
    let (out, took) = interrupt(cmd, "<2999> ");
    let line = failure(&out, 130);
    assert!(line.contains("interrupted"), "{line}");
    assert_eq!(out.stdout, text);
    assert!(
        out.stderr
            .contains("usage: input 26, output 3000, total 3026 tokens"),
        "{}",
        out.stderr
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
