//! `watch=true`: a chunked stream of newline-delimited watch events, as Kubernetes sends it.
//!
//! A watch from a resourceVersion replays the kept history after it (or answers with an ERROR
//! event carrying `410 Gone` when that history is gone), a watch from nothing or `0` first
//! announces every existing object as ADDED, and then live changes follow. Objects entering or
//! leaving a selector's view arrive as ADDED or DELETED, as Kubernetes' watch cache does.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use crate::error::{Error, Result};
use crate::handlers::{Target, matches_selectors, selectors};
use crate::http::{Params, Rendering};
use crate::resource::{ResourceDef, Wire};
use crate::selector::{FieldSelector, LabelSelector};
use crate::storage::{Change, ChangeType};
use crate::table::IncludeObject;
use crate::{App, Clock, events};

/// How long a watch lasts when the client does not say, as Kubernetes' minimum request timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Which events a watcher sees and how they are rendered.
struct View {
    def: ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    rendering: Rendering,
    include: IncludeObject,
    clock: Clock,
    /// Kubernetes sends a Table's column definitions with the first event only.
    headers_sent: bool,
}

impl View {
    fn needs_parsing(&self) -> bool {
        !(self.labels.is_empty() && self.fields.is_empty())
            || self.def.wire != Wire::Native
            || self.rendering == Rendering::Table
    }

    fn in_scope(&self, namespace: &str, name: &str) -> bool {
        self.namespace.as_deref().is_none_or(|ns| ns == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
    }

    fn wire(&self, json: &Bytes) -> Option<Value> {
        let stored: Value = serde_json::from_slice(json).ok()?;
        Some(match self.def.wire {
            Wire::Native => stored,
            Wire::EventsV1 => events::to_events_v1(&stored),
        })
    }

    fn matches(&self, json: &Bytes) -> bool {
        !self.needs_parsing()
            || self
                .wire(json)
                .is_some_and(|v| matches_selectors(&self.labels, &self.fields, &v))
    }

    /// The watch event type a change appears as in this view, if it appears at all.
    fn event_type(&self, change: &Change) -> Option<&'static str> {
        if !self.in_scope(&change.key.namespace, &change.key.name) {
            return None;
        }
        let now = self.matches(&change.object);
        match change.change {
            ChangeType::Added => now.then_some("ADDED"),
            ChangeType::Deleted => now.then_some("DELETED"),
            ChangeType::Modified => {
                let before = change.previous.as_ref().is_none_or(|p| self.matches(p));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }

    fn line(&mut self, kind: &str, json: &Bytes) -> Bytes {
        if !self.needs_parsing() {
            let mut out = Vec::with_capacity(json.len() + 32);
            out.extend_from_slice(format!(r#"{{"type":"{kind}","object":"#).as_bytes());
            out.extend_from_slice(json);
            out.extend_from_slice(b"}\n");
            return Bytes::from(out);
        }
        let object = self.wire(json).unwrap_or(Value::Null);
        let object = match self.rendering {
            Rendering::Json => object,
            Rendering::Table => {
                let mut t = self
                    .def
                    .printer
                    .table(&[&object], self.include, (self.clock)(), json!({}));
                if self.headers_sent {
                    t["columnDefinitions"] = json!([]);
                }
                self.headers_sent = true;
                t
            }
        };
        event_line(kind, &object)
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({ "resourceVersion": rv.to_string() });
        if initial_events_end {
            metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
        }
        event_line(
            "BOOKMARK",
            &json!({ "kind": self.def.kind, "apiVersion": self.def.api_version(), "metadata": metadata }),
        )
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut out = serde_json::to_vec(&json!({ "type": kind, "object": object })).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response {
    let body = Body::from_stream(futures::StreamExt::map(
        ReceiverStream::new(rx),
        Ok::<_, std::io::Error>,
    ));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(crate) async fn serve(
    app: &App,
    target: &Target<'_>,
    params: &Params,
    rendering: Rendering,
) -> Result<Response> {
    let (labels, fields) = selectors(target.def, params)?;
    let from = match params.resource_version.as_deref() {
        _ if params.send_initial_events => None,
        None | Some("0") => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| Error::BadRequest(format!("invalid resource version: {rv}")))?,
        ),
    };
    let mut view = View {
        def: target.def.clone(),
        namespace: target.namespace.clone(),
        name: target.name.clone(),
        labels,
        fields,
        rendering,
        include: params.include_object,
        clock: app.clock.clone(),
        headers_sent: false,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let start = match app.store.watch_start(&view.def.storage, from).await {
        Ok(start) => start,
        Err(e @ Error::Expired { .. }) => {
            // Kubernetes answers an expired watch with 200 and one ERROR event; clients relist on it.
            let _ = tx.send(event_line("ERROR", &e.status())).await;
            return Ok(stream_response(rx));
        }
        Err(e) => return Err(e),
    };
    let timeout = params
        .timeout_seconds
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let bookmarks = params.allow_watch_bookmarks;
    let initial_events_end = params.send_initial_events && bookmarks;
    let bookmark_interval = app.bookmark_interval;
    let stopped = crate::until_stopped(app.shutdown.clone());
    tokio::spawn(async move {
        let mut feed = start.feed;
        let mut synced = start.synced_rv;
        let send = |line: Bytes| {
            let tx = tx.clone();
            async move { tx.send(line).await.is_ok() }
        };
        for (key, stored) in &start.initial {
            if view.in_scope(&key.namespace, &key.name) && view.matches(&stored.json) {
                let line = view.line("ADDED", &stored.json);
                if !send(line).await {
                    return;
                }
            }
        }
        if initial_events_end && !send(view.bookmark(synced, true)).await {
            return;
        }
        for change in &start.replay {
            if let Some(kind) = view.event_type(change) {
                let line = view.line(kind, &change.object);
                if !send(line).await {
                    return;
                }
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline, stopped);
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + bookmark_interval, bookmark_interval);
        loop {
            let line = tokio::select! {
                () = &mut deadline => return,
                () = &mut stopped => return,
                _ = ticks.tick(), if bookmarks => view.bookmark(synced, false),
                received = feed.recv() => match received {
                    Ok(change) if change.rv <= synced => continue,
                    Ok(change) => {
                        synced = change.rv;
                        if change.key.storage != view.def.storage {
                            continue;
                        }
                        match view.event_type(&change) {
                            Some(kind) => view.line(kind, &change.object),
                            None => continue,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow to keep up: end with 410 so the client relists, as Kubernetes does.
                        let expired = Error::Expired { requested: synced, oldest: synced + 1 };
                        let _ = send(event_line("ERROR", &expired.status())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if !send(line).await {
                return;
            }
        }
    });
    Ok(stream_response(rx))
}
