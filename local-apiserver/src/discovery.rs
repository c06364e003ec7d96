//! What clients learn before they ask for objects: `/version`, API discovery (legacy and
//! aggregated, as kubectl 1.32 asks for it), and OpenAPI v3 documents carrying the CRD schemas so
//! that `kubectl apply` validates on the server and `kubectl explain` prints field docs.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::App;
use crate::error::Error;
use crate::http::json_response;
use crate::resource::ResourceDef;

/// The Kubernetes version whose API this server follows.
const KUBE_MINOR: &str = "33";

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub(crate) async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "major": "1",
            "minor": KUBE_MINOR,
            "gitVersion": format!("v1.{KUBE_MINOR}.0+appgen-{}", env!("CARGO_PKG_VERSION")),
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "",
            "compiler": "rustc",
            "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
        }),
    )
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn wants_aggregated(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|accept| accept.split(',').next())
        .is_some_and(|first| first.contains("as=APIGroupDiscoveryList") && first.contains("v=v2"))
}

fn aggregated_response(items: Vec<Value>) -> Response {
    let body = json!({ "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items });
    let mut response = json_response(StatusCode::OK, &body);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(AGGREGATED));
    response
}

/// `/api`.
pub(crate) async fn core_versions(State(app): State<Arc<App>>, request: Request) -> Response {
    if wants_aggregated(&request) {
        return aggregated_response(vec![discovery_group(&app, "")]);
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "" }],
        }),
    )
}

/// `/apis`.
pub(crate) async fn groups(State(app): State<Arc<App>>, request: Request) -> Response {
    let groups = app.registry.groups();
    if wants_aggregated(&request) {
        return aggregated_response(groups.iter().map(|(g, _)| discovery_group(&app, g)).collect());
    }
    json_response(
        StatusCode::OK,
        &json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": groups.iter().map(|(g, versions)| api_group(g, versions)).collect::<Vec<_>>(),
        }),
    )
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({ "groupVersion": format!("{group}/{v}"), "version": v });
    json!({
        "name": group,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv),
    })
}

/// `/apis/{group}`.
pub(crate) fn group(app: &App, group: &str) -> Response {
    match app.registry.groups().into_iter().find(|(g, _)| g == group) {
        Some((g, versions)) => {
            let mut body = api_group(&g, &versions);
            body["kind"] = json!("APIGroup");
            body["apiVersion"] = json!("v1");
            json_response(StatusCode::OK, &body)
        }
        None => Error::UnknownPath.into_response(),
    }
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `/apis/{group}/{version}` and `/api/v1`.
pub(crate) fn resource_list(app: &App, group: &str, version: &str) -> Response {
    let mut resources = Vec::new();
    for def in app.registry.in_group_version(group, version) {
        let mut main = json!({
            "name": def.plural,
            "singularName": def.singular,
            "namespaced": def.namespaced,
            "kind": def.kind,
            "verbs": VERBS,
        });
        if !def.short_names.is_empty() {
            main["shortNames"] = json!(def.short_names);
        }
        if !def.categories.is_empty() {
            main["categories"] = json!(def.categories);
        }
        resources.push(main);
        if def.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", def.plural),
                "singularName": "",
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    if resources.is_empty() {
        return Error::UnknownPath.into_response();
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json_response(
        StatusCode::OK,
        &json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources }),
    )
}

/// One group's entry in aggregated discovery (`apidiscovery.k8s.io/v2`).
fn discovery_group(app: &App, group: &str) -> Value {
    let versions: Vec<String> = if group.is_empty() {
        vec!["v1".into()]
    } else {
        app.registry
            .groups()
            .into_iter()
            .find(|(g, _)| g == group)
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let versions: Vec<Value> = versions
        .iter()
        .map(|version| {
            let resources: Vec<Value> = app
                .registry
                .in_group_version(group, version)
                .map(|def| {
                    let kind = json!({ "group": def.group, "version": def.version, "kind": def.kind });
                    let mut r = json!({
                        "resource": def.plural,
                        "responseKind": kind,
                        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": def.singular,
                        "verbs": VERBS,
                    });
                    if !def.short_names.is_empty() {
                        r["shortNames"] = json!(def.short_names);
                    }
                    if !def.categories.is_empty() {
                        r["categories"] = json!(def.categories);
                    }
                    if def.status_subresource {
                        r["subresources"] = json!([{ "subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"] }]);
                    }
                    r
                })
                .collect();
            json!({ "version": version, "resources": resources, "freshness": "Current" })
        })
        .collect();
    json!({ "metadata": { "name": group, "creationTimestamp": null }, "versions": versions })
}

fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of per-group-version documents, each with a hash clients cache by.
pub(crate) async fn openapi_index(State(app): State<Arc<App>>) -> Response {
    let mut paths = Map::new();
    let mut gvs: Vec<(String, String)> = vec![(String::new(), "v1".into())];
    for (group, versions) in app.registry.groups() {
        gvs.extend(versions.into_iter().map(|v| (group.clone(), v)));
    }
    for (group, version) in gvs {
        let path = group_version_path(&group, &version);
        let hash = document_hash(&openapi_document(&app, &group, &version));
        paths.insert(
            path.clone(),
            json!({ "serverRelativeURL": format!("/openapi/v3/{path}?hash={hash}") }),
        );
    }
    json_response(StatusCode::OK, &json!({ "paths": paths }))
}

/// `/openapi/v3/apis/{group}/{version}` and `/openapi/v3/api/v1`.
pub(crate) async fn openapi_group_version(State(app): State<Arc<App>>, Path(path): Path<String>) -> Response {
    let segments: Vec<&str> = path.split('/').collect();
    let (group, version) = match segments.as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return Error::UnknownPath.into_response(),
    };
    if app.registry.in_group_version(group, version).next().is_none() {
        return Error::UnknownPath.into_response();
    }
    json_response(StatusCode::OK, &openapi_document(&app, group, version))
}

