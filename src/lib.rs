//! qstream: one streaming chat request to Qwen models on Alibaba Cloud Model Studio, written to
//! stdout as it arrives.
//!
//! The product is the `qstream` binary: its command line, `--json` events and exit codes are
//! the interface (README.md, `man qstream`). This library exists so that the integration tests,
//! benchmarks and fuzz targets can reach the stages; it is not a stable API and may change in
//! any release. Items marked `#[doc(hidden)]` are there for those tests alone.
//!
//! `settings` puts the config file's values (top level, profile, role) under the flags and
//! hands `cli::Cli` on; `commands` holds the subcommands besides the bare prompt.
//!
//! The pipeline (DESIGN §1): `cli` → `config` → `request` → `transport` → `sse` → `protocol`
//! → `event` → `sink`. `run` wires the stages together; each can be used on its own. Reads of
//! the body come from `read_ahead`: this thread, or a second one once the network outpaces
//! the decoder.

pub mod cli;
pub mod commands;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod exchange;
pub mod explain;
mod files;
pub mod items;
mod json_reader;
pub mod media;
pub mod models;
pub mod protocol;
mod read_ahead;
mod record;
pub mod redact;
pub mod render;
pub mod request;
pub mod search;
pub mod settings;
pub mod sink;
pub mod sse;
mod stdin;
pub mod store;
pub mod structured;
#[cfg(test)]
pub(crate) mod testing;
pub mod transport;
mod trust;
mod unstreamed;
pub mod wav;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{Config, Env, OutputMode, ProcessEnv};
use crate::error::{Error, Result};
use crate::protocol::Decoder;
use crate::read_ahead::Reads;
pub use crate::record::Recording;
use crate::sink::{JsonSink, RawSink, Session, Sink, TextSink, TextStyle};
use crate::sse::SseDecoder;
use crate::transport::Cancel;

