//! Styles, SGR sequences and a writer that tracks the column it has reached.
//!
//! Every piece of text goes through `sanitize::push`: nothing from the model drives the
//! terminal. Styles are written as one absolute SGR sequence (`ESC[0;…m`) at each change, so a
//! cut write never leaves a half-applied style, and every rendered line ends in a reset.

use unicode_width::UnicodeWidthChar;

use crate::sink::sanitize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fg {
    /// One of the 256 indexed colours.
    Idx(u8),
    Rgb(u8, u8, u8),
}

/// The attributes of a run of text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    pub fg: Option<Fg>,
}

impl Style {
    pub const PLAIN: Style = Style {
        bold: false,
        dim: false,
        italic: false,
        underline: false,
        strike: false,
        fg: None,
    };

    /// `self` with the attributes of `other` added (its colour wins).
    pub fn with(self, other: Style) -> Style {
        Style {
            bold: self.bold || other.bold,
            dim: self.dim || other.dim,
            italic: self.italic || other.italic,
            underline: self.underline || other.underline,
            strike: self.strike || other.strike,
            fg: other.fg.or(self.fg),
        }
    }

    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    pub fn dim(self) -> Style {
        Style { dim: true, ..self }
    }
    pub fn italic(self) -> Style {
        Style {
            italic: true,
            ..self
        }
    }
    pub fn underline(self) -> Style {
        Style {
            underline: true,
            ..self
        }
    }
    pub fn strike(self) -> Style {
        Style {
            strike: true,
            ..self
        }
    }
    pub fn fg(self, fg: Fg) -> Style {
        Style {
            fg: Some(fg),
            ..self
        }
    }

    /// The absolute SGR sequence for this style.
    pub fn sgr(&self, out: &mut Vec<u8>, truecolor: bool) {
        // The reset, the most frequent change, as one constant.
        if *self == Style::PLAIN {
            out.extend_from_slice(b"\x1b[0m");
            return;
        }
        // Constant pieces and digit pushes only: a copy of a length known at compile time is a
        // store or two, one of a length known at run time a call to memcpy.
        out.reserve(40);
        out.extend_from_slice(b"\x1b[0");
        if self.bold {
            out.extend_from_slice(b";1");
        }
        if self.dim {
            out.extend_from_slice(b";2");
        }
        if self.italic {
            out.extend_from_slice(b";3");
        }
        if self.underline {
            out.extend_from_slice(b";4");
        }
        if self.strike {
            out.extend_from_slice(b";9");
        }
        match self.fg {
            None => {}
            Some(Fg::Idx(n)) => {
                out.extend_from_slice(b";38;5;");
                push_num(out, n);
            }
            Some(Fg::Rgb(r, g, b)) if truecolor => {
                out.extend_from_slice(b";38;2;");
                push_num(out, r);
                out.push(b';');
                push_num(out, g);
                out.push(b';');
                push_num(out, b);
            }
            Some(Fg::Rgb(r, g, b)) => {
                out.extend_from_slice(b";38;5;");
                push_num(out, rgb_to_256(r, g, b));
            }
        }
        out.push(b'm');
    }
}

/// `n` in decimal, digit by digit.
#[inline]
fn push_num(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
    }
    if n >= 10 {
        out.push(b'0' + n / 10 % 10);
    }
    out.push(b'0' + n % 10);
}

/// The nearest colour of the 6×6×6 cube or the grey ramp of the 256-colour palette.
pub fn rgb_to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |c: u8| -> u8 {
        // Cube levels: 0, 95, 135, 175, 215, 255.
        if c < 48 {
            0
        } else if c < 115 {
            1
        } else {
            ((c - 35) / 40).min(5)
        }
    };
    let (lr, lg, lb) = (level(r), level(g), level(b));
    let cube = |l: u8| -> i32 {
        if l == 0 {
            0
        } else {
            55 + 40 * i32::from(l)
        }
    };
    let dist = |a: (i32, i32, i32)| {
        (a.0 - i32::from(r)).pow(2) + (a.1 - i32::from(g)).pow(2) + (a.2 - i32::from(b)).pow(2)
    };
    let cube_rgb = (cube(lr), cube(lg), cube(lb));
    let avg = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
    let grey_idx = if avg > 238 {
        23
    } else {
        (avg.saturating_sub(3) / 10) as u8
    };
    let grey = 8 + 10 * i32::from(grey_idx);
    if dist((grey, grey, grey)) < dist(cube_rgb) {
        232 + grey_idx
    } else {
        16 + 36 * lr + 6 * lg + lb
    }
}

/// The column after writing `c` at `col` as the terminal shows it (after sanitizing).
#[inline]
pub fn advance(col: usize, c: char) -> usize {
    match c {
        '\t' => (col / 8 + 1) * 8,
        c if sanitize::is_unsafe(c) => col + if (c as u32) >= 0x80 { 4 } else { 2 },
        c => col + c.width().unwrap_or(0),
    }
}

