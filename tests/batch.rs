//! `qstream batch` against a stand-in of Model Studio's OpenAI-compatible Batch API on
//! loopback: `/files` (multipart, purpose=batch), `/files/{id}/content`, `/batches`,
//! `/batches/{id}`, `/batches/{id}/cancel`, speaking the vendor's wire format.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{qstream, run, temp_dir, Output, Recorded, Reply, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-batch-test-key-0123456789";

/// How a batch of the stand-in ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Completed,
    Failed,
    Expired,
}

#[derive(Default)]
struct Upload {
    purpose: String,
    filename: String,
    content_type: String,
    content: Vec<u8>,
}

struct Batch {
    object: Value,
    /// Statuses still to come, one per retrieval.
    plan: Vec<&'static str>,
    end: End,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    uploads: Vec<Upload>,
    batches: Vec<Batch>,
    /// Every status a retrieval answered with.
    seen: Vec<String>,
    /// Retrievals still to answer with a 503.
    unavailable: usize,
    created: Vec<Value>,
}

/// The stand-in: state behind a routed loopback server.
struct Api {
    server: Server,
    state: Arc<Mutex<State>>,
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"message": message, "type": "invalid_request_error", "code": code}})
            .to_string(),
    )
}

/// One part of a multipart/form-data body: name, filename, content type, content.
type Part = (String, Option<String>, Option<String>, Vec<u8>);

/// The parts of a multipart/form-data body.
fn multipart(r: &Recorded) -> Vec<Part> {
    let ct = r.header("content-type").unwrap_or_default().to_owned();
    let Some(boundary) = ct.split("boundary=").nth(1) else {
        return Vec::new();
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let body = &r.body;
    let mut parts = Vec::new();
    let find = |from: usize, needle: &[u8]| {
        body[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut at = match find(0, delimiter.as_bytes()) {
        Some(i) => i + delimiter.len(),
        None => return parts,
    };
    while body.get(at..at + 2) == Some(b"\r\n") {
        let start = at + 2;
        let Some(head_end) = find(start, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&body[start..head_end]).into_owned();
        let content_start = head_end + 4;
        let Some(next) = find(content_start, format!("\r\n{delimiter}").as_bytes()) else {
            break;
        };
        let content = body[content_start..next].to_vec();
        let mut name = String::new();
        let mut filename = None;
        let mut ctype = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for p in line.split(';') {
                    let p = p.trim();
                    if let Some(v) = p.strip_prefix("name=") {
                        name = v.trim_matches('"').to_owned();
                    }
                    if let Some(v) = p.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            } else if lower.starts_with("content-type:") {
                ctype = Some(line["content-type:".len()..].trim().to_owned());
            }
        }
        parts.push((name, filename, ctype, content));
        at = next + 2 + delimiter.len();
    }
    parts
}

fn chat_completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "qwen-plus",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
    })
}

