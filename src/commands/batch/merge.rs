//! The batch's results back in the shape of `qstream map`'s output, one line per item in input
//! order: `{"id", "status", "content", "reasoning", "finish", "usage", "request_id", "error":
//! {"status", "code", "message"} or null, "exit"}` (`tool_calls` when there were any), less
//! map's timings.
//!
//! The service writes the answers that succeeded to the output file and the others to the
//! error file, each line `{"id", "custom_id", "response": {"status_code", "request_id",
//! "body"}, "error"}`, in no particular order. Both files are spooled to disk and indexed by
//! `custom_id` (offsets only), so memory grows with the number of items, not their size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

use serde_json::{json, Value};

use crate::cli::Protocol;
use crate::commands::item_line::{ItemError, ItemLine};
use crate::error::{Error, Exit, Result};
use crate::event::{ApiError, Event};
use crate::protocol::Decoder;
use crate::sink::ToolCalls;
use crate::sse::SseEvent;

/// Where one result line is: which file, its offset and length.
#[derive(Debug, Clone, Copy)]
struct Place {
    file: usize,
    offset: u64,
    len: usize,
}

/// Counts of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub ok: usize,
    pub failed: usize,
}

/// Write one line per id of `order` (then any result whose id the order lacks), merging the
/// result files `files` (the output file first, then the error file).
pub fn merge(order: &[String], files: &mut [File], out: &mut dyn Write) -> Result<Merged> {
    let mut index: HashMap<String, Place> = HashMap::new();
    let mut extra: Vec<(String, Place)> = Vec::new();
    let known: std::collections::HashSet<&str> = order.iter().map(String::as_str).collect();
    for (n, file) in files.iter_mut().enumerate() {
        file.seek(SeekFrom::Start(0)).map_err(spool)?;
        let mut reader = BufReader::new(&mut *file);
        let mut offset = 0u64;
        let mut line = Vec::new();
        loop {
            line.clear();
            let len = reader.read_until(b'\n', &mut line).map_err(spool)?;
            if len == 0 {
                break;
            }
            let place = Place {
                file: n,
                offset,
                len,
            };
            offset += len as u64;
            let Some(id) = custom_id(&line) else {
                continue;
            };
            // A result written twice counts once: the first (the output file's) wins.
            if index.contains_key(&id) {
                continue;
            }
            if !known.contains(id.as_str()) {
                extra.push((id.clone(), place));
            }
            index.insert(id, place);
        }
    }
    let mut counts = Merged::default();
    let mut buf = Vec::new();
    let ids = order
        .iter()
        .map(|id| (id.as_str(), index.get(id).copied()))
        .chain(extra.iter().map(|(id, p)| (id.as_str(), Some(*p))));
    for (id, place) in ids {
        let line = match place {
            Some(p) => {
                let file = files
                    .get_mut(p.file)
                    .ok_or_else(|| Error::internal("a result file went missing"))?;
                file.seek(SeekFrom::Start(p.offset)).map_err(spool)?;
                buf.resize(p.len, 0);
                file.read_exact(&mut buf).map_err(spool)?;
                match serde_json::from_slice::<Value>(&buf) {
                    Ok(v) => result_line(id, &v),
                    Err(e) => error_line(
                        id,
                        &Error::new(
                            Exit::Server,
                            format!("the batch's result line is not JSON: {e}"),
                        ),
                        None,
                    ),
                }
            }
            None => missing(id),
        };
        if line.ok {
            counts.ok += 1;
        } else {
            counts.failed += 1;
        }
        let mut text = line.text;
        text.push('\n');
        out.write_all(text.as_bytes()).map_err(Error::output)?;
    }
    out.flush().map_err(Error::output)?;
    Ok(counts)
}

fn spool(e: std::io::Error) -> Error {
    Error::internal(format!("cannot read a downloaded result file: {e}"))
}

