//! The URL, headers and JSON body of the one request, for either protocol. Pure: no I/O.

use serde_json::{json, Map, Value};

use crate::cli::{NativeEndpoint, Protocol};
use crate::config::Config;
use crate::media;

pub const USER_AGENT: &str = concat!("qstream/", env!("CARGO_PKG_VERSION"));

pub const TEXT_PATH: &str = "/services/aigc/text-generation/generation";
pub const MULTIMODAL_PATH: &str = "/services/aigc/multimodal-generation/generation";

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    /// Every header but `Authorization`, which the transport adds from the key.
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

/// Headers sent with every request, `Authorization` aside (DESIGN §2).
pub fn headers(protocol: Protocol) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        ("Content-Type", "application/json"),
        ("Accept", "text/event-stream"),
        // A compressing proxy that does not flush would hold events back.
        ("Accept-Encoding", "identity"),
        ("X-Accel-Buffering", "no"),
        ("User-Agent", USER_AGENT),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if protocol == Protocol::Dashscope {
        h.push(("X-DashScope-SSE".into(), "enable".into()));
    }
    h
}

pub fn build(config: &Config) -> Request {
    with_messages(config, config.messages.clone())
}

/// As [`build`], moving the messages out of `config` rather than copying them: a prompt may be
/// tens of megabytes. `config.messages` is left empty.
pub fn build_moving(config: &mut Config) -> Request {
    let messages = std::mem::take(&mut config.messages);
    with_messages(config, messages)
}

/// Whether the body sends `config.messages` as they are: no attachment merged into the
/// prompt, no content made a list of parts for the multimodal endpoint, no `-o` parameter in
/// their place.
pub fn sends_messages_as_given(config: &Config) -> bool {
    let multimodal = config.protocol == Protocol::Dashscope
        && native_endpoint(config).0 == NativeEndpoint::Multimodal;
    let replaced = ["messages", "input"]
        .iter()
        .any(|k| config.params.contains_key(*k));
    config.media.is_empty() && !replaced && !multimodal
}

/// The messages of a built request, moved out of its body (empty for a body without them).
pub fn into_messages(request: Request) -> Vec<Value> {
    let mut body = request.body;
    let messages = match body.get("messages") {
        Some(_) => body.get_mut("messages"),
        None => body.get_mut("input").and_then(|i| i.get_mut("messages")),
    };
    match messages.map(Value::take) {
        Some(Value::Array(messages)) => messages,
        _ => Vec::new(),
    }
}

/// Where the request goes (what [`build`] would put in `url`), without building the body.
pub fn url(config: &Config) -> String {
    match config.protocol {
        Protocol::Compatible => format!("{}/chat/completions", config.base_url),
        Protocol::Dashscope => {
            let path = if native_endpoint(config).0 == NativeEndpoint::Multimodal {
                MULTIMODAL_PATH
            } else {
                TEXT_PATH
            };
            format!("{}{path}", config.base_url)
        }
    }
}

fn with_messages(config: &Config, messages: Vec<Value>) -> Request {
    let mut request = body(config, messages);
    for (name, value) in &config.headers {
        request
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        request.headers.push((name.clone(), value.clone()));
    }
    request
}

/// The native endpoint for this request: `--native-endpoint`, else multimodal when media are
/// attached, else what the model's name picks (`crate::models`); and the reason.
pub fn native_endpoint(config: &Config) -> (NativeEndpoint, String) {
    if let Some(e) = config.native_endpoint {
        return (e, "--native-endpoint".into());
    }
    if !config.media.is_empty() {
        return (NativeEndpoint::Multimodal, "attachments".into());
    }
    match crate::models::native_endpoint(&config.model) {
        (e, Some(family)) => (e, format!("{} is {family}", config.model)),
        (e, None) => (e, format!("{} is a text model", config.model)),
    }
}

