//! The CLI's `stream-json` output, one JSON object a line, read into [`StreamEvent`]s and turned
//! into event-log bodies. Unknown types are skipped and lines that are not JSON become `log`
//! lines, so a newer CLI never breaks a run.

use appgen_crd::task::TaskEventType;
use serde_json::{Value, json};

/// Characters of assistant text, tool output and the final result kept in an event.
const TEXT_CHARS: usize = 2_000;
/// Characters of a Bash command, or of any other tool's input, kept in a summary.
const SUMMARY_CHARS: usize = 200;
/// Characters of a line that is not JSON kept in its `log` event.
const NOISE_CHARS: usize = 500;

/// One thing the CLI reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StreamEvent {
    Init {
        model: String,
        version: Option<String>,
        session_id: Option<String>,
        permission_mode: Option<String>,
    },
    Text(String),
    ToolUse {
        name: String,
        input: Value,
    },
    ToolResult {
        output: String,
        is_error: bool,
    },
    /// The CLI retries a failed API call itself; worth a line, not a decision.
    ApiRetry {
        attempt: u64,
        max_retries: u64,
        status: Option<u64>,
        error: String,
    },
    Result(RoundOutcome),
    /// A line that is not JSON (a warning the CLI printed to stdout, say).
    NotJson(String),
}

/// Tokens of a round, as the result reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TokenUsage {
    pub input: u64,
    pub output: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

/// The CLI's own account of how a round ended: its final `result` line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RoundOutcome {
    /// `success`, `error_max_turns`, `error_max_budget_usd`, `error_during_execution`; says which
    /// failure it was, never whether it failed: an API error arrives as `success` with `is_error`.
    pub subtype: String,
    pub is_error: bool,
    /// Why the CLI's loop ended: `completed`, `max_turns`, `model_error`, …; absent when interrupted.
    pub terminal_reason: Option<String>,
    pub stop_reason: Option<String>,
    /// The HTTP status of the API call that failed the round, if one did.
    pub api_error_status: Option<u64>,
    pub num_turns: u32,
    pub total_cost_usd: f64,
    pub usage: TokenUsage,
    pub session_id: Option<String>,
    /// The agent's last text, or the error text.
    pub result: Option<String>,
    /// What the CLI lists as errors, e.g. "Reached maximum number of turns (1)".
    pub errors: Vec<String>,
}