/// The `custom_id` of a result line, read without parsing the whole answer twice.
fn custom_id(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        custom_id: Option<Value>,
    }
    let head: Head = serde_json::from_slice(line).ok()?;
    match head.custom_id? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A finished line, its fields in order; and whether the item succeeded.
pub struct Rendered {
    pub text: String,
    pub ok: bool,
}

fn render(line: &ItemLine<'_>) -> Rendered {
    Rendered {
        text: line.to_json(),
        ok: line.status == "ok",
    }
}

/// An item that failed: its error as a single request's would be.
fn error_line(id: &str, error: &Error, request_id: Option<&str>) -> Rendered {
    let api = error.api.as_ref();
    render(&ItemLine {
        id,
        status: "error",
        content: "",
        reasoning: "",
        tool_calls: None,
        finish: None,
        usage: None,
        request_id: request_id.or(api.and_then(|a| a.request_id.as_deref())),
        error: Some(ItemError::of(error)),
        exit: error.exit.code(),
        timings: None,
    })
}

/// An item the batch has no result for (it expired or was cancelled before it ran).
fn missing(id: &str) -> Rendered {
    let e = Error::api(ApiError {
        status: None,
        code: Some("no_result".into()),
        message: "the batch returned no result for this item".into(),
        request_id: None,
    });
    error_line(
        id,
        &Error {
            exit: Exit::Server,
            ..e
        },
        None,
    )
}

/// One service result line in map's shape.
pub fn result_line(id: &str, v: &Value) -> Rendered {
    let response = v.get("response").filter(|r| r.is_object());
    let status = response
        .and_then(|r| r.get("status_code"))
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let body = response.and_then(|r| r.get("body"));
    let request_id = response
        .and_then(|r| r.get("request_id"))
        .and_then(Value::as_str)
        .or_else(|| {
            body.and_then(|b| b.get("request_id"))
                .and_then(Value::as_str)
        });
    let line_error = v.get("error").filter(|e| !e.is_null());
    let body_error = body.filter(|b| b.get("error").is_some_and(|e| !e.is_null()));
    let failed = line_error.is_some()
        || body_error.is_some()
        || status.is_some_and(|s| !(200..300).contains(&s))
        || body.is_none();
    if !failed {
        return answer_line(id, body.unwrap_or(&Value::Null), request_id);
    }
    // The error as the body gave it (compatible `{"error": …}` or native `{"code",
    // "message"}`), else the line's own `error`, classed as a single request's would be.
    let mut api = match (body, line_error) {
        (Some(b), _) if b.get("error").is_some() || b.get("code").is_some() => {
            crate::transport::error_body(b.to_string().as_bytes(), status.unwrap_or(0))
        }
        (_, Some(e)) if e.is_string() => ApiError {
            status,
            code: None,
            message: e.as_str().unwrap_or_default().to_owned(),
            request_id: None,
        },
        (_, Some(e)) => crate::transport::error_body(
            json!({ "error": e }).to_string().as_bytes(),
            status.unwrap_or(0),
        ),
        _ => ApiError {
            status,
            code: None,
            message: "the batch's result holds no answer".into(),
            request_id: None,
        },
    };
    api.status = api.status.filter(|s| *s != 0);
    if api.request_id.is_none() {
        api.request_id = request_id.map(str::to_owned);
    }
    error_line(id, &Error::api(api), request_id)
}

