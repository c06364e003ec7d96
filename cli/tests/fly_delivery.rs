//! Deploying to Fly.io, against a contract fake of the Fly Machines API on loopback (the only
//! stand-in for a real service here): it checks each request against the documented endpoints
//! (`POST /v1/apps`, `GET /v1/apps/{app}`, `GET|POST /v1/apps/{app}/machines`,
//! `GET /v1/apps/{app}/machines/{id}/wait?state=started`, `GET|DELETE /v1/apps/{app}/machines/{id}`)
//! and answers as Fly.io documents, including its error answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appgen_generator::DeliveryConfig;
use appgen_generator::delivery::DeliveryError;
use appgen_generator::delivery::fly::{self, Patience};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const TOKEN: &str = "fo1_contractFakeFlyToken0123456789";
const ARCHIVE: &str = "https://store.example/app.tar.gz?X-Amz-Expires=1800&X-Amz-Signature=abc";

#[derive(Default)]
struct Fake {
    seen: Vec<(String, String)>,
    /// Apps this token's organisation has, with their machines' ids.
    apps: BTreeMap<String, Vec<String>>,
    /// App names another organisation holds.
    taken: Vec<String>,
    /// Health check answers per machine read: `passing` after this many reads.
    reads_until_passing: usize,
    unhealthy: bool,
    reads: usize,
    machines_created: usize,
    /// When set, a machine's archive URL is fetched, as the machine would, and must hold an
    /// archive with this sha256; otherwise it must be `ARCHIVE`.
    archive_sha256: Option<String>,
    /// What fetching the archive URL gave: the URL and the sha256 of what it answered.
    fetched: Vec<(String, Result<String, String>)>,
}

/// Contract fake of the Fly Machines API.
struct ContractFakeFly {
    address: SocketAddr,
    state: Arc<Mutex<Fake>>,
    _runtime: tokio::runtime::Runtime,
}

impl ContractFakeFly {
    fn start(fake: Fake) -> ContractFakeFly {
        let state = Arc::new(Mutex::new(fake));
        let app_state = state.clone();
        let (address, runtime) =
            common::serve_on_loopback(|_| axum::Router::new().fallback(answer).with_state(app_state));
        ContractFakeFly {
            address,
            state,
            _runtime: runtime,
        }
    }

    fn config(&self, token: &str) -> DeliveryConfig {
        DeliveryConfig::from_env(
            [
                ("APPGEN_FLY_API_TOKEN", token),
                ("APPGEN_FLY_API", &format!("http://{}", self.address)),
                ("APPGEN_FLY_ORG", "acme"),
                ("APPGEN_FLY_REGION", "fra"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
    }

    fn deploy(&self, token: &str) -> Result<String, DeliveryError> {
        let patience = Patience {
            poll: Duration::from_millis(10),
            health_timeout: Duration::from_secs(2),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(fly::deploy(&self.config(token), "todo", ARCHIVE, patience))
    }

    /// The requests seen since the last call, without the repeated health reads.
    fn seen(&self) -> Vec<String> {
        let mut state = self.state.lock().unwrap();
        let mut seen: Vec<String> = state.seen.drain(..).map(|(m, p)| format!("{m} {p}")).collect();
        seen.dedup();
        seen
    }
}

fn fly_error(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({ "error": error }))).into_response()
}

async fn answer(
    State(state): State<Arc<Mutex<Fake>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let fetch = state.lock().unwrap().archive_sha256.is_some();
    let creates_machine = method == Method::POST && uri.path().ends_with("/machines");
    let fetched = match body["config"]["env"]["APPGEN_ARCHIVE_URL"].as_str() {
        Some(url) if fetch && creates_machine => Some((url.to_owned(), sha256_at(url).await)),
        _ => None,
    };
    let mut fake = state.lock().unwrap();
    let target = uri.path_and_query().map(ToString::to_string).unwrap_or_default();
    fake.seen.push((method.to_string(), target.clone()));
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if authorization != format!("Bearer {TOKEN}") {
        return fly_error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    let query = uri.query().unwrap_or("");
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "apps"]) => {
            let (Some(name), Some(_org)) = (
                body.get("app_name").and_then(Value::as_str),
                body.get("org_slug").and_then(Value::as_str),
            ) else {
                return fly_error(StatusCode::BAD_REQUEST, "app_name and org_slug are required");
            };
            if fake.apps.contains_key(name) || fake.taken.iter().any(|t| t == name) {
                return fly_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation failed: Name has already been taken");
            }
            fake.apps.insert(name.to_owned(), Vec::new());
            (StatusCode::CREATED, axum::Json(json!({ "id": "app-1", "created_at": 1 }))).into_response()
        }
        ("GET", ["v1", "apps", app]) => match fake.apps.contains_key(*app) {
            true => axum::Json(json!({ "id": "app-1", "name": app, "status": "deployed", "organization": { "slug": "acme" } })).into_response(),
            false => fly_error(StatusCode::NOT_FOUND, "app not found"),
        },
        ("GET", ["v1", "apps", app, "machines"]) => match fake.apps.get(*app) {
            Some(ids) => axum::Json(Value::Array(ids.iter().map(|id| json!({ "id": id, "state": "started" })).collect())).into_response(),
            None => fly_error(StatusCode::NOT_FOUND, "app not found"),
        },
        ("POST", ["v1", "apps", app, "machines"]) => {
            let config = &body["config"];
            let valid = body["region"].is_string()
                && config["image"].is_string()
                && config["services"][0]["internal_port"].is_u64()
                && config["checks"]["health"]["path"].is_string()
                && match (&fake.archive_sha256, &fetched) {
                    (Some(wanted), Some((_, Ok(found)))) => found == wanted,
                    (Some(_), _) => false,
                    (None, _) => config["env"]["APPGEN_ARCHIVE_URL"] == ARCHIVE,
                };
            fake.fetched.extend(fetched);
            if !valid {
                return fly_error(StatusCode::BAD_REQUEST, "invalid machine config");
            }
            fake.machines_created += 1;
            let id = format!("m{}", fake.machines_created);
            let Some(ids) = fake.apps.get_mut(*app) else {
                return fly_error(StatusCode::NOT_FOUND, "app not found");
            };
            ids.push(id.clone());
            fake.reads = 0;
            axum::Json(json!({ "id": id, "name": "todo-1", "state": "created", "region": body["region"], "instance_id": "01H", "config": config })).into_response()
        }
        ("GET", ["v1", "apps", _, "machines", _, "wait"]) => {
            if !query.split('&').any(|p| p == "state=started") {
                return fly_error(StatusCode::BAD_REQUEST, "state must be given");
            }
            axum::Json(json!({ "ok": true })).into_response()
        }
        ("GET", ["v1", "apps", _, "machines", id]) => {
            fake.reads += 1;
            let status = if fake.unhealthy {
                "critical"
            } else if fake.reads > fake.reads_until_passing {
                "passing"
            } else {
                "warning"
            };
            axum::Json(json!({ "id": id, "state": "started", "checks": [{ "name": "health", "status": status, "output": if status == "critical" { "GET /api/health: connection refused" } else { "" } }] })).into_response()
        }
        ("DELETE", ["v1", "apps", app, "machines", id]) => {
            if !query.split('&').any(|p| p == "force=true") {
                return fly_error(StatusCode::PRECONDITION_FAILED, "machine is running; stop it or pass force=true");
            }
            if let Some(ids) = fake.apps.get_mut(*app) {
                ids.retain(|m| m != id);
            }
            axum::Json(json!({ "ok": true })).into_response()
        }
        _ => fly_error(StatusCode::NOT_FOUND, "not found"),
    }
}

