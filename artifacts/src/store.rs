use std::fmt::Debug;
use std::time::Duration;

use appgen_crd::task::TaskEvent;
use bytes::Bytes;

use crate::error::{ArtifactError, Result};
use crate::grant::{Grant, GrantRequest};

/// The directory, under an attempt's prefix, that holds its event-log chunks.
const EVENTS_DIR: &str = "events/";
const CHUNK_SUFFIX: &str = ".ndjson";
/// Enough digits for any u64, so chunk names sort the same as their first seqs.
const CHUNK_SEQ_DIGITS: usize = 20;

/// Bytes under keys that are relative, slash-separated paths (`generations/default/todo/<uid>/input.json`).
///
/// Implementations refuse any key that could reach outside their root. Every write is atomic:
/// a reader sees the old content or the new, never a part.
#[async_trait::async_trait]
pub trait ArtifactStore: Send + Sync + Debug {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()>;

    /// The bytes under `key`, or None when there are none.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;

    /// Every key that starts with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// Removes every key that starts with `prefix`; nothing there is not an error. An empty prefix
    /// is refused, since wiping the whole store is never what a caller means.
    async fn delete_prefix(&self, prefix: &str) -> Result<()>;

    /// Where `key` (or a prefix) can be found by another process, e.g. `file:///var/lib/appgen/input.json`.
    fn uri(&self, key: &str) -> String;

    /// A URL from which anyone holding it can GET the bytes under `key` for `expires_in`, or None
    /// when the store has no such URL and the caller must serve the bytes itself (a local
    /// directory has no server of its own; appgen serves it behind the admin token). The key is
    /// validated, but whether it exists is not checked: a URL for a missing key answers 404.
    async fn download_url(&self, key: &str, expires_in: Duration) -> Result<Option<String>>;

    /// A grant that lets a task do what `request` asks and nothing else, without credentials of
    /// its own; None when the store has no way to grant (a local directory, which the task reads
    /// as the controller's own user).
    async fn grant(&self, request: &GrantRequest) -> Result<Option<Grant>>;

    /// Appends `events` to the log under `prefix` (empty, or ending in `/`) as one chunk,
    /// `<prefix>events/<first seq, 20 digits>.ndjson`, one JSON object per line.
    ///
    /// Seqs must increase within a call and across calls; appending the same events again replaces
    /// their chunk with the same content, so a retried append is harmless.
    async fn append_events(&self, prefix: &str, events: &[TaskEvent]) -> Result<()> {
        let Some(first) = events.first() else {
            return Ok(());
        };
        let events_dir = events_dir(prefix)?;
        let mut chunk = Vec::new();
        let mut previous: Option<u64> = None;
        for event in events {
            if let Some(previous) = previous.filter(|previous| event.seq <= *previous) {
                return Err(ArtifactError::EventsOutOfOrder {
                    prefix: prefix.to_owned(),
                    previous,
                    next: event.seq,
                });
            }
            previous = Some(event.seq);
            serde_json::to_writer(&mut chunk, event).map_err(|source| ArtifactError::EncodeEvent {
                seq: event.seq,
                source,
            })?;
            chunk.push(b'\n');
        }
        let key = format!(
            "{events_dir}{:0width$}{CHUNK_SUFFIX}",
            first.seq,
            width = CHUNK_SEQ_DIGITS
        );
        self.put(&key, Bytes::from(chunk)).await
    }

    /// Every event under `prefix` with `seq >= from_seq`, in order. Chunks that end before
    /// `from_seq` are not read. A line that is not an event is skipped with a warning: a log
    /// damaged by a crash must still be readable.
    async fn read_events(&self, prefix: &str, from_seq: u64) -> Result<Vec<TaskEvent>> {
        let events_dir = events_dir(prefix)?;
        let mut chunks: Vec<(u64, String)> = self
            .list(&events_dir)
            .await?
            .into_iter()
            .filter_map(|key| {
                let first_seq = key.strip_prefix(&events_dir).and_then(chunk_first_seq);
                if first_seq.is_none() {
                    tracing::warn!(%key, "ignoring a file in the event log that is not a chunk");
                }
                first_seq.map(|first_seq| (first_seq, key))
            })
            .collect();
        chunks.sort();

        // A chunk holds seqs from its own first seq up to the next chunk's, so it can only hold
        // `from_seq` or later when the next chunk starts after `from_seq`, or when it is the last.
        let wanted = chunks
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                chunks
                    .get(index + 1)
                    .is_none_or(|(next_first, _)| *next_first > from_seq)
            })
            .map(|(_, (_, key))| key);

        let mut events = Vec::new();
        for key in wanted {
            // A chunk deleted since it was listed holds nothing to read.
            let Some(chunk) = self.get(key).await? else {
                continue;
            };
            events.extend(parse_chunk(key, &chunk).filter(|event| event.seq >= from_seq));
        }
        Ok(events)
    }
}

fn events_dir(prefix: &str) -> Result<String> {
    if !prefix.is_empty() && !prefix.ends_with('/') {
        return Err(ArtifactError::InvalidKey {
            key: prefix.to_owned(),
            reason: "an event-log prefix must be empty or end with '/'",
        });
    }
    Ok(format!("{prefix}{EVENTS_DIR}"))
}

/// The first seq of a chunk named `<20 digits>.ndjson`, or None for any other name.
fn chunk_first_seq(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(CHUNK_SUFFIX)?;
    if digits.len() != CHUNK_SEQ_DIGITS || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_chunk<'a>(key: &'a str, chunk: &'a [u8]) -> impl Iterator<Item = TaskEvent> + 'a {
    chunk.split(|byte| *byte == b'\n').enumerate().filter_map(move |(index, line)| {
        if line.trim_ascii().is_empty() {
            return None;
        }
        match serde_json::from_slice::<TaskEvent>(line) {
            Ok(event) => Some(event),
            Err(error) => {
                tracing::warn!(chunk = %key, line = index + 1, %error, "skipping an event line that does not parse");
                None
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_twenty_digit_ndjson_names_are_chunks() {
        assert_eq!(chunk_first_seq("00000000000000000042.ndjson"), Some(42));
        assert_eq!(chunk_first_seq("18446744073709551615.ndjson"), Some(u64::MAX));
        for name in [
            "42.ndjson",
            "0000000000000000004x.ndjson",
            "00000000000000000042.json",
            "99999999999999999999.ndjson",
        ] {
            assert_eq!(chunk_first_seq(name), None, "{name}");
        }
    }
}
