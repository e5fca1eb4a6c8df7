//! Precedence (contract): flags > environment > role > profile > the file's top level >
//! built-in defaults.
//!
//! The file's layers are merged here, key by key; what wins becomes command-line arguments
//! placed before the user's own, for every option the user did not give on the command line
//! or through its environment variable. clap then parses the whole line once, so the file
//! can say nothing the command line could not, and `Config` never learns where a value came
//! from. `[params]` and `[headers]` merge entry by entry: a later `-o n=…` still wins over the
//! file's `n`.

use std::collections::BTreeMap;
use std::fmt;

use super::file::{ConfigFile, Keys, Layer, Setting, Shape, TableEntry};

/// Where a setting came from, as `config show` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(String),
    Role {
        name: String,
        file: String,
        line: usize,
    },
    Profile {
        name: String,
        file: String,
        line: usize,
    },
    File {
        file: String,
        line: usize,
    },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::Role { name, file, line } => write!(f, "role {name} ({file}:{line})"),
            Origin::Profile { name, file, line } => write!(f, "profile {name} ({file}:{line})"),
            Origin::File { file, line } => write!(f, "{file}:{line}"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// The file's layers merged: each key's winning value, and each table entry's.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub values: BTreeMap<String, (Setting, Origin)>,
    /// `params` / `headers` → entry name → the entry that won.
    pub entries: BTreeMap<String, BTreeMap<String, (TableEntry, Origin)>>,
}

/// Top level, then the profile, then the role: each later layer wins.
pub fn merge(file: &ConfigFile, profile: Option<&str>, role: Option<&str>) -> Merged {
    let name = file.name();
    let mut layers: Vec<(&Layer, Place<'_>)> = vec![(&file.top, Place::Top)];
    if let Some((n, p)) = profile.and_then(|n| file.profiles.get_key_value(n)) {
        layers.push((&p.layer, Place::Profile(n)));
    }
    if let Some((n, r)) = role.and_then(|n| file.roles.get_key_value(n)) {
        layers.push((&r.layer, Place::Role(n)));
    }
    let mut merged = Merged::default();
    for (layer, place) in layers {
        let origin = |line: usize| place.origin(&name, line);
        for (key, entry) in layer {
            match &entry.setting {
                Setting::Table(entries) => {
                    let table = merged.entries.entry(key.clone()).or_default();
                    for e in entries {
                        table.insert(e.name.clone(), (e.clone(), origin(e.line)));
                    }
                }
                other => {
                    merged
                        .values
                        .insert(key.clone(), (other.clone(), origin(entry.line)));
                }
            }
        }
    }
    merged
}

#[derive(Clone, Copy)]
enum Place<'a> {
    Top,
    Profile(&'a str),
    Role(&'a str),
}

impl Place<'_> {
    fn origin(self, file: &str, line: usize) -> Origin {
        let file = file.to_owned();
        match self {
            Place::Top => Origin::File { file, line },
            Place::Profile(name) => Origin::Profile {
                name: name.to_owned(),
                file,
                line,
            },
            Place::Role(name) => Origin::Role {
                name: name.to_owned(),
                file,
                line,
            },
        }
    }
}

/// The arguments that carry the merged values, to go before the user's own. `given` says
/// which keys the command line or the environment already set: those are left to clap.
/// Table entries are always passed: the user's own `-o`/`-H` come later and win per name.
pub fn arguments(merged: &Merged, keys: &Keys, given: impl Fn(&str) -> bool) -> Vec<String> {
    let mut args = Vec::new();
    for (key, (setting, _)) in &merged.values {
        let Some(spec) = keys.get(key) else { continue };
        if given(key) {
            continue;
        }
        match setting {
            Setting::Bool(true) => args.push(format!("--{}", spec.long)),
            Setting::Bool(false) => {
                if let (Shape::Switch, Some(no)) = (spec.shape, &spec.negation) {
                    args.push(format!("--{no}"));
                }
            }
            // `--long=value`: a value that starts with `-` stays a value.
            Setting::One(v) => args.push(format!("--{}={v}", spec.long)),
            Setting::Many(vs) => args.extend(vs.iter().map(|v| format!("--{}={v}", spec.long))),
            Setting::Table(_) => {}
        }
    }
    for (key, entries) in &merged.entries {
        let Some(spec) = keys.get(key) else { continue };
        args.extend(
            entries
                .values()
                .map(|(e, _)| format!("--{}={}", spec.long, e.arg)),
        );
    }
    args
}
