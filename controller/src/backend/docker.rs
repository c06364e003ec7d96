//! The docker backend: one container per task on a Docker-compatible engine (Docker, or
//! `podman system service`), named by the task key and labelled with the Generation's identity, so
//! `docker ps -a --filter label=app.kubernetes.io/managed-by=appgen` shows what runs and a restarted
//! controller finds its tasks again by label.
//!
//! Logs: the engine keeps each container's stdout and stderr (`docker logs appgen-<key>`) for as
//! long as the container exists, which is [`DockerConfig::keep_finished`] after it ends; the
//! generator's own event log in the artifact store is the lasting record.
//!
//! Images are never pulled: a task whose image the engine does not have fails to start, which
//! spends no retry, and says how to provide the image. So does a container the engine refuses to
//! create or start (an unknown network or user). Tasks run under the engine's init as PID 1, which
//! passes `stop`'s SIGTERM on and reaps orphans; a program missing from the image is therefore the
//! init's non-zero exit, a generator failure, as on the other backends' images.
//!
//! Building the container ([`task_container`]) and reading its state ([`container_observation`])
//! are pure functions; the backend only sends the requests.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as EngineError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerState, ContainerStateStatusEnum, HostConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StopContainerOptions,
};

use super::{Backend, BackendError, TaskKey, TaskListing, TaskObservation, TaskSpec, TaskState, job_name};
use crate::Clock;

const BACKEND: &str = "docker";

const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "appgen");
/// The task key itself, which the container's name may have had to change (see [`container_name`]).
const KEY_LABEL: &str = "appgen.dev/task-key";
const NAMESPACE_LABEL: &str = "appgen.dev/namespace";
const GENERATION_LABEL: &str = "appgen.dev/generation";

/// How many times a read is repeated when the engine answers with a state the Docker API does not
/// define: podman reports `stopped` for the moment between a container's exit and its cleanup.
const UNREADABLE_RETRIES: u32 = 20;
const UNREADABLE_PAUSE: Duration = Duration::from_millis(50);

/// A host path mounted into every task container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindMount {
    pub host: PathBuf,
    pub container: PathBuf,
    pub read_only: bool,
}

/// How the docker backend shapes its containers.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The generator image, which runs `command --input <uri>`. Never pulled: it must be on the
    /// engine already (`docker pull`, `docker load`, `docker build`).
    pub image: String,
    pub command: Vec<String>,
    /// Plain values given to every task; the image's own environment (its `PATH`) stays.
    pub env: Vec<(String, String)>,
    /// The user the task runs as (`uid[:gid]` or a name); None: the image's `USER`.
    pub user: Option<String>,
    /// The network mode, e.g. `none`, `bridge` or a network's name; None: the engine's default.
    pub network: Option<String>,
    /// CPUs the task may use, e.g. 1.5.
    pub cpus: Option<f64>,
    pub memory_bytes: Option<i64>,
    /// The most processes and threads the task may have.
    pub pids: Option<i64>,
    /// The artifact store's directory when it is local: mounted read-write at the same path, so
    /// the `file://` URIs the controller hands out mean the same inside the container.
    pub artifacts_dir: Option<PathBuf>,
    /// Further mounts, e.g. tools from the host.
    pub mounts: Vec<BindMount>,
    /// The task's working directory and HOME.
    pub workdir: String,
    /// How long `stop` lets the task end after SIGTERM before the engine sends SIGKILL.
    pub stop_grace: Duration,
    /// How long a finished container stays for `docker logs` and for a restarted controller to
    /// learn its outcome; `list` removes it after that.
    pub keep_finished: Duration,
}

impl DockerConfig {
    /// `appgen generate` in `image` with the engine's default network and no limits; ten seconds'
    /// grace; finished containers kept an hour.
    pub fn new(image: String) -> Self {
        DockerConfig {
            image,
            command: vec!["appgen".to_owned(), "generate".to_owned()],
            env: Vec::new(),
            user: None,
            network: None,
            cpus: None,
            memory_bytes: None,
            pids: None,
            artifacts_dir: None,
            mounts: Vec::new(),
            workdir: "/workspace".to_owned(),
            stop_grace: Duration::from_secs(10),
            keep_finished: Duration::from_secs(3600),
        }
    }
}

/// The container's name for a key: `appgen-` and the key made a DNS label, which every engine
/// accepts as a name.
pub fn container_name(key: &TaskKey) -> String {
    format!("appgen-{}", job_name(key))
}

