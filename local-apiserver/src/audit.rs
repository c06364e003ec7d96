//! An audit trail of the requests the server answers, in the terms Kubernetes RBAC uses (verb,
//! API group, resource, subresource, namespace) with the client's user agent, one JSON line per
//! request. Off unless a file is configured; a test reads it to learn which permissions each
//! client really needs.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use crate::Error;

/// What a request asks for, as an RBAC rule would name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestAttributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: &'static str,
    /// The API group; empty for the core group.
    pub group: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// None for a request across all namespaces or on a cluster-scoped resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The attributes of a resource request, as the Kubernetes API server derives them from the
/// method, path and query; None for discovery and other non-resource paths.
pub fn request_attributes(method: &str, path: &str, query: &str) -> Option<RequestAttributes> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segments.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        // A namespace's own subresources (`namespaces/x/status`) are not namespaced requests.
        ["namespaces", _, "status" | "finalize"] | ["namespaces"] | ["namespaces", _] => (None, rest),
        ["namespaces", namespace, rest @ ..] => (Some((*namespace).to_owned()), rest),
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, subresource] => (*resource, Some(*name), Some((*subresource).to_owned())),
        _ => return None,
    };
    let watch = query
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    let verb = match (method, name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    };
    Some(RequestAttributes {
        verb,
        group: group.to_owned(),
        resource: resource.to_owned(),
        subresource,
        namespace,
    })
}

/// One line of the trail.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    user_agent: &'a str,
    #[serde(flatten)]
    attributes: RequestAttributes,
}

/// The open trail file, appended to by every request.
#[derive(Clone)]
pub(crate) struct AuditLog(Arc<Mutex<std::fs::File>>);

impl AuditLog {
    pub(crate) fn open(path: &Path) -> Result<Self, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::AuditLog {
                path: path.display().to_string(),
                source,
            })?;
        Ok(AuditLog(Arc::new(Mutex::new(file))))
    }

    fn record(&self, user_agent: &str, attributes: RequestAttributes) {
        let Ok(mut line) = serde_json::to_vec(&Entry {
            user_agent,
            attributes,
        }) else {
            return;
        };
        line.push(b'\n');
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::warn!(error = %e, "writing the audit log failed");
        }
    }
}

/// Records each authenticated resource request before it is served.
pub(crate) async fn record(State(log): State<AuditLog>, request: Request, next: Next) -> Response {
    let attributes = request_attributes(
        request.method().as_str(),
        request.uri().path(),
        request.uri().query().unwrap_or_default(),
    );
    if let Some(attributes) = attributes {
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        log.record(user_agent, attributes);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(method: &str, path: &str, query: &str) -> Option<(String, String, String, String, String)> {
        request_attributes(method, path, query).map(|a| {
            (
                a.verb.to_owned(),
                a.group,
                a.resource,
                a.subresource.unwrap_or_default(),
                a.namespace.unwrap_or_default(),
            )
        })
    }

    fn expect(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: &str,
        namespace: &str,
    ) -> Option<(String, String, String, String, String)> {
        Some((
            verb.to_owned(),
            group.to_owned(),
            resource.to_owned(),
            subresource.to_owned(),
            namespace.to_owned(),
        ))
    }

    #[test]
    fn requests_are_named_as_kubernetes_rbac_names_them() {
        let cases = [
            (
                ("GET", "/apis/appgen.dev/v1alpha1/generations", "limit=500"),
                expect("list", "appgen.dev", "generations", "", ""),
            ),
            (
                (
                    "GET",
                    "/apis/appgen.dev/v1alpha1/generations",
                    "watch=true&resourceVersion=3",
                ),
                expect("watch", "appgen.dev", "generations", "", ""),
            ),
            (
                (
                    "GET",
                    "/apis/appgen.dev/v1alpha1/namespaces/a/generations/todo",
                    "",
                ),
                expect("get", "appgen.dev", "generations", "", "a"),
            ),
            (
                (
                    "PUT",
                    "/apis/appgen.dev/v1alpha1/namespaces/a/generations/todo/status",
                    "",
                ),
                expect("update", "appgen.dev", "generations", "status", "a"),
            ),
            (
                (
                    "PATCH",
                    "/apis/appgen.dev/v1alpha1/namespaces/a/generations/todo",
                    "",
                ),
                expect("patch", "appgen.dev", "generations", "", "a"),
            ),
            (
                ("POST", "/apis/batch/v1/namespaces/a/jobs", ""),
                expect("create", "batch", "jobs", "", "a"),
            ),
            (
                ("DELETE", "/apis/batch/v1/namespaces/a/jobs/j", ""),
                expect("delete", "batch", "jobs", "", "a"),
            ),
            (
                ("DELETE", "/apis/batch/v1/namespaces/a/jobs", ""),
                expect("deletecollection", "batch", "jobs", "", "a"),
            ),
            (
                ("GET", "/api/v1/pods", "labelSelector=x&watch=1"),
                expect("watch", "", "pods", "", ""),
            ),
            (
                ("POST", "/api/v1/namespaces", ""),
                expect("create", "", "namespaces", "", ""),
            ),
            (
                ("GET", "/api/v1/namespaces/a", ""),
                expect("get", "", "namespaces", "", ""),
            ),
            (
                ("PUT", "/api/v1/namespaces/a/finalize", ""),
                expect("update", "", "namespaces", "finalize", ""),
            ),
        ];
        for ((method, path, query), expected) in cases {
            assert_eq!(
                attributes(method, path, query),
                expected,
                "{method} {path}?{query}"
            );
        }
    }

    #[test]
    fn discovery_is_no_resource_request() {
        for path in [
            "/api",
            "/apis",
            "/api/v1",
            "/apis/batch/v1",
            "/version",
            "/openapi/v3",
        ] {
            assert_eq!(attributes("GET", path, ""), None, "{path}");
        }
    }
}
