//! Generations: create, list, read, cancel, retry, continue, delete; and apps with their versions.

use std::time::Duration;

use appgen_artifacts::Layout;
use appgen_crd::MAX_PROMPT_CHARS;
use appgen_crd::{AgentSpec, Blueprint, DeliverySpec, Generation, GenerationSpec, Phase};
use axum::Json;
use axum::extract::{Path, Query, State};
use http::StatusCode;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde::Deserialize;

use super::{Body, visible};
use crate::auth::Principal;
use crate::error::ErrorBody;
use crate::view::{AppView, GenerationView, ListQuery, Page, app_of, apps as group_apps, finished, page};
use crate::{ApiConfig, ApiState, Error, limits};

/// A new Generation. The namespace is the caller's; there is no field for it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRequest {
    /// The app idea in plain language (up to 65,536 characters).
    prompt: String,
    /// The app's name, a DNS label of at most 40 characters; suggested from the prompt when unset.
    #[serde(default)]
    app: Option<String>,
    /// `name` (`scaffold` or `claude-code`), `model`, `maxTurns`, `maxBudgetUsd`, `maxRepairs`, `startFrom`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    agent: Option<AgentSpec>,
    /// `deploy.target` (`preview`, `fly`, `none`) and `git`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    delivery: Option<DeliverySpec>,
    /// An explicit data model, for exact control over what is built.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    blueprint: Option<Blueprint>,
    #[serde(default)]
    timeout_seconds: Option<i64>,
    #[serde(default)]
    retries: Option<i32>,
}

/// A follow-up to a delivered Generation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContinueRequest {
    /// What to change or add, in plain language.
    prompt: String,
}

const MAX_APP_CHARS: usize = 40;

/// Words that say nothing about which app this is.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "app",
    "application",
    "web",
    "website",
    "site",
    "build",
    "make",
    "create",
    "i",
    "we",
    "want",
    "need",
    "would",
    "like",
    "please",
    "me",
    "my",
    "our",
    "for",
    "to",
    "of",
    "with",
    "and",
    "that",
    "which",
    "where",
    "can",
    "simple",
    "small",
    "tiny",
    "little",
    "basic",
    "let",
    "lets",
    "is",
    "in",
    "on",
];

/// An app name from the first telling words of a prompt: `"A tiny todo list with due dates"`
/// → `todo-list-due`.
pub fn suggest_app(prompt: &str) -> String {
    let words: Vec<String> = prompt
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .filter(|w| !w.is_empty() && !FILLER.contains(&w.as_str()))
        .take(3)
        .collect();
    let mut name = String::new();
    for word in words {
        if name.len() + word.len() + 1 > MAX_APP_CHARS {
            break;
        }
        if !name.is_empty() {
            name.push('-');
        }
        name.push_str(&word);
    }
    match name.chars().next() {
        None => "app".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("app-{name}").chars().take(MAX_APP_CHARS).collect(),
        Some(_) => name,
    }
}

fn check_prompt(prompt: &str) -> Result<String, Error> {
    let prompt = prompt.trim();
    if prompt.is_empty() {
        return Err(Error::invalid(
            "prompt",
            "describe the app you want in a sentence or more",
        ));
    }
    let chars = prompt.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(Error::invalid(
            "prompt",
            format!("is {chars} characters; shorten it to at most {MAX_PROMPT_CHARS}"),
        ));
    }
    Ok(prompt.to_owned())
}

fn check_app(app: &str) -> Result<(), Error> {
    let ok = !app.is_empty()
        && app.len() <= MAX_APP_CHARS
        && app
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !app.starts_with('-')
        && !app.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "app",
            format!(
                "use 1–{MAX_APP_CHARS} lowercase letters, digits and '-', not starting or ending with '-'"
            ),
        ))
    }
}

fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    min: T,
    max: T,
) -> Result<(), Error> {
    match value {
        Some(v) if v < min || v > max => Err(Error::invalid(field, format!("must be from {min} to {max}"))),
        _ => Ok(()),
    }
}

