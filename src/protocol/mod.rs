//! Protocol decoders: `SseEvent`s in, `Event`s out (DESIGN §1).
//!
//! Each decoder deserializes only the fields it uses, borrowing text from the event's data
//! wherever the JSON had no escapes, and skips the rest.

pub mod compatible;
pub mod dashscope;
pub(crate) mod json;
pub(crate) mod shape;

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

use crate::cli::Protocol;
use crate::error::{Error, Result};
use crate::event::{Event, Usage};
use crate::sse::SseEvent;

/// Where decoded events go; an error (say, a closed pipe) stops the stream.
pub type Emit<'s> = dyn for<'e> FnMut(Event<'e>) -> Result<()> + 's;

/// A JSON string that borrows from the input when it can; `null` deserializes as `None`
/// through `Option<Text>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A JSON array that holds its first element inline: a chunk nearly always has one choice,
/// and this spares an allocation per delta.
#[derive(Debug)]
pub(crate) struct List<T> {
    first: Option<T>,
    rest: Vec<T>,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                let mut rest = Vec::new();
                if first.is_some() {
                    while let Some(x) = seq.next_element()? {
                        rest.push(x);
                    }
                }
                Ok(List { first, rest })
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<'l, T> IntoIterator for &'l mut List<T> {
    type Item = &'l mut T;
    type IntoIter = std::iter::Chain<std::option::IterMut<'l, T>, std::slice::IterMut<'l, T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.first.iter_mut().chain(self.rest.iter_mut())
    }
}

impl<T: Default> List<T> {
    /// A JSON array read by the fast reader into an empty list, each element filled in
    /// place by `item`.
    #[inline]
    fn read<'a>(
        r: &mut json::Reader<'a>,
        list: &mut Self,
        mut item: impl FnMut(&mut json::Reader<'a>, &mut T) -> Option<()>,
    ) -> Option<()> {
        r.array(|r| {
            if list.first.is_none() {
                item(r, list.first.insert(T::default()))
            } else {
                list.rest.push(T::default());
                item(r, list.rest.last_mut()?)
            }
        })
    }
}

/// Text that is present and not empty: `null` and `""` both mean "nothing".
pub(crate) fn nonempty<'a>(t: &'a Option<Text<'_>>) -> Option<&'a str> {
    t.as_ref().map(Text::as_str).filter(|s| !s.is_empty())
}

/// The bytes of one JSON value that failed to parse, shortened for a one-line message.
pub(crate) fn malformed(what: &str, data: &str, e: &serde_json::Error) -> Error {
    let mut excerpt: String = data.chars().take(60).collect();
    if excerpt.len() < data.len() {
        excerpt.push('…');
    }
    Error::network(format!(
        "malformed stream: {what} is not valid JSON ({e}): {excerpt:?}"
    ))
}

/// Either decoder, or one that has not seen enough of a replay to pick.
#[derive(Debug)]
pub enum Decoder {
    /// `incremental`: `None` when not known either (a replay): found out from the texts.
    Detect {
        incremental: Option<bool>,
    },
    Compatible(compatible::CompatibleDecoder),
    DashScope(dashscope::DashScopeDecoder),
}

impl Decoder {
    pub fn new(protocol: Option<Protocol>, incremental: bool) -> Self {
        Self::with_output(protocol, Some(incremental))
    }

    /// `incremental`: whether the native text comes as deltas (`incremental_output`), or
    /// `None` when the request is not known (a replay): then it is found out from the texts.
    pub fn with_output(protocol: Option<Protocol>, incremental: Option<bool>) -> Self {
        match protocol {
            None => Decoder::Detect { incremental },
            Some(Protocol::Compatible) => Decoder::Compatible(Default::default()),
            Some(Protocol::Dashscope) => Decoder::DashScope(match incremental {
                Some(incremental) => dashscope::DashScopeDecoder::new(incremental),
                None => dashscope::DashScopeDecoder::probing(),
            }),
        }
    }

    /// The protocol of a recording, from its first event, parsed: native chunks wrap the
    /// answer in `output` and native errors are bare `code`/`message` objects; compatible
    /// chunks hold `choices` (or an `error` object, or `[DONE]`). Data that is not a JSON
    /// object falls back on the framing: DashScope names its events and numbers them.
    fn detect(ev: &SseEvent<'_>) -> Protocol {
        if let Ok(serde_json::Value::Object(o)) = serde_json::from_str(ev.data) {
            if o.contains_key("output") {
                return Protocol::Dashscope;
            }
            if o.contains_key("choices") || o.contains_key("error") {
                return Protocol::Compatible;
            }
            if o.contains_key("code") || o.contains_key("request_id") {
                return Protocol::Dashscope;
            }
        }
        if ev.data.trim() == "[DONE]" {
            return Protocol::Compatible;
        }
        if ev.typed || ev.status.is_some() || !ev.id.is_empty() {
            Protocol::Dashscope
        } else {
            Protocol::Compatible
        }
    }

    /// Whether the stream is (or may be) cumulative: its lines then grow to the whole answer.
    pub fn long_lines(&self) -> bool {
        match self {
            Decoder::Detect { incremental } => *incremental != Some(true),
            Decoder::Compatible(_) => false,
            Decoder::DashScope(d) => d.long_lines(),
        }
    }

    /// Whether the stream is known to be cumulative (the request said so, or the replay's
    /// `--no-incremental`), not only possibly.
    pub fn cumulative(&self) -> bool {
        match self {
            Decoder::Detect { incremental } => *incremental == Some(false),
            Decoder::Compatible(_) => false,
            Decoder::DashScope(d) => d.cumulative(),
        }
    }

    pub fn event(&mut self, ev: &SseEvent<'_>, emit: &mut Emit<'_>) -> Result<()> {
        if let Decoder::Detect { incremental } = *self {
            *self = Decoder::with_output(Some(Self::detect(ev)), incremental);
        }
        match self {
            Decoder::Detect { .. } => Ok(()),
            Decoder::Compatible(d) => d.event(ev, emit),
            Decoder::DashScope(d) => d.event(ev, emit),
        }
    }

    /// The stream said it is over (`[DONE]`, or every native choice finished): nothing
    /// after it is read.
    pub fn is_done(&self) -> bool {
        match self {
            Decoder::Detect { .. } => false,
            Decoder::Compatible(d) => d.is_done(),
            Decoder::DashScope(d) => d.is_done(),
        }
    }

    /// A line the decoder has for the user (a replay found cumulative, a cumulative chunk
    /// that rewrote the text), once.
    pub fn take_notice(&mut self) -> Option<String> {
        match self {
            Decoder::DashScope(d) => d.take_notice(),
            _ => None,
        }
    }

    /// Which protocol the decoder speaks, once known.
    pub fn protocol(&self) -> Option<Protocol> {
        match self {
            Decoder::Detect { .. } => None,
            Decoder::Compatible(_) => Some(Protocol::Compatible),
            Decoder::DashScope(_) => Some(Protocol::Dashscope),
        }
    }

    /// The body ended: emit what waits for the end, or fail if the stream was cut short.
    pub fn finish(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        match self {
            Decoder::Detect { .. } => Err(Error::network(
                "stream ended early: the response held no events",
            )),
            Decoder::Compatible(d) => d.finish(emit),
            Decoder::DashScope(d) => d.finish(emit),
        }
    }

    /// The last usage the stream reported, if any.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            Decoder::Detect { .. } => None,
            Decoder::Compatible(d) => d.usage,
            Decoder::DashScope(d) => d.usage,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            Decoder::Detect { .. } | Decoder::Compatible(_) => None,
            Decoder::DashScope(d) => d.request_id.as_deref(),
        }
    }
}

