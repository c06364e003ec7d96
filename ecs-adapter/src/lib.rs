//! The `ecs` backend: each generator task is one ECS task started with RunTask, tagged with its
//! Generation's identity and its task key, so `aws ecs describe-tasks` shows what runs and a
//! restarted controller finds its tasks again through ListTasks and their tags.
//!
//! It must never hold secrets: the generator's credentials come from the task definition's
//! `secrets` (Secrets Manager or SSM), which ECS injects into the container itself.
//!
//! Building the RunTask pieces ([`task_tags`], [`task_overrides`]) and reading a described task
//! ([`task_observation`]) are pure functions; the backend only sends the requests.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use appgen_controller::backend::{
    Backend, BackendError, TaskKey, TaskListing, TaskObservation, TaskSpec, TaskState,
};
use aws_config::retry::RetryConfig;
use aws_config::{Region, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride, DesiredStatus,
    KeyValuePair, LaunchType, NetworkConfiguration, Tag, Task, TaskField, TaskOverride, TaskStopCode,
};

#[cfg(feature = "moto")]
pub mod moto;

const BACKEND: &str = "ecs";

/// The tag that names the task's key (`<uid>-<attempt>`), beside the Generation's labels.
pub const KEY_TAG: &str = "appgen.dev/task-key";
/// The Generation's namespace and name, as the controller labels every task.
pub const NAMESPACE_TAG: &str = "appgen.dev/namespace";
pub const GENERATION_TAG: &str = "appgen.dev/generation";

/// The reason StopTask records, which `aws ecs describe-tasks` then shows as `stoppedReason`.
const STOP_REASON: &str = "stopped by appgen";

/// DescribeTasks takes at most this many tasks per call.
const DESCRIBE_BATCH: usize = 100;

/// `stoppedReason` prefixes of a task that never got to run the generator: the image, the
/// network, a secret or the container runtime failed. Documented under "Stopped task error codes"
/// in the ECS developer guide.
const CANNOT_START: &[&str] = &[
    "CannotPullContainerError",
    "ResourceInitializationError",
    "CannotStartContainerError",
    "CannotCreateContainerError",
    "CannotInspectContainerError",
    "CannotCreateVolumeError",
    "ContainerRuntimeError",
    "ContainerRuntimeTimeoutError",
    "InternalError",
    "Timeout waiting for network interface provisioning",
];

/// What can be wrong with the backend's settings.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    #[error("the ecs backend's {setting} is not usable: {reason}")]
    Config { setting: &'static str, reason: String },
}

/// Where ECS places the tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A launch type, `FARGATE` in production (`EC2` and `EXTERNAL` also exist).
    LaunchType(String),
    /// A capacity provider strategy such as `FARGATE_SPOT`, or the cluster's own providers.
    CapacityProviders(Vec<CapacityProvider>),
}

/// One entry of a capacity provider strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapacityProvider {
    pub name: String,
    /// The share of tasks this provider takes relative to the others' weights.
    pub weight: i32,
    /// How many tasks this provider runs before weights apply.
    pub base: i32,
}

/// How the ecs backend runs its tasks. Everything secret stays in the task definition.
#[derive(Clone, Debug)]
pub struct EcsConfig {
    /// The cluster's name or ARN.
    pub cluster: String,
    /// The task definition (`family`, `family:revision` or ARN) whose container runs the
    /// generator. Its execution role pulls the image and reads the `secrets`; its task role is
    /// what the generator may do (S3 on the artifact prefix, or nothing when tasks get grants).
    pub task_definition: String,
    /// The container in that task definition that runs the generator; the overrides name it.
    pub container: String,
    /// The container's command, given `--input <uri>`. ECS overrides the image's CMD and keeps its
    /// ENTRYPOINT, which is `appgen` in the generator image (generator/Dockerfile).
    pub command: Vec<String>,
    pub placement: Placement,
    /// The awsvpc subnets for the task's network interface, in the cluster's VPC.
    pub subnets: Vec<String>,
    /// Security groups for the task's interface; the generator needs outbound HTTPS only.
    pub security_groups: Vec<String>,
    /// Whether the interface gets a public IP: needed in a public subnet without a NAT gateway,
    /// so the task can pull its image and reach S3 and the model's API.
    pub assign_public_ip: bool,
    /// Task-level CPU units (`1024` is one vCPU) instead of the task definition's.
    pub cpu: Option<String>,
    /// Task-level memory in MiB instead of the task definition's.
    pub memory: Option<String>,
    /// Plain environment for the generator; secrets belong in the task definition's `secrets`.
    pub env: Vec<(String, String)>,
    /// Marks appgen's tasks for ListTasks. Give each appgen installation sharing a cluster its own
    /// value: the orphan sweep stops tasks it lists whose Generation it cannot find.
    pub started_by: String,
    /// The region; otherwise the standard AWS chain's (`AWS_REGION`).
    pub region: Option<String>,
    /// Another ECS endpoint, such as a local moto server; otherwise AWS's.
    pub endpoint: Option<String>,
    /// Attempts per call, the first included, through the SDK's standard retry (exponential
    /// backoff with jitter) on throttling, 5xx answers and network errors. This is the only retry
    /// layer: the SDK resends the identical request, so a retried RunTask keeps its clientToken.
    pub max_attempts: u32,
    /// The first retry's backoff ceiling; later ones double it up to twenty seconds.
    pub initial_backoff: Duration,
}

