//! The command line: clap definitions only (DESIGN §2 is the contract).
//!
//! The same `Command` generates the man page and the shell completions, so every user-facing
//! word about an option lives here.

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

const INPUT: &str = "Input";
const MODEL: &str = "Model";
const PROTOCOL: &str = "Protocol";
const OUTPUT: &str = "Output";
const NETWORK: &str = "Network";
const SETTINGS: &str = "Settings";
const MAP: &str = "Map";

pub const AFTER_LONG_HELP: &str = "\
Examples:
  qstream \"Who are you?\"
  git diff | qstream \"review this diff\"
  qstream --thinking -m qwen-plus \"Is 9.11 larger than 9.9?\"
  qstream --json \"hello\" | jq -j 'select(.type==\"content\").text'
  qstream --protocol dashscope --region cn \"hello\"
  qstream --replay tests/fixtures/compatible_thinking.sse
  qstream -x \"bash one-liner to count lines in *.rs\" > count.sh
  qstream --render markdown \"explain lifetimes\" | less -R
  qstream -r reviewer < change.diff
  qstream -P cn config show
  qstream map -j 8 --output answers.jsonl prompts.jsonl
  qstream -- config my router          (a prompt whose first word names a subcommand)

Settings come from flags, then environment variables, then the role (-r), then the profile
(-P), then the top level of the config file ($QSTREAM_CONFIG, else
$XDG_CONFIG_HOME/qstream/config.toml, else ~/.config/qstream/config.toml), then the built-in
defaults. `qstream config show` prints each setting in effect and where it came from.

The API key is read from DASHSCOPE_API_KEY, else from the file named by
DASHSCOPE_API_KEY_FILE_PATH, else from ~/.dashscope/api_key. It is never a flag.

Exit status: 0 finished, 1 internal error, 2 usage, 3 authentication or configuration,
4 request rejected, 5 rate limit or quota, 6 server error, 7 network or stream failure,
8 `map` finished but some items failed, 130 interrupted.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// OpenAI-compatible: {base}/chat/completions
    Compatible,
    /// DashScope native: {base}/services/aigc/text-generation/generation
    Dashscope,
}

/// The regions the service's chat APIs are offered in (see `crate::models::region_hosts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Region {
    /// Singapore: dashscope-intl.aliyuncs.com
    #[value(alias = "sg", alias = "singapore")]
    Intl,
    /// China (Beijing): dashscope.aliyuncs.com
    #[value(alias = "beijing")]
    Cn,
    /// US (Virginia): dashscope-us.aliyuncs.com
    #[value(alias = "virginia")]
    Us,
    /// China (Hong Kong): cn-hongkong.dashscope.aliyuncs.com
    #[value(alias = "hongkong")]
    Hk,
    /// Germany (Frankfurt): only through a workspace host (needs --workspace)
    #[value(alias = "frankfurt")]
    Eu,
    /// Japan (Tokyo): only through a workspace host (needs --workspace)
    #[value(alias = "tokyo")]
    Jp,
}

/// Which native (dashscope) generation endpoint serves the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NativeEndpoint {
    /// {base}/services/aigc/text-generation/generation
    Text,
    /// {base}/services/aigc/multimodal-generation/generation (content as [{"text": …}] lists)
    Multimodal,
}