fn document_hash(document: &Value) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    document.to_string().hash(&mut hasher);
    format!("{:016X}", hasher.finish())
}

/// The schema name Kubernetes gives a kind: the reversed group, the version and the kind.
fn schema_name(def: &ResourceDef, kind: &str) -> String {
    let group: Vec<&str> = if def.group.is_empty() {
        vec!["io", "k8s", "api", "core"]
    } else {
        def.group.rsplit('.').collect()
    };
    format!("{}.{}.{kind}", group.join("."), def.version)
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn openapi_document(app: &App, group: &str, version: &str) -> Value {
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for def in app.registry.in_group_version(group, version) {
        let gvk = json!({ "group": def.group, "version": def.version, "kind": def.kind });
        let name = schema_name(def, &def.kind);
        let list_name = schema_name(def, &def.list_kind());
        schemas.insert(name.clone(), object_schema(def, &gvk));
        schemas.insert(
            list_name.clone(),
            json!({
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": { "type": "string" },
                    "kind": { "type": "string" },
                    "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{name}") } },
                    "metadata": { "type": "object" },
                },
                "x-kubernetes-group-version-kind": [{ "group": def.group, "version": def.version, "kind": def.list_kind() }],
            }),
        );
        let base = format!(
            "/{}/namespaces/{{namespace}}/{}",
            group_version_path(group, version),
            def.plural
        );
        let object_ref = json!({ "$ref": format!("#/components/schemas/{name}") });
        let operation = |action: &str, extra: Value| {
            let mut op = json!({
                "operationId": format!("{action}{}", def.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": object_ref } } } },
            });
            if let (Some(op), Some(extra)) = (op.as_object_mut(), extra.as_object()) {
                op.extend(extra.clone());
            }
            op
        };
        let query = |names: &[&str]| -> Value {
            names.iter().map(|n| json!({ "name": n, "in": "query", "schema": { "type": "string" }, "uniqueItems": true })).collect()
        };
        let body = |types: &[&str]| -> Value {
            let content: Map<String, Value> = types
                .iter()
                .map(|t| ((*t).to_owned(), json!({ "schema": { "type": "object" } })))
                .collect();
            json!({ "content": content, "required": true })
        };
        let writes = ["dryRun", "fieldManager", "fieldValidation"];
        paths.insert(
            base.clone(),
            json!({
                "get": operation("list", json!({ "parameters": query(&["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch", "timeoutSeconds"]) })),
                "post": operation("post", json!({ "parameters": query(&writes), "requestBody": body(&["application/json", "application/yaml"]) })),
                "delete": operation("deletecollection", json!({ "parameters": query(&["labelSelector", "fieldSelector", "dryRun"]) })),
            }),
        );
        let item = |suffix: &str| {
            let mut force = writes.to_vec();
            force.push("force");
            json!({
                "get": operation("get", json!({})),
                "put": operation("put", json!({ "parameters": query(&writes), "requestBody": body(&["application/json", "application/yaml"]) })),
                "patch": operation("patch", json!({
                    "parameters": query(&force),
                    // No strategic merge patch: kubectl then uses JSON merge patch for client-side apply,
                    // as it does for every custom resource.
                    "requestBody": body(&["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]),
                })),
                "delete": if suffix.is_empty() { operation("delete", json!({ "parameters": query(&["dryRun"]) })) } else { Value::Null },
            })
        };
        let mut named = item("");
        paths.insert(format!("{base}/{{name}}"), named.take());
        if def.status_subresource {
            let mut status = item("status");
            if let Some(map) = status.as_object_mut() {
                map.remove("delete");
            }
            paths.insert(format!("{base}/{{name}}/status"), status);
        }
    }
    schemas.insert(OBJECT_META.into(), object_meta_schema());
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": format!("v1.{KUBE_MINOR}.0") },
        "paths": paths,
        "components": { "schemas": schemas },
    })
}

