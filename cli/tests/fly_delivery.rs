//! Deploying to Fly.io, against a contract fake of the Fly Machines API on loopback (the only
//! stand-in for a real service here): it checks each request against the documented endpoints
//! (`POST /v1/apps`, `GET /v1/apps/{app}`, `GET|POST /v1/apps/{app}/machines`,
//! `GET /v1/apps/{app}/machines/{id}/wait?state=started`, `GET|DELETE /v1/apps/{app}/machines/{id}`)
//! and answers as Fly.io documents, including its error answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
}

/// Contract fake of the Fly Machines API.
struct ContractFakeFly {
    address: SocketAddr,
    state: Arc<Mutex<Fake>>,
    _runtime: tokio::runtime::Runtime,
}

impl ContractFakeFly {
    fn start(fake: Fake) -> ContractFakeFly {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(fake));
        let app = axum::Router::new().fallback(answer).with_state(state.clone());
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
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
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
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
                && config["env"]["APPGEN_ARCHIVE_URL"] == ARCHIVE;
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
