//! Flags > environment > defaults, resolved once into a plain struct.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::cli::{Cli, Color, NativeEndpoint, Protocol, Reasoning, Region, Render};
use crate::error::{Error, Result};
use crate::render::extract::Which;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    Text,
    Json,
    Raw,
}

/// The API key. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[derive(Debug, Clone)]
pub struct Network {
    pub connect_timeout: Duration,
    /// Longest wait for any byte from the server.
    pub idle_timeout: Duration,
    pub max_time: Option<Duration>,
    pub retries: u32,
    pub allow_insecure_http: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub protocol: Protocol,
    /// The base URL, without a trailing slash.
    pub base_url: String,
    pub model: String,
    pub messages: Vec<Value>,
    pub thinking: Option<bool>,
    pub incremental: bool,
    /// Request parameters: top-level in compatible bodies, in `parameters` for dashscope.
    pub params: Map<String, Value>,
    pub output: OutputMode,
    pub replay: Option<PathBuf>,
    /// Whether `--protocol` or `QSTREAM_PROTOCOL` named the protocol (else a replay detects it).
    pub protocol_given: bool,
    pub record: Option<PathBuf>,
    pub quiet: bool,
    pub reasoning: Reasoning,
    pub color: Color,
    /// `--render`: whether text mode renders markdown.
    pub render: Render,
    /// `-x` / `--extract-last`: only a code block's contents on stdout.
    pub extract: Option<Which>,
    pub stats: bool,
    pub dry_run: bool,
    /// Extra headers (`--header`, `--workspace`), applied over the defaults.
    pub headers: Vec<(String, String)>,
    /// Attachments for the prompt's user message, in command-line order.
    pub media: Vec<crate::media::Media>,
    /// Which message of `messages` the prompt became, if any.
    pub prompt_index: Option<usize>,
    pub tools: Option<Value>,
    pub tool_choice: Option<Value>,
    /// Qwen-Omni speech output: the WAV file and the voice.
    pub audio_out: Option<PathBuf>,
    pub voice: String,
    /// Things worth saying on stderr before the request (unless quiet).
    pub warnings: Vec<String>,
    pub network: Network,
    /// `--native-endpoint`: overrides the model-name rules (`crate::models`).
    pub native_endpoint: Option<NativeEndpoint>,
    /// Where the request goes, for messages: the region, or `None` with `--base-url`.
    pub region: Option<Region>,
}

/// Where the process's surroundings come from, so that tests can supply their own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
}

/// The real environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn home(&self) -> Option<PathBuf> {
        // The system's idea of home: `HOME`, else the password database on Unix; the user
        // profile on Windows. Still marked deprecated in Rust 1.85, the minimum version,
        // though that release fixed the Windows behaviour the mark was for (later releases
        // drop it), hence the allow. An empty `HOME` is no home: 1.85 returns it as it is.
        #[allow(deprecated)]
        std::env::home_dir().filter(|h| !h.as_os_str().is_empty())
    }
}

pub const INTL_BASE: &str = "https://dashscope-intl.aliyuncs.com";
pub const CN_BASE: &str = "https://dashscope.aliyuncs.com";

fn seconds(name: &str, secs: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::usage(format!("{name} must be a positive number of seconds")))
}

/// `-o KEY=VALUE`: VALUE as JSON when it parses, else as a string.
fn param(kv: &str) -> Result<(String, Value)> {
    let (key, value) = kv
        .split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Error::usage(format!("--param takes KEY=VALUE, got {kv:?}")))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// Earlier turns from a file: a JSON array of objects, each with a string `role`.
pub fn parse_messages(text: &str, origin: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::usage(format!("{origin}: not valid JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(Error::usage(format!(
            "{origin}: expected a JSON array of {{\"role\", \"content\"}} objects"
        )));
    };
    for (i, item) in items.iter().enumerate() {
        if !item.get("role").is_some_and(Value::is_string) || item.get("content").is_none() {
            return Err(Error::usage(format!(
                "{origin}: message {i} needs a string \"role\" and a \"content\""
            )));
        }
    }
    Ok(items)
}

