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
