//! The DashScope-native protocol decoder on arbitrary events.
//!
//! Layout: `flags, rest…`; flags bit 1 set = `incremental_output: true`.
//! - flags bit 0 clear (raw): `rest` is cut at 0xFF into events. Each starts with a header
//!   byte: bits 0-1 the type (`result`, `error`, untyped, typed `message`), bits 2-3 the
//!   `:HTTP_STATUS` (none, 200, 429, the next two bytes); the rest is the data (UTF-8 with
//!   replacement). Nothing may panic, the common invariants hold, and an `error` event or a
//!   status ≥ 400 always ends the stream with a service error. Bit 3 set: detect the protocol.
//! - flags bit 0 set (structured): `rest` drives a generator of well-formed chunks — content
//!   as a string, as a list of parts, or `output.text`; reasoning; 1–3 choices with explicit
//!   or positional indexes; usage with or without `total_tokens`; cumulative text when not
//!   incremental — and the decoder must emit exactly the expected deltas: with
//!   `incremental_output: false` they concatenate to the last cumulative text of each choice.
//!   Bit 2: escape all non-ASCII as `\uXXXX`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qstream::cli::Protocol;
use qstream::event::Usage;
use qstream::protocol::Decoder;
use qstream_fuzz::{check, check_common, cut, decode, json_str, pieces, Bytes, Ev, Input};

