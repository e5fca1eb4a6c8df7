//! A loopback SSE generator for the benchmarks (issue 6, `scripts/bench`, BENCHMARKS.md).
//!
//! Per connection it reads one HTTP/1.1 request (head and `Content-Length` body), then streams a
//! generated chat answer with chunked transfer encoding, in the shape of the recordings in
//! `tests/fixtures/`, and closes the connection. Only std; listens on 127.0.0.1 only.
//!
//! ```text
//! cargo run --release --example stream_server -- --port 0 --protocol compatible --requests 1
//! ```
//!
//! Flags (all optional):
//!
//! - `--port N`            0 (default) picks a free port; the port is always the first stdout line
//! - `--protocol P`        `compatible` (default) or `dashscope`
//! - `--deltas N`          deltas per stream (default 200000)
//! - `--delta-bytes N`     content bytes per delta (default 18: a compatible stream of 200,000
//!   deltas is then 47 MB, 235 bytes an event)
//! - `--interval-ms N`     0 (default): as fast as possible, several events per multi-KiB write;
//!   else one event per write every N ms, its content ending in `[t=MICROS]`, the send time in
//!   microseconds since the UNIX epoch, taken just before the write
//! - `--cumulative`        dashscope `incremental_output: false`: each chunk repeats all text so far
//! - `--markdown`          the deltas cycle through a markdown answer (for `--render`)
//! - `--chunk-bytes N`     write size when the interval is 0 (default 16384)
//! - `--requests N`        serve N requests, then exit (default 1)
//! - `--max-seconds N`     hard cap on the server's life (default 600), whatever the clients do
//!
//! A short summary of each stream goes to stderr. The generator itself (`Generator`) is also
//! used by `benches/decode.rs`, so the benchmark decodes the very bytes the server sends.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which wire format to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Compatible,
    DashScope,
}

/// What one generated stream looks like.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub wire: Wire,
    pub deltas: u64,
    pub delta_bytes: usize,
    /// DashScope only: every chunk repeats all the text so far.
    pub cumulative: bool,
}

/// Text the deltas are cut from: English-looking, ASCII, with a newline now and then (sent
/// JSON-escaped, as a real answer's would be).
const SOURCE: &str = "Server-sent events let a server push a stream of text to a client over one \
long HTTP response. Each event is a few lines of the form field: value, ended by a blank line. \
A streaming chat model sends one event per token or two, so a long answer is many thousands of \
small events, and a client that spends a millisecond on each falls far behind the model.\n\
The reader should see every piece of the answer the moment it arrives, and the client should \
add nothing measurable between the socket and the terminal: no per-event allocation, no extra \
copies, one write for a burst of events, and no flush more often than the input allows.\n\n";

/// `--markdown`: an answer of the kind a terminal renders (headings, lists, a table, code in
/// several languages), lines shorter than 80 columns.
const MARKDOWN: &str = "## Reading a stream\n\nA **streaming** answer arrives in *small* pieces; see [the spec](https://html.spec.whatwg.org).\n\
- parse each `data:` line\n  - join multi-line data\n  - dispatch on a blank line\n1. read\n2. decode\n\n\
> Never block on the terminal.\n\n| step | cost | note |\n|:-----|-----:|:----:|\n| read | 1 | socket |\n\
| decode | 2 | `json` |\n| write | 1 | **tty** |\n\n```python\ndef events(lines):\n    buf = []\n\
    for line in lines:  # one at a time\n        if not line:\n            yield \"\\n\".join(buf)\n\
            buf = []\n```\n\n```rust\nfn main() {\n    let n: u64 = 42; // the answer\n\
    println!(\"{n}\");\n}\n```\n\n```bash\nfor f in *.sse; do wc -l \"$f\"; done\n```\n\n---\n\n\
```json\n{\"type\": \"content\", \"text\": \"hi\"}\n```\n\n";

