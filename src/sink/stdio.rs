//! The process's stdout and stderr, as every writer in qstream reaches them.
//!
//! - stderr never fails a run: its reader may be gone (`2> >(head -c1)`), and the answer on
//!   stdout matters more than a notice. [`Stderr`] swallows its write errors.
//! - When stdout and stderr are one file or pipe (`2>&1`, `|& tee`; the same device and inode),
//!   a line on stderr starts on a line of its own: if the last byte written to either was not
//!   a newline, a newline goes first (on stderr, so stdout's own bytes never change).
//! - Which of the two is a terminal is decided once, per stream, for the sanitizer.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// stdout and stderr are the same file or pipe.
static SHARED: AtomicBool = AtomicBool::new(false);
/// The last byte written to the shared file by either stream.
static LAST_BYTE: AtomicU8 = AtomicU8::new(b'\n');
/// The last byte written to stderr was a newline (or nothing was written).
static ERR_AT_LINE_START: AtomicBool = AtomicBool::new(true);
static ERR_TTY: AtomicBool = AtomicBool::new(false);

/// Which of stdout and stderr are terminals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminals {
    pub stdout: bool,
    pub stderr: bool,
}

/// Look at stdout and stderr once, before anything is written. `QSTREAM_FORCE_TERMINAL=1`
/// (undocumented, for tests) says both are terminals.
pub fn init() -> Terminals {
    use std::io::IsTerminal;
    let t = if std::env::var_os("QSTREAM_FORCE_TERMINAL").is_some_and(|v| v == "1") {
        Terminals {
            stdout: true,
            stderr: true,
        }
    } else {
        Terminals {
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        }
    };
    ERR_TTY.store(t.stderr, Ordering::Relaxed);
    SHARED.store(same_file(), Ordering::Relaxed);
    t
}

/// Whether fds 1 and 2 are one open file (same device and inode).
fn same_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let id = |fd: std::io::Result<std::os::fd::OwnedFd>| {
            fd.ok()
                .and_then(|fd| std::fs::File::from(fd).metadata().ok())
                .map(|m| (m.dev(), m.ino()))
        };
        let out = id(std::io::stdout().as_fd().try_clone_to_owned());
        let err = id(std::io::stderr().as_fd().try_clone_to_owned());
        out.is_some() && out == err
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn wrote(buf: &[u8]) {
    if let Some(&last) = buf.last() {
        LAST_BYTE.store(last, Ordering::Relaxed);
    }
}

/// stdout: writes pass through; the last byte is remembered for a shared stderr.
pub struct Stdout<W: Write>(pub W);

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        wrote(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// stderr: never fails, and starts its lines on a line of their own on a shared file.
#[derive(Default)]
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let Some(&last) = buf.last() else {
            return Ok(0);
        };
        let mut err = std::io::stderr().lock();
        if SHARED.load(Ordering::Relaxed)
            && ERR_AT_LINE_START.load(Ordering::Relaxed)
            && LAST_BYTE.load(Ordering::Relaxed) != b'\n'
        {
            let _ = err.write_all(b"\n");
        }
        // A reader that went away costs nothing: the answer is on stdout.
        let _ = err.write_all(buf);
        let _ = err.flush();
        wrote(buf);
        ERR_AT_LINE_START.store(last == b'\n', Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One line for the user on stderr (`line` without its newline): never the key, never a URL's
/// password, and on a terminal no control sequence.
pub fn line(line: &str) {
    let text = crate::redact::redact(line);
    let text = crate::redact::url_passwords(&text);
    let mut buf = Vec::with_capacity(text.len() + 1);
    if ERR_TTY.load(Ordering::Relaxed) {
        super::sanitize::push(&mut buf, &text);
    } else {
        buf.extend_from_slice(text.as_bytes());
    }
    buf.push(b'\n');
    let _ = Stderr.write_all(&buf);
}
