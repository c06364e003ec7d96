//! Deploying the delivered archive to Fly.io through the Machines API: the app is created when
//! missing, a machine from a stock Node image fetches the archive through a short-lived URL,
//! builds and starts it; once its health check passes, the app's older machines are destroyed so
//! `https://<app>.fly.dev` serves the new version. The machine's configuration and the reading of
//! every answer are pure; `deploy` only sends what they say.

use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::http::{Answer, JsonClient};
use super::{DeliveryConfig, DeliveryError};

/// The port the app listens on inside the machine; Fly's proxy sends 80/443 to it.
const INTERNAL_PORT: u16 = 8080;

/// Fetches the archive with Node itself (stock Node images have no curl), then builds and starts
/// the app the way its README says.
const START_SCRIPT: &str = r#"set -e
mkdir -p /srv/app && cd /srv/app
node -e 'fetch(process.env.APPGEN_ARCHIVE_URL).then(async r => { if (!r.ok) throw new Error("the archive answered HTTP " + r.status); require("fs").writeFileSync("/tmp/app.tar.gz", Buffer.from(await r.arrayBuffer())); })'
tar -xzf /tmp/app.tar.gz --strip-components=1
corepack enable pnpm
pnpm install
pnpm build
exec pnpm start"#;

/// The app's public address.
pub fn app_url(app: &str) -> String {
    format!("https://{app}.fly.dev")
}

/// The body of `POST /v1/apps`.
pub fn app_body(app: &str, org: &str) -> Value {
    json!({ "app_name": app, "org_slug": org })
}

/// The body of `POST /v1/apps/{app}/machines`: a stock Node image that fetches `archive_url`,
/// builds and serves the app, with an HTTP health check on `/api/health`.
pub fn machine_body(archive_url: &str, region: &str, image: &str) -> Value {
    json!({
        "region": region,
        "config": {
            "image": image,
            "env": {
                "APPGEN_ARCHIVE_URL": archive_url,
                "PORT": INTERNAL_PORT.to_string(),
                "HOST": "0.0.0.0",
                "NODE_ENV": "production",
                "DATA_DIR": "/srv/data",
            },
            "init": { "cmd": ["sh", "-c", START_SCRIPT] },
            "guest": { "cpu_kind": "shared", "cpus": 1, "memory_mb": 1024 },
            "services": [{
                "protocol": "tcp",
                "internal_port": INTERNAL_PORT,
                "ports": [
                    { "port": 443, "handlers": ["tls", "http"] },
                    { "port": 80, "handlers": ["http"], "force_https": true },
                ],
            }],
            "checks": {
                "health": {
                    "type": "http",
                    "port": INTERNAL_PORT,
                    "method": "GET",
                    "path": "/api/health",
                    "interval": "10s",
                    "timeout": "5s",
                    // Install and build happen before the app listens.
                    "grace_period": "300s",
                },
            },
            "restart": { "policy": "on-failure", "max_retries": 3 },
        },
    })
}

/// What a machine's checks say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Passing,
    /// Not yet decided (no checks reported, or some still starting).
    Pending,
    /// A check is critical, with its output.
    Failing(String),
}

/// Reads `checks` of a machine as `GET /v1/apps/{app}/machines/{id}` describes it.
pub fn health(machine: &Value) -> Health {
    let checks = machine
        .get("checks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if checks.is_empty() {
        return Health::Pending;
    }
    let status = |c: &Value| c.get("status").and_then(Value::as_str).unwrap_or("").to_owned();
    if let Some(critical) = checks.iter().find(|c| status(c) == "critical") {
        let output = critical
            .get("output")
            .and_then(Value::as_str)
            .unwrap_or("no output");
        return Health::Failing(output.to_owned());
    }
    if checks.iter().all(|c| status(c) == "passing") {
        Health::Passing
    } else {
        Health::Pending
    }
}

