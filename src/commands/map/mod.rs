//! `qstream map`: many prompts, several in flight at once under the account's rate limits,
//! one JSON line per item as it completes (issue 15, DESIGN §8).
//!
//! Threads: one reads the items (a second pass over the input, after the first checked it
//! whole), `-j` workers each run `exchange::exchange` with a capturing sink and the shared
//! agent and pace, one writes the log; this thread collects the answers, writes the lines and
//! shows the progress. Threads and sockets are bounded by `-j`, memory by `-j` answers (plus
//! the ids, for duplicates and resume), whatever the input's size.

mod output;
pub mod pace;
mod report;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::cli::{Cli, MapArgs};
use crate::commands::item_line::{ItemError, ItemLine, Timings};
use crate::config::{Config, Env, Stdin};
use crate::error::{Error, Exit, Result};
use crate::event::Usage;
use crate::exchange::{self, Shared, Source, Summary};
use crate::items::{self, Item, ItemsOptions};
use crate::sink::{Session, Sink, Stats};
use crate::transport::Cancel;
use crate::{request, settings, sink, store, transport};

use self::output::Out;
use self::pace::Limits;
use self::report::Report;

/// Run `qstream map` and report: the process's exit code.
pub fn main(cli: &Cli, args: &MapArgs, env: &dyn Env) -> u8 {
    let cancel = Arc::new(Cancel::default());
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    match run(cli, args, env, &cancel) {
        Ok(code) => code,
        Err(e) if e.is_quiet() => 0,
        Err(e) => {
            sink::stdio::line(&format!("qstream: {e}"));
            e.exit.code()
        }
    }
}

/// Options of a single request that mean nothing for many.
fn refuse_single_only(cli: &Cli) -> Result<()> {
    let given = [
        (
            !cli.prompt.is_empty(),
            "a prompt (the prompts come from INPUT)",
        ),
        (cli.no_stdin, "--no-stdin"),
        (cli.continue_, "--continue"),
        (cli.cid.is_some(), "--cid"),
        (cli.json, "--json (the output is JSON lines already)"),
        (cli.raw, "--raw"),
        (cli.replay.is_some(), "--replay"),
        (cli.record.is_some(), "--record"),
        (cli.audio_out.is_some(), "--audio-out"),
        (cli.extract || cli.extract_last, "--extract"),
        (cli.dry_run, "--dry-run"),
        (
            cli.messages.as_deref() == Some(Path::new("-")),
            "--messages - (stdin is the input)",
        ),
    ];
    match given.iter().find(|(set, _)| *set) {
        Some((_, what)) => Err(Error::usage(format!("map takes no {what}"))),
        None => Ok(()),
    }
}

/// The input, readable twice: a file is opened again; stdin is copied to an unlinked
/// temporary file first (so memory does not grow with it).
struct Input {
    file: File,
    path: Option<PathBuf>,
}

impl Input {
    fn open(arg: Option<&Path>) -> Result<Input> {
        match arg.filter(|p| *p != Path::new("-")) {
            Some(path) => {
                let file = File::open(path)
                    .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
                if file.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(Error::usage(format!("{} is a directory", path.display())));
                }
                Ok(Input {
                    file,
                    path: Some(path.to_owned()),
                })
            }
            None => {
                use std::io::IsTerminal;
                if std::io::stdin().is_terminal() {
                    return Err(Error::usage(
                        "no input: give a file of items, or pipe them in (try 'qstream map --help')",
                    ));
                }
                let tmp = std::env::temp_dir().join(format!(
                    "qstream-map-{}-{}",
                    std::process::id(),
                    store::new_id()
                ));
                let cannot =
                    |e: std::io::Error| Error::internal(format!("cannot spool stdin: {e}"));
                let mut file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
                    .map_err(cannot)?;
                let _ = std::fs::remove_file(&tmp);
                std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(cannot)?;
                Ok(Input { file, path: None })
            }
        }
    }

    /// A reader from the start.
    fn reader(&self) -> Result<BufReader<File>> {
        let mut file = self
            .file
            .try_clone()
            .map_err(|e| Error::internal(format!("cannot read the input again: {e}")))?;
        file.rewind()
            .map_err(|e| Error::internal(format!("cannot read the input again: {e}")))?;
        Ok(BufReader::with_capacity(64 * 1024, file))
    }
}

