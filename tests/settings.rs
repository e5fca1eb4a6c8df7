//! The config file, its profiles and roles, the precedence between them, and the `config`
//! subcommand: run through the real binary, proven with `--dry-run` bodies, requests seen by
//! the loopback server, and `config show`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture, qstream, run, temp_dir, Output, Reply, Server};
use serde_json::Value;

const SECRET: &str = "sk-secret-main-0123456789abcdef";
const SECRET_CN: &str = "sk-secret-cn-fedcba9876543210";
const SECRET_FILE: &str = "sk-secret-file-00112233445566";

/// A config file with `text`, and a `qstream` command that reads it through QSTREAM_CONFIG.
fn with_config(text: &str) -> (Command, PathBuf) {
    let dir = temp_dir("settings");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).expect("write config");
    let mut cmd = qstream();
    cmd.env("QSTREAM_CONFIG", &path);
    (cmd, path)
}

/// The JSON body of a `--dry-run` curl command.
fn body(out: &Output) -> Value {
    assert!(out.success(), "dry run failed: {}", out.stderr);
    let start = out.stdout.find("--data-raw '").expect("a body") + "--data-raw '".len();
    let end = out.stdout.rfind('\'').expect("closing quote");
    // Shell single quotes: a quote inside is written '\''.
    let text = out.stdout[start..end].replace("'\\''", "'");
    serde_json::from_str(&text).expect("JSON body")
}

fn url(out: &Output) -> String {
    let line = out.stdout.lines().next().expect("curl line");
    line.split('\'').nth(1).expect("quoted URL").to_owned()
}

/// The `config show` line for `key` (`key = value  # origin`).
fn shown<'a>(out: &'a Output, key: &str) -> &'a str {
    assert!(out.success(), "config show failed: {}", out.stderr);
    out.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{}", out.stdout))
}

const LAYERS: &str = r#"
model = "from-top"
default_profile = "main"

[profiles.main]
model = "from-profile"

[roles.pick]
model = "from-role"
"#;

#[test]
fn each_layer_beats_the_next() {
    // defaults < top level
    let (mut cmd, _) = with_config("model = \"from-top\"\n");
    assert_eq!(
        body(&run(cmd.args(["--dry-run", "hi"]), None))["model"],
        "from-top"
    );
    let (mut cmd, _) = with_config("model = \"from-top\"\n");
    let show = run(cmd.args(["config", "show"]), None);
    assert!(
        shown(&show, "model").ends_with("# config.toml:1"),
        "{}",
        show.stdout
    );
    let (mut cmd, _) = with_config("");
    let show = run(cmd.args(["config", "show"]), None);
    assert!(shown(&show, "model").contains("\"qwen-plus\""));
    assert!(shown(&show, "model").ends_with("# default"));

    // top level < profile (default_profile)
    let (mut cmd, _) = with_config(LAYERS);
    assert_eq!(
        body(&run(cmd.args(["--dry-run", "hi"]), None))["model"],
        "from-profile"
    );
    let (mut cmd, _) = with_config(LAYERS);
    let show = run(cmd.args(["config", "show"]), None);
    assert!(
        shown(&show, "model").ends_with("# profile main (config.toml:6)"),
        "{}",
        show.stdout
    );
    assert!(show
        .stdout
        .contains("# profile: main (default_profile, config.toml:3)"));

    // profile < role
    let (mut cmd, _) = with_config(LAYERS);
    assert_eq!(
        body(&run(cmd.args(["-r", "pick", "--dry-run", "hi"]), None))["model"],
        "from-role"
    );
    let (mut cmd, _) = with_config(LAYERS);
    let show = run(cmd.args(["-r", "pick", "config", "show"]), None);
    assert!(
        shown(&show, "model").ends_with("# role pick (config.toml:9)"),
        "{}",
        show.stdout
    );

    // role < environment
    let (mut cmd, _) = with_config(LAYERS);
    cmd.env("QSTREAM_MODEL", "from-env");
    assert_eq!(
        body(&run(cmd.args(["-r", "pick", "--dry-run", "hi"]), None))["model"],
        "from-env"
    );
    let (mut cmd, _) = with_config(LAYERS);
    cmd.env("QSTREAM_MODEL", "from-env");
    let show = run(cmd.args(["-r", "pick", "config", "show"]), None);
    assert!(
        shown(&show, "model").ends_with("# env QSTREAM_MODEL"),
        "{}",
        show.stdout
    );

    // environment < flag
    let (mut cmd, _) = with_config(LAYERS);
    cmd.env("QSTREAM_MODEL", "from-env");
    let args = ["-r", "pick", "-m", "from-flag", "--dry-run", "hi"];
    assert_eq!(body(&run(cmd.args(args), None))["model"], "from-flag");
    let (mut cmd, _) = with_config(LAYERS);
    cmd.env("QSTREAM_MODEL", "from-env");
    let show = run(
        cmd.args(["-r", "pick", "-m", "from-flag", "config", "show"]),
        None,
    );
    assert!(shown(&show, "model").ends_with("# flag"), "{}", show.stdout);
}

