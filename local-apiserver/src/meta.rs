//! Object metadata as Kubernetes' apiserver treats it: name rules, server-owned fields,
//! generation bumps and the status subresource split. Pure functions of their arguments.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use crate::resource::ResourceDef;
use crate::schema::FieldError;

/// Metadata fields only the server sets; a client's values for them are replaced.
const SERVER_FIELDS: [&str; 5] = [
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
];

// Constant patterns, exercised by the tests: they cannot fail to compile at run time.
#[allow(clippy::expect_used)]
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("a constant pattern compiles")
}

static DNS_LABEL: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static DNS_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static QUALIFIED_NAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"));

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Timestamps as Kubernetes writes `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn timestamp(now: jiff::Timestamp) -> String {
    now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn metadata(object: &Value) -> Option<&Map<String, Value>> {
    object.get("metadata").and_then(Value::as_object)
}

/// The object's metadata map, created empty if absent or not a map.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.is_object() {
        *object = json!({});
    }
    let meta = &mut object["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    match meta {
        Value::Object(map) => map,
        _ => unreachable!("metadata was made a map just above"),
    }
}

pub fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    metadata(object)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn finalizers(object: &Value) -> Vec<String> {
    metadata(object)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

pub fn is_deleting(object: &Value) -> bool {
    meta_str(object, "deletionTimestamp").is_some()
}

/// Sets the server-owned metadata of a new object.
pub fn init_for_create(def: &ResourceDef, object: &mut Value, uid: String, now: jiff::Timestamp) {
    let meta = metadata_mut(object);
    for field in SERVER_FIELDS {
        meta.remove(field);
    }
    meta.insert("uid".into(), Value::String(uid));
    meta.insert("creationTimestamp".into(), Value::String(timestamp(now)));
    if def.custom {
        meta.insert("generation".into(), json!(1));
    }
}

/// Carries the server-owned metadata of `current` over to `new` (an update never changes them),
/// keeps `current`'s status when the main resource is written and everything but status when the
/// status subresource is, and bumps `generation` when the spec changed.
pub fn carry_over(def: &ResourceDef, current: &Value, mut new: Value, status_write: bool) -> Value {
    if status_write {
        let mut merged = current.clone();
        match new.get_mut("status").map(Value::take) {
            Some(status) => merged["status"] = status,
            None => {
                if let Some(map) = merged.as_object_mut() {
                    map.remove("status");
                }
            }
        }
        if let Some(managed) = metadata(&new).and_then(|m| m.get("managedFields")).cloned() {
            metadata_mut(&mut merged).insert("managedFields".into(), managed);
        }
        return merged;
    }
    if def.status_subresource
        && let Some(map) = new.as_object_mut()
    {
        match current.get("status") {
            Some(status) => map.insert("status".into(), status.clone()),
            None => map.remove("status"),
        };
    }
    let current_meta = metadata(current).cloned().unwrap_or_default();
    let meta = metadata_mut(&mut new);
    for field in SERVER_FIELDS.iter().chain(&["name", "namespace"]) {
        match current_meta.get(*field) {
            Some(v) => meta.insert((*field).to_owned(), v.clone()),
            None => meta.remove(*field),
        };
    }
    if def.custom && spec_changed(current, &new) {
        let generation = current_meta
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        metadata_mut(&mut new).insert("generation".into(), json!(generation + 1));
    }
    new
}

/// Whether anything outside metadata and status differs: what `metadata.generation` counts.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let outside = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    outside(old) != outside(new)
}

/// Whether two stored forms are the same write: equal but for managedFields timestamps, which
/// Kubernetes does not count as a change.
pub fn same_content(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
            meta.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

/// Checks the metadata a client may set, as Kubernetes' ObjectMeta validation does.
pub fn validate(def: &ResourceDef, object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Some(meta) = metadata(object) else {
        return vec![FieldError::required("metadata")];
    };
    match meta.get("name").and_then(Value::as_str) {
        None | Some("") => errors.push(FieldError::required("metadata.name")),
        Some(name) if def.custom => {
            if name.len() > 253 || !DNS_SUBDOMAIN.is_match(name) {
                errors.push(FieldError::invalid(
                    "metadata.name",
                    &json!(name),
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                ));
            }
        }
        Some(name) => {
            if name == "." || name == ".." || name.contains(['/', '%']) {
                errors.push(FieldError::invalid(
                    "metadata.name",
                    &json!(name),
                    "may not be '.' or '..' and may not contain '/' or '%'",
                ));
            }
        }
    }
    if def.namespaced
        && let Some(ns) = meta.get("namespace").and_then(Value::as_str)
        && (ns.len() > 63 || !DNS_LABEL.is_match(ns))
    {
        errors.push(FieldError::invalid(
                "metadata.namespace",
                &json!(ns),
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
            ));
    }
    errors.extend(validate_string_map(meta, "labels", true));
    errors.extend(validate_string_map(meta, "annotations", false));
    if let Some(finalizers) = meta.get("finalizers") {
        match finalizers.as_array() {
            Some(list) => {
                for (i, f) in list.iter().enumerate() {
                    let path = format!("metadata.finalizers[{i}]");
                    match f.as_str() {
                        Some(s) if qualified_name_problem(s).is_none() => {}
                        Some(s) => errors.push(FieldError::invalid(
                            &path,
                            f,
                            &qualified_name_problem(s).unwrap_or_default(),
                        )),
                        None => errors.push(FieldError::type_invalid(&path, f, "string")),
                    }
                }
            }
            None => errors.push(FieldError::type_invalid(
                "metadata.finalizers",
                finalizers,
                "array",
            )),
        }
    }
    for list in ["ownerReferences", "managedFields"] {
        if let Some(v) = meta.get(list).filter(|v| !v.is_array() && !v.is_null()) {
            errors.push(FieldError::type_invalid(&format!("metadata.{list}"), v, "array"));
        }
    }
    errors
}

fn validate_string_map(meta: &Map<String, Value>, field: &str, label_values: bool) -> Vec<FieldError> {
    let path = format!("metadata.{field}");
    let Some(value) = meta.get(field).filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(map) = value.as_object() else {
        return vec![FieldError::type_invalid(&path, value, "object")];
    };
    let mut errors = Vec::new();
    let mut total = 0;
    for (key, v) in map {
        if let Some(problem) = qualified_name_problem(key) {
            errors.push(FieldError::invalid(&path, &json!(key), &problem));
        }
        let Some(s) = v.as_str() else {
            errors.push(FieldError::type_invalid(&format!("{path}.{key}"), v, "string"));
            continue;
        };
        total += key.len() + s.len();
        if label_values && !s.is_empty() && (s.len() > 63 || !QUALIFIED_NAME.is_match(s)) {
            errors.push(FieldError::invalid(
                &format!("{path}.{key}"),
                v,
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters",
            ));
        }
    }
    if !label_values && total > 256 * 1024 {
        errors.push(FieldError::too_long(&path, 256 * 1024));
    }
    errors
}

/// Why `key` is not a qualified name (`[prefix/]name`), if it is not.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !DNS_SUBDOMAIN.is_match(p))
    {
        return Some("prefix part must be a lowercase RFC 1123 subdomain".into());
    }
    if name.is_empty() || name.len() > 63 || !QUALIFIED_NAME.is_match(name) {
        return Some("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, at most 63 characters".into());
    }
    None
}

/// The name Kubernetes uses for a writer that gave no `fieldManager`: its User-Agent up to the first `/`.
pub fn manager_from_user_agent(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or("unknown");
    let prefix = agent.split('/').next().unwrap_or(agent);
    prefix.chars().take(128).collect()
}
