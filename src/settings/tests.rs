use std::path::Path;

use clap::{value_parser, Arg};

use super::file::{self, Keys, Setting, Shape};
use super::*;

fn keys() -> Keys {
    Keys::of(crate::cli::command())
}

fn parse(text: &str) -> Result<ConfigFile> {
    file::parse(text, Path::new("/c/config.toml"), &keys(), None)
}

#[test]
fn every_long_option_is_a_key_named_after_it() {
    let keys = keys();
    let cmd = crate::cli::command();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else { continue };
        // Not settings: the file's own options, and continuing a conversation (a run's choice).
        if [
            "help",
            "version",
            "config",
            "profile",
            "role",
            "continue_",
            "cid",
        ]
        .contains(&id)
        {
            assert!(keys.canonical(id).is_none(), "{id} must not be a key");
            continue;
        }
        assert!(keys.canonical(id).is_some(), "--{long} has no key");
        let tables = ["params", "headers"];
        assert!(
            id == long.replace('-', "_") || tables.contains(&id),
            "the key of --{long} is {id}, not its long name"
        );
    }
    assert_eq!(keys.get("thinking").map(|k| k.shape), Some(Shape::Switch));
    assert_eq!(keys.canonical("no_thinking"), Some(("thinking", true)));
    assert_eq!(
        keys.get("no_incremental").map(|k| k.shape),
        Some(Shape::Flag)
    );
    assert_eq!(keys.get("params").map(|k| k.shape), Some(Shape::Table("=")));
    assert_eq!(keys.get("stop").map(|k| k.shape), Some(Shape::Many));
}

#[test]
fn a_new_flag_has_its_key_without_a_line_here() {
    let cmd = crate::cli::command()
        .arg(
            Arg::new("future_budget")
                .long("future-budget")
                .value_parser(value_parser!(u32)),
        )
        .arg(
            Arg::new("future_switch")
                .long("future-switch")
                .action(clap::ArgAction::SetTrue),
        );
    let keys = Keys::of(cmd);
    let f = file::parse(
        "future_budget = 512\nfuture_switch = true\n",
        Path::new("c.toml"),
        &keys,
        None,
    )
    .expect("new keys");
    assert_eq!(
        f.top.get("future_budget").map(|e| &e.setting),
        Some(&Setting::One("512".into()))
    );
    assert_eq!(
        f.top.get("future_switch").map(|e| &e.setting),
        Some(&Setting::Bool(true))
    );
    let e = file::parse("future_budget = -1\n", Path::new("c.toml"), &keys, None).expect_err("u32");
    assert!(
        e.message
            .starts_with("c.toml:1: future_budget: invalid value '-1'"),
        "{}",
        e.message
    );
}

#[test]
fn values_take_the_command_line_spelling() {
    let f = parse("seed = 0x10\ntemperature = 5e-1\nstop = \"END\"\n").expect("ok");
    assert_eq!(f.top["seed"].setting, Setting::One("16".into()));
    assert_eq!(f.top["temperature"].setting, Setting::One("0.5".into()));
    assert_eq!(f.top["stop"].setting, Setting::Many(vec!["END".into()]));
    let f = parse("[params]\nuser = \"2\"\nn = 2\n").expect("ok");
    let Setting::Table(entries) = &f.top["params"].setting else {
        panic!("a table")
    };
    let args: Vec<_> = entries.iter().map(|e| e.arg.as_str()).collect();
    // A TOML string stays a JSON string for -o, a number a number.
    assert_eq!(args, ["n=2", "user=\"2\""]);
}

#[test]
fn layers_merge_and_become_arguments() {
    let f = parse(
        "model = \"top\"\nthinking = true\n[params]\nn = 1\nuser = \"a\"\n\
         [profiles.p]\nmodel = \"prof\"\n[roles.r]\nthinking = false\nparams = { n = 2 }\n",
    )
    .expect("ok");
    let m = layers::merge(&f, Some("p"), Some("r"));
    let args = layers::arguments(&m, &keys(), |_| false);
    assert_eq!(
        args,
        [
            "--model=prof",
            "--no-thinking",
            "--param=n=2",
            "--param=user=\"a\""
        ]
    );
    assert_eq!(m.values["model"].1.to_string(), "profile p (config.toml:7)");
    assert_eq!(
        m.entries["params"]["n"].1.to_string(),
        "role r (config.toml:10)"
    );
    // Keys the command line gave are left to it.
    let args = layers::arguments(&m, &keys(), |k| k == "model");
    assert!(!args.iter().any(|a| a.starts_with("--model")));
}

#[test]
fn unknown_keys_suggest_the_nearest() {
    let e = parse("[roles.r]\npromt = \"x\"\n").expect_err("unknown");
    assert_eq!(
        e.message,
        "/c/config.toml:2: unknown key `promt` in [roles.r]; did you mean `prompt`?"
    );
    let e = parse("[profiles.p]\napi_key_evn = \"X\"\n").expect_err("unknown");
    assert!(
        e.message.ends_with("did you mean `api_key_env`?"),
        "{}",
        e.message
    );
    let e = parse("[profiles.p]\nprompt = \"x\"\n").expect_err("not in a profile");
    assert!(e.message.contains("unknown key `prompt` in [profiles.p]"));
}

fn cli(args: &[&str]) -> Cli {
    crate::cli::try_parse_from(std::iter::once("qstream").chain(args.iter().copied()))
        .expect("args")
}

fn filled(template: &str, words: &[&str], stdin: Option<&str>) -> Option<String> {
    let mut c = cli(words);
    c.template = Some(template.to_owned());
    let (c, s) = fill_template(
        &c,
        Stdin {
            text: stdin.map(String::from),
        },
    );
    assert!(s.text.is_none());
    c.prompt.first().cloned()
}

#[test]
fn templates_take_the_words_and_stdin() {
    assert_eq!(
        filled("A {prompt} B {input} C", &["w1", "w2"], Some("in")).as_deref(),
        Some("A w1 w2 B in C")
    );
    // Unused parts follow after a blank line; braces that are no placeholder stay.
    assert_eq!(
        filled("Translate {x}:", &["bonjour"], Some("merci")).as_deref(),
        Some("Translate {x}:\n\nbonjour\n\nmerci")
    );
    // A placeholder in the words is not filled again.
    assert_eq!(
        filled("{prompt}/{input}", &["{input}"], Some("S")).as_deref(),
        Some("{input}/S")
    );
    // `-` means stdin only; nothing at all is no prompt.
    assert_eq!(
        filled("R: {input}", &["-"], Some("S")).as_deref(),
        Some("R: S")
    );
    assert_eq!(filled("R: {input}", &[], None), None);
    assert_eq!(
        filled("Tell a joke", &[], None).as_deref(),
        Some("Tell a joke")
    );
    // `--messages -` keeps stdin for the history.
    let mut c = cli(&["--messages", "-", "x"]);
    c.template = Some("T {prompt}".into());
    let (c, s) = fill_template(
        &c,
        Stdin {
            text: Some("[]".into()),
        },
    );
    assert_eq!(c.prompt, ["x"]);
    assert_eq!(s.text.as_deref(), Some("[]"));
}