/// How the web search searches (search_options.search_strategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchStrategy {
    Turbo,
    Max,
    Agent,
    #[value(name = "agent_max", alias = "agent-max")]
    AgentMax,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour on a terminal, as NO_COLOR, CLICOLOR, CLICOLOR_FORCE and TERM allow
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Render {
    /// Render when stdout is a terminal and colour is allowed (NO_COLOR, TERM=dumb, --color never
    /// ask for plain)
    Auto,
    /// Render also into a pipe or file (for `less -R`); width from COLUMNS, else 80
    Markdown,
    /// Never render: the model's text as it came
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Reasoning {
    /// Reasoning on stderr (dimmed on a terminal)
    Stderr,
    /// Reasoning on stdout before the answer, inside <think>…</think>
    Stdout,
    /// Keep thinking on but print none of it
    Hide,
}

/// The kind of a media attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Audio,
    Video,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "qstream",
    version,
    about = "Stream one answer from Qwen models (Alibaba Cloud Model Studio) to stdout as it arrives",
    long_about = "Send one streaming chat request to a Qwen model on Alibaba Cloud Model Studio \
(DashScope) and write the answer to stdout the instant each piece arrives. Reasoning and the \
usage line go to stderr. When stdin is not a terminal it is read too: the message is PROMPT, \
a blank line, then stdin.",
    after_long_help = AFTER_LONG_HELP,
    max_term_width = 100,
    disable_help_subcommand = true,
    override_usage = "qstream [OPTIONS] [PROMPT]...\n       qstream [OPTIONS] config <show|path|roles|profiles>\n       qstream map [OPTIONS] [INPUT|-]\n       qstream [OPTIONS] batch <submit|status|wait|fetch|cancel|list>"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The prompt; its words are joined by spaces. `-` means: read the prompt from stdin only.
    #[arg(value_name = "PROMPT", help_heading = INPUT)]
    pub prompt: Vec<String>,

    /// Never read stdin, even when it is not a terminal (for loops that read a list from it)
    #[arg(short = 'n', long, help_heading = INPUT)]
    pub no_stdin: bool,

    /// System message
    #[arg(short = 's', long, value_name = "TEXT", help_heading = INPUT)]
    pub system: Option<String>,

    /// Earlier turns: a JSON array of {"role", "content"} (`-` = stdin); the prompt is appended
    #[arg(long, value_name = "FILE", help_heading = INPUT)]
    pub messages: Option<PathBuf>,

    /// Attach an image: a URL, or a local file sent inline (repeatable)
    #[arg(long, value_name = "FILE|URL", action = ArgAction::Append, help_heading = INPUT)]
    pub image: Vec<String>,

    /// Attach audio: a URL, or a local file sent inline (repeatable)
    #[arg(long, value_name = "FILE|URL", action = ArgAction::Append, help_heading = INPUT)]
    pub audio: Vec<String>,

    /// Attach a video: a URL, or a local file sent inline (repeatable)
    #[arg(long, value_name = "FILE|URL", action = ArgAction::Append, help_heading = INPUT)]
    pub video: Vec<String>,

    /// The attachments in command-line order (filled by `parse`)
    #[arg(skip)]
    pub media: Vec<(MediaKind, String)>,

    /// Continue the latest conversation in the log: its earlier turns are sent first
    #[arg(short = 'c', long = "continue", conflicts_with_all = ["messages", "cid"], help_heading = INPUT)]
    pub continue_: bool,

    /// Continue the conversation with this id (a unique prefix is enough)
    #[arg(long, value_name = "ID", conflicts_with = "messages", help_heading = INPUT)]
    pub cid: Option<String>,

    /// Earlier turns of a continued conversation, sent before the prompt (filled by the log)
    #[arg(skip)]
    pub history: Vec<serde_json::Value>,

    /// The options given on the command line itself (not by the environment or a default),
    /// for what a continued conversation carries over (filled by `parse`)
    #[arg(skip)]
    pub explicit: Vec<&'static str>,

    /// Model name [env: QSTREAM_MODEL] [default: qwen-plus]
    #[arg(short = 'm', long, value_name = "MODEL", help_heading = MODEL)]
    pub model: Option<String>,

    /// Ask for the model's reasoning (enable_thinking: true)
    #[arg(long, overrides_with = "no_thinking", help_heading = MODEL)]
    pub thinking: bool,

    /// Ask for no reasoning (enable_thinking: false)
    #[arg(long, overrides_with = "thinking", help_heading = MODEL)]
    pub no_thinking: bool,

    /// Most reasoning tokens (thinking_budget, a positive integer); implies --thinking
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "no_thinking", help_heading = MODEL)]
    pub thinking_budget: Option<u64>,

    /// Sampling temperature
    #[arg(long, value_name = "T", help_heading = MODEL)]
    pub temperature: Option<f64>,

    /// Nucleus sampling threshold
    #[arg(long, value_name = "P", help_heading = MODEL)]
    pub top_p: Option<f64>,

    /// Sample from the K most likely tokens
    #[arg(long, value_name = "K", help_heading = MODEL)]
    pub top_k: Option<u64>,

    /// Most tokens to generate, reasoning included (compatible: max_completion_tokens;
    /// dashscope: max_tokens)
    #[arg(long, value_name = "N", help_heading = MODEL)]
    pub max_tokens: Option<u64>,

    /// Random seed
    #[arg(long, value_name = "N", help_heading = MODEL)]
    pub seed: Option<u64>,

    /// Stop generating at this string (repeatable)
    #[arg(long, value_name = "TEXT", action = ArgAction::Append, help_heading = MODEL)]
    pub stop: Vec<String>,

    /// Presence penalty (-2.0 to 2.0)
    #[arg(long, value_name = "X", allow_negative_numbers = true, help_heading = MODEL)]
    pub presence_penalty: Option<f64>,

    /// Let the model search the web (enable_search: true; billed per search)
    #[arg(long, alias = "enable-search", help_heading = MODEL)]
    pub search: bool,

    /// Web search strategy (search_options.search_strategy); implies --search
    #[arg(long, value_enum, value_name = "STRATEGY", help_heading = MODEL)]
    pub search_strategy: Option<SearchStrategy>,

    /// Always search, not only when the model thinks it helps (forced_search); implies --search
    #[arg(long, help_heading = MODEL)]
    pub force_search: bool,

    /// Ask for the web sources and list them after the answer; implies --search and needs
    /// the dashscope protocol (chosen when no protocol is given)
    #[arg(long, help_heading = MODEL)]
    pub sources: bool,

    /// Answer with a JSON object (response_format json_object; the prompt must say "JSON")
    #[arg(long, conflicts_with = "schema", help_heading = MODEL)]
    pub json_object: bool,

    /// Answer with JSON following the JSON Schema in FILE (response_format json_schema)
    #[arg(long, value_name = "FILE", help_heading = MODEL)]
    pub schema: Option<PathBuf>,

    /// Tools the model may call: a JSON array of tool definitions (OpenAI shape)
    #[arg(long, value_name = "FILE", help_heading = MODEL)]
    pub tools: Option<PathBuf>,

    /// Whether to call a tool: auto, none, or the name of the function to call
    #[arg(long, value_name = "auto|none|NAME", help_heading = MODEL)]
    pub tool_choice: Option<String>,

    /// Any other request parameter; VALUE is parsed as JSON, else taken as a string (repeatable)
    #[arg(short = 'o', long = "param", value_name = "KEY=VALUE", action = ArgAction::Append, help_heading = MODEL)]
    pub params: Vec<String>,

    /// Wire protocol [env: QSTREAM_PROTOCOL] [default: compatible; a replay detects it]
    #[arg(long, value_enum, help_heading = PROTOCOL)]
    pub protocol: Option<Protocol>,

    /// Region whose endpoint to use when no base URL is given; API keys work in their own
    /// region only [env: QSTREAM_REGION] [default: intl]
    #[arg(long, value_enum, ignore_case = true, help_heading = PROTOCOL)]
    pub region: Option<Region>,

    /// dashscope: the generation endpoint, instead of the one the model name picks
    #[arg(long, value_enum, value_name = "KIND", help_heading = PROTOCOL)]
    pub native_endpoint: Option<NativeEndpoint>,

    /// Base URL as the vendor SDKs take it: …/compatible-mode/v1 or …/api/v1
    #[arg(long, value_name = "URL", help_heading = PROTOCOL)]
    pub base_url: Option<String>,

    /// dashscope: ask for cumulative output (incremental_output: false); deltas are still printed
    #[arg(long, help_heading = PROTOCOL)]
    pub no_incremental: bool,

    /// Write one JSON object per event to stdout
    #[arg(long, conflicts_with = "raw", help_heading = OUTPUT)]
    pub json: bool,

    /// Write every SSE event as one JSON object per line, before protocol decoding
    #[arg(long, help_heading = OUTPUT)]
    pub raw: bool,

    /// Read a recorded response body from FILE (`-` = stdin) instead of the network
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub replay: Option<PathBuf>,

    /// Also write the raw response body to FILE as it arrives
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub record: Option<PathBuf>,

    /// Nothing on stderr but errors
    #[arg(short = 'q', long, help_heading = OUTPUT)]
    pub quiet: bool,

    /// Qwen-Omni: also ask for speech and write it to FILE as WAV (compatible protocol)
    #[arg(long, value_name = "FILE.wav", help_heading = OUTPUT)]
    pub audio_out: Option<PathBuf>,

    /// The voice for --audio-out
    #[arg(long, value_name = "NAME", default_value = "Cherry", help_heading = OUTPUT)]
    pub voice: String,

    /// Where the reasoning goes in text mode
    #[arg(long, value_enum, value_name = "WHERE", default_value = "stderr", help_heading = OUTPUT)]
    pub reasoning: Reasoning,

    /// Markdown on the terminal: headings, lists, tables, highlighted code, line by line as it
    /// streams
    #[arg(long, value_enum, value_name = "WHEN", env = "QSTREAM_RENDER", hide_env_values = true, default_value = "auto", help_heading = OUTPUT)]
    pub render: Render,

    /// Write only the contents of the first fenced code block, each line as it completes
    #[arg(short = 'x', long, conflicts_with_all = ["json", "raw", "extract_last"], help_heading = OUTPUT)]
    pub extract: bool,

    /// Write only the contents of the last fenced code block, when the answer ends
    #[arg(long, conflicts_with_all = ["json", "raw"], help_heading = OUTPUT)]
    pub extract_last: bool,

    /// When to use colour on stderr
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto", help_heading = OUTPUT)]
    pub color: Color,

    /// At the end, print time to first token, total time, deltas, tokens/s and request_id
    #[arg(long, help_heading = OUTPUT)]
    pub stats: bool,

    /// Keep no record of this exchange in the log (env QSTREAM_NO_LOG=1; config `log = false`)
    #[arg(long, overrides_with = "log", help_heading = OUTPUT)]
    pub no_log: bool,

    /// Keep a record in the log: the default, to undo a config file's `log = false`
    #[arg(long, overrides_with = "no_log", help_heading = OUTPUT)]
    pub log: bool,

    /// Print the request as a curl command and exit without sending it
    #[arg(long, help_heading = OUTPUT)]
    pub dry_run: bool,

    /// Seconds to wait for a connection
    #[arg(long, value_name = "SECS", default_value = "10", help_heading = NETWORK)]
    pub connect_timeout: f64,

    /// Seconds without a byte from the server before giving up
    #[arg(long, value_name = "SECS", default_value = "120", help_heading = NETWORK)]
    pub timeout: f64,

    /// Seconds the whole request may take, retries and their waits included (default: no limit)
    #[arg(long, value_name = "SECS", help_heading = NETWORK)]
    pub max_time: Option<f64>,

    /// Retries after a connect failure, HTTP 429 or 5xx, before any output
    #[arg(long, value_name = "N", default_value = "2", help_heading = NETWORK)]
    pub retries: u32,

    /// Extra request header (repeatable); replaces a default header of the same name
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", action = ArgAction::Append, help_heading = NETWORK)]
    pub headers: Vec<String>,

    /// Workspace: with a region, its own host {ID}.{region-id}.maas.aliyuncs.com (only that
    /// workspace's keys work there); with --base-url, the X-DashScope-WorkSpace header
    /// [env: DASHSCOPE_WORKSPACE]
    #[arg(long, value_name = "ID", help_heading = NETWORK)]
    pub workspace: Option<String>,

    /// Allow plain http:// to hosts other than loopback
    #[arg(long, help_heading = NETWORK)]
    pub allow_insecure_http: bool,

    /// The config file to read instead of ~/.config/qstream/config.toml
    #[arg(long, value_name = "FILE", env = "QSTREAM_CONFIG", hide_env_values = true, global = true, help_heading = SETTINGS)]
    pub config: Option<PathBuf>,

    /// Use the config file's [profiles.NAME] (region, workspace, key variable, defaults)
    #[arg(short = 'P', long, value_name = "NAME", env = "QSTREAM_PROFILE", hide_env_values = true, global = true, help_heading = SETTINGS)]
    pub profile: Option<String>,

    /// Use the config file's [roles.NAME] (system message, prompt template, defaults)
    #[arg(short = 'r', long, value_name = "NAME", global = true, help_heading = SETTINGS)]
    pub role: Option<String>,

    /// The role's prompt template (filled by the settings layer)
    #[arg(skip)]
    pub template: Option<String>,

    /// Where the profile says the key is (filled by the settings layer)
    #[arg(skip)]
    pub key_source: Option<KeySource>,
}

