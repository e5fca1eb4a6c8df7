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
        if self.held.is_empty()
            && !contains_key(text.as_bytes())
            && tail_len(text.as_bytes(), s.as_bytes()) == 0
        {
            return text;
        }
        let mut all = std::mem::take(&mut self.held);
        all.push_str(&text);
        let mut all = redact_string(all);
        let keep = tail_len(all.as_bytes(), s.as_bytes());
        // The tail starts with the key's first byte, so it starts a character.
        self.held = all.split_off(all.len() - keep);
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
            Some(s) => s.finder.find(bytes).is_none() && tail_len(bytes, s.text.as_bytes()) == 0,
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
