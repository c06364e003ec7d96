//! A local ECS for tests: a moto server started by the test, and in front of it [`EcsStandIn`],
//! a small HTTP proxy that does what real ECS does and moto does not, so the backend under test
//! talks to something that behaves like ECS:
//!
//! - moto sends `containers[].cpu` and `memory` as numbers where ECS (and the SDK) has strings;
//! - moto ignores RunTask's `clientToken`; ECS answers a repeated token with the first task;
//! - moto runs no containers: a task acts out what its `--input` URI says (`exit-<code>` exits
//!   with that code at once, anything else runs until stopped), a task whose image is
//!   [`MISSING_IMAGE`] fails to pull, and StopTask records `UserInitiated` as ECS does;
//! - a RunTask on the capacity provider [`NO_CAPACITY`] is answered with a placement failure;
//! - moto places capacity-provider tasks only on EC2 instances, so a RunTask on Fargate's own
//!   providers (`FARGATE`, `FARGATE_SPOT`) reaches moto as launch type FARGATE;
//! - the test can make it answer calls with `ThrottlingException`, or lose moto's answer.
//!
//! Everything else is moto's. Available with the crate's `moto` feature.
// A test fixture: failing loudly is how it reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ecs::config::{Credentials, Region};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

use crate::{EcsBackend, EcsConfig};

/// The image a task definition names when its tasks must fail to pull.
pub const MISSING_IMAGE: &str = "registry.invalid/appgen/generator:missing";
/// A capacity provider that never has room.
pub const NO_CAPACITY: &str = "NO_CAPACITY";
/// The cluster, and the task definitions the fixture registers: one that runs, one whose image is missing.
pub const CLUSTER: &str = "appgen";
pub const TASK_DEFINITION: &str = "appgen-generator";
pub const MISSING_TASK_DEFINITION: &str = "appgen-missing";
pub const CONTAINER: &str = "generator";
pub const REGION: &str = "us-east-1";

const INSTALL_HINT: &str = "the ECS tests need moto's server: run scripts/test as the README says \
     (it installs it), or `pip install 'moto[server]==5.2.1'`";

/// Creates the cluster and the task definitions, finds the default VPC's subnet and security
/// group (Fargate's awsvpc needs both in moto), and keeps tasks in their state until a call
/// changes it (moto otherwise moves a task one step towards STOPPED per DescribeTasks).
const FIXTURES: &str = r#"
import boto3, json, sys, urllib.request
endpoint, cluster, container = sys.argv[1], sys.argv[2], sys.argv[3]
definitions = json.loads(sys.argv[4])
aws = dict(endpoint_url=endpoint, region_name=sys.argv[5], aws_access_key_id="testing", aws_secret_access_key="testing")
ec2, ecs = boto3.client("ec2", **aws), boto3.client("ecs", **aws)
subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]
group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
ecs.create_cluster(clusterName=cluster)
for family, image in definitions.items():
    ecs.register_task_definition(family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="1024", memory="2048", containerDefinitions=[{"name": container, "image": image, "memory": 2048, "essential": True}])
transition = {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1000000000}}
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/state-manager/set-transition",
    data=json.dumps(transition).encode(), method="POST")).read()
print(json.dumps({"subnet": subnet, "security_group": group}))
"#;

/// A moto server with the fixtures, behind an [`EcsStandIn`]. Killed when dropped.
#[derive(Debug)]
pub struct MotoEcs {
    child: Child,
    /// Moto's own address, for S3 and for checks that must bypass the stand-in.
    pub moto_endpoint: String,
    /// The stand-in's address: where the backend under test sends its ECS calls.
    pub endpoint: String,
    pub subnet: String,
    pub security_group: String,
    pub stand_in: EcsStandIn,
    /// Moto's request log; read when it fails to start, and large enough that a pipe would fill.
    log: tempfile::NamedTempFile,
}

impl Drop for MotoEcs {
    fn drop(&mut self) {
        // Its own child, by handle: nothing else is signalled.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MotoEcs {
    /// Starts moto on a free loopback port, lays out the fixtures and puts the stand-in in front.
    pub async fn start() -> MotoEcs {
        // moto cannot bind port 0, so borrow a free port from the OS and hand it over.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|error| match error.kind() {
                ErrorKind::NotFound => panic!("moto_server is not on PATH; {INSTALL_HINT}"),
                _ => panic!("could not start moto_server: {error}; {INSTALL_HINT}"),
            });
        let moto_endpoint = format!("http://127.0.0.1:{port}");
        let mut moto = MotoEcs {
            child,
            endpoint: String::new(),
            moto_endpoint,
            subnet: String::new(),
            security_group: String::new(),
            stand_in: EcsStandIn::default(),
            log,
        };
        moto.wait_until_listening(port);
        let definitions =
            json!({ TASK_DEFINITION: "appgen/generator:test", MISSING_TASK_DEFINITION: MISSING_IMAGE });
        let out = Command::new("python3")
            .args([
                "-c",
                FIXTURES,
                &moto.moto_endpoint,
                CLUSTER,
                CONTAINER,
                &definitions.to_string(),
                REGION,
            ])
            .output()
            .expect("python3 runs the fixtures (moto brings boto3)");
        assert!(
            out.status.success(),
            "the ECS fixtures failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let made: Value = serde_json::from_slice(&out.stdout).unwrap();
        moto.subnet = made["subnet"].as_str().unwrap().to_owned();
        moto.security_group = made["security_group"].as_str().unwrap().to_owned();
        let address = moto.stand_in.serve(moto.moto_endpoint.clone()).await;
        moto.endpoint = format!("http://{address}");
        moto
    }

