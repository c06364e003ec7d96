//! `appgen serve --backend ecs` with ECS and S3 both on a local moto server (ECS behind the
//! stand-in that acts out what moto lacks, see `appgen_ecs::moto`): a Generation runs as a tagged
//! ECS task, and `spec.cancel` stops that task.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use appgen_crd::{Generation, GenerationSpec, Phase};
use appgen_ecs::moto::{CLUSTER, MotoEcs, REGION, TASK_DEFINITION};
use common::Server;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

const BUCKET: &str = "appgen-ecs-test";

fn create_bucket(moto: &MotoEcs) {
    let script = "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name=sys.argv[2], \
         aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=sys.argv[3])";
    let out = Command::new("python3")
        .args(["-c", script, &moto.moto_endpoint, REGION, BUCKET])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn wait_for(api: &Api<Generation>, name: &str, check: impl Fn(&Generation) -> bool) -> Generation {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let g = api.get(name).await.unwrap();
        if check(&g) {
            return g;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never got there; last status: {:#?}",
            g.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn phase(g: &Generation) -> Option<Phase> {
    g.status.as_ref().and_then(|s| s.phase)
}

#[tokio::test]
async fn serve_runs_a_generation_as_an_ecs_task_and_cancel_stops_it() {
    let moto = MotoEcs::start().await;
    create_bucket(&moto);
    let artifacts = format!("s3://{BUCKET}/prod");
    let server = Server::start_with_env(
        &[
            "--backend",
            "ecs",
            "--artifacts",
            &artifacts,
            "--ecs-cluster",
            CLUSTER,
            "--ecs-task-definition",
            TASK_DEFINITION,
            "--ecs-subnets",
            &moto.subnet,
            "--ecs-security-groups",
            &moto.security_group,
            "--sweep-seconds",
            "1",
        ],
        &[
            ("AWS_ENDPOINT_URL_ECS", &moto.endpoint),
            ("AWS_ENDPOINT_URL", &moto.moto_endpoint),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("APPGEN_S3_FORCE_PATH_STYLE", "true"),
        ],
    );
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let spec = GenerationSpec {
        app: Some("todo".into()),
        timeout_seconds: Some(600),
        ..GenerationSpec::from_prompt("A todo list")
    };
    let created = api
        .create(&PostParams::default(), &Generation::new("on-ecs", spec))
        .await
        .unwrap();
    let uid = created.uid().unwrap();
    wait_for(&api, "on-ecs", |g| phase(g) == Some(Phase::Running)).await;

    let tasks = moto.tasks().await;
    assert_eq!(tasks.len(), 1, "one task in ECS: {tasks:?}\n{}", server.log());
    let tag = |key: &str| {
        tasks[0]
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(tag("appgen.dev/task-key"), Some(format!("{uid}-1")));
    assert_eq!(tag("appgen.dev/namespace").as_deref(), Some("default"));
    assert_eq!(tag("appgen.dev/generation").as_deref(), Some("on-ecs"));
    assert_eq!(tag("appgen.dev/uid"), Some(uid.clone()));
    assert_eq!(tasks[0].last_status(), Some("RUNNING"));
    let command = tasks[0].overrides().unwrap().container_overrides()[0].command();
    assert!(
        command.last().is_some_and(
            |input| input.starts_with(&format!("s3://{BUCKET}/prod/generations/default/on-ecs/{uid}/"))
        ),
        "the task reads its input from the bucket: {command:?}"
    );

    api.patch(
        "on-ecs",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"cancel": true}})),
    )
    .await
    .unwrap();
    wait_for(&api, "on-ecs", |g| phase(g) == Some(Phase::Cancelled)).await;
    let tasks = moto.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].desired_status(), Some("STOPPED"));
    assert_eq!(tasks[0].last_status(), Some("STOPPED"));
    assert_eq!(tasks[0].stopped_reason(), Some("stopped by appgen"));
}