/// The columns `text` takes when written from column 0 (tabs expanded to stops of 8).
pub fn width(text: &str) -> usize {
    text.chars().fold(0, advance)
}

/// Writes styled, sanitized text into a buffer.
pub struct Emit<'a> {
    pub out: &'a mut Vec<u8>,
    /// The column reached, from where the line began.
    pub col: usize,
    cur: Style,
    truecolor: bool,
}

impl<'a> Emit<'a> {
    pub fn new(out: &'a mut Vec<u8>, truecolor: bool) -> Self {
        Emit {
            out,
            col: 0,
            cur: Style::PLAIN,
            truecolor,
        }
    }

    pub fn set(&mut self, style: Style) {
        if style != self.cur {
            style.sgr(self.out, self.truecolor);
            self.cur = style;
        }
    }

    pub fn text(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        self.set(style);
        // One pass for the common case: printable ASCII is written as it is, a column a byte.
        if sanitize::is_printable_ascii(text.as_bytes()) {
            self.out.extend_from_slice(text.as_bytes());
            self.col += text.len();
        } else {
            sanitize::push(self.out, text);
            self.col = text.chars().fold(self.col, advance);
        }
    }

    /// `n` spaces in `style`.
    pub fn pad(&mut self, n: usize, style: Style) {
        if n == 0 {
            return;
        }
        self.set(style);
        self.out.extend(std::iter::repeat_n(b' ', n));
        self.col += n;
    }

    /// Back to the terminal's default attributes.
    pub fn end(&mut self) {
        if self.cur != Style::PLAIN {
            self.out.extend_from_slice(b"\x1b[0m");
            self.cur = Style::PLAIN;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgr_is_absolute() {
        let mut out = Vec::new();
        Style::PLAIN.bold().fg(Fg::Idx(5)).sgr(&mut out, false);
        assert_eq!(out, b"\x1b[0;1;38;5;5m");
        out.clear();
        Style::PLAIN.fg(Fg::Rgb(255, 0, 10)).sgr(&mut out, true);
        assert_eq!(out, b"\x1b[0;38;2;255;0;10m");
    }

    #[test]
    fn sgr_numbers_of_one_two_and_three_digits() {
        let mut out = Vec::new();
        for (n, want) in [
            (0u8, "0"),
            (7, "7"),
            (10, "10"),
            (99, "99"),
            (100, "100"),
            (255, "255"),
        ] {
            out.clear();
            Style::PLAIN.fg(Fg::Idx(n)).sgr(&mut out, false);
            assert_eq!(out, format!("\x1b[0;38;5;{want}m").as_bytes());
        }
        out.clear();
        let all = Style::PLAIN.bold().dim().italic().underline().strike();
        all.fg(Fg::Rgb(255, 255, 255)).sgr(&mut out, true);
        assert_eq!(out, b"\x1b[0;1;2;3;4;9;38;2;255;255;255m");
    }

    #[test]
    fn palette_mapping() {
        assert_eq!(rgb_to_256(0, 0, 0), 16);
        assert_eq!(rgb_to_256(255, 255, 255), 231);
        assert_eq!(rgb_to_256(255, 0, 0), 196);
        assert_eq!(rgb_to_256(128, 128, 128), 244);
    }

    /// Emit's one-scan path for printable ASCII writes and counts what the sanitizer and the
    /// column rules give, for text that takes it and text that does not.
    #[test]
    fn the_printable_ascii_path_matches_sanitize_and_width() {
        let atoms = [
            "a",
            "word ",
            "~!@#",
            " ",
            "\t",
            "\u{1b}[2J",
            "\u{7}",
            "\u{7f}",
            "\u{9b}",
            "é",
            "中",
            "😀",
            "\r",
            "0123456789abcdef",
        ];
        let mut rng = crate::testing::Xorshift(0x2545_f491_4f6c_dd1du64);
        let mut next = |n: usize| rng.below(n);
        for _ in 0..3000 {
            let text: String = (0..next(12)).map(|_| atoms[next(atoms.len())]).collect();
            let start = next(10);
            let mut out = Vec::new();
            let mut e = Emit::new(&mut out, false);
            e.col = start;
            e.text(&text, Style::PLAIN);
            let col = e.col;
            let mut want = Vec::new();
            sanitize::push(&mut want, &text);
            assert_eq!(out, want, "{text:?}");
            assert_eq!(col, text.chars().fold(start, advance), "{text:?}");
        }
    }

    #[test]
    fn widths() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("中文"), 4);
        assert_eq!(width("a\tb"), 9);
        assert_eq!(width("\x1b"), 2);
        assert_eq!(width("\u{9b}"), 4);
    }
}
