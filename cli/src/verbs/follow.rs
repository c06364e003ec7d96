//! Reading a generation's event stream: its log lines and its status as they come, then how it
//! ended. A dropped stream is resumed after the last event seen, so nothing is lost or repeated.

use std::time::Duration;

use appgen_crd::task::TaskEvent;
use http_body_util::BodyExt;

use super::client::{Client, parse};
use super::render::{Outcome, View};
use super::sse::SseParser;
use super::term::Progress;
use super::{Error, Exit};

/// What the stream brought.
#[derive(Debug)]
pub enum Seen<'a> {
    /// One line of the event log, and its JSON as the server sent it.
    Log(&'a TaskEvent, &'a str),
    /// The generation, after a change.
    Status(&'a View),
}

/// How often the progress line moves.
const TICK: Duration = Duration::from_millis(100);
/// How long to wait before resuming a dropped stream, and how many times in a row to try.
const RECONNECT: Duration = Duration::from_secs(1);
const RECONNECTS: u32 = 30;

/// The exit code for how a generation ended.
pub fn exit_of(outcome: &Outcome) -> Exit {
    match outcome.phase.as_str() {
        "Delivered" => Exit::Ok,
        "Cancelled" => Exit::Cancelled,
        "Deleted" => Exit::NotFound,
        _ => Exit::Failed,
    }
}

/// `--since-seq`: `N` (a seq of the first attempt) or `<attempt>-<seq>`, as an event id.
pub fn event_id(since: &str) -> Result<String, Error> {
    let (attempt, seq) = since.trim().split_once('-').unwrap_or(("1", since.trim()));
    match (attempt.parse::<u32>(), seq.parse::<u64>()) {
        (Ok(attempt), Ok(seq)) if attempt >= 1 => Ok(format!("{attempt}-{seq}")),
        _ => Err(Error::Usage(format!(
            "--since-seq {since:?}: give a seq (e.g. 12) or an event id <attempt>-<seq> (e.g. 2-5)"
        ))),
    }
}

/// Follows `view` from after `since` until it ends, reconnecting when the stream drops.
pub async fn to_end(
    client: &Client,
    view: &View,
    since: Option<String>,
    progress: &mut Progress,
    on: impl FnMut(&mut Progress, Seen<'_>),
) -> Result<Outcome, Error> {
    read(client, view, since, false, progress, on)
        .await?
        .ok_or_else(|| Error::Unreachable {
            server: client.server().to_owned(),
            reason: format!(
                "the event stream of {} ended without saying how it ended",
                view.name
            ),
        })
}

/// What `view`'s stream holds now (the server sends what is stored and closes): its outcome when
/// it has ended, else None.
pub async fn available(
    client: &Client,
    view: &View,
    since: Option<String>,
    progress: &mut Progress,
    on: impl FnMut(&mut Progress, Seen<'_>),
) -> Result<Option<Outcome>, Error> {
    read(client, view, since, true, progress, on).await
}

async fn read(
    client: &Client,
    view: &View,
    mut last_id: Option<String>,
    once: bool,
    progress: &mut Progress,
    mut on: impl FnMut(&mut Progress, Seen<'_>),
) -> Result<Option<Outcome>, Error> {
    let doing = format!("reading the events of {}", view.name);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut ticker = tokio::time::interval(TICK);
    let mut failures = 0;
    let path = if once {
        format!("{}?follow=false", view.links.events)
    } else {
        view.links.events.clone()
    };
    loop {
        let mut body = match client.events(&path, last_id.as_deref(), &doing).await {
            Ok(body) => Some(body),
            Err(e @ Error::Unreachable { .. }) if once || failures >= RECONNECTS => return Err(e),
            Err(Error::Unreachable { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut parser = SseParser::default();
        while let Some(stream) = body.as_mut() {
            tokio::select! {
                frame = stream.frame() => {
                    let Some(Ok(frame)) = frame else { break };
                    let Some(data) = frame.data_ref() else { continue };
                    for event in parser.push(data) {
                        match event.event.as_str() {
                            "outcome" => return parse(&serde_json::from_str(&event.data).unwrap_or_default(), &doing).map(Some),
                            "status" => {
                                let view: View = parse(&serde_json::from_str(&event.data).unwrap_or_default(), &doing)?;
                                on(progress, Seen::Status(&view));
                            }
                            _ => {
                                // Other event types are log lines; a line this CLI cannot read is skipped.
                                if let Ok(line) = serde_json::from_str::<TaskEvent>(&event.data) {
                                    failures = 0;
                                    last_id = event.id.clone().or(last_id);
                                    on(progress, Seen::Log(&line, &event.data));
                                }
                            }
                        }
                    }
                }
                _ = ticker.tick() => progress.tick(),
                _ = &mut interrupted => return Err(Error::Interrupted { name: view.name.clone() }),
            }
        }
        if once {
            return Ok(None);
        }
        failures += 1;
        if failures > RECONNECTS {
            return Err(Error::Unreachable {
                server: client.server().to_owned(),
                reason: format!("the event stream of {} kept breaking", view.name),
            });
        }
        progress.set("reconnecting…");
        tokio::select! {
            () = tokio::time::sleep(RECONNECT) => {}
            _ = &mut interrupted => return Err(Error::Interrupted { name: view.name.clone() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_seq_is_an_event_id() {
        assert_eq!(event_id("12").unwrap(), "1-12");
        assert_eq!(event_id("2-5").unwrap(), "2-5");
        for bad in ["x", "0-3", "-1", "1-"] {
            assert!(matches!(event_id(bad), Err(Error::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn how_it_ended_is_the_exit_code() {
        let outcome = |phase: &str| Outcome {
            phase: phase.to_owned(),
            message: None,
            outputs: None,
        };
        let cases = [
            ("Delivered", Exit::Ok),
            ("Failed", Exit::Failed),
            ("Cancelled", Exit::Cancelled),
            ("Deleted", Exit::NotFound),
        ];
        for (phase, exit) in cases {
            assert_eq!(exit_of(&outcome(phase)), exit, "{phase}");
        }
    }
}
