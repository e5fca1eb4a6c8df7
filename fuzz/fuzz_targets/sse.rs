//! `SseDecoder` on arbitrary bytes, cut into reads at boundaries taken from the input.
//!
//! Layout: `flags, cap, n, len_1 … len_n, stream…` (missing bytes read as 0).
//! - flags bit 0 clear: the default cap. The events (and `retry`, `has_pending`) must be the
//!   same whether the stream is fed whole, one byte per read, in the chosen reads, or one
//!   byte per read with an empty read between every two; and they must match a
//!   straightforward reference reading of the WHATWG algorithm.
//! - flags bit 0 set: a small cap, `1 + cap` bytes. No event's data may be longer than the
//!   cap, and the ways of feeding must agree up to the first error.
//! - `n % 16` read lengths follow (empty reads are dropped); the last read is whatever is left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qstream::sse::{LineTooLong, SseDecoder, SseEvent, DEFAULT_MAX_LINE};
use qstream_fuzz::check;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev {
    id: String,
    event: String,
    data: String,
    status: Option<u16>,
    typed: bool,
}

impl From<SseEvent<'_>> for Ev {
    fn from(e: SseEvent<'_>) -> Ev {
        Ev {
            id: e.id.into(),
            event: e.event.into(),
            data: e.data.into(),
            status: e.status,
            typed: e.typed,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Ev>,
    error: bool,
    retry: Option<u64>,
    pending: bool,
}

fn run<'a>(max: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut dec = SseDecoder::new(max);
    let mut events = Vec::new();
    let mut error = false;
    for c in chunks {
        let r = dec.feed::<LineTooLong>(c, &mut |e| {
            events.push(Ev::from(e));
            Ok(())
        });
        if let Err(e) = r {
            assert_eq!(e, LineTooLong { limit: max });
            error = true;
            break;
        }
    }
    Outcome {
        events,
        error,
        retry: dec.retry(),
        pending: dec.has_pending(),
    }
}

/// The WHATWG "interpret an event stream" algorithm, as plainly as it reads, on the whole
/// stream (plus the `:HTTP_STATUS/NNN` comment qstream hands on).
fn reference(input: &[u8]) -> (Vec<Ev>, Option<u64>) {
    let s = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut lines = Vec::new();
    let (mut i, mut start) = (0, 0);
    while i < s.len() {
        match s[i] {
            b'\n' => {
                lines.push(&s[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&s[start..i]);
                i += 1;
                if s.get(i) == Some(&b'\n') {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    // An unterminated last line is never processed.
    let mut events = Vec::new();
    let mut data = String::new();
    let mut has_data = false;
    let mut event = String::new();
    let mut typed = false;
    let mut last_id = String::new();
    let mut status = None;
    let mut retry = None;
    for raw in lines {
        let line = String::from_utf8_lossy(raw);
        if line.is_empty() {
            if has_data {
                events.push(Ev {
                    id: last_id.clone(),
                    event: if event.is_empty() {
                        "message".into()
                    } else {
                        event.clone()
                    },
                    data: data.clone(),
                    status,
                    typed,
                });
            }
            data.clear();
            has_data = false;
            event.clear();
            typed = false;
            status = None;
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            if let Some(code) = comment.strip_prefix("HTTP_STATUS/") {
                status = code.trim().parse().ok();
            }
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*line, ""),
        };
        match name {
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            "event" => {
                event = value.into();
                typed = true;
            }
            "id" if !value.contains('\0') => last_id = value.into(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Too large for u64: ignored, the earlier value stays.
                if let Ok(ms) = value.parse() {
                    retry = Some(ms);
                }
            }
            _ => {}
        }
    }
    (events, retry)
}

fn well_formed(ev: &Ev) {
    check("event-shape", !ev.data.contains('\r'), || {
        format!("CR in data {ev:?}")
    });
    check(
        "event-shape",
        !ev.event.contains(['\r', '\n']) && !ev.event.is_empty(),
        || format!("bad type {ev:?}"),
    );
    check("event-shape", !ev.id.contains(['\r', '\n', '\0']), || {
        format!("bad id {ev:?}")
    });
    check("event-shape", ev.typed || ev.event == "message", || {
        format!("untyped event with a type {ev:?}")
    });
}

/// Events of a run that stopped early must be a prefix of a run that went further.
fn agree_up_to_error(tag: &str, what: &str, a: &Outcome, b: &Outcome) {
    let n = a.events.len().min(b.events.len());
    check(tag, a.events[..n] == b.events[..n], || {
        format!(
            "{what}: events differ\n{:#?}\nvs\n{:#?}",
            a.events, b.events
        )
    });
    if !a.error && !b.error {
        check(tag, a == b, || format!("{what}: {a:#?}\nvs\n{b:#?}"));
    }
    check(
        "cap-depends-on-reads",
        a.error == b.error && a.events.len() == b.events.len(),
        || {
            format!(
                "{what}: error {} after {} events vs error {} after {} events",
                a.error,
                a.events.len(),
                b.error,
                b.events.len()
            )
        },
    );
}

fuzz_target!(|input: &[u8]| {
    let mut b = qstream_fuzz::Bytes(input);
    let flags = b.byte();
    let cap = b.byte();
    let n = b.below(16) as usize;
    let lens: Vec<usize> = (0..n).map(|_| b.byte() as usize).collect();
    let stream = b.0;

    let mut reads = Vec::with_capacity(n + 1);
    let mut rest = stream;
    for len in lens {
        let (head, tail) = rest.split_at(len.min(rest.len()));
        reads.push(head);
        rest = tail;
    }
    reads.push(rest);
    // A read returns at least one byte; empty feeds have their own check below.
    reads.retain(|r| !r.is_empty());

    if flags & 1 == 0 {
        let whole = run(DEFAULT_MAX_LINE, [stream]);
        let bytewise = run(DEFAULT_MAX_LINE, stream.chunks(1));
        let chosen = run(DEFAULT_MAX_LINE, reads.iter().copied());
        let with_empty = run(
            DEFAULT_MAX_LINE,
            stream.chunks(1).flat_map(|c| [c, &c[..0]]),
        );
        assert!(!whole.error, "no line can reach the default cap here");
        whole.events.iter().for_each(well_formed);
        let (events, retry) = reference(stream);
        check(
            "reference",
            whole.events == events && whole.retry == retry,
            || {
                format!(
                    "decoder {:#?} retry {:?}\nreference {events:#?} retry {retry:?}",
                    whole.events, whole.retry
                )
            },
        );
        check("split-reads", bytewise == whole, || {
            format!("one byte per read {bytewise:#?}\nwhole {whole:#?}")
        });
        check("split-reads", chosen == whole, || {
            format!("reads {reads:?} {chosen:#?}\nwhole {whole:#?}")
        });
        check("empty-read", with_empty == whole, || {
            format!("with empty reads {with_empty:#?}\nwhole {whole:#?}")
        });
    } else {
        let max = 1 + cap as usize;
        let whole = run(max, [stream]);
        let bytewise = run(max, stream.chunks(1));
        let chosen = run(max, reads.iter().copied());
        for o in [&whole, &bytewise, &chosen] {
            for ev in &o.events {
                well_formed(ev);
                check("data-cap", ev.data.len() <= max, || {
                    format!("data of {} bytes past the cap {max}: {ev:?}", ev.data.len())
                });
            }
        }
        agree_up_to_error(
            "split-reads-capped",
            "whole vs one byte per read",
            &whole,
            &bytewise,
        );
        agree_up_to_error(
            "split-reads-capped",
            "whole vs chosen reads",
            &whole,
            &chosen,
        );
    }
});
