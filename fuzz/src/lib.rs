//! Helpers shared by the fuzz targets: owned copies of decoded events, invariant checks that
//! can be told to tolerate a known, already reported bug, and a JSON string writer with a
//! choice of escaping.

use std::sync::OnceLock;

use qstream::event::{Event, Usage};
use qstream::protocol::Decoder;
use qstream::sse::SseEvent;

/// Tags of invariants whose violation is a known, reported bug, from `QSTREAM_FUZZ_ALLOW`
/// (comma-separated). Set it to keep fuzzing past a finding; unset, every check is strict.
pub fn allowed(tag: &str) -> bool {
    static ALLOW: OnceLock<Vec<String>> = OnceLock::new();
    ALLOW
        .get_or_init(|| {
            std::env::var("QSTREAM_FUZZ_ALLOW")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|a| a == tag)
}

/// Panic (a finding) when `ok` is false, unless `tag` is a known bug that was allowed.
/// Returns `ok`, so a caller can skip checks that only make sense after this one.
pub fn check(tag: &str, ok: bool, msg: impl FnOnce() -> String) -> bool {
    if !ok && !allowed(tag) {
        panic!("invariant [{tag}] violated: {}", msg());
    }
    ok
}

/// An owned copy of an `Event`, for comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Reasoning(u32, String),
    Content(u32, String),
    ToolCall {
        choice: u32,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    Audio(u32, String),
    Usage(Usage),
    Finish(u32, String),
    /// Web sources, as `(index, title, url, site name)`.
    Sources(Vec<(u32, String, String, String)>),
}

impl From<Event<'_>> for Ev {
    fn from(e: Event<'_>) -> Ev {
        match e {
            Event::Reasoning { choice, text } => Ev::Reasoning(choice, text.into_owned()),
            Event::Content { choice, text } => Ev::Content(choice, text.into_owned()),
            Event::ToolCall {
                choice,
                index,
                id,
                name,
                arguments,
            } => Ev::ToolCall {
                choice,
                index,
                id: id.map(|s| s.into_owned()),
                name: name.map(|s| s.into_owned()),
                arguments: arguments.into_owned(),
            },
            Event::Audio { choice, data } => Ev::Audio(choice, data.into_owned()),
            Event::Usage(u) => Ev::Usage(u),
            Event::Finish { choice, reason } => Ev::Finish(choice, reason.into_owned()),
            Event::Sources(sources) => Ev::Sources(
                sources
                    .into_iter()
                    .map(|s| (s.index, s.title, s.url, s.site_name))
                    .collect(),
            ),
        }
    }
}

/// One SSE event as the protocol decoders see it.
#[derive(Debug, Clone)]
pub struct Input {
    pub event: String,
    pub data: String,
    pub status: Option<u16>,
    pub typed: bool,
}

/// What a protocol decoder made of a list of events, fed the way `qstream::stream` feeds
/// them: stop at the first error, else `finish`.
#[derive(Debug)]
pub struct Decoded {
    /// Events emitted by `Decoder::event`.
    pub streamed: Vec<Ev>,
    /// Events emitted by `Decoder::finish`.
    pub finished: Vec<Ev>,
    /// Index of the input whose `event` failed, if one did.
    pub failed_at: Option<usize>,
    pub error: Option<qstream::error::Error>,
    pub usage: Option<Usage>,
    /// Index of the input after which the decoder said the stream is over: as in
    /// `qstream::stream`, nothing after it is fed.
    pub done_at: Option<usize>,
}

