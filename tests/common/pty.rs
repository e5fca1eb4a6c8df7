//! Running the binary on a real pseudo-terminal, so that it sees a terminal the way it does in a
//! user's shell (`isatty`, the window size from `TIOCGWINSZ`, a controlling terminal for
//! Ctrl-C), not only through a force flag.
//!
//! The terminal's line discipline is left as a terminal has it: output `\n` arrives as `\r\n`
//! (ONLCR). `Screen`-style assertions should feed `PtyRun::output` to a terminal emulator;
//! `PtyRun::text` undoes only the CR that ONLCR added.
#![cfg(unix)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Which of the child's streams go to the terminal; the others are pipes, captured apart.
#[derive(Clone, Copy, Debug)]
pub struct PtyOptions {
    pub cols: u16,
    pub rows: u16,
    pub stdout_tty: bool,
    pub stderr_tty: bool,
    /// The child's stdin is the terminal too (else /dev/null, as `qstream()` sets).
    pub stdin_tty: bool,
}

impl Default for PtyOptions {
    fn default() -> Self {
        PtyOptions {
            cols: 80,
            rows: 24,
            stdout_tty: true,
            stderr_tty: true,
            stdin_tty: false,
        }
    }
}

/// What a run on a pseudo-terminal produced.
#[derive(Debug)]
pub struct PtyRun {
    /// Exit code; `None` if killed by a signal.
    pub status: Option<i32>,
    /// Every byte the terminal received, in order (stdout and stderr where they are the tty).
    pub output: Vec<u8>,
    /// stdout when it was not the terminal.
    pub stdout: Vec<u8>,
    /// stderr when it was not the terminal.
    pub stderr: Vec<u8>,
}

impl PtyRun {
    /// The terminal's bytes as text, with the `\r` that ONLCR put before each `\n` removed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).replace("\r\n", "\n")
    }
}

fn open_pty(cols: u16, rows: u16) -> (OwnedFd, OwnedFd) {
    let mut master = -1;
    let mut slave = -1;
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds into the out-pointers; the name pointer may be null and
    // the termios and winsize pointers point to valid values (or are null).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Close-on-exec, so that children that other tests spawn meanwhile don't hold them open.
    for fd in [master, slave] {
        // SAFETY: fcntl on fds this function owns.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both fds were just returned by openpty and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// A running child on a pseudo-terminal.
pub struct PtyChild {
    child: std::process::Child,
    master: File,
    bytes: mpsc::Receiver<Vec<u8>>,
    output: Vec<u8>,
    stdout: Option<thread::JoinHandle<Vec<u8>>>,
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
}

/// Start `cmd` with the streams `opts` names on a new pseudo-terminal, in a session of its own
/// with that terminal as its controlling terminal.
pub fn spawn_in_pty(cmd: &mut Command, opts: PtyOptions) -> PtyChild {
    let (master, slave) = open_pty(opts.cols, opts.rows);
    let tty = |on: bool| -> Stdio {
        if on {
            Stdio::from(slave.try_clone().expect("dup the pty"))
        } else {
            Stdio::piped()
        }
    };
    cmd.stdout(tty(opts.stdout_tty))
        .stderr(tty(opts.stderr_tty));
    if opts.stdin_tty {
        cmd.stdin(tty(true));
    }
    let slave_fd = slave.as_raw_fd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The slave is still open in the child (inherited before close-on-exec applies).
            libc::ioctl(slave_fd, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn on the pty");
    // Drop every copy of the slave in this process, so the master reads EOF/EIO once the
    // child and its descendants have closed it.
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    drop(slave);
    let stdout = child.stdout.take().map(|mut s| {
        thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let stderr = child.stderr.take().map(|mut s| {
        thread::spawn(move || {
            let mut v = Vec::new();
            let _ = s.read_to_end(&mut v);
            v
        })
    });
    let master = File::from(master);
    let mut reader = master.try_clone().expect("dup the master");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 65536];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break, // EIO: every slave fd is closed
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    PtyChild {
        child,
        master,
        bytes: rx,
        output: Vec::new(),
        stdout,
        stderr,
    }
}

impl PtyChild {
    /// Type into the terminal (`b"\x03"` is Ctrl-C, delivered as SIGINT by the line discipline).
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the pty");
    }

    /// Wait until the terminal has shown `needle` (in its raw bytes), or panic after `timeout`.
    pub fn wait_for(&mut self, needle: &[u8], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.output.windows(needle.len()).any(|w| w == needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.bytes.recv_timeout(left) {
                Ok(b) => self.output.extend_from_slice(&b),
                Err(_) => panic!(
                    "{:?} never appeared; the terminal shows {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.output)
                ),
            }
        }
    }

    /// Wait for the child to end (killing it after `timeout`) and collect everything.
    pub fn finish(mut self, timeout: Duration) -> PtyRun {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait().expect("wait") {
                Some(s) => break s,
                None if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    panic!(
                        "the child on the pty did not finish in {timeout:?}; it showed {:?}",
                        String::from_utf8_lossy(&self.output)
                    );
                }
                None => thread::sleep(Duration::from_millis(5)),
            }
        };
        // The reader ends at EIO once the child is gone; bound the wait all the same.
        let drain_until = Instant::now() + Duration::from_secs(5);
        while let Ok(b) = self
            .bytes
            .recv_timeout(drain_until.saturating_duration_since(Instant::now()))
        {
            self.output.extend_from_slice(&b);
        }
        PtyRun {
            status: status.code(),
            output: self.output,
            stdout: self
                .stdout
                .take()
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
            stderr: self
                .stderr
                .take()
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
        }
    }
}

/// Run `cmd` to the end on a pseudo-terminal.
pub fn run_in_pty(cmd: &mut Command, opts: PtyOptions) -> PtyRun {
    spawn_in_pty(cmd, opts).finish(Duration::from_secs(60))
}
