//! The OpenAI-compatible protocol: bare `data:` lines of `chat.completion.chunk` objects,
//! a usage chunk with `"choices": []`, then `data: [DONE]`.

use serde::Deserialize;

use super::json::{once, Reader};
use super::shape::{Class, Fill, Shape, Shapes, Step, Value};
use super::{emit_tool_calls, malformed, nonempty, Emit, List, Text, ToolCallDelta};
use crate::error::{Error, Result};
use crate::event::{ApiError, Event, Usage};
use crate::sse::SseEvent;

#[derive(Debug, Default)]
pub struct CompatibleDecoder {
    pub usage: Option<Usage>,
    finished: bool,
    done: bool,
    /// The shape of the delta chunks (`super::shape`).
    shapes: Shapes,
}

#[derive(Debug, Default, Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: Option<List<Choice<'a>>>,
    // Boxed, like the other rare parts: a small chunk is cheap to move around.
    #[serde(default)]
    usage: Option<Box<WireUsage>>,
    #[serde(default)]
    error: Option<Box<serde_json::Value>>,
    /// DashScope-native chunks carry `output`: the wrong protocol.
    #[serde(default)]
    output: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    index: u32,
    /// `message` in a whole (non-streamed) `chat.completion`: the same fields, all at once.
    #[serde(borrow, default, alias = "message")]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Text<'a>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Text<'a>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
    #[serde(borrow, default)]
    audio: Option<Box<AudioDelta<'a>>>,
}

/// Qwen-Omni speech: base64 PCM in `data`, its text in `transcript`.
#[derive(Debug, Default, Deserialize)]
struct AudioDelta<'a> {
    #[serde(borrow, default)]
    data: Option<Text<'a>>,
    #[serde(borrow, default)]
    transcript: Option<Text<'a>>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

// The fast reader (`super::json`): fills a default chunk in place (no struct is moved) with
// what serde_json would make of the data, or gives up (`None`) and leaves it to serde_json.
// Usage and error objects come once per stream: serde_json reads those.
impl<'a> Chunk<'a> {
    fn read(&mut self, data: &'a str) -> Option<()> {
        let mut r = Reader::new(data);
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"choices" => {
                    once(&mut seen, 1)?;
                    r.opt_into(&mut self.choices, |r, list| {
                        List::read(r, list, Choice::read)
                    })?;
                }
                b"usage" => {
                    once(&mut seen, 2)?;
                    if !r.null()? {
                        return None;
                    }
                }
                b"error" => return None,
                b"output" => {
                    once(&mut seen, 4)?;
                    if !r.null()? {
                        r.skip()?;
                        self.output = Some(serde::de::IgnoredAny);
                    }
                }
                _ => r.skip()?,
            }
            Some(())
        })?;
        r.end()
    }
}

