//! Runs one command of a gate: in its own process group, with a clean environment, its output
//! kept as a bounded tail, and the whole group killed when it outlives its time. A command whose
//! stdout is a stream of records (the claude CLI's) can hand its stdout over line by line instead.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How much of a command's output is kept for error messages.
const TAIL_BYTES: usize = 8 * 1024;
/// The longest stdout line handed over whole; a longer one arrives in pieces of this size.
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;
/// Lines buffered between the reader and the consumer; a slow consumer makes the command wait.
const LINE_BUFFER: usize = 256;

/// One command, as data, so the gate plan can be tested without running anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Written to the command's stdin, which is then closed; without it stdin is empty.
    pub stdin: Option<String>,
}

impl CommandSpec {
    pub fn new(program: &str, args: &[&str], timeout: Duration) -> Self {
        CommandSpec {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env: Vec::new(),
            timeout,
            stdin: None,
        }
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    pub fn stdin(mut self, text: impl Into<String>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    /// How it reads in a log line: `pnpm run build`.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Signalled,
    TimedOut,
    /// The program could not be started at all.
    NotStarted(String),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub ending: Ending,
    /// The last few KiB of stdout and stderr, interleaved as they arrived.
    pub tail: String,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.ending == Ending::Exited(0)
    }

    /// Why it failed, for a person: `exit code 1`, `timed out after 120s`.
    pub fn describe(&self, spec: &CommandSpec) -> String {
        match &self.ending {
            Ending::Exited(code) => format!("`{}` exited with code {code}", spec.display()),
            Ending::Signalled => format!("`{}` was killed by a signal", spec.display()),
            Ending::TimedOut => format!(
                "`{}` did not finish within {}s",
                spec.display(),
                spec.timeout.as_secs()
            ),
            Ending::NotStarted(reason) => format!("`{}` could not start: {reason}", spec.display()),
        }
    }
}

/// The environment every gate command starts from: enough to find tools and nothing else, so no
/// credential given to the generator reaches the app's install scripts or tests.
pub fn base_env(path: &str, home: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".to_owned(), path.to_owned()),
        ("HOME".to_owned(), home.display().to_string()),
        ("LANG".to_owned(), "C.UTF-8".to_owned()),
        ("CI".to_owned(), "true".to_owned()),
        ("NO_COLOR".to_owned(), "1".to_owned()),
        ("npm_config_update_notifier".to_owned(), "false".to_owned()),
    ]
}

/// A started command whose process group dies with this value.
#[derive(Debug)]
pub struct Running {
    child: tokio::process::Child,
    group: Option<rustix::process::Pid>,
    tail: Arc<Mutex<Tail>>,
}

impl Running {
    /// Starts `spec` in `dir` with `base` plus the spec's own variables as the whole environment.
    pub fn start(spec: &CommandSpec, dir: &Path, base: &[(String, String)]) -> Result<Self, String> {
        Self::spawn(spec, dir, base, None)
    }

    /// Like [`Running::start`], but stdout arrives on the returned channel one line at a time (without
    /// its newline) as the command writes it; only stderr goes to the tail.
    pub fn start_with_lines(
        spec: &CommandSpec,
        dir: &Path,
        base: &[(String, String)],
    ) -> Result<(Self, mpsc::Receiver<String>), String> {
        let (sender, receiver) = mpsc::channel(LINE_BUFFER);
        Self::spawn(spec, dir, base, Some(sender)).map(|running| (running, receiver))
    }

