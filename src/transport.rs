//! The network: one ureq agent, the request, retries, and HTTP errors turned into `Error`s.
//! Yields the response body as a plain `Read`; `--replay` swaps in a file instead and nothing
//! downstream can tell.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, SocksConnector, TcpConnector,
};
use ureq::{Agent, Timeout};

use crate::config::{ApiKey, Network};
use crate::error::{Error, Exit, Result};
use crate::event::ApiError;
use crate::json_reader::JsonReader;
use crate::request::{Request, USER_AGENT};
use crate::sse::SseDecoder;

/// Ctrl-C: the first stops the stream (shutting the agent's sockets wakes a blocked read),
/// the second exits at once.
#[derive(Default)]
pub struct Cancel {
    flag: AtomicBool,
    agent: Mutex<Option<Agent>>,
}

impl Cancel {
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Called from the signal-handling thread.
    pub fn cancel(&self) {
        if self.flag.swap(true, Ordering::SeqCst) {
            std::process::exit(Exit::Interrupted.code().into());
        }
        self.shut();
    }

    /// Stop the run from inside (an error every other request would get as well): what a
    /// first Ctrl-C does, however often it is called, never the exit of a second one.
    pub fn stop(&self) {
        if !self.flag.swap(true, Ordering::SeqCst) {
            self.shut();
        }
    }

    fn shut(&self) {
        if let Ok(mut agent) = self.agent.lock() {
            if let Some(agent) = agent.take() {
                agent.shutdown();
            }
        }
    }

    fn watch(&self, agent: &Agent) {
        if let Ok(mut slot) = self.agent.lock() {
            *slot = Some(agent.clone());
        }
    }
}

/// Plain http:// is for loopback only, unless the user insists.
pub fn check_scheme(url: &str, allow_insecure_http: bool) -> Result<()> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if !lower.starts_with("http://") {
        return Err(Error::usage(format!(
            "the base URL must start with https:// (got {url:?})"
        )));
    }
    if allow_insecure_http {
        return Ok(());
    }
    let host = crate::endpoint::host(url);
    if crate::endpoint::is_loopback(&host) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "refusing plain http:// to {host}: the API key would travel unencrypted (use https://, or --allow-insecure-http)"
        )))
    }
}

/// The agent for requests to `url`, with the proxy the environment names (none for loopback).
/// `long_lines`: a cumulative stream (see [`LONG_INPUT_BUFFER`]).
pub fn agent_for(net: &Network, url: &str, long_lines: bool) -> Result<Agent> {
    let proxy = crate::endpoint::proxy(url, &|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })?;
    let input_buffer = if long_lines {
        LONG_INPUT_BUFFER
    } else {
        INPUT_BUFFER
    };
    agent_with(net, proxy, None, input_buffer)
}

/// One agent for many requests in flight at once (`qstream map`): its pool keeps up to `pool`
/// idle connections to the host, so every worker's connection is reused (keep-alive).
pub fn agent_for_pool(net: &Network, url: &str, pool: usize) -> Result<Agent> {
    let proxy = crate::endpoint::proxy(url, &|name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })?;
    agent_with(net, proxy, Some(pool), INPUT_BUFFER)
}

/// ureq's buffer for what the socket returned, which bounds one read of the body: ureq's
/// default, 128 KiB, and 4x that for a cumulative stream (each chunk repeats all the text so
/// far), whose long lines are then seldom cut between two reads, where the decoder must copy
/// them (`read_ahead::LONG_READ_SIZE`). A larger buffer for every stream would cost 2 MiB of
/// the 10 MiB budget (DESIGN §5) where it gains nothing.
pub const INPUT_BUFFER: usize = 128 * 1024;
pub const LONG_INPUT_BUFFER: usize = 4 * INPUT_BUFFER;