/// `--header 'Name: value'`. The key never travels on the command line, so `Authorization`
/// is refused.
fn header(h: &str) -> Result<(String, String)> {
    let (name, value) = h
        .split_once(':')
        .map(|(n, v)| (n.trim(), v.trim()))
        .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
        .ok_or_else(|| Error::usage(format!("--header takes 'Name: value', got {h:?}")))?;
    if name.eq_ignore_ascii_case("authorization") {
        return Err(Error::usage(
            "--header Authorization is refused: the key comes from DASHSCOPE_API_KEY, never from the command line",
        ));
    }
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(Error::usage(format!(
            "--header {name}: the value has a line break or another control character"
        )));
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn read_file(path: &Path, what: &str) -> Result<String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// What was piped in, read by the caller (it knows whether stdin is a terminal).
#[derive(Debug, Default, Clone)]
pub struct Stdin {
    /// `None` when stdin is a terminal or is consumed by `--replay -` / `--messages -`.
    pub text: Option<String>,
}

impl Config {
    pub fn from_cli(cli: &Cli, env: &dyn Env, stdin: Stdin) -> Result<Config> {
        let output = if cli.raw {
            OutputMode::Raw
        } else if cli.json {
            OutputMode::Json
        } else {
            OutputMode::Text
        };
        let env_protocol = env_choice::<Protocol>(env, "QSTREAM_PROTOCOL")?;
        let protocol_given = cli.protocol.is_some() || env_protocol.is_some();
        // Only the native protocol returns web sources: `--sources` picks it when none was.
        let protocol = cli.protocol.or(env_protocol).unwrap_or(if cli.sources {
            Protocol::Dashscope
        } else {
            Protocol::Compatible
        });
        if cli.sources && protocol == Protocol::Compatible {
            return Err(Error::usage(
                "--sources needs --protocol dashscope: the compatible protocol returns no web sources",
            ));
        }
        let region = match cli.region {
            Some(r) => r,
            None => env_choice::<Region>(env, "QSTREAM_REGION")?.unwrap_or(Region::Intl),
        };
        let workspace = match &cli.workspace {
            Some(ws) => Some((ws.clone(), "--workspace")),
            None => env
                .var("DASHSCOPE_WORKSPACE")
                .map(|ws| (ws, "DASHSCOPE_WORKSPACE")),
        };
        if let Some((ws, origin)) = &workspace {
            if ws.bytes().any(|b| b.is_ascii_control()) {
                return Err(Error::usage(format!(
                    "{origin}: the workspace has a line break or another control character"
                )));
            }
        }
        let base_env = match protocol {
            Protocol::Compatible => "DASHSCOPE_COMPATIBLE_BASE_URL",
            Protocol::Dashscope => "DASHSCOPE_HTTP_BASE_URL",
        };
        let given = match &cli.base_url {
            Some(url) => Some((url.clone(), "--base-url")),
            None => env.var(base_env).map(|url| (url, base_env)),
        };
        // The region decides the host only when no base URL was given.
        let region_used = given.is_none().then_some(region);
        let base_url = match given {
            Some((url, origin)) => {
                crate::endpoint::check_base_url(&url).map_err(|mut e| {
                    e.message = format!("{origin}: {}", e.message);
                    e
                })?;
                url.trim_end_matches('/').to_owned()
            }
            None => {
                let host = crate::models::host(region, workspace.as_ref().map(|(w, _)| w.as_str()))
                    .map(|h| format!("https://{h}"))
                    .map_err(Error::usage)?;
                match protocol {
                    Protocol::Compatible => format!("{host}/compatible-mode/v1"),
                    Protocol::Dashscope => format!("{host}/api/v1"),
                }
            }
        };

        let mut params = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                params.insert(k.to_owned(), v);
            }
        };
        put("temperature", cli.temperature.map(Value::from));
        put("top_p", cli.top_p.map(Value::from));
        put("top_k", cli.top_k.map(Value::from));
        // The compatible API renamed it (notice 724, 2026-04-20); `-o max_tokens=…` still
        // sends exactly that.
        put(
            match protocol {
                Protocol::Compatible => "max_completion_tokens",
                Protocol::Dashscope => "max_tokens",
            },
            cli.max_tokens.map(Value::from),
        );
        put("thinking_budget", cli.thinking_budget.map(Value::from));
        put("seed", cli.seed.map(Value::from));
        put(
            "stop",
            (!cli.stop.is_empty()).then(|| Value::from(cli.stop.clone())),
        );
        put("presence_penalty", cli.presence_penalty.map(Value::from));
        let search = crate::search::options(cli);
        put(
            "enable_search",
            search.is_some().then_some(Value::Bool(true)),
        );
        put(
            "search_options",
            search.filter(|o| !o.is_empty()).map(Value::Object),
        );
        put("response_format", crate::structured::response_format(cli)?);
        for kv in &cli.params {
            let (k, v) = param(kv)?;
            params.insert(k, v);
        }

        let replaying = cli.replay.is_some();
        let mut messages = Vec::new();
        if let Some(system) = &cli.system {
            messages.push(serde_json::json!({"role": "system", "content": system}));
        }
        // A continued conversation: its earlier turns come before this one.
        messages.extend(cli.history.iter().cloned());
        // Stdin is moved, never copied: it may be large.
        let (messages_stdin, stdin_for_prompt) = if cli.messages.as_deref() == Some(Path::new("-"))
        {
            (stdin.text, None)
        } else {
            (None, stdin.text)
        };
        if let Some(path) = &cli.messages {
            let (text, origin) = if path == Path::new("-") {
                (messages_stdin.unwrap_or_default(), "stdin".to_owned())
            } else {
                (
                    read_file(path, "messages file")?,
                    path.display().to_string(),
                )
            };
            messages.extend(parse_messages(&text, &origin)?);
        }
        let prompt = user_message(&cli.prompt, stdin_for_prompt);
        let prompt_index = prompt.is_some().then_some(messages.len());
        match prompt {
            Some(p) => messages.push(serde_json::json!({"role": "user", "content": p})),
            None if replaying => {}
            None if messages.iter().any(|m| m["role"] != "system") => {}
            None => {
                return Err(Error::usage(
                    "no prompt: give one as arguments or on stdin (try 'qstream --help')",
                ))
            }
        }

        let media_args: Vec<(crate::cli::MediaKind, String)> = if cli.media.is_empty() {
            use crate::cli::MediaKind;
            let tag = |k: MediaKind, v: &Vec<String>| {
                v.iter().map(move |s| (k, s.clone())).collect::<Vec<_>>()
            };
            [
                tag(MediaKind::Image, &cli.image),
                tag(MediaKind::Audio, &cli.audio),
                tag(MediaKind::Video, &cli.video),
            ]
            .concat()
        } else {
            cli.media.clone()
        };
        if !media_args.is_empty() && prompt_index.is_none() {
            return Err(Error::usage(
                "attachments go with a prompt: give one as arguments or on stdin",
            ));
        }
        let media = media_args
            .iter()
            .map(|(kind, arg)| crate::media::load(*kind, arg))
            .collect::<Result<Vec<_>>>()?;

        let tools = match &cli.tools {
            Some(path) => {
                let text = read_file(path, "tools file")?;
                let v: Value = serde_json::from_str(&text).map_err(|e| {
                    Error::usage(format!("{}: not valid JSON: {e}", path.display()))
                })?;
                if !v.is_array() {
                    return Err(Error::usage(format!(
                        "{}: expected a JSON array of tool definitions",
                        path.display()
                    )));
                }
                Some(v)
            }
            None => None,
        };
        let tool_choice = cli.tool_choice.as_deref().map(|c| match c {
            "auto" | "none" | "required" => Value::String(c.to_owned()),
            name => serde_json::json!({"type": "function", "function": {"name": name}}),
        });

        let mut warnings = Vec::new();
        if cli.audio_out.is_some() {
            if protocol == Protocol::Dashscope {
                return Err(Error::usage(
                    "--audio-out needs --protocol compatible (Qwen-Omni speaks only that protocol)",
                ));
            }
            if cli.system.is_some() {
                warnings.push(
                    "qstream: warning: the service advises against a system message with audio output"
                        .to_owned(),
                );
            }
        }
        let n = params.get("n").and_then(Value::as_u64).unwrap_or(1);
        if n > 1 && output == OutputMode::Text {
            warnings.push(format!(
                "qstream: n={n}: text mode prints choice 0 only; --json has every choice"
            ));
        }

        if cli.json_object && !crate::structured::mentions_json(&messages) {
            warnings.push(
                "qstream: warning: --json-object: the service wants the word \"JSON\" in the prompt and may refuse without it"
                    .to_owned(),
            );
        }
        let mut headers = Vec::new();
        if let (Some((ws, _)), None) = (workspace, region_used) {
            // A workspace host names the workspace already; another host takes the header.
            headers.push(("X-DashScope-WorkSpace".to_owned(), ws));
        }
        for h in &cli.headers {
            headers.push(header(h)?);
        }

        Ok(Config {
            protocol,
            base_url,
            model: cli
                .model
                .clone()
                .or_else(|| env.var("QSTREAM_MODEL"))
                .unwrap_or_else(|| crate::cli::DEFAULT_MODEL.to_owned()),
            messages,
            thinking: if cli.thinking || cli.thinking_budget.is_some() {
                Some(true)
            } else if cli.no_thinking {
                Some(false)
            } else {
                None
            },
            incremental: !cli.no_incremental,
            params,
            output,
            replay: cli.replay.clone(),
            protocol_given,
            record: cli.record.clone(),
            quiet: cli.quiet,
            reasoning: cli.reasoning,
            color: cli.color,
            render: cli.render,
            extract: if cli.extract {
                Some(Which::First)
            } else if cli.extract_last {
                Some(Which::Last)
            } else {
                None
            },
            stats: cli.stats,
            dry_run: cli.dry_run,
            headers,
            media,
            prompt_index,
            tools,
            tool_choice,
            audio_out: cli.audio_out.clone(),
            voice: cli.voice.clone(),
            warnings,
            network: Network {
                connect_timeout: seconds("--connect-timeout", cli.connect_timeout)?,
                idle_timeout: seconds("--timeout", cli.timeout)?,
                max_time: cli.max_time.map(|s| seconds("--max-time", s)).transpose()?,
                retries: cli.retries,
                allow_insecure_http: cli.allow_insecure_http,
            },
            native_endpoint: cli.native_endpoint,
            region: region_used,
        })
    }
}

