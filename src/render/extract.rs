//! `-x/--extract`: only the contents of the first fenced code block, each line as it
//! completes; `--extract-last`: the last block, written when the answer ends.
//!
//! Fences are recognised as the renderer recognises them (``` or ~~~, longer fences, up to
//! three spaces in); the fence's indentation is taken off its lines, as CommonMark says. The
//! lines are written as they came (a terminal gets them sanitized): no styling.

use super::markdown;
use crate::sink::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    First,
    Last,
}

struct Open {
    ch: u8,
    len: usize,
    indent: usize,
}

pub struct Extractor {
    which: Which,
    /// Sanitize for a terminal.
    terminal: bool,
    line: String,
    open: Option<Open>,
    /// `First`: the block was written and closed; nothing more is written.
    done: bool,
    /// `Last`: the contents of the latest block.
    last: Vec<u8>,
    found: bool,
}

impl Extractor {
    pub fn new(which: Which, terminal: bool) -> Extractor {
        Extractor {
            which,
            terminal,
            line: String::new(),
            open: None,
            done: false,
            last: Vec::new(),
            found: false,
        }
    }

    /// Whether a code block was seen.
    pub fn found(&self) -> bool {
        self.found
    }

    pub fn push(&mut self, text: &str, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        let mut rest = text;
        while let Some(nl) = memchr::memchr(b'\n', rest.as_bytes()) {
            self.line.push_str(&rest[..nl]);
            self.commit(out);
            if self.done {
                return;
            }
            rest = &rest[nl + 1..];
        }
        self.line.push_str(rest);
    }

    /// The answer ended: an unfinished last line of an open block counts, and `Last` writes
    /// its block.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.done && !self.line.is_empty() && self.open.is_some() {
            self.commit(out);
        }
        self.done = true;
        if self.which == Which::Last {
            let last = std::mem::take(&mut self.last);
            self.write(&String::from_utf8_lossy(&last), out);
        }
    }

    fn write(&self, text: &str, out: &mut Vec<u8>) {
        if self.terminal {
            sanitize::push(out, text);
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }

    fn commit(&mut self, out: &mut Vec<u8>) {
        let line = std::mem::take(&mut self.line);
        let text = line.strip_suffix('\r').unwrap_or(&line);
        match &self.open {
            None => {
                if let Some(f) = markdown::fence_open(text) {
                    self.open = Some(Open {
                        ch: f.ch,
                        len: f.len,
                        indent: f.indent,
                    });
                    self.found = true;
                    self.last.clear();
                }
            }
            Some(o) if markdown::fence_close(text, o.ch, o.len) => {
                self.open = None;
                if self.which == Which::First {
                    self.done = true;
                }
            }
            Some(o) => {
                // Up to the fence's indentation in spaces is not part of the code.
                let strip = line
                    .bytes()
                    .take(o.indent)
                    .take_while(|&b| b == b' ')
                    .count();
                let code = &line[strip..];
                match self.which {
                    Which::First => {
                        self.write(code, out);
                        out.push(b'\n');
                    }
                    Which::Last => {
                        self.last.extend_from_slice(code.as_bytes());
                        self.last.push(b'\n');
                    }
                }
            }
        }
        self.line = line;
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(which: Which, text: &str, pieces: usize) -> String {
        let mut x = Extractor::new(which, false);
        let mut out = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(pieces.max(1)) {
            x.push(&chunk.iter().collect::<String>(), &mut out);
        }
        x.finish(&mut out);
        String::from_utf8(out).expect("utf8")
    }

    const ANSWER: &str = "Try this:\n\n  ```bash\n  echo 'a'\n    indented\n  ```\n\nor\n~~~~python\nprint(1)\n```\nstill\n~~~~\n";

    #[test]
    fn first_and_last_block() {
        for n in [1, 3, 7, 1000] {
            assert_eq!(run(Which::First, ANSWER, n), "echo 'a'\n  indented\n");
            assert_eq!(run(Which::Last, ANSWER, n), "print(1)\n```\nstill\n");
        }
        assert_eq!(run(Which::First, "no code\n", 1), "");
        // An unclosed block at the end, its last line without a newline.
        assert_eq!(run(Which::First, "```\na\nb", 1), "a\nb\n");
        assert_eq!(run(Which::Last, "```\na\n```\n```\nb", 2), "b\n");
    }

    #[test]
    fn pipes_get_bytes_terminals_get_them_sanitized() {
        let text = "```\nx\x1b[2Jy\n```\n";
        assert_eq!(run(Which::First, text, 4), "x\x1b[2Jy\n");
        let mut x = Extractor::new(Which::First, true);
        let mut out = Vec::new();
        x.push(text, &mut out);
        assert_eq!(out, b"x^[[2Jy\n");
    }
}
