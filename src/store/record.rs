//! The prompt command's side of the log: which conversation a run continues, the row written
//! when the request is sent, and the one update when the run ends.
//!
//! The `running` row is inserted on a thread of its own while the request goes out, so opening
//! the database never delays the answer; the end of the run waits for that thread and then
//! completes the row. A failure anywhere is one warning line, and the answer is untouched.

use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{new_id, now_ms, Messages, NewExchange, Outcome, Store, StoreError, BUSY_TIMEOUT};
use clap::ValueEnum;

use crate::cli::{Cli, MediaKind, Protocol};
use crate::config::{Config, Env};
use crate::error::{Error, Exit, Result};
use crate::sink::Transcript;

/// Whether this run is logged, and where.
pub fn log_path(cli: &Cli, env: &dyn Env) -> Option<PathBuf> {
    if cli.no_log || super::disabled_by_env(env) || cli.replay.is_some() || cli.dry_run {
        return None;
    }
    super::path(env)
}

/// The busy timeout: `QSTREAM_LOG_BUSY_MS` (undocumented, for tests of a locked database).
fn busy_timeout(env: &dyn Env) -> Duration {
    env.var("QSTREAM_LOG_BUSY_MS")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(BUSY_TIMEOUT)
}

/// `-c` / `--cid`: the conversation to continue, and the command line with its earlier turns
/// and carried-over settings. `None` when the run starts a new conversation.
pub fn continuation(cli: &Cli, env: &dyn Env) -> Result<Option<(Cli, String)>> {
    if !cli.continue_ && cli.cid.is_none() {
        return Ok(None);
    }
    let flag = if cli.continue_ { "-c" } else { "--cid" };
    let Some(path) = super::path(env) else {
        return Err(Error::usage(format!(
            "{flag}: no log to continue from (set QSTREAM_LOG_DB or HOME)"
        )));
    };
    let store = match Store::open_existing(&path) {
        Ok(Some(store)) => store,
        Ok(None) => {
            return Err(Error::usage(format!(
                "{flag}: the log {} holds no conversation yet",
                path.display()
            )))
        }
        Err(e) => return Err(Error::usage(format!("{flag}: cannot read the log: {e}"))),
    };
    let usage = |e: StoreError| Error::usage(format!("{flag}: {e}"));
    let cid = match &cli.cid {
        Some(prefix) => store.resolve_cid(prefix).map_err(usage)?,
        None => store
            .latest_cid()
            .map_err(usage)?
            .ok_or_else(|| Error::usage("-c: the log holds no conversation yet"))?,
    };
    let mut cli = cli.clone();
    cli.history = store.history(&cid).map_err(usage)?;
    if let Some((model, system, protocol)) = store.conversation_settings(&cid).map_err(usage)? {
        if !cli.explicit.contains(&"model") {
            cli.model = Some(model);
        }
        if !cli.explicit.contains(&"system") && cli.system.is_none() {
            cli.system = system;
        }
        if !cli.explicit.contains(&"protocol") {
            cli.protocol = match protocol.as_str() {
                "dashscope" => Some(Protocol::Dashscope),
                "compatible" => Some(Protocol::Compatible),
                _ => cli.protocol,
            };
        }
    }
    Ok(Some((cli, cid)))
}

/// The row of this run, started when the request is sent.
pub struct Recorder {
    id: String,
    started: Instant,
    quiet: bool,
    insert: Option<JoinHandle<Result<Store, StoreError>>>,
}

impl Recorder {
    /// Insert the `running` row on a thread of its own; the run's duration counts from
    /// `started`.
    pub fn start(
        path: PathBuf,
        row: NewExchange,
        env: &dyn Env,
        quiet: bool,
        started: Instant,
    ) -> Recorder {
        let busy = busy_timeout(env);
        let id = row.id.clone();
        let insert = std::thread::Builder::new()
            .name("qstream-log".to_owned())
            .spawn(move || {
                let store = Store::open(&path, busy)?;
                store.insert(&row)?;
                Ok(store)
            });
        Recorder {
            id,
            started,
            quiet,
            insert: insert.ok(),
        }
    }

    /// Complete the row, once. Returns the warning to print, if the log failed.
    pub fn finish(mut self, mut outcome: Outcome) -> Option<String> {
        outcome.duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let result = match self.insert.take().map(JoinHandle::join) {
            Some(Ok(Ok(store))) => {
                store.checkpoint_later();
                store.complete(&self.id, &mut outcome)
            }
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) | None => Err(StoreError("the log thread failed".to_owned())),
        };
        match result {
            Err(e) if !self.quiet => Some(format!("qstream: warning: not logged: {e}")),
            _ => None,
        }
    }
}

