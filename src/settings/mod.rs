//! Settings: the command line, the environment and the config file (its profiles and roles),
//! resolved once into the `Cli` that `Config::from_cli` turns into the plain `Config`.
//!
//! Nothing downstream knows where a value came from, except `config show`, which reads the
//! origins kept here.

pub mod file;
pub mod layers;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;

use crate::cli::{Cli, KeySource};
use crate::config::{self, ApiKey, Env, Stdin};
use crate::error::{Error, Result};

pub use file::{ConfigFile, Keys};
pub use layers::{Merged, Origin};

/// Why the settings could not be made.
#[derive(Debug)]
pub enum Failure {
    /// The command line itself (clap prints it, with help and version as "errors").
    Args(clap::Error),
    /// The config file, a profile or a role.
    Settings(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Settings(e)
    }
}

/// How the config file's path was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathFrom {
    Flag,
    Env(String),
    Default,
}

/// The settings in effect, and what `config show` needs to say where each came from.
#[derive(Debug)]
pub struct Settings {
    pub cli: Cli,
    /// The config file's path, and whether it was named or is the default place.
    pub path: Option<(PathBuf, PathFrom)>,
    /// The file, when there is one.
    pub file: Option<ConfigFile>,
    pub profile: Option<(String, Origin)>,
    pub role: Option<String>,
    pub keys: Keys,
    pub merged: Merged,
    /// The user's command line alone: what the flags and clap's variables set.
    pub first: clap::ArgMatches,
    /// The final parse: the file's arguments first, then the user's.
    pub matches: clap::ArgMatches,
    /// Options whose value an environment variable read outside clap supplies.
    pub env_fallbacks: BTreeMap<String, String>,
}

