//! The resource endpoints: get, list, create, update, patch, delete and deletecollection, for the
//! main resource and its `status` subresource, with the semantics Kubernetes documents.
//!
//! Every write decides what to store with pure functions ([`meta`], [`schema`], [`patch`]) inside
//! [`Store::write`], which makes the decision and the write one atomic step.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use rand::Rng;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::http::{self as h, FieldValidation, Params, Rendering};
use crate::patch::{self, Writer};
use crate::resource::{ResourceDef, Wire};
use crate::schema::{self, FieldError};
use crate::selector::{FieldSelector, LabelSelector};
use crate::storage::{ObjectKey, Stored, Write};
use crate::{App, discovery, events, meta, watch};

/// A request path resolved against the registry.
#[derive(Debug)]
pub(crate) struct Target<'a> {
    pub def: &'a ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub status: bool,
}

impl Target<'_> {
    fn key(&self) -> Result<ObjectKey> {
        let name = self.name.clone().ok_or(Error::MethodNotAllowed)?;
        Ok(ObjectKey {
            storage: self.def.storage.clone(),
            namespace: self.namespace.clone().unwrap_or_default(),
            name,
        })
    }

    fn not_found(&self, name: &str) -> Error {
        Error::NotFound {
            group: self.def.group.clone(),
            resource: self.def.group_resource(),
            kind: self.def.kind.clone(),
            name: name.to_owned(),
        }
    }
}

/// `/api/...`: the core group.
pub(crate) async fn core(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request
        .uri()
        .path()
        .trim_start_matches("/api")
        .trim_matches('/')
        .to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["v1"] if request.method() == Method::GET => discovery::resource_list(&app, "", "v1"),
        ["v1", rest @ ..] => serve(&app, "", "v1", rest, request).await,
        _ => into_response(Err(Error::UnknownPath)),
    }
}

/// `/apis/...`: named groups.
pub(crate) async fn grouped(State(app): State<Arc<App>>, request: Request) -> Response {
    let path = request
        .uri()
        .path()
        .trim_start_matches("/apis")
        .trim_matches('/')
        .to_owned();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [group] if request.method() == Method::GET => discovery::group(&app, group),
        [group, version] if request.method() == Method::GET => discovery::resource_list(&app, group, version),
        [group, version, rest @ ..] => serve(&app, group, version, rest, request).await,
        _ => into_response(Err(Error::UnknownPath)),
    }
}

fn into_response(result: Result<Response>) -> Response {
    result.unwrap_or_else(axum::response::IntoResponse::into_response)
}

async fn serve(app: &App, group: &str, version: &str, rest: &[&str], request: Request) -> Response {
    into_response(dispatch(app, group, version, rest, request).await)
}

fn resolve<'a>(app: &'a App, group: &str, version: &str, rest: &[&str]) -> Result<Target<'a>> {
    let (namespace, rest) = match rest {
        ["namespaces", ns, resource, tail @ ..]
            if !tail.is_empty() || app.registry.find(group, version, resource).is_some() =>
        {
            (Some((*ns).to_owned()), &rest[2..])
        }
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some((*name).to_owned()), None),
        [plural, name, sub] => (*plural, Some((*name).to_owned()), Some(*sub)),
        _ => return Err(Error::UnknownPath),
    };
    let def = app
        .registry
        .find(group, version, plural)
        .ok_or(Error::UnknownPath)?;
    if namespace.is_some() && !def.namespaced {
        return Err(Error::UnknownPath);
    }
    let status = match sub {
        None => false,
        Some("status") if def.status_subresource => true,
        Some(_) => return Err(Error::UnknownPath),
    };
    if def.namespaced && namespace.is_none() && name.is_some() {
        return Err(Error::UnknownPath);
    }
    Ok(Target {
        def,
        namespace,
        name,
        status,
    })
}

