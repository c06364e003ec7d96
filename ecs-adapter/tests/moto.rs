//! The ecs backend against a local moto server that each test starts, behind the stand-in that
//! acts out what ECS does and moto does not (see `appgen_ecs::moto`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use appgen_controller::backend::conformance::{self, Behaviour};
use appgen_controller::backend::{Backend, BackendError, TaskKey, TaskSpec, TaskState};
use appgen_ecs::moto::{CONTAINER, MISSING_TASK_DEFINITION, MotoEcs, NO_CAPACITY, TASK_DEFINITION};
use appgen_ecs::{CapacityProvider, EcsBackend, GENERATION_TAG, KEY_TAG, NAMESPACE_TAG, Placement};

const UID: &str = "6a073aa1-1d72-412b-b548-f612ce2fe497";

fn spec(namespace: &str, name: &str, uid: &str, attempt: u32, input_uri: &str) -> TaskSpec {
    TaskSpec {
        key: TaskKey::new(uid, attempt),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        attempt,
        input_uri: input_uri.to_owned(),
        labels: BTreeMap::from([
            ("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned()),
            (NAMESPACE_TAG.to_owned(), namespace.to_owned()),
            (GENERATION_TAG.to_owned(), name.to_owned()),
            ("appgen.dev/uid".to_owned(), uid.to_owned()),
            ("appgen.dev/attempt".to_owned(), attempt.to_string()),
        ]),
        deadline: None,
    }
}

fn running_task() -> TaskSpec {
    spec(
        "team-a",
        "todo",
        UID,
        1,
        "s3://appgen/generations/team-a/todo/runs/input.json",
    )
}

async fn backend(moto: &MotoEcs) -> EcsBackend {
    moto.backend(moto.config(TASK_DEFINITION)).await
}

fn tag<'a>(task: &'a aws_sdk_ecs::types::Task, key: &str) -> Option<&'a str> {
    task.tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test]
async fn a_launched_task_runs_on_fargate_tagged_with_its_generation_and_key() {
    let moto = MotoEcs::start().await;
    let backend = backend(&moto).await;
    let task = running_task();
    backend.launch(&task).await.unwrap();
    assert_eq!(
        backend.observe(&task.key).await.unwrap().state,
        TaskState::Running
    );

    let tasks = moto.tasks().await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let ran = &tasks[0];
    assert_eq!(tag(ran, KEY_TAG), Some(task.key.as_str()));
    assert_eq!(tag(ran, NAMESPACE_TAG), Some("team-a"));
    assert_eq!(tag(ran, GENERATION_TAG), Some("todo"));
    assert_eq!(tag(ran, "appgen.dev/uid"), Some(UID));
    assert_eq!(tag(ran, "appgen.dev/attempt"), Some("1"));
    assert_eq!(ran.started_by(), Some("appgen"));
    assert_eq!(ran.launch_type().map(|l| l.as_str()), Some("FARGATE"));
    let overrides = &ran.overrides().unwrap().container_overrides()[0];
    assert_eq!(overrides.name(), Some(CONTAINER));
    assert_eq!(
        overrides.command(),
        ["generate", "--input", task.input_uri.as_str()]
    );
}

#[tokio::test]
async fn a_second_launch_with_the_same_key_starts_no_second_task_even_after_a_restart() {
    let moto = MotoEcs::start().await;
    let task = running_task();
    let first = backend(&moto).await;
    first.launch(&task).await.unwrap();
    first.launch(&task).await.unwrap();
    let restarted = backend(&moto).await;
    restarted.launch(&task).await.unwrap();
    assert_eq!(moto.tasks().await.len(), 1);
    assert_eq!(moto.stand_in.reached_moto("RunTask"), 1);
    assert_eq!(
        restarted.observe(&task.key).await.unwrap().state,
        TaskState::Running,
        "the restarted backend adopts the task"
    );
}

#[tokio::test]
async fn a_key_whose_client_token_ecs_forgot_is_still_not_launched_twice() {
    let moto = MotoEcs::start().await;
    let task = spec("team-a", "todo", UID, 1, "s3://appgen/exit-0/input.json");
    backend(&moto).await.launch(&task).await.unwrap();
    moto.stand_in.forget_client_tokens();
    let restarted = backend(&moto).await;
    restarted.launch(&task).await.unwrap();
    assert_eq!(
        moto.stand_in.reached_moto("RunTask"),
        1,
        "the task was found by its tag"
    );
    assert_eq!(moto.tasks().await.len(), 1);
}

