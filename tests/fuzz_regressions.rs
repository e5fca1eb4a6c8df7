//! Inputs found by the fuzz targets in `fuzz/` (see fuzz/README.md), kept as plain tests so
//! that they run in CI without cargo-fuzz: the crashes and broken invariants the fuzzers
//! found (fixed since), two decoder bugs found while writing the targets, and a few small
//! corpus inputs that reach a lot of code, with the results they must keep giving.

use qstream::cli::Protocol;
use qstream::event::{Event, Usage};
use qstream::protocol::Decoder;
use qstream::sse::{LineTooLong, SseDecoder, SseEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Sse {
    id: String,
    event: String,
    data: String,
    status: Option<u16>,
}

fn sse(id: &str, event: &str, data: &str, status: Option<u16>) -> Sse {
    Sse {
        id: id.into(),
        event: event.into(),
        data: data.into(),
        status,
    }
}

/// Feed `reads` to a decoder with cap `max`: the events up to the first error, and whether
/// there was one.
fn feed<'a>(max: usize, reads: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Sse>, bool) {
    let mut dec = SseDecoder::new(max);
    let mut events = Vec::new();
    for read in reads {
        let r = dec.feed::<LineTooLong>(read, &mut |e: SseEvent<'_>| {
            events.push(sse(e.id, e.event, e.data, e.status));
            Ok(())
        });
        if r.is_err() {
            return (events, true);
        }
    }
    (events, false)
}

/// The stream fed whole, one byte per read, and one byte per read with an empty read after
/// each: all three must agree, and that is the result.
fn feed_every_way(max: usize, stream: &[u8]) -> (Vec<Sse>, bool) {
    let whole = feed(max, [stream]);
    let bytewise = feed(max, stream.chunks(1));
    let with_empty = feed(max, stream.chunks(1).flat_map(|c| [c, &c[..0]]));
    assert_eq!(bytewise, whole, "one byte per read vs whole");
    assert_eq!(with_empty, whole, "with empty reads vs whole");
    whole
}

// --- Findings of the `sse` target (fixed in 7b98afd). ---

/// `feed(b"")` right after a read that ended in CR forgot the CR, so the LF that began the
/// next read made a blank line: one event came out as two. Fuzz input (a seed from
/// sse_cases.json, `mixed_line_endings`) fed one byte per read with an empty read after each.
#[test]
fn sse_empty_read_keeps_a_pending_cr() {
    let stream = b"data: a\r\ndata: b\rdata: c\n\r\n";
    let (events, failed) = feed_every_way(qstream::sse::DEFAULT_MAX_LINE, stream);
    assert!(!failed);
    assert_eq!(events, [sse("", "message", "a\nb\nc", None)]);
    // The smallest form of it.
    let split = feed(1024, [&b"data: a\r"[..], b"", b"\ndata: b\n\n"]);
    assert_eq!(split, (vec![sse("", "message", "a\nb", None)], false));
}

/// The data cap was checked against the raw bytes, but each invalid byte becomes a
/// three-byte U+FFFD: a 31-byte `data` line made 65 bytes of data under a 64-byte cap.
/// Fuzz input (cap 64, reads of 1, 129 and 1 bytes, then the rest).
#[test]
fn sse_data_stays_within_the_cap_after_replacement() {
    let stream = b"\xef\xbb\xbfdata: h\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffello\n\n";
    let reads = [&stream[..1], &stream[1..], &stream[..0]];
    for (events, _) in [
        feed(64, [&stream[..]]),
        feed(64, stream.chunks(1)),
        feed(64, reads),
    ] {
        for e in &events {
            assert!(e.data.len() <= 64, "{} bytes of data: {e:?}", e.data.len());
        }
    }
    let (events, failed) = feed_every_way(64, stream);
    assert!(
        failed,
        "65 bytes of text must not pass a 64-byte cap: {events:?}"
    );
    assert!(events.is_empty());
}

