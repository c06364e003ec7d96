//! The endpoint on its own, over plain HTTP: the answers the CLI has not needed so far (side
//! requests, token counts, non-streaming, unknown paths) and the exact wire shape of a stream.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use appgen_scripted_anthropic::{Block, RequestKind, Script, ScriptedAnthropic, Turn, Usage};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request on its own connection.
async fn send(server: &ScriptedAnthropic, method: &str, path: &str, body: Option<Value>) -> Answer {
    let addr = server.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: scripted\r\ncontent-type: application/json\r\n\
         x-api-key: sk-ant-secret-value\r\nanthropic-version: 2023-06-01\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head: head.to_lowercase(),
        body: body.to_owned(),
    }
}

fn main_request(stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 1000,
        "stream": stream,
        "tools": [{"name": "Write", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hi"}],
    })
}

/// `(event name, data)` pairs of a server-sent event stream.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            (
                name,
                serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_streamed_message_follows_the_messages_api_event_order() {
    let input = json!({"file_path": "é.txt", "content": "ünïcode\n"});
    let server = ScriptedAnthropic::start(
        Script::new([Turn::Message(vec![
            Block::Text("writing".into()),
            Block::ToolUse {
                name: "Write".into(),
                input: input.clone(),
            },
        ])])
        .with_usage(Usage {
            input_tokens: 7,
            output_tokens: 9,
        }),
    )
    .await
    .unwrap();

    let answer = send(
        &server,
        "POST",
        "/v1/messages?beta=true",
        Some(main_request(true)),
    )
    .await;

    assert_eq!(answer.status, 200);
    assert!(answer.head.contains("content-type: text/event-stream"));
    let events = events(&answer.body);
    let names: Vec<_> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert!(events.iter().all(|(name, data)| data["type"] == name.as_str()));
    assert_eq!(events[0].1["message"]["model"], "claude-test");
    assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 7);
    assert_eq!(
        events[3].1["delta"],
        json!({"type": "text_delta", "text": "writing"})
    );
    assert_eq!(events[5].1["content_block"]["type"], "tool_use");
    assert!(
        events[5].1["content_block"]["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
    let partial: String = events[6..8]
        .iter()
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&partial).unwrap(), input);
    assert_eq!(events[9].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(events[9].1["usage"]["output_tokens"], 9);
}

#[tokio::test]
async fn a_non_streaming_request_gets_one_message_and_tool_ids_never_repeat() {
    let call = || Turn::tool_use("Bash", json!({"command": "true"}));
    let server = ScriptedAnthropic::start(Script::new([call(), call()]))
        .await
        .unwrap();

    let first = send(&server, "POST", "/v1/messages", Some(main_request(false))).await;
    let second = send(&server, "POST", "/v1/messages", Some(main_request(false))).await;

    let first: Value = serde_json::from_str(&first.body).unwrap();
    let second: Value = serde_json::from_str(&second.body).unwrap();
    assert_eq!(first["type"], "message");
    assert_eq!(first["stop_reason"], "tool_use");
    assert_eq!(first["content"][0]["input"], json!({"command": "true"}));
    assert_eq!(
        first["usage"],
        json!({"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 5})
    );
    assert_ne!(first["content"][0]["id"], second["content"][0]["id"]);
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn side_requests_and_token_counts_leave_the_script_alone() {
    let server = ScriptedAnthropic::start(Script::new([Turn::text("the scripted turn")]))
        .await
        .unwrap();
    let side = json!({"model": "claude-haiku", "max_tokens": 100, "messages": [{"role": "user", "content": "title?"}]});

    let titled = send(&server, "POST", "/v1/messages", Some(side)).await;
    let counted = send(
        &server,
        "POST",
        "/v1/messages/count_tokens",
        Some(main_request(false)),
    )
    .await;
    let main = send(&server, "POST", "/v1/messages", Some(main_request(false))).await;

    let titled: Value = serde_json::from_str(&titled.body).unwrap();
    assert_eq!(titled["content"][0]["text"], "done");
    assert_eq!(
        serde_json::from_str::<Value>(&counted.body).unwrap(),
        json!({"input_tokens": 10})
    );
    let main: Value = serde_json::from_str(&main.body).unwrap();
    assert_eq!(main["content"][0]["text"], "the scripted turn");
    assert_eq!(main["stop_reason"], "end_turn");
    let kinds: Vec<_> = server.requests().iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [RequestKind::Side, RequestKind::CountTokens, RequestKind::Main]
    );
}

#[tokio::test]
async fn an_exhausted_script_answers_done() {
    let server = ScriptedAnthropic::start(Script::new([])).await.unwrap();

    let answer = send(&server, "POST", "/v1/messages", Some(main_request(false))).await;

    let answer: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(answer["content"], json!([{"type": "text", "text": "done"}]));
    assert_eq!(answer["stop_reason"], "end_turn");
}

#[tokio::test]
async fn a_scripted_status_is_an_anthropic_error() {
    let server = ScriptedAnthropic::start(Script::new([Turn::status(429, "rate_limit_error")]))
        .await
        .unwrap();

    let answer = send(&server, "POST", "/v1/messages", Some(main_request(true))).await;

    assert_eq!(answer.status, 429);
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn the_connectivity_probe_is_answered_and_unknown_paths_are_not_found() {
    let server = ScriptedAnthropic::start(Script::new([])).await.unwrap();

    assert_eq!(send(&server, "HEAD", "/api/hello", None).await.status, 200);
    let unknown = send(&server, "GET", "/api/oauth/profile", None).await;

    assert_eq!(unknown.status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&unknown.body).unwrap()["error"]["type"],
        "not_found_error"
    );
    assert_eq!(server.requests()[1].path, "/api/oauth/profile");
}

#[tokio::test]
async fn requests_are_recorded_without_the_api_key() {
    let server = ScriptedAnthropic::start(Script::new([])).await.unwrap();

    send(
        &server,
        "POST",
        "/v1/messages?beta=true",
        Some(main_request(false)),
    )
    .await;

    let recorded = &server.requests()[0];
    assert_eq!(recorded.path, "/v1/messages?beta=true");
    assert_eq!(recorded.body, main_request(false));
    assert!(recorded.api_key_present);
    assert_eq!(recorded.header("anthropic-version"), Some("2023-06-01"));
    assert!(!format!("{recorded:?}").contains("sk-ant-secret-value"));
}
