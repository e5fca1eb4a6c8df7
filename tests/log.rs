//! Issue 14, "Conversations and a local log": the real binary against the loopback server, with
//! the log at `QSTREAM_LOG_DB` in a temp directory.
//!
//! Expected texts are written out literally from the scripted streams below.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{qstream, run, temp_dir, Output, Reply, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-LOG-canary-8e1d2c";

fn chunk(text: &str) -> String {
    format!(
        "data: {{\"choices\":[{{\"delta\":{{\"content\":{}}},\"index\":0,\"finish_reason\":null}}],\"id\":\"chatcmpl-1\"}}\n\n",
        serde_json::to_string(text).unwrap()
    )
}

fn chunks(texts: &[&str]) -> String {
    texts.iter().map(|t| chunk(t)).collect()
}

/// A whole stream: the texts, `stop`, usage 5/7/12, `[DONE]`.
fn complete(texts: &[&str]) -> String {
    let mut s = chunks(texts);
    s.push_str("data: {\"choices\":[{\"delta\":{\"content\":\"\"},\"index\":0,\"finish_reason\":\"stop\"}],\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12},\"id\":\"chatcmpl-1\"}\n\n");
    s.push_str("data: [DONE]\n\n");
    s
}

struct Log {
    dir: PathBuf,
    db: PathBuf,
}

impl Log {
    fn new(tag: &str) -> Log {
        let dir = temp_dir(tag);
        let db = dir.join("data").join("log.db");
        Log { dir, db }
    }

    fn cmd(&self) -> Command {
        let mut cmd = qstream();
        cmd.env("QSTREAM_LOG_DB", &self.db);
        cmd
    }

    /// A prompt run against `server`.
    fn ask(&self, server: &Server) -> Command {
        let mut cmd = self.cmd();
        cmd.env("DASHSCOPE_API_KEY", KEY)
            .arg("--base-url")
            .arg(format!("{}/compatible-mode/v1", server.url()));
        cmd
    }

    fn log(&self, args: &[&str]) -> Output {
        let out = run(self.cmd().arg("log").args(args), None);
        assert_eq!(out.status, Some(0), "log {args:?}: {}", out.stderr);
        out
    }

    /// `qstream log --json` with `args`: the rows, oldest first.
    fn rows(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["--json", "-n", "1000"];
        all.extend_from_slice(args);
        self.log(&all)
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    fn only_row(&self) -> Value {
        let rows = self.rows(&[]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.into_iter().next().unwrap()
    }
}

fn ok(out: &Output) {
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
}

fn warnings(out: &Output) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with("qstream: warning: not logged"))
        .collect()
}

// ---------------------------------------------------------------------------
// Rows and statuses
// ---------------------------------------------------------------------------

#[test]
fn a_finished_exchange_is_one_row_with_everything_but_the_key() {
    let log = Log::new("ok");
    let server = Server::start(vec![
        Reply::sse(complete(&["Otters ", "hold hands."])).header("x-request-id", "req-ok-1")
    ]);
    let out = run(
        log.ask(&server).args([
            "-m",
            "qwen-max",
            "-s",
            "be brief",
            "--temperature",
            "0.5",
            "-H",
            "X-Trace: t1",
            "tell me about otters",
        ]),
        None,
    );
    ok(&out);
    assert_eq!(out.stdout, "Otters hold hands.");
    let row = log.only_row();
    assert_eq!(row["status"], "ok");
    assert_eq!(row["content"], "Otters hold hands.");
    assert_eq!(row["model"], "qwen-max");
    assert_eq!(row["protocol"], "compatible");
    assert_eq!(row["region"], Value::Null, "a base URL was given");
    assert_eq!(
        row["base_url"],
        format!("{}/compatible-mode/v1", server.url())
    );
    assert_eq!(row["system"], "be brief");
    assert_eq!(row["prompt"], "tell me about otters");
    assert_eq!(
        row["messages"],
        json!([{"role": "user", "content": "tell me about otters"}])
    );
    assert_eq!(row["params"], json!({"temperature": 0.5}));
    assert_eq!(row["finish_reason"], "stop");
    assert_eq!(
        (
            &row["input_tokens"],
            &row["output_tokens"],
            &row["total_tokens"]
        ),
        (&json!(5), &json!(7), &json!(12))
    );
    assert_eq!(row["request_id"], "req-ok-1");
    assert_eq!(row["exit_code"], 0);
    assert_eq!(row["error"], Value::Null);
    assert_eq!(
        row["id"], row["cid"],
        "a new conversation is named by its first row"
    );
    assert!(row["ttft_ms"].as_f64().is_some() && row["duration_ms"].as_f64().is_some());
    assert!(row["ended_at"].as_i64() >= row["started_at"].as_i64());

    // Never the key nor the request headers, in any of the database's files.
    for entry in std::fs::read_dir(log.db.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(KEY), "the key is in the log");
        assert!(!text.contains("X-Trace"), "a request header is in the log");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&log.db), 0o600);
        assert_eq!(mode(log.db.parent().unwrap()), 0o700);
    }
}

