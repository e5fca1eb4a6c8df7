//! The Batch API's input file: one JSON line per request, `{"custom_id", "method", "url",
//! "body"}`, and the limits the service puts on it, checked before anything is uploaded.
//!
//! Limits, from Model Studio "Batch processing" (batch-inference) and "OpenAI compatible -
//! Batch" (batch-interfaces-compatible-with-openai), 2025-12: at most 50,000 requests and
//! 500 MB per file, 6 MB per line, one model and one `url` per file, unique `custom_id`s;
//! the test model `batch-test-model` (endpoint `/v1/chat/ds-test`) takes at most 100 lines
//! and 1 MB. The pages say "MB" without saying which: the decimal megabyte is the smaller, so
//! a file refused here is never one the service would take.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::config::Config;
use crate::error::{Error, Result};

/// The endpoint (and every line's `url`) for chat requests.
pub const CHAT_URL: &str = "/v1/chat/completions";
/// The test model's endpoint and name: no inference, no cost.
pub const TEST_URL: &str = "/v1/chat/ds-test";
pub const TEST_MODEL: &str = "batch-test-model";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub requests: usize,
    pub line_bytes: u64,
    pub file_bytes: u64,
}

pub const LIMITS: Limits = Limits {
    requests: 50_000,
    line_bytes: 6_000_000,
    file_bytes: 500_000_000,
};

pub const TEST_LIMITS: Limits = Limits {
    requests: 100,
    line_bytes: 1_000_000,
    file_bytes: 1_000_000,
};

/// The request line for one item: the chat/completions body the single request would send,
/// not streamed, with `enable_thinking` always written (the Qwen3.5 family thinks unless told
/// not to; the older batch models do not unless told to): the item's choice, else false.
pub fn line(custom_id: &str, config: &Config, test: bool) -> Value {
    let request = crate::request::build(config);
    let mut body = match request.body {
        Value::Object(map) => map,
        other => {
            let mut m = Map::new();
            m.insert("body".into(), other);
            m
        }
    };
    body.remove("stream");
    body.remove("stream_options");
    if !body.contains_key("enable_thinking") {
        body.insert("enable_thinking".into(), Value::Bool(false));
    }
    let url = if test {
        body.insert("model".into(), Value::String(TEST_MODEL.into()));
        TEST_URL
    } else {
        CHAT_URL
    };
    // Built by hand: `json!` serializes what it is given by reference, a copy of the body
    // (up to the 6 MB a line may hold).
    Value::Object(Map::from_iter([
        ("custom_id".to_owned(), Value::String(custom_id.to_owned())),
        ("method".to_owned(), Value::String("POST".to_owned())),
        ("url".to_owned(), Value::String(url.to_owned())),
        ("body".to_owned(), Value::Object(body)),
    ]))
}

/// What the checked file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub requests: usize,
    pub bytes: u64,
    pub model: String,
    pub url: String,
    /// The ids in input order.
    pub ids: Vec<String>,
}

/// The limits, checked line by line as the file is written.
pub struct Checker {
    limits: Limits,
    test: bool,
    summary: Summary,
    /// id → the input line it came from.
    seen: HashMap<String, u64>,
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl Checker {
    pub fn new(test: bool) -> Self {
        Checker {
            limits: if test { TEST_LIMITS } else { LIMITS },
            test,
            summary: Summary::default(),
            seen: HashMap::new(),
        }
    }

    fn what(&self) -> &'static str {
        if self.test {
            "the test model (batch-test-model) takes"
        } else {
            "the Batch API takes"
        }
    }

    /// One more line (`bytes` long, its newline not counted) for the item `id` from input
    /// line `at`.
    pub fn add(&mut self, id: &str, at: u64, bytes: u64, line: &Value) -> Result<()> {
        if let Some(first) = self.seen.get(id) {
            return Err(Error::usage(format!(
                "duplicate id {id:?} (input lines {first} and {at}): the Batch API matches answers to requests by id"
            )));
        }
        if self.summary.requests >= self.limits.requests {
            return Err(Error::usage(format!(
                "more than {} requests (item {id:?}, input line {at}): {} at most {} per file; split the input",
                self.limits.requests,
                self.what(),
                self.limits.requests
            )));
        }
        if bytes > self.limits.line_bytes {
            return Err(Error::usage(format!(
                "item {id:?} (input line {at}) is {} as a request line: {} at most {} per line",
                mb(bytes),
                self.what(),
                mb(self.limits.line_bytes)
            )));
        }
        let model = line["body"]["model"].as_str().unwrap_or_default();
        let url = line["url"].as_str().unwrap_or_default();
        if self.summary.requests == 0 {
            self.summary.model = model.to_owned();
            self.summary.url = url.to_owned();
        } else if model != self.summary.model {
            return Err(Error::usage(format!(
                "item {id:?} (input line {at}) asks for model {model}, the items before it for {}: a batch holds one model; submit each model's items separately",
                self.summary.model
            )));
        }
        self.summary.requests += 1;
        self.summary.bytes += bytes + 1;
        if self.summary.bytes > self.limits.file_bytes {
            return Err(Error::usage(format!(
                "the requests pass {} at item {id:?} (input line {at}): {} at most {} per file; split the input",
                mb(self.limits.file_bytes),
                self.what(),
                mb(self.limits.file_bytes)
            )));
        }
        self.seen.insert(id.to_owned(), at);
        self.summary.ids.push(id.to_owned());
        Ok(())
    }

