//! The executor: observes a Generation's task and artifacts, asks the planner what to do, and does
//! exactly that — writes status through the status subresource (only when it changed), launches or
//! stops the task, records Events. It decides nothing itself.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appgen_artifacts::{ArtifactError, ArtifactStore, GrantRequest, Layout};
use appgen_crd::task::{Redelivery, TaskInput, TaskResult};
use appgen_crd::{Generation, GenerationStatus, Phase};
use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{self, Event as Finalizer, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use tracing::Instrument;

use crate::backend::{Backend, BackendError, TaskKey, TaskObservation, TaskSpec, TaskState};
use crate::metrics::Metrics;
use crate::plan::{self, Action, Observed, Policy, Slot, holds_slot, task_key, wants_slot};

/// Removed only once the Generation's task is stopped, so deleting a Generation never leaves a task behind.
pub const FINALIZER: &str = "appgen.dev/task-cleanup";

/// The time source. Injected so tests and benchmarks can control it.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// How the controller runs.
#[derive(Clone)]
pub struct ControllerConfig {
    pub policy: Policy,
    /// The most tasks holding a slot at once.
    pub max_running: usize,
    /// How often tasks whose Generation is gone are looked for and stopped.
    pub sweep_interval: Duration,
    /// Hand each task a grant for its own Generation's files instead of the store's location, so
    /// tasks need no store credentials of their own (S3 stores only).
    pub task_grants: bool,
    pub clock: Clock,
}

impl std::fmt::Debug for ControllerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControllerConfig")
            .field("policy", &self.policy)
            .field("max_running", &self.max_running)
            .field("sweep_interval", &self.sweep_interval)
            .field("task_grants", &self.task_grants)
            .finish_non_exhaustive()
    }
}

/// What can make a reconcile fail; it is retried after a pause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("backend: {0}")]
    Backend(#[from] BackendError),
    #[error("artifact store: {0}")]
    Artifacts(#[from] ArtifactError),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("the Generation has no {0}")]
    Incomplete(&'static str),
    #[error("could not {action} {}: {source}", path.display())]
    Files {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no free loopback port for a preview: {0}")]
    Port(#[source] std::io::Error),
}

impl Error {
    /// A write lost a race with another writer (409): the next pass, on fresher data, settles it.
    fn is_conflict(&self) -> bool {
        let kube_conflict = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 409);
        // kube-runtime guards its finalizer patches with a JSON-patch `test`; on a stale copy the
        // test fails, which the API server answers with 422.
        let stale_test = |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 409 || s.code == 422);
        match self {
            Error::Kube(e) => kube_conflict(e),
            Error::Finalizer(e) => match e.as_ref() {
                finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => stale_test(e),
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.is_conflict(),
                _ => false,
            },
            _ => false,
        }
    }

    /// A short label for metrics and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kubernetes",
            Error::Backend(_) => "backend",
            Error::Artifacts(_) => "artifacts",
            Error::Finalizer(_) => "finalizer",
            Error::Incomplete(_) => "invalid-object",
            Error::Files { .. } | Error::Port(_) => "preview-host",
        }
    }
}

struct Context {
    client: Client,
    backend: Arc<dyn Backend>,
    store: Arc<dyn ArtifactStore>,
    recorder: Recorder,
    config: ControllerConfig,
    generations: Store<Generation>,
    /// Slots granted whose recorded intent the cache may not show yet.
    reserved: Mutex<HashSet<String>>,
    wake: mpsc::UnboundedSender<ObjectRef<Generation>>,
    metrics: Arc<Metrics>,
}

impl Context {
    fn now(&self) -> jiff::Timestamp {
        (self.config.clock)()
    }

