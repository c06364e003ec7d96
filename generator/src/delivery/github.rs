//! The few GitHub REST calls delivery needs: find a repository, and create it (for the token's
//! own user or for an organisation) when it does not exist. A small typed client on the
//! hyper/rustls stack already in the tree rather than octocrab, whose defaults bring a second
//! HTTP client stack (and its own TLS set-up) for three calls.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::DeliveryError;
use super::http::{Answer, JsonClient};

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

/// A GitHub REST API client for one token.
#[derive(Debug)]
pub struct GitHub {
    client: JsonClient,
}

impl GitHub {
    pub fn new(api: &str, token: &str) -> Result<GitHub, DeliveryError> {
        let headers = vec![
            ("authorization", format!("Bearer {token}")),
            ("accept", "application/vnd.github+json".to_owned()),
            ("x-github-api-version", "2022-11-28".to_owned()),
            // GitHub refuses requests without a User-Agent.
            ("user-agent", "appgen".to_owned()),
        ];
        let client = JsonClient::new(api, headers).map_err(|reason| DeliveryError::GitHubUnreachable {
            api: api.to_owned(),
            reason,
        })?;
        Ok(GitHub { client })
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
        self.client
            .call(method, path, body.as_ref())
            .await
            .map_err(|reason| DeliveryError::GitHubUnreachable {
                api: self.client.root().to_owned(),
                reason,
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