/// PROMPT, a blank line, then stdin; `-` alone means stdin only. `None` when both are empty.
/// Stdin's buffer becomes the message (the prompt is put in front of it), so a large input is
/// never held twice.
pub fn user_message(words: &[String], stdin: Option<String>) -> Option<String> {
    let stdin = stdin.filter(|s| !s.trim().is_empty());
    let stdin_only = words.len() == 1 && words[0] == "-";
    let prompt = if stdin_only {
        String::new()
    } else {
        words.join(" ")
    };
    match (prompt.trim().is_empty(), stdin) {
        (true, None) => None,
        (true, Some(s)) => Some(s),
        (false, None) => Some(prompt),
        (false, Some(mut s)) => {
            s.insert_str(0, &format!("{prompt}\n\n"));
            Some(s)
        }
    }
}

/// The file the key would be read from (whether or not the variable takes precedence).
pub fn api_key_file(env: &dyn Env) -> Option<PathBuf> {
    match env.var("DASHSCOPE_API_KEY_FILE_PATH") {
        Some(p) => Some(PathBuf::from(p)),
        None => env.home().map(|h| h.join(".dashscope").join("api_key")),
    }
}

/// A `clap::ValueEnum` value from the environment; an invalid one names the variable.
fn env_choice<T: clap::ValueEnum>(env: &dyn Env, name: &str) -> Result<Option<T>> {
    let Some(value) = env.var(name) else {
        return Ok(None);
    };
    T::from_str(value.trim(), true).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        Error::usage(format!(
            "{name}: invalid value {value:?} (expected {})",
            names.join(" or ")
        ))
    })
}

