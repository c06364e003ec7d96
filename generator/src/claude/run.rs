//! Runs one round of the CLI: starts it in its own process group, turns each stdout line into
//! event-log lines as it arrives, and stops the group at the deadline (TERM, then KILL).

use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::stream::{self, RoundOutcome, StreamEvent};
use crate::command::{CommandSpec, Ending, Running};
use crate::events::EventLog;

/// How long the CLI has to save its session after TERM before it is killed.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often to look whether the CLI has exited while its stdout is still open (a server it
/// started in the background can hold the pipe).
const EXIT_POLL: Duration = Duration::from_millis(250);
/// How long lines still in the pipe are read once the CLI has exited.
const DRAIN_IDLE: Duration = Duration::from_millis(200);

/// What one round left behind.
#[derive(Debug, Clone)]
pub(crate) struct RoundEnd {
    pub ending: Ending,
    /// The `result` line, when the CLI got that far.
    pub outcome: Option<RoundOutcome>,
    /// The end of what the CLI wrote to stderr, secrets redacted.
    pub stderr_tail: String,
}

/// Runs `spec` in `dir`. Its environment is the spec's alone, and it must end by
/// `spec.timeout` from now.
pub(crate) async fn round(spec: &CommandSpec, dir: &Path, grace: Duration, log: &mut EventLog) -> RoundEnd {
    let deadline = Instant::now() + spec.timeout;
    let (mut running, mut lines) = match Running::start_with_lines(spec, dir, &[]) {
        Ok(started) => started,
        Err(reason) => {
            return RoundEnd {
                ending: Ending::NotStarted(reason),
                outcome: None,
                stderr_tail: String::new(),
            };
        }
    };
    let mut outcome = None;
    let mut poll = tokio::time::interval(EXIT_POLL);
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => record(&line, &mut outcome, log).await,
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => break,
            _ = poll.tick() => if running.has_ended() {
                drain(&mut lines, &mut outcome, log).await;
                break;
            },
        }
    }
    let finished = running.finish(deadline, grace).await;
    log.flush().await;
    RoundEnd {
        ending: finished.ending,
        outcome,
        stderr_tail: log.redact_str(&finished.tail),
    }
}

async fn drain(lines: &mut mpsc::Receiver<String>, outcome: &mut Option<RoundOutcome>, log: &mut EventLog) {
    while let Ok(Some(line)) = tokio::time::timeout(DRAIN_IDLE, lines.recv()).await {
        record(&line, outcome, log).await;
    }
}

