//! Shared support for integration tests: a scripted loopback HTTP/1.1 server
//! and helpers for running the `qstream` binary in a clean environment.
//!
//! Only std (plus `serde_json`, a normal dependency of the crate) is used.
#![allow(dead_code)]

pub mod many;
#[cfg(unix)]
pub mod pty;

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a connection may take to deliver its request before the server gives up on it.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for the request line plus headers.
const MAX_HEAD_BYTES: usize = 1 << 20;
/// How long `run` waits for the child before killing it and failing the test.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Scripted replies
// ---------------------------------------------------------------------------

/// One scripted HTTP response, served to exactly one connection.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Bytes per write (each write is its own HTTP chunk when `chunked`); 0 = whole body in one write.
    pub chunk_size: usize,
    /// Sleep between consecutive body writes.
    pub delay: Duration,
    /// `Transfer-Encoding: chunked` (default) vs `Content-Length`.
    pub chunked: bool,
    /// Close the socket after this many body bytes, without finishing the body
    /// (no terminating 0-chunk / fewer bytes than Content-Length).
    pub cut_after: Option<usize>,
    /// After this many body bytes, sleep this long before continuing.
    pub stall_after: Option<(usize, Duration)>,
    /// The body already holds its chunked framing (possibly broken on purpose): sent as it
    /// is, with `Transfer-Encoding: chunked`.
    pub prechunked: bool,
}

impl Reply {
    /// 200, `Content-Type: text/event-stream`, chunked, whole body in one chunk.
    pub fn sse(body: impl Into<Vec<u8>>) -> Self {
        Reply::status(200, "text/event-stream", body)
    }

