//! The event log: chunks appended by a running task, read back from any seq.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use appgen_artifacts::{ArtifactError, ArtifactStore, Layout, LocalStore};
use appgen_crd::task::{TaskEvent, TaskEventType};
use bytes::Bytes;
use serde_json::json;

fn event(seq: u64) -> TaskEvent {
    TaskEvent {
        seq,
        ts: jiff::Timestamp::from_second(1_700_000_000 + seq as i64).unwrap(),
        attempt: 1,
        event_type: TaskEventType::Log,
        body: json!({ "line": format!("line {seq}") }),
    }
}

fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<TaskEvent> {
    seqs.map(event).collect()
}

fn seqs(events: &[TaskEvent]) -> Vec<u64> {
    events.iter().map(|event| event.seq).collect()
}

/// A store holding one attempt's log in three chunks: seqs 1-3, 4-5 and 6-9.
async fn store_with_three_chunks(dir: &std::path::Path) -> (LocalStore, String) {
    let store = LocalStore::new(dir.to_path_buf()).unwrap();
    let prefix = Layout::new("default", "todo", "uid-1").unwrap().events_prefix(1);
    store.append_events(&prefix, &events(1..=3)).await.unwrap();
    store.append_events(&prefix, &events(4..=5)).await.unwrap();
    store.append_events(&prefix, &events(6..=9)).await.unwrap();
    (store, prefix)
}

#[tokio::test]
async fn each_append_writes_one_chunk_named_by_its_first_seq() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    assert_eq!(
        store.list(&prefix).await.unwrap(),
        [
            "generations/default/todo/uid-1/attempts/1/events/00000000000000000001.ndjson",
            "generations/default/todo/uid-1/attempts/1/events/00000000000000000004.ndjson",
            "generations/default/todo/uid-1/attempts/1/events/00000000000000000006.ndjson",
        ]
    );
}

#[tokio::test]
async fn a_chunk_holds_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    let chunk = store
        .get(&format!("{prefix}events/00000000000000000004.ndjson"))
        .await
        .unwrap()
        .unwrap();
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&chunk)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["seq"], 4);
    assert_eq!(lines[0]["type"], "log");
    assert_eq!(lines[1]["body"]["line"], "line 5");
}

#[tokio::test]
async fn reading_from_zero_returns_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    let read = store.read_events(&prefix, 0).await.unwrap();
    assert_eq!(read, events(1..=9));
}

#[tokio::test]
async fn reading_from_the_middle_of_a_chunk_or_from_a_chunk_start_returns_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    assert_eq!(
        seqs(&store.read_events(&prefix, 5).await.unwrap()),
        [5, 6, 7, 8, 9]
    );
    assert_eq!(seqs(&store.read_events(&prefix, 6).await.unwrap()), [6, 7, 8, 9]);
    assert_eq!(seqs(&store.read_events(&prefix, 9).await.unwrap()), [9]);
}

#[tokio::test]
async fn reading_from_past_the_end_returns_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    assert!(store.read_events(&prefix, 10).await.unwrap().is_empty());
    assert!(store.read_events(&prefix, u64::MAX).await.unwrap().is_empty());
}

#[tokio::test]
async fn chunks_that_end_before_the_requested_seq_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    // Plant seq 100 in the first chunk: only a reader that opens that chunk could return it.
    let planted = format!("{}\n", serde_json::to_string(&event(100)).unwrap());
    store
        .put(
            &format!("{prefix}events/00000000000000000001.ndjson"),
            Bytes::from(planted),
        )
        .await
        .unwrap();
    assert_eq!(seqs(&store.read_events(&prefix, 6).await.unwrap()), [6, 7, 8, 9]);
    assert_eq!(
        seqs(&store.read_events(&prefix, 0).await.unwrap()),
        [100, 4, 5, 6, 7, 8, 9]
    );
}

#[tokio::test]
async fn corrupt_lines_are_skipped_and_the_rest_of_the_chunk_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    let good = |seq| serde_json::to_string(&event(seq)).unwrap();
    let chunk = format!(
        "{}\nnot json at all\n\n{{\"seq\": 5, \"ts\": \"nonsense\"}}\n\u{fffd}\u{0}\n{}\n{{\"seq\":",
        good(4),
        good(5)
    );
    store
        .put(
            &format!("{prefix}events/00000000000000000004.ndjson"),
            Bytes::from(chunk),
        )
        .await
        .unwrap();
    assert_eq!(
        seqs(&store.read_events(&prefix, 0).await.unwrap()),
        [1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
}

#[tokio::test]
async fn files_in_the_events_directory_that_are_not_chunks_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    store
        .put(&format!("{prefix}events/notes.txt"), Bytes::from_static(b"hello"))
        .await
        .unwrap();
    store
        .put(&format!("{prefix}events/7.ndjson"), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(store.read_events(&prefix, 0).await.unwrap(), events(1..=9));
}

#[tokio::test]
async fn an_attempt_with_no_log_reads_as_no_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().to_path_buf()).unwrap();
    let prefix = Layout::new("default", "todo", "uid-1").unwrap().events_prefix(2);
    assert!(store.read_events(&prefix, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn appending_no_events_writes_no_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().to_path_buf()).unwrap();
    store.append_events("attempts/1/", &[]).await.unwrap();
    assert!(store.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_retried_append_replaces_its_chunk_without_duplicating_events() {
    let dir = tempfile::tempdir().unwrap();
    let (store, prefix) = store_with_three_chunks(dir.path()).await;
    store.append_events(&prefix, &events(4..=5)).await.unwrap();
    assert_eq!(store.read_events(&prefix, 0).await.unwrap(), events(1..=9));
}

#[tokio::test]
async fn events_whose_seqs_do_not_increase_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().to_path_buf()).unwrap();
    let unordered = [event(3), event(2)];
    assert!(matches!(
        store.append_events("a/", &unordered).await,
        Err(ArtifactError::EventsOutOfOrder {
            previous: 3,
            next: 2,
            ..
        })
    ));
    assert!(store.list("").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_event_prefix_without_a_trailing_slash_or_outside_the_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().join("store")).unwrap();
    for prefix in ["attempts/1", "../", "/abs/"] {
        assert!(
            matches!(
                store.append_events(prefix, &events(1..=1)).await,
                Err(ArtifactError::InvalidKey { .. })
            ),
            "append {prefix:?}"
        );
        assert!(
            matches!(
                store.read_events(prefix, 0).await,
                Err(ArtifactError::InvalidKey { .. })
            ),
            "read {prefix:?}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