pub fn decode(decoder: &mut Decoder, inputs: &[Input]) -> Decoded {
    let mut streamed = Vec::new();
    let mut finished = Vec::new();
    let mut failed_at = None;
    let mut error = None;
    let mut done_at = None;
    for (i, input) in inputs.iter().enumerate() {
        let ev = SseEvent {
            id: "",
            event: &input.event,
            data: &input.data,
            status: input.status,
            typed: input.typed,
        };
        if let Err(e) = decoder.event(&ev, &mut |e| {
            streamed.push(Ev::from(e));
            Ok(())
        }) {
            failed_at = Some(i);
            error = Some(e);
            break;
        }
        if decoder.is_done() {
            done_at = Some(i);
            break;
        }
    }
    if error.is_none() {
        if let Err(e) = decoder.finish(&mut |e| {
            finished.push(Ev::from(e));
            Ok(())
        }) {
            error = Some(e);
        }
    }
    // Display must not panic either (it reformats text from the network).
    if let Some(e) = &error {
        let _ = e.to_string();
    }
    Decoded {
        streamed,
        finished,
        failed_at,
        error,
        usage: decoder.usage(),
        done_at,
    }
}

/// Invariants every decoder keeps, whatever the input.
pub fn check_common(d: &Decoded) {
    for e in &d.streamed {
        match e {
            Ev::Reasoning(_, t) | Ev::Content(_, t) | Ev::Audio(_, t) => {
                check("empty-text", !t.is_empty(), || {
                    format!("empty text event {e:?}")
                });
            }
            Ev::ToolCall {
                id,
                name,
                arguments,
                ..
            } => {
                check(
                    "empty-tool-call",
                    id.is_some() || name.is_some() || !arguments.is_empty(),
                    || format!("empty tool call {e:?}"),
                );
                check(
                    "empty-tool-call",
                    id.as_deref() != Some("") && name.as_deref() != Some(""),
                    || format!("empty id or name {e:?}"),
                );
            }
            Ev::Sources(s) => {
                check("empty-sources", !s.is_empty(), || "no web sources".into());
            }
            Ev::Usage(_) => {
                check("usage-only-at-end", false, || {
                    "usage emitted before finish".into()
                });
            }
            Ev::Finish(_, r) => {
                check("finish-reason", !r.is_empty(), || {
                    "empty finish reason".into()
                });
                // DashScope's string "null" means "not finished"; a compatible stream should
                // not send it, but a finish named "null" is surely not one either.
                check("finish-reason-null", r != "null", || {
                    format!("finish reason {r:?}")
                });
            }
        }
    }
    check("finish-events", d.finished.len() <= 1, || {
        format!("finish emitted {:?}", d.finished)
    });
    if let Some(Ev::Usage(u)) = d.finished.first() {
        check("usage-consistent", d.usage == Some(*u), || {
            format!("emitted {u:?}, decoder holds {:?}", d.usage)
        });
    } else if let Some(e) = d.finished.first() {
        check("finish-events", false, || format!("finish emitted {e:?}"));
    }
}

/// Split fuzz bytes into SSE data strings at 0xFF, a byte no data string can hold (the SSE
/// decoder hands on valid UTF-8 only).
pub fn pieces(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|b| *b == 0xFF)
}

/// A JSON string literal. `ascii` escapes every non-ASCII character as `\uXXXX` (surrogate
/// pairs beyond the BMP), as some servers do; otherwise only what JSON requires is escaped.
pub fn json_str(s: &str, ascii: bool) -> String {
    if !ascii {
        return serde_json::to_string(s).expect("a string serializes");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// A little reader over the fuzz bytes for the structured modes; returns zeros when empty.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn below(&mut self, n: u8) -> u8 {
        self.byte() % n
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A string of up to 255 bytes, cut short of a code point if the bytes end mid-way.
    pub fn text(&mut self) -> String {
        let len = self.byte() as usize;
        let take = len.min(self.0.len());
        let (head, rest) = self.0.split_at(take);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Cut `s` into `n` parts at char boundaries chosen by `b` (parts may be empty).
pub fn cut(s: &str, n: usize, b: &mut Bytes<'_>) -> Vec<String> {
    let mut bounds: Vec<usize> = (0..n.saturating_sub(1))
        .map(|_| {
            let mut i = (b.byte() as usize * s.len()) / 255;
            while !s.is_char_boundary(i) {
                i += 1;
            }
            i
        })
        .collect();
    bounds.sort_unstable();
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for end in bounds {
        parts.push(s[start..end].to_string());
        start = end;
    }
    parts.push(s[start..].to_string());
    parts
}
