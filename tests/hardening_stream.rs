//! Issue 10, part B: the stream and its decoders under hostile or surprising servers and
//! recordings (items 9-12, 15, 16, 20, 23). Every scenario runs the real binary against the
//! loopback server of `tests/common`, or on a recording with `--replay`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{fixture, qstream, run, run_with_timeout, temp_dir, Output, Reply, Server};

const KEY: &str = "sk-SECRET-canary-5678";

fn compat(server: &Server) -> Command {
    common::compat_with_key(server, KEY)
}

fn native(server: &Server) -> Command {
    common::native_with_key(server, KEY)
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status, out.stdout, out.stderr
    )
}

fn expect_exit(out: &Output, code: i32) {
    assert_eq!(out.status, Some(code), "{}", show(out));
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
}

/// The stderr line of the error (`qstream: …`, not a notice), without the prefix.
fn error_line(out: &Output) -> String {
    let last = out.stderr.lines().last().unwrap_or("");
    assert!(last.starts_with("qstream: "), "{}", show(out));
    last["qstream: ".len()..].to_owned()
}

fn compat_chunk(text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}},\"index\":0,\"finish_reason\":null}}],\"object\":\"chat.completion.chunk\",\"usage\":null,\"id\":\"chatcmpl-1\"}}\n\n",
        serde_json::to_string(text).unwrap()
    )
}

/// A whole compatible stream: the deltas, the finish chunk, the usage chunk, `[DONE]`.
fn compat_complete(texts: &[&str]) -> String {
    let mut s: String = texts.iter().map(|t| compat_chunk(t)).collect();
    s.push_str("data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"index\":0,\"finish_reason\":\"stop\"}],\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12},\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: [DONE]\n\n");
    s
}

fn native_chunk(id: usize, text: &str, finish: &str) -> String {
    format!(
        "id:{id}\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{{\"content\":{},\"role\":\"assistant\"}},\"finish_reason\":\"{finish}\"}}]}},\"usage\":{{\"total_tokens\":{},\"output_tokens\":{id},\"input_tokens\":26}},\"request_id\":\"req-native-1\"}}\n\n",
        serde_json::to_string(text).unwrap(),
        26 + id
    )
}

/// A whole native stream, incremental: one chunk per text, the last one finishing.
fn native_complete(texts: &[&str]) -> String {
    let mut s: String = texts
        .iter()
        .enumerate()
        .map(|(i, t)| native_chunk(i + 1, t, "null"))
        .collect();
    s.push_str(&native_chunk(texts.len() + 1, "", "stop"));
    s
}

/// The same answer, cumulative: every chunk repeats all the text so far.
fn native_cumulative(texts: &[&str]) -> String {
    let mut so_far = String::new();
    let mut s = String::new();
    for (i, t) in texts.iter().enumerate() {
        so_far.push_str(t);
        s.push_str(&native_chunk(i + 1, &so_far, "null"));
    }
    s.push_str(&native_chunk(texts.len() + 1, &so_far, "stop"));
    s
}

fn replay_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = temp_dir("hardening-stream").join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const PARTS: [&str; 3] = ["Hello", ", wor", "ld"];
const TEXT: &str = "Hello, world";

// ---------------------------------------------------------------------------
// Item 12: finish when the stream says it is finished
// ---------------------------------------------------------------------------

/// Long enough that a qstream waiting for the connection to close is killed by the test.
const HELD_OPEN: Duration = Duration::from_secs(40);
const WITHIN: Duration = Duration::from_secs(30);

#[test]
fn compatible_finishes_at_done_though_the_connection_stays_open() {
    let body = compat_complete(&PARTS);
    // One write per event: the usage chunk comes after the finish chunk, as the service
    // sends it, and must still be printed.
    let reply = Reply::sse(body.clone())
        .chunks(60)
        .stall_after(body.len(), HELD_OPEN);
    let server = Server::start(vec![reply]);
    let out = run_with_timeout(compat(&server).arg("hi"), None, WITHIN);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
    assert!(
        out.stderr
            .contains("usage: input 5, output 7, total 12 tokens"),
        "{}",
        show(&out)
    );
}

#[test]
fn native_finishes_at_its_finish_reason_though_the_connection_stays_open() {
    let body = native_complete(&PARTS);
    let reply = Reply::sse(body.clone()).stall_after(body.len(), HELD_OPEN);
    let server = Server::start(vec![reply]);
    let out = run_with_timeout(native(&server).arg("hi"), None, WITHIN);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
    assert!(
        out.stderr
            .contains("usage: input 26, output 4, total 30 tokens"),
        "usage from the finishing chunk: {}",
        show(&out)
    );
}

