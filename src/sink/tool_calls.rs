//! Tool calls assembled from their streamed fragments.

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
/// `arguments` concatenate.
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: Vec<ToolCall>,
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
        let pos = match self
            .calls
            .iter()
            .position(|c| c.choice == *choice && c.index == *index)
        {
            Some(p) => p,
            None => {
                self.calls.push(ToolCall {
                    choice: *choice,
                    index: *index,
                    ..Default::default()
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[pos];
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
