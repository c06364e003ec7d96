//! `appgen serve --backend ecs` with ECS and S3 both on a local moto server (ECS behind the
//! stand-in that acts out what moto lacks, see `appgen_ecs::moto`): a Generation runs as a tagged
//! ECS task, and `spec.cancel` stops that task. Configured as the AWS stack configures it, a task
//! holds no AWS credentials and works through the grant it is handed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use appgen_artifacts::ArtifactStore;
use appgen_crd::{Generation, GenerationSpec, Phase};
use appgen_ecs::moto::{CLUSTER, MotoEcs, REGION, TASK_DEFINITION};
use common::{Server, phase, wait_for};
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
    wait_for(&api, "on-ecs", 60, |g| phase(g) == Some(Phase::Running)).await;

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
    wait_for(&api, "on-ecs", 60, |g| phase(g) == Some(Phase::Cancelled)).await;
    let tasks = moto.tasks().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].desired_status(), Some("STOPPED"));
    assert_eq!(tasks[0].last_status(), Some("STOPPED"));
    assert_eq!(tasks[0].stopped_reason(), Some("stopped by appgen"));
}

/// Deploys `deploy/aws/appgen.yaml` into `moto` through the template's own test (which checks it)
/// and returns the service container's environment from the deployed task definition, with the
/// stack's outputs.
async fn deploy_the_aws_stack(moto: &MotoEcs) -> (Vec<(String, String)>, serde_json::Value) {
    let outputs = tempfile::NamedTempFile::new().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let deployed = Command::new("python3")
        .args(["-m", "pytest", "-q", "deploy/aws/test_stack.py"])
        .args(["-k", "test_outputs_name_every_setting_appgen_needs"])
        .current_dir(&repo)
        .env("APPGEN_MOTO_ENDPOINT", &moto.moto_endpoint)
        .env("APPGEN_STACK_OUTPUTS", outputs.path())
        .output()
        .expect("python3 runs pytest (scripts/test installs it)");
    assert!(
        deployed.status.success(),
        "deploying the stack into moto failed:\n{}{}",
        String::from_utf8_lossy(&deployed.stdout),
        String::from_utf8_lossy(&deployed.stderr)
    );
    let outputs: serde_json::Value = serde_json::from_slice(&std::fs::read(outputs.path()).unwrap()).unwrap();

    // Read with boto3: moto's task definitions carry numbers and nulls where the Rust SDK wants
    // strings and objects, and the backend itself never reads them.
    let script = r#"
import boto3, json, sys
ecs = boto3.client("ecs", endpoint_url=sys.argv[1], region_name=sys.argv[2],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
for arn in ecs.list_task_definitions()["taskDefinitionArns"]:
    (c, *_) = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]
    if c.get("command") == ["serve"]:
        print(json.dumps({e["name"]: e["value"] for e in c["environment"]}))
"#;
    let read = Command::new("python3")
        .args(["-c", script, &moto.moto_endpoint, REGION])
        .output()
        .unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let env: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&read.stdout)
        .unwrap_or_else(|e| panic!("no service task definition running `appgen serve` ({e})"));
    let env = env
        .into_iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => (name, text),
            // moto keeps a numeric parameter (MaxRunning) as a number; ECS has only strings.
            other => (name, other.to_string()),
        })
        .collect();
    (env, outputs)
}