/// The item's prompt through the role's template, then its settings.
pub(crate) fn prepare(cli: &Cli, base: &Config, mut item: Item) -> Result<(Item, Config)> {
    if cli.template.is_some() {
        if let Some(p) = item.prompt.take() {
            let words = Cli {
                prompt: vec![p],
                ..cli.clone()
            };
            let (filled, _) = settings::fill_template(&words, Stdin::default());
            item.prompt = filled.prompt.first().cloned();
        }
    }
    let config = items::config_for(base, &item)?;
    Ok((item, config))
}

fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// The JSON line (ending in `\n`) of a finished item.
fn line_of(id: &str, s: &Summary) -> Vec<u8> {
    let empty = String::new();
    let t = s.transcript.as_ref();
    let (content, reasoning) = t.map_or((&empty, &empty), |t| (&t.content, &t.reasoning));
    let line = ItemLine {
        id,
        status: if s.result.is_ok() { "ok" } else { "error" },
        content,
        reasoning,
        tool_calls: t.and_then(|t| t.tool_calls()),
        finish: t.and_then(|t| t.finish_reason.as_deref()),
        usage: s.usage,
        request_id: s.request_id.as_deref(),
        error: s.result.as_ref().err().map(ItemError::of),
        exit: s.result.as_ref().err().map_or(0, |e| e.exit.code()),
        timings: Some(Timings {
            ttft_s: s.ttft_sent.or(s.ttft).map(round_ms),
            duration_s: round_ms(s.duration),
        }),
    };
    let mut out = line.to_json().into_bytes();
    out.push(b'\n');
    out
}

/// The most answer text (content and reasoning) an item keeps. The line is the answer, so it
/// is never cut silently: a longer one makes the item an error (see [`clipped_is_an_error`]).
const ANSWER_MAX: usize = 64 << 20;

/// An answer longer than [`ANSWER_MAX`] was cut: the item is not done (it is an error, exit 7,
/// with what was kept), so the run ends with exit 8 and says which.
fn clipped_is_an_error(mut s: Summary) -> Summary {
    if s.result.is_ok() && s.transcript.as_ref().is_some_and(|t| t.clipped) {
        s.result = Err(Error::network(format!(
            "the answer was longer than {} MiB: the first {} MiB are kept",
            ANSWER_MAX >> 20,
            ANSWER_MAX >> 20
        )));
    }
    s
}

/// A sink that keeps nothing itself: the session around it keeps the transcript.
struct Discard;

impl Sink for Discard {
    fn event(&mut self, _: crate::event::Event<'_>) -> Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    fn fail(&mut self, _: &Error, _: Option<Usage>) -> Result<()> {
        Ok(())
    }
    fn stats(&mut self, _: &Stats) -> Result<()> {
        Ok(())
    }
    fn notice(&mut self, _: &str) {}
}

/// What a worker hands back.
struct Done {
    index: u64,
    id: String,
    line: u64,
    summary: Summary,
    row: Option<store::NewExchange>,
}

/// Whether an error stops the whole run: every other item would fail the same way.
fn stops_the_run(e: &Error) -> bool {
    match e.exit {
        Exit::Auth => true,
        Exit::RateLimit => e
            .api
            .as_ref()
            .and_then(crate::explain::limit)
            .is_some_and(|l| l == crate::explain::Limit::Quota),
        _ => false,
    }
}

/// How far ahead of the last line written the reader may go with `--ordered`, in items: the
/// answers held back waiting for a slow one stay bounded.
fn ordered_window(jobs: u32) -> u64 {
    u64::from(jobs) * 4 + 16
}

