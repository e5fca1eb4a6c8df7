//! Server-sent events, decoded from bytes as the WHATWG spec says.
//!
//! The decoder is push-based: hand it whatever a read returned and it calls back once per
//! dispatched event. It never needs the stream to be split at line boundaries, keeps a CR that
//! ends one read in mind for the LF that may start the next, strips a BOM only at the very start
//! (also when it arrives a byte at a time) and decodes each finished line as UTF-8 with
//! replacement, so a code point split across reads stays intact.
//!
//! Lines are sliced straight out of the input where they are whole; only a line that straddles
//! two reads is copied, into one buffer that is reused. A line (or an event's data) longer than
//! the cap is an error, so memory stays bounded whatever the server sends.

use memchr::memchr2;

use crate::protocol::shape::same;

/// Longest line or event payload accepted, in bytes.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// One dispatched event, borrowed from the decoder until the callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The last event ID (persists across events; "" when none was set).
    pub id: &'a str,
    /// The event type; "message" when the block named none.
    pub event: &'a str,
    pub data: &'a str,
    /// The status from the last `:HTTP_STATUS/NNN` comment seen in this block (DashScope).
    pub status: Option<u16>,
    /// Whether the block had an `event:` field; the type is "message" either way.
    pub typed: bool,
}

/// The stream broke a limit of the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong {
    pub limit: usize,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SSE line or event longer than {} bytes", self.limit)
    }
}

impl std::error::Error for LineTooLong {}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `std::str::from_utf8`, with the ASCII run at the start checked 64 bytes at a time (SSE2 on
/// x86_64): a stream is mostly ASCII JSON, and std's check was a tenth of the time of a
/// cumulative stream. Whatever follows the run (Chinese text, say) is std's to check.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let ascii = ascii_prefix(bytes);
    match std::str::from_utf8(&bytes[ascii..]) {
        // SAFETY: `bytes[..ascii]` is ASCII and `bytes[ascii..]` is UTF-8; a sequence cannot
        // span the two (an ASCII byte is a whole character), so `bytes` is UTF-8.
        Ok(_) => Ok(unsafe { std::str::from_utf8_unchecked(bytes) }),
        // Checked again as a whole, for the error's position in `bytes`.
        Err(_) => std::str::from_utf8(bytes),
    }
}

/// How many bytes at the start of `bytes` are ASCII, to a multiple of 16 (the rest is left
/// to std).
#[inline]
fn ascii_prefix(bytes: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128};
        // SAFETY: SSE2 is part of every x86_64 target; each unaligned load reads exactly the
        // 16 bytes of the slice it is given.
        let load = |b: &[u8]| unsafe { _mm_loadu_si128(b.as_ptr().cast::<__m128i>()) };
        let mut i = 0;
        while let Some(run) = bytes.get(i..i + 64) {
            let (a, b) = (load(&run[..16]), load(&run[16..32]));
            let (c, d) = (load(&run[32..48]), load(&run[48..]));
            // SAFETY: as above. The top bit of each byte: set only outside ASCII.
            let high =
                unsafe { _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) };
            if high != 0 {
                break;
            }
            i += 64;
        }
        while let Some(block) = bytes.get(i..i + 16) {
            // SAFETY: as above.
            if unsafe { _mm_movemask_epi8(load(block)) } != 0 {
                break;
            }
            i += 16;
        }
        i
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = bytes;
        0
    }
}

/// Bytes decoded as UTF-8, invalid sequences replaced by U+FFFD. The strict check first: it
/// is much faster on the valid text that nearly every line is.
fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The text of a field's `value`, which ends its line of `line_len` bytes: sliced from the
/// line's already checked text when there is one, else decoded here.
fn value_text<'v>(
    checked: Option<&'v str>,
    line_len: usize,
    value: &'v [u8],
) -> std::borrow::Cow<'v, str> {
    match checked.and_then(|t| t.get(line_len - value.len()..)) {
        Some(t) => std::borrow::Cow::Borrowed(t),
        None => lossy(value),
    }
}

