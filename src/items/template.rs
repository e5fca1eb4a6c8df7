//! `--template 'Summarise: {text}'`: placeholders name a CSV column, a JSON field, or `{line}`
//! (the line's text with `--lines`); `{{` and `}}` stand for `{` and `}`.

use crate::error::{Error, Result};

/// A parsed template: literal text and placeholders, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(String),
}

impl Template {
    /// Parse `text`; an unclosed `{`, an empty `{}` or a lone `}` is a usage error.
    pub fn parse(text: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(Error::usage(format!(
                            "--template: unclosed {{ at character {} (write {{{{ for a literal brace)",
                            at + 1
                        )));
                    };
                    let name = rest[..end].trim();
                    if name.is_empty() || name.contains('{') {
                        return Err(Error::usage(format!(
                            "--template: bad placeholder {{{}}} at character {} (write {{{{ for a literal brace)",
                            &rest[..end],
                            at + 1
                        )));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field(name.to_owned()));
                    // Skip the placeholder's characters and its closing brace.
                    let stop = at + 1 + end;
                    while chars.peek().is_some_and(|(i, _)| *i <= stop) {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(Error::usage(format!(
                        "--template: lone }} at character {} (write }}}} for a literal brace)",
                        at + 1
                    )))
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template { parts })
    }

    /// The placeholders' names, in order of appearance.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The first placeholder `known` does not accept: checked once, before anything is sent.
    pub fn check(&self, known: &dyn Fn(&str) -> bool, what: &str) -> Result<()> {
        match self.fields().find(|f| !known(f)) {
            Some(f) => Err(Error::usage(format!(
                "--template: unknown placeholder {{{f}}} ({what})"
            ))),
            None => Ok(()),
        }
    }

    /// The text with every placeholder replaced by `value(name)`; `None` from `value` names
    /// the missing field.
    pub fn fill(
        &self,
        value: &dyn Fn(&str) -> Option<String>,
    ) -> std::result::Result<String, String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field(f) => match value(f) {
                    Some(v) => out.push_str(&v),
                    None => return Err(f.clone()),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(t: &str, v: &dyn Fn(&str) -> Option<String>) -> String {
        Template::parse(t).unwrap().fill(v).unwrap()
    }

    #[test]
    fn placeholders_and_escapes() {
        let v = |f: &str| (f == "text").then(|| "X".to_owned());
        assert_eq!(fill("Summarise: {text}", &v), "Summarise: X");
        assert_eq!(fill("{{text}} {text}}}", &v), "{text} X}");
        assert_eq!(fill("{ text }!", &v), "X!");
        assert_eq!(fill("no fields", &v), "no fields");
        assert_eq!(fill("héllo {text}é", &v), "héllo Xé");
    }

    #[test]
    fn bad_templates_are_usage_errors() {
        for t in ["{text", "a } b", "{}", "{a{b}"] {
            let e = Template::parse(t).unwrap_err();
            assert_eq!(e.exit, crate::error::Exit::Usage, "{t}");
        }
    }

    #[test]
    fn unknown_placeholder_is_named() {
        let t = Template::parse("{a} {b}").unwrap();
        let e = t.check(&|f| f == "a", "columns: a").unwrap_err();
        assert!(e.message.contains("{b}"), "{}", e.message);
        assert_eq!(
            t.fill(&|f| (f == "a").then(String::new)),
            Err("b".to_owned())
        );
    }
}
