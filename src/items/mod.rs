//! The items of `qstream map` and `qstream batch`: JSON lines, CSV with a header, or plain
//! lines, read as a stream (memory does not grow with the input), each turned into the settings
//! of one request.
//!
//! Every error names the line it was found on and is a usage error (exit 2): the input is
//! checked whole (`check_unique` reads it through) before anything is sent.

mod csv;
pub mod template;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::{Error, Result};
pub use template::Template;

/// The input's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object a line: {"id", "prompt", "system", "model", "messages", "params"}
    Jsonl,
    /// A header row, then one record a line (RFC 4180); prompts from --template or a `prompt`
    /// column
    Csv,
    /// Each non-blank line a prompt (or `{line}` in --template)
    Lines,
}

impl Format {
    /// The format a file's extension names: `.jsonl`/`.ndjson`/`.json` JSON lines, `.csv`
    /// CSV, `.txt` lines; anything else (stdin too) JSON lines.
    pub fn of_path(path: Option<&Path>) -> Format {
        let ext = path
            .and_then(Path::extension)
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("txt") => Format::Lines,
            _ => Format::Jsonl,
        }
    }
}

/// One item: what its request differs by from the run's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// The given id, or the 1-based line number (CSV: record number) as text.
    pub id: String,
    /// Where it came from in the input (1-based line), for messages.
    pub line: u64,
    pub prompt: Option<String>,
    pub system: Option<String>,
    pub model: Option<String>,
    /// Earlier turns, `{"role", "content"}` objects, sent before the prompt.
    pub messages: Option<Vec<Value>>,
    /// Request parameters over the run's (`-o`).
    pub params: Map<String, Value>,
}

/// How to read the input.
#[derive(Debug, Clone, Default)]
pub struct ItemsOptions {
    /// `--format`; else `--lines`, else the extension.
    pub format: Option<Format>,
    /// `--template`: the prompt, with `{column}` (CSV), `{field}` (JSON lines) or `{line}`
    /// (lines) filled in.
    pub template: Option<String>,
    /// `--id-column` (CSV; JSON lines: the field): where the id comes from. Default `id`.
    pub id_column: Option<String>,
    /// `--lines`: each line a prompt.
    pub lines: bool,
}

impl ItemsOptions {
    /// The format in effect for an input at `path` (`None`: stdin).
    pub fn format_for(&self, path: Option<&Path>) -> Format {
        self.format.unwrap_or(if self.lines {
            Format::Lines
        } else {
            Format::of_path(path)
        })
    }
}

/// A usage error about line `line` of the input.
fn at(line: u64, what: impl std::fmt::Display) -> Error {
    Error::usage(format!("input line {line}: {what}"))
}

/// Items, read one at a time from the input.
pub struct Items<R> {
    kind: Kind<R>,
    template: Option<Template>,
    id_column: Option<String>,
    done: bool,
}

enum Kind<R> {
    Jsonl {
        input: R,
        line: u64,
        buf: Vec<u8>,
    },
    Lines {
        input: R,
        line: u64,
        buf: Vec<u8>,
    },
    Csv {
        reader: csv::CsvReader<R>,
        header: Vec<String>,
        id: Option<usize>,
        prompt: Option<usize>,
        record: u64,
    },
}

/// Streams items from a reader (memory does not grow with the input); errors carry the line.
/// The format is `opts`' or the extension of `path_hint`; a CSV header and the template are
/// checked here, so an unknown placeholder fails before any item is read.
pub fn read<R: BufRead>(
    input: R,
    path_hint: Option<&Path>,
    opts: &ItemsOptions,
) -> Result<Items<R>> {
    let template = opts.template.as_deref().map(Template::parse).transpose()?;
    let format = opts.format_for(path_hint);
    let kind = match format {
        Format::Jsonl => Kind::Jsonl {
            input,
            line: 0,
            buf: Vec::new(),
        },
        Format::Lines => {
            if let Some(t) = &template {
                t.check(
                    &|f| f == "line",
                    "with --lines the only placeholder is {line}",
                )?;
            }
            if opts.id_column.is_some() {
                return Err(Error::usage(
                    "--id-column needs CSV or JSON lines: with --lines the id is the line number",
                ));
            }
            Kind::Lines {
                input,
                line: 0,
                buf: Vec::new(),
            }
        }
        Format::Csv => {
            let mut reader = csv::CsvReader::new(input);
            let header = match reader.next_record() {
                Ok(Some(r)) => r.fields,
                Ok(None) => {
                    return Err(Error::usage(
                        "the CSV input is empty: it needs a header row",
                    ))
                }
                Err((line, e)) => return Err(at(line, e)),
            };
            for (i, name) in header.iter().enumerate() {
                if header[..i].contains(name) {
                    return Err(at(1, format!("the CSV header names column {name:?} twice")));
                }
            }
            let columns = || header.join(", ");
            let find = |name: &str| header.iter().position(|h| h == name);
            let id = match &opts.id_column {
                Some(c) => Some(find(c).ok_or_else(|| {
                    Error::usage(format!(
                        "--id-column {c:?}: no such column (columns: {})",
                        columns()
                    ))
                })?),
                None => find("id"),
            };
            let prompt = match &template {
                Some(t) => {
                    t.check(&|f| find(f).is_some(), &format!("columns: {}", columns()))?;
                    None
                }
                None => {
                    let others: Vec<usize> = (0..header.len()).filter(|i| Some(*i) != id).collect();
                    match (find("prompt"), others.as_slice()) {
                        (Some(p), _) => Some(p),
                        (None, [only]) => Some(*only),
                        _ => {
                            return Err(Error::usage(format!(
                                "the CSV input has no `prompt` column: say how to make the prompt with --template (columns: {})",
                                columns()
                            )))
                        }
                    }
                }
            };
            Kind::Csv {
                reader,
                header,
                id,
                prompt,
                record: 0,
            }
        }
    };
    Ok(Items {
        kind,
        template,
        id_column: opts.id_column.clone(),
        done: false,
    })
}

