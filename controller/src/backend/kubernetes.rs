//! The kubernetes backend: one `batch/v1` Job per attempt in its Generation's namespace, named by
//! the task key and labelled with the Generation's identity, so `kubectl get jobs,pods` shows what
//! runs and a restarted controller finds its tasks again by label.
//!
//! Building the Job ([`task_job`]) and reading a Job and its pods ([`job_observation`]) are pure functions;
//! the backend only sends the requests.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerStatus, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    LocalObjectReference, Pod, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};

use super::{Backend, BackendError, TaskKey, TaskListing, TaskObservation, TaskSpec, TaskState};
use crate::Clock;

const BACKEND: &str = "kubernetes";

/// Names the task on its Job and pods. Its value is the Job's name, which is a valid label value
/// where a task key might not be.
const TASK_LABEL: &str = "appgen.dev/task";
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "appgen");
/// The task key itself, which the Job's name may have had to change (see [`job_name`]).
const KEY_ANNOTATION: &str = "appgen.dev/task-key";
/// The Generation's name, which may be longer than a label value may be.
const GENERATION_ANNOTATION: &str = "appgen.dev/generation-name";

const CONTAINER: &str = "generator";
/// The task's working directory and HOME: the root filesystem is read-only.
const WORKSPACE: &str = "/workspace";

/// Waiting reasons of a container that will not start until someone fixes the image, its pull
/// secret or a Secret it reads: the infrastructure's fault, not the generator's.
const CANNOT_START: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
];
/// Pod status reasons of a pod the node took away.
const TAKEN_AWAY: &[&str] = &["Evicted", "NodeLost", "NodeShutdown", "Shutdown"];

/// An environment variable read from a key of a Secret in the Generation's namespace, so the
/// value never appears in the Job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEnv {
    pub name: String,
    pub secret: String,
    pub key: String,
}

/// How the kubernetes backend shapes its Jobs.
#[derive(Clone, Debug)]
pub struct KubernetesConfig {
    /// The generator image, which runs `command --input <uri>`.
    pub image: String,
    pub command: Vec<String>,
    pub service_account: Option<String>,
    /// The uid the pod runs as, for an image whose `USER` is not numeric: Kubernetes cannot tell
    /// that such a user is not root and refuses to start it.
    pub run_as_user: Option<i64>,
    pub resources: Option<ResourceRequirements>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    /// A RuntimeClass that isolates the generator further, such as gVisor or Kata.
    pub runtime_class: Option<String>,
    pub image_pull_secrets: Vec<String>,
    /// Plain values; anything secret goes in `secret_env`.
    pub env: Vec<(String, String)>,
    pub secret_env: Vec<SecretEnv>,
    /// How long a finished Job and its pods stay for `kubectl logs` before Kubernetes removes them.
    pub ttl_after_finished: Duration,
    /// How long a pod may wait for a node before the attempt fails to start.
    pub unschedulable_timeout: Duration,
    /// Whether Jobs name their Generation as owner. Only when the Generations live in the same
    /// cluster as the Jobs: the garbage collector deletes a Job whose owner it cannot find.
    pub owner_references: bool,
}

impl KubernetesConfig {
    /// `appgen generate` in `image`, kept an hour after finishing, five minutes to find a node.
    pub fn new(image: String) -> Self {
        KubernetesConfig {
            image,
            command: vec!["appgen".to_owned(), "generate".to_owned()],
            service_account: None,
            run_as_user: None,
            resources: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            runtime_class: None,
            image_pull_secrets: Vec::new(),
            env: Vec::new(),
            secret_env: Vec::new(),
            ttl_after_finished: Duration::from_secs(3600),
            unschedulable_timeout: Duration::from_secs(300),
            owner_references: true,
        }
    }
}

/// Runs each task as a Job through `client`.
pub struct KubernetesBackend {
    client: kube::Client,
    config: KubernetesConfig,
    clock: Clock,
}

impl fmt::Debug for KubernetesBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesBackend")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The Job's name for a key: the key itself when it is a DNS-1123 label, which keys built from
/// Kubernetes uids are; otherwise a label made from it, with a hash of the key so that two keys
/// never share a Job.
pub fn job_name(key: &TaskKey) -> String {
    let key = key.as_str();
    let is_label = key.len() <= 63
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !key.starts_with('-')
        && !key.ends_with('-');
    if is_label {
        return key.to_owned();
    }
    let cleaned: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(54)
        .collect();
    // FNV-1a: stable across releases, unlike std's hasher, so a restarted controller names the
    // same Job.
    let hash = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let cleaned = cleaned.trim_matches('-');
    if cleaned.is_empty() {
        format!("task-{hash:08x}")
    } else {
        format!("{cleaned}-{hash:08x}")
    }
}