fn result(data: String) -> Input {
    Input {
        event: "result".into(),
        data,
        status: Some(200),
        typed: true,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Str,
    Parts,
    Text,
}

/// A content value: a string, or a list of `{"text": …}` parts (some without text).
fn content(text: &str, shape: Shape, ascii: bool, b: &mut Bytes<'_>) -> String {
    match shape {
        Shape::Parts => {
            let n = 1 + b.below(3) as usize;
            let mut parts: Vec<String> = cut(text, n, b)
                .iter()
                .map(|p| format!("{{\"text\":{}}}", json_str(p, ascii)))
                .collect();
            if b.byte() & 3 == 0 {
                parts.insert(0, "{\"image\":\"https://x/y.png\"}".into());
            }
            format!("[{}]", parts.join(","))
        }
        _ => json_str(text, ascii),
    }
}

/// Push one `result` event: `output` is `body`, with a usage (with or without
/// `total_tokens`) that becomes the expected last usage.
fn chunk(b: &mut Bytes<'_>, body: String, usage: &mut Option<Usage>, inputs: &mut Vec<Input>) {
    let (input_tokens, output_tokens) = (b.u32() as u64, b.u32() as u64);
    let with_total = b.byte() & 1 == 1;
    let u = Usage {
        input_tokens,
        output_tokens,
        total_tokens: if with_total {
            input_tokens ^ output_tokens
        } else {
            input_tokens + output_tokens
        },
        cached_tokens: None,
        reasoning_tokens: None,
        search_count: None,
    };
    let total = if with_total {
        format!(",\"total_tokens\":{}", u.total_tokens)
    } else {
        String::new()
    };
    *usage = Some(u);
    inputs.push(result(format!(
        "{{\"output\":{body},\"usage\":{{\"input_tokens\":{input_tokens},\"output_tokens\":{output_tokens}{total}}},\"request_id\":\"req-1\"}}"
    )));
}

fn structured(b: &mut Bytes<'_>, incremental: bool, ascii: bool) {
    let shape = [Shape::Str, Shape::Parts, Shape::Text][b.below(3) as usize];
    let choices = if shape == Shape::Text {
        1
    } else {
        1 + b.below(3) as usize
    };
    let explicit = shape != Shape::Text && b.byte() & 1 == 1;
    let steps = b.below(10);
    let mut cum = vec![(String::new(), String::new()); choices];
    let mut want = Vec::new();
    let mut inputs = Vec::new();
    let mut usage = None;

    for _ in 0..steps {
        if shape == Shape::Text {
            let piece = b.text();
            cum[0].0.push_str(&piece);
            let sent = if incremental { &piece } else { &cum[0].0 };
            let body = format!(
                "{{\"text\":{},\"finish_reason\":\"null\"}}",
                json_str(sent, ascii)
            );
            if !piece.is_empty() {
                want.push(Ev::Content(0, piece));
            }
            chunk(b, body, &mut usage, &mut inputs);
            continue;
        }
        let mut list = Vec::new();
        for (c, (content_so_far, reasoning_so_far)) in cum.iter_mut().enumerate() {
            if explicit && b.byte() & 1 == 0 {
                continue;
            }
            let (reasoning, text) = (b.text(), b.text());
            let mut message = vec!["\"role\":\"assistant\"".to_string()];
            let how = b.byte();
            // Reasoning: absent (a model without thinking) or present, maybe empty.
            if how & 1 == 1 {
                reasoning_so_far.push_str(&reasoning);
                let sent = if incremental {
                    &reasoning
                } else {
                    &*reasoning_so_far
                };
                message.push(format!("\"reasoning_content\":{}", json_str(sent, ascii)));
                if !reasoning.is_empty() {
                    want.push(Ev::Reasoning(c as u32, reasoning));
                }
            }
            content_so_far.push_str(&text);
            let sent = if incremental { &text } else { &*content_so_far };
            message.push(format!("\"content\":{}", content(sent, shape, ascii, b)));
            if !text.is_empty() {
                want.push(Ev::Content(c as u32, text));
            }
            let finish = ["\"finish_reason\":\"null\",", "\"finish_reason\":null,", ""]
                [(how >> 1) as usize % 3];
            let index = if explicit {
                format!(",\"index\":{c}")
            } else {
                String::new()
            };
            list.push(format!(
                "{{\"message\":{{{}}},{finish}\"x\":0{index}}}",
                message.join(",")
            ));
        }
        let body = format!("{{\"choices\":[{}]}}", list.join(","));
        chunk(b, body, &mut usage, &mut inputs);
    }

    // The last chunk: every choice stops. Cumulative streams repeat the whole text; a
    // multimodal one may send an empty list instead.
    let empty_list = shape == Shape::Parts && b.byte() & 1 == 1;
    let body = if shape == Shape::Text {
        let sent = if incremental { "" } else { &cum[0].0 };
        format!(
            "{{\"text\":{},\"finish_reason\":\"stop\"}}",
            json_str(sent, ascii)
        )
    } else {
        let mut list = Vec::new();
        for (c, (content_so_far, reasoning_so_far)) in cum.iter().enumerate() {
            let (text, reasoning) = if incremental {
                ("", "")
            } else {
                (content_so_far.as_str(), reasoning_so_far.as_str())
            };
            let content = if empty_list {
                "[]".to_string()
            } else {
                content(text, shape, ascii, b)
            };
            let index = if explicit {
                format!(",\"index\":{c}")
            } else {
                String::new()
            };
            list.push(format!(
                "{{\"message\":{{\"content\":{content},\"reasoning_content\":{}}},\"finish_reason\":\"stop\"{index}}}",
                json_str(reasoning, ascii)
            ));
        }
        format!("{{\"choices\":[{}]}}", list.join(","))
    };
    for c in 0..choices {
        want.push(Ev::Finish(c as u32, "stop".into()));
    }
    chunk(b, body, &mut usage, &mut inputs);

    let mut decoder = Decoder::new(Some(Protocol::Dashscope), incremental);
    let d = decode(&mut decoder, &inputs);
    check_common(&d);
    check("structured", d.error.is_none(), || {
        format!("error {:?} on {inputs:#?}", d.error)
    });
    check("structured", d.streamed == want, || {
        format!("got {:#?}\nwant {want:#?}\ninputs {inputs:#?}", d.streamed)
    });
    check("structured", d.usage == usage, || {
        format!("usage {:?}, want {usage:?}", d.usage)
    });
    check(
        "structured",
        decoder.request_id() == Some("req-1") || inputs.is_empty(),
        || format!("request_id {:?}", decoder.request_id()),
    );
    if !incremental {
        // The brief's invariant, spelled out: deltas add up to the last cumulative text.
        for (c, (content_so_far, reasoning_so_far)) in cum.iter().enumerate() {
            let joined = |reasoning: bool| -> String {
                d.streamed
                    .iter()
                    .filter_map(|e| match e {
                        Ev::Content(i, t) if !reasoning && *i as usize == c => Some(t.as_str()),
                        Ev::Reasoning(i, t) if reasoning && *i as usize == c => Some(t.as_str()),
                        _ => None,
                    })
                    .collect()
            };
            check("cumulative", joined(false) == *content_so_far, || {
                format!(
                    "choice {c}: content deltas {:?} != {content_so_far:?}",
                    joined(false)
                )
            });
            check("cumulative", joined(true) == *reasoning_so_far, || {
                format!(
                    "choice {c}: reasoning deltas {:?} != {reasoning_so_far:?}",
                    joined(true)
                )
            });
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let mut b = Bytes(input);
    let flags = b.byte();
    let incremental = flags & 2 != 0;
    if flags & 1 == 1 {
        return structured(&mut b, incremental, flags & 4 != 0);
    }
    let mut inputs = Vec::new();
    for piece in pieces(b.0) {
        let mut p = Bytes(piece);
        let head = p.byte();
        let (event, typed) = match head & 3 {
            0 => ("result", true),
            1 => ("error", true),
            2 => ("message", false),
            _ => ("message", true),
        };
        let status = match (head >> 2) & 3 {
            0 => None,
            1 => Some(200),
            2 => Some(429),
            _ => Some(u16::from_le_bytes([p.byte(), p.byte()])),
        };
        inputs.push(Input {
            event: event.into(),
            data: String::from_utf8_lossy(p.0).into_owned(),
            status,
            typed,
        });
    }
    let protocol = (flags & 8 == 0).then_some(Protocol::Dashscope);
    let mut decoder = Decoder::new(protocol, incremental);
    let d = decode(&mut decoder, &inputs);
    check_common(&d);
    if protocol.is_some() {
        let failing = inputs
            .iter()
            .position(|i| i.event == "error" || i.status.is_some_and(|s| s >= 400))
            // After the last finish the stream is over: what follows is not read.
            .filter(|&f| d.done_at.is_none_or(|done| f <= done));
        if let Some(f) = failing {
            check("error-event", d.failed_at.is_some_and(|at| at <= f), || {
                format!("error event {f} did not stop the stream: {:?}", d.failed_at)
            });
            if d.failed_at == Some(f) {
                check(
                    "error-event",
                    d.error.as_ref().is_some_and(|e| e.api.is_some()),
                    || format!("error event {f} gave {:?}", d.error),
                );
            }
        }
    }
});