/// A profile's own place for the API key, instead of DASHSCOPE_API_KEY.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySource {
    pub profile: String,
    /// The variable that holds the key (`api_key_env`).
    pub env: Option<String>,
    /// The file that holds the key (`api_key_file`).
    pub file: Option<PathBuf>,
}

/// The front doors besides the bare `qstream [OPTIONS] [PROMPT]...`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum Command {
    /// Show the settings in effect, the config file's path, its roles or its profiles
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// List, search, show and export the exchanges kept in the local log
    #[command(visible_alias = "logs")]
    Log(LogArgs),
    /// Send many prompts, several at a time under the account's rate limits: one JSON line
    /// per item as it completes
    #[command(
        after_long_help = MAP_AFTER_LONG_HELP,
        override_usage = "qstream map [OPTIONS] [INPUT|-]"
    )]
    Map(MapArgs),
    /// Many prompts at half price through the vendor's Batch API: submit, wait, fetch
    #[command(
        subcommand_required = true,
        arg_required_else_help = true,
        after_long_help = BATCH_AFTER_LONG_HELP
    )]
    Batch {
        #[command(subcommand)]
        action: BatchAction,
    },
}

pub const MAP_AFTER_LONG_HELP: &str = "\
Every option of a single request (model, system, role, profile, thinking, -o/--param, protocol,
region, …) applies to every item; an item's own `system`, `model` and `params` go over them.