/// The results of a batch that ended, in the vendor's shape and in reverse input order (the
/// service promises no order). A prompt holding FAIL is refused; an expired batch answers
/// only the first half.
fn results(input: &[u8], end: End) -> (Vec<String>, Vec<String>) {
    let lines: Vec<Value> = String::from_utf8_lossy(input)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("input line"))
        .collect();
    let half = lines.len().div_ceil(2);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for (i, l) in lines.iter().enumerate().rev() {
        let id = l["custom_id"].clone();
        let prompt = l["body"]["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned();
        let rid = format!("req-{}", id.as_str().unwrap_or("?"));
        if end == End::Expired && i >= half {
            err.push(
                json!({"id": format!("batch_req_{i}"), "custom_id": id, "response": null,
                    "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
                .to_string(),
            );
        } else if prompt.contains("FAIL") {
            err.push(
                json!({"id": format!("batch_req_{i}"), "custom_id": id,
                    "response": {"status_code": 400, "request_id": rid,
                        "body": {"error": {"code": "data_inspection_failed", "message": "Input data may contain inappropriate content.", "type": "data_inspection_failed"}, "request_id": rid}},
                    "error": null})
                .to_string(),
            );
        } else {
            out.push(
                json!({"id": format!("batch_req_{i}"), "custom_id": id,
                    "response": {"status_code": 200, "request_id": rid,
                        "body": chat_completion(&format!("answer to {prompt}"))},
                    "error": null})
                .to_string(),
            );
        }
    }
    (out, err)
}

impl Api {
    fn start(plan: Vec<&'static str>, end: End) -> Api {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let server = Server::routed(move |r| {
            let mut st = shared.lock().unwrap_or_else(|e| e.into_inner());
            handle(&mut st, r, &plan, end)
        });
        Api { server, state }
    }

    fn base(&self) -> String {
        format!("{}/compatible-mode/v1", self.server.url())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// qstream against the stand-in with the right key and its own log.
    fn cmd(&self, log: &Path) -> std::process::Command {
        let mut cmd = qstream();
        cmd.env("DASHSCOPE_API_KEY", KEY)
            .env("QSTREAM_LOG_DB", log)
            .arg("--base-url")
            .arg(self.base());
        cmd
    }
}

fn handle(st: &mut State, r: &Recorded, plan: &[&'static str], end: End) -> Reply {
    if r.header("authorization") != Some(&format!("Bearer {KEY}")) {
        return error(
            401,
            "invalid_api_key",
            "Incorrect API key provided. For details, see: https://help.aliyun.com/",
        );
    }
    let path = r
        .path
        .strip_prefix("/compatible-mode/v1")
        .unwrap_or(&r.path)
        .to_owned();
    let (route, query) = path.split_once('?').unwrap_or((&path, ""));
    let segments: Vec<&str> = route.trim_matches('/').split('/').collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("POST", ["files"]) => {
            let mut upload = Upload::default();
            for (name, filename, ctype, content) in multipart(r) {
                match name.as_str() {
                    "purpose" => upload.purpose = String::from_utf8_lossy(&content).into_owned(),
                    "file" => {
                        upload.filename = filename.unwrap_or_default();
                        upload.content_type = ctype.unwrap_or_default();
                        upload.content = content;
                    }
                    _ => {}
                }
            }
            if upload.purpose != "batch" || upload.content.is_empty() {
                return error(400, "InvalidParameter", "purpose must be batch");
            }
            let id = format!("file-batch-{}", st.files.len() + 1);
            let bytes = upload.content.len();
            st.files.insert(id.clone(), upload.content.clone());
            let filename = upload.filename.clone();
            st.uploads.push(upload);
            Reply::json(
                200,
                json!({"id": id, "object": "file", "bytes": bytes, "created_at": 1_764_000_000,
                    "filename": filename, "purpose": "batch", "status": "processed"})
                .to_string(),
            )
        }
        ("GET", ["files", id, "content"]) => match st.files.get(*id) {
            Some(content) => {
                Reply::status(200, "application/octet-stream", content.clone()).content_length()
            }
            None => error(404, "NotFound", "file not found"),
        },
        ("POST", ["batches"]) => {
            let body = r.json();
            st.created.push(body.clone());
            let Some(file) = body["input_file_id"].as_str() else {
                return error(400, "InvalidParameter", "input_file_id is required");
            };
            if !st.files.contains_key(file) {
                return error(404, "NotFound", "input file not found");
            }
            let id = format!("batch_{:08}-test", st.batches.len() + 1);
            let object = json!({
                "id": id, "object": "batch", "endpoint": body["endpoint"],
                "errors": null, "input_file_id": file,
                "completion_window": body["completion_window"],
                "status": "validating", "output_file_id": null, "error_file_id": null,
                "created_at": 1_764_000_000 + st.batches.len() as i64,
                "in_progress_at": null, "expires_at": null, "finalizing_at": null,
                "completed_at": null, "failed_at": null, "expired_at": null,
                "cancelling_at": null, "cancelled_at": null,
                "request_counts": {"total": 0, "completed": 0, "failed": 0},
                "metadata": body.get("metadata").cloned().unwrap_or(Value::Null)
            });
            st.batches.push(Batch {
                object: object.clone(),
                plan: plan.to_vec(),
                end,
            });
            Reply::json(200, object.to_string())
        }
        ("GET", ["batches"]) => {
            let limit = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("limit="))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(20);
            let data: Vec<Value> = st
                .batches
                .iter()
                .rev()
                .take(limit)
                .map(|b| b.object.clone())
                .collect();
            let (first, last) = (
                data.first().map(|b| b["id"].clone()),
                data.last().map(|b| b["id"].clone()),
            );
            Reply::json(
                200,
                json!({"object": "list", "data": data, "first_id": first, "last_id": last,
                    "has_more": false})
                .to_string(),
            )
        }
        ("GET", ["batches", id]) if st.unavailable > 0 => {
            st.unavailable -= 1;
            let _ = id;
            error(
                503,
                "ServiceUnavailable",
                "The service is busy, try again later.",
            )
        }
        ("GET", ["batches", id]) => {
            let id = id.to_string();
            let State {
                files,
                batches,
                seen,
                ..
            } = st;
            let Some(b) = batches.iter_mut().find(|b| b.object["id"] == id.as_str()) else {
                return error(404, "NotFound", "batch not found");
            };
            if !b.plan.is_empty() {
                let status = b.plan.remove(0);
                advance(b, status, files);
            }
            seen.push(b.object["status"].as_str().unwrap_or_default().to_owned());
            Reply::json(200, b.object.to_string())
        }
        ("POST", ["batches", id, "cancel"]) => {
            let id = id.to_string();
            let State { batches, .. } = st;
            let Some(b) = batches.iter_mut().find(|b| b.object["id"] == id.as_str()) else {
                return error(404, "NotFound", "batch not found");
            };
            b.object["status"] = json!("cancelling");
            b.plan = vec!["cancelled"];
            Reply::json(200, b.object.to_string())
        }
        _ => error(404, "NotFound", "no such route"),
    }
}