fn agent_with(
    net: &Network,
    proxy: Option<ureq::Proxy>,
    pool: Option<usize>,
    input_buffer: usize,
) -> Result<Agent> {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_resolve(Some(net.connect_timeout))
        .timeout_connect(Some(net.connect_timeout))
        .timeout_recv_response(Some(net.idle_timeout))
        .timeout_per_read(Some(net.idle_timeout))
        .timeout_global(net.max_time)
        .max_redirects(0)
        .user_agent(USER_AGENT)
        .accept_encoding("")
        .input_buffer_size(input_buffer)
        .proxy(proxy);
    let config = match pool {
        Some(n) => config
            .max_idle_connections(n.max(1))
            .max_idle_connections_per_host(n.max(1)),
        None => config,
    };
    // ureq's default chain (SOCKS, HTTP CONNECT, TCP), with TLS by `crate::trust`: the
    // system's trust store, so that corporate CAs work, loaded off the critical path;
    // verification is always on.
    let tls = crate::trust::TlsConnector::new()
        .map_err(|e| Error::internal(format!("cannot set up TLS: {e}")))?;
    let connector =
        ().chain(SocksConnector::default())
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(tls);
    Ok(Agent::with_parts(
        config.build(),
        connector,
        ureq::unversioned::resolver::DefaultResolver::default(),
    ))
}

/// A response body being streamed.
pub struct Opened {
    pub body: Box<dyn Read + Send>,
    pub request_id: Option<String>,
    /// The response's `Content-Type`, for what is said about a body that is not a stream.
    pub content_type: Option<String>,
    /// When the attempt that got this answer was sent (after any retries and their waits).
    pub sent: Instant,
}

/// Many requests sharing the account's limits (`qstream map`): asked before every attempt,
/// told how each attempt was answered. The retries stay here; the pace only spaces them.
pub trait Pace: Sync {
    /// Wait until an attempt may be sent (Ctrl-C ends the wait).
    fn before(&self, cancel: &Cancel) -> Result<()>;
    /// The server refused for rate (a retryable 429); `retry_after` when it said how long.
    fn refused(&self, retry_after: Option<Duration>);
    /// The attempt got an answer that was not a refusal for rate.
    fn answered(&self);
}

/// How many times a request under a `Pace` may be refused for rate: the pace slows the whole
/// run down, so a refusal is expected while it finds the rate, not a sign to give up.
pub const PACED_RATE_RETRIES: u32 = 12;

/// Send the request, retrying connect failures, 429 and 5xx (nothing has been written yet).
/// `say` gets one line per retry.
pub fn open(
    agent: &Agent,
    request: &Request,
    key: &ApiKey,
    net: &Network,
    cancel: &Cancel,
    say: &mut dyn FnMut(&str),
) -> Result<Opened> {
    open_paced(agent, request, key, net, cancel, None, say)
}

/// `open`, with every attempt asked of `pace` first and its answer told to it.
pub fn open_paced(
    agent: &Agent,
    request: &Request,
    key: &ApiKey,
    net: &Network,
    cancel: &Cancel,
    pace: Option<&dyn Pace>,
    say: &mut dyn FnMut(&str),
) -> Result<Opened> {
    let call = Call {
        method: Method::Post,
        url: &request.url,
        headers: &request.headers,
        payload: Payload::json(&request.body)?,
        idempotent: true,
        expecting: "an event stream",
        pace,
    };
    self::call(agent, &call, key, net, cancel, say)
}

/// The HTTP methods qstream sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A request body. `Spliced` streams a file between two byte strings (a multipart upload of
/// a file too big to hold in memory); each attempt reopens the file, so a retry sends it whole.
#[derive(Debug, Clone)]
pub enum Payload<'a> {
    Empty,
    Bytes(Vec<u8>),
    /// A JSON body serialized as it is sent (a prompt may be tens of megabytes), behind a
    /// `Content-Length` of this many bytes.
    Json(&'a serde_json::Value, u64),
    Spliced {
        head: Vec<u8>,
        file: std::path::PathBuf,
        tail: Vec<u8>,
    },
}

/// Bodies up to this size are serialized whole before sending; larger ones (a big prompt) as
/// they are sent, so that the prompt is not held twice.
const WHOLE_BODY: u64 = 1024 * 1024;