Input formats (from the extension, else --format; stdin is JSON lines unless --lines or --format):
  JSON lines  {\"id\": \"a1\", \"prompt\": \"…\", \"system\": \"…\", \"model\": \"…\", \"params\": {…}}
              (`messages` instead of or before `prompt`; with --template any field fills it)
  CSV         a header row; the prompt is --template with {column}s, else the `prompt` column
  lines       each non-blank line a prompt, or {line} in --template
Ids default to the line number (CSV: the record number); duplicates are refused before sending.

Output: one JSON line per item as it completes (--ordered: in input order):
  {\"id\",\"status\":\"ok\"|\"error\",\"content\",\"reasoning\",\"finish\",\"usage\",\"request_id\",
   \"error\":{\"status\",\"code\",\"message\"},\"exit\",\"ttft_s\",\"duration_s\"}
With --output FILE a rerun skips the items already `ok` in FILE and retries the rest; each id
ends up in FILE once.

Examples:
  qstream map prompts.jsonl > answers.jsonl
  qstream map -j 16 --rpm 600 --output answers.jsonl prompts.jsonl
  qstream map --template 'Summarise: {text}' --id-column doc reviews.csv --output out.jsonl
  ls *.md | qstream map --lines --template 'Title for the file {line}?' -m qwen-flash

Exit status: 0 every item succeeded, 8 some items failed (the output says which), 3 or 5 the
run stopped (a 401/403, an exhausted quota), 130 interrupted (a rerun with --output resumes).";

/// `qstream map`: its own options; the single-request options are added by `command()`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct MapArgs {
    /// The items: JSON lines, CSV with a header, or lines (`-` or none: stdin)
    #[arg(value_name = "INPUT|-", help_heading = INPUT)]
    pub input: Option<PathBuf>,

    /// The input's format, instead of the one its extension names
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = INPUT)]
    pub format: Option<crate::items::Format>,

    /// Each line of the input is a prompt (--format lines)
    #[arg(long, conflicts_with = "format", help_heading = INPUT)]
    pub lines: bool,

    /// The prompt, with {column} (CSV), {field} (JSON lines) or {line} filled in; {{ and }}
    /// are braces
    #[arg(long, value_name = "TEXT", help_heading = INPUT)]
    pub template: Option<String>,

    /// Where the ids come from (CSV column or JSON field) [default: id, else the line number]
    #[arg(long, value_name = "NAME", help_heading = INPUT)]
    pub id_column: Option<String>,

    /// Requests in flight at once
    #[arg(short = 'j', long, value_name = "N", default_value = "4", value_parser = clap::value_parser!(u32).range(1..=256), help_heading = MAP)]
    pub jobs: u32,

    /// Most requests per minute (the account's RPM for the model)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = MAP)]
    pub rpm: Option<u32>,

    /// Most tokens per minute, counted from the usage the service reports (the account's TPM)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = MAP)]
    pub tpm: Option<u64>,

    /// Write the JSON lines to FILE instead of stdout; a rerun skips the items `ok` in it
    #[arg(long, value_name = "FILE", help_heading = MAP)]
    pub output: Option<PathBuf>,

    /// Write the lines in input order (else as items complete)
    #[arg(long, help_heading = MAP)]
    pub ordered: bool,
}

