//! `qstream config show|path|roles|profiles`: what the settings are and where they came from.
//! Never the key: only where it would be read from.

use std::io::Write;

use clap::parser::ValueSource;
use serde_json::Value as Json;

use crate::cli::ConfigAction;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::settings::file::{bare_or_quoted, Entry, Setting, Shape};
use crate::settings::{self, Origin, PathFrom, Settings};

pub fn run(action: ConfigAction, settings: &Settings, env: &dyn Env) -> Result<()> {
    let text = match action {
        ConfigAction::Show => show(settings, env),
        ConfigAction::Path => match &settings.path {
            Some((path, _)) => format!("{}\n", path.display()),
            None => {
                return Err(Error::config(
                    "no config file path: set QSTREAM_CONFIG, XDG_CONFIG_HOME or HOME",
                ))
            }
        },
        ConfigAction::Roles => roles(settings),
        ConfigAction::Profiles => profiles(settings),
    };
    if settings.file.is_none() && action != ConfigAction::Path {
        let where_ = settings
            .path
            .as_ref()
            .map_or("(no HOME)".to_owned(), |(p, _)| p.display().to_string());
        let _ = writeln!(
            std::io::stderr(),
            "qstream: no config file at {where_}: built-in defaults"
        );
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(Error::output)
}

/// Every setting in effect, as TOML with its origin in a comment.
fn show(s: &Settings, env: &dyn Env) -> String {
    let mut head = Vec::new();
    match &s.path {
        Some((path, from)) => {
            let from = match from {
                PathFrom::Flag => " (--config)".to_owned(),
                PathFrom::Env(var) => format!(" (env {var})"),
                PathFrom::Default => String::new(),
            };
            let missing = if s.file.is_none() { ", not found" } else { "" };
            head.push(format!("# config file: {}{from}{missing}", path.display()));
        }
        None => head.push("# config file: none (no HOME)".to_owned()),
    }
    if let Some((name, origin)) = &s.profile {
        let why = match origin {
            Origin::File { .. } => format!("default_profile, {origin}"),
            other => other.to_string(),
        };
        head.push(format!("# profile: {name} ({why})"));
    }
    if let Some(role) = &s.role {
        head.push(format!("# role: {role} (flag)"));
        if let Some(t) = &s.cli.template {
            head.push(format!("# prompt template: {}", quote(t)));
        }
    }
    head.push(format!(
        "# API key: {}; the key itself is never shown",
        settings::key_origin(s.cli.key_source.as_ref(), env)
    ));

    let mut rows: Vec<(String, String)> = Vec::new();
    let mut tables: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let m = &s.matches;
    for (id, key) in s.keys.ids() {
        match key.shape {
            Shape::Flag => {
                let on = m.get_flag(id);
                rows.push((format!("{id} = {on}"), origin(s, id, id)));
            }
            Shape::Switch => {
                let no = format!("no_{id}");
                if m.get_flag(id) {
                    rows.push((format!("{id} = true"), origin(s, id, id)));
                } else if m.get_flag(&no) {
                    rows.push((format!("{id} = false"), origin(s, &no, id)));
                }
            }
            Shape::One | Shape::Many => {
                let values: Vec<String> = m
                    .get_raw(id)
                    .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
                    .unwrap_or_default();
                let from_env = s.matches.value_source(id) != Some(ValueSource::CommandLine);
                if values.is_empty() || from_env && s.env_fallbacks.contains_key(id) {
                    if let Some(var) = s.env_fallbacks.get(id) {
                        if let Some(v) = env.var(var) {
                            rows.push((format!("{id} = {}", scalar(&v)), format!("env {var}")));
                            continue;
                        }
                    }
                    if values.is_empty() {
                        if let Some((_, d)) = crate::cli::DEFAULTS_APPLIED_BY_CONFIG
                            .iter()
                            .find(|(i, _)| *i == id)
                        {
                            rows.push((
                                format!("{id} = {}", scalar(d)),
                                Origin::Default.to_string(),
                            ));
                        }
                        continue;
                    }
                }
                let shown = if key.shape == Shape::One {
                    scalar(&values[0])
                } else {
                    format!(
                        "[{}]",
                        values
                            .iter()
                            .map(|v| scalar(v))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                rows.push((format!("{id} = {shown}"), origin(s, id, id)));
            }
            Shape::Table(sep) => {
                let entries = table_rows(s, id, sep);
                if !entries.is_empty() {
                    tables.push((id.to_owned(), entries));
                }
            }
        }
    }
    let width = rows
        .iter()
        .chain(tables.iter().flat_map(|(_, e)| e.iter()))
        .map(|(l, _)| l.chars().count())
        .filter(|w| *w <= 40)
        .max()
        .unwrap_or(0);
    let line = |(left, origin): &(String, String)| {
        let pad = width.saturating_sub(left.chars().count());
        format!("{left}{}  # {origin}\n", " ".repeat(pad))
    };
    let mut out = head.join("\n");
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
    }
    for (name, entries) in &tables {
        out.push_str(&format!("\n[{name}]\n"));
        for row in entries {
            out.push_str(&line(row));
        }
    }
    out
}

/// Where the value of `id` came from; `key` is its key in the file (`thinking` for
/// `no_thinking`).
fn origin(s: &Settings, id: &str, key: &str) -> String {
    match s.first.value_source(id) {
        Some(ValueSource::CommandLine) => return Origin::Flag.to_string(),
        Some(ValueSource::EnvVariable) => {
            let var = s
                .keys
                .command()
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Origin::Env(var).to_string();
        }
        _ => {}
    }
    if s.matches.value_source(id) == Some(ValueSource::CommandLine) {
        if let Some((_, origin)) = s.merged.values.get(key) {
            return origin.to_string();
        }
    }
    Origin::Default.to_string()
}

/// `[params]` / `[headers]`: the entries in effect, the user's `-o`/`-H` over the file's.
fn table_rows(s: &Settings, id: &str, sep: &str) -> Vec<(String, String)> {
    let split = |raw: &str| -> Option<(String, String)> {
        raw.split_once(sep.trim())
            .map(|(k, v)| (k.trim().to_owned(), v.trim_start().to_owned()))
    };
    let user: Vec<String> = s
        .first
        .get_raw(id)
        .filter(|_| s.first.value_source(id) == Some(ValueSource::CommandLine))
        .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut put = |name: String, value: String, origin: String| {
        let same = |n: &String| {
            if id == "headers" {
                n.eq_ignore_ascii_case(&name)
            } else {
                *n == name
            }
        };
        rows.retain(|(n, _, _)| !same(n));
        rows.push((name, value, origin));
    };
    if let Some(entries) = s.merged.entries.get(id) {
        for (entry, origin) in entries.values() {
            if let Some((name, value)) = split(&entry.arg) {
                put(name, value, origin.to_string());
            }
        }
    }
    for raw in &user {
        if let Some((name, value)) = split(raw) {
            put(name, value, Origin::Flag.to_string());
        }
    }
    rows.into_iter()
        .map(|(name, value, origin)| {
            let shown = if id == "params" {
                serde_json::from_str::<Json>(&value)
                    .map(|j| toml_of(&j))
                    .unwrap_or_else(|_| quote(&value))
            } else {
                quote(&value)
            };
            (format!("{} = {shown}", bare_or_quoted(&name)), origin)
        })
        .collect()
}

fn quote(s: &str) -> String {
    Json::String(s.to_owned()).to_string()
}

/// A command-line value as a TOML value: numbers bare, everything else a string.
fn scalar(v: &str) -> String {
    let numeric = v.parse::<f64>().is_ok()
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if numeric {
        v.to_owned()
    } else {
        quote(v)
    }
}

/// JSON (from `-o`) as an inline TOML value.
fn toml_of(v: &Json) -> String {
    match v {
        Json::String(s) => quote(s),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        // TOML has no null; a string says what was given.
        Json::Null => quote("null"),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_of).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", bare_or_quoted(k), toml_of(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// One line per role or profile: its name and what it sets.
fn summary<'a>(layer: impl Iterator<Item = (&'a String, &'a Entry)>) -> Vec<String> {
    layer
        .map(|(key, entry)| match &entry.setting {
            Setting::Bool(b) => format!("{key} = {b}"),
            Setting::One(v) => format!("{key} = {}", short(v)),
            Setting::Many(vs) => format!("{key} = [{}]", vs.len()),
            Setting::Table(es) => format!(
                "{key}: {}",
                es.iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

/// A value cut to 40 characters, quoted.
fn short(v: &str) -> String {
    let cut: String = v.chars().take(40).collect();
    if cut.len() < v.len() {
        format!("{}…", quote(&cut))
    } else {
        quote(v)
    }
}

fn roles(s: &Settings) -> String {
    let Some(file) = &s.file else {
        return String::new();
    };
    let mut out = String::new();
    for (name, role) in &file.roles {
        let mut parts = summary(role.layer.iter());
        if let Some((t, _)) = &role.prompt {
            parts.push(format!("prompt = {}", short(t)));
        }
        out.push_str(&format!("{}\t{}\n", bare_or_quoted(name), parts.join("; ")));
    }
    out
}

fn profiles(s: &Settings) -> String {
    let Some(file) = &s.file else {
        return String::new();
    };
    let default = file.default_profile.as_ref().map(|(n, _)| n.as_str());
    let mut out = String::new();
    for (name, profile) in &file.profiles {
        let mut parts = summary(profile.layer.iter());
        if let Some(var) = &profile.key.env {
            parts.push(format!("api_key_env = {}", quote(var)));
        }
        if let Some(path) = &profile.key.file {
            parts.push(format!(
                "api_key_file = {}",
                quote(&path.display().to_string())
            ));
        }
        let mark = if Some(name.as_str()) == default {
            " (default)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}{mark}\t{}\n",
            bare_or_quoted(name),
            parts.join("; ")
        ));
    }
    out
}
