//! The simulated backend, for control-plane tests and benchmarks only (like kwok for nodes): a
//! task is a few numbers in memory that "runs" for a while on an injected clock and writes what a
//! generator would (phase events, then `result.json`) into the artifact store. It never sleeps and
//! costs nothing while idle: the writes happen when `observe` finds that their time has come.
//!
//! Directives in the prompt drive the outcome:
//! - `simulate:fail` — exits 1 without a result;
//! - `simulate:exit-code=N` — exits N (1–255) without a result;
//! - `simulate:fail-attempts=N` — attempts 1..=N fail like that, later ones deliver;
//! - `simulate:no-start` — never starts (FailedToStart);
//! - `simulate:seconds=N` — runs N seconds instead of `task_time`;
//! - `simulate:gate-fails=<gate>` — exits 1 with a result whose `error.step` is `verify/<gate>`.
//!
//! Tasks live only in this process's memory: a restarted controller finds none of them (they are
//! Missing), which is what a real backend reports for a task lost with its machine.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use appgen_artifacts::{ArtifactStore, Layout};
use appgen_crd::task::{TaskError, TaskEvent, TaskEventType, TaskInput, TaskResult};
use appgen_crd::{Gate, GateResult, Outputs, Usage};

use super::{Backend, BackendError, TaskKey, TaskListing, TaskObservation, TaskSpec, TaskState};

const BACKEND: &str = "simulated";

/// The exit code of a simulated generator that failed.
const FAILED: i32 = 1;
/// The exit code of a simulated generator given a directive it does not understand, like a CLI
/// given a bad flag.
const USAGE: i32 = 2;

/// How the simulated backend runs tasks.
#[derive(Clone, Debug)]
pub struct SimulatedConfig {
    /// How long a task runs, in the injected clock's time, unless its prompt says
    /// `simulate:seconds=N`.
    pub task_time: Duration,
}

/// The clock the simulated backend reads (the same shape as the controller's `Clock`); tests pass
/// one they move by hand.
type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// Runs pretend tasks in memory, writing their events and results to an artifact store.
pub struct SimulatedBackend {
    config: SimulatedConfig,
    store: Arc<dyn ArtifactStore>,
    clock: Clock,
    /// One lock per task, held while its files are written, so that observing one task never waits
    /// for another's writes.
    tasks: Mutex<HashMap<TaskKey, Arc<tokio::sync::Mutex<SimulatedTask>>>>,
}

impl fmt::Debug for SimulatedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("SimulatedBackend")
            .field("config", &self.config)
            .field("store", &self.store)
            .field("tasks", &tasks)
            .finish_non_exhaustive()
    }
}

/// What a simulated task is going to do, decided at launch from its input.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Deliver,
    /// Exit with this code (1 unless the prompt says otherwise) without a result.
    Fail(i32),
    /// Exit 1 with a result that names the failed gate.
    GateFails(Gate),
    NoStart,
    /// Exit at once with this code and no result: the input could not be used.
    Refuse {
        code: i32,
        reason: String,
    },
}

#[derive(Debug)]
struct SimulatedTask {
    namespace: String,
    name: String,
    attempt: u32,
    layout: Layout,
    outcome: Outcome,
    started_at: jiff::Timestamp,
    run_time: Duration,
    /// How many of the timeline's steps are already in the event log.
    steps_written: usize,
    /// Set once the task has ended and everything it writes is written.
    ended: Option<Ended>,
    prompt_len: usize,
}

#[derive(Clone, Debug)]
struct Ended {
    state: TaskState,
    finished_at: Option<jiff::Timestamp>,
}

impl SimulatedBackend {
    pub fn new(config: SimulatedConfig, store: Arc<dyn ArtifactStore>, clock: Clock) -> Self {
        SimulatedBackend {
            config,
            store,
            clock,
            tasks: Mutex::default(),
        }
    }

