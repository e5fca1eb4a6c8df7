//! The DashScope-native protocol: `id:`/`event:result`/`:HTTP_STATUS/200`/`data:` events whose
//! data is `{"output": {"choices": [{"message": …, "finish_reason": "null"}]}, "usage", "request_id"}`.
//! Usage comes on every chunk (a running total: the last one wins); the string `"null"` means
//! "not finished"; errors are `event:error` with the status in the `:HTTP_STATUS` comment.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};

use super::json::{once, Reader};
use super::shape::{same, Class, Fill, Shape, Shapes, Step, Value};
use super::{
    emit_tool_calls, malformed, new_part, nonempty, ByIndex, Emit, List, Text, ToolCallDelta,
};
use crate::error::{Error, Result};
use crate::event::{ApiError, Event, Usage, WebSource};
use crate::sse::SseEvent;

#[derive(Debug, Default)]
pub struct DashScopeDecoder {
    pub usage: Option<Usage>,
    pub request_id: Option<String>,
    /// Whether every chunk repeats all the text so far (`incremental_output: false`).
    mode: Mode,
    /// Per choice, the cumulative texts so far (what the next chunk should extend).
    seen: ByIndex<Seen>,
    seen_calls: ByIndex<ByIndex<usize>>,
    finished: bool,
    /// Choices (below 64) that sent anything, and those that finished: the stream is over
    /// once every choice that spoke has finished.
    choices_seen: u64,
    choices_finished: u64,
    /// A line for the user, waiting to be taken (`take_notice`).
    notice: Option<String>,
    /// A cumulative chunk did not extend the text: said once.
    warned: bool,
    /// The web sources went out (they are sent once, however often they repeat).
    sources_sent: bool,
    /// The shape of the delta chunks (`super::shape`).
    shapes: Shapes,
    /// Texts read only beyond the text so far (`Filling`): tests check the path was taken.
    #[cfg(test)]
    afters: usize,
}

/// Incremental or cumulative text, or not known yet (a replay without `--no-incremental`).
#[derive(Debug, Default)]
enum Mode {
    #[default]
    Incremental,
    Cumulative,
    Probe(Box<Probe>),
}

/// What a replay has shown so far of its first texts (one choice, one kind): a cumulative
/// recording repeats each text in full and extends it, chunk after chunk. Two extensions in a
/// row decide it; the second text waits until the third shows which it was.
#[derive(Debug, Default)]
struct Probe {
    choice: u32,
    reasoning: bool,
    first: Option<String>,
    second: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Seen {
    content: String,
    reasoning: String,
    /// The raw bytes (between the quotes, escapes as sent) of the string whose text is
    /// `content` (`reasoning`), when the shape read it (else empty): a chunk whose string
    /// starts with them is read only beyond them (`Filling`).
    raw_content: String,
    raw_reasoning: String,
}

/// What is known of a text's raw bytes in the chunk (`Filling`).
#[derive(Debug, Default, Clone, Copy)]
enum Raw<'a> {
    /// Nothing (the reader or serde_json read it).
    #[default]
    Unknown,
    /// The text is the whole string; these are its raw bytes.
    Whole(&'a str),
    /// The string started with the raw bytes of the text so far (`Seen`); the text is what
    /// follows them, and these are its raw bytes.
    After(&'a str),
}

/// The raw bytes of the texts of a chunk the shape filled (choice 0 only).
#[derive(Debug, Default, Clone, Copy)]
struct Raws<'a> {
    content: Raw<'a>,
    reasoning: Raw<'a>,
    text: Raw<'a>,
}

impl Raws<'_> {
    fn after(&self) -> bool {
        [self.content, self.reasoning, self.text]
            .iter()
            .any(|r| matches!(r, Raw::After(_)))
    }
}

/// A chunk filled through the shape on a cumulative stream: each text of choice 0 that
/// starts with the raw bytes of the text so far is read only beyond them (the validation,
/// unescaping and comparison of all the text so far, every chunk, was most of the time of a
/// cumulative stream). Whatever else the chunk is, it fills it as `Chunk`'s `Fill` does.
struct Filling<'c, 'a> {
    chunk: &'c mut Chunk<'a>,
    /// The raw content and reasoning of choice 0 so far (empty: not known).
    known: [&'c [u8]; 2],
    raws: Raws<'a>,
}

impl<'a> Fill<'a> for Filling<'_, 'a> {
    #[inline]
    fn build(&mut self, target: u8) -> Option<()> {
        build(self.chunk, target)
    }

    #[inline]
    fn slot(&mut self, target: u8, value: Value<'a>) -> Option<()> {
        slot(self.chunk, target, value)
    }

    #[inline]
    fn known(&mut self, target: u8) -> &[u8] {
        match target {
            // `output.text` is choice 0's content too: the chunk is read again when it has
            // both (`Filling::fits`).
            CONTENT | TEXT => self.known[0],
            REASONING => self.known[1],
            _ => &[],
        }
    }

