//! The API key is never written anywhere: not in an error, a notice, the answer, `--json`,
//! `--raw`, `--stats` or the `--record` file, even when a server echoes it back. Every writer
//! passes what came from the network through here.
//!
//! Text that arrives in pieces (deltas, reads) goes through a streaming [`Redactor`]: it holds
//! back only a tail that could be the start of the key and writes everything else at once, so
//! ordinary output is never delayed. A held tail that turns out not to be the key is written
//! with the next piece, or when the stream ends.
//!
//! URLs get their own rule: the password of a `user:password@` in a URL qstream prints (the
//! base URL in `--dry-run`, errors, notices) is shown as `***`.

use std::borrow::Cow;
use std::sync::OnceLock;

/// What a redacted key is written as.
pub const MARKER: &str = "[redacted]";

/// What a redacted URL password is written as (no `[]`: `curl` globs those).
pub const URL_PASSWORD_MARKER: &str = "***";

/// The key, and a searcher for it built once (it runs on every delta).
struct Secret {
    text: String,
    finder: memchr::memmem::Finder<'static>,
}

static SECRET: OnceLock<Secret> = OnceLock::new();

/// Register the API key for redaction from everything written afterwards. The first key
/// registered stays: a process runs with one key.
pub fn register(secret: &str) {
    // A very short "key" would redact ordinary words; real keys are far longer.
    if secret.len() >= 8 {
        let _ = SECRET.set(Secret {
            text: secret.to_owned(),
            finder: memchr::memmem::Finder::new(secret.as_bytes()).into_owned(),
        });
    }
}

impl Secret {
    /// Whether `text` holds the key or ends with a proper prefix of it. Short texts (a delta)
    /// are scanned for the key's first two bytes ([`may_hold_key`]); long ones (a read of the
    /// body) with the searcher, whose vector prefilter is faster on many bytes.
    fn may_be_in(&self, text: &[u8]) -> bool {
        let key = self.text.as_bytes();
        if text.len() <= 2 * key.len() {
            return may_hold_key(text, key);
        }
        self.finder.find(text).is_some() || tail_len(text, key) > 0
    }
}

fn secret() -> Option<&'static str> {
    SECRET.get().map(|s| s.text.as_str())
}

/// Whether the key (if any) reads the same inside a JSON string as outside it: no quote,
/// backslash or control character, which JSON would escape. Then redacting JSON text finds it.
pub fn key_is_plain_json() -> bool {
    secret().is_none_or(|s| !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20))
}

/// Whether `text` holds the whole key.
fn contains_key(text: &[u8]) -> bool {
    SECRET.get().is_some_and(|s| s.finder.find(text).is_some())
}

/// Whether `text` holds the key or ends with the start of it (then a streaming redactor would
/// change it or hold some of it back); `false` when no key is registered.
pub fn may_hold_key_str(text: &str) -> bool {
    SECRET.get().is_some_and(|k| k.may_be_in(text.as_bytes()))
}

/// `text` with every whole occurrence of the key replaced by [`MARKER`].
pub fn redact(text: &str) -> Cow<'_, str> {
    match secret() {
        Some(s) if contains_key(text.as_bytes()) => Cow::Owned(text.replace(s, MARKER)),
        _ => Cow::Borrowed(text),
    }
}

/// Whether a key is registered (else nothing needs redacting).
pub fn active() -> bool {
    SECRET.get().is_some()
}

/// [`redact`] for a string that may be borrowed or owned.
pub fn redact_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => redact(s),
        Cow::Owned(s) => Cow::Owned(redact_string(s)),
    }
}

/// [`redact`] for an owned string.
pub fn redact_string(text: String) -> String {
    match redact(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(o) => o,
    }
}

/// How many bytes at the end of `text` could be the start of `secret` (a proper prefix).
fn tail_len(text: &[u8], secret: &[u8]) -> usize {
    let Some(&first) = secret.first() else {
        return 0;
    };
    let from = text.len().saturating_sub(secret.len() - 1);
    let tail = &text[from..];
    // The earliest candidate is the longest one.
    for i in memchr::memchr_iter(first, tail) {
        let candidate = &tail[i..];
        if secret.starts_with(candidate) {
            return candidate.len();
        }
    }
    0
}

