//! Self-test for the loopback test server in `tests/common`.

mod common;

use common::{Reply, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A parsed raw HTTP response.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    /// Sizes of the HTTP chunks, in order (chunked responses only).
    chunk_sizes: Vec<usize>,
    body: Vec<u8>,
    /// Whether the terminating `0\r\n\r\n` was seen (chunked responses only).
    terminated: bool,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn send(server: &Server, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    raw
}

fn parse(raw: &[u8]) -> RawResponse {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of head");
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
    let status: u16 = status_line[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let rest = &raw[end + 4..];
    let mut resp = RawResponse {
        status,
        headers,
        chunk_sizes: Vec::new(),
        body: Vec::new(),
        terminated: false,
    };
    if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        let mut pos = 0;
        while pos < rest.len() {
            let nl = rest[pos..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size line")
                + pos;
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[pos..nl]).unwrap(), 16).unwrap();
            pos = nl + 2;
            if size == 0 {
                assert_eq!(&rest[pos..], b"\r\n", "after last chunk");
                resp.terminated = true;
                break;
            }
            resp.chunk_sizes.push(size);
            resp.body.extend_from_slice(&rest[pos..pos + size]);
            pos += size;
            assert_eq!(&rest[pos..pos + 2], b"\r\n", "chunk trailer CRLF");
            pos += 2;
        }
    } else {
        resp.body = rest.to_vec();
    }
    resp
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const BODY: &str = "data: {\"a\":1}\n\ndata: [DONE]\n\n"; // 29 bytes

#[test]
fn chunked_framing_chunk_size_7() {
    let server = Server::start(vec![Reply::sse(BODY).chunks(7)]);
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    assert_eq!(resp.header("connection"), Some("close"));
    assert_eq!(resp.header("content-length"), None);
    assert_eq!(resp.chunk_sizes, vec![7, 7, 7, 7, 1]);
    assert!(resp.terminated);
    assert_eq!(resp.body, BODY.as_bytes());
    assert_eq!(server.connections(), 1);
}

#[test]
fn chunked_framing_chunk_size_1() {
    let server = Server::start(vec![Reply::sse(BODY).chunks(1)]);
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.chunk_sizes, vec![1; BODY.len()]);
    assert!(resp.terminated);
    assert_eq!(resp.body, BODY.as_bytes());
}

#[test]
fn whole_body_single_chunk_by_default() {
    let server = Server::start(vec![Reply::sse(BODY)]);
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.chunk_sizes, vec![BODY.len()]);
    assert!(resp.terminated);
}

#[test]
fn content_length_mode() {
    let server = Server::start(vec![Reply::status(404, "application/json", "{\"x\":1}")
        .content_length()
        .chunks(2)
        .header("X-Extra", "yes")]);
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("content-length"), Some("7"));
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.header("x-extra"), Some("yes"));
    assert_eq!(resp.body, b"{\"x\":1}");
}

#[test]
fn header_setter_replaces_same_name() {
    let server = Server::start(vec![Reply::sse(BODY).header("content-type", "text/plain")]);
    let resp = parse(&send(&server, GET));
    let n = resp
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .count();
    assert_eq!(n, 1);
    assert_eq!(resp.header("content-type"), Some("text/plain"));
}

