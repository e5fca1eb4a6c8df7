use std::path::Path;

use super::*;
use crate::error::Exit;

fn opts() -> ItemsOptions {
    ItemsOptions::default()
}

fn items(text: &str, path: &str, o: &ItemsOptions) -> Result<Vec<Item>> {
    read(text.as_bytes(), Some(Path::new(path)), o)?.collect()
}

#[test]
fn json_lines_with_every_field_and_default_ids() {
    let text = "{\"id\":\"a\",\"prompt\":\"hi\",\"system\":\"s\",\"model\":\"m\",\"params\":{\"seed\":1}}\n\n{\"prompt\":\"two\"}\r\n{\"id\":7,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    let got = items(text, "in.jsonl", &opts()).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].id, "a");
    assert_eq!(got[0].system.as_deref(), Some("s"));
    assert_eq!(got[0].model.as_deref(), Some("m"));
    assert_eq!(got[0].params["seed"], 1);
    assert_eq!((got[1].id.as_str(), got[1].line), ("3", 3));
    assert_eq!(got[1].prompt.as_deref(), Some("two"));
    assert_eq!(got[2].id, "7");
    assert_eq!(got[2].messages.as_ref().map(Vec::len), Some(1));
}

#[test]
fn json_line_errors_name_the_line() {
    for (text, needle) in [
        ("{\"prompt\":\"a\"}\nnot json\n", "input line 2"),
        (
            "{\"prompt\":\"a\",\"promt\":1}\n",
            "unknown field \"promt\"",
        ),
        ("{\"id\":\"x\"}\n", "no \"prompt\""),
        ("[1]\n", "expected a JSON object"),
        ("{\"prompt\":3}\n", "\"prompt\" must be a string"),
    ] {
        let e = items(text, "x.jsonl", &opts()).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains(needle), "{text}: {}", e.message);
    }
}

#[test]
fn json_lines_with_a_template_use_any_field() {
    let o = ItemsOptions {
        template: Some("Say {word} {{ok}} {n}".into()),
        ..opts()
    };
    let got = items("{\"id\":\"q\",\"word\":\"hi\",\"n\":2}\n", "x.jsonl", &o).unwrap();
    assert_eq!(got[0].prompt.as_deref(), Some("Say hi {ok} 2"));
    let e = items("{\"word\":\"hi\"}\n", "x.jsonl", &o).unwrap_err();
    assert!(
        e.message.contains("input line 1") && e.message.contains("\"n\""),
        "{}",
        e.message
    );
}

#[test]
fn csv_with_template_id_column_and_record_numbers() {
    let text = "name,text\nalice,\"one, two\"\nbob,\"multi\nline\"\n";
    let o = ItemsOptions {
        template: Some("Summarise: {text} ({name})".into()),
        ..opts()
    };
    let got = items(text, "in.CSV", &o).unwrap();
    assert_eq!(got[0].id, "1");
    assert_eq!(
        got[0].prompt.as_deref(),
        Some("Summarise: one, two (alice)")
    );
    assert_eq!((got[1].id.as_str(), got[1].line), ("2", 3));
    let o = ItemsOptions {
        id_column: Some("name".into()),
        ..o
    };
    let got = items(text, "in.csv", &o).unwrap();
    assert_eq!(got[1].id, "bob");
}

#[test]
fn csv_prompt_column_or_single_column() {
    let got = items("id,prompt\nx,hello\n", "a.csv", &opts()).unwrap();
    assert_eq!(
        (got[0].id.as_str(), got[0].prompt.as_deref()),
        ("x", Some("hello"))
    );
    let got = items("question\nwhy?\n", "a.csv", &opts()).unwrap();
    assert_eq!(got[0].prompt.as_deref(), Some("why?"));
    let e = items("a,b\n1,2\n", "a.csv", &opts()).unwrap_err();
    assert!(e.message.contains("--template"), "{}", e.message);
}

