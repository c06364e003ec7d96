//! What the scripted endpoint answers: a queue of turns, one per main-model request.

use std::collections::VecDeque;

use serde_json::Value;

/// The answers to main-model `/v1/messages` requests, consumed in order, one turn per request.
///
/// When the queue is empty every further main-model request is answered with the text `done`
/// (stop reason `end_turn`), so a test whose agent asks for more than was scripted ends instead of
/// hanging; tests see it by counting [`crate::RecordedRequest`]s.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub(crate) turns: VecDeque<Turn>,
    pub(crate) usage: Usage,
}

impl Script {
    /// A script that answers with `turns` in order, each reporting [`Usage::default`].
    pub fn new(turns: impl IntoIterator<Item = Turn>) -> Self {
        Script {
            turns: turns.into_iter().collect(),
            usage: Usage::default(),
        }
    }

    /// Reports `usage` on every answer (main and side). The CLI prices each answer from these
    /// numbers, so a large `output_tokens` drives its `total_cost_usd` over a `--max-budget-usd`.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }
}

/// One scripted answer to a main-model request.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Assistant text, stop reason `end_turn`: the agent's run ends.
    Text(String),
    /// One tool call, stop reason `tool_use`, e.g. `Write {file_path, content}`,
    /// `Edit {file_path, old_string, new_string}` or `Bash {command}`.
    ToolUse { name: String, input: Value },
    /// Several blocks in one assistant message; stop reason `tool_use` if any block is a tool call.
    Message(Vec<Block>),
    /// An HTTP error in Anthropic's shape: `Status(529, "overloaded_error")`,
    /// `Status(500, "api_error")`, `Status(429, "rate_limit_error")`. The string is the error's
    /// `type`. The CLI retries some of these by itself, and each retry consumes the next turn.
    Status(u16, String),
    /// Never answers (until the server is dropped), for deadline tests.
    Hang,
}

impl Turn {
    /// [`Turn::Text`] from anything string-like.
    pub fn text(text: impl Into<String>) -> Self {
        Turn::Text(text.into())
    }

    /// [`Turn::ToolUse`] from a tool name and its input.
    pub fn tool_use(name: impl Into<String>, input: Value) -> Self {
        Turn::ToolUse {
            name: name.into(),
            input,
        }
    }

    /// [`Turn::Status`] from a status code and an Anthropic error type.
    pub fn status(code: u16, error_type: impl Into<String>) -> Self {
        Turn::Status(code, error_type.into())
    }
}

/// One content block of a [`Turn::Message`].
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text(String),
    ToolUse { name: String, input: Value },
}

/// Token counts reported on each answer: `input_tokens` in `message_start`, `output_tokens` in
/// `message_delta` (the CLI adds up the latter across a stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Default for Usage {
    /// Small and fixed, so reported costs are deterministic and far below any sensible budget.
    fn default() -> Self {
        Usage {
            input_tokens: 10,
            output_tokens: 5,
        }
    }
}