#[tokio::test]
async fn serve_configured_as_the_aws_stack_configures_it_launches_generator_tasks_that_need_no_credentials() {
    let moto = MotoEcs::start().await;
    let (service_env, outputs) = deploy_the_aws_stack(&moto).await;
    // The service task's own settings, as the template writes them; only where it listens and
    // keeps its data are this machine's, and the AWS endpoints are moto's.
    let mut env: Vec<(&str, &str)> = service_env
        .iter()
        .filter(|(name, _)| !["APPGEN_LISTEN", "APPGEN_DATA_DIR"].contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    env.extend([
        ("AWS_ENDPOINT_URL_ECS", moto.endpoint.as_str()),
        ("AWS_ENDPOINT_URL", moto.moto_endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("APPGEN_S3_FORCE_PATH_STYLE", "true"),
    ]);
    let server = Server::start_with_env(&["--sweep-seconds", "1"], &env);
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let created = api
        .create(
            &PostParams::default(),
            // No words: the task fails at once, after reading its input and writing its log and
            // result, which is all this test needs of it.
            &Generation::new("from-stack", GenerationSpec::from_prompt("!!!")),
        )
        .await
        .unwrap();
    wait_for(&api, "from-stack", 60, |g| phase(g) == Some(Phase::Running)).await;

    let cluster = outputs["env"]["APPGEN_ECS_CLUSTER"].as_str().unwrap();
    let ecs = moto.client().await;
    let arns = ecs.list_tasks().cluster(cluster).send().await.unwrap();
    assert_eq!(
        arns.task_arns().len(),
        1,
        "one task on the stack's cluster\n{}",
        server.log()
    );
    let described = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.task_arns().to_vec()))
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await
        .unwrap();
    let task = &described.tasks()[0];
    assert_eq!(
        task.task_definition_arn(),
        outputs["env"]["APPGEN_ECS_TASK_DEFINITION"].as_str(),
        "the stack's generator task definition"
    );
    let uid = task.tags().iter().find(|t| t.key() == Some("appgen.dev/uid"));
    assert_eq!(
        uid.and_then(|t| t.value()),
        created.uid().as_deref(),
        "tagged as the stack's IAM policy requires"
    );
    let input = task.overrides().unwrap().container_overrides()[0]
        .command()
        .last()
        .cloned()
        .unwrap();
    let bucket = outputs["env"]["APPGEN_ARTIFACTS"]
        .as_str()
        .unwrap()
        .trim_start_matches("s3://")
        .to_owned();
    let uid = created.uid().unwrap();
    let own = format!("generations/default/from-stack/{uid}/");
    assert!(
        input.starts_with(&format!(
            "{}/{bucket}/{own}attempts/1/grant.json?",
            moto.moto_endpoint
        )),
        "the task's --input is a presigned URL of its grant in the stack's bucket: {input}"
    );

    // Play the task as the generator image would run it, with no AWS settings at all.
    let workspace = tempfile::tempdir().unwrap();
    let ran = Command::new(common::APPGEN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", workspace.path())
        .args(["generate", "--input", &input, "--workspace"])
        .arg(workspace.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(
        ran.status.code(),
        Some(1),
        "the task reports its failure through the grant\n{stderr}"
    );
    assert!(!stderr.contains("X-Amz-Signature"), "{stderr}");

    let store = appgen_artifacts::S3Store::from_sdk_config(
        appgen_artifacts::S3Config {
            bucket,
            prefix: String::new(),
            region: Some(REGION.to_owned()),
            endpoint: Some(moto.moto_endpoint.clone()),
            force_path_style: true,
        },
        &MotoEcs::sdk_config().await,
    )
    .unwrap();
    let result = store.get(&format!("{own}attempts/1/result.json")).await.unwrap();
    let result: serde_json::Value =
        serde_json::from_slice(&result.expect("the task wrote result.json")).unwrap();
    assert_eq!(result["delivered"], false);
    assert!(
        result["error"]["message"].as_str().unwrap().contains("no words"),
        "{result}"
    );
    let events = store.read_events(&format!("{own}attempts/1/"), 0).await.unwrap();
    assert!(
        events.iter().any(|e| e.body["step"] == "prepare"),
        "the task's log is in its own prefix: {events:?}"
    );
    let written = format!("{result}{}", serde_json::to_string(&events).unwrap());
    assert!(
        !written.contains("X-Amz-"),
        "the grant's signatures stay out of what the task reports: {written}"
    );
    let keys = store.list("generations/").await.unwrap();
    assert!(
        keys.iter().all(|key| key.starts_with(&own)),
        "nothing outside the Generation's prefix: {keys:?}"
    );
}