#[test]
fn the_first_deploy_creates_the_app_and_a_follow_up_replaces_its_machine_once_healthy() {
    let fly = ContractFakeFly::start(Fake {
        reads_until_passing: 2,
        ..Fake::default()
    });
    assert_eq!(fly.deploy(TOKEN).unwrap(), "https://todo.fly.dev");
    assert_eq!(
        fly.seen(),
        [
            "GET /v1/apps/todo",
            "POST /v1/apps",
            "GET /v1/apps/todo/machines",
            "POST /v1/apps/todo/machines",
            "GET /v1/apps/todo/machines/m1/wait?state=started&timeout=60",
            "GET /v1/apps/todo/machines/m1",
        ]
    );

    assert_eq!(fly.deploy(TOKEN).unwrap(), "https://todo.fly.dev");
    assert_eq!(
        fly.seen(),
        [
            "GET /v1/apps/todo",
            "GET /v1/apps/todo/machines",
            "POST /v1/apps/todo/machines",
            "GET /v1/apps/todo/machines/m2/wait?state=started&timeout=60",
            "GET /v1/apps/todo/machines/m2",
            "DELETE /v1/apps/todo/machines/m1?force=true",
        ]
    );
    assert_eq!(fly.state.lock().unwrap().apps["todo"], ["m2"]);
}

#[test]
fn fly_error_answers_fail_the_deploy_with_their_reason_and_keep_the_old_version() {
    let running = || BTreeMap::from([("todo".to_owned(), vec!["m0".to_owned()])]);
    let taken = ContractFakeFly::start(Fake {
        taken: vec!["todo".into()],
        ..Fake::default()
    });
    let unhealthy = ContractFakeFly::start(Fake {
        apps: running(),
        unhealthy: true,
        ..Fake::default()
    });
    let slow = ContractFakeFly::start(Fake {
        apps: running(),
        reads_until_passing: usize::MAX,
        ..Fake::default()
    });
    let table = [
        (&taken, TOKEN, "AppNameTaken", "Name has already been taken"),
        (&taken, "fo1_wrong", "FlyUnauthorized", "unauthorized"),
        (&unhealthy, TOKEN, "DeployUnhealthy", "connection refused"),
        (&slow, TOKEN, "DeployUnhealthy", "did not pass within 2 s"),
    ];
    for (fly, token, reason, says) in table {
        let error = fly.deploy(token).unwrap_err();
        assert_eq!(error.reason(), reason, "{error}");
        assert!(error.to_string().contains(says), "{error}");
        assert!(!error.to_string().contains(token), "{error}");
    }
    // An unhealthy new version never replaces the one that serves.
    for fly in [&unhealthy, &slow] {
        assert!(fly.state.lock().unwrap().apps["todo"].contains(&"m0".to_owned()));
        assert!(!fly.seen().iter().any(|s| s.starts_with("DELETE")));
    }
}