const COMPAT_HEAD: &[u8] = br#"data: {"choices":[{"delta":{"content":""#;
const COMPAT_TAIL: &[u8] = br#""},"finish_reason":null,"index":0}],"object":"chat.completion.chunk","usage":null,"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f-fdd4-94c6-b179-8f576ad653a8"}"#;
const COMPAT_FIRST: &[u8] = br#"data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"object":"chat.completion.chunk","usage":null,"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f-fdd4-94c6-b179-8f576ad653a8"}"#;
const COMPAT_STOP: &[u8] = br#"data: {"choices":[{"finish_reason":"stop","delta":{"content":""},"index":0}],"object":"chat.completion.chunk","usage":null,"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f-fdd4-94c6-b179-8f576ad653a8"}"#;
const COMPAT_USAGE_HEAD: &[u8] =
    br#"data: {"choices":[],"object":"chat.completion.chunk","usage":{"prompt_tokens":26,"completion_tokens":"#;
const COMPAT_USAGE_TAIL: &[u8] = br#"},"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f-fdd4-94c6-b179-8f576ad653a8"}"#;

const DS_HEAD: &[u8] = br#"data:{"output":{"choices":[{"message":{"content":""#;
const DS_MID: &[u8] = br#"","role":"assistant"},"finish_reason":""#;
const DS_USAGE: &[u8] = br#""}]},"usage":{"total_tokens":"#;
const DS_TAIL: &[u8] = br#","input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}"#;

const INPUT_TOKENS: u64 = 26;

/// Produces one stream event by event. Deterministic: the same spec gives the same bytes.
pub struct Generator {
    spec: StreamSpec,
    /// The source text twice over, so any `delta_bytes`-long window is one slice.
    source: Vec<u8>,
    /// The next delta to send (0-based); `deltas` means the deltas are done.
    next: u64,
    /// Where the next delta's text starts in `source`.
    offset: usize,
    /// Cumulative mode: all text so far, JSON-escaped.
    all: Vec<u8>,
    stage: Stage,
    /// Length of the text the deltas cycle through.
    period: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    First,
    Deltas,
    Usage,
    Done,
    Finished,
}

impl Generator {
    pub fn new(spec: StreamSpec) -> Self {
        Generator::with_text(spec, SOURCE)
    }

    /// A generator whose deltas cycle through `text` instead of the default prose.
    pub fn with_text(spec: StreamSpec, text: &str) -> Self {
        let mut source = Vec::new();
        while source.len() < spec.delta_bytes.max(1) * 2 + text.len() {
            source.extend_from_slice(text.as_bytes());
        }
        let stage = match spec.wire {
            Wire::Compatible => Stage::First,
            Wire::DashScope => Stage::Deltas,
        };
        Generator {
            spec,
            source,
            next: 0,
            offset: 0,
            all: Vec::new(),
            stage,
            period: text.len(),
        }
    }

    /// The whole stream in one buffer.
    pub fn body(spec: StreamSpec) -> Vec<u8> {
        let mut g = Generator::new(spec);
        let mut out = Vec::new();
        while g.next_event(&mut out, None) {}
        out
    }

    /// How many deltas the stream carries.
    pub fn deltas(&self) -> u64 {
        self.spec.deltas
    }

    /// Whether the event `next_event` would write next is a delta (one that may carry a stamp).
    pub fn at_delta(&self) -> bool {
        self.stage == Stage::Deltas && self.next < self.spec.deltas
    }