/// A line longer than the cap was refused when it straddled two reads but accepted when it
/// arrived whole. Fuzz input: cap 64, a 77-byte line of no known field.
#[test]
fn sse_line_cap_does_not_depend_on_the_reads() {
    let mut stream = vec![0u8; 4];
    stream.extend_from_slice(&[0xC5; 71]);
    stream.extend_from_slice(b"\x00\x00\nt$\x97\x88d event\n\n");
    let (events, failed) = feed_every_way(64, &stream);
    assert!(failed, "a 77-byte line must not pass a 64-byte cap");
    assert!(events.is_empty());
    // A line of exactly the cap is fine, in any reads.
    let line = [b"data: ".as_slice(), &[b'x'; 58], b"\n\n"].concat();
    let (events, failed) = feed_every_way(64, &line);
    assert!(!failed);
    assert_eq!(events[0].data.len(), 58);
}

// --- Found while writing the `dashscope` target (by reading the code it drives). ---

fn dashscope(incremental: bool, datas: &[&str]) -> (Vec<String>, Result<(), String>, Decoder) {
    let mut decoder = Decoder::new(Some(Protocol::Dashscope), incremental);
    let mut out = Vec::new();
    let mut emit = |e: Event<'_>| {
        out.push(format!("{e:?}"));
        Ok(())
    };
    for data in datas {
        let ev = SseEvent {
            id: "",
            event: "result",
            data,
            status: Some(200),
            typed: true,
        };
        if let Err(e) = decoder.event(&ev, &mut emit) {
            return (out, Err(e.to_string()), decoder);
        }
    }
    let r = decoder.finish(&mut emit).map_err(|e| e.to_string());
    (out, r, decoder)
}

/// `total_tokens` absent: the total is `input_tokens + output_tokens`, which overflowed u64
/// (a panic in debug builds, a wrong total in release) on large counts from the server.
#[test]
fn dashscope_usage_without_total_does_not_overflow() {
    let data = r#"{"output":{"choices":[{"message":{"content":"x"},"finish_reason":"stop"}]},"usage":{"input_tokens":18446744073709551615,"output_tokens":1}}"#;
    let (_, r, decoder) = dashscope(true, &[data]);
    // Whatever the decoder makes of it (a saturated total, or a malformed-stream error), it
    // must not panic, and a total it reports is not smaller than its parts.
    if r.is_ok() {
        let u: Usage = decoder.usage().expect("usage");
        assert!(u.total_tokens >= u.input_tokens && u.total_tokens >= u.output_tokens);
    }
}