impl<R: BufRead> Iterator for Items<R> {
    type Item = Result<Item>;

    fn next(&mut self) -> Option<Result<Item>> {
        if self.done {
            return None;
        }
        let next = self.next_item();
        match next {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads one line into `buf` (without its line end); `false` at the end.
fn next_line<R: BufRead>(input: &mut R, line: &mut u64, buf: &mut Vec<u8>) -> Result<bool> {
    buf.clear();
    let n = input
        .read_until(b'\n', buf)
        .map_err(|e| at(*line + 1, format!("cannot read: {e}")))?;
    if n == 0 {
        return Ok(false);
    }
    *line += 1;
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if *line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
        buf.drain(..3);
    }
    Ok(true)
}

impl<R: BufRead> Items<R> {
    fn next_item(&mut self) -> Result<Option<Item>> {
        let template = self.template.as_ref();
        match &mut self.kind {
            Kind::Lines { input, line, buf } => loop {
                if !next_line(input, line, buf)? {
                    return Ok(None);
                }
                let text = std::str::from_utf8(buf).map_err(|_| at(*line, "not valid UTF-8"))?;
                if text.trim().is_empty() {
                    continue;
                }
                let prompt = match template {
                    Some(t) => t
                        .fill(&|_| Some(text.to_owned()))
                        .map_err(|f| at(*line, format!("no {{{f}}}")))?,
                    None => text.to_owned(),
                };
                return Ok(Some(Item {
                    id: line.to_string(),
                    line: *line,
                    prompt: Some(prompt),
                    ..Item::default()
                }));
            },
            Kind::Jsonl { input, line, buf } => loop {
                if !next_line(input, line, buf)? {
                    return Ok(None);
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let value: Value = serde_json::from_slice(buf).map_err(|e| {
                    at(
                        *line,
                        format!(
                            "not a JSON object: {e} (JSON lines are read unless the input \
                                 is a .csv or .txt file; for one prompt a line, use --lines)"
                        ),
                    )
                })?;
                return json_item(value, *line, template, self.id_column.as_deref()).map(Some);
            },
            Kind::Csv {
                reader,
                header,
                id,
                prompt,
                record,
            } => {
                let rec = match reader.next_record() {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ok(None),
                    Err((line, e)) => return Err(at(line, e)),
                };
                *record += 1;
                if rec.fields.len() != header.len() {
                    return Err(at(
                        rec.line,
                        format!(
                            "{} fields, but the header has {} columns",
                            rec.fields.len(),
                            header.len()
                        ),
                    ));
                }
                let field = |i: usize| rec.fields.get(i).cloned().unwrap_or_default();
                let text = match (template, prompt) {
                    (Some(t), _) => t
                        .fill(&|f| header.iter().position(|h| h == f).map(field))
                        .map_err(|f| at(rec.line, format!("no column {f:?}")))?,
                    (None, Some(p)) => field(*p),
                    (None, None) => {
                        return Err(Error::internal("a CSV input without a prompt column"))
                    }
                };
                let id = match id {
                    Some(i) => field(*i),
                    None => record.to_string(),
                };
                if id.is_empty() {
                    return Err(at(rec.line, "the id is empty"));
                }
                Ok(Some(Item {
                    id,
                    line: rec.line,
                    prompt: Some(text),
                    ..Item::default()
                }))
            }
        }
    }
}

/// The fields a JSON line may have without a template.
const JSON_FIELDS: [&str; 6] = ["id", "prompt", "system", "model", "messages", "params"];

fn json_item(
    value: Value,
    line: u64,
    template: Option<&Template>,
    id_field: Option<&str>,
) -> Result<Item> {
    let Value::Object(mut obj) = value else {
        return Err(at(line, "expected a JSON object"));
    };
    let id_key = id_field.unwrap_or("id");
    let id = match obj.get(id_key) {
        None | Some(Value::Null) if id_field.is_some() => {
            return Err(at(line, format!("no {id_key:?} field (--id-column)")))
        }
        None | Some(Value::Null) => line.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(at(
                line,
                format!("{id_key:?} must be a non-empty string or a number"),
            ))
        }
    };
    let string = |obj: &mut Map<String, Value>, key: &str| -> Result<Option<String>> {
        match obj.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(at(line, format!("{key:?} must be a string"))),
        }
    };
    let mut prompt = match template {
        Some(t) => Some(
            t.fill(&|f| {
                obj.get(f).map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .map_err(|f| at(line, format!("no field {f:?} for the template")))?,
        ),
        None => None,
    };
    if template.is_none() {
        if let Some(k) = obj
            .keys()
            .find(|k| !JSON_FIELDS.contains(&k.as_str()) && k.as_str() != id_key)
        {
            return Err(at(
                line,
                format!(
                    "unknown field {k:?} (fields: {}; other fields are for --template)",
                    JSON_FIELDS.join(", ")
                ),
            ));
        }
        prompt = string(&mut obj, "prompt")?;
    }
    let system = string(&mut obj, "system")?;
    let model = string(&mut obj, "model")?;
    let messages = match obj.remove("messages") {
        None | Some(Value::Null) => None,
        Some(v) => Some(crate::config::parse_messages(
            &v.to_string(),
            &format!("input line {line}: messages"),
        )?),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(at(line, "\"params\" must be an object")),
    };
    if prompt.is_none() && messages.as_ref().is_none_or(Vec::is_empty) {
        return Err(at(line, "no \"prompt\" and no \"messages\""));
    }
    Ok(Item {
        id,
        line,
        prompt,
        system,
        model,
        messages,
        params,
    })
}

/// Every id, checked for duplicates before anything is sent: a duplicate is a usage error
/// (exit 2) naming the id and both lines; so is any error reading the input. Returns how many
/// items there are. Memory grows with the ids alone, never with the prompts.
pub fn check_unique<I: Iterator<Item = Result<Item>>>(items: I) -> Result<u64> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut count = 0;
    for item in items {
        let item = item?;
        if let Some(first) = seen.insert(item.id.clone(), item.line) {
            return Err(Error::usage(format!(
                "duplicate id {:?}: on input lines {first} and {}",
                item.id, item.line
            )));
        }
        count += 1;
    }
    Ok(count)
}

/// The single-request settings for one item: the run's `Config` with the item's model,
/// parameters, system message, earlier turns and prompt applied. The run's `--messages` turns
/// stay before the item's; the item's system message replaces the run's.
pub fn config_for(base: &Config, item: &Item) -> Result<Config> {
    let mut c = base.clone();
    if let Some(m) = &item.model {
        c.model = m.clone();
    }
    for (k, v) in &item.params {
        c.params.insert(k.clone(), v.clone());
    }
    let mut messages = Vec::with_capacity(base.messages.len() + 2);
    let is_system = |m: &Value| m.get("role").and_then(Value::as_str) == Some("system");
    let base_system = base.messages.first().filter(|m| is_system(m));
    match (&item.system, base_system) {
        (Some(s), _) => messages.push(serde_json::json!({"role": "system", "content": s})),
        (None, Some(s)) => messages.push(s.clone()),
        (None, None) => {}
    }
    for (i, m) in base.messages.iter().enumerate() {
        if (i == 0 && base_system.is_some()) || Some(i) == base.prompt_index {
            continue;
        }
        messages.push(m.clone());
    }
    if let Some(turns) = &item.messages {
        messages.extend(turns.iter().cloned());
    }
    c.prompt_index = None;
    if let Some(p) = &item.prompt {
        c.prompt_index = Some(messages.len());
        messages.push(serde_json::json!({"role": "user", "content": p}));
    }
    if !messages.iter().any(|m| !is_system(m)) {
        return Err(at(item.line, "nothing to send: no prompt and no messages"));
    }
    if c.prompt_index.is_none() && !c.media.is_empty() {
        return Err(at(
            item.line,
            "attachments go with a prompt, and this item has none",
        ));
    }
    c.messages = messages;
    Ok(c)
}

#[cfg(test)]
mod tests;
