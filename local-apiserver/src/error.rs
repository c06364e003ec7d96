//! The crate's one error type. Every variant maps to the `kind: Status` body and HTTP code that
//! Kubernetes sends for the same failure, so kubectl and kube-rs print and handle it as usual.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::schema::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        group: String,
        resource: String,
        kind: String,
        name: String,
    },

    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        group: String,
        resource: String,
        kind: String,
        name: String,
    },

    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {detail}")]
    Conflict {
        group: String,
        resource: String,
        kind: String,
        name: String,
        detail: String,
    },

    /// Server-side apply would take fields another manager owns; the message lists them as Kubernetes does.
    #[error("{message}")]
    ApplyConflict {
        group: String,
        kind: String,
        name: String,
        message: String,
    },

    #[error("{group_kind} \"{name}\" is invalid: {}", summarize(.causes))]
    Invalid {
        group: String,
        kind: String,
        group_kind: String,
        name: String,
        causes: Vec<FieldError>,
    },

    #[error("{0}")]
    BadRequest(String),

    #[error("Unauthorized")]
    Unauthorized,

    #[error("the server could not find the requested resource")]
    UnknownPath,

    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,

    #[error("only the following media types are accepted: application/json, application/yaml")]
    NotAcceptable,

    #[error("the body of the request was in an unknown format - accepted media types include: {0}")]
    UnsupportedMediaType(&'static str),

    #[error("Request entity too large: limit is {0}")]
    TooLarge(usize),

    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: u64, oldest: u64 },

    #[error("opening the store at {path}: {source}")]
    Open { path: String, source: rusqlite::Error },

    #[error("opening the audit log {path}: {source}")]
    AuditLog { path: String, source: std::io::Error },

    #[error("the store failed to write: {0}")]
    Storage(#[from] rusqlite::Error),

    #[error("a stored object could not be read back: {0}")]
    Corrupt(String),

    #[error("the store has shut down")]
    Closed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn summarize(causes: &[FieldError]) -> String {
    match causes {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Error {
    pub fn code(&self) -> StatusCode {
        match self {
            Error::NotFound { .. } | Error::UnknownPath => StatusCode::NOT_FOUND,
            Error::AlreadyExists { .. } | Error::Conflict { .. } | Error::ApplyConflict { .. } => {
                StatusCode::CONFLICT
            }
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Expired { .. } => StatusCode::GONE,
            Error::Open { .. }
            | Error::AuditLog { .. }
            | Error::Storage(_)
            | Error::Corrupt(_)
            | Error::Closed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `reason` of a Kubernetes Status, which clients switch on.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::NotFound { .. } | Error::UnknownPath => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::Conflict { .. } | Error::ApplyConflict { .. } => "Conflict",
            Error::Invalid { .. } => "Invalid",
            Error::BadRequest(_) => "BadRequest",
            Error::Unauthorized => "Unauthorized",
            Error::MethodNotAllowed => "MethodNotAllowed",
            Error::NotAcceptable => "NotAcceptable",
            Error::UnsupportedMediaType(_) => "UnsupportedMediaType",
            Error::TooLarge(_) => "RequestEntityTooLarge",
            Error::Expired { .. } => "Expired",
            Error::Open { .. }
            | Error::AuditLog { .. }
            | Error::Storage(_)
            | Error::Corrupt(_)
            | Error::Closed => "InternalError",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            Error::NotFound {
                group,
                resource,
                name,
                ..
            }
            | Error::AlreadyExists {
                group,
                resource,
                name,
                ..
            }
            | Error::Conflict {
                group,
                resource,
                name,
                ..
            } => {
                let plural = resource.split('.').next().unwrap_or(resource);
                Some(json!({ "name": name, "group": group, "kind": plural }))
            }
            Error::ApplyConflict {
                group, kind, name, ..
            } => Some(json!({ "name": name, "group": group, "kind": kind })),
            Error::Invalid {
                group,
                kind,
                name,
                causes,
                ..
            } => Some(json!({
                "name": name,
                "group": group,
                "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason,
                    "message": c.message,
                    "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            _ => None,
        }
    }

    /// The `kind: Status` body. Server-side failures say only that they happened: their detail
    /// goes to the log, never to the client.
    pub fn status(&self) -> Value {
        let message = match self.code() {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "Internal error occurred: the server could not store or read the object; see the server log"
                    .to_owned()
            }
            _ => self.to_string(),
        };
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": self.reason(),
            "code": self.code().as_u16(),
        });
        if let Some(details) = self.details() {
            status["details"] = details;
        }
        status
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        if code == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        crate::http::json_response(code, &self.status())
    }
}