    fn wait_until_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
                panic!("moto_server exited with {status} before listening; {INSTALL_HINT}\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SDK settings with moto's fake credentials, whatever the environment says.
    pub async fn sdk_config() -> SdkConfig {
        appgen_artifacts::aws_config_loader()
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .region(Region::new(REGION))
            .load()
            .await
    }

    /// The backend's settings for this server, running `task_definition`, retrying quickly.
    pub fn config(&self, task_definition: &str) -> EcsConfig {
        let mut config = EcsConfig::new(
            CLUSTER.to_owned(),
            task_definition.to_owned(),
            CONTAINER.to_owned(),
        );
        config.subnets = vec![self.subnet.clone()];
        config.security_groups = vec![self.security_group.clone()];
        config.endpoint = Some(self.endpoint.clone());
        config.region = Some(REGION.to_owned());
        config.max_attempts = 3;
        config.initial_backoff = Duration::from_millis(20);
        config
    }

    /// A new backend instance on this server, as a restarted controller builds one.
    pub async fn backend(&self, config: EcsConfig) -> EcsBackend {
        EcsBackend::from_sdk_config(config, &Self::sdk_config().await).unwrap()
    }

    /// A plain ECS client through the stand-in, for checking what the backend did.
    pub async fn client(&self) -> aws_sdk_ecs::Client {
        let config = aws_sdk_ecs::config::Builder::from(&Self::sdk_config().await)
            .endpoint_url(&self.endpoint)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_ecs::Client::from_conf(config)
    }

    /// Every task moto holds on the cluster, described with tags.
    pub async fn tasks(&self) -> Vec<aws_sdk_ecs::types::Task> {
        let client = self.client().await;
        let mut arns = Vec::new();
        for status in [
            aws_sdk_ecs::types::DesiredStatus::Running,
            aws_sdk_ecs::types::DesiredStatus::Stopped,
        ] {
            let listed = client
                .list_tasks()
                .cluster(CLUSTER)
                .desired_status(status)
                .send()
                .await
                .unwrap();
            arns.extend(listed.task_arns().iter().cloned());
        }
        if arns.is_empty() {
            return Vec::new();
        }
        client
            .describe_tasks()
            .cluster(CLUSTER)
            .set_tasks(Some(arns))
            .include(aws_sdk_ecs::types::TaskField::Tags)
            .send()
            .await
            .unwrap()
            .tasks()
            .to_vec()
    }
}

/// The proxy in front of moto (see the module documentation). Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct EcsStandIn(Arc<Mutex<StandInState>>);

#[derive(Debug, Default)]
struct StandInState {
    /// Calls of each operation still to answer with ThrottlingException, without asking moto.
    throttle: HashMap<String, u32>,
    /// Calls of each operation whose answer from moto is still to be lost (replaced by a 500).
    lose: HashMap<String, u32>,
    /// RunTask answers by clientToken.
    tokens: HashMap<String, Bytes>,
    /// Every operation moto itself was asked, in order.
    reached_moto: Vec<String>,
}

impl EcsStandIn {
    /// Answers the next `times` calls of `operation` (`RunTask`, `DescribeTasks`, ...) with
    /// ThrottlingException, as ECS does past its request rate.
    pub fn throttle(&self, operation: &str, times: u32) {
        self.state().throttle.insert(operation.to_owned(), times);
    }

    /// Sends the next `times` calls of `operation` to moto but answers 500 instead of moto's
    /// answer, as when a connection drops after ECS acted.
    pub fn lose_answers(&self, operation: &str, times: u32) {
        self.state().lose.insert(operation.to_owned(), times);
    }

    /// Forgets the clientTokens seen so far, as ECS does after a while.
    pub fn forget_client_tokens(&self) {
        self.state().tokens.clear();
    }

