//! The config file: TOML, read once and checked against the options the command line has.
//!
//! A key is an option's clap id (its long name with `_` for `-`), so every new flag has its
//! key without a line here. Values are checked with the option's own value parser, so the file
//! accepts exactly what the flag accepts. An error names the file, the line and the key, and
//! never repeats a value that might be a key.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ArgAction;
use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{Error, Result};

/// Options that choose the settings rather than being one: the file cannot set them.
/// Per-run choices, not settings: continuing a conversation (`-c`, `--cid`) among them.
const NOT_KEYS: &[&str] = &[
    "help",
    "version",
    "config",
    "profile",
    "role",
    "continue_",
    "cid",
];

/// Repeatable options written as tables: `[params]` is `-o KEY=VALUE`, `[headers]` is
/// `-H 'Name: value'`. The separator joins a table entry back into the flag's form.
const TABLES: &[(&str, &str)] = &[("params", "="), ("headers", ": ")];

/// What a key holds, from its option's clap action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A flag: `true` gives it, `false` leaves it out.
    Flag,
    /// A flag with a `no-` partner (`thinking` / `no_thinking`): `false` gives the partner.
    Switch,
    /// An option with one value.
    One,
    /// A repeatable option: a list (or one value).
    Many,
    /// `[params]` or `[headers]`: entries joined into the flag's form with this separator.
    Table(&'static str),
}

/// One key the file may set.
#[derive(Debug, Clone)]
pub struct Key {
    pub long: String,
    pub shape: Shape,
    /// The `no-` partner's long name, for a switch.
    pub negation: Option<String>,
}

/// The keys of every option, derived from the command.
#[derive(Debug, Clone)]
pub struct Keys {
    cmd: clap::Command,
    keys: BTreeMap<String, Key>,
    /// `no_thinking` → `thinking`: the partner of a switch is the switch, inverted.
    negations: BTreeMap<String, String>,
}

impl Keys {
    pub fn of(mut cmd: clap::Command) -> Keys {
        cmd.build();
        let flag = |id: &str| {
            cmd.get_arguments()
                .any(|a| a.get_id() == id && matches!(a.get_action(), ArgAction::SetTrue))
        };
        let mut keys = BTreeMap::new();
        let mut negations = BTreeMap::new();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            let Some(long) = arg.get_long() else { continue };
            if NOT_KEYS.contains(&id) {
                continue;
            }
            let mut negation = None;
            let shape = if let Some((_, sep)) = TABLES.iter().find(|(t, _)| *t == id) {
                Shape::Table(sep)
            } else {
                match arg.get_action() {
                    ArgAction::SetTrue if flag(&format!("no_{id}")) => {
                        negation = cmd
                            .get_arguments()
                            .find(|a| a.get_id() == format!("no_{id}").as_str())
                            .and_then(|a| a.get_long())
                            .map(str::to_owned);
                        Shape::Switch
                    }
                    ArgAction::SetTrue => Shape::Flag,
                    ArgAction::Append => Shape::Many,
                    _ => Shape::One,
                }
            };
            if let Some(plain) = id.strip_prefix("no_").filter(|p| flag(p)) {
                negations.insert(id.to_owned(), plain.to_owned());
                continue;
            }
            keys.insert(
                id.to_owned(),
                Key {
                    long: long.to_owned(),
                    shape,
                    negation,
                },
            );
        }
        Keys {
            cmd,
            keys,
            negations,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Key> {
        self.keys.get(key)
    }

    pub fn command(&self) -> &clap::Command {
        &self.cmd
    }

    /// The canonical key of `key`, and whether its value is inverted (`no_thinking`).
    pub fn canonical<'a>(&'a self, key: &'a str) -> Option<(&'a str, bool)> {
        if let Some(plain) = self.negations.get(key) {
            return Some((plain.as_str(), true));
        }
        self.keys.contains_key(key).then_some((key, false))
    }

    /// Every key with what it holds, in key order.
    pub fn ids(&self) -> impl Iterator<Item = (&str, &Key)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.keys
            .keys()
            .chain(self.negations.keys())
            .map(String::as_str)
    }

    /// Check a value with the option's own parser, as the command line would: on a command
    /// of that option alone (its conflicts and requirements belong to the whole line).
    fn check(&self, id: &str, value: &str) -> std::result::Result<(), String> {
        let Some(arg) = self.cmd.get_arguments().find(|a| a.get_id() == id) else {
            return Ok(());
        };
        let Some(long) = arg.get_long() else {
            return Ok(());
        };
        let alone = arg
            .clone()
            .action(ArgAction::Set)
            .required(false)
            .env(None)
            .default_value(None)
            .requires(clap::builder::Resettable::<clap::Id>::Reset)
            .conflicts_with(clap::builder::Resettable::<clap::Id>::Reset)
            .overrides_with(clap::builder::Resettable::<clap::Id>::Reset);
        clap::Command::new("qstream")
            .no_binary_name(true)
            .arg(alone)
            .try_get_matches_from([format!("--{long}={value}")])
            .map(|_| ())
            .map_err(|e| one_line(&e.to_string()))
    }
}

