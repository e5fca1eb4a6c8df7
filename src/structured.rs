//! Structured answers: `--json-object` and `--schema FILE` as `response_format` (Model Studio
//! "Structured output": json_object needs the word JSON in the prompt).

use serde_json::{json, Value};

use crate::cli::Cli;
use crate::error::{Error, Result};

/// The `response_format` to send, if any.
pub fn response_format(cli: &Cli) -> Result<Option<Value>> {
    if cli.json_object {
        return Ok(Some(json!({"type": "json_object"})));
    }
    let Some(path) = &cli.schema else {
        return Ok(None);
    };
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| Error::usage(format!("cannot read schema file {}: {e}", path.display())))?;
    let schema: Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: not valid JSON: {e}", path.display())))?;
    if !schema.is_object() {
        return Err(Error::usage(format!(
            "{}: expected a JSON Schema object",
            path.display()
        )));
    }
    // A file that is already a `json_schema` object (`{"name", "schema", …}`) is sent as it
    // is; a bare schema is wrapped, named after the file.
    let json_schema = if schema.get("schema").is_some_and(Value::is_object) {
        schema
    } else {
        let name: String = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let name = if name.is_empty() {
            "answer".into()
        } else {
            name
        };
        json!({"name": name, "schema": schema})
    };
    Ok(Some(
        json!({"type": "json_schema", "json_schema": json_schema}),
    ))
}

/// Whether any message says "json" (any case), as the service requires for json_object.
pub fn mentions_json(messages: &[Value]) -> bool {
    fn has(v: &Value) -> bool {
        match v {
            Value::String(s) => s.to_ascii_lowercase().contains("json"),
            Value::Array(items) => items.iter().any(has),
            Value::Object(m) => m.get("text").or_else(|| m.get("content")).is_some_and(has),
            _ => false,
        }
    }
    messages.iter().any(|m| m.get("content").is_some_and(has))
}