/// Parse the environment, run one request, and report: the process's exit code.
pub fn main_with_args(cli: Cli) -> u8 {
    let cancel = Arc::new(Cancel::default());
    {
        let cancel = Arc::clone(&cancel);
        // Without a handler Ctrl-C kills the process at once; that is the fallback if one
        // cannot be installed.
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    match run(&cli, &ProcessEnv, &cancel) {
        Ok(()) => 0,
        Err(e) if e.is_quiet() => 0,
        Err(e) => {
            sink::stdio::line(&format!("qstream: {e}"));
            e.exit.code()
        }
    }
}

pub fn run(cli: &Cli, env: &dyn Env, cancel: &Cancel) -> Result<()> {
    let terminals = sink::stdio::init();
    let continued = store::record::continuation(cli, env)?;
    let (cli, cid) = match &continued {
        Some((cli, cid)) => (cli, Some(cid.clone())),
        None => (cli, None),
    };
    let (cli, stdin) = settings::fill_template(cli, stdin::read(cli)?);
    let mut config = Config::from_cli(&cli, env, stdin)?;
    if cid.is_some() && config.prompt_index.is_none() && config.replay.is_none() {
        return Err(Error::usage(
            "a continued conversation needs a prompt: give one as arguments or on stdin",
        ));
    }
    if config.dry_run {
        let request = request::build(&config);
        if !config.quiet {
            for w in &config.warnings {
                sink::stdio::line(w);
            }
        }
        if config.protocol == cli::Protocol::Dashscope && !config.quiet {
            let (endpoint, why) = request::native_endpoint(&config);
            let name = match endpoint {
                cli::NativeEndpoint::Text => "text-generation",
                cli::NativeEndpoint::Multimodal => "multimodal-generation",
            };
            sink::stdio::line(&format!("qstream: native endpoint {name} ({why})"));
        }
        transport::check_scheme(&request.url, config.network.allow_insecure_http)?;
        let mut out = sink::stdio::Stdout(std::io::stdout().lock());
        let key = settings::key_expression(cli.key_source.as_ref());
        let curl = request::curl_with_key(&request, &key);
        return writeln!(out, "{}", redact::url_passwords(&curl))
            .and_then(|_| out.flush())
            .map_err(Error::output);
    }
    check_files(&cli, &config, env)?;
    let key = match config.replay {
        Some(_) => {
            // Nothing is sent, but a recording may hold the key all the same.
            if let Ok(key) = settings::api_key(cli.key_source.as_ref(), env) {
                redact::register(key.expose());
            }
            None
        }
        None => {
            let key = settings::api_key(cli.key_source.as_ref(), env)?;
            redact::register(key.expose());
            Some(key)
        }
    };
    // The log's row (redacted: the key is registered by now) is taken before the request moves
    // the messages out of `config`; a big turn's messages are taken back from the request once
    // it has been sent, so that the prompt is held once.
    let log = store::record::log_path(&cli, env).map(|path| {
        let row = if key.is_some() {
            store::record::new_exchange_sent(&cli, &config, cid)
        } else {
            store::record::new_exchange(&cli, &config, cid)
        };
        (path, row)
    });
    let replay = config.replay.clone();
    let source = match (key, replay.as_deref()) {
        (Some(key), _) => exchange::Source::Network(key, request::build_moving(&mut config)),
        (None, path) => exchange::Source::Replay(path.unwrap_or(Path::new("-"))),
    };
    let record = match &config.record {
        Some(path) => Some(Recording::create(path)?),
        None => None,
    };
    let wav = match &config.audio_out {
        Some(path) => Some(wav::WavWriter::create(path)?),
        None => None,
    };
    let mut sink = make_sink(&config, terminals)
        .with_wav(wav)
        .with_transcript(log.is_some());
    for w in &config.warnings {
        sink.notice(w);
    }
    // The log's row is written once the request is out (or has failed), so that SQLite's work
    // does not compete with the connection and the TLS handshake for the CPU; the run's
    // duration still counts from here.
    let started = std::time::Instant::now();
    let log = std::cell::RefCell::new(log);
    let recorder = std::cell::RefCell::new(None);
    let start_log = |request: Option<request::Request>| {
        if let Some((path, mut row)) = log.borrow_mut().take() {
            row.messages.take_sent(request);
            *recorder.borrow_mut() = Some(store::record::Recorder::start(
                path,
                row,
                env,
                config.quiet,
                started,
            ));
        }
    };
    let summary = exchange::exchange(
        &config,
        source,
        record,
        &mut sink,
        cancel,
        exchange::Shared {
            opened: Some(&start_log),
            ..exchange::Shared::default()
        },
    );
    // A replay, or a failure before any request: the row all the same.
    start_log(None);
    if let Some(recorder) = recorder.into_inner() {
        let outcome = store::record::outcome(
            &summary.result,
            summary.opened,
            summary.transcript,
            summary.request_id,
            summary.ttft,
        );
        if let Some(warning) = recorder.finish(outcome) {
            sink::stdio::line(&warning);
        }
    }
    summary.result
}

/// No output may overwrite an input or another output (before either is opened to write).
fn check_files(cli: &Cli, config: &Config, env: &dyn Env) -> Result<()> {
    use files::Named;
    let key_file = config::api_key_file(env);
    let profile_key_file = cli.key_source.as_ref().and_then(|k| k.file.as_deref());
    let mut inputs: Vec<Named<'_>> = [
        ("--replay", config.replay.as_deref()),
        ("--messages", cli.messages.as_deref()),
        ("--tools", cli.tools.as_deref()),
        ("the API key file", key_file.as_deref()),
        ("the API key file", profile_key_file),
    ]
    .into_iter()
    .filter_map(|(what, path)| Some(Named { what, path: path? }))
    .filter(|n| n.path != Path::new("-"))
    .collect();
    let media = cli
        .image
        .iter()
        .chain(&cli.audio)
        .chain(&cli.video)
        .chain(cli.media.iter().map(|(_, a)| a));
    for arg in media {
        let path = Path::new(arg.as_str());
        if path.exists() {
            inputs.push(Named {
                what: "an attachment",
                path,
            });
        }
    }
    let mut outputs = Vec::new();
    if let Some(path) = config.record.as_deref() {
        outputs.push(Named {
            what: "--record",
            path,
        });
    }
    if let Some(path) = config.audio_out.as_deref() {
        outputs.push(Named {
            what: "--audio-out",
            path,
        });
    }
    files::check_distinct(&inputs, &outputs)
}

/// Colour on stderr: `--color always|never` wins; else the ecosystem's rules, as anstream
/// applies them (anstyle-query): `NO_COLOR` (set, non-empty) turns it off, `CLICOLOR_FORCE`
/// (not `0`) on even in a pipe, `CLICOLOR=0` off; otherwise a terminal whose `TERM` is set
/// and not `dumb` (or `CLICOLOR=1`, or a CI) gets colour.
pub(crate) fn colour(choice: cli::Color, err_tty: bool) -> bool {
    match choice {
        cli::Color::Always => true,
        cli::Color::Never => false,
        cli::Color::Auto => {
            let clicolor = anstyle_query::clicolor();
            if anstyle_query::no_color() {
                false
            } else if anstyle_query::clicolor_force() {
                true
            } else if clicolor == Some(false) {
                false
            } else {
                err_tty
                    && (anstyle_query::term_supports_color()
                        || clicolor == Some(true)
                        || anstyle_query::is_ci())
            }
        }
    }
}

