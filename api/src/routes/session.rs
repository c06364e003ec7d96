//! Signing up, in and out, and what the browser needs to know first.

use appgen_crd::MAX_PROMPT_CHARS;
use appgen_crd::{AgentName, DeployTarget};
use axum::Json;
use std::sync::OnceLock;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::Body;
use crate::accounts::{AccountStatus, NewUser, SignupRefusal, User};
use crate::auth::{ClientIp, Principal, SESSION_COOKIE, session_cookie};
use crate::error::ErrorBody;
use crate::secrets::{hash_password, random_id, random_secret, sha256_hex, verify_password};
use crate::{ApiState, Entropy, Error, Signup};

/// What the UI needs before anyone signs in.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    signup: Signup,
    #[schema(value_type = Vec<String>)]
    agents: Vec<AgentName>,
    #[schema(value_type = String)]
    default_agent: AgentName,
    #[schema(value_type = Vec<String>)]
    deploy_targets: Vec<DeployTarget>,
    max_prompt_bytes: usize,
}

#[utoipa::path(get, path = "/api/v1/config", tag = "session",
    responses((status = 200, body = ServerConfig)))]
pub async fn config(State(state): State<ApiState>) -> Json<ServerConfig> {
    Json(ServerConfig {
        signup: state.config.signup,
        agents: state.config.agents.clone(),
        default_agent: state.config.default_agent,
        deploy_targets: state.config.deploy_targets.clone(),
        max_prompt_bytes: MAX_PROMPT_CHARS,
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupRequest {
    /// 3–30 characters: lowercase letters, digits and `-`, starting with a letter.
    username: String,
    /// At least 10 characters.
    password: String,
    /// An invite code from an administrator (invite-only servers).
    #[serde(default)]
    invite: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// The signed-in caller. `csrfToken` must be sent as `X-CSRF-Token` with every unsafe request
/// made with the session cookie.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    signed_in: bool,
    /// Absent for a visitor and for the admin token, which is no account.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User>,
    admin: bool,
    /// Where the caller's own Generations live.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 1024;

fn check_username(username: &str) -> Result<(), Error> {
    let shape_ok = (3..=30).contains(&username.len())
        && username.starts_with(|c: char| c.is_ascii_lowercase())
        && !username.ends_with('-')
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if shape_ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "username",
            "use 3–30 lowercase letters, digits and '-', starting with a letter and not ending with '-'",
        ))
    }
}

fn check_password(password: &str) -> Result<(), Error> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            format!("use at least {MIN_PASSWORD} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(Error::invalid(
            "password",
            format!("use at most {MAX_PASSWORD} bytes"),
        ));
    }
    Ok(())
}

fn sign_in_allowed(state: &ApiState, request_ip: &str) -> Result<(), Error> {
    state
        .limits
        .sign_in
        .check(request_ip, (state.clock)())
        .map_err(|retry_after| Error::RateLimited { retry_after })
}

#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "session", request_body = SignupRequest,
    responses(
        (status = 201, description = "Signed up and in", body = SessionView),
        (status = 202, description = "Signed up; the account waits for an administrator", body = SessionView),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn signup(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<SignupRequest>,
) -> Result<Response, Error> {
    sign_in_allowed(&state, &ip)?;
    check_username(&body.username)?;
    check_password(&body.password)?;
    let first = state.accounts.user_count().await? == 0;
    let status = match (state.config.signup, &body.invite) {
        // The first account is how a new server gets its administrator, whatever the mode.
        _ if first => AccountStatus::Active,
        (Signup::Closed, _) => return Err(Error::SignupClosed),
        (Signup::Open, _) | (Signup::Invite, Some(_)) => AccountStatus::Active,
        (Signup::Invite, None) => AccountStatus::Pending,
    };
    let entropy = state.entropy.clone();
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, &entropy))
        .await
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))??;
    let id = random_id(&state.entropy);
    let invite_hash = body.invite.as_deref().filter(|_| !first).map(sha256_hex);
    let created = state
        .accounts
        .create_user(NewUser {
            id: &id,
            username: &body.username,
            password_hash: &hash,
            status,
            now: (state.clock)(),
            invite_hash: invite_hash.as_deref(),
        })
        .await?;
    let user = match created {
        Ok(user) => user,
        Err(SignupRefusal::UsernameTaken) => {
            return Err(Error::Conflict(format!(
                "the username {} is taken; pick another",
                body.username
            )));
        }
        Err(SignupRefusal::BadInvite) => {
            return Err(Error::invalid(
                "invite",
                "this invite code is not valid or was already used",
            ));
        }
    };
    tracing::info!(user = %user.username, status = ?user.status, admin = user.admin, "account created");
    if user.status == AccountStatus::Pending {
        let view = SessionView {
            signed_in: false,
            admin: false,
            namespace: Some(user.namespace.clone()),
            user: Some(user),
            csrf_token: None,
        };
        return Ok((StatusCode::ACCEPTED, Json(view)).into_response());
    }
    start_session(&state, user, StatusCode::CREATED).await
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn login(
    State(state): State<ApiState>,
    ClientIp(ip): ClientIp,
    Body(body): Body<LoginRequest>,
) -> Result<Response, Error> {
    sign_in_allowed(&state, &ip)?;
    let found = state.accounts.by_username(&body.username).await?;
    // An unknown name costs a hash check too, so timing does not tell which names exist.
    let hash = found.as_ref().map(|(_, hash)| hash.clone());
    let (password, entropy) = (body.password, state.entropy.clone());
    let matches = tokio::task::spawn_blocking(move || {
        let hash = hash.as_deref().unwrap_or_else(|| unknown_user_hash(&entropy));
        verify_password(&password, hash)
    })
    .await
    .map_err(|e| Error::Internal(format!("checking a password: {e}")))?;
    let user = match found {
        Some((user, _)) if matches => user,
        _ => return Err(Error::BadCredentials),
    };
    match user.status {
        AccountStatus::Active => start_session(&state, user, StatusCode::OK).await,
        AccountStatus::Pending => Err(Error::Pending),
        AccountStatus::Disabled => Err(Error::Disabled),
    }
}

