//! The local log (issue 14, DESIGN §8): every exchange kept in an SQLite database.
//!
//! The front door writes a row when the request is sent (`running`) and completes it once when
//! the run ends; nothing here is called per delta. Many qstream processes may write at once:
//! WAL, a busy timeout and one short transaction per write keep every row whole.

pub mod batches;
pub mod parts;
pub mod queries;
pub mod record;
pub mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use crate::config::Env;

/// Why the log could not be read or written: said once on stderr, never fatal to an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long a write waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Statuses a row can have.
pub const STATUSES: [&str; 5] = ["ok", "error", "interrupted", "truncated", "running"];

/// Where the log lives: `$QSTREAM_LOG_DB`, else `$XDG_DATA_HOME/qstream/log.db`, else
/// `~/.local/share/qstream/log.db`.
pub fn path(env: &dyn Env) -> Option<PathBuf> {
    if let Some(p) = env.var("QSTREAM_LOG_DB") {
        return Some(PathBuf::from(p));
    }
    // The XDG spec: a relative value is invalid and is ignored.
    if let Some(d) = env
        .var("XDG_DATA_HOME")
        .filter(|d| Path::new(d).is_absolute())
    {
        return Some(Path::new(&d).join("qstream").join("log.db"));
    }
    env.home().map(|h| {
        h.join(".local")
            .join("share")
            .join("qstream")
            .join("log.db")
    })
}

/// `QSTREAM_NO_LOG=1` (or `true`, `yes`) turns the log off.
pub fn disabled_by_env(env: &dyn Env) -> bool {
    env.var("QSTREAM_NO_LOG").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new sortable id: 48 bits of milliseconds then 80 random bits, in Crockford's base32
/// (26 characters, like a ULID), so ids sort by time and a prefix of one is easy to type.
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = now_ms().max(0) as u128 & ((1 << 48) - 1);
    // std's RandomState is seeded from the OS per process; mix in what tells calls apart.
    let mut random = 0u128;
    for round in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(round);
        h.write_u32(std::process::id());
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        random = (random << 64) | u128::from(h.finish());
    }
    let value = (ms << 80) | (random & ((1 << 80) - 1));
    (0..26)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (i * 5)) & 31) as usize]))
        .collect()
}

/// What is known when the request is sent.
#[derive(Debug, Clone, Default)]
pub struct NewExchange {
    pub id: String,
    pub cid: String,
    pub started_at: i64,
    pub model: String,
    pub protocol: String,
    pub region: Option<String>,
    pub base_url: String,
    pub system: Option<String>,
    /// The user's prompt this turn, for listing and search.
    pub prompt: Option<String>,
    /// The messages sent this turn (not the earlier turns of the conversation).
    pub messages: Messages,
    /// Attachments: path or URL, size and hash; never their bytes.
    pub media: Option<Value>,
    pub params: Value,
    /// The `qstream map` run this exchange is an item of.
    pub run_id: Option<String>,
}

/// The messages of a row, as the log gets them.
#[derive(Debug, Clone)]
pub enum Messages {
    /// As JSON text, the key redacted (serialized once, straight from the request's messages: a
    /// prompt is not copied into a second `Value` first).
    Json(String),
    /// The messages themselves (a big turn's, taken from the request once it was sent),
    /// serialized and redacted as the row is written: the text is never held whole.
    Values(Vec<Value>),
    /// A big turn's messages, not held yet: the request's, from the `skip`th on (the system
    /// message and earlier turns come first). [`Messages::take_sent`] takes them once the
    /// request has gone, so the prompt is held once.
    Sent { skip: usize },
}

impl Default for Messages {
    fn default() -> Self {
        Messages::Json(String::new())
    }
}

impl Messages {
    /// A [`Messages::Sent`] becomes the request's messages (anything else is left as it is).
    /// Without a request (none was built), the row says no message was sent.
    pub fn take_sent(&mut self, request: Option<crate::request::Request>) {
        if let Messages::Sent { skip } = *self {
            let mut messages = request
                .map(crate::request::into_messages)
                .unwrap_or_default();
            messages.drain(..skip.min(messages.len()));
            *self = Messages::Values(messages);
        }
    }
}

