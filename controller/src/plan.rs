//! The controller's decisions, as a pure function: given a Generation, what the backend and the
//! artifact store show of its current attempt, and the time, what its status should be, what to
//! do to the world, and when to look again. The reconciler only carries a plan out.
//!
//! Invariants the executor relies on:
//! - a `Launch` is planned only when the status it was planned from already records that
//!   attempt (the launch intent is durable before the backend is asked), so a restarted
//!   controller finds the intent and adopts the task instead of launching twice;
//! - a plan for a Generation whose status needs no change returns that status unchanged (equal),
//!   so a reconcile that learns nothing new writes nothing.

use std::time::Duration;

use appgen_crd::task::{Redelivery, TaskResult};
use appgen_crd::{
    Attempt, ConditionStatus, ConditionType, Generation, GenerationSpec, GenerationStatus, Outputs, Phase,
    set_condition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::backend::{TaskKey, TaskObservation, TaskState};

/// Why an attempt ended without a result that counts against the Generation's retries.
pub const TASK_FAILED_TO_START: &str = "TaskFailedToStart";
/// The backend lost a launched task without an exit status (a node or machine went away).
pub const TASK_LOST: &str = "TaskLost";
pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
pub const CANCELLED: &str = "Cancelled";
pub const DELIVERED: &str = "Delivered";
/// The Delivered condition's reason while a redelivery (`spec.redeliver`) runs.
pub const REDELIVERING: &str = "Redelivering";

/// Settings of the decisions, from the controller's configuration.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Recorded in `status.attempts[].backend`.
    pub backend: &'static str,
    /// The deadline of a Generation that sets no `timeoutSeconds`.
    pub default_timeout: Duration,
    /// Retries when `spec.retries` is unset.
    pub default_retries: u32,
    /// Infrastructure failures tolerated in a row before the Generation fails.
    pub max_infrastructure_failures: u32,
    /// The first wait before a retry; it doubles per spent retry up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often a running task is looked at, at most (and `status.step` refreshed). Young tasks
    /// are looked at sooner, from `first_look` after launch, so short tasks show Running and
    /// free their slot without waiting a whole poll.
    pub poll: Duration,
    pub first_look: Duration,
    /// How often a queued Generation looks at its place in the queue.
    pub queue_poll: Duration,
    /// Where people download a delivered archive, with `{namespace}` and `{name}` to fill in. When
    /// set it replaces the store location the task reports (a `file://` path means nothing to a
    /// browser); when unset that location is kept.
    pub archive_url: Option<String>,
}

impl Policy {
    /// How long a Generation may take: its `timeoutSeconds`, else `default_timeout`.
    pub fn timeout(&self, spec: &GenerationSpec) -> Duration {
        spec.timeout_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.default_timeout, Duration::from_secs)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            backend: "process",
            default_timeout: Duration::from_secs(3600),
            default_retries: 1,
            max_infrastructure_failures: 5,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            first_look: Duration::from_millis(250),
            queue_poll: Duration::from_secs(5),
            archive_url: None,
        }
    }
}

/// Whether this Generation may start a task now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Granted,
    /// Over the concurrency cap; `position` 1 is next.
    Queued {
        position: usize,
    },
}

/// What the controller observed for the current attempt.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    /// The backend's view of the current attempt's task; None when no attempt is active.
    pub task: Option<&'a TaskObservation>,
    /// The current attempt's `result.json`, when the task wrote one.
    pub result: Option<&'a TaskResult>,
    /// The newest progress step in the current attempt's event log.
    pub step: Option<&'a str>,
    pub slot: Slot,
    /// Why `spec.parent` cannot be continued (missing, not Delivered, another app), when it
    /// cannot; looked at only before an attempt starts.
    pub parent_refused: Option<&'a str>,
}