/// The Job that runs `task`.
pub fn task_job(task: &TaskSpec, config: &KubernetesConfig) -> Job {
    let name = job_name(&task.key);
    let mut labels = task.labels.clone();
    labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
    labels.insert(TASK_LABEL.to_owned(), name.clone());
    let annotations = BTreeMap::from([
        (KEY_ANNOTATION.to_owned(), task.key.as_str().to_owned()),
        (GENERATION_ANNOTATION.to_owned(), task.name.clone()),
    ]);
    let owner = config.owner_references.then(|| {
        vec![OwnerReference {
            api_version: appgen_crd::Generation::api_version(&()).into_owned(),
            kind: appgen_crd::Generation::kind(&()).into_owned(),
            name: task.name.clone(),
            uid: task.uid.clone(),
            controller: Some(true),
            // Blocking the owner's deletion needs update on generations/finalizers; the
            // controller's own finalizer already stops the task first.
            block_owner_deletion: None,
        }]
    });
    let mut command = config.command.clone();
    command.extend(["--input".to_owned(), task.input_uri.clone()]);
    let plain = [("APPGEN_TASK_KEY", task.key.as_str()), ("HOME", WORKSPACE)]
        .into_iter()
        .chain(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map(|(name, value)| EnvVar {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            value_from: None,
        });
    let secret = config.secret_env.iter().map(|s| EnvVar {
        name: s.name.clone(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: s.secret.clone(),
                key: s.key.clone(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    });
    let seccomp = || SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        localhost_profile: None,
    };
    let scratch = |name: &str, path: &str| {
        (
            Volume {
                name: name.to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            },
            VolumeMount {
                name: name.to_owned(),
                mount_path: path.to_owned(),
                ..VolumeMount::default()
            },
        )
    };
    let (volumes, mounts): (Vec<_>, Vec<_>) = [scratch("workspace", WORKSPACE), scratch("tmp", "/tmp")]
        .into_iter()
        .unzip();
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(config.image.clone()),
        command: Some(command),
        working_dir: Some(WORKSPACE.to_owned()),
        env: Some(plain.chain(secret).collect()),
        resources: config.resources.clone(),
        volume_mounts: Some(mounts),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            seccomp_profile: Some(seccomp()),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    let pod = PodSpec {
        restart_policy: Some("Never".to_owned()),
        service_account_name: config.service_account.clone(),
        // Tasks never call the control plane (DESIGN.md, rule 3).
        automount_service_account_token: Some(false),
        node_selector: (!config.node_selector.is_empty()).then(|| config.node_selector.clone()),
        tolerations: (!config.tolerations.is_empty()).then(|| config.tolerations.clone()),
        runtime_class_name: config.runtime_class.clone(),
        image_pull_secrets: (!config.image_pull_secrets.is_empty()).then(|| {
            config
                .image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: config.run_as_user,
            // The emptyDirs belong to this group, so whatever uid runs may write them.
            fs_group: config.run_as_user,
            seccomp_profile: Some(seccomp()),
            ..PodSecurityContext::default()
        }),
        containers: vec![container],
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(task.namespace.clone()),
            labels: Some(labels.clone()),
            annotations: Some(annotations.clone()),
            owner_references: owner,
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            // appgen owns retries: a failed pod fails the attempt, and the planner decides.
            backoff_limit: Some(0),
            active_deadline_seconds: task
                .deadline
                .map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX)),
            ttl_seconds_after_finished: Some(
                i32::try_from(config.ttl_after_finished.as_secs()).unwrap_or(i32::MAX),
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    // The watch on pods names the task by its key.
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

/// What a Job and its pods say about the task at `now`. A pod that cannot start, or that the
/// node took away, is the infrastructure's failure even when the Job has failed because of it;
/// otherwise the generator container's exit code decides.
pub fn job_observation(
    job: &Job,
    pods: &[Pod],
    now: jiff::Timestamp,
    unschedulable_timeout: Duration,
) -> TaskObservation {
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let holds = |type_: &str| conditions.iter().find(|c| c.type_ == type_ && c.status == "True");
    let started_at = status.start_time.map(|t| t.0);
    let finished_at = status.completion_time.map(|t| t.0).or_else(|| {
        holds("Complete")
            .or_else(|| holds("Failed"))
            .and_then(|c| c.last_transition_time.as_ref().map(|t| t.0))
    });
    let observed = |state| TaskObservation {
        state,
        started_at,
        finished_at,
    };
    if holds("Complete").is_some() {
        return observed(TaskState::Exited {
            code: Some(0),
            signal: None,
        });
    }
    // backoffLimit 0 makes one pod per Job; should there be more, the newest tells.
    let pod = pods
        .iter()
        .max_by_key(|p| p.metadata.creation_timestamp.as_ref().map(|t| t.0));
    if let Some(verdict) = pod.and_then(|p| pod_verdict(p, now, unschedulable_timeout)) {
        return TaskObservation {
            finished_at: verdict.finished_at.or(finished_at),
            started_at: started_at.or(verdict.started_at),
            state: verdict.state,
        };
    }
    match holds("Failed") {
        // The pod is gone (the deadline removes it); the Job's reason is all there is.
        Some(c) if c.reason.as_deref() == Some("DeadlineExceeded") => observed(TaskState::Exited {
            code: None,
            signal: Some(9),
        }),
        Some(_) => observed(TaskState::Exited {
            code: None,
            signal: None,
        }),
        None if status.ready.unwrap_or(0) > 0 => observed(TaskState::Running),
        None => observed(TaskState::Pending),
    }
}

/// What one pod says, or None when it says nothing decisive.
fn pod_verdict(pod: &Pod, now: jiff::Timestamp, unschedulable_timeout: Duration) -> Option<TaskObservation> {
    let status = pod.status.as_ref()?;
    let name = pod.metadata.name.as_deref().unwrap_or("the pod");
    let failed_to_start = |reason: String| {
        Some(TaskObservation {
            state: TaskState::FailedToStart { reason },
            started_at: None,
            finished_at: None,
        })
    };
    if let Some(reason) = status.reason.as_deref().filter(|r| TAKEN_AWAY.contains(r)) {
        return failed_to_start(format!(
            "pod {name} {reason}{}",
            detail(status.message.as_deref())
        ));
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if let Some(c) = conditions
        .iter()
        .find(|c| c.type_ == "DisruptionTarget" && c.status == "True")
    {
        let reason = c.reason.as_deref().unwrap_or("disrupted");
        return failed_to_start(format!("pod {name} {reason}{}", detail(c.message.as_deref())));
    }
    let container = status
        .container_statuses
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| c.name == CONTAINER);
    if let Some(verdict) = container.and_then(|c| container_verdict(name, c)) {
        return Some(verdict);
    }
    let unschedulable = conditions.iter().find(|c| {
        c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable")
    })?;
    let since = unschedulable.last_transition_time.as_ref().map_or(now, |t| t.0);
    let waited = now.duration_since(since);
    if waited >= jiff::SignedDuration::try_from(unschedulable_timeout).unwrap_or(jiff::SignedDuration::MAX) {
        return failed_to_start(format!(
            "pod {name} found no node for {}s{}",
            waited.as_secs(),
            detail(unschedulable.message.as_deref())
        ));
    }
    Some(TaskObservation {
        state: TaskState::Pending,
        started_at: None,
        finished_at: None,
    })
}

/// `: message` to follow a reason, or nothing.
fn detail(message: Option<&str>) -> String {
    message.map_or(String::new(), |m| format!(": {m}"))
}

fn container_verdict(pod: &str, container: &ContainerStatus) -> Option<TaskObservation> {
    let state = container.state.as_ref()?;
    if let Some(terminated) = &state.terminated {
        return Some(TaskObservation {
            state: TaskState::Exited {
                code: Some(terminated.exit_code),
                signal: None,
            },
            started_at: terminated.started_at.as_ref().map(|t| t.0),
            finished_at: terminated.finished_at.as_ref().map(|t| t.0),
        });
    }
    if let Some(waiting) = &state.waiting
        && let Some(reason) = waiting.reason.as_deref().filter(|r| CANNOT_START.contains(r))
    {
        return Some(TaskObservation {
            state: TaskState::FailedToStart {
                reason: format!("pod {pod} {reason}{}", detail(waiting.message.as_deref())),
            },
            started_at: None,
            finished_at: None,
        });
    }
    let running = state.running.as_ref()?;
    Some(TaskObservation {
        state: TaskState::Running,
        started_at: running.started_at.as_ref().map(|t| t.0),
        finished_at: None,
    })
}

impl KubernetesBackend {
    /// `clock` decides when an unschedulable pod has waited too long.
    pub fn new(client: kube::Client, config: KubernetesConfig, clock: Clock) -> Self {
        KubernetesBackend {
            client,
            config,
            clock,
        }
    }

    /// The Job of `key`, in whichever namespace it runs.
    async fn find(&self, key: &TaskKey, operation: &'static str) -> Result<Option<Job>, BackendError> {
        let selector = format!("{TASK_LABEL}={}", job_name(key));
        let jobs = Api::<Job>::all(self.client.clone())
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| kube_error(operation, e))?;
        Ok(jobs.items.into_iter().next())
    }

    /// The pods labelled with `selector`: in `namespace`, or everywhere.
    async fn pods(&self, namespace: Option<&str>, selector: &str) -> Result<Vec<Pod>, BackendError> {
        let api = match namespace {
            Some(ns) => Api::<Pod>::namespaced(self.client.clone(), ns),
            None => Api::<Pod>::all(self.client.clone()),
        };
        let pods = api
            .list(&ListParams::default().labels(selector))
            .await
            .map_err(|e| kube_error("list pods", e))?;
        Ok(pods.items)
    }

    /// Deletes a Job; one already gone is fine. Background: the Job goes at once and the garbage
    /// collector removes its pods, which Kubernetes then stops with their grace period.
    async fn delete(&self, namespace: &str, name: &str) -> Result<(), BackendError> {
        let api = Api::<Job>::namespaced(self.client.clone(), namespace);
        match api.delete(name, &DeleteParams::background()).await {
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
            result => result.map(drop).map_err(|e| kube_error("delete job", e)),
        }
    }

    fn observe_job(&self, job: &Job, pods: &[Pod]) -> TaskObservation {
        job_observation(job, pods, (self.clock)(), self.config.unschedulable_timeout)
    }
}

/// A Job's task label, its namespace and name.
fn job_identity(job: &Job) -> Option<(&str, &str, &str)> {
    let task = job.metadata.labels.as_ref()?.get(TASK_LABEL)?;
    Some((
        task,
        job.metadata.namespace.as_deref()?,
        job.metadata.name.as_deref()?,
    ))
}

/// Every Job and pod of appgen's.
fn appgen_selector() -> String {
    format!("{}={},{TASK_LABEL}", MANAGED_BY.0, MANAGED_BY.1)
}

/// Whether the Job has ended, so that its pods hold nothing any more.
fn is_finished(job: &Job) -> bool {
    let conditions = job.status.as_ref().and_then(|s| s.conditions.as_deref());
    conditions
        .unwrap_or_default()
        .iter()
        .any(|c| ["Complete", "Failed"].contains(&c.type_.as_str()) && c.status == "True")
}

fn pod_task(pod: &Pod) -> Option<(&str, &str)> {
    Some((
        pod.metadata.namespace.as_deref()?,
        pod.metadata.labels.as_ref()?.get(TASK_LABEL)?,
    ))
}

#[async_trait::async_trait]
impl Backend for KubernetesBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError> {
        let api = Api::<Job>::namespaced(self.client.clone(), &task.namespace);
        match api
            .create(&PostParams::default(), &task_job(task, &self.config))
            .await
        {
            // The Job of this key exists: an earlier launch got there first.
            Err(kube::Error::Api(status)) if status.is_already_exists() || status.code == 409 => Ok(()),
            result => result.map(drop).map_err(|e| kube_error("create job", e)),
        }
    }

    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError> {
        let Some(job) = self.find(key, "list jobs").await? else {
            return Ok(TaskObservation::missing());
        };
        let Some((task, namespace, name)) = job_identity(&job) else {
            return Ok(TaskObservation::missing());
        };
        let pods = self
            .pods(Some(namespace), &format!("{TASK_LABEL}={task}"))
            .await?;
        let observed = self.observe_job(&job, &pods);
        // A pod that cannot start would wait on until the deadline, its requests counted against
        // the namespace's quota; its attempt is over, so the Job goes now.
        if matches!(observed.state, TaskState::FailedToStart { .. }) && !is_finished(&job) {
            self.delete(namespace, name).await?;
        }
        Ok(observed)
    }

    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError> {
        let Some(job) = self.find(key, "list jobs").await? else {
            return Ok(());
        };
        match job_identity(&job) {
            Some((_, namespace, name)) => self.delete(namespace, name).await,
            None => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<TaskListing>, BackendError> {
        let selector = appgen_selector();
        let jobs = Api::<Job>::all(self.client.clone())
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| kube_error("list jobs", e))?;
        let mut pods: BTreeMap<(String, String), Vec<Pod>> = BTreeMap::new();
        for pod in self.pods(None, &selector).await? {
            if let Some((namespace, task)) = pod_task(&pod) {
                let at = (namespace.to_owned(), task.to_owned());
                pods.entry(at).or_default().push(pod);
            }
        }
        Ok(jobs
            .items
            .iter()
            .filter_map(|job| {
                let (task, namespace, _) = job_identity(job)?;
                let annotations = job.metadata.annotations.as_ref()?;
                let key = TaskKey::parse(annotations.get(KEY_ANNOTATION)?)?;
                let its_pods = pods
                    .get(&(namespace.to_owned(), task.to_owned()))
                    .map_or(&[][..], Vec::as_slice);
                Some(TaskListing {
                    key,
                    namespace: namespace.to_owned(),
                    name: annotations.get(GENERATION_ANNOTATION)?.clone(),
                    observation: self.observe_job(job, its_pods),
                })
            })
            .collect())
    }

    /// Watches appgen's pods everywhere: a pod that fails to pull, finishes or is evicted names
    /// its task at once. The watch resumes after errors, with backoff, for as long as it is read.
    fn changes(&self) -> Option<BoxStream<'static, TaskKey>> {
        let pods = Api::<Pod>::all(self.client.clone());
        let config = watcher::Config::default().labels(&appgen_selector());
        let keys = watcher(pods, config)
            .default_backoff()
            .touched_objects()
            .filter_map(|pod| async move {
                match pod {
                    Ok(pod) => pod
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| TaskKey::parse(a.get(KEY_ANNOTATION)?)),
                    Err(e) => {
                        tracing::debug!(error = %e, "the watch on generator pods failed; resuming");
                        None
                    }
                }
            });
        Some(keys.boxed())
    }
}