#[test]
fn a_base_url_variable_beats_the_file() {
    let (mut cmd, _) = with_config("base_url = \"http://127.0.0.1:9/file/v1\"\n");
    assert_eq!(
        url(&run(cmd.args(["--dry-run", "hi"]), None)),
        "http://127.0.0.1:9/file/v1/chat/completions"
    );
    let (mut cmd, _) = with_config("base_url = \"http://127.0.0.1:9/file/v1\"\n");
    cmd.env("DASHSCOPE_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/env/v1");
    assert_eq!(
        url(&run(cmd.args(["--dry-run", "hi"]), None)),
        "http://127.0.0.1:9/env/v1/chat/completions"
    );
    let (mut cmd, _) = with_config("base_url = \"http://127.0.0.1:9/file/v1\"\n");
    cmd.env("DASHSCOPE_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/env/v1");
    let show = run(cmd.args(["config", "show"]), None);
    assert!(shown(&show, "base_url").ends_with("# env DASHSCOPE_COMPATIBLE_BASE_URL"));
}

#[test]
fn switches_flags_lists_and_tables_merge_by_key() {
    let toml = r#"
thinking = true
stop = ["END", "STOP"]
temperature = 0.5
json = true

[params]
n = 1
user = "alice"
response_format = { type = "json_object" }

[headers]
X-Team = "core"

[roles.quick]
no_thinking = true
params = { n = 3 }
"#;
    let (mut cmd, _) = with_config(toml);
    let b = body(&run(cmd.args(["--dry-run", "hi"]), None));
    assert_eq!(b["enable_thinking"], true);
    assert_eq!(b["stop"], serde_json::json!(["END", "STOP"]));
    assert_eq!(b["temperature"], 0.5);
    assert_eq!(b["n"], 1);
    assert_eq!(b["user"], "alice");
    assert_eq!(b["response_format"]["type"], "json_object");

    // The role's `no_thinking` beats the top level's `thinking`; its n beats the file's.
    let (mut cmd, _) = with_config(toml);
    let b = body(&run(cmd.args(["-r", "quick", "--dry-run", "hi"]), None));
    assert_eq!(b["enable_thinking"], false);
    assert_eq!(b["n"], 3);
    assert_eq!(b["user"], "alice");

    // Flags: the partner flag, a list replaced, one param replaced and the others kept.
    let (mut cmd, _) = with_config(toml);
    let args = [
        "--no-thinking",
        "--stop",
        "X",
        "-o",
        "n=2",
        "-H",
        "X-Team: web",
    ];
    let out = run(cmd.args(args).args(["--dry-run", "hi"]), None);
    let b = body(&out);
    assert_eq!(b["enable_thinking"], false);
    assert_eq!(b["stop"], serde_json::json!(["X"]));
    assert_eq!(b["n"], 2);
    assert_eq!(b["user"], "alice");
    assert!(out.stdout.contains("'X-Team: web'"), "{}", out.stdout);
    assert!(!out.stdout.contains("X-Team: core"), "{}", out.stdout);

    // A flag that conflicts with a file setting wins without a conflict error.
    let (mut cmd, _) = with_config(toml);
    let show = run(cmd.args(["--raw", "config", "show"]), None);
    assert!(shown(&show, "raw").starts_with("raw = true"));
    assert!(shown(&show, "json").starts_with("json = false"));

    let (mut cmd, _) = with_config(toml);
    let show = run(cmd.args(["-o", "n=2", "config", "show"]), None);
    assert!(show.stdout.contains("\n[params]\n"), "{}", show.stdout);
    assert!(shown(&show, "n").starts_with("n = 2 "), "{}", show.stdout);
    assert!(shown(&show, "n").ends_with("# flag"));
    assert!(shown(&show, "user").ends_with("# config.toml:9"));
    assert!(shown(&show, "thinking").ends_with("# config.toml:2"));
    assert!(
        shown(&show, "X-Team").ends_with("# config.toml:13"),
        "{}",
        show.stdout
    );
}