/// What to do to the world besides writing status.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    None,
    /// Write `input.json` for this attempt and launch its task; with `redelivery`, a task that
    /// only delivers the stored archive again.
    Launch {
        attempt: u32,
        redelivery: Option<Redelivery>,
    },
    /// Stop the task; repeated until the backend reports it gone.
    Stop {
        key: TaskKey,
    },
    /// `ttlSecondsAfterFinished` has passed.
    Delete,
}

/// The next step for one Generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The status the Generation should have. Equal to the current one when nothing changed.
    pub status: GenerationStatus,
    pub action: Action,
    /// When to reconcile again, if the plan expects time alone to change something.
    pub requeue: Option<Duration>,
}

fn is_infrastructure(reason: Option<&str>) -> bool {
    matches!(reason, Some(TASK_FAILED_TO_START | TASK_LOST))
}

fn is_terminal(phase: Option<Phase>) -> bool {
    matches!(phase, Some(Phase::Delivered | Phase::Failed | Phase::Cancelled))
}

/// Whether a status holds a launch slot: an attempt recorded and not yet finished.
pub fn holds_slot(status: Option<&GenerationStatus>) -> bool {
    status
        .is_some_and(|s| !is_terminal(s.phase) && s.attempts.last().is_some_and(|a| a.finish_time.is_none()))
}

/// The `spec.redeliver` a finished Generation has not acted on yet, if any.
fn redelivery_requested(generation: &Generation) -> Option<i64> {
    let status = generation.status.as_ref()?;
    let wanted = generation.spec.redeliver?;
    (is_terminal(status.phase) && wanted > status.observed_redeliver.unwrap_or(0)).then_some(wanted)
}

/// The stored app a finished Generation can deliver again: an archive was made and recorded.
fn stored_app(status: &GenerationStatus) -> Option<Redelivery> {
    let outputs = status.outputs.as_ref()?;
    outputs.archive_url.as_ref()?;
    Some(Redelivery {
        sha256: outputs.sha256.clone()?,
        commit: outputs.commit.clone(),
    })
}

/// Whether a Generation waits for a slot to start its next attempt now (not terminal, no active
/// attempt, not waiting out a backoff), or to deliver its stored app again.
pub fn wants_slot(generation: &Generation, now: jiff::Timestamp, policy: &Policy) -> bool {
    let status = generation.status.as_ref();
    if redelivery_requested(generation).is_some() {
        return status.and_then(stored_app).is_some();
    }
    if status.is_some_and(|s| is_terminal(s.phase))
        || holds_slot(status)
        || generation.spec.cancel == Some(true)
    {
        return false;
    }
    match status.and_then(|s| s.attempts.last()) {
        None => true,
        Some(last) => retry_at(generation, last, policy).is_none_or(|at| at <= now),
    }
}

/// The key of the task of an attempt of this Generation.
pub fn task_key(generation: &Generation, attempt: u32) -> TaskKey {
    TaskKey::new(generation.metadata.uid.as_deref().unwrap_or_default(), attempt)
}

/// The reason of a Generation whose `spec.parent` cannot be continued.
pub const INVALID_PARENT: &str = "InvalidParent";

/// Why a Generation cannot continue `parent`, or None when it can: the parent must exist (the
/// caller looks it up in the same namespace), be Delivered, and build the same app.
pub fn parent_refusal(generation: &Generation, parent: Option<&Generation>) -> Option<String> {
    let name = generation.spec.parent.as_deref()?;
    let Some(parent) = parent else {
        return Some(format!(
            "spec.parent {name:?} does not exist in this namespace; name a Delivered generation of the same app"
        ));
    };
    let delivered = parent.status.as_ref().and_then(|s| s.phase) == Some(Phase::Delivered);
    if !delivered {
        return Some(format!(
            "spec.parent {name:?} is not Delivered; continue from a generation that was"
        ));
    }
    let parent_app = parent.spec.app.as_deref().or(parent.metadata.name.as_deref());
    match generation.spec.app.as_deref() {
        Some(app) if Some(app) != parent_app => Some(format!(
            "spec.parent {name:?} builds app {:?}, not {app:?}; a follow-up continues the same app",
            parent_app.unwrap_or_default()
        )),
        _ => None,
    }
}