impl EcsConfig {
    /// `appgen generate` in `container` of `task_definition` on Fargate, started by `appgen`,
    /// five attempts per call.
    pub fn new(cluster: String, task_definition: String, container: String) -> Self {
        EcsConfig {
            cluster,
            task_definition,
            container,
            command: vec!["generate".to_owned()],
            placement: Placement::LaunchType("FARGATE".to_owned()),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            assign_public_ip: false,
            cpu: None,
            memory: None,
            env: Vec::new(),
            started_by: "appgen".to_owned(),
            region: None,
            endpoint: None,
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
        }
    }

    /// Refuses settings ECS would refuse on every RunTask, naming the setting.
    pub fn validate(&self) -> Result<(), EcsError> {
        let refuse = |setting, reason: &str| {
            Err(EcsError::Config {
                setting,
                reason: reason.to_owned(),
            })
        };
        if self.cluster.is_empty() {
            return refuse("cluster", "name the cluster (--ecs-cluster)");
        }
        if self.task_definition.is_empty() {
            return refuse(
                "task definition",
                "name the task definition (--ecs-task-definition)",
            );
        }
        if self.container.is_empty() {
            return refuse("container", "name the generator's container (--ecs-container)");
        }
        if self.subnets.is_empty() {
            return refuse("subnets", "awsvpc tasks need at least one subnet (--ecs-subnets)");
        }
        let started_by_ok = |c: char| c.is_ascii_alphanumeric() || "-_/".contains(c);
        if self.started_by.is_empty()
            || self.started_by.len() > 36
            || !self.started_by.chars().all(started_by_ok)
        {
            return refuse(
                "startedBy",
                "use 1 to 36 letters, digits, '-', '_' or '/' (ECS's limit)",
            );
        }
        if let Placement::CapacityProviders(providers) = &self.placement
            && providers.is_empty()
        {
            return refuse(
                "capacity provider strategy",
                "name at least one capacity provider",
            );
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return refuse("endpoint", "use an http:// or https:// URL");
        }
        if self.max_attempts == 0 {
            return refuse("max attempts", "allow at least one attempt");
        }
        Ok(())
    }
}

/// The task's tags: the Generation's labels and the task key.
pub fn task_tags(task: &TaskSpec) -> Vec<Tag> {
    task.labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(KEY_TAG, task.key.as_str())])
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