const PROFILES: &str = r#"
default_profile = "intl"

[profiles.intl]
region = "intl"

[profiles.cn]
region = "cn"
workspace = "ws-cn-1"
api_key_env = "DASHSCOPE_API_KEY_CN"
"#;

#[test]
fn profiles_select_region_workspace_and_key_variable() {
    let (mut cmd, _) = with_config(PROFILES);
    let out = run(cmd.args(["--dry-run", "hi"]), None);
    assert!(url(&out).starts_with("https://dashscope-intl.aliyuncs.com/"));
    assert!(!out.stdout.contains("WorkSpace"));

    for select in [["-P", "cn"], ["--profile", "cn"]] {
        let (mut cmd, _) = with_config(PROFILES);
        let out = run(cmd.args(select).args(["--dry-run", "hi"]), None);
        // A workspace with a region picks the workspace's own host (issue 11).
        assert!(url(&out).starts_with("https://ws-cn-1.cn-beijing.maas.aliyuncs.com/"));
        assert!(!out.stdout.contains("WorkSpace"), "{}", out.stdout);
        // The curl command reads the profile's variable.
        assert!(
            out.stdout
                .contains("-H \"Authorization: Bearer $DASHSCOPE_API_KEY_CN\""),
            "{}",
            out.stdout
        );
    }
    let (mut cmd, _) = with_config(PROFILES);
    cmd.env("QSTREAM_PROFILE", "cn");
    let out = run(cmd.args(["--dry-run", "hi"]), None);
    assert!(url(&out).starts_with("https://ws-cn-1.cn-beijing.maas.aliyuncs.com/"));
    let (mut cmd, _) = with_config(PROFILES);
    cmd.env("QSTREAM_PROFILE", "cn");
    let show = run(cmd.args(["config", "show"]), None);
    assert!(
        show.stdout.contains("# profile: cn (env QSTREAM_PROFILE)"),
        "{}",
        show.stdout
    );
    assert!(shown(&show, "workspace").ends_with("# profile cn (config.toml:9)"));
    assert!(show
        .stdout
        .contains("# API key: env DASHSCOPE_API_KEY_CN (profile cn), not set;"));

    // The environment's workspace beats the profile's.
    let (mut cmd, _) = with_config(PROFILES);
    cmd.env("DASHSCOPE_WORKSPACE", "ws-env");
    let out = run(cmd.args(["-P", "cn", "--dry-run", "hi"]), None);
    assert!(
        url(&out).starts_with("https://ws-env.cn-beijing.maas.aliyuncs.com/"),
        "{}",
        out.stdout
    );
}

fn serve(cmd: &mut Command, server: &Server) -> Output {
    run(cmd.args(["--base-url", &server.url(), "-q", "hi"]), None)
}

