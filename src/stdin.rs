//! Stdin as prompt input: read once into one buffer, bounded, and UTF-8 or refused; skipped
//! with `--no-stdin`; and a hint on the terminal when a pipe keeps qstream waiting.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use crate::cli::Cli;
use crate::config::Stdin;
use crate::error::{Error, Result};

/// The most stdin qstream takes as a prompt.
pub const MAX_STDIN: usize = 64 * 1024 * 1024;

const HINT: &str = "reading the prompt from stdin… (Ctrl-D ends it; --no-stdin to skip)";

/// Read stdin for the prompt (or for `--messages -`) unless it is a terminal, is the replay
/// itself, or `--no-stdin` says to leave it alone.
pub fn read(cli: &Cli) -> Result<Stdin> {
    let messages_stdin = cli.messages.as_deref() == Some(Path::new("-"));
    let replay_stdin = cli.replay.as_deref() == Some(Path::new("-"));
    if cli.no_stdin {
        if messages_stdin || replay_stdin {
            let flag = if messages_stdin {
                "--messages"
            } else {
                "--replay"
            };
            return Err(Error::usage(format!(
                "{flag} - reads stdin, and --no-stdin says not to"
            )));
        }
        return Ok(Stdin::default());
    }
    // A replay sends nothing, so it reads no prompt (`--replay -` reads the recording there).
    let stdin = std::io::stdin();
    if cli.replay.is_some() || (stdin.is_terminal() && !messages_stdin) {
        return Ok(Stdin::default());
    }
    if !cli.quiet && std::io::stderr().is_terminal() && !ready_within_a_second() {
        let _ = writeln!(std::io::stderr(), "{HINT}");
    }
    let text = read_capped(stdin.lock())?;
    Ok(Stdin { text: Some(text) })
}

/// All of `input` as UTF-8 text, at most [`MAX_STDIN`] bytes of it, in one buffer.
pub fn read_capped(input: impl Read) -> Result<String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_STDIN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
    if bytes.len() > MAX_STDIN {
        return Err(Error::usage(format!(
            "stdin is over the {} MiB limit for a prompt; pass a smaller input",
            MAX_STDIN / (1024 * 1024)
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::usage(format!(
            "stdin is not UTF-8 text: invalid at byte {} (counting from 0); convert it first, e.g. with iconv",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Whether stdin has something to read (data or its end) within about a second.
#[cfg(unix)]
fn ready_within_a_second() -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut fd, 1, 1000) };
    // An error (EINTR, a descriptor poll cannot watch): no hint rather than a wrong one.
    n != 0
}

#[cfg(not(unix))]
fn ready_within_a_second() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_and_utf8() {
        assert_eq!(read_capped(&b"caf\xc3\xa9"[..]).expect("ok"), "café");
        let e = read_capped(&b"ab\xffcd"[..]).expect_err("not UTF-8");
        assert!(e.message.contains("byte 2"), "{}", e.message);
        let e = read_capped(std::io::repeat(b'a')).expect_err("endless");
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(e.message.contains("64 MiB"), "{}", e.message);
    }
}