async fn dispatch(
    app: &App,
    group: &str,
    version: &str,
    rest: &[&str],
    request: Request,
) -> Result<Response> {
    let target = resolve(app, group, version, rest)?;
    let (parts, body) = request.into_parts();
    let params = Params::parse(parts.uri.query())?;
    let rendering = h::negotiate(&parts.headers)?;
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let manager = params
        .field_manager
        .clone()
        .unwrap_or_else(|| meta::manager_from_user_agent(user_agent));
    let call = Call {
        app,
        target: &target,
        params: &params,
        headers: &parts.headers,
        manager: &manager,
        api_version: target.def.api_version(),
    };
    match (parts.method, target.name.is_some()) {
        (Method::GET, false) if params.watch => watch::serve(app, &target, &params, rendering).await,
        (Method::GET, false) => call.list(rendering).await,
        (Method::GET, true) if params.watch => watch::serve(app, &target, &params, rendering).await,
        (Method::GET, true) => call.get(rendering).await,
        (Method::POST, false) if target.namespace.is_some() || !target.def.namespaced => {
            call.create(body).await
        }
        (Method::PUT, true) => call.update(body).await,
        (Method::PATCH, true) => call.patch(body).await,
        (Method::DELETE, true) => call.delete(body).await,
        (Method::DELETE, false) if !target.status => call.delete_collection(body).await,
        _ => Err(Error::MethodNotAllowed),
    }
}

/// One request on one resource.
struct Call<'a> {
    app: &'a App,
    target: &'a Target<'a>,
    params: &'a Params,
    headers: &'a HeaderMap,
    manager: &'a str,
    api_version: String,
}

/// What a write decided besides the object: warnings for the `Warning` header.
#[derive(Default)]
struct Outcome {
    warnings: Vec<String>,
}