    /// Any status with the given content type (chunked by default).
    pub fn status(code: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status: code,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: body.into(),
            chunk_size: 0,
            delay: Duration::ZERO,
            chunked: true,
            cut_after: None,
            stall_after: None,
            prechunked: false,
        }
    }

    /// Shorthand for `Reply::status(code, "application/json", body).content_length()`.
    pub fn json(code: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply::status(code, "application/json", body).content_length()
    }

    /// Write the body `n` bytes at a time (each write is a separate HTTP chunk).
    pub fn chunks(mut self, n: usize) -> Self {
        self.chunk_size = n;
        self
    }

    /// Sleep `d` between body writes.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Set a response header, replacing any existing header of the same name
    /// (case-insensitive). Setting `Content-Length` or `Transfer-Encoding`
    /// explicitly suppresses the automatic one (useful for lying framing).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
        self
    }

    /// Use `Content-Length: <body.len()>` instead of chunked encoding.
    pub fn content_length(mut self) -> Self {
        self.chunked = false;
        self
    }

    /// The body is chunked framing made by the test: write it as it is, after a
    /// `Transfer-Encoding: chunked` head.
    pub fn prechunked(mut self) -> Self {
        self.prechunked = true;
        self.chunked = false;
        self
    }

    /// Abruptly close the connection after `n` body bytes.
    pub fn cut_after(mut self, n: usize) -> Self {
        self.cut_after = Some(n);
        self
    }

    /// After `n` body bytes, pause for `d` before sending the rest.
    pub fn stall_after(mut self, n: usize, d: Duration) -> Self {
        self.stall_after = Some((n, d));
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

// ---------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------

/// A request as received by the test server.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub method: String,
    /// Request target as sent (path plus query string).
    pub path: String,
    /// Header names are lowercased; values are trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics (failing the test) if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "request body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// Chooses the reply to a request once it has been read (a stateful stand-in of an API).
pub type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    replies: VecDeque<Reply>,
    /// When set, every request is answered by it and `replies` is not used.
    handler: Option<Handler>,
    /// One slot per accepted connection, in acceptance order; filled once the
    /// request has been parsed.
    slots: Vec<Option<Recorded>>,
    connections: usize,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loopback HTTP/1.1 server that answers the n-th connection with the n-th
/// scripted [`Reply`] (one request per connection, `Connection: close`).
/// Once the replies run out it answers `500 no more replies`.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Bind 127.0.0.1:0 and start serving in the background.
    pub fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("set listener non-blocking");
        let addr = listener.local_addr().expect("listener local_addr");
        let state = Arc::new(Mutex::new(State {
            replies: replies.into(),
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name(format!("test-server-{}", addr.port()))
                .spawn(move || accept_loop(listener, state, stop))
                .expect("spawn server thread")
        };
        Server {
            addr,
            state,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    /// Like `start`, but each request is answered by `handler`, called with the request once
    /// it has been read (routing by method and path, state kept by the handler).
    pub fn routed(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        let server = Server::start(Vec::new());
        lock(&server.state).handler = Some(Arc::new(handler));
        server
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests fully received so far, in connection-acceptance order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).slots.iter().flatten().cloned().collect()
    }

    /// Number of connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// Number of scripted replies not yet handed out.
    pub fn replies_left(&self) -> usize {
        lock(&self.state).replies.len()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
        // Connection threads are detached; they finish (or time out) on their own.
    }
}

fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let (index, reply) = {
                    let mut st = lock(&state);
                    st.connections += 1;
                    st.slots.push(None);
                    (st.slots.len() - 1, st.replies.pop_front())
                };
                let state = Arc::clone(&state);
                let spawned = thread::Builder::new()
                    .name(format!("test-conn-{index}"))
                    .spawn(move || handle_connection(stream, index, reply, &state));
                // If spawning fails the stream is dropped; the client sees a closed socket.
                let _ = spawned;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn handle_connection(
    mut stream: TcpStream,
    index: usize,
    reply: Option<Reply>,
    state: &Mutex<State>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(REQUEST_READ_TIMEOUT));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let handler = lock(state).handler.clone();
    let reply = match handler {
        Some(h) => Some(h(&request)),
        None => reply,
    };
    if let Some(slot) = lock(state).slots.get_mut(index) {
        *slot = Some(request);
    }
    let reply = reply
        .unwrap_or_else(|| Reply::status(500, "text/plain", "no more replies").content_length());
    // Errors mean the client went away; that is never a server failure.
    let _ = write_reply(&mut stream, &reply);
}

// ---------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------

/// Minimal buffered reader that lets us read the head, then exact byte counts.
struct Conn<'a> {
    stream: &'a mut TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

impl Conn<'_> {
    /// Read more data into the buffer; `Ok(false)` on EOF.
    fn fill(&mut self) -> io::Result<bool> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut tmp = [0u8; 8192];
        let n = self.stream.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n > 0)
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Read everything up to and including `\r\n\r\n`; returns the head without it.
    fn read_head(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = find(self.pending(), b"\r\n\r\n") {
                let head = self.pending()[..i].to_vec();
                self.pos += i + 4;
                return Ok(Some(head));
            }
            if self.pending().len() > MAX_HEAD_BYTES || !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Read one line terminated by `\n` (the `\r\n` is stripped).
    fn read_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.pending().iter().position(|&b| b == b'\n') {
                let mut line = self.pending()[..i].to_vec();
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            if self.pending().len() > MAX_HEAD_BYTES || !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn read_exact(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.pending().len() < n {
            if !self.fill()? {
                return Ok(None);
            }
        }
        let out = self.pending()[..n].to_vec();
        self.pos += n;
        Ok(Some(out))
    }

    fn read_chunked(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut body = Vec::new();
        loop {
            let Some(line) = self.read_line()? else {
                return Ok(None);
            };
            let line = String::from_utf8_lossy(&line);
            let size_str = line.split(';').next().unwrap_or("").trim();
            let Ok(size) = usize::from_str_radix(size_str, 16) else {
                return Ok(None);
            };
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    match self.read_line()? {
                        Some(l) if l.is_empty() => return Ok(Some(body)),
                        Some(_) => {}
                        None => return Ok(Some(body)),
                    }
                }
            }
            let Some(data) = self.read_exact(size)? else {
                return Ok(None);
            };
            body.extend_from_slice(&data);
            if self.read_line()?.is_none() {
                return Ok(None);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        pos: 0,
    };
    let head = conn.read_head().ok()??;
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let mut recorded = Recorded {
        method,
        path,
        headers,
        body: Vec::new(),
    };

    if recorded
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = conn.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        let _ = conn.stream.flush();
    }

    let chunked = recorded
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        recorded.body = conn.read_chunked().ok()??;
    } else if let Some(len) = recorded.header("content-length") {
        let len: usize = len.trim().parse().ok()?;
        recorded.body = conn.read_exact(len).ok()??;
    }
    Some(recorded)
}

