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
    ("QSTREAM_REGION", "intl or cn, when --region is not given."),
    (
        "QSTREAM_REGION",
        "The region when --region is not given: intl (sg), cn, us, hk, eu, jp.",
    ),
    (
        "DASHSCOPE_COMPATIBLE_BASE_URL",
        "Base URL of the compatible protocol (default https://dashscope-intl.aliyuncs.com/compatible-mode/v1).",
    ),
    (
        "DASHSCOPE_HTTP_BASE_URL",
        "Base URL of the native protocol (default https://dashscope-intl.aliyuncs.com/api/v1).",
    ),
    ("DASHSCOPE_WORKSPACE", "The workspace when --workspace is not given."),
    ("QSTREAM_CONFIG", "The config file, when --config is not given."),
    ("QSTREAM_PROFILE", "The profile, when -P is not given (else the file's default_profile)."),
    (
        "XDG_CONFIG_HOME",
        "The config file is $XDG_CONFIG_HOME/qstream/config.toml when QSTREAM_CONFIG is not set.",
    ),
    (
        "ALL_PROXY, HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
        "The first of the proxy variables that is set (either case) carries every request except to loopback hosts, which are always reached directly; it may be an http://, https:// or socks4/socks4a/socks5/socks5h:// URL, and one that cannot be used is an error (exit 2). NO_PROXY lists hosts reached directly, each with the names under it (comma-separated; * for all).",
    ),
    (
        "QSTREAM_LOG_DB",
        "The log database (default $XDG_DATA_HOME/qstream/log.db, else ~/.local/share/qstream/log.db).",
    ),
    ("QSTREAM_NO_LOG", "1 keeps no log of the run, as --no-log does."),
    ("NO_COLOR", "When set and not empty, no colour (unless --color always), and --render auto writes the answer as it came."),
    (
        "CLICOLOR_FORCE",
        "When set and not 0, colour even when stderr is not a terminal (unless NO_COLOR or --color never).",
    ),
    (
        "CLICOLOR",
        "0: no colour; 1: colour on a terminal even when TERM does not promise it.",
    ),
    (
        "TERM",
        "dumb or unset: no colour on a terminal (unless CLICOLOR=1 or CI is set).",
    ),
    ("QSTREAM_RENDER", "auto, markdown or plain when --render is not given."),
    ("COLUMNS", "The width for --render markdown into a pipe or file (default 80)."),
    ("COLORTERM", "truecolor or 24bit: code is highlighted in 24-bit colour, else with 256 colours."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "The stream finished (also when the reader closed stdout early, as | head does).",
    ),
    ("1", "Internal error."),
    (
        "2",
        "Usage: bad option, no prompt, unreadable input file, a malformed base URL, stdin over 64 MiB or not UTF-8, a media file that is not of the kind its flag names, an unusable proxy setting, a profile or role the config file does not define, a --replay file with no SSE events, events of the other protocol than --protocol.",
    ),
    (
        "3",
        "Authentication or configuration: no API key, an unusable key or key file, HTTP 401 or 403, a redirect (a wrong base URL), a config file that is not valid TOML or has an unknown key, a wrong value or a key in it.",
    ),
    (
        "4",
        "Request rejected: other 4xx, content inspection, invalid parameter.",
    ),
    (
        "5",
        "Rate limit or quota: HTTP 429, Throttling*, Arrearage, insufficient_quota, AllocationQuota.FreeTierOnly.",
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
        "qstream --json \"hello\" | jq -j 'select(.type==\"content\").text'",
        "Events as JSON lines.",
    ),
    (
        "while read -r f; do qstream -n \"summarise $f\"; done < list",
        "-n: leave stdin (the list) to the loop.",
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
    (
        "git diff | qstream -r reviewer",
        "The config file's reviewer role: its system message, prompt template and defaults.",
    ),
    (
        "qstream -P cn config show",
        "Every setting in effect with the cn profile, and where each came from.",
    ),
    (
        "qstream -- config my router",
        "A prompt whose first word names a subcommand goes after --.",
    ),
    (
        "qstream -c \"and in French?\"",
        "Continue the latest conversation kept in the log.",
    ),
    (
        "qstream log -q otters; qstream log last | pbcopy",
        "Search the log; copy the last answer, byte for byte.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "~/.dashscope/api_key",
        "The API key, read when neither DASHSCOPE_API_KEY nor DASHSCOPE_API_KEY_FILE_PATH is set.",
    ),
    (
        "~/.config/qstream/config.toml",
        "Settings (TOML): a top-level key for any long option (its name with _ for -), [params] for -o, \
[headers] for -H, [profiles.NAME] (with api_key_env or api_key_file for the key, never the key itself), \
[roles.NAME] (system, a prompt template with {input} for stdin and {prompt} for the words), \
default_profile. Precedence: flags, then environment, then the role, then the profile, then the \
top level, then the built-in defaults.",
    ),
    (
        "~/.local/share/qstream/log.db",
        "The log of every exchange (SQLite; see qstream log --help), unless QSTREAM_LOG_DB or XDG_DATA_HOME says otherwise.",
    ),
];

fn section(roff: &mut Roff, title: &str, items: &[(&str, &str)], code: bool) {
    roff.control("SH", [title]);
    for (term, text) in items {
        roff.control("TP", []);
        roff.text([if code { bold(*term) } else { italic(*term) }]);
        roff.text([roman(*text)]);
    }
}

/// Every subcommand on this one page: `qstream config show` and its description.
fn subcommands(roff: &mut Roff, cmd: &clap::Command) {
    fn walk(roff: &mut Roff, prefix: &str, cmd: &clap::Command) {
        for sub in cmd.get_subcommands() {
            let name = format!("{prefix} {}", sub.get_name());
            if sub.has_subcommands() {
                walk(roff, &name, sub);
            } else {
                roff.control("TP", []);
                roff.text([bold(name.as_str())]);
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                roff.text([roman(about)]);
            }
        }
    }
    roff.control("SH", ["SUBCOMMANDS"]);
    roff.text([roman(
        "The options above go before the subcommand; --config, -P and -r may also follow it. \
A prompt whose first word names a subcommand goes after --: qstream -- config my router.",
    )]);
    walk(roff, cmd.get_name(), cmd);
}

/// The man page, roff.
pub fn man_page(cmd: clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
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
    subcommands(&mut roff, &cmd);
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