#[tokio::test]
async fn observations_follow_the_task_from_running_to_its_end() {
    let moto = MotoEcs::start().await;
    let backend = backend(&moto).await;
    let cases = [
        ("runs", TaskState::Running),
        (
            "exit-0",
            TaskState::Exited {
                code: Some(0),
                signal: None,
            },
        ),
        (
            "exit-3",
            TaskState::Exited {
                code: Some(3),
                signal: None,
            },
        ),
    ];
    for (attempt, (behaviour, expected)) in (1..).zip(cases) {
        let task = spec(
            "team-a",
            "todo",
            UID,
            attempt,
            &format!("s3://appgen/{behaviour}/input.json"),
        );
        backend.launch(&task).await.unwrap();
        assert_eq!(
            backend.observe(&task.key).await.unwrap().state,
            expected,
            "{behaviour}"
        );
    }

    let missing = moto.backend(moto.config(MISSING_TASK_DEFINITION)).await;
    let task = spec("team-a", "todo", UID, 9, "s3://appgen/runs/input.json");
    missing.launch(&task).await.unwrap();
    match missing.observe(&task.key).await.unwrap().state {
        TaskState::FailedToStart { reason } => {
            assert!(reason.contains("CannotPullContainerError"), "{reason}")
        }
        other => panic!("an image that cannot be pulled is FailedToStart, not {other:?}"),
    }
}

#[tokio::test]
async fn a_task_ecs_cannot_place_failed_to_start() {
    let moto = MotoEcs::start().await;
    let mut config = moto.config(TASK_DEFINITION);
    config.placement = Placement::CapacityProviders(vec![CapacityProvider {
        name: NO_CAPACITY.to_owned(),
        weight: 1,
        base: 0,
    }]);
    let backend = moto.backend(config).await;
    let task = running_task();
    backend.launch(&task).await.unwrap();
    match backend.observe(&task.key).await.unwrap().state {
        TaskState::FailedToStart { reason } => {
            assert!(reason.contains("Capacity is unavailable"), "{reason}")
        }
        other => panic!("a RunTask failure is FailedToStart, not {other:?}"),
    }
    backend.launch(&task).await.unwrap();
    assert_eq!(
        moto.stand_in.reached_moto("RunTask"),
        0,
        "the key's attempt is over"
    );
    assert!(moto.tasks().await.is_empty());
}

#[tokio::test]
async fn stop_ends_the_task_in_ecs_and_succeeds_again_and_for_unknown_keys() {
    let moto = MotoEcs::start().await;
    let backend = backend(&moto).await;
    let task = running_task();
    backend.launch(&task).await.unwrap();
    backend.stop(&task.key).await.unwrap();
    assert_eq!(
        backend.observe(&task.key).await.unwrap().state,
        TaskState::Exited {
            code: None,
            signal: Some(15)
        },
        "StopTask ends the task by a signal"
    );
    backend.stop(&task.key).await.unwrap();
    backend.stop(&TaskKey::new("never-launched", 1)).await.unwrap();
    assert_eq!(
        moto.stand_in.reached_moto("StopTask"),
        1,
        "a stopped task is not stopped again"
    );
    let tasks = moto.tasks().await;
    assert_eq!(tasks[0].last_status(), Some("STOPPED"));
    assert_eq!(tasks[0].desired_status(), Some("STOPPED"));
    assert_eq!(tasks[0].stopped_reason(), Some("stopped by appgen"));
}

