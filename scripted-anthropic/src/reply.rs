//! Assistant messages in the Messages API's two wire shapes: a server-sent event stream and a
//! single JSON object.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::script::{Block, Usage};

/// One assistant message ready to send: blocks with their tool-use ids already assigned.
#[derive(Debug)]
pub(crate) struct Message {
    pub id: String,
    pub model: String,
    pub blocks: Vec<Content>,
    pub usage: Usage,
}

#[derive(Debug)]
pub(crate) enum Content {
    Text(String),
    ToolUse { id: String, name: String, input: Value },
}

impl Message {
    /// `tool_use` when the agent must run a tool and call again, `end_turn` when it is done.
    fn stop_reason(&self) -> &'static str {
        if self.blocks.iter().any(|b| matches!(b, Content::ToolUse { .. })) {
            "tool_use"
        } else {
            "end_turn"
        }
    }

    /// The non-streaming answer.
    pub fn to_json(&self) -> Value {
        let content: Vec<Value> = self.blocks.iter().map(finished_block).collect();
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": self.stop_reason(),
            "stop_sequence": null,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": self.usage.output_tokens,
            },
        })
    }

    /// The streaming answer, event for event as the Messages API sends it.
    pub fn to_sse(&self) -> String {
        let mut out = String::new();
        event(
            &mut out,
            "message_start",
            &json!({
                "type": "message_start",
                "message": {
                    "id": self.id,
                    "type": "message",
                    "role": "assistant",
                    "model": self.model,
                    "content": [],
                    "stop_reason": null,
                    "stop_sequence": null,
                    "usage": {
                        "input_tokens": self.usage.input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": 1,
                    },
                },
            }),
        );
        event(&mut out, "ping", &json!({"type": "ping"}));
        for (index, block) in self.blocks.iter().enumerate() {
            let (start, deltas) = match block {
                Content::Text(text) => (
                    json!({"type": "text", "text": ""}),
                    vec![json!({"type": "text_delta", "text": text})],
                ),
                Content::ToolUse { id, name, input } => {
                    let start = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                    // Two fragments, so the client's reassembly of partial JSON is exercised.
                    let whole = input.to_string();
                    let (first, second) = whole.split_at(char_boundary_near_middle(&whole));
                    let deltas = [first, second]
                        .into_iter()
                        .map(|part| json!({"type": "input_json_delta", "partial_json": part}))
                        .collect();
                    (start, deltas)
                }
            };
            event(
                &mut out,
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            );
            for delta in deltas {
                event(
                    &mut out,
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index, "delta": delta}),
                );
            }
            event(
                &mut out,
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
        event(
            &mut out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason(), "stop_sequence": null},
                "usage": {"output_tokens": self.usage.output_tokens},
            }),
        );
        event(&mut out, "message_stop", &json!({"type": "message_stop"}));
        out
    }
}

/// Anthropic's error body: `{"type": "error", "error": {"type": ..., "message": ...}}`.
pub(crate) fn error_body(status: u16, error_type: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": error_type, "message": format!("scripted {status} {error_type}")},
    })
}

/// Turns scripted blocks into content with ids; `next_id` keeps tool-use ids unique per server.
pub(crate) fn assign_ids(blocks: Vec<Block>, next_id: &mut impl FnMut() -> u64) -> Vec<Content> {
    blocks
        .into_iter()
        .map(|block| match block {
            Block::Text(text) => Content::Text(text),
            Block::ToolUse { name, input } => Content::ToolUse {
                id: format!("toolu_scripted_{:06}", next_id()),
                name,
                input,
            },
        })
        .collect()
}

fn finished_block(block: &Content) -> Value {
    match block {
        Content::Text(text) => json!({"type": "text", "text": text}),
        Content::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
    }
}

fn event(out: &mut String, name: &str, data: &Value) {
    // Writing into a String cannot fail.
    let _ = write!(out, "event: {name}\ndata: {data}\n\n");
}

fn char_boundary_near_middle(text: &str) -> usize {
    (text.len() / 2..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len())
}
