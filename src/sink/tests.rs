use super::json::{json_string, JsonEvent};
use super::*;
use crate::event::ApiError;
use std::borrow::Cow;

#[test]
fn json_string_is_byte_for_byte_serde_json() {
    let mut samples: Vec<String> = (0u8..=0x7f).map(|c| format!("a{}b", c as char)).collect();
    samples.extend(
        [
            "",
            "plain text of some length, longer than a word",
            "\"quoted\" \\ back\\slash\n\r\t\u{8}\u{c}\u{1f}\u{7f}",
            "中文, кириллица, emoji 😀 and \u{2028}\u{2029}",
            "\n\n\n\"\"",
        ]
        .map(String::from),
    );
    for s in samples {
        let mut ours = Vec::new();
        json_string(&mut ours, &s);
        let theirs = serde_json::to_vec(&s).expect("a string serializes");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{s:?}"
        );
    }
    // And the whole line, against the serde path it replaces.
    for (event, via_serde) in [
        (
            content("x\"y"),
            JsonEvent::Content {
                choice: 0,
                text: "x\"y",
            },
        ),
        (
            reasoning("r\n"),
            JsonEvent::Reasoning {
                choice: 0,
                text: "r\n",
            },
        ),
    ] {
        let mut sink = JsonSink::new(Vec::new());
        sink.event(event).expect("written");
        sink.flush().expect("flushed");
        let want = serde_json::to_string(&via_serde).expect("serializes") + "\n";
        assert_eq!(String::from_utf8_lossy(&sink.into_inner()), want);
    }
}

fn content(t: &str) -> Event<'_> {
    Event::Content {
        choice: 0,
        text: Cow::Borrowed(t),
    }
}

fn reasoning(t: &str) -> Event<'_> {
    Event::Reasoning {
        choice: 0,
        text: Cow::Borrowed(t),
    }
}

fn style(quiet: bool, terminal: bool) -> TextStyle {
    TextStyle {
        quiet,
        reasoning: Reasoning::Stderr,
        color: false,
        terminal,
        out_tty: false,
        err_tty: false,
    }
}

#[test]
fn terminal_style_headers_dim_reasoning() {
    let mut s = TextSink::new(
        Vec::new(),
        Vec::new(),
        TextStyle {
            quiet: false,
            reasoning: Reasoning::Stderr,
            color: true,
            terminal: true,
            out_tty: false,
            err_tty: false,
        },
    );
    s.event(reasoning("hm")).expect("ok");
    s.event(content("yes")).expect("ok");
    s.finish().expect("ok");
    let (out, err) = s.into_inner();
    assert_eq!(out, b"yes\n");
    assert_eq!(
        String::from_utf8_lossy(&err),
        "\x1b[1mthinking\x1b[0m\n\x1b[2mhm\x1b[0m\n\x1b[1manswer\x1b[0m\n"
    );
}

#[test]
fn reasoning_to_stdout_or_hidden() {
    let mut st = style(false, false);
    st.reasoning = Reasoning::Stdout;
    let mut s = TextSink::new(Vec::new(), Vec::new(), st);
    s.event(reasoning("a")).expect("ok");
    s.event(reasoning("b")).expect("ok");
    s.event(content("c")).expect("ok");
    s.finish().expect("ok");
    let (out, err) = s.into_inner();
    assert_eq!(String::from_utf8_lossy(&out), "<think>\nab\n</think>\n\nc");
    assert!(err.is_empty());
    st.reasoning = Reasoning::Hide;
    let mut s = TextSink::new(Vec::new(), Vec::new(), st);
    s.event(reasoning("a")).expect("ok");
    s.event(content("c")).expect("ok");
    s.finish().expect("ok");
    let (out, err) = s.into_inner();
    assert_eq!((out.as_slice(), err.as_slice()), (&b"c"[..], &b""[..]));
}

