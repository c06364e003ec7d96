//! appgen's REST API under `/api/v1` and the web UI (DESIGN.md, "One machine").
//!
//! The API writes only Generations' `spec` (create, cancel, delete) through kube-rs and reads
//! them from a watch-fed cache, so it works the same against local-apiserver and a real cluster.
//! Accounts, sessions and API tokens live in a SQLite file of their own; events and files come
//! from the artifact store.
//!
//! Its routes sit beside the Kubernetes core API, which owns `/api/v1/namespaces/…`, so they
//! begin with segments Kubernetes never uses there (`/api/v1/generations/…`, `/api/v1/auth/…`).

mod accounts;
mod auth;
mod cache;
mod error;
mod headers;
mod limits;
mod openapi;
mod routes;
mod secrets;
mod ui;
mod view;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use appgen_artifacts::ArtifactStore;
use appgen_crd::{AgentName, DeployTarget};
use axum::routing::get;
use axum::{Json, Router, middleware};

pub use accounts::Quota;
pub use error::Error;
pub use limits::RateLimit;
pub use secrets::{Entropy, system_entropy};

/// The clock the API reads; tests pass a fixed one.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// Who may create an account (`--signup`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Signup {
    /// Anyone; the first account is an administrator.
    Open,
    /// With an invite code from an administrator; without one, the account waits for approval.
    Invite,
    /// Nobody: no new accounts; existing ones keep working.
    Closed,
}

impl std::str::FromStr for Signup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Signup::Open),
            "invite" => Ok(Signup::Invite),
            "closed" => Ok(Signup::Closed),
            other => Err(format!(
                "`{other}` is not a sign-up mode; use open, invite or closed"
            )),
        }
    }
}

/// How the API behaves; every field has a default that suits one machine.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub signup: Signup,
    /// The agents a user may pick, and the one used when none is picked.
    pub agents: Vec<AgentName>,
    pub default_agent: AgentName,
    pub deploy_targets: Vec<DeployTarget>,
    /// Mark cookies `Secure`: set when the public URL is https.
    pub secure_cookies: bool,
    pub session_lifetime: Duration,
    /// Requests per user, per client address, and sign-in attempts per client address.
    pub per_user: RateLimit,
    pub per_ip: RateLimit,
    pub sign_in: RateLimit,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            signup: Signup::Open,
            agents: vec![AgentName::Scaffold],
            default_agent: AgentName::Scaffold,
            deploy_targets: vec![DeployTarget::Preview, DeployTarget::None],
            secure_cookies: false,
            session_lifetime: Duration::from_secs(14 * 24 * 3600),
            per_user: RateLimit {
                per_second: 20.0,
                burst: 200.0,
            },
            per_ip: RateLimit {
                per_second: 50.0,
                burst: 500.0,
            },
            sign_in: RateLimit {
                per_second: 0.2,
                burst: 20.0,
            },
        }
    }
}

/// What the API works with.
pub struct ApiDeps {
    pub config: ApiConfig,
    /// Bearer tokens with full access (the admin token of the data dir).
    pub admin_tokens: Vec<String>,
    pub client: kube::Client,
    pub store: Arc<dyn ArtifactStore>,
    /// The SQLite file of accounts, sessions and tokens.
    pub accounts: std::path::PathBuf,
    pub clock: Clock,
    pub entropy: Entropy,
}

/// The shared state of every route.
#[derive(Clone, Debug)]
pub struct ApiState(Arc<State>);

/// What every route shares; reached through `ApiState`.
pub struct State {
    config: ApiConfig,
    admin_tokens: Vec<String>,
    client: kube::Client,
    store: Arc<dyn ArtifactStore>,
    accounts: accounts::Accounts,
    cache: cache::Cache,
    clock: Clock,
    entropy: Entropy,
    limits: Limits,
    /// One creation at a time per namespace, so two requests cannot both squeeze under a quota.
    creating: tokio::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Namespaces known to exist, so each is created once.
    namespaces: std::sync::Mutex<std::collections::HashSet<String>>,
}

struct Limits {
    per_user: limits::RateLimiter,
    per_ip: limits::RateLimiter,
    sign_in: limits::RateLimiter,
}

impl std::ops::Deref for ApiState {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("config", &self.config)
            .field("admin_tokens", &"<redacted>")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ApiDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiDeps")
            .field("config", &self.config)
            .field("admin_tokens", &"<redacted>")
            .field("store", &self.store)
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// Opens the account database and starts watching Generations (on the current runtime).
    pub fn start(deps: ApiDeps) -> Result<ApiState, Error> {
        let accounts = accounts::Accounts::open(&deps.accounts)?;
        let limits = Limits {
            per_user: limits::RateLimiter::new(deps.config.per_user),
            per_ip: limits::RateLimiter::new(deps.config.per_ip),
            sign_in: limits::RateLimiter::new(deps.config.sign_in),
        };
        Ok(ApiState(Arc::new(State {
            cache: cache::Cache::start(deps.client.clone()),
            config: deps.config,
            admin_tokens: deps.admin_tokens,
            client: deps.client,
            store: deps.store,
            accounts,
            clock: deps.clock,
            entropy: deps.entropy,
            limits,
            creating: tokio::sync::Mutex::default(),
            namespaces: std::sync::Mutex::default(),
        })))
    }
}

/// The path at which a Generation's archive is downloaded, relative to the server's base URL.
pub fn archive_path(namespace: &str, name: &str) -> String {
    format!("{}/archive", view::generation_path(namespace, name))
}

/// The account database's file name in a data directory.
pub fn accounts_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("accounts.db")
}

/// The REST API under `/api/v1`, its OpenAPI document, and the UI as the answer to every other
/// GET.
pub fn router(state: ApiState) -> Router {
    let (api, doc) = routes::router().split_for_parts();
    let doc = Arc::new(openapi::document(doc));
    let api = api.layer(middleware::from_fn_with_state(state.clone(), auth::identify));
    let ui = Router::new()
        .fallback(ui::serve)
        .layer(tower_http::compression::CompressionLayer::new());
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .merge(api)
        .merge(ui)
        .layer(middleware::from_fn(headers::secure))
        .with_state(state)
}