/// Whether `text` holds the key, or ends with a proper prefix of it: `contains_key(text) ||
/// tail_len(text, key) > 0`, in one pass. This runs on every delta (a few bytes, rarely the
/// key's first byte followed by its second), so it looks for that pair a word at a time and
/// compares more only where it is.
fn may_hold_key(text: &[u8], secret: &[u8]) -> bool {
    let (Some(&a), Some(&b)) = (secret.first(), secret.get(1)) else {
        return secret.first().is_some_and(|a| text.contains(a));
    };
    // A proper prefix at the end starts with the first byte: the last byte alone, or the
    // first two (then found as a pair below).
    if text.last() == Some(&a) {
        return true;
    }
    // Everything else starts with the key's first two bytes: found as a pair 8 bytes at a
    // time (7 pairs a word, the words overlapping by one byte), each pair then checked in
    // full. English text is full of the first byte of `sk-…` and short of the pair.
    let whole = |at: usize| {
        let rest = &text[at..];
        let n = rest.len().min(secret.len());
        rest[..n] == secret[..n]
    };
    let (pa, pb) = (u64::from(a) * ONES, u64::from(b) * ONES);
    let mut i = 0;
    while let Some(word) = text.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        // Bit 7 of byte j: byte j is `a` and byte j + 1 is `b` (j < 7).
        let mut pairs = zero_bytes(w ^ pa) & (zero_bytes(w ^ pb) >> 8);
        while pairs != 0 {
            let j = pairs.trailing_zeros() as usize / 8;
            if whole(i + j) {
                return true;
            }
            pairs &= pairs - 1;
        }
        i += 7;
    }
    (i..text.len().saturating_sub(1)).any(|j| text[j] == a && text[j + 1] == b && whole(j))
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Bit 7 of every byte of `x` that is zero, and no other bit (exact, unlike the carry trick
/// that only says whether there is one).
fn zero_bytes(x: u64) -> u64 {
    let low7 = ONES * 0x7f;
    !(((x & low7) + low7) | x) & (ONES << 7)
}

/// Streaming redaction of one stream of text (one output stream, or one kind of delta).
#[derive(Debug, Default)]
pub struct Redactor {
    held: String,
}

impl Redactor {
    /// The part of `held + text` that can be written now, redacted; the rest is held.
    pub fn push<'a>(&mut self, text: Cow<'a, str>) -> Cow<'a, str> {
        let Some(s) = secret() else {
            return text;
        };
        if self.held.is_empty() && !may_hold_key_str(&text) {
            return text;
        }
        let mut all = String::with_capacity(self.held.len() + text.len());
        all.push_str(&self.held);
        all.push_str(&text);
        if !may_hold_key_str(&all) {
            // What was held was not the key after all (nearly always: a word ending in its
            // first byte).
            self.held.clear();
            return Cow::Owned(all);
        }
        let mut all = redact_string(all);
        let keep = tail_len(all.as_bytes(), s.as_bytes());
        // The tail starts with the key's first byte, so it starts a character. It goes into
        // the buffer `held` already has: no allocation per held tail.
        self.held.clear();
        self.held.push_str(&all[all.len() - keep..]);
        all.truncate(all.len() - keep);
        Cow::Owned(all)
    }

    /// What is held back: at the end of the stream, it was not the key after all.
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }
}

/// Streaming redaction of bytes (the recording), with the same rule as [`Redactor`].
#[derive(Debug, Default)]
pub struct ByteRedactor {
    held: Vec<u8>,
}