#[test]
fn a_profile_reads_its_own_key_variable_or_file() {
    let key_file = temp_dir("keyfile").join("cn.key");
    std::fs::write(&key_file, format!("{SECRET_FILE}\n")).expect("write key");
    let toml = format!(
        "[profiles.cn]\napi_key_env = \"DASHSCOPE_API_KEY_CN\"\n\n[profiles.filed]\napi_key_file = {:?}\n",
        key_file.display().to_string()
    );

    let server = Server::start(vec![Reply::sse(fixture("compatible_basic.sse"))]);
    let (mut cmd, _) = with_config(&toml);
    cmd.env("DASHSCOPE_API_KEY", SECRET)
        .env("DASHSCOPE_API_KEY_CN", SECRET_CN);
    let out = serve(cmd.args(["-P", "cn"]), &server);
    assert!(out.success(), "{}", out.stderr);
    let auth = server.requests()[0]
        .header("authorization")
        .map(String::from);
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {SECRET_CN}").as_str())
    );

    let server = Server::start(vec![Reply::sse(fixture("compatible_basic.sse"))]);
    let (mut cmd, _) = with_config(&toml);
    cmd.env("DASHSCOPE_API_KEY", SECRET);
    let out = serve(cmd.args(["-P", "filed"]), &server);
    assert!(out.success(), "{}", out.stderr);
    let auth = server.requests()[0]
        .header("authorization")
        .map(String::from);
    assert_eq!(
        auth.as_deref(),
        Some(format!("Bearer {SECRET_FILE}").as_str())
    );

    // The profile's variable unset: no fallback to another region's key.
    let server = Server::start(vec![]);
    let (mut cmd, _) = with_config(&toml);
    cmd.env("DASHSCOPE_API_KEY", SECRET);
    let out = serve(cmd.args(["-P", "cn"]), &server);
    assert_eq!(out.status, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("profile cn reads it from DASHSCOPE_API_KEY_CN, which is not set"),
        "{}",
        out.stderr
    );
    assert_eq!(server.connections(), 0);
}

const ROLES: &str = r#"
[roles.reviewer]
system = "You review diffs. Bugs first."
prompt = "Review this change:\n{input}\nFocus: {prompt}"
thinking = true

[roles.translator]
system = "Translate into English."
prompt = "Translate:"
"#;