/// Move a batch to `status`; at the end, write its result files.
fn advance(b: &mut Batch, status: &str, files: &mut HashMap<String, Vec<u8>>) {
    let input = b.object["input_file_id"]
        .as_str()
        .and_then(|f| files.get(f))
        .cloned()
        .unwrap_or_default();
    let total = String::from_utf8_lossy(&input)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    b.object["status"] = json!(status);
    b.object["request_counts"]["total"] = json!(total);
    match status {
        "failed" => {
            // A batch named "hostile" fails with a control sequence in its message.
            let message = if b.object["metadata"]["ds_name"] == "hostile" {
                "The input \u{1b}[2J file is bad."
            } else {
                "The input file is not valid JSONL."
            };
            b.object["errors"] = json!({"object": "list", "data": [
                {"code": "invalid_file", "message": message, "line": 1}
            ]});
        }
        "completed" | "expired" | "cancelled" => {
            let end = if status == "completed" {
                b.end
            } else {
                End::Expired
            };
            let (out, err) = results(&input, end);
            let id = b.object["id"].as_str().unwrap_or("batch").to_owned();
            b.object["request_counts"]["completed"] = json!(out.len());
            b.object["request_counts"]["failed"] = json!(err.len());
            if !out.is_empty() {
                let f = format!("file-batch_output-{id}");
                files.insert(f.clone(), (out.join("\n") + "\n").into_bytes());
                b.object["output_file_id"] = json!(f);
            }
            if !err.is_empty() {
                let f = format!("file-batch_error-{id}");
                files.insert(f.clone(), (err.join("\n") + "\n").into_bytes());
                b.object["error_file_id"] = json!(f);
            }
        }
        _ => {}
    }
}

fn write_items(dir: &Path, name: &str, lines: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| l.to_string() + "\n").collect();
    std::fs::write(&path, text).expect("write items");
    path
}

fn items(dir: &Path) -> PathBuf {
    write_items(
        dir,
        "items.jsonl",
        &[
            json!({"id": "q1", "prompt": "one"}),
            json!({"id": "q2", "prompt": "two FAIL"}),
            json!({"id": "q3", "prompt": "three", "system": "be brief"}),
            json!({"id": "q4", "prompt": "four", "model": "qwen-plus", "params": {"temperature": 0.5}}),
        ],
    )
}

