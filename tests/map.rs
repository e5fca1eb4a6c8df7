//! `qstream map`: many prompts against loopback servers (issue 15).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::many::{prompt_of, Answer, Many};
use common::{qstream, run, temp_dir, Output};
use serde_json::Value;

const KEY: &str = "sk-map-test-0123456789";

fn map(server: &Many) -> Command {
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .env("QSTREAM_NO_LOG", "1")
        .arg("map")
        .arg("--base-url")
        .arg(format!("{}/compatible-mode/v1", server.url()));
    cmd
}

/// A server that answers every prompt with `echo: PROMPT`.
fn echo() -> Many {
    Many::start(|r| Answer::content(&format!("echo: {}", prompt_of(r))))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn by_id(text: &str) -> HashMap<String, Value> {
    lines(text)
        .into_iter()
        .map(|v| (v["id"].as_str().unwrap().to_owned(), v))
        .collect()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status, out.stdout, out.stderr
    )
}

#[test]
fn json_lines_each_item_once_with_its_fields() {
    let server = echo();
    let dir = temp_dir("map-jsonl");
    let input = write(
        &dir,
        "in.jsonl",
        "{\"id\":\"a\",\"prompt\":\"one\"}\n{\"prompt\":\"two\",\"system\":\"be brief\"}\n\n{\"id\":\"c\",\"prompt\":\"three\",\"params\":{\"seed\":7}}\n",
    );
    let out = run(map(&server).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let got = by_id(&out.stdout);
    assert_eq!(got.len(), 3, "{}", out.stdout);
    assert_eq!(got["a"]["content"], "echo: one");
    assert_eq!(got["a"]["status"], "ok");
    assert_eq!(got["a"]["finish"], "stop");
    assert_eq!(got["a"]["usage"]["total_tokens"], 5);
    assert_eq!(got["a"]["exit"], 0);
    assert!(got["a"]["ttft_s"].is_number() && got["a"]["duration_s"].is_number());
    // The id of an item without one is its line number.
    assert_eq!(got["2"]["content"], "echo: two");
    assert_eq!(got["c"]["content"], "echo: three");
    assert_eq!(server.requests(), 3);
    // The summary line on stderr.
    assert!(out.stderr.contains("3 of 3 items done"), "{}", out.stderr);
    assert!(out.stderr.contains("ttft p50"), "{}", out.stderr);
}

#[test]
fn items_carry_their_system_model_and_params_over_the_runs() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let seen = Arc::clone(&seen);
        Many::start(move |r| {
            seen.lock().unwrap().push(r.json());
            Answer::content("ok")
        })
    };
    let dir = temp_dir("map-fields");
    let input = write(
        &dir,
        "in.jsonl",
        "{\"id\":\"x\",\"prompt\":\"p\",\"system\":\"own\",\"model\":\"qwen-max\",\"params\":{\"seed\":7}}\n",
    );
    let out = run(
        map(&server)
            .args([
                "-s",
                "run system",
                "-m",
                "qwen-flash",
                "-o",
                "temperature=0.5",
            ])
            .arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let body = seen.lock().unwrap()[0].clone();
    assert_eq!(body["model"], "qwen-max");
    assert_eq!(body["seed"], 7);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(
        body["messages"][0],
        serde_json::json!({"role": "system", "content": "own"})
    );
    assert_eq!(
        body["messages"][1],
        serde_json::json!({"role": "user", "content": "p"})
    );
    assert_eq!(body["stream"], true);
}

