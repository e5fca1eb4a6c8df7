//! The OpenAI-compatible protocol decoder on arbitrary data strings.
//!
//! Layout: `flags, rest…`.
//! - flags bit 0 clear (raw): `rest` is cut at 0xFF into data strings (UTF-8 with
//!   replacement), each one `data:` event. Nothing may panic and the common invariants hold.
//!   Bit 1 set lets the decoder detect the protocol (`Decoder::new(None, _)`) instead.
//! - flags bit 0 set (structured): `rest` drives a generator of well-formed chunks (text
//!   pieces with any characters, tool-call fragments, Omni audio, usage chunks, finish,
//!   `[DONE]`), and the decoder must emit exactly the expected events. Bit 2: escape all
//!   non-ASCII as `\uXXXX`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qstream::cli::Protocol;
use qstream::event::Usage;
use qstream::protocol::Decoder;
use qstream_fuzz::{check, check_common, decode, json_str, pieces, Bytes, Ev, Input};

fn message(data: String) -> Input {
    Input {
        event: "message".into(),
        data,
        status: None,
        typed: false,
    }
}

/// An optional string field: absent, `null`, or a string.
fn field(out: &mut Vec<String>, name: &str, mode: u8, text: &str, ascii: bool) {
    match mode % 3 {
        0 => {}
        1 => out.push(format!("\"{name}\":null")),
        _ => out.push(format!("\"{name}\":{}", json_str(text, ascii))),
    }
}