pub const BATCH_AFTER_LONG_HELP: &str = "\
Every option of a single request (model, system, role, profile, thinking, -o/--param, region,
workspace, base URL, …) applies to every item of `submit`, given before `batch` or after
`submit`; an item's own `system`, `model` and `params` go over them. The other actions take the
options that say where the service is (--region, --workspace, --base-url, -P) before `batch`.
  qstream batch submit -m qwen-plus --no-thinking items.jsonl
  qstream batch wait batch_abc && qstream batch fetch batch_abc --output answers.jsonl
  qstream --region cn batch list

Exit status: 0 done; 2 usage or input over the Batch API's limits (nothing uploaded);
3 no key or HTTP 401/403; 4 rejected; 5 rate limit or quota; 6 server error; 7 network;
`wait`: 4 when the batch failed, 8 when it expired or was cancelled;
`fetch`: 8 when some items failed (their lines say why).";

/// `qstream batch …`: the vendor's OpenAI-compatible Batch API (files and batches).
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum BatchAction {
    /// Convert the items to the Batch API's JSONL, check its limits, upload it and create a
    /// batch; prints the batch id
    Submit(BatchSubmitArgs),
    /// The batch's status and progress
    Status {
        /// The batch id (batch_…)
        id: String,
        /// The batch object as the service returned it, one JSON line
        #[arg(long)]
        json: bool,
    },
    /// Wait until the batch ends (completed, failed, expired or cancelled), polling with
    /// backoff; progress on a terminal
    Wait {
        /// The batch id (batch_…)
        id: String,
        /// The batch object at the end, one JSON line
        #[arg(long)]
        json: bool,
        /// Seconds before the first poll; each wait is longer, up to 120 s
        #[arg(long, value_name = "SECS", default_value = "10")]
        interval: f64,
    },
    /// Download the output and error files and write one line per item, in input order, in
    /// `qstream map`'s output shape
    Fetch {
        /// The batch id (batch_…)
        id: String,
        /// Write the lines to FILE instead of stdout
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Cancel the batch (requests done before the cancel are still billed)
    Cancel {
        /// The batch id (batch_…)
        id: String,
        /// The batch object as the service returned it, one JSON line
        #[arg(long)]
        json: bool,
    },
    /// Your batches, newest first, with the input each was submitted from (when this
    /// machine submitted it)
    #[command(visible_alias = "ls")]
    List {
        /// How many batches to list
        #[arg(short = 'n', long = "count", value_name = "N", default_value = "20")]
        count: usize,
        /// One JSON object per batch, one a line
        #[arg(long)]
        json: bool,
    },
}

/// How to read the items of `map` and `batch submit` (see `crate::items`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ItemsArgs {
    /// The input's format [default: from the extension: .csv CSV, .txt lines, else JSON lines]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<crate::items::Format>,

    /// The prompt of each item, with {column} (CSV), {field} (JSON lines) or {line} (lines)
    /// filled in
    #[arg(long, value_name = "TEXT")]
    pub template: Option<String>,

    /// Where each item's id comes from (a CSV column or a JSON field) [default: id, else the
    /// line number]
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,

    /// Each non-blank line is a prompt (or {line} in --template); same as --format lines
    #[arg(long)]
    pub lines: bool,
}