    /// Grants a slot to `generation` when fewer than `max_running` are held and it is among the
    /// first in the fair queue; otherwise tells its place in the queue.
    fn slot_for(&self, generation: &Generation) -> Slot {
        let uid = generation.uid().unwrap_or_default();
        let mut reserved = self
            .reserved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if holds_slot(generation.status.as_ref()) {
            reserved.remove(&uid);
            return Slot::Granted;
        }
        let now = self.now();
        if !wants_slot(generation, now, &self.config.policy) {
            reserved.remove(&uid);
            return Slot::Queued { position: 0 };
        }
        if reserved.contains(&uid) {
            return Slot::Granted;
        }
        let all = self.generations.state();
        reserved.retain(|r| {
            all.iter()
                .any(|g| g.uid().as_deref() == Some(r) && !holds_slot(g.status.as_ref()))
        });
        let held = all.iter().filter(|g| holds_slot(g.status.as_ref())).count() + reserved.len();
        let queue = fair_queue(&all, |g| {
            g.uid().is_some_and(|id| !reserved.contains(&id)) && wants_slot(g, now, &self.config.policy)
        });
        // The cache may not show this Generation as waiting yet: then it queues at the end.
        let ahead = queue
            .iter()
            .position(|g| g.uid().as_deref() == Some(&uid))
            .unwrap_or(queue.len());
        self.metrics
            .queue_depth
            .set(i64::try_from(queue.len()).unwrap_or(i64::MAX));
        self.metrics
            .running_tasks
            .set(i64::try_from(held).unwrap_or(i64::MAX));
        let free = self.config.max_running.saturating_sub(held);
        if ahead < free {
            reserved.insert(uid);
            Slot::Granted
        } else {
            Slot::Queued {
                position: ahead - free + 1,
            }
        }
    }

    /// Wakes as many Generations at the head of the queue as there are free slots, when one may
    /// have freed: waking more would only have them find the queue full again.
    fn wake_queue(&self) {
        let all = self.generations.state();
        let now = self.now();
        let held = all.iter().filter(|g| holds_slot(g.status.as_ref())).count();
        let free = self.config.max_running.saturating_sub(held).max(1);
        for g in fair_queue(&all, |g| wants_slot(g, now, &self.config.policy))
            .iter()
            .take(free)
        {
            let _ = self.wake.unbounded_send(ObjectRef::from_obj(g.as_ref()));
        }
    }
}

fn created(g: &Generation) -> (Option<jiff::Timestamp>, String, String) {
    (
        g.metadata.creation_timestamp.as_ref().map(|t| t.0),
        g.namespace().unwrap_or_default(),
        g.name_any(),
    )
}

/// The Generations that want a slot, in the order they get one: oldest first, but taking turns
/// across namespaces, so one busy namespace cannot starve the others.
fn fair_queue(all: &[Arc<Generation>], wanting: impl Fn(&Generation) -> bool) -> Vec<Arc<Generation>> {
    let mut by_namespace: BTreeMap<String, Vec<Arc<Generation>>> = BTreeMap::new();
    for g in all.iter().filter(|g| wanting(g)) {
        by_namespace
            .entry(g.namespace().unwrap_or_default())
            .or_default()
            .push(g.clone());
    }
    let mut lanes: Vec<Vec<Arc<Generation>>> = by_namespace.into_values().collect();
    // sort_by, not sort_by_key: the keys borrow from the elements.
    #[allow(clippy::unnecessary_sort_by)]
    for lane in &mut lanes {
        lane.sort_by(|a, b| created(b).cmp(&created(a)));
    }
    let mut queue = Vec::new();
    loop {
        let mut round: Vec<Arc<Generation>> = lanes.iter_mut().filter_map(Vec::pop).collect();
        if round.is_empty() {
            return queue;
        }
        #[allow(clippy::unnecessary_sort_by)]
        round.sort_by(|a, b| created(a).cmp(&created(b)));
        queue.extend(round);
    }
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    client: Client,
    backend: Arc<dyn Backend>,
    store: Arc<dyn ArtifactStore>,
    config: ControllerConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<Generation> = Api::all(client.clone());
    let (wake, woken) = mpsc::unbounded();
    let controller = Controller::new(api, watcher::Config::default()).reconcile_on(woken);
    let reporter = Reporter {
        controller: "appgen.dev/controller".into(),
        instance: hostname(),
    };
    let context = Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client,
        backend,
        store,
        config,
        generations: controller.store(),
        reserved: Mutex::default(),
        wake,
        metrics,
    });
    tokio::spawn(sweep(context.clone()));
    if let Some(changes) = context.backend.changes() {
        tokio::spawn(wake_on_changes(changes, context.clone()));
    }
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile ended with an error");
            }
        })
        .await;
}