fn make_sink(config: &Config, terminals: sink::stdio::Terminals) -> Session {
    let (out_tty, err_tty) = (terminals.stdout, terminals.stderr);
    let color = colour(config.color, err_tty);
    let inner: Box<dyn Sink> = match config.output {
        OutputMode::Text => Box::new(
            TextSink::new(
                unbuffered_stdout(),
                sink::stdio::Stderr,
                TextStyle {
                    quiet: config.quiet,
                    reasoning: config.reasoning,
                    color,
                    terminal: out_tty && err_tty,
                    out_tty,
                    err_tty,
                },
            )
            .with_render(render::choose(
                config,
                &|name| std::env::var(name).ok(),
                &|tty| colour(config.color, tty),
            )),
        ),
        OutputMode::Json => Box::new(JsonSink::new(unbuffered_stdout()).for_terminal(out_tty)),
        OutputMode::Raw => Box::new(RawSink::new(unbuffered_stdout()).for_terminal(out_tty)),
    };
    let spinner = (err_tty && !config.quiet && config.replay.is_none())
        .then(|| format!("{} …", config.model));
    Session::new(inner, spinner, config.stats, config.quiet).live(config.replay.is_none())
}

/// Stdout without std's line buffering: the sinks buffer and flush themselves, and a
/// line-buffered handle would split each flush at its last newline into two writes.
fn unbuffered_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(sink::stdio::Stdout(File::from(fd)));
        }
    }
    Box::new(sink::stdio::Stdout(std::io::stdout()))
}

/// Where a body came from, for what is said about one that is not an event stream.
pub enum Origin {
    Replay,
    Network { content_type: Option<String> },
}

/// The loop: read what has arrived, record it, decode it, hand it to the sink, flush, and
/// only then block on the next read. It ends when the stream says it is over (`[DONE]`, the
/// last finish), or at the end of the body.
pub fn stream(
    body: Box<dyn Read + Send>,
    record: Option<Recording>,
    decoder: &mut Decoder,
    sink: &mut dyn Sink,
    net: &config::Network,
    cancel: &Cancel,
    origin: &Origin,
) -> Result<()> {
    stream_with(body, record, decoder, sink, net, cancel, origin, false)
}

/// The most bytes read after the end of a stream to let its connection be reused.
const DRAIN_MAX: usize = 64 * 1024;

/// `stream`; with `drain`, the body is read to its end after the stream says it is over
/// (the last chunk follows `[DONE]` at once), so that a shared agent can reuse the
/// connection: ureq pools only a connection whose body was read through.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream_with(
    body: Box<dyn Read + Send>,
    record: Option<Recording>,
    decoder: &mut Decoder,
    sink: &mut dyn Sink,
    net: &config::Network,
    cancel: &Cancel,
    origin: &Origin,
    drain: bool,
) -> Result<()> {
    let mut sse = SseDecoder::default();
    let raw = sink.wants_sse();
    let size = if decoder.long_lines() {
        read_ahead::LONG_READ_SIZE
    } else {
        read_ahead::READ_SIZE
    };
    let mut reads = Reads::new(body, record, size);
    if decoder.cumulative() {
        reads = reads.without_read_ahead();
    }
    // The body as long as no event came out of it: a whole JSON answer, an error page.
    let mut events = false;
    let mut head = Vec::new();
    loop {
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        let (buf, n) = match reads.next()? {
            Ok((_, 0)) => break,
            Ok(read) => read,
            Err(_) if cancel.is_cancelled() => return Err(Error::interrupted()),
            Err(e) => return Err(transport::read_error(e, net)),
        };
        let Some(bytes) = buf.get(..n) else {
            return Err(Error::internal(
                "a read claimed more bytes than its buffer holds",
            ));
        };
        let fed = sse.feed(bytes, &mut |ev| {
            events = true;
            if raw {
                sink.sse(&ev)?;
                protocol::check_raw(decoder, &ev)
            } else {
                decoder.event(&ev, &mut |e| sink.event(e))
            }
        });
        if !events && head.len() < unstreamed::HEAD_MAX {
            head.extend_from_slice(bytes);
        }
        reads.recycle(buf);
        fed?;
        while let Some(line) = decoder.take_notice() {
            sink.flush()?;
            sink.notice(&line);
        }
        sink.flush()?;
        if decoder.is_done() {
            // What follows the end is not part of the recording (a drained rest included).
            reads.finish_record()?;
            if drain {
                let mut left = DRAIN_MAX;
                while let Ok(Ok((buf, n))) = reads.next() {
                    reads.recycle(buf);
                    if n == 0 || n >= left || cancel.is_cancelled() {
                        break;
                    }
                    left -= n;
                }
            }
            break;
        }
    }
    reads.finish_record()?;
    if cancel.is_cancelled() {
        return Err(Error::interrupted());
    }
    if !events {
        return unstreamed::body(&head, origin, decoder, sink, raw);
    }
    if raw {
        return Ok(());
    }
    decoder.finish(&mut |e| sink.event(e))
}