/// What is known when the run ends.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status: &'static str,
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Option<Value>,
    pub sources: Option<Value>,
    pub finish_reason: Option<String>,
    pub usage: Option<crate::event::Usage>,
    pub request_id: Option<String>,
    pub ttft_ms: Option<f64>,
    pub duration_ms: f64,
    pub error: Option<String>,
    pub exit_code: i64,
    /// The answer was longer than the log keeps: content and reasoning are cut.
    pub clipped: bool,
}

/// One row, as read back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exchange {
    pub id: String,
    pub cid: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub model: String,
    pub protocol: String,
    pub region: Option<String>,
    pub base_url: String,
    pub system: Option<String>,
    pub prompt: Option<String>,
    pub messages: Value,
    pub media: Option<Value>,
    pub params: Value,
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Option<Value>,
    pub sources: Option<Value>,
    pub finish_reason: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    pub cached_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub request_id: Option<String>,
    pub ttft_ms: Option<f64>,
    pub duration_ms: Option<f64>,
    pub status: String,
    pub error: Option<String>,
    pub exit_code: Option<i64>,
    pub clipped: bool,
}

/// An open log database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (creating when missing: directory 0700, file 0600) and bring the schema up to date.
    pub fn open(path: &Path, busy: Duration) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                make_dir(dir).map_err(|e| {
                    StoreError(format!("cannot make the directory {}: {e}", dir.display()))
                })?;
            }
        }
        create_private(path)
            .map_err(|e| StoreError(format!("cannot create {}: {e}", path.display())))?;
        let mut conn = connect(path, busy)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!(
                "cannot switch the database to WAL (journal mode is {mode})"
            )));
        }
        // In WAL mode NORMAL never corrupts; a power cut may lose the last commits only.
        // A small page cache: one process writes one row, and memory stays flat (DESIGN §5).
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -256")?;
        schema::migrate(&mut conn)?;
        Ok(Store { conn })
    }

    /// Open for reading by `qstream log`: `None` when there is no log yet.
    pub fn open_existing(path: &Path) -> Result<Option<Store>> {
        if !path.exists() {
            return Ok(None);
        }
        // Reading needs no write: a read-only database can still be listed.
        let mut conn = connect(path, BUSY_TIMEOUT)?;
        schema::migrate(&mut conn)?;
        Ok(Some(Store { conn }))
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The row of a request just sent, with status `running`. Messages longer than
    /// [`parts::PARTS_OVER`] go into `message_parts`, with the row in one transaction (a
    /// savepoint inside the caller's, if it holds one).
    pub fn insert(&self, x: &NewExchange) -> Result<()> {
        self.insert_sized(x, parts::Sizes::default())
    }

    pub(crate) fn insert_sized(&self, x: &NewExchange, sizes: parts::Sizes) -> Result<()> {
        if let Messages::Json(text) = &x.messages {
            if text.len() <= sizes.over {
                return self.insert_row(x, text);
            }
        }
        let nested = !self.conn.is_autocommit();
        self.conn.execute_batch(if nested {
            "SAVEPOINT qstream_row"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        let result = self.insert_with_parts(x, sizes);
        let end = match (&result, nested) {
            (Ok(()), true) => "RELEASE qstream_row",
            (Ok(()), false) => "COMMIT",
            (Err(_), true) => "ROLLBACK TO qstream_row; RELEASE qstream_row",
            (Err(_), false) => "ROLLBACK",
        };
        match (result, self.conn.execute_batch(end)) {
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e.into()),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    fn insert_with_parts(&self, x: &NewExchange, sizes: parts::Sizes) -> Result<()> {
        let written = match &x.messages {
            Messages::Json(text) => parts::write_text(&self.conn, &x.id, text, sizes)?,
            Messages::Values(values) => parts::write_values(&self.conn, &x.id, values, sizes)?,
            Messages::Sent { .. } => parts::Written::Inline("[]".to_owned()),
        };
        match written {
            parts::Written::Inline(text) | parts::Written::Parts(text) => self.insert_row(x, &text),
        }
    }

    /// The row itself, `messages` as given.
    fn insert_row(&self, x: &NewExchange, messages: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO exchanges (id, cid, started_at, model, protocol, region, base_url,
                    system, prompt, messages, media, params, status, run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'running', ?13)",
            )?
            .execute(params![
                x.id,
                x.cid,
                x.started_at,
                x.model,
                x.protocol,
                x.region,
                x.base_url,
                x.system,
                x.prompt,
                messages,
                x.media.as_ref().map(Value::to_string),
                x.params.to_string(),
                x.run_id,
            ])?;
        Ok(())
    }

    /// Leave the next checkpoint to the next writer: this connection's commits no longer copy
    /// the write-ahead log into the database, however long the log has grown.
    ///
    /// For the end of a run, which the user waits for. SQLite checkpoints on the commit that
    /// takes the log past 1000 pages, which the completion of a long answer often is: its fsyncs
    /// and page copies then came after the answer, 17 and 27 ms of 8 timed runs against 4–7 ms
    /// for the other completions (200,000 deltas, 512 KiB of text). The next run's insert, on
    /// its own thread while the request streams, commits past the limit and checkpoints there.
    pub fn checkpoint_later(&self) {
        // Only an I/O error of the pragma itself could fail it; the commit then checkpoints as
        // before, which is slower, not wrong.
        let _ = self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0");
    }

    /// Complete the row `id` once, at the end of the run. The answer's text is taken out of
    /// `o` once SQLite holds its own copy of every bound value and before the row is written,
    /// so the end of a run does not hold the answer once more than it must (DESIGN §5's memory
    /// budget: the row's record and the full-text index each copy it again).
    pub fn complete(&self, id: &str, o: &mut Outcome) -> Result<()> {
        let u = o.usage;
        let n = |v: Option<u64>| v.map(|v| v.min(i64::MAX as u64) as i64);
        let mut stmt = self.conn.prepare_cached(
            "UPDATE exchanges SET ended_at = ?2, status = ?3, content = ?4, reasoning = ?5,
                tool_calls = ?6, sources = ?7, finish_reason = ?8, input_tokens = ?9,
                output_tokens = ?10, total_tokens = ?11, cached_tokens = ?12,
                reasoning_tokens = ?13, request_id = ?14, ttft_ms = ?15, duration_ms = ?16,
                error = ?17, exit_code = ?18, clipped = ?19
             WHERE id = ?1",
        )?;
        {
            let tool_calls = o.tool_calls.as_ref().map(Value::to_string);
            let sources = o.sources.as_ref().map(Value::to_string);
            let values: [&dyn rusqlite::ToSql; 19] = [
                &id,
                &now_ms(),
                &o.status,
                &o.content,
                &o.reasoning,
                &tool_calls,
                &sources,
                &o.finish_reason,
                &n(u.map(|u| u.input_tokens)),
                &n(u.map(|u| u.output_tokens)),
                &n(u.map(|u| u.total_tokens)),
                &n(u.and_then(|u| u.cached_tokens)),
                &n(u.and_then(|u| u.reasoning_tokens)),
                &o.request_id,
                &o.ttft_ms,
                &o.duration_ms,
                &o.error,
                &o.exit_code,
                &o.clipped,
            ];
            for (i, v) in values.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, v)?;
            }
        }
        o.content = String::new();
        o.reasoning = String::new();
        let changed = stmt.raw_execute()?;
        if changed != 1 {
            return Err(StoreError(format!("the row {id} is gone")));
        }
        Ok(())
    }

    /// The model, system message and protocol of a conversation's latest turn.
    pub fn conversation_settings(
        &self,
        cid: &str,
    ) -> Result<Option<(String, Option<String>, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT model, system, protocol FROM exchanges WHERE cid = ?1
                 ORDER BY id DESC LIMIT 1",
                [cid],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }
}

fn connect(path: &Path, busy: Duration) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy)?;
    // The last connection to close would checkpoint the WAL into the database and fsync it:
    // milliseconds on every run. Leave that to the automatic checkpoint every 1000 pages.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(conn)
}

#[cfg(unix)]
fn make_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn make_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Create the file with mode 0600 if it does not exist (SQLite gives its -wal and -shm files
/// the same mode as the database).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // An existing file we cannot open for writing: SQLite will say what it makes of it.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