    fn task(&self, key: &TaskKey) -> Option<Arc<tokio::sync::Mutex<SimulatedTask>>> {
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Reads the task's input as the generator would, and decides from it what the task will do.
    async fn plan(&self, layout: &Layout, attempt: u32) -> Result<(Outcome, Duration, usize), BackendError> {
        let key = layout.input();
        let bytes = self
            .store
            .get(&key)
            .await
            .map_err(|e| BackendError::unavailable(BACKEND, "launch", e.to_string()))?;
        let input = match bytes.map(|bytes| serde_json::from_slice::<TaskInput>(&bytes)) {
            Some(Ok(input)) => input,
            Some(Err(error)) => {
                let reason = format!("{key} is not a TaskInput: {error}");
                return Ok((Outcome::Refuse { code: FAILED, reason }, Duration::ZERO, 0));
            }
            None => {
                let reason = format!("{key} does not exist");
                return Ok((Outcome::Refuse { code: FAILED, reason }, Duration::ZERO, 0));
            }
        };
        let prompt = &input.spec.prompt;
        match Directives::parse(prompt) {
            Ok(directives) => {
                let run_time = directives
                    .seconds
                    .map_or(self.config.task_time, Duration::from_secs);
                Ok((directives.outcome(attempt), run_time, prompt.len()))
            }
            Err(reason) => Ok((
                Outcome::Refuse { code: USAGE, reason },
                Duration::ZERO,
                prompt.len(),
            )),
        }
    }

    /// Writes whatever the task has done by `now`, and records its end once it has ended.
    async fn advance(&self, task: &mut SimulatedTask, now: jiff::Timestamp) -> Result<(), BackendError> {
        if task.ended.is_some() {
            return Ok(());
        }
        let finished_at = at(task.started_at, task.run_time, 1.0);
        let ended = match &task.outcome {
            Outcome::NoStart => {
                let reason = "the prompt says simulate:no-start".to_owned();
                task.ended = Some(Ended {
                    state: TaskState::FailedToStart { reason },
                    finished_at: None,
                });
                return Ok(());
            }
            Outcome::Refuse { code, reason } => {
                tracing::warn!(namespace = %task.namespace, name = %task.name, %reason, "simulated task refused its input");
                task.ended = Some(Ended {
                    state: TaskState::exited(*code),
                    finished_at: Some(task.started_at),
                });
                return Ok(());
            }
            _ => now >= finished_at,
        };

        let timeline = timeline(&task.outcome);
        let due = timeline
            .iter()
            .enumerate()
            .skip(task.steps_written)
            .map(|(index, (fraction, step))| (index, at(task.started_at, task.run_time, *fraction), step))
            .take_while(|(_, ts, _)| *ts <= now)
            .map(|(index, ts, step)| TaskEvent {
                seq: index as u64 + 1,
                ts,
                attempt: task.attempt,
                event_type: TaskEventType::Phase,
                body: serde_json::json!({ "step": step }),
            })
            .collect::<Vec<_>>();
        if !due.is_empty() {
            let prefix = task.layout.events_prefix(task.attempt);
            self.store
                .append_events(&prefix, &due)
                .await
                .map_err(|e| BackendError::unavailable(BACKEND, "observe", e.to_string()))?;
            task.steps_written += due.len();
        }
        if !ended {
            return Ok(());
        }

        // The result is written last, as a generator writes it, and only then is the task over.
        let code = match self.result(task) {
            Some((code, result)) => {
                let json = serde_json::to_vec_pretty(&result)
                    .map_err(|e| BackendError::unavailable(BACKEND, "observe", e.to_string()))?;
                let key = task.layout.result(task.attempt);
                self.store
                    .put(&key, json.into())
                    .await
                    .map_err(|e| BackendError::unavailable(BACKEND, "observe", e.to_string()))?;
                code
            }
            None => match task.outcome {
                Outcome::Fail(code) => code,
                _ => FAILED,
            },
        };
        task.ended = Some(Ended {
            state: TaskState::exited(code),
            finished_at: Some(finished_at),
        });
        Ok(())
    }

    /// The exit code and `result.json` of a task that ran to its end; None when it writes none.
    fn result(&self, task: &SimulatedTask) -> Option<(i32, TaskResult)> {
        let seconds = task.run_time.as_secs_f64();
        let usage = Usage {
            input_tokens: 40_000,
            output_tokens: 8_000,
            cost_usd: 0.25,
            turns: 12,
            duration_seconds: seconds,
        };
        // Each gate takes a share of the second half of the run, as in timeline().
        let gate_ms = i64::try_from(task.run_time.as_millis() / 12).unwrap_or(i64::MAX);
        let gate = |gate, passed| GateResult {
            gate,
            passed,
            duration_ms: gate_ms,
            message: Some(
                if passed {
                    "passed (simulated)"
                } else {
                    "failed (simulated)"
                }
                .to_owned(),
            ),
        };
        match &task.outcome {
            Outcome::Deliver => {
                let archive = task.layout.archive();
                let outputs = Outputs {
                    archive_url: Some(self.store.uri(&archive)),
                    sha256: Some(fake_sha256(&archive)),
                    size: Some(10_240 + i64::try_from(task.prompt_len).unwrap_or(0)),
                    ..Outputs::default()
                };
                let result = TaskResult {
                    delivered: true,
                    outputs: Some(outputs),
                    usage: Some(usage),
                    verification: Gate::ALL.iter().map(|g| gate(*g, true)).collect(),
                    ..TaskResult::default()
                };
                Some((0, result))
            }
            Outcome::GateFails(failed) => {
                let verification = Gate::ALL
                    .iter()
                    .take_while(|g| *g != failed)
                    .map(|g| gate(*g, true))
                    .chain([gate(*failed, false)])
                    .collect();
                let step = format!("verify/{}", failed.as_str());
                let message = format!(
                    "the {} gate failed because the prompt says simulate:gate-fails; remove it to deliver",
                    failed.as_str()
                );
                let result = TaskResult {
                    delivered: false,
                    usage: Some(usage),
                    verification,
                    error: Some(TaskError {
                        step,
                        message,
                        reason: None,
                    }),
                    ..TaskResult::default()
                };
                Some((FAILED, result))
            }
            Outcome::Fail(_) | Outcome::NoStart | Outcome::Refuse { .. } => None,
        }
    }

    async fn observe_task(&self, task: &mut SimulatedTask) -> Result<TaskObservation, BackendError> {
        self.advance(task, (self.clock)()).await?;
        let (state, finished_at) = match &task.ended {
            Some(ended) => (ended.state.clone(), ended.finished_at),
            None => (TaskState::Running, None),
        };
        let started_at = match state {
            TaskState::FailedToStart { .. } => None,
            _ => Some(task.started_at),
        };
        Ok(TaskObservation {
            state,
            started_at,
            finished_at,
        })
    }
}

#[async_trait::async_trait]
impl Backend for SimulatedBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError> {
        if self.task(&task.key).is_some() {
            return Ok(());
        }
        let layout = Layout::new(&task.namespace, &task.name, &task.uid)
            .map_err(|e| BackendError::rejected(BACKEND, "launch", e.to_string()))?;
        let (outcome, run_time, prompt_len) = self.plan(&layout, task.attempt).await?;
        let simulated = SimulatedTask {
            namespace: task.namespace.clone(),
            name: task.name.clone(),
            attempt: task.attempt,
            layout,
            outcome,
            started_at: (self.clock)(),
            run_time,
            steps_written: 0,
            ended: None,
            prompt_len,
        };
        // Two launches may both have read the input; the first to get here starts the task.
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        tasks
            .entry(task.key.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(simulated)));
        Ok(())
    }

    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError> {
        let Some(task) = self.task(key) else {
            return Ok(TaskObservation::missing());
        };
        let mut task = task.lock().await;
        self.observe_task(&mut task).await
    }

    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError> {
        let Some(task) = self.task(key) else {
            return Ok(());
        };
        let mut task = task.lock().await;
        let now = (self.clock)();
        // A task whose time ran out before the stop ended by itself; writing its result first
        // keeps the outcome the same however late the controller looks.
        self.advance(&mut task, now).await?;
        if task.ended.is_none() {
            let state = TaskState::Exited {
                code: None,
                signal: Some(15),
            };
            task.ended = Some(Ended {
                state,
                finished_at: Some(now),
            });
        }
        Ok(())
    }

    async fn list(&self) -> Result<Vec<TaskListing>, BackendError> {
        let mut tasks: Vec<_> = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(key, task)| (key.clone(), Arc::clone(task)))
            .collect();
        tasks.sort_by(|(a, _), (b, _)| a.cmp(b));
        let mut listings = Vec::with_capacity(tasks.len());
        for (key, task) in tasks {
            let mut task = task.lock().await;
            let observation = self.observe_task(&mut task).await?;
            listings.push(TaskListing {
                key,
                namespace: task.namespace.clone(),
                name: task.name.clone(),
                observation,
            });
        }
        Ok(listings)
    }
}