/// A whole chat.completion decoded as a single request's stream would be.
fn answer_line(id: &str, body: &Value, request_id: Option<&str>) -> Rendered {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut finish: Option<String> = None;
    let mut usage = None;
    let mut calls = ToolCalls::default();
    let data = body.to_string();
    let ev = SseEvent {
        id: "",
        event: "message",
        data: &data,
        status: None,
        typed: false,
    };
    let mut decoder = Decoder::new(Some(Protocol::Compatible), true);
    let mut take = |e: Event<'_>| -> Result<()> {
        match &e {
            Event::Content { choice: 0, text } => content.push_str(text),
            Event::Reasoning { choice: 0, text } => reasoning.push_str(text),
            Event::Finish { choice: 0, reason } => finish = Some(reason.to_string()),
            Event::Usage(u) => usage = Some(*u),
            Event::ToolCall { choice: 0, .. } => calls.add(&e),
            _ => {}
        }
        Ok(())
    };
    let decoded = decoder
        .event(&ev, &mut take)
        .and_then(|()| decoder.finish(&mut take));
    if let Err(e) = decoded {
        return error_line(id, &e, request_id);
    }
    let calls = calls.calls();
    render(&ItemLine {
        id,
        status: "ok",
        content: &content,
        reasoning: &reasoning,
        tool_calls: (!calls.is_empty()).then_some(calls),
        finish: finish.as_deref(),
        usage,
        request_id,
        error: None,
        exit: 0,
        timings: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(custom_id: &str, text: &str) -> String {
        json!({
            "id": "batch_req_1",
            "custom_id": custom_id,
            "response": {
                "status_code": 200,
                "request_id": format!("r-{custom_id}"),
                "body": {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": "qwen-plus",
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": text, "reasoning_content": "hmm"},
                        "finish_reason": "stop"
                    }],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
                }
            },
            "error": null
        })
        .to_string()
    }

    fn spool(text: &str) -> File {
        let path = std::env::temp_dir().join(format!("qstream-merge-{}", crate::store::new_id()));
        std::fs::write(&path, text).expect("write");
        let f = File::open(&path).expect("open");
        let _ = std::fs::remove_file(&path);
        f
    }

    #[test]
    fn results_come_back_in_input_order_with_errors_and_gaps() {
        let output = format!("{}\n{}\n", ok("b", "B"), ok("a", "A"));
        let errors = [
            json!({"id": "x", "custom_id": "c", "response": {"status_code": 400, "request_id": "r-c",
                "body": {"error": {"code": "InvalidParameter", "message": "bad top_p", "type": "invalid_request_error"}}},
                "error": null}),
            json!({"id": "y", "custom_id": "e", "response": null,
                "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
        ]
        .iter()
        .map(|v| v.to_string() + "\n")
        .collect::<String>();
        let order: Vec<String> = ["a", "c", "d", "b", "e"].map(String::from).to_vec();
        let mut out = Vec::new();
        let counts = merge(&order, &mut [spool(&output), spool(&errors)], &mut out).expect("merge");
        assert_eq!(counts, Merged { ok: 2, failed: 3 });
        let text = String::from_utf8(out).expect("utf8");
        // map's field order, not JSON's alphabetical one.
        assert!(
            text.starts_with(r#"{"id":"a","status":"ok","content":"A","reasoning":"hmm","finish":"stop","usage":{"#),
            "{text}"
        );
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(
            lines
                .iter()
                .map(|l| l["id"].as_str().unwrap_or("?"))
                .collect::<Vec<_>>(),
            ["a", "c", "d", "b", "e"]
        );
        assert_eq!(
            lines[0],
            json!({"id": "a", "status": "ok", "content": "A", "reasoning": "hmm", "finish": "stop",
                "usage": {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7},
                "request_id": "r-a", "error": null, "exit": 0})
        );
        assert_eq!(
            lines[1],
            json!({"id": "c", "status": "error", "content": "", "reasoning": "", "finish": null,
                "usage": null, "request_id": "r-c",
                "error": {"status": 400, "code": "InvalidParameter",
                    "message": "bad top_p (InvalidParameter, HTTP 400, request_id r-c)"},
                "exit": 4})
        );
        assert_eq!(lines[2]["error"]["code"], "no_result");
        assert_eq!(lines[2]["exit"], 6);
        assert_eq!(lines[4]["error"]["code"], "batch_expired");
        assert_eq!(lines[4]["status"], "error");
    }
}
