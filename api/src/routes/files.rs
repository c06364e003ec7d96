//! The files a Generation delivered: its archive and screenshots.

use std::time::Duration;

use appgen_artifacts::Layout;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::visible;
use crate::auth::Principal;
use crate::error::ErrorBody;
use crate::view::{app_of, has_archive};
use crate::{ApiState, Error};

/// Long enough for a slow download to start, short enough that a leaked link soon stops working.
const DOWNLOAD_URL_LIFETIME: Duration = Duration::from_secs(300);

fn layout_of(namespace: &str, name: &str, uid: Option<&str>) -> Result<Layout, Error> {
    uid.and_then(|uid| Layout::new(namespace, name, uid).ok())
        .ok_or_else(|| Error::NotFound(format!("generation {namespace}/{name}")))
}

#[utoipa::path(get, path = "/api/v1/generations/{namespace}/{name}/archive", tag = "files",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The app's source as .tar.gz", content_type = "application/gzip"),
        (status = 307, description = "A short-lived link to the archive in object storage"),
        (status = 404, body = ErrorBody), (status = 409, description = "Not delivered yet", body = ErrorBody)))]
pub async fn archive(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Response, Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    if !has_archive(&generation) {
        return Err(Error::NotReady(format!(
            "generation {namespace}/{name} has made no archive yet; it appears once the app passes its gates"
        )));
    }
    let layout = layout_of(&namespace, &name, generation.metadata.uid.as_deref())?;
    let file_name = format!("{}.tar.gz", app_of(&generation));
    serve_file(&state, &layout.archive(), "application/gzip", Some(&file_name)).await
}

#[utoipa::path(get, path = "/api/v1/generations/{namespace}/{name}/screenshots/{file}", tag = "files",
    params(("namespace" = String, Path), ("name" = String, Path), ("file" = String, Path)),
    responses((status = 200, description = "A PNG", content_type = "image/png"), (status = 404, body = ErrorBody)))]
pub async fn screenshot(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name, file)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    let plain = file.ends_with(".png")
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !file.starts_with('.');
    if !plain {
        return Err(Error::NotFound(format!("screenshot {file}")));
    }
    let layout = layout_of(&namespace, &name, generation.metadata.uid.as_deref())?;
    let key = format!("{}{file}", layout.screenshots());
    serve_file(&state, &key, "image/png", None).await
}

/// The file's bytes, or a redirect to a presigned URL when the store gives one.
async fn serve_file(
    state: &ApiState,
    key: &str,
    content_type: &'static str,
    download_name: Option<&str>,
) -> Result<Response, Error> {
    if let Some(url) = state.store.download_url(key, DOWNLOAD_URL_LIFETIME).await? {
        return Ok((
            http::StatusCode::TEMPORARY_REDIRECT,
            [(http::header::LOCATION, url)],
        )
            .into_response());
    }
    let bytes = state
        .store
        .get(key)
        .await?
        .ok_or_else(|| Error::NotFound(format!("file {key}")))?;
    let mut response = ([(http::header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Some(file_name) = download_name
        && let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
    {
        response
            .headers_mut()
            .insert(http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