/// A clap message as one line: without `error: `, the help hint and blank lines.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One entry of `[params]` or `[headers]`, already in its flag's form.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    pub name: String,
    /// `n=2` for `-o`, `X-Team: core` for `-H`.
    pub arg: String,
    pub line: usize,
}

/// A value for one option.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Bool(bool),
    One(String),
    Many(Vec<String>),
    Table(Vec<TableEntry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub setting: Setting,
    pub line: usize,
}

/// Option values by canonical key.
pub type Layer = BTreeMap<String, Entry>;

/// Where a profile (or the top level) says the API key is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPlace {
    /// `api_key_env`: the variable holding the key.
    pub env: Option<String>,
    /// `api_key_file`: the file holding the key.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub layer: Layer,
    pub key: KeyPlace,
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Role {
    pub layer: Layer,
    /// The prompt template: `{input}` is stdin, `{prompt}` the words given.
    pub prompt: Option<(String, usize)>,
    pub line: usize,
}

/// A config file, checked.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub top: Layer,
    pub key: KeyPlace,
    pub default_profile: Option<(String, usize)>,
    pub profiles: BTreeMap<String, Profile>,
    pub roles: BTreeMap<String, Role>,
}

impl ConfigFile {
    /// The file's name, as origins show it (`config.toml:12`).
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

/// Which part of the file a table is, for messages and the keys it may hold.
#[derive(Clone, Copy)]
enum Part<'a> {
    Top,
    Profile(&'a str),
    Role(&'a str),
}

impl Part<'_> {
    fn label(&self) -> String {
        match self {
            Part::Top => "at the top level".to_owned(),
            Part::Profile(n) => format!("in [profiles.{}]", bare_or_quoted(n)),
            Part::Role(n) => format!("in [roles.{}]", bare_or_quoted(n)),
        }
    }

    fn extras(&self) -> &'static [&'static str] {
        match self {
            Part::Top => &[
                "profiles",
                "roles",
                "default_profile",
                "api_key_env",
                "api_key_file",
            ],
            Part::Profile(_) => &["api_key_env", "api_key_file"],
            Part::Role(_) => &["prompt"],
        }
    }
}

/// A TOML key as written in a table header: bare when it can be, else quoted.
pub fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        Json::String(key.to_owned()).to_string()
    }
}

/// The file's text and path, for messages with line numbers.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    /// Where a relative `api_key_file` is looked for, and `~`'s meaning.
    home: Option<&'a Path>,
}

impl Source<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text
            .as_bytes()
            .get(..end)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            + 1
    }

    fn error(&self, line: usize, message: impl std::fmt::Display) -> Error {
        Error::config(format!("{}:{line}: {message}", self.path.display()))
    }
}

/// Read and check the file at `path`.
pub fn load(path: &Path, keys: &Keys, home: Option<&Path>) -> Result<ConfigFile> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "cannot read the config file {}: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::config(format!(
            "{}: not valid TOML: the file is not UTF-8",
            path.display()
        ))
    })?;
    parse(&text, path, keys, home)
}

