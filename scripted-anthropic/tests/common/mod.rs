//! Runs the real `claude` CLI against a scripted endpoint, isolated in temporary directories.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use appgen_scripted_anthropic::ScriptedAnthropic;
use serde_json::Value;
use tempfile::TempDir;

/// The CLI version these tests were written against; scripts/test installs exactly this one.
pub const PINNED_VERSION: &str = "2.1.332";

/// No single CLI run in these tests should come near this; it only stops a wedged run.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The `claude` on PATH, or a failure that says how to get it (never a skip).
pub fn claude_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("claude"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the Claude Code CLI (`claude`) is not on PATH: run scripts/test, which installs \
             it with `npm install -g @anthropic-ai/claude-code@{PINNED_VERSION}`"
            )
        })
}

/// A working directory and a CLI home, both temporary, that one or more runs share.
pub struct Sandbox {
    pub cwd: TempDir,
    pub home: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            cwd: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".claude")
    }

    /// `claude -p <prompt> --output-format stream-json --verbose <args>` against `server`.
    pub async fn run(&self, server: &ScriptedAnthropic, prompt: &str, args: &[&str]) -> Run {
        self.run_with_env(server, prompt, args, &[]).await
    }

    pub async fn run_with_env(
        &self,
        server: &ScriptedAnthropic,
        prompt: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let mut command = self.command(server, prompt, args, env);
        let started = Instant::now();
        let output = tokio::time::timeout(RUN_LIMIT, command.output())
            .await
            .expect("claude ran past the test limit")
            .expect("claude could not be started");
        Run::new(output, started.elapsed())
    }

    pub fn command(
        &self,
        server: &ScriptedAnthropic,
        prompt: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(claude_bin());
        command
            .args(["-p", prompt, "--output-format", "stream-json", "--verbose"])
            .args(args)
            .current_dir(self.cwd.path())
            // Nothing from the developer's own environment (a real key, a real base URL) leaks in.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("CLAUDE_CONFIG_DIR", self.config_dir())
            .env("ANTHROPIC_BASE_URL", server.base_url())
            .env("ANTHROPIC_API_KEY", "sk-ant-scripted-not-a-real-key")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }
}

/// One finished CLI run: its exit code and its stream-json events.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub events: Vec<Value>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn new(output: std::process::Output, elapsed: Duration) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let events = stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
            .collect();
        Run {
            code: output.status.code(),
            events,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        }
    }

    /// Events whose `type` is `kind` (and whose `subtype` is `subtype`, when given).
    pub fn events_of(&self, kind: &str, subtype: Option<&str>) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["type"] == kind && subtype.is_none_or(|s| e["subtype"] == s))
            .collect()
    }

    /// The one `result` event every run ends with.
    pub fn result(&self) -> &Value {
        let results = self.events_of("result", None);
        assert_eq!(results.len(), 1, "expected one result event in {self:#?}");
        results[0]
    }
}

/// A JSON value with every leaf replaced by its type name: the shape of an event, for reports.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Every text the CLI sent in a request's `messages`, joined, for "was this in the conversation".
pub fn conversation_text(body: &Value) -> String {
    body["messages"].to_string()
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