    /// Append the next event to `out`; false once the stream is complete (nothing appended).
    /// `stamp`, when given, is appended to a delta's text as `[t=STAMP]`.
    pub fn next_event(&mut self, out: &mut Vec<u8>, stamp: Option<u64>) -> bool {
        match (self.spec.wire, self.stage) {
            (_, Stage::Finished) => return false,
            (Wire::Compatible, Stage::First) => {
                out.extend_from_slice(COMPAT_FIRST);
                out.extend_from_slice(b"\n\n");
                self.stage = Stage::Deltas;
            }
            (Wire::Compatible, Stage::Deltas) if self.next < self.spec.deltas => {
                out.extend_from_slice(COMPAT_HEAD);
                self.delta_text(out, stamp);
                out.extend_from_slice(COMPAT_TAIL);
                out.extend_from_slice(b"\n\n");
            }
            (Wire::Compatible, Stage::Deltas) => {
                out.extend_from_slice(COMPAT_STOP);
                out.extend_from_slice(b"\n\n");
                self.stage = Stage::Usage;
            }
            (Wire::Compatible, Stage::Usage) => {
                let n = self.spec.deltas;
                out.extend_from_slice(COMPAT_USAGE_HEAD);
                push_u64(out, n);
                out.extend_from_slice(br#","total_tokens":"#);
                push_u64(out, n + INPUT_TOKENS);
                out.extend_from_slice(COMPAT_USAGE_TAIL);
                out.extend_from_slice(b"\n\n");
                self.stage = Stage::Done;
            }
            (Wire::Compatible, Stage::Done) => {
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.stage = Stage::Finished;
            }
            (Wire::DashScope, Stage::Deltas) if self.next < self.spec.deltas => {
                let id = self.next + 1;
                self.dashscope_head(out, id);
                if self.spec.cumulative {
                    let mut all = std::mem::take(&mut self.all);
                    self.delta_text(&mut all, stamp);
                    out.extend_from_slice(&all);
                    self.all = all;
                } else {
                    self.delta_text(out, stamp);
                }
                out.extend_from_slice(DS_MID);
                out.extend_from_slice(b"null");
                self.dashscope_usage(out, id);
            }
            (Wire::DashScope, _) => {
                // The last chunk: no new text, finish_reason "stop", the final usage.
                let id = self.spec.deltas + 1;
                self.dashscope_head(out, id);
                if self.spec.cumulative {
                    out.extend_from_slice(&self.all);
                }
                out.extend_from_slice(DS_MID);
                out.extend_from_slice(b"stop");
                self.dashscope_usage(out, self.spec.deltas);
                self.stage = Stage::Finished;
            }
        }
        true
    }

    fn dashscope_head(&self, out: &mut Vec<u8>, id: u64) {
        out.extend_from_slice(b"id:");
        push_u64(out, id);
        out.extend_from_slice(b"\nevent:result\n:HTTP_STATUS/200\n");
        out.extend_from_slice(DS_HEAD);
    }

    fn dashscope_usage(&self, out: &mut Vec<u8>, output_tokens: u64) {
        out.extend_from_slice(DS_USAGE);
        push_u64(out, output_tokens + INPUT_TOKENS);
        out.extend_from_slice(br#","output_tokens":"#);
        push_u64(out, output_tokens);
        out.extend_from_slice(DS_TAIL);
        out.extend_from_slice(b"\n\n");
    }

    /// Append the next delta's text, JSON-escaped, to `out`.
    fn delta_text(&mut self, out: &mut Vec<u8>, stamp: Option<u64>) {
        let n = self.spec.delta_bytes;
        push_escaped(out, &self.source[self.offset..self.offset + n]);
        self.offset = (self.offset + n) % self.period;
        if let Some(t) = stamp {
            out.extend_from_slice(b"[t=");
            push_u64(out, t);
            out.push(b']');
        }
        self.next += 1;
    }
}

/// ASCII text as the inside of a JSON string.
fn push_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b if b < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
            b => out.push(b),
        }
    }
}

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

struct Args {
    port: u16,
    spec: StreamSpec,
    interval: Duration,
    chunk_bytes: usize,
    requests: u64,
    max_seconds: u64,
    markdown: bool,
}

const USAGE: &str = "usage: stream_server [--port N] [--protocol compatible|dashscope] [--deltas N] \
[--delta-bytes N] [--interval-ms N] [--cumulative] [--markdown] [--chunk-bytes N] [--requests N] [--max-seconds N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        spec: StreamSpec {
            wire: Wire::Compatible,
            deltas: 200_000,
            delta_bytes: 18,
            cumulative: false,
        },
        interval: Duration::ZERO,
        chunk_bytes: 16 * 1024,
        requests: 1,
        max_seconds: 600,
        markdown: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--markdown" {
            args.markdown = true;
            continue;
        }
        if flag == "--cumulative" {
            args.spec.cumulative = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "--port" => {
                args.port = u16::try_from(num(&value)?).map_err(|_| "--port: out of range")?
            }
            "--protocol" => {
                args.spec.wire = match value.as_str() {
                    "compatible" => Wire::Compatible,
                    "dashscope" => Wire::DashScope,
                    other => return Err(format!("--protocol: unknown {other:?}")),
                }
            }
            "--deltas" => args.spec.deltas = num(&value)?,
            "--delta-bytes" => args.spec.delta_bytes = num(&value)? as usize,
            "--interval-ms" => args.interval = Duration::from_millis(num(&value)?),
            "--chunk-bytes" => args.chunk_bytes = (num(&value)? as usize).max(1),
            "--requests" => args.requests = num(&value)?,
            "--max-seconds" => args.max_seconds = num(&value)?.max(1),
            other => return Err(format!("unknown flag {other:?}\n{USAGE}")),
        }
    }
    if args.spec.cumulative && args.spec.wire != Wire::DashScope {
        return Err("--cumulative needs --protocol dashscope".into());
    }
    Ok(args)
}

