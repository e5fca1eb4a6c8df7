//! One request = one function (DESIGN §8): settings and messages in, a summary out. The prompt
//! command wires it to the sink of its mode; `qstream map` runs many on worker threads, each with
//! a capturing sink, sharing one agent and one pace. Retries, decoding, error classification and
//! the teaching hints happen here and below, never in a front door.

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use ureq::Agent;

use crate::config::{ApiKey, Config};
use crate::error::{Error, Result};
use crate::event::Usage;
use crate::protocol::Decoder;
use crate::record::Recording;
use crate::sink::{Session, Sink, Transcript};
use crate::transport::{Cancel, Pace};
use crate::{explain, request, transport, Origin};

/// Where the response body comes from.
pub enum Source<'a> {
    Replay(&'a Path),
    /// The key, and the request as it will be sent.
    Network(ApiKey, request::Request),
}

/// What a run of many requests shares: the agent (one connection pool) and the pace.
#[derive(Clone, Copy, Default)]
pub struct Shared<'a> {
    /// The agent to send with; `None` makes one for this request.
    pub agent: Option<&'a Agent>,
    pub pace: Option<&'a dyn Pace>,
    /// Called once the request is out (the response has come, or the attempt failed), with
    /// the request sent (none for a replay): the caller may keep what it needs of it (the log
    /// takes a big prompt's messages from it rather than hold them twice), else it is dropped.
    pub opened: Option<&'a dyn Fn(Option<request::Request>)>,
}

/// How one request went.
#[derive(Debug)]
pub struct Summary {
    /// `Ok` when the stream finished; else the error, its hint added, its request id filled
    /// in. The sink has already been told (`Sink::fail`).
    pub result: Result<()>,
    /// Whether a response body was opened (a failure after that is a broken stream).
    pub opened: bool,
    pub request_id: Option<String>,
    /// The last usage the stream reported.
    pub usage: Option<Usage>,
    /// The answer (content, reasoning, tool calls, finish reason), when the session kept one.
    pub transcript: Option<Transcript>,
    /// From the start of the session to the first reasoning, content or tool-call delta.
    pub ttft: Option<Duration>,
    /// From sending the attempt that was answered (after retries and waits for the pace) to
    /// the first delta: the service's own time to first token.
    pub ttft_sent: Option<Duration>,
    /// From the call to the end of the stream (or the failure).
    pub duration: Duration,
}

impl Summary {
    /// The HTTP status of the error, if the service sent one.
    pub fn status(&self) -> Option<u16> {
        self.result
            .as_ref()
            .err()
            .and_then(|e| e.api.as_ref())
            .and_then(|a| a.status)
    }
}

/// Send one request (or read a replay) and stream its answer into `sink`, finishing or failing
/// it. `record` gets the raw body bytes.
pub fn exchange(
    config: &Config,
    source: Source<'_>,
    record: Option<Recording>,
    sink: &mut Session,
    cancel: &Cancel,
    shared: Shared<'_>,
) -> Summary {
    let started = Instant::now();
    let protocol = (config.replay.is_none() || config.protocol_given).then_some(config.protocol);
    // The decoder follows the request as it is sent (`-o incremental_output=…` included);
    // a replay's request is not known unless --no-incremental says so.
    let incremental = match (&config.replay, &source) {
        (Some(_), _) if config.incremental => None,
        (Some(_), _) => Some(false),
        (None, Source::Network(_, request)) => Some(request::incremental_output(request)),
        (None, Source::Replay(_)) => Some(config.incremental),
    };
    let mut decoder = Decoder::with_output(protocol, incremental);
    let mut opened = false;
    let mut sent = None;
    let (opened_body, request) = open(config, source, sink, cancel, shared);
    match shared.opened {
        Some(opened) => opened(request),
        // Not held while the answer streams: it may hold tens of megabytes of prompt.
        None => drop(request),
    }
    let result = opened_body.and_then(|(body, id, origin, at)| {
        opened = true;
        sent = at;
        sink.set_request_id(id);
        crate::stream_with(
            body,
            record,
            &mut decoder,
            sink,
            &config.network,
            cancel,
            &origin,
            shared.agent.is_some(),
        )
    });
    sink.set_request_id(decoder.request_id().map(String::from));
    let result = match result {
        Ok(()) => sink.finish(),
        Err(e) => {
            let mut e = explain::teach(e, config);
            if let Some(api) = e.api.as_mut() {
                if api.request_id.is_none() {
                    api.request_id = sink.request_id().map(String::from);
                }
            }
            if e.is_quiet() {
                Err(e)
            } else {
                sink.fail(&e, decoder.usage()).and(Err(e))
            }
        }
    };
    Summary {
        result,
        opened,
        request_id: sink.request_id().map(String::from),
        usage: decoder.usage(),
        transcript: sink.take_transcript(),
        ttft: sink.time_to_first_delta(),
        ttft_sent: match (sent, sink.first_delta_at()) {
            (Some(sent), Some(first)) => Some(first.saturating_duration_since(sent)),
            _ => None,
        },
        duration: started.elapsed(),
    }
}

/// An opened body: its reader, the request id from the headers, where it came from, and when
/// the answered attempt was sent (network only).
type Body = (
    Box<dyn Read + Send>,
    Option<String>,
    Origin,
    Option<Instant>,
);

/// The response body: the recording, or the network's answer to the request; and the
/// request, given back once sent.
fn open(
    config: &Config,
    source: Source<'_>,
    sink: &mut Session,
    cancel: &Cancel,
    shared: Shared<'_>,
) -> (Result<Body>, Option<request::Request>) {
    match source {
        Source::Replay(path) => (
            open_replay(path).map(|body| (body, None, Origin::Replay, None)),
            None,
        ),
        Source::Network(key, request) => {
            let body = send(config, &request, &key, sink, cancel, shared);
            (body, Some(request))
        }
    }
}

fn send(
    config: &Config,
    request: &request::Request,
    key: &ApiKey,
    sink: &mut Session,
    cancel: &Cancel,
    shared: Shared<'_>,
) -> Result<Body> {
    let own;
    let agent = match shared.agent {
        Some(agent) => agent,
        None => {
            let long_lines = !request::incremental_output(request);
            own = transport::agent_for(&config.network, &request.url, long_lines)?;
            &own
        }
    };
    let opened = transport::open_paced(
        agent,
        request,
        key,
        &config.network,
        cancel,
        shared.pace,
        &mut |line| sink.notice(line),
    )?;
    let origin = Origin::Network {
        content_type: opened.content_type,
    };
    Ok((opened.body, opened.request_id, origin, Some(opened.sent)))
}

fn open_replay(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    // Opening a directory works; reading it fails later, as if the network had.
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::usage(format!(
            "cannot replay {}: it is a directory",
            path.display()
        )));
    }
    Ok(Box::new(file))
}
