//! The docker backend against a real engine: `podman system service`, started by each test on its
//! own storage, with images made by `podman import` (nothing is pulled).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use appgen_controller::Clock;
use appgen_controller::backend::conformance::{self, Behaviour, SHELL_STAND_IN};
use appgen_controller::backend::{
    Backend, BindMount, DockerBackend, DockerConfig, TaskKey, TaskObservation, TaskSpec, TaskState,
    container_name,
};
use support::podman::Podman;

const IMAGE: &str = "localhost/appgen-test-busybox:1";

/// An engine with the busybox image.
fn engine() -> Podman {
    let podman = Podman::start();
    let rootfs = podman.busybox_rootfs();
    podman.import(&rootfs, IMAGE, &[]);
    podman
}

fn now() -> Clock {
    Arc::new(jiff::Timestamp::now)
}

/// Tasks running `script` as `sh -c script task --input <uri>`, on no network.
fn config(script: &str) -> DockerConfig {
    DockerConfig {
        command: ["/bin/sh", "-c", script, "task"].map(str::to_owned).to_vec(),
        network: Some("none".to_owned()),
        stop_grace: Duration::from_secs(2),
        ..DockerConfig::new(IMAGE.to_owned())
    }
}

fn backend(podman: &Podman, config: DockerConfig) -> DockerBackend {
    DockerBackend::connect(&podman.host(), config, now()).unwrap()
}

