//! STOPGAP — to be replaced by `crate::items` (the shared input reader of `qstream map`, on
//! the `map` branch) as soon as it is merged: JSON lines only, `{"id", "prompt", "system",
//! "model", "messages", "params"}`, and the per-item settings. Nothing else in `batch` reads
//! the input: `submit` asks this module for items and for each item's `Config`.

use std::io::BufRead;

use serde_json::{Map, Value};

use crate::cli::Cli;
use crate::config::{Config, Env, Stdin};
use crate::error::{Error, Result};

/// One item of the input (the shape of `items::Item`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    pub id: String,
    /// The input line it came from (1-based).
    pub line: u64,
    pub prompt: Option<String>,
    pub system: Option<String>,
    pub model: Option<String>,
    pub messages: Option<Vec<Value>>,
    pub params: Map<String, Value>,
}

/// The items of a JSON-lines input, one at a time (blank lines skipped).
pub fn read<R: BufRead>(reader: R, origin: String) -> impl Iterator<Item = Result<Item>> {
    reader.lines().enumerate().filter_map(move |(i, line)| {
        let at = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return Some(Err(Error::usage(format!(
                    "cannot read {origin} (line {at}): {e}"
                ))))
            }
        };
        let text = line.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            return None;
        }
        Some(item(text, at).map_err(|why| Error::usage(format!("{origin}:{at}: {why}"))))
    })
}

fn item(text: &str, at: u64) -> std::result::Result<Item, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut o) = value else {
        return Err("expected a JSON object {\"id\", \"prompt\"}".into());
    };
    let id = match o.remove("id") {
        None | Some(Value::Null) => at.to_string(),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err("\"id\" must be a non-empty string or a number".into()),
    };
    let string = |o: &mut Map<String, Value>, key: &str| match o.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key:?} must be a string")),
    };
    let prompt = string(&mut o, "prompt")?;
    let system = string(&mut o, "system")?;
    let model = string(&mut o, "model")?;
    let messages = match o.remove("messages") {
        None | Some(Value::Null) => None,
        Some(Value::Array(m)) => {
            crate::config::parse_messages(&Value::Array(m.clone()).to_string(), "\"messages\"")
                .map_err(|e| e.message)?;
            Some(m)
        }
        Some(_) => return Err("\"messages\" must be an array of {\"role\", \"content\"}".into()),
    };
    let params = match o.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err("\"params\" must be an object".into()),
    };
    if prompt.as_deref().is_none_or(|p| p.trim().is_empty()) && messages.is_none() {
        return Err("no \"prompt\" (or \"messages\")".into());
    }
    Ok(Item {
        id,
        line: at,
        prompt,
        system,
        model,
        messages,
        params,
    })
}

/// The settings of one item: the command line's, with the item's own prompt, system message,
/// model, earlier messages and parameters (the item's win), the role's template applied.
pub fn config_for(cli: &Cli, item: &Item, env: &dyn Env) -> Result<Config> {
    let mut cli = cli.clone();
    cli.prompt = item.prompt.iter().cloned().collect();
    if let Some(s) = &item.system {
        cli.system = Some(s.clone());
    }
    if let Some(m) = &item.model {
        cli.model = Some(m.clone());
    }
    if let Some(m) = &item.messages {
        cli.history = m.clone();
    }
    let (cli, stdin) = crate::settings::fill_template(&cli, Stdin::default());
    let mut config = Config::from_cli(&cli, env, stdin).map_err(|mut e| {
        e.message = format!(
            "item {:?} (input line {}): {}",
            item.id, item.line, e.message
        );
        e
    })?;
    for (k, v) in &item.params {
        config.params.insert(k.clone(), v.clone());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_with_ids_or_line_numbers() {
        let text = "{\"id\":\"a\",\"prompt\":\"one\"}\n\n{\"prompt\":\"two\",\"model\":\"qwen-max\",\"params\":{\"n\":1}}\n{\"id\":7,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}\n";
        let items: Vec<Item> = read(text.as_bytes(), "in".into())
            .collect::<Result<_>>()
            .expect("items");
        assert_eq!(
            items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["a", "3", "7"]
        );
        assert_eq!(items[1].model.as_deref(), Some("qwen-max"));
        assert_eq!(items[2].line, 4);
        for (bad, why) in [
            ("[1]", "expected a JSON object"),
            ("{\"id\":true,\"prompt\":\"p\"}", "\"id\" must be"),
            ("{\"id\":\"x\"}", "no \"prompt\""),
            ("{\"prompt\":1}", "\"prompt\" must be a string"),
            ("nope", "not JSON"),
        ] {
            let e = read(bad.as_bytes(), "in".into())
                .next()
                .expect("one")
                .expect_err(bad);
            assert!(e.message.starts_with("in:1: "), "{e}");
            assert!(e.message.contains(why), "{bad}: {e}");
        }
    }
}