/// The container that runs `task`: its name and what to create.
pub fn task_container(task: &TaskSpec, config: &DockerConfig) -> (String, ContainerCreateBody) {
    let mut labels: HashMap<String, String> = task.labels.clone().into_iter().collect();
    labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
    labels.insert(KEY_LABEL.to_owned(), task.key.as_str().to_owned());
    labels.insert(NAMESPACE_LABEL.to_owned(), task.namespace.clone());
    labels.insert(GENERATION_LABEL.to_owned(), task.name.clone());
    let mut command = config.command.clone();
    command.extend(["--input".to_owned(), task.input_uri.clone()]);
    let env = [
        ("APPGEN_TASK_KEY", task.key.as_str()),
        ("HOME", config.workdir.as_str()),
        // A container is the sandbox the claude-code agent may run unattended in.
        ("APPGEN_SANDBOX", "1"),
    ]
    .into_iter()
    .chain(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .map(|(name, value)| format!("{name}={value}"))
    .collect();
    let artifacts = config.artifacts_dir.iter().map(|dir| BindMount {
        host: dir.clone(),
        container: dir.clone(),
        read_only: false,
    });
    let binds = artifacts
        .chain(config.mounts.iter().cloned())
        .map(|m| {
            let mode = if m.read_only { "ro" } else { "rw" };
            format!("{}:{}:{mode}", m.host.display(), m.container.display())
        })
        .collect::<Vec<_>>();
    let host_config = HostConfig {
        // An init as PID 1 passes the stop signal on and reaps the processes the generator spawns.
        init: Some(true),
        network_mode: config.network.clone(),
        // The engine counts billionths of a CPU.
        nano_cpus: config.cpus.map(|cpus| (cpus * 1e9).round() as i64),
        memory: config.memory_bytes,
        // Swap would let a task past its memory limit, slowly.
        memory_swap: config.memory_bytes,
        pids_limit: config.pids,
        binds: (!binds.is_empty()).then_some(binds),
        ..HostConfig::default()
    };
    let body = ContainerCreateBody {
        image: Some(config.image.clone()),
        // The whole command replaces the image's entrypoint, as a pod's `command` does, so an image
        // whose entrypoint is already `appgen generate` runs it once.
        entrypoint: Some(command),
        env: Some(env),
        user: config.user.clone(),
        working_dir: Some(config.workdir.clone()),
        labels: Some(labels),
        stop_timeout: Some(i64::try_from(config.stop_grace.as_secs()).unwrap_or(i64::MAX)),
        host_config: Some(host_config),
        ..ContainerCreateBody::default()
    };
    (container_name(&task.key), body)
}

/// An engine timestamp; None for the zero time engines report for "never".
fn timestamp(s: Option<&str>) -> Option<jiff::Timestamp> {
    s.and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .filter(|t| t.as_second() > 0)
}

/// What a container's state says about its task. A container that never started and carries an
/// error failed to start (the infrastructure's fault); one that ran reports its exit code, where
/// 128+N is death by signal N, and the kernel's OOM killer is SIGKILL.
pub fn container_observation(state: &ContainerState) -> TaskObservation {
    let started_at = timestamp(state.started_at.as_deref());
    let finished_at = timestamp(state.finished_at.as_deref());
    let error = state.error.as_deref().filter(|e| !e.is_empty());
    let observed = |state| TaskObservation {
        state,
        started_at,
        finished_at,
    };
    use ContainerStateStatusEnum as Status;
    match state.status {
        Some(Status::RUNNING | Status::PAUSED | Status::RESTARTING | Status::STOPPING) => {
            observed(TaskState::Running)
        }
        Some(Status::CREATED) | None | Some(Status::EMPTY) => match error {
            Some(error) => TaskObservation {
                state: TaskState::FailedToStart {
                    reason: format!("the container could not start: {error}"),
                },
                started_at: None,
                finished_at: None,
            },
            None => observed(TaskState::Pending),
        },
        Some(Status::EXITED | Status::DEAD | Status::REMOVING) => {
            if let (None, Some(error)) = (started_at, error) {
                return TaskObservation {
                    state: TaskState::FailedToStart {
                        reason: format!("the container could not start: {error}"),
                    },
                    started_at: None,
                    finished_at,
                };
            }
            if state.oom_killed == Some(true) {
                return observed(TaskState::Exited {
                    code: None,
                    signal: Some(9),
                });
            }
            let state = match state.exit_code.and_then(|c| i32::try_from(c).ok()) {
                Some(n) if (129..=128 + 64).contains(&n) => TaskState::Exited {
                    code: None,
                    signal: Some(n - 128),
                },
                code => TaskState::Exited { code, signal: None },
            };
            observed(state)
        }
    }
}

/// Whether a finished container has been kept long enough at `now`.
fn expired(observation: &TaskObservation, now: jiff::Timestamp, keep: Duration) -> bool {
    if observation.is_active() {
        return false;
    }
    observation.finished_at.is_some_and(|done| {
        let kept = now.duration_since(done);
        kept.is_positive() && kept.unsigned_abs() >= keep
    })
}

/// Runs each task as a container on the engine behind `engine`.
pub struct DockerBackend {
    engine: Docker,
    config: DockerConfig,
    clock: Clock,
    /// Why a key could not even be created (its image is missing), for `observe` to report:
    /// no container records it. A restarted controller launches again and learns it anew.
    refused: Mutex<HashMap<TaskKey, String>>,
}

impl fmt::Debug for DockerBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The engine's status code, when it answered with one.
fn status(error: &EngineError) -> Option<u16> {
    match error {
        EngineError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

fn engine_error(operation: &'static str, error: EngineError) -> BackendError {
    match status(&error) {
        Some(400..=499) => BackendError::rejected(BACKEND, operation, error.to_string()),
        _ => BackendError::unavailable(BACKEND, operation, error.to_string()),
    }
}

impl DockerBackend {
    /// Talks to the engine at `host`: `unix:///path/to/docker.sock` or a plain socket path.
    /// `clock` decides when finished containers have been kept long enough.
    pub fn connect(host: &str, config: DockerConfig, clock: Clock) -> Result<Self, BackendError> {
        let path = host.strip_prefix("unix://").unwrap_or(host);
        if host.contains("://") && !host.starts_with("unix://") {
            return Err(BackendError::rejected(
                BACKEND,
                "connect",
                format!("{host}: only a local engine's unix socket (unix:///path) is supported"),
            ));
        }
        let engine = Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION).map_err(|e| {
            BackendError::rejected(
                BACKEND,
                "connect",
                format!("{path}: {e}; start the engine or point --docker-host at its socket"),
            )
        })?;
        Ok(DockerBackend {
            engine,
            config,
            clock,
            refused: Mutex::new(HashMap::new()),
        })
    }

    /// The container of `key`, or None when the engine has none by its name.
    async fn inspect(
        &self,
        name: &str,
        operation: &'static str,
    ) -> Result<Option<ContainerInspectResponse>, BackendError> {
        let mut tries = 0;
        loop {
            match self
                .engine
                .inspect_container(name, None::<InspectContainerOptions>)
                .await
            {
                Ok(container) => return Ok(Some(container)),
                Err(e) if status(&e) == Some(404) => return Ok(None),
                Err(EngineError::JsonDataError { .. } | EngineError::JsonSerdeError { .. })
                    if tries < UNREADABLE_RETRIES =>
                {
                    tries += 1;
                    tokio::time::sleep(UNREADABLE_PAUSE).await;
                }
                Err(e) => return Err(engine_error(operation, e)),
            }
        }
    }

    /// Starts the created container. When the engine answers that it cannot (the runtime found no
    /// program to run, a mount failed), the container is removed and the refusal kept for
    /// `observe`: engines leave such a container `created` with no error recorded, which would
    /// look Pending for ever.
    async fn start(&self, key: &TaskKey, name: &str) -> Result<(), BackendError> {
        match self.engine.start_container(name, None).await {
            // 304: it runs already, started by a launch before this one.
            Ok(()) => Ok(()),
            Err(e) if status(&e) == Some(304) => Ok(()),
            Err(e) if status(&e).is_some() => {
                let reason = format!("the container could not start: {e}");
                tracing::warn!(%key, %reason, "a task container could not start");
                self.remove(name).await?;
                self.refuse(key, Some(reason));
                Ok(())
            }
            Err(e) => Err(engine_error("launch", e)),
        }
    }

    /// Removes the container; succeeds when it is gone already or on its way out.
    async fn remove(&self, name: &str) -> Result<(), BackendError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.engine.remove_container(name, Some(options)).await {
            Err(e) if !matches!(status(&e), Some(404 | 409)) => Err(engine_error("remove", e)),
            _ => Ok(()),
        }
    }

    fn refusal(&self, key: &TaskKey) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn refuse(&self, key: &TaskKey, reason: Option<String>) {
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        match reason {
            Some(reason) => refused.insert(key.clone(), reason),
            None => refused.remove(key),
        };
    }

    fn missing_image(&self) -> String {
        format!(
            "image {} is not on the engine, and appgen never pulls: pull, load or build it there first",
            self.config.image
        )
    }
}

#[async_trait::async_trait]
impl Backend for DockerBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError> {
        const OPERATION: &str = "launch";
        let (name, body) = task_container(task, &self.config);
        if let Some(existing) = self.inspect(&name, OPERATION).await? {
            // Created by a launch that stopped before starting it; anything further along is left.
            let created =
                existing.state.as_ref().and_then(|s| s.status) == Some(ContainerStateStatusEnum::CREATED);
            let failed = existing
                .state
                .as_ref()
                .is_some_and(|s| s.error.as_deref().is_some_and(|e| !e.is_empty()));
            if created && !failed {
                return self.start(&task.key, &name).await;
            }
            return Ok(());
        }
        match self.engine.inspect_image(&self.config.image).await {
            Err(e) if status(&e) == Some(404) => {
                tracing::warn!(key = %task.key, image = %self.config.image, "the generator image is missing");
                self.refuse(&task.key, Some(self.missing_image()));
                return Ok(());
            }
            Err(e) => return Err(engine_error(OPERATION, e)),
            Ok(_) => self.refuse(&task.key, None),
        }
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..CreateContainerOptions::default()
        };
        if let Err(e) = self.engine.create_container(Some(options), body).await {
            // Another launch of the key may have created it meanwhile (Docker answers 409, podman 500).
            if self.inspect(&name, OPERATION).await?.is_none() {
                let Some(code) = status(&e) else {
                    return Err(engine_error(OPERATION, e));
                };
                // The engine answered and would not create it (the image went, a network or a
                // setting it does not know): asking again the same way will not help.
                let reason = if code == 404 {
                    self.missing_image()
                } else {
                    format!("the engine refused to create the container: {e}")
                };
                tracing::warn!(key = %task.key, %reason, "a task container could not be created");
                self.refuse(&task.key, Some(reason));
                return Ok(());
            }
        }
        tracing::info!(key = %task.key, container = %name, "starting a task container");
        self.start(&task.key, &name).await
    }

    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError> {
        match self.inspect(&container_name(key), "observe").await? {
            Some(container) => Ok(container_observation(&container.state.unwrap_or_default())),
            None => Ok(match self.refusal(key) {
                Some(reason) => TaskObservation {
                    state: TaskState::FailedToStart { reason },
                    started_at: None,
                    finished_at: None,
                },
                None => TaskObservation::missing(),
            }),
        }
    }

    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError> {
        self.refuse(key, None);
        let name = container_name(key);
        let options = StopContainerOptions {
            t: Some(i32::try_from(self.config.stop_grace.as_secs()).unwrap_or(i32::MAX)),
            signal: None,
        };
        match self.engine.stop_container(&name, Some(options)).await {
            // 304: it had ended already; 404: there is none.
            Err(e) if !matches!(status(&e), Some(304 | 404)) => Err(engine_error("stop", e)),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<TaskListing>, BackendError> {
        const OPERATION: &str = "list";
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([(
                "label".to_owned(),
                vec![format!("{}={}", MANAGED_BY.0, MANAGED_BY.1), KEY_LABEL.to_owned()],
            )])),
            ..ListContainersOptions::default()
        };
        let mut tries = 0;
        let containers = loop {
            match self.engine.list_containers(Some(options.clone())).await {
                Ok(containers) => break containers,
                Err(EngineError::JsonDataError { .. } | EngineError::JsonSerdeError { .. })
                    if tries < UNREADABLE_RETRIES =>
                {
                    tries += 1;
                    tokio::time::sleep(UNREADABLE_PAUSE).await;
                }
                Err(e) => return Err(engine_error(OPERATION, e)),
            }
        };
        let now = (self.clock)();
        let mut listings = Vec::new();
        for summary in containers {
            let labels: BTreeMap<String, String> = summary.labels.unwrap_or_default().into_iter().collect();
            let Some(key) = labels.get(KEY_LABEL).and_then(|k| TaskKey::parse(k)) else {
                continue;
            };
            let name = container_name(&key);
            // Gone between the list and now: nothing to report.
            let Some(container) = self.inspect(&name, OPERATION).await? else {
                continue;
            };
            let observation = container_observation(&container.state.unwrap_or_default());
            if expired(&observation, now, self.config.keep_finished) {
                tracing::info!(%key, container = %name, "removing a finished task container");
                self.remove(&name).await?;
                continue;
            }
            listings.push(TaskListing {
                key,
                namespace: labels.get(NAMESPACE_LABEL).cloned().unwrap_or_default(),
                name: labels.get(GENERATION_LABEL).cloned().unwrap_or_default(),
                observation,
            });
        }
        listings.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        let key = TaskKey::new("6a073aa1-1d72-412b-b548-f612ce2fe497", 2);
        TaskSpec {
            namespace: "team-a".to_owned(),
            name: "todo".to_owned(),
            uid: key.uid().to_owned(),
            attempt: 2,
            input_uri: "file:///data/artifacts/generations/team-a/todo/input.json".to_owned(),
            labels: crate::reconcile::task_labels("team-a", "todo", key.uid(), ("appgen.dev/attempt", 2)),
            deadline: Some(Duration::from_secs(600)),
            key,
        }
    }

    fn state(status: ContainerStateStatusEnum) -> ContainerState {
        ContainerState {
            status: Some(status),
            ..ContainerState::default()
        }
    }

    const STARTED: &str = "2026-11-26T10:00:00.123456789Z";
    const FINISHED: &str = "2026-11-26T10:05:00Z";
    const NEVER: &str = "0001-01-01T00:00:00Z";

    fn ended(exit_code: i64) -> ContainerState {
        ContainerState {
            exit_code: Some(exit_code),
            started_at: Some(STARTED.to_owned()),
            finished_at: Some(FINISHED.to_owned()),
            ..state(ContainerStateStatusEnum::EXITED)
        }
    }

    fn exited(code: Option<i32>, signal: Option<i32>) -> TaskState {
        TaskState::Exited { code, signal }
    }

    #[test]
    fn container_states_map_to_task_states() {
        use ContainerStateStatusEnum as S;
        let failed = |reason: &str| TaskState::FailedToStart {
            reason: format!("the container could not start: {reason}"),
        };
        let table: Vec<(&str, ContainerState, TaskState)> = vec![
            ("created, not yet started", state(S::CREATED), TaskState::Pending),
            (
                "created, start refused",
                ContainerState {
                    error: Some("exec: \"appgen\": executable file not found in $PATH".to_owned()),
                    exit_code: Some(127),
                    started_at: Some(NEVER.to_owned()),
                    ..state(S::CREATED)
                },
                failed("exec: \"appgen\": executable file not found in $PATH"),
            ),
            (
                "running",
                ContainerState {
                    started_at: Some(STARTED.to_owned()),
                    ..state(S::RUNNING)
                },
                TaskState::Running,
            ),
            (
                "paused still holds its resources",
                state(S::PAUSED),
                TaskState::Running,
            ),
            ("stopping", state(S::STOPPING), TaskState::Running),
            ("exit 0", ended(0), exited(Some(0), None)),
            ("exit 3", ended(3), exited(Some(3), None)),
            ("exit 128 is a code", ended(128), exited(Some(128), None)),
            ("stopped by SIGTERM", ended(143), exited(None, Some(15))),
            ("killed after the grace", ended(137), exited(None, Some(9))),
            ("255 is a code", ended(255), exited(Some(255), None)),
            (
                "OOM killed",
                ContainerState {
                    oom_killed: Some(true),
                    ..ended(137)
                },
                exited(None, Some(9)),
            ),
            (
                "never started, ended with an error",
                ContainerState {
                    error: Some("OCI runtime error: mount failed".to_owned()),
                    exit_code: Some(126),
                    started_at: Some(NEVER.to_owned()),
                    ..state(S::EXITED)
                },
                failed("OCI runtime error: mount failed"),
            ),
            (
                "ran, then the engine noted an error",
                ContainerState {
                    error: Some("cleanup failed".to_owned()),
                    ..ended(1)
                },
                exited(Some(1), None),
            ),
            (
                "dead",
                ContainerState {
                    status: Some(S::DEAD),
                    ..ended(2)
                },
                exited(Some(2), None),
            ),
            ("no state at all", ContainerState::default(), TaskState::Pending),
        ];
        for (what, container, expected) in table {
            assert_eq!(container_observation(&container).state, expected, "{what}");
        }
    }

    #[test]
    fn start_and_finish_times_come_from_the_state_and_the_zero_time_is_none() {
        let observed = container_observation(&ended(0));
        assert_eq!(observed.started_at, Some(STARTED.parse().unwrap()));
        assert_eq!(observed.finished_at, Some(FINISHED.parse().unwrap()));
        let pending = container_observation(&ContainerState {
            started_at: Some(NEVER.to_owned()),
            finished_at: Some(NEVER.to_owned()),
            ..state(ContainerStateStatusEnum::CREATED)
        });
        assert_eq!((pending.started_at, pending.finished_at), (None, None));
    }

    #[test]
    fn the_container_carries_the_generations_identity_command_and_limits() {
        let config = DockerConfig {
            env: vec![("APPGEN_AGENT".to_owned(), "scaffold".to_owned())],
            network: Some("none".to_owned()),
            cpus: Some(1.5),
            memory_bytes: Some(2 << 30),
            pids: Some(512),
            artifacts_dir: Some(PathBuf::from("/data/artifacts")),
            mounts: vec![BindMount {
                host: PathBuf::from("/opt/node-22"),
                container: PathBuf::from("/opt/node"),
                read_only: true,
            }],
            ..DockerConfig::new("appgen/generator:1".to_owned())
        };
        let task = spec();
        let (name, body) = task_container(&task, &config);
        assert_eq!(name, "appgen-6a073aa1-1d72-412b-b548-f612ce2fe497-2");
        let labels = body.labels.unwrap();
        for (k, v) in [
            ("app.kubernetes.io/managed-by", "appgen"),
            ("appgen.dev/namespace", "team-a"),
            ("appgen.dev/generation", "todo"),
            ("appgen.dev/uid", "6a073aa1-1d72-412b-b548-f612ce2fe497"),
            ("appgen.dev/attempt", "2"),
            ("appgen.dev/task-key", "6a073aa1-1d72-412b-b548-f612ce2fe497-2"),
        ] {
            assert_eq!(labels.get(k).map(String::as_str), Some(v), "label {k}");
        }
        assert_eq!(body.cmd, None);
        assert_eq!(
            body.entrypoint.unwrap(),
            [
                "appgen",
                "generate",
                "--input",
                "file:///data/artifacts/generations/team-a/todo/input.json"
            ]
        );
        assert_eq!(body.image.as_deref(), Some("appgen/generator:1"));
        assert_eq!(
            body.env.unwrap(),
            [
                "APPGEN_TASK_KEY=6a073aa1-1d72-412b-b548-f612ce2fe497-2",
                "HOME=/workspace",
                "APPGEN_SANDBOX=1",
                "APPGEN_AGENT=scaffold"
            ]
        );
        assert_eq!(body.working_dir.as_deref(), Some("/workspace"));
        assert_eq!(body.stop_timeout, Some(10));
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.nano_cpus, Some(1_500_000_000));
        assert_eq!((host.memory, host.memory_swap), (Some(2 << 30), Some(2 << 30)));
        assert_eq!(host.pids_limit, Some(512));
        assert_eq!(host.init, Some(true));
        assert_eq!(
            host.binds.unwrap(),
            ["/data/artifacts:/data/artifacts:rw", "/opt/node-22:/opt/node:ro"]
        );
        assert_eq!(
            host.auto_remove, None,
            "a finished container stays for its exit code and logs"
        );
    }

    #[test]
    fn without_limits_or_mounts_the_engine_defaults_apply() {
        let (_, body) = task_container(&spec(), &DockerConfig::new("generator".to_owned()));
        let host = body.host_config.unwrap();
        assert_eq!(
            (
                host.network_mode,
                host.nano_cpus,
                host.memory,
                host.pids_limit,
                host.binds
            ),
            (None, None, None, None, None)
        );
    }

    #[test]
    fn a_key_that_is_no_container_name_gets_a_stable_one() {
        let key = TaskKey::parse("Weird_UID.x-1").unwrap();
        let name = container_name(&key);
        assert!(name.starts_with("appgen-weird-uid-x-1-"), "{name}");
        assert_eq!(name, container_name(&key));
    }

    #[test]
    fn finished_containers_are_kept_for_a_while_then_expire() {
        let keep = Duration::from_secs(3600);
        let done: jiff::Timestamp = FINISHED.parse().unwrap();
        let finished = container_observation(&ended(0));
        let later = |secs: i64| done.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap();
        assert!(!expired(&finished, later(3599), keep));
        assert!(expired(&finished, later(3600), keep));
        let running = container_observation(&state(ContainerStateStatusEnum::RUNNING));
        assert!(
            !expired(&running, later(100_000), keep),
            "a running task never expires"
        );
        let no_time = TaskObservation {
            finished_at: None,
            ..finished
        };
        assert!(
            !expired(&no_time, later(100_000), keep),
            "without an end time, kept"
        );
    }
}