impl<'a> Payload<'a> {
    /// The request body for `value`: whole when small, else streamed.
    pub fn json(value: &'a serde_json::Value) -> Result<Payload<'a>> {
        let encode = |e: std::io::Error| Error::internal(format!("cannot encode the request: {e}"));
        let len = JsonReader::len(value).map_err(encode)?;
        if len > WHOLE_BODY {
            return Ok(Payload::Json(value, len));
        }
        let mut whole = Vec::with_capacity(len as usize);
        JsonReader::new(value)
            .and_then(|mut r| r.read_to_end(&mut whole))
            .map_err(encode)?;
        Ok(Payload::Bytes(whole))
    }
}

/// One HTTP exchange with the service, for the APIs besides the streaming chat (the Batch
/// API's files and batches): the same agent, key, retries and error classes as a chat request.
pub struct Call<'a> {
    pub method: Method,
    pub url: &'a str,
    /// Every header but `Authorization`, which comes from the key.
    pub headers: &'a [(String, String)],
    pub payload: Payload<'a>,
    /// Whether repeating the request after a 5xx is harmless. A 5xx may come after the
    /// service acted (created a batch): such a request is retried only when it surely was
    /// not (it could not connect, or a rate limit refused it).
    pub idempotent: bool,
    /// What a 2xx body should be, for the message about a web page instead.
    pub expecting: &'a str,
    /// Asked before every attempt and told its answer (`qstream map`), if any.
    pub pace: Option<&'a dyn Pace>,
}

/// Send `call`, retrying what `open` retries (a 5xx only when the call is idempotent).
pub fn call(
    agent: &Agent,
    call: &Call<'_>,
    key: &ApiKey,
    net: &Network,
    cancel: &Cancel,
    say: &mut dyn FnMut(&str),
) -> Result<Opened> {
    check_scheme(call.url, net.allow_insecure_http)?;
    crate::error::redact_secret(key.expose());
    cancel.watch(agent);
    // `--max-time` bounds everything from here on: every attempt, every wait between them,
    // and the stream (each request gets what is left as its global timeout).
    let deadline = net.max_time.map(|d| Instant::now() + d);
    let mut attempt = 0;
    loop {
        let left = match deadline {
            Some(end) => match end.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(max_time_reached(net)),
            },
            None => None,
        };
        if let Some(pace) = call.pace {
            pace.before(cancel)?;
        }
        let sent = Instant::now();
        let (error, retry_after) = match send(agent, call, key, left) {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if !(100..=599).contains(&status) || (101..=199).contains(&status) && status != 103
                {
                    // Not an answer HTTP allows here: nothing to retry, nothing to read.
                    return Err(Error::network(format!(
                        "protocol error: the server answered with HTTP status {status}, which is not a final response"
                    )));
                }
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let request_id =
                    header("x-request-id").or_else(|| header("x-dashscope-request-id"));
                let retry_after = header("retry-after");
                let location = header("location");
                let content_type = header("content-type");
                let html = resp
                    .body()
                    .mime_type()
                    .is_some_and(|m| m.eq_ignore_ascii_case("text/html"));
                let mut reader = resp.into_body().into_reader();
                if (200..300).contains(&status) && !html {
                    if let Some(pace) = call.pace {
                        pace.answered();
                    }
                    // A stream, or whatever else: the caller says what it was.
                    return Ok(Opened {
                        body: Box::new(reader),
                        request_id,
                        content_type,
                        sent,
                    });
                }
                let mut text = Vec::new();
                let _ = (&mut reader).take(64 * 1024).read_to_end(&mut text);
                if (200..300).contains(&status) {
                    // A captive portal or a proxy's page, not the service.
                    return Err(Error::network(format!(
                        "expected {}, got a web page ({}, HTTP {status}): {}",
                        call.expecting,
                        content_type.as_deref().unwrap_or("text/html"),
                        excerpt(&String::from_utf8_lossy(&text))
                    )));
                }
                let mut api = error_body(&text, status);
                if api.request_id.is_none() {
                    api.request_id = request_id;
                }
                if let (300..=399, Some(to)) = (status, location) {
                    api.message = format!(
                        "the server redirects to {to}, and redirects are not followed: check the base URL"
                    );
                }
                (Error::api(api), retry_after)
            }
            Err(e) => (connect_error(e, net), None),
        };
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        let retryable = match error.exit {
            // A rate, not money: a used-up quota or balance does not come back by waiting.
            Exit::RateLimit => error
                .api
                .as_ref()
                .is_some_and(crate::explain::retryable_429),
            // Only a 5xx: a redirect (3xx) lands here too, and repeating it cannot help.
            Exit::Server => {
                call.idempotent
                    && error
                        .api
                        .as_ref()
                        .and_then(|a| a.status)
                        .is_some_and(|s| s >= 500)
            }
            Exit::Network => error.message.starts_with("cannot connect"),
            _ => false,
        };
        let rate = error.exit == Exit::RateLimit;
        if let Some(pace) = call.pace {
            if rate && retryable {
                pace.refused(retry_after.as_deref().and_then(parse_retry_after));
            } else {
                pace.answered();
            }
        }
        let most = match call.pace {
            Some(_) if rate => net.retries.max(PACED_RATE_RETRIES),
            _ => net.retries,
        };
        if !retryable || attempt >= most {
            return Err(error);
        }
        attempt += 1;
        let wait = match retry_after.as_deref().and_then(parse_retry_after) {
            Some(d) if d > Duration::from_secs(60) => return Err(error),
            Some(d) => d,
            None => backoff(attempt),
        };
        if deadline.is_some_and(|end| Instant::now() + wait >= end) {
            let mut error = error;
            error.message = format!(
                "{}; not retried: waiting {:.1} s would pass --max-time",
                error.message,
                wait.as_secs_f64()
            );
            return Err(error);
        }
        say(&format!(
            "qstream: {error}; retrying in {:.1} s ({attempt} of {})",
            wait.as_secs_f64(),
            most
        ));
        sleep(wait, cancel)?;
    }
}