/// Messages with up to this many bytes of text are serialized for the row when it is made, as
/// they always were; a bigger turn's wait for the request to be sent ([`new_exchange_sent`]),
/// so that its text is not held next to the prompt.
pub const HELD_WHOLE: usize = 1 << 20;

/// The row for a request about to be sent, its messages serialized now.
pub fn new_exchange(cli: &Cli, config: &Config, cid: Option<String>) -> NewExchange {
    let skip = usize::from(cli.system.is_some()) + cli.history.len();
    let messages = Messages::Json(messages_json(
        config.messages.get(skip..).unwrap_or_default(),
    ));
    exchange_row(cli, config, cid, messages)
}

/// As [`new_exchange`], for a request that [`crate::request::build_moving`] will take the
/// messages of: a big turn's messages are left in the request, to be taken from it once it has
/// been sent ([`Messages::take_sent`]) and serialized on the log's thread.
pub fn new_exchange_sent(cli: &Cli, config: &Config, cid: Option<String>) -> NewExchange {
    // The messages sent this turn: after the -s system message and the earlier turns.
    let skip = usize::from(cli.system.is_some()) + cli.history.len();
    let this_turn = config.messages.get(skip..).unwrap_or_default();
    let messages =
        if text_bytes(this_turn) > HELD_WHOLE && crate::request::sends_messages_as_given(config) {
            Messages::Sent { skip }
        } else {
            Messages::Json(messages_json(this_turn))
        };
    exchange_row(cli, config, cid, messages)
}

/// The bytes of the strings in `messages`, at least: no more than that goes into their JSON
/// text, quotes and escapes aside.
fn text_bytes(messages: &[Value]) -> usize {
    fn walk(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len(),
            Value::Array(a) => a.iter().map(walk).sum(),
            Value::Object(o) => o.iter().map(|(k, v)| k.len() + walk(v)).sum(),
            _ => 0,
        }
    }
    messages.iter().map(walk).sum()
}

fn exchange_row(
    cli: &Cli,
    config: &Config,
    cid: Option<String>,
    messages: Messages,
) -> NewExchange {
    let id = new_id();
    let prompt = config
        .prompt_index
        .and_then(|i| config.messages.get(i))
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .map(listed_prompt);
    let mut params = Map::new();
    params.extend(config.params.clone());
    if let Some(t) = config.thinking {
        params.insert("enable_thinking".to_owned(), Value::Bool(t));
    }
    if !config.incremental {
        params.insert("incremental_output".to_owned(), Value::Bool(false));
    }
    if let Some(tools) = &config.tools {
        params.insert("tools".to_owned(), tools.clone());
    }
    if let Some(choice) = &config.tool_choice {
        params.insert("tool_choice".to_owned(), choice.clone());
    }
    if config.audio_out.is_some() {
        params.insert("voice".to_owned(), Value::String(config.voice.clone()));
    }
    let media =
        (!cli.media.is_empty()).then(|| Value::Array(cli.media.iter().map(media).collect()));
    NewExchange {
        cid: cid.unwrap_or_else(|| id.clone()),
        id,
        started_at: now_ms(),
        model: config.model.clone(),
        protocol: match config.protocol {
            Protocol::Compatible => "compatible",
            Protocol::Dashscope => "dashscope",
        }
        .to_owned(),
        region: config
            .region
            .and_then(|r| r.to_possible_value())
            .map(|v| v.get_name().to_owned()),
        base_url: crate::redact::url_passwords(&config.base_url).into_owned(),
        system: cli.system.clone().map(crate::redact::redact_string),
        prompt: prompt.map(crate::redact::redact_string),
        messages,
        media,
        params: clean_value(Value::Object(params)),
        run_id: None,
    }
}

/// The messages as the log keeps them: JSON text with the key redacted. Serialized from the
/// borrowed messages and redacted as text, which is the same as redacting every string in them
/// as long as the key's JSON form is its text (no quote, backslash or control character, as in
/// every real key); else they are cleaned string by string.
pub(crate) fn messages_json(messages: &[Value]) -> String {
    if crate::redact::key_is_plain_json() {
        let json = serde_json::to_string(messages).unwrap_or_else(|_| "[]".to_owned());
        crate::redact::redact_string(json)
    } else {
        let clean: Vec<Redacted<'_>> = messages.iter().map(Redacted).collect();
        serde_json::to_string(&clean).unwrap_or_else(|_| "[]".to_owned())
    }
}