#[test]
fn json_and_raw_modes_also_finish_at_the_end_of_the_stream() {
    for mode in ["--json", "--raw"] {
        let body = compat_complete(&PARTS);
        let reply = Reply::sse(body.clone()).stall_after(body.len(), HELD_OPEN);
        let server = Server::start(vec![reply]);
        let out = run_with_timeout(compat(&server).args([mode, "hi"]), None, WITHIN);
        expect_exit(&out, 0);
        assert!(out.stdout.contains("stop"), "{mode}: {}", show(&out));

        let body = native_complete(&PARTS);
        let reply = Reply::sse(body.clone()).stall_after(body.len(), HELD_OPEN);
        let server = Server::start(vec![reply]);
        let out = run_with_timeout(native(&server).args([mode, "hi"]), None, WITHIN);
        expect_exit(&out, 0);
        assert!(out.stdout.contains("stop"), "{mode}: {}", show(&out));
    }
}

#[test]
fn events_after_the_native_finish_are_not_read() {
    // Whatever follows the finishing event in the same read is not the answer.
    let mut body = native_complete(&PARTS);
    body.push_str("id:9\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hi"), None);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
}

// ---------------------------------------------------------------------------
// Item 15: statuses that are not HTTP
// ---------------------------------------------------------------------------

#[test]
fn odd_statuses_are_protocol_errors_and_not_retried() {
    for status in [101u16, 102, 199, 600, 999] {
        let server = Server::start(vec![
            Reply::status(status, "text/plain", "odd").content_length(),
            Reply::sse(compat_complete(&PARTS)),
        ]);
        let out = run(compat(&server).args(["--retries", "2", "hi"]), None);
        expect_exit(&out, 7);
        assert_eq!(server.connections(), 1, "status {status}: not retried");
        assert!(
            error_line(&out).contains("protocol error"),
            "status {status}: {}",
            show(&out)
        );
    }
}

// ---------------------------------------------------------------------------
// Item 10: a 200 that is not a stream
// ---------------------------------------------------------------------------

const COMPLETION: &str = r#"{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"qwen-plus","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer.","reasoning_content":"Thought first."},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;

#[test]
fn a_whole_chat_completion_is_printed_as_if_streamed() {
    for reply in [
        Reply::json(200, COMPLETION),
        // A proxy that keeps the stream's content type but sends one JSON body.
        Reply::sse(COMPLETION),
    ] {
        let server = Server::start(vec![reply]);
        let out = run(compat(&server).arg("hi"), None);
        expect_exit(&out, 0);
        assert_eq!(out.stdout, "Whole answer.");
        assert!(out.stderr.contains("Thought first."), "{}", show(&out));
        assert!(
            out.stderr
                .contains("usage: input 3, output 4, total 7 tokens"),
            "{}",
            show(&out)
        );
        let notices: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("qstream: "))
            .collect();
        assert_eq!(notices.len(), 1, "one notice line: {}", show(&out));
        assert!(notices[0].contains("not a stream"), "{}", show(&out));
    }
}

#[test]
fn a_whole_chat_completion_with_tool_calls_in_json_mode() {
    let body = r#"{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#;
    let server = Server::start(vec![Reply::json(200, body)]);
    let out = run(compat(&server).args(["--json", "hi"]), None);
    expect_exit(&out, 0);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call = lines
        .iter()
        .find(|v| v["type"] == "tool_call")
        .expect("a tool_call event");
    assert_eq!(call["name"], "get_weather");
    assert_eq!(call["arguments"], "{\"city\":\"Oslo\"}");
    assert!(lines.iter().any(|v| v["type"] == "finish"));
    assert!(lines
        .iter()
        .any(|v| v["type"] == "usage" && v["total_tokens"] == 7));
}

#[test]
fn a_whole_native_answer_is_printed_as_if_streamed() {
    let body = r#"{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"Native whole."}}]},"usage":{"input_tokens":2,"output_tokens":3,"total_tokens":5},"request_id":"req-whole"}"#;
    let server = Server::start(vec![Reply::json(200, body)]);
    let out = run(native(&server).arg("hi"), None);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, "Native whole.");
    assert!(out
        .stderr
        .contains("usage: input 2, output 3, total 5 tokens"));
}