/// Read the request head and its `Content-Length` body; the head's length, or None when the
/// client went away (or sent no request) first.
fn read_request(conn: &mut TcpStream) -> io::Result<Option<usize>> {
    const MAX_HEAD: usize = 1 << 20;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut remaining = length.saturating_sub(buf.len() - head_end);
    while remaining > 0 {
        let n = conn.read(&mut chunk[..remaining.min(4096)])?;
        if n == 0 {
            return Ok(None);
        }
        remaining -= n;
    }
    Ok(Some(head_end))
}

/// One HTTP chunk per call: size line, data, CRLF, in a single write.
fn write_chunk(conn: &mut TcpStream, frame: &mut Vec<u8>, data: &[u8]) -> io::Result<()> {
    frame.clear();
    frame.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    frame.extend_from_slice(data);
    frame.extend_from_slice(b"\r\n");
    conn.write_all(frame)
}

/// Stream one generated body; the body bytes sent.
fn respond(conn: &mut TcpStream, args: &Args) -> io::Result<u64> {
    conn.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream;charset=UTF-8\r\n\
Cache-Control: no-cache\r\nx-dashscope-request-id: d30a9914-ac97-9102-b746-ce0cb35e3fa2\r\n\
Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )?;
    let mut g = if args.markdown {
        Generator::with_text(args.spec.clone(), MARKDOWN)
    } else {
        Generator::new(args.spec.clone())
    };
    let mut events = Vec::with_capacity(args.chunk_bytes + 64 * 1024);
    let mut frame = Vec::with_capacity(args.chunk_bytes + 64 * 1024);
    let mut sent = 0u64;
    if args.interval.is_zero() {
        loop {
            let more = g.next_event(&mut events, None);
            if events.len() >= args.chunk_bytes || (!more && !events.is_empty()) {
                write_chunk(conn, &mut frame, &events)?;
                sent += events.len() as u64;
                events.clear();
            }
            if !more {
                break;
            }
        }
    } else {
        // One event per write; deltas on a fixed schedule (no drift), stamped just before.
        let start = Instant::now();
        let mut k = 0u32;
        loop {
            let stamped = g.at_delta();
            if stamped {
                let due = start + args.interval * k;
                k += 1;
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
            }
            let stamp = stamped.then(micros_now);
            if !g.next_event(&mut events, stamp) {
                break;
            }
            write_chunk(conn, &mut frame, &events)?;
            sent += events.len() as u64;
            events.clear();
        }
    }
    conn.write_all(b"0\r\n\r\n")?;
    conn.flush()?;
    Ok(sent)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("stream_server: {msg}");
            std::process::exit(2);
        }
    };
    // The hard cap: whatever a client does, the process ends.
    let cap = args.max_seconds;
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(cap));
        eprintln!("stream_server: --max-seconds {cap} reached, exiting");
        std::process::exit(3);
    });
    let listener = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "stream_server: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{port}");
        let _ = out.flush();
    }
    let mut served = 0;
    while served < args.requests {
        let mut conn = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) => {
                eprintln!("stream_server: accept: {e}");
                continue;
            }
        };
        let _ = conn.set_nodelay(true);
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = conn.set_write_timeout(Some(Duration::from_secs(120)));
        match read_request(&mut conn) {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => continue, // a probe or a client that gave up: not a request
        }
        served += 1;
        let started = Instant::now();
        match respond(&mut conn, &args) {
            Ok(bytes) => eprintln!(
                "stream_server: request {served}: {bytes} body bytes, {} deltas in {:.3} s",
                args.spec.deltas,
                started.elapsed().as_secs_f64()
            ),
            Err(e) => eprintln!("stream_server: request {served}: client went away: {e}"),
        }
        let _ = conn.shutdown(Shutdown::Write);
    }
}
