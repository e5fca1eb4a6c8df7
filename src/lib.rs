//! qstream: one streaming chat request to Qwen models on Alibaba Cloud Model Studio, written to
//! stdout as it arrives.
//!
//! The pipeline (DESIGN §1): `cli` → `config` → `request` → `transport` → `sse` → `protocol`
//! → `event` → `sink`. `run` wires the stages together; each can be used on its own. Reads of
//! the body come from `read_ahead`: this thread, or a second one once the network outpaces
//! the decoder.

pub mod cli;
pub mod config;
pub mod error;
pub mod event;
pub mod media;
pub mod protocol;
mod read_ahead;
pub mod request;
pub mod sink;
pub mod sse;
pub mod transport;
mod unstreamed;
pub mod wav;

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{Config, Env, OutputMode, ProcessEnv, Stdin};
use crate::error::{Error, Result};
use crate::protocol::Decoder;
use crate::read_ahead::Reads;
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
            let _ = writeln!(std::io::stderr(), "qstream: {e}");
            e.exit.code()
        }
    }
}

/// Read stdin for the prompt unless it is a terminal or is the replay itself.
fn read_stdin(cli: &Cli) -> Result<Stdin> {
    // A replay sends nothing, so it reads no prompt (`--replay -` reads the recording there).
    let messages_stdin = cli.messages.as_deref() == Some(Path::new("-"));
    let stdin = std::io::stdin();
    if cli.replay.is_some() || (stdin.is_terminal() && !messages_stdin) {
        return Ok(Stdin::default());
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    Ok(Stdin {
        text: Some(String::from_utf8_lossy(&bytes).into_owned()),
    })
}

pub fn run(cli: &Cli, env: &dyn Env, cancel: &Cancel) -> Result<()> {
    let stdin = read_stdin(cli)?;
    let config = Config::from_cli(cli, env, stdin)?;
    if config.dry_run {
        let request = request::build(&config);
        transport::check_scheme(&request.url, config.network.allow_insecure_http)?;
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{}", request::curl(&request))
            .and_then(|_| out.flush())
            .map_err(Error::output);
    }
    let record = match &config.record {
        Some(path) => Some(
            File::create(path)
                .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let source = match &config.replay {
        Some(path) => Source::Replay(path),
        None => Source::Network(config::api_key(env)?, request::build(&config)),
    };
    let wav = match &config.audio_out {
        Some(path) => Some(wav::WavWriter::create(path)?),
        None => None,
    };
    let mut sink = make_sink(&config).with_wav(wav);
    for w in &config.warnings {
        sink.notice(w);
    }
    let protocol = (config.replay.is_none() || config.protocol_given).then_some(config.protocol);
    // The decoder follows the request as it is sent (`-o incremental_output=…` included);
    // a replay's request is not known unless --no-incremental says so.
    let incremental = match config.replay {
        Some(_) if config.incremental => None,
        Some(_) => Some(false),
        None => Some(match &source {
            Source::Network(_, request) => request::incremental_output(request),
            Source::Replay(_) => config.incremental,
        }),
    };
    let mut decoder = Decoder::with_output(protocol, incremental);
    let result = open(&config, source, &mut sink, cancel).and_then(|(body, id, origin)| {
        sink.set_request_id(id);
        stream(
            body,
            record,
            &mut decoder,
            &mut sink,
            &config.network,
            cancel,
            &origin,
        )
    });
    sink.set_request_id(decoder.request_id().map(String::from));
    match result {
        Ok(()) => sink.finish(),
        Err(mut e) => {
            if let Some(api) = e.api.as_mut() {
                if api.request_id.is_none() {
                    api.request_id = sink.request_id().map(String::from);
                }
            }
            if e.is_quiet() {
                return Err(e);
            }
            sink.fail(&e, decoder.usage())?;
            Err(e)
        }
    }
}

/// Where the response body comes from.
enum Source<'a> {
    Replay(&'a Path),
    /// The key, and the request as it will be sent.
    Network(config::ApiKey, request::Request),
}

/// The response body: the recording, or the network's answer to the request.
fn open(
    config: &Config,
    source: Source<'_>,
    sink: &mut Session,
    cancel: &Cancel,
) -> Result<(Box<dyn Read + Send>, Option<String>, Origin)> {
    match source {
        Source::Replay(path) => Ok((open_replay(path)?, None, Origin::Replay)),
        Source::Network(key, request) => {
            let agent = transport::agent(&config.network);
            let opened = transport::open(
                &agent,
                &request,
                &key,
                &config.network,
                cancel,
                &mut |line| sink.notice(line),
            )?;
            let origin = Origin::Network {
                content_type: opened.content_type,
            };
            Ok((opened.body, opened.request_id, origin))
        }
    }
}

/// Whether stderr and stdout count as terminals. `QSTREAM_FORCE_TERMINAL=1` (undocumented,
/// for tests) says yes to both.
fn terminals() -> (bool, bool) {
    if std::env::var_os("QSTREAM_FORCE_TERMINAL").is_some_and(|v| v == "1") {
        return (true, true);
    }
    (
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    )
}

fn make_sink(config: &Config) -> Session {
    let (out_tty, err_tty) = terminals();
    let color = match config.color {
        cli::Color::Always => true,
        cli::Color::Never => false,
        cli::Color::Auto => err_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let inner: Box<dyn Sink> = match config.output {
        OutputMode::Text => Box::new(TextSink::new(
            unbuffered_stdout(),
            std::io::stderr(),
            TextStyle {
                quiet: config.quiet,
                reasoning: config.reasoning,
                color,
                terminal: out_tty && err_tty,
            },
        )),
        OutputMode::Json => Box::new(JsonSink::new(unbuffered_stdout())),
        OutputMode::Raw => Box::new(RawSink::new(unbuffered_stdout())),
    };
    let spinner = (err_tty && !config.quiet && config.replay.is_none())
        .then(|| format!("{} …", config.model));
    Session::new(inner, spinner, config.stats, config.quiet)
}

/// Stdout without std's line buffering: the sinks buffer and flush themselves, and a
/// line-buffered handle would split each flush at its last newline into two writes.
fn unbuffered_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(File::from(fd));
        }
    }
    Box::new(std::io::stdout())
}

fn open_replay(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read + Send>)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))
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
    mut record: Option<File>,
    decoder: &mut Decoder,
    sink: &mut dyn Sink,
    net: &config::Network,
    cancel: &Cancel,
    origin: &Origin,
) -> Result<()> {
    let mut sse = SseDecoder::default();
    let raw = sink.wants_sse();
    let mut reads = Reads::new(body);
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
        if let Some(file) = record.as_mut() {
            file.write_all(bytes)
                .map_err(|e| Error::internal(format!("cannot write the recording: {e}")))?;
        }
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
            break;
        }
    }
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