    fn spawn(
        spec: &CommandSpec,
        dir: &Path,
        base: &[(String, String)],
        lines: Option<mpsc::Sender<String>>,
    ) -> Result<Self, String> {
        let mut command = tokio::process::Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(dir)
            .env_clear()
            .envs(base.iter().chain(&spec.env).map(|(k, v)| (k, v)))
            .stdin(if spec.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let group = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(rustix::process::Pid::from_raw);
        let tail = Arc::new(Mutex::new(Tail::default()));
        if let (Some(mut input), Some(text)) = (child.stdin.take(), spec.stdin.clone()) {
            tokio::spawn(async move {
                // A command that exits without reading its input is not an error here; its exit
                // status tells what happened. Dropping `input` closes the pipe.
                let _ = input.write_all(text.as_bytes()).await;
            });
        }
        if let Some(out) = child.stdout.take() {
            match lines {
                Some(sender) => tokio::spawn(send_lines(out, sender)),
                None => tokio::spawn(collect(out, tail.clone())),
            };
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(collect(err, tail.clone()));
        }
        Ok(Running { child, group, tail })
    }

    /// Whether it has ended, without waiting.
    pub fn has_ended(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    pub fn tail(&self) -> String {
        self.tail.lock().unwrap_or_else(PoisonError::into_inner).text()
    }

    /// Waits for it to end, killing its group at `timeout`.
    pub async fn wait(mut self, timeout: Duration) -> Outcome {
        let ending = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(Ok(status)) => status.code().map_or(Ending::Signalled, Ending::Exited),
            Ok(Err(e)) => Ending::NotStarted(e.to_string()),
            Err(_) => Ending::TimedOut,
        };
        self.kill_group();
        // Give the readers a moment to drain what the command wrote last.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Outcome {
            ending,
            tail: self.tail(),
        }
    }

