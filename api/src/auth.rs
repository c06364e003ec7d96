//! Who is calling, decided once per request: an admin token, a personal API token or a browser
//! session (whose unsafe requests must carry its CSRF token). Routes then ask the pure questions
//! here (may this caller see that namespace?) before they act.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::accounts::{AccountStatus, User};
use crate::secrets::{same, sha256_hex};
use crate::{ApiState, Error};

pub const SESSION_COOKIE: &str = "appgen_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The namespace of Generations created with the admin token.
pub const ADMIN_TOKEN_NAMESPACE: &str = "default";

/// The caller of a request, once authenticated.
#[derive(Clone, Debug)]
pub enum Principal {
    /// The server's admin token: everything, as no particular user.
    AdminToken,
    User {
        user: User,
        /// The CSRF token of the browser session, when the caller came with a cookie.
        csrf: Option<String>,
    },
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        match self {
            Principal::AdminToken => true,
            Principal::User { user, .. } => user.admin,
        }
    }

    /// Where this caller's own Generations live.
    pub fn namespace(&self) -> &str {
        match self {
            Principal::AdminToken => ADMIN_TOKEN_NAMESPACE,
            Principal::User { user, .. } => &user.namespace,
        }
    }

    /// A key for per-caller limits and quotas.
    pub fn key(&self) -> &str {
        match self {
            Principal::AdminToken => "admin-token",
            Principal::User { user, .. } => &user.id,
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::AdminToken => None,
            Principal::User { user, .. } => Some(user),
        }
    }

    /// Whether this caller may see and act on Generations in `namespace`. Everything that
    /// answers "no" answers 404, so another user's work does not even show that it exists.
    pub fn may_access(&self, namespace: &str) -> bool {
        self.is_admin() || self.namespace() == namespace
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(Error::Unauthorized)
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Principal>().cloned())
    }
}

/// A caller that is an admin.
pub struct Admin(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.is_admin() {
            Ok(Admin(principal))
        } else {
            Err(Error::Forbidden("only administrators may do this".to_owned()))
        }
    }
}

/// The client's address, as the server's listener saw it ("unknown" when called in-process).
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

fn client_ip(extensions: &http::Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Finds the caller, enforces CSRF and the rate limits, and leaves a `Principal` in the
/// request's extensions for the routes (or none, for the routes anyone may call).
pub async fn identify(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    match principal_of(&state, request.method(), request.headers()).await {
        Ok(principal) => {
            let now = (state.clock)();
            let ip = client_ip(request.extensions());
            let limited = state
                .limits
                .per_ip
                .check(&ip, now)
                .and_then(|()| match &principal {
                    Some(p) => state.limits.per_user.check(p.key(), now),
                    None => Ok(()),
                });
            if let Err(retry_after) = limited {
                return Error::RateLimited { retry_after }.into_response();
            }
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

async fn principal_of(
    state: &ApiState,
    method: &http::Method,
    headers: &http::HeaderMap,
) -> Result<Option<Principal>, Error> {
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Error::Unauthorized)?;
        if state
            .admin_tokens
            .iter()
            .any(|t| same(t.as_bytes(), token.as_bytes()))
        {
            return Ok(Some(Principal::AdminToken));
        }
        let user = state
            .accounts
            .token_user(sha256_hex(token), (state.clock)())
            .await?
            .ok_or(Error::Unauthorized)?;
        return active(user).map(|user| Some(Principal::User { user, csrf: None }));
    }
    let Some(session) = session_cookie(headers) else {
        return Ok(None);
    };
    let Some((user, csrf)) = state
        .accounts
        .session(sha256_hex(session), (state.clock)())
        .await?
    else {
        return Ok(None);
    };
    if !method.is_safe() {
        let presented = headers.get(CSRF_HEADER).map(http::HeaderValue::as_bytes);
        if !presented.is_some_and(|p| same(p, csrf.as_bytes())) {
            return Err(Error::Csrf);
        }
    }
    active(user).map(|user| {
        Some(Principal::User {
            user,
            csrf: Some(csrf),
        })
    })
}

fn active(user: User) -> Result<User, Error> {
    match user.status {
        AccountStatus::Active => Ok(user),
        AccountStatus::Pending => Err(Error::Pending),
        AccountStatus::Disabled => Err(Error::Disabled),
    }
}

/// The session id from the request's cookies.
pub fn session_cookie(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::QuotaOverride;

    fn user(name: &str, admin: bool) -> Principal {
        Principal::User {
            user: User {
                id: format!("id-{name}"),
                username: name.to_owned(),
                admin,
                status: AccountStatus::Active,
                namespace: crate::accounts::namespace_of(name),
                created_at: jiff::Timestamp::UNIX_EPOCH,
                quota: QuotaOverride::default(),
            },
            csrf: None,
        }
    }

    #[test]
    fn callers_reach_their_own_namespace_and_admins_reach_all() {
        let cases = [
            (user("ann", false), "appgen-ann", true),
            (user("ann", false), "appgen-bob", false),
            (user("ann", false), "default", false),
            (user("root", true), "appgen-bob", true),
            (Principal::AdminToken, "appgen-bob", true),
            (Principal::AdminToken, "default", true),
        ];
        for (principal, namespace, expected) in cases {
            assert_eq!(
                principal.may_access(namespace),
                expected,
                "{principal:?} → {namespace}"
            );
        }
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.append(
            http::header::COOKIE,
            "theme=dark; appgen_session=abc123".parse().unwrap(),
        );
        assert_eq!(session_cookie(&headers), Some("abc123"));
        headers.clear();
        headers.append(http::header::COOKIE, "appgen_sessionx=1".parse().unwrap());
        assert_eq!(session_cookie(&headers), None);
    }
}
