//! Syntax highlighting of code lines with syntect, one line at a time, its parse state carried
//! from line to line so a line is coloured the moment it completes.
//!
//! The grammars and the theme take tens of milliseconds to load, so they are loaded once, on a
//! helper thread, as soon as a line starts like a fence: never before the first token, and
//! usually done by the time the first code line completes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{FontStyle, Theme, ThemeSet};
use syntect::parsing::SyntaxSet;

use super::style::{Emit, Fg, Style};

struct Assets {
    syntaxes: SyntaxSet,
    theme: Option<Theme>,
}

static ASSETS: OnceLock<Assets> = OnceLock::new();
static STARTED: AtomicBool = AtomicBool::new(false);

const THEME: &str = "base16-ocean.dark";

fn load() -> Assets {
    let mut themes = ThemeSet::load_defaults().themes;
    Assets {
        syntaxes: SyntaxSet::load_defaults_newlines(),
        theme: themes.remove(THEME),
    }
}

fn assets() -> &'static Assets {
    ASSETS.get_or_init(load)
}

/// Start loading the grammars on a helper thread, once.
pub fn preload() {
    if ASSETS.get().is_some() || STARTED.swap(true, Ordering::Relaxed) {
        return;
    }
    // If no thread can be started, the first code line loads them itself.
    let _ = std::thread::Builder::new()
        .name("qstream-grammars".into())
        .spawn(|| {
            assets();
        });
}

/// The highlighter of one fenced block.
pub struct Highlighter {
    lines: HighlightLines<'static>,
    syntaxes: &'static SyntaxSet,
    scratch: String,
}

impl Highlighter {
    /// A highlighter for the language named `lang` (a name or a file extension), or `None` when
    /// it is unknown.
    pub fn new(lang: &str) -> Option<Highlighter> {
        if lang.is_empty() {
            return None;
        }
        let assets = assets();
        let theme = assets.theme.as_ref()?;
        let syntax = assets
            .syntaxes
            .find_syntax_by_token(lang)
            .or_else(|| alias(lang).and_then(|l| assets.syntaxes.find_syntax_by_token(l)))?;
        Some(Highlighter {
            lines: HighlightLines::new(syntax, theme),
            syntaxes: &assets.syntaxes,
            scratch: String::new(),
        })
    }

    /// Write one line of code (without its newline), coloured, on top of `base`. `false` when
    /// the grammar failed: the line is then not written, and the block goes on unhighlighted.
    pub fn line(&mut self, line: &str, base: Style, e: &mut Emit) -> bool {
        self.scratch.clear();
        self.scratch.push_str(line);
        self.scratch.push('\n');
        let Ok(regions) = self.lines.highlight_line(&self.scratch, self.syntaxes) else {
            return false;
        };
        for (st, text) in regions {
            let text = text.strip_suffix('\n').unwrap_or(text);
            let c = st.foreground;
            let style = base.with(Style {
                bold: st.font_style.contains(FontStyle::BOLD),
                italic: st.font_style.contains(FontStyle::ITALIC),
                underline: st.font_style.contains(FontStyle::UNDERLINE),
                fg: Some(Fg::Rgb(c.r, c.g, c.b)),
                ..Style::PLAIN
            });
            e.text(text, style);
        }
        true
    }
}

/// Names models use that the bundled grammars know under another.
fn alias(lang: &str) -> Option<&'static str> {
    Some(match lang.to_ascii_lowercase().as_str() {
        "shell" | "zsh" | "console" | "shell-session" => "bash",
        "py3" | "python3" => "python",
        "js" | "jsx" | "node" | "typescript" | "ts" | "tsx" => "javascript",
        "c++" => "cpp",
        "golang" => "go",
        "yml" => "yaml",
        "rs" => "rust",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_highlight_and_carry_state() {
        let mut h = Highlighter::new("python").expect("python");
        let mut out = Vec::new();
        let mut e = Emit::new(&mut out, true);
        assert!(h.line("s = \"\"\"open", Style::PLAIN, &mut e));
        e.end();
        out.clear();
        // Inside the triple-quoted string the next line is coloured as a string, in one colour.
        let mut e = Emit::new(&mut out, true);
        assert!(h.line("still = 1", Style::PLAIN, &mut e));
        e.end();
        let s = String::from_utf8(out).expect("utf8");
        assert_eq!(s.matches("\x1b[0;38;2;").count(), 1, "{s:?}");
        assert!(Highlighter::new("sh").is_some());
        assert!(Highlighter::new("zsh").is_some());
        assert!(Highlighter::new("no-such-language").is_none());
        assert!(Highlighter::new("").is_none());
    }
}
