//! A Kubernetes-compatible API server for one machine. It serves the resources of the
//! CustomResourceDefinitions it is given, plus Events, with the semantics Kubernetes documents,
//! and stores them in SQLite, so real kubectl and kube-rs work against it unchanged.
//!
//! It must never hold job state of its own beyond the objects clients write, nor acknowledge a
//! write before it is on disk.

mod audit;
mod discovery;
mod error;
mod events;
mod gofmt;
mod handlers;
mod http;
mod meta;
mod patch;
mod resource;
mod schema;
mod selector;
mod storage;
mod table;
#[cfg(test)]
mod testing;
mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use tokio::sync::watch as signal;

pub use audit::{RequestAttributes, request_attributes};
pub use error::Error;
use resource::Registry;
use storage::Store;

/// The time source. Injected so tests can fix it.
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// How to run the server.
#[derive(Clone)]
pub struct Config {
    /// The SQLite database file.
    pub database: PathBuf,
    /// The custom resources to serve.
    pub crds: Vec<CustomResourceDefinition>,
    /// Bearer tokens accepted for every request.
    pub tokens: Vec<String>,
    /// How many changes are kept for watches resuming from a resourceVersion; older ones get 410 Gone.
    pub watch_history: usize,
    /// How often a watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// Events older than this are deleted, as Kubernetes' default event TTL.
    pub event_ttl: Duration,
    /// A file to append one JSON line per resource request to (user agent, verb, group, resource,
    /// subresource, namespace), so a test can learn the permissions each client needs. Off by default.
    pub audit_log: Option<PathBuf>,
    pub clock: Clock,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("crds", &self.crds.len())
            .field("tokens", &"<redacted>")
            .field("watch_history", &self.watch_history)
            .field("bookmark_interval", &self.bookmark_interval)
            .field("event_ttl", &self.event_ttl)
            .field("audit_log", &self.audit_log)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn new(database: PathBuf, crds: Vec<CustomResourceDefinition>, tokens: Vec<String>) -> Self {
        Config {
            database,
            crds,
            tokens,
            watch_history: 4_096,
            bookmark_interval: Duration::from_secs(30),
            event_ttl: Duration::from_secs(3600),
            audit_log: None,
            clock: Arc::new(jiff::Timestamp::now),
        }
    }
}

/// State shared by every request.
pub(crate) struct App {
    registry: Registry,
    store: Store,
    clock: Clock,
    tokens: Vec<String>,
    bookmark_interval: Duration,
    shutdown: signal::Receiver<bool>,
}

/// A running server: its router to mount, and the handle to stop it. Clones share the server.
#[derive(Clone)]
pub struct LocalApiServer {
    app: Arc<App>,
    audit: Option<audit::AuditLog>,
    stop: Arc<signal::Sender<bool>>,
}

impl std::fmt::Debug for LocalApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalApiServer").finish_non_exhaustive()
    }
}

impl LocalApiServer {
    /// Opens the store and starts the server's housekeeping. Must be called inside a Tokio runtime.
    pub fn open(config: Config) -> Result<Self, Error> {
        let store = Store::open(&config.database, config.watch_history)?;
        let audit = config
            .audit_log
            .as_deref()
            .map(audit::AuditLog::open)
            .transpose()?;
        let (stop, shutdown) = signal::channel(false);
        let app = Arc::new(App {
            registry: Registry::new(&config.crds),
            store,
            clock: config.clock,
            tokens: config.tokens,
            bookmark_interval: config.bookmark_interval,
            shutdown,
        });
        tokio::spawn(expire_events(app.clone(), config.event_ttl));
        Ok(LocalApiServer {
            app,
            audit,
            stop: Arc::new(stop),
        })
    }

    /// The Kubernetes API routes (`/api`, `/apis`, `/version`, `/openapi/v3`), all behind the bearer token.
    pub fn router(&self) -> Router {
        let router = Router::new()
            .route("/version", get(discovery::version))
            .route("/api", get(discovery::core_versions))
            .route("/apis", get(discovery::groups))
            .route("/api/{*rest}", any(handlers::core))
            .route("/apis/{*rest}", any(handlers::grouped))
            .route("/openapi/v3", get(discovery::openapi_index))
            .route("/openapi/v3/{*path}", get(discovery::openapi_group_version))
            .method_not_allowed_fallback(|| async { Error::MethodNotAllowed });
        // Inside authentication, so only requests the server serves are recorded.
        let router = match &self.audit {
            Some(log) => router.layer(middleware::from_fn_with_state(log.clone(), audit::record)),
            None => router,
        };
        router
            .layer(middleware::from_fn_with_state(self.app.clone(), authenticate))
            .with_state(self.app.clone())
    }

    /// Ends open watches, so a graceful shutdown is not held up by clients that never hang up.
    pub fn stop_watches(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops accepting writes once the queued ones are on disk. Call after the last request.
    pub fn close(&self) {
        self.app.store.close();
    }
}

async fn authenticate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token)
            if app
                .tokens
                .iter()
                .any(|t| constant_time_eq(t.as_bytes(), token.as_bytes())) =>
        {
            next.run(request).await
        }
        _ => Error::Unauthorized.into_response(),
    }
}

/// Compares without an early exit, so response time says nothing about how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Deletes Events older than `ttl`, as Kubernetes does, so they do not pile up forever.
/// Resolves once the server is told to stop (or its handle is gone).
pub(crate) async fn until_stopped(mut shutdown: signal::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn expire_events(app: Arc<App>, ttl: Duration) {
    let stopped = until_stopped(app.shutdown.clone());
    tokio::pin!(stopped);
    let mut ticks = tokio::time::interval(ttl.min(Duration::from_secs(600)).max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = &mut stopped => return,
        }
        let storage: Arc<str> = resource::EVENTS_STORAGE.into();
        let Ok((items, _)) = app.store.list(&storage, None, None).await else {
            continue;
        };
        let cutoff = (app.clock)() - jiff::SignedDuration::try_from(ttl).unwrap_or_default();
        for (key, stored) in items {
            let Ok(event) = stored.value() else { continue };
            let created =
                meta::meta_str(&event, "creationTimestamp").and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if created.is_some_and(|t| t < cutoff) {
                let result = app
                    .store
                    .write(&key, false, |current| {
                        Ok(current.map_or(
                            storage::Write::Unchanged(serde_json::Value::Null),
                            storage::Write::Delete,
                        ))
                    })
                    .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, event = %key.name, "expiring an old event failed");
                }
            }
        }
    }
}