/// Parse the command line, read the config file, merge, and parse again with the file's
/// values in front.
pub fn load<I, T>(args: I, env: &dyn Env) -> std::result::Result<Settings, Failure>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // One command, built once (building it is a third of the start-up's parsing).
    let mut command = crate::cli::command();
    // Help, version and bad options end here, before any file is read.
    let mut first = command
        .try_get_matches_from_mut(&args)
        .map_err(Failure::Args)?;
    // `map` and `batch submit` take the single-request options themselves: those given before
    // them move after them, where the file's values go too (see below), and their matches are
    // the user's.
    let door = match first.subcommand_name() {
        Some("map") => door_position(&args, &["map"]),
        Some("batch")
            if first
                .subcommand_matches("batch")
                .and_then(|b| b.subcommand_name())
                == Some("submit") =>
        {
            door_position(&args, &["batch", "submit"])
        }
        _ => None,
    };
    // Where the subcommand's last word is once the options before it have moved after it.
    let door_at = door.map(|(start, end)| {
        let before: Vec<OsString> = args.drain(1..start).collect();
        let at = end - before.len();
        args.splice(at + 1..at + 1, before);
        at
    });
    if door_at.is_some() {
        first = command
            .try_get_matches_from_mut(&args)
            .map_err(Failure::Args)?;
    }
    let top = first.clone();
    let first = match door_at {
        Some(_) => door_matches(&top).cloned().unwrap_or(top.clone()),
        None => first,
    };
    let keys = Keys::of(command);

    let path = config_path(&first, env);
    // `config path` says where the file is, even one that is missing or broken.
    let path_only = top
        .subcommand_matches("config")
        .and_then(|c| c.subcommand_name())
        == Some("path");
    let file = match &path {
        _ if path_only => None,
        Some((p, PathFrom::Default)) if !p.exists() => None,
        Some((p, _)) => Some(file::load(p, &keys, env.home().as_deref())?),
        None => None,
    };

    let profile = choose_profile(&first, file.as_ref())?;
    let role = match first.get_one::<String>("role") {
        Some(name) => {
            let known = file.as_ref().is_some_and(|f| f.roles.contains_key(name));
            if !known {
                return Err(Error::usage(format!(
                    "no role {name:?} in {} ({})",
                    where_(path.as_ref()),
                    file::defined(file.iter().flat_map(|f| f.roles.keys()))
                ))
                .into());
            }
            Some(name.clone())
        }
        None => None,
    };

    let merged = match &file {
        Some(f) => layers::merge(
            f,
            profile.as_ref().map(|(n, _)| n.as_str()),
            role.as_deref(),
        ),
        None => Merged::default(),
    };

    let env_fallbacks = env_fallbacks(&first, &merged, env);
    let cmd = keys.command();
    let given_ids: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| given(&first, a.get_id().as_str(), env))
        .collect();
    let synthesized = layers::arguments(&merged, &keys, |key| {
        let Some(spec) = keys.get(key) else {
            return true;
        };
        let negation = spec.negation.as_ref().map(|_| format!("no_{key}"));
        let ids = std::iter::once(key).chain(negation.as_deref());
        let mut set = false;
        for id in ids {
            set |= given(&first, id, env);
            // An option the command line conflicts with is left out, as a flag would be.
            if let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == id) {
                set |= given_ids.iter().any(|g| {
                    cmd.get_arg_conflicts_with(g)
                        .iter()
                        .any(|c| c.get_id() == id)
                        || cmd
                            .get_arg_conflicts_with(arg)
                            .iter()
                            .any(|c| c.get_id() == g.get_id())
                });
            }
        }
        set || env_fallbacks.contains_key(key)
    });

    let mut full: Vec<OsString> = Vec::with_capacity(args.len() + synthesized.len());
    full.push(
        args.first()
            .cloned()
            .unwrap_or_else(|| OsString::from("qstream")),
    );
    // For `map` (`batch submit`) the file's values go after the word `map` (`submit`), among
    // its options.
    let skip = door_at.map_or(1, |at| at + 1);
    full.extend(args.iter().skip(1).take(skip - 1).cloned());
    full.extend(synthesized.into_iter().map(OsString::from));
    full.extend(args.iter().skip(skip).cloned());
    // With nothing from the file or the environment, the line is the user's as it was parsed.
    let matches = if full == args {
        top
    } else {
        cmd.clone()
            .try_get_matches_from(full)
            .map_err(Failure::Args)?
    };
    let mut cli = match (
        door_at.and_then(|_| matches.subcommand_matches("map")),
        door_at.and_then(|_| door_matches(&matches)),
    ) {
        (Some(map), _) => {
            let mut cli = crate::cli::from_matches(map).map_err(Failure::Args)?;
            let args = <crate::cli::MapArgs as clap::FromArgMatches>::from_arg_matches(map)
                .map_err(Failure::Args)?;
            cli.command = Some(crate::cli::Command::Map(args));
            cli
        }
        (None, Some(submit)) => {
            let mut cli = crate::cli::from_matches(submit).map_err(Failure::Args)?;
            let args =
                <crate::cli::BatchSubmitArgs as clap::FromArgMatches>::from_arg_matches(submit)
                    .map_err(Failure::Args)?;
            cli.command = Some(crate::cli::Command::Batch {
                action: crate::cli::BatchAction::Submit(args),
            });
            cli
        }
        _ => crate::cli::from_matches(&matches).map_err(Failure::Args)?,
    };
    // What a continued conversation must not override: what the user's own command line or
    // the chosen role says (the file's defaults are parsed as arguments too, so ask `first`).
    cli.explicit.retain(|id| {
        first.value_source(id) == Some(ValueSource::CommandLine)
            || merged
                .values
                .get(*id)
                .is_some_and(|(_, origin)| matches!(origin, Origin::Role { .. }))
    });

    if let Some(f) = &file {
        cli.template = role
            .as_ref()
            .and_then(|r| f.roles.get(r))
            .and_then(|r| r.prompt.as_ref())
            .map(|(t, _)| t.clone());
        let place = profile
            .as_ref()
            .and_then(|(n, _)| f.profiles.get(n))
            .map(|p| &p.key)
            .filter(|k| k.env.is_some() || k.file.is_some())
            .map(|k| (profile.as_ref().map(|(n, _)| n.clone()), k))
            .or_else(|| (f.key.env.is_some() || f.key.file.is_some()).then_some((None, &f.key)));
        cli.key_source = place.map(|(name, k)| KeySource {
            profile: name.unwrap_or_default(),
            env: k.env.clone(),
            file: k.file.clone(),
        });
    }

    Ok(Settings {
        cli,
        path,
        file,
        profile,
        role,
        keys,
        merged,
        first,
        matches,
        env_fallbacks,
    })
}

