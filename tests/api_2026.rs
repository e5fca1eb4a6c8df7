//! Issue 11, "Today's service": the 2026 API as the vendor documents it — the request body of
//! every new flag on both protocols, the native endpoint table, regions and workspace hosts,
//! the new usage fields and the web sources of a native search stream (whole, 7-byte and
//! 1-byte writes), and the errors that teach.
//!
//! `tests/fixtures/dashscope_search.sse` is constructed, not recorded (it says so in its first
//! lines): the shape of Model Studio "Web search" examples (`output.search_info.search_results[]`
//! with index/title/url/site_name/icon, `usage.plugins.search.count`) with made-up values. The
//! expected text, sources and usage below were written out by hand from that file.

mod common;

use std::process::Command;

use common::{fixture, qstream, run, temp_dir, Output, Reply, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-test-2026-api-7d41c9";
const CHUNKINGS: [usize; 3] = [0, 7, 1];

fn compat(server: &Server) -> Command {
    common::compat_with_key(server, KEY)
}

fn native(server: &Server) -> Command {
    common::native_with_key(server, KEY)
}

fn ok(out: &Output) {
    assert!(
        out.success(),
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
}

/// The body qstream sent for `args` over `proto` ("compatible" or "dashscope").
fn body(proto: &str, args: &[&str]) -> Value {
    let (server, mut cmd) = match proto {
        "compatible" => {
            let s = Server::start(vec![Reply::sse(fixture("compatible_basic.sse"))]);
            let c = compat(&s);
            (s, c)
        }
        _ => {
            let s = Server::start(vec![Reply::sse(fixture("dashscope_incremental.sse"))]);
            let c = native(&s);
            (s, c)
        }
    };
    let out = run(cmd.args(args), None);
    ok(&out);
    server.requests()[0].json()
}

/// Where the request's parameters live: top level (compatible) or `parameters` (dashscope).
fn params(proto: &str, body: &Value) -> Value {
    if proto == "compatible" {
        body.clone()
    } else {
        body["parameters"].clone()
    }
}

fn exit_line(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status,
        Some(code),
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY));
    out.stderr
        .lines()
        .rfind(|l| l.starts_with("qstream: ") && !l.contains("retrying in"))
        .unwrap_or_else(|| panic!("no error line in {:?}", out.stderr))
        .trim_start_matches("qstream: ")
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// 1. Output length
// ---------------------------------------------------------------------------------------

#[test]
fn max_tokens_is_max_completion_tokens_on_compatible_and_max_tokens_on_native() {
    let b = body("compatible", &["--max-tokens", "300", "hi"]);
    assert_eq!(b["max_completion_tokens"], 300);
    assert!(b.get("max_tokens").is_none(), "{b}");
    let b = body("dashscope", &["--max-tokens", "300", "hi"]);
    assert_eq!(b["parameters"]["max_tokens"], 300);
    assert!(b["parameters"].get("max_completion_tokens").is_none());
    // -o sends exactly what the user wrote, on both.
    for proto in ["compatible", "dashscope"] {
        let b = body(proto, &["-o", "max_tokens=7", "hi"]);
        let p = params(proto, &b);
        assert_eq!(p["max_tokens"], 7, "{proto}: {b}");
        assert!(p.get("max_completion_tokens").is_none(), "{proto}: {b}");
    }
}

// ---------------------------------------------------------------------------------------
// 2. Thinking budget
// ---------------------------------------------------------------------------------------

#[test]
fn thinking_budget_is_sent_and_implies_thinking_on_both_protocols() {
    for proto in ["compatible", "dashscope"] {
        let b = body(proto, &["--thinking-budget", "2048", "hi"]);
        let p = params(proto, &b);
        assert_eq!(p["thinking_budget"], 2048, "{proto}: {b}");
        assert_eq!(p["enable_thinking"], true, "{proto}: {b}");
    }
}

#[test]
fn thinking_budget_must_be_a_positive_integer() {
    for bad in ["0", "-5", "1.5", "many"] {
        let out = run(
            qstream().args(["--dry-run", "--thinking-budget", bad, "hi"]),
            None,
        );
        assert_eq!(out.status, Some(2), "{bad}: {}", out.stderr);
    }
    let out = run(
        qstream().args(["--dry-run", "--no-thinking", "--thinking-budget", "9", "hi"]),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------
// 3. Native endpoint routing
// ---------------------------------------------------------------------------------------

#[test]
fn the_native_endpoint_follows_the_model_table() {
    let text = "/api/v1/services/aigc/text-generation/generation";
    let mm = "/api/v1/services/aigc/multimodal-generation/generation";
    for (model, path) in [
        ("qwen-plus", text),
        ("qwen-max", text),
        ("qwen-flash", text),
        ("qwen3-max", text),
        ("qwq-plus", text),
        ("qwen3.5-plus", mm),
        ("qwen3.6-plus", mm),
        ("qwen3.7-plus", mm),
        ("qwen-vl-max", mm),
        ("qwen3-vl-plus", mm),
        ("qvq-max", mm),
        ("qwen3-omni-flash", mm),
    ] {
        let server = Server::start(vec![Reply::sse(fixture("dashscope_incremental.sse"))]);
        let out = run(
            native(&server).args(["-m", model, "-s", "be brief", "hello"]),
            None,
        );
        ok(&out);
        let req = &server.requests()[0];
        assert_eq!(req.path, path, "{model}");
        let messages = &req.json()["input"]["messages"];
        if path == mm {
            assert_eq!(
                messages,
                &json!([
                    {"role": "system", "content": [{"text": "be brief"}]},
                    {"role": "user", "content": [{"text": "hello"}]}
                ]),
                "{model}"
            );
        } else {
            assert_eq!(messages[1]["content"], "hello", "{model}");
        }
    }
}

#[test]
fn native_endpoint_overrides_the_table_and_dry_run_shows_it() {
    let server = Server::start(vec![Reply::sse(fixture("dashscope_incremental.sse"))]);
    let out = run(
        native(&server).args(["-m", "qwen-plus", "--native-endpoint", "multimodal", "hi"]),
        None,
    );
    ok(&out);
    assert_eq!(
        server.requests()[0].path,
        "/api/v1/services/aigc/multimodal-generation/generation"
    );

    let out = run(
        qstream().args([
            "--dry-run",
            "--protocol",
            "dashscope",
            "-m",
            "qwen3.7-plus",
            "hi",
        ]),
        None,
    );
    ok(&out);
    assert!(out.stdout.contains(
        "'https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/multimodal-generation/generation'"
    ));
    assert!(
        out.stdout.contains(r#""content":[{"text":"hi"}]"#),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stderr,
        "qstream: native endpoint multimodal-generation (qwen3.7-plus is Qwen3.5 and later)\n"
    );
    let out = run(
        qstream().args([
            "--dry-run",
            "--protocol",
            "dashscope",
            "-m",
            "qwen3.7-plus",
            "--native-endpoint",
            "text",
            "hi",
        ]),
        None,
    );
    assert!(out
        .stdout
        .contains("/services/aigc/text-generation/generation'"));
    assert_eq!(
        out.stderr,
        "qstream: native endpoint text-generation (--native-endpoint)\n"
    );
}

#[test]
fn invalid_url_suggests_the_other_native_endpoint() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"InvalidURL","message":"Invalid URL provided in your request.","request_id":"req-url"}"#,
    )]);
    let out = run(native(&server).args(["-m", "qwen3.9-nova", "hi"]), None);
    assert_eq!(
        exit_line(&out, 4),
        "Invalid URL provided in your request: qwen3.9-nova may be served at the other native endpoint: try --native-endpoint text (InvalidURL, HTTP 400, request_id req-url)"
    );
}