/// For tests and the differential fuzz target: whether the fast JSON reader agrees with
/// serde_json on `data`, for the chunk shape of `protocol`. The reader may give up (then
/// serde_json decides alone); a chunk it does return must equal serde_json's. The second
/// value tells whether the fast reader returned a chunk.
#[doc(hidden)]
pub fn fast_reader_agrees(protocol: Protocol, data: &str) -> (bool, bool) {
    match protocol {
        Protocol::Compatible => compatible::fast_agrees(data),
        Protocol::Dashscope => dashscope::fast_agrees(data),
    }
}

/// For tests and the fuzz target: the shape learned from `learned` (when the fast reader reads
/// it) applied to `data`, against the fast reader on `data`: whether they agree, and whether the
/// shape fitted `data` at all. With [`fast_reader_agrees`], a chunk filled through a shape is
/// the one serde_json makes.
#[doc(hidden)]
pub fn shape_agrees(protocol: Protocol, learned: &str, data: &str) -> (bool, bool) {
    match protocol {
        Protocol::Compatible => compatible::shape_agrees(learned, data),
        Protocol::Dashscope => dashscope::shape_agrees(learned, data),
    }
}

/// [`shape_agrees`] for one protocol's chunk type, its reader and its classifier.
fn shape_agrees_with<'a, C>(
    learned: &'a str,
    data: &'a str,
    read: fn(&mut C, &'a str) -> Option<()>,
    classify: fn(&[shape::Step<'_>]) -> shape::Class,
) -> (bool, bool)
where
    C: Default + fmt::Debug + shape::Fill<'a>,
{
    if read(&mut C::default(), learned).is_none() {
        return (true, false);
    }
    let Some(shape) = shape::Shape::learn(learned, classify) else {
        return (true, false);
    };
    let mut filled = C::default();
    if shape.fill(data, &mut filled).is_none() {
        return (true, false);
    }
    let mut fast = C::default();
    match read(&mut fast, data) {
        Some(()) => (format!("{filled:?}") == format!("{fast:?}"), true),
        None => (false, true),
    }
}

/// The fast reader's chunk (`read` into a default one) against serde_json's, compared field by
/// field through `Debug`: whether they agree, and whether the fast reader read it at all.
fn agrees<'a, C>(data: &'a str, read: impl FnOnce(&mut C, &'a str) -> Option<()>) -> (bool, bool)
where
    C: Default + fmt::Debug + Deserialize<'a>,
{
    let mut fast = C::default();
    match read(&mut fast, data) {
        None => (true, false),
        Some(()) => match serde_json::from_str::<C>(data) {
            Ok(slow) => (format!("{fast:?}") == format!("{slow:?}"), true),
            Err(_) => (false, true),
        },
    }
}

/// `--raw` prints every event as it came, but an error event still decides the exit code,
/// and the end of the stream still ends the run: each event goes through `decoder` as well,
/// its output dropped. Only a service error (or a local failure such as a closed pipe)
/// counts: data that is not the protocol's JSON is what `--raw` is for.
pub fn check_raw(decoder: &mut Decoder, ev: &SseEvent<'_>) -> Result<()> {
    match decoder.event(ev, &mut |_| Ok(())) {
        Err(e) if e.api.is_some() || e.exit == crate::error::Exit::Interrupted => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod shape_tests {
    use super::testutil::to_owned;
    use super::*;
    use crate::sse::{LineTooLong, SseDecoder};

    fn decode(protocol: Protocol, shapes: bool, reads: &[&[u8]]) -> (Vec<Event<'static>>, bool) {
        let mut decoder = Decoder::new(Some(protocol), true);
        if !shapes {
            match &mut decoder {
                Decoder::Compatible(d) => d.without_shapes(),
                Decoder::DashScope(d) => d.without_shapes(),
                Decoder::Detect { .. } => unreachable!(),
            }
        }
        let mut sse = SseDecoder::default();
        let mut out = Vec::new();
        let mut failed = None;
        for read in reads {
            let _ = sse.feed::<LineTooLong>(read, &mut |ev| {
                if failed.is_none() && !decoder.is_done() {
                    if let Err(e) = decoder.event(&ev, &mut |e| {
                        out.push(to_owned(e));
                        Ok(())
                    }) {
                        failed = Some(e.to_string());
                    }
                }
                Ok(())
            });
        }
        let ok = failed.is_none()
            && decoder
                .finish(&mut |e| {
                    out.push(to_owned(e));
                    Ok(())
                })
                .is_ok();
        (out, ok)
    }

    /// Every recording, fed in two reads split at every byte: the same events with shapes as
    /// with the reader alone.
    #[test]
    fn shapes_change_nothing_a_recording_decodes_to_at_any_split() {
        for (file, protocol) in [
            ("compatible_basic.sse", Protocol::Compatible),
            ("compatible_thinking.sse", Protocol::Compatible),
            ("dashscope_incremental.sse", Protocol::Dashscope),
            ("dashscope_thinking.sse", Protocol::Dashscope),
            ("dashscope_cumulative.sse", Protocol::Dashscope),
            ("dashscope_search.sse", Protocol::Dashscope),
            ("dashscope_search_escapes.sse", Protocol::Dashscope),
        ] {
            let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
            let body = std::fs::read(&path).expect("fixture is readable");
            let (want, ok) = decode(protocol, false, &[&body]);
            assert!(ok && want.len() > 3, "{file}");
            for at in 0..=body.len() {
                let (got, ok) = decode(protocol, true, &[&body[..at], &body[at..]]);
                assert!(ok, "{file} split at {at}");
                assert_eq!(got, want, "{file} split at {at}");
            }
        }
    }
}

#[cfg(test)]
mod delta_tests {
    use super::testutil::collect;
    use super::*;

    #[test]
    fn only_a_stream_known_to_be_cumulative_is_read_without_read_ahead() {
        // `stream_with` reads a cumulative stream on one thread; one that may be cumulative
        // (a replay being probed) keeps the reading thread, with the long reads of both.
        let native = Some(Protocol::Dashscope);
        let cases = [
            (Decoder::with_output(native, Some(false)), true, true),
            (Decoder::with_output(native, Some(true)), false, false),
            (Decoder::with_output(native, None), false, true),
            (Decoder::with_output(None, Some(false)), true, true),
            (Decoder::with_output(None, None), false, true),
            (
                Decoder::with_output(Some(Protocol::Compatible), Some(false)),
                false,
                false,
            ),
        ];
        for (i, (decoder, cumulative, long)) in cases.iter().enumerate() {
            assert_eq!(decoder.cumulative(), *cumulative, "case {i}");
            assert_eq!(decoder.long_lines(), *long, "case {i}");
        }
    }

    /// A native stream's events, decoded with shapes (a delta chunk filled through the learned
    /// shape is decoded by `DashScopeDecoder::delta`) and without (every chunk through the
    /// reader and `event`): the events, and the error, as text.
    fn both(
        incremental: Option<bool>,
        events: &[(&str, &str, Option<u16>)],
    ) -> [(Vec<Event<'static>>, String); 2] {
        [true, false].map(|shapes| {
            let mut decoder = Decoder::with_output(Some(Protocol::Dashscope), incremental);
            if let (false, Decoder::DashScope(d)) = (shapes, &mut decoder) {
                d.without_shapes();
            }
            let (out, r) = collect(&mut decoder, events);
            let ending = match r {
                Ok(()) => format!("ok {:?} {:?}", decoder.usage(), decoder.request_id()),
                Err(e) => format!("{e} {:?} {:?} {:?}", e.exit, e.api, decoder.request_id()),
            };
            (out, ending)
        })
    }

    /// Every single-byte edit of typical delta chunks (deleted, replaced, inserted from an
    /// alphabet of JSON's structural characters), between unedited ones so that a shape is
    /// learned before it and applied after it (or learned from it): the same events, usage,
    /// request id and errors whether the shape path decodes what fits or the reader does all.
    /// Also as an `event:error` and with an HTTP status of 500, cumulative, and in a replay.
    #[test]
    fn the_shape_path_decodes_every_edit_as_the_reader_path_does() {
        let seeds = [
            r#"{"output":{"choices":[{"message":{"content":" let a server push","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":28,"output_tokens":2,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97"}"#,
            r#"{"output":{"choices":[{"index":0,"message":{"reasoning_content":"hm","content":""},"finish_reason":"null"}]},"usage":{"input_tokens":1,"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1}},"request_id":""}"#,
            r#"{"output":{"text":"plain","finish_reason":"null"},"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":null},"request_id":"r"}"#,
        ];
        let last = r#"{"output":{"choices":[{"message":{"content":"","role":"assistant"},"finish_reason":"stop"}]},"usage":{"total_tokens":30,"output_tokens":4,"input_tokens":26},"request_id":"d30a9914-ac97"}"#;
        let (mut tried, mut decoded) = (0usize, 0usize);
        for seed in seeds {
            for data in crate::protocol::testutil::single_edits(seed) {
                tried += 1;
                // `None`: a replay, incremental or cumulative found out from the texts.
                let cases: [(&str, Option<u16>, Option<bool>); 5] = [
                    ("result", Some(200), Some(true)),
                    ("error", Some(200), Some(true)),
                    ("result", Some(500), Some(true)),
                    ("result", Some(200), Some(false)),
                    ("result", Some(200), None),
                ];
                for (kind, status, incremental) in cases {
                    let events = [
                        ("result", seed, Some(200)),
                        (kind, data.as_str(), status),
                        ("result", seed, Some(200)),
                        ("result", data.as_str(), Some(200)),
                        ("result", last, Some(200)),
                    ];
                    let [with, without] = both(incremental, &events);
                    assert_eq!(with, without, "{kind} {status:?} {incremental:?}: {data}");
                    decoded += usize::from(without.1.starts_with("ok"));
                }
            }
        }
        assert!(tried > 5_000 && decoded > 1_000, "{tried} {decoded}");
    }

    /// Ids, finish values and texts that repeat the learned chunk's bytes (known without
    /// reading them) or do not, escaped or not, `null` or empty, learned from each and applied
    /// to each.
    #[test]
    fn repeated_and_changed_values_decode_alike() {
        let chunk = |content: &str, finish: &str, id: &str| {
            format!(
                r#"{{"output":{{"choices":[{{"message":{{"content":{content},"role":"assistant"}},"finish_reason":{finish}}}]}},"usage":{{"input_tokens":1,"output_tokens":2}},"request_id":{id}}}"#
            )
        };
        let values = [
            r#""a""#,
            r#""a\nb""#,
            r#""""#,
            "null",
            r#""\u0061""#,
            r#""é""#,
        ];
        let mut datas = Vec::new();
        // Counts that repeat, grow a digit, or turn into what the reader does not read.
        let counts = [
            "2",
            "26",
            "2.5",
            "2e1",
            "02",
            "null",
            "0",
            " 2",
            "4294967296",
        ];
        for input in counts {
            for total in counts {
                datas.push(format!(
                    r#"{{"output":{{"choices":[{{"index":{total},"message":{{"content":"a"}},"finish_reason":"null"}}]}},"usage":{{"input_tokens":{input},"output_tokens":1,"total_tokens":{total}}}}}"#
                ));
            }
        }
        for content in values {
            for finish in [r#""null""#, r#""stop""#, r#""""#, "null", r#""nu\u006cl""#] {
                for id in [r#""r-1""#, r#""r-2""#, r#""r\u002d1""#, r#""""#, "null"] {
                    datas.push(chunk(content, finish, id));
                }
            }
        }
        for learned in &datas {
            for data in &datas {
                let events = [
                    ("result", learned.as_str(), Some(200)),
                    ("result", data.as_str(), Some(200)),
                    ("result", data.as_str(), Some(200)),
                ];
                for incremental in [Some(true), Some(false), None] {
                    let [with, without] = both(incremental, &events);
                    assert_eq!(with, without, "learned {learned}, then {data}");
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Every single-byte deletion, replacement and insertion of `seed` (from an alphabet of
    /// JSON's structural bytes and a few others) that is still UTF-8.
    pub fn single_edits(seed: &str) -> Vec<String> {
        const ALPHABET: &[u8] = b"\"\\{}[],:01-.eEntfu \n\x01a\xc3\xa9";
        let b = seed.as_bytes();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for i in 0..=b.len() {
            if i < b.len() {
                variants.push([&b[..i], &b[i + 1..]].concat());
            }
            for &c in ALPHABET {
                if i < b.len() {
                    variants.push([&b[..i], &[c], &b[i + 1..]].concat());
                }
                variants.push([&b[..i], &[c], &b[i..]].concat());
            }
        }
        variants
            .into_iter()
            .filter_map(|v| String::from_utf8(v).ok())
            .collect()
    }

    /// Owned copies of events, for comparing in tests.
    pub fn collect(
        decoder: &mut Decoder,
        events: &[(&str, &str, Option<u16>)],
    ) -> (Vec<Event<'static>>, Result<()>) {
        let mut out = Vec::new();
        let mut emit = |e: Event<'_>| {
            out.push(to_owned(e));
            Ok(())
        };
        for (event, data, status) in events {
            let ev = SseEvent {
                id: "",
                event,
                data,
                status: *status,
                typed: *event != "message",
            };
            if let Err(e) = decoder.event(&ev, &mut emit) {
                return (out, Err(e));
            }
        }
        let r = decoder.finish(&mut emit);
        (out, r)
    }

    pub fn to_owned(e: Event<'_>) -> Event<'static> {
        e.into_owned()
    }

    pub fn content(text: &str) -> Event<'static> {
        Event::Content {
            choice: 0,
            text: Cow::Owned(text.into()),
        }
    }

    pub fn reasoning(text: &str) -> Event<'static> {
        Event::Reasoning {
            choice: 0,
            text: Cow::Owned(text.into()),
        }
    }

    pub fn finish(reason: &str) -> Event<'static> {
        Event::Finish {
            choice: 0,
            reason: Cow::Owned(reason.into()),
        }
    }
}

/// One fragment of a streamed tool call, the same shape in both protocols.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct FunctionDelta<'a> {
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Text<'a>>,
}

impl<'a> ToolCallDelta<'a> {
    /// `null` or a list of fragments, by the fast reader.
    fn read_list(r: &mut json::Reader<'a>) -> Option<Option<Vec<Self>>> {
        r.opt(|r| {
            let mut calls = Vec::new();
            r.array(|r| {
                calls.push(Self::read(r)?);
                Some(())
            })?;
            Some(calls)
        })
    }

    fn read(r: &mut json::Reader<'a>) -> Option<Self> {
        let mut call = ToolCallDelta {
            index: None,
            id: None,
            function: None,
        };
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"index" => {
                    json::once(&mut seen, 1)?;
                    call.index = r.opt(json::Reader::u32)?;
                }
                b"id" => {
                    json::once(&mut seen, 2)?;
                    call.id = r.text()?;
                }
                b"function" => {
                    json::once(&mut seen, 4)?;
                    call.function = r.opt(|r| {
                        let mut f = FunctionDelta {
                            name: None,
                            arguments: None,
                        };
                        let mut seen = 0;
                        r.object(|r, key| match key {
                            b"name" => {
                                json::once(&mut seen, 1)?;
                                f.name = r.text()?;
                                Some(())
                            }
                            b"arguments" => {
                                json::once(&mut seen, 2)?;
                                f.arguments = r.text()?;
                                Some(())
                            }
                            _ => r.skip(),
                        })?;
                        Some(f)
                    })?;
                }
                _ => r.skip()?,
            }
            Some(())
        })?;
        Some(call)
    }
}

/// Emit the tool-call fragments of one choice; a fragment without an `index` takes its
/// position in the list. `cumulative`, when given, holds per call index how much of the
/// arguments was already emitted, for streams that repeat everything so far on each chunk:
/// then only what is new is emitted, and the id and name only the first time.
pub(crate) fn emit_tool_calls(
    choice: u32,
    calls: Vec<ToolCallDelta<'_>>,
    mut cumulative: Option<&mut ByIndex<usize>>,
    emit: &mut Emit<'_>,
) -> Result<()> {
    for (pos, call) in calls.into_iter().enumerate() {
        let index = call.index.unwrap_or(pos as u32);
        let (name, arguments) = match call.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let mut id = call.id.map(|t| t.0).filter(|s| !s.is_empty());
        let mut name = name.map(|t| t.0).filter(|s| !s.is_empty());
        let mut arguments = arguments.map(|t| t.0).unwrap_or_default();
        if let Some(seen) = cumulative.as_deref_mut() {
            let first = !seen.contains(index);
            if !first {
                id = None;
                name = None;
            }
            arguments = new_part(arguments, seen.entry(index));
        }
        if id.is_none() && name.is_none() && arguments.is_empty() {
            continue;
        }
        emit(Event::ToolCall {
            choice,
            index,
            id,
            name,
            arguments,
        })?;
    }
    Ok(())
}

/// State kept per index (of a choice, of a tool call). The index comes from the server, so
/// it keys a map and never sizes anything.
#[derive(Debug, Clone)]
pub(crate) struct ByIndex<T>(std::collections::BTreeMap<u32, T>);

impl<T> Default for ByIndex<T> {
    fn default() -> Self {
        ByIndex(std::collections::BTreeMap::new())
    }
}

impl<T: Default> ByIndex<T> {
    pub(crate) fn contains(&self, index: u32) -> bool {
        self.0.contains_key(&index)
    }

    pub(crate) fn entry(&mut self, index: u32) -> &mut T {
        self.0.entry(index).or_default()
    }
}

/// What of a cumulative `full` text is new, given that `seen` bytes were emitted before.
/// Linear in the length of `full`; never splits a code point.
pub(crate) fn new_part<'t>(full: Cow<'t, str>, seen: &mut usize) -> Cow<'t, str> {
    if full.len() <= *seen {
        // Same text, or (never seen in practice) a shorter one: nothing new to print.
        *seen = full.len();
        return Cow::Borrowed("");
    }
    let mut start = *seen;
    while !full.is_char_boundary(start) {
        start += 1;
    }
    *seen = full.len();
    match full {
        Cow::Borrowed(s) => Cow::Borrowed(&s[start..]),
        Cow::Owned(mut s) => {
            s.drain(..start);
            Cow::Owned(s)
        }
    }
}