/// The largest key file read: a key is under a hundred bytes; anything far bigger is the
/// wrong file.
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The key, in the vendor SDK's order: the variable, the file it names, ~/.dashscope/api_key.
/// A key that cannot be right (blank, control or non-ASCII characters, spaces) is refused
/// naming where it came from and why, never showing it.
pub fn api_key(env: &dyn Env) -> Result<ApiKey> {
    if let Some(k) = env.var("DASHSCOPE_API_KEY") {
        return checked_key(&k, "DASHSCOPE_API_KEY");
    }
    let (path, named) = match env.var("DASHSCOPE_API_KEY_FILE_PATH") {
        Some(p) => (Some(PathBuf::from(p)), true),
        None => (
            env.home().map(|h| h.join(".dashscope").join("api_key")),
            false,
        ),
    };
    if let Some(path) = path {
        let what = if named {
            format!(
                "the key file {} (DASHSCOPE_API_KEY_FILE_PATH)",
                path.display()
            )
        } else {
            format!("the key file {}", path.display())
        };
        match read_key_file(&path) {
            Ok(text) => return checked_key(&text, &what),
            // No file at the default place: simply no key there.
            Err(KeyFileError::Missing) if !named => {}
            Err(e) => return Err(Error::config(format!("cannot use {what}: {e}"))),
        }
    }
    Err(Error::config(
        "no API key: set DASHSCOPE_API_KEY (or DASHSCOPE_API_KEY_FILE_PATH, or write it to ~/.dashscope/api_key)",
    ))
}