#[test]
fn log_last_is_the_answer_byte_for_byte() {
    let log = Log::new("last");
    let texts = ["  Ünïcödé ✓\n", "\ttabs\r\n", "", "no newline at the end  "];
    let server = Server::start(vec![Reply::sse(complete(&texts)).chunks(7)]);
    let out = run(log.ask(&server).arg("hello"), None);
    ok(&out);
    let last = log.log(&["last"]);
    assert_eq!(last.stdout_bytes, out.stdout_bytes);
    assert_eq!(last.stdout, texts.concat());
    assert_eq!(last.stderr, "");
}

#[test]
fn an_http_error_is_a_row_with_its_status_message_and_exit_code() {
    let log = Log::new("http");
    let server = Server::start(vec![Reply::json(
        400,
        r#"{"code":"InvalidParameter","message":"bad temperature","request_id":"req-400"}"#,
    )]);
    let out = run(log.ask(&server).arg("hello"), None);
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    let row = log.only_row();
    assert_eq!(row["status"], "error");
    assert_eq!(row["exit_code"], 4);
    assert_eq!(
        row["error"],
        "bad temperature (InvalidParameter, HTTP 400, request_id req-400)"
    );
    assert_eq!(row["content"], "");
}

#[test]
fn an_error_inside_the_stream_keeps_the_partial_answer() {
    let log = Log::new("instream");
    let mut body = chunks(&["Half ", "an answer"]);
    body.push_str("data: {\"error\":{\"message\":\"Output data may contain inappropriate content.\",\"type\":\"data_inspection_failed\",\"code\":\"data_inspection_failed\"},\"id\":\"chatcmpl-1\"}\n\n");
    let server = Server::start(vec![Reply::sse(body)]);
    let out = run(log.ask(&server).arg("hello"), None);
    assert_eq!(out.status, Some(4), "{}", out.stderr);
    assert_eq!(out.stdout, "Half an answer");
    let row = log.only_row();
    assert_eq!(row["status"], "error");
    assert_eq!(row["content"], "Half an answer");
    assert_eq!(row["exit_code"], 4);
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .contains("inappropriate content"),
        "{row}"
    );
}

#[test]
fn a_stream_cut_short_is_truncated_with_what_arrived() {
    let log = Log::new("cut");
    let head = chunks(&["The first ", "part"]);
    let mut body = head.clone();
    body.push_str(&complete(&[" and the rest"]));
    let server = Server::start(vec![Reply::sse(body).cut_after(head.len())]);
    let out = run(log.ask(&server).arg("hello"), None);
    assert_eq!(out.status, Some(7), "{}", out.stderr);
    let row = log.only_row();
    assert_eq!(row["status"], "truncated");
    assert_eq!(row["content"], "The first part");
    assert_eq!(row["exit_code"], 7);
    assert!(
        row["error"].as_str().unwrap().contains("ended early"),
        "{row}"
    );
}

/// Spawn `cmd` with piped output and wait until stdout has shown `expect`.
fn spawn_until(
    cmd: &mut Command,
    expect: &str,
) -> (std::process::Child, std::process::ChildStdout) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains(expect) {
        assert!(Instant::now() < deadline, "never saw {expect:?}");
        let mut b = [0u8; 1];
        if stdout.read(&mut b).unwrap_or(0) == 0 {
            panic!(
                "stdout closed before {expect:?}: {}",
                String::from_utf8_lossy(&seen)
            );
        }
        seen.push(b[0]);
    }
    (child, stdout)
}

#[cfg(unix)]
#[test]
fn ctrl_c_stores_the_partial_answer_as_interrupted() {
    let log = Log::new("ctrlc");
    let head = chunks(&["So far ", "so good"]);
    let mut body = head.clone();
    body.push_str(&complete(&["!"]));
    let server = Server::start(vec![
        Reply::sse(body).stall_after(head.len(), Duration::from_secs(20))
    ]);
    let (mut child, _stdout) = spawn_until(log.ask(&server).arg("hello"), "so good");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let row = log.only_row();
    assert_eq!(row["status"], "interrupted");
    assert_eq!(row["content"], "So far so good");
    assert_eq!(row["exit_code"], 130);
}

