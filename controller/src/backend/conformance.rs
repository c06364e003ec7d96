//! What every backend promises, checked the same way for each: the controller's idempotent launch,
//! adoption, orphan sweep and deadlines rely on these and on nothing a single backend does
//! differently. A new backend passes [`check`] before it is accepted.
//!
//! Each backend's test supplies a [`Harness`]: fresh backend instances on one shared world (a
//! tasks directory, a container engine, an ECS account) and tasks that behave as asked. Backends
//! differ in two declared ways ([`Traits`]); the suite checks the declared behaviour either way, so
//! a backend cannot quietly lose a promise.
// This module is a test suite other crates run: failing an assertion is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use super::{Backend, TaskKey, TaskObservation, TaskSpec, TaskState};

/// What a conformance task does once the backend has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs until it is stopped, longer than any check waits.
    Runs,
    /// Exits by itself soon after starting, with this code.
    Exits(i32),
}

impl Behaviour {
    /// The `--input` URI, under `root`, that tells a stand-in task how to behave: one with
    /// `exit-<code>` in it exits with that code, any other runs until stopped.
    pub fn input_uri(self, root: &str) -> String {
        match self {
            Behaviour::Runs => format!("{root}/runs/input.json"),
            Behaviour::Exits(code) => format!("{root}/exit-{code}/input.json"),
        }
    }
}

/// A shell stand-in for the generator, run as `sh -c SHELL_STAND_IN <name> --input <uri>`: it
/// acts out [`Behaviour::input_uri`].
pub const SHELL_STAND_IN: &str =
    r#"case "$2" in *exit-*) code=${2##*exit-}; exit "${code%%/*}" ;; *) exec sleep 300 ;; esac"#;

/// How a backend differs from others in ways the controller accounts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traits {
    /// A backend built anew, as a restarted controller builds it, finds the tasks launched before.
    /// False only where tasks live in the backend's own memory (the simulated backend): they are
    /// then reported Missing, as tasks lost with their machine are.
    pub survives_restart: bool,
    /// The backend ends a task at its `deadline` by itself (a Job's `activeDeadlineSeconds`).
    /// Otherwise the task runs on past it until the controller's stop at the deadline ends it.
    pub enforces_deadline: bool,
}