impl ItemsArgs {
    pub fn options(&self) -> crate::items::ItemsOptions {
        crate::items::ItemsOptions {
            format: self.format,
            template: self.template.clone(),
            id_column: self.id_column.clone(),
            lines: self.lines,
        }
    }
}

/// `qstream batch submit`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct BatchSubmitArgs {
    /// The items: JSON lines {"id", "prompt"} (optionally "system", "model", "messages",
    /// "params"), CSV with a header, or plain lines; `-` = stdin
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,

    #[command(flatten)]
    pub items: ItemsArgs,

    /// How long the service may take: 24h to 336h (14 days), in hours or days (2d)
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub window: String,

    /// The vendor's free test model and endpoint (batch-test-model, /v1/chat/ds-test): checks
    /// the whole round trip at no cost (at most 100 items, 1 MB)
    #[arg(long)]
    pub test: bool,

    /// Write the JSONL that would be uploaded to stdout, and send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Print the batch object as the service returned it, one JSON line, instead of its id
    #[arg(long)]
    pub json: bool,

    /// The batch's name in the console (metadata ds_name, at most 100 characters)
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,

    /// The batch's description (metadata ds_description, at most 200 characters)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ConfigAction {
    /// Print every setting in effect for the options given, each with where it came from
    Show,
    /// Print the path of the config file that would be read
    Path,
    /// List the roles the config file defines
    Roles,
    /// List the profiles the config file defines
    Profiles,
}

