//! Personal API tokens for scripts and the command line: shown once, stored hashed, revocable.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::Body;
use crate::accounts::{TokenInfo, User};
use crate::auth::Principal;
use crate::error::ErrorBody;
use crate::secrets::{random_id, random_secret, sha256_hex};
use crate::view::Page;
use crate::{ApiState, Error};

/// What a personal token starts with, so a leaked one is easy to recognise.
const TOKEN_PREFIX: &str = "appgen_pat_";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. `laptop CLI` (1–100 characters).
    name: String,
}

/// A new token. `token` is shown this once; only its hash is kept.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    #[serde(flatten)]
    info: TokenInfo,
    token: String,
}

fn account(principal: &Principal) -> Result<&User, Error> {
    principal.user().ok_or_else(|| {
        Error::Forbidden("the admin token is not an account and has no personal tokens".to_owned())
    })
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Page<TokenInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<ApiState>,
    principal: Principal,
) -> Result<Json<Page<TokenInfo>>, Error> {
    let items = state.accounts.tokens(&account(&principal)?.id).await?;
    Ok(Json(Page {
        items,
        continue_: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = NewToken), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    principal: Principal,
    Body(body): Body<CreateToken>,
) -> Result<(StatusCode, Json<NewToken>), Error> {
    let user = account(&principal)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "give the token a name of 1–100 characters",
        ));
    }
    let token = random_secret(&state.entropy, TOKEN_PREFIX);
    let info = TokenInfo {
        id: random_id(&state.entropy),
        name: name.to_owned(),
        created_at: (state.clock)(),
        last_used_at: None,
    };
    state
        .accounts
        .create_token(&user.id, info.clone(), sha256_hex(&token))
        .await?;
    Ok((StatusCode::CREATED, Json(NewToken { info, token })))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<ApiState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    if state.accounts.revoke_token(&account(&principal)?.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound(format!("token {id}")))
    }
}
