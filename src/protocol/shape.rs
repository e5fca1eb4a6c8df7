//! The shape of a stream's chunks, learned from one and matched against the next.
//!
//! A stream's delta chunks differ only in a few values: the text, the token counts, perhaps
//! an id. Everything else (keys, their order, the nesting, the fields qstream skips) repeats
//! byte for byte. A [`Shape`] is a chunk the fast reader (`super::json`) has read, cut into the
//! bytes that must repeat and the *slots* between them: the strings and numbers the decoder
//! reads. Matching a chunk compares the repeated bytes (`memcmp`) and reads each slot with the
//! reader's own `string`/`u64`/`u32`, so a matched chunk fills the decoder's chunk with exactly
//! what the reader would have: the reader walks the same keys in the same order, takes the
//! same branches, steps over the same (identical, already validated) bytes, and reads the
//! slots with the same code. Anything else (a key more or less, `null` where a string was, a
//! different finish value where it is not a slot, a number that is not a plain integer, any
//! other byte) is a mismatch, and the reader (and after it serde_json) decides as before.
//!
//! What a decoder reads is said by its `classify`: for each path of the learned chunk, whether
//! the value there is skipped, a slot, an object or array the decoder builds (its `target`), a
//! value allowed only as `null`, or one that rules a shape out (errors, tool calls, ...: rare,
//! and left to the reader). Tested against the reader on every recording, on single-byte
//! edits of typical chunks and their splits (`super::tests`), and by the fuzz target
//! `fastpath`.

use std::borrow::Cow;

use super::json::Reader;

/// One step of the path to a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    Key(&'a [u8]),
    Index(usize),
}

/// What the decoder does with the value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Stepped over (validated, never kept): it must repeat byte for byte.
    Skip,
    /// A string the decoder keeps (`null` repeats as `null`).
    Str(u8),
    /// A plain unsigned integer the decoder keeps (`null` repeats as `null`).
    U64(u8),
    /// The same, read as a `u32`.
    U32(u8),
    /// An object or array the decoder builds (then its members are classified); `null`
    /// repeats as `null`.
    Build(u8),
    /// Allowed as `null` only.
    Null,
    /// No shape is learned from a chunk with this.
    Reject,
}

/// What a shape fills: a decoder's default chunk.
pub(crate) trait Fill<'a> {
    /// Build the object or array `target` (its parents are built already).
    fn build(&mut self, target: u8) -> Option<()>;
    /// Put a slot's value in its field.
    fn slot(&mut self, target: u8, value: Value<'a>) -> Option<()>;
    /// Raw bytes (between the quotes, escapes as sent) that the string in slot `target` is
    /// expected to start with: the raw bytes of a whole string read before (a cumulative
    /// stream's text so far). When it does, only what follows them is read, and the slot gets
    /// only that (`raw` says so). Empty: none.
    #[inline]
    fn known(&mut self, _target: u8) -> &[u8] {
        &[]
    }
    /// The raw bytes (between the quotes) of the string about to go into slot `target`; with
    /// `after`, only those that follow `known` (and the value is their text).
    #[inline]
    fn raw(&mut self, _target: u8, _raw: &'a str, _after: bool) {}
}

/// `a == b`, inline: the repeated runs are short (a key or two), where a call of `memcmp`
/// costs more than the comparison. Whole 16-byte blocks (SSE2) or words are compared without a
/// branch each, and the last one (overlapping the one before); runs under 8 bytes by halves.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_ne_bytes(w)
    };
    let half = |s: &[u8]| {
        let mut w = [0u8; 4];
        w.copy_from_slice(s);
        u32::from_ne_bytes(w)
    };
    #[cfg(target_arch = "x86_64")]
    if n >= 16 {
        use std::arch::x86_64::{
            __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8,
        };
        // SAFETY: SSE2 is part of every x86_64 target; each unaligned load reads exactly the
        // 16 bytes of the slice it is given.
        let eq = |x: &[u8], y: &[u8]| unsafe {
            _mm_cmpeq_epi8(
                _mm_loadu_si128(x.as_ptr().cast::<__m128i>()),
                _mm_loadu_si128(y.as_ptr().cast::<__m128i>()),
            )
        };
        // 0xff in each byte that is equal in every block so far.
        let mut all = eq(&a[n - 16..], &b[n - 16..]);
        for (x, y) in a.chunks_exact(16).zip(b.chunks_exact(16)) {
            // SAFETY: as above.
            all = unsafe { _mm_and_si128(all, eq(x, y)) };
        }
        // SAFETY: as above.
        return unsafe { _mm_movemask_epi8(all) } == 0xffff;
    }
    if n >= 8 {
        let mut diff = 0;
        for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
            diff |= word(x) ^ word(y);
        }
        return diff | (word(&a[n - 8..]) ^ word(&b[n - 8..])) == 0;
    }
    if n >= 4 {
        return (half(&a[..4]) ^ half(&b[..4])) | (half(&a[n - 4..]) ^ half(&b[n - 4..])) == 0;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// A value read from a slot.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    Str(Cow<'a, str>),
    Int(u64),
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Str,
    U64,
    U32,
}