#[test]
fn records_request_with_content_length_body() {
    let server = Server::start(vec![Reply::sse(BODY)]);
    let body = r#"{"model":"qwen-plus","stream":true}"#;
    let req = format!(
        "POST /compatible-mode/v1/chat/completions?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer sk-test\r\nContent-Type: application/json\r\n\
         X-DashScope-SSE: enable\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = parse(&send(&server, req.as_bytes()));
    assert_eq!(resp.status, 200);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/compatible-mode/v1/chat/completions?x=1");
    assert_eq!(r.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(r.header("X-DashScope-SSE"), Some("enable"));
    assert!(r.headers.iter().any(|(k, _)| k == "x-dashscope-sse"));
    assert_eq!(r.header("missing"), None);
    assert_eq!(r.body, body.as_bytes());
    let json = r.json();
    assert_eq!(json["model"], "qwen-plus");
    assert_eq!(json["stream"], true);
}

#[test]
fn records_chunked_request_body() {
    let server = Server::start(vec![Reply::sse(BODY)]);
    let req = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n";
    let resp = parse(&send(&server, req));
    assert_eq!(resp.status, 200);
    let reqs = server.requests();
    assert_eq!(reqs[0].body, b"{\"a\":1}");
    assert_eq!(reqs[0].json()["a"], 1);
}

#[test]
fn cut_after_closes_without_terminator() {
    let server = Server::start(vec![Reply::sse(BODY).chunks(7).cut_after(10)]);
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.chunk_sizes, vec![7, 3]);
    assert!(!resp.terminated, "no terminating 0-chunk after cut");
    assert_eq!(resp.body, &BODY.as_bytes()[..10]);
}

#[test]
fn cut_after_in_content_length_mode_sends_short_body() {
    let server = Server::start(vec![Reply::sse(BODY).content_length().cut_after(5)]);
    let resp = parse(&send(&server, GET));
    assert_eq!(
        resp.header("content-length"),
        Some(BODY.len().to_string().as_str())
    );
    assert_eq!(resp.body, &BODY.as_bytes()[..5]);
}

#[test]
fn stall_after_pauses_mid_body() {
    let stall = Duration::from_millis(300);
    let server = Server::start(vec![Reply::sse(BODY).stall_after(4, stall)]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(GET).unwrap();
    // Read until the first 4 body bytes have arrived, then time the rest.
    let mut raw = Vec::new();
    let mut buf = [0u8; 256];
    while !raw.windows(7).any(|w| w == b"4\r\ndata") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "EOF before first piece");
        raw.extend_from_slice(&buf[..n]);
    }
    let t = Instant::now();
    s.read_to_end(&mut raw).unwrap();
    assert!(
        t.elapsed() >= stall - Duration::from_millis(50),
        "{:?}",
        t.elapsed()
    );
    let resp = parse(&raw);
    assert_eq!(resp.chunk_sizes, vec![4, BODY.len() - 4]);
    assert!(resp.terminated);
    assert_eq!(resp.body, BODY.as_bytes());
}

#[test]
fn delay_between_chunks() {
    let server = Server::start(vec![Reply::sse("abcdef")
        .chunks(2)
        .delay(Duration::from_millis(100))]);
    let t = Instant::now();
    let resp = parse(&send(&server, GET));
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(resp.chunk_sizes, vec![2, 2, 2]);
}

#[test]
fn replies_in_order_then_500() {
    let server = Server::start(vec![
        Reply::status(429, "application/json", "{}"),
        Reply::sse(BODY),
    ]);
    assert_eq!(parse(&send(&server, GET)).status, 429);
    assert_eq!(parse(&send(&server, GET)).status, 200);
    let third = parse(&send(&server, b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_eq!(third.status, 500);
    assert_eq!(third.body, b"no more replies");
    assert_eq!(server.connections(), 3);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/", "/", "/again"]);
    assert!(server.url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        server.url(),
        format!("http://127.0.0.1:{}", server.addr.port())
    );
}

#[test]
fn client_going_away_does_not_break_server() {
    let server = Server::start(vec![
        Reply::sse(vec![b'x'; 1 << 20])
            .chunks(1024)
            .delay(Duration::from_millis(1)),
        Reply::sse(BODY),
    ]);
    {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(GET).unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).unwrap();
        // Dropped mid-stream.
    }
    let resp = parse(&send(&server, GET));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, BODY.as_bytes());
}

#[test]
fn drop_does_not_hang() {
    let t = Instant::now();
    let server = Server::start(vec![Reply::sse(BODY)]);
    drop(server);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[test]
fn fixtures_and_temp_dirs() {
    assert!(!common::fixture("compatible_basic.sse").is_empty());
    let a = common::temp_dir("self test");
    let b = common::temp_dir("self test");
    assert_ne!(a, b);
    assert!(a.is_dir() && b.is_dir());
    assert_eq!(std::fs::read_dir(&a).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn run_pipes_stdin_and_collects_output() {
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "cat; echo err >&2; exit 3"]);
    let out = common::run(&mut cmd, Some(b"hello\n"));
    assert_eq!(out.status, Some(3));
    assert_eq!(out.stdout, "hello\n");
    assert_eq!(out.stdout_bytes, b"hello\n");
    assert_eq!(out.stderr, "err\n");
}

#[test]
fn qstream_command_has_scrubbed_env() {
    let cmd = common::qstream();
    let envs: Vec<_> = cmd.get_envs().collect();
    let home = envs
        .iter()
        .find(|(k, _)| *k == "HOME")
        .and_then(|(_, v)| *v)
        .expect("HOME set");
    let home = std::path::Path::new(home);
    assert!(home.is_dir());
    assert!(!home.join(".dashscope").exists());
    for var in ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "ALL_PROXY"] {
        assert!(
            envs.iter().any(|(k, v)| *k == var && v.is_none()),
            "{var} not removed"
        );
    }
}