/// Where the words of a subcommand path (`map`, or `batch submit`) are in `args`: the first
/// and the last, each the first such word the parser takes as that subcommand (not the value
/// of an option before it, as in `-r map map`).
fn door_position(args: &[OsString], path: &[&str]) -> Option<(usize, usize)> {
    // Whether the parser takes `args[upto]` as the subcommand `path[depth]`. Prefixes are
    // parsed leniently: `batch` alone lacks its required action.
    let takes = |upto: usize, depth: usize| -> bool {
        let Ok(m) = crate::cli::command()
            .ignore_errors(true)
            .try_get_matches_from(&args[..=upto])
        else {
            return false;
        };
        let mut m = &m;
        for w in &path[..depth] {
            match m.subcommand_matches(w) {
                Some(next) => m = next,
                None => return false,
            }
        }
        m.subcommand_name() == Some(path[depth])
    };
    let mut positions = Vec::with_capacity(path.len());
    let mut from = 1;
    for (depth, word) in path.iter().enumerate() {
        let at = (from..args.len()).find(|&i| args[i] == *word && takes(i, depth))?;
        positions.push(at);
        from = at + 1;
    }
    Some((*positions.first()?, *positions.last()?))
}

/// The matches of the subcommand that takes the single-request options, when it is
/// `batch submit` (for `map`, `subcommand_matches("map")`).
fn door_matches(m: &clap::ArgMatches) -> Option<&clap::ArgMatches> {
    match m.subcommand() {
        Some(("map", map)) => Some(map),
        Some(("batch", batch)) => batch.subcommand_matches("submit"),
        _ => None,
    }
}

/// Whether the user set this option: on the command line or through its variable.
fn given(m: &clap::ArgMatches, id: &str, env: &dyn Env) -> bool {
    // Asked only of present ids: `map`'s matches lack some of the top level's (`version`).
    m.ids().any(|i| i.as_str() == id)
        && matches!(
            m.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
        || crate::cli::env_read_by_config(id).is_some_and(|var| env.var(var).is_some())
}

/// `--config` / `QSTREAM_CONFIG`, else `$XDG_CONFIG_HOME/qstream/config.toml`, else
/// `~/.config/qstream/config.toml`.
fn config_path(m: &clap::ArgMatches, env: &dyn Env) -> Option<(PathBuf, PathFrom)> {
    if let Some(path) = m.get_one::<PathBuf>("config") {
        let from = match m.value_source("config") {
            Some(ValueSource::EnvVariable) => PathFrom::Env("QSTREAM_CONFIG".to_owned()),
            _ => PathFrom::Flag,
        };
        return Some((path.clone(), from));
    }
    // The XDG spec ignores a relative XDG_CONFIG_HOME.
    let base = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.home().map(|h| h.join(".config")))?;
    Some((base.join("qstream").join("config.toml"), PathFrom::Default))
}

fn where_(path: Option<&(PathBuf, PathFrom)>) -> String {
    match path {
        Some((p, _)) if p.exists() => p.display().to_string(),
        Some((p, _)) => format!("{} (no such file)", p.display()),
        None => "the config file (no HOME to find it in)".to_owned(),
    }
}

