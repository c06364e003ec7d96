//! The controller inside a running `appgen serve`, with the process backend running a stand-in
//! generator (`tests/fixtures/test-generator`): lifecycle, retries, deadline, cancel, delete,
//! restarts, and the concurrency cap.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec, Phase};
use common::{Server, phase, wait_for};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const GENERATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-generator");

fn serve(extra: &[&str]) -> Server {
    let mut args = vec![
        "--generator",
        GENERATOR,
        "--backoff-seconds",
        "1",
        "--sweep-seconds",
        "1",
        // The stand-in generator delivers no app to run.
        "--max-previews",
        "0",
    ];
    args.extend_from_slice(extra);
    Server::start_with_controller(&args)
}

fn generation(name: &str, prompt: &str, retries: i32) -> Generation {
    Generation::new(
        name,
        GenerationSpec {
            app: Some("todo".into()),
            timeout_seconds: Some(600),
            retries: Some(retries),
            ..GenerationSpec::from_prompt(prompt)
        },
    )
}

async fn api(server: &Server) -> Api<Generation> {
    Api::namespaced(server.client().await, "default")
}

fn condition(g: &Generation, type_: &str) -> Option<(String, String)> {
    let c = g.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone()))
}

/// Processes whose command line mentions `needle` (the generator gets the uid in its input path).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-af", needle])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("pgrep"))
        .map(str::to_owned)
        .collect()
}

/// Waits up to 20 s for every process mentioning `uid` to be gone; `what` says what failed if not.
async fn wait_until_no_process(uid: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !processes_mentioning(uid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what}: {:?}",
            processes_mentioning(uid)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn events_about(server: &Server, name: &str) -> Vec<String> {
    let events: Api<CoreEvent> = Api::namespaced(server.client().await, "default");
    let list = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap();
    list.items.into_iter().filter_map(|e| e.reason).collect()
}

#[tokio::test]
async fn a_generation_goes_pending_running_delivered_with_conditions_and_events() {
    let server = serve(&[]);
    let api = api(&server).await;
    api.create(
        &PostParams::default(),
        &generation("todo", "A todo app test:sleep=1", 1),
    )
    .await
    .unwrap();
    let running = wait_for(&api, "todo", 20, |g| phase(g) == Some(Phase::Running)).await;
    assert_eq!(
        condition(&running, "Launched"),
        Some(("True".into(), "Running".into()))
    );
    let done = wait_for(&api, "todo", 30, |g| phase(g) == Some(Phase::Delivered)).await;
    let status = done.status.clone().unwrap();
    assert_eq!(status.attempts.len(), 1);
    assert_eq!(status.attempts[0].exit_code, Some(0));
    assert_eq!(status.attempts[0].backend, "process");
    assert!(
        status
            .outputs
            .unwrap()
            .archive_url
            .unwrap()
            .ends_with("/api/v1/generations/default/todo/archive"),
        "the archive is offered at serve's download address"
    );
    assert_eq!(status.verification.len(), 6);
    assert_eq!(status.step.as_deref(), Some("delivered"));
    assert!(status.completion_time.is_some() && status.start_time.is_some());
    assert!(
        done.finalizers()
            .contains(&appgen_controller::FINALIZER.to_owned())
    );
    for c in ["Accepted", "Launched", "Generated", "Verified", "Delivered"] {
        assert_eq!(condition(&done, c).map(|c| c.0), Some("True".into()), "{c}");
    }
    let reasons = events_about(&server, "todo").await;
    assert!(
        reasons.contains(&"Launched".into()) && reasons.contains(&"Delivered".into()),
        "{reasons:?}"
    );
    let described = server.kubectl(&["describe", "gen", "todo"]);
    assert!(
        common::stdout(&described).contains("Delivered"),
        "{}",
        common::stdout(&described)
    );
}

#[tokio::test]
async fn a_generator_that_keeps_failing_spends_its_retries_then_fails_with_the_reason() {
    let server = serve(&[]);
    let api = api(&server).await;
    api.create(
        &PostParams::default(),
        &generation("broken", "An app test:exit=3", 1),
    )
    .await
    .unwrap();
    let failed = wait_for(&api, "broken", 40, |g| phase(g) == Some(Phase::Failed)).await;
    let status = failed.status.unwrap();
    assert_eq!(status.attempts.len(), 2, "one try plus one retry");
    assert!(
        status
            .attempts
            .iter()
            .all(|a| a.exit_code == Some(3) && a.reason.as_deref() == Some("NoResult"))
    );
    let message = status.message.unwrap();
    assert!(
        message.contains("exited with code 3") && message.contains("no retries left"),
        "{message}"
    );
    let reasons = events_about(&server, "broken").await;
    assert!(
        reasons.contains(&"Retrying".into()) && reasons.contains(&"Failed".into()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_failure_then_a_success_delivers_on_the_retry() {
    let server = serve(&[]);
    let api = api(&server).await;
    api.create(
        &PostParams::default(),
        &generation("flaky", "An app test:fail-attempts=1", 2),
    )
    .await
    .unwrap();
    let done = wait_for(&api, "flaky", 40, |g| phase(g) == Some(Phase::Delivered)).await;
    let attempts = done.status.unwrap().attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].exit_code, Some(1));
    assert_eq!(attempts[1].exit_code, Some(0));
}

#[tokio::test]
async fn past_its_deadline_a_generation_is_stopped_and_fails_with_deadline_exceeded() {
    let server = serve(&[]);
    let api = api(&server).await;
    let created = api
        .create(
            &PostParams::default(),
            &generation("slow", "An app test:sleep=300", 0),
        )
        .await
        .unwrap();
    wait_for(&api, "slow", 20, |g| phase(g) == Some(Phase::Running)).await;
    // The deadline counts from status.startTime: moving it back an hour is the same as waiting an hour.
    let an_hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let patch = json!({"status": {"startTime": an_hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()}});
    api.patch_status("slow", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let failed = wait_for(&api, "slow", 20, |g| phase(g) == Some(Phase::Failed)).await;
    assert_eq!(
        condition(&failed, "Delivered"),
        Some(("False".into(), "DeadlineExceeded".into()))
    );
    let uid = created.uid().unwrap();
    wait_until_no_process(&uid, "the task outlived its deadline").await;
}

#[tokio::test]
async fn cancelling_a_running_generation_stops_its_task_and_ends_cancelled() {
    let server = serve(&[]);
    let api = api(&server).await;
    let created = api
        .create(
            &PostParams::default(),
            &generation("stopme", "An app test:sleep=300", 0),
        )
        .await
        .unwrap();
    wait_for(&api, "stopme", 20, |g| phase(g) == Some(Phase::Running)).await;
    let uid = created.uid().unwrap();
    assert!(!processes_mentioning(&uid).is_empty(), "the task runs");
    api.patch(
        "stopme",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"cancel": true}})),
    )
    .await
    .unwrap();
    let cancelled = wait_for(&api, "stopme", 20, |g| phase(g) == Some(Phase::Cancelled)).await;
    assert_eq!(
        condition(&cancelled, "Delivered"),
        Some(("False".into(), "Cancelled".into()))
    );
    wait_until_no_process(&uid, "the task survived the cancel").await;
}