#[test]
fn roles_fill_the_system_message_and_the_template() {
    let (mut cmd, _) = with_config(ROLES);
    let out = run(
        cmd.args(["-r", "reviewer", "--dry-run", "error paths"]),
        Some(b"+ let x = y.unwrap();"),
    );
    let b = body(&out);
    assert_eq!(b["messages"][0]["role"], "system");
    assert_eq!(b["messages"][0]["content"], "You review diffs. Bugs first.");
    assert_eq!(
        b["messages"][1]["content"],
        "Review this change:\n+ let x = y.unwrap();\nFocus: error paths"
    );
    assert_eq!(b["enable_thinking"], true);

    // A template without placeholders: the words, then stdin, follow after blank lines.
    let (mut cmd, _) = with_config(ROLES);
    let out = run(
        cmd.args(["--role", "translator", "--dry-run", "bonjour"]),
        Some(b"merci"),
    );
    assert_eq!(
        body(&out)["messages"][1]["content"],
        "Translate:\n\nbonjour\n\nmerci"
    );

    // A flag's system message beats the role's.
    let (mut cmd, _) = with_config(ROLES);
    let out = run(
        cmd.args(["-r", "translator", "-s", "mine", "--dry-run", "x"]),
        None,
    );
    assert_eq!(body(&out)["messages"][0]["content"], "mine");

    // Nothing to fill a template with is no prompt.
    let (mut cmd, _) = with_config(ROLES);
    let out = run(cmd.args(["-r", "reviewer", "--dry-run"]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no prompt"), "{}", out.stderr);

    let (mut cmd, _) = with_config(ROLES);
    let out = run(cmd.args(["config", "roles"]), None);
    assert!(out.success());
    let names: Vec<_> = out
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(names, ["reviewer", "translator"]);
}

/// Runs `args` with the file `text`; returns the output.
fn failing(text: &str, args: &[&str]) -> (Output, PathBuf) {
    let (mut cmd, path) = with_config(text);
    cmd.env("DASHSCOPE_API_KEY", SECRET);
    (run(cmd.args(args), None), path)
}

fn assert_config_error(out: &Output, path: &Path, line: usize, words: &[&str]) {
    assert_eq!(out.status, Some(3), "stderr: {}", out.stderr);
    let prefix = format!("qstream: {}:{line}: ", path.display());
    assert!(
        out.stderr.starts_with(&prefix),
        "want {prefix:?}, got {:?}",
        out.stderr
    );
    for w in words {
        assert!(out.stderr.contains(w), "want {w:?} in {:?}", out.stderr);
    }
    assert_eq!(out.stderr.lines().count(), 1, "one line: {:?}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn file_errors_name_the_file_line_and_key() {
    let (out, path) = failing("model = \"a\"\nthinking = \n", &["--dry-run", "hi"]);
    assert_config_error(&out, &path, 2, &["not valid TOML"]);

    let (out, path) = failing("model = \"a\"\n\n[profiles.cn]\nregoin = \"cn\"\n", &["hi"]);
    assert_config_error(
        &out,
        &path,
        4,
        &["unknown key `regoin` in [profiles.cn]; did you mean `region`?"],
    );

    let (out, path) = failing("modle = \"qwen-max\"\n", &["config", "show"]);
    assert_config_error(
        &out,
        &path,
        1,
        &["unknown key `modle`", "did you mean `model`?"],
    );

    let (out, path) = failing("zzzz = 1\n", &["hi"]);
    assert_config_error(&out, &path, 1, &["unknown key `zzzz` at the top level"]);
    assert!(!out.stderr.contains("did you mean"));

    let (out, path) = failing("\n\nthinking = \"yes\"\n", &["hi"]);
    assert_config_error(
        &out,
        &path,
        3,
        &["thinking: expected true or false, found string"],
    );

    let (out, path) = failing("timeout = \"soon\"\n", &["hi"]);
    assert_config_error(
        &out,
        &path,
        1,
        &["timeout: invalid value 'soon' for '--timeout"],
    );

    let (out, path) = failing("[roles.r]\nregion = \"mars\"\n", &["hi"]);
    assert_config_error(&out, &path, 2, &["region: invalid value 'mars'", "intl"]);

    let (out, path) = failing("stop = [1, true]\n", &["hi"]);
    assert_config_error(
        &out,
        &path,
        1,
        &["stop: expected a list of strings, found boolean"],
    );

    let (out, path) = failing("[profiles.p]\napi_key_env = \"A KEY\"\n", &["hi"]);
    assert_config_error(
        &out,
        &path,
        2,
        &["api_key_env: expected the name of an environment variable"],
    );

    let (out, path) = failing("params = 3\n", &["hi"]);
    assert_config_error(&out, &path, 1, &["params: expected a table"]);

    let (out, path) = failing("default_profile = \"cn\"\n[profiles.intl]\n", &["hi"]);
    assert_config_error(&out, &path, 1, &["no profile \"cn\"", "defined: intl"]);

    // A named file that is missing is an error; the default place may be empty.
    let mut cmd = qstream();
    let out = run(
        cmd.args(["--config", "/nonexistent/qstream.toml", "hi"]),
        None,
    );
    assert_eq!(out.status, Some(3));
    assert!(out
        .stderr
        .contains("cannot read the config file /nonexistent/qstream.toml"));
}

#[test]
fn a_key_in_the_file_is_refused_and_never_repeated() {
    for (text, line) in [
        (format!("api_key = \"{SECRET}\"\n"), 1),
        (
            format!("[profiles.cn]\nregion = \"cn\"\napi_key = \"{SECRET}\"\n"),
            3,
        ),
        (format!("\nDASHSCOPE_API_KEY = \"{SECRET}\"\n"), 2),
        (
            format!("[headers]\nAuthorization = \"Bearer {SECRET}\"\n"),
            2,
        ),
    ] {
        let (out, path) = failing(&text, &["--dry-run", "hi"]);
        assert_config_error(
            &out,
            &path,
            line,
            &["never written in the config file", "api_key_env"],
        );
        assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    }
    // The key where a variable name or a file name belongs.
    for text in [
        format!("api_key_env = \"{SECRET}\"\n"),
        format!("[profiles.p]\napi_key_file = \"{SECRET}\"\n"),
    ] {
        let (out, path) = failing(&text, &["hi"]);
        let line = text.lines().count();
        assert_config_error(&out, &path, line, &["not the key itself"]);
        assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    }
    // Unquoted, the line is not TOML: the parser's message must not quote it either.
    let (out, path) = failing(&format!("model = \"m\"\napi_key = {SECRET}\n"), &["hi"]);
    assert_config_error(&out, &path, 2, &["not valid TOML"]);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
}

#[test]
fn unknown_profiles_and_roles_are_usage_errors_listing_those_defined() {
    let (out, _) = failing(PROFILES, &["-P", "eu", "hi"]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no profile \"eu\""), "{}", out.stderr);
    assert!(out.stderr.contains("(defined: cn, intl)"), "{}", out.stderr);

    let (mut cmd, _) = with_config(PROFILES);
    cmd.env("QSTREAM_PROFILE", "eu");
    let out = run(cmd.args(["hi"]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);

    let (out, _) = failing(ROLES, &["-r", "poet", "hi"]);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no role \"poet\""), "{}", out.stderr);
    assert!(
        out.stderr.contains("(defined: reviewer, translator)"),
        "{}",
        out.stderr
    );

    // No file at all.
    let out = run(qstream().args(["-r", "poet", "hi"]), None);
    assert_eq!(out.status, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("none is defined"), "{}", out.stderr);
}

#[test]
fn a_prompt_that_starts_like_a_subcommand_goes_after_double_dash() {
    let out = run(
        qstream().args(["--dry-run", "--", "config", "my", "router"]),
        None,
    );
    assert_eq!(body(&out)["messages"][0]["content"], "config my router");
    // Later words are prompt words, as before.
    let out = run(
        qstream().args(["--dry-run", "please", "config", "it"]),
        None,
    );
    assert_eq!(body(&out)["messages"][0]["content"], "please config it");
    // Without `--` it is the subcommand.
    let out = run(qstream().args(["config", "my", "router"]), None);
    assert_eq!(out.status, Some(2));
    // `help` stays a prompt word: there is no help subcommand.
    let out = run(qstream().args(["--dry-run", "help"]), None);
    assert_eq!(body(&out)["messages"][0]["content"], "help");
}

#[test]
fn config_path_follows_the_variables() {
    let mut cmd = qstream();
    cmd.env("QSTREAM_CONFIG", "/x/q.toml");
    assert_eq!(
        run(cmd.args(["config", "path"]), None).stdout,
        "/x/q.toml\n"
    );

    let mut cmd = qstream();
    cmd.env("XDG_CONFIG_HOME", "/xdg");
    assert_eq!(
        run(cmd.args(["config", "path"]), None).stdout,
        "/xdg/qstream/config.toml\n"
    );

    let home = temp_dir("home-config");
    std::fs::create_dir_all(home.join(".config/qstream")).expect("mkdir");
    std::fs::write(
        home.join(".config/qstream/config.toml"),
        "model = \"from-home\"\n",
    )
    .expect("write");
    let mut cmd = qstream();
    cmd.env("HOME", &home);
    let out = run(cmd.args(["config", "path"]), None);
    assert_eq!(
        out.stdout,
        format!("{}\n", home.join(".config/qstream/config.toml").display())
    );
    let mut cmd = qstream();
    cmd.env("HOME", &home);
    assert_eq!(
        body(&run(cmd.args(["--dry-run", "hi"]), None))["model"],
        "from-home"
    );

    // --config beats QSTREAM_CONFIG.
    let (mut cmd, _) = with_config("model = \"from-env-file\"\n");
    let other = temp_dir("other").join("other.toml");
    std::fs::write(&other, "model = \"from-flag-file\"\n").expect("write");
    let out = run(
        cmd.args([
            "--config".as_ref(),
            other.as_os_str(),
            "--dry-run".as_ref(),
            "hi".as_ref(),
        ]),
        None,
    );
    assert_eq!(body(&out)["model"], "from-flag-file");
}

#[test]
fn the_key_is_in_no_output() {
    let key_file = temp_dir("keyfile").join("k");
    std::fs::write(&key_file, SECRET_FILE).expect("write key");
    let toml = format!(
        "{PROFILES}\n[profiles.filed]\napi_key_file = {:?}\n{ROLES}",
        key_file.display().to_string()
    );
    let runs: Vec<Vec<&str>> = vec![
        vec!["config", "show"],
        vec!["-P", "cn", "config", "show"],
        vec!["-P", "filed", "config", "show"],
        vec!["config", "profiles"],
        vec!["config", "roles"],
        vec!["-P", "cn", "-r", "reviewer", "--dry-run", "hi"],
        vec!["-P", "nope", "hi"],
        vec!["--help"],
    ];
    for args in runs {
        let (mut cmd, _) = with_config(&toml);
        cmd.env("DASHSCOPE_API_KEY", SECRET)
            .env("DASHSCOPE_API_KEY_CN", SECRET_CN);
        let out = run(cmd.args(&args), None);
        for secret in [SECRET, SECRET_CN, SECRET_FILE] {
            assert!(!out.stdout.contains(secret), "{args:?} stdout has the key");
            assert!(!out.stderr.contains(secret), "{args:?} stderr has the key");
        }
    }
    // A real request that the server refuses.
    let server = Server::start(vec![Reply::json(
        401,
        r#"{"code":"InvalidApiKey","message":"bad key"}"#,
    )]);
    let (mut cmd, _) = with_config(&toml);
    cmd.env("DASHSCOPE_API_KEY_CN", SECRET_CN);
    let out = serve(cmd.args(["-P", "cn"]), &server);
    assert_eq!(out.status, Some(3));
    assert!(!out.stderr.contains(SECRET_CN) && !out.stdout.contains(SECRET_CN));
}

/// The README's example config, and its `config show` capture.
fn readme_example() -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let start = readme.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("block end");
    let prompt = "$ qstream -P cn -r reviewer config show\n";
    let cap = readme.find(prompt).expect("a capture") + prompt.len();
    let cap_end = cap + readme[cap..].find("```").expect("capture end");
    let lines = readme[cap..cap_end]
        .lines()
        .skip(1) // the path
        .map(String::from)
        .collect();
    (readme[start..end].to_owned(), lines)
}

