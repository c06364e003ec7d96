//! The process backend: each task is a child process group on this machine, and everything there
//! is to know about it lives in files under `<tasks_dir>/<key>/`, so a restarted controller adopts
//! the tasks it finds there instead of launching them again.
//!
//! ```text
//! <tasks_dir>/<key>/
//!   task.json         namespace, name, uid, attempt, labels, startedAt (written first)
//!   work/             the task's working directory and HOME
//!   stdout.log        the task's output, appended
//!   stderr.log
//!   pid               "<pid> <start time>" of the wrapper shell, which leads the task's process group
//!   exit              the command's exit status, as the shell reports it (128+N: killed by signal N)
//!   failed-to-start   why the command never ran
//! ```
//!
//! The command runs under a small `/bin/sh` wrapper that applies the resource limits and writes
//! `exit` itself, so the status is recorded even when the controller is gone by the time the
//! task ends.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustix::process::{Pid, Signal};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::{Backend, BackendError, TaskKey, TaskListing, TaskObservation, TaskSpec, TaskState};

const BACKEND: &str = "process";

const TASK_FILE: &str = "task.json";
const WORK_DIR: &str = "work";
const STDOUT_FILE: &str = "stdout.log";
const STDERR_FILE: &str = "stderr.log";
const PID_FILE: &str = "pid";
const EXIT_FILE: &str = "exit";
const FAILED_TO_START_FILE: &str = "failed-to-start";

/// How often `stop` looks whether the process group has gone.
const STOP_POLL: Duration = Duration::from_millis(25);
/// How long `stop` waits for the kernel to finish off a group after SIGKILL, which cannot be
/// ignored, so this only bounds a stuck kernel (a process in uninterruptible I/O).
const KILL_WAIT: Duration = Duration::from_secs(5);
/// How long `stop` waits for a launch of the same key in this process to record the task's process.
const LAUNCH_WAIT: Duration = Duration::from_secs(10);

/// How the process backend runs tasks.
#[derive(Clone, Debug)]
pub struct ProcessConfig {
    /// Where each task gets its directory, `<tasks_dir>/<key>/`.
    pub tasks_dir: PathBuf,
    /// The program and its leading arguments; the backend appends `--input <uri>`. A program
    /// without a `/` is looked up on the task's `PATH`.
    pub command: Vec<String>,
    /// Added to the task's environment, which otherwise holds only `PATH`, `HOME` and
    /// `APPGEN_TASK_KEY`.
    pub env: Vec<(String, String)>,
    /// `ulimit -t`: CPU seconds per process.
    pub cpu_seconds: Option<u64>,
    /// `ulimit -v`: virtual memory per process, rounded up to whole KiB.
    pub memory_bytes: Option<u64>,
    /// `ulimit -n`: open files per process.
    pub open_files: Option<u64>,
    /// How long `stop` lets the task end after SIGTERM before it sends SIGKILL.
    pub stop_grace: Duration,
}

impl ProcessConfig {
    /// No extra environment, no limits, ten seconds' grace.
    pub fn new(tasks_dir: PathBuf, command: Vec<String>) -> Self {
        ProcessConfig {
            tasks_dir,
            command,
            env: Vec::new(),
            cpu_seconds: None,
            memory_bytes: None,
            open_files: None,
            stop_grace: Duration::from_secs(10),
        }
    }
}

/// Runs tasks as process groups on this machine. See the module documentation for the files.
#[derive(Debug)]
pub struct ProcessBackend {
    config: ProcessConfig,
    /// Keys whose launch is under way in this process: their directory exists but their process
    /// may not yet, which is Pending here and, after a restart, a launch that never finished.
    launching: Arc<Mutex<HashSet<TaskKey>>>,
}

/// What `task.json` holds: enough to list the task without asking anyone else.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct TaskRecord {
    namespace: String,
    name: String,
    uid: String,
    attempt: u32,
    labels: BTreeMap<String, String>,
    started_at: jiff::Timestamp,
}

/// A process as the `pid` file names it. The start time tells our process from a later one that
/// the kernel gave the same pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProcessIdentity {
    pid: i32,
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot.
    start_time: u64,
}

/// The fields of `/proc/<pid>/stat` this backend reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ProcStat {
    state: char,
    process_group: i32,
    start_time: u64,
}

impl ProcStat {
    /// Zombies (`Z`) and dying processes (`X`) hold no resources and run no code.
    fn is_live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

impl ProcessBackend {
    pub fn new(config: ProcessConfig) -> Self {
        ProcessBackend {
            config,
            launching: Arc::default(),
        }
    }