// ---------------------------------------------------------------------------
// Response writing
// ---------------------------------------------------------------------------

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_reply(stream: &mut TcpStream, reply: &Reply) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if reply.prechunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    } else if reply.chunked {
        if !reply.has_header("transfer-encoding") {
            head.push_str("Transfer-Encoding: chunked\r\n");
        }
    } else if !reply.has_header("content-length") {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    if !reply.has_header("connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()?;

    let body = &reply.body;
    let len = body.len();
    let stall = reply.stall_after;
    let mut stalled = false;
    let mut pos = 0usize;
    let mut first = true;
    loop {
        if let Some((at, d)) = stall {
            if !stalled && pos >= at {
                stalled = true;
                thread::sleep(d);
            }
        }
        if let Some(cut) = reply.cut_after {
            if pos >= cut {
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(());
            }
        }
        if pos >= len {
            break;
        }
        if !first && !reply.delay.is_zero() {
            thread::sleep(reply.delay);
        }
        first = false;

        let mut end = if reply.chunk_size == 0 {
            len
        } else {
            (pos + reply.chunk_size).min(len)
        };
        if let Some((at, _)) = stall {
            if !stalled && at > pos && at < end {
                end = at;
            }
        }
        if let Some(cut) = reply.cut_after {
            if cut > pos && cut < end {
                end = cut;
            }
        }
        let piece = &body[pos..end];
        if reply.chunked {
            let mut frame = format!("{:x}\r\n", piece.len()).into_bytes();
            frame.extend_from_slice(piece);
            frame.extend_from_slice(b"\r\n");
            stream.write_all(&frame)?;
        } else {
            stream.write_all(piece)?;
        }
        stream.flush()?;
        pos = end;
    }
    if reply.chunked {
        stream.write_all(b"0\r\n\r\n")?;
    }
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

/// Environment variables (besides any `DASHSCOPE_*` / `QSTREAM_*`) removed for the child.
const SCRUBBED_VARS: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "XDG_CONFIG_HOME",
];

/// `Command` for the `qstream` binary with a scrubbed environment: no
/// `DASHSCOPE_*`, `QSTREAM_*` or proxy variables, `HOME` (and `USERPROFILE`)
/// pointing at a fresh empty directory, stdin null.
pub fn qstream() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qstream"));
    for (key, _) in std::env::vars_os() {
        let upper = key.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("DASHSCOPE_") || upper.starts_with("QSTREAM_") {
            cmd.env_remove(&key);
        }
    }
    for key in SCRUBBED_VARS {
        cmd.env_remove(key);
    }
    let home = temp_dir("home");
    cmd.env("HOME", &home);
    cmd.env("USERPROFILE", &home);
    cmd.stdin(Stdio::null());
    cmd
}

/// The binary against `server` over the compatible protocol, with `key` as the API key.
pub fn compat_with_key(server: &Server, key: &str) -> Command {
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", key)
        .arg("--base-url")
        .arg(format!("{}/compatible-mode/v1", server.url()));
    cmd
}

/// The binary against `server` over the DashScope-native protocol, with `key` as the API key.
pub fn native_with_key(server: &Server, key: &str) -> Command {
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", key)
        .args(["--protocol", "dashscope", "--base-url"])
        .arg(format!("{}/api/v1", server.url()));
    cmd
}

/// Collected result of a finished child process.
#[derive(Clone, Debug)]
pub struct Output {
    /// Exit code; `None` if killed by a signal.
    pub status: Option<i32>,
    /// stdout, lossy UTF-8.
    pub stdout: String,
    /// stderr, lossy UTF-8.
    pub stderr: String,
    /// stdout, raw bytes.
    pub stdout_bytes: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// Spawn `cmd` (stdout/stderr piped), write `stdin` if given and close it,
/// wait for exit and collect output. Panics if the child runs longer than
/// [`RUN_TIMEOUT`].
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    run_with_timeout(cmd, stdin, RUN_TIMEOUT)
}

/// Like [`run`] with an explicit timeout (the child is killed and the test fails).
pub fn run_with_timeout(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn qstream binary");

    let writer = stdin.map(|data| {
        let data = data.to_vec();
        let mut pipe = child.stdin.take().expect("child stdin");
        thread::spawn(move || {
            // The child may exit without reading stdin; ignore EPIPE.
            let _ = pipe.write_all(&data);
            drop(pipe);
        })
    });
    let stdout = reader_thread(child.stdout.take());
    let stderr = reader_thread(child.stderr.take());

    let status = wait_deadline(&mut child, timeout);
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout_bytes = stdout.join().unwrap_or_default();
    let stderr_bytes = stderr.join().unwrap_or_default();
    let out = Output {
        status: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stderr: String::from_utf8_lossy(&stderr_bytes).into_owned(),
        stdout_bytes,
    };
    if status.is_none() {
        panic!(
            "qstream did not exit within {timeout:?}; killed.\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.stdout, out.stderr
        );
    }
    out
}

fn reader_thread<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    })
}

/// Wait for the child until `timeout`; on timeout kill it and return `None`.
fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// Contents of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
}

/// A fresh, empty, uniquely named directory under `std::env::temp_dir()`.
pub fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = std::env::temp_dir().join(format!(
        "qstream-test-{tag}-{}-{n}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("create temp dir {}: {e}", dir.display()));
    dir
}