/// The overrides that make the task definition's container generate `task`.
pub fn task_overrides(task: &TaskSpec, config: &EcsConfig) -> TaskOverride {
    let mut command = config.command.clone();
    command.extend(["--input".to_owned(), task.input_uri.clone()]);
    let environment = [("APPGEN_TASK_KEY", task.key.as_str())]
        .into_iter()
        .chain(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map(|(name, value)| KeyValuePair::builder().name(name).value(value).build())
        .collect();
    let container = ContainerOverride::builder()
        .name(&config.container)
        .set_command(Some(command))
        .set_environment(Some(environment))
        .build();
    TaskOverride::builder()
        .container_overrides(container)
        .set_cpu(config.cpu.clone())
        .set_memory(config.memory.clone())
        .build()
}

/// What a described task says about the generator at this moment. A task that never ran the
/// generator (capacity, image, network, secrets) or that AWS took away (Spot, scheduler) is the
/// infrastructure's failure; StopTask ends it by a signal; otherwise the generator container's
/// exit code decides.
pub fn task_observation(task: &Task, container: &str) -> TaskObservation {
    let started_at = task.started_at().and_then(timestamp);
    let finished_at = task
        .stopped_at()
        .or(task.execution_stopped_at())
        .and_then(timestamp);
    let observed = |state| TaskObservation {
        state,
        started_at,
        finished_at,
    };
    let last = task.last_status().unwrap_or("PROVISIONING");
    if last != "STOPPED" && last != "DELETED" {
        let state = if task.started_at().is_some() || last == "RUNNING" || last == "DEACTIVATING" {
            TaskState::Running
        } else {
            TaskState::Pending
        };
        return observed(state);
    }
    let reason = task.stopped_reason().unwrap_or_default();
    let failed_to_start = |what: &str| {
        observed(TaskState::FailedToStart {
            reason: if reason.is_empty() {
                what.to_owned()
            } else {
                format!("{what}: {reason}")
            },
        })
    };
    match task.stop_code() {
        Some(TaskStopCode::TaskFailedToStart) => return failed_to_start("TaskFailedToStart"),
        Some(
            code @ (TaskStopCode::SpotInterruption
            | TaskStopCode::ServiceSchedulerInitiated
            | TaskStopCode::TerminationNotice),
        ) => {
            return failed_to_start(code.as_str());
        }
        Some(TaskStopCode::UserInitiated) => {
            return observed(TaskState::Exited {
                code: None,
                signal: Some(15),
            });
        }
        _ => {}
    }
    if CANNOT_START.iter().any(|prefix| reason.starts_with(prefix)) {
        return failed_to_start("the task could not start");
    }
    let generator = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container))
        .or_else(|| task.containers().first());
    if let Some(reason) = generator
        .and_then(|c| c.reason())
        .filter(|r| CANNOT_START.iter().any(|prefix| r.starts_with(prefix)))
    {
        return observed(TaskState::FailedToStart {
            reason: reason.to_owned(),
        });
    }
    observed(TaskState::Exited {
        code: generator.and_then(|c| c.exit_code()),
        signal: None,
    })
}

fn timestamp(t: &aws_sdk_ecs::primitives::DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::new(t.secs(), i32::try_from(t.subsec_nanos()).ok()?).ok()
}

/// The value of tag `key` on `task`.
fn tag<'a>(task: &'a Task, key: &str) -> Option<&'a str> {
    task.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(Tag::value)
}

/// Runs each task with RunTask on one cluster.
pub struct EcsBackend {
    client: aws_sdk_ecs::Client,
    config: EcsConfig,
    /// Task ARNs by key, learnt from RunTask and from listing. An ARN never changes, so this
    /// only saves a listing; a new instance learns them again.
    arns: Mutex<HashMap<TaskKey, String>>,
    /// Keys whose RunTask ECS answered with `failures` instead of a task: there is no task to
    /// describe, so the reason is kept here for `observe`.
    failed: Mutex<HashMap<TaskKey, String>>,
}

impl fmt::Debug for EcsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcsBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EcsBackend {
    /// A backend whose credentials come from the standard AWS chain (environment, profile, web
    /// identity, ECS task role, instance profile). Nothing is sent until the first call.
    pub async fn connect(config: EcsConfig) -> Result<Self, EcsError> {
        let sdk_config = appgen_artifacts::load_aws_config(config.region.as_deref()).await;
        Self::from_sdk_config(config, &sdk_config)
    }

    /// A backend using `sdk_config` for credentials; `config`'s region, endpoint and retry win.
    pub fn from_sdk_config(config: EcsConfig, sdk_config: &SdkConfig) -> Result<Self, EcsError> {
        config.validate()?;
        let retry = RetryConfig::standard()
            .with_max_attempts(config.max_attempts)
            .with_initial_backoff(config.initial_backoff);
        let mut builder = aws_sdk_ecs::config::Builder::from(sdk_config).retry_config(retry);
        if let Some(region) = &config.region {
            builder = builder.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let ecs_config = builder.build();
        if ecs_config.region().is_none() {
            return Err(EcsError::Config {
                setting: "region",
                reason: "no region is configured: set AWS_REGION to the cluster's region".to_owned(),
            });
        }
        Ok(EcsBackend {
            client: aws_sdk_ecs::Client::from_conf(ecs_config),
            config,
            arns: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
        })
    }

    fn remember(&self, key: TaskKey, arn: String) {
        self.arns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, arn);
    }

