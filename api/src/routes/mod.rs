//! The REST routes. Each handler authorizes first (a pure check of the `Principal` against the
//! namespace it names), then acts.

mod admin;
mod events;
mod files;
mod generations;
mod session;
mod tokens;

use std::sync::Arc;

use appgen_crd::Generation;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::{ApiState, Error};

/// The REST API, with the OpenAPI description of each route.
pub fn router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(session::config))
        .routes(routes!(session::signup))
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(generations::create, generations::list))
        .routes(routes!(generations::get, generations::delete))
        .routes(routes!(generations::cancel))
        .routes(routes!(generations::retry))
        .routes(routes!(generations::redeliver))
        .routes(routes!(generations::continue_))
        .routes(routes!(generations::apps))
        .routes(routes!(events::stream))
        .routes(routes!(files::archive))
        .routes(routes!(files::screenshot))
        .routes(routes!(admin::users))
        .routes(routes!(admin::change_user))
        .routes(routes!(admin::invite))
        .routes(routes!(admin::quotas, admin::set_quotas))
        .routes(routes!(admin::generations))
}

/// The most a request body may hold: a 64 KiB prompt and some room around it.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON request body whose errors name the field at fault (`agent.maxTurns`, or an unknown
/// field such as `namespace`) with a 422, and whose syntax errors are a 400.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Error;

    async fn from_request(request: Request, _: &S) -> Result<Self, Error> {
        let is_json = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(Error::BadRequest(
                "send the body as JSON with Content-Type: application/json".to_owned(),
            ));
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| Error::BadRequest(format!("the body is larger than {MAX_BODY_BYTES} bytes")))?;
        parse_body(&bytes).map(Body)
    }
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::BadRequest(format!("the body is not valid JSON: {inner}"));
        }
        let path = e.path().to_string();
        let message = inner.to_string();
        // serde_path_to_error's path ends at an unknown field, but stops before a missing one.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name);
        let field = match (missing, path.as_str()) {
            (Some(name), ".") => name.to_owned(),
            (Some(name), _) => format!("{path}.{name}"),
            (None, ".") => "body".to_owned(),
            (None, _) => path,
        };
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        Error::invalid(field, message)
    })
}

/// The Generation `namespace/name` if the caller may see it. One the caller may not see is
/// "not found", exactly like one that does not exist.
pub fn visible(
    state: &ApiState,
    principal: &Principal,
    namespace: &str,
    name: &str,
) -> Result<Arc<Generation>, Error> {
    let not_found = || Error::NotFound(format!("generation {namespace}/{name}"));
    if !principal.may_access(namespace) {
        return Err(not_found());
    }
    state.cache.get(namespace, name).ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use generations::CreateRequest;

    #[test]
    fn body_errors_name_the_field() {
        let cases: &[(&str, &str, u16)] = &[
            (r#"{"prompt": "x", "namespace": "appgen-bob"}"#, "namespace", 422),
            (
                r#"{"prompt": "x", "metadata": {"namespace": "appgen-bob"}}"#,
                "metadata",
                422,
            ),
            (r#"{"prompt": 3}"#, "prompt", 422),
            (r#"{}"#, "prompt", 422),
            (r#"[]"#, "body", 422),
            (
                r#"{"prompt": "x", "agent": {"maxTurns": "many"}}"#,
                "agent.maxTurns",
                422,
            ),
            (r#"{"prompt": "x", "agent": {"name": "gpt"}}"#, "agent.name", 422),
            (r#"{"prompt": "#, "", 400),
        ];
        for (body, field, status) in cases {
            match parse_body::<CreateRequest>(body.as_bytes()).unwrap_err() {
                Error::Invalid { field: named, .. } => {
                    assert_eq!((named.as_str(), *status), (*field, 422), "{body}")
                }
                Error::BadRequest(_) => assert_eq!(*status, 400, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