/// `qstream log`: with no action, the latest exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(args_conflicts_with_subcommands = true, args_override_self = true)]
pub struct LogArgs {
    #[command(subcommand)]
    pub action: Option<LogAction>,

    /// How many exchanges to list (the latest)
    #[arg(short = 'n', long = "count", value_name = "N", default_value = "10")]
    pub count: usize,

    /// Full-text search over prompts and answers (every word must appear)
    #[arg(short = 'q', long = "query", value_name = "TEXT")]
    pub query: Option<String>,

    /// Only this conversation (a unique prefix of its id is enough)
    #[arg(long, value_name = "ID")]
    pub cid: Option<String>,

    /// Only this model
    #[arg(short = 'm', long, value_name = "NAME")]
    pub model: Option<String>,

    /// Only exchanges with this status
    #[arg(long, value_name = "STATUS", value_parser = ["ok", "error", "interrupted", "truncated", "running"])]
    pub status: Option<String>,

    /// Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,

    /// One JSON object per exchange, one a line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum LogAction {
    /// One exchange, or a whole conversation: prompts and answers
    Show {
        /// An exchange or conversation id (a unique prefix is enough)
        id: String,
    },
    /// The last answer's content, exactly as it was streamed to stdout
    Last,
    /// A conversation as a --messages JSON array
    Export {
        /// A conversation id (a unique prefix is enough)
        cid: String,
    },
    /// Tokens by day (UTC) and model
    Usage {
        /// Only exchanges since then: 30m, 2h, 3d, 1w, or a day (2026-11-01, UTC)
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// One JSON object per day and model
        #[arg(long)]
        json: bool,
    },
    /// Remove an exchange, or a whole conversation
    Rm {
        /// An exchange or conversation id (a unique prefix is enough)
        id: String,
    },
    /// Print the path of the log database
    Path,
}

