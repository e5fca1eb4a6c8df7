//! A small validating JSON reader for the hot path of both decoders.
//!
//! serde_json is exact but general: on the ~250-byte chunks of a stream most of its time goes
//! to dispatching keys through visitors and stepping over fields qstream never reads. This
//! reader walks a chunk once, hands each key to the decoder's own `match`, validates every
//! value it steps over, and gives up (`None`) on anything out of the ordinary: an escaped key,
//! a duplicate field, a value of a type the field does not take, a number that is not a plain
//! unsigned integer where one is read, nesting deeper than [`MAX_DEPTH`], any syntax error.
//! The decoder then parses the same data with serde_json, which decides.
//!
//! So the reader never changes an answer. Whenever it returns a chunk, serde_json returns the
//! same one: tested on every recording and on mutated chunks (`tests` below), and by the
//! differential fuzz target `fuzz/fuzz_targets/fastpath.rs`.

use std::borrow::Cow;

use super::Text;

/// Deeper nesting than this is left to serde_json (whose own limit is 128).
const MAX_DEPTH: u32 = 64;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The index of the first byte at or after `i` that ends a run of plain string bytes: `"`,
/// `\` or a control character (below 0x20); `b.len()` if there is none. Sixteen bytes at a
/// time with SSE2 (x86_64's baseline), then eight at a time: a cumulative stream's texts run to
/// hundreds of kilobytes, and this scan was the decoder's largest cost on them.
#[inline]
pub(crate) fn string_end(b: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    let i = string_end_sse2(b, i);
    string_end_swar(b, i)
}