/// `-P` / `QSTREAM_PROFILE`, else the file's `default_profile`.
fn choose_profile(
    m: &clap::ArgMatches,
    file: Option<&ConfigFile>,
) -> Result<Option<(String, Origin)>> {
    if let Some(name) = m.get_one::<String>("profile") {
        let origin = match m.value_source("profile") {
            Some(ValueSource::EnvVariable) => Origin::Env("QSTREAM_PROFILE".to_owned()),
            _ => Origin::Flag,
        };
        if !file.is_some_and(|f| f.profiles.contains_key(name)) {
            let path = file.map(|f| f.path.display().to_string());
            return Err(Error::usage(format!(
                "no profile {name:?} in {} ({})",
                path.as_deref().unwrap_or("the config file (there is none)"),
                file::defined(file.into_iter().flat_map(|f| f.profiles.keys()))
            )));
        }
        return Ok(Some((name.clone(), origin)));
    }
    Ok(file.and_then(|f| {
        f.default_profile.as_ref().map(|(name, line)| {
            (
                name.clone(),
                Origin::File {
                    file: f.name(),
                    line: *line,
                },
            )
        })
    }))
}

/// `--base-url` falls back to DASHSCOPE_COMPATIBLE_BASE_URL or DASHSCOPE_HTTP_BASE_URL (by
/// protocol), read by `Config` rather than clap: set, it beats the file as environment does.
fn env_fallbacks(m: &clap::ArgMatches, merged: &Merged, env: &dyn Env) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (id, var) in crate::cli::ENV_READ_BY_CONFIG {
        if m.value_source(id) != Some(ValueSource::CommandLine) && env.var(var).is_some() {
            out.insert((*id).to_owned(), (*var).to_owned());
        }
    }
    if given(m, "base_url", env) {
        return out;
    }
    let protocol = if given(m, "protocol", env) {
        m.get_raw("protocol")
            .and_then(|mut v| v.next())
            .map(|v| v.to_string_lossy().into_owned())
    } else {
        match merged.values.get("protocol") {
            Some((file::Setting::One(p), _)) => Some(p.clone()),
            _ => None,
        }
    };
    let var = if protocol.as_deref() == Some("dashscope") {
        "DASHSCOPE_HTTP_BASE_URL"
    } else {
        "DASHSCOPE_COMPATIBLE_BASE_URL"
    };
    if env.var(var).is_some() {
        out.insert("base_url".to_owned(), var.to_owned());
    }
    out
}

/// The API key: where the profile (or the file's top level) says, else the usual places.
///
/// A profile's `api_key_env` names the variable and is authoritative: a `cn` profile whose
/// variable is unset fails rather than sending the `intl` key from DASHSCOPE_API_KEY.
pub fn api_key(source: Option<&KeySource>, env: &dyn Env) -> Result<ApiKey> {
    let Some(source) = source else {
        return config::api_key(env);
    };
    let whose = if source.profile.is_empty() {
        "the config file".to_owned()
    } else {
        format!("profile {}", source.profile)
    };
    if let Some(var) = &source.env {
        if env.var(var).is_some() {
            return config::api_key(&Only {
                inner: env,
                var: Some(var),
                file: None,
            });
        }
    }
    if let Some(path) = &source.file {
        return match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => config::api_key(&Only {
                inner: env,
                var: None,
                file: Some(path),
            }),
            Ok(_) => Err(Error::config(format!(
                "the API key file {} of {whose} is empty",
                path.display()
            ))),
            Err(e) => Err(Error::config(format!(
                "cannot read the API key file {} of {whose}: {e}",
                path.display()
            ))),
        };
    }
    let var = source.env.as_deref().unwrap_or("DASHSCOPE_API_KEY");
    Err(Error::config(format!(
        "no API key: {whose} reads it from {var}, which is not set"
    )))
}

/// The environment as `config::api_key` should see it for a profile: its variable under
/// the standard name, its file as the named key file, and no home fallback.
struct Only<'a> {
    inner: &'a dyn Env,
    var: Option<&'a str>,
    file: Option<&'a Path>,
}

impl Env for Only<'_> {
    fn var(&self, name: &str) -> Option<String> {
        match name {
            "DASHSCOPE_API_KEY" => self.var.and_then(|v| self.inner.var(v)),
            "DASHSCOPE_API_KEY_FILE_PATH" => self.file.map(|p| p.display().to_string()),
            other => self.inner.var(other),
        }
    }
    fn home(&self) -> Option<PathBuf> {
        None
    }
}