fn spec(key: &str, name: &str, input_uri: &str) -> TaskSpec {
    let key = TaskKey::parse(key).unwrap();
    TaskSpec {
        namespace: "default".to_owned(),
        name: name.to_owned(),
        uid: key.uid().to_owned(),
        attempt: key.attempt(),
        input_uri: input_uri.to_owned(),
        labels: BTreeMap::from([
            ("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned()),
            ("appgen.dev/namespace".to_owned(), "default".to_owned()),
            ("appgen.dev/generation".to_owned(), name.to_owned()),
            ("appgen.dev/uid".to_owned(), key.uid().to_owned()),
            ("appgen.dev/attempt".to_owned(), key.attempt().to_string()),
        ]),
        deadline: None,
        key,
    }
}

async fn until(
    backend: &dyn Backend,
    key: &TaskKey,
    what: &str,
    reached: impl Fn(&TaskObservation) -> bool,
) -> TaskObservation {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let observation = backend.observe(key).await.unwrap();
        if reached(&observation) {
            return observation;
        }
        assert!(Instant::now() < deadline, "{key} never {what}: {observation:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ended(backend: &dyn Backend, key: &TaskKey) -> TaskObservation {
    until(backend, key, "ended", |o| !o.is_active()).await
}

fn exited(code: Option<i32>, signal: Option<i32>) -> TaskState {
    TaskState::Exited { code, signal }
}

/// The names of the engine's containers, appgen's or not.
fn containers(podman: &Podman) -> Vec<String> {
    let mut names: Vec<String> = podman
        .run(&["ps", "--all", "--format", "{{.Names}}"])
        .lines()
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

struct Harness(Podman);

#[async_trait::async_trait]
impl conformance::Harness for Harness {
    fn traits(&self) -> conformance::Traits {
        conformance::Traits {
            survives_restart: true,
            enforces_deadline: false,
        }
    }

    async fn backend(&self) -> Box<dyn Backend> {
        Box::new(backend(&self.0, config(SHELL_STAND_IN)))
    }

    async fn task(&self, key: TaskKey, behaviour: Behaviour, deadline: Option<Duration>) -> TaskSpec {
        TaskSpec {
            deadline,
            ..spec(
                key.as_str(),
                "conformance",
                &behaviour.input_uri("file:///artifacts"),
            )
        }
    }

    async fn unstartable(&self, key: TaskKey) -> (Box<dyn Backend>, TaskSpec) {
        let missing = DockerConfig {
            image: "localhost/appgen-never-imported:1".to_owned(),
            ..config(SHELL_STAND_IN)
        };
        (
            Box::new(backend(&self.0, missing)),
            spec(key.as_str(), "conformance", "file:///artifacts/input.json"),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docker_backend_keeps_the_backend_promises() {
    conformance::check(&Harness(engine())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_and_signals_are_observed() {
    let podman = engine();
    let backend = backend(
        &podman,
        config(r#"case "$2" in kill-*) kill -KILL $$ ;; *) exit "$2" ;; esac"#),
    );
    let cases = [
        ("exits-0-1", "0", exited(Some(0), None)),
        ("exits-42-1", "42", exited(Some(42), None)),
        ("killed-1", "kill-self", exited(None, Some(9))),
    ];
    for (key, input, _) in &cases {
        backend.launch(&spec(key, "codes", input)).await.unwrap();
    }
    for (key, _, expected) in cases {
        let observation = ended(&backend, &TaskKey::parse(key).unwrap()).await;
        assert_eq!(observation.state, expected, "{key}");
        assert!(
            observation.started_at.is_some() && observation.finished_at.is_some(),
            "{observation:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_with_the_same_key_starts_no_second_task() {
    let podman = engine();
    let backend = backend(&podman, config(SHELL_STAND_IN));
    let task = spec("twice-1", "twice", "file:///artifacts/runs/input.json");
    backend.launch(&task).await.unwrap();
    backend.launch(&task).await.unwrap();
    backend.launch(&task).await.unwrap();
    until(&backend, &task.key, "running", |o| o.state == TaskState::Running).await;
    assert_eq!(containers(&podman), [container_name(&task.key)]);
    // A finished task is not started again either.
    backend.stop(&task.key).await.unwrap();
    let stopped = ended(&backend, &task.key).await;
    backend.launch(&task).await.unwrap();
    assert_eq!(backend.observe(&task.key).await.unwrap(), stopped);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_sends_sigterm_then_sigkill_after_the_grace_and_is_idempotent() {
    let podman = engine();
    // Long enough that a stop which gives no grace and one that gives it all are told apart even on
    // a busy machine.
    let grace = Duration::from_secs(5);
    let backend = backend(
        &podman,
        DockerConfig {
            stop_grace: grace,
            ..config(
                r#"case "$2" in stubborn) trap '' TERM; while true; do sleep 1; done ;; *) exec sleep 300 ;; esac"#,
            )
        },
    );
    let polite = spec("polite-1", "stop", "polite");
    let stubborn = spec("stubborn-1", "stop", "stubborn");
    for task in [&polite, &stubborn] {
        backend.launch(task).await.unwrap();
        until(&backend, &task.key, "running", |o| o.state == TaskState::Running).await;
    }

    let started = Instant::now();
    backend.stop(&polite.key).await.unwrap();
    assert!(
        started.elapsed() < grace,
        "SIGTERM ended it before the grace ran out"
    );
    assert_eq!(ended(&backend, &polite.key).await.state, exited(None, Some(15)));

    let started = Instant::now();
    backend.stop(&stubborn.key).await.unwrap();
    assert!(started.elapsed() >= grace, "the grace was given");
    assert_eq!(ended(&backend, &stubborn.key).await.state, exited(None, Some(9)));

    for key in [&polite.key, &stubborn.key, &TaskKey::new("never-launched", 1)] {
        backend.stop(key).await.expect("stopping again succeeds");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_controller_adopts_a_running_task_and_sees_it_exit() {
    let podman = engine();
    let shared = podman.dir().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let script = r#"while [ ! -f /shared/release ]; do sleep 0.1; done; exit 5"#;
    let with_mount = || DockerConfig {
        mounts: vec![BindMount {
            host: shared.clone(),
            container: "/shared".into(),
            read_only: true,
        }],
        ..config(script)
    };
    let task = spec("adopted-1", "adopted", "file:///artifacts/input.json");
    {
        let before = backend(&podman, with_mount());
        before.launch(&task).await.unwrap();
        until(&before, &task.key, "running", |o| o.state == TaskState::Running).await;
    }

    let after = backend(&podman, with_mount());
    let listed = after.list().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (
            &listed[0].key,
            listed[0].namespace.as_str(),
            listed[0].name.as_str()
        ),
        (&task.key, "default", "adopted")
    );
    assert_eq!(listed[0].observation.state, TaskState::Running);
    after.launch(&task).await.unwrap();
    assert_eq!(
        containers(&podman),
        [container_name(&task.key)],
        "relaunching adopted it"
    );

    std::fs::write(shared.join("release"), "").unwrap();
    assert_eq!(ended(&after, &task.key).await.state, exited(Some(5), None));
}

#[tokio::test(flavor = "multi_thread")]
async fn list_names_each_tasks_generation_and_forgets_finished_ones_after_a_while() {
    let podman = engine();
    // A container that is not appgen's is never listed, stopped or removed.
    podman.run(&["create", "--name", "someone-else", IMAGE, "/bin/sleep", "300"]);
    let running = spec("uid-a-1", "todo", "file:///artifacts/runs/input.json");
    let finished = spec("uid-b-2", "blog", "file:///artifacts/exit-0/input.json");
    let today = backend(&podman, config(SHELL_STAND_IN));
    for task in [&running, &finished] {
        today.launch(task).await.unwrap();
    }
    until(&today, &running.key, "running", |o| o.state == TaskState::Running).await;
    ended(&today, &finished.key).await;

    let listed: Vec<_> = today
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.key.to_string(), l.name, l.observation.is_active()))
        .collect();
    assert_eq!(
        listed,
        [
            ("uid-a-1".to_owned(), "todo".to_owned(), true),
            ("uid-b-2".to_owned(), "blog".to_owned(), false)
        ]
    );

    // Two hours on, the finished container has been kept long enough.
    let later: Clock = Arc::new(|| jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2));
    let tomorrow = DockerBackend::connect(&podman.host(), config(SHELL_STAND_IN), later).unwrap();
    let listed: Vec<_> = tomorrow
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.key)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&running.key));
    assert_eq!(
        tomorrow.observe(&finished.key).await.unwrap(),
        TaskObservation::missing()
    );
    assert_eq!(
        containers(&podman),
        [container_name(&running.key), "someone-else".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_image_fails_to_start_and_is_never_pulled() {
    let podman = engine();
    let missing = "localhost/appgen-not-here:1";
    let backend = backend(
        &podman,
        DockerConfig {
            image: missing.to_owned(),
            ..config(SHELL_STAND_IN)
        },
    );
    let task = spec("no-image-1", "missing", "file:///artifacts/input.json");
    backend.launch(&task).await.unwrap();
    let observation = backend.observe(&task.key).await.unwrap();
    let TaskState::FailedToStart { reason } = &observation.state else {
        panic!("a missing image is a failure to start: {observation:?}");
    };
    assert!(
        reason.contains(missing) && reason.contains("never pulls"),
        "{reason}"
    );
    assert!(containers(&podman).is_empty());
    assert!(
        !podman
            .run(&["images", "--format", "{{.Repository}}"])
            .contains("appgen-not-here"),
        "nothing was pulled"
    );
    backend.stop(&task.key).await.unwrap();
    assert_eq!(
        backend.observe(&task.key).await.unwrap(),
        TaskObservation::missing()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_the_engine_will_not_create_or_start_fails_to_start_and_is_not_left_behind() {
    let podman = engine();
    let cases = [
        (
            "no-network-1",
            DockerConfig {
                network: Some("appgen-no-such-network".to_owned()),
                ..config(SHELL_STAND_IN)
            },
            (
                "the engine refused to create the container",
                "appgen-no-such-network",
            ),
        ),
        (
            "no-user-1",
            DockerConfig {
                user: Some("appgen-no-such-user".to_owned()),
                ..config(SHELL_STAND_IN)
            },
            ("the container could not start", "appgen-no-such-user"),
        ),
    ];
    for (key, config, (how, named)) in cases {
        let backend = backend(&podman, config);
        let task = spec(key, "refused", "file:///artifacts/runs/input.json");
        backend
            .launch(&task)
            .await
            .expect("the refusal is reported by observe");
        let observation = backend.observe(&task.key).await.unwrap();
        let TaskState::FailedToStart { reason } = &observation.state else {
            panic!("{key}: {observation:?}");
        };
        assert!(
            reason.starts_with(how) && reason.contains(named),
            "{key}: {reason}"
        );
        assert!(containers(&podman).is_empty(), "{key}: {:?}", containers(&podman));
        backend.stop(&task.key).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_container_gets_its_env_limits_network_and_artifact_store_and_its_logs_are_kept() {
    let podman = engine();
    let artifacts = podman.dir().join("artifacts");
    std::fs::create_dir(&artifacts).unwrap();
    let input = artifacts.join("input.json");
    std::fs::write(&input, "{\"prompt\":\"todo\"}\n").unwrap();
    // Reads its input through the file:// URI, writes beside it, and prints what it sees.
    let script = r#"path=${2#file://}; cat "$path" > "$(dirname "$path")/seen-by-$APPGEN_TASK_KEY"; echo "home=$HOME greeting=$GREETING"; ls /sys/class/net"#;
    let backend = backend(
        &podman,
        DockerConfig {
            env: vec![("GREETING".to_owned(), "hello".to_owned())],
            cpus: Some(0.5),
            memory_bytes: Some(256 << 20),
            pids: Some(64),
            artifacts_dir: Some(artifacts.clone()),
            ..config(script)
        },
    );
    let task = spec("limits-1", "limits", &format!("file://{}", input.display()));
    backend.launch(&task).await.unwrap();
    assert_eq!(ended(&backend, &task.key).await.state, exited(Some(0), None));

    let seen = std::fs::read_to_string(artifacts.join("seen-by-limits-1")).unwrap();
    assert_eq!(
        seen, "{\"prompt\":\"todo\"}\n",
        "the artifact store is mounted at its own path"
    );
    let name = container_name(&task.key);
    let logs = podman.run(&["logs", &name]);
    assert!(logs.contains("home=/workspace greeting=hello"), "{logs}");
    assert_eq!(
        logs.lines().skip(1).collect::<Vec<_>>(),
        ["lo"],
        "network none: loopback only"
    );
    let inspected = podman.run(&[
        "inspect",
        "--format",
        "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NetworkMode}}",
        &name,
    ]);
    assert_eq!(inspected.trim(), "500000000 268435456 64 none");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_that_is_not_there_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let error = DockerBackend::connect(
        &format!("unix://{}", socket.display()),
        DockerConfig::new(IMAGE.to_owned()),
        now(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains(&socket.display().to_string()), "{error}");
    let error = DockerBackend::connect("tcp://127.0.0.1:2375", DockerConfig::new(IMAGE.to_owned()), now())
        .unwrap_err()
        .to_string();
    assert!(error.contains("unix socket"), "{error}");
}