fn structured(b: &mut Bytes<'_>, ascii: bool) {
    let choices = 1 + b.below(2) as u32;
    let steps = b.below(12);
    let mut inputs = Vec::new();
    let mut want = Vec::new();
    let mut usage = None;
    for _ in 0..steps {
        match b.below(8) {
            0..=3 => {
                let c = b.below(choices as u8) as u32;
                let (rm, cm) = (b.byte(), b.byte());
                let (r, t) = (b.text(), b.text());
                let mut delta = Vec::new();
                if cm & 4 != 0 {
                    delta.push("\"role\":\"assistant\"".into());
                }
                field(&mut delta, "reasoning_content", rm, &r, ascii);
                field(&mut delta, "content", cm, &t, ascii);
                if rm % 3 == 2 && !r.is_empty() {
                    want.push(Ev::Reasoning(c, r));
                }
                if cm % 3 == 2 && !t.is_empty() {
                    want.push(Ev::Content(c, t));
                }
                inputs.push(message(format!(
                    "{{\"id\":\"chatcmpl-1\",\"choices\":[{{\"delta\":{{{}}},\"index\":{c},\"logprobs\":null,\"finish_reason\":null}}],\"object\":\"chat.completion.chunk\",\"usage\":null}}",
                    delta.join(",")
                )));
            }
            4 => {
                let c = b.below(choices as u8) as u32;
                let index = b.below(3) as u32;
                let (id, name, args) = (b.text(), b.text(), b.text());
                inputs.push(message(format!(
                    "{{\"choices\":[{{\"index\":{c},\"delta\":{{\"tool_calls\":[{{\"index\":{index},\"id\":{},\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":{}}}}}]}}}}]}}",
                    json_str(&id, ascii),
                    json_str(&name, ascii),
                    json_str(&args, ascii)
                )));
                if !id.is_empty() || !name.is_empty() || !args.is_empty() {
                    want.push(Ev::ToolCall {
                        choice: c,
                        index,
                        id: Some(id).filter(|s| !s.is_empty()),
                        name: Some(name).filter(|s| !s.is_empty()),
                        arguments: args,
                    });
                }
            }
            5 => {
                let u = Usage {
                    input_tokens: b.u32().into(),
                    output_tokens: b.u32().into(),
                    total_tokens: b.u32().into(),
                    cached_tokens: None,
                    reasoning_tokens: None,
                    search_count: None,
                };
                inputs.push(message(format!(
                    "{{\"choices\":[],\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}}}}}",
                    u.input_tokens, u.output_tokens, u.total_tokens
                )));
                usage = Some(u);
            }
            6 if b.byte() & 1 == 1 => {
                // Qwen-Omni speech: the transcript is content, the data audio.
                let c = b.below(choices as u8) as u32;
                let (transcript, data) = (b.text(), b.text());
                inputs.push(message(format!(
                    "{{\"choices\":[{{\"index\":{c},\"delta\":{{\"audio\":{{\"transcript\":{},\"data\":{},\"expires_at\":1,\"id\":\"a\"}}}}}}]}}",
                    json_str(&transcript, ascii),
                    json_str(&data, ascii)
                )));
                if !transcript.is_empty() {
                    want.push(Ev::Content(c, transcript));
                }
                if !data.is_empty() {
                    want.push(Ev::Audio(c, data));
                }
            }
            6 => inputs.push(message(format!(
                "{{\"choices\":[{{\"delta\":{{}},\"index\":{}}}]}}",
                b.below(choices as u8)
            ))),
            _ => inputs.push(message(format!(
                "{{\"object\":\"chat.completion.chunk\",\"extra\":[1,2.5,{{\"a\":null,\"b\":{}}}]}}",
                json_str(&b.text(), ascii)
            ))),
        }
    }
    for c in 0..choices {
        let reason = ["stop", "length", "tool_calls"][b.below(3) as usize];
        inputs.push(message(format!(
            "{{\"choices\":[{{\"delta\":{{\"content\":\"\"}},\"index\":{c},\"finish_reason\":\"{reason}\"}}]}}"
        )));
        want.push(Ev::Finish(c, reason.into()));
    }
    if b.byte() & 1 == 1 {
        let u = Usage {
            input_tokens: b.u32().into(),
            output_tokens: b.u32().into(),
            total_tokens: b.u32().into(),
            cached_tokens: Some(b.u32().into()),
            reasoning_tokens: Some(b.u32().into()),
            search_count: None,
        };
        inputs.push(message(format!(
            "{{\"choices\":[],\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":{}}},\"completion_tokens_details\":{{\"reasoning_tokens\":{}}}}}}}",
            u.input_tokens,
            u.output_tokens,
            u.total_tokens,
            u.cached_tokens.unwrap(),
            u.reasoning_tokens.unwrap()
        )));
        usage = Some(u);
    }
    if b.byte() & 1 == 1 {
        inputs.push(message("[DONE]".into()));
        // Anything after [DONE] is ignored, even garbage.
        inputs.push(message(String::from_utf8_lossy(b.0).into_owned()));
    }
    let mut decoder = Decoder::new(Some(Protocol::Compatible), true);
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
}

fuzz_target!(|input: &[u8]| {
    let mut b = Bytes(input);
    let flags = b.byte();
    if flags & 1 == 1 {
        return structured(&mut b, flags & 4 != 0);
    }
    let inputs: Vec<Input> = pieces(b.0)
        .map(|p| message(String::from_utf8_lossy(p).into_owned()))
        .collect();
    let protocol = (flags & 2 == 0).then_some(Protocol::Compatible);
    let mut decoder = Decoder::new(protocol, true);
    let d = decode(&mut decoder, &inputs);
    check_common(&d);
    if protocol.is_some() {
        // Ending well needs a finish_reason or [DONE]; [DONE] silences the rest.
        if let Some(done) = inputs.iter().position(|i| i.data.trim() == "[DONE]") {
            if d.failed_at.is_none_or(|f| f > done) {
                check("done", d.error.is_none() && d.failed_at.is_none(), || {
                    format!("error after [DONE]: {:?}", d.error)
                });
            }
        } else if d.error.is_none() {
            check(
                "finish-needed",
                d.streamed.iter().any(|e| matches!(e, Ev::Finish(..))),
                || "finished without finish_reason or [DONE]".into(),
            );
        }
    }
});
