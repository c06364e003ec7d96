//! Administration: accounts, quotas, invites, and every user's Generations.

use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use serde::Serialize;

use super::Body;
use crate::accounts::{Quota, User, UserChange};
use crate::auth::Admin;
use crate::error::ErrorBody;
use crate::secrets::{random_secret, sha256_hex};
use crate::view::{GenerationView, ListQuery, Page, page};
use crate::{ApiState, Error};

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin",
    responses((status = 200, body = Page<User>), (status = 403, body = ErrorBody)))]
pub async fn users(State(state): State<ApiState>, _: Admin) -> Result<Json<Page<User>>, Error> {
    Ok(Json(Page {
        items: state.accounts.users().await?,
        continue_: None,
    }))
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", request_body = UserChange,
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_user(
    State(state): State<ApiState>,
    Admin(principal): Admin,
    Path(id): Path<String>,
    Body(change): Body<UserChange>,
) -> Result<Json<User>, Error> {
    let own = principal.user().is_some_and(|me| me.id == id);
    if own && (change.status.is_some() || change.admin == Some(false)) {
        return Err(Error::Conflict(
            "you cannot disable or demote your own account; ask another administrator".to_owned(),
        ));
    }
    let user = state
        .accounts
        .change_user(&id, change)
        .await?
        .ok_or_else(|| Error::NotFound(format!("user {id}")))?;
    tracing::info!(user = %user.username, status = ?user.status, admin = user.admin, "account changed by an administrator");
    Ok(Json(user))
}

/// A one-time invite code for an invite-only server.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Invite {
    code: String,
}

#[utoipa::path(post, path = "/api/v1/admin/invites", tag = "admin",
    responses((status = 201, body = Invite), (status = 403, body = ErrorBody)))]
pub async fn invite(
    State(state): State<ApiState>,
    Admin(principal): Admin,
) -> Result<(StatusCode, Json<Invite>), Error> {
    let code = random_secret(&state.entropy, "appgen_inv_");
    state
        .accounts
        .create_invite(sha256_hex(&code), principal.key().to_owned(), (state.clock)())
        .await?;
    Ok((StatusCode::CREATED, Json(Invite { code })))
}

#[utoipa::path(get, path = "/api/v1/admin/quotas", tag = "admin",
    responses((status = 200, description = "What every user may run unless their own quota says otherwise", body = Quota)))]
pub async fn quotas(State(state): State<ApiState>, _: Admin) -> Result<Json<Quota>, Error> {
    Ok(Json(state.accounts.default_quota().await?))
}

#[utoipa::path(put, path = "/api/v1/admin/quotas", tag = "admin", request_body = Quota,
    responses((status = 200, body = Quota), (status = 422, body = ErrorBody)))]
pub async fn set_quotas(
    State(state): State<ApiState>,
    _: Admin,
    Body(quota): Body<Quota>,
) -> Result<Json<Quota>, Error> {
    state.accounts.set_default_quota(quota).await?;
    Ok(Json(quota))
}

#[utoipa::path(get, path = "/api/v1/admin/generations", tag = "admin", params(ListQuery),
    responses((status = 200, body = Page<GenerationView>), (status = 403, body = ErrorBody)))]
pub async fn generations(
    State(state): State<ApiState>,
    _: Admin,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<GenerationView>>, Error> {
    state.cache.ready().await;
    Ok(Json(page(
        &state.cache.newest_first(),
        query.namespace.as_deref(),
        &query,
    )?))
}
