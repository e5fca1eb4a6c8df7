//! Issue 5: the terminal experience (forced with QSTREAM_FORCE_TERMINAL=1, since the tests
//! have no terminal), --reasoning, --stats, --dry-run, --header/--workspace, --help, --version.

mod common;

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use common::{fixture, qstream, run, temp_dir, Reply, Server};

/// Run with stdout and stderr going to one file, as on a terminal where both show on one
/// screen, so that the order of their writes can be checked.
fn run_interleaved(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let path = temp_dir("interleaved").join("out");
    let file = File::create(&path).expect("create");
    let mut cmd = qstream();
    cmd.args(args)
        .stdout(Stdio::from(file.try_clone().expect("clone")))
        .stderr(Stdio::from(file));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().expect("run qstream");
    let text = std::fs::read_to_string(&path).expect("read");
    (status.code(), text)
}

const ANSWER: &str = "I am **Qwen**, a large language model.";
const REASONING: &str = "Okay, the user is asking who I am.";

#[test]
fn terminal_mode_heads_and_dims_the_reasoning_and_ends_the_answer_with_a_newline() {
    let replay = format!(
        "{}/tests/fixtures/compatible_thinking.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, text) = run_interleaved(&["--replay", &replay], &[("QSTREAM_FORCE_TERMINAL", "1")]);
    assert_eq!(code, Some(0));
    let dim_reasoning: String = ["Okay, the user", " is asking who", " I am."]
        .iter()
        .map(|p| format!("\x1b[2m{p}\x1b[0m"))
        .collect();
    assert_eq!(
        text,
        format!(
            "\x1b[1mthinking\x1b[0m\n{dim_reasoning}\n\x1b[1manswer\x1b[0m\n{ANSWER}\n\
             usage: input 10, output 360, total 370 tokens\n"
        )
    );

    // NO_COLOR and --color never: the same layout without escapes.
    let plain = format!(
        "thinking\n{REASONING}\nanswer\n{ANSWER}\nusage: input 10, output 360, total 370 tokens\n"
    );
    let (_, text) = run_interleaved(
        &["--replay", &replay],
        &[("QSTREAM_FORCE_TERMINAL", "1"), ("NO_COLOR", "1")],
    );
    assert_eq!(text, plain);
    let (_, text) = run_interleaved(
        &["--replay", &replay, "--color", "never"],
        &[("QSTREAM_FORCE_TERMINAL", "1")],
    );
    assert_eq!(text, plain);
    // --color always wins over NO_COLOR.
    let (_, text) = run_interleaved(
        &["--replay", &replay, "--color", "always"],
        &[("QSTREAM_FORCE_TERMINAL", "1"), ("NO_COLOR", "1")],
    );
    assert!(text.contains("\x1b[2m"));
}

#[test]
fn pipes_get_the_bytes_exactly_with_no_decoration() {
    let replay = format!(
        "{}/tests/fixtures/compatible_thinking.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run(
        qstream().args(["--replay", &replay, "--color", "always"]),
        None,
    );
    assert_eq!(out.stdout, ANSWER);
    assert!(!out.stderr.contains("thinking\n"), "{}", out.stderr);
}

#[test]
fn reasoning_to_stdout_or_hidden() {
    let replay = format!(
        "{}/tests/fixtures/dashscope_thinking.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let normal = run(qstream().args(["--replay", &replay]), None);
    let reasoning = normal
        .stderr
        .strip_suffix("\nusage: input 11, output 367, total 378 tokens\n")
        .expect("reasoning then usage")
        .to_string();
    assert!(reasoning.starts_with("Hmm, the user"), "{reasoning}");

    let out = run(
        qstream().args(["--replay", &replay, "--reasoning", "stdout"]),
        None,
    );
    assert_eq!(
        out.stdout,
        format!("<think>\n{reasoning}\n</think>\n\n{}", normal.stdout)
    );
    assert_eq!(
        out.stderr,
        "usage: input 11, output 367, total 378 tokens\n"
    );

    let out = run(
        qstream().args(["--replay", &replay, "--reasoning", "hide"]),
        None,
    );
    assert_eq!(out.stdout, normal.stdout);
    assert_eq!(
        out.stderr,
        "usage: input 11, output 367, total 378 tokens\n"
    );
}

#[test]
fn hide_still_asks_for_thinking() {
    let server = Server::start(vec![Reply::sse(fixture("compatible_thinking.sse"))]);
    let out = run(
        qstream()
            .args(["--thinking", "--reasoning", "hide", "--base-url"])
            .arg(format!("{}/compatible-mode/v1", server.url()))
            .arg("hi")
            .env("DASHSCOPE_API_KEY", "sk-test"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, ANSWER);
    assert_eq!(server.requests()[0].json()["enable_thinking"], true);
}

/// A stat line's number after `label`, e.g. `ttft 0.312 s` → 0.312.
fn stat(line: &str, label: &str) -> f64 {
    let rest = line
        .split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("no {label} in {line}"));
    rest.split_whitespace()
        .next()
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no number after {label} in {line}"))
}

#[test]
fn stats_are_present_and_plausible_against_a_known_delay() {
    // The server waits 300 ms between writes of 1 event each: the first delta (the second
    // event carries the first text) cannot arrive before 300 ms, and the whole stream takes
    // about 10 writes.
    let body = fixture("dashscope_incremental.sse");
    let events = body
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"data:"))
        .count();
    let server = Server::start(vec![Reply::sse(body.clone())
        .chunks(body.len() / events + 1)
        .delay(Duration::from_millis(300))]);
    let out = run(
        qstream()
            .args(["--protocol", "dashscope", "--stats", "--base-url"])
            .arg(format!("{}/api/v1", server.url()))
            .arg("hi")
            .env("DASHSCOPE_API_KEY", "sk-test"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("stats: "))
        .expect("a stats line");
    let ttft = stat(line, "ttft ");
    let total = stat(line, "total ");
    let deltas: f64 = line
        .split(", ")
        .find_map(|p| p.strip_suffix(" deltas"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no deltas in {line}"));
    let rate = stat(line, "deltas, ");
    assert!(ttft < 1.0, "{line}");
    assert!(total >= 0.3 * (events as f64 - 2.0), "{line}");
    assert!(total < 10.0, "{line}");
    assert!(ttft < total, "{line}");
    assert_eq!(deltas, 5.0, "{line}");
    // 66 output tokens over (total - ttft) seconds.
    let expected = 66.0 / (total - ttft);
    assert!((rate - expected).abs() / expected < 0.05, "{line}");
    assert!(
        line.ends_with("request_id d30a9914-ac97-9102-b746-ce0cb35e3fa2"),
        "{line}"
    );

    // JSON mode: a final stats event with the same fields.
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(
        qstream()
            .args(["--protocol", "dashscope", "--stats", "--json", "--base-url"])
            .arg(format!("{}/api/v1", server.url()))
            .arg("hi")
            .env("DASHSCOPE_API_KEY", "sk-test"),
        None,
    );
    let last: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().expect("lines")).expect("json");
    assert_eq!(last["type"], "stats");
    assert_eq!(last["deltas"], 5);
    assert_eq!(last["output_tokens"], 66);
    assert!(last["ttft_s"].as_f64().is_some());
    assert!(last["total_s"].as_f64().is_some());
    assert_eq!(last["request_id"], "d30a9914-ac97-9102-b746-ce0cb35e3fa2");
}

#[test]
fn dry_run_prints_the_request_as_curl_without_connecting() {
    let server = Server::start(vec![]);
    let base = format!("{}/api/v1", server.url());
    let out = run(
        qstream().args([
            "--dry-run",
            "--protocol",
            "dashscope",
            "--base-url",
            &base,
            "--thinking",
            "-s",
            "be brief",
            "--workspace",
            "ws-9",
            "-H",
            "X-Trace: it's me",
            "who are you?",
        ]),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        format!(
            "curl -sN -X POST '{base}/services/aigc/text-generation/generation' \\\n  \
             -H \"Authorization: Bearer $DASHSCOPE_API_KEY\" \\\n  \
             -H 'Content-Type: application/json' \\\n  \
             -H 'Accept: text/event-stream' \\\n  \
             -H 'Accept-Encoding: identity' \\\n  \
             -H 'X-Accel-Buffering: no' \\\n  \
             -H 'User-Agent: qstream/{}' \\\n  \
             -H 'X-DashScope-SSE: enable' \\\n  \
             -H 'X-DashScope-WorkSpace: ws-9' \\\n  \
             -H 'X-Trace: it'\\''s me' \\\n  \
             --data-raw '{{\"input\":{{\"messages\":[{{\"content\":\"be brief\",\"role\":\"system\"}},{{\"content\":\"who are you?\",\"role\":\"user\"}}]}},\"model\":\"qwen-plus\",\"parameters\":{{\"enable_thinking\":true,\"incremental_output\":true,\"result_format\":\"message\"}}}}'\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        out.stderr,
        "qstream: native endpoint text-generation (qwen-plus is a text model)\n"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.connections(), 0);

    // The command really is the request: run it through sh's parser (on Unix) and compare
    // the body.
    if !cfg!(unix) {
        return;
    }
    let words = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -- {}; for w; do printf '%s\\0' \"$w\"; done",
            out.stdout.trim_end().replace("\\\n", "")
        ))
        .env("DASHSCOPE_API_KEY", "sk-shell")
        .output()
        .expect("sh");
    let words: Vec<String> = String::from_utf8_lossy(&words.stdout)
        .split('\0')
        .map(String::from)
        .collect();
    assert!(words.contains(&"Authorization: Bearer sk-shell".to_string()));
    assert!(words.contains(&"X-Trace: it's me".to_string()));
    let body = &words[words.iter().position(|w| w == "--data-raw").expect("body") + 1];
    let body: serde_json::Value = serde_json::from_str(body).expect("body is JSON");
    assert_eq!(body["input"]["messages"][1]["content"], "who are you?");
}

#[test]
fn headers_and_workspace_reach_the_server() {
    let server = Server::start(vec![Reply::sse(fixture("compatible_basic.sse"))]);
    let out = run(
        qstream()
            .args([
                "--workspace",
                "ws-1",
                "-H",
                "X-Extra: 1",
                "-H",
                "User-Agent: custom/2",
                "--base-url",
            ])
            .arg(format!("{}/compatible-mode/v1", server.url()))
            .arg("hi")
            .env("DASHSCOPE_API_KEY", "sk-test"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    let req = &server.requests()[0];
    assert_eq!(req.header("x-dashscope-workspace"), Some("ws-1"));
    assert_eq!(req.header("x-extra"), Some("1"));
    assert_eq!(req.header("user-agent"), Some("custom/2"));
    assert_eq!(
        req.headers
            .iter()
            .filter(|(k, _)| k == "user-agent")
            .count(),
        1
    );
    // Flags beat the environment.
    let out = run(
        qstream()
            .args(["--dry-run", "--workspace", "flag", "hi"])
            .env("DASHSCOPE_WORKSPACE", "env"),
        None,
    );
    // With a region (no base URL) the workspace picks its own host (issue 11).
    assert!(
        out.stdout
            .contains("'https://flag.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1/"),
        "{}",
        out.stdout
    );
    let out = run(
        qstream()
            .args(["--dry-run", "hi"])
            .env("DASHSCOPE_WORKSPACE", "env"),
        None,
    );
    assert!(
        out.stdout
            .contains("'https://env.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1/"),
        "{}",
        out.stdout
    );
    // The key never comes from the command line.
    let out = run(
        qstream().args(["-H", "Authorization: Bearer sk-argv", "hi"]),
        None,
    );
    assert_eq!(out.status, Some(2));
    assert!(!out.stderr.contains("sk-argv"));
}

#[test]
fn help_is_grouped_and_version_prints() {
    let out = run(qstream().arg("--help"), None);
    assert_eq!(out.status, Some(0));
    let mut at = 0;
    for heading in [
        "Input:",
        "Model:",
        "Protocol:",
        "Output:",
        "Network:",
        "Examples:",
    ] {
        let pos = out.stdout[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} missing or out of order"));
        at += pos;
    }
    assert!(out.stdout.contains("git diff | qstream"));
    let short = run(qstream().arg("-h"), None);
    assert!(short.stdout.len() < out.stdout.len());
    let out = run(qstream().arg("--version"), None);
    assert_eq!(
        out.stdout,
        format!("qstream {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// On a real pseudo-terminal (no force flag), the run sees a terminal: the reasoning is headed
/// and the answer ends with a newline before the usage line.
#[cfg(unix)]
#[test]
fn on_a_real_pty_the_terminal_layout_is_used() {
    use common::pty::{run_in_pty, PtyOptions};
    let replay = format!(
        "{}/tests/fixtures/compatible_thinking.sse",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = run_in_pty(qstream().args(["--replay", &replay]), PtyOptions::default());
    assert_eq!(run.status, Some(0), "{}", run.text());
    let text = run.text();
    assert!(text.contains("thinking"), "{text:?}");
    assert!(text.contains("answer"), "{text:?}");
    assert!(text.contains(ANSWER), "{text:?}");
    // Piped instead: no headers, the bytes as they came.
    let piped = run_in_pty(
        qstream().args(["--replay", &replay]),
        PtyOptions {
            stdout_tty: false,
            ..PtyOptions::default()
        },
    );
    assert_eq!(String::from_utf8_lossy(&piped.stdout), ANSWER);
}