/// Check `text`, the contents of `path`.
pub fn parse(text: &str, path: &Path, keys: &Keys, home: Option<&Path>) -> Result<ConfigFile> {
    let src = Source { path, text, home };
    // The parser's own message names what it expected, never the text it found, and a
    // malformed `api_key = sk-…` line must not echo the key: so no `Display` of the error,
    // which quotes the line.
    let doc = DeTable::parse(text).map_err(|e| {
        let line = e.span().map_or(1, |s| src.line(s));
        src.error(line, format!("not valid TOML: {}", e.message()))
    })?;
    let mut file = ConfigFile {
        path: path.to_owned(),
        ..ConfigFile::default()
    };
    for (k, v) in doc.get_ref().iter() {
        let key = k.get_ref().as_ref();
        let line = src.line(k.span());
        match key {
            "profiles" => {
                for (name, table, line) in tables(&src, key, v, line)? {
                    let mut profile = Profile {
                        line,
                        ..Profile::default()
                    };
                    let part = Part::Profile(&name);
                    for (k, v) in table.iter() {
                        entry(
                            &src,
                            keys,
                            part,
                            k,
                            v,
                            &mut profile.layer,
                            |key, v, line| key_place(&src, &mut profile.key, key, v, line),
                        )?;
                    }
                    file.profiles.insert(name, profile);
                }
            }
            "roles" => {
                for (name, table, line) in tables(&src, key, v, line)? {
                    let mut role = Role {
                        line,
                        ..Role::default()
                    };
                    let part = Part::Role(&name);
                    for (k, v) in table.iter() {
                        entry(&src, keys, part, k, v, &mut role.layer, |key, v, line| {
                            role.prompt = Some((string(&src, key, v, line)?, line));
                            Ok(())
                        })?;
                    }
                    file.roles.insert(name, role);
                }
            }
            "default_profile" => {
                file.default_profile = Some((string(&src, key, v, line)?, line));
            }
            _ => entry(
                &src,
                keys,
                Part::Top,
                k,
                v,
                &mut file.top,
                |key, v, line| key_place(&src, &mut file.key, key, v, line),
            )?,
        }
    }
    if let Some((name, line)) = &file.default_profile {
        if !file.profiles.contains_key(name) {
            return Err(src.error(
                *line,
                format!(
                    "default_profile: no profile {name:?} is defined ({})",
                    defined(file.profiles.keys())
                ),
            ));
        }
    }
    Ok(file)
}

/// "defined: a, b" or "none is defined".
pub fn defined<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<_> = names.map(|n| bare_or_quoted(n)).collect();
    if names.is_empty() {
        "none is defined".to_owned()
    } else {
        format!("defined: {}", names.join(", "))
    }
}

type Named<'t, 'i> = (String, &'t DeTable<'i>, usize);

/// The sub-tables of `[profiles]` or `[roles]`.
fn tables<'t, 'i>(
    src: &Source<'_>,
    key: &str,
    value: &'t Spanned<DeValue<'i>>,
    line: usize,
) -> Result<Vec<Named<'t, 'i>>> {
    let DeValue::Table(table) = value.get_ref() else {
        return Err(src.error(
            line,
            format!("{key}: expected a table of tables ([{key}.NAME])"),
        ));
    };
    table
        .iter()
        .map(|(name, v)| {
            let line = src.line(name.span());
            match v.get_ref() {
                DeValue::Table(t) => Ok((name.get_ref().to_string(), t, line)),
                other => Err(src.error(
                    line,
                    format!(
                        "{key}.{}: expected a table, found {}",
                        bare_or_quoted(name.get_ref()),
                        other.type_str()
                    ),
                )),
            }
        })
        .collect()
}

fn string(
    src: &Source<'_>,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    line: usize,
) -> Result<String> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.to_string()),
        other => Err(src.error(
            line,
            format!("{key}: expected a string, found {}", other.type_str()),
        )),
    }
}

fn key_place(
    src: &Source<'_>,
    place: &mut KeyPlace,
    key: &str,
    value: &Spanned<DeValue<'_>>,
    line: usize,
) -> Result<()> {
    let text = string(src, key, value, line)?;
    if key == "api_key_env" {
        // A name, not a key (and safe in the curl command `--dry-run` prints).
        let name = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        // The value is not repeated: it may be the key, written in the wrong place.
        if !name {
            return Err(src.error(
                line,
                format!(
                    "{key}: expected the name of an environment variable (letters, digits \
                     and _, such as DASHSCOPE_API_KEY_CN), not the key itself"
                ),
            ));
        }
        place.env = Some(text);
    } else {
        // DashScope keys start with `sk-`: that is a key, not a file name.
        if text.starts_with("sk-") {
            return Err(src.error(
                line,
                format!("{key}: expected the path of a file holding the key, not the key itself"),
            ));
        }
        place.file = Some(expand(&text, src.path, src.home));
    }
    Ok(())
}

/// `~/…` is in the home directory; a relative path is beside the config file.
fn expand(path: &str, config: &Path, home: Option<&Path>) -> PathBuf {
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), home) {
        return home.join(rest);
    }
    let path = Path::new(path);
    match config.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

