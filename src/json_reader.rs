//! A JSON value as a reader: serialized piece by piece as it is read, so that a request body
//! with a large prompt is sent without a second copy of the prompt in memory. The bytes are
//! exactly `serde_json::to_vec`'s (compact form), which the tests check.

use std::io::{self, Read};

use serde_json::Value;

/// How much is serialized ahead of the reader; also the longest string serialized in one go.
const PIECE: usize = 64 * 1024;

pub struct JsonReader<'a> {
    /// The arrays and objects being written, innermost last.
    stack: Vec<Frame<'a>>,
    /// The rest of a long string being written piece by piece (its opening quote is out).
    string: Option<&'a str>,
    out: Vec<u8>,
    pos: usize,
}

enum Frame<'a> {
    Array(std::slice::Iter<'a, Value>, bool),
    Object(serde_json::map::Iter<'a>, bool),
}

impl<'a> JsonReader<'a> {
    pub fn new(value: &'a Value) -> io::Result<JsonReader<'a>> {
        let mut reader = JsonReader {
            stack: Vec::new(),
            string: None,
            out: Vec::with_capacity(PIECE + 1024),
            pos: 0,
        };
        reader.value(value)?;
        Ok(reader)
    }

    /// The length of `value` serialized: what `Content-Length` says.
    pub fn len(value: &Value) -> io::Result<u64> {
        io::copy(&mut JsonReader::new(value)?, &mut io::sink())
    }

    /// Start `value`: a scalar or a short string whole, else its opening.
    fn value(&mut self, value: &'a Value) -> io::Result<()> {
        match value {
            Value::Array(items) => {
                self.out.push(b'[');
                self.stack.push(Frame::Array(items.iter(), true));
            }
            Value::Object(map) => {
                self.out.push(b'{');
                self.stack.push(Frame::Object(map.iter(), true));
            }
            Value::String(s) if s.len() > PIECE => {
                self.out.push(b'"');
                self.string = Some(s);
            }
            scalar => serde_json::to_writer(&mut self.out, scalar).map_err(io::Error::other)?,
        }
        Ok(())
    }

    /// The next piece into `out`; `false` at the end.
    fn fill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        while self.out.len() < PIECE {
            if let Some(rest) = self.string {
                let mut cut = rest.len().min(PIECE);
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                let (piece, tail) = rest.split_at(cut);
                // Escaping is per character, so a string escaped piece by piece is the string
                // escaped whole; serde_json's quotes around each piece are dropped.
                let start = self.out.len();
                serde_json::to_writer(&mut self.out, piece).map_err(io::Error::other)?;
                self.out.pop();
                self.out.remove(start);
                if tail.is_empty() {
                    self.out.push(b'"');
                    self.string = None;
                } else {
                    self.string = Some(tail);
                }
                continue;
            }
            let (first, key, next) = match self.stack.last_mut() {
                None => break,
                Some(Frame::Array(items, first)) => {
                    (std::mem::replace(first, false), None, items.next())
                }
                Some(Frame::Object(entries, first)) => match entries.next() {
                    Some((k, v)) => (std::mem::replace(first, false), Some(k), Some(v)),
                    None => (false, None, None),
                },
            };
            let Some(next) = next else {
                let close = match self.stack.pop() {
                    Some(Frame::Array(..)) => b']',
                    _ => b'}',
                };
                self.out.push(close);
                continue;
            };
            if !first {
                self.out.push(b',');
            }
            if let Some(key) = key {
                serde_json::to_writer(&mut self.out, key).map_err(io::Error::other)?;
                self.out.push(b':');
            }
            self.value(next)?;
        }
        Ok(!self.out.is_empty())
    }
}

impl Read for JsonReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn streamed(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        // Small reads, so that pieces are split across reads too.
        let mut r = JsonReader::new(v).expect("start");
        let mut buf = [0u8; 1000];
        loop {
            let n = r.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    #[test]
    fn same_bytes_as_serde_json() {
        // Multi-byte characters across every piece boundary, escapes, control characters.
        let long: String = "aé\"\\\n\u{1}€😀 x".repeat(PIECE / 5);
        let cases = [
            json!(null),
            json!("short"),
            json!([]),
            json!({}),
            json!([[], {}, [[]], {"a": {}}]),
            json!({"model": "m", "n": 1.5, "t": true, "x": null, "neg": -3}),
            json!({"messages": [{"role": "user", "content": long}], "stream": true}),
            json!({"input": {"messages": [{"content": long, "role": "user"}, {"content": "b"}]},
                   "parameters": {"k": [1, 2, long]}}),
            Value::String("é".repeat(PIECE)),
            Value::String("a".repeat(PIECE + 1)),
        ];
        for v in &cases {
            let want = serde_json::to_vec(v).expect("serde_json");
            let got = streamed(v);
            assert!(got == want, "differs for a value of {} bytes", want.len());
            assert_eq!(JsonReader::len(v).expect("len"), want.len() as u64);
        }
    }
}