fn body(config: &Config, mut messages: Vec<Value>) -> Request {
    let media = !config.media.is_empty();
    let multimodal = config.protocol == Protocol::Dashscope
        && native_endpoint(config).0 == NativeEndpoint::Multimodal;
    if let Some(i) = config.prompt_index.filter(|_| media) {
        // Moved, not copied: the prompt may be large.
        let text = match messages[i]["content"].take() {
            Value::String(text) => Some(text),
            _ => None,
        };
        messages[i]["content"] = match config.protocol {
            Protocol::Compatible => media::compatible_content(&config.media, text.as_deref()),
            Protocol::Dashscope => media::dashscope_content(&config.media, text.as_deref()),
        };
    }
    if multimodal {
        // The multimodal endpoint takes every content as a list of parts.
        for m in &mut messages {
            if m["content"].is_string() {
                if let Value::String(text) = m["content"].take() {
                    // Moved, not serialized by `json!` (a copy of a big prompt).
                    m["content"] = Value::Array(vec![Value::Object(Map::from_iter([(
                        "text".to_owned(),
                        Value::String(text),
                    )]))]);
                }
            }
        }
    }
    let messages = Value::Array(messages);
    let mut extra = Map::new();
    if let Some(t) = config.thinking {
        extra.insert("enable_thinking".into(), Value::Bool(t));
    }
    if let Some(tools) = &config.tools {
        extra.insert("tools".into(), tools.clone());
    }
    if let Some(choice) = &config.tool_choice {
        extra.insert("tool_choice".into(), choice.clone());
    }
    match config.protocol {
        Protocol::Compatible => {
            let mut body = Map::new();
            body.insert("model".into(), Value::String(config.model.clone()));
            body.insert("messages".into(), messages);
            body.insert("stream".into(), Value::Bool(true));
            body.insert("stream_options".into(), json!({"include_usage": true}));
            if config.audio_out.is_some() {
                body.insert("modalities".into(), json!(["text", "audio"]));
                body.insert(
                    "audio".into(),
                    json!({"voice": config.voice, "format": "wav"}),
                );
            }
            body.extend(extra);
            for (k, v) in &config.params {
                body.insert(k.clone(), v.clone());
            }
            Request {
                url: url(config),
                headers: headers(Protocol::Compatible),
                body: Value::Object(body),
            }
        }
        Protocol::Dashscope => {
            let mut parameters = Map::new();
            parameters.insert("result_format".into(), Value::String("message".into()));
            parameters.insert("incremental_output".into(), Value::Bool(config.incremental));
            parameters.extend(extra);
            for (k, v) in &config.params {
                parameters.insert(k.clone(), v.clone());
            }
            Request {
                url: url(config),
                headers: headers(Protocol::Dashscope),
                // Built by hand: `json!` serializes what it is given by reference, a copy of
                // the messages (a 50 MB prompt held twice: DESIGN §5, issue 17).
                body: Value::Object(Map::from_iter([
                    ("model".to_owned(), Value::String(config.model.clone())),
                    (
                        "input".to_owned(),
                        Value::Object(Map::from_iter([("messages".to_owned(), messages)])),
                    ),
                    ("parameters".to_owned(), Value::Object(parameters)),
                ])),
            }
        }
    }
}

/// Whether a native request asks for incremental text (`incremental_output`, also when set
/// with `-o`); a compatible one always streams deltas.
pub fn incremental_output(request: &Request) -> bool {
    request.body["parameters"]["incremental_output"]
        .as_bool()
        .unwrap_or(true)
}

/// A word for a POSIX shell, in single quotes.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The request as a curl command to paste into a shell; the key stays `$DASHSCOPE_API_KEY`.
///
/// ```
/// let request = qstream::request::Request {
///     url: "https://example.com/v1/chat/completions".into(),
///     headers: vec![("Accept".into(), "text/event-stream".into())],
///     body: serde_json::json!({"messages": [{"role": "user", "content": "it's"}]}),
/// };
/// assert_eq!(
///     qstream::request::curl(&request),
///     "curl -sN -X POST 'https://example.com/v1/chat/completions' \\\n  \
///      -H \"Authorization: Bearer $DASHSCOPE_API_KEY\" \\\n  \
///      -H 'Accept: text/event-stream' \\\n  \
///      --data-raw '{\"messages\":[{\"content\":\"it'\\''s\",\"role\":\"user\"}]}'"
/// );
/// ```
#[doc(hidden)] // the binary calls curl_with_key; this is the example's (and tests') door
pub fn curl(request: &Request) -> String {
    curl_with_key(request, "$DASHSCOPE_API_KEY")
}