#[test]
fn a_reader_that_closes_stdout_leaves_an_interrupted_row_and_exit_0() {
    let log = Log::new("head");
    let texts: Vec<String> = (0..200).map(|i| format!("line {i}\n")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let server = Server::start(vec![Reply::sse(complete(&refs))
        .chunks(200)
        .delay(Duration::from_millis(20))]);
    let (mut child, stdout) = spawn_until(log.ask(&server).arg("hello"), "line 1\n");
    drop(stdout); // as `| head -2` does
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let row = log.only_row();
    assert_eq!(row["status"], "interrupted");
    assert_eq!(row["exit_code"], 0);
    assert_eq!(row["error"], "stdout was closed");
    let content = row["content"].as_str().unwrap();
    assert!(content.starts_with("line 0\nline 1\n"), "{content}");
    assert!(content.len() < texts.concat().len(), "{content}");
}

#[cfg(unix)]
#[test]
fn kill_9_leaves_a_running_row_listed_as_unfinished() {
    let log = Log::new("kill9");
    let head = chunks(&["Never ", "finished"]);
    let mut body = head.clone();
    body.push_str(&complete(&["!"]));
    let server = Server::start(vec![
        Reply::sse(body).stall_after(head.len(), Duration::from_secs(20))
    ]);
    let (mut child, _stdout) = spawn_until(log.ask(&server).arg("hello"), "finished");
    // The row is written beside the request: wait until it is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    while log.rows(&["--status", "running"]).is_empty() {
        assert!(Instant::now() < deadline, "no running row");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let row = log.only_row();
    assert_eq!(row["status"], "running");
    assert_eq!(row["ended_at"], Value::Null);
    let table = log.log(&[]).stdout;
    assert!(table.contains("running"), "{table}");
    // `log last` skips what never finished.
    let last = run(log.cmd().args(["log", "last"]), None);
    assert_eq!(last.status, Some(2), "{}", last.stdout);
}

#[test]
fn no_log_flag_env_and_replays_write_nothing() {
    let log = Log::new("nolog");
    let server = Server::start(vec![
        Reply::sse(complete(&["a"])),
        Reply::sse(complete(&["b"])),
    ]);
    ok(&run(log.ask(&server).args(["--no-log", "hello"]), None));
    ok(&run(
        log.ask(&server).env("QSTREAM_NO_LOG", "1").arg("hello"),
        None,
    ));
    let replay = log.dir.join("replay.sse");
    std::fs::write(&replay, complete(&["c"])).unwrap();
    let out = run(log.cmd().arg("--replay").arg(&replay), None);
    ok(&out);
    assert_eq!(out.stdout, "c");
    assert!(!log.db.exists(), "no database was made");
    assert_eq!(log.log(&[]).stdout, "");
}

#[test]
fn log_false_in_the_config_file_turns_it_off_and_log_turns_it_back_on() {
    let log = Log::new("config");
    let config = log.dir.join("config.toml");
    std::fs::write(&config, "log = false\n").unwrap();
    let server = Server::start(vec![
        Reply::sse(complete(&["a"])),
        Reply::sse(complete(&["b"])),
    ]);
    ok(&run(
        log.ask(&server).env("QSTREAM_CONFIG", &config).arg("hello"),
        None,
    ));
    assert!(!log.db.exists(), "no database was made");
    ok(&run(
        log.ask(&server)
            .env("QSTREAM_CONFIG", &config)
            .args(["--log", "hello again"]),
        None,
    ));
    assert_eq!(log.only_row()["prompt"], "hello again");
    // A conversation is a choice of the run, never a setting of the file.
    std::fs::write(&config, "continue = true\n").unwrap();
    let out = run(
        log.ask(&server).env("QSTREAM_CONFIG", &config).arg("x"),
        None,
    );
    assert!(
        out.stderr.contains("unknown key `continue`"),
        "{}",
        out.stderr
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn the_default_path_follows_xdg_data_home_then_home() {
    let dir = temp_dir("xdg");
    let out = run(
        qstream().env("XDG_DATA_HOME", &dir).args(["log", "path"]),
        None,
    );
    assert_eq!(
        out.stdout.trim_end(),
        dir.join("qstream").join("log.db").display().to_string()
    );
    let home = temp_dir("home-path");
    let out = run(qstream().env("HOME", &home).args(["log", "path"]), None);
    assert_eq!(
        out.stdout.trim_end(),
        home.join(".local/share/qstream/log.db")
            .display()
            .to_string()
    );
}

// ---------------------------------------------------------------------------
// Conversations
// ---------------------------------------------------------------------------

#[test]
fn continue_sends_the_earlier_turns_and_carries_model_and_system_over() {
    let log = Log::new("continue");
    let server = Server::start(vec![
        Reply::sse(complete(&["Paris."])),
        Reply::sse(complete(&["About 2.1 million."])),
        Reply::sse(complete(&["Lyon."])),
        Reply::sse(complete(&["Bonjour."])),
    ]);
    ok(&run(
        log.ask(&server).args([
            "-m",
            "qwen-max",
            "-s",
            "be brief",
            "--thinking",
            "capital of France?",
        ]),
        None,
    ));
    ok(&run(
        log.ask(&server).args(["-c", "how many people live there?"]),
        None,
    ));
    // Given again, the model changes; the system message still carries over.
    ok(&run(
        log.ask(&server)
            .args(["--continue", "-m", "qwen-plus", "and the second city?"]),
        None,
    ));
    // A run without -c starts a new conversation.
    ok(&run(log.ask(&server).arg("say hello in French"), None));

    let reqs = server.requests();
    let second = reqs[1].json();
    assert_eq!(second["model"], "qwen-max");
    assert_eq!(
        second["messages"],
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "how many people live there?"},
        ])
    );
    let third = reqs[2].json();
    assert_eq!(third["model"], "qwen-plus");
    assert_eq!(
        third["messages"],
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "how many people live there?"},
            {"role": "assistant", "content": "About 2.1 million."},
            {"role": "user", "content": "and the second city?"},
        ])
    );
    assert_eq!(
        reqs[3].json()["messages"],
        json!([{"role": "user", "content": "say hello in French"}])
    );

    let rows = log.rows(&[]);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["cid"], rows[0]["id"]);
    assert_eq!(rows[2]["cid"], rows[0]["id"]);
    assert_eq!(rows[3]["cid"], rows[3]["id"]);
    // A row keeps only the messages of its own turn.
    assert_eq!(
        rows[2]["messages"],
        json!([{"role": "user", "content": "and the second city?"}])
    );

    // export: the conversation as a --messages array, which qstream takes back as it is.
    let cid = rows[0]["cid"].as_str().unwrap();
    let exported: Value = serde_json::from_str(&log.log(&["export", &cid[..14]]).stdout).unwrap();
    assert_eq!(
        exported,
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "how many people live there?"},
            {"role": "assistant", "content": "About 2.1 million."},
            {"role": "user", "content": "and the second city?"},
            {"role": "assistant", "content": "Lyon."},
        ])
    );
}