/// The index of the first CR or LF in `input`. Most lines are short (`id:7`, `event:result`,
/// `:HTTP_STATUS/200`): the first 32 bytes are looked at 16 at a time (SSE2 on x86_64, a word
/// at a time elsewhere), inline, and only a longer line pays for memchr's vector setup.
#[inline]
fn line_end(input: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        for (n, block) in input.chunks_exact(16).take(2).enumerate() {
            // SAFETY: SSE2 is part of every x86_64 target; the unaligned load reads exactly
            // the 16 bytes of the block.
            let hits = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                let lf = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
                let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
                _mm_movemask_epi8(_mm_or_si128(lf, cr))
            };
            if hits != 0 {
                return Some(n * 16 + hits.trailing_zeros() as usize);
            }
        }
        let seen = (input.len() / 16).min(2) * 16;
        memchr2(b'\n', b'\r', &input[seen..]).map(|i| seen + i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        for (n, word) in input.chunks_exact(8).take(3).enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let v = u64::from_le_bytes(w);
            let lf = v ^ (LO * u64::from(b'\n'));
            let cr = v ^ (LO * u64::from(b'\r'));
            // Zero bytes of `lf` or `cr`; the lowest flag is exact (see `protocol::json`).
            let hits = ((lf.wrapping_sub(LO) & !lf) | (cr.wrapping_sub(LO) & !cr)) & HI;
            if hits != 0 {
                return Some(n * 8 + (hits.trailing_zeros() / 8) as usize);
            }
        }
        let seen = (input.len() / 8).min(3) * 8;
        memchr2(b'\n', b'\r', &input[seen..]).map(|i| seen + i)
    }
}