/// Names that would put a key in the file.
fn is_key_name(key: &str) -> bool {
    ["api_key", "apikey", "dashscope_api_key", "key"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
}

const NO_KEY_HERE: &str = "a key is never written in the config file (it is shared, backed up \
and shown more often than a secret should be); name the variable that holds it with \
api_key_env = \"VAR\", or a file readable only by you with api_key_file = \"PATH\"";

/// One `key = value` of the top level, a profile or a role.
fn entry(
    src: &Source<'_>,
    keys: &Keys,
    part: Part<'_>,
    k: &Spanned<std::borrow::Cow<'_, str>>,
    v: &Spanned<DeValue<'_>>,
    layer: &mut Layer,
    mut extra: impl FnMut(&str, &Spanned<DeValue<'_>>, usize) -> Result<()>,
) -> Result<()> {
    let key = k.get_ref().as_ref();
    let line = src.line(k.span());
    if is_key_name(key) {
        return Err(src.error(line, format!("{key}: {NO_KEY_HERE}")));
    }
    if part.extras().contains(&key) {
        return extra(key, v, line);
    }
    let Some((canonical, inverted)) = keys.canonical(key) else {
        let mut message = format!("unknown key `{key}` {}", part.label());
        let candidates = keys.names().chain(part.extras().iter().copied());
        if let Some(near) = nearest(key, candidates) {
            message.push_str(&format!("; did you mean `{near}`?"));
        }
        return Err(src.error(line, message));
    };
    let Some(spec) = keys.get(canonical) else {
        return Err(src.error(line, format!("unknown key `{key}`")));
    };
    let vline = src.line(v.span());
    let wrong = |want: &str, found: &DeValue<'_>| {
        src.error(
            vline,
            format!("{key}: expected {want}, found {}", found.type_str()),
        )
    };
    let check = |id: &str, value: &str| {
        keys.check(id, value)
            .map_err(|e| src.error(vline, format!("{key}: {e}")))
    };
    let setting = match spec.shape {
        Shape::Flag | Shape::Switch => match v.get_ref() {
            DeValue::Boolean(b) => Setting::Bool(*b != inverted),
            other => return Err(wrong("true or false", other)),
        },
        Shape::One => {
            let text =
                scalar(v.get_ref()).ok_or_else(|| wrong("a string or a number", v.get_ref()))?;
            check(canonical, &text)?;
            Setting::One(text)
        }
        Shape::Many => {
            let items = match v.get_ref() {
                DeValue::Array(items) => items.iter().map(|i| i.get_ref()).collect(),
                one => vec![one],
            };
            let mut values = Vec::new();
            for item in items {
                let text = scalar(item).ok_or_else(|| wrong("a list of strings", item))?;
                check(canonical, &text)?;
                values.push(text);
            }
            Setting::Many(values)
        }
        Shape::Table(sep) => {
            let DeValue::Table(table) = v.get_ref() else {
                return Err(wrong(&format!("a table ([{key}])"), v.get_ref()));
            };
            let mut entries = Vec::new();
            for (name, value) in table.iter() {
                let name_line = src.line(name.span());
                let name = name.get_ref().to_string();
                let arg = if canonical == "headers" {
                    if name.eq_ignore_ascii_case("authorization") {
                        return Err(src.error(name_line, format!("{key}.{name}: {NO_KEY_HERE}")));
                    }
                    let text = scalar(value.get_ref()).ok_or_else(|| {
                        src.error(
                            name_line,
                            format!(
                                "{key}.{name}: expected a string, found {}",
                                value.get_ref().type_str()
                            ),
                        )
                    })?;
                    format!("{name}{sep}{text}")
                } else {
                    format!("{name}{sep}{}", json(value.get_ref()))
                };
                check(canonical, &arg)?;
                entries.push(TableEntry {
                    name,
                    arg,
                    line: name_line,
                });
            }
            Setting::Table(entries)
        }
    };
    layer.insert(canonical.to_owned(), Entry { setting, line });
    Ok(())
}

/// A string, integer or float as the command line would spell it.
fn scalar(value: &DeValue<'_>) -> Option<String> {
    match value {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(f) => f.as_str().parse::<f64>().ok().map(|n| n.to_string()),
        _ => None,
    }
}

/// A TOML value as JSON, for `[params]` (`-o` parses its VALUE as JSON).
fn json(value: &DeValue<'_>) -> Json {
    match value {
        DeValue::String(s) => Json::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(i.to_string())),
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Json::String(f.as_str().to_owned()), Json::Number),
        DeValue::Boolean(b) => Json::Bool(*b),
        DeValue::Datetime(d) => Json::String(d.to_string()),
        DeValue::Array(items) => Json::Array(items.iter().map(|i| json(i.get_ref())).collect()),
        DeValue::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| (k.get_ref().to_string(), json(v.get_ref())))
                .collect(),
        ),
    }
}

/// The closest known name, when one is close enough to be what was meant.
fn nearest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(key, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