async fn record(line: &str, outcome: &mut Option<RoundOutcome>, log: &mut EventLog) {
    for event in stream::parse_line(line) {
        for (event_type, body) in stream::bodies(&event) {
            log.emit(event_type, body).await;
        }
        if let StreamEvent::Result(result) = event {
            *outcome = Some(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use appgen_artifacts::{ArtifactStore, LocalStore};
    use appgen_crd::task::{TaskEvent, TaskEventType};

    use super::*;

    const KEY: &str = "sk-ant-test-000000";

    fn fake() -> String {
        format!("{}/tests/fixtures/claude/fake-claude", env!("CARGO_MANIFEST_DIR"))
    }

    fn recording(name: &str) -> String {
        format!(
            "{}/tests/fixtures/claude/{name}.ndjson",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    struct Setup {
        dir: tempfile::TempDir,
        store: Arc<dyn ArtifactStore>,
        log: EventLog,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ArtifactStore> = Arc::new(LocalStore::new(dir.path().join("store")).unwrap());
        let log = EventLog::new(
            store.clone(),
            "generations/default/todo/u-1/attempts/1/".to_owned(),
            1,
            vec![KEY.to_owned()],
            Arc::new(jiff::Timestamp::now),
        );
        Setup { dir, store, log }
    }

    fn spec(env: &[(&str, String)], timeout: Duration) -> CommandSpec {
        let mut spec = CommandSpec::new(&fake(), &["-p", "--output-format", "stream-json"], timeout)
            .env("PATH", "/usr/bin:/bin")
            .env("ANTHROPIC_API_KEY", KEY)
            .stdin("build a todo app");
        for (name, value) in env {
            spec = spec.env(name, value.clone());
        }
        spec
    }

    async fn events(setup: &Setup) -> Vec<TaskEvent> {
        setup
            .store
            .read_events("generations/default/todo/u-1/attempts/1/", 0)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_round_streams_its_events_and_returns_the_result() {
        let mut s = setup();
        let save = s.dir.path().join("call");
        let spec = spec(
            &[
                ("FAKE_CLAUDE_LINES", recording("success")),
                ("FAKE_CLAUDE_SAVE", save.display().to_string()),
            ],
            Duration::from_secs(30),
        );
        let end = round(&spec, s.dir.path(), Duration::from_secs(1), &mut s.log).await;
        assert_eq!(end.ending, Ending::Exited(0));
        let outcome = end.outcome.unwrap();
        assert!(!outcome.is_error);
        assert_eq!(outcome.num_turns, 3);
        assert_eq!(
            std::fs::read_to_string(PathBuf::from(format!("{}.stdin", save.display()))).unwrap(),
            "build a todo app"
        );
        let kinds: Vec<TaskEventType> = events(&s).await.iter().map(|e| e.event_type).collect();
        assert_eq!(
            kinds,
            [
                TaskEventType::Agent,
                TaskEventType::Agent,
                TaskEventType::Tool,
                TaskEventType::Tool,
                TaskEventType::Tool,
                TaskEventType::Tool,
                TaskEventType::Agent,
                TaskEventType::Agent,
                TaskEventType::Usage
            ]
        );
    }

    #[tokio::test]
    async fn events_arrive_while_the_cli_still_runs_and_the_deadline_stops_it() {
        let mut s = setup();
        let spec = spec(
            &[
                ("FAKE_CLAUDE_LINES", recording("overloaded")),
                ("FAKE_CLAUDE_HANG", "1".to_owned()),
            ],
            Duration::from_millis(1_500),
        );
        let started = std::time::Instant::now();
        let end = round(&spec, s.dir.path(), Duration::from_secs(5), &mut s.log).await;
        assert_eq!(end.ending, Ending::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "TERM ended it within the grace"
        );
        assert!(end.stderr_tail.contains("stopped by TERM"), "{}", end.stderr_tail);
        assert_eq!(end.outcome.unwrap().api_error_status, Some(529));
        assert!(
            events(&s)
                .await
                .iter()
                .any(|e| e.event_type == TaskEventType::Usage)
        );
    }

    #[tokio::test]
    async fn a_cli_that_dies_early_reports_its_stderr_without_secrets() {
        let mut s = setup();
        let spec = spec(
            &[
                ("FAKE_CLAUDE_STDERR", format!("Error: invalid key {KEY}")),
                ("FAKE_CLAUDE_EXIT", "1".to_owned()),
            ],
            Duration::from_secs(30),
        );
        let end = round(&spec, s.dir.path(), Duration::from_secs(1), &mut s.log).await;
        assert_eq!(end.ending, Ending::Exited(1));
        assert!(end.outcome.is_none());
        assert_eq!(end.stderr_tail.trim(), "Error: invalid key [redacted]");
    }

    #[tokio::test]
    async fn secrets_the_cli_prints_never_reach_the_event_log() {
        let mut s = setup();
        let lines = s.dir.path().join("leak.ndjson");
        let leak = format!(
            r#"{{"type":"user","message":{{"content":[{{"type":"tool_result","content":"ANTHROPIC_API_KEY={KEY}"}}]}}}}
not json {KEY}
"#
        );
        std::fs::write(&lines, leak).unwrap();
        let spec = spec(
            &[("FAKE_CLAUDE_LINES", lines.display().to_string())],
            Duration::from_secs(30),
        );
        round(&spec, s.dir.path(), Duration::from_secs(1), &mut s.log).await;
        let written = serde_json::to_string(&events(&s).await).unwrap();
        assert!(!written.contains(KEY), "{written}");
        assert!(written.contains("[redacted]"));
    }

    #[tokio::test]
    async fn a_missing_cli_is_reported_not_started() {
        let mut s = setup();
        let spec = CommandSpec::new("/no/such/claude", &[], Duration::from_secs(5));
        let end = round(&spec, s.dir.path(), Duration::from_secs(1), &mut s.log).await;
        assert!(matches!(end.ending, Ending::NotStarted(_)), "{:?}", end.ending);
    }
}