/// The commit a follow-up's push must land on: the parent's, when the parent pushed to the same
/// repository and branch (`spec.delivery.git` alike); a follow-up sent elsewhere starts afresh there.
pub fn parent_commit(generation: &Generation, parent: Option<&Generation>) -> Option<String> {
    let git = |g: &Generation| g.spec.delivery.as_ref().and_then(|d| d.git.clone());
    let parent = parent?;
    let target = git(generation)?;
    (git(parent)? == target).then_some(())?;
    parent.status.as_ref()?.outputs.as_ref()?.commit.clone()
}

/// Decides the next step. Pure: the same inputs always give the same plan.
pub fn plan(generation: &Generation, observed: &Observed<'_>, now: jiff::Timestamp, policy: &Policy) -> Plan {
    let now = whole_seconds(now);
    let mut draft = Draft {
        generation,
        status: generation.status.clone().unwrap_or_default(),
        observed_generation: generation.metadata.generation,
        now,
        policy,
    };
    let (action, requeue) = draft.decide(observed);
    Plan {
        status: draft.status,
        action,
        requeue,
    }
}

/// Kubernetes timestamps carry whole seconds; so do ours, so a status written and read back is equal.
pub(crate) fn whole_seconds(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.as_second()).unwrap_or(t)
}

struct Draft<'a> {
    generation: &'a Generation,
    status: GenerationStatus,
    observed_generation: Option<i64>,
    now: jiff::Timestamp,
    policy: &'a Policy,
}

type Decision = (Action, Option<Duration>);