/// The events in one line of output; none for blank lines and types appgen does not show.
pub(crate) fn parse_line(line: &str) -> Vec<StreamEvent> {
    let line = line.trim();
    if line.is_empty() {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return vec![StreamEvent::NotJson(line.to_owned())];
    };
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    match (text("type").as_deref(), text("subtype").as_deref()) {
        (Some("system"), Some("init")) => vec![StreamEvent::Init {
            model: text("model").unwrap_or_default(),
            version: text("claude_code_version"),
            session_id: text("session_id"),
            permission_mode: text("permissionMode"),
        }],
        (Some("system"), Some("api_retry")) => vec![StreamEvent::ApiRetry {
            attempt: value.get("attempt").and_then(Value::as_u64).unwrap_or(0),
            max_retries: value.get("max_retries").and_then(Value::as_u64).unwrap_or(0),
            status: value.get("error_status").and_then(Value::as_u64),
            error: text("error").unwrap_or_default(),
        }],
        (Some("assistant"), _) => content(&value)
            .filter_map(|block| match block.get("type").and_then(Value::as_str) {
                Some("text") => block
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| StreamEvent::Text(t.to_owned())),
                Some("tool_use") => Some(StreamEvent::ToolUse {
                    name: block
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_owned(),
                    input: block.get("input").cloned().unwrap_or(Value::Null),
                }),
                _ => None,
            })
            .collect(),
        (Some("user"), _) => content(&value)
            .filter(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"))
            .map(|block| StreamEvent::ToolResult {
                output: result_text(block.get("content")),
                is_error: block.get("is_error").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect(),
        (Some("result"), _) => vec![StreamEvent::Result(outcome(&value))],
        _ => Vec::new(),
    }
}

/// The content blocks of an `assistant` or `user` message.
fn content(value: &Value) -> impl Iterator<Item = &Value> {
    value
        .pointer("/message/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A tool result's content: a string, or a list of blocks whose texts are joined.
fn result_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn outcome(value: &Value) -> RoundOutcome {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let tokens = |key: &str| {
        value
            .get("usage")
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    RoundOutcome {
        subtype: text("subtype").unwrap_or_default(),
        // A result that does not say it succeeded is taken as failed.
        is_error: value.get("is_error").and_then(Value::as_bool).unwrap_or(true),
        terminal_reason: text("terminal_reason"),
        stop_reason: text("stop_reason"),
        api_error_status: value.get("api_error_status").and_then(Value::as_u64),
        num_turns: value
            .get("num_turns")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        total_cost_usd: value.get("total_cost_usd").and_then(Value::as_f64).unwrap_or(0.0),
        usage: TokenUsage {
            input: tokens("input_tokens"),
            output: tokens("output_tokens"),
            cache_creation: tokens("cache_creation_input_tokens"),
            cache_read: tokens("cache_read_input_tokens"),
        },
        session_id: text("session_id"),
        result: text("result"),
        errors: value
            .get("errors")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The event-log lines for one event.
pub(crate) fn bodies(event: &StreamEvent) -> Vec<(TaskEventType, Value)> {
    match event {
        StreamEvent::Init {
            model,
            version,
            session_id,
            permission_mode,
        } => vec![(
            TaskEventType::Agent,
            json!({ "kind": "init", "agent": "claude-code", "model": model, "version": version,
                    "sessionId": session_id, "permissionMode": permission_mode }),
        )],
        StreamEvent::Text(text) => vec![(
            TaskEventType::Agent,
            json!({ "kind": "text", "text": truncate(text, TEXT_CHARS) }),
        )],
        StreamEvent::ToolUse { name, input } => vec![(
            TaskEventType::Tool,
            json!({ "kind": "use", "tool": name, "summary": summarise(name, input) }),
        )],
        StreamEvent::ToolResult { output, is_error } => vec![(
            TaskEventType::Tool,
            json!({ "kind": "result", "isError": is_error, "output": truncate(output, TEXT_CHARS) }),
        )],
        StreamEvent::ApiRetry {
            attempt,
            max_retries,
            status,
            error,
        } => {
            let status = status.map_or_else(|| "no response".to_owned(), |s| s.to_string());
            vec![(
                TaskEventType::Log,
                json!({ "message": format!(
                    "the model API failed ({status}, {error}); the CLI retries ({attempt} of {max_retries})"
                ) }),
            )]
        }
        StreamEvent::Result(outcome) => vec![
            (
                TaskEventType::Agent,
                json!({ "kind": "result", "subtype": outcome.subtype, "isError": outcome.is_error,
                        "terminalReason": outcome.terminal_reason, "turns": outcome.num_turns,
                        "text": outcome.result.as_deref().map(|t| truncate(t, TEXT_CHARS)) }),
            ),
            (
                TaskEventType::Usage,
                json!({ "inputTokens": outcome.usage.input, "outputTokens": outcome.usage.output,
                        "cacheCreationInputTokens": outcome.usage.cache_creation,
                        "cacheReadInputTokens": outcome.usage.cache_read,
                        "costUsd": outcome.total_cost_usd, "turns": outcome.num_turns }),
            ),
        ],
        StreamEvent::NotJson(line) => vec![(
            TaskEventType::Log,
            json!({ "message": format!("claude: {}", truncate(line, NOISE_CHARS)) }),
        )],
    }
}

/// A tool call in a few words: what it touches, not the whole input.
pub(crate) fn summarise(tool: &str, input: &Value) -> String {
    let field = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or_default();
    match tool {
        "Write" => format!("{} ({} bytes)", field("file_path"), field("content").len()),
        "Edit" | "MultiEdit" | "Read" | "NotebookEdit" => {
            let path = match field("file_path") {
                "" => field("notebook_path"),
                path => path,
            };
            path.to_owned()
        }
        "Bash" => truncate(field("command"), SUMMARY_CHARS),
        "Glob" | "Grep" => {
            let path = field("path");
            if path.is_empty() {
                field("pattern").to_owned()
            } else {
                format!("{} in {path}", field("pattern"))
            }
        }
        "WebFetch" => field("url").to_owned(),
        "WebSearch" => field("query").to_owned(),
        "Task" | "Agent" => field("description").to_owned(),
        "TodoWrite" => {
            let count = input.get("todos").and_then(Value::as_array).map_or(0, Vec::len);
            format!("{count} todos")
        }
        _ => truncate(&input.to_string(), SUMMARY_CHARS),
    }
}

/// The first `max` characters, marked when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<StreamEvent> {
        let path = format!(
            "{}/tests/fixtures/claude/{name}.ndjson",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .flat_map(parse_line)
            .collect()
    }

    fn result_of(events: &[StreamEvent]) -> RoundOutcome {
        events
            .iter()
            .find_map(|e| match e {
                StreamEvent::Result(outcome) => Some(outcome.clone()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_recorded_successful_round_reads_in_order() {
        let events = fixture("success");
        assert_eq!(
            events.first(),
            Some(&StreamEvent::Init {
                model: "claude-sonnet-4-5".to_owned(),
                version: Some("2.1.197".to_owned()),
                session_id: Some("6f1c2a3b-0000-5000-8000-000000000010".to_owned()),
                permission_mode: Some("bypassPermissions".to_owned()),
            })
        );
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                StreamEvent::Init { .. } => "init",
                StreamEvent::Text(_) => "text",
                StreamEvent::ToolUse { .. } => "use",
                StreamEvent::ToolResult { .. } => "result",
                StreamEvent::ApiRetry { .. } => "retry",
                StreamEvent::Result(_) => "end",
                StreamEvent::NotJson(_) => "noise",
            })
            .collect();
        assert_eq!(
            kinds,
            ["init", "text", "use", "use", "result", "result", "text", "end"]
        );
        assert!(events.contains(&StreamEvent::ToolResult {
            output: "Exit code 1\nhello".to_owned(),
            is_error: true
        }));
        let outcome = result_of(&events);
        assert!((outcome.total_cost_usd - 0.001998).abs() < 1e-9);
        assert_eq!(
            outcome,
            RoundOutcome {
                subtype: "success".to_owned(),
                is_error: false,
                terminal_reason: Some("completed".to_owned()),
                stop_reason: Some("end_turn".to_owned()),
                api_error_status: None,
                num_turns: 3,
                total_cost_usd: outcome.total_cost_usd,
                usage: TokenUsage {
                    input: 240,
                    output: 84,
                    cache_creation: 0,
                    cache_read: 60
                },
                session_id: Some("6f1c2a3b-0000-5000-8000-000000000010".to_owned()),
                result: Some("Done.".to_owned()),
                errors: vec![],
            }
        );
    }

    #[test]
    fn recorded_failures_keep_what_tells_them_apart() {
        // (fixture, subtype, is_error, terminal_reason, api status, text in result or errors)
        let cases = [
            (
                "overloaded",
                "success",
                true,
                Some("completed"),
                Some(529),
                "529 Overloaded",
            ),
            (
                "connection-refused",
                "success",
                true,
                Some("completed"),
                None,
                "ConnectionRefused",
            ),
            (
                "max-turns",
                "error_max_turns",
                true,
                Some("max_turns"),
                None,
                "maximum number of turns",
            ),
            (
                "max-budget",
                "error_max_budget_usd",
                true,
                None,
                None,
                "maximum budget",
            ),
            ("no-session", "error_during_execution", true, None, None, ""),
        ];
        for (name, subtype, is_error, reason, status, text) in cases {
            let outcome = result_of(&fixture(name));
            assert_eq!(outcome.subtype, subtype, "{name}");
            assert_eq!(outcome.is_error, is_error, "{name}");
            assert_eq!(outcome.terminal_reason.as_deref(), reason, "{name}");
            assert_eq!(outcome.api_error_status, status, "{name}");
            let said = format!("{:?} {:?}", outcome.result, outcome.errors);
            assert!(said.contains(text), "{name}: {said}");
        }
        assert!(fixture("overloaded").iter().any(|e| matches!(
            e,
            StreamEvent::ApiRetry {
                status: Some(529),
                ..
            }
        )));
    }

    #[test]
    fn odd_lines_are_tolerated() {
        let cases: [(&str, Vec<StreamEvent>); 8] = [
            ("", vec![]),
            ("   ", vec![]),
            (
                "Warning: something",
                vec![StreamEvent::NotJson("Warning: something".to_owned())],
            ),
            (
                "{\"type\":\"assistant\"",
                vec![StreamEvent::NotJson("{\"type\":\"assistant\"".to_owned())],
            ),
            ("{\"type\":\"stream_event\",\"event\":{}}", vec![]),
            ("{\"type\":\"system\",\"subtype\":\"compact_boundary\"}", vec![]),
            ("[1,2,3]", vec![]),
            (
                "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"thinking\"},{\"type\":\"tool_use\",\"name\":\"Bash\"}]}}",
                vec![StreamEvent::ToolUse {
                    name: "Bash".to_owned(),
                    input: Value::Null,
                }],
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_line(line), expected, "{line}");
        }
        let bare = parse_line("{\"type\":\"result\"}");
        let [StreamEvent::Result(outcome)] = bare.as_slice() else {
            panic!("{bare:?}");
        };
        assert!(
            outcome.is_error,
            "a result that does not say it succeeded is a failure"
        );
    }

    #[test]
    fn tool_results_in_blocks_are_joined() {
        let line = r#"{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"a"},{"type":"image"},{"type":"text","text":"b"}]}]}}"#;
        assert_eq!(
            parse_line(line),
            [StreamEvent::ToolResult {
                output: "a\nb".to_owned(),
                is_error: false
            }]
        );
    }

    #[test]
    fn tool_calls_are_summarised_by_what_they_touch() {
        let long = "x".repeat(500);
        let cases = [
            (
                "Write",
                json!({"file_path": "/app/src/a.ts", "content": "hello"}),
                "/app/src/a.ts (5 bytes)".to_owned(),
            ),
            (
                "Edit",
                json!({"file_path": "/app/src/a.ts", "old_string": "a", "new_string": "b"}),
                "/app/src/a.ts".to_owned(),
            ),
            (
                "Read",
                json!({"file_path": "/app/package.json"}),
                "/app/package.json".to_owned(),
            ),
            (
                "Bash",
                json!({"command": "pnpm run build"}),
                "pnpm run build".to_owned(),
            ),
            ("Bash", json!({"command": long}), format!("{}…", "x".repeat(200))),
            (
                "Grep",
                json!({"pattern": "TODO", "path": "src"}),
                "TODO in src".to_owned(),
            ),
            ("Glob", json!({"pattern": "**/*.ts"}), "**/*.ts".to_owned()),
            ("TodoWrite", json!({"todos": [{}, {}]}), "2 todos".to_owned()),
            ("Mystery", json!({"a": 1}), "{\"a\":1}".to_owned()),
        ];
        for (tool, input, expected) in cases {
            assert_eq!(summarise(tool, &input), expected, "{tool}");
        }
    }

    #[test]
    fn bodies_are_short_and_typed() {
        let long = "é".repeat(5_000);
        let [(kind, body)] = bodies(&StreamEvent::Text(long.clone())).try_into().unwrap();
        assert_eq!(kind, TaskEventType::Agent);
        assert_eq!(body["text"].as_str().unwrap().chars().count(), TEXT_CHARS + 1);
        let [(kind, body)] = bodies(&StreamEvent::ToolResult {
            output: long,
            is_error: true,
        })
        .try_into()
        .unwrap();
        assert_eq!(kind, TaskEventType::Tool);
        assert_eq!(body["isError"], true);
        let events = fixture("success");
        let end = events.last().unwrap();
        let kinds: Vec<TaskEventType> = bodies(end).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [TaskEventType::Agent, TaskEventType::Usage]);
        let usage = &bodies(end)[1].1;
        assert_eq!(usage["inputTokens"], 240);
        assert_eq!(usage["turns"], 3);
        let [(kind, _)] = bodies(&StreamEvent::NotJson("x".to_owned())).try_into().unwrap();
        assert_eq!(kind, TaskEventType::Log);
    }
}