fn send(
    agent: &Agent,
    call: &Call<'_>,
    key: &ApiKey,
    left: Option<Duration>,
) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let auth = format!("Bearer {}", key.expose());
    match call.method {
        Method::Get => {
            let mut builder = agent
                .get(call.url)
                .config()
                .timeout_global(left)
                .build()
                .header("Authorization", &auth);
            for (k, v) in call.headers {
                builder = builder.header(k, v);
            }
            builder.call()
        }
        Method::Post => {
            let mut builder = agent
                .post(call.url)
                .config()
                .timeout_global(left)
                .build()
                .header("Authorization", &auth);
            for (k, v) in call.headers {
                builder = builder.header(k, v);
            }
            match &call.payload {
                Payload::Empty => builder.send_empty(),
                Payload::Bytes(bytes) => builder.send(&bytes[..]),
                Payload::Json(value, len) => {
                    let mut reader = JsonReader::new(value)?;
                    builder
                        .header("Content-Length", len.to_string())
                        .send(ureq::SendBody::from_reader(&mut reader))
                }
                Payload::Spliced { head, file, tail } => {
                    let opened = std::fs::File::open(file)?;
                    let size = opened.metadata()?.len();
                    let length = head.len() as u64 + size + tail.len() as u64;
                    // The length up front: a file upload is not sent chunked.
                    let reader = std::io::Cursor::new(head.clone())
                        .chain(opened.take(size))
                        .chain(std::io::Cursor::new(tail.clone()));
                    builder
                        .header("Content-Length", length.to_string())
                        .send(ureq::SendBody::from_owned_reader(reader))
                }
            }
        }
    }
}

/// A failure before any response: what it was, in words that never include the key.
fn connect_error(e: ureq::Error, net: &Network) -> Error {
    use std::io::ErrorKind;
    if let Some(refused) = certificate_refused(&e) {
        // Not a connection failure, and not retried: the certificate will not change.
        return Error::network(refused);
    }
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => Error::network(format!(
            "cannot connect: no connection within {} s (--connect-timeout)",
            net.connect_timeout.as_secs_f64()
        )),
        ureq::Error::Timeout(Timeout::Global) => max_time_reached(net),
        ureq::Error::Timeout(_) => Error::network(format!(
            "timed out: no response within {} s (--timeout)",
            net.idle_timeout.as_secs_f64()
        )),
        ureq::Error::Io(io) if io.kind() == ErrorKind::UnexpectedEof => {
            Error::network("the server closed the connection before responding")
        }
        ureq::Error::Io(io) => Error::network(format!("cannot connect: {io}")),
        ureq::Error::HostNotFound => Error::network("cannot connect: host not found"),
        ureq::Error::ConnectionFailed => Error::network("cannot connect: connection failed"),
        ureq::Error::ConnectProxyFailed(m) => {
            Error::network(format!("cannot connect through the proxy: {m}"))
        }
        ureq::Error::BadUri(m) => Error::usage(format!("bad URL: {m}")),
        // An interim (1xx) answer followed by no valid final one, a status line that is not
        // HTTP: nothing a retry would mend.
        ureq::Error::Protocol(e) => Error::network(format!(
            "protocol error: the server's answer is not valid HTTP/1.1 ({e})"
        )),
        other => Error::network(format!("request failed: {other}")),
    }
}

