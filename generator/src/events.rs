//! The task's event log: numbered lines written to the artifact store in chunks, with every known
//! secret value redacted before a line leaves the process.

use std::sync::Arc;

use appgen_artifacts::ArtifactStore;
use appgen_crd::task::{TaskEvent, TaskEventType};
use serde_json::{Value, json};

use crate::Clock;

/// Lines buffered before a chunk is written; phase and gate boundaries flush sooner.
const CHUNK_LINES: usize = 64;
const REDACTED: &str = "[redacted]";
/// Values shorter than this are not treated as secrets: redacting "1" would garble every line.
const MIN_SECRET_LEN: usize = 6;

/// Appends events for one attempt. Writing the log is best effort: a store that refuses a chunk
/// is reported on stderr and the task carries on, since the result still tells the outcome.
pub struct EventLog {
    store: Arc<dyn ArtifactStore>,
    prefix: String,
    attempt: u32,
    next_seq: u64,
    pending: Vec<TaskEvent>,
    secrets: Vec<String>,
    clock: Clock,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("prefix", &self.prefix)
            .field("attempt", &self.attempt)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl EventLog {
    pub fn new(
        store: Arc<dyn ArtifactStore>,
        prefix: String,
        attempt: u32,
        secrets: Vec<String>,
        clock: Clock,
    ) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        // Longest first, so a secret that contains another is redacted whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        EventLog {
            store,
            prefix,
            attempt,
            next_seq: 1,
            pending: Vec::new(),
            secrets,
            clock,
        }
    }

    /// Queues one line; writes a chunk when enough have gathered.
    pub async fn emit(&mut self, event_type: TaskEventType, body: Value) {
        let body = self.redact(body);
        self.pending.push(TaskEvent {
            seq: self.next_seq,
            ts: (self.clock)(),
            attempt: self.attempt,
            event_type,
            body,
        });
        self.next_seq += 1;
        if self.pending.len() >= CHUNK_LINES {
            self.flush().await;
        }
    }

    /// A `phase` line, which the controller turns into `status.step`; written at once.
    pub async fn phase(&mut self, step: &str, body: Value) {
        let mut line = json!({ "step": step });
        if let (Value::Object(line), Value::Object(extra)) = (&mut line, body) {
            line.extend(extra);
        }
        self.emit(TaskEventType::Phase, line).await;
        self.flush().await;
    }

    pub async fn log(&mut self, message: impl Into<String>) {
        self.emit(TaskEventType::Log, json!({ "message": message.into() }))
            .await;
    }

    pub async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.store.append_events(&self.prefix, &self.pending).await {
            Ok(()) => self.pending.clear(),
            Err(error) => {
                eprintln!("appgen generate: could not append to the event log: {error}");
                // Kept, so the next flush retries them in the same chunk.
            }
        }
    }

    /// Replaces every secret value in every string of `value`.
    pub fn redact(&self, value: Value) -> Value {
        if self.secrets.is_empty() {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.redact_str(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.redact(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.redact_str(&k), self.redact(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    pub fn redact_str(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), REDACTED)
        })
    }
}