impl Draft<'_> {
    fn condition(&mut self, type_: ConditionType, status: ConditionStatus, reason: &str, message: &str) {
        set_condition(
            &mut self.status.conditions,
            type_,
            status,
            reason,
            message,
            self.observed_generation,
            self.now,
        );
    }

    fn key(&self, attempt: u32) -> TaskKey {
        task_key(self.generation, attempt)
    }

    fn decide(&mut self, observed: &Observed<'_>) -> Decision {
        if is_terminal(self.status.phase) {
            let stopping = observed.task.is_some_and(TaskObservation::is_active);
            return match redelivery_requested(self.generation) {
                Some(wanted) if !stopping => self.redeliver(wanted, observed.slot),
                _ => self.after_the_end(observed),
            };
        }
        self.accept();
        let active = self
            .status
            .attempts
            .last()
            .filter(|a| a.finish_time.is_none())
            .map(attempt_number);
        if self.generation.spec.cancel == Some(true) {
            return self.cancel(active, observed);
        }
        if let Some(deadline) = self.deadline()
            && self.now >= deadline
        {
            let timeout = self.timeout().as_secs();
            return self.fail_running(
                active,
                observed,
                DEADLINE_EXCEEDED,
                &format!("the generation did not finish within its {timeout}s timeout (spec.timeoutSeconds)"),
            );
        }
        match (active, observed.parent_refused) {
            (Some(attempt), _) => self.attempt_in_progress(attempt, observed),
            (None, Some(why)) if self.status.attempts.is_empty() => {
                self.finish(Phase::Failed, INVALID_PARENT, why);
                (Action::None, None)
            }
            (None, _) => self.between_attempts(observed.slot),
        }
    }

    fn timeout(&self) -> Duration {
        self.policy.timeout(&self.generation.spec)
    }

    /// The generation's start plus its timeout; a redelivery's clock starts with its own attempt.
    fn deadline(&self) -> Option<jiff::Timestamp> {
        let started = match self.status.attempts.last() {
            Some(last) if last.redelivery => last.start_time.as_ref()?.0,
            _ => self.status.start_time.as_ref()?.0,
        };
        let timeout = jiff::SignedDuration::try_from(self.timeout()).ok()?;
        started.checked_add(timeout).ok()
    }

    /// The spec is taken as given once; later changes (other than `cancel`) do not reach a task
    /// that already started, and the Accepted condition says so.
    fn accept(&mut self) {
        let launched_with = self.status.observed_generation;
        let generation = self.observed_generation;
        let changed_after_launch = !self.status.attempts.is_empty()
            && launched_with.is_some()
            && generation > launched_with
            && self.generation.spec.cancel != Some(true);
        if changed_after_launch {
            self.condition(
                ConditionType::Accepted,
                ConditionStatus::False,
                "SpecChangedAfterLaunch",
                &format!(
                    "the spec changed after attempt 1 started (generation {} → {}); running attempts keep the spec they \
                     started with and only `spec.cancel` takes effect: create a new Generation to build the change",
                    launched_with.unwrap_or_default(),
                    generation.unwrap_or_default()
                ),
            );
            return;
        }
        if self.status.attempts.is_empty() {
            self.status.observed_generation = generation;
            // The first delivery covers whatever `spec.redeliver` the Generation was created with.
            self.status.observed_redeliver = self.generation.spec.redeliver;
        }
        let already = self
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == ConditionType::Accepted.as_str());
        if !already || self.status.attempts.is_empty() {
            self.condition(
                ConditionType::Accepted,
                ConditionStatus::True,
                "Accepted",
                "the spec is valid",
            );
        }
        if self.status.phase.is_none() {
            self.status.phase = Some(Phase::Pending);
        }
    }

    fn finish(&mut self, phase: Phase, reason: &str, message: &str) {
        self.status.phase = Some(phase);
        self.status.message = Some(message.to_owned());
        self.status.completion_time.get_or_insert(Time(self.now));
        let delivered = if phase == Phase::Delivered {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        self.condition(ConditionType::Delivered, delivered, reason, message);
    }

    /// Ends the active attempt's record.
    fn close_attempt(&mut self, reason: &str, exit_code: Option<i32>, finished_at: Option<jiff::Timestamp>) {
        let now = self.now;
        if let Some(attempt) = self
            .status
            .attempts
            .last_mut()
            .filter(|a| a.finish_time.is_none())
        {
            attempt.finish_time = Some(Time(finished_at.map_or(now, whole_seconds)));
            attempt.reason = Some(reason.to_owned());
            attempt.exit_code = exit_code;
        }
    }

    fn stop_if_active(&self, attempt: Option<u32>, observed: &Observed<'_>) -> Decision {
        match attempt {
            Some(n) if observed.task.is_none_or(TaskObservation::is_active) => {
                (Action::Stop { key: self.key(n) }, Some(self.policy.poll))
            }
            _ => (Action::None, None),
        }
    }

    fn cancel(&mut self, active: Option<u32>, observed: &Observed<'_>) -> Decision {
        self.close_attempt(CANCELLED, None, None);
        self.finish(Phase::Cancelled, CANCELLED, "cancelled: spec.cancel is true");
        self.stop_if_active(active, observed)
    }

    fn fail_running(
        &mut self,
        active: Option<u32>,
        observed: &Observed<'_>,
        reason: &str,
        message: &str,
    ) -> Decision {
        self.close_attempt(reason, None, None);
        self.finish(Phase::Failed, reason, message);
        self.stop_if_active(active, observed)
    }

    /// `spec.redeliver` was raised on a finished Generation: record a deliver-only attempt for its
    /// stored archive, as a launch intent like any other, or say why there is nothing to deliver.
    fn redeliver(&mut self, wanted: i64, slot: Slot) -> Decision {
        let Some(stored) = stored_app(&self.status) else {
            self.status.observed_redeliver = Some(wanted);
            self.status.message = Some(format!(
                "spec.redeliver {wanted} asks to deliver again, but this generation made no archive; \
                 create a new Generation to build the app"
            ));
            return (Action::None, None);
        };
        if let Slot::Queued { .. } = slot {
            return (Action::None, Some(self.policy.queue_poll));
        }
        let number = u32::try_from(self.status.attempts.len() + 1).unwrap_or(u32::MAX);
        self.status.attempts.push(Attempt {
            number: i32::try_from(number).unwrap_or(i32::MAX),
            backend: self.policy.backend.to_owned(),
            task_id: Some(self.key(number).to_string()),
            redelivery: true,
            ..Attempt::default()
        });
        self.status.observed_redeliver = Some(wanted);
        // The delivery takes `spec.delivery` as it is now, which is why one is asked for.
        self.status.observed_generation = self.observed_generation;
        self.status.phase = Some(Phase::Pending);
        self.status.completion_time = None;
        self.status.step = Some("deliver".into());
        let message = format!(
            "delivering the stored archive (sha256 {}) again: attempt {number}, no regeneration",
            stored.sha256
        );
        self.status.message = Some(message.clone());
        self.condition(
            ConditionType::Delivered,
            ConditionStatus::Unknown,
            REDELIVERING,
            &message,
        );
        self.condition(
            ConditionType::Launched,
            ConditionStatus::Unknown,
            "Launching",
            &format!("launching attempt {number}"),
        );
        (Action::None, Some(Duration::ZERO))
    }

    /// A finished Generation: keep stopping a task that outlived the decision, then honour the TTL.
    fn after_the_end(&mut self, observed: &Observed<'_>) -> Decision {
        if let Some(task) = observed.task
            && task.is_active()
            && let Some(last) = self.status.attempts.last()
        {
            return (
                Action::Stop {
                    key: self.key(attempt_number(last)),
                },
                Some(self.policy.poll),
            );
        }
        let (Some(ttl), Some(done)) = (
            self.generation.spec.ttl_seconds_after_finished,
            &self.status.completion_time,
        ) else {
            return (Action::None, None);
        };
        let expires = done.0.as_second().saturating_add(ttl.max(0));
        let left = expires - self.now.as_second();
        if left <= 0 {
            (Action::Delete, None)
        } else {
            (Action::None, Some(Duration::from_secs(left.unsigned_abs())))
        }
    }

    fn attempt_in_progress(&mut self, attempt: u32, observed: &Observed<'_>) -> Decision {
        let missing = TaskObservation::missing();
        let task = observed.task.unwrap_or(&missing);
        let launched = self
            .status
            .attempts
            .last()
            .is_some_and(|a| a.start_time.is_some());
        match &task.state {
            TaskState::Missing if !launched => {
                let redelivery = self
                    .status
                    .attempts
                    .last()
                    .filter(|a| a.redelivery)
                    .and_then(|_| stored_app(&self.status));
                (
                    Action::Launch { attempt, redelivery },
                    Some(self.policy.first_look),
                )
            }
            TaskState::Missing => {
                self.close_attempt(TASK_LOST, None, None);
                self.after_attempt(&format!("attempt {attempt}'s task disappeared from the backend"))
            }
            TaskState::Pending | TaskState::Running => {
                self.running(attempt, task, observed.step);
                (Action::None, Some(self.next_look()))
            }
            TaskState::FailedToStart { reason } => {
                self.mark_started(task);
                self.close_attempt(TASK_FAILED_TO_START, None, task.finished_at);
                self.after_attempt(&format!("attempt {attempt} could not start: {reason}"))
            }
            TaskState::Exited { code, signal } => {
                self.mark_started(task);
                self.exited(attempt, *code, *signal, task.finished_at, observed.result)
            }
        }
    }

    /// A quarter of the running attempt's age, between `first_look` and `poll`.
    fn next_look(&self) -> Duration {
        let started = self
            .status
            .attempts
            .last()
            .and_then(|a| a.start_time.as_ref())
            .map_or(self.now, |t| t.0);
        let age = duration_until(started, self.now);
        (age / 4).clamp(self.policy.first_look, self.policy.poll)
    }

    fn mark_started(&mut self, task: &TaskObservation) {
        let at = Time(task.started_at.map_or(self.now, whole_seconds));
        if let Some(attempt) = self.status.attempts.last_mut() {
            attempt.start_time.get_or_insert(at.clone());
        }
        self.status.start_time.get_or_insert(at);
    }

    fn running(&mut self, attempt: u32, task: &TaskObservation, step: Option<&str>) {
        self.mark_started(task);
        self.status.phase = Some(Phase::Running);
        let message = format!("attempt {attempt} is running");
        self.status.message = Some(message.clone());
        self.condition(
            ConditionType::Launched,
            ConditionStatus::True,
            "Running",
            &message,
        );
        if let Some(step) = step {
            self.status.step = Some(step.to_owned());
        }
    }

    fn exited(
        &mut self,
        attempt: u32,
        code: Option<i32>,
        signal: Option<i32>,
        finished_at: Option<jiff::Timestamp>,
        result: Option<&TaskResult>,
    ) -> Decision {
        let redelivery = self.status.attempts.last().is_some_and(|a| a.redelivery);
        if let Some(result) = result {
            self.record_result(result, redelivery);
        }
        match (code, result) {
            (Some(0), Some(result)) if result.delivered => {
                self.close_attempt(DELIVERED, code, finished_at);
                self.status.outputs = self.outputs_of(result);
                self.status.step = Some("delivered".into());
                // The published outputs: the archive at its download address, not the task's
                // view of the store.
                let url = self
                    .status
                    .outputs
                    .as_ref()
                    .and_then(|o| o.url.as_deref().or(o.archive_url.as_deref()));
                let message = match url {
                    Some(url) => format!("delivered by attempt {attempt}: {url}"),
                    None => format!("delivered by attempt {attempt}"),
                };
                self.finish(Phase::Delivered, DELIVERED, &message);
                (Action::None, None)
            }
            _ => {
                let (reason, message) = failure(attempt, code, signal, result);
                self.close_attempt(&reason, code, finished_at);
                let delivery_failed = result
                    .and_then(|r| r.error.as_ref())
                    .is_some_and(|e| e.step.starts_with("deliver"));
                // The app was made and checked: trying again would regenerate it. The user fixes
                // what the reason names and raises spec.redeliver instead.
                if (delivery_failed || redelivery) && stored_app(&self.status).is_some() {
                    let message = format!(
                        "{message}; the archive is kept: once this is fixed, raise spec.redeliver \
                         (appgen retry --delivery {}) to deliver it again without regenerating",
                        self.generation.metadata.name.as_deref().unwrap_or_default()
                    );
                    self.finish(Phase::Failed, &reason, &message);
                    return (Action::None, None);
                }
                if redelivery {
                    self.finish(Phase::Failed, &reason, &message);
                    return (Action::None, None);
                }
                self.after_attempt(&message)
            }
        }
    }

    /// The outputs to publish: the task's, with the archive at the download address when there is one.
    fn outputs_of(&self, result: &TaskResult) -> Option<Outputs> {
        let mut outputs = result.outputs.clone()?;
        if let (Some(template), Some(_)) = (&self.policy.archive_url, &outputs.archive_url) {
            let meta = &self.generation.metadata;
            outputs.archive_url = Some(
                template
                    .replace("{namespace}", meta.namespace.as_deref().unwrap_or("default"))
                    .replace("{name}", meta.name.as_deref().unwrap_or_default()),
            );
        }
        Some(outputs)
    }

    /// Copies what the generator reported into status and sets the Generated and Verified conditions.
    /// A redelivery's result keeps the usage of the run that made the app.
    fn record_result(&mut self, result: &TaskResult, redelivery: bool) {
        if !redelivery {
            self.status.usage = result.usage.clone().or(self.status.usage.take());
        }
        if !result.verification.is_empty() {
            self.status.verification = result.verification.clone();
        }
        if result.blueprint.is_some() {
            self.status.blueprint = result.blueprint.clone();
        }
        let failed_step = result.error.as_ref().map(|e| e.step.as_str());
        // A push or deploy that failed came after the gates passed: the app was made and checked,
        // and what was delivered before it (the archive, a commit) is published.
        let delivery_failed = failed_step.is_some_and(|s| s.starts_with("deliver/"));
        if delivery_failed && result.outputs.is_some() {
            self.status.outputs = self.outputs_of(result);
        }
        let generated =
            result.delivered || delivery_failed || failed_step.is_some_and(|s| s.starts_with("verify"));
        if generated {
            self.condition(
                ConditionType::Generated,
                ConditionStatus::True,
                "Generated",
                "the agent produced the app",
            );
        } else if let Some(error) = &result.error {
            self.condition(
                ConditionType::Generated,
                ConditionStatus::False,
                "GenerationFailed",
                &error.message,
            );
        }
        if result.delivered || delivery_failed {
            self.condition(
                ConditionType::Verified,
                ConditionStatus::True,
                "GatesPassed",
                "every verification gate passed",
            );
        } else if let Some(error) = result.error.as_ref().filter(|e| e.step.starts_with("verify")) {
            self.condition(
                ConditionType::Verified,
                ConditionStatus::False,
                "GateFailed",
                &error.message,
            );
        }
    }

    /// After an attempt ended without delivering: retry, wait, or give up.
    fn after_attempt(&mut self, what_happened: &str) -> Decision {
        let attempts = &self.status.attempts;
        let spent = attempts
            .iter()
            .filter(|a| !a.redelivery && !is_infrastructure(a.reason.as_deref()))
            .count();
        let infrastructure_in_a_row = attempts
            .iter()
            .rev()
            .take_while(|a| is_infrastructure(a.reason.as_deref()))
            .count();
        let retries = self.retries() as usize;
        let last_reason = attempts.last().and_then(|a| a.reason.clone()).unwrap_or_default();
        if infrastructure_in_a_row > self.policy.max_infrastructure_failures as usize {
            let message =
                format!("{what_happened}; the backend failed {infrastructure_in_a_row} times in a row");
            self.finish(Phase::Failed, "InfrastructureUnavailable", &message);
            return (Action::None, None);
        }
        if spent > retries {
            let message = format!("{what_happened}; no retries left (spec.retries is {retries})");
            self.finish(Phase::Failed, &last_reason, &message);
            return (Action::None, None);
        }
        let wait = self
            .status
            .attempts
            .last()
            .and_then(|last| retry_at(self.generation, last, self.policy))
            .map_or(Duration::ZERO, |at| duration_until(self.now, at));
        self.status.phase = Some(Phase::Pending);
        let next = self.status.attempts.len() + 1;
        let message = format!("{what_happened}; attempt {next} in {}s", wait.as_secs());
        self.status.message = Some(message.clone());
        self.condition(
            ConditionType::Launched,
            ConditionStatus::False,
            "Retrying",
            &message,
        );
        (Action::None, Some(wait))
    }

    fn retries(&self) -> u32 {
        self.generation
            .spec
            .retries
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(self.policy.default_retries)
    }

    /// No attempt is active: start the next one when its time has come and a slot is free.
    fn between_attempts(&mut self, slot: Slot) -> Decision {
        if let Some(last) = self.status.attempts.last()
            && let Some(at) = retry_at(self.generation, last, self.policy)
            && at > self.now
        {
            return (Action::None, Some(duration_until(self.now, at)));
        }
        match slot {
            Slot::Queued { position } => {
                if position == 0 {
                    return (Action::None, None);
                }
                let message = format!("waiting for a free task slot: position {position} in the queue");
                self.status.phase = Some(Phase::Pending);
                self.status.message = Some(message.clone());
                self.condition(
                    ConditionType::Launched,
                    ConditionStatus::False,
                    "Queued",
                    &message,
                );
                (Action::None, Some(self.policy.queue_poll))
            }
            Slot::Granted => {
                let number = u32::try_from(self.status.attempts.len() + 1).unwrap_or(u32::MAX);
                // A redelivery whose task could not start is tried again as a redelivery.
                let redelivery = self.status.attempts.last().is_some_and(|a| a.redelivery);
                self.status.attempts.push(Attempt {
                    number: i32::try_from(number).unwrap_or(i32::MAX),
                    backend: self.policy.backend.to_owned(),
                    task_id: Some(self.key(number).to_string()),
                    redelivery,
                    ..Attempt::default()
                });
                if number == 1 {
                    self.status.observed_generation = self.observed_generation;
                }
                self.status.phase = Some(Phase::Pending);
                let message = format!("launching attempt {number}");
                self.status.message = Some(message.clone());
                self.condition(
                    ConditionType::Launched,
                    ConditionStatus::Unknown,
                    "Launching",
                    &message,
                );
                // The intent must be stored before the launch: come back at once to launch.
                (Action::None, Some(Duration::ZERO))
            }
        }
    }
}