#[test]
fn a_200_carrying_a_json_error_has_that_errors_exit_class() {
    let body = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"},"request_id":"req-q"}"#;
    for reply in [Reply::json(200, body), Reply::sse(body)] {
        let server = Server::start(vec![reply]);
        let out = run(compat(&server).arg("hi"), None);
        expect_exit(&out, 5);
        let line = error_line(&out);
        assert!(line.contains("You exceeded your current quota"), "{line}");
        assert!(!line.contains("ended early"), "{line}");
    }
    let body = r#"{"code":"Throttling.AllocationQuota","message":"Free quota used up","request_id":"req-n"}"#;
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).arg("hi"), None);
    expect_exit(&out, 5);
    assert!(error_line(&out).contains("Free quota used up"));
}

// ---------------------------------------------------------------------------
// Item 11: the decoder follows the request actually sent
// ---------------------------------------------------------------------------

#[test]
fn dash_o_incremental_output_false_is_decoded_as_cumulative() {
    let server = Server::start(vec![Reply::sse(native_cumulative(&PARTS))]);
    let out = run(
        native(&server).args(["-o", "incremental_output=false", "hi"]),
        None,
    );
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
    let sent = server.requests()[0].json();
    assert_eq!(sent["parameters"]["incremental_output"], false);
}

#[test]
fn dash_o_incremental_output_true_wins_over_no_incremental() {
    let server = Server::start(vec![Reply::sse(native_complete(&PARTS))]);
    let out = run(
        native(&server).args(["--no-incremental", "-o", "incremental_output=true", "hi"]),
        None,
    );
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
}

#[test]
fn a_cumulative_recording_replayed_without_no_incremental_is_detected() {
    let path = replay_file("cumulative.sse", native_cumulative(&PARTS).as_bytes());
    let out = run(qstream().arg("--replay").arg(&path), None);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, TEXT);
    assert!(out.stderr.contains("cumulative"), "{}", show(&out));

    // The checked-in recording, with reasoning: the same answer as with --no-incremental.
    let path = replay_file("cumulative2.sse", &fixture("dashscope_cumulative.sse"));
    let detected = run(qstream().arg("--replay").arg(&path), None);
    let told = run(
        qstream().arg("--replay").arg(&path).arg("--no-incremental"),
        None,
    );
    expect_exit(&detected, 0);
    expect_exit(&told, 0);
    assert_eq!(detected.stdout, told.stdout);
    assert!(!told.stdout.is_empty());
}

#[test]
fn an_incremental_recording_is_not_taken_for_cumulative() {
    // The second delta starts with the first: still incremental, since it repeats no
    // more than one delta, and the stream goes on not repeating.
    let parts = ["ab", "abc", "d"];
    let path = replay_file("incremental.sse", native_complete(&parts).as_bytes());
    let out = run(qstream().arg("--replay").arg(&path), None);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, "ababcd");
}

#[test]
fn a_cumulative_chunk_that_does_not_extend_the_text_is_reported_once() {
    let mut body = native_chunk(1, "Hello", "null");
    body.push_str(&native_chunk(2, "Hello, wor", "null"));
    body.push_str(&native_chunk(3, "Jello, world", "null"));
    body.push_str(&native_chunk(4, "Yellow", "null"));
    body.push_str(&native_chunk(5, "Yellow, world", "stop"));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(native(&server).args(["--no-incremental", "hi"]), None);
    expect_exit(&out, 0);
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.contains("does not extend"))
        .count();
    assert_eq!(warnings, 1, "{}", show(&out));
}

// ---------------------------------------------------------------------------
// Item 20: say what arrived
// ---------------------------------------------------------------------------

const PORTAL: &str = "<!DOCTYPE html><html><head><title>Hotel WiFi login</title></head><body><h1>Welcome</h1></body></html>";

#[test]
fn an_html_page_with_200_is_named_as_such() {
    for mode in [None, Some("--json"), Some("--raw")] {
        let server = Server::start(vec![Reply::status(200, "text/html; charset=utf-8", PORTAL)]);
        let mut cmd = compat(&server);
        cmd.args(mode).arg("hi");
        let out = run(&mut cmd, None);
        expect_exit(&out, 7);
        let line = error_line(&out);
        assert!(line.contains("text/html"), "{line}");
        assert!(line.contains("Hotel WiFi login"), "{line}");
    }
}

#[test]
fn a_native_stream_met_with_the_compatible_protocol_is_named() {
    let server = Server::start(vec![Reply::sse(native_complete(&PARTS))]);
    let out = run(compat(&server).arg("hi"), None);
    assert_ne!(out.status, Some(0), "{}", show(&out));
    let line = error_line(&out);
    assert!(
        line.contains("DashScope-native") && line.contains("--protocol dashscope"),
        "{line}"
    );
}