fn lines(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

const LIFECYCLE: [&str; 4] = ["validating", "in_progress", "finalizing", "completed"];

/// Submit `input` and return the batch id.
fn submit(api: &Api, log: &Path, input: &Path) -> String {
    let out = run(
        api.cmd(log)
            .args(["-m", "qwen-plus", "batch", "submit"])
            .arg(input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    out.stdout.trim().to_owned()
}

#[test]
fn submit_uploads_the_vendor_jsonl_as_multipart_and_creates_the_batch() {
    let dir = temp_dir("batch-submit");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let input = items(&dir);
    let out = run(
        api.cmd(&dir.join("log.db"))
            .args(["-m", "qwen-plus", "--max-tokens", "50", "batch", "submit"])
            .args(["--window", "2d", "--name", "nightly"])
            .arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "batch_00000001-test\n");
    assert!(!out.stderr.contains(KEY));

    let st = api.state();
    assert_eq!(st.uploads.len(), 1);
    let up = &st.uploads[0];
    assert_eq!(up.purpose, "batch");
    assert_eq!(up.filename, "items.jsonl");
    assert_eq!(up.content_type, "application/octet-stream");
    let sent: Vec<Value> = String::from_utf8_lossy(&up.content)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl line"))
        .collect();
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent[0],
        json!({"custom_id": "q1", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "qwen-plus", "messages": [{"role": "user", "content": "one"}],
                "enable_thinking": false, "max_completion_tokens": 50}})
    );
    assert_eq!(
        sent[2]["body"]["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "three"}])
    );
    assert_eq!(sent[3]["body"]["temperature"], json!(0.5));
    for l in &sent {
        assert!(l["body"].get("stream").is_none(), "{l}");
        assert!(l["body"].get("stream_options").is_none(), "{l}");
    }
    assert_eq!(
        st.created,
        vec![
            json!({"input_file_id": "file-batch-1", "endpoint": "/v1/chat/completions",
            "completion_window": "48h", "metadata": {"ds_name": "nightly"}})
        ]
    );
    // The upload is multipart with a length, not chunked.
    drop(st);
    let reqs = api.server.requests();
    let upload = reqs
        .iter()
        .find(|r| r.path.ends_with("/files"))
        .expect("upload");
    assert!(upload
        .header("content-type")
        .is_some_and(|c| c.starts_with("multipart/form-data; boundary=")));
    assert!(upload.header("content-length").is_some());
    assert_eq!(
        upload.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[test]
fn the_lifecycle_to_completed_then_fetch_merges_in_input_order() {
    let dir = temp_dir("batch-life");
    let log = dir.join("log.db");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let id = submit(&api, &log, &items(&dir));

    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with(&format!("{id}  completed  3 of 4 done, 1 failed")),
        "{}",
        out.stdout
    );
    assert_eq!(api.state().seen, LIFECYCLE.to_vec());
    // No progress line in a pipe.
    assert_eq!(out.stderr, "");

    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    let got = lines(&out);
    assert_eq!(
        got.iter()
            .map(|l| l["id"].as_str().unwrap_or("?"))
            .collect::<Vec<_>>(),
        ["q1", "q2", "q3", "q4"]
    );
    assert_eq!(
        got[0],
        json!({"id": "q1", "status": "ok", "content": "answer to one", "reasoning": "",
            "finish": "stop", "usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13},
            "request_id": "req-q1", "error": null, "exit": 0})
    );
    assert_eq!(
        got[1],
        json!({"id": "q2", "status": "error", "content": "", "reasoning": "", "finish": null,
            "usage": null, "request_id": "req-q2",
            "error": {"status": 400, "code": "data_inspection_failed",
                "message": "Input data may contain inappropriate content. (data_inspection_failed, HTTP 400, request_id req-q2)"},
            "exit": 4})
    );
    assert_eq!(got[3]["content"], "answer to four");
    assert_eq!(
        out.stderr.lines().collect::<Vec<_>>(),
        [format!(
            "qstream: 1 of 4 items failed (batch {id} completed); their lines say why"
        )]
    );

    // --output FILE: the same lines in the file, nothing on stdout.
    let file = dir.join("answers.jsonl");
    let out = run(
        api.cmd(&log)
            .args(["batch", "fetch", &id, "--output"])
            .arg(&file),
        None,
    );
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    let written = std::fs::read_to_string(&file).expect("output file");
    assert_eq!(written.lines().count(), 4);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".qstream-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(written.lines().next().is_some_and(|l| l.contains("\"q1\"")));
}

