//! Renders the man page and the shell completions from the clap `Command`. Shared by
//! `cargo run --example gen_docs` (which writes them) and `tests/generated.rs` (which fails when
//! the checked-in files are stale).

use clap_mangen::roff::{bold, italic, roman, Roff};

const ENVIRONMENT: &[(&str, &str)] = &[
    ("DASHSCOPE_API_KEY", "The API key. It is never taken from the command line."),
    (
        "DASHSCOPE_API_KEY_FILE_PATH",
        "A file holding the key, read when DASHSCOPE_API_KEY is unset.",
    ),
    ("QSTREAM_MODEL", "The model when -m is not given (default qwen-plus)."),
    ("QSTREAM_PROTOCOL", "compatible or dashscope, when --protocol is not given."),
    (
        "DASHSCOPE_COMPATIBLE_BASE_URL",
        "Base URL of the compatible protocol (default https://dashscope-intl.aliyuncs.com/compatible-mode/v1).",
    ),
    (
        "DASHSCOPE_HTTP_BASE_URL",
        "Base URL of the native protocol (default https://dashscope-intl.aliyuncs.com/api/v1).",
    ),
    ("DASHSCOPE_WORKSPACE", "The workspace when --workspace is not given."),
    (
        "ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
        "The first of the proxy variables that is set (either case) carries every request; NO_PROXY lists hosts reached directly, comma-separated without spaces.",
    ),
    ("NO_COLOR", "When set and not empty, no colour (unless --color always)."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "The stream finished (also when the reader closed stdout early, as | head does).",
    ),
    ("1", "Internal error."),
    (
        "2",
        "Usage: bad option, no prompt, unreadable input file, a --replay file with no SSE events, events of the other protocol than --protocol.",
    ),
    (
        "3",
        "Authentication or configuration: no API key, HTTP 401 or 403, a redirect (a wrong base URL).",
    ),
    (
        "4",
        "Request rejected: other 4xx, content inspection, invalid parameter.",
    ),
    (
        "5",
        "Rate limit or quota: HTTP 429, Throttling*, Arrearage.",
    ),
    ("6", "Server error: 5xx, InternalError*."),
    (
        "7",
        "Network or stream: connect failure, timeout, stall, stream ended early, malformed stream, a web page or no events where a stream was expected, an HTTP protocol error.",
    ),
    (
        "130",
        "Interrupted (Ctrl-C): the text received so far is kept and the last known usage printed.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "qstream \"Who are you?\"",
        "Ask, and read the answer as it streams.",
    ),
    (
        "git diff | qstream \"review this diff\"",
        "The prompt, a blank line, then stdin.",
    ),
    (
        "qstream --thinking \"Is 9.11 larger than 9.9?\" 2>/dev/null",
        "Let the model think; keep only the answer.",
    ),
    (
        "qstream --json \"hello\" | jq -r 'select(.type==\"content\").text'",
        "Events as JSON lines.",
    ),
    (
        "qstream --protocol dashscope --region cn \"hello\"",
        "The native protocol, on the Beijing endpoint.",
    ),
    (
        "qstream --replay answer.sse",
        "Play back a response recorded with --record, with no key and no network.",
    ),
    (
        "qstream --dry-run \"hello\"",
        "Show the request as a curl command.",
    ),
];

const FILES: &[(&str, &str)] = &[(
    "~/.dashscope/api_key",
    "The API key, read when neither DASHSCOPE_API_KEY nor DASHSCOPE_API_KEY_FILE_PATH is set.",
)];

fn section(roff: &mut Roff, title: &str, items: &[(&str, &str)], code: bool) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([if code { bold(*term) } else { italic(*term) }]);
        roff.text([roman(*text)]);
    }
}

/// The man page, roff.
pub fn man_page(cmd: clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    type Part = fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>;
    let parts: [Part; 5] = [
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
        clap_mangen::Man::render_options_section,
    ];
    for part in parts {
        part(&man, &mut out).expect("writing to a Vec cannot fail");
    }
    let mut roff = Roff::new();
    section(&mut roff, "ENVIRONMENT", ENVIRONMENT, true);
    section(&mut roff, "EXIT STATUS", EXIT_STATUS, true);
    section(&mut roff, "EXAMPLES", EXAMPLES, true);
    section(&mut roff, "FILES", FILES, false);
    roff.to_writer(&mut out)
        .expect("writing to a Vec cannot fail");
    man.render_version_section(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Every generated file: its path in the repository and its contents.
pub fn files(cmd: clap::Command) -> Vec<(String, Vec<u8>)> {
    use clap_complete::Shell;
    let mut files = vec![("man/qstream.1".to_owned(), man_page(cmd.clone()))];
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = cmd.clone();
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut cmd, "qstream", &mut out);
        let name = match shell {
            Shell::Bash => "qstream.bash",
            Shell::Zsh => "_qstream",
            Shell::Fish => "qstream.fish",
            Shell::Elvish => "qstream.elv",
            _ => "_qstream.ps1",
        };
        files.push((format!("completions/{name}"), out));
    }
    files
}