/// [`string_end`] over whole 16-byte blocks: the index of the first stop byte, or of the first
/// byte of the incomplete block at the end (the caller goes on from there).
#[cfg(target_arch = "x86_64")]
#[inline]
fn string_end_sse2(b: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // The stop bytes of one 16-byte block, as a vector (0xff where one is).
    // SAFETY (both closures): SSE2 is part of every x86_64 target; each unaligned load reads
    // exactly the 16 bytes of the slice it is given.
    let stops = |block: &[u8]| unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // max(v, 0x1f) == 0x1f exactly for the bytes 0x00..=0x1f (unsigned).
        let ctl = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl);
        _mm_or_si128(_mm_or_si128(quote, slash), control)
    };
    let mask = |v: __m128i| unsafe { _mm_movemask_epi8(v) };
    // Most strings (a delta's text, an id) end within a few blocks: those first, a block at
    // a time.
    for _ in 0..3 {
        let Some(block) = b.get(i..i + 16) else {
            break;
        };
        let m = mask(stops(block));
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    // Long strings (a cumulative stream's texts) 64 bytes per test, then 16 at a time.
    while let Some(run) = b.get(i..i + 64) {
        let (a, c) = (stops(&run[..16]), stops(&run[16..32]));
        let (d, e) = (stops(&run[32..48]), stops(&run[48..]));
        // SAFETY: as above (SSE2).
        let any = unsafe { _mm_or_si128(_mm_or_si128(a, c), _mm_or_si128(d, e)) };
        if mask(any) != 0 {
            break;
        }
        i += 64;
    }
    while let Some(block) = b.get(i..i + 16) {
        let m = mask(stops(block));
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    i
}

/// [`string_end`] eight bytes at a time in a `u64`.
#[inline]
fn string_end_swar(b: &[u8], mut i: usize) -> usize {
    while let Some(word) = b.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let v = u64::from_le_bytes(w);
        let quote = v ^ (LO * u64::from(b'"'));
        let slash = v ^ (LO * u64::from(b'\\'));
        // (x - 0x01…) & !x & 0x80… flags the zero bytes of x; (v - 0x20…) & !v & 0x80… the
        // bytes below 0x20. Each term may also flag bytes above its first hit, never below it,
        // so the lowest flag of the three is exact.
        let hits = (quote.wrapping_sub(LO) & !quote)
            | (slash.wrapping_sub(LO) & !slash)
            | (v.wrapping_sub(LO * 0x20) & !v);
        let hits = hits & HI;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

fn hex(c: u8) -> Option<u16> {
    match c {
        b'0'..=b'9' => Some(u16::from(c - b'0')),
        b'a'..=b'f' => Some(u16::from(c - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(c - b'A' + 10)),
        _ => None,
    }
}

/// A cursor over one JSON text. Every method consumes one value (or fails with `None`, after
/// which the reader must be dropped).
pub(crate) struct Reader<'a> {
    src: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Reader {
            src,
            pos: 0,
            depth: 0,
        }
    }

    /// A reader of `src` from byte `pos` on (a slot of `super::shape`).
    pub(crate) fn at(src: &'a str, pos: usize) -> Self {
        Reader { src, pos, depth: 0 }
    }

    /// Where the reader is: the byte after the last value consumed.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next byte that is not JSON whitespace, not consumed (`None` at the end).
    pub(crate) fn peek_byte(&mut self) -> Option<u8> {
        self.peek()
    }

    /// Where the next value starts, after whitespace.
    pub(crate) fn pos_after_whitespace(&mut self) -> Option<usize> {
        self.peek()?;
        Some(self.pos)
    }

    /// The next byte that is not JSON whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let b = self.src.as_bytes();
        // Compact JSON first: anything above the space is not whitespace.
        match b.get(self.pos) {
            Some(&c) if c > b' ' => return Some(c),
            None => return None,
            _ => {}
        }
        while let Some(&c) = b.get(self.pos) {
            match c {
                b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                _ => return Some(c),
            }
        }
        None
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        if self.src.as_bytes().get(self.pos..end)? == word {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    /// Nothing but whitespace is left.
    pub(crate) fn end(mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(_) => None,
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// `{"key": value, …}`: `field` gets each key (unescaped keys only) and must consume its
    /// value.
    #[inline]
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.enter()?;
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.eat(b'"')?;
            let b = self.src.as_bytes();
            let end = string_end(b, self.pos);
            if *b.get(end)? != b'"' {
                return None;
            }
            let key = &b[self.pos..end];
            self.pos = end + 1;
            self.eat(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[value, …]`: `item` must consume one value per call.
    #[inline]
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.enter()?;
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Consumes a `null` if one comes next.
    #[inline]
    pub(crate) fn null(&mut self) -> Option<bool> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// `null` or a value read by `f`, as serde reads an `Option`.
    #[inline]
    pub(crate) fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null()? {
            Some(None)
        } else {
            f(self).map(Some)
        }
    }

    /// `null` (the slot becomes `None`) or a value read by `f` into a default `T` put in the
    /// slot: built where it will stay, never moved.
    #[inline]
    pub(crate) fn opt_into<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        f: impl FnOnce(&mut Self, &mut T) -> Option<()>,
    ) -> Option<()> {
        if self.null()? {
            *slot = None;
            Some(())
        } else {
            f(self, slot.insert(T::default()))
        }
    }

    /// `null` or a string.
    #[inline]
    pub(crate) fn text(&mut self) -> Option<Option<Text<'a>>> {
        self.opt(|r| r.string().map(Text))
    }

    /// Whether a string comes next (after whitespace).
    pub(crate) fn at_string(&mut self) -> Option<bool> {
        Some(self.peek()? == b'"')
    }

    /// A string, borrowed from the input when it has no escapes.
    pub(crate) fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        self.string_rest()
    }

    /// Whether a string starts right here (no whitespace first) whose raw bytes, between the
    /// quotes, begin with `known`: then the reader moves past them, into the string, and
    /// [`string_rest`](Self::string_rest) reads what follows. `known` must be the raw bytes of
    /// a whole string read before (then it ends where an escape or a character ends, and its
    /// text is the start of this string's: a cumulative stream's texts).
    pub(crate) fn string_starts_with(&mut self, known: &[u8]) -> bool {
        let b = self.src.as_bytes();
        let from = self.pos + 1;
        if b.get(self.pos) != Some(&b'"') || b.get(from..from + known.len()) != Some(known) {
            return false;
        }
        self.pos = from + known.len();
        true
    }

    /// The rest of a string from `pos` (inside it, where a character or an escape starts) to
    /// its closing quote, borrowed from the input when it has no escapes.
    #[inline]
    pub(crate) fn string_rest(&mut self) -> Option<Cow<'a, str>> {
        let b = self.src.as_bytes();
        let start = self.pos;
        let end = string_end(b, start);
        match *b.get(end)? {
            b'"' => {
                self.pos = end + 1;
                // The end is an ASCII quote, the start one or the end of a whole string's
                // bytes (`string_starts_with`): both char boundaries (and `get` checks).
                self.src.get(start..end).map(Cow::Borrowed)
            }
            b'\\' => {
                let mut s = String::with_capacity(end - start + 16);
                s.push_str(self.src.get(start..end)?);
                self.pos = end;
                self.unescape(&mut s)?;
                Some(Cow::Owned(s))
            }
            _ => None,
        }
    }

    /// The rest of a string whose first escape is at `pos`, appended to `s`.
    fn unescape(&mut self, s: &mut String) -> Option<()> {
        let b = self.src.as_bytes();
        loop {
            match *b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(());
                }
                b'\\' => {
                    let c = *b.get(self.pos + 1)?;
                    self.pos += 2;
                    s.push(match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                _ => {
                    let end = string_end(b, self.pos);
                    if end == self.pos {
                        return None; // a control character
                    }
                    s.push_str(self.src.get(self.pos..end)?);
                    self.pos = end;
                }
            }
        }
    }

    fn hex4(&mut self) -> Option<u16> {
        let d = self.src.as_bytes().get(self.pos..self.pos + 4)?;
        let n = (hex(d[0])? << 12) | (hex(d[1])? << 8) | (hex(d[2])? << 4) | hex(d[3])?;
        self.pos += 4;
        Some(n)
    }

    /// The code point of `\uXXXX` (the `\u` already consumed), with its low surrogate when
    /// it is a high one; a lone surrogate gives up (serde_json rejects it).
    fn unicode_escape(&mut self) -> Option<char> {
        let n = self.hex4()?;
        match n {
            0xDC00..=0xDFFF => None,
            0xD800..=0xDBFF => {
                self.literal(b"\\u")?;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                let c = 0x10000 + ((u32::from(n) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                char::from_u32(c)
            }
            _ => char::from_u32(u32::from(n)),
        }
    }

    /// A plain unsigned integer (no sign, fraction or exponent: serde_json would not read
    /// those into an integer field).
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let b = self.src.as_bytes();
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return None;
        }
        let mut n = u64::from(first - b'0');
        self.pos += 1;
        if first == b'0' {
            if b.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
        } else {
            while let Some(&c) = b.get(self.pos) {
                if !c.is_ascii_digit() {
                    break;
                }
                n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                self.pos += 1;
            }
        }
        match b.get(self.pos) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(n),
        }
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// Steps over any value, validating it as serde_json's `IgnoredAny` does.
    pub(crate) fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => self.object(|r, _| r.skip()),
            b'[' => self.array(Self::skip),
            b'"' => self.skip_string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.pos += 1; // the opening quote, seen by `skip`
        let b = self.src.as_bytes();
        loop {
            let end = string_end(b, self.pos);
            match *b.get(end)? {
                b'"' => {
                    self.pos = end + 1;
                    return Some(());
                }
                b'\\' => {
                    self.pos = end + 2;
                    match *b.get(end + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        // Any four hex digits: serde_json checks surrogates only in text
                        // it keeps.
                        b'u' => {
                            self.hex4()?;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn skip_number(&mut self) -> Option<()> {
        let b = self.src.as_bytes();
        let digits = |pos: &mut usize| {
            let start = *pos;
            while b.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos > start
        };
        let mut pos = self.pos;
        if b.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match b.get(pos)? {
            b'0' => pos += 1,
            b'1'..=b'9' => {
                digits(&mut pos);
            }
            _ => return None,
        }
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            if !digits(&mut pos) {
                return None;
            }
        }
        if matches!(b.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(b.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if !digits(&mut pos) {
                return None;
            }
        }
        self.pos = pos;
        Some(())
    }
}

/// Marks a field as read; a second time gives up (serde rejects duplicate fields).
#[inline]
pub(crate) fn once(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & bit != 0 {
        None
    } else {
        *seen |= bit;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the reader makes of a value, as serde_json would see it: `Some(text)` for a value
    /// it validated (the text of a string), `None` when it gave up.
    fn read(json: &str) -> Option<String> {
        let mut r = Reader::new(json);
        let out = if r.at_string()? {
            r.string()?.into_owned()
        } else {
            r.skip()?;
            String::new()
        };
        r.end()?;
        Some(out)
    }

    #[test]
    fn string_end_finds_the_first_stop_byte_at_every_offset() {
        for len in 0..40 {
            for stop in [b'"', b'\\', 0x00, 0x1f] {
                for at in 0..=len {
                    let mut b = vec![b'a'; len];
                    // Bytes that the SWAR terms could confuse: 0x01, 0x20, 0x21, 0x5d, 0x80.
                    for (i, x) in b.iter_mut().enumerate() {
                        *x = [b'a', 0x20, 0x21, 0x5d, 0xc3, 0x7f, b'#'][i % 7];
                    }
                    if at < len {
                        b[at] = stop;
                        if at + 1 < len {
                            b[at + 1] = b'"';
                        }
                    }
                    assert_eq!(string_end(&b, 0), at, "len {len} stop {stop} at {at}");
                }
            }
        }
    }

    #[test]
    fn string_end_agrees_with_a_byte_scan_on_every_byte_value() {
        // Every byte value at every position of the vector blocks, the word and the tail,
        // from every start offset in the first block.
        let reference = |b: &[u8], i: usize| {
            (i..b.len())
                .find(|&j| b[j] == b'"' || b[j] == b'\\' || b[j] < 0x20)
                .unwrap_or(b.len())
        };
        for len in [
            0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 50, 63, 64, 65, 100, 130,
        ] {
            for at in 0..len {
                for stop in 0..=255u8 {
                    let mut b: Vec<u8> =
                        (0..len).map(|i| [b'a', 0x20, 0x80, 0xff][i % 4]).collect();
                    b[at] = stop;
                    for start in 0..len.min(17) {
                        assert_eq!(
                            string_end(&b, start),
                            reference(&b, start),
                            "len {len} byte {stop:#x} at {at} from {start}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn strings_borrow_or_unescape() {
        let mut r = Reader::new(r#""plain""#);
        assert!(matches!(r.string(), Some(Cow::Borrowed("plain"))));
        assert_eq!(
            read(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00z""#).as_deref(),
            Some("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1f600}z")
        );
        assert_eq!(read("\"\u{4e2d}\u{6587} ok\"").as_deref(), Some("中文 ok"));
    }

    #[test]
    fn gives_up_on_what_serde_json_rejects() {
        for bad in [
            "\"a\u{1}b\"",
            r#""\x""#,
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#""\u12g4""#,
            r#""open"#,
            "01",
            "1.",
            "1e",
            "-",
            "+1",
            ".5",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "",
            "1 2",
        ] {
            assert_eq!(read(bad), None, "{bad:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(bad).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn validates_what_it_skips() {
        for good in [
            "0",
            "-0",
            "12.5e-3",
            "1E+9",
            "[]",
            "{}",
            " [ true , false , null , {\"k\" : [ -1 ] } ] ",
            r#"{"a":"\ud800 lone surrogates pass when skipped"}"#,
        ] {
            assert_eq!(read(good).map(|_| ()), Some(()), "{good:?}");
            serde_json::from_str::<serde::de::IgnoredAny>(good).expect(good);
        }
    }

    #[test]
    fn integers_only_plain() {
        let int = |s: &str| {
            let mut r = Reader::new(s);
            let n = r.u64()?;
            r.end()?;
            Some(n)
        };
        assert_eq!(int("0"), Some(0));
        assert_eq!(int(" 18446744073709551615 "), Some(u64::MAX));
        // Every length, up to and past the 19 digits read without overflow checks.
        let mut n = 0u64;
        for digits in 1..=20 {
            n = n * 10 + digits % 10;
            assert_eq!(int(&n.to_string()), Some(n), "{n}");
            if let Some(more) = n.checked_mul(10).and_then(|m| m.checked_add(9)) {
                assert_eq!(int(&more.to_string()), Some(more), "{more}");
            }
        }
        assert_eq!(int("9999999999999999999"), Some(9_999_999_999_999_999_999));
        assert_eq!(
            int("10000000000000000000"),
            Some(10_000_000_000_000_000_000)
        );
        for bad in [
            "18446744073709551616",
            "99999999999999999999",
            "184467440737095516150",
            "-1",
            "1.0",
            "1e3",
            "01",
            "null",
            "\"1\"",
        ] {
            assert_eq!(int(bad), None, "{bad}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(read(&deep), None);
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(read(&ok), Some(String::new()));
    }

    // ---- Agreement with serde_json on whole chunks ----

    use super::super::fast_reader_agrees;
    use crate::cli::Protocol;

    const BOTH: [Protocol; 2] = [Protocol::Compatible, Protocol::Dashscope];

    fn fixture_datas(name: &str) -> Vec<String> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("fixture is readable");
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d).to_owned())
            .filter(|d| d != "[DONE]")
            .collect()
    }

    /// Chunks as the bench generator and the service send them, and the rarer shapes.
    const TYPICAL_COMPATIBLE: &[&str] = &[
        r#"{"choices":[{"delta":{"content":"Server-sent events"},"finish_reason":null,"index":0}],"object":"chat.completion.chunk","usage":null,"created":1726132850,"model":"qwen-plus","id":"chatcmpl-428b414f-fdd4-94c6-b179-8f576ad653a8"}"#,
        r#"{"choices":[{"delta":{"content":null,"reasoning_content":"Hm\n\"ok\" \u4e2d\ud83d\ude00"},"index":0,"finish_reason":null,"logprobs":null}],"system_fingerprint":null}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"loc"}}]}}]}"#,
        r#"{"choices":[{"delta":{"audio":{"data":"AAEC","transcript":"Hi","expires_at":1}}},{"index":1,"delta":{}}]}"#,
        r#" { "choices" : [ { "delta" : { "content" : "a" } , "finish_reason" : "stop" } ] } "#,
    ];
    const TYPICAL_DASHSCOPE: &[&str] = &[
        r#"{"output":{"choices":[{"message":{"content":" let a server push","role":"assistant"},"finish_reason":"null"}]},"usage":{"total_tokens":28,"output_tokens":2,"input_tokens":26,"prompt_tokens_details":{"cached_tokens":0}},"request_id":"d30a9914-ac97-9102-b746-ce0cb35e3fa2"}"#,
        r#"{"output":{"choices":[{"message":{"content":[{"text":"a"},{"image":"x"},{"text":"b\tc"}],"reasoning_content":"r"},"index":1,"finish_reason":"stop"}]},"usage":{"input_tokens":1,"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1}}}"#,
        r#"{"output":{"text":"plain","finish_reason":"null"},"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":null},"request_id":"r"}"#,
        r#"{"output":{"choices":[{"message":{"content":"","tool_calls":[{"function":{"name":"f","arguments":"{}"},"index":0,"id":"c","type":"function"}]},"finish_reason":"tool_calls"}]}}"#,
        r#"{"code":"InvalidParameter","message":"bad \"thing\"","request_id":"r-2"}"#,
    ];

    /// Chunks that serde_json rejects, or reads with a twist: the fast reader must give up
    /// on each or agree.
    const EDGES: &[&str] = &[
        r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
        r#"{"choices":[{"index":null,"delta":{"content":"a"}}]}"#,
        r#"{"choices":[{"index":1.0,"delta":{}}]}"#,
        r#"{"choices":[{"index":-1,"delta":{}}]}"#,
        r#"{"choices":[{"index":4294967296,"delta":{}}]}"#,
        r#"{"choices":[{"index":4294967295,"delta":{}}]}"#,
        r#"{"choices":[{"delta":{"cont\u0065nt":"escaped key"}}]}"#,
        r#"{"choices":[[0,{"content":"a"},"stop"]]}"#,
        r#"{"choices":[null]}"#,
        r#"{"choices":{}}"#,
        r#"{"choices":[{"delta":{"content":5}}]}"#,
        r#"{"choices":[{"delta":{"content":"a"}}]} x"#,
        r#"{"choices":[{"delta":{"content":"a"}}]}{}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
        r#"{"error":{"message":"m","code":"c"},"request_id":"r"}"#,
        r#"{"error":null,"choices":[]}"#,
        r#"{"unknown":{"deep":[1,2,{"x":"\ud800"}]},"choices":[]}"#,
        r#"{"output":{"choices":[{"message":{"content":[{"text":"a"},null]}}]}}"#,
        r#"{"output":{"choices":[{"message":{"content":[["a"]]}}]}}"#,
        r#"{"output":{"choices":[{"message":{"content":{"text":"a"}}}]}}"#,
        r#"{"usage":{"input_tokens":null,"output_tokens":1}}"#,
        r#"{"usage":{"input_tokens":1e2,"output_tokens":1}}"#,
        r#"{"usage":{"input_tokens":18446744073709551615,"output_tokens":1}}"#,
        r#"{"usage":{"input_tokens":1,"input_tokens":1}}"#,
        r#"{"output":null,"usage":null,"request_id":null,"code":null,"message":null}"#,
        r#"{"output":{"choices":[{"message":{"tool_calls":[{"index":"0"}]}}]}}"#,
        r#"{"output":{"choices":[{"message":{"tool_calls":[{"function":{"name":"a","name":"b"}}]}}]}}"#,
        "{\"choices\":[{\"delta\":{\"content\":\"raw\ttab\"}}]}",
        "[]",
        "",
        "null",
    ];

    fn agree(data: &str) -> bool {
        BOTH.iter().all(|&p| {
            let (agrees, _) = fast_reader_agrees(p, data);
            agrees
        })
    }

    #[test]
    fn reads_every_recorded_chunk_as_serde_json_does() {
        for (file, protocol) in [
            ("compatible_basic.sse", Protocol::Compatible),
            ("compatible_thinking.sse", Protocol::Compatible),
            ("dashscope_incremental.sse", Protocol::Dashscope),
            ("dashscope_thinking.sse", Protocol::Dashscope),
            ("dashscope_cumulative.sse", Protocol::Dashscope),
        ] {
            let datas = fixture_datas(file);
            assert!(!datas.is_empty(), "{file}");
            for data in &datas {
                let (agrees, read) = fast_reader_agrees(protocol, data);
                assert!(agrees, "{file}: {data}");
                // The fast reader leaves only the compatible usage chunk to serde_json.
                let usage_chunk = data.contains("\"usage\":{");
                assert!(
                    read || (protocol == Protocol::Compatible && usage_chunk),
                    "{file}: the fast reader gave up on {data}"
                );
            }
        }
        for data in TYPICAL_COMPATIBLE {
            assert_eq!(
                fast_reader_agrees(Protocol::Compatible, data),
                (true, true),
                "{data}"
            );
        }
        for data in TYPICAL_DASHSCOPE {
            assert_eq!(
                fast_reader_agrees(Protocol::Dashscope, data),
                (true, true),
                "{data}"
            );
        }
    }

    #[test]
    fn edge_cases_agree() {
        let mut read = 0;
        for data in EDGES {
            assert!(agree(data), "{data}");
            read += BOTH
                .iter()
                .filter(|&&p| fast_reader_agrees(p, data).1)
                .count();
        }
        // Some of them are read (not everything is left to serde_json).
        assert!(read >= 5, "{read}");
    }

    /// Every chunk one edit away from a typical one (a byte deleted, replaced or inserted,
    /// from an alphabet of JSON's structural characters): the fast reader gives up or agrees.
    // ---- Shapes (`super::super::shape`) against the reader ----
    use super::super::shape_agrees;

    #[test]
    fn shapes_fill_every_recorded_chunk_as_the_reader_does() {
        let mut fitted = 0;
        for (file, protocol) in [
            ("compatible_basic.sse", Protocol::Compatible),
            ("compatible_thinking.sse", Protocol::Compatible),
            ("dashscope_incremental.sse", Protocol::Dashscope),
            ("dashscope_thinking.sse", Protocol::Dashscope),
            ("dashscope_cumulative.sse", Protocol::Dashscope),
            ("dashscope_search.sse", Protocol::Dashscope),
            ("dashscope_search_escapes.sse", Protocol::Dashscope),
        ] {
            let datas = fixture_datas(file);
            for learned in &datas {
                for data in &datas {
                    let (agrees, fits) = shape_agrees(protocol, learned, data);
                    assert!(agrees, "{file}: learned from {learned}, applied to {data}");
                    fitted += usize::from(fits);
                }
            }
        }
        assert!(fitted > 100, "{fitted}");
    }

    #[test]
    fn shapes_agree_on_the_typical_and_edge_chunks() {
        let all: Vec<&str> = TYPICAL_COMPATIBLE
            .iter()
            .chain(TYPICAL_DASHSCOPE)
            .chain(EDGES)
            .copied()
            .collect();
        let mut fitted = 0;
        for p in BOTH {
            for learned in &all {
                for applied in &all {
                    let (agrees, fits) = shape_agrees(p, learned, applied);
                    assert!(
                        agrees,
                        "{p:?}: learned from {learned}, applied to {applied}"
                    );
                    fitted += usize::from(fits);
                }
            }
        }
        assert!(fitted > 10, "{fitted}");
    }

    /// A shape learned from a typical delta chunk, applied to every single-byte edit of it;
    /// and one learned from each edit the reader reads, applied to the chunk.
    #[test]
    fn shapes_agree_on_single_edits() {
        let (mut tried, mut fitted, mut missed) = (0usize, 0usize, 0usize);
        for (seed, protocol) in [
            (TYPICAL_COMPATIBLE[0], Protocol::Compatible),
            (TYPICAL_COMPATIBLE[1], Protocol::Compatible),
            (TYPICAL_DASHSCOPE[0], Protocol::Dashscope),
            (TYPICAL_DASHSCOPE[2], Protocol::Dashscope),
            (TYPICAL_DASHSCOPE[4], Protocol::Dashscope),
        ] {
            for data in crate::protocol::testutil::single_edits(seed) {
                tried += 1;
                for (learned, applied) in [(seed, data.as_str()), (data.as_str(), seed)] {
                    let (agrees, fits) = shape_agrees(protocol, learned, applied);
                    assert!(
                        agrees,
                        "{protocol:?}: learned from {learned}, applied to {applied}"
                    );
                    fitted += usize::from(fits);
                    missed += usize::from(!fits);
                }
            }
        }
        assert!(tried > 10_000, "{tried}");
        assert!(
            fitted > 1_000 && missed > 1_000,
            "fitted {fitted}, missed {missed}"
        );
    }

    #[test]
    fn single_edits_agree() {
        let mut seeds: Vec<&str> = Vec::new();
        seeds.extend(&TYPICAL_COMPATIBLE[..3]);
        seeds.extend(&TYPICAL_DASHSCOPE[..4]);
        let (mut tried, mut read, mut rejected) = (0usize, 0usize, 0usize);
        for seed in seeds {
            for data in crate::protocol::testutil::single_edits(seed) {
                tried += 1;
                for p in BOTH {
                    let (agrees, got) = fast_reader_agrees(p, &data);
                    assert!(agrees, "{p:?}: {data}");
                    read += usize::from(got);
                    rejected += usize::from(!got);
                }
            }
        }
        assert!(tried > 10_000, "{tried}");
        assert!(
            read > 1_000 && rejected > 1_000,
            "read {read}, gave up {rejected}"
        );
    }
}
