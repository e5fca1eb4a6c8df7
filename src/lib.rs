//! qstream: one streaming chat request to Qwen models on Alibaba Cloud Model Studio, written to
//! stdout as it arrives.
//!
//! The pipeline (DESIGN §1): `cli` → `config` → `request` → `transport` → `sse` → `protocol`
//! → `event` → `sink`. `run` wires the stages together; each can be used on its own.

pub mod cli;
pub mod config;
pub mod error;
pub mod event;
pub mod protocol;
pub mod request;
pub mod sink;
pub mod sse;
pub mod transport;

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::cli::Cli;
use crate::config::{Config, Env, OutputMode, ProcessEnv, Stdin};
use crate::error::{Error, Result};
use crate::protocol::Decoder;
use crate::sink::{JsonSink, RawSink, Sink, TextSink};
use crate::sse::SseDecoder;
use crate::transport::Cancel;

/// Bytes asked of the body per read. A read returns as soon as anything arrived, so this
/// bounds the burst handled between two flushes, not the wait.
const READ_SIZE: usize = 64 * 1024;

/// Parse the environment, run one request, and report: the process's exit code.
pub fn main_with_args(cli: Cli) -> u8 {
    let cancel = transport::cancel_handle();
    {
        let cancel = Arc::clone(&cancel);
        // Without a handler Ctrl-C kills the process at once; that is the fallback if one
        // cannot be installed.
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    let quiet = cli.quiet;
    match run(&cli, &ProcessEnv, &cancel) {
        Ok(()) => 0,
        Err(e) if e.is_quiet() => 0,
        Err(e) => {
            let _ = quiet;
            let _ = writeln!(std::io::stderr(), "qstream: {e}");
            e.exit.code()
        }
    }
}

/// Read stdin for the prompt unless it is a terminal or is the replay itself.
fn read_stdin(cli: &Cli) -> Result<Stdin> {
    let replay_stdin = cli.replay.as_deref() == Some(Path::new("-"));
    let messages_stdin = cli.messages.as_deref() == Some(Path::new("-"));
    let stdin = std::io::stdin();
    if replay_stdin || (stdin.is_terminal() && !messages_stdin) {
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
    let mut sink = make_sink(&config);

    let (body, request_id): (Box<dyn Read + Send>, Option<String>) = match &config.replay {
        Some(path) => (open_replay(path)?, None),
        None => {
            let key = config::api_key(env)?;
            let request = request::build(&config);
            let agent = transport::agent(&config.network);
            let quiet = config.quiet;
            let opened = transport::open(
                &agent,
                &request,
                &key,
                &config.network,
                cancel,
                &mut |line| {
                    if !quiet {
                        let _ = writeln!(std::io::stderr(), "{line}");
                    }
                },
            )?;
            (opened.body, opened.request_id)
        }
    };
    let record = match &config.record {
        Some(path) => Some(
            File::create(path)
                .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let protocol = (config.replay.is_none() || config.protocol_given).then_some(config.protocol);
    let mut decoder = Decoder::new(protocol, config.incremental);
    let result = stream(
        body,
        record,
        &mut decoder,
        sink.as_mut(),
        &config.network,
        cancel,
    );
    match result {
        Ok(()) => sink.finish(),
        Err(mut e) => {
            if let Some(api) = e.api.as_mut() {
                if api.request_id.is_none() {
                    api.request_id = decoder.request_id().map(String::from).or(request_id);
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

fn make_sink(config: &Config) -> Box<dyn Sink> {
    let out = std::io::stdout();
    match config.output {
        OutputMode::Text => {
            let terminal = out.is_terminal();
            Box::new(TextSink::new(
                out,
                std::io::stderr(),
                config.quiet,
                terminal,
            ))
        }
        OutputMode::Json => Box::new(JsonSink::new(out)),
        OutputMode::Raw => Box::new(RawSink::new(out)),
    }
}

fn open_replay(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read + Send>)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))
}

/// The loop: read what has arrived, record it, decode it, hand it to the sink, flush, and
/// only then block on the next read.
pub fn stream(
    mut body: Box<dyn Read + Send>,
    mut record: Option<File>,
    decoder: &mut Decoder,
    sink: &mut dyn Sink,
    net: &config::Network,
    cancel: &Cancel,
) -> Result<()> {
    let mut sse = SseDecoder::default();
    let mut buf = vec![0u8; READ_SIZE];
    let raw = sink.wants_sse();
    loop {
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) if cancel.is_cancelled() => return Err(Error::interrupted()),
            Err(e) => return Err(transport::read_error(e, net)),
        };
        let bytes = &buf[..n];
        if let Some(file) = record.as_mut() {
            file.write_all(bytes)
                .map_err(|e| Error::internal(format!("cannot write the recording: {e}")))?;
        }
        sse.feed(bytes, &mut |ev| {
            if raw {
                sink.sse(&ev)
            } else {
                decoder.event(&ev, &mut |e| sink.event(e))
            }
        })?;
        sink.flush()?;
    }
    if cancel.is_cancelled() {
        return Err(Error::interrupted());
    }
    if raw {
        return Ok(());
    }
    decoder.finish(&mut |e| sink.event(e))
}
