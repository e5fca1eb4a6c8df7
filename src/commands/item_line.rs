//! The one output line of an item, shared by `map` (as each item completes) and `batch fetch`
//! (from the Batch API's result files): the same fields in the same order, so a consumer reads
//! both alike.

use serde::Serialize;

use crate::error::Error;
use crate::event::Usage;
use crate::sink::ToolCall;

/// One item's line, its fields in order.
#[derive(Serialize)]
pub struct ItemLine<'a> {
    pub id: &'a str,
    pub status: &'static str,
    pub content: &'a str,
    pub reasoning: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    pub finish: Option<&'a str>,
    pub usage: Option<Usage>,
    pub request_id: Option<&'a str>,
    pub error: Option<ItemError<'a>>,
    pub exit: u8,
    /// `map` only: a batch item has no timings of its own.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

/// Why an item failed.
#[derive(Serialize)]
pub struct ItemError<'a> {
    pub status: Option<u16>,
    pub code: Option<&'a str>,
    /// The one stderr line a single request would have ended with (without `qstream: `).
    pub message: String,
}

impl<'a> ItemError<'a> {
    pub fn of(e: &'a Error) -> Self {
        let api = e.api.as_ref();
        Self {
            status: api.and_then(|a| a.status),
            code: api.and_then(|a| a.code.as_deref()),
            message: e.to_string(),
        }
    }
}

/// `ttft_s` counts from the attempt that was answered (not from the waits for the pace or the
/// retries before it); `duration_s` is the item's whole time.
#[derive(Serialize)]
pub struct Timings {
    pub ttft_s: Option<f64>,
    pub duration_s: f64,
}

impl ItemLine<'_> {
    /// The line as JSON (no newline). Serializing these fields cannot fail; should it, the
    /// line still names the item and says it failed.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            serde_json::json!({"id": self.id, "status": "error", "exit": 1}).to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_come_last_and_only_when_there_are_some() {
        let mut line = ItemLine {
            id: "a",
            status: "ok",
            content: "hi",
            reasoning: "",
            tool_calls: None,
            finish: Some("stop"),
            usage: None,
            request_id: None,
            error: None,
            exit: 0,
            timings: None,
        };
        assert_eq!(
            line.to_json(),
            r#"{"id":"a","status":"ok","content":"hi","reasoning":"","finish":"stop","usage":null,"request_id":null,"error":null,"exit":0}"#
        );
        line.timings = Some(Timings {
            ttft_s: None,
            duration_s: 0.5,
        });
        assert!(line
            .to_json()
            .ends_with(r#""exit":0,"ttft_s":null,"duration_s":0.5}"#));
    }
}
