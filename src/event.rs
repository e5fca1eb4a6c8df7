//! The one vocabulary between the protocol decoders and the sinks (DESIGN §3).
//!
//! Text borrows from the decoded chunk wherever the JSON had no escapes, so a delta costs no
//! allocation on its way from the socket to stdout.

use std::borrow::Cow;

use serde::Serialize;

/// Token counts as the service reports them, under one set of names for both protocols.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Web searches billed for the answer (native `usage.plugins.search.count`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_count: Option<u64>,
}

/// One web page the answer's search found (native `output.search_info.search_results[]`);
/// the answer cites it as `[index]` or `[ref_index]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WebSource {
    pub index: u32,
    pub title: String,
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub site_name: String,
}

/// An error the service reported, before or inside the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    Reasoning {
        choice: u32,
        text: Cow<'a, str>,
    },
    Content {
        choice: u32,
        text: Cow<'a, str>,
    },
    /// A fragment of a streamed tool call; `arguments` is the fragment, not the whole.
    ToolCall {
        choice: u32,
        index: u32,
        id: Option<Cow<'a, str>>,
        name: Option<Cow<'a, str>>,
        arguments: Cow<'a, str>,
    },
    /// A piece of Qwen-Omni speech: base64 of 16-bit mono PCM at 24 kHz, as received
    /// (pieces need not align to 4-character groups).
    Audio {
        choice: u32,
        data: Cow<'a, str>,
    },
    Usage(Usage),
    /// The web sources of the answer, once, when they arrive.
    Sources(Vec<WebSource>),
    Finish {
        choice: u32,
        reason: Cow<'a, str>,
    },
}

impl Event<'_> {
    /// A copy that borrows nothing, to keep past the chunk it was decoded from (for tests).
    #[doc(hidden)]
    pub fn into_owned(self) -> Event<'static> {
        fn o(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        match self {
            Event::Reasoning { choice, text } => Event::Reasoning {
                choice,
                text: o(text),
            },
            Event::Content { choice, text } => Event::Content {
                choice,
                text: o(text),
            },
            Event::ToolCall {
                choice,
                index,
                id,
                name,
                arguments,
            } => Event::ToolCall {
                choice,
                index,
                id: id.map(o),
                name: name.map(o),
                arguments: o(arguments),
            },
            Event::Audio { choice, data } => Event::Audio {
                choice,
                data: o(data),
            },
            Event::Usage(u) => Event::Usage(u),
            Event::Sources(s) => Event::Sources(s),
            Event::Finish { choice, reason } => Event::Finish {
                choice,
                reason: o(reason),
            },
        }
    }

    /// Whether this event carries model output (text or a tool call).
    pub fn is_delta(&self) -> bool {
        matches!(
            self,
            Event::Reasoning { .. }
                | Event::Content { .. }
                | Event::ToolCall { .. }
                | Event::Audio { .. }
        )
    }
}
