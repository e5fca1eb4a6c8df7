//! A loopback server for many requests at once (`qstream map`): every connection is served on
//! its own thread, kept alive across requests, and each request is answered by a handler that
//! sees it (so answers can depend on the prompt). Counts requests, connections and the most
//! requests in flight at once.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::{read_request, Recorded};

/// One answer: status, extra headers, body (sent with Content-Length, kept alive).
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sleep before answering.
    pub delay: Duration,
}

impl Answer {
    /// A compatible-protocol stream: `text` as one content delta, `stop`, usage, `[DONE]`.
    pub fn content(text: &str) -> Answer {
        let delta = serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
        let body = format!(
            "data: {delta}\n\ndata: {{\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\ndata: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}}}\n\ndata: [DONE]\n\n"
        );
        Answer {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            body: body.into_bytes(),
            delay: Duration::ZERO,
        }
    }

    /// A JSON error body in the compatible shape.
    pub fn error(status: u16, code: &str, message: &str) -> Answer {
        let body = serde_json::json!({"error": {"code": code, "message": message, "type": code}});
        Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Answer {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Answer {
        self.delay = d;
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Answer + Send + Sync;

pub struct Many {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Counts {
    requests: AtomicUsize,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Many {
    pub fn start(handler: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) -> Many {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            counts.connections.fetch_add(1, Ordering::SeqCst);
                            let (handler, counts, stop) =
                                (Arc::clone(&handler), Arc::clone(&counts), Arc::clone(&stop));
                            thread::spawn(move || serve(stream, &*handler, &counts, &stop));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(1)),
                    }
                }
            })
        };
        Many {
            addr,
            stop,
            counts,
            accept: Some(accept),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.counts.connections.load(Ordering::SeqCst)
    }

    pub fn most_in_flight(&self) -> usize {
        self.counts.most_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for Many {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, counts: &Counts, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    while !stop.load(Ordering::SeqCst) {
        let Some(request) = read_request(&mut stream) else {
            return;
        };
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let now = counts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counts.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let answer = handler(&request);
        if !answer.delay.is_zero() {
            thread::sleep(answer.delay);
        }
        let written = write(&mut stream, &answer);
        counts.in_flight.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() {
            return;
        }
    }
}

fn write(stream: &mut TcpStream, a: &Answer) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} X\r\n", a.status);
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        a.body.len()
    ));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&a.body);
    stream.write_all(&bytes)?;
    stream.flush()
}

/// The prompt (the last user message's content) of a compatible request.
pub fn prompt_of(r: &Recorded) -> String {
    r.json()["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}