/// Reconciles the Generation of each task the backend says changed, so a pod's failure shows in
/// status without waiting for the next poll.
async fn wake_on_changes(mut changes: futures::stream::BoxStream<'static, TaskKey>, context: Arc<Context>) {
    while let Some(key) = changes.next().await {
        let all = context.generations.state();
        if let Some(owner) = all.iter().find(|g| g.uid().as_deref() == Some(key.uid())) {
            let _ = context.wake.unbounded_send(ObjectRef::from_obj(owner.as_ref()));
        }
    }
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
}

fn error_policy(_generation: Arc<Generation>, error: &Error, context: Arc<Context>) -> Requeue {
    if error.is_conflict() {
        tracing::debug!(error = %error, "lost a write race; planning again");
        return Requeue::requeue(Duration::from_millis(100));
    }
    context.metrics.failed(error.category());
    tracing::warn!(error = %error, category = error.category(), "reconcile failed; retrying in 5s");
    Requeue::requeue(Duration::from_secs(5))
}

async fn reconcile(generation: Arc<Generation>, context: Arc<Context>) -> Result<Requeue, Error> {
    let span = tracing::info_span!(
        "reconcile",
        namespace = %generation.namespace().unwrap_or_default(),
        name = %generation.name_any()
    );
    async move {
        context.metrics.reconciled();
        let namespace = generation.namespace().ok_or(Error::Incomplete("namespace"))?;
        let api: Api<Generation> = Api::namespaced(context.client.clone(), &namespace);
        finalizer(&api, FINALIZER, generation, |event| async {
            match event {
                Finalizer::Apply(generation) => apply(&generation, &api, &context).await,
                Finalizer::Cleanup(generation) => cleanup(&generation, &context).await,
            }
        })
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    }
    // Instrumented, not entered: a span guard held across awaits breaks the subscriber.
    .instrument(span)
    .await
}

fn layout(generation: &Generation) -> Result<Layout, Error> {
    let uid = generation.uid().ok_or(Error::Incomplete("uid"))?;
    Ok(Layout::new(
        &generation.namespace().unwrap_or_default(),
        &generation.name_any(),
        &uid,
    )?)
}

/// The attempt whose task the controller must watch: the active one, or a finished one whose
/// task was stopped on purpose and may still be going away.
fn watched_attempt(status: Option<&GenerationStatus>) -> Option<u32> {
    let last = status?.attempts.last()?;
    let stopping = matches!(
        last.reason.as_deref(),
        Some(plan::CANCELLED | plan::DEADLINE_EXCEEDED)
    );
    (last.finish_time.is_none() || stopping).then(|| u32::try_from(last.number).unwrap_or(0))
}

async fn apply(generation: &Generation, api: &Api<Generation>, context: &Context) -> Result<Requeue, Error> {
    // Slots are counted over every Generation: until the first full list is in, a restarted
    // controller could hand out slots that running tasks still hold.
    if context.generations.wait_until_ready().await.is_err() {
        return Ok(Requeue::requeue(Duration::from_secs(1)));
    }
    match pass(generation, api, context).await? {
        // Right after a launch the backend can already say how the task is doing: look now, so
        // status shows it started (or ended) without waiting for the next pass.
        Pass::Launched(after) => match pass(generation, api, context).await? {
            Pass::Done(requeue) => Ok(requeue),
            Pass::Launched(_) => Ok(after),
        },
        Pass::Done(requeue) => Ok(requeue),
    }
}

/// What one observe–plan–act pass ended with.
enum Pass {
    Done(Requeue),
    /// It launched a task (status unchanged); the Requeue is what to do if no second look follows.
    Launched(Requeue),
}