/// The machines of an app (`GET /v1/apps/{app}/machines`) other than `keep`: the older versions.
pub fn older_machines(machines: &Value, keep: &str) -> Vec<String> {
    machines
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| m.get("id").and_then(Value::as_str))
                .filter(|id| *id != keep)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What an unsuccessful answer of the Machines API means.
pub fn refusal(answer: &Answer, action: &str, app: &str) -> DeliveryError {
    let message = answer
        .body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    match answer.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => DeliveryError::FlyUnauthorized(message),
        StatusCode::TOO_MANY_REQUESTS => DeliveryError::FlyRateLimited(message),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT if action == "create the app" => {
            DeliveryError::FlyAppRefused {
                app: app.to_owned(),
                message,
            }
        }
        status => DeliveryError::Fly {
            action: action.to_owned(),
            status: status.as_u16(),
            message,
        },
    }
}

/// How long to wait for a new machine's health check, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Patience {
    pub poll: Duration,
    pub health_timeout: Duration,
}

impl Default for Patience {
    fn default() -> Patience {
        Patience {
            poll: Duration::from_secs(5),
            health_timeout: Duration::from_secs(600),
        }
    }
}

/// Deploys the archive at `archive_url` as the Fly app `app` and returns its URL.
pub async fn deploy(
    config: &DeliveryConfig,
    app: &str,
    archive_url: &str,
    patience: Patience,
) -> Result<String, DeliveryError> {
    let token = config.fly_token.as_deref().ok_or(DeliveryError::NoFlyToken)?;
    let client = JsonClient::new(
        &config.fly_api,
        vec![("authorization", format!("Bearer {token}"))],
    )
    .map_err(|reason| unreachable(config, reason))?;
    let call = |method: Method, path: String, body: Option<Value>| {
        let client = &client;
        async move {
            client
                .call(method, &path, body.as_ref())
                .await
                .map_err(|reason| unreachable(config, reason))
        }
    };

    let found = call(Method::GET, format!("/v1/apps/{app}"), None).await?;
    match found.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => {
            let created = call(
                Method::POST,
                "/v1/apps".to_owned(),
                Some(app_body(app, &config.fly_org)),
            )
            .await?;
            if !created.status.is_success() {
                return Err(refusal(&created, "create the app", app));
            }
        }
        _ => return Err(refusal(&found, "look up the app", app)),
    }
    let listed = call(Method::GET, format!("/v1/apps/{app}/machines"), None).await?;
    if listed.status != StatusCode::OK {
        return Err(refusal(&listed, "list the app's machines", app));
    }
    let created = call(
        Method::POST,
        format!("/v1/apps/{app}/machines"),
        Some(machine_body(archive_url, &config.fly_region, &config.fly_image)),
    )
    .await?;
    let id = match (created.status, created.body.get("id").and_then(Value::as_str)) {
        (StatusCode::OK, Some(id)) => id.to_owned(),
        _ => return Err(refusal(&created, "create a machine", app)),
    };
    let started = call(
        Method::GET,
        format!("/v1/apps/{app}/machines/{id}/wait?state=started&timeout=60"),
        None,
    )
    .await?;
    if started.status != StatusCode::OK {
        return Err(refusal(&started, "wait for the machine to start", app));
    }
    let polls = (patience.health_timeout.as_millis() / patience.poll.as_millis().max(1)).max(1);
    let mut last = Health::Pending;
    for _ in 0..polls {
        let machine = call(Method::GET, format!("/v1/apps/{app}/machines/{id}"), None).await?;
        if machine.status != StatusCode::OK {
            return Err(refusal(&machine, "read the machine", app));
        }
        last = health(&machine.body);
        if last != Health::Pending {
            break;
        }
        tokio::time::sleep(patience.poll).await;
    }
    match last {
        Health::Passing => {}
        Health::Failing(output) => {
            return Err(DeliveryError::FlyUnhealthy {
                machine: id,
                message: output,
            });
        }
        Health::Pending => {
            return Err(DeliveryError::FlyUnhealthy {
                machine: id,
                message: format!(
                    "its health check did not pass within {} s",
                    patience.health_timeout.as_secs()
                ),
            });
        }
    }
    // Only once the new version answers: the older ones go, so the URL serves the new one.
    for older in older_machines(&listed.body, &id) {
        let gone = call(
            Method::DELETE,
            format!("/v1/apps/{app}/machines/{older}?force=true"),
            None,
        )
        .await?;
        if !gone.status.is_success() && gone.status != StatusCode::NOT_FOUND {
            return Err(refusal(&gone, "destroy an older machine", app));
        }
    }
    Ok(app_url(app))
}

