//! Reading the log: listing, search, conversations, usage, removal.

use rusqlite::{params_from_iter, OptionalExtension, Row};
use serde_json::{json, Value};

use super::{Exchange, Result, Store, StoreError};

/// The columns of `exchanges e`, in the order `exchange` reads them.
const COLUMNS: &str = "e.id, e.cid, e.started_at, e.ended_at, e.model, e.protocol, e.region,
    e.base_url, e.system, e.prompt, e.messages, e.media, e.params, e.content, e.reasoning,
    e.tool_calls, e.sources, e.finish_reason, e.input_tokens, e.output_tokens, e.total_tokens,
    e.cached_tokens, e.reasoning_tokens, e.request_id, e.ttft_ms, e.duration_ms, e.status,
    e.error, e.exit_code, e.clipped";

fn json_column(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

fn exchange(r: &Row<'_>) -> rusqlite::Result<Exchange> {
    Ok(Exchange {
        id: r.get(0)?,
        cid: r.get(1)?,
        started_at: r.get(2)?,
        ended_at: r.get(3)?,
        model: r.get(4)?,
        protocol: r.get(5)?,
        region: r.get(6)?,
        base_url: r.get(7)?,
        system: r.get(8)?,
        prompt: r.get(9)?,
        messages: json_column(r.get(10)?).unwrap_or(Value::Null),
        media: json_column(r.get(11)?),
        params: json_column(r.get(12)?).unwrap_or(Value::Null),
        content: r.get(13)?,
        reasoning: r.get(14)?,
        tool_calls: json_column(r.get(15)?),
        sources: json_column(r.get(16)?),
        finish_reason: r.get(17)?,
        input_tokens: r.get(18)?,
        output_tokens: r.get(19)?,
        total_tokens: r.get(20)?,
        cached_tokens: r.get(21)?,
        reasoning_tokens: r.get(22)?,
        request_id: r.get(23)?,
        ttft_ms: r.get(24)?,
        duration_ms: r.get(25)?,
        status: r.get(26)?,
        error: r.get(27)?,
        exit_code: r.get(28)?,
        clipped: r.get(29)?,
    })
}

/// What `qstream log` lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub limit: usize,
    /// Full-text search over prompts and answers.
    pub query: Option<String>,
    /// A conversation id or a prefix of one.
    pub cid: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    /// Rows started at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
}

/// What an id or a prefix the user typed names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Conversation(String),
    Exchange(String),
}