    /// The task's directory, absolute so that the wrapper can name its files from anywhere.
    fn task_dir(&self, key: &TaskKey, operation: &'static str) -> Result<PathBuf, BackendError> {
        let name = key.as_str();
        // A key from TaskKey::new may hold anything its uid holds; only a plain name may become a
        // directory, so that no key can reach outside tasks_dir or hide as a dot-file.
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\0']) {
            return Err(BackendError::rejected(
                BACKEND,
                operation,
                format!("task key {name:?} cannot name a directory"),
            ));
        }
        let tasks_dir = std::path::absolute(&self.config.tasks_dir)
            .map_err(|e| io_error(operation, &self.config.tasks_dir, e))?;
        Ok(tasks_dir.join(name))
    }

    /// Starts the wrapper for a task whose directory is already claimed. Every failure is returned
    /// as the reason the task failed to start.
    async fn start(&self, task: &TaskSpec, dir: &Path) -> Result<(), String> {
        let work = dir.join(WORK_DIR);
        let path_var = self.path_var();
        let (program, args) = self
            .config
            .command
            .split_first()
            .ok_or("no command is configured")?;
        let program = resolve_program(program, &path_var)?;
        let script = wrapper_script(dir, &self.config)?;
        let (stdout, stderr) = (
            open_log(&dir.join(STDOUT_FILE))?,
            open_log(&dir.join(STDERR_FILE))?,
        );

        let mut command = tokio::process::Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg(program)
            .args(args)
            .arg("--input")
            .arg(&task.input_uri)
            .current_dir(&work)
            .env_clear()
            .env("PATH", &path_var)
            .env("HOME", &work)
            .envs(self.config.env.iter().map(|(k, v)| (k, v)))
            .env("APPGEN_TASK_KEY", task.key.as_str())
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            // Its own group, so that stop reaches every process the task starts, and a Ctrl-C
            // meant for the controller's terminal does not reach the task.
            .process_group(0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start /bin/sh: {e}"))?;
        let mut release = child.stdin.take();

        let recorded = match child.id().and_then(|pid| i32::try_from(pid).ok()) {
            Some(pid) => record_pid(dir, pid),
            None => Err("the wrapper shell ended before its pid was read".to_owned()),
        };
        let outcome = match recorded {
            Ok(()) => match release.as_mut() {
                // The wrapper runs the command only after this line: see wrapper_script.
                Some(stdin) => stdin
                    .write_all(b"go\n")
                    .await
                    .map_err(|e| format!("could not release the task: {e}")),
                None => Err("the wrapper shell has no stdin to release it with".to_owned()),
            },
            // The wrapper is still waiting for its release; closing its stdin makes it exit
            // without running the command.
            Err(reason) => Err(reason),
        };
        if let Err(reason) = &outcome {
            // Written before stdin closes, so the wrapper's own note cannot replace this reason
            // (launch writes it again, to the same effect).
            if let Err(error) = write_failed_to_start(dir, reason) {
                tracing::warn!(key = %task.key, %error, "could not record why the task failed to start");
            }
        }
        drop(release);
        // Reaps the wrapper when it ends, so no zombie lingers; its status is in the `exit` file.
        let key = task.key.clone();
        tokio::spawn(async move {
            if let Err(error) = child.wait().await {
                tracing::debug!(%key, %error, "could not reap the task's wrapper shell");
            }
        });
        outcome
    }

    fn is_launching(&self, key: &TaskKey) -> bool {
        self.launching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
    }

    /// The task's PATH: the configured one, else the controller's.
    fn path_var(&self) -> String {
        self.config
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".to_owned())
    }
}

#[async_trait::async_trait]
impl Backend for ProcessBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError> {
        const OPERATION: &str = "launch";
        let dir = self.task_dir(&task.key, OPERATION)?;
        let tasks_dir = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        let record = TaskRecord {
            namespace: task.namespace.clone(),
            name: task.name.clone(),
            uid: task.uid.clone(),
            attempt: task.attempt,
            labels: task.labels.clone(),
            started_at: jiff::Timestamp::now(),
        };
        let claim_dir = dir.clone();
        let claimed = blocking(OPERATION, move || {
            std::fs::create_dir_all(&tasks_dir).map_err(|e| io_error(OPERATION, &tasks_dir, e))?;
            // Creating the directory is the claim: of two launches with one key, only one creates it.
            match std::fs::create_dir(&claim_dir) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(io_error(OPERATION, &claim_dir, e)),
            }
        })
        .await?;
        if !claimed {
            return Ok(());
        }

