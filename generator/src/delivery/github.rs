//! The few GitHub REST calls delivery needs: find a repository, and create it (for the token's
//! own user or for an organisation) when it does not exist. A small typed client on the
//! hyper/rustls stack already in the tree rather than octocrab, whose defaults bring a second
//! HTTP client stack for three calls.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{Value, json};

use super::DeliveryError;

/// A repository as GitHub describes it (the fields delivery uses).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GitHubRepository {
    /// The HTTPS URL git pushes to.
    pub clone_url: String,
    /// The page people open; what `status.outputs.repositoryUrl` shows.
    pub html_url: String,
}

/// Where a missing repository is created: the token's own account, or an organisation.
pub fn create_path(owner: &str, login: &str) -> String {
    if owner.eq_ignore_ascii_case(login) {
        "/user/repos".to_owned()
    } else {
        format!("/orgs/{owner}/repos")
    }
}

/// The body of a create-repository request.
pub fn create_body(name: &str, description: &str, private: bool) -> Value {
    json!({ "name": name, "description": description, "private": private })
}

/// What an unsuccessful answer means, from its status, its rate-limit header and its body.
pub fn refusal(
    status: StatusCode,
    rate_limit_remaining: Option<&str>,
    body: &Value,
    action: &str,
    repository: &str,
) -> DeliveryError {
    let mut message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_owned();
    // Validation failures name the field and problem in `errors`, e.g. "name already exists".
    if let Some(details) = body.get("errors").and_then(Value::as_array) {
        let details: Vec<&str> = details
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    match status {
        StatusCode::UNAUTHORIZED => DeliveryError::GitHubUnauthorized(message),
        StatusCode::TOO_MANY_REQUESTS => DeliveryError::GitHubRateLimited(message),
        StatusCode::FORBIDDEN if rate_limit_remaining == Some("0") => {
            DeliveryError::GitHubRateLimited(message)
        }
        StatusCode::UNPROCESSABLE_ENTITY if action.starts_with("create") => {
            DeliveryError::RepositoryRefused {
                repository: repository.to_owned(),
                message,
            }
        }
        _ => DeliveryError::GitHub {
            action: action.to_owned(),
            status: status.as_u16(),
            message,
        },
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A GitHub REST API client for one token.
pub struct GitHub {
    api: String,
    token: String,
    http: HttpClient,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

struct Answer {
    status: StatusCode,
    rate_limit_remaining: Option<String>,
    body: Value,
}

impl GitHub {
    pub fn new(api: &str, token: &str) -> Result<GitHub, DeliveryError> {
        let unreachable = |reason: String| DeliveryError::GitHubUnreachable {
            api: api.to_owned(),
            reason,
        };
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| unreachable(format!("setting up TLS: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        // Plain http too: GitHub Enterprise inside a network, and the contract fake in the tests.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(GitHub {
            api: api.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// The repository `owner/name`, created (with `description`, private or not) when missing.
    pub async fn ensure(
        &self,
        owner: &str,
        name: &str,
        description: &str,
        private: bool,
    ) -> Result<GitHubRepository, DeliveryError> {
        let full = format!("{owner}/{name}");
        let found = self
            .call(Method::GET, &format!("/repos/{owner}/{name}"), None)
            .await?;
        if found.status == StatusCode::OK {
            return parse(found.body, &full);
        }
        if found.status != StatusCode::NOT_FOUND {
            return Err(refusal(
                found.status,
                found.rate_limit_remaining.as_deref(),
                &found.body,
                "look up the repository",
                &full,
            ));
        }
        let user = self.call(Method::GET, "/user", None).await?;
        let login = match (user.status, user.body.get("login").and_then(Value::as_str)) {
            (StatusCode::OK, Some(login)) => login.to_owned(),
            _ => {
                return Err(refusal(
                    user.status,
                    user.rate_limit_remaining.as_deref(),
                    &user.body,
                    "identify the token's user",
                    &full,
                ));
            }
        };
        let created = self
            .call(
                Method::POST,
                &create_path(owner, &login),
                Some(create_body(name, description, private)),
            )
            .await?;
        if created.status == StatusCode::CREATED {
            return parse(created.body, &full);
        }
        Err(refusal(
            created.status,
            created.rate_limit_remaining.as_deref(),
            &created.body,
            "create the repository",
            &full,
        ))
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Answer, DeliveryError> {
        let unreachable = |reason: String| DeliveryError::GitHubUnreachable {
            api: self.api.clone(),
            reason,
        };
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            // GitHub refuses requests without a User-Agent.
            .header("user-agent", "appgen")
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .map_err(|e| unreachable(e.to_string()))?;
        let response = tokio::time::timeout(Duration::from_secs(60), self.http.request(request))
            .await
            .map_err(|_| unreachable("no answer within 60 s".to_owned()))?
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let rate_limit_remaining = response
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status,
            rate_limit_remaining,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        })
    }
}

fn parse(body: Value, repository: &str) -> Result<GitHubRepository, DeliveryError> {
    serde_json::from_value(body).map_err(|e| DeliveryError::GitHub {
        action: format!("describe {repository}"),
        status: 200,
        message: format!("the answer has no usable clone_url/html_url: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_is_created_for_the_user_or_the_organisation() {
        assert_eq!(create_path("ann", "ann"), "/user/repos");
        assert_eq!(create_path("Ann", "ann"), "/user/repos");
        assert_eq!(create_path("acme", "ann"), "/orgs/acme/repos");
        assert_eq!(
            create_body("todo", "A todo list", true),
            json!({"name": "todo", "description": "A todo list", "private": true})
        );
    }

    #[test]
    fn github_error_answers_become_clear_reasons() {
        let taken = json!({
            "message": "Repository creation failed.",
            "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}]
        });
        let bad = json!({"message": "Bad credentials"});
        let limited = json!({"message": "API rate limit exceeded for user ID 1."});
        let table = [
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                &taken,
                "create the repository",
                "RepositoryRefused",
                "name already exists",
            ),
            (
                StatusCode::UNAUTHORIZED,
                None,
                &bad,
                "look up the repository",
                "GitHubUnauthorized",
                "Bad credentials",
            ),
            (
                StatusCode::FORBIDDEN,
                Some("0"),
                &limited,
                "look up the repository",
                "RateLimited",
                "rate limit",
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                None,
                &limited,
                "create the repository",
                "RateLimited",
                "rate limit",
            ),
            (
                StatusCode::FORBIDDEN,
                Some("4999"),
                &bad,
                "create the repository",
                "GitDeliveryFailed",
                "403",
            ),
        ];
        for (status, remaining, body, action, reason, says) in table {
            let error = refusal(status, remaining, body, action, "ann/todo");
            assert_eq!(error.reason(), reason, "{status}");
            assert!(error.to_string().contains(says), "{error}");
        }
    }
}