    /// How many calls of `operation` reached moto.
    pub fn reached_moto(&self, operation: &str) -> usize {
        self.state()
            .reached_moto
            .iter()
            .filter(|o| *o == operation)
            .count()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, StandInState> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Listens on a free loopback port in front of `moto`; returns the address.
    async fn serve(&self, moto: String) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let stand_in = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (stand_in, client, moto) = (stand_in.clone(), client.clone(), moto.clone());
                let service = hyper::service::service_fn(move |request| {
                    let (stand_in, client, moto) = (stand_in.clone(), client.clone(), moto.clone());
                    async move {
                        Ok::<_, std::convert::Infallible>(stand_in.answer(request, &client, &moto).await)
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        address
    }

    async fn answer(
        &self,
        request: Request<Incoming>,
        client: &Client<HttpConnector, Full<Bytes>>,
        moto: &str,
    ) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let mut body = body.collect().await.unwrap().to_bytes();
        let operation = parts
            .headers
            .get("x-amz-target")
            .and_then(|t| t.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if take(&mut self.state().throttle, &operation) {
            return error(400, "ThrottlingException", "Rate exceeded");
        }
        let token = asked["clientToken"].as_str().map(str::to_owned);
        if operation == "RunTask" {
            if let Some(first) = token.as_ref().and_then(|t| self.state().tokens.get(t).cloned()) {
                return json_response(200, first);
            }
            let strategy = asked["capacityProviderStrategy"].as_array();
            if strategy.is_some_and(|s| s.iter().any(|p| p["capacityProvider"] == NO_CAPACITY)) {
                let failure = json!({ "tasks": [], "failures": [{ "arn": format!("arn:aws:ecs:{REGION}:123456789012:capacity-provider/{NO_CAPACITY}"),
                    "reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone" }] });
                return json_response(200, Bytes::from(failure.to_string()));
            }
            let fargate =
                |p: &Value| matches!(p["capacityProvider"].as_str(), Some("FARGATE" | "FARGATE_SPOT"));
            if let (Some(strategy), Value::Object(run)) = (strategy, &asked)
                && strategy.iter().all(fargate)
            {
                let mut run = run.clone();
                run.remove("capacityProviderStrategy");
                run.insert("launchType".to_owned(), json!("FARGATE"));
                body = Bytes::from(Value::Object(run).to_string());
            }
        }
        let mut forwarded = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{moto}{}", parts.uri.path()));
        for (name, value) in &parts.headers {
            // The body may have been rewritten above; hyper sets its length.
            if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
                forwarded = forwarded.header(name, value);
            }
        }
        let response = client
            .request(forwarded.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        self.state().reached_moto.push(operation.clone());
        let status = response.status().as_u16();
        let answer = response.into_body().collect().await.unwrap().to_bytes();
        let answer = match serde_json::from_slice::<Value>(&answer) {
            Ok(mut value) if status == 200 => {
                if let Some(tasks) = value["tasks"].as_array_mut() {
                    tasks.iter_mut().for_each(act_out);
                }
                if value["task"].is_object() {
                    act_out(&mut value["task"]);
                }
                Bytes::from(value.to_string())
            }
            _ => answer,
        };
        if let (Some(token), "RunTask", 200) = (token, operation.as_str(), status) {
            self.state().tokens.insert(token, answer.clone());
        }
        if take(&mut self.state().lose, &operation) {
            return error(500, "ServerException", "the answer was lost on the way");
        }
        json_response(status, answer)
    }
}

/// Counts down `operation`'s entry; true when it had one left.
fn take(counts: &mut HashMap<String, u32>, operation: &str) -> bool {
    match counts.get_mut(operation) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

/// The task as ECS would describe it (see the module documentation).
fn act_out(task: &mut Value) {
    let image = task["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let input = task["overrides"]["containerOverrides"][0]["command"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let exit_code = input
        .split_once("exit-")
        .and_then(|(_, rest)| rest.split('/').next()?.parse::<i32>().ok());
    let stopped_by_stop_task = task["lastStatus"] == "STOPPED" && task["stopCode"].is_null();
    let stop_reason = task["stoppedReason"].as_str().unwrap_or_default().to_owned();
    let mut stop = |code: &str, reason: &str, exit: Option<i32>| {
        task["lastStatus"] = json!("STOPPED");
        task["desiredStatus"] = json!("STOPPED");
        task["stopCode"] = json!(code);
        task["stoppedReason"] = json!(reason);
        for container in task["containers"].as_array_mut().into_iter().flatten() {
            container["lastStatus"] = json!("STOPPED");
            container["exitCode"] = exit.map_or(Value::Null, |e| json!(e));
        }
    };
    if image == MISSING_IMAGE {
        stop(
            "TaskFailedToStart",
            &format!(
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): {image}: not found"
            ),
            None,
        );
    } else if let Some(code) = exit_code {
        stop(
            "EssentialContainerExited",
            "Essential container in task exited",
            Some(code),
        );
    } else if stopped_by_stop_task {
        // The generator ends on StopTask's SIGTERM.
        stop("UserInitiated", &stop_reason, Some(143));
    } else {
        // A running container has no exit code; moto's 0 is made up.
        for container in task["containers"].as_array_mut().into_iter().flatten() {
            container["lastStatus"] = json!("RUNNING");
            container["exitCode"] = Value::Null;
        }
    }
    for container in task["containers"].as_array_mut().into_iter().flatten() {
        if let Some(object) = container.as_object_mut() {
            object.retain(|_, v| !v.is_null());
            for field in ["cpu", "memory"] {
                if let Some(n) = object.get(field).filter(|v| v.is_number()).cloned() {
                    object.insert(field.to_owned(), json!(n.to_string()));
                }
            }
        }
    }
}

fn json_response(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .body(Full::new(body))
        .unwrap()
}

fn error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let mut response = json_response(
        status,
        Bytes::from(json!({ "__type": code, "message": message }).to_string()),
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", code.parse().unwrap());
    response
}