/// Client errors (a bad request, no permission, an invalid Job) need someone to change something;
/// the rest may pass.
fn kube_error(operation: &'static str, error: kube::Error) -> BackendError {
    match &error {
        kube::Error::Api(status)
            if (400..500).contains(&status.code) && ![408, 429].contains(&status.code) =>
        {
            BackendError::rejected(BACKEND, operation, error.to_string())
        }
        _ => BackendError::unavailable(BACKEND, operation, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::conformance::{self, Behaviour};
    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    const UID: &str = "6a073aa1-1d72-412b-b548-f612ce2fe497";
    const NOW: &str = "2025-06-01T12:10:00Z";

    fn key() -> TaskKey {
        TaskKey::new(UID, 2)
    }

    fn task() -> TaskSpec {
        TaskSpec {
            key: key(),
            namespace: "team-a".to_owned(),
            name: "todo".to_owned(),
            uid: UID.to_owned(),
            attempt: 2,
            input_uri: "s3://appgen/generations/team-a/todo/input.json".to_owned(),
            labels: crate::reconcile::task_labels("team-a", "todo", UID, ("appgen.dev/attempt", 2)),
            deadline: Some(Duration::from_secs(1800)),
        }
    }

    fn now() -> jiff::Timestamp {
        NOW.parse().unwrap()
    }

    fn backend(client: kube::Client) -> KubernetesBackend {
        let config = KubernetesConfig::new("ghcr.io/appgen-dev/generator:0.1.0".to_owned());
        KubernetesBackend::new(client, config, Arc::new(now))
    }

    fn mock() -> (KubernetesBackend, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        (backend(kube::Client::new(service, "default")), handle)
    }

    /// A `metav1.Status` failure as the API server sends it.
    fn status(code: u16, reason: &str, message: &str) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code,
        })
    }

    fn list(kind: &str, items: Vec<Value>) -> Value {
        let api_version = if kind == "JobList" { "batch/v1" } else { "v1" };
        // A resourceVersion, from which a watcher goes on to watch.
        json!({ "apiVersion": api_version, "kind": kind, "metadata": { "resourceVersion": "1" }, "items": items })
    }

    fn percent_decoded(s: &str) -> String {
        let mut out = Vec::new();
        let mut bytes = s.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'%' => {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    out.push(u8::from_str_radix(&hex, 16).unwrap());
                }
                b'+' => out.push(b' '),
                _ => out.push(b),
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// The request's method, path, decoded label selector and JSON body.
    struct Seen {
        method: String,
        path: String,
        query: String,
        body: Value,
    }

    /// Takes the next request off `handle` and answers it with `code` and `body`.
    async fn answer(handle: &mut Handle, code: u16, body: Value) -> Seen {
        let (request, send) = handle.next_request().await.expect("the backend sent a request");
        let method = request.method().to_string();
        let path = request.uri().path().to_owned();
        let query = percent_decoded(request.uri().query().unwrap_or_default());
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body_in = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        let response = Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap();
        send.send_response(response);
        Seen {
            method,
            path,
            query,
            body: body_in,
        }
    }

    /// The Job as the API server returns it after create, with `status` filled in.
    fn job_object(status: Value) -> Value {
        let mut job =
            serde_json::to_value(task_job(&task(), &KubernetesConfig::new("generator".to_owned()))).unwrap();
        job["metadata"]["uid"] = json!("0b6e3d43-5d1c-4f3e-9a52-7d8f3f0c1b11");
        job["metadata"]["creationTimestamp"] = json!("2025-06-01T12:00:00Z");
        job["status"] = status;
        job
    }

    /// A pod of the Job, its `status` from the case.
    fn pod(status: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": format!("{}-x7k2p", key()),
                "namespace": "team-a",
                "creationTimestamp": "2025-06-01T12:00:01Z",
                "labels": { TASK_LABEL: key().as_str(), "batch.kubernetes.io/job-name": key().as_str() },
            },
            "spec": { "containers": [{ "name": CONTAINER, "image": "generator" }] },
            "status": status,
        })
    }

    #[test]
    fn a_key_made_of_a_kubernetes_uid_is_its_own_job_name() {
        assert_eq!(job_name(&key()), key().as_str());
    }

    #[test]
    fn other_keys_become_distinct_dns_labels() {
        let keys = ["My_Gen-1", "my-gen-1", "--a--1", &format!("{}-1", "u".repeat(80))];
        let names: Vec<_> = keys
            .iter()
            .map(|k| job_name(&TaskKey::parse(k).unwrap()))
            .collect();
        for name in &names {
            assert!(name.len() <= 63, "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(!name.starts_with('-') && !name.ends_with('-'), "{name}");
        }
        assert_eq!(names[1], "my-gen-1", "a key that is a label stays itself");
        assert_ne!(
            names[0], names[1],
            "keys that differ only in case get different Jobs"
        );
        assert_eq!(job_name(&TaskKey::parse("My_Gen-1").unwrap()), names[0], "stable");
    }

    #[test]
    fn the_job_runs_the_generator_once_in_a_restricted_pod() {
        let mut config = KubernetesConfig::new("ghcr.io/appgen-dev/generator:0.1.0".to_owned());
        config.service_account = Some("appgen-generator".to_owned());
        config.run_as_user = Some(10001);
        config.runtime_class = Some("gvisor".to_owned());
        config.node_selector = BTreeMap::from([("appgen.dev/pool".to_owned(), "generators".to_owned())]);
        config.image_pull_secrets = vec!["ghcr".to_owned()];
        config.env = vec![("APPGEN_AGENT".to_owned(), "scaffold".to_owned())];
        config.secret_env = vec![SecretEnv {
            name: "ANTHROPIC_API_KEY".to_owned(),
            secret: "anthropic".to_owned(),
            key: "api-key".to_owned(),
        }];
        let job = serde_json::to_value(task_job(&task(), &config)).unwrap();
        let labels = json!({
            "app.kubernetes.io/managed-by": "appgen",
            "appgen.dev/namespace": "team-a",
            "appgen.dev/generation": "todo",
            "appgen.dev/uid": UID,
            "appgen.dev/attempt": "2",
            "appgen.dev/task": key().as_str(),
        });
        let annotations =
            json!({ "appgen.dev/task-key": key().as_str(), "appgen.dev/generation-name": "todo" });
        let restricted = json!({ "type": "RuntimeDefault" });
        assert_eq!(
            job,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {
                    "name": key().as_str(),
                    "namespace": "team-a",
                    "labels": labels,
                    "annotations": annotations,
                    "ownerReferences": [{
                        "apiVersion": "appgen.dev/v1alpha1", "kind": "Generation",
                        "name": "todo", "uid": UID, "controller": true,
                    }],
                },
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 1800,
                    "ttlSecondsAfterFinished": 3600,
                    "template": {
                        "metadata": { "labels": labels, "annotations": annotations },
                        "spec": {
                            "restartPolicy": "Never",
                            "serviceAccountName": "appgen-generator",
                            "automountServiceAccountToken": false,
                            "nodeSelector": { "appgen.dev/pool": "generators" },
                            "runtimeClassName": "gvisor",
                            "imagePullSecrets": [{ "name": "ghcr" }],
                            "securityContext": {
                                "runAsNonRoot": true, "runAsUser": 10001, "fsGroup": 10001, "seccompProfile": restricted,
                            },
                            "containers": [{
                                "name": "generator",
                                "image": "ghcr.io/appgen-dev/generator:0.1.0",
                                "command": ["appgen", "generate", "--input", "s3://appgen/generations/team-a/todo/input.json"],
                                "workingDir": "/workspace",
                                "env": [
                                    { "name": "APPGEN_TASK_KEY", "value": key().as_str() },
                                    { "name": "HOME", "value": "/workspace" },
                                    { "name": "APPGEN_AGENT", "value": "scaffold" },
                                    { "name": "ANTHROPIC_API_KEY", "valueFrom": { "secretKeyRef": { "name": "anthropic", "key": "api-key" } } },
                                ],
                                "volumeMounts": [
                                    { "name": "workspace", "mountPath": "/workspace" },
                                    { "name": "tmp", "mountPath": "/tmp" },
                                ],
                                "securityContext": {
                                    "runAsNonRoot": true,
                                    "allowPrivilegeEscalation": false,
                                    "readOnlyRootFilesystem": true,
                                    "capabilities": { "drop": ["ALL"] },
                                    "seccompProfile": restricted,
                                },
                            }],
                            "volumes": [
                                { "name": "workspace", "emptyDir": {} },
                                { "name": "tmp", "emptyDir": {} },
                            ],
                        },
                    },
                },
            })
        );
    }

    #[test]
    fn without_owner_references_or_a_deadline_the_job_names_neither() {
        let mut config = KubernetesConfig::new("generator".to_owned());
        config.owner_references = false;
        let task = TaskSpec {
            deadline: None,
            ..task()
        };
        let job = task_job(&task, &config);
        assert_eq!(job.metadata.owner_references, None);
        assert_eq!(job.spec.unwrap().active_deadline_seconds, None);
    }

    /// One case per shape the Kubernetes documentation and API reference show for a Job's
    /// conditions and its pod's status.
    #[test]
    fn jobs_and_pods_map_to_what_became_of_the_task() {
        let started = json!({ "active": 1, "ready": 0, "startTime": "2025-06-01T12:00:00Z" });
        let failed = json!({
            "failed": 1, "startTime": "2025-06-01T12:00:00Z",
            "conditions": [
                { "type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
                  "message": "Job has reached the specified backoff limit",
                  "lastProbeTime": "2025-06-01T12:04:00Z", "lastTransitionTime": "2025-06-01T12:04:00Z" },
                { "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                  "message": "Job has reached the specified backoff limit",
                  "lastProbeTime": "2025-06-01T12:04:01Z", "lastTransitionTime": "2025-06-01T12:04:01Z" },
            ],
        });
        let waiting = |reason: &str, message: &str| {
            pod(json!({
                "phase": "Pending",
                "conditions": [{ "type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-06-01T12:00:01Z" }],
                "containerStatuses": [{
                    "name": "generator", "image": "ghcr.io/appgen-dev/generator:missing", "imageID": "",
                    "ready": false, "restartCount": 0, "started": false,
                    "state": { "waiting": { "reason": reason, "message": message } },
                }],
            }))
        };
        let unschedulable = |since: &str| {
            pod(json!({
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    "lastProbeTime": null, "lastTransitionTime": since,
                }],
            }))
        };
        let cases: Vec<(&str, Value, Vec<Value>, TaskState)> = vec![
            (
                "Complete",
                json!({
                    "succeeded": 1, "startTime": "2025-06-01T12:00:00Z", "completionTime": "2025-06-01T12:05:00Z",
                    "conditions": [
                        { "type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": "2025-06-01T12:05:00Z" },
                        { "type": "Complete", "status": "True", "lastTransitionTime": "2025-06-01T12:05:00Z" },
                    ],
                }),
                vec![],
                TaskState::exited(0),
            ),
            (
                "Failed with the container's exit code",
                failed.clone(),
                vec![pod(json!({
                    "phase": "Failed",
                    "containerStatuses": [{
                        "name": "generator", "image": "generator", "imageID": "", "ready": false, "restartCount": 0,
                        "state": { "terminated": {
                            "exitCode": 3, "reason": "Error",
                            "startedAt": "2025-06-01T12:00:05Z", "finishedAt": "2025-06-01T12:04:00Z",
                        } },
                    }],
                }))],
                TaskState::exited(3),
            ),
            (
                "ImagePullBackOff",
                started.clone(),
                vec![waiting(
                    "ImagePullBackOff",
                    "Back-off pulling image \"ghcr.io/appgen-dev/generator:missing\"",
                )],
                TaskState::failed_to_start(format!(
                    "pod {key}-x7k2p ImagePullBackOff: Back-off pulling image \"ghcr.io/appgen-dev/generator:missing\"",
                    key = key()
                )),
            ),
            (
                "ErrImagePull",
                started.clone(),
                vec![waiting(
                    "ErrImagePull",
                    "rpc error: code = NotFound desc = failed to pull and unpack image",
                )],
                TaskState::failed_to_start(format!(
                    "pod {key}-x7k2p ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image",
                    key = key()
                )),
            ),
            (
                "Unschedulable within the timeout",
                started.clone(),
                vec![unschedulable("2025-06-01T12:06:00Z")],
                TaskState::Pending,
            ),
            (
                "Unschedulable past the timeout",
                started.clone(),
                vec![unschedulable("2025-06-01T12:00:01Z")],
                TaskState::failed_to_start(format!(
                    "pod {key}-x7k2p found no node for 599s: 0/3 nodes are available: 3 Insufficient cpu.",
                    key = key()
                )),
            ),
            (
                "Evicted",
                failed.clone(),
                vec![pod(json!({
                    "phase": "Failed", "reason": "Evicted",
                    "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi. ",
                }))],
                TaskState::failed_to_start(format!(
                    "pod {key}-x7k2p Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi. ",
                    key = key()
                )),
            ),
            (
                "node lost (DisruptionTarget) though the container was killed",
                failed.clone(),
                vec![pod(json!({
                    "phase": "Failed",
                    "conditions": [{
                        "type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                        "message": "Taint manager: deleting due to NoExecute taint",
                        "lastTransitionTime": "2025-06-01T12:03:00Z",
                    }],
                    "containerStatuses": [{
                        "name": "generator", "image": "generator", "imageID": "", "ready": false, "restartCount": 0,
                        "state": { "terminated": { "exitCode": 137, "reason": "Error" } },
                    }],
                }))],
                TaskState::failed_to_start(format!(
                    "pod {key}-x7k2p DeletionByTaintManager: Taint manager: deleting due to NoExecute taint",
                    key = key()
                )),
            ),
            (
                "running",
                json!({ "active": 1, "ready": 1, "startTime": "2025-06-01T12:00:00Z" }),
                vec![pod(json!({
                    "phase": "Running",
                    "containerStatuses": [{
                        "name": "generator", "image": "generator", "imageID": "", "ready": true, "restartCount": 0,
                        "state": { "running": { "startedAt": "2025-06-01T12:00:05Z" } },
                    }],
                }))],
                TaskState::Running,
            ),
            ("created, no pod yet", json!({}), vec![], TaskState::Pending),
            (
                "DeadlineExceeded, the pod already gone",
                json!({
                    "failed": 1, "startTime": "2025-06-01T12:00:00Z",
                    "conditions": [{
                        "type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                        "message": "Job was active longer than specified deadline",
                        "lastTransitionTime": "2025-06-01T12:30:00Z",
                    }],
                }),
                vec![],
                TaskState::Exited {
                    code: None,
                    signal: Some(9),
                },
            ),
        ];
        for (case, status, pods, expected) in cases {
            let job: Job = serde_json::from_value(job_object(status)).unwrap();
            let pods: Vec<Pod> = pods
                .into_iter()
                .map(|p| serde_json::from_value(p).unwrap())
                .collect();
            let observed = job_observation(&job, &pods, now(), Duration::from_secs(300));
            assert_eq!(observed.state, expected, "{case}");
            assert_eq!(
                observed.started_at,
                job.status
                    .as_ref()
                    .and_then(|s| s.start_time.as_ref())
                    .map(|t| t.0),
                "{case}"
            );
        }
    }

    #[test]
    fn a_finished_task_reports_when_it_finished() {
        let job: Job = serde_json::from_value(job_object(json!({
            "succeeded": 1, "startTime": "2025-06-01T12:00:00Z", "completionTime": "2025-06-01T12:05:00Z",
            "conditions": [{ "type": "Complete", "status": "True", "lastTransitionTime": "2025-06-01T12:05:00Z" }],
        })))
        .unwrap();
        let observed = job_observation(&job, &[], now(), Duration::from_secs(300));
        assert_eq!(
            observed.finished_at,
            Some("2025-06-01T12:05:00Z".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn launch_creates_the_job_in_the_generations_namespace() {
        let (backend, mut handle) = mock();
        let server = tokio::spawn(async move { answer(&mut handle, 201, job_object(json!({}))).await });
        backend.launch(&task()).await.unwrap();
        let seen = server.await.unwrap();
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            ("POST", "/apis/batch/v1/namespaces/team-a/jobs")
        );
        assert_eq!(
            seen.body,
            serde_json::to_value(task_job(&task(), &backend.config)).unwrap()
        );
    }

    #[tokio::test]
    async fn delivery_tokens_from_secrets_reach_the_job_as_secret_key_refs_and_never_as_values() {
        let (mut backend, mut handle) = mock();
        let tokens = [
            ("APPGEN_GIT_TOKEN", "git"),
            ("APPGEN_GITHUB_TOKEN", "github"),
            ("APPGEN_FLY_API_TOKEN", "fly"),
        ];
        backend.config.secret_env = tokens
            .iter()
            .map(|(name, secret)| SecretEnv {
                name: (*name).to_owned(),
                secret: format!("appgen-{secret}"),
                key: "token".to_owned(),
            })
            .collect();
        backend.config.env = vec![("APPGEN_GITHUB_OWNER".to_owned(), "acme".to_owned())];
        let server = tokio::spawn(async move { answer(&mut handle, 201, job_object(json!({}))).await });
        backend.launch(&task()).await.unwrap();
        let seen = server.await.unwrap();
        let env = seen.body["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .clone();
        for (name, secret) in tokens {
            let found: Vec<&Value> = env.iter().filter(|e| e["name"] == name).collect();
            assert_eq!(
                found,
                [
                    &json!({ "name": name, "valueFrom": { "secretKeyRef": { "name": format!("appgen-{secret}"), "key": "token" } } })
                ],
                "{name}: one entry, a reference and no value"
            );
        }
        assert!(env.contains(&json!({ "name": "APPGEN_GITHUB_OWNER", "value": "acme" })));
    }

    #[tokio::test]
    async fn a_second_launch_with_the_same_key_meets_409_and_starts_nothing() {
        let (backend, mut handle) = mock();
        let conflict = status(
            409,
            "AlreadyExists",
            &format!("jobs.batch \"{}\" already exists", key()),
        );
        let server = tokio::spawn(async move { answer(&mut handle, 409, conflict).await });
        backend.launch(&task()).await.unwrap();
        assert_eq!(server.await.unwrap().method, "POST");
    }

    #[tokio::test]
    async fn a_job_the_api_server_refuses_is_rejected_not_retried() {
        let (backend, mut handle) = mock();
        let invalid = status(
            422,
            "Invalid",
            "Job.batch \"x\" is invalid: metadata.labels: Invalid value",
        );
        let server = tokio::spawn(async move { answer(&mut handle, 422, invalid).await });
        let error = backend.launch(&task()).await.unwrap_err();
        assert!(matches!(error, BackendError::Rejected { .. }), "{error}");
        server.await.unwrap();
        let (backend, mut handle) = mock();
        let busy = status(503, "ServiceUnavailable", "etcdserver: leader changed");
        let server = tokio::spawn(async move { answer(&mut handle, 503, busy).await });
        let error = backend.launch(&task()).await.unwrap_err();
        assert!(matches!(error, BackendError::Unavailable { .. }), "{error}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn stop_deletes_the_job_in_the_background_and_404_means_already_gone() {
        let (backend, mut handle) = mock();
        let server = tokio::spawn(async move {
            let listed = answer(&mut handle, 200, list("JobList", vec![job_object(json!({}))])).await;
            let gone = status(404, "NotFound", &format!("jobs.batch \"{}\" not found", key()));
            let deleted = answer(&mut handle, 404, gone).await;
            (listed, deleted)
        });
        backend.stop(&key()).await.unwrap();
        let (listed, deleted) = server.await.unwrap();
        assert_eq!(
            (listed.method.as_str(), listed.path.as_str()),
            ("GET", "/apis/batch/v1/jobs")
        );
        assert!(
            listed
                .query
                .contains(&format!("labelSelector=appgen.dev/task={}", key())),
            "{}",
            listed.query
        );
        assert_eq!(
            (deleted.method.as_str(), deleted.path.as_str()),
            (
                "DELETE",
                format!("/apis/batch/v1/namespaces/team-a/jobs/{}", key()).as_str()
            )
        );
        assert_eq!(
            deleted.body["propagationPolicy"], "Background",
            "{}",
            deleted.body
        );
    }

    #[tokio::test]
    async fn observe_reports_an_image_pull_failure_and_deletes_the_job_that_cannot_start() {
        let (backend, mut handle) = mock();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                200,
                list("JobList", vec![job_object(json!({ "active": 1 }))]),
            )
            .await;
            let pending = pod(json!({
                "phase": "Pending",
                "containerStatuses": [{
                    "name": "generator", "image": "generator", "imageID": "", "ready": false, "restartCount": 0,
                    "state": { "waiting": { "reason": "ErrImagePull", "message": "not found" } },
                }],
            }));
            let pods = answer(&mut handle, 200, list("PodList", vec![pending])).await;
            let deleted = answer(&mut handle, 200, job_object(json!({ "active": 1 }))).await;
            (pods, deleted)
        });
        let observed = backend.observe(&key()).await.unwrap();
        let (pods, deleted) = server.await.unwrap();
        assert_eq!(
            (deleted.method.as_str(), deleted.path.as_str()),
            (
                "DELETE",
                format!("/apis/batch/v1/namespaces/team-a/jobs/{}", key()).as_str()
            )
        );
        assert_eq!(deleted.body["propagationPolicy"], "Background");
        assert_eq!(pods.path, "/api/v1/namespaces/team-a/pods");
        assert!(
            pods.query
                .contains(&format!("labelSelector=appgen.dev/task={}", key())),
            "{}",
            pods.query
        );
        assert_eq!(
            observed.state,
            TaskState::failed_to_start(format!("pod {}-x7k2p ErrImagePull: not found", key()))
        );
    }

    #[tokio::test]
    async fn an_evicted_pod_of_a_failed_job_is_left_to_the_ttl() {
        let (backend, mut handle) = mock();
        let failed = json!({
            "failed": 1,
            "conditions": [{ "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded" }],
        });
        let server = tokio::spawn(async move {
            answer(&mut handle, 200, list("JobList", vec![job_object(failed)])).await;
            let evicted = pod(json!({ "phase": "Failed", "reason": "Evicted", "message": "low on memory" }));
            answer(&mut handle, 200, list("PodList", vec![evicted])).await;
            // Dropping the handle here fails any further request, such as a needless delete.
        });
        let observed = backend.observe(&key()).await.unwrap();
        server.await.unwrap();
        assert_eq!(
            observed.state,
            TaskState::failed_to_start(format!("pod {}-x7k2p Evicted: low on memory", key()))
        );
    }

    #[tokio::test]
    async fn a_watch_on_pods_delivers_the_key_of_a_pod_that_failed() {
        let (backend, mut handle) = mock();
        let server = tokio::spawn(async move {
            let empty = json!({ "apiVersion": "v1", "kind": "PodList", "metadata": { "resourceVersion": "100" }, "items": [] });
            let listed = answer(&mut handle, 200, empty).await;
            let mut failed = pod(json!({
                "phase": "Pending",
                "containerStatuses": [{
                    "name": "generator", "image": "generator", "imageID": "", "ready": false, "restartCount": 0,
                    "state": { "waiting": { "reason": "ErrImagePull", "message": "not found" } },
                }],
            }));
            failed["metadata"]["annotations"] = json!({ KEY_ANNOTATION: key().as_str() });
            failed["metadata"]["resourceVersion"] = json!("101");
            let event = json!({ "type": "MODIFIED", "object": failed });
            let (request, send) = handle.next_request().await.unwrap();
            let watched = percent_decoded(request.uri().query().unwrap_or_default());
            let mut line = serde_json::to_vec(&event).unwrap();
            line.push(b'\n');
            send.send_response(Response::new(Body::from(line)));
            (listed, watched, handle)
        });
        let mut changes = backend.changes().unwrap();
        let changed = changes.next().await;
        let (listed, watched, _handle) = server.await.unwrap();
        assert_eq!(changed, Some(key()));
        assert_eq!(listed.path, "/api/v1/pods");
        for query in [&listed.query, &watched] {
            assert!(
                query.contains("labelSelector=app.kubernetes.io/managed-by=appgen,appgen.dev/task"),
                "{query}"
            );
        }
        assert!(watched.contains("watch=true"), "{watched}");
    }

    #[tokio::test]
    async fn list_finds_appgens_jobs_in_every_namespace_with_their_pods() {
        let (backend, mut handle) = mock();
        let server = tokio::spawn(async move {
            let jobs = answer(
                &mut handle,
                200,
                list("JobList", vec![job_object(json!({ "active": 1 }))]),
            )
            .await;
            let terminated = pod(json!({
                "phase": "Failed",
                "containerStatuses": [{
                    "name": "generator", "image": "generator", "imageID": "", "ready": false, "restartCount": 0,
                    "state": { "terminated": { "exitCode": 1, "reason": "Error" } },
                }],
            }));
            let pods = answer(&mut handle, 200, list("PodList", vec![terminated])).await;
            (jobs, pods)
        });
        let listed = backend.list().await.unwrap();
        let (jobs, pods) = server.await.unwrap();
        for seen in [&jobs, &pods] {
            assert!(
                seen.query
                    .contains("labelSelector=app.kubernetes.io/managed-by=appgen,appgen.dev/task"),
                "{}",
                seen.query
            );
        }
        assert_eq!(
            (jobs.path.as_str(), pods.path.as_str()),
            ("/apis/batch/v1/jobs", "/api/v1/pods")
        );
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                &listed[0].key,
                listed[0].namespace.as_str(),
                listed[0].name.as_str()
            ),
            (&key(), "team-a", "todo")
        );
        assert_eq!(listed[0].observation.state, TaskState::exited(1));
    }

    /// The image a conformance backend cannot pull.
    const MISSING_IMAGE: &str = "registry.invalid/appgen/generator:missing";

    /// Enough of a cluster for the conformance suite, on the far end of mock services: Jobs with
    /// 409 on a taken name and 404 on a missing one, label selectors, and one pod per Job acting
    /// out what its `--input` URI says (`runs`, `exit-<code>`), or failing to pull the missing
    /// image. A running Job past its `activeDeadlineSeconds` fails with `DeadlineExceeded` and
    /// loses its pod, as the Job controller does it. Each request is also noted in the second
    /// field in RBAC terms (see [`rbac_line`]).
    #[derive(Clone, Default)]
    struct Cluster(
        Arc<Mutex<BTreeMap<(String, String), CreatedJob>>>,
        Arc<Mutex<BTreeSet<String>>>,
    );

    /// A Job as it was created, and when.
    type CreatedJob = (Value, std::time::Instant);

    impl Cluster {
        /// A backend of its own on this cluster, as a restarted controller builds one.
        fn backend(&self, image: &str) -> KubernetesBackend {
            let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
            tokio::spawn(self.clone().serve(handle));
            let config = KubernetesConfig::new(image.to_owned());
            KubernetesBackend::new(
                kube::Client::new(service, "default"),
                config,
                Arc::new(jiff::Timestamp::now),
            )
        }

        async fn serve(self, mut handle: Handle) {
            while let Some((request, send)) = handle.next_request().await {
                let method = request.method().clone();
                let uri_path = request.uri().path().to_owned();
                let path: Vec<&str> = uri_path.split('/').collect();
                let query = percent_decoded(request.uri().query().unwrap_or_default());
                self.1
                    .lock()
                    .unwrap()
                    .insert(rbac_line(method.as_str(), &uri_path, &query));
                let body = request.into_body().collect_bytes().await.unwrap();
                let selector = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("labelSelector="))
                    .unwrap_or_default()
                    .to_owned();
                let (code, reply) = self.answer(method.as_str(), &path, &selector, &body);
                let response = Response::builder()
                    .status(code)
                    .body(Body::from(serde_json::to_vec(&reply).unwrap()))
                    .unwrap();
                send.send_response(response);
            }
        }

        fn answer(&self, method: &str, path: &[&str], selector: &str, body: &[u8]) -> (u16, Value) {
            let matches = |object: &Value| {
                selector.split(',').filter(|t| !t.is_empty()).all(|term| {
                    let labels = &object["metadata"]["labels"];
                    match term.split_once('=') {
                        Some((k, v)) => labels[k] == v,
                        None => !labels[term].is_null(),
                    }
                })
            };
            let mut jobs = self.0.lock().unwrap();
            match (method, path) {
                ("POST", [_, "apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
                    let job: Value = serde_json::from_slice(body).unwrap();
                    let at = (
                        ns.to_string(),
                        job["metadata"]["name"].as_str().unwrap().to_owned(),
                    );
                    match jobs.entry(at) {
                        std::collections::btree_map::Entry::Occupied(_) => {
                            (409, status(409, "AlreadyExists", "already exists"))
                        }
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            (201, slot.insert((job, std::time::Instant::now())).0.clone())
                        }
                    }
                }
                ("GET", [_, "apis", "batch", "v1", "jobs"]) => {
                    let items = jobs.values().map(|(job, at)| acted_out(job, *at).0);
                    (200, list("JobList", items.filter(|j| matches(j)).collect()))
                }
                ("GET", [_, "api", "v1", "namespaces", _, "pods"] | [_, "api", "v1", "pods"]) => {
                    let items = jobs.values().filter_map(|(job, at)| acted_out(job, *at).1);
                    (200, list("PodList", items.filter(|p| matches(p)).collect()))
                }
                ("DELETE", [_, "apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
                    match jobs.remove(&(ns.to_string(), name.to_string())) {
                        Some((job, _)) => (200, job),
                        None => (404, status(404, "NotFound", "not found")),
                    }
                }
                other => panic!("unexpected request {other:?}"),
            }
        }
    }

    /// The Job with the status its behaviour has reached `since` its creation, and its pod.
    fn acted_out(job: &Value, since: std::time::Instant) -> (Value, Option<Value>) {
        let container = &job["spec"]["template"]["spec"]["containers"][0];
        let input = container["command"]
            .as_array()
            .and_then(|c| c.last())
            .and_then(Value::as_str);
        let exit_code = input
            .and_then(|uri| uri.split_once("exit-"))
            .and_then(|(_, rest)| rest.split('/').next()?.parse::<i32>().ok());
        let deadline = job["spec"]["activeDeadlineSeconds"]
            .as_u64()
            .map(Duration::from_secs);
        let condition = |type_: &str, reason: &str| {
            json!({ "conditions": [{ "type": type_, "status": "True", "reason": reason,
                "lastTransitionTime": "2025-06-01T12:00:05Z" }] })
        };
        let container_state = |state: Value| {
            json!({ "containerStatuses": [{ "name": CONTAINER, "image": container["image"],
                "imageID": "", "ready": state.get("running").is_some(), "restartCount": 0, "state": state }] })
        };
        let (job_status, pod_status) = if container["image"] == MISSING_IMAGE {
            let waiting = json!({ "waiting": { "reason": "ErrImagePull", "message": "not found" } });
            (json!({}), Some(container_state(waiting)))
        } else if let Some(code) = exit_code {
            let terminated = json!({ "terminated": { "exitCode": code, "reason": "Completed" } });
            let status = if code == 0 {
                condition("Complete", "Completed")
            } else {
                condition("Failed", "BackoffLimitExceeded")
            };
            (status, Some(container_state(terminated)))
        } else if deadline.is_some_and(|d| since.elapsed() >= d) {
            (condition("Failed", "DeadlineExceeded"), None)
        } else {
            let running = json!({ "running": { "startedAt": "2025-06-01T12:00:02Z" } });
            (json!({ "ready": 1 }), Some(container_state(running)))
        };
        let mut job = job.clone();
        job["status"] = job_status;
        let pod = pod_status.map(|status| {
            let task = &job["metadata"]["labels"][TASK_LABEL];
            json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": format!("{}-x7k2p", task.as_str().unwrap_or_default()),
                    "namespace": job["metadata"]["namespace"],
                    "creationTimestamp": "2025-06-01T12:00:01Z",
                    "labels": { TASK_LABEL: task, MANAGED_BY.0: MANAGED_BY.1 },
                },
                "spec": { "containers": [{ "name": CONTAINER, "image": container["image"] }] },
                "status": status,
            })
        });
        (job, pod)
    }

    /// Every backend instance is a new mock client on one shared [`Cluster`].
    struct Harness(Cluster);

    #[async_trait::async_trait]
    impl conformance::Harness for Harness {
        fn traits(&self) -> conformance::Traits {
            conformance::Traits {
                survives_restart: true,
                enforces_deadline: true,
            }
        }

        async fn backend(&self) -> Box<dyn Backend> {
            Box::new(self.0.backend("ghcr.io/appgen-dev/generator:0.1.0"))
        }

        async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec {
            conformance_task(key, behaviour.input_uri("s3://appgen/conformance"), deadline)
        }

        async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec) {
            let task = conformance_task(key, Behaviour::Runs.input_uri("s3://appgen/conformance"), None);
            (Box::new(self.0.backend(MISSING_IMAGE)), task)
        }
    }

    fn conformance_task(key: TaskKey, input_uri: String, deadline: Option<Duration>) -> TaskSpec {
        let labels =
            crate::reconcile::task_labels("team-a", "todo", key.uid(), ("appgen.dev/attempt", key.attempt()));
        TaskSpec {
            namespace: "team-a".to_owned(),
            name: "todo".to_owned(),
            uid: key.uid().to_owned(),
            attempt: key.attempt(),
            key,
            input_uri,
            labels,
            deadline,
        }
    }

    #[tokio::test]
    async fn the_kubernetes_backend_keeps_the_backend_promises() {
        conformance::check(&Harness(Cluster::default())).await;
    }

    /// The requests the backend sends, as the chart's RBAC test (cli/tests/chart.rs) reads them.
    const REQUESTS_FILE: &str = "src/backend/kubernetes-requests.txt";

    /// A request as an RBAC rule names it: `verb group resource[/subresource] scope`, where scope
    /// is `cluster` for a request across namespaces and `namespaced` for one in a namespace.
    fn rbac_line(method: &str, path: &str, query: &str) -> String {
        let a = appgen_local_apiserver::request_attributes(method, path, query)
            .unwrap_or_else(|| panic!("{method} {path} is no resource request"));
        let group = if a.group.is_empty() { "core" } else { &a.group };
        let resource = match &a.subresource {
            Some(sub) => format!("{}/{sub}", a.resource),
            None => a.resource.clone(),
        };
        let scope = if a.namespace.is_some() {
            "namespaced"
        } else {
            "cluster"
        };
        format!("{} {group} {resource} {scope}", a.verb)
    }

    #[tokio::test]
    async fn the_requests_the_backend_sends_are_the_ones_listed_for_the_chart() {
        let cluster = Cluster::default();
        conformance::check(&Harness(cluster.clone())).await;
        let backend = cluster.backend("ghcr.io/appgen-dev/generator:0.1.0");
        let mut changes = backend.changes().expect("the backend watches pods");
        // Long enough for the watcher's first list and its watch.
        let _ = tokio::time::timeout(Duration::from_millis(500), changes.next()).await;
        drop(changes);
        drop(backend);

        let seen = cluster.1.lock().unwrap().clone();
        let listed = std::fs::read_to_string(REQUESTS_FILE).unwrap();
        let listed: BTreeSet<String> = listed
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        let missing: Vec<_> = seen.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&seen).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "controller/{REQUESTS_FILE} is out of date: the backend sent {missing:?}, which it does not \
             list, and never sent {extra:?}, which it lists. The chart's RBAC is checked against this \
             file: update it, then charts/appgen/templates/rbac.yaml. It should read:\n{}",
            seen.iter().map(String::as_str).collect::<Vec<_>>().join("\n")
        );
    }
}