    pub fn finish(self) -> Result<Summary> {
        if self.summary.requests == 0 {
            return Err(Error::usage("the input holds no items: nothing to submit"));
        }
        Ok(self.summary)
    }
}

/// `--window`: 24h to 336h, in hours (`48h`) or days (`2d`); as the service takes it (hours).
pub fn window(text: &str) -> Result<String> {
    let t = text.trim().to_ascii_lowercase();
    let hours = if let Some(h) = t.strip_suffix('h') {
        h.parse::<u64>().ok()
    } else if let Some(d) = t.strip_suffix('d') {
        d.parse::<u64>().ok().and_then(|d| d.checked_mul(24))
    } else {
        None
    };
    match hours {
        Some(h) if (24..=336).contains(&h) => Ok(format!("{h}h")),
        _ => Err(Error::usage(format!(
            "--window takes 24h to 336h (14 days), in hours or days (48h, 7d); got {text:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(args: &[&str]) -> Config {
        crate::config::testing::config_of(args)
    }

    #[test]
    fn a_line_is_the_chat_body_unstreamed_with_thinking_explicit() {
        let l = line(
            "a1",
            &config(&[
                "-m",
                "qwen-flash",
                "-s",
                "be brief",
                "--max-tokens",
                "9",
                "hi",
            ]),
            false,
        );
        assert_eq!(
            l,
            json!({
                "custom_id": "a1",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "qwen-flash",
                    "messages": [
                        {"role": "system", "content": "be brief"},
                        {"role": "user", "content": "hi"}
                    ],
                    "enable_thinking": false,
                    "max_completion_tokens": 9
                }
            })
        );
        let l = line("a2", &config(&["--thinking", "hi"]), false);
        assert_eq!(l["body"]["enable_thinking"], json!(true));
        // -o wins, as for a single request.
        let l = line("a3", &config(&["-o", "enable_thinking=true", "hi"]), false);
        assert_eq!(l["body"]["enable_thinking"], json!(true));
        let l = line("t", &config(&["-m", "qwen-max", "hi"]), true);
        assert_eq!(
            (l["url"].as_str(), l["body"]["model"].as_str()),
            (Some("/v1/chat/ds-test"), Some("batch-test-model"))
        );
    }

    #[test]
    fn windows_in_hours_or_days() {
        assert_eq!(window("24h").ok().as_deref(), Some("24h"));
        assert_eq!(window("2d").ok().as_deref(), Some("48h"));
        assert_eq!(window("336H").ok().as_deref(), Some("336h"));
        for bad in ["23h", "337h", "15d", "1w", "h", "", "24"] {
            assert!(window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_limits_refuse_what_the_service_would() {
        let l = |model: &str| json!({"url": CHAT_URL, "body": {"model": model}});
        let mut c = Checker::new(false);
        c.add("a", 1, 10, &l("qwen-plus")).expect("first");
        let e = c.add("a", 2, 10, &l("qwen-plus")).expect_err("dup");
        assert!(
            e.message
                .contains("duplicate id \"a\" (input lines 1 and 2)"),
            "{e}"
        );
        let e = c.add("b", 3, 10, &l("qwen-max")).expect_err("model");
        assert!(e.message.contains("one model"), "{e}");
        let e = c.add("c", 4, 6_000_001, &l("qwen-plus")).expect_err("line");
        assert!(e.message.contains("6.0 MB per line"), "{e}");
        c.add("d", 5, 6_000_000, &l("qwen-plus"))
            .expect("at the limit");
        let s = c.finish().expect("finish");
        assert_eq!(
            (s.requests, s.ids),
            (2, vec!["a".to_owned(), "d".to_owned()])
        );

        let mut c = Checker::new(true);
        for i in 0..100 {
            c.add(&i.to_string(), i + 1, 10, &l("batch-test-model"))
                .expect("within");
        }
        let e = c
            .add("x", 101, 10, &l("batch-test-model"))
            .expect_err("101st");
        assert!(e.message.contains("more than 100 requests"), "{e}");
        let mut c = Checker::new(true);
        c.add("a", 1, 600_000, &l("m")).expect("first");
        let e = c.add("b", 2, 600_000, &l("m")).expect_err("file");
        assert!(e.message.contains("1.0 MB per file"), "{e}");
        assert_eq!(
            Checker::new(false).finish().expect_err("empty").exit,
            crate::error::Exit::Usage
        );
    }
}