/// How much of a prompt the `prompt` column keeps. That column is for listing, `log show` and
/// full-text search; the whole prompt is in the row's `messages`, from which `-c` rebuilds the
/// conversation. Indexing a 50 MB prompt whole took 1.6 s and 350 MiB (issue 17).
pub const PROMPT_LISTED: usize = 64 << 10;

/// The prompt as the `prompt` column keeps it: whole up to [`PROMPT_LISTED`] bytes, else its
/// start (cut at a character boundary) and a line saying how much more the messages hold.
fn listed_prompt(prompt: &str) -> String {
    if prompt.len() <= PROMPT_LISTED {
        return prompt.to_owned();
    }
    let mut end = PROMPT_LISTED;
    while !prompt.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[… {} more bytes: the whole prompt is in this exchange's messages]",
        &prompt[..end],
        prompt.len() - end
    )
}

/// An attachment as the log keeps it: the path or URL, and for a local file its size and
/// SHA-256; never the bytes.
fn media((kind, arg): &(MediaKind, String)) -> Value {
    let kind = match kind {
        MediaKind::Image => "image",
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    };
    if let Some(rest) = arg.strip_prefix("data:") {
        // An inline data: URL: keep its type and size, not its payload.
        let mime = rest.split([';', ',']).next().unwrap_or("");
        return json!({"kind": kind, "data_url": mime, "bytes": arg.len(), "sha256": sha256_hex(arg.as_bytes())});
    }
    match std::fs::read(arg) {
        Ok(bytes) if !arg.contains("://") => {
            let path = std::fs::canonicalize(arg)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| arg.clone());
            json!({"kind": kind, "path": path, "bytes": bytes.len(), "sha256": sha256_hex(&bytes)})
        }
        _ => json!({"kind": kind, "url": arg}),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the run ended, as the log says it: `interrupted` for Ctrl-C and for a reader that closed
/// stdout, `truncated` for a stream that broke off after it began, `error` for the rest.
pub fn outcome(
    result: &Result<()>,
    opened: bool,
    transcript: Option<Transcript>,
    request_id: Option<String>,
    ttft: Option<Duration>,
) -> Outcome {
    let t = transcript.unwrap_or_default();
    // The key never reaches the log, even when a server or the user's input holds it.
    let clean = crate::redact::redact_string;
    let (status, error, exit_code) = match result {
        Ok(()) => ("ok", None, 0),
        Err(e) if e.is_quiet() => ("interrupted", Some("stdout was closed".to_owned()), 0),
        Err(e) => {
            let status = match e.exit {
                Exit::Interrupted => "interrupted",
                Exit::Network if opened => "truncated",
                _ => "error",
            };
            (status, Some(e.to_string()), i64::from(e.exit.code()))
        }
    };
    let tool_calls = t
        .tool_calls()
        .and_then(|calls| serde_json::to_value(calls).ok())
        .map(clean_value);
    Outcome {
        status,
        tool_calls,
        sources: t
            .sources
            .and_then(|s| serde_json::to_value(s).ok())
            .map(clean_value),
        finish_reason: t.finish_reason,
        usage: t.usage,
        request_id,
        ttft_ms: ttft.map(|d| d.as_secs_f64() * 1000.0),
        duration_ms: 0.0,
        error,
        exit_code,
        clipped: t.clipped,
        content: clean(t.content),
        reasoning: clean(t.reasoning),
    }
}

/// A JSON value with the key redacted from every string in it.
pub(crate) fn clean_value(v: Value) -> Value {
    match serde_json::to_value(Redacted(&v)) {
        Ok(clean) => clean,
        // Serializing a `Value` into a `Value` does not fail.
        Err(_) => v,
    }
}

/// A JSON value serialized with the key redacted from every string in it (object keys are
/// left alone), without copying the value: the one rule for whatever the log keeps.
pub(crate) struct Redacted<'a>(pub &'a Value);

impl serde::Serialize for Redacted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(t) => s.serialize_str(&crate::redact::redact(t)),
            Value::Array(a) => s.collect_seq(a.iter().map(Redacted)),
            Value::Object(o) => s.collect_map(o.iter().map(|(k, v)| (k, Redacted(v)))),
            other => other.serialize(s),
        }
    }
}
