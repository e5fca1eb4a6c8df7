//! The batch's results back in the shape of `qstream map`'s output, one line per item in input
//! order: `{"id", "status": "ok", "content", "reasoning", "finish", "usage", "request_id",
//! "exit": 0}` or `{"id", "status": "error", "error": {"status", "code", "message"},
//! "request_id", "exit"}`.
//!
//! The service writes the answers that succeeded to the output file and the others to the
//! error file, each line `{"id", "custom_id", "response": {"status_code", "request_id",
//! "body"}, "error"}`, in no particular order. Both files are spooled to disk and indexed by
//! `custom_id` (offsets only), so memory grows with the number of items, not their size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

use serde_json::{json, Map, Value};

use crate::cli::Protocol;
use crate::error::{Error, Exit, Result};
use crate::event::{ApiError, Event};
use crate::protocol::Decoder;
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
                        None,
                        None,
                        &format!("the batch's result line is not JSON: {e}"),
                        Exit::Server,
                        None,
                    ),
                }
            }
            None => error_line(
                id,
                None,
                Some("no_result"),
                "the batch returned no result for this item (it expired, was cancelled, or the service lost it)",
                Exit::Server,
                None,
            ),
        };
        if line["status"] == "ok" {
            counts.ok += 1;
        } else {
            counts.failed += 1;
        }
        let mut text = line.to_string();
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

fn error_line(
    id: &str,
    status: Option<u16>,
    code: Option<&str>,
    message: &str,
    exit: Exit,
    request_id: Option<&str>,
) -> Value {
    let mut error = Map::new();
    if let Some(s) = status {
        error.insert("status".into(), json!(s));
    }
    if let Some(c) = code {
        error.insert("code".into(), json!(c));
    }
    error.insert("message".into(), json!(message));
    json!({
        "id": id,
        "status": "error",
        "error": error,
        "request_id": request_id,
        "exit": exit.code(),
    })
}

/// One service result line in map's shape.
pub fn result_line(id: &str, v: &Value) -> Value {
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
    if failed {
        // The error as the body gave it (compatible `{"error": …}` or native `{"code",
        // "message"}`), else the line's own `error`, classed as a single request's would be.
        let api = match (body, line_error) {
            (Some(b), _) if b.get("error").is_some() || b.get("code").is_some() => {
                crate::transport::error_body(b.to_string().as_bytes(), status.unwrap_or(0))
            }
            (_, Some(e)) => {
                let mut api = crate::transport::error_body(
                    json!({ "error": e }).to_string().as_bytes(),
                    status.unwrap_or(0),
                );
                if e.is_string() {
                    api.message = e.as_str().unwrap_or_default().to_owned();
                }
                api
            }
            _ => ApiError {
                status,
                code: None,
                message: "the batch's result holds no answer".into(),
                request_id: None,
            },
        };
        let status = api.status.filter(|s| *s != 0);
        let exit = Exit::of_api_error(&ApiError {
            status,
            ..api.clone()
        });
        let message = if api.message.is_empty() {
            "the service reported an error"
        } else {
            &api.message
        };
        return error_line(
            id,
            status,
            api.code.as_deref(),
            message,
            exit,
            request_id.or(api.request_id.as_deref()),
        );
    }
    let body = body.cloned().unwrap_or(Value::Null);
    answer_line(id, &body, request_id)
}

/// A whole chat.completion decoded as a single request's stream would be.
fn answer_line(id: &str, body: &Value, request_id: Option<&str>) -> Value {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut finish: Option<String> = None;
    let mut usage = None;
    let mut calls: Vec<(u32, Map<String, Value>)> = Vec::new();
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
        match e {
            Event::Content { choice: 0, text } => content.push_str(&text),
            Event::Reasoning { choice: 0, text } => reasoning.push_str(&text),
            Event::Finish { choice: 0, reason } => finish = Some(reason.into_owned()),
            Event::Usage(u) => usage = Some(u),
            Event::ToolCall {
                choice: 0,
                index,
                id,
                name,
                arguments,
            } => {
                let at = match calls.iter().position(|(i, _)| *i == index) {
                    Some(at) => at,
                    None => {
                        let mut call = Map::new();
                        call.insert("index".into(), json!(index));
                        calls.push((index, call));
                        calls.len() - 1
                    }
                };
                if let Some((_, call)) = calls.get_mut(at) {
                    if let Some(id) = id {
                        call.insert("id".into(), json!(id));
                    }
                    if let Some(name) = name {
                        call.insert("name".into(), json!(name));
                    }
                    let so_far = call
                        .get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    call.insert("arguments".into(), json!(so_far + &arguments));
                }
            }
            _ => {}
        }
        Ok(())
    };
    let decoded = decoder
        .event(&ev, &mut take)
        .and_then(|()| decoder.finish(&mut take));
    if let Err(e) = decoded {
        return error_line(
            id,
            None,
            None,
            &format!("the batch's answer could not be read: {e}"),
            e.exit,
            request_id,
        );
    }
    let mut line = json!({
        "id": id,
        "status": "ok",
        "content": content,
        "reasoning": reasoning,
        "finish": finish,
        "usage": usage,
        "request_id": request_id,
        "exit": 0,
    });
    if !calls.is_empty() {
        line["tool_calls"] =
            Value::Array(calls.into_iter().map(|(_, c)| Value::Object(c)).collect());
    }
    line
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
        let lines: Vec<Value> = String::from_utf8(out)
            .expect("utf8")
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
                "request_id": "r-a", "exit": 0})
        );
        assert_eq!(
            lines[1],
            json!({"id": "c", "status": "error",
                "error": {"status": 400, "code": "InvalidParameter", "message": "bad top_p"},
                "request_id": "r-c", "exit": 4})
        );
        assert_eq!(lines[2]["error"]["code"], "no_result");
        assert_eq!(lines[4]["error"]["code"], "batch_expired");
        assert_eq!(lines[4]["status"], "error");
    }
}
