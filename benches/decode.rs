//! Decoder benchmarks (issue 6): the SSE decoder alone, and SSE plus each protocol decoder with
//! a no-op emit, over generated streams fed in 64 KiB slices (the size of one read in
//! `qstream::stream`). Each case is reported twice: in bytes/s and in deltas/s.
//!
//! ```text
//! cargo bench --bench decode                 # about a minute
//! cargo bench --bench decode -- dashscope    # only the cases matching a filter
//! ```
//!
//! The streams come from the same generator as `examples/stream_server.rs` (used by
//! `scripts/bench`), so the bytes decoded here are the bytes the loopback server sends.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use qstream::cli::Protocol;
use qstream::error::Error;
use qstream::event::Event;
use qstream::protocol::Decoder;
use qstream::sse::SseDecoder;

#[allow(dead_code)]
#[path = "../examples/stream_server.rs"]
mod stream_server;

use stream_server::{Generator, StreamSpec, Wire};

/// Deltas per generated stream: 4.7 MB compatible, 6.5 MB dashscope.
const DELTAS: u64 = 20_000;
/// Bytes per `feed`, as one read of the real loop.
const READ: usize = 64 * 1024;

struct Case {
    name: &'static str,
    protocol: Protocol,
    body: Vec<u8>,
    deltas: u64,
}

fn cases() -> Vec<Case> {
    [
        ("compatible", Protocol::Compatible, Wire::Compatible),
        ("dashscope", Protocol::Dashscope, Wire::DashScope),
    ]
    .into_iter()
    .map(|(name, protocol, wire)| Case {
        name,
        protocol,
        body: Generator::body(StreamSpec {
            wire,
            deltas: DELTAS,
            delta_bytes: 18,
            cumulative: false,
        }),
        deltas: DELTAS,
    })
    .collect()
}

/// SSE only: the number of events dispatched.
fn sse_only(body: &[u8]) -> u64 {
    let mut sse = SseDecoder::default();
    let mut events = 0u64;
    for slice in body.chunks(READ) {
        sse.feed::<Error>(slice, &mut |ev| {
            black_box(ev.data);
            events += 1;
            Ok(())
        })
        .expect("well-formed stream");
    }
    events
}

/// SSE and the protocol decoder end to end, with an emit that only looks at each event: the
/// number of content deltas.
fn sse_and_protocol(body: &[u8], protocol: Protocol) -> u64 {
    let mut sse = SseDecoder::default();
    let mut decoder = Decoder::new(Some(protocol), true);
    let mut deltas = 0u64;
    let mut emit = |e: Event<'_>| {
        if let Event::Content { text, .. } = &e {
            black_box(text.as_ref());
            deltas += 1;
        }
        Ok(())
    };
    for slice in body.chunks(READ) {
        sse.feed::<Error>(slice, &mut |ev| decoder.event(&ev, &mut emit))
            .expect("well-formed stream");
    }
    decoder.finish(&mut emit).expect("complete stream");
    deltas
}

/// Both cases of every stream in one group, with the throughput `unit` gives for the stream.
fn group(c: &mut Criterion, name: &str, cases: &[Case], unit: fn(&Case) -> Throughput) {
    let mut group = c.benchmark_group(name);
    for case in cases {
        group.throughput(unit(case));
        group.bench_function(format!("sse/{}", case.name), |b| {
            b.iter(|| sse_only(black_box(&case.body)))
        });
        group.bench_function(format!("sse+protocol/{}", case.name), |b| {
            b.iter(|| sse_and_protocol(black_box(&case.body), case.protocol))
        });
    }
    group.finish();
}

fn decode(c: &mut Criterion) {
    let cases = cases();
    // The generated streams decode as expected before anything is timed.
    for case in &cases {
        assert!(sse_only(&case.body) > case.deltas, "{}: events", case.name);
        assert_eq!(
            sse_and_protocol(&case.body, case.protocol),
            case.deltas,
            "{}: deltas",
            case.name
        );
    }
    // One throughput per measurement, so each case runs twice: once for MB/s, once for
    // deltas/s.
    group(c, "bytes", &cases, |case| {
        Throughput::Bytes(case.body.len() as u64)
    });
    group(c, "deltas", &cases, |case| {
        Throughput::Elements(case.deltas)
    });
}

criterion_group! {
    name = benches;
    // Short by default, so that `cargo bench` takes about a minute.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = decode
}
criterion_main!(benches);