        let _launching = LaunchGuard::new(&self.launching, &task.key);
        let prepare_dir = dir.clone();
        let prepared = blocking(OPERATION, move || {
            let json = serde_json::to_vec_pretty(&record)
                .map_err(|e| BackendError::rejected(BACKEND, OPERATION, e.to_string()))?;
            write_atomically(&prepare_dir.join(TASK_FILE), &json)
                .map_err(|e| io_error(OPERATION, &prepare_dir.join(TASK_FILE), e))?;
            let work = prepare_dir.join(WORK_DIR);
            std::fs::create_dir(&work).map_err(|e| io_error(OPERATION, &work, e))
        })
        .await;
        let started = match prepared {
            Ok(()) => self.start(task, &dir).await,
            Err(error) => Err(error.to_string()),
        };
        // The directory is claimed now, so a retried launch would do nothing: a failure from here
        // on is the task's (FailedToStart on observe), not the call's.
        if let Err(reason) = started {
            tracing::warn!(key = %task.key, %reason, "task failed to start");
            if let Err(error) = write_failed_to_start(&dir, &reason) {
                tracing::warn!(key = %task.key, %error, "could not record why the task failed to start");
            }
        }
        Ok(())
    }

    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError> {
        let dir = self.task_dir(key, "observe")?;
        let launching = Arc::clone(&self.launching);
        let key = key.clone();
        blocking("observe", move || observe_dir(&dir, &key, &launching)).await
    }

    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError> {
        const OPERATION: &str = "stop";
        let dir = self.task_dir(key, OPERATION)?;
        // A launch of this key under way in this process may not have recorded its process yet;
        // without waiting for it, the task it starts would outlive this stop.
        let deadline = tokio::time::Instant::now() + LAUNCH_WAIT;
        while self.is_launching(key) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(STOP_POLL).await;
        }
        let pid_dir = dir.clone();
        let Some(leader) = blocking(OPERATION, move || read_pid(&pid_dir)).await? else {
            // No process was ever recorded: nothing runs under this key.
            return Ok(());
        };
        let Some(group) = Pid::from_raw(leader.pid) else {
            return Ok(());
        };
        // A pid is never reused while its number still names a live process group, so a different
        // process under the leader's pid means our group is long gone and the number names a
        // stranger's. With no process under it, any members left in the group are the task's.
        if read_stat(leader.pid).is_some_and(|stat| stat.start_time != leader.start_time) {
            return Ok(());
        }
        if !signal_group(group, Signal::TERM)? {
            return Ok(());
        }
        if wait_for_group_to_end(leader.pid, self.config.stop_grace).await {
            return Ok(());
        }
        tracing::info!(%key, grace = ?self.config.stop_grace, "task ignored SIGTERM; killing its process group");
        signal_group(group, Signal::KILL)?;
        if !wait_for_group_to_end(leader.pid, KILL_WAIT).await {
            return Err(BackendError::unavailable(
                BACKEND,
                OPERATION,
                format!("process group {} survived SIGKILL", leader.pid),
            ));
        }
        // The wrapper died with the group and could not write its status; say what ended it, unless
        // it had already ended by itself and only stragglers were left.
        blocking(OPERATION, move || {
            let exit = dir.join(EXIT_FILE);
            match exit.try_exists() {
                Ok(true) => Ok(()),
                _ => write_atomically(&exit, format!("{}\n", 128 + Signal::KILL.as_raw()).as_bytes())
                    .map_err(|e| io_error(OPERATION, &exit, e)),
            }
        })
        .await
    }

    async fn list(&self) -> Result<Vec<TaskListing>, BackendError> {
        let tasks_dir = std::path::absolute(&self.config.tasks_dir)
            .map_err(|e| io_error("list", &self.config.tasks_dir, e))?;
        let launching = Arc::clone(&self.launching);
        blocking("list", move || list_dir(&tasks_dir, &launching)).await
    }
}

/// Removes a key from the launching set however the launch ends.
struct LaunchGuard<'a> {
    launching: &'a Mutex<HashSet<TaskKey>>,
    key: TaskKey,
}

impl<'a> LaunchGuard<'a> {
    fn new(launching: &'a Mutex<HashSet<TaskKey>>, key: &TaskKey) -> Self {
        launching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone());
        LaunchGuard {
            launching,
            key: key.clone(),
        }
    }
}