#[test]
fn a_continued_conversation_beats_the_config_file_but_not_a_role_given_again() {
    let log = Log::new("continue-config");
    let config = log.dir.join("config.toml");
    std::fs::write(
        &config,
        "model = \"qwen-turbo\"\n\n[roles.terse]\nsystem = \"one line\"\n",
    )
    .unwrap();
    let server = Server::start(vec![
        Reply::sse(complete(&["A."])),
        Reply::sse(complete(&["B."])),
        Reply::sse(complete(&["C."])),
    ]);
    let ask = || {
        let mut cmd = log.ask(&server);
        cmd.env("QSTREAM_CONFIG", &config);
        cmd
    };
    ok(&run(ask().args(["-m", "qwen-max", "q1"]), None));
    ok(&run(ask().args(["-c", "q2"]), None));
    ok(&run(ask().args(["-c", "-r", "terse", "q3"]), None));
    let reqs = server.requests();
    assert_eq!(
        reqs[1].json()["model"],
        "qwen-max",
        "not the file's default"
    );
    let third = reqs[2].json();
    assert_eq!(third["model"], "qwen-max");
    assert_eq!(
        third["messages"][0],
        json!({"role": "system", "content": "one line"})
    );
    assert_eq!(third["messages"].as_array().unwrap().len(), 6);
}

#[test]
fn cid_takes_a_unique_prefix_and_an_ambiguous_one_is_a_usage_error() {
    let log = Log::new("cid");
    let native = |text: &str| {
        format!("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{{\"output\":{{\"choices\":[{{\"message\":{{\"content\":\"{text}\",\"role\":\"assistant\"}},\"finish_reason\":\"stop\"}}]}},\"usage\":{{\"total_tokens\":3,\"output_tokens\":1,\"input_tokens\":2}},\"request_id\":\"req-n\"}}\n\n")
    };
    let server = Server::start(vec![
        Reply::sse(native("one")),
        Reply::sse(complete(&["two"])),
        Reply::sse(native("three")),
    ]);
    ok(&run(
        log.cmd()
            .env("DASHSCOPE_API_KEY", KEY)
            .args(["--protocol", "dashscope", "--base-url"])
            .arg(format!("{}/api/v1", server.url()))
            .arg("first"),
        None,
    ));
    std::thread::sleep(Duration::from_millis(5));
    ok(&run(log.ask(&server).arg("second"), None));
    let rows = log.rows(&[]);
    let (a, b) = (
        rows[0]["cid"].as_str().unwrap().to_owned(),
        rows[1]["cid"].as_str().unwrap().to_owned(),
    );
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    // Ambiguous: both conversations are named, and nothing is sent.
    let out = run(
        log.ask(&server).args(["--cid", &a[..common], "third"]),
        None,
    );
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains(&a) && out.stderr.contains(&b),
        "{}",
        out.stderr
    );
    let out = run(log.ask(&server).args(["--cid", "ZZZZ", "third"]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert_eq!(server.requests().len(), 2);

    // A unique prefix (lower case is fine): the first conversation, with its protocol.
    let prefix = a[..common + 1].to_ascii_lowercase();
    ok(&run(
        log.ask(&server).args(["--cid", &prefix, "third"]),
        None,
    ));
    let reqs = server.requests();
    assert!(
        reqs[2]
            .path
            .ends_with("/services/aigc/text-generation/generation"),
        "{}",
        reqs[2].path
    );
    assert_eq!(
        reqs[2].json()["input"]["messages"],
        json!([
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "one"},
            {"role": "user", "content": "third"},
        ])
    );
    assert_eq!(log.rows(&["--cid", &a]).len(), 2);
}