#[test]
fn fetch_of_a_batch_with_every_item_answered_exits_0() {
    let dir = temp_dir("batch-allok");
    let log = dir.join("log.db");
    let api = Api::start(vec!["completed"], End::Completed);
    let input = write_items(
        &dir,
        "ok.jsonl",
        &[
            json!({"id": 2, "prompt": "b"}),
            json!({"id": 1, "prompt": "a"}),
        ],
    );
    let id = submit(&api, &log, &input);
    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let got = lines(&out);
    assert_eq!(
        got.iter()
            .map(|l| (l["id"].clone(), l["content"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("2"), json!("answer to b")),
            (json!("1"), json!("answer to a"))
        ]
    );
    assert_eq!(out.stderr, "qstream: 2 items, all answered\n");
}

#[test]
fn a_failed_batch_ends_wait_and_fetch_with_exit_4() {
    let dir = temp_dir("batch-failed");
    let log = dir.join("log.db");
    let api = Api::start(vec!["validating", "failed"], End::Failed);
    let id = submit(&api, &log, &items(&dir));
    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("  invalid_file: The input file is not valid JSONL. (line 1)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr,
        format!("qstream: batch {id} failed: The input file is not valid JSONL.\n")
    );
    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_eq!(out.stdout, "");
}

#[test]
fn an_expired_batch_exits_8_and_fetch_has_what_there_is() {
    let dir = temp_dir("batch-expired");
    let log = dir.join("log.db");
    let api = Api::start(vec!["in_progress", "expired"], End::Expired);
    let id = submit(&api, &log, &items(&dir));
    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01", "--json"]),
        None,
    );
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    let object: Value = serde_json::from_str(out.stdout.trim()).expect("batch object");
    assert_eq!(object["status"], "expired");
    assert!(
        out.stderr
            .starts_with(&format!("qstream: batch {id} expired: ")),
        "{}",
        out.stderr
    );

    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    let got = lines(&out);
    let status: Vec<(&str, &str)> = got
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap_or("?"),
                l["status"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        status,
        [
            ("q1", "ok"),
            ("q2", "error"),
            ("q3", "error"),
            ("q4", "error")
        ]
    );
    assert_eq!(got[3]["error"]["code"], "batch_expired");
    assert_eq!(got[1]["error"]["code"], "data_inspection_failed");
}

#[test]
fn cancel_then_wait_ends_cancelled_with_exit_8() {
    let dir = temp_dir("batch-cancel");
    let log = dir.join("log.db");
    let api = Api::start(
        vec!["in_progress", "in_progress", "in_progress"],
        End::Completed,
    );
    let id = submit(&api, &log, &items(&dir));
    let out = run(api.cmd(&log).args(["batch", "status", &id]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!("{id}  in_progress  ")),
        "{}",
        out.stdout
    );

    let out = run(api.cmd(&log).args(["batch", "cancel", &id]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!("{id}  cancelling")),
        "{}",
        out.stdout
    );
    let cancels = api
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/batches/{id}/cancel")))
        .count();
    assert_eq!(cancels, 1);

    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    assert!(
        out.stdout.starts_with(&format!("{id}  cancelled")),
        "{}",
        out.stdout
    );
    let out = run(api.cmd(&log).args(["batch", "status", &id, "--json"]), None);
    let object: Value = serde_json::from_str(out.stdout.trim()).expect("json");
    assert_eq!(object["status"], "cancelled");
}

#[test]
fn fetch_before_the_end_is_refused_with_exit_2() {
    let dir = temp_dir("batch-early");
    let log = dir.join("log.db");
    let api = Api::start(vec!["in_progress", "in_progress"], End::Completed);
    let id = submit(&api, &log, &items(&dir));
    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        format!("qstream: batch {id} is in_progress: its results come when it ends (`qstream batch wait {id}`)\n")
    );
}