/// The status of a `:HTTP_STATUS/NNN` comment: digits read directly in the common case, the
/// general (trimmed, `u16`) parse otherwise.
fn status_code(code: &[u8]) -> Option<u16> {
    if let [a, b, c] = *code {
        if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() {
            let d = |x: u8| u16::from(x - b'0');
            return Some(d(a) * 100 + d(b) * 10 + d(c));
        }
    }
    if (1..=4).contains(&code.len()) && code.iter().all(u8::is_ascii_digit) {
        return Some(code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0')));
    }
    std::str::from_utf8(code)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

#[derive(Debug)]
pub struct SseDecoder {
    max_line: usize,
    /// Bytes of a line that has not ended yet.
    partial: Vec<u8>,
    /// The previous input ended with CR: an LF at the start of the next one belongs to it.
    pending_cr: bool,
    /// Bytes seen so far of a possible leading BOM (0..=3); `None` once decided.
    bom_seen: Option<usize>,
    data: String,
    has_data: bool,
    event: String,
    typed: bool,
    last_id: String,
    status: Option<u16>,
    retry: Option<u64>,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl SseDecoder {
    pub fn new(max_line: usize) -> Self {
        SseDecoder {
            max_line,
            partial: Vec::new(),
            pending_cr: false,
            bom_seen: Some(0),
            data: String::new(),
            has_data: false,
            event: String::new(),
            typed: false,
            last_id: String::new(),
            status: None,
            retry: None,
        }
    }

    /// The reconnection time the stream asked for, if any (qstream does not reconnect; for
    /// tests).
    #[doc(hidden)]
    pub fn retry(&self) -> Option<u64> {
        self.retry
    }

    /// Feed the bytes of one read; `on_event` is called for each event dispatched.
    ///
    /// ```
    /// use qstream::sse::{LineTooLong, SseDecoder};
    ///
    /// let mut decoder = SseDecoder::default();
    /// let mut seen = Vec::new();
    /// // Reads may split lines, CRLF pairs and code points anywhere.
    /// for read in [&b"id:7\r"[..], b"\nevent:result\n:HTTP_STATUS/200\ndata:\xE4\xB8", b"\x96\n\n"] {
    ///     decoder
    ///         .feed::<LineTooLong>(read, &mut |e| {
    ///             seen.push((e.id.to_owned(), e.event.to_owned(), e.data.to_owned(), e.status));
    ///             Ok(())
    ///         })
    ///         .expect("within the cap");
    /// }
    /// assert_eq!(seen, [("7".into(), "result".into(), "世".into(), Some(200))]);
    /// ```
    pub fn feed<E>(
        &mut self,
        mut input: &[u8],
        on_event: &mut dyn FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<LineTooLong>,
    {
        if input.is_empty() {
            // Nothing to say, and a CR pending from the last read must stay pending.
            return Ok(());
        }
        if let Some(seen) = self.bom_seen {
            // Match the BOM byte by byte so that it may arrive split across reads.
            let mut seen = seen;
            while seen < BOM.len() {
                match input.first() {
                    None => {
                        self.bom_seen = Some(seen);
                        return Ok(());
                    }
                    Some(&b) if b == BOM[seen] => {
                        seen += 1;
                        input = &input[1..];
                    }
                    Some(_) => {
                        // Not a BOM after all: whatever matched so far is line content.
                        self.partial.extend_from_slice(&BOM[..seen]);
                        break;
                    }
                }
            }
            self.bom_seen = None;
        }
        if self.pending_cr {
            self.pending_cr = false;
            if input.first() == Some(&b'\n') {
                input = &input[1..];
            }
        }
        // This read up to its last line end, checked as UTF-8 in one pass: a `data:` line in it
        // needs no check of its own. (A code point cut by the end of the read lies after the
        // last line end; it is checked with its line.)
        let whole = input;
        let checked = match memchr::memrchr2(b'\n', b'\r', whole) {
            Some(last) => match utf8(&whole[..=last]) {
                Ok(text) => text,
                Err(e) => std::str::from_utf8(&whole[..e.valid_up_to()]).unwrap_or(""),
            },
            None => "",
        };
        while !input.is_empty() {
            match line_end(input) {
                None => {
                    if self.partial.len() + input.len() > self.max_line {
                        return Err(LineTooLong {
                            limit: self.max_line,
                        }
                        .into());
                    }
                    self.partial.extend_from_slice(input);
                    return Ok(());
                }
                Some(end) => {
                    let line_end = input[end];
                    if self.partial.len() + end > self.max_line {
                        return Err(LineTooLong {
                            limit: self.max_line,
                        }
                        .into());
                    }
                    // A DashScope field line (`id:`, `event:`, `:HTTP_STATUS/`) whole in this
                    // read is handled here; any other line goes on below.
                    let field = self.partial.is_empty() && self.field_line(&input[..end]);
                    // The line's bytes in this read, as checked text (`None`: not checked).
                    let text = if field {
                        None
                    } else {
                        checked
                            .get(whole.len() - input.len()..)
                            .and_then(|t| t.get(..end))
                    };
                    if field {
                        // Done.
                    } else if self.partial.is_empty() {
                        let after = &input[end..];
                        if let Some(used) =
                            self.single_line_event(&input[..end], text, after, on_event)?
                        {
                            input = &input[end + used..];
                            continue;
                        }
                        self.line(&input[..end], text, on_event)?;
                    } else {
                        // A line cut by the end of a read (a cumulative stream's long lines):
                        // only the bytes of the earlier reads are checked here, and an event
                        // whose blank line follows is dispatched from this buffer.
                        let mut line = std::mem::take(&mut self.partial);
                        let valid = text.is_some() && utf8(&line).is_ok();
                        line.extend_from_slice(&input[..end]);
                        // SAFETY: `line` was UTF-8 (just checked) and what was appended is
                        // `text`, a `str`: two UTF-8 strings one after the other are UTF-8.
                        let joined = valid.then(|| unsafe { std::str::from_utf8_unchecked(&line) });
                        let result =
                            match self.single_line_event(&line, joined, &input[end..], on_event) {
                                Ok(Some(used)) => Ok(Some(used)),
                                Ok(None) => self.line(&line, joined, on_event).map(|()| None),
                                Err(e) => Err(e),
                            };
                        line.clear();
                        self.partial = line;
                        if let Some(used) = result? {
                            input = &input[end + used..];
                            continue;
                        }
                    }
                    input = &input[end + 1..];
                    if line_end == b'\r' {
                        match input.first() {
                            Some(b'\n') => input = &input[1..],
                            Some(_) => {}
                            None => self.pending_cr = true,
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The lines DashScope sends before each `data:` (`id:7`, `event:result` as the last
    /// block named it, `:HTTP_STATUS/200`), whole in the read, handled as `line` would handle
    /// them for a fraction of its cost; `false` (nothing changed) for anything else.
    #[inline(always)]
    fn field_line(&mut self, line: &[u8]) -> bool {
        match line.first() {
            Some(b':') => match line.strip_prefix(b":HTTP_STATUS/") {
                Some(code) => {
                    self.status = status_code(code);
                    true
                }
                None => false,
            },
            Some(b'i') => {
                let Some(id) = line.strip_prefix(b"id:") else {
                    return false;
                };
                // Digits: no NUL, no leading space, the same bytes as text.
                if id.is_empty() || id.len() > 20 || !id.iter().all(u8::is_ascii_digit) {
                    return false;
                }
                // SAFETY: ASCII digits (checked above) are UTF-8.
                let id = unsafe { std::str::from_utf8_unchecked(id) };
                // The id changes with every event: copied without comparing first.
                self.last_id.clear();
                self.last_id.push_str(id);
                true
            }
            Some(b'e') => match line.strip_prefix(b"event:") {
                // The same type as the last block: only `typed` changes.
                Some(kind) if kind.first() != Some(&b' ') && same(kind, self.event.as_bytes()) => {
                    self.typed = true;
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The common case, a `data: …` `line` with nothing before it in its event, its end and a
    /// blank line at the start of `after`: dispatched straight from `line` without copying the
    /// data. `checked` is `line` as text, if it was checked. Returns the bytes of `after` used,
    /// or `None` to take the general path.
    fn single_line_event<E>(
        &mut self,
        line: &[u8],
        checked: Option<&str>,
        after: &[u8],
        on_event: &mut dyn FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<Option<usize>, E> {
        let end = line.len();
        if self.has_data || end > self.max_line {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(b"data") else {
            return Ok(None);
        };
        let value = match rest.split_first() {
            None => rest,
            Some((b':', v)) => v.strip_prefix(b" ").unwrap_or(v),
            Some(_) => return Ok(None),
        };
        let used = match (after.first(), after.get(1..4)) {
            (Some(b'\n'), _) if after.get(1) == Some(&b'\n') => 2,
            (Some(b'\r'), Some(b"\n\r\n")) => 4,
            _ => return Ok(None),
        };
        let data = match checked.and_then(|t| t.get(end - value.len()..)) {
            Some(data) => data,
            None => match std::str::from_utf8(value) {
                Ok(data) => data,
                Err(_) => return Ok(None),
            },
        };
        let result = on_event(SseEvent {
            id: &self.last_id,
            event: self.event_type(),
            data,
            status: self.status,
            typed: self.typed,
        });
        self.typed = false;
        self.status = None;
        result.map(|()| Some(used))
    }

    fn event_type(&self) -> &str {
        if self.typed && !self.event.is_empty() {
            &self.event
        } else {
            "message"
        }
    }

    /// One line, without its end. `checked` is the same line as text when the read it came
    /// from was already checked as UTF-8 (`None`: check it here).
    fn line<E>(
        &mut self,
        line: &[u8],
        checked: Option<&str>,
        on_event: &mut dyn FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<LineTooLong>,
    {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == b':' {
            // A comment; DashScope puts the status of the event in one.
            if let Some(code) = line.strip_prefix(b":HTTP_STATUS/") {
                self.status = status_code(code);
            }
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let text = |value| value_text(checked, line.len(), value);
        match name {
            b"data" => {
                // Invalid UTF-8 grows as it is replaced, so the cap applies to the text.
                let text = text(value);
                if self.data.len() + usize::from(self.has_data) + text.len() > self.max_line {
                    return Err(LineTooLong {
                        limit: self.max_line,
                    }
                    .into());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&text);
                self.has_data = true;
            }
            // The type buffer outlives its event (`typed` says whether this block set it), so
            // that a stream naming every event alike never copies the name again.
            b"event" => {
                if self.event.as_bytes() != value {
                    self.event.clear();
                    self.event.push_str(&text(value));
                }
                self.typed = true;
            }
            // An ID with a NUL in it is ignored, as the spec says.
            b"id" if value.iter().all(|&b| b != 0) && self.last_id.as_bytes() != value => {
                self.last_id.clear();
                self.last_id.push_str(&text(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // A number too large for u64 is ignored, like any other bad value.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut dyn FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = if self.has_data {
            on_event(SseEvent {
                id: &self.last_id,
                event: self.event_type(),
                data: &self.data,
                status: self.status,
                typed: self.typed,
            })
        } else {
            Ok(())
        };
        self.data.clear();
        self.has_data = false;
        self.typed = false;
        self.status = None;
        result
    }

    /// Whether bytes of an event that was never dispatched are still held (a stream cut
    /// mid-event). The spec discards such an event; callers may want to say so (for tests).
    #[doc(hidden)]
    pub fn has_pending(&self) -> bool {
        self.has_data || !self.partial.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_agrees_with_std_at_every_position_of_the_ascii_run() {
        // A non-ASCII byte (valid or not) or a cut sequence at every position of the 64- and
        // 16-byte runs and the tail: the same answer, and the same error position, as std.
        let pieces: [&[u8]; 6] = [
            b"\xc3\xa9",
            b"\xe4\xb8\x96",
            b"\xff",
            b"\xc3",
            b"\xed\xa0\x80",
            b"\x7f",
        ];
        for len in [0, 15, 16, 17, 63, 64, 65, 80, 130, 200] {
            for at in 0..=len {
                for piece in pieces {
                    let mut b = vec![b'a'; len];
                    b.splice(at..at, piece.iter().copied());
                    let (ours, std) = (utf8(&b), std::str::from_utf8(&b));
                    assert_eq!(ours.is_ok(), std.is_ok(), "{len} {at} {piece:?}");
                    if let (Err(o), Err(s)) = (ours, std) {
                        assert_eq!(o.valid_up_to(), s.valid_up_to(), "{len} {at} {piece:?}");
                    }
                }
            }
        }
    }

    #[derive(Debug, PartialEq)]
    struct Owned {
        id: String,
        event: String,
        data: String,
    }

    fn decode_chunks(chunks: &[&[u8]]) -> Vec<Owned> {
        let mut dec = SseDecoder::default();
        let mut out = Vec::new();
        for c in chunks {
            dec.feed::<LineTooLong>(c, &mut |e| {
                out.push(Owned {
                    id: e.id.into(),
                    event: e.event.into(),
                    data: e.data.into(),
                });
                Ok(())
            })
            .expect("within limits");
        }
        out
    }

    #[test]
    fn line_end_finds_the_first_cr_or_lf() {
        for len in 0..70 {
            for at in 0..=len {
                for stop in [b'\n', b'\r'] {
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| [b'a', 0x0b, 0x0c, 0x0e, 0x8d][i % 5])
                        .collect();
                    if at < len {
                        b[at] = stop;
                        if at + 1 < len {
                            b[at + 1] = b'\n';
                        }
                    }
                    let want = (at < len).then_some(at);
                    assert_eq!(line_end(&b), want, "len {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn status_codes_fast_and_general() {
        assert_eq!(status_code(b"200"), Some(200));
        assert_eq!(status_code(b"0429"), Some(429));
        assert_eq!(status_code(b" 500 "), Some(500));
        assert_eq!(status_code(b"+200"), Some(200));
        assert_eq!(status_code(b"65535"), Some(65535));
        assert_eq!(status_code(b"70000"), None);
        assert_eq!(status_code(b""), None);
        assert_eq!(status_code(b"2x0"), None);
    }

    #[test]
    fn event_type_and_id_do_not_leak_or_go_stale() {
        let out = decode_chunks(&[
            b"id:1\nevent:result\ndata:a\n\ndata:b\n\nevent:result\ndata:c\n\n",
            b"id:2\nevent:error\ndata:d\n\nevent:\ndata:e\n\nid:\nevent:result\ndata:f\n\n",
        ]);
        let got: Vec<_> = out
            .iter()
            .map(|o| (o.id.as_str(), o.event.as_str(), o.data.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("1", "result", "a"),
                ("1", "message", "b"),
                ("1", "result", "c"),
                ("2", "error", "d"),
                ("2", "message", "e"),
                ("", "result", "f"),
            ]
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn cases() -> Vec<serde_json::Value> {
        let text = include_str!("../tests/fixtures/sse_cases.json");
        serde_json::from_str(text).expect("sse_cases.json parses")
    }

    fn case_input(case: &serde_json::Value) -> (Vec<u8>, Option<Vec<Vec<u8>>>) {
        let input = if let Some(h) = case["bytes_hex"].as_str() {
            hex(h)
        } else if let Some(h) = case["input_hex"].as_str() {
            hex(h)
        } else {
            case["input"].as_str().expect("input").as_bytes().to_vec()
        };
        let chunks = if let Some(cs) = case["chunks"].as_array() {
            Some(
                cs.iter()
                    .map(|c| c.as_str().expect("chunk").as_bytes().to_vec())
                    .collect(),
            )
        } else {
            case["chunks_hex"].as_array().map(|cs| {
                cs.iter()
                    .map(|c| hex(c.as_str().expect("chunk hex")))
                    .collect()
            })
        };
        (input, chunks)
    }

    fn expected(case: &serde_json::Value) -> Vec<Owned> {
        case["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| Owned {
                id: e["id"].as_str().expect("id").into(),
                event: e["event"].as_str().expect("event").into(),
                data: e["data"].as_str().expect("data").into(),
            })
            .collect()
    }

    #[test]
    fn conformance_cases_whole_chunked_and_bytewise() {
        let cases = cases();
        assert!(cases.len() >= 20);
        for case in &cases {
            let name = case["name"].as_str().unwrap_or("?");
            let (input, chunks) = case_input(case);
            let want = expected(case);
            assert_eq!(decode_chunks(&[&input]), want, "{name}: whole input");
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(decode_chunks(&bytes), want, "{name}: one byte per read");
            for size in [2, 3, 7] {
                let parts: Vec<&[u8]> = input.chunks(size).collect();
                assert_eq!(decode_chunks(&parts), want, "{name}: {size}-byte reads");
            }
            if let Some(chunks) = chunks {
                let parts: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
                assert_eq!(parts.concat(), input, "{name}: chunks add up to the input");
                assert_eq!(decode_chunks(&parts), want, "{name}: given read boundaries");
            }
        }
    }

    #[test]
    fn empty_reads_change_nothing() {
        let input = b"data: a\r\ndata: b\rdata: c\n\r\n";
        let mut parts: Vec<&[u8]> = Vec::new();
        for i in 0..input.len() {
            parts.push(&input[i..i + 1]);
            parts.push(b"");
        }
        assert_eq!(decode_chunks(&parts), decode_chunks(&[input]));
    }

    #[test]
    fn retry_field_is_kept() {
        let mut dec = SseDecoder::default();
        dec.feed::<LineTooLong>(
            b"retry: 500\n\nretry:\nretry: x1\nretry: 99999999999999999999\n\n",
            &mut |_| Ok(()),
        )
        .expect("ok");
        assert_eq!(dec.retry(), Some(500));
    }

    #[test]
    fn http_status_comment_is_attached_to_its_event_only() {
        let input = b"id:1\nevent:error\n:HTTP_STATUS/429\ndata:{}\n\ndata:x\n\n";
        let mut got = Vec::new();
        SseDecoder::default()
            .feed::<LineTooLong>(input, &mut |e| {
                got.push((e.event.to_string(), e.status, e.typed, e.id.to_string()));
                Ok(())
            })
            .expect("ok");
        assert_eq!(
            got,
            vec![
                ("error".to_string(), Some(429), true, "1".to_string()),
                ("message".to_string(), None, false, "1".to_string())
            ]
        );
    }

    /// DashScope's field lines (`id:`, `event:`, `:HTTP_STATUS/`) and near misses, each
    /// block fed whole (the lines whole in a read: `field_line`) and a byte per read (every
    /// line cut: `line` alone): the same events, ids, types, statuses.
    #[test]
    fn field_lines_decode_as_the_general_path_does() {
        let fields: &[&[u8]] = &[
            b"id:7",
            b"id:8",
            b"id:8",
            b"id: 9",
            b"id:",
            b"id:12a",
            b"id:123456789012345678901",
            b"id:\x001",
            b"id",
            b"idx:1",
            b"event:result",
            b"event:result",
            b"event: result",
            b"event:error",
            b"event:",
            b"event",
            b":HTTP_STATUS/200",
            b":HTTP_STATUS/500",
            b":HTTP_STATUS/2000",
            b":HTTP_STATUS/ 200",
            b":HTTP_STATUS/",
            b":HTTP_STATUS/2x0",
            b":HTTP_STATUS",
            b":comment",
            b"retry:5",
        ];
        let decode = |input: &[u8], bytewise: bool| {
            let mut dec = SseDecoder::default();
            let mut got = Vec::new();
            let mut on = |e: SseEvent<'_>| {
                got.push(format!("{e:?}"));
                Ok(())
            };
            if bytewise {
                for b in input.chunks(1) {
                    dec.feed::<LineTooLong>(b, &mut on).expect("ok");
                }
            } else {
                dec.feed::<LineTooLong>(input, &mut on).expect("ok");
            }
            (got, dec.retry(), dec.has_pending())
        };
        let mut input = Vec::new();
        for (i, a) in fields.iter().enumerate() {
            for b in fields.iter().skip(i % 3) {
                for end in [&b"\n"[..], b"\r\n", b"\r"] {
                    for block in [&[*a, *b][..], &[*b, *a, *b]] {
                        for line in block {
                            input.extend_from_slice(line);
                            input.extend_from_slice(end);
                        }
                        input.extend_from_slice(b"data:{}\n\n");
                    }
                }
            }
        }
        let (whole, bytewise) = (decode(&input, false), decode(&input, true));
        assert!(whole.0.len() > 1000, "{}", whole.0.len());
        assert_eq!(whole, bytewise);
    }

    #[test]
    fn long_lines_fail_at_the_cap_with_bounded_memory() {
        let mut dec = SseDecoder::new(1024);
        let chunk = [b'a'; 100];
        let mut err = None;
        let _ = dec.feed::<LineTooLong>(b"data: ", &mut |_| Ok(()));
        for _ in 0..100 {
            if let Err(e) = dec.feed::<LineTooLong>(&chunk, &mut |_| Ok(())) {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err, Some(LineTooLong { limit: 1024 }));
        assert!(dec.partial.capacity() <= 4096);
        // Many short data lines in one event are capped too.
        let mut dec = SseDecoder::new(64);
        let many = b"data: 0123456789\n".repeat(10);
        assert!(dec.feed::<LineTooLong>(&many, &mut |_| Ok(())).is_err());
        // The cap is on the text: invalid bytes grow threefold when replaced.
        let mut dec = SseDecoder::new(64);
        let mut line = b"data: ".to_vec();
        line.extend_from_slice(&[0xFF; 30]);
        line.extend_from_slice(b"\n\n");
        assert!(dec.feed::<LineTooLong>(&line, &mut |_| Ok(())).is_err());
        // A long line fails the same whether it arrives whole or a byte at a time.
        let long = [b"event: ".as_slice(), &[b'x'; 100], b"\ndata: x\n\n"].concat();
        assert!(SseDecoder::new(64)
            .feed::<LineTooLong>(&long, &mut |_| Ok(()))
            .is_err());
    }

    #[test]
    fn pending_reports_an_unterminated_event() {
        let mut dec = SseDecoder::default();
        dec.feed::<LineTooLong>(b"data: x\n", &mut |_| Ok(()))
            .expect("ok");
        assert!(dec.has_pending());
        dec.feed::<LineTooLong>(b"\n", &mut |_| Ok(())).expect("ok");
        assert!(!dec.has_pending());
    }

    /// Events with their status, for comparing decodes of the same bytes read differently.
    fn decode_reads(reads: &[&[u8]]) -> Vec<(String, String, String, Option<u16>)> {
        let mut dec = SseDecoder::default();
        let mut out = Vec::new();
        for read in reads {
            dec.feed::<LineTooLong>(read, &mut |e| {
                out.push((e.id.into(), e.event.into(), e.data.into(), e.status));
                Ok(())
            })
            .expect("within limits");
        }
        out
    }

    /// Lines cut between reads (dispatched from the joined line, checked only in the part from
    /// the earlier reads) decode as when whole: at every split into two reads and at pairs of
    /// splits into three, with multibyte characters cut, invalid bytes, CRLF, an event of two
    /// data lines and one whose blank line is in the next read.
    #[test]
    fn lines_cut_between_reads_decode_as_whole_ones() {
        let stream: &[u8] = b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"a\":\"\xd0\xaf \xe4\xb8\xad\xf0\x9f\x8d\x8e\"}\n\n\
id:2\r\nevent:result\r\ndata:\xe4\xb8\xad\xe6\x96\x87 text \xf0\x9f\x98\x80\r\n\r\n\
data: one\ndata: two \xc3\xa9\n\n\
data:bad \xff\xfe bytes\n\n\
data:\xe4\xb8\xad\n\ndata:last \xf0\x9f\x8d\x8e\n\n";
        let want = decode_reads(&[stream]);
        assert_eq!(want.len(), 6);
        assert_eq!(want, decode_reads(&stream.chunks(1).collect::<Vec<_>>()));
        for a in 0..=stream.len() {
            assert_eq!(
                decode_reads(&[&stream[..a], &stream[a..]]),
                want,
                "split at {a}"
            );
            for b in (a..=stream.len()).step_by(3) {
                let reads = [&stream[..a], &stream[a..b], &stream[b..]];
                assert_eq!(decode_reads(&reads), want, "split at {a} and {b}");
            }
        }
    }
}
