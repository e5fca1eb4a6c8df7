//! A small RFC 4180 reader: comma-separated fields, `"` quoting with `""` for a quote inside,
//! quoted fields that span lines, LF or CRLF line ends, a UTF-8 byte order mark skipped.
//!
//! Written here rather than taken from the `csv` crate: map needs one record at a time with the
//! line it started on, nothing more (no type decoding, no other dialects), and the whole reader
//! is shorter than the glue to adapt that crate's errors and positions.

use std::io::BufRead;

/// One record and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

/// Records from a reader, one at a time.
pub struct CsvReader<R> {
    input: R,
    /// The next line to read (1-based).
    line: u64,
    started: bool,
    buf: Vec<u8>,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(input: R) -> Self {
        CsvReader {
            input,
            line: 1,
            started: false,
            buf: Vec::new(),
        }
    }

    /// The next record; `Ok(None)` at the end. Blank lines between records are skipped.
    /// Errors carry the line they were found on.
    pub fn next_record(&mut self) -> Result<Option<Record>, (u64, String)> {
        loop {
            let start = self.line;
            let mut fields = Vec::new();
            let mut field = Vec::new();
            let mut quoted = false;
            // Whether the current field began with a quote and is inside it.
            let mut in_quotes = false;
            let mut any = false;
            loop {
                self.buf.clear();
                let n = self
                    .input
                    .read_until(b'\n', &mut self.buf)
                    .map_err(|e| (self.line, format!("cannot read: {e}")))?;
                if n == 0 {
                    if in_quotes {
                        return Err((start, "a quoted field is not closed".to_owned()));
                    }
                    if !any {
                        return Ok(None);
                    }
                    break;
                }
                let mut bytes = &self.buf[..];
                if !self.started {
                    self.started = true;
                    bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
                }
                self.line += 1;
                let ends_line = bytes.last() == Some(&b'\n');
                let mut i = 0;
                while i < bytes.len() {
                    let b = bytes[i];
                    if in_quotes {
                        if b == b'"' {
                            if bytes.get(i + 1) == Some(&b'"') {
                                field.push(b'"');
                                i += 1;
                            } else {
                                in_quotes = false;
                            }
                        } else {
                            field.push(b);
                        }
                    } else {
                        match b {
                            b'"' if field.is_empty() && !quoted => {
                                quoted = true;
                                in_quotes = true;
                            }
                            b'"' => {
                                return Err((
                                    self.line - 1,
                                    "a quote inside an unquoted field (quote the field and double the quote)"
                                        .to_owned(),
                                ))
                            }
                            b',' => {
                                fields.push(text(std::mem::take(&mut field), self.line - 1)?);
                                quoted = false;
                            }
                            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {}
                            b'\n' => {}
                            _ if quoted => {
                                return Err((
                                    self.line - 1,
                                    "text after a quoted field's closing quote".to_owned(),
                                ))
                            }
                            _ => field.push(b),
                        }
                    }
                    any = true;
                    i += 1;
                }
                if !in_quotes && ends_line {
                    break;
                }
                if !in_quotes && !ends_line {
                    // The last line, without a line end.
                    break;
                }
            }
            let blank = fields.is_empty() && field.is_empty() && !quoted;
            if blank {
                if !any {
                    return Ok(None);
                }
                // A blank line: no record.
                continue;
            }
            fields.push(text(field, start)?);
            return Ok(Some(Record {
                line: start,
                fields,
            }));
        }
    }
}

fn text(bytes: Vec<u8>, line: u64) -> Result<String, (u64, String)> {
    String::from_utf8(bytes).map_err(|_| (line, "not valid UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut r = CsvReader::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push((rec.line, rec.fields));
        }
        out
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rfc4180_records() {
        let got =
            all("\u{feff}id,text\r\n1,\"a, \"\"quoted\"\"\r\nline\"\r\n\r\n2,plain\n3,\n,\"\"");
        assert_eq!(
            got,
            vec![
                (1, v(&["id", "text"])),
                (2, v(&["1", "a, \"quoted\"\r\nline"])),
                (5, v(&["2", "plain"])),
                (6, v(&["3", ""])),
                (7, v(&["", ""])),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let mut r = CsvReader::new("a,b\n1,\"open\n2,x\n".as_bytes());
        assert_eq!(r.next_record().unwrap().unwrap().line, 1);
        assert_eq!(r.next_record().unwrap_err().0, 2);
        let mut r = CsvReader::new("a,b\n1,x\"y\n".as_bytes());
        r.next_record().unwrap();
        assert_eq!(r.next_record().unwrap_err().0, 2);
        let mut r = CsvReader::new("\"a\"b\n".as_bytes());
        assert_eq!(r.next_record().unwrap_err().0, 1);
    }
}
