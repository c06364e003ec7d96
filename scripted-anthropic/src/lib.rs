//! A scripted Anthropic Messages API on loopback, so tests can run the real Claude Code CLI
//! offline (`ANTHROPIC_BASE_URL` = [`ScriptedAnthropic::base_url`]) and assert on what it sent.
//! It answers from a [`Script`] and records every request; it never reaches the network and
//! never records an API key's value.
//!
//! # How requests are answered
//!
//! | request | recognised by | answer |
//! | --- | --- | --- |
//! | main model | `POST /v1/messages` whose body has a non-empty `tools` list (the agent loop always sends its tools) | the next [`Turn`]; `done` once the script is empty |
//! | side request | `POST /v1/messages` without tools (small-model titles, summaries, classifiers) | the text `done`; consumes no turn |
//! | token count | `POST /v1/messages/count_tokens` | `{"input_tokens": N}` from the script's [`Usage`] |
//! | connectivity probe | `HEAD`/`GET /api/hello` (sent unless `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`) | `200` |
//! | anything else | — | `404` with an Anthropic `not_found_error` body |
//!
//! A request with `"stream": true` gets the event stream (`message_start`, `ping`, per block
//! `content_block_start` / `content_block_delta` (`text_delta` or `input_json_delta`) /
//! `content_block_stop`, `message_delta` with the stop reason and output tokens, `message_stop`);
//! any other gets one JSON message.

mod reply;
mod script;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::reply::{Content, Message};
pub use crate::script::{Block, Script, Turn, Usage};

/// A running scripted endpoint on `127.0.0.1`. Dropping it stops the server and releases any
/// request held by [`Turn::Hang`].
#[derive(Debug)]
pub struct ScriptedAnthropic {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    // Dropped with the server: its receivers end the accept loop and every hanging request.
    _stop: watch::Sender<()>,
}

/// One request the endpoint received, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query as sent, e.g. `/v1/messages?beta=true`.
    pub path: String,
    pub kind: RequestKind,
    /// Only the headers that tell what the client is and which conversation this is (see
    /// [`RECORDED_HEADERS`]), names in lower case.
    pub headers: Vec<(String, String)>,
    /// Whether `x-api-key` or `authorization` was sent; their values are never kept.
    pub api_key_present: bool,
    /// The body as JSON; `Null` when empty, a string when it is not JSON.
    pub body: Value,
}

impl RecordedRequest {
    /// The value of a recorded header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the endpoint classified a request (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Main,
    Side,
    CountTokens,
    Other,
}

/// The headers [`RecordedRequest::headers`] keeps.
pub const RECORDED_HEADERS: &[&str] = &[
    "accept",
    "anthropic-beta",
    "anthropic-version",
    "content-type",
    "user-agent",
    "x-app",
    "x-claude-code-session-id",
    "x-stainless-retry-count",
];

#[derive(Debug)]
struct Shared {
    script: Script,
    requests: Vec<RecordedRequest>,
    next_id: u64,
}

#[derive(Debug, Clone)]
struct AppState {
    shared: Arc<Mutex<Shared>>,
    stop: watch::Receiver<()>,
}

impl ScriptedAnthropic {
    /// Binds `127.0.0.1:0` and serves `script` until dropped.
    pub async fn start(script: Script) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared {
            script,
            requests: Vec::new(),
            next_id: 1,
        }));
        let (stop, stop_rx) = watch::channel(());
        let state = AppState {
            shared: shared.clone(),
            stop: stop_rx.clone(),
        };
        let app = Router::new()
            .fallback(answer)
            // A resumed conversation is sent whole on every request; it outgrows axum's 2 MiB default.
            .layer(DefaultBodyLimit::disable())
            .with_state(state);
        let mut stopped = stop_rx;
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // Err means the sender (the ScriptedAnthropic) was dropped: time to stop.
                while stopped.changed().await.is_ok() {}
            });
            // Nobody is left to tell about a failed accept loop; the test sees the CLI fail to connect.
            let _ = serve.await;
        });
        Ok(ScriptedAnthropic {
            addr,
            shared,
            _stop: stop,
        })
    }

    /// `http://127.0.0.1:<port>`, for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// Only the main-model requests, in order (one per consumed [`Turn`] or `done` answer).
    pub fn main_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.kind == RequestKind::Main)
            .collect()
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panicking test thread must not hide the recording from the assertions that follow.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a request gets, decided under the lock; the I/O happens after it is released.
enum Plan {
    Send(Response),
    Hang,
}

async fn answer(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let plan = plan(&state.shared, &method, &uri, &headers, &body);
    match plan {
        Plan::Send(response) => response,
        Plan::Hang => {
            let mut stop = state.stop;
            while stop.changed().await.is_ok() {}
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn plan(shared: &Mutex<Shared>, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Plan {
    let body = parse_body(body);
    let kind = classify(method, uri.path(), &body);
    let streaming = body.get("stream").and_then(Value::as_bool) == Some(true);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-scripted")
        .to_owned();
    let mut shared = lock(shared);
    shared.requests.push(RecordedRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        kind,
        headers: recorded_headers(headers),
        api_key_present: headers.contains_key("x-api-key") || headers.contains_key(header::AUTHORIZATION),
        body,
    });
    let usage = shared.script.usage;
    match kind {
        RequestKind::Main => {
            let turn = shared
                .script
                .turns
                .pop_front()
                .unwrap_or_else(|| Turn::text("done"));
            let blocks = match turn {
                Turn::Text(text) => vec![Block::Text(text)],
                Turn::ToolUse { name, input } => vec![Block::ToolUse { name, input }],
                Turn::Message(blocks) => blocks,
                Turn::Status(code, error_type) => return Plan::Send(error_response(code, &error_type)),
                Turn::Hang => return Plan::Hang,
            };
            let message = shared.message(model, blocks, usage);
            Plan::Send(message_response(&message, streaming))
        }
        RequestKind::Side => {
            let message = shared.message(model, vec![Block::Text("done".to_owned())], usage);
            Plan::Send(message_response(&message, streaming))
        }
        RequestKind::CountTokens => {
            Plan::Send(axum::Json(json!({"input_tokens": usage.input_tokens})).into_response())
        }
        RequestKind::Other if uri.path() == "/api/hello" => Plan::Send(StatusCode::OK.into_response()),
        RequestKind::Other => Plan::Send(error_response(404, "not_found_error")),
    }
}

impl Shared {
    fn message(&mut self, model: String, blocks: Vec<Block>, usage: Usage) -> Message {
        let mut next_id = || {
            let id = self.next_id;
            self.next_id += 1;
            id
        };
        let id = format!("msg_scripted_{:06}", next_id());
        let blocks: Vec<Content> = reply::assign_ids(blocks, &mut next_id);
        Message {
            id,
            model,
            blocks,
            usage,
        }
    }
}

fn classify(method: &Method, path: &str, body: &Value) -> RequestKind {
    match (method, path) {
        (&Method::POST, "/v1/messages/count_tokens") => RequestKind::CountTokens,
        (&Method::POST, "/v1/messages") => {
            let has_tools = body
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty());
            if has_tools {
                RequestKind::Main
            } else {
                RequestKind::Side
            }
        }
        _ => RequestKind::Other,
    }
}

fn parse_body(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn recorded_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    RECORDED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

fn message_response(message: &Message, streaming: bool) -> Response {
    if streaming {
        (
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            message.to_sse(),
        )
            .into_response()
    } else {
        axum::Json(message.to_json()).into_response()
    }
}

fn error_response(code: u16, error_type: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(reply::error_body(code, error_type))).into_response()
}