impl Call<'_> {
    fn def(&self) -> &ResourceDef {
        self.target.def
    }

    fn now(&self) -> jiff::Timestamp {
        (self.app.clock)()
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            manager: self.manager,
            api_version: &self.api_version,
            subresource: self.target.status.then_some("status"),
            now: self.now(),
        }
    }

    fn wire_form(&self, stored: Value) -> Value {
        match self.def().wire {
            Wire::Native => stored,
            Wire::EventsV1 => events::to_events_v1(&stored),
        }
    }

    /// Checks a request body's apiVersion and kind against the endpoint (filling them in when
    /// absent) and converts it to the stored form.
    fn stored_form(&self, mut body: Value) -> Result<Value> {
        let def = self.def();
        let expected = def.api_version();
        match body.get("apiVersion").and_then(Value::as_str) {
            None | Some("") => body["apiVersion"] = json!(expected),
            Some(v) if v == expected => {}
            Some(v) => {
                return Err(Error::BadRequest(format!(
                    "the API version in the data ({v}) does not match the expected API version ({expected})"
                )));
            }
        }
        match body.get("kind").and_then(Value::as_str) {
            None | Some("") => body["kind"] = json!(def.kind),
            Some(k) if k == def.kind => {}
            Some(k) => {
                return Err(Error::BadRequest(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    def.kind
                )));
            }
        }
        Ok(match def.wire {
            Wire::Native => body,
            Wire::EventsV1 => events::from_events_v1(&body),
        })
    }

    fn respond(
        &self,
        code: StatusCode,
        stored: Value,
        outcome: &Outcome,
        rendering: Rendering,
    ) -> Result<Response> {
        let wire = self.wire_form(stored);
        let body = match rendering {
            Rendering::Json => wire,
            Rendering::Table => {
                let metadata = json!({ "resourceVersion": meta::meta_str(&wire, "resourceVersion") });
                self.def()
                    .printer
                    .table(&[&wire], self.params.include_object, self.now(), metadata)
            }
        };
        let mut response = h::json_response(code, &body);
        for warning in &outcome.warnings {
            let text = format!("299 - {}", serde_json::to_string(warning).unwrap_or_default());
            if let Ok(value) = HeaderValue::from_str(&text) {
                response.headers_mut().append("Warning", value);
            }
        }
        Ok(response)
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector)> {
        selectors(self.def(), self.params)
    }

    async fn get(&self, rendering: Rendering) -> Result<Response> {
        let key = self.target.key()?;
        let stored = self
            .app
            .store
            .get(&key)
            .await?
            .ok_or_else(|| self.target.not_found(&key.name))?;
        self.respond(StatusCode::OK, stored.value()?, &Outcome::default(), rendering)
    }

    async fn list(&self, rendering: Rendering) -> Result<Response> {
        let def = self.def();
        let (labels, fields) = self.selectors()?;
        let after = self
            .params
            .continue_token
            .as_deref()
            .map(decode_continue)
            .transpose()?;
        let (items, rv) = self
            .app
            .store
            .list(&def.storage, self.target.namespace.as_deref(), after.as_ref())
            .await?;
        let filtered = labels.is_empty() && fields.is_empty();
        let limit = self.params.limit.unwrap_or(usize::MAX);
        let mut kept: Vec<(ObjectKey, Stored)> = Vec::new();
        let mut more = false;
        for (key, stored) in items {
            if !filtered || def.wire != Wire::Native || rendering == Rendering::Table {
                let wire = self.wire_form(stored.value()?);
                if !matches_selectors(&labels, &fields, &wire) {
                    continue;
                }
            }
            if kept.len() == limit {
                more = true;
                break;
            }
            kept.push((key, stored));
        }
        let mut list_meta = json!({ "resourceVersion": rv.to_string() });
        if more && let Some((last, _)) = kept.last() {
            list_meta["continue"] = json!(encode_continue(rv, last));
        }
        match rendering {
            Rendering::Table => {
                let objects: Vec<Value> = kept
                    .iter()
                    .map(|(_, s)| s.value().map(|v| self.wire_form(v)))
                    .collect::<Result<_>>()?;
                let refs: Vec<&Value> = objects.iter().collect();
                let table = def
                    .printer
                    .table(&refs, self.params.include_object, self.now(), list_meta);
                Ok(h::json_response(StatusCode::OK, &table))
            }
            Rendering::Json if def.wire == Wire::Native => Ok(h::bytes_response(
                StatusCode::OK,
                splice_list(def, &list_meta, &kept),
            )),
            Rendering::Json => {
                let objects: Vec<Value> = kept
                    .iter()
                    .map(|(_, s)| s.value().map(|v| self.wire_form(v)))
                    .collect::<Result<_>>()?;
                let list = json!({"apiVersion": def.api_version(), "kind": def.list_kind(), "metadata": list_meta, "items": objects});
                Ok(h::json_response(StatusCode::OK, &list))
            }
        }
    }

    async fn create(&self, body: Body) -> Result<Response> {
        let media = h::content_type(self.headers).to_owned();
        let mut object = self.stored_form(h::decode(&h::read_body(body).await?, &media)?)?;
        let namespace = self.target.namespace.clone();
        if let Some(ns) = &namespace {
            let meta = meta::metadata_mut(&mut object);
            match meta.get("namespace").and_then(Value::as_str) {
                None | Some("") => {
                    meta.insert("namespace".into(), json!(ns));
                }
                Some(given) if given == ns => {}
                Some(_) => {
                    return Err(Error::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ));
                }
            }
        }
        let mut outcome = Outcome::default();
        let prepared = self.prepare_new(object, &mut outcome, true)?;
        let generate = meta::meta_str(&prepared, "name").is_none();
        // A generated name can collide with an existing one; Kubernetes clients then see AlreadyExists,
        // here the server simply draws again a few times.
        for _ in 0..8 {
            let mut object = prepared.clone();
            if generate {
                let prefix = meta::meta_str(&object, "generateName").unwrap_or("").to_owned();
                meta::metadata_mut(&mut object).insert("name".into(), json!(generated_name(&prefix)));
                self.check(&object)?;
            }
            let key = ObjectKey {
                storage: self.def().storage.clone(),
                namespace: namespace.clone().unwrap_or_default(),
                name: meta::meta_str(&object, "name").unwrap_or("").to_owned(),
            };
            let result = self
                .app
                .store
                .write(&key, self.params.dry_run, |current| match current {
                    Some(_) => Err(self.already_exists(&key.name)),
                    None => Ok(Write::Put(object)),
                })
                .await;
            match result {
                Err(Error::AlreadyExists { .. }) if generate => continue,
                other => return self.respond(StatusCode::CREATED, other?.object, &outcome, Rendering::Json),
            }
        }
        Err(Error::Conflict {
            group: self.def().group.clone(),
            resource: self.def().group_resource(),
            kind: self.def().kind.clone(),
            name: String::new(),
            detail: "could not generate a unique name; try again".into(),
        })
    }

    fn already_exists(&self, name: &str) -> Error {
        Error::AlreadyExists {
            group: self.def().group.clone(),
            resource: self.def().group_resource(),
            kind: self.def().kind.clone(),
            name: name.to_owned(),
        }
    }

    /// Makes a new object ready to store: server fields, ownership, validation.
    fn prepare_new(&self, mut object: Value, outcome: &mut Outcome, record: bool) -> Result<Value> {
        let def = self.def();
        if meta::meta_str(&object, "resourceVersion").is_some() {
            return Err(Error::BadRequest(
                "resourceVersion should not be set on objects to be created".into(),
            ));
        }
        if def.custom
            && def.status_subresource
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        meta::init_for_create(def, &mut object, uuid::Uuid::new_v4().to_string(), self.now());
        outcome.warnings.extend(self.admit(&mut object)?);
        if record {
            patch::record_update(None, &mut object, &self.writer());
        }
        if meta::meta_str(&object, "name").is_none() && meta::meta_str(&object, "generateName").is_none() {
            return Err(self.invalid(&object, vec![FieldError::required("metadata.name")]));
        }
        if meta::meta_str(&object, "name").is_some() {
            self.check(&object)?;
        }
        Ok(object)
    }

    fn invalid(&self, object: &Value, causes: Vec<FieldError>) -> Error {
        let def = self.def();
        Error::Invalid {
            group: def.group.clone(),
            kind: def.kind.clone(),
            group_kind: def.group_kind(),
            name: meta::meta_str(object, "name").unwrap_or("").to_owned(),
            causes,
        }
    }

    /// Metadata rules that need the final name.
    fn check(&self, object: &Value) -> Result<()> {
        let errors = meta::validate(self.def(), object);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(self.invalid(object, errors))
        }
    }

    /// Prunes, defaults and validates against the schema. Returns warnings for pruned fields
    /// unless `fieldValidation=Strict` makes them an error.
    fn admit(&self, object: &mut Value) -> Result<Vec<String>> {
        let def = self.def();
        let Some(schema) = &def.schema else {
            return Ok(Vec::new());
        };
        let unknown = schema::prune_unknown(schema, object);
        let mut warnings = Vec::new();
        if !unknown.is_empty() {
            let described: Vec<String> = unknown
                .iter()
                .map(|p| format!("unknown field \"{}\"", p.trim_start_matches('.')))
                .collect();
            match self.params.field_validation {
                FieldValidation::Strict => {
                    return Err(Error::BadRequest(format!(
                        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                        def.kind,
                        def.version,
                        def.kind,
                        described.join(", ")
                    )));
                }
                FieldValidation::Warn => warnings = described,
                FieldValidation::Ignore => {}
            }
        }
        schema::apply_defaults(schema, object);
        let errors = schema::validate(schema, object);
        if !errors.is_empty() {
            return Err(self.invalid(object, errors));
        }
        Ok(warnings)
    }

    /// The common end of every update: rules for objects being deleted, validation, ownership,
    /// and whether anything changed at all.
    fn finish_update(
        &self,
        current: &Value,
        mut new: Value,
        outcome: &mut Outcome,
        record: bool,
    ) -> Result<Write> {
        if meta::is_deleting(current) {
            let before = meta::finalizers(current);
            if meta::finalizers(&new).iter().any(|f| !before.contains(f)) {
                return Err(self.invalid(
                    &new,
                    vec![FieldError::forbidden(
                        "metadata.finalizers",
                        "no new finalizers can be added if the object is being deleted",
                    )],
                ));
            }
        }
        self.check(&new)?;
        outcome.warnings.extend(self.admit(&mut new)?);
        if record {
            patch::record_update(Some(current), &mut new, &self.writer());
        }
        Ok(if meta::same_content(current, &new) {
            Write::Unchanged(current.clone())
        } else if meta::is_deleting(&new) && meta::finalizers(&new).is_empty() {
            Write::Delete(new)
        } else {
            Write::Put(new)
        })
    }

    fn check_precondition(&self, current: &Value, new: &Value, required: bool) -> Result<()> {
        match meta::meta_str(new, "resourceVersion") {
            None if required => Err(self.invalid(
                new,
                vec![FieldError::invalid("metadata.resourceVersion", &json!(0), "must be specified for an update")],
            )),
            Some(rv) if Some(rv) != meta::meta_str(current, "resourceVersion") => Err(Error::Conflict {
                group: self.def().group.clone(),
                resource: self.def().group_resource(),
                kind: self.def().kind.clone(),
                name: meta::meta_str(current, "name").unwrap_or("").to_owned(),
                detail: "the object has been modified; please apply your changes to the latest version and try again".into(),
            }),
            _ => Ok(()),
        }
    }

    async fn update(&self, body: Body) -> Result<Response> {
        let media = h::content_type(self.headers).to_owned();
        let object = self.stored_form(h::decode(&h::read_body(body).await?, &media)?)?;
        let key = self.target.key()?;
        self.check_identity(&object, &key)?;
        let mut outcome = Outcome::default();
        let written = self
            .app
            .store
            .write(&key, self.params.dry_run, |current| {
                let current = current.ok_or_else(|| self.target.not_found(&key.name))?;
                self.check_precondition(&current, &object, self.def().custom)?;
                let new = meta::carry_over(self.def(), &current, object, self.target.status);
                self.finish_update(&current, new, &mut outcome, true)
            })
            .await?;
        self.respond(StatusCode::OK, written.object, &outcome, Rendering::Json)
    }

    /// A body's name and namespace, when given, must be the URL's.
    fn check_identity(&self, object: &Value, key: &ObjectKey) -> Result<()> {
        if let Some(name) = meta::meta_str(object, "name")
            && name != key.name
        {
            return Err(Error::BadRequest(format!(
                "the name of the object ({name}) does not match the name on the URL ({})",
                key.name
            )));
        }
        if let Some(ns) = meta::meta_str(object, "namespace")
            && self.def().namespaced
            && ns != key.namespace
        {
            return Err(Error::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn patch(&self, body: Body) -> Result<Response> {
        let media = h::content_type(self.headers).to_owned();
        let kind = match media.as_str() {
            "application/merge-patch+json" => PatchKind::Merge,
            "application/json-patch+json" => PatchKind::Json,
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => PatchKind::Apply,
            _ => return Err(Error::UnsupportedMediaType(PATCH_TYPES)),
        };
        let raw = h::read_body(body).await?;
        let document: Value = match kind {
            PatchKind::Apply => self.stored_form(h::decode(&raw, "application/yaml")?)?,
            _ => serde_json::from_slice(&raw)
                .map_err(|e| Error::BadRequest(format!("error decoding patch: {e}")))?,
        };
        if kind == PatchKind::Apply && self.params.field_manager.is_none() {
            return Err(Error::BadRequest("PATCH with apply requires fieldManager".into()));
        }
        let key = self.target.key()?;
        if kind == PatchKind::Apply {
            self.check_identity(&document, &key)?;
        }
        let mut outcome = Outcome::default();
        let mut created = false;
        let written = self
            .app
            .store
            .write(&key, self.params.dry_run, |current| {
                let Some(current) = current else {
                    if kind != PatchKind::Apply || self.target.status {
                        return Err(self.target.not_found(&key.name));
                    }
                    created = true;
                    return self
                        .create_by_apply(&document, &key, &mut outcome)
                        .map(Write::Put);
                };
                let new = match kind {
                    PatchKind::Apply => {
                        let config = self.apply_config(&document);
                        let applied =
                            patch::apply(Some(&current), &config, &self.writer(), self.params.force)
                                .map_err(|e| self.patch_error(e, &key.name))?;
                        meta::carry_over(self.def(), &current, applied, self.target.status)
                    }
                    PatchKind::Merge | PatchKind::Json => {
                        let mut doc = self.wire_form(current.clone());
                        if kind == PatchKind::Merge {
                            patch::merge_patch(&mut doc, &document);
                        } else {
                            patch::json_patch(&mut doc, &document)
                                .map_err(|e| self.patch_error(e, &key.name))?;
                        }
                        if !doc.is_object() {
                            return Err(Error::BadRequest(
                                "the patch turned the object into something that is not an object".into(),
                            ));
                        }
                        let doc = self.stored_form(doc)?;
                        self.check_identity(&doc, &key)?;
                        self.check_precondition(&current, &doc, false)?;
                        meta::carry_over(self.def(), &current, doc, self.target.status)
                    }
                };
                self.finish_update(&current, new, &mut outcome, kind != PatchKind::Apply)
            })
            .await?;
        let code = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        self.respond(code, written.object, &outcome, Rendering::Json)
    }

    fn create_by_apply(&self, document: &Value, key: &ObjectKey, outcome: &mut Outcome) -> Result<Value> {
        let mut config = self.apply_config(document);
        if self.def().namespaced {
            meta::metadata_mut(&mut config).insert("namespace".into(), json!(key.namespace));
        }
        meta::metadata_mut(&mut config).insert("name".into(), json!(key.name));
        let applied = patch::apply(None, &config, &self.writer(), self.params.force)
            .map_err(|e| self.patch_error(e, &key.name))?;
        self.prepare_new(applied, outcome, false)
    }

    /// What an apply may set: everything but status on the main resource, only status on the subresource.
    fn apply_config(&self, document: &Value) -> Value {
        let mut config = document.clone();
        if let Some(map) = config.as_object_mut() {
            if self.target.status {
                map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
                if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.retain(|k, _| k == "name" || k == "namespace");
                }
            } else if self.def().status_subresource {
                map.remove("status");
            }
        }
        config
    }

    fn patch_error(&self, error: patch::PatchError, name: &str) -> Error {
        match error {
            patch::PatchError::Malformed(m) => Error::BadRequest(m),
            patch::PatchError::NotApplicable(m) => Error::Invalid {
                group: self.def().group.clone(),
                kind: self.def().kind.clone(),
                group_kind: self.def().group_kind(),
                name: name.to_owned(),
                causes: vec![FieldError::invalid("patch", &Value::Null, &m)],
            },
            conflict @ patch::PatchError::Conflict(_) => Error::ApplyConflict {
                group: self.def().group.clone(),
                kind: self.def().kind.clone(),
                name: name.to_owned(),
                message: conflict.to_string(),
            },
        }
    }

    async fn delete(&self, body: Body) -> Result<Response> {
        let options = delete_options(&h::read_body(body).await?)?;
        let key = self.target.key()?;
        let dry_run = self.params.dry_run || options.dry_run;
        let written = self
            .app
            .store
            .write(&key, dry_run, |current| {
                self.decide_delete(current, &key, &options)
            })
            .await?;
        self.deleted_response(written.object)
    }

    fn decide_delete(
        &self,
        current: Option<Value>,
        key: &ObjectKey,
        options: &DeleteOptions,
    ) -> Result<Write> {
        let current = current.ok_or_else(|| self.target.not_found(&key.name))?;
        let conflict = |detail: String| Error::Conflict {
            group: self.def().group.clone(),
            resource: self.def().group_resource(),
            kind: self.def().kind.clone(),
            name: key.name.clone(),
            detail,
        };
        if let Some(uid) = &options.uid
            && Some(uid.as_str()) != meta::meta_str(&current, "uid")
        {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta::meta_str(&current, "uid").unwrap_or("")
            )));
        }
        if let Some(rv) = &options.resource_version
            && Some(rv.as_str()) != meta::meta_str(&current, "resourceVersion")
        {
            return Err(conflict(format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                meta::meta_str(&current, "resourceVersion").unwrap_or("")
            )));
        }
        if meta::finalizers(&current).is_empty() {
            return Ok(Write::Delete(current));
        }
        if meta::is_deleting(&current) {
            return Ok(Write::Unchanged(current));
        }
        let mut marked = current;
        let meta = meta::metadata_mut(&mut marked);
        meta.insert("deletionTimestamp".into(), json!(meta::timestamp(self.now())));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        Ok(Write::Put(marked))
    }

    /// Custom resources answer a delete with the object; built-in Events with a Success Status, as Kubernetes does.
    fn deleted_response(&self, object: Value) -> Result<Response> {
        if self.def().custom {
            return self.respond(StatusCode::OK, object, &Outcome::default(), Rendering::Json);
        }
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {
                "name": meta::meta_str(&object, "name"),
                "group": self.def().group,
                "kind": self.def().plural,
                "uid": meta::meta_str(&object, "uid"),
            },
        });
        Ok(h::json_response(StatusCode::OK, &status))
    }

    async fn delete_collection(&self, body: Body) -> Result<Response> {
        let options = delete_options(&h::read_body(body).await?)?;
        let def = self.def();
        let (labels, fields) = self.selectors()?;
        let (items, _) = self
            .app
            .store
            .list(&def.storage, self.target.namespace.as_deref(), None)
            .await?;
        let dry_run = self.params.dry_run || options.dry_run;
        let mut deleted = Vec::new();
        for (key, stored) in items {
            if !matches_selectors(&labels, &fields, &self.wire_form(stored.value()?)) {
                continue;
            }
            match self
                .app
                .store
                .write(&key, dry_run, |current| {
                    self.decide_delete(current, &key, &options)
                })
                .await
            {
                Ok(written) => deleted.push(self.wire_form(written.object)),
                // Deleted by someone else meanwhile: already gone, as asked.
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let rv = self.app.store.committed_rv();
        let list = json!({
            "apiVersion": def.api_version(), "kind": def.list_kind(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": deleted,
        });
        Ok(h::json_response(StatusCode::OK, &list))
    }
}

const PATCH_TYPES: &str =
    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Merge,
    Json,
    Apply,
}

/// The parts of `DeleteOptions` this server honours. `propagationPolicy` is accepted and ignored:
/// there is no garbage collector here, so nothing depends on it.
#[derive(Debug, Default)]
struct DeleteOptions {
    uid: Option<String>,
    resource_version: Option<String>,
    dry_run: bool,
}

fn delete_options(body: &Bytes) -> Result<DeleteOptions> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DeleteOptions::default());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("error decoding DeleteOptions: {e}")))?;
    let preconditions = value.get("preconditions");
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(DeleteOptions {
        uid: text(preconditions.and_then(|p| p.get("uid"))),
        resource_version: text(preconditions.and_then(|p| p.get("resourceVersion"))),
        dry_run: value
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All")),
    })
}