/// As `curl`, with `key` for the key: a shell expression that is safe inside double quotes
/// (`$DASHSCOPE_API_KEY_CN`, `$(cat '/path/to/key')`).
pub fn curl_with_key(request: &Request, key: &str) -> String {
    let mut lines = vec![format!("curl -sN -X POST {}", shell_quote(&request.url))];
    lines.push(format!("-H \"Authorization: Bearer {key}\""));
    for (k, v) in &request.headers {
        lines.push(format!("-H {}", shell_quote(&format!("{k}: {v}"))));
    }
    lines.push(format!(
        "--data-raw {}",
        shell_quote(&request.body.to_string())
    ));
    lines.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use crate::config::{Config, Stdin};
    use clap::Parser;

    use crate::config::testing::NoEnv;

    fn request(args: &[&str]) -> Request {
        let cli = Cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
            .expect("args");
        build(&Config::from_cli(&cli, &NoEnv, Stdin::default()).expect("config"))
    }

    #[test]
    fn compatible_body_as_documented() {
        let r = request(&[
            "--thinking",
            "-s",
            "be brief",
            "--max-tokens",
            "9",
            "Who are you?",
        ]);
        assert_eq!(
            r.url,
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"
        );
        assert_eq!(
            r.body,
            json!({
                "model": "qwen-plus",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "Who are you?"}
                ],
                "stream": true,
                "stream_options": {"include_usage": true},
                "enable_thinking": true,
                "max_completion_tokens": 9
            })
        );
        assert!(!r.headers.iter().any(|(k, _)| k == "X-DashScope-SSE"));
    }

    #[test]
    fn curl_command_quotes_and_hides_the_key() {
        let r = request(&["-H", "X-Test: it's", "say 'hi'"]);
        let c = curl(&r);
        assert_eq!(
            c,
            "curl -sN -X POST 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions' \\\n  \
             -H \"Authorization: Bearer $DASHSCOPE_API_KEY\" \\\n  \
             -H 'Content-Type: application/json' \\\n  \
             -H 'Accept: text/event-stream' \\\n  \
             -H 'Accept-Encoding: identity' \\\n  \
             -H 'X-Accel-Buffering: no' \\\n  \
             -H 'User-Agent: qstream/0.1.0' \\\n  \
             -H 'X-Test: it'\\''s' \\\n  \
             --data-raw '{\"messages\":[{\"content\":\"say '\\''hi'\\''\",\"role\":\"user\"}],\"model\":\"qwen-plus\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}'"
        );
    }

    #[test]
    fn the_messages_taken_back_from_a_sent_request_are_the_ones_given() {
        for args in [
            &["-s", "be brief", "--", "a \"prompt\" é"][..],
            &["--protocol", "dashscope", "-s", "be brief", "hi"][..],
        ] {
            let cli = Cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
                .expect("args");
            let mut config = Config::from_cli(&cli, &NoEnv, Stdin::default()).expect("config");
            assert!(sends_messages_as_given(&config), "{args:?}");
            let given = config.messages.clone();
            assert_eq!(given.len(), 2);
            assert_eq!(into_messages(build_moving(&mut config)), given, "{args:?}");
        }
        // Sent otherwise than given: the log keeps its own copy instead.
        for args in [
            &["--image", "https://example.com/a.png", "what is it?"][..],
            &["--protocol", "dashscope", "-m", "qwen-vl-max", "hi"][..],
            &["-o", "messages=[]", "hi"][..],
            &["-o", "input={}", "hi"][..],
        ] {
            let cli = Cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
                .expect("args");
            let config = Config::from_cli(&cli, &NoEnv, Stdin::default()).expect("config");
            assert!(!sends_messages_as_given(&config), "{args:?}");
        }
    }

    #[test]
    fn dashscope_body_as_documented() {
        let r = request(&[
            "--protocol",
            "dashscope",
            "--no-thinking",
            "--no-incremental",
            "-o",
            "top_k=5",
            "hi",
        ]);
        assert_eq!(
            r.url,
            "https://dashscope-intl.aliyuncs.com/api/v1/services/aigc/text-generation/generation"
        );
        assert_eq!(
            r.body,
            json!({
                "model": "qwen-plus",
                "input": {"messages": [{"role": "user", "content": "hi"}]},
                "parameters": {
                    "result_format": "message",
                    "incremental_output": false,
                    "enable_thinking": false,
                    "top_k": 5
                }
            })
        );
        assert!(r
            .headers
            .contains(&("X-DashScope-SSE".to_string(), "enable".to_string())));
    }
}
