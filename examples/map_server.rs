//! A loopback chat server for the `qstream map` benchmark (scripts/bench, section k).
//!
//! Serves many requests at once: a thread per connection, connections kept alive, every request
//! answered at once with a short compatible-protocol stream (one content delta, finish, usage,
//! `[DONE]`). With `--rate R` it allows R requests in any one second and answers 429 beyond, as
//! the service's per-second enforcement of its per-minute limits does. Only std; 127.0.0.1 only.
//!
//! ```text
//! cargo run --release --example map_server -- --ok 1000 [--rate 100] [--retry-after 1]
//! ```
//!
//! - `--ok N`             exit after N answers that were not refused (default 1000)
//! - `--rate R`           requests allowed per second (sliding one-second window); none: no limit
//! - `--retry-after S`    send `Retry-After: S` with each 429 (default: no header)
//! - `--max-seconds N`    hard cap on the server's life (default 600)
//!
//! The port is the first stdout line. At exit one JSON line on stderr: requests, refused, and
//! the same counted from 10 s after the first request on (the share refused once settled).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Shared {
    rate: Option<usize>,
    retry_after: Option<u64>,
    window: Mutex<(Option<Instant>, VecDeque<Instant>)>,
    requests: AtomicU64,
    refused: AtomicU64,
    requests_late: AtomicU64,
    refused_late: AtomicU64,
    ok: AtomicU64,
    want_ok: u64,
}

const BODY: &str = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n";

fn main() {
    let mut rate = None;
    let mut retry_after = None;
    let mut want_ok = 1000u64;
    let mut max_seconds = 600u64;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), value) {
            ("--rate", Some(v)) => rate = Some(v as usize),
            ("--retry-after", Some(v)) => retry_after = Some(v),
            ("--ok", Some(v)) => want_ok = v,
            ("--max-seconds", Some(v)) => max_seconds = v,
            (other, _) => {
                eprintln!("map_server: bad argument {other:?}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("map_server: {e}");
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    println!("{port}");
    let _ = std::io::stdout().flush();
    let shared = Arc::new(Shared {
        rate,
        retry_after,
        window: Mutex::new((None, VecDeque::new())),
        requests: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        requests_late: AtomicU64::new(0),
        refused_late: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        want_ok,
    });
    {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(max_seconds));
            report(&shared);
            std::process::exit(1);
        });
    }
    for stream in listener.incoming().flatten() {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || serve(stream, &shared));
    }
}

fn report(s: &Shared) {
    eprintln!(
        "{{\"requests\":{},\"refused\":{},\"requests_after_10s\":{},\"refused_after_10s\":{},\"ok\":{}}}",
        s.requests.load(Ordering::SeqCst),
        s.refused.load(Ordering::SeqCst),
        s.requests_late.load(Ordering::SeqCst),
        s.refused_late.load(Ordering::SeqCst),
        s.ok.load(Ordering::SeqCst)
    );
}

/// Whether this request is allowed, counting it.
fn admit(s: &Shared) -> bool {
    let now = Instant::now();
    let Ok(mut w) = s.window.lock() else {
        return true;
    };
    let first = *w.0.get_or_insert(now);
    let late = now - first >= Duration::from_secs(10);
    s.requests.fetch_add(1, Ordering::SeqCst);
    if late {
        s.requests_late.fetch_add(1, Ordering::SeqCst);
    }
    let Some(rate) = s.rate else { return true };
    while w
        .1
        .front()
        .is_some_and(|t| now - *t >= Duration::from_secs(1))
    {
        w.1.pop_front();
    }
    if w.1.len() < rate {
        w.1.push_back(now);
        return true;
    }
    s.refused.fetch_add(1, Ordering::SeqCst);
    if late {
        s.refused_late.fetch_add(1, Ordering::SeqCst);
    }
    false
}

fn serve(stream: TcpStream, s: &Shared) {
    let _ = stream.set_nodelay(true);
    let mut out = match stream.try_clone() {
        Ok(o) => o,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        // The head: the request line and headers, up to a blank line.
        let mut length = 0usize;
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() && !first {
                break;
            }
            first = false;
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = if admit(s) {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\r\n{BODY}",
                BODY.len()
            )
        } else {
            let body = "{\"error\":{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded\",\"type\":\"Throttling.RateQuota\"}}";
            let retry = s
                .retry_after
                .map_or(String::new(), |r| format!("Retry-After: {r}\r\n"));
            format!(
                "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n{retry}Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let ok = reply.starts_with("HTTP/1.1 200");
        if out
            .write_all(reply.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            return;
        }
        if ok && s.ok.fetch_add(1, Ordering::SeqCst) + 1 >= s.want_ok {
            report(s);
            std::process::exit(0);
        }
    }
}