/// With `incremental_output: false` the decoder keeps a per-choice (and per-tool-call) table
/// indexed by the index the server sends: `"index": 4294967295` made it allocate 2^32
/// entries (tens of GiB) and abort. Run in a child process under a 4 GiB address-space limit
/// so that, until fixed, the failure is quick and harmless to the machine.
#[cfg(unix)]
#[test]
fn dashscope_cumulative_huge_index_does_not_allocate_per_index() {
    const CHILD: &str = "QSTREAM_FUZZ_REGRESSION_CHILD";
    let datas = [
        r#"{"output":{"choices":[{"index":4294967295,"message":{"content":"x"},"finish_reason":"null"}]}}"#,
        r#"{"output":{"choices":[{"index":0,"message":{"content":"","tool_calls":[{"index":4294967295,"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}]}}"#,
    ];
    if std::env::var_os(CHILD).is_some() {
        let (events, r, _) = dashscope(false, &datas[..1]);
        if let (Ok(()), Some(first)) = (r, events.first()) {
            assert!(first.contains("4294967295"), "{events:?}");
        }
        let _ = dashscope(false, &datas[1..]);
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\""])
        .arg(exe)
        .args([
            "--exact",
            "dashscope_cumulative_huge_index_does_not_allocate_per_index",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    assert!(
        out.status.success(),
        "child failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- Corpus inputs that reach a lot of the decoders (the most coverage among the small
// ones after `cargo fuzz cmin`), with the results they give. ---

/// A `sse` target input: `flags, cap, n, n read lengths, stream`. The stream must decode the
/// same whole, a byte at a time, with empty reads, and in the input's own reads.
fn sse_corpus(input: &[u8]) -> (Vec<Sse>, bool) {
    let n = usize::from(input[2] % 16);
    let (lens, stream) = input[3..].split_at(n);
    let mut reads = Vec::new();
    let mut rest = stream;
    for &len in lens {
        let (head, tail) = rest.split_at(usize::from(len).min(rest.len()));
        reads.push(head);
        rest = tail;
    }
    reads.push(rest);
    let max = qstream::sse::DEFAULT_MAX_LINE;
    let result = feed_every_way(max, stream);
    assert_eq!(feed(max, reads), result, "the input's own reads");
    result
}

/// Fields with NULs and quotes, an event type that persists to the next dispatch only, a
/// `:HTTP_STATUS/` comment whose code ends in a control character (ignored: it is no
/// number), CRLF and lone CR line ends, a line of invalid UTF-8 left unterminated.
#[test]
fn corpus_sse_ids_types_and_a_status_that_is_not_a_number() {
    let input = b"\x00?: \x00\x7fge\":{\"to\r\n\r\nid:361\r\nevent:rs\":3 \ndata:76,\"retry:up\x00s\x00\x00\x00-a0f1-d6c309ec one58b1\"}\r\n\r\nid:362\r\nevent:result\r\n:HTTP_STATUS/200\x1d\ndata:{\"\x006tput\":{e58b1\"}\r\n\r\nid:362\r\nevees\":\r{\"oc47-\nb0meata:-Baua\xbaen";
    let (events, failed) = sse_corpus(input);
    assert!(!failed);
    assert_eq!(
        events,
        [
            sse(
                "361",
                "rs\":3 ",
                "76,\"retry:up\0s\0\0\0-a0f1-d6c309ec one58b1\"}",
                None
            ),
            sse("362", "result", "{\"\u{0}6tput\":{e58b1\"}", None),
        ]
    );
}

/// A BOM inside a field name (`ev\u{FEFF}` is no field), an `id` line with no colon, a
/// status comment with a lone CR, and an unterminated last line.
#[test]
fn corpus_sse_bom_in_a_field_name_and_a_lone_cr() {
    let input = b"\x00\x7ff:1-\x1d62\r\n\r\ni8\r\nev\xef\xbb\xbf:r.lt\r\n:AT\ndata:{\"\r\n\r\nidt\r\n: t\n\x13rs`lt\r\n:HTTP_STATUS/3\rre";
    let (events, failed) = sse_corpus(input);
    assert!(!failed);
    assert_eq!(events, [sse("", "message", "{\"", None)]);
}

/// Feed `(event, typed, status, data)` to a protocol decoder, stop at the first error (as
/// `qstream::stream` does), else finish.
fn protocol_corpus(
    protocol: Protocol,
    incremental: bool,
    inputs: &[(&str, bool, Option<u16>, &[u8])],
) -> (
    Vec<Event<'static>>,
    Result<(), qstream::error::Error>,
    Decoder,
) {
    let mut decoder = Decoder::new(Some(protocol), incremental);
    let mut out = Vec::new();
    for (event, typed, status, data) in inputs {
        let data = String::from_utf8_lossy(data);
        let ev = SseEvent {
            id: "",
            event,
            data: &data,
            status: *status,
            typed: *typed,
        };
        if let Err(e) = decoder.event(&ev, &mut |e| {
            out.push(e.into_owned());
            Ok(())
        }) {
            return (out, Err(e), decoder);
        }
    }
    let r = decoder.finish(&mut |e| {
        out.push(e.into_owned());
        Ok(())
    });
    (out, r, decoder)
}

/// An unknown delta key holding a tool-call-like list (ignored), then a tool call whose
/// `function` is a broken list: a malformed-stream error naming the data, no events.
#[test]
fn corpus_compatible_unknown_delta_key_then_broken_tool_call() {
    let (events, r, _) = protocol_corpus(
        Protocol::Compatible,
        true,
        &[
            ("message", false, None, b"{\"choices\":[{\"delta\":{\"\":[{\"i\x92on\":{\"name\":\"get_weather\",\"argumens\":\"\"}}]}}]}"),
            ("message", false, None, b"{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"\",\"function\":[\"{i1\",\"1type\":\"function\",\"funct\x92o\":{\"a}"),
        ],
    );
    assert!(events.is_empty(), "{events:?}");
    let e = r.expect_err("malformed");
    assert_eq!(e.exit, qstream::error::Exit::Network);
    assert!(e.message.starts_with("malformed stream"), "{}", e.message);
}

/// Cumulative mode: reasoning of invalid UTF-8 (replaced), a usage of unknown keys (all
/// zero), then an `event:error` whose data is not JSON: a service error that keeps the
/// request id and the usage seen so far.
#[test]
fn corpus_dashscope_cumulative_replaced_text_then_error_event() {
    let (events, r, decoder) = protocol_corpus(
        Protocol::Dashscope,
        false,
        &[
            ("result", true, Some(200), b"{\"output\":{\"choices\":[{\"message\":{\"content\":\"\",\"reasoning_content\":\"\xb0\xd1\x82\xd0\xfb\"},\"fioish_reason\":\"null\"}]},\"usage\":{\"s\":16,\"output_tot_tokenR\":14},\"request_id\":\"d6b0e9c3a7_________1\"}"),
            ("error", true, None, b"AAAA\x00\x04"),
        ],
    );
    assert_eq!(
        events,
        [Event::Reasoning {
            choice: 0,
            text: "\u{FFFD}т\u{FFFD}\u{FFFD}".into()
        }]
    );
    let e = r.expect_err("error event");
    let api = e.api.as_ref().expect("a service error");
    assert_eq!(api.request_id.as_deref(), Some("d6b0e9c3a7_________1"));
    assert_eq!(api.message, "AAAA\u{0}\u{4}");
    assert_eq!(e.exit, qstream::error::Exit::Server);
    assert_eq!(decoder.usage(), Some(Usage::default()));
}

/// A tool call whose function has no known key (the id alone is news), then a typed event
/// with an out-of-range status (29806 ≥ 400) and data that is not JSON: a service error.
#[test]
fn corpus_dashscope_tool_call_then_odd_status() {
    let (events, r, _) = protocol_corpus(
        Protocol::Dashscope,
        true,
        &[
            ("result", true, Some(200), b"{\"output\":{\"choices\":[{\"message\":{\"content\":\"\",\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"nam-1e\":\"f\\\":\"}}]},\"finiason\":\"null\"}]}}"),
            ("message", true, Some(29806), b"ent\":\"\",\"to\"function\":{}}"),
        ],
    );
    assert_eq!(
        events,
        [Event::ToolCall {
            choice: 0,
            index: 0,
            id: Some("call_a".into()),
            name: None,
            arguments: "".into()
        }]
    );
    let e = r.expect_err("status 29806");
    let api = e.api.as_ref().expect("a service error");
    assert_eq!(api.status, Some(29806));
    assert_eq!(e.exit, qstream::error::Exit::Server);
}

/// Found by the `compatible` target (artifact: the compatible_basic.sse fixture with the last
/// chunk's `"finish_reason": null` turned into the string `"null"`): the compatible decoder
/// takes the string as a finish, emits `{"type":"finish","reason":"null"}` and counts the
/// stream as finished, so a stream cut right after it ends with exit 0 instead of "stream
/// ended early". DashScope's native protocol uses that string for "not finished", and a
/// gateway may pass it on: the compatible decoder now reads it the same way (6942682).
#[test]
fn compatible_string_null_is_not_a_finish() {
    let (events, r, _) = protocol_corpus(
        Protocol::Compatible,
        true,
        &[(
            "message",
            false,
            None,
            br#"{"choices":[{"delta":{"content":"a"},"index":0,"finish_reason":"null"}]}"#,
        )],
    );
    assert_eq!(
        events,
        [Event::Content {
            choice: 0,
            text: "a".into()
        }]
    );
    let e = r.expect_err("cut before any real finish_reason or [DONE]");
    assert_eq!(e.exit, qstream::error::Exit::Network);
}