#[test]
fn csv_errors_before_any_item() {
    let o = ItemsOptions {
        template: Some("{nope}".into()),
        ..opts()
    };
    let e = read("a,b\n1,2\n".as_bytes(), Some(Path::new("a.csv")), &o)
        .err()
        .unwrap();
    assert_eq!(e.exit, Exit::Usage);
    assert!(
        e.message.contains("{nope}") && e.message.contains("a, b"),
        "{}",
        e.message
    );
    let e = items(
        "a,b\n1,2,3\n",
        "a.csv",
        &ItemsOptions {
            template: Some("{a}".into()),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(e.message.contains("input line 2"), "{}", e.message);
    let o = ItemsOptions {
        id_column: Some("zz".into()),
        ..opts()
    };
    assert!(read("a\n1\n".as_bytes(), Some(Path::new("a.csv")), &o).is_err());
}

#[test]
fn lines_skip_blanks_and_fill_the_line_placeholder() {
    let o = ItemsOptions {
        lines: true,
        template: Some("Translate: {line}".into()),
        ..opts()
    };
    let got = items("one\n\n  \ntwo\n", "-", &o).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[1].id.as_str(), got[1].prompt.as_deref()),
        ("4", Some("Translate: two"))
    );
    let o = ItemsOptions {
        lines: true,
        template: Some("{text}".into()),
        ..opts()
    };
    assert!(read("x\n".as_bytes(), None, &o).is_err());
    assert_eq!(Format::of_path(Some(Path::new("p.txt"))), Format::Lines);
    assert_eq!(Format::of_path(None), Format::Jsonl);
}

#[test]
fn duplicates_name_the_id_and_both_lines() {
    let it = read("{\"id\":\"a\",\"prompt\":\"x\"}\n{\"id\":\"b\",\"prompt\":\"x\"}\n{\"id\":\"a\",\"prompt\":\"y\"}\n".as_bytes(), None, &opts()).unwrap();
    let e = check_unique(it).unwrap_err();
    assert_eq!(e.exit, Exit::Usage);
    assert!(
        e.message.contains("\"a\"") && e.message.contains("lines 1 and 3"),
        "{}",
        e.message
    );
    let it = read(
        "a\nb\n".as_bytes(),
        None,
        &ItemsOptions {
            lines: true,
            ..opts()
        },
    )
    .unwrap();
    assert_eq!(check_unique(it).unwrap(), 2);
}

use crate::config::testing::NoEnv;

#[test]
fn config_for_applies_the_item_over_the_run() {
    let cli = crate::cli::try_parse_from([
        "qstream",
        "-s",
        "run system",
        "-o",
        "seed=1",
        "-m",
        "qwen-plus",
        "placeholder",
    ])
    .unwrap();
    let base = Config::from_cli(&cli, &NoEnv, crate::config::Stdin::default()).unwrap();
    let item = Item {
        id: "1".into(),
        line: 1,
        prompt: Some("hello".into()),
        model: Some("qwen-max".into()),
        params: serde_json::json!({"temperature": 0.5})
            .as_object()
            .cloned()
            .unwrap(),
        ..Item::default()
    };
    let c = config_for(&base, &item).unwrap();
    assert_eq!(c.model, "qwen-max");
    assert_eq!(c.params["seed"], 1);
    assert_eq!(c.params["temperature"], 0.5);
    assert_eq!(
        c.messages,
        vec![
            serde_json::json!({"role": "system", "content": "run system"}),
            serde_json::json!({"role": "user", "content": "hello"}),
        ]
    );
    assert_eq!(c.prompt_index, Some(1));
    let item = Item {
        system: Some("own".into()),
        messages: Some(vec![
            serde_json::json!({"role": "user", "content": "a"}),
            serde_json::json!({"role": "assistant", "content": "b"}),
        ]),
        ..item
    };
    let c = config_for(&base, &item).unwrap();
    assert_eq!(c.messages.len(), 4);
    assert_eq!(c.messages[0]["content"], "own");
    assert_eq!(c.prompt_index, Some(3));
}