/// One backend's world, for the suite.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    fn traits(&self) -> Traits;

    /// A new backend instance on the same world, sharing no memory with the ones before.
    async fn backend(&self) -> Box<dyn Backend>;

    /// The spec of a task under `key` that behaves as asked, with `deadline` if given. The harness
    /// prepares whatever the task needs (its input, its image) before returning.
    async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec;

    /// A backend on the same world and a task under `key` that it cannot start, for the reason that
    /// is usual on this backend (its program or image is missing).
    async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec);

    /// Lets `time` pass in the backend's world: a harness on an injected clock moves it instead.
    async fn wait(&self, time: Duration) {
        tokio::time::sleep(time).await;
    }

    /// How long to wait for a task to reach a state before failing.
    fn patience(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// How often the suite observes a task it waits for.
const POLL: Duration = Duration::from_millis(100);

/// Runs every promise against the harness's backend. Panics naming the broken promise.
pub async fn check(harness: &dyn Harness) {
    unknown_keys(harness).await;
    launch_is_idempotent_and_adoptable(harness).await;
    exits_are_observed(harness).await;
    failure_to_start_is_infrastructure(harness).await;
    deadlines(harness).await;
}

async fn unknown_keys(harness: &dyn Harness) {
    let backend = harness.backend().await;
    let unknown = TaskKey::new("conformance-never-launched", 1);
    assert_eq!(
        backend.observe(&unknown).await.unwrap(),
        TaskObservation::missing(),
        "a key nobody launched is Missing"
    );
    backend
        .stop(&unknown)
        .await
        .expect("stopping a task that never ran succeeds");
}

async fn launch_is_idempotent_and_adoptable(harness: &dyn Harness) {
    let backend = harness.backend().await;
    let task = harness
        .task(TaskKey::new("conformance-runs", 1), Behaviour::Runs, None)
        .await;
    backend.launch(&task).await.expect("the first launch");
    backend
        .launch(&task)
        .await
        .expect("a second launch of the same key succeeds and starts nothing");
    until(harness, &*backend, &task.key, "running", |o| {
        o.state == TaskState::Running
    })
    .await;
    let found = listed(&*backend, &task.key).await;
    assert_eq!(found.len(), 1, "one task under the key: {found:?}");
    assert_eq!(
        (found[0].0.as_str(), found[0].1.as_str()),
        (task.namespace.as_str(), task.name.as_str()),
        "the listing names the task's Generation, for the orphan sweep"
    );
    assert!(
        found[0].2.is_active(),
        "a running task is listed as active: {found:?}"
    );

    // A controller that restarted: it may launch again (it cannot know it launched before) and must
    // find the same single task.
    let restarted = harness.backend().await;
    if harness.traits().survives_restart {
        restarted
            .launch(&task)
            .await
            .expect("a restarted controller's launch of a running key succeeds");
        let adopted = restarted.observe(&task.key).await.unwrap();
        assert_eq!(
            adopted.state,
            TaskState::Running,
            "the restarted backend adopts the task"
        );
        assert_eq!(
            listed(&*restarted, &task.key).await.len(),
            1,
            "relaunching after a restart starts nothing new"
        );
    } else {
        assert_eq!(
            restarted.observe(&task.key).await.unwrap(),
            TaskObservation::missing(),
            "a backend that keeps tasks in memory reports them Missing after a restart"
        );
    }

    let stopper = if harness.traits().survives_restart {
        &restarted
    } else {
        &backend
    };
    stopper.stop(&task.key).await.expect("stop");
    until(harness, &**stopper, &task.key, "stopped", |o| !o.is_active()).await;
    stopper
        .stop(&task.key)
        .await
        .expect("stopping a stopped task succeeds");
    let after = stopper.observe(&task.key).await.unwrap();
    assert!(
        matches!(after.state, TaskState::Exited { .. } | TaskState::Missing),
        "a stopped task ended: {after:?}"
    );
}

async fn exits_are_observed(harness: &dyn Harness) {
    let backend = harness.backend().await;
    for code in [0, 3] {
        let task = harness
            .task(
                TaskKey::new(&format!("conformance-exits-{code}"), 1),
                Behaviour::Exits(code),
                None,
            )
            .await;
        backend.launch(&task).await.expect("launch");
        let ended = until(harness, &*backend, &task.key, "exited", |o| !o.is_active()).await;
        assert_eq!(
            ended.state,
            TaskState::Exited {
                code: Some(code),
                signal: None
            },
            "a task that exits {code} is observed with its exit code"
        );
        // Finished tasks stay listed until the backend forgets them, so the sweep and a restarted
        // controller still learn their outcome.
        let found = listed(&*backend, &task.key).await;
        assert_eq!(found.len(), 1, "a finished task is still listed: {found:?}");
        assert!(!found[0].2.is_active(), "{found:?}");
        backend
            .stop(&task.key)
            .await
            .expect("stopping a finished task succeeds");
    }
}

async fn failure_to_start_is_infrastructure(harness: &dyn Harness) {
    let (backend, task) = harness
        .unstartable(TaskKey::new("conformance-cannot-start", 1))
        .await;
    // A backend may refuse at launch or report it afterwards; either way the observation says so.
    let launched = backend.launch(&task).await;
    let ended = until(harness, &*backend, &task.key, "failed to start", |o| {
        !o.is_active()
    })
    .await;
    assert!(
        matches!(ended.state, TaskState::FailedToStart { .. }),
        "a task that cannot start is FailedToStart, which spends no retry (launch said {launched:?}): {ended:?}"
    );
    backend.stop(&task.key).await.expect("stop");
}

async fn deadlines(harness: &dyn Harness) {
    let backend = harness.backend().await;
    let deadline = Duration::from_secs(2);
    let task = harness
        .task(
            TaskKey::new("conformance-deadline", 1),
            Behaviour::Runs,
            Some(deadline),
        )
        .await;
    backend.launch(&task).await.expect("launch");
    until(harness, &*backend, &task.key, "running", |o| {
        o.state == TaskState::Running
    })
    .await;
    if harness.traits().enforces_deadline {
        let ended = until(harness, &*backend, &task.key, "ended at its deadline", |o| {
            !o.is_active()
        })
        .await;
        assert!(
            matches!(ended.state, TaskState::Exited { .. }),
            "the backend ended the task at its deadline: {ended:?}"
        );
    } else {
        // Past the deadline the task still runs; the controller's stop is what ends it.
        harness.wait(deadline + Duration::from_secs(1)).await;
        let late = backend.observe(&task.key).await.unwrap();
        assert_eq!(
            late.state,
            TaskState::Running,
            "nothing but the controller ends the task"
        );
        backend
            .stop(&task.key)
            .await
            .expect("the controller's stop at the deadline");
        until(harness, &*backend, &task.key, "stopped at its deadline", |o| {
            !o.is_active()
        })
        .await;
    }
}

/// Observes the task until `reached` holds, letting time pass in between.
async fn until(
    harness: &dyn Harness,
    backend: &dyn Backend,
    key: &TaskKey,
    what: &str,
    reached: impl Fn(&TaskObservation) -> bool,
) -> TaskObservation {
    let mut waited = Duration::ZERO;
    loop {
        let observation = backend.observe(key).await.unwrap();
        if reached(&observation) {
            return observation;
        }
        assert!(
            waited < harness.patience(),
            "{key} never {what} in {waited:?}; last observed {observation:?}"
        );
        harness.wait(POLL).await;
        waited += POLL;
    }
}

/// The (namespace, name, observation) of every listing under `key`.
async fn listed(backend: &dyn Backend, key: &TaskKey) -> Vec<(String, String, TaskObservation)> {
    backend
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| &l.key == key)
        .map(|l| (l.namespace, l.name, l.observation))
        .collect()
}