#[test]
fn stats_line_and_json() {
    let st = Stats {
        ttft_s: Some(0.25),
        total_s: 1.5,
        deltas: 3,
        output_tokens: Some(10),
        output_tokens_per_s: Some(8.0),
        request_id: Some("r".into()),
    };
    assert_eq!(
        st.line(),
        "stats: ttft 0.250 s, total 1.500 s, 3 deltas, 8.0 tokens/s, request_id r\n"
    );
    let mut j = JsonSink::new(Vec::new());
    j.stats(&st).expect("ok");
    assert_eq!(
        String::from_utf8_lossy(&j.into_inner()),
        "{\"type\":\"stats\",\"ttft_s\":0.25,\"total_s\":1.5,\"deltas\":3,\"output_tokens\":10,\"output_tokens_per_s\":8.0,\"request_id\":\"r\"}\n"
    );
}

fn usage() -> Usage {
    Usage {
        input_tokens: 1,
        output_tokens: 2,
        total_tokens: 3,
        ..Default::default()
    }
}

#[test]
fn text_sink_separates_reasoning_and_reports_usage() {
    let mut s = TextSink::new(Vec::new(), Vec::new(), style(false, false));
    s.event(reasoning("think")).expect("ok");
    s.event(content("ans")).expect("ok");
    s.flush().expect("ok");
    s.event(content("wer")).expect("ok");
    s.event(Event::Usage(usage())).expect("ok");
    s.finish().expect("ok");
    let (out, err) = s.into_inner();
    assert_eq!(out, b"answer");
    assert_eq!(
        String::from_utf8_lossy(&err),
        "think\nusage: input 1, output 2, total 3 tokens\n"
    );
}

#[test]
fn text_sink_quiet_prints_no_reasoning_or_usage() {
    let mut s = TextSink::new(Vec::new(), Vec::new(), style(true, true));
    s.event(reasoning("think")).expect("ok");
    s.event(content("a")).expect("ok");
    s.event(Event::Usage(usage())).expect("ok");
    s.finish().expect("ok");
    let (out, err) = s.into_inner();
    assert_eq!(out, b"a\n");
    assert!(err.is_empty());
}

#[test]
fn json_sink_lines() {
    let mut s = JsonSink::new(Vec::new());
    s.event(content("a\"b")).expect("ok");
    s.event(Event::Finish {
        choice: 1,
        reason: Cow::Borrowed("stop"),
    })
    .expect("ok");
    s.event(Event::Usage(usage())).expect("ok");
    s.finish().expect("ok");
    assert_eq!(
        String::from_utf8_lossy(&s.into_inner()),
        "{\"type\":\"content\",\"text\":\"a\\\"b\"}\n\
         {\"type\":\"finish\",\"choice\":1,\"reason\":\"stop\"}\n\
         {\"type\":\"usage\",\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}\n"
    );
}

#[test]
fn json_sink_error_then_usage() {
    let mut s = JsonSink::new(Vec::new());
    let err = Error::api(ApiError {
        status: Some(429),
        code: Some("Throttling".into()),
        message: "slow down".into(),
        request_id: Some("r".into()),
    });
    s.fail(&err, Some(usage())).expect("ok");
    assert_eq!(
        String::from_utf8_lossy(&s.into_inner()),
        "{\"type\":\"error\",\"status\":429,\"code\":\"Throttling\",\"message\":\"slow down\",\"request_id\":\"r\"}\n\
         {\"type\":\"usage\",\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}\n"
    );
}

#[test]
fn tool_calls_assemble_by_index() {
    let mut t = ToolCalls::default();
    let frag =
        |index, id: Option<&'static str>, name: Option<&'static str>, args| Event::ToolCall {
            choice: 0,
            index,
            id: id.map(Cow::Borrowed),
            name: name.map(Cow::Borrowed),
            arguments: Cow::Borrowed(args),
        };
    t.add(&frag(1, Some("c2"), Some("g"), "{\"b"));
    t.add(&frag(0, Some("c1"), Some("f"), "{\"a\":"));
    t.add(&frag(0, Some("ignored"), None, "1}"));
    t.add(&frag(1, None, Some("ignored"), "\":2}"));
    let calls = t.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0].id.as_str(),
            calls[0].name.as_str(),
            calls[0].arguments.as_str()
        ),
        ("c1", "f", "{\"a\":1}")
    );
    assert_eq!(
        (
            calls[1].id.as_str(),
            calls[1].name.as_str(),
            calls[1].arguments.as_str()
        ),
        ("c2", "g", "{\"b\":2}")
    );
}