/// A resource's schema as Kubernetes publishes it for a CRD: the stored schema with apiVersion,
/// kind and metadata described, and the kind it belongs to.
fn object_schema(def: &ResourceDef, gvk: &Value) -> Value {
    let mut schema = def
        .schema
        .as_ref()
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_else(|| json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }));
    let properties = schema
        .as_object_mut()
        .map(|s| s.entry("properties").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    if let Some(properties) = properties {
        properties.insert("apiVersion".into(), json!({
            "type": "string",
            "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
        }));
        properties.insert("kind".into(), json!({
            "type": "string",
            "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.",
        }));
        properties.insert(
            "metadata".into(),
            json!({
                "description": "Standard object's metadata.",
                "allOf": [{ "$ref": format!("#/components/schemas/{OBJECT_META}") }],
            }),
        );
    }
    schema["x-kubernetes-group-version-kind"] = json!([gvk]);
    schema
}

fn object_meta_schema() -> Value {
    let string = |description: &str| json!({ "type": "string", "description": description });
    let string_map = |description: &str| json!({ "type": "object", "additionalProperties": { "type": "string", "default": "" }, "description": description });
    json!({
        "type": "object",
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
        "properties": {
            "name": string("Name must be unique within a namespace. Cannot be updated."),
            "generateName": string("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
            "namespace": string("Namespace defines the space within which each name must be unique."),
            "uid": string("UID is the unique in time and space value for this object. Populated by the system. Read-only."),
            "resourceVersion": string("An opaque value that represents the internal version of this object, used for optimistic concurrency and watches. Populated by the system. Read-only."),
            "generation": { "type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state. Populated by the system. Read-only." },
            "creationTimestamp": { "type": "string", "format": "date-time", "description": "When this object was created. Populated by the system. Read-only." },
            "deletionTimestamp": { "type": "string", "format": "date-time", "description": "When this object will be deleted, once its finalizers are done. Populated by the system. Read-only." },
            "labels": string_map("Map of string keys and values that can be used to organize and categorize (scope and select) objects."),
            "annotations": string_map("Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata."),
            "finalizers": { "type": "array", "items": { "type": "string", "default": "" }, "description": "Must be empty before the object is deleted from the registry." },
            "ownerReferences": { "type": "array", "items": { "type": "object" }, "description": "List of objects depended by this object." },
            "managedFields": { "type": "array", "items": { "type": "object" }, "description": "Which fields each writer (manager) owns." },
        },
    })
}