/// The `simulate:` directives found in a prompt.
#[derive(Debug, Default, PartialEq)]
struct Directives {
    fail: bool,
    exit_code: Option<i32>,
    fail_attempts: Option<u32>,
    no_start: bool,
    seconds: Option<u64>,
    gate_fails: Option<Gate>,
}

impl Directives {
    /// Every whitespace-separated word starting with `simulate:`; an unknown one is an error, so
    /// that a typo in a test fails loudly instead of delivering.
    fn parse(prompt: &str) -> Result<Self, String> {
        let mut directives = Directives::default();
        for word in prompt.split_whitespace() {
            let Some(directive) = word.strip_prefix("simulate:") else {
                continue;
            };
            let (name, value) = directive
                .split_once('=')
                .map_or((directive, None), |(n, v)| (n, Some(v)));
            let invalid = || format!("{word:?} is not a simulate: directive this backend knows");
            match (name, value) {
                ("fail", None) => directives.fail = true,
                ("no-start", None) => directives.no_start = true,
                ("fail-attempts", Some(n)) => {
                    directives.fail_attempts = Some(n.parse().map_err(|_| invalid())?)
                }
                ("exit-code", Some(n)) => {
                    let code = n.parse().ok().filter(|c| (1..=255).contains(c));
                    directives.exit_code = Some(code.ok_or_else(invalid)?);
                }
                ("seconds", Some(n)) => directives.seconds = Some(n.parse().map_err(|_| invalid())?),
                ("gate-fails", Some(gate)) => {
                    let gate = Gate::ALL
                        .into_iter()
                        .find(|g| g.as_str() == gate)
                        .ok_or_else(invalid)?;
                    directives.gate_fails = Some(gate);
                }
                _ => return Err(invalid()),
            }
        }
        Ok(directives)
    }