/// The spec a create request asks for, checked against what this server offers.
pub fn spec_of(request: CreateRequest, config: &ApiConfig) -> Result<GenerationSpec, Error> {
    let prompt = check_prompt(&request.prompt)?;
    let app = match request.app.as_deref().map(str::trim) {
        Some(app) if !app.is_empty() => {
            check_app(app)?;
            app.to_owned()
        }
        _ => suggest_app(&prompt),
    };
    let mut agent = request.agent.unwrap_or_default();
    let name = *agent.name.get_or_insert(config.default_agent);
    if !config.agents.contains(&name) {
        let offered: Vec<&str> = config.agents.iter().map(|a| a.as_str()).collect();
        return Err(Error::invalid(
            "agent.name",
            format!(
                "{} is not available on this server; use one of: {}",
                name.as_str(),
                offered.join(", ")
            ),
        ));
    }
    if agent.max_budget_usd.is_some_and(|b| !(b > 0.0 && b <= 1000.0)) {
        return Err(Error::invalid(
            "agent.maxBudgetUsd",
            "must be more than 0 and at most 1000",
        ));
    }
    check_range("agent.maxTurns", agent.max_turns, 1, 1000)?;
    check_range("agent.maxRepairs", agent.max_repairs, 0, 10)?;
    check_range("timeoutSeconds", request.timeout_seconds, 60, 86_400)?;
    check_range("retries", request.retries, 0, 10)?;
    if let Some(target) = request
        .delivery
        .as_ref()
        .and_then(|d| d.deploy.as_ref())
        .map(|d| d.target)
        .filter(|t| !config.deploy_targets.contains(t))
    {
        return Err(Error::invalid(
            "delivery.deploy.target",
            format!("{target:?} is not offered by this server"),
        ));
    }
    let mut spec = GenerationSpec::from_prompt(prompt);
    spec.app = Some(app);
    spec.agent = Some(agent);
    spec.delivery = request.delivery;
    spec.blueprint = request.blueprint;
    spec.timeout_seconds = request.timeout_seconds;
    spec.retries = request.retries;
    Ok(spec)
}

/// How long a creation waits for the watch to show its Generation, so the next request (and the
/// quota) sees it.
const SETTLE: Duration = Duration::from_secs(2);

/// Creates a Generation with `spec` in `namespace` for `principal`, within the quota.
async fn create_in(
    state: &ApiState,
    principal: &Principal,
    namespace: &str,
    spec: GenerationSpec,
) -> Result<Generation, Error> {
    let lock = state
        .creating
        .lock()
        .await
        .entry(namespace.to_owned())
        .or_default()
        .clone();
    let _one_at_a_time = lock.lock().await;
    let now = (state.clock)();
    let day_ago = now - jiff::SignedDuration::from_hours(24);
    if let Some(user) = principal.user() {
        let quota = user.quota.over(state.accounts.default_quota().await?);
        let unfinished = state
            .cache
            .all()
            .iter()
            .filter(|g| g.metadata.namespace.as_deref() == Some(namespace) && !finished(g))
            .count();
        let created = state.accounts.creations_since(&user.id, day_ago).await?;
        limits::admit(quota, unfinished, &created, now)?;
    }
    ensure_namespace(state, namespace).await?;

    let app = spec.app.clone().unwrap_or_else(|| "app".to_owned());
    let mut generation = Generation::new("", spec);
    generation.metadata.name = None;
    generation.metadata.generate_name = Some(format!("{app}-"));
    let api: Api<Generation> = Api::namespaced(state.client.clone(), namespace);
    let created = api
        .create(&PostParams::default(), &generation)
        .await
        .map_err(write_error)?;
    if let Some(user) = principal.user() {
        state.accounts.record_creation(&user.id, now, day_ago).await?;
    }
    let name = created.metadata.name.clone().unwrap_or_default();
    tracing::info!(%namespace, %name, %app, "generation created");
    settle(state, namespace, &name).await;
    Ok(created)
}

async fn settle(state: &ApiState, namespace: &str, name: &str) {
    let mut changes = state.cache.changes();
    let seen = async {
        while state.cache.get(namespace, name).is_none() {
            if changes.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(SETTLE, seen).await;
}

/// Creates the namespace on a cluster that has them; local-apiserver has no Namespace resource
/// (every namespace exists there), which answers 404.
async fn ensure_namespace(state: &ApiState, namespace: &str) -> Result<(), Error> {
    if state
        .namespaces
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(namespace)
    {
        return Ok(());
    }
    let api: Api<Namespace> = Api::all(state.client.clone());
    let mut object = Namespace::default();
    object.metadata.name = Some(namespace.to_owned());
    object.metadata.labels = Some([("app.kubernetes.io/managed-by".to_owned(), "appgen".to_owned())].into());
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    state
        .namespaces
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(namespace.to_owned());
    Ok(())
}

/// A refusal of the Kubernetes API, in the API's terms.
fn write_error(e: kube::Error) -> Error {
    match e {
        kube::Error::Api(status) if status.code == 422 || status.code == 400 => {
            Error::invalid("spec", status.message)
        }
        kube::Error::Api(status) if status.code == 409 => Error::Conflict(status.message),
        other => Error::Kube(other),
    }
}

#[utoipa::path(post, path = "/api/v1/generations", tag = "generations", request_body = CreateRequest,
    responses((status = 201, body = GenerationView), (status = 422, body = ErrorBody),
        (status = 429, description = "Over the quota; Retry-After says when to come back", body = ErrorBody)))]