#[derive(Debug)]
struct Slot {
    /// The end of the repeated bytes before this slot (they start where the last slot ended).
    lit_end: u32,
    /// Where this slot's value ended in the learned chunk: the next repeated bytes start there.
    value_end: u32,
    kind: Kind,
    target: u8,
    /// A string without escapes in the learned chunk: when the next chunk repeats its bytes
    /// (an id, a `"null"` finish), the value is known without reading it.
    plain: bool,
}

/// Slots in a shape at most: more is not a delta chunk.
const MAX_SLOTS: usize = 32;

#[derive(Debug)]
pub(crate) struct Shape {
    /// The learned chunk.
    bytes: Box<[u8]>,
    slots: Vec<Slot>,
    /// The objects and arrays to build, outer before inner.
    builds: Vec<u8>,
}

impl Shape {
    /// The shape of `data`, a chunk the fast reader has read; `None` when `classify` rejects
    /// something in it (or it is not the JSON the reader read).
    pub(crate) fn learn(data: &str, classify: fn(&[Step<'_>]) -> Class) -> Option<Shape> {
        let mut learner = Learner {
            path: Vec::with_capacity(8),
            slots: Vec::new(),
            builds: Vec::new(),
            classify,
        };
        let mut r = Reader::at(data, 0);
        learner.value(&mut r)?;
        r.end()?;
        Some(Shape {
            bytes: data.as_bytes().into(),
            slots: learner.slots,
            builds: learner.builds,
        })
    }

    /// Whether `data` has this shape: then `chunk` gets each object or array to build, outer
    /// first, and each slot's value, in the order of the text. A `None` from either stops the
    /// match (the caller then discards what was filled).
    #[inline]
    pub(crate) fn fill<'a, C: Fill<'a>>(&self, data: &'a str, chunk: &mut C) -> Option<()> {
        let d = data.as_bytes();
        let t = &self.bytes[..];
        // Cheap rejections first: the last bytes, then the first ones.
        let tail = self.slots.last().map_or(0, |s| s.value_end as usize);
        let tail_len = t.len() - tail;
        if d.len() < tail_len || !same(&d[d.len() - tail_len..], &t[tail..]) {
            return None;
        }
        for &b in &self.builds {
            chunk.build(b)?;
        }
        let (mut tpos, mut dpos) = (0usize, 0usize);
        for s in &self.slots {
            let lit = &t[tpos..s.lit_end as usize];
            if !same(d.get(dpos..dpos + lit.len())?, lit) {
                return None;
            }
            let at = dpos + lit.len();
            tpos = s.value_end as usize;
            if s.plain && chunk.known(s.target).is_empty() {
                // The same bytes as the learned string: a quote, plain bytes (no quote,
                // backslash or control character) and a quote, which the reader reads as
                // exactly these bytes, borrowed (and its raw bytes are its text).
                let learned = &t[s.lit_end as usize..tpos];
                let end = at + learned.len();
                if d.get(at..end).is_some_and(|v| same(v, learned)) {
                    let text = data.get(at + 1..end - 1)?;
                    chunk.raw(s.target, text, false);
                    chunk.slot(s.target, Value::Str(Cow::Borrowed(text)))?;
                    dpos = end;
                    continue;
                }
            }
            let mut r = Reader::at(data, at);
            let value = match s.kind {
                Kind::Str => {
                    let quote = r.pos_after_whitespace()?;
                    let known = chunk.known(s.target);
                    let after = !known.is_empty() && r.string_starts_with(known);
                    let start = if after { r.pos() } else { quote + 1 };
                    let text = if after { r.string_rest()? } else { r.string()? };
                    // Between `start` and the closing quote; `get` fails on a bad boundary.
                    chunk.raw(s.target, data.get(start..r.pos() - 1)?, after);
                    Value::Str(text)
                }
                Kind::U64 => Value::Int(r.u64()?),
                Kind::U32 => Value::Int(u64::from(r.u32()?)),
            };
            chunk.slot(s.target, value)?;
            dpos = r.pos();
        }
        // The repeated bytes after the last slot, checked above, must start right here.
        (dpos + tail_len == d.len()).then_some(())
    }
}

struct Learner<'a> {
    path: Vec<Step<'a>>,
    slots: Vec<Slot>,
    builds: Vec<u8>,
    classify: fn(&[Step<'_>]) -> Class,
}

impl<'a> Learner<'a> {
    /// Classifies the value at `r` (after whitespace) and consumes it.
    fn value(&mut self, r: &mut Reader<'a>) -> Option<()> {
        let class = (self.classify)(&self.path);
        let first = r.peek_byte()?;
        if first == b'n' && class != Class::Reject {
            // `null` reads as `None` (or is skipped) wherever the reader accepted it: repeated.
            return r.skip();
        }
        match class {
            Class::Skip => r.skip(),
            Class::Null | Class::Reject => None,
            Class::Str(t) => self.slot(r, Kind::Str, t),
            Class::U64(t) => self.slot(r, Kind::U64, t),
            Class::U32(t) => self.slot(r, Kind::U32, t),
            Class::Build(t) => {
                self.builds.push(t);
                match first {
                    b'{' => self.object(r),
                    b'[' => self.array(r),
                    _ => None,
                }
            }
        }
    }

    fn slot(&mut self, r: &mut Reader<'a>, kind: Kind, target: u8) -> Option<()> {
        if self.slots.len() >= MAX_SLOTS {
            return None;
        }
        let start = r.pos_after_whitespace()?;
        let plain = match kind {
            Kind::Str => matches!(r.string()?, Cow::Borrowed(_)),
            Kind::U64 => r.u64().map(|_| false)?,
            Kind::U32 => r.u32().map(|_| false)?,
        };
        self.slots.push(Slot {
            lit_end: u32::try_from(start).ok()?,
            value_end: u32::try_from(r.pos()).ok()?,
            kind,
            target,
            plain,
        });
        Some(())
    }

    fn object(&mut self, r: &mut Reader<'a>) -> Option<()> {
        r.object(|r, key| {
            self.path.push(Step::Key(key));
            let ok = self.value(r);
            self.path.pop();
            ok
        })
    }

    fn array(&mut self, r: &mut Reader<'a>) -> Option<()> {
        let mut i = 0;
        r.array(|r| {
            self.path.push(Step::Index(i));
            i += 1;
            let ok = self.value(r);
            self.path.pop();
            ok
        })
    }
}

/// Whether a shape applies to the next chunk, and when to learn another.
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    pub(crate) shape: Option<Box<Shape>>,
    /// Chunks in a row the shape did not fit: a new one is learned at the 1st, 2nd, 4th, 8th
    /// ... so that a stream of ever-different chunks costs little more than the reader.
    misses: u32,
    /// Tests compare the decoders with and without shapes.
    #[cfg(test)]
    pub(crate) off: bool,
}

impl Shapes {
    /// The chunk fitted the shape.
    #[inline]
    pub(crate) fn hit(&mut self) {
        self.misses = 0;
    }

    /// The chunk did not fit (or there is no shape): whether to learn one from it, once the
    /// reader has read it.
    #[inline]
    pub(crate) fn miss(&mut self) -> bool {
        #[cfg(test)]
        if self.off {
            return false;
        }
        self.misses = self.misses.saturating_add(1);
        self.misses.is_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_finds_a_difference_at_every_position() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!same(&a, &b), "{n} at {at}");
            }
            assert!(!same(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn learning_needs_what_the_reader_read() {
        // Nothing after the value, nothing but JSON: the learner reads the whole chunk.
        let classify = |_: &[Step<'_>]| Class::Skip;
        assert!(Shape::learn(r#"{"a":1}"#, classify).is_some());
        assert!(Shape::learn(r#"{"a":1} x"#, classify).is_none());
        assert!(Shape::learn(r#"{"a":1"#, classify).is_none());
        // A slot that is not a plain value of its kind rules the shape out.
        let number = |p: &[Step<'_>]| match p {
            [] => Class::Build(0),
            _ => Class::U64(1),
        };
        assert!(Shape::learn(r#"{"a":-1}"#, number).is_none());
        assert!(Shape::learn(r#"{"a":1.5}"#, number).is_none());
        assert!(Shape::learn(r#"{"a":null}"#, number).is_some());
    }
}