/// A hash of a random password nobody knows, checked when the username is unknown.
fn unknown_user_hash(entropy: &Entropy) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_secret(entropy, ""), entropy).unwrap_or_default())
}

async fn start_session(state: &ApiState, user: User, status: StatusCode) -> Result<Response, Error> {
    let session = random_secret(&state.entropy, "");
    let csrf = random_secret(&state.entropy, "");
    let lifetime = state.config.session_lifetime;
    let expires = (state.clock)()
        + jiff::SignedDuration::try_from(lifetime)
            .map_err(|e| Error::Internal(format!("session lifetime: {e}")))?;
    state
        .accounts
        .create_session(&user.id, sha256_hex(&session), csrf.clone(), expires)
        .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        lifetime.as_secs(),
        if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        }
    );
    let view = SessionView {
        signed_in: true,
        admin: user.admin,
        namespace: Some(user.namespace.clone()),
        user: Some(user),
        csrf_token: Some(csrf),
    };
    let mut response = (status, Json(view)).into_response();
    response.headers_mut().insert(
        http::header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| Error::Internal(format!("session cookie: {e}")))?,
    );
    Ok(response)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "session",
    responses((status = 204, description = "Signed out")))]
pub async fn logout(State(state): State<ApiState>, headers: HeaderMap) -> Result<Response, Error> {
    if let Some(session) = session_cookie(&headers) {
        state.accounts.delete_session(sha256_hex(session)).await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(http::header::SET_COOKIE, clear)]).into_response())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "session",
    responses((status = 200, description = "The caller; `signedIn` is false (and `user` absent) for a visitor", body = SessionView),
        (status = 401, description = "A bearer token that is not valid", body = ErrorBody)))]
pub async fn me(principal: Option<Principal>) -> Json<SessionView> {
    let Some(principal) = principal else {
        // A visitor is an answer, not an error: browsers log every failed request.
        return Json(SessionView {
            signed_in: false,
            user: None,
            admin: false,
            namespace: None,
            csrf_token: None,
        });
    };
    let admin = principal.is_admin();
    let namespace = Some(principal.namespace().to_owned());
    Json(match principal {
        Principal::AdminToken => SessionView {
            signed_in: true,
            user: None,
            admin,
            namespace,
            csrf_token: None,
        },
        Principal::User { user, csrf } => SessionView {
            signed_in: true,
            user: Some(user),
            admin,
            namespace,
            csrf_token: csrf,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked_by_shape() {
        for good in ["ann", "bob-2", "a23456789012345678901234567890"] {
            assert!(check_username(good).is_ok(), "{good}");
        }
        for bad in [
            "an",
            "Ann",
            "1ann",
            "ann-",
            "an_n",
            "ann@x",
            "a234567890123456789012345678901",
            "ünn",
        ] {
            assert!(
                matches!(check_username(bad), Err(Error::Invalid { field, .. }) if field == "username"),
                "{bad}"
            );
        }
        assert!(check_password("ten chars!").is_ok());
        assert!(
            matches!(check_password("nine char"), Err(Error::Invalid { field, .. }) if field == "password")
        );
        assert!(check_password(&"x".repeat(1025)).is_err());
    }
}