    /// Waits for it to end until `deadline`; then asks its whole group to stop (TERM) and kills
    /// what is left (KILL) `grace` later, so a CLI can save its state before it goes.
    pub async fn finish(mut self, deadline: tokio::time::Instant, grace: Duration) -> Outcome {
        let ending = match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(Ok(status)) => status.code().map_or(Ending::Signalled, Ending::Exited),
            Ok(Err(e)) => Ending::NotStarted(e.to_string()),
            Err(_) => {
                if let Some(group) = self.group {
                    // Already gone is fine: there is nothing left to stop.
                    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
                }
                let _ = tokio::time::timeout(grace, self.child.wait()).await;
                Ending::TimedOut
            }
        };
        self.kill_group();
        tokio::time::sleep(Duration::from_millis(20)).await;
        Outcome {
            ending,
            tail: self.tail(),
        }
    }

    /// Kills every process the command started (servers it forked included).
    fn kill_group(&mut self) {
        if let Some(group) = self.group.take() {
            // Already gone is fine: there is nothing left to stop.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Runs `spec` to its end.
pub async fn run(spec: &CommandSpec, dir: &Path, base: &[(String, String)]) -> Outcome {
    match Running::start(spec, dir, base) {
        Ok(running) => running.wait(spec.timeout).await,
        Err(reason) => Outcome {
            ending: Ending::NotStarted(reason),
            tail: String::new(),
        },
    }
}

async fn collect(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let data = buf.get(..n).unwrap_or_default();
        tail.lock().unwrap_or_else(PoisonError::into_inner).push(data);
    }
}

/// Hands `stream` over line by line until it ends or nobody listens any more.
async fn send_lines(stream: impl AsyncRead + Unpin, sender: mpsc::Sender<String>) {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.strip_suffix('\n').unwrap_or(&text);
                if sender.send(text.to_owned()).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// The last [`TAIL_BYTES`] of a byte stream.
#[derive(Debug, Default)]
struct Tail {
    bytes: std::collections::VecDeque<u8>,
}

impl Tail {
    fn push(&mut self, data: &[u8]) {
        self.bytes.extend(data);
        let excess = self.bytes.len().saturating_sub(TAIL_BYTES);
        self.bytes.drain(..excess);
    }

    fn text(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        String::from_utf8_lossy(&all).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> CommandSpec {
        CommandSpec::new("/bin/sh", &["-c", script], timeout)
    }

    fn env() -> Vec<(String, String)> {
        base_env("/usr/bin:/bin", Path::new("/tmp"))
    }

    #[tokio::test]
    async fn a_command_that_succeeds_reports_its_output() {
        let outcome = run(
            &sh("echo hello; echo oops >&2", Duration::from_secs(10)),
            Path::new("/"),
            &env(),
        )
        .await;
        assert!(outcome.succeeded());
        assert!(
            outcome.tail.contains("hello") && outcome.tail.contains("oops"),
            "{}",
            outcome.tail
        );
    }

    #[tokio::test]
    async fn a_failing_command_names_its_exit_code() {
        let spec = sh("exit 3", Duration::from_secs(10));
        let outcome = run(&spec, Path::new("/"), &env()).await;
        assert_eq!(outcome.ending, Ending::Exited(3));
        assert!(outcome.describe(&spec).contains("code 3"));
    }

    #[tokio::test]
    async fn a_command_past_its_time_is_killed_with_everything_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let outcome = run(&sh(&script, Duration::from_millis(500)), Path::new("/"), &env()).await;
        assert_eq!(outcome.ending, Ending::TimedOut);
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild went with the group (it may linger briefly as a zombie of init).
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
        assert!(!alive, "the sleep the command started is still running");
    }

    #[tokio::test]
    async fn only_the_given_environment_reaches_the_command() {
        let spec = sh("env", Duration::from_secs(10)).env("EXTRA", "yes");
        let outcome = run(&spec, Path::new("/"), &env()).await;
        assert!(outcome.tail.contains("EXTRA=yes"));
        for line in outcome.tail.lines() {
            let name = line.split('=').next().unwrap_or_default();
            assert!(
                [
                    "PATH",
                    "HOME",
                    "LANG",
                    "CI",
                    "NO_COLOR",
                    "npm_config_update_notifier",
                    "EXTRA",
                    "PWD",
                    "SHLVL",
                    "_"
                ]
                .contains(&name),
                "{name} reached the command"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_program_is_reported_not_started() {
        let spec = CommandSpec::new("/no/such/program", &[], Duration::from_secs(1));
        let outcome = run(&spec, Path::new("/"), &env()).await;
        assert!(matches!(outcome.ending, Ending::NotStarted(_)));
    }

    #[tokio::test]
    async fn stdin_reaches_the_command() {
        let spec = sh("cat", Duration::from_secs(10)).stdin("the prompt");
        let outcome = run(&spec, Path::new("/"), &env()).await;
        assert_eq!(outcome.tail, "the prompt");
    }

    #[tokio::test]
    async fn stdout_lines_arrive_one_by_one_and_stderr_goes_to_the_tail() {
        let spec = sh("echo one; echo two >&2; printf 'three'", Duration::from_secs(10));
        let (running, mut lines) = Running::start_with_lines(&spec, Path::new("/"), &env()).unwrap();
        let mut seen = Vec::new();
        while let Some(line) = lines.recv().await {
            seen.push(line);
        }
        assert_eq!(seen, ["one", "three"]);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let outcome = running.finish(deadline, Duration::from_secs(1)).await;
        assert!(outcome.succeeded());
        assert_eq!(outcome.tail, "two\n");
    }

    #[tokio::test]
    async fn past_its_deadline_a_command_is_asked_to_stop_before_it_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("stopped");
        let script = format!(
            "trap 'echo term > {}; exit 0' TERM; while true; do sleep 0.05; done",
            marker.display()
        );
        let running = Running::start(&sh(&script, Duration::from_secs(10)), Path::new("/"), &env()).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let deadline = tokio::time::Instant::now();
        let outcome = running.finish(deadline, Duration::from_secs(5)).await;
        assert_eq!(outcome.ending, Ending::TimedOut);
        assert!(marker.exists(), "the command never saw TERM");
    }

    #[tokio::test]
    async fn a_command_that_ignores_term_is_killed_after_the_grace() {
        let script = "trap '' TERM; while true; do sleep 0.05; done";
        let running = Running::start(&sh(script, Duration::from_secs(10)), Path::new("/"), &env()).unwrap();
        let started = tokio::time::Instant::now();
        let outcome = running.finish(started, Duration::from_millis(300)).await;
        assert_eq!(outcome.ending, Ending::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn the_tail_keeps_only_the_end() {
        let mut tail = Tail::default();
        tail.push(&vec![b'a'; TAIL_BYTES]);
        tail.push(b"end");
        let text = tail.text();
        assert_eq!(text.len(), TAIL_BYTES);
        assert!(text.ends_with("end"));
    }
}