/// The clap command, for the man page and completions.
/// Options whose variable `Config` reads itself (so that an empty value counts as unset and an
/// invalid one names the variable): the option's id and its variable. The settings layer counts
/// a set variable as given, as it does clap's own `env`.
pub const ENV_READ_BY_CONFIG: &[(&str, &str)] = &[
    ("model", "QSTREAM_MODEL"),
    ("protocol", "QSTREAM_PROTOCOL"),
    ("region", "QSTREAM_REGION"),
    ("workspace", "DASHSCOPE_WORKSPACE"),
];

/// The built-in defaults that `Config` applies itself (the options have no clap default, so
/// that a variable can be told from a default): what `config show` reports as `default`.
pub const DEFAULT_MODEL: &str = "qwen-plus";
pub const DEFAULTS_APPLIED_BY_CONFIG: &[(&str, &str)] = &[
    ("model", DEFAULT_MODEL),
    ("protocol", "compatible"),
    ("region", "intl"),
];

/// The variable `Config` reads for option `id`, if any.
pub fn env_read_by_config(id: &str) -> Option<&'static str> {
    ENV_READ_BY_CONFIG
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, var)| *var)
}

pub fn command() -> clap::Command {
    let top = Cli::command();
    // `map` takes every option of a single request too: the same arguments, so that
    // `Cli::from_arg_matches` reads its matches as it reads the top level's. Global ones
    // (config, profile, role) come by propagation.
    let shared: Vec<clap::Arg> = top
        .get_arguments()
        .filter(|a| !a.is_global_set() && a.get_id() != "prompt")
        .map(|a| match a.get_id().as_str() {
            id if NOT_FOR_MAP.contains(&id) => a.clone().hide(true),
            _ => a.clone(),
        })
        .collect();
    // `batch submit` too, but for the ones it has itself (`--json`, `--dry-run`: the same
    // ids, read by both).
    let submit_own: Vec<String> = BatchSubmitArgs::augment_args(clap::Command::new("submit"))
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let for_submit: Vec<clap::Arg> = shared
        .iter()
        .filter(|a| !submit_own.iter().any(|id| id == a.get_id().as_str()))
        .cloned()
        .collect();
    top.mut_subcommand("map", |map| {
        map.args(shared).arg(
            // Read by `Cli::from_arg_matches`; never given.
            clap::Arg::new("prompt")
                .long("map-prompt-words")
                .num_args(0..)
                .action(ArgAction::Append)
                .hide(true),
        )
    })
    .mut_subcommand("batch", |batch| {
        batch.mut_subcommand("submit", |submit| {
            submit.args(for_submit).arg(
                clap::Arg::new("prompt")
                    .long("batch-prompt-words")
                    .num_args(0..)
                    .action(ArgAction::Append)
                    .hide(true),
            )
        })
    })
}

/// The single-request options that mean nothing for `map` (refused there, hidden in its help).
pub const NOT_FOR_MAP: &[&str] = &[
    "no_stdin",
    "continue_",
    "cid",
    "json",
    "raw",
    "replay",
    "record",
    "audio_out",
    "voice",
    "reasoning",
    "render",
    "extract",
    "extract_last",
    "color",
    "dry_run",
];

/// Parse arguments, keeping the order of `--image`, `--audio` and `--video` across the three
/// (for tests; the binary parses through `settings::load`).
#[doc(hidden)]
pub fn try_parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    from_matches(&command().try_get_matches_from(args)?)
}

/// The `Cli` of parsed arguments, with the attachments in command-line order.
pub fn from_matches(matches: &clap::ArgMatches) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut cli = Cli::from_arg_matches(matches)?;
    let mut media = Vec::new();
    for (id, kind) in [
        ("image", MediaKind::Image),
        ("audio", MediaKind::Audio),
        ("video", MediaKind::Video),
    ] {
        if let (Some(idx), Some(vals)) = (matches.indices_of(id), matches.get_many::<String>(id)) {
            media.extend(idx.zip(vals).map(|(i, v)| (i, kind, v.clone())));
        }
    }
    media.sort_by_key(|(i, _, _)| *i);
    cli.media = media.into_iter().map(|(_, k, v)| (k, v)).collect();
    cli.explicit = ["model", "protocol", "system"]
        .into_iter()
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .collect();
    Ok(cli)
}