async fn pass(generation: &Generation, api: &Api<Generation>, context: &Context) -> Result<Pass, Error> {
    let layout = layout(generation)?;
    let attempt = watched_attempt(generation.status.as_ref());
    let task = match attempt {
        Some(n) => Some(context.backend.observe(&task_key(generation, n)).await?),
        None => None,
    };
    let ended = task
        .as_ref()
        .is_some_and(|t| matches!(t.state, TaskState::Exited { .. }));
    let result = match (attempt, ended) {
        (Some(n), true) => read_result(context, &layout, n).await?,
        _ => None,
    };
    let step = match (attempt, &task) {
        (Some(n), Some(t)) if t.is_active() => latest_step(context, &layout, n).await?,
        _ => None,
    };
    let slot = context.slot_for(generation);
    // A follow-up's parent matters only before its first attempt.
    let parent_refused = match (&generation.spec.parent, generation.status.as_ref()) {
        (Some(_), status) if status.is_none_or(|s| s.attempts.is_empty()) => {
            plan::parent_refusal(generation, parent(api, generation).await?.as_ref())
        }
        _ => None,
    };
    let observed = Observed {
        task: task.as_ref(),
        result: result.as_ref(),
        step: step.as_deref(),
        slot,
        parent_refused: parent_refused.as_deref(),
    };
    let plan = plan::plan(generation, &observed, context.now(), &context.config.policy);

    let before = generation.status.clone().unwrap_or_default();
    let wrote = plan.status != before;
    if wrote {
        match write_status(api, generation, &plan.status).await {
            Ok(()) => {}
            // Planned from a copy older than the stored object: plan again from the newer one,
            // which the watch is already bringing.
            Err(Error::Kube(kube::Error::Api(status))) if status.code == 409 => {
                tracing::debug!("status changed meanwhile; planning again");
                return Ok(Pass::Done(Requeue::requeue(Duration::from_millis(100))));
            }
            Err(e) => return Err(e),
        }
        record_events(context, generation, &before, &plan.status, task.as_ref()).await;
    }
    let launched = matches!(plan.action, Action::Launch { .. });
    match &plan.action {
        Action::None => {}
        Action::Launch { attempt, redelivery } => {
            launch(context, api, generation, &layout, *attempt, redelivery.clone()).await?;
        }
        Action::Stop { key } => context.backend.stop(key).await?,
        Action::Delete => {
            api.delete(&generation.name_any(), &DeleteParams::default())
                .await?;
        }
    }
    if holds_slot(Some(&before)) && !holds_slot(Some(&plan.status)) {
        context.wake_queue();
    }
    let requeue = match plan.requeue {
        // "Again at once" after a status write: the watch delivers the written object and that
        // triggers the next pass, which then sees its own write instead of a stale copy.
        Some(after) if after.is_zero() && wrote => Requeue::await_change(),
        Some(after) if after.is_zero() => Requeue::requeue(Duration::from_millis(1)),
        Some(after) => Requeue::requeue(after),
        None => Requeue::await_change(),
    };
    Ok(if launched && !wrote {
        Pass::Launched(requeue)
    } else {
        Pass::Done(requeue)
    })
}

/// Replaces status with a resourceVersion precondition: a plan made from a stale copy fails with
/// 409 and is made again from fresh data, never written over newer status.
pub(crate) async fn write_status(
    api: &Api<Generation>,
    generation: &Generation,
    status: &GenerationStatus,
) -> Result<(), Error> {
    let mut updated = generation.clone();
    updated.status = Some(status.clone());
    updated.metadata.managed_fields = None;
    api.replace_status(&generation.name_any(), &PostParams::default(), &updated)
        .await?;
    Ok(())
}

async fn read_result(context: &Context, layout: &Layout, attempt: u32) -> Result<Option<TaskResult>, Error> {
    let Some(bytes) = context.store.get(&layout.result(attempt)).await? else {
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(result) => Ok(Some(result)),
        Err(e) => {
            tracing::warn!(error = %e, attempt, "result.json is not valid; treating the attempt as without result");
            Ok(None)
        }
    }
}

async fn latest_step(context: &Context, layout: &Layout, attempt: u32) -> Result<Option<String>, Error> {
    let events = context
        .store
        .read_events(&layout.events_prefix(attempt), 0)
        .await?;
    Ok(events.iter().rev().find_map(|e| e.step().map(str::to_owned)))
}

/// The Generation that `spec.parent` names, in the same namespace, if it exists.
async fn parent(api: &Api<Generation>, generation: &Generation) -> Result<Option<Generation>, Error> {
    match &generation.spec.parent {
        Some(name) => Ok(api.get_opt(name).await?),
        None => Ok(None),
    }
}