impl ByteRedactor {
    /// Append to `out` what of `held + bytes` can be written now, redacted.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let Some(s) = secret().map(str::as_bytes) else {
            out.extend_from_slice(bytes);
            return;
        };
        let mut all = std::mem::take(&mut self.held);
        all.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(i) = memchr::memmem::find(&all[start..], s) {
            out.extend_from_slice(&all[start..start + i]);
            out.extend_from_slice(MARKER.as_bytes());
            start += i + s.len();
        }
        let rest = &all[start..];
        let keep = tail_len(rest, s);
        out.extend_from_slice(&rest[..rest.len() - keep]);
        self.held = rest[rest.len() - keep..].to_vec();
    }

    /// Whether `bytes` would come out of [`push`](Self::push) unchanged and whole: nothing is
    /// held, and they hold neither the key nor, at their end, the start of it.
    pub fn passes(&self, bytes: &[u8]) -> bool {
        if !self.held.is_empty() {
            return false;
        }
        match SECRET.get() {
            None => true,
            Some(s) => !s.may_be_in(bytes),
        }
    }

    /// What is held back, at the end of the stream.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }
}

/// `text` with the password of every `scheme://user:password@host` shown as `***`.
pub fn url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\'' | '"' | '<' | '>') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|at| {
            let userinfo = &authority[..at];
            userinfo.find(':').map(|colon| (colon, at))
        }) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str(URL_PASSWORD_MARKER);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The secret is process-wide: every test here uses the same one.
    const KEY: &str = "sk-unit-test-xyzzy-0000";

    #[test]
    fn the_one_pass_check_agrees_with_search_and_tail_everywhere() {
        // may_hold_key == contains || tail, for every text built from pieces of the key and
        // bytes around it, at every length up to past twice the key (both sides of the switch
        // between the two checks in `may_be_in`).
        let key = KEY.as_bytes();
        let finder = memchr::memmem::Finder::new(key);
        let alphabet: Vec<&[u8]> = vec![b"s", b"sk", b"sk-", b"x", b"-", &key[..5], key, b"k"];
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for t in &texts {
                for a in &alphabet {
                    let mut u = t.clone();
                    u.extend_from_slice(a);
                    next.push(u);
                }
            }
            texts.extend(next);
            texts.sort();
            texts.dedup();
        }
        for i in 0..=2 * key.len() + 3 {
            let mut t = vec![b'a'; i];
            t.extend_from_slice(&key[..key.len().min(i % key.len() + 1)]);
            texts.push(t);
        }
        // And texts of every length up to 40 over the key's first bytes and others, from a
        // fixed pseudo-random sequence.
        let pieces: &[u8] = b"sk-uxs";
        let mut rng = crate::testing::Xorshift(0x2545_f491_4f6c_dd1d);
        for len in 0..40 {
            for _ in 0..200 {
                let t: Vec<u8> = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
                texts.push(t);
            }
        }
        register(KEY);
        let secret = SECRET.get().expect("registered");
        for t in &texts {
            let want = finder.find(t).is_some() || tail_len(t, key) > 0;
            assert_eq!(
                may_hold_key(t, key),
                want,
                "{:?}",
                String::from_utf8_lossy(t)
            );
            assert_eq!(
                secret.may_be_in(t),
                want,
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
    }

    #[test]
    fn streaming_at_any_split_writes_what_redacting_the_whole_text_does() {
        // Texts made of pieces of the key and of words ending in its first bytes, cut into
        // deltas at pseudo-random places: what the redactor writes, plus what it holds at the
        // end, is the whole text redacted.
        register(KEY);
        let words = [
            "s",
            "sk",
            "sk-",
            "task ",
            "desks",
            KEY,
            &KEY[..9],
            " x",
            "-",
            "k",
        ];
        let mut rng = crate::testing::Xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut next = |n: usize| rng.below(n);
        for _ in 0..3000 {
            let text: String = (0..next(12)).map(|_| words[next(words.len())]).collect();
            let mut cuts: Vec<usize> = (0..next(6)).map(|_| next(text.len() + 1)).collect();
            cuts.push(0);
            cuts.push(text.len());
            cuts.sort_unstable();
            let mut r = Redactor::default();
            let mut out = String::new();
            for w in cuts.windows(2) {
                out.push_str(&r.push(Cow::Borrowed(&text[w[0]..w[1]])));
            }
            out.push_str(&r.take());
            assert_eq!(out, text.replace(KEY, MARKER), "{text:?} cut at {cuts:?}");
        }
    }

    fn stream(pieces: &[&str]) -> (Vec<String>, String) {
        register(KEY);
        let mut r = Redactor::default();
        let mut out: Vec<String> = pieces
            .iter()
            .map(|p| r.push(Cow::Borrowed(*p)).into_owned())
            .collect();
        let tail = r.take();
        out.push(tail);
        let joined = out.concat();
        (out, joined)
    }

    #[test]
    fn a_key_split_anywhere_is_redacted() {
        let text = format!("before {KEY} middle {KEY}{KEY} after sk-unit");
        let want = text.replace(KEY, MARKER);
        for a in 0..text.len() {
            for b in a..text.len() {
                let (_, joined) = stream(&[&text[..a], &text[a..b], &text[b..]]);
                assert_eq!(joined, want, "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn only_a_possible_start_of_the_key_is_held() {
        let (out, _) = stream(&["plain text", " ends in sk-un", "known"]);
        assert_eq!(out[0], "plain text");
        assert_eq!(out[1], " ends in ");
        assert_eq!(out[2], "sk-unknown");
        // Text with no key's start is passed through without a copy.
        register(KEY);
        let mut r = Redactor::default();
        assert!(matches!(r.push(Cow::Borrowed("hello")), Cow::Borrowed(_)));
        assert!(!r.is_holding());
    }

    #[test]
    fn bytes_split_anywhere_are_redacted() {
        register(KEY);
        let text = format!("data: {KEY}\n\ndata: sk-unit-tes\n\n{KEY}");
        let want = text.replace(KEY, MARKER);
        for step in 1..text.len() {
            let mut r = ByteRedactor::default();
            let mut out = Vec::new();
            for piece in text.as_bytes().chunks(step) {
                r.push(piece, &mut out);
            }
            out.extend(r.take());
            assert_eq!(String::from_utf8_lossy(&out), want, "step {step}");
        }
    }

    #[test]
    fn bytes_that_pass_are_what_push_would_write() {
        // `Recording::write` writes a piece that passes as it is, without `push`.
        register(KEY);
        let text = format!("data: {KEY}\n\ndata: sk-unit-tes\n\nsk{KEY}s\nplain");
        let want = text.replace(KEY, MARKER);
        for step in 1..text.len() {
            let (mut fast, mut slow) = (ByteRedactor::default(), ByteRedactor::default());
            let (mut out, mut passed) = (Vec::new(), 0);
            for piece in text.as_bytes().chunks(step) {
                let mut pushed = Vec::new();
                slow.push(piece, &mut pushed);
                if fast.passes(piece) {
                    assert_eq!(pushed, piece, "step {step}");
                    out.extend_from_slice(piece);
                    passed += 1;
                } else {
                    fast.push(piece, &mut out);
                }
            }
            out.extend(fast.take());
            assert_eq!(String::from_utf8_lossy(&out), want, "step {step}");
            assert!(passed > 0 || step > 1, "step {step}");
        }
        assert!(!ByteRedactor::default().passes(format!("x{KEY}").as_bytes()));
        assert!(!ByteRedactor::default().passes(b"ends in sk-unit"));
        assert!(ByteRedactor::default().passes(b"sk-unit is not at the end"));
    }

    #[test]
    fn url_passwords_are_hidden_and_nothing_else_changes() {
        assert_eq!(
            url_passwords("'https://user:pw@h.example:8/v1' and http://u@h/ and https://h/x@y:z"),
            "'https://user:***@h.example:8/v1' and http://u@h/ and https://h/x@y:z"
        );
        assert_eq!(url_passwords("no url"), "no url");
        assert_eq!(url_passwords("a://b:c@d"), "a://b:***@d");
    }
}
