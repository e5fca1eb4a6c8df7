//! Tool calls assembled from their streamed fragments.

use std::collections::HashMap;

use serde::Serialize;

use super::is_zero;
use crate::event::Event;

/// A tool call assembled from its streamed fragments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    #[serde(skip_serializing_if = "is_zero")]
    pub choice: u32,
    pub index: u32,
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// Assembles fragments by (choice, index): the first non-empty `id` and `name` win and the
/// `arguments` concatenate. Linear in the number of fragments: a fragment finds its call
/// through a map (or at once, when it continues the call of the fragment before it).
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: Vec<ToolCall>,
    position: HashMap<(u32, u32), usize>,
    /// The position of the call the last fragment went to.
    last: Option<usize>,
}

impl ToolCalls {
    pub fn add(&mut self, event: &Event<'_>) {
        let Event::ToolCall {
            choice,
            index,
            id,
            name,
            arguments,
        } = event
        else {
            return;
        };
        let key = (*choice, *index);
        let same = |c: &ToolCall| (c.choice, c.index) == key;
        let pos = match self.last.filter(|&p| self.calls.get(p).is_some_and(same)) {
            Some(p) => p,
            None => *self.position.entry(key).or_insert_with(|| {
                self.calls.push(ToolCall {
                    choice: *choice,
                    index: *index,
                    ..Default::default()
                });
                self.calls.len() - 1
            }),
        };
        self.last = Some(pos);
        let Some(call) = self.calls.get_mut(pos) else {
            return;
        };
        if let (true, Some(id)) = (call.id.is_empty(), id) {
            call.id.push_str(id);
        }
        if let (true, Some(name)) = (call.name.is_empty(), name) {
            call.name.push_str(name);
        }
        call.arguments.push_str(arguments);
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The calls, ordered by choice and index.
    pub fn calls(&self) -> Vec<ToolCall> {
        let mut calls = self.calls.clone();
        calls.sort_by_key(|c| (c.choice, c.index));
        calls
    }
}
