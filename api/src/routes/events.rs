//! A Generation's events as Server-Sent Events: every line its generator wrote, from the
//! artifact store, then its outcome. `Last-Event-ID` (or `?lastEventId=` for a client that
//! reconnects by itself) resumes after the event it names, so a reconnect neither loses nor
//! repeats anything, across restarts of the server too: the log is in the store, not in memory.

use std::convert::Infallible;
use std::time::Duration;

use appgen_artifacts::Layout;
use appgen_crd::task::TaskEvent;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::visible;
use crate::auth::Principal;
use crate::error::ErrorBody;
use crate::view::{GenerationView, finished, phase};
use crate::{ApiState, Error};

/// How often a running generation's log is looked at when nothing else wakes the stream.
const POLL: Duration = Duration::from_millis(500);
/// How long a browser waits before reconnecting a dropped stream.
const RECONNECT: Duration = Duration::from_secs(1);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The id of the last event received, when the `Last-Event-ID` header cannot be sent.
    last_event_id: Option<String>,
    /// `false`: send what is stored so far (and the outcome, if it has ended) and close, instead
    /// of following a running generation.
    follow: Option<bool>,
}

/// Where in the log a stream stands: the attempt, and the next seq to send within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub attempt: u32,
    pub next_seq: u64,
}

impl Position {
    const START: Position = Position {
        attempt: 1,
        next_seq: 1,
    };

    /// The position after the event id `<attempt>-<seq>`; anything else starts from the start.
    pub fn after(last_event_id: Option<&str>) -> Position {
        last_event_id
            .and_then(|id| id.trim().split_once('-'))
            .and_then(|(attempt, seq)| Some((attempt.parse::<u32>().ok()?, seq.parse::<u64>().ok()?)))
            .filter(|(attempt, _)| *attempt >= 1)
            .map_or(Position::START, |(attempt, seq)| Position {
                attempt,
                next_seq: seq.saturating_add(1),
            })
    }
}

/// The last message of a stream.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Delivered, Failed or Cancelled; `Deleted` when the generation went away.
    phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    outputs: Option<appgen_crd::Outputs>,
}

#[utoipa::path(get, path = "/api/v1/generations/{namespace}/{name}/events", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path), EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (`<attempt>-<seq>`)")),
    responses((status = 200, description = "`text/event-stream`: the generator's events (`id: <attempt>-<seq>`, \
        `event:` its type, `data:` the event), `status` events with the Generation whenever it changes, and \
        last an `outcome`", content_type = "text/event-stream"),
        (status = 404, body = ErrorBody)))]
pub async fn stream(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
    Query(query): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    let uid = generation.metadata.uid.clone().unwrap_or_default();
    let layout = Layout::new(&namespace, &name, &uid)
        .map_err(|_| Error::NotFound(format!("generation {namespace}/{name}")))?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query.last_event_id);
    let position = Position::after(last_event_id.as_deref());
    let (tx, rx) = mpsc::channel(64);
    let once = query.follow == Some(false);
    let log = Log {
        namespace,
        name,
        uid,
        layout,
    };
    tokio::spawn(follow(state, log, position, once, tx));
    Ok(Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default()))
}

type Sender = mpsc::Sender<Result<Event, Infallible>>;

/// Whose log a stream follows: one Generation, by its uid, so a new one of the same name is not
/// taken for it.
struct Log {
    namespace: String,
    name: String,
    uid: String,
    layout: Layout,
}

/// Sends the log from `position` on, and the Generation's status as it changes, until the
/// generation has ended and its log is all sent, or the client has gone (or, `once`, until what
/// is stored now is sent).
async fn follow(state: ApiState, log: Log, mut position: Position, once: bool, tx: Sender) {
    let Log {
        namespace,
        name,
        uid,
        layout,
    } = log;
    let mut changes = state.cache.changes();
    let mut shown_version: Option<String> = None;
    if tx.send(Ok(Event::default().retry(RECONNECT))).await.is_err() {
        return;
    }
    loop {
        let current = state
            .cache
            .get(&namespace, &name)
            .filter(|g| g.metadata.uid.as_deref() == Some(uid.as_str()));
        let Some(generation) = current else {
            let gone = Outcome {
                phase: "Deleted".to_owned(),
                message: Some(format!("generation {namespace}/{name} was deleted")),
                outputs: None,
            };
            let _ = tx.send(Ok(json_event("outcome", &gone))).await;
            return;
        };
        if generation.metadata.resource_version != shown_version {
            shown_version.clone_from(&generation.metadata.resource_version);
            if tx
                .send(Ok(json_event("status", &GenerationView::of(&generation))))
                .await
                .is_err()
            {
                return;
            }
        }
        let events = match state
            .store
            .read_events(&layout.events_prefix(position.attempt), position.next_seq)
            .await
        {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(%namespace, %name, error = %e, "reading the event log failed; trying again");
                Vec::new()
            }
        };
        for event in events {
            position.next_seq = event.seq + 1;
            if tx.send(Ok(log_event(&event))).await.is_err() {
                return;
            }
        }
        let latest_attempt = generation
            .status
            .as_ref()
            .and_then(|s| s.attempts.iter().map(|a| a.number).max())
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        if position.attempt < latest_attempt {
            position = Position {
                attempt: position.attempt + 1,
                next_seq: 1,
            };
            continue;
        }
        // The status was read before the log, so a log read after the generation ended holds
        // every line its generator wrote.
        if finished(&generation) {
            let status = generation.status.as_ref();
            let outcome = Outcome {
                phase: format!("{:?}", phase(&generation)),
                message: status.and_then(|s| s.message.clone()),
                outputs: status.and_then(|s| s.outputs.clone()),
            };
            let _ = tx.send(Ok(json_event("outcome", &outcome))).await;
            return;
        }
        if once {
            return;
        }
        tokio::select! {
            _ = changes.changed() => {}
            () = tokio::time::sleep(POLL) => {}
            () = tx.closed() => return,
        }
    }
}

fn log_event(event: &TaskEvent) -> Event {
    let value = serde_json::to_value(event).unwrap_or_default();
    let kind = value
        .get("type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("log")
        .to_owned();
    Event::default()
        .id(format!("{}-{}", event.attempt, event.seq))
        .event(kind)
        .data(value.to_string())
}

fn json_event(kind: &str, body: &impl Serialize) -> Event {
    Event::default()
        .event(kind)
        .data(serde_json::to_string(body).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_event_id_resumes_right_after_it() {
        let cases = [
            (None, 1, 1),
            (Some("2-5"), 2, 6),
            (Some(" 1-41 "), 1, 42),
            (Some("0-3"), 1, 1),
            (Some("garbage"), 1, 1),
            (Some("1-x"), 1, 1),
        ];
        for (id, attempt, next_seq) in cases {
            assert_eq!(Position::after(id), Position { attempt, next_seq }, "{id:?}");
        }
    }
}