impl Drop for LaunchGuard<'_> {
    fn drop(&mut self) {
        self.launching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

fn observe_dir(
    dir: &Path,
    key: &TaskKey,
    launching: &Mutex<HashSet<TaskKey>>,
) -> Result<TaskObservation, BackendError> {
    const OPERATION: &str = "observe";
    match dir.try_exists() {
        Ok(true) => {}
        Ok(false) => return Ok(TaskObservation::missing()),
        Err(e) => return Err(io_error(OPERATION, dir, e)),
    }
    let read =
        |file: &str| read_optional(&dir.join(file)).map_err(|e| io_error(OPERATION, &dir.join(file), e));
    let pid_file = dir.join(PID_FILE);
    let started_at = modified(&pid_file).or_else(|| {
        read(TASK_FILE)
            .ok()
            .flatten()
            .and_then(|json| serde_json::from_str::<TaskRecord>(&json).ok())
            .map(|record| record.started_at)
    });
    let observation = |state, finished_at| TaskObservation {
        state,
        started_at,
        finished_at,
    };

    if let Some(reason) = read(FAILED_TO_START_FILE)? {
        let finished_at = modified(&dir.join(FAILED_TO_START_FILE));
        return Ok(observation(
            TaskState::FailedToStart {
                reason: reason.trim().to_owned(),
            },
            finished_at,
        ));
    }
    let exited = |status: String| {
        let finished_at = modified(&dir.join(EXIT_FILE));
        observation(exit_state(status.trim()), finished_at)
    };
    if let Some(status) = read(EXIT_FILE)? {
        return Ok(exited(status));
    }
    let Some(leader) = read_pid(dir)? else {
        let state = if launching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(key)
        {
            TaskState::Pending
        } else {
            TaskState::FailedToStart {
                reason: "the launch was interrupted before the task started".to_owned(),
            }
        };
        return Ok(observation(state, None));
    };
    if read_stat(leader.pid).is_some_and(|stat| stat.is_live() && stat.start_time == leader.start_time) {
        return Ok(observation(TaskState::Running, None));
    }
    // The wrapper may have written its status between the first look and the process check.
    match read(EXIT_FILE)? {
        Some(status) => Ok(exited(status)),
        // It died without recording a status: killed, or the machine went down with it.
        None => Ok(observation(
            TaskState::Exited {
                code: None,
                signal: None,
            },
            None,
        )),
    }
}

fn list_dir(tasks_dir: &Path, launching: &Mutex<HashSet<TaskKey>>) -> Result<Vec<TaskListing>, BackendError> {
    let entries = match std::fs::read_dir(tasks_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("list", tasks_dir, e)),
    };
    let mut listings = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error("list", tasks_dir, e))?;
        let Some(key) = entry.file_name().to_str().and_then(TaskKey::parse) else {
            continue;
        };
        let dir = entry.path();
        let task_file = dir.join(TASK_FILE);
        let Some(json) = read_optional(&task_file).map_err(|e| io_error("list", &task_file, e))? else {
            continue;
        };
        let record = match serde_json::from_str::<TaskRecord>(&json) {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(path = %task_file.display(), %error, "skipping a task whose task.json does not parse");
                continue;
            }
        };
        let observation = observe_dir(&dir, &key, launching)?;
        listings.push(TaskListing {
            key,
            namespace: record.namespace,
            name: record.name,
            observation,
        });
    }
    listings.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(listings)
}

/// The shell's status: 128+N means the command was killed by signal N.
fn exit_state(status: &str) -> TaskState {
    match status.parse::<i32>() {
        Ok(n) if (129..=128 + 64).contains(&n) => TaskState::Exited {
            code: None,
            signal: Some(n - 128),
        },
        Ok(code) => TaskState::Exited {
            code: Some(code),
            signal: None,
        },
        Err(_) => TaskState::Exited {
            code: None,
            signal: None,
        },
    }
}

/// The wrapper `/bin/sh -c` runs, with the command as its arguments.
///
/// It first waits for one line on stdin, which the controller sends once the `pid` file is
/// written: a command therefore never runs without a record of its process, and if the
/// controller dies in between, stdin closes and the wrapper exits without running it. It traps
/// SIGTERM (the command does not inherit the trap) so that after a stop it lives to write `exit`.
fn wrapper_script(dir: &Path, config: &ProcessConfig) -> Result<String, String> {
    let dir = dir
        .to_str()
        .ok_or_else(|| format!("task directory {} is not UTF-8", dir.display()))?;
    let mut script = format!(
        "d={dir}\n\
         record() {{ printf '%s\\n' \"$2\" > \"$d/$1.tmp\" && mv -f \"$d/$1.tmp\" \"$d/$1\"; }}\n\
         trap : TERM\n\
         if ! IFS= read -r go; then\n\
         \x20 [ -e \"$d/{FAILED_TO_START_FILE}\" ] || record {FAILED_TO_START_FILE} 'the controller went away before releasing the task'\n\
         \x20 exit 125\n\
         fi\n\
         exec </dev/null\n",
        dir = shell_quote(dir)
    );
    let limits = [
        ("-t", config.cpu_seconds),
        // ulimit -v counts KiB.
        ("-v", config.memory_bytes.map(|bytes| bytes.div_ceil(1024))),
        ("-n", config.open_files),
    ];
    for (flag, value) in limits {
        if let Some(value) = value {
            script.push_str(&format!(
                "ulimit {flag} {value} || {{ record {FAILED_TO_START_FILE} 'could not apply ulimit {flag} {value}'; exit 125; }}\n"
            ));
        }
    }
    script.push_str(&format!("\"$@\"\nrecord {EXIT_FILE} \"$?\"\n"));
    Ok(script)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The program as an absolute path, checked now so that a typo becomes FailedToStart with a clear
/// reason instead of a shell's exit 127 that would pass for the generator's own failure.
fn resolve_program(program: &str, path_var: &str) -> Result<PathBuf, String> {
    let is_executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        // Relative to the controller's directory, not the task's work/, which is where it would run.
        let path =
            std::path::absolute(program).map_err(|e| format!("cannot resolve program {program:?}: {e}"))?;
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(format!(
                "program {} does not exist or is not executable",
                path.display()
            ))
        };
    }
    path_var
        .split(':')
        .filter(|dir| !dir.is_empty())
        .map(|dir| Path::new(dir).join(program))
        .find(|path| is_executable(path))
        .ok_or_else(|| format!("program {program:?} was not found on PATH {path_var:?}"))
}