#[test]
fn the_readme_example_config_works_as_documented() {
    let (toml, capture) = readme_example();
    let (mut cmd, _) = with_config(&toml);
    cmd.env("DASHSCOPE_API_KEY_CN", SECRET_CN);
    let out = run(
        cmd.args(["-P", "cn", "-r", "reviewer", "config", "show"]),
        None,
    );
    assert!(out.success(), "{}", out.stderr);
    // Every line of the capture is in the output (new options may add lines).
    for line in &capture {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "README line {line:?} not in:\n{}",
            out.stdout
        );
    }
    let (mut cmd, _) = with_config(&toml);
    let out = run(
        cmd.args(["-P", "cn", "-r", "reviewer", "--dry-run", "focus on panics"]),
        Some(b"+ x.unwrap()\n"),
    );
    let b = body(&out);
    assert_eq!(b["model"], "qwen-max");
    assert_eq!(b["enable_thinking"], true);
    assert_eq!(b["temperature"], 0.7);
    assert_eq!(
        b["messages"][1]["content"],
        "Review this change. focus on panics\n\n+ x.unwrap()\n"
    );
    assert!(out
        .stdout
        .contains("'https://ws-0123456789.cn-beijing.maas.aliyuncs.com/"));
    // The top level: a cheap model without thinking.
    let (mut cmd, _) = with_config(&toml);
    let b = body(&run(cmd.args(["--dry-run", "hi"]), None));
    assert_eq!(b["model"], "qwen-flash");
    assert_eq!(b["enable_thinking"], false);
    let (mut cmd, _) = with_config(&toml);
    let b = body(&run(
        cmd.args(["-r", "translator", "--dry-run"]),
        Some(b"bonjour"),
    ));
    assert_eq!(b["messages"][1]["content"], "Translate:\n\nbonjour");
    assert_eq!(b["temperature"], 0.2);
}