pub async fn create(
    State(state): State<ApiState>,
    principal: Principal,
    Body(request): Body<CreateRequest>,
) -> Result<(StatusCode, Json<GenerationView>), Error> {
    let spec = spec_of(request, &state.config)?;
    let created = create_in(&state, &principal, principal.namespace(), spec).await?;
    Ok((StatusCode::CREATED, Json(GenerationView::of(&created))))
}

#[utoipa::path(get, path = "/api/v1/generations", tag = "generations", params(ListQuery),
    responses((status = 200, body = Page<GenerationView>)))]
pub async fn list(
    State(state): State<ApiState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<GenerationView>>, Error> {
    if query
        .namespace
        .as_deref()
        .is_some_and(|ns| ns != principal.namespace())
    {
        return Err(Error::invalid(
            "namespace",
            "lists show your own generations; administrators list all at /api/v1/admin/generations",
        ));
    }
    state.cache.ready().await;
    Ok(Json(page(
        &state.cache.newest_first(),
        Some(principal.namespace()),
        &query,
    )?))
}

#[utoipa::path(get, path = "/api/v1/generations/{namespace}/{name}", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = GenerationView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<GenerationView>, Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    let mut view = GenerationView::of(&generation);
    if let Ok(layout) = Layout::new(&namespace, &name, &view.uid) {
        let prefix = layout.screenshots();
        view.links.screenshots = state
            .store
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|key| key.strip_prefix(&prefix))
            .filter(|file| file.ends_with(".png") && !file.contains('/'))
            .map(|file| format!("{}/screenshots/{file}", view.links.self_))
            .collect();
    }
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/generations/{namespace}/{name}/cancel", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = GenerationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<Json<GenerationView>, Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    if finished(&generation) {
        return Err(Error::Conflict(format!(
            "generation {namespace}/{name} already ended {:?}; there is nothing to cancel",
            crate::view::phase(&generation)
        )));
    }
    let api: Api<Generation> = Api::namespaced(state.client.clone(), &namespace);
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": { "cancel": true } })),
        )
        .await
        .map_err(write_error)?;
    tracing::info!(%namespace, %name, "generation cancel requested");
    Ok(Json(GenerationView::of(&patched)))
}

#[utoipa::path(post, path = "/api/v1/generations/{namespace}/{name}/retry", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 201, body = GenerationView), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn retry(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<GenerationView>), Error> {
    let source = visible(&state, &principal, &namespace, &name)?;
    let mut spec = source.spec.clone();
    spec.cancel = None;
    let created = create_in(&state, &principal, &namespace, spec).await?;
    Ok((StatusCode::CREATED, Json(GenerationView::of(&created))))
}

/// Delivers a finished generation's stored archive again (Git push, deploy) without regenerating
/// it, by raising `spec.redeliver`; the controller does the rest.
#[utoipa::path(post, path = "/api/v1/generations/{namespace}/{name}/redeliver", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 202, body = GenerationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<GenerationView>), Error> {
    let generation = visible(&state, &principal, &namespace, &name)?;
    let status = generation.status.clone().unwrap_or_default();
    if !finished(&generation) {
        return Err(Error::Conflict(format!(
            "generation {namespace}/{name} has not finished; deliver it again once it has"
        )));
    }
    if status.outputs.as_ref().and_then(|o| o.sha256.as_ref()).is_none() {
        return Err(Error::Conflict(format!(
            "generation {namespace}/{name} made no archive, so there is nothing to deliver again; retry it to build the app"
        )));
    }
    let next = generation
        .spec
        .redeliver
        .unwrap_or(0)
        .max(status.observed_redeliver.unwrap_or(0))
        + 1;
    let api: Api<Generation> = Api::namespaced(state.client.clone(), &namespace);
    // The resourceVersion makes two requests at once raise it once each, not both to the same value.
    let patched = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({
                "metadata": { "resourceVersion": generation.metadata.resource_version },
                "spec": { "redeliver": next },
            })),
        )
        .await
        .map_err(write_error)?;
    tracing::info!(%namespace, %name, redeliver = next, "generation redelivery requested");
    Ok((StatusCode::ACCEPTED, Json(GenerationView::of(&patched))))
}