    #[inline]
    fn raw(&mut self, target: u8, raw: &'a str, after: bool) {
        let raw = if after {
            Raw::After(raw)
        } else {
            Raw::Whole(raw)
        };
        match target {
            CONTENT => self.raws.content = raw,
            REASONING => self.raws.reasoning = raw,
            TEXT => self.raws.text = raw,
            _ => {}
        }
    }
}

impl Filling<'_, '_> {
    /// Whether a text read beyond what is known is the text of what was known: choice 0's
    /// (the index was read after the text, perhaps) and only one of content and `output.text`
    /// (each was read against the same text so far).
    fn fits(&self) -> bool {
        if !self.raws.after() {
            return true;
        }
        let both =
            !matches!(self.raws.content, Raw::Unknown) && !matches!(self.raws.text, Raw::Unknown);
        let index = self
            .chunk
            .output
            .as_ref()
            .and_then(|o| o.choices.as_ref())
            .and_then(|c| c.first.as_ref())
            .and_then(|c| c.index);
        !both && index.unwrap_or(0) == 0
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    output: Option<Output<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(borrow, default)]
    request_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    code: Option<Text<'a>>,
    #[serde(borrow, default)]
    message: Option<Text<'a>>,
    /// An OpenAI-compatible error object, sent where a native one was expected.
    #[serde(default)]
    error: Option<Box<serde_json::Value>>,
    /// OpenAI-compatible chunks carry `choices` at the top: the wrong protocol.
    #[serde(default)]
    choices: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Output<'a> {
    #[serde(borrow, default)]
    choices: Option<List<Choice<'a>>>,
    /// `result_format: "text"` puts the answer here instead of in `choices`.
    #[serde(borrow, default)]
    text: Option<Text<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Text<'a>>,
    /// Web search (`search_options.enable_source`): the pages the answer drew on.
    #[serde(borrow, default)]
    search_info: Option<SearchInfo<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct SearchInfo<'a> {
    #[serde(borrow, default)]
    search_results: Option<Vec<SearchResult<'a>>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct SearchResult<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    title: Option<Text<'a>>,
    #[serde(borrow, default)]
    url: Option<Text<'a>>,
    #[serde(borrow, default)]
    site_name: Option<Text<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Text<'a>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

/// `content` is a string for text models and a list of `{"text": …}` parts for multimodal
/// ones (possibly empty on the last chunk).
#[derive(Debug)]
enum Content<'a> {
    Str(Text<'a>),
    Parts(Vec<Part<'a>>),
}

#[derive(Debug, serde::Deserialize)]
struct Part<'a> {
    #[serde(borrow, default)]
    text: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of parts")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Content::Str(Text(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Content::Str(Text(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(Content::Str(Text(Cow::Owned(v))))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut parts = Vec::new();
                while let Some(p) = seq.next_element()? {
                    parts.push(p);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'a> Content<'a> {
    /// All the text, borrowed when there is a single piece.
    fn text(self) -> Cow<'a, str> {
        match self {
            Content::Str(t) => t.0,
            Content::Parts(mut parts) => {
                let mut texts = parts.iter_mut().filter_map(|p| p.text.take());
                match (texts.next(), texts.next()) {
                    (None, _) => Cow::Borrowed(""),
                    (Some(one), None) => one.0,
                    (Some(a), Some(b)) => {
                        let mut s = a.0.into_owned();
                        s.push_str(&b.0);
                        for t in texts {
                            s.push_str(&t.0);
                        }
                        Cow::Owned(s)
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    output_tokens_details: Option<Details>,
    #[serde(default)]
    plugins: Option<Plugins>,
}

/// `usage.plugins.search.count`: web searches billed.
#[derive(Debug, Default, serde::Deserialize)]
struct Plugins {
    #[serde(default)]
    search: Option<Counted>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Counted {
    #[serde(default)]
    count: Option<u64>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct Details {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

// The fast reader (`super::json`): fills a default chunk in place (no struct is moved) with
// what serde_json would make of the data, or gives up (`None`) and leaves it to serde_json.
impl<'a> Chunk<'a> {
    fn read(&mut self, data: &'a str) -> Option<()> {
        let mut r = Reader::new(data);
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"output" => {
                    once(&mut seen, 1)?;
                    r.opt_into(&mut self.output, Output::read)?;
                }
                b"usage" => {
                    once(&mut seen, 2)?;
                    r.opt_into(&mut self.usage, WireUsage::read)?;
                }
                b"request_id" => {
                    once(&mut seen, 4)?;
                    self.request_id = r.text()?;
                }
                b"code" => {
                    once(&mut seen, 8)?;
                    self.code = r.text()?;
                }
                b"message" => {
                    once(&mut seen, 16)?;
                    self.message = r.text()?;
                }
                // A gateway's error: rare, serde_json reads it.
                b"error" => return None,
                b"choices" => {
                    once(&mut seen, 32)?;
                    if !r.null()? {
                        r.skip()?;
                        self.choices = Some(serde::de::IgnoredAny);
                    }
                }
                _ => r.skip()?,
            }
            Some(())
        })?;
        r.end()
    }
}

impl<'a> Output<'a> {
    fn read(r: &mut Reader<'a>, output: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"choices" => {
                    once(&mut seen, 1)?;
                    r.opt_into(&mut output.choices, |r, list| {
                        List::read(r, list, Choice::read)
                    })?;
                }
                b"text" => {
                    once(&mut seen, 2)?;
                    output.text = r.text()?;
                }
                b"finish_reason" => {
                    once(&mut seen, 4)?;
                    output.finish_reason = r.text()?;
                }
                b"search_info" => {
                    once(&mut seen, 8)?;
                    r.opt_into(&mut output.search_info, SearchInfo::read)?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

impl<'a> SearchInfo<'a> {
    fn read(r: &mut Reader<'a>, info: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"search_results" => {
                    once(&mut seen, 1)?;
                    info.search_results = r.opt(|r| {
                        let mut list = Vec::new();
                        r.array(|r| {
                            let mut item = SearchResult::default();
                            let mut seen = 0;
                            r.object(|r, key| {
                                match key {
                                    b"index" => {
                                        once(&mut seen, 1)?;
                                        item.index = r.opt(Reader::u32)?;
                                    }
                                    b"title" => {
                                        once(&mut seen, 2)?;
                                        item.title = r.text()?;
                                    }
                                    b"url" => {
                                        once(&mut seen, 4)?;
                                        item.url = r.text()?;
                                    }
                                    b"site_name" => {
                                        once(&mut seen, 8)?;
                                        item.site_name = r.text()?;
                                    }
                                    _ => r.skip()?,
                                }
                                Some(())
                            })?;
                            list.push(item);
                            Some(())
                        })?;
                        Some(list)
                    })?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

impl<'a> Choice<'a> {
    fn read(r: &mut Reader<'a>, choice: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"index" => {
                    once(&mut seen, 1)?;
                    choice.index = r.opt(Reader::u32)?;
                }
                b"message" => {
                    once(&mut seen, 2)?;
                    r.opt_into(&mut choice.message, Message::read)?;
                }
                b"finish_reason" => {
                    once(&mut seen, 4)?;
                    choice.finish_reason = r.text()?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

impl<'a> Message<'a> {
    fn read(r: &mut Reader<'a>, message: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"content" => {
                    once(&mut seen, 1)?;
                    message.content = r.opt(|r| {
                        if r.at_string()? {
                            return r.string().map(|s| Content::Str(Text(s)));
                        }
                        let mut parts = Vec::new();
                        r.array(|r| {
                            let mut part = Part { text: None };
                            let mut seen = 0;
                            r.object(|r, key| match key {
                                b"text" => {
                                    once(&mut seen, 1)?;
                                    part.text = r.text()?;
                                    Some(())
                                }
                                _ => r.skip(),
                            })?;
                            parts.push(part);
                            Some(())
                        })?;
                        Some(Content::Parts(parts))
                    })?;
                }
                b"reasoning_content" => {
                    once(&mut seen, 2)?;
                    message.reasoning_content = r.text()?;
                }
                b"tool_calls" => {
                    once(&mut seen, 4)?;
                    message.tool_calls = ToolCallDelta::read_list(r)?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

impl WireUsage {
    fn read(r: &mut Reader<'_>, usage: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"input_tokens" => {
                    once(&mut seen, 1)?;
                    usage.input_tokens = r.u64()?;
                }
                b"output_tokens" => {
                    once(&mut seen, 2)?;
                    usage.output_tokens = r.u64()?;
                }
                b"total_tokens" => {
                    once(&mut seen, 4)?;
                    usage.total_tokens = r.opt(Reader::u64)?;
                }
                b"prompt_tokens_details" => {
                    once(&mut seen, 8)?;
                    r.opt_into(&mut usage.prompt_tokens_details, Details::read)?;
                }
                b"output_tokens_details" => {
                    once(&mut seen, 16)?;
                    r.opt_into(&mut usage.output_tokens_details, Details::read)?;
                }
                b"plugins" => {
                    once(&mut seen, 32)?;
                    r.opt_into(&mut usage.plugins, |r, plugins: &mut Plugins| {
                        let mut seen = 0;
                        r.object(|r, key| {
                            match key {
                                b"search" => {
                                    once(&mut seen, 1)?;
                                    r.opt_into(&mut plugins.search, |r, c: &mut Counted| {
                                        let mut seen = 0;
                                        r.object(|r, key| {
                                            match key {
                                                b"count" => {
                                                    once(&mut seen, 1)?;
                                                    c.count = r.opt(Reader::u64)?;
                                                }
                                                _ => r.skip()?,
                                            }
                                            Some(())
                                        })
                                    })?;
                                }
                                _ => r.skip()?,
                            }
                            Some(())
                        })
                    })?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

impl Details {
    fn read(r: &mut Reader<'_>, details: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"cached_tokens" => {
                    once(&mut seen, 1)?;
                    details.cached_tokens = r.opt(Reader::u64)?;
                }
                b"reasoning_tokens" => {
                    once(&mut seen, 2)?;
                    details.reasoning_tokens = r.opt(Reader::u64)?;
                }
                _ => r.skip()?,
            }
            Some(())
        })
    }
}

/// Whether the fast reader agrees with serde_json on `data` (see `super::agrees`).
pub(super) fn fast_agrees(data: &str) -> (bool, bool) {
    super::agrees(data, Chunk::read)
}

/// See `super::shape_agrees`.
pub(super) fn shape_agrees(learned: &str, data: &str) -> (bool, bool) {
    super::shape_agrees_with(learned, data, Chunk::read, classify)
}

// The chunk's shape (`super::shape`): what `Chunk::read` and the `read`s below do at each path,
// and how a shape's values fill a default chunk. The targets:
const ROOT: u8 = 0;
const OUTPUT: u8 = 1;
const CHOICES: u8 = 2;
const CHOICE: u8 = 3;
const INDEX: u8 = 4;
const MESSAGE: u8 = 5;
const CONTENT: u8 = 6;
const REASONING: u8 = 7;
const FINISH: u8 = 8;
const TEXT: u8 = 9;
const OUTPUT_FINISH: u8 = 10;
const USAGE: u8 = 11;
const INPUT_TOKENS: u8 = 12;
const OUTPUT_TOKENS: u8 = 13;
const TOTAL_TOKENS: u8 = 14;
const PROMPT_DETAILS: u8 = 15;
const OUTPUT_DETAILS: u8 = 16;
const PROMPT_CACHED: u8 = 17;
const PROMPT_REASONING: u8 = 18;
const OUTPUT_CACHED: u8 = 19;
const OUTPUT_REASONING: u8 = 20;
const REQUEST_ID: u8 = 21;

/// One choice (the first), plain text, usage and ids: a delta chunk. Tool calls, search
/// results, plugins, errors and a second choice are left to the reader.
fn classify(path: &[Step<'_>]) -> Class {
    use Step::{Index, Key};
    const DETAILS: [&[u8]; 2] = [b"prompt_tokens_details", b"output_tokens_details"];
    match path {
        [] => Class::Build(ROOT),
        [Key(b"output")] => Class::Build(OUTPUT),
        [Key(b"output"), rest @ ..] => match rest {
            [Key(b"choices")] => Class::Build(CHOICES),
            [Key(b"choices"), Index(0)] => Class::Build(CHOICE),
            [Key(b"choices"), Index(0), Key(b"index")] => Class::U32(INDEX),
            [Key(b"choices"), Index(0), Key(b"message")] => Class::Build(MESSAGE),
            [Key(b"choices"), Index(0), Key(b"message"), Key(key)] => match *key {
                b"content" => Class::Str(CONTENT),
                b"reasoning_content" => Class::Str(REASONING),
                b"tool_calls" => Class::Reject,
                _ => Class::Skip,
            },
            [Key(b"choices"), Index(0), Key(b"finish_reason")] => Class::Str(FINISH),
            [Key(b"choices"), Index(0), Key(_)] => Class::Skip,
            [Key(b"text")] => Class::Str(TEXT),
            [Key(b"finish_reason")] => Class::Str(OUTPUT_FINISH),
            [Key(b"search_info")] => Class::Reject,
            [Key(_)] => Class::Skip,
            _ => Class::Reject,
        },
        [Key(b"usage")] => Class::Build(USAGE),
        [Key(b"usage"), Key(b"input_tokens")] => Class::U64(INPUT_TOKENS),
        [Key(b"usage"), Key(b"output_tokens")] => Class::U64(OUTPUT_TOKENS),
        [Key(b"usage"), Key(b"total_tokens")] => Class::U64(TOTAL_TOKENS),
        [Key(b"usage"), Key(b"prompt_tokens_details")] => Class::Build(PROMPT_DETAILS),
        [Key(b"usage"), Key(b"output_tokens_details")] => Class::Build(OUTPUT_DETAILS),
        [Key(b"usage"), Key(details), Key(key)] if DETAILS.contains(details) => {
            let prompt = *details == DETAILS[0];
            match (*key, prompt) {
                (b"cached_tokens", true) => Class::U64(PROMPT_CACHED),
                (b"reasoning_tokens", true) => Class::U64(PROMPT_REASONING),
                (b"cached_tokens", false) => Class::U64(OUTPUT_CACHED),
                (b"reasoning_tokens", false) => Class::U64(OUTPUT_REASONING),
                _ => Class::Skip,
            }
        }
        [Key(b"usage"), Key(b"plugins")] => Class::Reject,
        [Key(b"usage"), Key(_)] => Class::Skip,
        [Key(b"request_id")] => Class::Str(REQUEST_ID),
        [Key(b"code" | b"message" | b"choices")] => Class::Null,
        [Key(b"error")] => Class::Reject,
        [Key(_)] => Class::Skip,
        _ => Class::Reject,
    }
}

impl<'a> Fill<'a> for Chunk<'a> {
    #[inline]
    fn build(&mut self, target: u8) -> Option<()> {
        build(self, target)
    }

    #[inline]
    fn slot(&mut self, target: u8, value: Value<'a>) -> Option<()> {
        slot(self, target, value)
    }
}

#[inline]
fn build(chunk: &mut Chunk<'_>, target: u8) -> Option<()> {
    match target {
        ROOT => {}
        OUTPUT => chunk.output = Some(Output::default()),
        CHOICES => chunk.output.as_mut()?.choices = Some(List::default()),
        CHOICE => chunk.output.as_mut()?.choices.as_mut()?.first = Some(Choice::default()),
        MESSAGE => choice(chunk)?.message = Some(Message::default()),
        USAGE => chunk.usage = Some(WireUsage::default()),
        PROMPT_DETAILS => chunk.usage.as_mut()?.prompt_tokens_details = Some(Details::default()),
        OUTPUT_DETAILS => chunk.usage.as_mut()?.output_tokens_details = Some(Details::default()),
        _ => return None,
    }
    Some(())
}

fn choice<'c, 'a>(chunk: &'c mut Chunk<'a>) -> Option<&'c mut Choice<'a>> {
    chunk.output.as_mut()?.choices.as_mut()?.first.as_mut()
}

#[inline]
fn slot<'a>(chunk: &mut Chunk<'a>, target: u8, value: Value<'a>) -> Option<()> {
    match value {
        Value::Str(s) => match target {
            CONTENT => choice(chunk)?.message.as_mut()?.content = Some(Content::Str(Text(s))),
            REASONING => choice(chunk)?.message.as_mut()?.reasoning_content = Some(Text(s)),
            FINISH => choice(chunk)?.finish_reason = Some(Text(s)),
            TEXT => chunk.output.as_mut()?.text = Some(Text(s)),
            OUTPUT_FINISH => chunk.output.as_mut()?.finish_reason = Some(Text(s)),
            REQUEST_ID => chunk.request_id = Some(Text(s)),
            _ => return None,
        },
        Value::Int(n) => {
            let usage = chunk.usage.as_mut();
            match target {
                INDEX => choice(chunk)?.index = Some(u32::try_from(n).ok()?),
                INPUT_TOKENS => usage?.input_tokens = n,
                OUTPUT_TOKENS => usage?.output_tokens = n,
                TOTAL_TOKENS => usage?.total_tokens = Some(n),
                PROMPT_CACHED => usage?.prompt_tokens_details.as_mut()?.cached_tokens = Some(n),
                PROMPT_REASONING => {
                    usage?.prompt_tokens_details.as_mut()?.reasoning_tokens = Some(n)
                }
                OUTPUT_CACHED => usage?.output_tokens_details.as_mut()?.cached_tokens = Some(n),
                OUTPUT_REASONING => {
                    usage?.output_tokens_details.as_mut()?.reasoning_tokens = Some(n)
                }
                _ => return None,
            }
        }
    }
    Some(())
}

/// A delta chunk as the learned shape (`super::shape`) fills it: only what a shape can hold
/// (one choice, plain text, usage, the id), flat, so that nothing is built, moved or dropped
/// per event. `DashScopeDecoder::delta` decodes it as `event` decodes the `Chunk` the reader
/// would have made of the same data (`classify` says what a shape holds; the tests compare the
/// two paths on every recording and on single-byte edits of typical chunks).
#[derive(Debug, Default)]
struct Delta<'a> {
    /// The objects and arrays present (`1 << target`): what is `Some` in the reader's chunk.
    built: u32,
    index: Option<u32>,
    content: Option<Cow<'a, str>>,
    reasoning: Option<Cow<'a, str>>,
    finish: Option<Cow<'a, str>>,
    text: Option<Cow<'a, str>>,
    output_finish: Option<Cow<'a, str>>,
    request_id: Option<Cow<'a, str>>,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: Option<u64>,
    prompt_cached: Option<u64>,
    output_reasoning: Option<u64>,
}

impl Delta<'_> {
    fn has(&self, target: u8) -> bool {
        self.built & (1 << target) != 0
    }
}

impl<'a> Fill<'a> for Delta<'a> {
    #[inline(always)]
    fn build(&mut self, target: u8) -> Option<()> {
        // The shape builds parents before children, as `build` needs for a `Chunk`.
        match target {
            ROOT | OUTPUT | CHOICES | CHOICE | MESSAGE | USAGE | PROMPT_DETAILS
            | OUTPUT_DETAILS => self.built |= 1 << target,
            _ => return None,
        }
        Some(())
    }

    #[inline(always)]
    fn slot(&mut self, target: u8, value: Value<'a>) -> Option<()> {
        match value {
            Value::Str(s) => {
                let field = match target {
                    CONTENT => &mut self.content,
                    REASONING => &mut self.reasoning,
                    FINISH => &mut self.finish,
                    TEXT => &mut self.text,
                    OUTPUT_FINISH => &mut self.output_finish,
                    REQUEST_ID => &mut self.request_id,
                    _ => return None,
                };
                *field = Some(s);
            }
            Value::Int(n) => match target {
                INDEX => self.index = Some(u32::try_from(n).ok()?),
                INPUT_TOKENS => self.input_tokens = n,
                OUTPUT_TOKENS => self.output_tokens = n,
                TOTAL_TOKENS => self.total_tokens = Some(n),
                PROMPT_CACHED => self.prompt_cached = Some(n),
                OUTPUT_REASONING => self.output_reasoning = Some(n),
                // Read (and so checked) like the others, but not used.
                PROMPT_REASONING | OUTPUT_CACHED => {}
                _ => return None,
            },
        }
        Some(())
    }
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        usage(
            u.input_tokens,
            u.output_tokens,
            u.total_tokens,
            u.prompt_tokens_details.and_then(|d| d.cached_tokens),
            u.output_tokens_details.and_then(|d| d.reasoning_tokens),
            u.plugins.and_then(|p| p.search).and_then(|s| s.count),
        )
    }
}

/// The usage event of a chunk's counts, as read by the reader or through a shape: a missing
/// total is the sum of the two others.
fn usage(
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: Option<u64>,
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    search_count: Option<u64>,
) -> Usage {
    Usage {
        input_tokens,
        output_tokens,
        total_tokens: total_tokens.unwrap_or(input_tokens.saturating_add(output_tokens)),
        cached_tokens,
        reasoning_tokens,
        search_count,
    }
}

impl DashScopeDecoder {
    pub fn new(incremental: bool) -> Self {
        DashScopeDecoder {
            mode: if incremental {
                Mode::Incremental
            } else {
                Mode::Cumulative
            },
            ..Default::default()
        }
    }

    /// For a recording whose request is not known: incremental or cumulative is found out
    /// from the texts themselves (see `Probe`).
    pub fn probing() -> Self {
        DashScopeDecoder {
            mode: Mode::Probe(Box::default()),
            ..Default::default()
        }
    }

    /// Whether the texts are (or may be) cumulative.
    pub fn long_lines(&self) -> bool {
        !matches!(self.mode, Mode::Incremental)
    }

    /// Whether the texts are known to be cumulative.
    pub fn cumulative(&self) -> bool {
        matches!(self.mode, Mode::Cumulative)
    }

    /// The stream said it is over: every choice that sent anything has finished.
    pub fn is_done(&self) -> bool {
        self.finished && self.choices_seen & !self.choices_finished == 0
    }

    /// A line for the user that the decoder has to say, once.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    fn text(
        &mut self,
        choice: u32,
        reasoning: bool,
        text: Cow<'_, str>,
        raw: Raw<'_>,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let text = match &mut self.mode {
            Mode::Incremental => text,
            Mode::Cumulative => {
                let seen = self.seen.entry(choice);
                let (so_far, raw_so_far) = if reasoning {
                    (&mut seen.reasoning, &mut seen.raw_reasoning)
                } else {
                    (&mut seen.content, &mut seen.raw_content)
                };
                let (new, extends) = match raw {
                    // The string started with the raw bytes of `so_far`: `text` is what follows.
                    Raw::After(raw) => {
                        #[cfg(test)]
                        {
                            self.afters += 1;
                        }
                        so_far.push_str(&text);
                        raw_so_far.push_str(raw);
                        (text, true)
                    }
                    Raw::Whole(raw) => {
                        raw_so_far.clear();
                        raw_so_far.push_str(raw);
                        cumulative_part(text, so_far)
                    }
                    Raw::Unknown => {
                        raw_so_far.clear();
                        cumulative_part(text, so_far)
                    }
                };
                if !extends && !self.warned {
                    self.warned = true;
                    self.notice = Some(
                        "qstream: warning: a cumulative chunk does not extend the text already printed; printing only what goes beyond it"
                            .to_owned(),
                    );
                }
                new
            }
            Mode::Probe(_) => return self.probe(choice, reasoning, text, emit),
        };
        if text.is_empty() {
            return Ok(());
        }
        emit(if reasoning {
            Event::Reasoning { choice, text }
        } else {
            Event::Content { choice, text }
        })
    }

    /// A text while it is not known whether the recording is cumulative.
    fn probe(
        &mut self,
        choice: u32,
        reasoning: bool,
        text: Cow<'_, str>,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        let Mode::Probe(probe) = &mut self.mode else {
            return Ok(());
        };
        let Some(first) = &probe.first else {
            probe.choice = choice;
            probe.reasoning = reasoning;
            probe.first = Some(text.clone().into_owned());
            return emit(text_event(choice, reasoning, text));
        };
        if (choice, reasoning) != (probe.choice, probe.reasoning) {
            // Another text before the first was repeated: not cumulative.
            self.decide(false, emit)?;
            return self.text(choice, reasoning, text, Raw::Unknown, emit);
        }
        match &probe.second {
            None if text.len() > first.len() && text.starts_with(first.as_str()) => {
                probe.second = Some(text.into_owned());
                Ok(())
            }
            None => {
                self.decide(false, emit)?;
                self.text(choice, reasoning, text, Raw::Unknown, emit)
            }
            Some(second) => {
                let cumulative = text.starts_with(second.as_str());
                self.decide(cumulative, emit)?;
                self.text(choice, reasoning, text, Raw::Unknown, emit)
            }
        }
    }

    /// End the probe: emit the text it held back, and from now on decode as decided.
    fn decide(&mut self, cumulative: bool, emit: &mut Emit<'_>) -> Result<()> {
        if !matches!(self.mode, Mode::Probe(_)) {
            return Ok(());
        }
        let Mode::Probe(probe) = std::mem::take(&mut self.mode) else {
            return Ok(());
        };
        let Probe {
            choice,
            reasoning,
            first,
            second,
        } = *probe;
        if !cumulative {
            if let Some(second) = second {
                emit(text_event(choice, reasoning, Cow::Owned(second)))?;
            }
            return Ok(());
        }
        self.mode = Mode::Cumulative;
        self.notice = Some(
            "qstream: the recording is cumulative (each chunk repeats all the text so far): printing only what is new (--no-incremental says so)"
                .to_owned(),
        );
        let (Some(first), Some(second)) = (first, second) else {
            return Ok(());
        };
        let new = second.get(first.len()..).unwrap_or_default().to_owned();
        let seen = self.seen.entry(choice);
        if reasoning {
            seen.reasoning = second;
            seen.raw_reasoning.clear();
        } else {
            seen.content = second;
            seen.raw_content.clear();
        }
        if new.is_empty() {
            return Ok(());
        }
        emit(text_event(choice, reasoning, Cow::Owned(new)))
    }

    #[inline]
    fn finish_reason(
        &mut self,
        choice: u32,
        reason: Option<&str>,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        match reason.filter(|r| !r.is_empty()) {
            Some(r) if r != "null" => {
                self.decide(false, emit)?;
                self.finished = true;
                self.choices_finished |= choice_bit(choice);
                emit(Event::Finish {
                    choice,
                    reason: r.into(),
                })
            }
            _ => Ok(()),
        }
    }

    pub fn event(&mut self, ev: &SseEvent<'_>, emit: &mut Emit<'_>) -> Result<()> {
        if self.is_done() {
            // What follows the end is not part of the answer.
            return Ok(());
        }
        let data = ev.data;
        let failed = ev.event == "error" || ev.status.is_some_and(|s| s >= 400);
        let cumulative = matches!(self.mode, Mode::Cumulative);
        if let Some(shape) = self.shapes.shape.as_ref().filter(|_| !cumulative) {
            let mut delta = Delta::default();
            if shape.fill(data, &mut delta).is_some() {
                // The delta chunk as the reader would have read it, for a fraction of the cost.
                self.shapes.hit();
                return self.delta(ev.status, failed, &mut delta, emit);
            }
        }
        let mut chunk = Chunk::default();
        let mut raws = Raws::default();
        // A cumulative stream's texts go through the shape with what is known of them.
        if cumulative && self.fill_by_shape(&mut chunk, &mut raws, data) {
            // The delta chunk as the reader would have read it, for a fraction of the cost.
        } else if chunk.read(data).is_some() {
            if self.shapes.miss() {
                self.shapes.shape = Shape::learn(data, classify).map(Box::new);
            }
        } else {
            chunk = match serde_json::from_str(data) {
                Ok(c) => c,
                Err(_) if failed => {
                    return Err(Error::api(ApiError {
                        status: ev.status,
                        code: None,
                        message: data.trim().chars().take(200).collect(),
                        request_id: self.request_id.clone(),
                    }))
                }
                Err(_) if data.trim() == "[DONE]" => return Err(wrong_protocol()),
                Err(e) => return Err(malformed("a data line", data, &e)),
            };
        }
        if let Some(id) = nonempty(&chunk.request_id) {
            if self.request_id.as_deref() != Some(id) {
                self.request_id = Some(id.to_owned());
            }
        }
        if let Some(error) = &chunk.error {
            let mut api = super::compatible::api_error(error, ev.status);
            api.request_id = self.request_id.clone();
            return Err(Error::api(api));
        }
        if failed || nonempty(&chunk.code).is_some() {
            return Err(Error::api(ApiError {
                status: ev.status,
                code: nonempty(&chunk.code).map(String::from),
                message: nonempty(&chunk.message).unwrap_or_default().to_owned(),
                request_id: self.request_id.clone(),
            }));
        }
        if chunk.output.is_none() && chunk.choices.is_some() {
            return Err(wrong_protocol());
        }
        if let Some(usage) = chunk.usage.take() {
            self.usage = Some(usage.into());
        }
        let Some(output) = &mut chunk.output else {
            return Ok(());
        };
        if let Some(results) = output.search_info.take().and_then(|i| i.search_results) {
            if !self.sources_sent && !results.is_empty() {
                self.sources_sent = true;
                emit(Event::Sources(
                    results
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| WebSource {
                            index: r.index.unwrap_or(i as u32 + 1),
                            title: r.title.map(|t| t.0.into_owned()).unwrap_or_default(),
                            url: r.url.map(|t| t.0.into_owned()).unwrap_or_default(),
                            site_name: r.site_name.map(|t| t.0.into_owned()).unwrap_or_default(),
                        })
                        .collect(),
                ))?;
            }
        }
        for (pos, choice) in output.choices.iter_mut().flatten().enumerate() {
            let index = choice.index.unwrap_or(pos as u32);
            self.choices_seen |= choice_bit(index);
            // The shape reads choice 0 only.
            let raws = if pos == 0 { raws } else { Raws::default() };
            if let Some(message) = &mut choice.message {
                if let Some(r) = message.reasoning_content.take() {
                    self.text(index, true, r.0, raws.reasoning, emit)?;
                }
                if let Some(c) = message.content.take() {
                    self.text(index, false, c.text(), raws.content, emit)?;
                }
                if let Some(calls) = message.tool_calls.take() {
                    self.decide(false, emit)?;
                    let seen = match self.mode {
                        Mode::Cumulative => Some(self.seen_calls.entry(index)),
                        _ => None,
                    };
                    emit_tool_calls(index, calls, seen, emit)?;
                }
            }
            self.finish_reason(index, nonempty(&choice.finish_reason), emit)?;
        }
        if let Some(text) = output.text.take() {
            self.choices_seen |= choice_bit(0);
            self.text(0, false, text.0, raws.text, emit)?;
        }
        if nonempty(&output.finish_reason).is_some_and(|r| r != "null") {
            self.choices_seen |= choice_bit(0);
        }
        self.finish_reason(0, nonempty(&output.finish_reason), emit)
    }

    /// No shapes: every chunk goes through the reader (tests compare the two).
    #[cfg(test)]
    pub(crate) fn without_shapes(&mut self) {
        self.shapes.off = true;
    }

    /// `event` for a chunk the learned shape filled (not on a cumulative stream: see
    /// `fill_by_shape`): the same steps on what a shape can hold (no error object, code,
    /// message, search results or tool calls; one choice), its texts' raw bytes unknown.
    fn delta(
        &mut self,
        status: Option<u16>,
        failed: bool,
        d: &mut Delta<'_>,
        emit: &mut Emit<'_>,
    ) -> Result<()> {
        if let Some(id) = d.request_id.as_deref().filter(|s| !s.is_empty()) {
            // The same id as the last chunk's, nearly always: compared inline.
            let known = self.request_id.as_deref();
            if !known.is_some_and(|k| same(k.as_bytes(), id.as_bytes())) {
                self.request_id = Some(id.to_owned());
            }
        }
        if failed {
            // `code` and `message` are `null` in a shape.
            return Err(Error::api(ApiError {
                status,
                code: None,
                message: String::new(),
                request_id: self.request_id.clone(),
            }));
        }
        if d.has(USAGE) {
            // A shape has no `plugins` (they rule a shape out): no search count.
            self.usage = Some(usage(
                d.input_tokens,
                d.output_tokens,
                d.total_tokens,
                d.prompt_cached,
                d.output_reasoning,
                None,
            ));
        }
        if !d.has(OUTPUT) {
            return Ok(());
        }
        if d.has(CHOICE) {
            let index = d.index.unwrap_or(0);
            self.choices_seen |= choice_bit(index);
            if let Some(r) = d.reasoning.take() {
                self.text(index, true, r, Raw::Unknown, emit)?;
            }
            if let Some(c) = d.content.take() {
                self.text(index, false, c, Raw::Unknown, emit)?;
            }
            let finish = d.finish.as_deref();
            if finish.is_some_and(finishes) {
                self.finish_reason(index, finish, emit)?;
            }
        }
        if let Some(text) = d.text.take() {
            self.choices_seen |= choice_bit(0);
            self.text(0, false, text, Raw::Unknown, emit)?;
        }
        // `finish_reason` does nothing with `None`, `""` or `"null"` (a delta's): not called.
        let finish = d.output_finish.as_deref();
        if finish.is_some_and(finishes) {
            self.choices_seen |= choice_bit(0);
            return self.finish_reason(0, finish, emit);
        }
        Ok(())
    }

    /// `chunk` filled from `data` through the learned shape, if it fits; else left default.
    /// On a cumulative stream, `raws` says what is known of the raw bytes of its texts (and
    /// which are only what follows the text so far: `Filling`).
    fn fill_by_shape<'a>(
        &mut self,
        chunk: &mut Chunk<'a>,
        raws: &mut Raws<'a>,
        data: &'a str,
    ) -> bool {
        let Some(shape) = &self.shapes.shape else {
            return false;
        };
        let fitted = if matches!(self.mode, Mode::Cumulative) {
            let (content, reasoning) = self.seen.0.get(&0).map_or((&b""[..], &b""[..]), |s| {
                (s.raw_content.as_bytes(), s.raw_reasoning.as_bytes())
            });
            let mut filling = Filling {
                chunk: &mut *chunk,
                known: [content, reasoning],
                raws: Raws::default(),
            };
            let fitted = shape.fill(data, &mut filling).is_some() && filling.fits();
            *raws = filling.raws;
            fitted
        } else {
            shape.fill(data, chunk).is_some()
        };
        if fitted {
            self.shapes.hit();
            return true;
        }
        *chunk = Chunk::default();
        *raws = Raws::default();
        false
    }

    pub fn finish(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        self.decide(false, emit)?;
        if !self.finished {
            return Err(Error::network(
                "stream ended early: no finish_reason other than \"null\"",
            ));
        }
        if let Some(usage) = self.usage {
            emit(Event::Usage(usage))?;
        }
        Ok(())
    }
}

/// A finish reason that ends its choice: not empty, not `"null"` (what `finish_reason` acts on).
fn finishes(reason: &str) -> bool {
    !reason.is_empty() && reason != "null"
}

/// The bit of a choice in `choices_seen`/`choices_finished`; choices from 63 on share one.
fn choice_bit(choice: u32) -> u64 {
    1 << choice.min(63)
}

fn text_event(choice: u32, reasoning: bool, text: Cow<'_, str>) -> Event<'_> {
    if reasoning {
        Event::Reasoning { choice, text }
    } else {
        Event::Content { choice, text }
    }
}

/// OpenAI-compatible chunks where native ones were expected.
fn wrong_protocol() -> Error {
    Error::usage(
        "the server sent OpenAI-compatible events (top-level \"choices\", data: [DONE]), not DashScope-native ones: use --protocol compatible",
    )
}

/// What of a cumulative `full` text is new, given the text `so_far` (updated to `full`), and
/// whether `full` extends it. Linear in the length of `full`; never splits a code point.
pub(crate) fn cumulative_part<'t>(full: Cow<'t, str>, so_far: &mut String) -> (Cow<'t, str>, bool) {
    if full.starts_with(so_far.as_str()) {
        let start = so_far.len();
        so_far.push_str(&full[start..]);
        let new = match full {
            Cow::Borrowed(s) => Cow::Borrowed(&s[start..]),
            Cow::Owned(mut s) => {
                s.drain(..start);
                Cow::Owned(s)
            }
        };
        return (new, true);
    }
    // The server changed what it sent before: what was printed stays, and only text beyond
    // its length is new.
    let mut seen = so_far.len();
    so_far.clear();
    so_far.push_str(&full);
    (new_part(full, &mut seen), false)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Decoder;
    use super::*;
    use crate::cli::Protocol;
    use crate::error::Exit;

    fn chunk(content: &str, reasoning: &str, finish: &str, out: u64) -> String {
        serde_json::json!({
            "output": {"choices": [{"message": {"content": content, "reasoning_content": reasoning, "role": "assistant"}, "finish_reason": finish}]},
            "usage": {"total_tokens": 10 + out, "input_tokens": 10, "output_tokens": out},
            "request_id": "req-1"
        })
        .to_string()
    }

    fn run(incremental: bool, datas: &[String]) -> (Vec<Event<'static>>, Result<()>, Decoder) {
        let mut d = Decoder::new(Some(Protocol::Dashscope), incremental);
        let events: Vec<_> = datas
            .iter()
            .map(|s| ("result", s.as_str(), Some(200)))
            .collect();
        let (ev, r) = collect(&mut d, &events);
        (ev, r, d)
    }

    fn usage(out: u64) -> Event<'static> {
        Event::Usage(Usage {
            input_tokens: 10,
            output_tokens: out,
            total_tokens: 10 + out,
            ..Default::default()
        })
    }

    #[test]
    fn incremental_with_reasoning_and_last_usage() {
        let (events, r, d) = run(
            true,
            &[
                chunk("", "Hmm", "null", 1),
                chunk("", ", ok", "null", 2),
                chunk("Hi", "", "null", 3),
                chunk("", "", "stop", 3),
            ],
        );
        r.expect("finished");
        assert_eq!(
            events,
            vec![
                reasoning("Hmm"),
                reasoning(", ok"),
                content("Hi"),
                finish("stop"),
                usage(3)
            ]
        );
        assert_eq!(d.request_id(), Some("req-1"));
    }

    #[test]
    fn cumulative_text_becomes_deltas_also_multibyte() {
        let (events, r, _) = run(
            false,
            &[
                chunk("", "想", "null", 1),
                chunk("", "想一想", "null", 2),
                chunk("Я", "想一想", "null", 3),
                chunk("Я люблю 🍎", "想一想", "null", 4),
                chunk("Я люблю 🍎", "想一想", "stop", 4),
            ],
        );
        r.expect("finished");
        assert_eq!(
            events,
            vec![
                reasoning("想"),
                reasoning("一想"),
                content("Я"),
                content(" люблю 🍎"),
                finish("stop"),
                usage(4)
            ]
        );
    }

    #[test]
    fn new_part_never_splits_a_code_point() {
        let mut seen = 1; // inside the two bytes of 'Я'
        assert_eq!(new_part(Cow::Borrowed("Яx"), &mut seen), "x");
        assert_eq!(seen, 3);
        assert_eq!(new_part(Cow::Owned("Яxy".into()), &mut seen), "y");
        assert_eq!(new_part(Cow::Borrowed("Я"), &mut seen), "");
        assert_eq!(seen, 2);
    }

    #[test]
    fn content_as_parts_and_empty_list() {
        let datas = [
            r#"{"output":{"choices":[{"message":{"content":[{"text":"A dog"}],"role":"assistant"},"finish_reason":"null"}]},"request_id":"r"}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":[{"text":" and"},{"text":" a girl"}],"role":"assistant"},"finish_reason":"null"}]}}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":[],"role":"assistant"},"finish_reason":"stop"}]}}"#.to_string(),
        ];
        let (events, r, _) = run(true, &datas);
        r.expect("ok");
        assert_eq!(
            events,
            vec![content("A dog"), content(" and a girl"), finish("stop")]
        );
        // The same, cumulative.
        let datas = [
            r#"{"output":{"choices":[{"message":{"content":[{"text":"A dog"}]},"finish_reason":"null"}]}}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":[{"text":"A dog and"}]},"finish_reason":"null"}]}}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":[]},"finish_reason":"stop"}]}}"#.to_string(),
        ];
        let (events, r, _) = run(false, &datas);
        r.expect("ok");
        assert_eq!(
            events,
            vec![content("A dog"), content(" and"), finish("stop")]
        );
    }

    #[test]
    fn result_format_text() {
        let datas = [
            r#"{"output":{"text":"Hel","finish_reason":"null"},"usage":{"input_tokens":1,"output_tokens":1}}"#.to_string(),
            r#"{"output":{"text":"lo","finish_reason":"stop"},"usage":{"input_tokens":1,"output_tokens":2}}"#.to_string(),
        ];
        let (events, r, _) = run(true, &datas);
        r.expect("ok");
        assert_eq!(
            events,
            vec![
                content("Hel"),
                content("lo"),
                finish("stop"),
                Event::Usage(Usage {
                    input_tokens: 1,
                    output_tokens: 2,
                    total_tokens: 3,
                    ..Default::default()
                })
            ]
        );
    }

    #[test]
    fn error_event_takes_status_from_the_comment() {
        let mut d = Decoder::new(Some(Protocol::Dashscope), true);
        let (events, r) = collect(
            &mut d,
            &[
                ("result", &chunk("part", "", "null", 1), Some(200)),
                (
                    "error",
                    r#"{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded","request_id":"req-9"}"#,
                    Some(429),
                ),
            ],
        );
        assert_eq!(events, vec![content("part")]);
        let e = r.expect_err("error");
        assert_eq!(e.exit, Exit::RateLimit);
        assert_eq!(
            e.to_string(),
            "Requests rate limit exceeded (Throttling.RateQuota, HTTP 429, request_id req-9)"
        );
        assert_eq!(d.usage().map(|u| u.output_tokens), Some(1));
    }

    #[test]
    fn no_finish_is_early_end() {
        let (events, r, d) = run(true, &[chunk("a", "", "null", 1)]);
        assert_eq!(events, vec![content("a")]);
        assert_eq!(r.expect_err("early").exit, Exit::Network);
        assert_eq!(d.usage().map(|u| u.output_tokens), Some(1));
    }

    #[test]
    fn cumulative_tool_calls_emit_only_what_is_new() {
        let datas = [
            r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]},"finish_reason":"null"}]}}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},"finish_reason":"tool_calls"}]}}"#.to_string(),
        ];
        let (events, r, _) = run(false, &datas);
        r.expect("ok");
        assert_eq!(events.len(), 3);
        assert!(
            matches!(&events[0], Event::ToolCall { arguments, id: Some(_), name: Some(_), .. } if arguments == "{\"x\":")
        );
        assert!(
            matches!(&events[1], Event::ToolCall { arguments, id: None, name: None, .. } if arguments == "1}")
        );
    }

    #[test]
    fn tool_calls_in_message() {
        let datas = [
            r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":"}}]},"finish_reason":"null"}]}}"#.to_string(),
            r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"index":0,"id":"","type":"function","function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}}"#.to_string(),
        ];
        let (events, r, _) = run(true, &datas);
        r.expect("ok");
        assert_eq!(events.len(), 3);
        assert!(
            matches!(&events[1], Event::ToolCall { arguments, id: None, .. } if arguments == "1}")
        );
    }

    /// A small deterministic generator (xorshift) for the generated streams.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }

        fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
    }

    /// How a generated server escapes its strings.
    #[derive(Clone, Copy)]
    enum Escapes {
        /// Only what JSON requires, the short forms (as serde_json does).
        Minimal,
        /// Everything not ASCII as `\uXXXX` (surrogate pairs above the BMP), every chunk.
        Ascii,
        /// Each character escaped or not, and how, picked anew every time (the raw bytes of a
        /// text then differ from chunk to chunk where its text does not).
        Random,
    }

    /// `text` as the raw bytes of a JSON string, without the quotes.
    fn escape(text: &str, how: Escapes, rng: &mut Rng) -> String {
        let mut out = String::new();
        for c in text.chars() {
            let u = |out: &mut String, c: char| {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            };
            let random = matches!(how, Escapes::Random);
            match c {
                '"' | '\\' if random && rng.one_in(3) => u(&mut out, c),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' if !(random && rng.one_in(3)) => out.push_str("\\n"),
                '\t' if !(random && rng.one_in(3)) => out.push_str("\\t"),
                '/' if random && rng.one_in(2) => out.push_str("\\/"),
                c if (c as u32) < 0x20 => u(&mut out, c),
                c if !c.is_ascii() && matches!(how, Escapes::Ascii) => u(&mut out, c),
                c if random && rng.one_in(3) => u(&mut out, c),
                c => out.push(c),
            }
        }
        out
    }

    /// What a delta adds: ASCII, escapes, multibyte and astral characters.
    const PIECES: [&str; 14] = [
        "a", "b c", "\n", "é", "中文", "😀", "\"", "\\", "/", "\t", "\u{1}", "x\ny", " 🍎.", "Я",
    ];

    /// A cumulative DashScope stream, chunk by chunk: reasoning then content of choice 0, now
    /// and then a chunk that rewrites the text, repeats it, numbers the choice, adds a second
    /// choice, a tool call, `output.text`, or spaces that do not fit the shape.
    fn cumulative_stream(seed: u64, how: Escapes, chunks: usize) -> Vec<String> {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut escapes = Rng(seed.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) | 1);
        let (mut reasoning, mut content, mut other) = (String::new(), String::new(), String::new());
        let mut datas = Vec::new();
        for n in 0..chunks {
            let last = n + 1 == chunks;
            let thinking = n < chunks / 3;
            let grow = |s: &mut String, rng: &mut Rng| {
                for _ in 0..1 + rng.below(2) {
                    s.push_str(PIECES[rng.below(PIECES.len())]);
                }
            };
            match rng.below(12) {
                // The text again, unchanged.
                0 => {}
                // A rewrite: a character of the text changed (the warning), or the text cut.
                1 if !(if thinking { &reasoning } else { &content }).is_empty() => {
                    let s = if thinking {
                        &mut reasoning
                    } else {
                        &mut content
                    };
                    if rng.one_in(2) {
                        let at = s
                            .char_indices()
                            .nth(rng.below(s.chars().count()))
                            .map_or(0, |(i, _)| i);
                        s.insert(at, 'Z');
                    } else {
                        let keep = s.chars().count() / 2;
                        *s = s.chars().take(keep).collect();
                    }
                }
                _ if thinking => grow(&mut reasoning, &mut rng),
                _ => grow(&mut content, &mut rng),
            }
            let mut esc = |t: &str| escape(t, how, &mut escapes);
            let finish = if last { "stop" } else { "null" };
            let message = format!(
                r#"{{"content":"{}","reasoning_content":"{}","role":"assistant"}}"#,
                esc(&content),
                esc(&reasoning)
            );
            let mut choices = format!(r#"[{{"message":{message},"finish_reason":"{finish}"}}]"#);
            let usage = format!(
                r#"{{"total_tokens":{},"output_tokens":{n},"input_tokens":3}}"#,
                n + 3
            );
            let mut output_text = String::new();
            match rng.below(24) {
                0 => {
                    // The choice's index after its message.
                    let index = if rng.one_in(2) { 0 } else { 1 };
                    choices = format!(
                        r#"[{{"message":{message},"finish_reason":"{finish}","index":{index}}}]"#
                    );
                }
                1 => {
                    other.push_str(PIECES[rng.below(PIECES.len())]);
                    let second = format!(
                        r#"{{"message":{{"content":"{}"}},"finish_reason":"{finish}","index":1}}"#,
                        esc(&other)
                    );
                    choices = format!(
                        r#"[{{"message":{message},"finish_reason":"{finish}","index":0}},{second}]"#
                    );
                }
                2 => {
                    let call = r#"[{"index":0,"id":"call_a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]"#;
                    choices = format!(
                        r#"[{{"message":{{"content":"{}","tool_calls":{call}}},"finish_reason":"{finish}"}}]"#,
                        esc(&content)
                    );
                }
                3 => output_text = format!(r#","text":"{}""#, esc(&content)),
                4 => {
                    choices = format!(
                        r#"[{{"message":{{"content": "{}","reasoning_content": "{}"}},"finish_reason":"{finish}"}}]"#,
                        esc(&content),
                        esc(&reasoning)
                    );
                }
                _ => {}
            }
            datas.push(format!(
                r#"{{"output":{{"choices":{choices}{output_text}}},"usage":{usage},"request_id":"r-1"}}"#
            ));
        }
        datas
    }

    /// A `result_format: "text"` cumulative stream; with `content`, every chunk has the text
    /// as choice 0's content too (before or after `output.text`), or not, or another one.
    fn cumulative_text_stream(
        seed: u64,
        how: Escapes,
        chunks: usize,
        content: bool,
    ) -> Vec<String> {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut text = String::new();
        let first = rng.one_in(2);
        (0..chunks)
            .map(|n| {
                text.push_str(PIECES[rng.below(PIECES.len())]);
                let finish = if n + 1 == chunks { "stop" } else { "null" };
                let raw = escape(&text, how, &mut rng);
                let (mut before, mut after) = (String::new(), String::new());
                if content {
                    let other = match rng.below(8) {
                        0 => String::new(),
                        1 => escape(&format!("Z{text}"), how, &mut rng),
                        _ => escape(&text, how, &mut rng),
                    };
                    let choices = format!(
                        r#""choices":[{{"message":{{"content":"{other}"}},"finish_reason":"{finish}"}}]"#
                    );
                    if first {
                        before = format!("{choices},");
                    } else {
                        after = format!(",{choices}");
                    }
                }
                format!(
                    r#"{{"output":{{{before}"text":"{raw}","finish_reason":"{finish}"{after}}},"usage":{{"input_tokens":1,"output_tokens":{n}}}}}"#
                )
            })
            .collect()
    }

    /// The events, notices (as text events of choice 99) and end of `datas` through a
    /// decoder, with shapes or without, and how many texts were read beyond the text so far.
    fn through(
        incremental: Option<bool>,
        shapes: bool,
        reads: &[&[u8]],
    ) -> (Vec<Event<'static>>, String, usize) {
        let mut d = Decoder::with_output(Some(Protocol::Dashscope), incremental);
        let Decoder::DashScope(ds) = &mut d else {
            unreachable!()
        };
        if !shapes {
            ds.without_shapes();
        }
        let mut sse = crate::sse::SseDecoder::default();
        let mut out = Vec::new();
        let mut failed = None;
        for read in reads {
            let _ = sse.feed::<crate::sse::LineTooLong>(read, &mut |ev| {
                if failed.is_none() && !d.is_done() {
                    let r = d.event(&ev, &mut |e| {
                        out.push(to_owned(e));
                        Ok(())
                    });
                    if let Some(n) = d.take_notice() {
                        out.push(content(&n));
                    }
                    if let Err(e) = r {
                        failed = Some(e.to_string());
                    }
                }
                Ok(())
            });
        }
        let end = match failed {
            Some(e) => e,
            None => match d.finish(&mut |e| {
                out.push(to_owned(e));
                Ok(())
            }) {
                Ok(()) => "ok".into(),
                Err(e) => e.to_string(),
            },
        };
        let afters = match &d {
            Decoder::DashScope(ds) => ds.afters,
            _ => 0,
        };
        (out, end, afters)
    }

    fn body(datas: &[String]) -> Vec<u8> {
        let mut body = Vec::new();
        for (n, data) in datas.iter().enumerate() {
            body.extend_from_slice(
                format!(
                    "id:{}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n",
                    n + 1
                )
                .as_bytes(),
            );
        }
        body
    }

    /// Texts read only beyond the raw bytes of the text so far decode to exactly what the
    /// reader alone (the whole text every chunk) decodes to: generated cumulative streams with
    /// escapes and multibyte characters at every boundary, rewrites, repeats, several choices,
    /// tool calls and `output.text`, cumulative and replayed (mode not known).
    #[test]
    fn cumulative_texts_read_beyond_the_known_bytes_decode_as_the_whole() {
        let mut afters = 0;
        for seed in 1..=300 {
            for how in [Escapes::Minimal, Escapes::Ascii, Escapes::Random] {
                let datas = if seed % 5 == 0 {
                    cumulative_text_stream(seed, how, 20, seed % 10 == 0)
                } else {
                    cumulative_stream(seed, how, 30)
                };
                let body = body(&datas);
                for incremental in [Some(false), None] {
                    let want = through(incremental, false, &[&body]);
                    assert_eq!(want.2, 0);
                    let got = through(incremental, true, &[&body]);
                    assert_eq!((&got.0, &got.1), (&want.0, &want.1), "seed {seed}");
                    afters += got.2;
                }
            }
        }
        // The fast path was taken (most chunks of the streams that escape the same way).
        assert!(afters > 5000, "{afters}");
    }

    /// The same, fed in two reads split at every byte.
    #[test]
    fn cumulative_texts_read_beyond_the_known_bytes_at_any_split() {
        for (seed, how) in [
            (7, Escapes::Minimal),
            (8, Escapes::Ascii),
            (9, Escapes::Random),
        ] {
            let body = body(&cumulative_stream(seed, how, 12));
            let want = through(Some(false), false, &[&body]);
            for at in 0..=body.len() {
                let got = through(Some(false), true, &[&body[..at], &body[at..]]);
                assert_eq!((&got.0, &got.1), (&want.0, &want.1), "{seed} split at {at}");
                assert!(got.2 > 0 || matches!(how, Escapes::Random));
            }
        }
    }

    /// The fixture recorded from the service (escapes that change between chunks) and the
    /// generator's stream: the same with and without the fast path, cumulative and replayed.
    #[test]
    fn cumulative_recording_decodes_the_same_read_beyond_the_known_bytes() {
        let path = format!(
            "{}/tests/fixtures/dashscope_cumulative.sse",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).expect("fixture is readable");
        for incremental in [Some(false), None] {
            let want = through(incremental, false, &[&body]);
            let got = through(incremental, true, &[&body]);
            assert_eq!((&got.0, &got.1), (&want.0, &want.1));
            assert_eq!(got.1, "ok");
        }
    }
}