fn unreachable(config: &DeliveryConfig, reason: String) -> DeliveryError {
    DeliveryError::FlyUnreachable {
        api: config.fly_api.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_fetches_the_archive_and_is_checked_on_api_health() {
        let body = machine_body(
            "https://s3.example/app.tar.gz?X-Amz-Expires=900",
            "fra",
            "node:22-bookworm-slim",
        );
        assert_eq!(body["region"], "fra");
        assert_eq!(body["config"]["image"], "node:22-bookworm-slim");
        assert_eq!(
            body["config"]["env"]["APPGEN_ARCHIVE_URL"],
            "https://s3.example/app.tar.gz?X-Amz-Expires=900"
        );
        assert_eq!(body["config"]["env"]["PORT"], "8080");
        assert_eq!(body["config"]["services"][0]["internal_port"], 8080);
        assert_eq!(body["config"]["checks"]["health"]["path"], "/api/health");
        let script = body["config"]["init"]["cmd"][2].as_str().unwrap();
        assert!(
            script.contains("APPGEN_ARCHIVE_URL") && script.ends_with("exec pnpm start"),
            "{script}"
        );
        assert_eq!(
            app_body("todo", "acme"),
            json!({"app_name": "todo", "org_slug": "acme"})
        );
        assert_eq!(app_url("todo"), "https://todo.fly.dev");
    }

    #[test]
    fn health_is_read_from_the_machine_checks() {
        let table = [
            (json!({}), Health::Pending),
            (json!({"checks": []}), Health::Pending),
            (
                json!({"checks": [{"name": "health", "status": "warning"}]}),
                Health::Pending,
            ),
            (
                json!({"checks": [{"name": "health", "status": "passing"}]}),
                Health::Passing,
            ),
            (
                json!({"checks": [{"name": "health", "status": "critical", "output": "connection refused"}]}),
                Health::Failing("connection refused".into()),
            ),
        ];
        for (machine, expected) in table {
            assert_eq!(health(&machine), expected, "{machine}");
        }
    }

    #[test]
    fn older_machines_are_every_machine_but_the_new_one() {
        let listed = json!([{"id": "old1"}, {"id": "new"}, {"id": "old2"}]);
        assert_eq!(older_machines(&listed, "new"), ["old1", "old2"]);
        assert!(older_machines(&json!(null), "new").is_empty());
    }

    #[test]
    fn machines_api_errors_become_clear_reasons() {
        let answer = |status: u16, error: &str| Answer {
            status: StatusCode::from_u16(status).unwrap(),
            rate_limit_remaining: None,
            body: json!({ "error": error }),
        };
        let table = [
            (answer(401, "unauthorized"), "look up the app", "FlyUnauthorized"),
            (
                answer(422, "Validation failed: Name has already been taken"),
                "create the app",
                "AppNameTaken",
            ),
            (
                answer(429, "rate limit exceeded"),
                "create a machine",
                "RateLimited",
            ),
            (answer(500, "internal"), "create a machine", "DeployFailed"),
        ];
        for (answer, action, reason) in table {
            let error = refusal(&answer, action, "todo");
            assert_eq!(error.reason(), reason, "{error}");
        }
    }
}
