//! A response body that held no SSE event at all: a whole JSON answer (a server or proxy
//! that ignored `"stream": true`), a JSON error, or something else, named with an excerpt.

use crate::error::{Error, Result};
use crate::protocol::Decoder;
use crate::sink::Sink;
use crate::sse::SseEvent;
use crate::Origin;

/// How much of a body without events is kept to say what it was: a whole answer is one JSON
/// object, and 4 MiB of it is far more than any answer (a longer body is named by an excerpt).
/// Kept small beside the SSE decoder's own line buffer: memory stays bounded.
pub(crate) const HEAD_MAX: usize = 4 << 20;

/// The whole body (`head`: its first `HEAD_MAX` bytes) had no event: print it as if it had
/// been streamed when it is a whole answer, fail with its error when it is one, else say
/// what arrived.
pub(crate) fn body(
    head: &[u8],
    origin: &Origin,
    decoder: &mut Decoder,
    sink: &mut dyn Sink,
    raw: bool,
) -> Result<()> {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let object = match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Object(o)) => Some(o),
        _ => None,
    };
    let Some(object) = object else {
        if raw && !trimmed.starts_with('<') {
            // `--raw` shows what the stream dispatched, and an SSE body may dispatch nothing
            // (only comments, a block without data); a web page is no stream though.
            return Ok(());
        }
        return Err(nothing_like_a_stream(trimmed, origin));
    };
    let answer = object.contains_key("choices") || object.contains_key("output");
    if !answer && (object.contains_key("error") || object.contains_key("code")) {
        // `{"error": …}` or a native `{"code", "message"}`: that error, with its class.
        let status = match origin {
            Origin::Network { .. } => 200,
            Origin::Replay => 0,
        };
        let mut api = crate::transport::error_body(trimmed.as_bytes(), status);
        if status == 0 {
            api.status = None;
        }
        return Err(Error::api(api));
    }
    if !answer || raw {
        return Err(Error::network(format!(
            "expected an event stream, got one JSON object{}: {}",
            what(origin),
            excerpt(trimmed)
        )));
    }
    sink.notice("qstream: the answer is not a stream but one JSON object (the server ignored \"stream\": true); printed as if streamed");
    let ev = SseEvent {
        id: "",
        event: "message",
        data: trimmed,
        status: None,
        typed: false,
    };
    decoder.event(&ev, &mut |e| sink.event(e))?;
    decoder.finish(&mut |e| sink.event(e))
}

/// ` (Content-Type …)` for a network body.
fn what(origin: &Origin) -> String {
    match origin {
        Origin::Network {
            content_type: Some(t),
        } => format!(" (Content-Type {t})"),
        Origin::Network { content_type: None } => " (no Content-Type)".to_owned(),
        Origin::Replay => String::new(),
    }
}

fn excerpt(text: &str) -> String {
    crate::transport::excerpt(text)
}

/// A body with no event and no JSON in it.
fn nothing_like_a_stream(text: &str, origin: &Origin) -> Error {
    let shown = if text.is_empty() {
        "it is empty".to_owned()
    } else {
        format!("it begins {:?}", excerpt(text))
    };
    match origin {
        Origin::Replay => Error::usage(format!(
            "the recording holds no SSE events (no \"data:\" line ends in a blank line): {shown}"
        )),
        Origin::Network { .. } if text.is_empty() => {
            Error::network("stream ended early: the response held no events")
        }
        Origin::Network { .. } => Error::network(format!(
            "expected an event stream, got no SSE events{}: {shown}",
            what(origin)
        )),
    }
}