    fn known_arn(&self, key: &TaskKey) -> Option<String> {
        self.arns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }

    fn failure(&self, key: &TaskKey) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }

    /// Every task ECS still knows that this installation started, running or stopped, with tags.
    async fn our_tasks(&self) -> Result<Vec<Task>, BackendError> {
        let mut arns = Vec::new();
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let mut next = None;
            loop {
                let page = self
                    .client
                    .list_tasks()
                    .cluster(&self.config.cluster)
                    .started_by(&self.config.started_by)
                    .desired_status(status.clone())
                    .set_next_token(next)
                    .send()
                    .await
                    .map_err(|e| ecs_error("ListTasks", e))?;
                arns.extend(page.task_arns().iter().cloned());
                next = page.next_token().map(str::to_owned);
                if next.is_none() {
                    break;
                }
            }
        }
        // A task that stopped between the two listings is in both.
        arns.sort();
        arns.dedup();
        let mut tasks = Vec::with_capacity(arns.len());
        for batch in arns.chunks(DESCRIBE_BATCH) {
            tasks.extend(self.describe(batch.to_vec()).await?);
        }
        for task in &tasks {
            if let (Some(key), Some(arn)) = (tag(task, KEY_TAG).and_then(TaskKey::parse), task.task_arn()) {
                self.remember(key, arn.to_owned());
            }
        }
        Ok(tasks)
    }

    async fn describe(&self, arns: Vec<String>) -> Result<Vec<Task>, BackendError> {
        let described = self
            .client
            .describe_tasks()
            .cluster(&self.config.cluster)
            .set_tasks(Some(arns))
            .include(TaskField::Tags)
            .send()
            .await
            .map_err(|e| ecs_error("DescribeTasks", e))?;
        Ok(described.tasks().to_vec())
    }

    /// The task under `key`, described; None when ECS knows none (or has forgotten it).
    async fn find(&self, key: &TaskKey) -> Result<Option<Task>, BackendError> {
        let is_it = |t: &Task| tag(t, KEY_TAG) == Some(key.as_str());
        if let Some(arn) = self.known_arn(key) {
            return Ok(self.describe(vec![arn]).await?.into_iter().find(is_it));
        }
        Ok(self.our_tasks().await?.into_iter().find(is_it))
    }

    fn run_task_failed(&self, key: &TaskKey, reason: String) {
        tracing::warn!(%key, %reason, "ECS could not place the task");
        self.failed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.clone(), reason);
    }
}