async fn launch(
    context: &Context,
    api: &Api<Generation>,
    generation: &Generation,
    layout: &Layout,
    attempt: u32,
    redelivery: Option<Redelivery>,
) -> Result<(), Error> {
    let uid = generation.uid().ok_or(Error::Incomplete("uid"))?;
    let parent = parent(api, generation).await?;
    let namespace = generation.namespace().unwrap_or_default();
    let name = generation.name_any();
    let input = TaskInput {
        namespace: namespace.clone(),
        name: name.clone(),
        uid: uid.clone(),
        attempt,
        observed_generation: generation
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(1),
        spec: generation.spec.clone(),
        artifacts: context.store.uri(layout.prefix()),
        parent_commit: plan::parent_commit(generation, parent.as_ref()),
        parent_uid: parent.and_then(|p| p.metadata.uid),
        redelivery,
    };
    let bytes = serde_json::to_vec_pretty(&input).map_err(|e| Error::Kube(kube::Error::SerdeError(e)))?;
    context.store.put(&layout.input(), Bytes::from(bytes)).await?;
    let deadline = context.config.policy.timeout(&generation.spec);
    let input_uri = if context.config.task_grants {
        let parent = match (&input.spec.parent, &input.parent_uid) {
            (Some(parent), Some(uid)) => Some(Layout::new(&namespace, parent, uid)?),
            _ => None,
        };
        grant_url(context, layout, parent.as_ref(), attempt, deadline).await?
    } else {
        context.store.uri(&layout.input())
    };
    let labels = task_labels(&namespace, &name, &uid, ("appgen.dev/attempt", attempt));
    let task = TaskSpec {
        key: TaskKey::new(&uid, attempt),
        namespace,
        name,
        uid,
        attempt,
        input_uri,
        labels,
        deadline: Some(deadline),
    };
    context.backend.launch(&task).await?;
    if attempt == 1
        && let Some(created) = &generation.metadata.creation_timestamp
    {
        let waited = context.now().duration_since(created.0).as_secs_f64();
        context.metrics.launched_after(waited.max(0.0));
    }
    Ok(())
}

/// The URL of a grant that lets the attempt's task read its input and its parent's session, and
/// write under its own Generation's prefix, and nothing else; stored beside the attempt.
async fn grant_url(
    context: &Context,
    layout: &Layout,
    parent: Option<&Layout>,
    attempt: u32,
    deadline: Duration,
) -> Result<String, Error> {
    let request = grant_request(layout, parent, deadline);
    let expires_in = request.expires_in;
    let no_grants = || ArtifactError::NoGrants {
        store: context.store.uri(""),
    };
    let grant = context.store.grant(&request).await?.ok_or_else(no_grants)?;
    let bytes = serde_json::to_vec(&grant).map_err(|e| Error::Kube(kube::Error::SerdeError(e)))?;
    let key = layout.grant(attempt);
    context.store.put(&key, Bytes::from(bytes)).await?;
    Ok(context
        .store
        .download_url(&key, expires_in)
        .await?
        .ok_or_else(no_grants)?)
}

/// What an attempt's task may do: read its input and its parent's session, read its own archive
/// (a redelivery delivers it; a deploy hands its URL on), and write under its own prefix.
fn grant_request(layout: &Layout, parent: Option<&Layout>, deadline: Duration) -> GrantRequest {
    GrantRequest {
        input: layout.input(),
        read_prefixes: std::iter::once(layout.input())
            .chain(parent.map(Layout::session))
            .collect(),
        read_keys: vec![layout.archive()],
        write_prefix: layout.prefix().to_owned(),
        // Room to report after the deadline; S3 signs for at most 7 days.
        expires_in: (deadline + Duration::from_secs(15 * 60)).min(Duration::from_secs(7 * 24 * 3600)),
    }
}