fn open_log(path: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("could not open {}: {e}", path.display()))
}

fn record_pid(dir: &Path, pid: i32) -> Result<(), String> {
    let stat =
        read_stat(pid).ok_or_else(|| format!("could not read /proc/{pid}/stat of the wrapper shell"))?;
    let line = format!("{pid} {}\n", stat.start_time);
    write_atomically(&dir.join(PID_FILE), line.as_bytes())
        .map_err(|e| format!("could not record the pid: {e}"))
}

fn read_pid(dir: &Path) -> Result<Option<ProcessIdentity>, BackendError> {
    let path = dir.join(PID_FILE);
    let Some(text) = read_optional(&path).map_err(|e| io_error("read the pid of", &path, e))? else {
        return Ok(None);
    };
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(pid)), Some(Ok(start_time))) => match i32::try_from(pid) {
            Ok(pid) if pid > 0 => Ok(Some(ProcessIdentity { pid, start_time })),
            _ => Err(BackendError::rejected(
                BACKEND,
                "observe",
                format!("{} names no process: {text:?}", path.display()),
            )),
        },
        _ => Err(BackendError::rejected(
            BACKEND,
            "observe",
            format!(
                "{} does not hold \"<pid> <start time>\": {text:?}",
                path.display()
            ),
        )),
    }
}

/// The process's stat, or None when there is no such process (or /proc cannot tell).
fn read_stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // The command name (field 2) is in parentheses and may itself hold spaces and parentheses, so
    // the fields are counted from the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        process_group: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// Whether any process of the group is still live (zombies do not count: they run nothing and
/// wait only for a parent, maybe not us, to reap them).
fn group_is_live(group: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .any(|stat| stat.process_group == group && stat.is_live())
}

/// Signals every process in the group; false when the group no longer exists.
fn signal_group(group: Pid, signal: Signal) -> Result<bool, BackendError> {
    match rustix::process::kill_process_group(group, signal) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::SRCH) => Ok(false),
        Err(e) => Err(BackendError::unavailable(
            BACKEND,
            "stop",
            format!("could not signal process group {}: {e}", group.as_raw_nonzero()),
        )),
    }
}

/// Polls until no live process is left in the group; false if some still are after `within`.
async fn wait_for_group_to_end(group: i32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if !group_is_live(group) {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(STOP_POLL).await;
    }
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn modified(path: &Path) -> Option<jiff::Timestamp> {
    let time: SystemTime = std::fs::metadata(path).and_then(|meta| meta.modified()).ok()?;
    jiff::Timestamp::try_from(time).ok()
}

/// Writes beside `path` and renames over it, so a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().and_then(|name| name.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

fn write_failed_to_start(dir: &Path, reason: &str) -> io::Result<()> {
    write_atomically(&dir.join(FAILED_TO_START_FILE), format!("{reason}\n").as_bytes())
}

/// Runs file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    operation: &'static str,
    work: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        BackendError::unavailable(BACKEND, operation, format!("the worker thread failed: {e}"))
    })?
}