impl<'a> Choice<'a> {
    fn read(r: &mut Reader<'a>, choice: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"index" => {
                    once(&mut seen, 1)?;
                    choice.index = r.u32()?;
                }
                b"delta" | b"message" => {
                    once(&mut seen, 2)?;
                    r.opt_into(&mut choice.delta, Delta::read)?;
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

impl<'a> Delta<'a> {
    fn read(r: &mut Reader<'a>, delta: &mut Self) -> Option<()> {
        let mut seen = 0;
        r.object(|r, key| {
            match key {
                b"content" => {
                    once(&mut seen, 1)?;
                    delta.content = r.text()?;
                }
                b"reasoning_content" => {
                    once(&mut seen, 2)?;
                    delta.reasoning_content = r.text()?;
                }
                b"tool_calls" => {
                    once(&mut seen, 4)?;
                    delta.tool_calls = ToolCallDelta::read_list(r)?;
                }
                b"audio" => {
                    once(&mut seen, 8)?;
                    r.opt_into(&mut delta.audio, |r, audio| {
                        let mut seen = 0;
                        r.object(|r, key| match key {
                            b"data" => {
                                once(&mut seen, 1)?;
                                audio.data = r.text()?;
                                Some(())
                            }
                            b"transcript" => {
                                once(&mut seen, 2)?;
                                audio.transcript = r.text()?;
                                Some(())
                            }
                            _ => r.skip(),
                        })
                    })?;
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
const CHOICES: u8 = 1;
const CHOICE: u8 = 2;
const INDEX: u8 = 3;
const DELTA: u8 = 4;
const CONTENT: u8 = 5;
const REASONING: u8 = 6;
const FINISH: u8 = 7;

/// One choice (the first) with plain text: a delta chunk. Tool calls, audio, usage, errors
/// and a second choice are left to the reader.
fn classify(path: &[Step<'_>]) -> Class {
    use Step::{Index, Key};
    match path {
        [] => Class::Build(ROOT),
        [Key(b"choices")] => Class::Build(CHOICES),
        [Key(b"choices"), Index(0)] => Class::Build(CHOICE),
        [Key(b"choices"), Index(0), Key(b"index")] => Class::U32(INDEX),
        [Key(b"choices"), Index(0), Key(b"delta" | b"message")] => Class::Build(DELTA),
        [Key(b"choices"), Index(0), Key(b"delta" | b"message"), Key(key)] => match *key {
            b"content" => Class::Str(CONTENT),
            b"reasoning_content" => Class::Str(REASONING),
            b"tool_calls" | b"audio" => Class::Reject,
            _ => Class::Skip,
        },
        [Key(b"choices"), Index(0), Key(b"finish_reason")] => Class::Str(FINISH),
        [Key(b"choices"), Index(0), Key(_)] => Class::Skip,
        [Key(b"usage" | b"output")] => Class::Null,
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
        CHOICES => chunk.choices = Some(List::default()),
        CHOICE => chunk.choices.as_mut()?.first = Some(Choice::default()),
        DELTA => chunk.choices.as_mut()?.first.as_mut()?.delta = Some(Delta::default()),
        _ => return None,
    }
    Some(())
}

#[inline]
fn slot<'a>(chunk: &mut Chunk<'a>, target: u8, value: Value<'a>) -> Option<()> {
    let choice = chunk.choices.as_mut()?.first.as_mut()?;
    match (target, value) {
        (INDEX, Value::Int(n)) => choice.index = u32::try_from(n).ok()?,
        (CONTENT, Value::Str(s)) => choice.delta.as_mut()?.content = Some(Text(s)),
        (REASONING, Value::Str(s)) => choice.delta.as_mut()?.reasoning_content = Some(Text(s)),
        (FINISH, Value::Str(s)) => choice.finish_reason = Some(Text(s)),
        _ => return None,
    }
    Some(())
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
            cached_tokens: u.prompt_tokens_details.and_then(|d| d.cached_tokens),
            reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
            search_count: None,
        }
    }
}

/// An `{"error": {...}}` object, in whichever shape the service or a gateway sent it.
pub(crate) fn api_error(error: &serde_json::Value, status: Option<u16>) -> ApiError {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match error {
        serde_json::Value::Object(o) => ApiError {
            status,
            code: o
                .get("code")
                .and_then(text)
                .or_else(|| o.get("type").and_then(text)),
            message: o.get("message").and_then(text).unwrap_or_default(),
            request_id: None,
        },
        other => ApiError {
            status,
            code: None,
            message: text(other).unwrap_or_default(),
            request_id: None,
        },
    }
}

impl CompatibleDecoder {
    pub fn event(&mut self, ev: &SseEvent<'_>, emit: &mut Emit<'_>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let data = ev.data;
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let mut chunk = Chunk::default();
        if self.fill_by_shape(&mut chunk, data) {
            // The delta chunk as the reader would have read it, for a fraction of the cost.
        } else if chunk.read(data).is_some() {
            if self.shapes.miss() {
                self.shapes.shape = Shape::learn(data, classify).map(Box::new);
            }
        } else {
            chunk = serde_json::from_str(data).map_err(|e| malformed("a data line", data, &e))?;
        }
        if chunk.choices.is_none() && chunk.output.is_some() {
            return Err(Error::usage(
                "the server sent DashScope-native events (\"output\"), not OpenAI-compatible ones: use --protocol dashscope",
            ));
        }
        if let Some(error) = &chunk.error {
            let mut api = api_error(error, ev.status);
            if let Some(id) = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v.get("request_id")?.as_str().map(String::from))
            {
                api.request_id = Some(id);
            }
            return Err(Error::api(api));
        }
        for choice in chunk.choices.iter_mut().flatten() {
            if let Some(delta) = &mut choice.delta {
                if let Some(text) = nonempty(&delta.reasoning_content) {
                    emit(Event::Reasoning {
                        choice: choice.index,
                        text: text.into(),
                    })?;
                }
                if let Some(text) = nonempty(&delta.content) {
                    emit(Event::Content {
                        choice: choice.index,
                        text: text.into(),
                    })?;
                }
                if let Some(calls) = delta.tool_calls.take() {
                    emit_tool_calls(choice.index, calls, None, emit)?;
                }
                if let Some(audio) = &mut delta.audio {
                    if let Some(text) = nonempty(&audio.transcript) {
                        emit(Event::Content {
                            choice: choice.index,
                            text: text.into(),
                        })?;
                    }
                    if let Some(data) = audio.data.take().filter(|d| !d.0.is_empty()) {
                        emit(Event::Audio {
                            choice: choice.index,
                            data: data.0,
                        })?;
                    }
                }
            }
            // The string "null" is DashScope's "not finished"; a gateway may pass it on.
            if let Some(reason) = nonempty(&choice.finish_reason).filter(|r| *r != "null") {
                self.finished = true;
                emit(Event::Finish {
                    choice: choice.index,
                    reason: reason.into(),
                })?;
            }
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some((*usage).into());
        }
        Ok(())
    }

    /// No shapes: every chunk goes through the reader (tests compare the two).
    #[cfg(test)]
    pub(crate) fn without_shapes(&mut self) {
        self.shapes.off = true;
    }

    /// `chunk` filled from `data` through the learned shape, if it fits; else left default.
    fn fill_by_shape<'a>(&mut self, chunk: &mut Chunk<'a>, data: &'a str) -> bool {
        let Some(shape) = &self.shapes.shape else {
            return false;
        };
        if shape.fill(data, chunk).is_some() {
            self.shapes.hit();
            return true;
        }
        *chunk = Chunk::default();
        false
    }

    /// `data: [DONE]` came: nothing more belongs to the answer.
    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn finish(&mut self, emit: &mut Emit<'_>) -> Result<()> {
        if !self.done && !self.finished {
            return Err(Error::network(
                "stream ended early: no finish_reason and no [DONE]",
            ));
        }
        if let Some(usage) = self.usage {
            emit(Event::Usage(usage))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::Decoder;
    use crate::cli::Protocol;
    use crate::error::Exit;
    use crate::event::{Event, Usage};

    fn run(datas: &[&str]) -> (Vec<Event<'static>>, crate::error::Result<()>) {
        let events: Vec<_> = datas.iter().map(|d| ("message", *d, None)).collect();
        collect(&mut Decoder::new(Some(Protocol::Compatible), true), &events)
    }

    #[test]
    fn content_reasoning_finish_usage() {
        let (events, r) = run(&[
            r#"{"choices":[{"delta":{"content":null,"role":"assistant","reasoning_content":""},"index":0,"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":null,"reasoning_content":"Hm\n\"ok\""},"index":0,"finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"I am","reasoning_content":null},"index":0}]}"#,
            r#"{"choices":[{"delta":{"content":""},"finish_reason":"stop","index":0}],"usage":null}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":22,"completion_tokens":17,"total_tokens":39,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":5}}}"#,
            "[DONE]",
        ]);
        r.expect("finished");
        assert_eq!(
            events,
            vec![
                reasoning("Hm\n\"ok\""),
                content("I am"),
                finish("stop"),
                Event::Usage(Usage {
                    input_tokens: 22,
                    output_tokens: 17,
                    total_tokens: 39,
                    cached_tokens: Some(3),
                    reasoning_tokens: Some(5),
                    search_count: None,
                }),
            ]
        );
    }

    #[test]
    fn events_after_done_are_ignored() {
        let (events, r) = run(&[
            r#"{"choices":[{"delta":{"content":"a"},"finish_reason":"stop"}]}"#,
            "[DONE]",
            "not json",
        ]);
        r.expect("ok");
        assert_eq!(events, vec![content("a"), finish("stop")]);
    }

    #[test]
    fn no_done_and_no_finish_is_early_end() {
        let (events, r) = run(&[r#"{"choices":[{"delta":{"content":"a"}}]}"#]);
        assert_eq!(events, vec![content("a")]);
        let e = r.expect_err("early end");
        assert_eq!(e.exit, Exit::Network);
        assert!(e.message.contains("ended early"), "{}", e.message);
    }

    #[test]
    fn malformed_json_names_the_data() {
        let (_, r) = run(&[r#"{"choices":[{"delta":"#]);
        let e = r.expect_err("malformed");
        assert_eq!(e.exit, Exit::Network);
        assert!(e.message.starts_with("malformed stream"), "{}", e.message);
    }

    #[test]
    fn error_object_in_stream() {
        let (events, r) = run(&[
            r#"{"choices":[{"delta":{"content":"part"}}]}"#,
            r#"{"error":{"message":"Allocated quota exceeded","type":"insufficient_quota","code":"Throttling.AllocationQuota"},"request_id":"r-1"}"#,
        ]);
        assert_eq!(events, vec![content("part")]);
        let e = r.expect_err("error");
        assert_eq!(e.exit, Exit::RateLimit);
        assert_eq!(
            e.to_string(),
            "Allocated quota exceeded (Throttling.AllocationQuota, request_id r-1)"
        );
    }

    #[test]
    fn omni_audio_and_transcript() {
        let (events, r) = run(&[
            r#"{"choices":[{"delta":{"audio":{"transcript":"Hi"}}}]}"#,
            r#"{"choices":[{"delta":{"audio":{"data":"AAEC","expires_at":1,"id":"a"}}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#,
        ]);
        r.expect("ok");
        assert_eq!(
            events,
            vec![
                content("Hi"),
                Event::Audio {
                    choice: 0,
                    data: "AAEC".into()
                },
                finish("stop")
            ]
        );
    }

    #[test]
    fn tool_call_fragments() {
        let (events, r) = run(&[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"","function":{"arguments":"{\"loc"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
        ]);
        r.expect("ok");
        assert_eq!(events.len(), 3);
        match &events[1] {
            Event::ToolCall {
                index,
                id,
                name,
                arguments,
                ..
            } => {
                assert_eq!(*index, 0);
                assert!(id.is_none() && name.is_none());
                assert_eq!(arguments, "{\"loc");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn borrowed_text_when_unescaped() {
        let data = r#"{"choices":[{"delta":{"content":"plain"}}]}"#;
        let ev = crate::sse::SseEvent {
            id: "",
            event: "message",
            data,
            status: None,
            typed: false,
        };
        let mut d = super::CompatibleDecoder::default();
        let mut borrowed = false;
        d.event(&ev, &mut |e| {
            if let Event::Content { text, .. } = e {
                borrowed = matches!(text, std::borrow::Cow::Borrowed(_));
            }
            Ok(())
        })
        .expect("ok");
        assert!(borrowed);
    }
}