/// The reason and message for an attempt that ended without delivering.
fn failure(
    attempt: u32,
    code: Option<i32>,
    signal: Option<i32>,
    result: Option<&TaskResult>,
) -> (String, String) {
    let how = match (code, signal) {
        (_, Some(signal)) => format!("was killed by signal {signal}"),
        (Some(code), None) => format!("exited with code {code}"),
        (None, None) => "ended without an exit status".to_owned(),
    };
    match result.and_then(|r| r.error.as_ref()) {
        Some(error) => {
            let reason = match &error.reason {
                Some(reason) if is_condition_reason(reason) => reason.clone(),
                _ if error.step.starts_with("verify") => "GateFailed".to_owned(),
                _ => "GeneratorFailed".to_owned(),
            };
            (
                reason,
                format!("attempt {attempt} failed at {}: {}", error.step, error.message),
            )
        }
        None if result.is_some() => (
            "GeneratorFailed".to_owned(),
            format!("attempt {attempt} {how} and its result says it did not deliver"),
        ),
        None => (
            "NoResult".to_owned(),
            format!("attempt {attempt} {how} without writing result.json"),
        ),
    }
}

/// Whether a task's word can be a condition's reason, which Kubernetes limits to CamelCase
/// identifiers; anything else falls back to the step's reason.
fn is_condition_reason(reason: &str) -> bool {
    reason.len() <= 1024
        && reason.starts_with(|c: char| c.is_ascii_alphabetic())
        && reason.chars().all(|c| c.is_ascii_alphanumeric())
}