/// A user's words as an FTS5 query: every word must appear (each quoted, so that no word is
/// read as FTS5 syntax).
pub fn fts_query(text: &str) -> String {
    text.split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `LIKE` pattern for "starts with `prefix`" (ids are case-insensitive base32).
fn prefix_pattern(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.trim().to_ascii_uppercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// The latest exchanges matching `f`, oldest first.
    pub fn list(&self, f: &Filter) -> Result<Vec<Exchange>> {
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let query = f.query.as_deref().map(fts_query).filter(|q| !q.is_empty());
        // A search walks the index newest first (rowids grow with every insert) and stops at
        // the limit, instead of collecting every match: a common word matches most rows.
        let (mut sql, order) = match query {
            Some(q) => {
                args.push(q.into());
                (
                    format!(
                        "SELECT {COLUMNS} FROM exchanges_fts JOIN exchanges e
                         ON e.rowid = exchanges_fts.rowid
                         WHERE exchanges_fts MATCH ?"
                    ),
                    " ORDER BY exchanges_fts.rowid DESC LIMIT ?",
                )
            }
            None => (
                format!("SELECT {COLUMNS} FROM exchanges e WHERE 1"),
                " ORDER BY e.id DESC LIMIT ?",
            ),
        };
        if let Some(c) = f.cid.as_deref() {
            let cid = self.resolve_cid(c)?;
            sql.push_str(" AND e.cid = ?");
            args.push(cid.into());
        }
        if let Some(m) = &f.model {
            sql.push_str(" AND e.model = ?");
            args.push(m.clone().into());
        }
        if let Some(s) = &f.status {
            sql.push_str(" AND e.status = ?");
            args.push(s.clone().into());
        }
        if let Some(t) = f.since_ms {
            sql.push_str(" AND e.started_at >= ?");
            args.push(t.into());
        }
        sql.push_str(order);
        args.push((f.limit.min(i64::MAX as usize) as i64).into());
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt
            .query_map(params_from_iter(args), exchange)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.reverse();
        self.whole(rows)
    }

    /// The conversation of the latest exchange.
    pub fn latest_cid(&self) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT cid FROM exchanges ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The one conversation whose id starts with `prefix`; none or several is a usage error.
    pub fn resolve_cid(&self, prefix: &str) -> Result<String> {
        let found = self.matching("cid", prefix)?;
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(StoreError(format!("no conversation {prefix:?} in the log"))),
            many => Err(ambiguous(prefix, "conversations", many)),
        }
    }

    /// An id or a prefix: the conversation it starts (or is a prefix of), else the exchange.
    pub fn resolve(&self, prefix: &str) -> Result<Target> {
        let cids = self.matching("cid", prefix)?;
        match cids.as_slice() {
            [one] => return Ok(Target::Conversation(one.clone())),
            [] => {}
            many => return Err(ambiguous(prefix, "conversations", many)),
        }
        let ids = self.matching("id", prefix)?;
        match ids.as_slice() {
            [one] => Ok(Target::Exchange(one.clone())),
            [] => Err(StoreError(format!(
                "nothing in the log is called {prefix:?}"
            ))),
            many => Err(ambiguous(prefix, "exchanges", many)),
        }
    }

    /// Distinct values of `column` (`id` or `cid`) starting with `prefix`, at most 11.
    fn matching(&self, column: &str, prefix: &str) -> Result<Vec<String>> {
        if prefix.trim().is_empty() {
            return Err(StoreError("an empty id names nothing".to_owned()));
        }
        let sql = format!(
            "SELECT DISTINCT {column} FROM exchanges WHERE {column} LIKE ?1 ESCAPE '\\'
             ORDER BY {column} LIMIT 11"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let found = stmt
            .query_map([prefix_pattern(prefix)], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(found)
    }

    /// One exchange by its full id.
    pub fn exchange(&self, id: &str) -> Result<Option<Exchange>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM exchanges e WHERE id = ?1"),
                [id],
                exchange,
            )
            .optional()?;
        row.map(|r| self.whole_one(r)).transpose()
    }

    /// Every exchange of a conversation, in order.
    pub fn conversation(&self, cid: &str) -> Result<Vec<Exchange>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM exchanges e WHERE cid = ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([cid], exchange)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        self.whole(rows)
    }

    /// Rows as read, with the messages of those that keep them in parts read whole.
    fn whole(&self, rows: Vec<Exchange>) -> Result<Vec<Exchange>> {
        rows.into_iter().map(|r| self.whole_one(r)).collect()
    }

    fn whole_one(&self, mut row: Exchange) -> Result<Exchange> {
        if let Some((parts, bytes)) = super::parts::parts_of(&row.messages) {
            let text = super::parts::read(&self.conn, &row.id, parts, bytes)?;
            row.messages = json_column(Some(text)).unwrap_or(Value::Null);
        }
        Ok(row)
    }

    /// The latest finished exchange (a `running` one is not finished).
    pub fn last(&self) -> Result<Option<Exchange>> {
        let row = self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM exchanges e WHERE status != 'running'
                     ORDER BY id DESC LIMIT 1"
                ),
                [],
                exchange,
            )
            .optional()?;
        row.map(|r| self.whole_one(r)).transpose()
    }

    /// The earlier turns of a conversation as messages to send again: each turn's messages,
    /// then the answer's content (reasoning is not sent back). Turns that got no answer are
    /// left out, so the history alternates as the service expects.
    pub fn history(&self, cid: &str) -> Result<Vec<Value>> {
        Ok(history(&self.conversation(cid)?))
    }

    /// Tokens by day (UTC) and model: (day, model, exchanges, input, output, total).
    pub fn usage(&self, since_ms: Option<i64>) -> Result<Vec<UsageRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT date(started_at / 1000, 'unixepoch') AS day, model, count(*),
                    coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
                    coalesce(sum(total_tokens), 0)
             FROM exchanges WHERE started_at >= ?1
             GROUP BY day, model ORDER BY day, model",
        )?;
        let rows = stmt
            .query_map([since_ms.unwrap_or(i64::MIN)], |r| {
                Ok(UsageRow {
                    day: r.get(0)?,
                    model: r.get(1)?,
                    exchanges: r.get(2)?,
                    input_tokens: r.get(3)?,
                    output_tokens: r.get(4)?,
                    total_tokens: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Remove an exchange or a whole conversation; the number of rows removed.
    pub fn remove(&self, target: &Target) -> Result<usize> {
        Ok(match target {
            Target::Conversation(cid) => self
                .conn
                .execute("DELETE FROM exchanges WHERE cid = ?1", [cid])?,
            Target::Exchange(id) => self
                .conn
                .execute("DELETE FROM exchanges WHERE id = ?1", [id])?,
        })
    }
}

/// One line of `qstream log usage`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UsageRow {
    pub day: String,
    pub model: String,
    pub exchanges: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
}

fn ambiguous(prefix: &str, what: &str, many: &[String]) -> StoreError {
    let mut list = many.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if many.len() > 10 {
        list.push_str(", …");
    }
    StoreError(format!("{prefix:?} matches several {what}: {list}"))
}

/// See [`Store::history`].
pub fn history(turns: &[Exchange]) -> Vec<Value> {
    let mut messages = Vec::new();
    for turn in turns.iter().filter(|t| !t.content.is_empty()) {
        if let Value::Array(sent) = &turn.messages {
            messages.extend(sent.iter().cloned());
        }
        messages.push(json!({"role": "assistant", "content": turn.content}));
    }
    messages
}

/// A conversation as a `--messages` array: its system message, then its history.
pub fn export(turns: &[Exchange]) -> Vec<Value> {
    let mut messages = Vec::new();
    if let Some(system) = turns.iter().rev().find_map(|t| t.system.as_ref()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(history(turns));
    messages
}
