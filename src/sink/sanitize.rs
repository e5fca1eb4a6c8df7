//! The one sanitizer for every write that reaches a terminal.
//!
//! Text from the model or the server must never drive the terminal: an OSC 52 sequence writes
//! the clipboard, `ESC[2J` clears the screen, OSC 0 sets the title, OSC 8 hides a link behind
//! innocent text. On a terminal every C0 control but `\n` and `\t`, DEL, and every C1 control
//! (U+0080–U+009F) is written as a visible caret placeholder, as `cat -v` does: ESC is `^[`,
//! BEL `^G`, CR `^M`, DEL `^?`, U+009B (CSI) `M-^[`. Pipes and files never see this module:
//! they keep the exact bytes (contract).

/// Whether `c` is a control that must not reach a terminal raw.
#[inline]
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}')
}

/// Bytes that may start an unsafe control: C0 but `\n` and `\t`, DEL, and 0xC2 (in UTF-8 a C1
/// control is 0xC2 then 0x80..=0x9F; 0xC2 alone is a cheap, rare filter). One load a byte.
const SUSPECT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\n' as usize && b != b'\t' as usize;
        b += 1;
    }
    t[0x7f] = true;
    t[0xc2] = true;
    t
};

/// Whether every byte is printable ASCII (0x20..=0x7e): text a terminal shows as it is, one
/// column a byte. The common case, checked 16 bytes at a time without a branch a byte.
#[inline]
pub fn is_printable_ascii(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(16);
    for c in &mut chunks {
        let mut bad = false;
        for &x in c {
            bad |= x.wrapping_sub(0x20) >= 0x5f;
        }
        if bad {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&x| x.wrapping_sub(0x20) < 0x5f)
}

/// Whether `text` can be written to a terminal as it is.
#[inline]
pub fn is_clean(text: &str) -> bool {
    is_printable_ascii(text.as_bytes())
        || !text.bytes().any(|b| SUSPECT[b as usize])
        || !text.chars().any(is_unsafe)
}

/// The visible placeholder of an unsafe control, or `None` for anything else.
pub fn placeholder(c: char) -> Option<[u8; 4]> {
    if !is_unsafe(c) {
        return None;
    }
    let n = c as u32;
    // `^X` for C0 (X = n + 64) and `^?` for DEL; C1 is `M-` and the C0 form of n - 128.
    let mut out = [0u8; 4];
    let (meta, low) = if n >= 0x80 {
        (true, n - 0x80)
    } else {
        (false, n)
    };
    let caret = if low == 0x7f { b'?' } else { (low as u8) + 64 };
    if meta {
        out = [b'M', b'-', b'^', caret];
    } else {
        out[0] = b'^';
        out[1] = caret;
    }
    Some(out)
}

/// Append `text` to `out`, each unsafe control written as its placeholder.
pub fn push(out: &mut Vec<u8>, text: &str) {
    if is_clean(text) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if let Some(p) = placeholder(c) {
            out.extend_from_slice(&text.as_bytes()[start..i]);
            let len = if p[2] == 0 { 2 } else { 4 };
            out.extend_from_slice(&p[..len]);
            start = i + c.len_utf8();
        }
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
}

/// `text` as it may be shown on a terminal.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if is_clean(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(text.len() + 8);
    push(&mut out, text);
    // Only ASCII placeholders replaced whole characters: still UTF-8.
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        for_terminal(text).into_owned()
    }

    #[test]
    fn attacks_are_made_visible() {
        // OSC 52 clipboard write, ended by BEL.
        assert_eq!(s("a\x1b]52;c;ZXZpbA==\x07b"), "a^[]52;c;ZXZpbA==^Gb");
        // Clear screen, title, hidden link ended by ST.
        assert_eq!(s("\x1b[2J"), "^[[2J");
        assert_eq!(s("\x1b]0;pwned\x07"), "^[]0;pwned^G");
        assert_eq!(
            s("\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\"),
            "^[]8;;http://evil^[\\click^[]8;;^[\\"
        );
        // C1 CSI and OSC as code points, DEL, NUL, CR.
        assert_eq!(s("x\u{9b}2J\u{9d}y"), "xM-^[2JM-^]y");
        assert_eq!(s("\x7f\0\r"), "^?^@^M");
        assert_eq!(s("\u{80}\u{9f}"), "M-^@M-^_");
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for t in [
            "",
            "plain\n\ttext",
            "中文 кириллица 😀 é",
            "\u{a0}\u{c2}", // U+00A0 and U+00C2 are not controls
        ] {
            assert!(matches!(for_terminal(t), std::borrow::Cow::Borrowed(_)));
            assert_eq!(s(t), t);
        }
    }

    #[test]
    fn printable_ascii_is_exactly_the_bytes_from_space_to_tilde() {
        for b in 0u8..=255 {
            // Alone, and at every position of a 16-byte chunk and of the remainder after it.
            for len in [1usize, 16, 17, 33, 40] {
                for at in 0..len {
                    let mut v = vec![b'a'; len];
                    v[at] = b;
                    assert_eq!(
                        is_printable_ascii(&v),
                        (0x20..=0x7e).contains(&b),
                        "{b:#x} {len} {at}"
                    );
                }
            }
        }
        assert!(is_printable_ascii(b""));
    }

    #[test]
    fn every_control_is_replaced_and_nothing_else() {
        for n in 0u32..0x250 {
            let Some(c) = char::from_u32(n) else { continue };
            let shown = s(&c.to_string());
            let unsafe_ = n < 0x20 && c != '\n' && c != '\t' || (0x7f..=0x9f).contains(&n);
            assert_eq!(is_unsafe(c), unsafe_, "{n:#x}");
            if unsafe_ {
                assert!(shown.bytes().all(|b| (0x21..0x7f).contains(&b)), "{n:#x}");
            } else {
                assert_eq!(shown, c.to_string(), "{n:#x}");
            }
        }
    }
}