/// The server's certificate was refused: why, and for an unknown issuer, which trust store
/// did not have it.
fn certificate_refused(e: &ureq::Error) -> Option<String> {
    let tls = match e {
        ureq::Error::Rustls(tls) => tls,
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    let rustls::Error::InvalidCertificate(why) = tls else {
        return None;
    };
    let why = match why {
        rustls::CertificateError::UnknownIssuer => format!(
            "it is not issued by a certificate authority in the trust store ({})",
            crate::trust::store_description()
        ),
        _ => tls.to_string(),
    };
    Some(format!(
        "TLS: the server's certificate is not trusted: {why}"
    ))
}

fn max_time_reached(net: &Network) -> Error {
    Error::network(format!(
        "timed out: --max-time of {} s reached",
        net.max_time.map_or(0.0, |d| d.as_secs_f64())
    ))
}

/// What went wrong while reading the body, in the user's terms.
pub fn read_error(e: std::io::Error, net: &Network) -> Error {
    use std::io::ErrorKind;
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>());
    match inner {
        Some(ureq::Error::Timeout(Timeout::Global)) => max_time_reached(net),
        Some(ureq::Error::Timeout(_)) => Error::network(format!(
            "timed out: no data for {} s (--timeout)",
            net.idle_timeout.as_secs_f64()
        )),
        Some(other) => Error::network(format!("stream failed: {other}")),
        None if e.kind() == ErrorKind::UnexpectedEof => {
            Error::network("stream ended early: the connection closed mid-stream")
        }
        None => Error::network(format!("stream failed: {e}")),
    }
}

/// The error in a non-2xx body, in whichever shape it came: compatible
/// `{"error": {...}}`, native `{"code", "message", "request_id"}`, an SSE-framed error event,
/// or anything else (an HTML page from a proxy: the status and a short excerpt).
pub fn error_body(body: &[u8], status: u16) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let from_json = |v: &serde_json::Value, status: u16| -> Option<ApiError> {
        let request_id = v
            .get("request_id")
            .and_then(|r| r.as_str())
            .map(String::from);
        if let Some(e) = v.get("error") {
            let mut api = crate::protocol::compatible::api_error(e, Some(status));
            api.request_id = request_id;
            return Some(api);
        }
        let code = v.get("code").and_then(|c| match c {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let message = v.get("message").and_then(|m| m.as_str()).map(String::from);
        (code.is_some() || message.is_some()).then(|| ApiError {
            status: Some(status),
            code,
            message: message.unwrap_or_default(),
            request_id,
        })
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim()) {
        if let Some(api) = from_json(&v, status) {
            return api;
        }
    }
    // SSE-framed, whatever the Content-Type said.
    let mut found: Option<ApiError> = None;
    let mut sse = SseDecoder::default();
    let mut framed = text.into_owned();
    framed.push_str("\n\n");
    let _ = sse.feed::<crate::sse::LineTooLong>(framed.as_bytes(), &mut |ev| {
        if found.is_none() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(ev.data) {
                found = from_json(&v, ev.status.unwrap_or(status));
            }
        }
        Ok(())
    });
    if let Some(api) = found {
        return api;
    }
    let text = excerpt(&framed);
    ApiError {
        status: Some(status),
        code: None,
        message: if text.is_empty() {
            "the server gave no reason".to_owned()
        } else {
            text
        },
        request_id: None,
    }
}

/// A short, one-line, tag-free excerpt of a body for an error message.
pub(crate) fn excerpt(body: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= 100 {
            out.push('…');
            break;
        }
    }
    out.trim().to_owned()
}

fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() % 1000) as f64 / 1000.0
}

/// Exponential backoff with jitter: about 0.5 s, 1 s, 2 s … capped at 30 s.
fn backoff(attempt: u32) -> Duration {
    let base = 0.5 * 2f64.powi(attempt.saturating_sub(1).min(6) as i32);
    Duration::from_secs_f64(base.min(30.0) * (0.5 + jitter() / 2.0))
}