#[test]
fn limits_are_refused_before_anything_is_uploaded() {
    let dir = temp_dir("batch-limits");
    let log = dir.join("log.db");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let over: Vec<Value> = (0..101)
        .map(|i| json!({"prompt": format!("p{i}")}))
        .collect();
    let cases: Vec<(Vec<&str>, PathBuf, &str)> = vec![
        (
            vec!["--test"],
            write_items(&dir, "101.jsonl", &over),
            "more than 100 requests (item \"101\", input line 101): the test model (batch-test-model) takes at most 100 per file; split the input",
        ),
        (
            vec![],
            write_items(
                &dir,
                "dup.jsonl",
                &[json!({"id": "a", "prompt": "x"}), json!({"id": "a", "prompt": "y"})],
            ),
            "duplicate id \"a\" (input lines 1 and 2)",
        ),
        (
            vec![],
            write_items(
                &dir,
                "models.jsonl",
                &[json!({"prompt": "x"}), json!({"prompt": "y", "model": "qwen-max"})],
            ),
            "item \"2\" (input line 2) asks for model qwen-max, the items before it for qwen-plus: a batch holds one model",
        ),
        (
            vec![],
            write_items(&dir, "big.jsonl", &[json!({"prompt": "x".repeat(6_000_001)})]),
            "item \"1\" (input line 1) is 6.0 MB as a request line: the Batch API takes at most 6.0 MB per line",
        ),
        (vec![], write_items(&dir, "empty.jsonl", &[]), "the input holds no items"),
    ];
    for (flags, input, message) in cases {
        let out = run(
            api.cmd(&log)
                .args(["-m", "qwen-plus", "batch", "submit"])
                .args(&flags)
                .arg(&input),
            None,
        );
        assert_eq!(out.status, Some(2), "{}: {}", input.display(), out.stderr);
        assert!(
            out.stderr.starts_with("qstream: ") && out.stderr.contains(message),
            "{}: {}",
            input.display(),
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    assert_eq!(api.server.connections(), 0, "nothing may be sent");
}

#[test]
fn a_wrong_key_is_exit_3_on_one_line_without_the_key() {
    let dir = temp_dir("batch-401");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let mut cmd = api.cmd(&dir.join("log.db"));
    cmd.env("DASHSCOPE_API_KEY", "sk-wrong-key-987654321");
    let out = run(cmd.args(["batch", "submit"]).arg(items(&dir)), None);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
    let errs: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("qstream: uploading"))
        .collect();
    assert_eq!(errs.len(), 1, "{}", out.stderr);
    assert!(
        errs[0].starts_with("qstream: Incorrect API key provided"),
        "{}",
        errs[0]
    );
    assert!(
        errs[0].ends_with("(invalid_api_key, HTTP 401)"),
        "{}",
        errs[0]
    );
    assert!(!out.stderr.contains("sk-wrong-key"));
    assert!(api.state().uploads.is_empty());

    let mut cmd = api.cmd(&dir.join("log.db"));
    cmd.env("DASHSCOPE_API_KEY", "sk-wrong-key-987654321");
    let out = run(cmd.args(["batch", "status", "batch_1"]), None);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
}

#[test]
fn dry_run_writes_the_jsonl_and_sends_nothing_without_a_key() {
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let mut cmd = qstream();
    cmd.arg("--base-url").arg(api.base());
    let out = run(
        cmd.args(["--thinking", "batch", "submit", "--test", "--dry-run", "-"]),
        Some(b"{\"id\":\"s1\",\"prompt\":\"hi\"}\n"),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let got = lines(&out);
    assert_eq!(
        got,
        vec![
            json!({"custom_id": "s1", "method": "POST", "url": "/v1/chat/ds-test",
            "body": {"model": "batch-test-model", "messages": [{"role": "user", "content": "hi"}],
                "enable_thinking": true}})
        ]
    );
    assert_eq!(api.server.connections(), 0);
}

#[test]
fn list_names_the_input_each_batch_came_from() {
    let dir = temp_dir("batch-list");
    let log = dir.join("log.db");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let input = items(&dir);
    let id = submit(&api, &log, &input);
    let out = run(api.cmd(&log).args(["batch", "list"]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    let canonical = std::fs::canonicalize(&input).expect("canonical");
    assert!(
        rows[1].starts_with(&format!("{id}  validating  0/0  0  ")),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].ends_with(&canonical.display().to_string()),
        "{}",
        rows[1]
    );

    let out = run(api.cmd(&log).args(["batch", "list", "--json"]), None);
    let got = lines(&out);
    assert_eq!(got[0]["id"], json!(id));
    assert_eq!(got[0]["input"], json!(canonical.display().to_string()));
}

#[test]
fn without_a_local_record_fetch_reads_the_order_from_the_uploaded_input() {
    let dir = temp_dir("batch-nolog");
    let log = dir.join("log.db");
    let api = Api::start(vec!["completed"], End::Completed);
    let mut cmd = api.cmd(&log);
    cmd.env("QSTREAM_NO_LOG", "1");
    let out = run(cmd.args(["batch", "submit"]).arg(items(&dir)), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let id = out.stdout.trim().to_owned();
    assert!(!log.exists(), "--no-log keeps no record");
    let out = run(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let out = run(api.cmd(&log).args(["batch", "fetch", &id]), None);
    assert_eq!(out.status, Some(8), "{}", out.stderr);
    assert_eq!(
        lines(&out)
            .iter()
            .map(|l| l["id"].as_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>(),
        ["q1", "q2", "q3", "q4"]
    );
    let downloads: Vec<String> = api
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/content"))
        .map(|r| r.path.clone())
        .collect();
    assert!(
        downloads
            .iter()
            .any(|p| p.ends_with("/files/file-batch-1/content")),
        "{downloads:?}"
    );
}

#[test]
fn csv_with_a_template_and_plain_lines_become_the_same_requests() {
    let dir = temp_dir("batch-formats");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let csv = dir.join("reviews.csv");
    std::fs::write(&csv, "sku,text\nA-1,\"great, really\"\nB-2,meh\n").expect("csv");
    let out = run(
        api.cmd(&dir.join("log.db"))
            .args(["-s", "be brief", "batch", "submit", "--dry-run"])
            .args(["--template", "Summarise: {text}", "--id-column", "sku"])
            .arg(&csv),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let got = lines(&out);
    assert_eq!(
        got.iter()
            .map(|l| (
                l["custom_id"].as_str().unwrap_or("?"),
                l["body"]["messages"][1]["content"].as_str().unwrap_or("?")
            ))
            .collect::<Vec<_>>(),
        [
            ("A-1", "Summarise: great, really"),
            ("B-2", "Summarise: meh")
        ]
    );
    assert_eq!(
        got[0]["body"]["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );

    let out = run(
        api.cmd(&dir.join("log.db")).args([
            "batch",
            "submit",
            "--lines",
            "--template",
            "Translate: {line}",
            "-",
        ]),
        Some(b"hello\n\nworld\n"),
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let st = api.state();
    let sent: Vec<Value> = String::from_utf8_lossy(&st.uploads[0].content)
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .collect();
    assert_eq!(st.uploads[0].filename, "stdin.jsonl");
    assert_eq!(
        sent.iter()
            .map(|l| (
                l["custom_id"].as_str().unwrap_or("?"),
                l["body"]["messages"][0]["content"].as_str().unwrap_or("?")
            ))
            .collect::<Vec<_>>(),
        [("1", "Translate: hello"), ("3", "Translate: world")]
    );
}

#[cfg(unix)]
#[test]
fn on_a_terminal_wait_shows_progress_and_no_control_sequence_from_the_service() {
    use common::pty::{run_in_pty, PtyOptions};
    let dir = temp_dir("batch-tty");
    let log = dir.join("log.db");
    let api = Api::start(
        vec!["validating", "in_progress", "in_progress", "failed"],
        End::Failed,
    );
    let out = run(
        api.cmd(&log)
            .args(["batch", "submit", "--name", "hostile"])
            .arg(items(&dir)),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let id = out.stdout.trim().to_owned();
    let pty = run_in_pty(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "0.01"]),
        PtyOptions::default(),
    );
    assert_eq!(pty.status, Some(4), "{}", pty.text());
    let text = pty.text();
    assert!(
        text.contains(&format!(
            "\r\x1b[2K{id}  in_progress  0 of 4 done, 0 failed"
        )),
        "{text:?}"
    );
    assert!(text.contains("The input ^[[2J file is bad."), "{text:?}");
    assert!(!text.contains("\x1b[2J"), "{text:?}");
}

#[cfg(unix)]
#[test]
fn ctrl_c_ends_a_wait_with_130() {
    use common::pty::{spawn_in_pty, PtyOptions};
    use std::time::Duration;
    let dir = temp_dir("batch-ctrlc");
    let log = dir.join("log.db");
    let api = Api::start(vec!["in_progress"; 50], End::Completed);
    let id = submit(&api, &log, &items(&dir));
    let mut child = spawn_in_pty(
        api.cmd(&log)
            .args(["batch", "wait", &id, "--interval", "30"]),
        PtyOptions::default(),
    );
    child.wait_for(b"in_progress", Duration::from_secs(20));
    child.send(b"\x03");
    let run = child.finish(Duration::from_secs(20));
    assert_eq!(run.status, Some(130), "{}", run.text());
    assert!(
        run.text().contains("qstream: interrupted"),
        "{}",
        run.text()
    );
}

#[test]
fn the_top_level_dry_run_and_json_mean_what_the_subcommands_flags_mean() {
    let dir = temp_dir("batch-toplevel");
    let log = dir.join("log.db");
    let api = Api::start(vec!["in_progress"; 5], End::Completed);
    let out = run(
        api.cmd(&log)
            .args(["--dry-run", "batch", "submit"])
            .arg(items(&dir)),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out).len(), 4);
    assert_eq!(api.server.connections(), 0, "a dry run sends nothing");
    let out = run(
        api.cmd(&log)
            .args(["--dry-run", "batch", "cancel", "batch_1"]),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_eq!(api.server.connections(), 0);

    let id = submit(&api, &log, &items(&dir));
    let out = run(api.cmd(&log).args(["--json", "batch", "status", &id]), None);
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(lines(&out)[0]["status"], "in_progress");
}

#[test]
fn an_unknown_batch_is_a_rejection_naming_no_chat_url() {
    let dir = temp_dir("batch-404");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let out = run(
        api.cmd(&dir.join("log.db"))
            .args(["batch", "status", "batch_nope"]),
        None,
    );
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "qstream: batch not found (NotFound, HTTP 404)\n"
    );
    let out = run(
        api.cmd(&dir.join("log.db"))
            .args(["batch", "fetch", "../files"]),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_eq!(
        api.server.connections(),
        1,
        "a bad id is refused before it is sent"
    );
}

#[test]
fn a_role_and_the_config_file_apply_to_every_item() {
    let dir = temp_dir("batch-role");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "model = \"qwen-flash\"\n[roles.short]\nsystem = \"One line.\"\nprompt = \"Briefly: {prompt}\"\n",
    )
    .expect("config");
    let mut cmd = qstream();
    cmd.env("QSTREAM_CONFIG", &config);
    let input = write_items(
        &dir,
        "role.jsonl",
        &[
            json!({"id": "a", "prompt": "one"}),
            json!({"id": "b", "prompt": "two", "system": "be brief"}),
        ],
    );
    let out = run(
        cmd.args(["-r", "short", "batch", "submit", "--dry-run"])
            .arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let got = lines(&out);
    assert_eq!(got[0]["body"]["model"], "qwen-flash");
    assert_eq!(
        got[0]["body"]["messages"],
        json!([{"role": "system", "content": "One line."},
            {"role": "user", "content": "Briefly: one"}])
    );
    // The item's own system message goes over the role's.
    assert_eq!(
        got[1]["body"]["messages"],
        json!([{"role": "system", "content": "be brief"},
            {"role": "user", "content": "Briefly: two"}])
    );
}

#[test]
fn request_options_go_before_batch_or_after_submit() {
    let dir = temp_dir("batch-options");
    let input = write_items(&dir, "o.jsonl", &[json!({"id": "a", "prompt": "hi"})]);
    let body = |args: &[&str]| -> Value {
        let out = run(qstream().args(args).arg(&input), None);
        assert_eq!(out.status, Some(0), "{args:?}: {}", out.stderr);
        lines(&out)[0]["body"].clone()
    };
    let expected = json!({"model": "qwen-max", "enable_thinking": true, "temperature": 0.2,
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]});
    assert_eq!(
        body(&[
            "batch",
            "submit",
            "--dry-run",
            "-m",
            "qwen-max",
            "--thinking",
            "-s",
            "sys",
            "-o",
            "temperature=0.2"
        ]),
        expected
    );
    assert_eq!(
        body(&[
            "-m",
            "qwen-max",
            "--thinking",
            "batch",
            "submit",
            "-s",
            "sys",
            "--temperature",
            "0.2",
            "--dry-run"
        ]),
        expected
    );
    // The region of the options after `submit` picks the host the batch goes to.
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let log = dir.join("log.db");
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .env("QSTREAM_LOG_DB", &log);
    let out = run(
        cmd.args(["batch", "submit", "--base-url"])
            .arg(api.base())
            .args(["--no-thinking", "-m", "qwen-flash"])
            .arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let sent = String::from_utf8_lossy(&api.state().uploads[0].content).into_owned();
    let sent: Value = serde_json::from_str(sent.trim()).expect("line");
    assert_eq!(sent["body"]["model"], "qwen-flash");
    assert_eq!(sent["body"]["enable_thinking"], false);
}

#[test]
fn wait_polls_through_a_few_server_failures() {
    let dir = temp_dir("batch-flaky");
    let log = dir.join("log.db");
    let api = Api::start(LIFECYCLE.to_vec(), End::Completed);
    let id = submit(&api, &log, &items(&dir));
    api.state().unavailable = 2;
    let out = run(
        api.cmd(&log)
            .args(["--retries", "0", "batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let notices: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(notices.len(), 2, "{}", out.stderr);
    assert!(
        notices[0].starts_with(
            "qstream: The service is busy, try again later. (ServiceUnavailable, HTTP 503)"
        ) && notices[0].ends_with("(1 of 5)"),
        "{}",
        notices[0]
    );
    assert_eq!(api.state().seen, LIFECYCLE.to_vec());

    // More failures in a row than that end the wait with the server's class.
    api.state().unavailable = 10;
    let out = run(
        api.cmd(&log)
            .args(["--retries", "0", "batch", "wait", &id, "--interval", "0.01"]),
        None,
    );
    assert_eq!(out.status, Some(6), "{}", out.stderr);
}