/// The labels that mark a task as appgen's and name its Generation, and which of its tasks it
/// is (`number`: the attempt of a generator task, the run of a preview).
pub(crate) fn task_labels(
    namespace: &str,
    name: &str,
    uid: &str,
    number: (&str, u32),
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned()),
        ("appgen.dev/namespace".to_owned(), namespace.to_owned()),
        ("appgen.dev/generation".to_owned(), name.to_owned()),
        ("appgen.dev/uid".to_owned(), uid.to_owned()),
        (number.0.to_owned(), number.1.to_string()),
    ])
}

/// Deletion: stop whatever task the Generation has, then let the finalizer go.
async fn cleanup(generation: &Generation, context: &Context) -> Result<Requeue, Error> {
    if let Some(last) = generation.status.as_ref().and_then(|s| s.attempts.last()) {
        let key = task_key(generation, u32::try_from(last.number).unwrap_or(0));
        context.backend.stop(&key).await?;
    }
    if let Some(uid) = generation.uid() {
        context
            .reserved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&uid);
    }
    context.wake_queue();
    Ok(Requeue::await_change())
}

/// The Events a status change deserves, for `kubectl describe`.
fn events_for(before: &GenerationStatus, after: &GenerationStatus) -> Vec<Event> {
    let event = |type_, reason: &str, note: String| Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    let mut events = Vec::new();
    let launched = |s: &GenerationStatus| s.attempts.iter().filter(|a| a.start_time.is_some()).count();
    if launched(after) > launched(before)
        && let Some(attempt) = after.attempts.last()
    {
        let task = attempt.task_id.clone().unwrap_or_default();
        events.push(event(
            EventType::Normal,
            "Launched",
            format!("attempt {} started as task {task}", attempt.number),
        ));
    }
    let message = after.message.clone().unwrap_or_default();
    if after.phase != before.phase {
        match after.phase {
            Some(Phase::Delivered) => events.push(event(EventType::Normal, "Delivered", message.clone())),
            Some(Phase::Cancelled) => events.push(event(EventType::Normal, "Cancelled", message.clone())),
            Some(Phase::Failed) => {
                let reason = after
                    .attempts
                    .last()
                    .and_then(|a| a.reason.clone())
                    .unwrap_or_default();
                let kind = if reason == plan::DEADLINE_EXCEEDED {
                    "DeadlineExceeded"
                } else {
                    "Failed"
                };
                events.push(event(EventType::Warning, kind, message.clone()));
            }
            _ => {}
        }
    }
    let finished = |s: &GenerationStatus| s.attempts.iter().filter(|a| a.finish_time.is_some()).count();
    if finished(after) > finished(before) && after.phase == Some(Phase::Pending) {
        events.push(event(EventType::Warning, "Retrying", message));
    }
    events
}

async fn record_events(
    context: &Context,
    generation: &Generation,
    before: &GenerationStatus,
    after: &GenerationStatus,
    task: Option<&TaskObservation>,
) {
    if let (Some(task), Some(last)) = (task, after.attempts.last())
        && last.finish_time.is_some()
        && before.attempts.last().is_some_and(|a| a.finish_time.is_none())
        && let (Some(started), Some(finished)) = (task.started_at, task.finished_at)
    {
        context
            .metrics
            .task_ran(finished.duration_since(started).as_secs_f64().max(0.0));
    }
    let reference = generation.object_ref(&());
    for event in events_for(before, after) {
        if let Err(e) = context.recorder.publish(&event, &reference).await {
            tracing::warn!(error = %e, reason = %event.reason, "recording an event failed");
        }
    }
}