pub(crate) fn selectors(def: &ResourceDef, params: &Params) -> Result<(LabelSelector, FieldSelector)> {
    let bad = |e: crate::selector::SelectorError| Error::BadRequest(e.to_string());
    let labels = params
        .label_selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
        .map_err(bad)?
        .unwrap_or_default();
    let fields = params
        .field_selector
        .as_deref()
        .map(FieldSelector::parse)
        .transpose()
        .map_err(bad)?
        .unwrap_or_default();
    if let Some(field) = fields.fields().find(|f| !def.allows_field(f)) {
        return Err(bad(crate::selector::SelectorError::UnsupportedField(
            field.to_owned(),
        )));
    }
    Ok((labels, fields))
}

pub(crate) fn matches_selectors(labels: &LabelSelector, fields: &FieldSelector, object: &Value) -> bool {
    let empty = serde_json::Map::new();
    let object_labels = meta::metadata(object)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    labels.matches(object_labels) && fields.matches(object)
}

/// A list response built from stored bytes without parsing every object.
fn splice_list(def: &ResourceDef, list_meta: &Value, items: &[(ObjectKey, Stored)]) -> Bytes {
    let mut out = Vec::with_capacity(items.iter().map(|(_, s)| s.json.len() + 1).sum::<usize>() + 256);
    out.extend_from_slice(
        format!(
            r#"{{"apiVersion":"{}","kind":"{}","metadata":{},"items":["#,
            def.api_version(),
            def.list_kind(),
            list_meta
        )
        .as_bytes(),
    );
    for (i, (_, stored)) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&stored.json);
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// A continue token: where the next page starts. Like Kubernetes', it is opaque to clients.
fn encode_continue(rv: u64, last: &ObjectKey) -> String {
    URL_SAFE_NO_PAD.encode(json!({"rv": rv, "ns": last.namespace, "name": last.name}).to_string())
}

fn decode_continue(token: &str) -> Result<(String, String)> {
    let bad =
        || Error::BadRequest("continue key is not valid: the token was not issued by this server".into());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let text = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(bad)
    };
    Ok((text("ns")?, text("name")?))
}

/// `generateName` plus five characters, from the alphabet Kubernetes uses (no vowels, no look-alikes).
fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    let keep = prefix.len().min(253 - 5);
    format!("{}{suffix}", &prefix[..prefix.floor_char_boundary(keep)])
}