#[tokio::test]
async fn deleting_a_running_generation_leaves_no_process_behind() {
    let server = serve(&[]);
    let api = api(&server).await;
    let created = api
        .create(
            &PostParams::default(),
            &generation("gone", "An app test:sleep=300", 0),
        )
        .await
        .unwrap();
    wait_for(&api, "gone", 20, |g| phase(g) == Some(Phase::Running)).await;
    let uid = created.uid().unwrap();
    api.delete("gone", &DeleteParams::default()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while api.get_opt("gone").await.unwrap().is_some() || !processes_mentioning(&uid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still there: {:?}",
            processes_mentioning(&uid)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn after_kill_9_a_restarted_serve_adopts_the_running_task_without_launching_it_again() {
    let mut server = serve(&[]);
    let api = api(&server).await;
    api.create(
        &PostParams::default(),
        &generation("survivor", "An app test:sleep=4", 0),
    )
    .await
    .unwrap();
    wait_for(&api, "survivor", 20, |g| phase(g) == Some(Phase::Running)).await;
    server.kill9();
    std::thread::sleep(Duration::from_millis(500));
    server.restart();
    let api = self::api(&server).await;
    let done = wait_for(&api, "survivor", 40, |g| phase(g) == Some(Phase::Delivered)).await;
    assert_eq!(done.status.unwrap().attempts.len(), 1);
    let launches = std::fs::read_to_string(server.data_dir().join("launches.log")).unwrap();
    assert_eq!(launches.lines().count(), 1, "launched exactly once: {launches}");
}

#[tokio::test]
async fn a_burst_of_200_never_runs_more_than_max_running_tasks_and_all_finish() {
    let server = serve(&["--max-running", "4"]);
    let api = api(&server).await;
    let creates: Vec<_> = (0..200)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move {
                api.create(
                    &PostParams::default(),
                    &generation(&format!("burst-{i:03}"), "An app test:sleep=0.1", 0),
                )
                .await
                .unwrap();
            })
        })
        .collect();
    for c in creates {
        c.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut max_running = 0;
    let mut saw_queue_position = false;
    loop {
        let list = api.list(&ListParams::default()).await.unwrap();
        let running = list
            .items
            .iter()
            .filter(|g| phase(g) == Some(Phase::Running))
            .count();
        max_running = max_running.max(running);
        saw_queue_position |= list.items.iter().any(|g| {
            condition(g, "Launched").is_some_and(|c| c.1 == "Queued")
                && g.status
                    .as_ref()
                    .and_then(|s| s.message.as_deref())
                    .is_some_and(|m| m.contains("position"))
        });
        if list.items.iter().all(|g| phase(g) == Some(Phase::Delivered)) {
            break;
        }
        if Instant::now() > deadline {
            let stuck: Vec<_> = list
                .items
                .iter()
                .filter(|g| phase(g) != Some(Phase::Delivered))
                .collect();
            panic!(
                "{} not delivered in time; the first: {:#?}\nserve log tail:\n{}",
                stuck.len(),
                stuck.first().map(|g| (&g.metadata.name, &g.status)),
                server.log().lines().rev().take(30).collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(max_running <= 4, "status showed {max_running} running");
    assert!(
        saw_queue_position,
        "waiting Generations said where they are in the queue"
    );
    let seen: Vec<usize> = std::fs::read_to_string(server.data_dir().join("concurrency.log"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 200, "each generation ran once");
    assert!(
        seen.iter().all(|n| *n <= 4),
        "a task saw more than 4 running: {:?}",
        seen.iter().max()
    );
    let queued_message = server.kubectl(&["get", "gen"]);
    assert!(queued_message.status.success());
}

#[tokio::test]
async fn a_spec_changed_while_running_is_reported_and_the_run_still_completes() {
    let server = serve(&[]);
    let api = api(&server).await;
    api.create(
        &PostParams::default(),
        &generation("edited", "An app test:sleep=2", 0),
    )
    .await
    .unwrap();
    wait_for(&api, "edited", 20, |g| phase(g) == Some(Phase::Running)).await;
    let change = json!({"spec": {"prompt": "Something else entirely test:sleep=2", "retries": 3}});
    api.patch("edited", &PatchParams::default(), &Patch::Merge(change))
        .await
        .unwrap();
    let flagged = wait_for(&api, "edited", 20, |g| {
        condition(g, "Accepted").is_some_and(|c| c.0 == "False")
    })
    .await;
    assert_eq!(
        condition(&flagged, "Accepted").unwrap().1,
        "SpecChangedAfterLaunch"
    );
    let done = wait_for(&api, "edited", 30, |g| phase(g) == Some(Phase::Delivered)).await;
    assert_eq!(done.status.unwrap().attempts.len(), 1);
    let (code, _) = server.http("GET", "/healthz", "text/plain", b"");
    assert_eq!(code, 200, "the server is still serving");
}

#[tokio::test]
async fn metrics_count_reconciles_and_launches() {
    let server = serve(&[]);
    let api = api(&server).await;
    api.create(&PostParams::default(), &generation("measured", "An app", 0))
        .await
        .unwrap();
    wait_for(&api, "measured", 30, |g| phase(g) == Some(Phase::Delivered)).await;
    let (code, body) = server.http("GET", "/metrics", "text/plain", b"");
    assert_eq!(code, 200);
    for metric in [
        "appgen_reconciles_total",
        "appgen_launch_latency_seconds_count 1",
        "appgen_task_duration_seconds_count 1",
        "appgen_queue_depth",
        "appgen_running_tasks",
    ] {
        assert!(body.contains(metric), "{metric} in:\n{body}");
    }
}

#[tokio::test]
async fn appgen_controller_runs_alone_against_a_kubeconfig() {
    let server = Server::start();
    let mut controller = std::process::Command::new(common::APPGEN)
        .args([
            "controller",
            "--metrics-listen",
            "127.0.0.1:0",
            "--generator",
            GENERATOR,
            "--data-dir",
        ])
        .arg(server.data_dir())
        .env("KUBECONFIG", &server.kubeconfig)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let api = api(&server).await;
    api.create(&PostParams::default(), &generation("elsewhere", "An app", 0))
        .await
        .unwrap();
    let done = wait_for(&api, "elsewhere", 30, |g| phase(g) == Some(Phase::Delivered)).await;
    let _ = controller.kill();
    let _ = controller.wait();
    assert_eq!(done.status.unwrap().attempts.len(), 1);
}

#[tokio::test]
async fn a_task_whose_generation_vanished_while_the_controller_was_down_is_swept() {
    let mut server = serve(&[]);
    let api = api(&server).await;
    let created = api
        .create(
            &PostParams::default(),
            &generation("orphan", "An app test:sleep=300", 0),
        )
        .await
        .unwrap();
    wait_for(&api, "orphan", 20, |g| phase(g) == Some(Phase::Running)).await;
    let uid = created.uid().unwrap();
    // With the controller down, the Generation goes without its finalizer running.
    server.restart_with(&["--no-controller"]);
    let api = self::api(&server).await;
    api.patch(
        "orphan",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    api.delete("orphan", &DeleteParams::default()).await.unwrap();
    assert!(
        !processes_mentioning(&uid).is_empty(),
        "the task outlived its Generation"
    );
    server.restart_with(&["--generator", GENERATOR, "--sweep-seconds", "1"]);
    wait_until_no_process(&uid, "the orphan was not swept").await;
}

#[tokio::test]
async fn a_finished_generation_is_deleted_after_its_ttl() {
    let server = serve(&[]);
    let api = api(&server).await;
    let mut g = generation("shortlived", "An app", 0);
    g.spec.ttl_seconds_after_finished = Some(0);
    api.create(&PostParams::default(), &g).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get_opt("shortlived").await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "still there after its TTL");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