/// `Retry-After`: delay-seconds or an HTTP date in any of the three forms RFC 9110 allows
/// (IMF-fixdate, RFC 850, asctime).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Sleep, waking early for Ctrl-C.
fn sleep(d: Duration, cancel: &Cancel) -> Result<()> {
    let end = std::time::Instant::now() + d;
    loop {
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        let now = std::time::Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_from_inside_twice_is_not_a_second_ctrl_c() {
        // A second `cancel` exits the process (130); `stop` never does, however often, so the
        // test binary would die here if it did.
        let cancel = Cancel::default();
        cancel.stop();
        cancel.stop();
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(check_scheme("https://dashscope-intl.aliyuncs.com/x", false).is_ok());
        assert!(check_scheme("http://127.0.0.1:8080/x", false).is_ok());
        assert!(check_scheme("http://127.9.9.9/x", false).is_ok());
        assert!(check_scheme("http://localhost:1/x", false).is_ok());
        assert!(check_scheme("http://[::1]:80/x", false).is_ok());
        assert!(check_scheme("http://example.com/x", false).is_err());
        assert!(check_scheme("http://127.0.0.1.evil.com/x", false).is_err());
        assert!(check_scheme("http://localhost@evil.com/x", false).is_err());
        assert!(check_scheme("http://example.com/x", true).is_ok());
        assert!(check_scheme("ftp://example.com/x", true).is_err());
    }

    #[test]
    fn error_bodies_in_every_shape() {
        let e = error_body(
            br#"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"},"request_id":"r1"}"#,
            401,
        );
        assert_eq!(
            (
                e.code.as_deref(),
                e.status,
                e.message.as_str(),
                e.request_id.as_deref()
            ),
            (
                Some("invalid_api_key"),
                Some(401),
                "Incorrect API key provided.",
                Some("r1")
            )
        );
        let e = error_body(
            br#"{"code":"Arrearage","message":"Access denied","request_id":"r2"}"#,
            400,
        );
        assert_eq!(e.code.as_deref(), Some("Arrearage"));
        assert_eq!(Exit::of_api_error(&e), Exit::RateLimit);
        let e = error_body(
            b"id:1\nevent:error\n:HTTP_STATUS/429\ndata:{\"code\":\"Throttling.RateQuota\",\"message\":\"Requests rate limit exceeded\",\"request_id\":\"r3\"}\n\n",
            200,
        );
        assert_eq!(
            (e.code.as_deref(), e.status),
            (Some("Throttling.RateQuota"), Some(429))
        );
        let e = error_body(
            b"<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad   Gateway</h1></body></html>",
            502,
        );
        assert_eq!(e.message, "502 Bad Gateway Bad Gateway");
        assert_eq!(Exit::of_api_error(&e), Exit::Server);
        assert_eq!(error_body(b"", 503).message, "the server gave no reason");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_retry_after(past), Some(Duration::ZERO), "{past}");
        }
        // A date ahead: the wait until then, in each form.
        let ahead = SystemTime::now() + Duration::from_secs(3600);
        let imf = httpdate::fmt_http_date(ahead);
        let t = httpdate::parse_http_date(&imf).expect("round trip");
        let secs = t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        let hms = secs % 86400;
        let (h, m, s) = (hms / 3600, hms % 3600 / 60, hms % 60);
        // `imf` is "Www, DD Mon YYYY HH:MM:SS GMT"; rebuild the other two forms from it.
        let parts: Vec<&str> = imf.split([' ', ',']).filter(|p| !p.is_empty()).collect();
        let (wd, dd, mon, yyyy) = (parts[0], parts[1], parts[2], parts[3]);
        let long_wd = match wd {
            "Mon" => "Monday",
            "Tue" => "Tuesday",
            "Wed" => "Wednesday",
            "Thu" => "Thursday",
            "Fri" => "Friday",
            "Sat" => "Saturday",
            _ => "Sunday",
        };
        let rfc850 = format!(
            "{long_wd}, {dd}-{mon}-{} {h:02}:{m:02}:{s:02} GMT",
            &yyyy[2..]
        );
        let asctime = format!(
            "{wd} {mon} {:>2} {h:02}:{m:02}:{s:02} {yyyy}",
            dd.trim_start_matches('0')
        );
        for form in [imf.as_str(), rfc850.as_str(), asctime.as_str()] {
            let d = parse_retry_after(form).unwrap_or_else(|| panic!("{form:?} unread"));
            assert!(
                d > Duration::from_secs(3000) && d <= Duration::from_secs(3600),
                "{form}: {d:?}"
            );
        }
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..10 {
            let b = backoff(attempt).as_secs_f64();
            let base = (0.5 * 2f64.powi(attempt as i32 - 1)).min(30.0);
            assert!(b >= base * 0.5 && b <= base, "{attempt}: {b}");
        }
    }
}