    fn outcome(&self, attempt: u32) -> Outcome {
        if self.no_start {
            Outcome::NoStart
        } else if let Some(code) = self.exit_code {
            Outcome::Fail(code)
        } else if self.fail || self.fail_attempts.is_some_and(|n| attempt <= n) {
            Outcome::Fail(FAILED)
        } else if let Some(gate) = self.gate_fails {
            Outcome::GateFails(gate)
        } else {
            Outcome::Deliver
        }
    }
}

/// The steps a task reports, each at a fraction of its run time: the agent takes the first half,
/// the gates share the second.
fn timeline(outcome: &Outcome) -> Vec<(f64, String)> {
    let mut steps = vec![(0.0, "prepare".to_owned()), (0.05, "agent".to_owned())];
    match outcome {
        // A failing generator fails in the agent, before any gate.
        Outcome::Fail(_) | Outcome::NoStart | Outcome::Refuse { .. } => return steps,
        Outcome::Deliver | Outcome::GateFails(_) => {}
    }
    for (index, gate) in Gate::ALL.into_iter().enumerate() {
        steps.push((0.5 + index as f64 / 12.0, format!("verify/{}", gate.as_str())));
        if outcome == &Outcome::GateFails(gate) {
            return steps;
        }
    }
    steps.push((0.95, "package".to_owned()));
    steps.push((0.98, "deliver".to_owned()));
    steps
}

