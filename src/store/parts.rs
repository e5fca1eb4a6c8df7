//! The messages of a big turn, kept in `message_parts` rather than in the row (schema version
//! 5, issue 17).
//!
//! SQLite writes a TEXT value as part of one record built whole in memory, after copying the
//! bound value, and the update that completes the row at the end of the run reads and writes
//! that record again: a 50 MB prompt in the `messages` column cost three copies of it while
//! the process still held the prompt (159 MiB peak, against 54 MiB without the log). A row
//! whose messages are longer than [`PARTS_OVER`] bytes of JSON therefore holds only a marker,
//! `{"parts": N, "bytes": B}`, and the text goes into `message_parts` in N parts of at most
//! [`PART_BYTES`], each cut at a character boundary, written with the row in one transaction.
//! The messages are serialized into the parts as they are written, the key redacted on the
//! way, so the whole text is never held: only the messages themselves and one part.

use std::io::Write;

use rusqlite::Connection;
use serde_json::Value;

use super::record::Redacted;
use super::{Result, StoreError};

/// Messages whose JSON text is longer than this many bytes go into `message_parts`. Up to it
/// the copies SQLite makes of a value are a few MiB at most, and the row keeps its messages in
/// its own column, where a SQL user looks first.
pub const PARTS_OVER: usize = 4 << 20;

/// The most one part holds: large enough that a 50 MB prompt is 50 rows, small enough that
/// the copies SQLite makes of one value stay small next to the prompt.
pub const PART_BYTES: usize = 1 << 20;

/// Where the messages text ends up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// Short enough for the row: the whole text.
    Inline(String),
    /// In `message_parts`: the row's marker.
    Parts(String),
}

/// The marker a row with parts holds in `messages`.
fn marker(parts: u64, bytes: u64) -> String {
    format!(r#"{{"parts":{parts},"bytes":{bytes}}}"#)
}

/// The number of parts and bytes a `messages` value names, when it is a marker.
pub fn parts_of(messages: &Value) -> Option<(u64, u64)> {
    let o = messages.as_object()?;
    Some((o.get("parts")?.as_u64()?, o.get("bytes")?.as_u64()?))
}

/// Sizes, variable for tests.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// [`PARTS_OVER`].
    pub over: usize,
    /// [`PART_BYTES`].
    pub part: usize,
    /// What the serializer's small writes are gathered into before they are redacted and cut.
    pub gather: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            over: PARTS_OVER,
            part: PART_BYTES,
            gather: 64 << 10,
        }
    }
}

/// Writes serialized messages into `message_parts` as they come, once there is more than
/// `sizes.over` of them; until then it holds them, for the row.
struct PartWriter<'a> {
    conn: &'a Connection,
    id: &'a str,
    sizes: Sizes,
    buf: Vec<u8>,
    /// Text redaction of the key, as the row's own messages get it (a key that reads the same
    /// in JSON); `None` when the strings were cleaned before serializing, or there is no key.
    redactor: Option<crate::redact::ByteRedactor>,
    parts: u64,
    bytes: u64,
    error: Option<StoreError>,
}

impl<'a> PartWriter<'a> {
    /// A writer of the parts of row `id`; `redact`: the key, if any, is redacted as text.
    fn new(conn: &'a Connection, id: &'a str, sizes: Sizes, redact: bool) -> PartWriter<'a> {
        PartWriter {
            conn,
            id,
            sizes,
            buf: Vec::new(),
            redactor: (redact && crate::redact::active())
                .then(crate::redact::ByteRedactor::default),
            parts: 0,
            bytes: 0,
            error: None,
        }
    }

    /// Write whole parts out of the buffer; with `last`, everything.
    fn flush_parts(&mut self, last: bool) -> Result<()> {
        let mut start = 0;
        while self.buf.len() - start >= self.sizes.part || (last && start < self.buf.len()) {
            let rest = &self.buf[start..];
            let cut = char_cut(rest, self.sizes.part);
            let text = std::str::from_utf8(&rest[..cut])
                .map_err(|e| StoreError(format!("the messages are not UTF-8: {e}")))?;
            insert_part(self.conn, self.id, self.parts, text)?;
            self.parts += 1;
            self.bytes += cut as u64;
            start += cut;
        }
        self.buf.drain(..start);
        Ok(())
    }

    fn finish(mut self) -> Result<Written> {
        if let Some(r) = self.redactor.as_mut() {
            let held = r.take();
            self.buf.extend_from_slice(&held);
        }
        if self.parts == 0 && self.buf.len() <= self.sizes.over {
            return String::from_utf8(self.buf)
                .map(Written::Inline)
                .map_err(|e| StoreError(format!("the messages are not UTF-8: {e}")));
        }
        self.flush_parts(true)?;
        Ok(Written::Parts(marker(self.parts, self.bytes)))
    }
}