#[test]
fn continuing_with_messages_or_without_a_log_is_a_usage_error() {
    let log = Log::new("conflict");
    let server = Server::start(vec![]);
    let msgs = log.dir.join("m.json");
    std::fs::write(&msgs, r#"[{"role":"user","content":"hi"}]"#).unwrap();
    for args in [vec!["-c"], vec!["--cid", "01"]] {
        let out = run(
            log.ask(&server)
                .args(&args)
                .arg("--messages")
                .arg(&msgs)
                .arg("x"),
            None,
        );
        assert_eq!(out.status, Some(2), "{args:?}: {}", out.stderr);
    }
    let out = run(log.ask(&server).args(["-c", "hello"]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no conversation"), "{}", out.stderr);
    assert_eq!(server.connections(), 0);
}

// ---------------------------------------------------------------------------
// qstream log
// ---------------------------------------------------------------------------

#[test]
fn search_filters_show_usage_and_rm() {
    let log = Log::new("search");
    let server = Server::start(vec![
        Reply::sse(complete(&["Otters hold hands while sleeping."])),
        Reply::sse(complete(&["Badgers dig setts."])),
        Reply::json(
            429,
            r#"{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"#,
        ),
    ]);
    ok(&run(
        log.ask(&server)
            .args(["-m", "qwen-max", "tell me about otters"]),
        None,
    ));
    ok(&run(
        log.ask(&server).args(["-m", "qwen-plus", "and badgers?"]),
        None,
    ));
    let out = run(
        log.ask(&server)
            .args(["--retries", "0", "-m", "qwen-plus", "and otters again"]),
        None,
    );
    assert_eq!(out.status, Some(5));

    let prompts = |args: &[&str]| -> Vec<String> {
        log.rows(args)
            .iter()
            .map(|r| r["prompt"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        prompts(&["-q", "otters"]),
        ["tell me about otters", "and otters again"]
    );
    assert_eq!(
        prompts(&["-q", "SLEEPING"]),
        ["tell me about otters"],
        "answers are searched, case-insensitively"
    );
    assert_eq!(
        prompts(&["-q", "otters", "--status", "ok"]),
        ["tell me about otters"]
    );
    assert_eq!(
        prompts(&["-m", "qwen-plus"]),
        ["and badgers?", "and otters again"]
    );
    assert_eq!(prompts(&["--status", "error"]), ["and otters again"]);
    assert_eq!(prompts(&["-n", "1"]), ["and otters again"]);
    assert_eq!(prompts(&["--since", "1h"]).len(), 3);
    assert_eq!(prompts(&["--since", "2999-01-01"]).len(), 0);
    let bad = run(log.cmd().args(["log", "--since", "yesterday"]), None);
    assert_eq!(bad.status, Some(2));

    // The table: a header and a line per exchange, the prompt's first words.
    let table = log.log(&[]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("TIME (UTC)"), "{table}");
    assert!(
        lines[1].contains("qwen-max")
            && lines[1].contains(" ok ")
            && lines[1].contains(" 12 ")
            && lines[1].ends_with("tell me about otters"),
        "{table}"
    );
    assert!(
        lines[3].contains("error") && lines[3].contains(" - "),
        "{table}"
    );

    let rows = log.rows(&[]);
    let id = rows[0]["id"].as_str().unwrap();
    let show = log.log(&["show", id]).stdout;
    assert!(
        show.contains("tell me about otters") && show.contains("Otters hold hands while sleeping."),
        "{show}"
    );
    assert!(!show.contains("badgers"), "{show}");

    let usage = log.log(&["usage", "--json"]).stdout;
    let usage: Vec<Value> = usage
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(usage.len(), 2, "{usage:?}");
    assert_eq!(usage[0]["model"], "qwen-max");
    assert_eq!(usage[0]["total_tokens"], 12);
    assert_eq!(usage[1]["model"], "qwen-plus");
    assert_eq!(usage[1]["exchanges"], 2);
    assert_eq!(usage[1]["total_tokens"], 12);

    let rm = log.log(&["rm", id]);
    assert!(rm.stderr.contains("removed conversation"), "{}", rm.stderr);
    assert_eq!(prompts(&[]), ["and badgers?", "and otters again"]);
    assert!(
        prompts(&["-q", "sleeping"]).is_empty(),
        "the search index forgets it too"
    );
    let gone = run(log.cmd().args(["log", "show", id]), None);
    assert_eq!(gone.status, Some(2));
}

#[cfg(unix)]
#[test]
fn the_table_on_a_terminal_has_no_raw_control_sequences() {
    let log = Log::new("tty");
    let server = Server::start(vec![Reply::sse(complete(&["fine"]))]);
    ok(&run(
        log.ask(&server).arg("clear \u{1b}[2J the screen"),
        None,
    ));
    let out = common::pty::run_in_pty(log.cmd().arg("log"), common::pty::PtyOptions::default());
    assert_eq!(out.status, Some(0));
    let text = out.text();
    assert!(text.contains("TIME (UTC)"), "{text}");
    assert!(text.contains("clear ^[[2J the screen"), "{text}");
    assert!(!out.output.contains(&0x1b), "{text}");
}

// ---------------------------------------------------------------------------
// Many writers, a broken log, an old log
// ---------------------------------------------------------------------------

#[test]
fn sixteen_processes_times_twenty_requests_make_exactly_320_rows() {
    let log = Log::new("many");
    let replies = (0..320).map(|_| Reply::sse(complete(&["ok"]))).collect();
    let server = Server::start(replies);
    let base = format!("{}/compatible-mode/v1", server.url());
    std::thread::scope(|s| {
        for worker in 0..16 {
            let (log, base) = (&log, &base);
            s.spawn(move || {
                for i in 0..20 {
                    let out = run(
                        log.cmd().env("DASHSCOPE_API_KEY", KEY).args([
                            "--base-url",
                            base,
                            &format!("w{worker} r{i}"),
                        ]),
                        None,
                    );
                    assert_eq!(out.status, Some(0), "{}", out.stderr);
                    assert!(warnings(&out).is_empty(), "{}", out.stderr);
                }
            });
        }
    });
    let rows = log.rows(&["-n", "1000"]);
    assert_eq!(rows.len(), 320);
    let mut prompts: Vec<&str> = rows.iter().map(|r| r["prompt"].as_str().unwrap()).collect();
    prompts.sort();
    prompts.dedup();
    assert_eq!(prompts.len(), 320, "every prompt once");
    assert!(rows
        .iter()
        .all(|r| r["status"] == "ok" && r["content"] == "ok"));
}

/// The answer streams, the exit code is the run's own, and there is one warning line.
fn assert_answer_despite_the_log(log: &Log, tag: &str) {
    let server = Server::start(vec![
        Reply::sse(complete(&["still ", "answered"])),
        Reply::json(
            400,
            r#"{"code":"InvalidParameter","message":"bad","request_id":"r"}"#,
        ),
    ]);
    let out = run(log.ask(&server).arg("hello"), None);
    assert_eq!(out.status, Some(0), "{tag}: {}", out.stderr);
    assert_eq!(out.stdout, "still answered", "{tag}");
    assert_eq!(warnings(&out).len(), 1, "{tag}: {}", out.stderr);
    assert_eq!(
        out.stderr.lines().count(),
        2,
        "{tag}: the usage line and the warning: {}",
        out.stderr
    );
    let out = run(log.ask(&server).arg("hello"), None);
    assert_eq!(out.status, Some(4), "{tag}: {}", out.stderr);
    assert_eq!(warnings(&out).len(), 1, "{tag}: {}", out.stderr);
    // Quiet means quiet.
    let server = Server::start(vec![Reply::sse(complete(&["x"]))]);
    let out = run(log.ask(&server).args(["-q", "hello"]), None);
    assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""), "{tag}");
}

#[test]
fn a_corrupt_database_costs_one_warning_not_the_answer() {
    let log = Log::new("corrupt");
    std::fs::create_dir_all(log.db.parent().unwrap()).unwrap();
    std::fs::write(&log.db, vec![0x5a; 8192]).unwrap();
    assert_answer_despite_the_log(&log, "corrupt");
    assert_eq!(
        std::fs::read(&log.db).unwrap(),
        vec![0x5a; 8192],
        "left as it was"
    );
}

#[test]
fn a_read_only_database_costs_one_warning_not_the_answer() {
    let log = Log::new("readonly");
    // A database whose header says "write version 3": SQLite opens it read-only (fileformat.html:
    // "If the read version is 1 or 2 but the write version is greater than 2, then the database
    // file must be treated as read-only"). File modes would not stop a root test run.
    let server = Server::start(vec![Reply::sse(complete(&["first"]))]);
    ok(&run(log.ask(&server).arg("hello"), None));
    {
        let conn = rusqlite::Connection::open(&log.db).unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }
    let mut bytes = std::fs::read(&log.db).unwrap();
    bytes[18] = 3;
    bytes[19] = 1;
    std::fs::write(&log.db, &bytes).unwrap();
    assert_answer_despite_the_log(&log, "read-only");
    assert_eq!(log.rows(&[]).len(), 1, "still readable");
}

#[test]
fn a_locked_database_costs_one_warning_not_the_answer() {
    let log = Log::new("locked");
    let server = Server::start(vec![Reply::sse(complete(&["first"]))]);
    ok(&run(log.ask(&server).arg("hello"), None));
    let conn = rusqlite::Connection::open(&log.db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let server = Server::start(vec![Reply::sse(complete(&["still ", "answered"]))]);
    let out = run(
        log.ask(&server)
            .env("QSTREAM_LOG_BUSY_MS", "100")
            .arg("hello"),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "still answered");
    assert_eq!(warnings(&out).len(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("locked"), "{}", out.stderr);
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    assert_eq!(log.rows(&[]).len(), 1);
}

#[test]
fn a_directory_that_cannot_be_made_costs_one_warning_not_the_answer() {
    let dir = temp_dir("nodir");
    let file = dir.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let log = Log {
        db: file.join("sub").join("log.db"),
        dir,
    };
    assert_answer_despite_the_log(&log, "no directory");
}

#[test]
fn a_database_of_the_previous_schema_is_migrated() {
    let log = Log::new("migrate");
    std::fs::create_dir_all(log.db.parent().unwrap()).unwrap();
    {
        let conn = rusqlite::Connection::open(&log.db).unwrap();
        conn.execute_batch(qstream::store::schema::V1).unwrap();
        conn.execute(
            "INSERT INTO exchanges (id, cid, started_at, ended_at, model, protocol, base_url,
                prompt, messages, params, content, status, total_tokens, exit_code)
             VALUES ('01JOLD000000000000000000AA', '01JOLD000000000000000000AA', 1700000000000,
                1700000001000, 'qwen-turbo', 'compatible', 'https://x/compatible-mode/v1',
                'an old walrus question', '[{\"role\":\"user\",\"content\":\"an old walrus question\"}]',
                '{}', 'an old answer', 'ok', 9, 0)",
            [],
        )
        .unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let server = Server::start(vec![Reply::sse(complete(&["new"]))]);
    let out = run(log.ask(&server).arg("a new question"), None);
    ok(&out);
    assert!(warnings(&out).is_empty(), "{}", out.stderr);
    let rows = log.rows(&[]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["prompt"], "an old walrus question");
    assert_eq!(rows[1]["prompt"], "a new question");
    assert_eq!(
        log.rows(&["-q", "walrus"]).len(),
        1,
        "old rows are searchable"
    );
    let conn = rusqlite::Connection::open(&log.db).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, qstream::store::schema::CURRENT);
}

#[test]
fn a_key_echoed_by_the_server_or_typed_in_the_prompt_is_not_logged() {
    let log = Log::new("echo");
    let server = Server::start(vec![Reply::sse(complete(&[
        "your key is sk-LOG-",
        "canary-8e1d2c, right?",
    ]))
    .chunks(5)]);
    let out = run(log.ask(&server).arg(format!("is {KEY} my key?")), None);
    ok(&out);
    let row = log.only_row();
    assert_eq!(row["content"], "your key is [redacted], right?");
    assert_eq!(row["prompt"], "is [redacted] my key?");
    for entry in std::fs::read_dir(log.db.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "the key is in the log"
        );
    }
}

/// `log show` on a terminal goes through the renderer of live answers: markdown styled, markers
/// gone, escapes from the prompt or answer shown as placeholders; `NO_COLOR` or a pipe keep the
/// stored text as it is.
#[cfg(unix)]
#[test]
fn log_show_on_a_terminal_is_rendered_as_live_answers_are() {
    let log = Log::new("show-tty");
    let server = Server::start(vec![Reply::sse(complete(&[
        "# Title\n\nSome **bold** text and ",
        "`code`.\n\u{1b}]52;c;ZXZpbA==\u{7}\n",
    ]))]);
    ok(&run(log.ask(&server).arg("render \u{1b}[2J me"), None));
    let shown = |extra: &[(&str, &str)]| {
        let mut cmd = log.cmd();
        cmd.env("TERM", "xterm-256color")
            .args(["log", "show", "01"]);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = common::pty::run_in_pty(&mut cmd, common::pty::PtyOptions::default());
        assert_eq!(out.status, Some(0), "{}", out.text());
        out
    };
    let out = shown(&[]);
    let text = out.text();
    // What the screen shows once the renderer has replaced each line in place.
    let mut screen = vt100::Parser::new(
        std::num::NonZeroU16::new(24).expect("rows"),
        std::num::NonZeroU16::new(80).expect("cols"),
        0,
    );
    screen.process(&out.output);
    let contents = screen.screen().contents();
    assert!(contents.contains("Some bold text and code."), "{contents}");
    assert!(!contents.contains("**"), "markers left in: {contents}");
    assert!(text.contains("\u{1b}[0;1mbold"), "no styling: {text:?}");
    assert!(text.contains("render ^[[2J me"), "{text:?}");
    assert!(text.contains("^[]52;c;ZXZpbA==^G"), "{text:?}");
    assert!(!text.contains("\u{1b}]52"), "{text:?}");
    assert!(!text.contains("\u{1b}[2J"), "{text:?}");

    let plain = shown(&[("NO_COLOR", "1")]).text();
    assert!(plain.contains("Some **bold** text"), "{plain:?}");
    assert!(!plain.contains('\u{1b}'), "{plain:?}");

    let piped = run(log.cmd().args(["log", "show", "01"]), None);
    assert!(
        piped.stdout.contains("Some **bold** text"),
        "{}",
        piped.stdout
    );
}

#[test]
fn a_long_prompt_is_listed_by_its_start_and_kept_whole_for_continue() {
    let log = Log::new("long-prompt");
    let server = Server::start(vec![
        Reply::sse(complete(&["Read it."])),
        Reply::sse(complete(&["Yes."])),
    ]);
    let prompt = format!("needlestart {} needleend", "word ".repeat(40_000));
    ok(&run(log.ask(&server).arg("-"), Some(prompt.as_bytes())));
    let row = log.only_row();
    let listed = row["prompt"].as_str().unwrap();
    assert!(listed.starts_with("needlestart word"), "{}", &listed[..40]);
    assert!(listed.len() < 70 << 10, "{} bytes listed", listed.len());
    assert!(
        listed.ends_with("more bytes: the whole prompt is in this exchange's messages]"),
        "{}",
        &listed[listed.len() - 100..]
    );
    assert_eq!(row["messages"][0]["content"], prompt.as_str());
    assert_eq!(log.rows(&["-q", "needlestart"]).len(), 1);
    // Nothing is lost: the next turn sends the whole prompt again.
    ok(&run(log.ask(&server).args(["-c", "did you?"]), None));
    let reqs = server.requests();
    assert_eq!(reqs[1].json()["messages"][0]["content"], prompt.as_str());
}

#[test]
fn a_prompt_over_the_parts_threshold_is_kept_whole_in_parts_without_the_key() {
    let log = Log::new("parts");
    let server = Server::start(vec![
        Reply::sse(complete(&["Read it."])),
        Reply::json(
            400,
            r#"{"code":"InvalidParameter","message":"too long","request_id":"req-400"}"#,
        ),
        Reply::sse(complete(&["Yes."])),
    ]);
    // Just over the threshold (4 MiB of JSON): multibyte characters throughout, the key in
    // several places.
    let line = "é€😀 \"quoted\"\tand a tab\n";
    let mut prompt = String::new();
    while prompt.len() < (4 << 20) + (200 << 10) {
        prompt.push_str(&line.repeat(997));
        prompt.push_str(KEY);
    }
    let logged = prompt.replace(KEY, "[redacted]");
    ok(&run(log.ask(&server).arg("-"), Some(prompt.as_bytes())));
    let failed = run(log.ask(&server).arg("-"), Some(prompt.as_bytes()));
    assert_eq!(failed.status, Some(4), "{}", failed.stderr);
    assert!(warnings(&failed).is_empty(), "{}", failed.stderr);
    let rows = log.rows(&[]);
    assert_eq!(rows.len(), 2);
    for (row, status) in rows.iter().zip(["ok", "error"]) {
        assert_eq!(row["status"], status);
        assert_eq!(
            row["messages"],
            json!([{"role": "user", "content": logged.as_str()}])
        );
    }
    {
        let conn = rusqlite::Connection::open(&log.db).unwrap();
        let (marker, parts): (String, i64) = conn
            .query_row(
                "SELECT e.messages, (SELECT count(*) FROM message_parts p WHERE p.exchange_id = e.id)
                 FROM exchanges e ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(parts >= 4, "{parts} parts");
        assert!(
            marker.starts_with(&format!("{{\"parts\":{parts},\"bytes\":")),
            "{marker}"
        );
        let whole: String = conn
            .query_row(
                "SELECT messages FROM exchanges_messages ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let whole: Value = serde_json::from_str(&whole).unwrap();
        assert_eq!(whole, rows[0]["messages"]);
    }
    for entry in std::fs::read_dir(log.db.parent().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the key is in the log"
        );
    }
    let cid = rows[0]["cid"].as_str().unwrap();
    let shown = log.log(&["show", cid]).stdout;
    assert!(
        shown.contains("Read it."),
        "{}",
        &shown[..200.min(shown.len())]
    );
    let exported: Value = serde_json::from_str(&log.log(&["export", cid]).stdout).unwrap();
    assert_eq!(exported[0]["content"], logged.as_str());
    assert_eq!(exported[1]["content"], "Read it.");
    // The next turn sends the whole prompt again.
    ok(&run(
        log.ask(&server).args(["--cid", cid, "did you?"]),
        None,
    ));
    let reqs = server.requests();
    assert_eq!(reqs[2].json()["messages"][0]["content"], logged.as_str());
    assert_eq!(reqs[2].json()["messages"][2]["content"], "did you?");
}