/// `start` plus `fraction` of `run_time`.
fn at(start: jiff::Timestamp, run_time: Duration, fraction: f64) -> jiff::Timestamp {
    start
        .checked_add(run_time.mul_f64(fraction))
        .unwrap_or(jiff::Timestamp::MAX)
}

/// 64 hex digits that look like a sha256 and stay the same for the same archive (FNV-1a, four
/// seeds): no test should mistake them for a real digest, and none has to compute one.
fn fake_sha256(name: &str) -> String {
    (0u64..4)
        .map(|seed| {
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
            format!("{hash:016x}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::conformance::{self, Behaviour};
    use appgen_artifacts::LocalStore;
    use appgen_crd::GenerationSpec;
    use std::collections::BTreeMap;

    /// A clock that moves only when the test says so.
    #[derive(Clone)]
    struct FakeClock(Arc<Mutex<jiff::Timestamp>>);

    impl FakeClock {
        fn new() -> Self {
            FakeClock(Arc::new(Mutex::new("2025-01-01T00:00:00Z".parse().unwrap())))
        }
        fn now(&self) -> jiff::Timestamp {
            *self.0.lock().unwrap()
        }
        fn advance(&self, seconds: u64) {
            self.advance_by(Duration::from_secs(seconds));
        }
        fn advance_by(&self, time: Duration) {
            let mut now = self.0.lock().unwrap();
            *now = now.checked_add(time).unwrap();
        }
        fn as_clock(&self) -> Clock {
            let clock = self.clone();
            Arc::new(move || clock.now())
        }
    }

    struct Fixture {
        _tmp: tempfile::TempDir,
        store: Arc<dyn ArtifactStore>,
        clock: FakeClock,
        backend: SimulatedBackend,
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let store: Arc<dyn ArtifactStore> = Arc::new(LocalStore::new(tmp.path().to_owned()).unwrap());
        let clock = FakeClock::new();
        let config = SimulatedConfig {
            task_time: Duration::from_secs(100),
        };
        let backend = SimulatedBackend::new(config, Arc::clone(&store), clock.as_clock());
        Fixture {
            _tmp: tmp,
            store,
            clock,
            backend,
        }
    }

    fn layout() -> Layout {
        Layout::new("default", "todo", "uid-1").unwrap()
    }

    /// Writes the Generation's input.json as the controller would and returns attempt `attempt`'s spec.
    async fn task(store: &Arc<dyn ArtifactStore>, prompt: &str, attempt: u32) -> TaskSpec {
        task_under(store, prompt, TaskKey::new("uid-1", attempt)).await
    }

    async fn task_under(store: &Arc<dyn ArtifactStore>, prompt: &str, key: TaskKey) -> TaskSpec {
        let (uid, attempt) = (key.uid().to_owned(), key.attempt());
        let layout = Layout::new("default", "todo", &uid).unwrap();
        let spec: GenerationSpec = serde_json::from_value(serde_json::json!({ "prompt": prompt })).unwrap();
        let input = TaskInput {
            namespace: "default".to_owned(),
            name: "todo".to_owned(),
            uid: uid.clone(),
            attempt,
            observed_generation: 1,
            spec,
            artifacts: store.uri(layout.prefix()),
            parent_commit: None,
            redelivery: None,
            parent_uid: None,
        };
        store
            .put(&layout.input(), serde_json::to_vec(&input).unwrap().into())
            .await
            .unwrap();
        TaskSpec {
            key,
            namespace: "default".to_owned(),
            name: "todo".to_owned(),
            uid,
            attempt,
            input_uri: store.uri(&layout.input()),
            labels: BTreeMap::new(),
            deadline: None,
        }
    }

    async fn steps(store: &Arc<dyn ArtifactStore>, attempt: u32) -> Vec<String> {
        let events = store
            .read_events(&layout().events_prefix(attempt), 0)
            .await
            .unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
        events.iter().map(|e| e.step().unwrap().to_owned()).collect()
    }

    async fn result(store: &Arc<dyn ArtifactStore>, attempt: u32) -> Option<TaskResult> {
        let bytes = store.get(&layout().result(attempt)).await.unwrap()?;
        Some(serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_task_runs_for_its_time_then_delivers() {
        let f = fixture();
        let task = task(&f.store, "a todo app", 1).await;
        let started = f.clock.now();
        f.backend.launch(&task).await.unwrap();

        let running = f.backend.observe(&task.key).await.unwrap();
        assert_eq!(
            running,
            TaskObservation {
                state: TaskState::Running,
                started_at: Some(started),
                finished_at: None
            }
        );
        f.clock.advance(30);
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Running
        );
        assert_eq!(steps(&f.store, 1).await, ["prepare", "agent"]);
        assert_eq!(result(&f.store, 1).await, None);

        f.clock.advance(70);
        let exited = f.backend.observe(&task.key).await.unwrap();
        assert_eq!(
            exited.state,
            TaskState::Exited {
                code: Some(0),
                signal: None
            }
        );
        assert_eq!(
            exited.finished_at,
            Some(started.checked_add(Duration::from_secs(100)).unwrap())
        );
        let all = [
            "prepare",
            "agent",
            "verify/install",
            "verify/typecheck",
            "verify/build",
            "verify/test",
            "verify/boot",
            "verify/smoke",
            "package",
            "deliver",
        ];
        assert_eq!(steps(&f.store, 1).await, all);

        let result = result(&f.store, 1).await.unwrap();
        assert!(result.delivered);
        let outputs = result.outputs.unwrap();
        assert_eq!(outputs.archive_url, Some(f.store.uri(&layout().archive())));
        assert_eq!(outputs.sha256.map(|s| s.len()), Some(64));
        assert!(outputs.size.unwrap() > 0);
        assert_eq!(result.verification.len(), 6);
        assert!(result.verification.iter().all(|g| g.passed));
        assert_eq!(result.usage.unwrap().duration_seconds, 100.0);
        assert_eq!(result.error, None);

        // Looking again changes nothing and writes nothing new.
        f.clock.advance(1000);
        assert_eq!(f.backend.observe(&task.key).await.unwrap(), exited);
        assert_eq!(steps(&f.store, 1).await.len(), all.len());
    }

    #[tokio::test]
    async fn an_idle_task_writes_nothing_until_observed() {
        let f = fixture();
        let task = task(&f.store, "a todo app", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(1000);
        assert_eq!(
            f.store.list(&layout().attempt_prefix(1)).await.unwrap(),
            Vec::<String>::new()
        );

        f.backend.observe(&task.key).await.unwrap();
        assert!(result(&f.store, 1).await.is_some());
    }

    #[tokio::test]
    async fn simulate_fail_exits_1_without_a_result() {
        let f = fixture();
        let task = task(&f.store, "a todo app simulate:fail", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(100);
        let exited = f.backend.observe(&task.key).await.unwrap();
        assert_eq!(
            exited.state,
            TaskState::Exited {
                code: Some(1),
                signal: None
            }
        );
        assert_eq!(result(&f.store, 1).await, None);
        assert_eq!(steps(&f.store, 1).await, ["prepare", "agent"]);
    }

    #[tokio::test]
    async fn simulate_fail_attempts_fails_the_first_attempts_only() {
        let f = fixture();
        for (attempt, code) in [(1, 1), (2, 1), (3, 0)] {
            let task = task(&f.store, "simulate:fail-attempts=2 a todo app", attempt).await;
            f.backend.launch(&task).await.unwrap();
            f.clock.advance(100);
            let state = f.backend.observe(&task.key).await.unwrap().state;
            assert_eq!(
                state,
                TaskState::Exited {
                    code: Some(code),
                    signal: None
                },
                "attempt {attempt}"
            );
            assert_eq!(
                result(&f.store, attempt).await.is_some(),
                code == 0,
                "attempt {attempt}"
            );
        }
    }

    #[tokio::test]
    async fn simulate_no_start_fails_to_start() {
        let f = fixture();
        let task = task(&f.store, "simulate:no-start", 1).await;
        f.backend.launch(&task).await.unwrap();
        let observed = f.backend.observe(&task.key).await.unwrap();
        assert!(
            matches!(observed.state, TaskState::FailedToStart { .. }),
            "{observed:?}"
        );
        assert!(!observed.is_active());
        assert_eq!(
            f.store.list(&layout().attempt_prefix(1)).await.unwrap(),
            Vec::<String>::new()
        );
    }

    #[tokio::test]
    async fn simulate_seconds_overrides_the_task_time() {
        let f = fixture();
        let task = task(&f.store, "simulate:seconds=5", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(4);
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Running
        );
        f.clock.advance(1);
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(0),
                signal: None
            }
        );
        assert_eq!(
            result(&f.store, 1).await.unwrap().usage.unwrap().duration_seconds,
            5.0
        );
    }

    #[tokio::test]
    async fn simulate_gate_fails_exits_1_with_a_result_naming_the_gate() {
        let f = fixture();
        let task = task(&f.store, "simulate:gate-fails=build", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(100);
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(1),
                signal: None
            }
        );
        let result = result(&f.store, 1).await.unwrap();
        assert!(!result.delivered);
        assert_eq!(result.outputs, None);
        assert_eq!(result.error.unwrap().step, "verify/build");
        let gates: Vec<_> = result.verification.iter().map(|g| (g.gate, g.passed)).collect();
        assert_eq!(
            gates,
            [
                (Gate::Install, true),
                (Gate::Typecheck, true),
                (Gate::Build, false)
            ]
        );
        assert_eq!(
            steps(&f.store, 1).await.last().map(String::as_str),
            Some("verify/build")
        );
    }

    #[tokio::test]
    async fn an_unknown_directive_fails_the_task_at_once() {
        let f = fixture();
        let task = task(&f.store, "simulate:gate-fails=bild", 1).await;
        f.backend.launch(&task).await.unwrap();
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(2),
                signal: None
            }
        );
    }

    #[tokio::test]
    async fn a_task_without_input_fails_like_a_generator_would() {
        let f = fixture();
        let mut task = task(&f.store, "a todo app", 1).await;
        task.name = "other".to_owned();
        f.backend.launch(&task).await.unwrap();
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(1),
                signal: None
            }
        );
    }

    #[tokio::test]
    async fn stop_ends_a_running_task_with_sigterm() {
        let f = fixture();
        let task = task(&f.store, "a todo app", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(60);
        f.backend.stop(&task.key).await.unwrap();
        let stopped_at = f.clock.now();
        let stopped = f.backend.observe(&task.key).await.unwrap();
        assert_eq!(
            stopped.state,
            TaskState::Exited {
                code: None,
                signal: Some(15)
            }
        );
        assert_eq!(stopped.finished_at, Some(stopped_at));

        // Idempotent, and the task never delivers afterwards.
        f.clock.advance(100);
        f.backend.stop(&task.key).await.unwrap();
        assert_eq!(f.backend.observe(&task.key).await.unwrap(), stopped);
        assert_eq!(result(&f.store, 1).await, None);
        f.backend.stop(&TaskKey::new("unknown", 1)).await.unwrap();
    }

    #[tokio::test]
    async fn stop_after_the_task_ended_by_itself_keeps_its_outcome() {
        let f = fixture();
        let task = task(&f.store, "a todo app", 1).await;
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(150);
        f.backend.stop(&task.key).await.unwrap();
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(0),
                signal: None
            }
        );
        assert!(result(&f.store, 1).await.unwrap().delivered);
    }

    #[tokio::test]
    async fn a_second_launch_with_the_same_key_starts_no_second_task() {
        let f = fixture();
        let task = task(&f.store, "a todo app", 1).await;
        let started = f.clock.now();
        f.backend.launch(&task).await.unwrap();
        f.clock.advance(50);
        f.backend.launch(&task).await.unwrap();
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().started_at,
            Some(started)
        );
        f.clock.advance(50);
        assert_eq!(
            f.backend.observe(&task.key).await.unwrap().state,
            TaskState::Exited {
                code: Some(0),
                signal: None
            }
        );
    }

    #[tokio::test]
    async fn list_shows_every_task_and_unknown_keys_are_missing() {
        let f = fixture();
        let first = task(&f.store, "a todo app", 1).await;
        f.backend.launch(&first).await.unwrap();
        f.clock.advance(100);
        let second = task(&f.store, "a todo app", 2).await;
        f.backend.launch(&second).await.unwrap();

        let listed = f.backend.list().await.unwrap();
        let summary: Vec<_> = listed
            .iter()
            .map(|l| {
                (
                    l.key.as_str(),
                    l.namespace.as_str(),
                    l.name.as_str(),
                    l.observation.state.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "uid-1-1",
                    "default",
                    "todo",
                    TaskState::Exited {
                        code: Some(0),
                        signal: None
                    }
                ),
                ("uid-1-2", "default", "todo", TaskState::Running),
            ]
        );
        assert_eq!(
            f.backend.observe(&TaskKey::new("unknown", 1)).await.unwrap(),
            TaskObservation::missing()
        );
    }

    /// New backends share the store and the clock, which moves only when the suite waits.
    struct Harness(Fixture);

    #[async_trait::async_trait]
    impl conformance::Harness for Harness {
        fn traits(&self) -> conformance::Traits {
            conformance::Traits {
                survives_restart: false,
                enforces_deadline: false,
            }
        }

        async fn backend(&self) -> Box<dyn Backend> {
            let config = SimulatedConfig {
                task_time: Duration::from_secs(1),
            };
            Box::new(SimulatedBackend::new(
                config,
                Arc::clone(&self.0.store),
                self.0.clock.as_clock(),
            ))
        }

        async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec {
            let prompt = match behaviour {
                Behaviour::Runs => "a todo app simulate:seconds=100000".to_owned(),
                Behaviour::Exits(0) => "a todo app".to_owned(),
                Behaviour::Exits(code) => format!("a todo app simulate:exit-code={code}"),
            };
            TaskSpec {
                deadline,
                ..task_under(&self.0.store, &prompt, key).await
            }
        }

        async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec) {
            let task = task_under(&self.0.store, "a todo app simulate:no-start", key).await;
            (self.backend().await, task)
        }

        async fn wait(&self, time: Duration) {
            self.0.clock.advance_by(time);
        }
    }

    #[tokio::test]
    async fn the_simulated_backend_keeps_the_backend_promises() {
        conformance::check(&Harness(fixture())).await;
    }

    #[test]
    fn directives_are_words_of_the_prompt() {
        let parsed = Directives::parse("build a shop simulate:seconds=7\nsimulate:gate-fails=smoke").unwrap();
        assert_eq!(
            parsed,
            Directives {
                seconds: Some(7),
                gate_fails: Some(Gate::Smoke),
                ..Directives::default()
            }
        );
        assert_eq!(parsed.outcome(1), Outcome::GateFails(Gate::Smoke));
        assert_eq!(
            Directives::parse("simulate:exit-code=3").unwrap().outcome(1),
            Outcome::Fail(3)
        );
        for bad in [
            "simulate:exit-code=0",
            "simulate:exit-code=256",
            "simulate:fail=1",
            "simulate:seconds=x",
            "simulate:explode",
            "simulate:fail-attempts",
        ] {
            assert!(Directives::parse(bad).is_err(), "{bad}");
        }
    }
}