#[test]
fn csv_with_a_template_and_an_id_column() {
    let server = echo();
    let dir = temp_dir("map-csv");
    let input = write(
        &dir,
        "reviews.csv",
        "doc,text\nr1,\"good, really\"\nr2,\"two\nlines\"\n",
    );
    let out = run(
        map(&server)
            .args([
                "--template",
                "Summarise: {text} {{id}}",
                "--id-column",
                "doc",
            ])
            .arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let got = by_id(&out.stdout);
    assert_eq!(got["r1"]["content"], "echo: Summarise: good, really {id}");
    assert_eq!(got["r2"]["content"], "echo: Summarise: two\nlines {id}");
}

#[test]
fn lines_from_stdin_with_the_line_placeholder() {
    let server = echo();
    let out = run(
        map(&server).args(["--lines", "--template", "Translate: {line}", "-"]),
        Some(b"hello\n\nworld\n"),
    );
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let got = by_id(&out.stdout);
    assert_eq!(got.len(), 2);
    assert_eq!(got["1"]["content"], "echo: Translate: hello");
    assert_eq!(got["3"]["content"], "echo: Translate: world");
}

#[test]
fn format_flag_beats_the_extension() {
    let server = echo();
    let dir = temp_dir("map-format");
    let input = write(&dir, "items.data", "prompt\nfrom csv\n");
    let out = run(map(&server).args(["--format", "csv"]).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    assert_eq!(by_id(&out.stdout)["1"]["content"], "echo: from csv");
}

#[test]
fn bad_input_is_exit_2_before_anything_is_sent() {
    let server = echo();
    let dir = temp_dir("map-bad");
    for (name, text, extra, needle) in [
        (
            "dup.jsonl",
            "{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\":\"b\",\"prompt\":\"y\"}\n{\"id\":\"a\",\"prompt\":\"z\"}\n",
            vec![],
            "duplicate id \"a\": on input lines 1 and 3",
        ),
        ("t.csv", "text\nx\n", vec!["--template", "{nope}"], "unknown placeholder {nope}"),
        ("b.jsonl", "{\"prompt\":\"x\"}\n{oops\n", vec![], "input line 2"),
        ("prompts", "what is 2+2?\n", vec![], "for one prompt a line, use --lines"),
        ("u.txt", "x\n", vec!["--template", "{line"], "unclosed {"),
    ] {
        let input = write(&dir, name, text);
        let out = run(map(&server).args(&extra).arg(&input), None);
        assert_eq!(out.status, Some(2), "{name}: {}", show(&out));
        assert!(out.stderr.contains(needle), "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn failed_items_are_recorded_and_the_exit_is_8() {
    let server = Many::start(|r| match prompt_of(r).as_str() {
        "bad" => Answer::error(400, "InvalidParameter", "no good"),
        p => Answer::content(p),
    });
    let dir = temp_dir("map-exit8");
    let input = write(
        &dir,
        "in.jsonl",
        "{\"id\":\"1\",\"prompt\":\"fine\"}\n{\"id\":\"2\",\"prompt\":\"bad\"}\n{\"id\":\"3\",\"prompt\":\"fine too\"}\n",
    );
    let out = run(map(&server).arg(&input), None);
    assert_eq!(out.status, Some(8), "{}", show(&out));
    let got = by_id(&out.stdout);
    assert_eq!(got["2"]["status"], "error");
    assert_eq!(got["2"]["exit"], 4);
    assert_eq!(got["2"]["error"]["status"], 400);
    assert_eq!(got["2"]["error"]["code"], "InvalidParameter");
    assert_eq!(got["1"]["status"], "ok");
    assert_eq!(got["3"]["status"], "ok");
    // A permanent 4xx is not retried.
    assert_eq!(server.requests(), 3);
    assert!(out.stderr.contains("1 of 3 items failed"), "{}", out.stderr);
}

#[test]
fn a_401_stops_the_whole_run_with_exit_3() {
    let count = Arc::new(AtomicUsize::new(0));
    let server = {
        let count = Arc::clone(&count);
        Many::start(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            Answer::error(401, "InvalidApiKey", "Invalid API-key provided.")
        })
    };
    let dir = temp_dir("map-401");
    let text: String = (0..200).map(|i| format!("prompt {i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let out = run(map(&server).args(["-j", "2"]).arg(&input), None);
    assert_eq!(out.status, Some(3), "{}", show(&out));
    assert!(out.stderr.contains("the run stopped"), "{}", out.stderr);
    assert!(!out.stderr.contains(KEY));
    // At most the requests in flight when the first answer came.
    assert!(
        count.load(Ordering::SeqCst) <= 4,
        "{}",
        count.load(Ordering::SeqCst)
    );
}

#[test]
fn run_stopping_errors_that_come_together_stop_the_run_once() {
    // Both requests of the first window get their 401 at the same moment (each answer waits for
    // the other request to arrive): both workers see a run-stopping error. The run stops once,
    // with exit 3, not as a second Ctrl-C would (130).
    let arrived = Arc::new(AtomicUsize::new(0));
    let server = {
        let arrived = Arc::clone(&arrived);
        Many::start(move |_| {
            let n = arrived.fetch_add(1, Ordering::SeqCst) + 1;
            let pair = n.div_ceil(2) * 2;
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while arrived.load(Ordering::SeqCst) < pair && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            Answer::error(401, "InvalidApiKey", "Invalid API-key provided.")
        })
    };
    let dir = temp_dir("map-401-together");
    let input = write(&dir, "in.txt", "prompt 0\nprompt 1\n");
    for round in 0..5 {
        let out = run(map(&server).args(["-j", "2"]).arg(&input), None);
        assert_eq!(out.status, Some(3), "round {round}: {}", show(&out));
        assert!(out.stderr.contains("the run stopped"), "{}", out.stderr);
    }
}

#[test]
fn ordered_output_follows_the_input() {
    // Early items answer slowest.
    let server = Many::start(|r| {
        let p = prompt_of(r);
        let n: u64 = p.parse().unwrap_or(0);
        Answer::content(&p).delay(Duration::from_millis(5 * (20 - n.min(20))))
    });
    let dir = temp_dir("map-ordered");
    let text: String = (0..20).map(|i| format!("{i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let out = run(
        map(&server).args(["-j", "8", "--ordered"]).arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let ids: Vec<String> = lines(&out.stdout)
        .iter()
        .map(|v| v["content"].as_str().unwrap().to_owned())
        .collect();
    let want: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(ids, want);
}

#[test]
fn rate_limit_refusals_back_off_and_honour_retry_after() {
    // Refuses the first three requests, each with Retry-After: 1.
    let refused = Arc::new(AtomicUsize::new(0));
    let times = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let (refused, times) = (Arc::clone(&refused), Arc::clone(&times));
        Many::start(move |r| {
            times.lock().unwrap().push(std::time::Instant::now());
            if refused.fetch_add(1, Ordering::SeqCst) < 3 {
                return Answer::error(429, "Throttling.RateQuota", "Requests rate limit exceeded")
                    .header("Retry-After", "1");
            }
            Answer::content(&prompt_of(r))
        })
    };
    let dir = temp_dir("map-429");
    let input = write(&dir, "in.txt", "a\nb\nc\nd\n");
    let out = run(map(&server).args(["-j", "4", "--stats"]).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    assert_eq!(by_id(&out.stdout).len(), 4);
    assert_eq!(server.requests(), 7);
    // Retry-After: nothing went out within a second of the first refusal.
    let times = times.lock().unwrap();
    let first = times[0];
    let later: Vec<_> = times.iter().skip(3).collect();
    assert!(
        later
            .iter()
            .all(|t| t.duration_since(first) >= Duration::from_millis(900)),
        "{:?}",
        times
    );
    let stats: Value = out
        .stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .expect("stats line");
    assert_eq!(stats["refused_429"], 3);
    assert_eq!(stats["ok"], 4);
    // ttft_s counts from the attempt that was answered, not from the wait before it.
    let waited = lines(&out.stdout)
        .iter()
        .filter(|v| v["duration_s"].as_f64().unwrap() - v["ttft_s"].as_f64().unwrap() >= 0.95)
        .count();
    assert!(waited >= 3, "{}", out.stdout);
}

#[test]
fn connections_are_reused_and_in_flight_is_bounded_by_jobs() {
    let server = Many::start(|r| Answer::content(&prompt_of(r)).delay(Duration::from_millis(1)));
    let dir = temp_dir("map-pool");
    let text: String = (0..300).map(|i| format!("p{i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let out = run(map(&server).args(["-j", "3"]).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    assert_eq!(by_id(&out.stdout).len(), 300);
    assert!(server.most_in_flight() <= 3, "{}", server.most_in_flight());
    assert!(
        server.connections() <= 6,
        "{} connections",
        server.connections()
    );
}

/// Lines of `path` that are whole (the last may be cut by an interruption).
fn whole_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[cfg(unix)]
#[test]
fn ctrl_c_then_a_rerun_leaves_each_id_exactly_once() {
    // Requests of the rerun, told apart by its key.
    let rerun_requests = Arc::new(AtomicUsize::new(0));
    let server = {
        let rerun_requests = Arc::clone(&rerun_requests);
        Many::start(move |r| {
            if r.header("authorization")
                .is_some_and(|a| a.ends_with("-rerun"))
            {
                rerun_requests.fetch_add(1, Ordering::SeqCst);
            }
            let p = prompt_of(r);
            // Every tenth item fails (a 400): its error line is replaced by the rerun's.
            if p.ends_with('5') {
                return Answer::error(400, "InvalidParameter", "no good");
            }
            Answer::content(&p).delay(Duration::from_millis(20))
        })
    };
    let dir = temp_dir("map-resume");
    let text: String = (0..60).map(|i| format!("item {i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let output = dir.join("out.jsonl");
    let mut child = map(&server)
        .args(["-j", "2", "--output"])
        .arg(&output)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while whole_lines(&output).len() < 10 {
        assert!(std::time::Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let first = whole_lines(&output);
    assert!(
        first.len() < 60,
        "finished before the interrupt: {}",
        first.len()
    );
    // The file holds whole lines only, each id once.
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.ends_with('\n'));
    let ok_before = first.iter().filter(|v| v["status"] == "ok").count();

    let mut rerun = map(&server);
    rerun.env("DASHSCOPE_API_KEY", format!("{KEY}-rerun"));
    let out = run(
        rerun.args(["-j", "4", "--output"]).arg(&output).arg(&input),
        None,
    );
    // The items that failed the first time fail again (the server says so): exit 8.
    assert!(matches!(out.status, Some(0 | 8)), "{}", show(&out));
    let all = whole_lines(&output);
    let mut ids: Vec<&str> = all.iter().map(|v| v["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want: Vec<String> = (1..=60).map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(ids, want, "each id exactly once");
    // The items ok before were not sent again.
    assert_eq!(rerun_requests.load(Ordering::SeqCst), 60 - ok_before);
    assert_eq!(all.iter().filter(|v| v["status"] == "error").count(), 6);
}

#[test]
fn a_rerun_with_everything_done_sends_nothing() {
    let server = echo();
    let dir = temp_dir("map-done");
    let input = write(&dir, "in.txt", "a\nb\n");
    let output = dir.join("out.jsonl");
    let out = run(map(&server).arg("--output").arg(&output).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    assert!(out.stdout.is_empty());
    let out = run(map(&server).arg("--output").arg(&output).arg(&input), None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    assert_eq!(server.requests(), 2);
    assert_eq!(whole_lines(&output).len(), 2);
    assert!(
        out.stderr.contains("2 done before, skipped"),
        "{}",
        out.stderr
    );
}

#[test]
fn options_before_the_word_map_apply_too() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let seen = Arc::clone(&seen);
        Many::start(move |r| {
            seen.lock().unwrap().push(r.json());
            Answer::content("ok")
        })
    };
    let dir = temp_dir("map-before");
    let input = write(&dir, "in.txt", "x\n");
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .env("QSTREAM_NO_LOG", "1")
        .args(["-m", "qwen-turbo", "--no-thinking", "map", "--base-url"])
        .arg(format!("{}/compatible-mode/v1", server.url()))
        .arg(&input);
    let out = run(&mut cmd, None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let body = seen.lock().unwrap()[0].clone();
    assert_eq!(body["model"], "qwen-turbo");
    assert_eq!(body["enable_thinking"], false);
}

#[test]
fn single_request_only_options_are_refused() {
    let server = echo();
    let dir = temp_dir("map-refuse");
    let input = write(&dir, "in.txt", "x\n");
    for flag in ["--json", "--dry-run", "--raw"] {
        let out = run(map(&server).arg(flag).arg(&input), None);
        assert_eq!(out.status, Some(2), "{flag}: {}", show(&out));
        assert!(out.stderr.contains("map takes no"), "{}", out.stderr);
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn items_are_logged_with_the_run_id_unless_no_log() {
    let server = echo();
    let dir = temp_dir("map-log");
    let db = dir.join("log.db");
    let input = write(&dir, "in.txt", "one\ntwo\n");
    let mut cmd = map(&server);
    cmd.env_remove("QSTREAM_NO_LOG")
        .env("QSTREAM_LOG_DB", &db)
        .arg(&input);
    let out = run(&mut cmd, None);
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let mut log = qstream();
    log.env("QSTREAM_LOG_DB", &db).args(["log", "--json"]);
    let rows = lines(&run(&mut log, None).stdout);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let mut contents: Vec<&str> = rows
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    contents.sort();
    assert_eq!(contents, ["echo: one", "echo: two"]);
    assert!(rows.iter().all(|r| r["status"] == "ok"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let runs: Vec<Option<String>> = conn
        .prepare("SELECT run_id FROM exchanges")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[0].is_some() && runs[0] == runs[1], "{runs:?}");

    let db2 = dir.join("none.db");
    let mut cmd = map(&server);
    cmd.env_remove("QSTREAM_NO_LOG")
        .env("QSTREAM_LOG_DB", &db2)
        .arg("--no-log")
        .arg(&input);
    assert_eq!(run(&mut cmd, None).status, Some(0));
    assert!(!db2.exists());
}

#[cfg(target_os = "linux")]
#[test]
fn threads_and_descriptors_stay_bounded_over_a_long_run() {
    let server = Many::start(|r| Answer::content(&prompt_of(r)).delay(Duration::from_millis(2)));
    let dir = temp_dir("map-bounded");
    let text: String = (0..500).map(|i| format!("p{i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let output = dir.join("out.jsonl");
    let mut child = map(&server)
        .args(["-j", "2", "--output"])
        .arg(&output)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let proc = PathBuf::from(format!("/proc/{}", child.id()));
    let (mut most_threads, mut most_fds, mut samples) = (0, 0, 0);
    while child.try_wait().unwrap().is_none() {
        let threads = std::fs::read_dir(proc.join("task"))
            .map(|d| d.count())
            .unwrap_or(0);
        let fds = std::fs::read_dir(proc.join("fd"))
            .map(|d| d.count())
            .unwrap_or(0);
        if whole_lines(&output).len() > 50 {
            most_threads = most_threads.max(threads);
            most_fds = most_fds.max(fds);
            samples += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(whole_lines(&output).len(), 500);
    assert!(samples > 0, "the run ended before it could be measured");
    // main, reader, 2 workers, log, ctrlc, up to 2 read-ahead threads, and a margin.
    assert!(most_threads <= 12, "{most_threads} threads");
    // stdio, the input twice, the output, 2 sockets, and a margin.
    assert!(most_fds <= 16, "{most_fds} descriptors");
    assert!(
        server.connections() <= 4,
        "{} connections",
        server.connections()
    );
}

#[cfg(unix)]
#[test]
fn progress_shows_on_a_terminal_and_not_in_a_pipe_or_with_quiet() {
    use common::pty::{run_in_pty, PtyOptions};
    let server = Many::start(|r| Answer::content(&prompt_of(r)).delay(Duration::from_millis(30)));
    let dir = temp_dir("map-progress");
    let text: String = (0..20).map(|i| format!("p{i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let opts = PtyOptions {
        stdout_tty: false,
        ..PtyOptions::default()
    };
    let shown = run_in_pty(map(&server).args(["-j", "1"]).arg(&input), opts);
    assert_eq!(shown.status, Some(0));
    let text = shown.text();
    assert!(text.contains("/20"), "no progress bar: {text:?}");
    assert!(text.contains("in flight"), "{text:?}");
    assert!(text.contains("20 of 20 items done"), "{text:?}");

    let quiet = run_in_pty(map(&server).args(["-q", "-j", "4"]).arg(&input), opts);
    assert_eq!(quiet.status, Some(0));
    assert_eq!(quiet.text(), "", "-q shows nothing");

    let piped = run(map(&server).args(["-j", "4"]).arg(&input), None);
    assert_eq!(piped.status, Some(0));
    assert!(!piped.stderr.contains("/20"), "{}", piped.stderr);
    assert!(!piped.stderr.contains('\x1b'), "{:?}", piped.stderr);
}

#[test]
fn a_used_up_quota_stops_the_run_with_exit_5() {
    let count = Arc::new(AtomicUsize::new(0));
    let server = {
        let count = Arc::clone(&count);
        Many::start(move |_| {
            count.fetch_add(1, Ordering::SeqCst);
            Answer::error(
                429,
                "insufficient_quota",
                "You exceeded your current quota, please check your plan and billing details.",
            )
        })
    };
    let dir = temp_dir("map-quota");
    let text: String = (0..100).map(|i| format!("prompt {i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let out = run(map(&server).args(["-j", "1"]).arg(&input), None);
    assert_eq!(out.status, Some(5), "{}", show(&out));
    assert!(out.stderr.contains("the run stopped"), "{}", out.stderr);
    // Not retried (money does not come back by waiting), and nothing sent after it: the one
    // worker stops the run itself, before the writer thread has seen the error.
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_used_up_quota_stops_the_run_while_the_output_is_blocked() {
    // The first answer is a line far longer than a pipe holds, and nobody reads stdout for a
    // while: the thread that writes lines is stuck in that write when the quota error comes. The
    // worker must stop the run itself; waiting for the writer to see the error lets it send
    // every other item first, each to fail the same way.
    use std::io::Read;
    use std::process::Stdio;
    let count = Arc::new(AtomicUsize::new(0));
    let server = {
        let count = Arc::clone(&count);
        Many::start(move |r| {
            count.fetch_add(1, Ordering::SeqCst);
            if prompt_of(r) == "prompt 0" {
                Answer::content(&"x".repeat(1 << 20))
            } else {
                Answer::error(
                    429,
                    "insufficient_quota",
                    "You exceeded your current quota.",
                )
            }
        })
    };
    let dir = temp_dir("map-quota-blocked");
    let text: String = (0..50).map(|i| format!("prompt {i}\n")).collect();
    let input = write(&dir, "in.txt", &text);
    let mut child = map(&server)
        .args(["-j", "1"])
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Time for a worker that was not stopped to send more (this only makes the failure likely;
    // the passing run does not depend on it).
    std::thread::sleep(Duration::from_millis(300));
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("the run stopped"), "{stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 2, "{stderr}");
    assert_eq!(stdout.iter().filter(|&&b| b == b'\n').count(), 2);
}

#[test]
fn rpm_spaces_the_requests() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let times = Arc::clone(&times);
        Many::start(move |r| {
            times.lock().unwrap().push(std::time::Instant::now());
            Answer::content(&prompt_of(r))
        })
    };
    let dir = temp_dir("map-rpm");
    let input = write(&dir, "in.txt", "a\nb\nc\n");
    // 60 a minute: one a second, whatever -j allows.
    let out = run(
        map(&server).args(["-j", "8", "--rpm", "60"]).arg(&input),
        None,
    );
    assert_eq!(out.status, Some(0), "{}", show(&out));
    let times = times.lock().unwrap();
    assert_eq!(times.len(), 3);
    let span = times[2].duration_since(times[0]);
    assert!(span >= Duration::from_millis(1900), "{span:?}");
}