#[tokio::test]
async fn a_restarted_backend_lists_every_generations_tasks_for_adoption_and_the_orphan_sweep() {
    let moto = MotoEcs::start().await;
    let before = backend(&moto).await;
    let running = running_task();
    let finished = spec(
        "team-b",
        "blog",
        "0d1e2f3a-0000-4000-8000-000000000001",
        2,
        "s3://appgen/exit-0/input.json",
    );
    before.launch(&running).await.unwrap();
    before.launch(&finished).await.unwrap();
    // A task of another appgen installation on the same cluster is not ours to sweep.
    let mut other = moto.config(TASK_DEFINITION);
    other.started_by = "appgen-staging".to_owned();
    moto.backend(other)
        .await
        .launch(&spec(
            "team-c",
            "shop",
            "0d1e2f3a-0000-4000-8000-000000000002",
            1,
            "s3://x/runs/input.json",
        ))
        .await
        .unwrap();

    let restarted = backend(&moto).await;
    let mut listed: Vec<_> = restarted
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.key, l.namespace, l.name, l.observation.state))
        .collect();
    listed.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        listed,
        [
            (
                running.key.clone(),
                "team-a".to_owned(),
                "todo".to_owned(),
                TaskState::Running
            ),
            (
                finished.key.clone(),
                "team-b".to_owned(),
                "blog".to_owned(),
                TaskState::Exited {
                    code: Some(0),
                    signal: None
                }
            ),
        ]
    );
}

#[tokio::test]
async fn throttled_calls_are_retried_and_never_start_a_second_task() {
    let moto = MotoEcs::start().await;
    let backend = backend(&moto).await;
    let task = running_task();
    moto.stand_in.throttle("ListTasks", 2);
    moto.stand_in.throttle("RunTask", 2);
    backend.launch(&task).await.unwrap();
    assert_eq!(moto.stand_in.reached_moto("RunTask"), 1);
    moto.stand_in.throttle("DescribeTasks", 2);
    assert_eq!(
        backend.observe(&task.key).await.unwrap().state,
        TaskState::Running
    );

    // ECS started the task but its answer was lost: the SDK's retry sends the same clientToken,
    // which ECS answers with the first task.
    let second = spec("team-a", "todo", UID, 2, "s3://appgen/runs/input.json");
    moto.stand_in.lose_answers("RunTask", 1);
    backend.launch(&second).await.unwrap();
    assert_eq!(moto.stand_in.reached_moto("RunTask"), 2);
    assert_eq!(moto.tasks().await.len(), 2, "one task per key");

    // Throttled past every attempt: the controller hears Unavailable and tries again later.
    let third = spec("team-a", "todo", UID, 3, "s3://appgen/runs/input.json");
    moto.stand_in.throttle("RunTask", 3);
    match backend.launch(&third).await {
        Err(BackendError::Unavailable {
            operation, message, ..
        }) => {
            assert_eq!(operation, "RunTask");
            assert!(message.contains("ThrottlingException"), "{message}");
        }
        other => panic!("throttling past the retries is Unavailable, not {other:?}"),
    }
    backend.launch(&third).await.unwrap();
    assert_eq!(moto.tasks().await.len(), 3, "one task per key");
}

#[tokio::test]
async fn a_task_definition_ecs_does_not_know_is_rejected_with_what_to_check() {
    let moto = MotoEcs::start().await;
    let backend = moto.backend(moto.config("appgen-no-such-family")).await;
    match backend.launch(&running_task()).await {
        Err(BackendError::Rejected { operation, .. }) => assert_eq!(operation, "RunTask"),
        other => panic!("an unknown task definition is Rejected, not {other:?}"),
    }
}

/// Each backend instance is a new client on one moto server.
struct Harness(MotoEcs);

#[async_trait::async_trait]
impl conformance::Harness for Harness {
    fn traits(&self) -> conformance::Traits {
        conformance::Traits {
            survives_restart: true,
            // ECS has no deadline for a task: the controller stops it.
            enforces_deadline: false,
        }
    }

    async fn backend(&self) -> Box<dyn Backend> {
        Box::new(backend(&self.0).await)
    }

    async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec {
        let input_uri = behaviour.input_uri("s3://appgen/conformance");
        let mut task = spec("team-a", "todo", key.uid(), key.attempt(), &input_uri);
        task.deadline = deadline;
        task
    }

    async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec) {
        let backend = self.0.backend(self.0.config(MISSING_TASK_DEFINITION)).await;
        let task = spec(
            "team-a",
            "todo",
            key.uid(),
            key.attempt(),
            &Behaviour::Runs.input_uri("s3://appgen/conformance"),
        );
        (Box::new(backend), task)
    }
}

#[tokio::test]
async fn the_ecs_backend_keeps_the_backend_promises() {
    conformance::check(&Harness(MotoEcs::start().await)).await;
}