impl Write for PartWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self.redactor.as_mut() {
            Some(r) if !r.passes(bytes) => r.push(bytes, &mut self.buf),
            _ => self.buf.extend_from_slice(bytes),
        }
        if self.parts > 0 || self.buf.len() > self.sizes.over {
            if let Err(e) = self.flush_parts(false) {
                self.error = Some(e);
                return Err(std::io::Error::other("the log failed"));
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serialize `messages` (the key redacted as `record::messages_json` does) for the row `id`:
/// the text itself when it is short, else the parts written and the row's marker. The caller
/// holds the transaction.
pub fn write_values(
    conn: &Connection,
    id: &str,
    messages: &[Value],
    sizes: Sizes,
) -> Result<Written> {
    write_values_as(
        conn,
        id,
        messages,
        sizes,
        crate::redact::key_is_plain_json(),
    )
}

/// [`write_values`], the key's redaction chosen: `plain`, as text (the JSON of a key without a
/// quote, backslash or control character is the key itself), else string by string.
pub(crate) fn write_values_as(
    conn: &Connection,
    id: &str,
    messages: &[Value],
    sizes: Sizes,
    plain: bool,
) -> Result<Written> {
    let mut w = PartWriter::new(conn, id, sizes, plain);
    let result = {
        // serde_json writes a few bytes at a time: the redactor and the buffer see more.
        let mut out = std::io::BufWriter::with_capacity(sizes.gather, &mut w);
        let r = if plain {
            serde_json::to_writer(&mut out, messages)
        } else {
            let clean: Vec<Redacted<'_>> = messages.iter().map(Redacted).collect();
            serde_json::to_writer(&mut out, &clean)
        };
        r.map_err(|e| e.to_string())
            .and_then(|()| out.flush().map_err(|e| e.to_string()))
    };
    if let Some(e) = w.error.take() {
        return Err(e);
    }
    result.map_err(|e| StoreError(format!("cannot serialize the messages: {e}")))?;
    w.finish()
}

/// Messages already serialized and redacted: the text itself when it is short, else in parts.
pub fn write_text(conn: &Connection, id: &str, text: &str, sizes: Sizes) -> Result<Written> {
    if text.len() <= sizes.over {
        return Ok(Written::Inline(text.to_owned()));
    }
    let (mut rest, mut parts) = (text, 0);
    while !rest.is_empty() {
        let cut = char_cut(rest.as_bytes(), sizes.part);
        let (part, tail) = rest.split_at(cut);
        insert_part(conn, id, parts, part)?;
        parts += 1;
        rest = tail;
    }
    Ok(Written::Parts(marker(parts, text.len() as u64)))
}

/// Where the part that starts `text` ends: at most `limit` bytes, back to the start of a
/// character (UTF-8 continuation bytes are `10xxxxxx`); one whole character when even that is
/// longer than `limit`.
fn char_cut(text: &[u8], limit: usize) -> usize {
    if text.len() <= limit {
        return text.len();
    }
    let mut cut = limit;
    while cut > 0 && text[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    if cut == 0 {
        cut = 1;
        while cut < text.len() && text[cut] & 0xC0 == 0x80 {
            cut += 1;
        }
    }
    cut
}

fn insert_part(conn: &Connection, id: &str, seq: u64, text: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO message_parts (exchange_id, seq, text) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![id, seq as i64, text])?;
    Ok(())
}

/// The whole messages text of the row `id`, whose marker says `parts` and `bytes`. A part
/// missing, out of place or of another size than the marker says is an error: the row and its
/// parts are written in one transaction, so only a hand-edited database gets here.
pub fn read(conn: &Connection, id: &str, parts: u64, bytes: u64) -> Result<String> {
    let mut text = String::new();
    // The marker's size, when it is sane: one allocation for the whole text.
    let _ = text.try_reserve_exact(bytes.min(1 << 32) as usize);
    let mut stmt = conn.prepare_cached(
        "SELECT seq, text FROM message_parts WHERE exchange_id = ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([id])?;
    let mut seen = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        if u64::try_from(seq).ok() != Some(seen) {
            return Err(StoreError(format!(
                "the messages of {id} are broken: part {seen} is missing"
            )));
        }
        let part = row
            .get_ref(1)?
            .as_str()
            .map_err(|e| StoreError(e.to_string()))?;
        text.push_str(part);
        seen += 1;
    }
    if seen != parts || text.len() as u64 != bytes {
        return Err(StoreError(format!(
            "the messages of {id} are broken: {seen} parts of {} bytes, not {parts} of {bytes}",
            text.len()
        )));
    }
    Ok(text)
}

/// [`write_values`]'s writer fed `pieces` as they are, for tests of a key split between
/// writes (serde_json writes a plain key inside one string whole, so only a key across JSON
/// tokens would be).
#[cfg(test)]
pub(crate) fn write_pieces(
    conn: &Connection,
    id: &str,
    pieces: &[&[u8]],
    sizes: Sizes,
) -> Result<Written> {
    let mut w = PartWriter::new(conn, id, sizes, true);
    for p in pieces {
        if w.write_all(p).is_err() {
            return Err(w.error.take().unwrap_or(StoreError("write".to_owned())));
        }
    }
    w.finish()
}