// ---------------------------------------------------------------------------------------
// 4. Regions
// ---------------------------------------------------------------------------------------

fn dry_url(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = qstream();
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(cmd.arg("--dry-run").args(args).arg("hi"), None)
}

#[test]
fn regions_aliases_env_and_workspace_hosts() {
    for (args, env, url) in [
        (vec!["--region", "sg"], vec![], "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "CN"], vec![], "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "us"], vec![], "https://dashscope-us.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "HK", "--protocol", "dashscope"], vec![], "https://cn-hongkong.dashscope.aliyuncs.com/api/v1/services/aigc/text-generation/generation"),
        (vec![], vec![("QSTREAM_REGION", "Us")], "https://dashscope-us.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "cn"], vec![("QSTREAM_REGION", "us")], "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--workspace", "ws-42"], vec![], "https://ws-42.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "eu", "--workspace", "ws-42"], vec![], "https://ws-42.eu-central-1.maas.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "jp", "--workspace", "ws-42"], vec![], "https://ws-42.ap-northeast-1.maas.aliyuncs.com/compatible-mode/v1/chat/completions"),
        (vec!["--region", "eu", "--workspace", "ws-42", "--base-url", "https://gw.example/v1"], vec![], "https://gw.example/v1/chat/completions"),
    ] {
        let out = dry_url(&args, &env);
        ok(&out);
        assert!(
            out.stdout.starts_with(&format!("curl -sN -X POST '{url}'")),
            "{args:?} {env:?}: {}",
            out.stdout
        );
        // The workspace host names the workspace; only another host takes the header.
        assert_eq!(
            out.stdout.contains("X-DashScope-WorkSpace: ws-42"),
            args.contains(&"--base-url"),
            "{args:?}: {}",
            out.stdout
        );
    }
    let out = dry_url(&["--region", "tokyo"], &[]);
    assert_eq!(
        exit_line(&out, 2),
        "Japan (Tokyo) is served only through a workspace host: give --workspace ID (or --base-url)"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Errors that teach
// ---------------------------------------------------------------------------------------

#[test]
fn a_401_says_keys_are_per_region() {
    let server = Server::start(vec![Reply::json(
        401,
        r#"{"error":{"message":"Incorrect API key provided. ","type":"invalid_request_error","code":"invalid_api_key"},"request_id":"req-401"}"#,
    )]);
    let base = format!("{}/compatible-mode/v1", server.url());
    let out = run(compat(&server).arg("hi"), None);
    assert_eq!(
        exit_line(&out, 3),
        format!("Incorrect API key provided: the key was sent to base URL {base}; keys work only in the region they were made in, so a key from another region fails the same way (try --region) (invalid_api_key, HTTP 401, request_id req-401)")
    );
}

#[test]
fn rate_limits_are_told_apart_and_quota_is_not_retried() {
    for (status, code, message, exit, hint, tries) in [
        (429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", 5, "too many requests per minute (RPM) for this model", 2),
        (429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", 5, "too many tokens per minute (TPM) for this model", 2),
        (429, "Throttling", "Request rate increased too quickly. To ensure system stability, please adjust your client logic.", 5, "requests ramped up too quickly (burst protection); raise the rate gradually", 2),
        (429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", 5, "the quota or balance is used up (not a rate limit: not retried)", 1),
        (403, "AllocationQuota.FreeTierOnly", "The free tier of the model has been exhausted.", 5, "the quota or balance is used up (not a rate limit: not retried)", 1),
        (400, "Arrearage", "Access denied, please make sure your account is in good standing.", 5, "the quota or balance is used up (not a rate limit: not retried)", 1),
    ] {
        let reply = || {
            Reply::json(
                status,
                format!(r#"{{"code":"{code}","message":"{message}","request_id":"r-{code}"}}"#),
            )
            .header("retry-after", "0")
        };
        let server = Server::start(vec![reply(), reply()]);
        let out = run(native(&server).args(["--retries", "1", "hi"]), None);
        let m = message.trim_end_matches('.');
        assert_eq!(
            exit_line(&out, exit),
            format!("{m}: {hint} ({code}, HTTP {status}, request_id r-{code})")
        );
        assert_eq!(server.requests().len(), tries, "{code}");
    }
}

#[test]
fn data_inspection_over_http_is_a_rejection() {
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"DataInspectionFailed","message":"Input data may contain inappropriate content.","request_id":"r-di"}"#,
    )]);
    let out = run(native(&server).arg("hi"), None);
    assert_eq!(
        exit_line(&out, 4),
        "Input data may contain inappropriate content: content inspection blocked the input or the answer (DataInspectionFailed, HTTP 400, request_id r-di)"
    );
}

#[test]
fn data_inspection_in_the_stream_keeps_the_text() {
    let body = concat!(
        "id:1\nevent:result\n:HTTP_STATUS/200\n",
        r#"data:{"output":{"choices":[{"message":{"content":"The first part","role":"assistant"},"finish_reason":"null"}]},"usage":{"input_tokens":5,"output_tokens":3,"total_tokens":8},"request_id":"r-di2"}"#,
        "\n\nid:2\nevent:error\n:HTTP_STATUS/400\n",
        r#"data:{"code":"DataInspectionFailed","message":"Output data may contain inappropriate content.","request_id":"r-di2"}"#,
        "\n\n"
    );
    for n in CHUNKINGS {
        let server = Server::start(vec![Reply::sse(body).chunks(n)]);
        let out = run(native(&server).arg("hi"), None);
        assert_eq!(
            exit_line(&out, 4),
            "Output data may contain inappropriate content: content inspection blocked the input or the answer (DataInspectionFailed, HTTP 400, request_id r-di2)"
        );
        assert_eq!(out.stdout, "The first part", "chunks of {n}");
    }
}

#[test]
fn model_not_found_names_the_model_and_where() {
    let server = Server::start(vec![Reply::json(
        404,
        r#"{"error":{"message":"The model `qwen-nope` does not exist or you do not have access to it.","type":"invalid_request_error","code":"model_not_found"},"request_id":"r-404"}"#,
    )]);
    let base = format!("{}/compatible-mode/v1", server.url());
    let out = run(compat(&server).args(["-m", "qwen-nope", "hi"]), None);
    assert_eq!(
        exit_line(&out, 4),
        format!("The model `qwen-nope` does not exist or you do not have access to it: model qwen-nope is not offered at base URL {base} (models differ by region) (model_not_found, HTTP 404, request_id r-404)")
    );
}

// ---------------------------------------------------------------------------------------
// 6 and 7. Usage in full; web search and its sources
// ---------------------------------------------------------------------------------------

#[test]
fn search_flags_map_to_search_options_on_both_protocols() {
    for proto in ["compatible", "dashscope"] {
        let p = params(proto, &body(proto, &["--search", "hi"]));
        assert_eq!(p["enable_search"], true);
        assert!(p.get("search_options").is_none(), "{p}");
        let p = params(
            proto,
            &body(
                proto,
                &["--search-strategy", "agent_max", "--force-search", "hi"],
            ),
        );
        assert_eq!(p["enable_search"], true, "{proto}");
        assert_eq!(
            p["search_options"],
            json!({"search_strategy": "agent_max", "forced_search": true}),
            "{proto}"
        );
    }
    // The old spelling still works.
    assert_eq!(
        body("compatible", &["--enable-search", "hi"])["enable_search"],
        true
    );
}

#[test]
fn sources_pick_the_native_protocol_and_refuse_the_compatible_one() {
    let server = Server::start(vec![Reply::sse(fixture("dashscope_search.sse"))]);
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY).env(
        "DASHSCOPE_HTTP_BASE_URL",
        format!("{}/api/v1", server.url()),
    );
    let out = run(cmd.args(["--sources", "-m", "qwen3-max", "weather?"]), None);
    ok(&out);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/api/v1/services/aigc/text-generation/generation");
    let p = &req.json()["parameters"];
    assert_eq!(p["enable_search"], true);
    assert_eq!(
        p["search_options"],
        json!({"enable_source": true, "enable_citation": true, "citation_format": "[<number>]"})
    );

    let out = run(
        qstream().args(["--dry-run", "--protocol", "compatible", "--sources", "hi"]),
        None,
    );
    assert_eq!(
        exit_line(&out, 2),
        "--sources needs --protocol dashscope: the compatible protocol returns no web sources"
    );
}

#[test]
fn a_native_search_stream_gives_sources_once_and_usage_in_full() {
    for n in CHUNKINGS {
        let server = Server::start(vec![Reply::sse(fixture("dashscope_search.sse")).chunks(n)]);
        let out = run(native(&server).args(["--sources", "--json", "hi"]), None);
        ok(&out);
        let events: Vec<Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(
            events,
            vec![
                json!({"type": "sources", "results": [
                    {"index": 1, "title": "Hangzhou 7-day forecast", "url": "https://weather.example.cn/hangzhou", "site_name": "Example Weather"},
                    {"index": 2, "title": "Zhejiang: rain ahead", "url": "https://news.example.com/zj-rain", "site_name": "Example News"}
                ]}),
                json!({"type": "reasoning", "text": "Checking the forecast."}),
                json!({"type": "content", "text": "Hangzhou tomorrow: light rain [1],"}),
                json!({"type": "content", "text": " 18\u{2013}24 \u{b0}C [2]."}),
                json!({"type": "finish", "reason": "stop"}),
                json!({"type": "usage", "input_tokens": 26, "output_tokens": 87, "total_tokens": 113,
                       "cached_tokens": 12, "reasoning_tokens": 40, "search_count": 1}),
            ],
            "chunks of {n}"
        );
    }
}

#[test]
fn text_mode_lists_the_sources_after_the_answer_and_the_full_usage_line() {
    for n in CHUNKINGS {
        let server = Server::start(vec![Reply::sse(fixture("dashscope_search.sse")).chunks(n)]);
        let out = run(native(&server).args(["--sources", "hi"]), None);
        ok(&out);
        assert_eq!(
            out.stdout,
            "Hangzhou tomorrow: light rain [1], 18\u{2013}24 \u{b0}C [2].\n\n\
             [1] Hangzhou 7-day forecast \u{2014} https://weather.example.cn/hangzhou\n\
             [2] Zhejiang: rain ahead \u{2014} https://news.example.com/zj-rain\n",
            "chunks of {n}"
        );
        assert_eq!(
            out.stderr,
            "Checking the forecast.\n\
             usage: input 26 (12 cached), output 87 (40 reasoning), total 113 tokens, 1 web search\n"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 8. Structured answers
// ---------------------------------------------------------------------------------------

#[test]
fn json_object_and_schema_on_both_protocols() {
    for proto in ["compatible", "dashscope"] {
        let p = params(proto, &body(proto, &["--json-object", "give JSON"]));
        assert_eq!(
            p["response_format"],
            json!({"type": "json_object"}),
            "{proto}"
        );
    }
    let dir = temp_dir("schema");
    let bare = dir.join("person.json");
    std::fs::write(
        &bare,
        r#"{"type":"object","properties":{"name":{"type":"string"}}}"#,
    )
    .expect("write");
    let named = dir.join("named.json");
    std::fs::write(
        &named,
        r#"{"name":"who","strict":true,"schema":{"type":"object"}}"#,
    )
    .expect("write");
    for proto in ["compatible", "dashscope"] {
        let p = params(
            proto,
            &body(proto, &["--schema", bare.to_str().expect("utf-8"), "who?"]),
        );
        assert_eq!(
            p["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "person", "schema":
                {"type": "object", "properties": {"name": {"type": "string"}}}}}),
            "{proto}"
        );
        let p = params(
            proto,
            &body(proto, &["--schema", named.to_str().expect("utf-8"), "who?"]),
        );
        assert_eq!(
            p["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "who", "strict": true, "schema": {"type": "object"}}}),
            "{proto}"
        );
    }
}

#[test]
fn json_object_warns_when_the_prompt_lacks_the_word_and_unsupported_is_a_rejection() {
    let out = run(
        qstream().args(["--dry-run", "--json-object", "list three colours"]),
        None,
    );
    ok(&out);
    assert_eq!(
        out.stderr,
        "qstream: warning: --json-object: the service wants the word \"JSON\" in the prompt and may refuse without it\n"
    );
    let out = run(
        qstream().args(["--dry-run", "--json-object", "three colours as Json"]),
        None,
    );
    assert_eq!(out.stderr, "");

    let server = Server::start(vec![Reply::json(
        400,
        r#"{"error":{"message":"<400> InternalError.Algo.InvalidParameter: The response_format parameter is not supported by this model","type":"invalid_request_error","code":"invalid_parameter_error"},"request_id":"r-rf"}"#,
    )]);
    let out = run(compat(&server).args(["--json-object", "JSON please"]), None);
    assert_eq!(
        exit_line(&out, 4),
        "<400> InternalError.Algo.InvalidParameter: The response_format parameter is not supported by this model (invalid_parameter_error, HTTP 400, request_id r-rf)"
    );
}

#[test]
fn the_fast_reader_agrees_with_serde_on_the_search_stream() {
    for name in ["dashscope_search.sse", "dashscope_search_escapes.sse"] {
        let text = String::from_utf8(fixture(name)).expect("utf-8");
        let mut n = 0;
        for data in text.lines().filter_map(|l| l.strip_prefix("data:")) {
            let (agree, read) =
                qstream::protocol::fast_reader_agrees(qstream::cli::Protocol::Dashscope, data);
            assert!(agree && read, "{name}: {data}");
            n += 1;
        }
        assert_eq!(n, 4, "{name}");
    }
}

#[cfg(unix)]
#[test]
fn on_a_real_terminal_the_sources_are_sanitized_and_in_a_pipe_they_are_exact() {
    use common::pty::{run_in_pty, PtyOptions};
    let replay = format!(
        "{}/tests/fixtures/dashscope_search_escapes.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = ["--replay", replay.as_str(), "--protocol", "dashscope"];
    let run = run_in_pty(qstream().args(args), PtyOptions::default());
    assert_eq!(run.status, Some(0), "{}", run.text());
    let text = run.text();
    assert!(
        text.contains(
            "[2] Zhejiang^[]0;pwned^G: rain ^[[2Jahead \u{2014} https://news.example.com/zj-rain\n"
        ),
        "{text:?}"
    );
    assert!(
        !text.contains("\u{1b}]0;") && !text.contains("\u{1b}[2J"),
        "{text:?}"
    );
    let piped = run_in_pty(
        qstream().args(args),
        PtyOptions {
            stdout_tty: false,
            ..PtyOptions::default()
        },
    );
    assert!(String::from_utf8_lossy(&piped.stdout).ends_with(
        "[2] Zhejiang\u{1b}]0;pwned\u{7}: rain \u{1b}[2Jahead \u{2014} https://news.example.com/zj-rain\n"
    ));
}
