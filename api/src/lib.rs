//! appgen's REST API under `/api/v1` (DESIGN.md, "One machine"). It only reads: Generations
//! through kube-rs, files from the artifact store.
//!
//! Its routes sit beside the Kubernetes core API, which owns `/api/v1/namespaces/…`, so they
//! begin with a segment Kubernetes never uses there: `/api/v1/generations/…`.

mod error;

use std::sync::Arc;

use appgen_artifacts::{ArtifactStore, Layout};
use appgen_crd::{Generation, Phase};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kube::Api;

pub use error::Error;

/// What the API needs: who may call it, where Generations are, where their files are.
#[derive(Clone)]
pub struct ApiState {
    /// Bearer tokens with full access (the admin token of the data dir).
    pub admin_tokens: Arc<Vec<String>>,
    pub client: kube::Client,
    pub store: Arc<dyn ArtifactStore>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("admin_tokens", &"<redacted>")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The path at which a Generation's archive is downloaded, relative to the server's base URL.
pub fn archive_path(namespace: &str, name: &str) -> String {
    format!("/api/v1/generations/{namespace}/{name}/archive")
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/generations/{namespace}/{name}/archive", get(archive))
        .route(
            "/api/v1/generations/{namespace}/{name}/screenshots/{file}",
            get(screenshot),
        )
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token)
            if state
                .admin_tokens
                .iter()
                .any(|t| same(t.as_bytes(), token.as_bytes())) =>
        {
            next.run(request).await
        }
        _ => Error::Unauthorized.into_response(),
    }
}

/// Compares without an early exit, so timing says nothing about how much of a token matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The layout of a Generation that exists; its uid keeps a re-created one from seeing old files.
async fn layout(state: &ApiState, namespace: &str, name: &str) -> Result<(Generation, Layout), Error> {
    let api: Api<Generation> = Api::namespaced(state.client.clone(), namespace);
    let generation = api
        .get_opt(name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("generation {namespace}/{name}")))?;
    let uid = generation
        .metadata
        .uid
        .clone()
        .ok_or_else(|| Error::NotFound(format!("generation {namespace}/{name}")))?;
    let layout = Layout::new(namespace, name, &uid)
        .map_err(|_| Error::NotFound(format!("generation {namespace}/{name}")))?;
    Ok((generation, layout))
}

async fn archive(
    State(state): State<ApiState>,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Error> {
    let (generation, layout) = layout(&state, &namespace, &name).await?;
    let delivered = generation.status.as_ref().and_then(|s| s.phase) == Some(Phase::Delivered);
    if !delivered {
        return Err(Error::NotReady(format!(
            "generation {namespace}/{name} has not been delivered; its archive appears once it is"
        )));
    }
    let app = generation.spec.app.clone().unwrap_or(name);
    serve_file(
        &state,
        &layout.archive(),
        "application/gzip",
        Some(&format!("{app}.tar.gz")),
    )
    .await
}

async fn screenshot(
    State(state): State<ApiState>,
    Path((namespace, name, file)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let (_, layout) = layout(&state, &namespace, &name).await?;
    let key = format!("{}{file}", layout.screenshots());
    serve_file(&state, &key, "image/png", None).await
}

/// The file's bytes, or a redirect to a presigned URL when the store gives one.
async fn serve_file(
    state: &ApiState,
    key: &str,
    content_type: &'static str,
    download_name: Option<&str>,
) -> Result<Response, Error> {
    if let Some(url) = state.store.download_url(key, DOWNLOAD_URL_LIFETIME).await? {
        return Ok((
            http::StatusCode::TEMPORARY_REDIRECT,
            [(http::header::LOCATION, url)],
        )
            .into_response());
    }
    let bytes = state
        .store
        .get(key)
        .await?
        .ok_or_else(|| Error::NotFound(format!("file {key}")))?;
    let mut response = ([(http::header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Some(file_name) = download_name
        && let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
    {
        response
            .headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Long enough for a slow download to start, short enough that a leaked link soon stops working.
const DOWNLOAD_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