fn run(cli: &Cli, args: &MapArgs, env: &dyn Env, cancel: &Arc<Cancel>) -> Result<u8> {
    let terminals = sink::stdio::init();
    refuse_single_only(cli)?;
    let input = Input::open(args.input.as_deref())?;
    if let (Some(out), Some(inp)) = (&args.output, &input.path) {
        let same = match (std::fs::canonicalize(out), std::fs::canonicalize(inp)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(Error::usage(format!(
                "--output {} is the input: it would be overwritten",
                out.display()
            )));
        }
    }
    let opts = ItemsOptions {
        format: args.format,
        template: args.template.clone(),
        id_column: args.id_column.clone(),
        lines: args.lines,
    };
    // The run's settings: every item's request starts from them.
    let base_cli = Cli {
        prompt: vec!["item".to_owned()],
        no_stdin: true,
        template: None,
        ..cli.clone()
    };
    let base = Config::from_cli(&base_cli, env, Stdin::default())?;
    let quiet = base.quiet;
    if !quiet {
        for w in &base.warnings {
            sink::stdio::line(w);
        }
    }

    // First pass: the whole input is checked (formats, templates, ids) before anything is sent.
    let done_before = match &args.output {
        Some(path) => output::resume(path)?,
        None => HashSet::new(),
    };
    let path_hint = input.path.as_deref();
    let mut total = 0u64;
    let mut todo = 0u64;
    {
        let mut seen: HashMap<String, u64> = HashMap::new();
        for item in items::read(input.reader()?, path_hint, &opts)? {
            let (item, _) = prepare(cli, &base, item?)?;
            if let Some(first) = seen.insert(item.id.clone(), item.line) {
                return Err(Error::usage(format!(
                    "duplicate id {:?}: on input lines {first} and {}",
                    item.id, item.line
                )));
            }
            total += 1;
            if !done_before.contains(&item.id) {
                todo += 1;
            }
        }
    }
    let skipped = total - todo;

    let request0 = request::build(&base);
    transport::check_scheme(&request0.url, base.network.allow_insecure_http)?;
    let key = settings::api_key(cli.key_source.as_ref(), env)?;
    crate::redact::register(key.expose());
    let mut out = match &args.output {
        Some(path) => Out::file(path)?,
        None => Out::stdout(terminals.stdout),
    };
    let log = store::record::log_path(cli, env).map(|path| Log::start(path, env, quiet));
    let run_id = store::new_id();

    let jobs = args.jobs.max(1);
    let workers = u64::from(jobs).min(todo.max(1)) as usize;
    let agent = transport::agent_for_pool(&base.network, &request0.url, workers)?;
    let limits = Limits::new(jobs, args.rpm, args.tpm);
    let stop = AtomicBool::new(false);
    // `--ordered`: the index of the next line to write, for the reader to keep within reach.
    let written = (Mutex::new(0u64), Condvar::new());
    let window = ordered_window(jobs);
    let sent = AtomicU64::new(0);

    let mut report = Report::new(todo, skipped, terminals.stderr && !quiet, base.stats, quiet);
    let started = Instant::now();
    let mut stopped: Option<Error> = None;
    let mut closed = false;
    let mut write_error: Option<Error> = None;

    std::thread::scope(|scope| -> Result<()> {
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Item, Config)>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();

        // The reader: the second pass, items not done before, in input order.
        let reader = input.reader()?;
        let (stop, written, cancel_r, sent_r) = (&stop, &written, &**cancel, &sent);
        let (base_r, opts_r, done_before) = (&base, &opts, &done_before);
        let ordered = args.ordered;
        scope.spawn(move || {
            let Ok(items) = items::read(reader, path_hint, opts_r) else {
                return;
            };
            let mut index = 0u64;
            for item in items {
                if stop.load(Ordering::SeqCst) || cancel_r.is_cancelled() {
                    return;
                }
                // Checked whole in the first pass: an error now means the input changed.
                let Ok(item) = item else { return };
                if done_before.contains(&item.id) {
                    continue;
                }
                let Ok((item, config)) = prepare(cli, base_r, item) else {
                    return;
                };
                if ordered {
                    let (lock, cv) = written;
                    let mut next = lock.lock().unwrap_or_else(|p| p.into_inner());
                    while index >= *next + window {
                        if stop.load(Ordering::SeqCst) || cancel_r.is_cancelled() {
                            return;
                        }
                        next = match cv.wait_timeout(next, Duration::from_millis(50)) {
                            Ok((n, _)) => n,
                            Err(p) => p.into_inner().0,
                        };
                    }
                }
                if job_tx.send((index, item, config)).is_err() {
                    return;
                }
                sent_r.fetch_add(1, Ordering::Relaxed);
                index += 1;
            }
        });

        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let (agent, limits, key) = (&agent, &limits, &key);
            let (cli_w, run_id, logging) = (cli, &run_id, log.is_some());
            let (cancel_w, stop_w) = (&**cancel, stop);
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((index, item, config)) = job else {
                    return;
                };
                if cancel_w.is_cancelled() || limits.enter(cancel_w).is_err() {
                    return;
                }
                let row = logging.then(|| {
                    let mut row = store::record::new_exchange(cli_w, &config, None);
                    row.run_id = Some(run_id.clone());
                    // The item's own system message, if it has one, is the one sent.
                    if item.system.is_some() {
                        row.system = item.system.clone().map(crate::redact::redact_string);
                    }
                    row
                });
                let mut session = Session::new(Box::new(Discard), None, false, true)
                    .with_transcript_limit(ANSWER_MAX)
                    .live(true);
                let source = Source::Network(key.clone(), request::build(&config));
                let summary = exchange::exchange(
                    &config,
                    source,
                    None,
                    &mut session,
                    cancel_w,
                    Shared {
                        agent: Some(agent),
                        pace: Some(limits),
                        opened: None,
                    },
                );
                limits.leave(summary.usage.map_or(0, |u| u.total_tokens));
                let summary = clipped_is_an_error(summary);
                // Stopped here, not when the writer gets to it: by then this worker could have
                // sent the next items, each to fail the same way.
                if matches!(&summary.result, Err(e) if stops_the_run(e)) {
                    stop_w.store(true, Ordering::SeqCst);
                    cancel_w.stop();
                }
                let done = Done {
                    index,
                    id: item.id,
                    line: item.line,
                    summary,
                    row,
                };
                if done_tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);

        // This thread: lines out, in completion or input order.
        let mut held: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut next = 0u64;
        let tick = Duration::from_millis(100);
        loop {
            let done = match done_rx.recv_timeout(tick) {
                Ok(done) => done,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    report.tick(&limits.snapshot());
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let interrupted = matches!(&done.summary.result, Err(e) if e.exit == Exit::Interrupted)
                && cancel.is_cancelled();
            if interrupted {
                // Half-done: not written, sent again by a rerun.
                report.interrupted();
                continue;
            }
            if let Err(e) = &done.summary.result {
                if stops_the_run(e) && stopped.is_none() {
                    stopped = Some(Error {
                        message: format!("{} (line {}, id {})", e.message, done.line, done.id),
                        ..e.clone()
                    });
                    stop.store(true, Ordering::SeqCst);
                    cancel.stop();
                }
            }
            report.item(&done.summary);
            report.tick(&limits.snapshot());
            let line = line_of(&done.id, &done.summary);
            if let (Some(log), Some(row)) = (&log, done.row) {
                log.send(row, done.summary);
            }
            if write_error.is_some() || closed {
                continue;
            }
            let mut write = |mut line: Vec<u8>| match out.line(&mut line) {
                Ok(()) => {}
                Err(e) if e.is_quiet() => closed = true,
                Err(e) => write_error = Some(e),
            };
            if args.ordered {
                held.insert(done.index, line);
                while let Some(line) = held.remove(&next) {
                    write(line);
                    next += 1;
                }
                let (lock, cv) = &written;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = next;
                cv.notify_all();
            } else {
                write(line);
            }
            if closed || write_error.is_some() {
                stop.store(true, Ordering::SeqCst);
                cancel.stop();
            }
        }
        // Lines held behind an interrupted item.
        if write_error.is_none() && !closed {
            for (_, mut line) in std::mem::take(&mut held) {
                if let Err(e) = out.line(&mut line) {
                    if !e.is_quiet() {
                        write_error = Some(e);
                    }
                    break;
                }
            }
        }
        Ok(())
    })?;

    let finished = out.finish();
    if let Some(log) = log {
        if let Some(warning) = log.finish() {
            sink::stdio::line(&warning);
        }
    }
    let elapsed = started.elapsed();
    let sent = sent.load(Ordering::Relaxed);
    let refused = limits.snapshot().refused;
    report.finish(elapsed, refused, sent);
    if let Some(e) = write_error {
        return Err(e);
    }
    if closed {
        return Ok(0);
    }
    finished?;
    if let Some(e) = stopped {
        let left = todo.saturating_sub(report.written());
        return Err(Error {
            message: format!(
                "{}; the run stopped: every other item would fail the same way ({left} not done)",
                e.message
            ),
            ..e
        });
    }
    if cancel.is_cancelled() {
        let left = todo.saturating_sub(report.written());
        let how = match &args.output {
            Some(path) => format!("; rerun with --output {} to finish them", path.display()),
            None => String::new(),
        };
        return Err(Error::new(
            Exit::Interrupted,
            format!("interrupted: {left} of {total} items not done{how}"),
        ));
    }
    let written = report.written();
    if written < todo {
        // Checked whole before, the input read differently the second time.
        return Err(Error::internal(format!(
            "the input changed while it was read: {} of {todo} items not done (run again to finish them)",
            todo - written
        )));
    }
    let failed = report.failed();
    if failed > 0 {
        sink::stdio::line(&format!(
            "qstream: {failed} of {todo} items failed (their lines say why; `jq 'select(.status==\"error\")'`)"
        ));
        return Ok(Exit::SomeFailed.code());
    }
    Ok(0)
}