/// Stops tasks whose Generation is gone, or that belong to an attempt the Generation no longer runs.
async fn sweep(context: Arc<Context>) {
    let interval = context.config.sweep_interval;
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        // Asked afresh each tick: a wait begun before the first list completes was seen never to wake.
        match tokio::time::timeout(interval, context.generations.wait_until_ready()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => continue,
        }
        let tasks = match context.backend.list().await {
            Ok(tasks) => tasks,
            Err(e) => {
                tracing::warn!(error = %e, "listing tasks for the orphan sweep failed");
                continue;
            }
        };
        let all = context.generations.state();
        tracing::debug!(
            tasks = tasks.len(),
            generations = all.len(),
            "sweeping for orphaned tasks"
        );
        for task in tasks.into_iter().filter(|t| t.observation.is_active()) {
            let owner = all.iter().find(|g| g.uid().as_deref() == Some(task.key.uid()));
            let current = owner.and_then(|g| watched_attempt(g.status.as_ref()).map(|n| task_key(g, n)));
            if current.as_ref() != Some(&task.key) {
                tracing::info!(task = %task.key, namespace = %task.namespace, name = %task.name, "stopping an orphaned task");
                if let Err(e) = context.backend.stop(&task.key).await {
                    tracing::warn!(error = %e, task = %task.key, "stopping an orphaned task failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn a_grant_reads_the_input_and_the_parents_session_and_writes_only_the_generations_prefix() {
        let own = Layout::new("team-a", "todo-2", "u2").unwrap();
        let parent = Layout::new("team-a", "todo", "u1").unwrap();
        let hour = Duration::from_secs(3600);
        let cases = [
            (None, hour, vec![own.input()], hour + Duration::from_secs(900)),
            (
                Some(&parent),
                hour,
                vec![own.input(), parent.session()],
                hour + Duration::from_secs(900),
            ),
            // S3 signs for a week at most.
            (None, hour * 24 * 30, vec![own.input()], hour * 24 * 7),
        ];
        for (parent, deadline, read_prefixes, expires_in) in cases {
            let request = grant_request(&own, parent, deadline);
            assert_eq!(request.read_prefixes, read_prefixes);
            assert_eq!(request.expires_in, expires_in);
            assert_eq!(request.input, own.input());
            assert_eq!(request.read_keys, [own.archive()]);
            assert_eq!(request.write_prefix, "generations/team-a/todo-2/u2/");
        }
    }

    #[test]
    fn a_first_launch_and_a_delivery_are_recorded_as_events() {
        let before = generation()
            .with_status(|s| s.attempts = vec![intent(1)])
            .status
            .unwrap_or_default();
        let mut after = before.clone();
        after.attempts = vec![started(1, 5)];
        after.phase = Some(Phase::Running);
        let reasons: Vec<_> = events_for(&before, &after)
            .into_iter()
            .map(|e| e.reason)
            .collect();
        assert_eq!(reasons, ["Launched"]);
        let mut delivered = after.clone();
        delivered.phase = Some(Phase::Delivered);
        delivered.attempts = vec![ended(1, 100, plan::DELIVERED, Some(0))];
        let reasons: Vec<_> = events_for(&after, &delivered)
            .into_iter()
            .map(|e| e.reason)
            .collect();
        assert_eq!(reasons, ["Delivered"]);
    }

    #[test]
    fn a_failed_attempt_with_retries_left_is_recorded_as_retrying() {
        let before = generation()
            .with_status(|s| running_since(s, vec![started(1, 5)], 5))
            .status
            .unwrap_or_default();
        let mut after = before.clone();
        after.attempts = vec![ended(1, 100, "NoResult", Some(0))];
        after.phase = Some(Phase::Pending);
        let events = events_for(&before, &after);
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].reason.as_str(), events[0].type_),
            ("Retrying", EventType::Warning)
        );
    }

    #[test]
    fn an_unchanged_status_records_no_event() {
        let status = generation()
            .with_status(|s| running_since(s, vec![started(1, 5)], 5))
            .status
            .unwrap_or_default();
        assert!(events_for(&status, &status).is_empty());
    }

    fn named(namespace: &str, name: &str, created: i64) -> Arc<Generation> {
        let mut g = generation();
        g.metadata.namespace = Some(namespace.into());
        g.metadata.name = Some(name.into());
        g.metadata.uid = Some(format!("{namespace}-{name}"));
        g.metadata.creation_timestamp = Some(time(created));
        Arc::new(g)
    }

    #[test]
    fn the_queue_takes_turns_across_namespaces_oldest_first() {
        let all = vec![
            named("busy", "b1", 1),
            named("busy", "b2", 2),
            named("busy", "b3", 3),
            named("quiet", "q1", 10),
            named("other", "o1", 5),
        ];
        let order: Vec<_> = fair_queue(&all, |_| true).iter().map(|g| g.name_any()).collect();
        assert_eq!(order, ["b1", "o1", "q1", "b2", "b3"]);
    }
}
