//! What the answer was, kept for the log: content and reasoning of choice 0, the assembled tool
//! calls, the finish reason and the usage. One string append per delta; the log writes it once
//! at the end of the run.

use super::{ToolCall, ToolCalls};
use crate::event::{Event, Usage};

/// The most text (content and reasoning together) a transcript keeps. Real answers are far
/// shorter; the bound keeps memory flat on a runaway stream (DESIGN §5: 10 MiB on 1 GB).
pub const MAX_KEPT: usize = 512 << 10;

#[derive(Debug)]
pub struct Transcript {
    pub content: String,
    pub reasoning: String,
    tool_calls: ToolCalls,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    /// Web pages the answer's search found (the last list the stream sent).
    pub sources: Option<Vec<crate::event::WebSource>>,
    /// More text arrived than the limit: the rest was dropped.
    pub clipped: bool,
    /// The most text (content and reasoning together) kept: [`MAX_KEPT`] unless set.
    limit: usize,
}

impl Default for Transcript {
    fn default() -> Self {
        Self::with_limit(MAX_KEPT)
    }
}

impl Transcript {
    /// A transcript that keeps at most `limit` bytes of text (for a front door whose output is
    /// the answer itself, such as `map`).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            content: String::new(),
            reasoning: String::new(),
            tool_calls: ToolCalls::default(),
            finish_reason: None,
            usage: None,
            sources: None,
            clipped: false,
            limit,
        }
    }

    pub fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Content { choice: 0, text } => {
                let room = self.room();
                self.clipped |= push(&mut self.content, text, room);
            }
            Event::Reasoning { choice: 0, text } => {
                let room = self.room();
                self.clipped |= push(&mut self.reasoning, text, room);
            }
            Event::ToolCall { .. } => self.tool_calls.add(event),
            Event::Finish { choice: 0, reason } => self.finish_reason = Some(reason.to_string()),
            Event::Usage(u) => self.usage = Some(*u),
            Event::Sources(s) => self.sources = Some(s.clone()),
            _ => {}
        }
    }

    fn room(&self) -> usize {
        self.limit
            .saturating_sub(self.content.len() + self.reasoning.len())
    }

    /// The tool calls, assembled; `None` when there were none.
    pub fn tool_calls(&self) -> Option<Vec<ToolCall>> {
        (!self.tool_calls.is_empty()).then(|| self.tool_calls.calls())
    }
}

/// Append what fits in `room` bytes (cut at a character boundary); whether anything was cut.
fn push(to: &mut String, text: &str, room: usize) -> bool {
    if text.len() <= room {
        to.push_str(text);
        return false;
    }
    let mut end = room;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    to.push_str(&text[..end]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn keeps_choice_zero_and_clips_at_the_bound_on_a_character_boundary() {
        let mut t = Transcript::default();
        t.event(&Event::Content {
            choice: 1,
            text: Cow::Borrowed("other"),
        });
        t.event(&Event::Content {
            choice: 0,
            text: Cow::Borrowed("héllo"),
        });
        t.event(&Event::Reasoning {
            choice: 0,
            text: Cow::Borrowed("hmm"),
        });
        assert_eq!((t.content.as_str(), t.reasoning.as_str()), ("héllo", "hmm"));
        assert!(!t.clipped);
        let big = "é".repeat(MAX_KEPT / 2);
        t.event(&Event::Content {
            choice: 0,
            text: Cow::Borrowed(&big),
        });
        assert!(t.clipped);
        assert!(t.content.len() + t.reasoning.len() <= MAX_KEPT);
        assert!(t.content.len() + t.reasoning.len() >= MAX_KEPT - 1);
    }

    #[test]
    fn a_limit_of_its_own_is_honoured() {
        let mut t = Transcript::with_limit(4);
        t.event(&Event::Content {
            choice: 0,
            text: Cow::Borrowed("abc"),
        });
        assert!(!t.clipped);
        t.event(&Event::Reasoning {
            choice: 0,
            text: Cow::Borrowed("de"),
        });
        assert!(t.clipped);
        assert_eq!((t.content.as_str(), t.reasoning.as_str()), ("abc", "d"));
    }
}