/// The sha256 of what a GET of `url` answers, as a machine fetching its archive would see it.
async fn sha256_at(url: &str) -> Result<String, String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let uri: Uri = url.parse().map_err(|e| format!("{e}"))?;
    let response = client.get(uri).await.map_err(|e| format!("{e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(hex_sha256(&body))
}

fn hex_sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A moto S3 server on a free loopback port, killed when dropped.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        // moto cannot bind port 0: borrow a free port from the OS and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is on PATH (scripts/test installs it)");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// What the generator needs to reach this server's S3 with moto's test credentials.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("APPGEN_S3_FORCE_PATH_STYLE", "true".to_owned()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A delivered-looking archive: a few files under the app's folder.
fn app_archive() -> Vec<u8> {
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, contents) in [
        ("todo/package.json", "{\"name\":\"todo\"}\n"),
        ("todo/server/index.js", "console.log('todo')\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, contents.as_bytes()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn with_the_s3_store_the_machine_fetches_the_stored_archive_through_a_presigned_url() {
    let moto = Moto::start();
    let archive = app_archive();
    let sha256 = hex_sha256(&archive);
    let fly = ContractFakeFly::start(Fake {
        archive_sha256: Some(sha256.clone()),
        ..Fake::default()
    });
    let env = moto.env();
    let prefix = "generations/default/todo/0b6f2c1e-uid/";
    let input_uri = format!("s3://appgen-test/{prefix}input.json");
    let input = appgen_crd::task::TaskInput {
        namespace: "default".into(),
        name: "todo".into(),
        uid: "0b6f2c1e-uid".into(),
        attempt: 2,
        observed_generation: 2,
        spec: appgen_crd::GenerationSpec {
            app: Some("todo".into()),
            delivery: Some(appgen_crd::DeliverySpec {
                git: None,
                deploy: Some(appgen_crd::DeploySpec {
                    target: appgen_crd::DeployTarget::Fly,
                }),
            }),
            ..appgen_crd::GenerationSpec::from_prompt("A todo list")
        },
        artifacts: format!("s3://appgen-test/{prefix}"),
        parent_uid: None,
        parent_commit: None,
        redelivery: Some(appgen_crd::task::Redelivery {
            sha256: sha256.clone(),
            commit: None,
        }),
    };
    // The bucket, the stored archive and the input, as the controller and an earlier attempt left them.
    let object = |key: &str| format!("{}/appgen-test/{prefix}{key}", moto.endpoint);
    curl(&["-X", "PUT", &format!("{}/appgen-test", moto.endpoint)], None);
    curl(
        &["-X", "PUT", &object("input.json")],
        Some(&serde_json::to_vec(&input).unwrap()),
    );
    curl(&["-X", "PUT", &object("app.tar.gz")], Some(&archive));
    let work = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_appgen"))
        .args(["generate", "--input", &input_uri, "--workspace"])
        .arg(work.path())
        .env("APPGEN_TASK_KEY", "0b6f2c1e-uid-2")
        .env("APPGEN_FLY_API_TOKEN", TOKEN)
        .env("APPGEN_FLY_API", format!("http://{}", fly.address))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\n{:?}",
        String::from_utf8_lossy(&output.stderr),
        fly.state.lock().unwrap().fetched
    );
    let result: appgen_crd::task::TaskResult =
        serde_json::from_slice(&curl(&[&object("attempts/2/result.json")], None)).unwrap();
    let outputs = result.outputs.unwrap();
    assert_eq!(outputs.url.as_deref(), Some("https://todo.fly.dev"));
    assert_eq!(outputs.sha256.as_deref(), Some(sha256.as_str()));
    let fake = fly.state.lock().unwrap();
    let [(url, fetched)] = fake.fetched.as_slice() else {
        panic!("one machine fetched its archive: {:?}", fake.fetched);
    };
    assert_eq!(fetched.as_deref(), Ok(sha256.as_str()), "{url}");
    assert!(
        url.starts_with(&moto.endpoint) && url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires="),
        "a presigned URL of the store: {url}"
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains(TOKEN));
    // Without its signature the same object is refused: the URL works because it is presigned.
    let unsigned = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(url.split('?').next().unwrap())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&unsigned.stdout), "403");
}

/// Runs curl with `args` as a signed S3 request with moto's test credentials, sending `body` when
/// given, and returns what it printed; fails the test on an HTTP error.
fn curl(args: &[&str], body: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("curl")
        .args([
            "-sSf",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
            "--user",
            "testing:testing",
        ])
        .args(args)
        // As bytes: with curl's default form type, moto would read the archive as a form.
        .args(body.map_or(&[][..], |_| {
            &[
                "-H",
                "Content-Type: application/octet-stream",
                "--data-binary",
                "@-",
            ][..]
        }))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(body.unwrap_or_default()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
