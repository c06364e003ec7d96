use std::time::Duration;

use appgen_artifacts::ArtifactError;
use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

/// Every way a request fails. Each maps to one status and a body
/// `{"error": {"code", "message", "field"?}}` whose message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "sign in, or send a bearer token (a personal API token, or the admin token in the data directory)"
    )]
    Unauthorized,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("this account waits for an administrator's approval")]
    Pending,
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("sign-up is closed on this server; ask an administrator for an account")]
    SignupClosed,
    #[error("{0}")]
    Forbidden(String),
    #[error("the request lacks the X-CSRF-Token header of this session (reload the page and try again)")]
    Csrf,
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but `field` is not acceptable.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Quota { message: String, retry_after: Duration },
    #[error("too many requests; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    NotReady(String),
    #[error("the Kubernetes API failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("the artifact store failed: {0}")]
    Store(#[from] ArtifactError),
    #[error("the account database failed while {context}: {source}")]
    Database {
        context: &'static str,
        source: rusqlite::Error,
    },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn database(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        move |source| Error::Database { context, source }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::BadCredentials => (StatusCode::UNAUTHORIZED, "bad_credentials"),
            Error::Pending => (StatusCode::FORBIDDEN, "pending"),
            Error::Disabled => (StatusCode::FORBIDDEN, "disabled"),
            Error::SignupClosed => (StatusCode::FORBIDDEN, "signup_closed"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Csrf => (StatusCode::FORBIDDEN, "csrf"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            Error::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Error::Quota { .. } => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
            Error::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Error::NotReady(_) => (StatusCode::CONFLICT, "not_ready"),
            Error::Kube(_) | Error::Store(_) => (StatusCode::BAD_GATEWAY, "upstream"),
            Error::Database { .. } | Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The body of every error answer; in the OpenAPI document as `ErrorBody`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable reason, e.g. `invalid`, `quota_exceeded`, `not_found`.
    pub code: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() || status == StatusCode::BAD_GATEWAY {
            tracing::error!(error = %self, "request failed");
        }
        let (message, field) = match &self {
            Error::Invalid { field, message } => (message.clone(), Some(field.clone())),
            other => (other.to_string(), None),
        };
        let retry_after = match &self {
            Error::Quota { retry_after, .. } | Error::RateLimited { retry_after } => {
                Some(retry_after.as_secs().max(1))
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                field,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}