#[test]
fn a_compatible_stream_met_with_the_native_protocol_is_named() {
    let server = Server::start(vec![Reply::sse(compat_complete(&PARTS))]);
    let out = run(native(&server).arg("hi"), None);
    assert_ne!(out.status, Some(0), "{}", show(&out));
    let line = error_line(&out);
    assert!(
        line.contains("OpenAI-compatible") && line.contains("--protocol compatible"),
        "{line}"
    );
}

#[test]
fn a_replay_without_events_is_a_usage_error_with_an_excerpt() {
    let path = replay_file("notes.txt", b"just some notes\nnothing like a stream\n");
    let out = run(qstream().arg("--replay").arg(&path), None);
    expect_exit(&out, 2);
    let line = error_line(&out);
    assert!(line.contains("no SSE events"), "{line}");
    assert!(line.contains("just some notes"), "{line}");
}

#[test]
fn a_404_names_the_url_without_the_password() {
    let server = Server::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"Not found","type":"not_found"}}"#,
    )]);
    let mut cmd = qstream();
    let base = format!("http://user:hunter2pass@{}/compatible-mode/v1", server.addr);
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .args(["--base-url", &base, "hi"]);
    let out = run(&mut cmd, None);
    expect_exit(&out, 4);
    let line = error_line(&out);
    assert!(
        line.contains(&format!(
            "{}/compatible-mode/v1/chat/completions",
            server.addr
        )),
        "{line}"
    );
    assert!(!out.stderr.contains("hunter2pass"), "{}", show(&out));
}

// ---------------------------------------------------------------------------
// Item 23: detection by parsing
// ---------------------------------------------------------------------------

const COMPAT_QUOTA: &str = r#"{"error":{"message":"Allocated quota exceeded","type":"insufficient_quota","code":"Throttling.AllocationQuota"},"request_id":"req-r"}"#;

#[test]
fn a_replayed_compatible_error_with_a_request_id_keeps_its_exit_code() {
    let mut body = compat_chunk("part");
    body.push_str(&format!("data: {COMPAT_QUOTA}\n\n"));
    let path = replay_file("compat-error.sse", body.as_bytes());
    let out = run(qstream().arg("--replay").arg(&path), None);
    expect_exit(&out, 5);
    assert_eq!(out.stdout, "part");

    // An error as the very first event decides the protocol too.
    let path = replay_file(
        "compat-error-first.sse",
        format!("data: {COMPAT_QUOTA}\n\n").as_bytes(),
    );
    let out = run(qstream().arg("--replay").arg(&path), None);
    expect_exit(&out, 5);
}

#[test]
fn raw_mode_finds_a_compatible_error_wherever_its_key_is() {
    let error = r#"{"id":"chatcmpl-1","error":{"message":"Allocated quota exceeded","code":"Throttling.AllocationQuota"}}"#;
    let mut body = compat_chunk("part");
    body.push_str(&format!("data: {error}\n\n"));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).args(["--raw", "hi"]), None);
    expect_exit(&out, 5);
    assert_eq!(out.stdout.lines().count(), 2, "{}", show(&out));

    // Text that merely mentions an error is no error.
    let mut body = compat_chunk("{\"error\" is a word");
    body.push_str(&compat_complete(&[]));
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(compat(&server).args(["--raw", "hi"]), None);
    expect_exit(&out, 0);
}

// ---------------------------------------------------------------------------
// Item 9: text before a broken frame is kept
// ---------------------------------------------------------------------------

/// The loss happened inside ureq-proto 0.7.1 (`BodyReader::read_chunked` decoded every chunk
/// the connection had buffered into the caller's buffer, then dropped that output with `?` when
/// a later chunk header was malformed), below anything a `Read` wrapper can see; the vendored,
/// patched copy in vendor/ureq-proto hands the decoded bytes over first.
#[test]
fn text_before_a_malformed_chunk_header_in_the_same_read_is_kept() {
    // Hand-made chunked framing: a good chunk with two events, then a chunk header that
    // is not a number, all in one write.
    let events = format!("{}{}", compat_chunk("Hello"), compat_chunk(", world"));
    let mut wire = format!("{:x}\r\n", events.len()).into_bytes();
    wire.extend_from_slice(events.as_bytes());
    wire.extend_from_slice(b"\r\nZZZZ\r\nmore\r\n0\r\n\r\n");
    let reply = Reply::sse(wire).prechunked();
    let server = Server::start(vec![reply]);
    let out = run(compat(&server).arg("hi"), None);
    expect_exit(&out, 7);
    assert_eq!(out.stdout, TEXT);
}