fn io_error(operation: &'static str, path: &Path, error: io::Error) -> BackendError {
    let message = format!("{}: {error}", path.display());
    match error.kind() {
        // The tasks directory is misconfigured: retrying will not fix its permissions.
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            BackendError::rejected(BACKEND, operation, message)
        }
        _ => BackendError::unavailable(BACKEND, operation, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::conformance::{self, Behaviour};
    use std::os::unix::process::CommandExt;
    use std::time::Instant;

    fn spec(key: &str) -> TaskSpec {
        let key = TaskKey::parse(key).unwrap();
        TaskSpec {
            namespace: "default".to_owned(),
            name: "todo".to_owned(),
            uid: key.uid().to_owned(),
            attempt: key.attempt(),
            key,
            input_uri: "file:///artifacts/input.json".to_owned(),
            labels: BTreeMap::from([("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned())]),
            deadline: None,
        }
    }

    fn config(tasks_dir: &Path, script: &str) -> ProcessConfig {
        let command = ["/bin/sh", "-c", script, "task"].map(str::to_owned).to_vec();
        ProcessConfig {
            stop_grace: Duration::from_secs(5),
            ..ProcessConfig::new(tasks_dir.to_owned(), command)
        }
    }

    fn backend(tasks_dir: &Path, script: &str) -> ProcessBackend {
        ProcessBackend::new(config(tasks_dir, script))
    }

    async fn wait_for_end(backend: &ProcessBackend, key: &TaskKey) -> TaskObservation {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let observation = backend.observe(key).await.unwrap();
            if !observation.is_active() {
                return observation;
            }
            assert!(Instant::now() < deadline, "{key} still runs: {observation:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for a file the task writes, e.g. its pid, and returns its content.
    async fn wait_for_file(path: &Path) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(text) = read_optional(path).unwrap().filter(|text| text.ends_with('\n')) {
                return text;
            }
            assert!(Instant::now() < deadline, "{} never appeared", path.display());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn is_live(pid: i32) -> bool {
        read_stat(pid).is_some_and(|stat| stat.is_live())
    }

    fn work_dir(tasks_dir: &Path, key: &TaskKey) -> PathBuf {
        tasks_dir.join(key.as_str()).join(WORK_DIR)
    }

    /// One tasks directory; what a task does is written in its input URI, which the script reads.
    struct Harness(tempfile::TempDir);

    #[async_trait::async_trait]
    impl conformance::Harness for Harness {
        fn traits(&self) -> conformance::Traits {
            conformance::Traits {
                survives_restart: true,
                enforces_deadline: false,
            }
        }

        async fn backend(&self) -> Box<dyn Backend> {
            Box::new(backend(self.0.path(), conformance::SHELL_STAND_IN))
        }

        async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec {
            TaskSpec {
                input_uri: behaviour.input_uri("file:///artifacts"),
                deadline,
                ..spec(key.as_str())
            }
        }

        async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec) {
            let missing = ProcessConfig::new(
                self.0.path().to_owned(),
                vec!["/nonexistent/appgen".to_owned(), "generate".to_owned()],
            );
            (Box::new(ProcessBackend::new(missing)), spec(key.as_str()))
        }
    }

    #[tokio::test]
    async fn the_process_backend_keeps_the_backend_promises() {
        conformance::check(&Harness(tempfile::tempdir().unwrap())).await;
    }

    /// Blocks until the test creates `work/release`, then exits with `code`.
    fn wait_for_release(code: i32) -> String {
        format!("while [ ! -e release ]; do sleep 0.02; done; exit {code}")
    }

    #[tokio::test]
    async fn a_launched_task_runs_then_exits_with_its_status() {
        let tmp = tempfile::tempdir().unwrap();
        let script = format!("echo \"args: $*\"; env; {}", wait_for_release(0));
        let mut config = config(tmp.path(), &script);
        config.env = vec![("GREETING".to_owned(), "hello".to_owned())];
        let backend = ProcessBackend::new(config);
        let task = spec("uid-a-1");

        backend.launch(&task).await.unwrap();
        let running = backend.observe(&task.key).await.unwrap();
        assert_eq!(running.state, TaskState::Running);
        assert!(running.started_at.is_some());
        assert_eq!(running.finished_at, None);

        std::fs::write(work_dir(tmp.path(), &task.key).join("release"), "").unwrap();
        let ended = wait_for_end(&backend, &task.key).await;
        assert_eq!(ended.state, TaskState::exited(0));
        assert!(ended.finished_at.is_some() && ended.started_at <= ended.finished_at);

        let stdout = std::fs::read_to_string(tmp.path().join("uid-a-1").join(STDOUT_FILE)).unwrap();
        assert!(
            stdout.contains("args: --input file:///artifacts/input.json\n"),
            "{stdout}"
        );
        assert!(stdout.contains("GREETING=hello\n"), "{stdout}");
        assert!(stdout.contains("APPGEN_TASK_KEY=uid-a-1\n"), "{stdout}");
        let home = format!("HOME={}\n", work_dir(tmp.path(), &task.key).display());
        assert!(stdout.contains(&home), "{stdout}");
        // Nothing of the controller's own environment but PATH reaches the task.
        let shell_vars = [
            "PATH",
            "HOME",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
            "GREETING",
            "APPGEN_TASK_KEY",
        ];
        for line in stdout.lines().filter(|line| !line.starts_with("args:")) {
            let name = line.split_once('=').map_or(line, |(name, _)| name);
            assert!(
                shell_vars.contains(&name),
                "{name} leaked into the task's environment"
            );
        }
    }

    #[tokio::test]
    async fn a_failing_command_exits_with_its_code() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(tmp.path(), "echo oops >&2; exit 3");
        let task = spec("uid-b-2");
        backend.launch(&task).await.unwrap();
        assert_eq!(
            wait_for_end(&backend, &task.key).await.state,
            TaskState::exited(3)
        );
        let stderr = std::fs::read_to_string(tmp.path().join("uid-b-2").join(STDERR_FILE)).unwrap();
        assert_eq!(stderr, "oops\n");
    }

    #[tokio::test]
    async fn a_command_killed_by_a_signal_reports_the_signal() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(tmp.path(), "kill -USR1 $$");
        let task = spec("uid-c-1");
        backend.launch(&task).await.unwrap();
        assert_eq!(
            wait_for_end(&backend, &task.key).await.state,
            TaskState::Exited {
                code: None,
                signal: Some(Signal::USR1.as_raw())
            }
        );
    }

    #[tokio::test]
    async fn a_second_launch_with_the_same_key_starts_no_second_task() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(tmp.path(), "echo started >> \"$HOME/starts\"");
        let task = spec("uid-d-1");

        let (first, second) = tokio::join!(backend.launch(&task), backend.launch(&task));
        first.unwrap();
        second.unwrap();
        wait_for_end(&backend, &task.key).await;
        // Not even a finished task is started again.
        backend.launch(&task).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        let starts = std::fs::read_to_string(work_dir(tmp.path(), &task.key).join("starts")).unwrap();
        assert_eq!(starts.lines().count(), 1);
    }

    #[tokio::test]
    async fn stop_ends_the_whole_process_group() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(
            tmp.path(),
            "sleep 1000 & echo $! > grandchild; echo $$ > child; wait",
        );
        let task = spec("uid-e-1");
        backend.launch(&task).await.unwrap();
        let work = work_dir(tmp.path(), &task.key);
        let child: i32 = wait_for_file(&work.join("child")).await.trim().parse().unwrap();
        let grandchild: i32 = wait_for_file(&work.join("grandchild"))
            .await
            .trim()
            .parse()
            .unwrap();
        assert!(is_live(child) && is_live(grandchild));

        backend.stop(&task.key).await.unwrap();
        assert!(!is_live(child), "the command survived stop");
        assert!(!is_live(grandchild), "the command's child survived stop");
        let stopped = backend.observe(&task.key).await.unwrap();
        assert_eq!(
            stopped.state,
            TaskState::Exited {
                code: None,
                signal: Some(Signal::TERM.as_raw())
            }
        );

        backend.stop(&task.key).await.unwrap();
    }

    #[tokio::test]
    async fn stop_kills_a_task_that_ignores_sigterm_after_the_grace() {
        let tmp = tempfile::tempdir().unwrap();
        let script = "trap '' TERM; sleep 1000 & echo $! > grandchild; echo $$ > child; wait";
        let mut config = config(tmp.path(), script);
        config.stop_grace = Duration::from_millis(300);
        let backend = ProcessBackend::new(config);
        let task = spec("uid-f-1");
        backend.launch(&task).await.unwrap();
        let work = work_dir(tmp.path(), &task.key);
        let child: i32 = wait_for_file(&work.join("child")).await.trim().parse().unwrap();
        let grandchild: i32 = wait_for_file(&work.join("grandchild"))
            .await
            .trim()
            .parse()
            .unwrap();

        let started = Instant::now();
        backend.stop(&task.key).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(!is_live(child) && !is_live(grandchild));
        let killed = backend.observe(&task.key).await.unwrap();
        assert_eq!(
            killed.state,
            TaskState::Exited {
                code: None,
                signal: Some(Signal::KILL.as_raw())
            }
        );
    }

    #[tokio::test]
    async fn stop_ends_processes_a_finished_command_left_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(tmp.path(), "sleep 1000 & echo $! > grandchild");
        let task = spec("uid-g-1");
        backend.launch(&task).await.unwrap();
        assert_eq!(
            wait_for_end(&backend, &task.key).await.state,
            TaskState::exited(0)
        );
        let grandchild: i32 = wait_for_file(&work_dir(tmp.path(), &task.key).join("grandchild"))
            .await
            .trim()
            .parse()
            .unwrap();
        assert!(is_live(grandchild));

        backend.stop(&task.key).await.unwrap();
        assert!(!is_live(grandchild));
        // The task's own status stands.
        assert_eq!(
            backend.observe(&task.key).await.unwrap().state,
            TaskState::exited(0)
        );
    }

    #[tokio::test]
    async fn a_restarted_controller_adopts_a_running_task_and_sees_it_exit() {
        let tmp = tempfile::tempdir().unwrap();
        let task = spec("uid-h-1");
        {
            let first = backend(tmp.path(), &wait_for_release(4));
            first.launch(&task).await.unwrap();
        }

        let second = backend(tmp.path(), "echo a restarted controller must not start anything");
        second.launch(&task).await.unwrap();
        assert_eq!(second.observe(&task.key).await.unwrap().state, TaskState::Running);
        let listed = second.list().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0].key.clone(),
                listed[0].namespace.as_str(),
                listed[0].name.as_str()
            ),
            (task.key.clone(), "default", "todo")
        );
        assert_eq!(listed[0].observation.state, TaskState::Running);

        std::fs::write(work_dir(tmp.path(), &task.key).join("release"), "").unwrap();
        assert_eq!(wait_for_end(&second, &task.key).await.state, TaskState::exited(4));
    }

    #[tokio::test]
    async fn a_recycled_pid_is_neither_reported_running_nor_signalled() {
        let tmp = tempfile::tempdir().unwrap();
        let task = spec("uid-i-1");
        // A stranger holds the pid the task's files name, having started at another time.
        let mut stranger = std::process::Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(stranger.id()).unwrap();
        let dir = tmp.path().join(task.key.as_str());
        std::fs::create_dir_all(dir.join(WORK_DIR)).unwrap();
        let record = TaskRecord {
            namespace: task.namespace.clone(),
            name: task.name.clone(),
            uid: task.uid.clone(),
            attempt: task.attempt,
            labels: task.labels.clone(),
            started_at: jiff::Timestamp::now(),
        };
        std::fs::write(dir.join(TASK_FILE), serde_json::to_vec(&record).unwrap()).unwrap();
        let stranger_start = read_stat(pid).unwrap().start_time;
        std::fs::write(dir.join(PID_FILE), format!("{pid} {}\n", stranger_start + 1)).unwrap();

        let backend = backend(tmp.path(), "exit 0");
        let observed = backend.observe(&task.key).await.unwrap();
        assert_eq!(
            observed.state,
            TaskState::Exited {
                code: None,
                signal: None
            }
        );
        backend.stop(&task.key).await.unwrap();
        assert!(is_live(pid), "stop signalled a process that is not the task's");
        stranger.kill().unwrap();
        stranger.wait().unwrap();
    }

    #[tokio::test]
    async fn a_command_that_cannot_be_spawned_failed_to_start() {
        let tmp = tempfile::tempdir().unwrap();
        for (key, program) in [
            ("uid-j-1", "/nonexistent/appgen"),
            ("uid-j-2", "appgen-not-on-path"),
        ] {
            let backend = ProcessBackend::new(ProcessConfig::new(
                tmp.path().to_owned(),
                vec![program.to_owned()],
            ));
            let task = spec(key);
            backend.launch(&task).await.unwrap();
            backend.launch(&task).await.unwrap();
            match backend.observe(&task.key).await.unwrap().state {
                TaskState::FailedToStart { reason } => assert!(reason.contains(program), "{reason}"),
                other => panic!("{program}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn limits_are_applied_to_the_command() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = config(tmp.path(), "ulimit -t; ulimit -v; ulimit -n");
        config.cpu_seconds = Some(30);
        config.memory_bytes = Some(1 << 30);
        config.open_files = Some(64);
        let backend = ProcessBackend::new(config);
        let task = spec("uid-k-1");
        backend.launch(&task).await.unwrap();
        assert_eq!(
            wait_for_end(&backend, &task.key).await.state,
            TaskState::exited(0)
        );
        let stdout = std::fs::read_to_string(tmp.path().join("uid-k-1").join(STDOUT_FILE)).unwrap();
        assert_eq!(stdout, "30\n1048576\n64\n");
    }

    #[tokio::test]
    async fn an_unknown_key_is_missing_and_stopping_it_succeeds() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(&tmp.path().join("not-yet"), "exit 0");
        let key = TaskKey::new("uid-l", 1);
        assert_eq!(backend.observe(&key).await.unwrap(), TaskObservation::missing());
        backend.stop(&key).await.unwrap();
        assert_eq!(backend.list().await.unwrap(), Vec::new());
    }

    #[tokio::test]
    async fn a_launch_interrupted_before_the_task_started_failed_to_start() {
        let tmp = tempfile::tempdir().unwrap();
        let key = TaskKey::new("uid-m", 1);
        // What a controller that died between claiming the directory and starting the task leaves.
        std::fs::create_dir_all(tmp.path().join(key.as_str())).unwrap();
        let backend = backend(tmp.path(), "exit 0");
        assert!(matches!(
            backend.observe(&key).await.unwrap().state,
            TaskState::FailedToStart { .. }
        ));
    }

    #[tokio::test]
    async fn a_key_that_could_leave_the_tasks_dir_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let backend = backend(tmp.path(), "exit 0");
        let key = TaskKey::new("../../etc", 1);
        assert!(matches!(
            backend.observe(&key).await,
            Err(BackendError::Rejected { .. })
        ));
    }

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                process_group: 42,
                start_time: 987654
            })
        );
    }

    #[test]
    fn the_shell_status_tells_a_code_from_a_signal() {
        assert_eq!(exit_state("0"), TaskState::exited(0));
        assert_eq!(exit_state("128"), TaskState::exited(128));
        assert_eq!(
            exit_state("143"),
            TaskState::Exited {
                code: None,
                signal: Some(15)
            }
        );
        assert_eq!(
            exit_state("garbage"),
            TaskState::Exited {
                code: None,
                signal: None
            }
        );
    }
}