/// When the attempt after `last` may start, if `last` ended: backon's exponential backoff (doubling
/// per spent retry, capped) with jitter seeded from the Generation's uid, so retries of many
/// Generations spread out while each one's schedule stays reproducible — the planner stays pure.
/// Infrastructure failures wait the first step only: they are nobody's fault and spend nothing.
fn retry_at(generation: &Generation, last: &Attempt, policy: &Policy) -> Option<jiff::Timestamp> {
    use backon::BackoffBuilder;
    let finished = last.finish_time.as_ref()?.0;
    let step = if is_infrastructure(last.reason.as_deref()) {
        0
    } else {
        attempt_number(last).saturating_sub(1)
    };
    let uid = generation.metadata.uid.as_deref().unwrap_or_default();
    let seed = uid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let delay = backon::ExponentialBuilder::new()
        .with_min_delay(policy.backoff_base)
        .with_max_delay(policy.backoff_max)
        .with_factor(2.0)
        .with_jitter()
        .with_jitter_seed(seed)
        .without_max_times()
        .build()
        .nth(step as usize)
        .unwrap_or(policy.backoff_max);
    let wait = jiff::SignedDuration::try_from(delay).ok()?;
    finished.checked_add(wait).ok().map(whole_seconds)
}

/// `status.attempts[].number` is an int32 in the schema; attempts count from 1.
fn attempt_number(attempt: &Attempt) -> u32 {
    u32::try_from(attempt.number).unwrap_or(0)
}

pub(crate) fn duration_until(now: jiff::Timestamp, at: jiff::Timestamp) -> Duration {
    Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests;