#[utoipa::path(post, path = "/api/v1/generations/{namespace}/{name}/continue", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)), request_body = ContinueRequest,
    responses((status = 201, body = GenerationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn continue_(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
    Body(request): Body<ContinueRequest>,
) -> Result<(StatusCode, Json<GenerationView>), Error> {
    let source = visible(&state, &principal, &namespace, &name)?;
    let prompt = check_prompt(&request.prompt)?;
    if crate::view::phase(&source) != Phase::Delivered {
        return Err(Error::Conflict(format!(
            "generation {namespace}/{name} was not delivered; continue from a delivered version of the app"
        )));
    }
    let mut spec = GenerationSpec::from_prompt(prompt);
    spec.app = Some(app_of(&source).to_owned());
    spec.parent = Some(name);
    spec.agent = source.spec.agent.clone();
    spec.template = source.spec.template.clone();
    spec.delivery = source.spec.delivery.clone();
    spec.timeout_seconds = source.spec.timeout_seconds;
    spec.retries = source.spec.retries;
    let created = create_in(&state, &principal, &namespace, spec).await?;
    Ok((StatusCode::CREATED, Json(GenerationView::of(&created))))
}

#[utoipa::path(delete, path = "/api/v1/generations/{namespace}/{name}", tag = "generations",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "Deleting; a running task is stopped first"), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<ApiState>,
    principal: Principal,
    Path((namespace, name)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    visible(&state, &principal, &namespace, &name)?;
    let api: Api<Generation> = Api::namespaced(state.client.clone(), &namespace);
    match api.delete(&name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(e) => return Err(write_error(e)),
    }
    tracing::info!(%namespace, %name, "generation deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/apps", tag = "generations",
    responses((status = 200, body = Page<AppView>)))]
pub async fn apps(State(state): State<ApiState>, principal: Principal) -> Json<Page<AppView>> {
    state.cache.ready().await;
    Json(Page {
        items: group_apps(state.cache.all(), Some(principal.namespace())),
        continue_: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use appgen_crd::AgentName;

    fn request(json: serde_json::Value) -> CreateRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn app_names_come_from_the_telling_words_of_the_prompt() {
        let cases = [
            ("A tiny todo list with due dates", "todo-list-due"),
            ("I want an app to track my recipes", "track-recipes"),
            ("Build me a CRM for dentists, please", "crm-dentists"),
            ("!!!", "app"),
            ("2048 game clone", "app-2048-game-clone"),
            (
                "Supercalifragilisticexpialidocious extraordinarily wonderful",
                "supercalifragilisticexpialidocious",
            ),
        ];
        for (prompt, expected) in cases {
            let app = suggest_app(prompt);
            assert_eq!(app, expected, "{prompt}");
            assert!(check_app(&app).is_ok(), "{app}");
        }
    }

    #[test]
    fn a_create_request_becomes_a_spec_or_an_error_naming_the_field() {
        let spec = spec_of(
            request(serde_json::json!({"prompt": "  A recipe box  "})),
            &ApiConfig::default(),
        )
        .unwrap();
        assert_eq!(spec.prompt, "A recipe box");
        assert_eq!(spec.app.as_deref(), Some("recipe-box"));
        assert_eq!(spec.agent.and_then(|a| a.name), Some(AgentName::Scaffold));

        let cases = [
            (serde_json::json!({"prompt": "   "}), "prompt"),
            (
                serde_json::json!({"prompt": "x".repeat(MAX_PROMPT_CHARS + 1)}),
                "prompt",
            ),
            (serde_json::json!({"prompt": "x", "app": "Bad_Name"}), "app"),
            (serde_json::json!({"prompt": "x", "app": "a".repeat(41)}), "app"),
            (
                serde_json::json!({"prompt": "x", "agent": {"name": "claude-code"}}),
                "agent.name",
            ),
            (
                serde_json::json!({"prompt": "x", "agent": {"maxBudgetUsd": 0}}),
                "agent.maxBudgetUsd",
            ),
            (
                serde_json::json!({"prompt": "x", "agent": {"maxTurns": 0}}),
                "agent.maxTurns",
            ),
            (
                serde_json::json!({"prompt": "x", "timeoutSeconds": 5}),
                "timeoutSeconds",
            ),
            (serde_json::json!({"prompt": "x", "retries": 11}), "retries"),
            (
                serde_json::json!({"prompt": "x", "delivery": {"deploy": {"target": "fly"}}}),
                "delivery.deploy.target",
            ),
        ];
        for (json, field) in cases {
            match spec_of(request(json.clone()), &ApiConfig::default()) {
                Err(Error::Invalid { field: named, .. }) => assert_eq!(named, field, "{json}"),
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