/// The key as a shell expression for `--dry-run`'s curl command: the profile's variable, or
/// its file read by `cat`.
pub fn key_expression(source: Option<&KeySource>) -> String {
    match source {
        Some(KeySource { env: Some(var), .. }) => format!("${var}"),
        Some(KeySource {
            file: Some(path), ..
        }) => {
            let path = path.display().to_string();
            format!("$(cat '{}')", path.replace('\'', "'\\''"))
        }
        _ => "$DASHSCOPE_API_KEY".to_owned(),
    }
}

/// Where the key would come from, in words (never the key).
pub fn key_origin(source: Option<&KeySource>, env: &dyn Env) -> String {
    let state = |set: bool| if set { "set" } else { "not set" };
    let Some(s) = source else {
        if env.var("DASHSCOPE_API_KEY").is_some() {
            return "env DASHSCOPE_API_KEY, set".to_owned();
        }
        if let Some(p) = env.var("DASHSCOPE_API_KEY_FILE_PATH") {
            return format!("file {p} (DASHSCOPE_API_KEY_FILE_PATH)");
        }
        return match env.home().map(|h| h.join(".dashscope").join("api_key")) {
            Some(p) if p.exists() => format!("file {}", p.display()),
            _ => "env DASHSCOPE_API_KEY, not set".to_owned(),
        };
    };
    let whose = if s.profile.is_empty() {
        "config file".to_owned()
    } else {
        format!("profile {}", s.profile)
    };
    match (&s.env, &s.file) {
        (Some(var), _) if env.var(var).is_some() => format!("env {var} ({whose}), set"),
        (_, Some(path)) => format!(
            "file {} ({whose}), {}",
            path.display(),
            if path.exists() { "exists" } else { "missing" }
        ),
        (Some(var), None) => format!("env {var} ({whose}), {}", state(false)),
        (None, None) => "none".to_owned(),
    }
}

/// The role's prompt template filled in: `{prompt}` is the words, `{input}` stdin. What the
/// template does not use is appended after a blank line, as PROMPT and stdin are without one.
/// Returns the `Cli` and stdin `Config` should see.
pub fn fill_template(cli: &Cli, stdin: Stdin) -> (Cow<'_, Cli>, Stdin) {
    let Some(template) = cli.template.as_deref() else {
        return (Cow::Borrowed(cli), stdin);
    };
    // `--messages -` reads stdin as the history; `--replay` sends nothing.
    if cli.replay.is_some() || cli.messages.as_deref() == Some(Path::new("-")) {
        return (Cow::Borrowed(cli), stdin);
    }
    let with = |prompt: Vec<String>| {
        Cow::Owned(Cli {
            prompt,
            ..cli.clone()
        })
    };
    let words = if cli.prompt.len() == 1 && cli.prompt[0] == "-" {
        String::new()
    } else {
        cli.prompt.join(" ")
    };
    let input = stdin
        .text
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("");
    let uses_prompt = template.contains("{prompt}");
    let uses_input = template.contains("{input}");
    if (uses_prompt || uses_input) && words.trim().is_empty() && input.is_empty() {
        // Nothing to fill in: `Config` reports the missing prompt.
        return (with(Vec::new()), Stdin::default());
    }
    let mut message = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        let (before, after) = rest.split_at(at);
        message.push_str(before);
        if let Some(tail) = after.strip_prefix("{prompt}") {
            message.push_str(&words);
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("{input}") {
            message.push_str(input);
            rest = tail;
        } else {
            message.push('{');
            rest = &after[1..];
        }
    }
    message.push_str(rest);
    for (used, part) in [(uses_prompt, words.as_str()), (uses_input, input)] {
        if !used && !part.trim().is_empty() {
            message.push_str("\n\n");
            message.push_str(part);
        }
    }
    (with(vec![message]), Stdin::default())
}

#[cfg(test)]
mod tests;
