use appgen_artifacts::ArtifactError;
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// Every way a request fails; each maps to one status and a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("a valid bearer token is required (the admin token is in the data directory's admin-token file)")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    NotReady(String),
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("the artifact store failed: {0}")]
    Store(#[from] ArtifactError),
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = match &self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::NotReady(_) => StatusCode::CONFLICT,
            Error::Kube(_) | Error::Store(_) => {
                tracing::error!(error = %self, "request failed");
                StatusCode::BAD_GATEWAY
            }
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