/// The most rows waiting for the log.
const LOG_BACKLOG: usize = 1024;

/// The log of a run: one thread, one connection, rows written in batches.
struct Log {
    tx: Option<mpsc::SyncSender<(store::NewExchange, store::Outcome)>>,
    thread: Option<std::thread::JoinHandle<Option<String>>>,
}

impl Log {
    fn start(path: PathBuf, env: &dyn Env, quiet: bool) -> Log {
        let busy = env
            .var("QSTREAM_LOG_BUSY_MS")
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(store::BUSY_TIMEOUT);
        // Bounded: a log slower than the answers holds the run back rather than its memory
        // growing with the backlog.
        let (tx, rx) = mpsc::sync_channel::<(store::NewExchange, store::Outcome)>(LOG_BACKLOG);
        let thread = std::thread::Builder::new()
            .name("qstream-log".to_owned())
            .spawn(move || {
                let mut failure = None;
                let store = match store::Store::open(&path, busy) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        failure = Some(e.to_string());
                        None
                    }
                };
                while let Ok(first) = rx.recv() {
                    let Some(store) = &store else { continue };
                    let mut batch = vec![first];
                    while batch.len() < 256 {
                        match rx.try_recv() {
                            Ok(row) => batch.push(row),
                            Err(_) => break,
                        }
                    }
                    let result = store
                        .conn()
                        .unchecked_transaction()
                        .map_err(store::StoreError::from)
                        .and_then(|tx| {
                            for (row, outcome) in &mut batch {
                                store.insert(row)?;
                                store.complete(&row.id, outcome)?;
                            }
                            tx.commit().map_err(store::StoreError::from)
                        });
                    if let Err(e) = result {
                        failure.get_or_insert(e.to_string());
                    }
                }
                failure
                    .filter(|_| !quiet)
                    .map(|e| format!("qstream: warning: items not logged: {e}"))
            })
            .ok();
        Log {
            tx: Some(tx),
            thread,
        }
    }

    fn send(&self, mut row: store::NewExchange, s: Summary) {
        let mut outcome =
            store::record::outcome(&s.result, s.opened, s.transcript, s.request_id, s.ttft);
        outcome.duration_ms = s.duration.as_secs_f64() * 1000.0;
        row.started_at = store::now_ms() - s.duration.as_millis() as i64;
        if let Some(tx) = &self.tx {
            let _ = tx.send((row, outcome));
        }
    }

    /// Wait for the rows to be written; the warning to print, if the log failed.
    fn finish(mut self) -> Option<String> {
        drop(self.tx.take());
        self.thread.take().and_then(|t| t.join().ok()).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::sink::Transcript;
    use serde_json::Value;
    use std::borrow::Cow;

    fn summary_with(text: &str, limit: usize) -> Summary {
        let mut t = Transcript::with_limit(limit);
        t.event(&Event::Content {
            choice: 0,
            text: Cow::Borrowed(text),
        });
        Summary {
            result: Ok(()),
            opened: true,
            request_id: None,
            usage: None,
            transcript: Some(t),
            ttft: None,
            ttft_sent: None,
            duration: Duration::ZERO,
        }
    }

    #[test]
    fn a_whole_answer_is_ok_and_a_cut_one_is_an_error_with_what_was_kept() {
        let whole: Value =
            serde_json::from_slice(&line_of("a", &clipped_is_an_error(summary_with("abc", 3))))
                .unwrap();
        assert_eq!(whole["status"], "ok");
        assert_eq!(whole["content"], "abc");
        let cut: Value =
            serde_json::from_slice(&line_of("b", &clipped_is_an_error(summary_with("abcd", 3))))
                .unwrap();
        assert_eq!(cut["status"], "error");
        assert_eq!(cut["content"], "abc");
        assert_eq!(cut["exit"], 7);
        assert!(cut["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than"));
    }
}