#[async_trait::async_trait]
impl Backend for EcsBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    /// Looks for the key first: ECS honours a clientToken only for a while, and a task that
    /// stopped long ago must not start again under the same key. A key this instance launched
    /// stays launched even once ECS has forgotten its task.
    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError> {
        let launched = self.failure(&task.key).is_some() || self.known_arn(&task.key).is_some();
        if launched || self.find(&task.key).await?.is_some() {
            return Ok(());
        }
        let config = &self.config;
        let mut request = self
            .client
            .run_task()
            .cluster(&config.cluster)
            .task_definition(&config.task_definition)
            .count(1)
            .client_token(task.key.as_str())
            .started_by(&config.started_by)
            .set_tags(Some(task_tags(task)))
            .overrides(task_overrides(task, config))
            .network_configuration(network_configuration(config)?);
        request = match &config.placement {
            Placement::LaunchType(launch_type) => request.launch_type(LaunchType::from(launch_type.as_str())),
            Placement::CapacityProviders(providers) => request.set_capacity_provider_strategy(Some(
                providers
                    .iter()
                    .map(|p| {
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider(&p.name)
                            .weight(p.weight)
                            .base(p.base)
                            .build()
                            .map_err(|e| BackendError::rejected(BACKEND, "RunTask", e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )),
        };
        let ran = request.send().await.map_err(|e| ecs_error("RunTask", e))?;
        match ran.tasks().first().and_then(Task::task_arn) {
            Some(arn) => self.remember(task.key.clone(), arn.to_owned()),
            None => {
                let reasons: Vec<String> = ran
                    .failures()
                    .iter()
                    .map(|f| match f.detail() {
                        Some(detail) => format!("{}: {detail}", f.reason().unwrap_or("no reason")),
                        None => f.reason().unwrap_or("no reason").to_owned(),
                    })
                    .collect();
                let reason = if reasons.is_empty() {
                    "RunTask started no task and gave no reason".to_owned()
                } else {
                    format!("RunTask failed: {}", reasons.join("; "))
                };
                self.run_task_failed(&task.key, reason);
            }
        }
        Ok(())
    }

    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError> {
        if let Some(reason) = self.failure(key) {
            return Ok(TaskObservation {
                state: TaskState::FailedToStart { reason },
                started_at: None,
                finished_at: None,
            });
        }
        Ok(match self.find(key).await? {
            Some(task) => task_observation(&task, &self.config.container),
            None => TaskObservation::missing(),
        })
    }

    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError> {
        let Some(task) = self.find(key).await? else {
            return Ok(());
        };
        let (Some(arn), Some("RUNNING")) = (task.task_arn(), task.desired_status()) else {
            // Already stopping or stopped.
            return Ok(());
        };
        let stopped = self
            .client
            .stop_task()
            .cluster(&self.config.cluster)
            .task(arn)
            .reason(STOP_REASON)
            .send()
            .await;
        match stopped {
            // ECS forgot the task between the two calls: it is gone, as asked.
            Err(SdkError::ServiceError(e))
                if e.err().code() == Some("InvalidParameterException")
                    && e.err().message().is_some_and(|m| m.contains("not found")) =>
            {
                Ok(())
            }
            result => result.map(drop).map_err(|e| ecs_error("StopTask", e)),
        }
    }

    async fn list(&self) -> Result<Vec<TaskListing>, BackendError> {
        Ok(self
            .our_tasks()
            .await?
            .iter()
            .filter_map(|task| {
                Some(TaskListing {
                    key: TaskKey::parse(tag(task, KEY_TAG)?)?,
                    namespace: tag(task, NAMESPACE_TAG)?.to_owned(),
                    name: tag(task, GENERATION_TAG)?.to_owned(),
                    observation: task_observation(task, &self.config.container),
                })
            })
            .collect())
    }
}

fn network_configuration(config: &EcsConfig) -> Result<NetworkConfiguration, BackendError> {
    let assign_public_ip = if config.assign_public_ip {
        AssignPublicIp::Enabled
    } else {
        AssignPublicIp::Disabled
    };
    let awsvpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(config.subnets.clone()))
        .set_security_groups((!config.security_groups.is_empty()).then(|| config.security_groups.clone()))
        .assign_public_ip(assign_public_ip)
        .build()
        .map_err(|e| BackendError::rejected(BACKEND, "RunTask", e.to_string()))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(awsvpc)
        .build())
}

/// Throttling, server errors and the network may pass (the SDK has already retried them); the
/// rest (bad parameters, a missing cluster, no permission) need someone to change something.
fn ecs_error<E>(operation: &'static str, error: SdkError<E>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("no error code");
            let status = service.raw().status().as_u16();
            let message = format!(
                "{code} (HTTP {status}): {}",
                service.err().message().unwrap_or("no message")
            );
            let passes = status >= 500
                || [
                    "ThrottlingException",
                    "ServerException",
                    "ServiceUnavailableException",
                    "RequestLimitExceeded",
                ]
                .contains(&code);
            if passes {
                BackendError::unavailable(BACKEND, operation, message)
            } else {
                BackendError::rejected(BACKEND, operation, format!("{message}; {}", hint(code)))
            }
        }
        _ => BackendError::unavailable(BACKEND, operation, appgen_artifacts::error_chain(&error)),
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "AccessDeniedException" => "grant the controller's role the ECS actions in docs/ecs.md",
        "ClusterNotFoundException" => "check --ecs-cluster and the region",
        "ClientException" | "InvalidParameterException" => {
            "check the task definition, container name, subnets and security groups"
        }
        "PlatformUnknownException" | "PlatformTaskDefinitionIncompatibilityException" => {
            "check that the task definition is compatible with FARGATE"
        }
        _ => "see the ECS error code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::primitives::DateTime;
    use aws_sdk_ecs::types::Container;
    use std::collections::BTreeMap;

    const UID: &str = "6a073aa1-1d72-412b-b548-f612ce2fe497";

    fn spec() -> TaskSpec {
        TaskSpec {
            key: TaskKey::new(UID, 2),
            namespace: "team-a".to_owned(),
            name: "todo".to_owned(),
            uid: UID.to_owned(),
            attempt: 2,
            input_uri: "s3://appgen/generations/team-a/todo/input.json".to_owned(),
            labels: BTreeMap::from([
                ("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned()),
                (NAMESPACE_TAG.to_owned(), "team-a".to_owned()),
                (GENERATION_TAG.to_owned(), "todo".to_owned()),
                ("appgen.dev/uid".to_owned(), UID.to_owned()),
                ("appgen.dev/attempt".to_owned(), "2".to_owned()),
            ]),
            deadline: None,
        }
    }

    fn config() -> EcsConfig {
        let mut config = EcsConfig::new(
            "appgen".to_owned(),
            "appgen-generator:3".to_owned(),
            "generator".to_owned(),
        );
        config.subnets = vec!["subnet-1".to_owned()];
        config
    }

    /// A described task: its lastStatus, stopCode, stoppedReason and the generator's exit code.
    fn task(last: &str, stop_code: Option<&str>, reason: Option<&str>, exit: Option<i32>) -> Task {
        let container = Container::builder().name("generator").set_exit_code(exit).build();
        // The sidecar ECS or the task definition may add, listed first; its exit code is not the generator's.
        let sidecar = Container::builder().name("log-router").exit_code(0).build();
        Task::builder()
            .last_status(last)
            .set_stop_code(stop_code.map(TaskStopCode::from))
            .set_stopped_reason(reason.map(str::to_owned))
            .containers(sidecar)
            .containers(container)
            .build()
    }

    #[test]
    fn described_tasks_map_to_what_became_of_the_generator() {
        let cases = [
            (
                "provisioning",
                task("PROVISIONING", None, None, None),
                TaskState::Pending,
            ),
            ("pending", task("PENDING", None, None, None), TaskState::Pending),
            (
                "activating",
                task("ACTIVATING", None, None, None),
                TaskState::Pending,
            ),
            ("running", task("RUNNING", None, None, None), TaskState::Running),
            (
                "stopping after running still holds its resources",
                task("DEACTIVATING", Some("EssentialContainerExited"), None, None),
                TaskState::Running,
            ),
            (
                "the generator succeeded",
                task(
                    "STOPPED",
                    Some("EssentialContainerExited"),
                    Some("Essential container in task exited"),
                    Some(0),
                ),
                TaskState::exited(0),
            ),
            (
                "the generator failed",
                task(
                    "STOPPED",
                    Some("EssentialContainerExited"),
                    Some("Essential container in task exited"),
                    Some(3),
                ),
                TaskState::exited(3),
            ),
            (
                "the task failed to start",
                task(
                    "STOPPED",
                    Some("TaskFailedToStart"),
                    Some("Task failed to start"),
                    None,
                ),
                TaskState::failed_to_start("TaskFailedToStart: Task failed to start"),
            ),
            (
                "the image could not be pulled",
                task(
                    "STOPPED",
                    Some("TaskFailedToStart"),
                    Some(
                        "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
                    ),
                    None,
                ),
                TaskState::failed_to_start(
                    "TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
                ),
            ),
            (
                "an image pull error without a stop code",
                task(
                    "STOPPED",
                    None,
                    Some("CannotPullContainerError: access denied"),
                    None,
                ),
                TaskState::failed_to_start(
                    "the task could not start: CannotPullContainerError: access denied",
                ),
            ),
            (
                "the secrets or the network could not be set up",
                task(
                    "STOPPED",
                    Some("TaskFailedToStart"),
                    Some("ResourceInitializationError: unable to pull secrets or registry auth"),
                    None,
                ),
                TaskState::failed_to_start(
                    "TaskFailedToStart: ResourceInitializationError: unable to pull secrets or registry auth",
                ),
            ),
            (
                "Spot took the capacity back",
                task(
                    "STOPPED",
                    Some("SpotInterruption"),
                    Some("Your Spot Task was interrupted."),
                    Some(137),
                ),
                TaskState::failed_to_start("SpotInterruption: Your Spot Task was interrupted."),
            ),
            (
                "the scheduler replaced the task",
                task(
                    "STOPPED",
                    Some("ServiceSchedulerInitiated"),
                    Some("Task failed ELB health checks"),
                    Some(143),
                ),
                TaskState::failed_to_start("ServiceSchedulerInitiated: Task failed ELB health checks"),
            ),
            (
                "stopped by StopTask",
                task("STOPPED", Some("UserInitiated"), Some(STOP_REASON), Some(143)),
                TaskState::Exited {
                    code: None,
                    signal: Some(15),
                },
            ),
            (
                "the container could not be started",
                container_never_ran("CannotStartContainerError: exec format error"),
                TaskState::failed_to_start("CannotStartContainerError: exec format error"),
            ),
            (
                "stopped without an exit code",
                task(
                    "STOPPED",
                    Some("EssentialContainerExited"),
                    Some("Essential container in task exited"),
                    None,
                ),
                TaskState::Exited {
                    code: None,
                    signal: None,
                },
            ),
        ];
        for (case, described, expected) in cases {
            assert_eq!(
                task_observation(&described, "generator").state,
                expected,
                "{case}"
            );
        }
    }

    /// A task whose generator container never ran, as ECS reports it: the container's `reason`.
    fn container_never_ran(reason: &str) -> Task {
        Task::builder()
            .last_status("STOPPED")
            .stop_code(TaskStopCode::EssentialContainerExited)
            .stopped_reason("Essential container in task exited")
            .containers(Container::builder().name("generator").reason(reason).build())
            .build()
    }

    #[test]
    fn a_task_reports_when_it_started_and_stopped() {
        let described = Task::builder()
            .last_status("STOPPED")
            .stop_code(TaskStopCode::EssentialContainerExited)
            .started_at(DateTime::from_secs(1_748_779_202))
            .stopped_at(DateTime::from_secs(1_748_779_800))
            .containers(Container::builder().name("generator").exit_code(0).build())
            .build();
        let observed = task_observation(&described, "generator");
        assert_eq!(observed.started_at, Some("2025-06-01T12:00:02Z".parse().unwrap()));
        assert_eq!(
            observed.finished_at,
            Some("2025-06-01T12:10:00Z".parse().unwrap())
        );
        assert_eq!(observed.state, TaskState::exited(0));
    }

    #[test]
    fn the_task_is_tagged_with_its_generation_and_key() {
        let tags: BTreeMap<_, _> = task_tags(&spec())
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect();
        assert_eq!(tags[KEY_TAG], format!("{UID}-2"));
        assert_eq!(tags[NAMESPACE_TAG], "team-a");
        assert_eq!(tags[GENERATION_TAG], "todo");
        assert_eq!(tags["appgen.dev/uid"], UID);
        assert_eq!(tags["appgen.dev/attempt"], "2");
        assert_eq!(tags["app.kubernetes.io/managed-by"], "appgen");
    }

    #[test]
    fn the_overrides_run_the_generator_on_the_tasks_input() {
        let mut config = config();
        config.env = vec![("APPGEN_AGENT".to_owned(), "scaffold".to_owned())];
        config.cpu = Some("2048".to_owned());
        config.memory = Some("4096".to_owned());
        let overrides = task_overrides(&spec(), &config);
        let container = &overrides.container_overrides()[0];
        assert_eq!(container.name(), Some("generator"));
        assert_eq!(
            container.command(),
            [
                "generate",
                "--input",
                "s3://appgen/generations/team-a/todo/input.json"
            ]
        );
        let env: Vec<_> = container
            .environment()
            .iter()
            .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
            .collect();
        assert_eq!(
            env,
            [
                ("APPGEN_TASK_KEY", format!("{UID}-2").as_str()),
                ("APPGEN_AGENT", "scaffold")
            ]
        );
        assert_eq!(
            (overrides.cpu(), overrides.memory()),
            (Some("2048"), Some("4096"))
        );
        let plain = task_overrides(&spec(), &self::config());
        assert_eq!(
            (plain.cpu(), plain.memory()),
            (None, None),
            "the task definition's sizes apply"
        );
    }

    #[test]
    fn settings_ecs_would_refuse_are_refused_by_name() {
        type Breaks = fn(&mut EcsConfig);
        let broken: [(&str, Breaks); 5] = [
            ("subnets", |c| c.subnets.clear()),
            ("startedBy", |c| c.started_by = "a".repeat(37)),
            ("startedBy", |c| c.started_by = "app gen".to_owned()),
            ("capacity provider strategy", |c| {
                c.placement = Placement::CapacityProviders(Vec::new())
            }),
            ("endpoint", |c| c.endpoint = Some("localhost:5000".to_owned())),
        ];
        for (setting, breaks) in broken {
            let mut config = config();
            breaks(&mut config);
            match config.validate() {
                Err(EcsError::Config { setting: named, .. }) => assert_eq!(named, setting),
                Ok(()) => panic!("{setting} was accepted"),
            }
        }
        assert!(config().validate().is_ok());
    }
}