enum KeyFileError {
    Missing,
    Other(String),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Missing => f.write_str("no such file"),
            KeyFileError::Other(why) => f.write_str(why),
        }
    }
}

fn read_key_file(path: &Path) -> std::result::Result<String, KeyFileError> {
    use std::io::Read;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => KeyFileError::Missing,
        std::io::ErrorKind::PermissionDenied => KeyFileError::Other("permission denied".into()),
        std::io::ErrorKind::IsADirectory => KeyFileError::Other("it is a directory".into()),
        _ => KeyFileError::Other(e.to_string()),
    };
    let too_big = || KeyFileError::Other(format!("it is over {} KiB", MAX_KEY_FILE / 1024));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(KeyFileError::Other("it is a directory".into()));
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        KeyFileError::Other(format!(
            "it is not UTF-8 text (invalid at byte {}, counting from 0)",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The key as it will be sent: without a UTF-8 byte-order mark and surrounding whitespace,
/// and made only of printable ASCII.
fn checked_key(raw: &str, origin: &str) -> Result<ApiKey> {
    let key = raw.trim_start_matches('\u{feff}').trim();
    let bad = |why: String| Err(Error::config(format!("the API key in {origin} {why}")));
    if key.is_empty() {
        return bad("is blank".to_owned());
    }
    // Positions, never characters: the key must not be shown, not even in part.
    if let Some(i) = key.chars().position(|c| !c.is_ascii()) {
        return bad(format!("has a non-ASCII character (character {})", i + 1));
    }
    if let Some(i) = key.bytes().position(|b| b.is_ascii_control()) {
        return bad(format!("has a control character (character {})", i + 1));
    }
    if let Some(i) = key.bytes().position(|b| b == b' ') {
        return bad(format!("has a space in it (character {})", i + 1));
    }
    Ok(ApiKey(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, String>, Option<PathBuf>);

    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            self.1.clone()
        }
    }

    fn env(vars: &[(&'static str, &str)]) -> FakeEnv {
        FakeEnv(
            vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            None,
        )
    }

    fn config(args: &[&str], e: &FakeEnv, stdin: Option<&str>) -> Result<Config> {
        let cli = Cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
            .expect("args parse");
        Config::from_cli(
            &cli,
            e,
            Stdin {
                text: stdin.map(String::from),
            },
        )
    }

    #[test]
    fn prompt_and_stdin_combine() {
        let w = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(user_message(&w(&["a", "b"]), None).as_deref(), Some("a b"));
        assert_eq!(
            user_message(&w(&["review"]), Some("diff\n".into())).as_deref(),
            Some("review\n\ndiff\n")
        );
        assert_eq!(
            user_message(&w(&["-"]), Some("x".into())).as_deref(),
            Some("x")
        );
        assert_eq!(user_message(&w(&["-"]), None), None);
        assert_eq!(user_message(&w(&[]), Some("  \n".into())), None);
        assert_eq!(
            user_message(&w(&[]), Some("q".into())).as_deref(),
            Some("q")
        );
    }

    #[test]
    fn base_url_precedence() {
        let c = config(&["hi"], &env(&[]), None).expect("ok");
        assert_eq!(
            c.base_url,
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
        );
        let c = config(
            &["--protocol", "dashscope", "--region", "cn", "hi"],
            &env(&[]),
            None,
        )
        .expect("ok");
        assert_eq!(c.base_url, "https://dashscope.aliyuncs.com/api/v1");
        let e = env(&[("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:9/api/v1/")]);
        let c = config(&["--protocol", "dashscope", "hi"], &e, None).expect("ok");
        assert_eq!(c.base_url, "http://127.0.0.1:9/api/v1");
        let c = config(
            &[
                "--protocol",
                "dashscope",
                "--base-url",
                "http://x/api/v1",
                "hi",
            ],
            &e,
            None,
        )
        .expect("ok");
        assert_eq!(c.base_url, "http://x/api/v1");
    }

    #[test]
    fn params_from_flags_and_dash_o() {
        let c = config(
            &[
                "--temperature",
                "0.5",
                "--stop",
                "a",
                "--stop",
                "b",
                "-o",
                "n=2",
                "-o",
                "user=alice",
                "-o",
                "temperature=0.1",
                "--enable-search",
                "hi",
            ],
            &env(&[]),
            None,
        )
        .expect("ok");
        assert_eq!(
            Value::Object(c.params),
            serde_json::json!({"temperature": 0.1, "stop": ["a", "b"], "n": 2, "user": "alice", "enable_search": true})
        );
        let e = config(&["-o", "novalue", "hi"], &env(&[]), None).expect_err("bad");
        assert_eq!(e.exit, crate::error::Exit::Usage);
    }

    #[test]
    fn no_prompt_is_a_usage_error_unless_replaying() {
        let e = config(&[], &env(&[]), None).expect_err("no prompt");
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(config(&["--replay", "x.sse"], &env(&[]), None).is_ok());
        // An empty history is no prompt either.
        let e = config(&["--messages", "-"], &env(&[]), Some("[]")).expect_err("empty");
        assert_eq!(e.exit, crate::error::Exit::Usage);
    }

    #[test]
    fn headers_parse_and_authorization_is_refused() {
        assert_eq!(
            header("X-Foo:  bar baz ").expect("ok"),
            ("X-Foo".to_string(), "bar baz".to_string())
        );
        assert!(header("nocolon").is_err());
        assert!(header(": v").is_err());
        assert!(header("authorization: Bearer x").is_err());
        // With a base URL of one's own, the workspace travels as a header ...
        let c = config(
            &[
                "--workspace",
                "ws-1",
                "--base-url",
                "https://proxy.example/compatible-mode/v1",
                "-H",
                "X-A: 1",
                "hi",
            ],
            &env(&[]),
            None,
        )
        .expect("ok");
        assert_eq!(
            c.headers,
            vec![
                ("X-DashScope-WorkSpace".to_string(), "ws-1".to_string()),
                ("X-A".to_string(), "1".to_string())
            ]
        );
        // ... and with a region it picks the workspace's own host instead.
        let c = config(&["--workspace", "ws-1", "hi"], &env(&[]), None).expect("ok");
        assert!(c.headers.is_empty());
        assert_eq!(
            c.base_url,
            "https://ws-1.ap-southeast-1.maas.aliyuncs.com/compatible-mode/v1"
        );
    }

    #[test]
    fn regions_aliases_env_and_workspace_only_regions() {
        let base = |args: &[&str], e: &FakeEnv| config(args, e, None).map(|c| c.base_url);
        assert_eq!(
            base(&["--region", "SG", "hi"], &env(&[])).expect("sg"),
            "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
        );
        assert_eq!(
            base(
                &["--region", "us", "--protocol", "dashscope", "hi"],
                &env(&[])
            )
            .expect("us"),
            "https://dashscope-us.aliyuncs.com/api/v1"
        );
        assert_eq!(
            base(&["--region", "Hk", "hi"], &env(&[])).expect("hk"),
            "https://cn-hongkong.dashscope.aliyuncs.com/compatible-mode/v1"
        );
        assert_eq!(
            base(&["--region", "Beijing", "hi"], &env(&[])).expect("cn"),
            "https://dashscope.aliyuncs.com/compatible-mode/v1"
        );
        let e = base(&["--region", "eu", "hi"], &env(&[])).expect_err("eu needs a workspace");
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(e.message.contains("--workspace"), "{e}");
        assert_eq!(
            base(
                &["--region", "frankfurt", "--workspace", "ws-9", "hi"],
                &env(&[])
            )
            .expect("eu"),
            "https://ws-9.eu-central-1.maas.aliyuncs.com/compatible-mode/v1"
        );
        assert_eq!(
            base(
                &["--region", "tokyo", "--workspace", "ws-9", "hi"],
                &env(&[])
            )
            .expect("jp"),
            "https://ws-9.ap-northeast-1.maas.aliyuncs.com/compatible-mode/v1"
        );
    }

    #[test]
    fn messages_are_validated() {
        assert!(parse_messages(r#"[{"role":"user","content":"hi"}]"#, "f").is_ok());
        assert!(parse_messages(r#"{"role":"user"}"#, "f").is_err());
        assert!(parse_messages(r#"[{"content":"hi"}]"#, "f").is_err());
        let c = config(
            &["--messages", "-", "and now?"],
            &env(&[]),
            Some(r#"[{"role":"user","content":"2+2"},{"role":"assistant","content":"4"}]"#),
        )
        .expect("ok");
        assert_eq!(c.messages.len(), 3);
        assert_eq!(c.messages[2]["content"], "and now?");
    }

    #[test]
    fn api_key_order_and_secrecy() {
        let dir = std::env::temp_dir().join(format!("qstream-key-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".dashscope")).expect("mkdir");
        std::fs::write(dir.join(".dashscope/api_key"), "sk-home\n").expect("write");
        std::fs::write(dir.join("named"), "sk-named").expect("write");
        let mut e = env(&[]);
        e.1 = Some(dir.clone());
        assert_eq!(api_key(&e).expect("home").expose(), "sk-home");
        e.0.insert(
            "DASHSCOPE_API_KEY_FILE_PATH",
            dir.join("named").display().to_string(),
        );
        assert_eq!(api_key(&e).expect("named").expose(), "sk-named");
        e.0.insert("DASHSCOPE_API_KEY", "sk-env".into());
        let k = api_key(&e).expect("env");
        assert_eq!(k.expose(), "sk-env");
        assert!(!format!("{k:?}").contains("sk-env"));
        let none = api_key(&env(&[])).expect_err("missing");
        assert_eq!(none.exit, crate::error::Exit::Auth);
        assert!(none.message.contains("DASHSCOPE_API_KEY"));
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// An environment with nothing set, and the settings of a command line read in it: for unit
/// tests across the crate.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Config, Env, Stdin};

    pub(crate) struct NoEnv;

    impl Env for NoEnv {
        fn var(&self, _: &str) -> Option<String> {
            None
        }
        fn home(&self) -> Option<std::path::PathBuf> {
            None
        }
    }

    /// `qstream ARGS…` as settings, with no environment and no stdin.
    pub(crate) fn config_of(args: &[&str]) -> Config {
        let cli =
            crate::cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
                .expect("args");
        Config::from_cli(&cli, &NoEnv, Stdin::default()).expect("config")
    }
}
