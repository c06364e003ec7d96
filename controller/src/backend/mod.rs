//! Where generator tasks run. A backend launches a task under a key, reports what became of it,
//! stops it, and lists the tasks it runs for appgen, so the controller can adopt them after a
//! restart and sweep away orphans.
//!
//! Every call is idempotent: launching a key that already runs starts nothing new, stopping a
//! task that is gone succeeds, so a controller that retries or restarts never launches twice.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod docker;
mod kubernetes;
mod process;
mod simulated;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use docker::*;
pub use kubernetes::*;
pub use process::*;
pub use simulated::*;

/// A task's identity: `<uid>-<attempt>`. The same key always names the same task.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey(String);

impl TaskKey {
    pub fn new(uid: &str, attempt: u32) -> Self {
        TaskKey(format!("{uid}-{attempt}"))
    }

    /// A key found on a backend; None when it is not of the form `<uid>-<attempt>`.
    pub fn parse(s: &str) -> Option<Self> {
        let (uid, attempt) = s.rsplit_once('-')?;
        (!uid.is_empty() && attempt.parse::<u32>().is_ok_and(|a| a > 0)).then(|| TaskKey(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn uid(&self) -> &str {
        self.0.rsplit_once('-').map_or("", |(uid, _)| uid)
    }

    pub fn attempt(&self) -> u32 {
        self.0
            .rsplit_once('-')
            .and_then(|(_, a)| a.parse().ok())
            .unwrap_or(0)
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a backend needs to start one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSpec {
    pub key: TaskKey,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub attempt: u32,
    /// Where the task reads its `input.json`, passed as `appgen generate --input <uri>`.
    pub input_uri: String,
    /// Labels that mark the task as appgen's and name its Generation; backends that can tag tasks
    /// carry them, so `list` finds the tasks again.
    pub labels: BTreeMap<String, String>,
    /// How long the task may run. The controller stops it at the deadline itself; backends that
    /// can also enforce it (a Job's `activeDeadlineSeconds`) do, in case the controller is down.
    pub deadline: Option<Duration>,
}

/// What a backend can tell about a task.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskState {
    /// Accepted but not yet running (pulling an image, waiting for capacity).
    Pending,
    Running,
    /// Ended by itself or by a signal.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// Could not be started at all (no capacity, image missing, exec failed). Infrastructure's
    /// fault, not the generator's: it does not spend the Generation's retries.
    FailedToStart {
        reason: String,
    },
    /// The backend has no task under this key.
    Missing,
}

impl TaskState {
    /// Ended by itself with this exit code.
    pub fn exited(code: i32) -> Self {
        TaskState::Exited {
            code: Some(code),
            signal: None,
        }
    }

    pub fn failed_to_start(reason: impl Into<String>) -> Self {
        TaskState::FailedToStart {
            reason: reason.into(),
        }
    }
}

/// A backend's answer about one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskObservation {
    pub state: TaskState,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
}

impl TaskObservation {
    pub fn missing() -> Self {
        TaskObservation {
            state: TaskState::Missing,
            started_at: None,
            finished_at: None,
        }
    }

    /// Still holds (or is about to hold) resources.
    pub fn is_active(&self) -> bool {
        matches!(self.state, TaskState::Pending | TaskState::Running)
    }
}

/// A task found on the backend.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskListing {
    pub key: TaskKey,
    pub namespace: String,
    pub name: String,
    pub observation: TaskObservation,
}

/// What can go wrong talking to a backend.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Worth retrying: the backend is busy, throttling or briefly unreachable.
    #[error("{backend} backend is unavailable ({operation}): {message}")]
    Unavailable {
        backend: &'static str,
        operation: &'static str,
        message: String,
    },
    /// Retrying the same call will not help; the message says what to change.
    #[error("{backend} backend refused {operation}: {message}")]
    Rejected {
        backend: &'static str,
        operation: &'static str,
        message: String,
    },
}

impl BackendError {
    pub fn unavailable(backend: &'static str, operation: &'static str, message: String) -> Self {
        BackendError::Unavailable {
            backend,
            operation,
            message,
        }
    }

    pub fn rejected(backend: &'static str, operation: &'static str, message: String) -> Self {
        BackendError::Rejected {
            backend,
            operation,
            message,
        }
    }
}

/// A place to run generator tasks.
#[async_trait::async_trait]
pub trait Backend: Send + Sync + fmt::Debug {
    /// `process`, `simulated`, `docker`, `kubernetes`, `ecs`: what `status.attempts[].backend` records.
    fn name(&self) -> &'static str;

    /// Starts the task unless one with this key already exists (then does nothing).
    async fn launch(&self, task: &TaskSpec) -> Result<(), BackendError>;

    /// What became of the task with this key; `TaskState::Missing` when there is none.
    async fn observe(&self, key: &TaskKey) -> Result<TaskObservation, BackendError>;

    /// Stops the task (its whole process tree or container) if it runs. Succeeds when it is already gone.
    async fn stop(&self, key: &TaskKey) -> Result<(), BackendError>;

    /// Every task this backend runs for appgen, running or finished but not yet forgotten.
    async fn list(&self) -> Result<Vec<TaskListing>, BackendError>;

    /// The keys of tasks that may have changed, from a backend that can watch its tasks, so the
    /// controller looks at them at once instead of at its next poll. None: polling only.
    fn changes(&self) -> Option<futures::stream::BoxStream<'static, TaskKey>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_key_names_the_uid_and_attempt() {
        let key = TaskKey::new("6a073aa1-1d72-412b-b548-f612ce2fe497", 3);
        assert_eq!(key.as_str(), "6a073aa1-1d72-412b-b548-f612ce2fe497-3");
        assert_eq!(key.uid(), "6a073aa1-1d72-412b-b548-f612ce2fe497");
        assert_eq!(key.attempt(), 3);
        assert_eq!(TaskKey::parse(key.as_str()), Some(key));
    }

    #[test]
    fn strings_that_are_not_task_keys_are_refused() {
        for s in ["", "abc", "abc-", "-1", "abc-0", "abc-x"] {
            assert_eq!(TaskKey::parse(s), None, "{s:?}");
        }
    }
}
