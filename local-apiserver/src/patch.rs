//! PATCH for custom resources: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and server-side apply,
//! plus the `metadata.managedFields` bookkeeping (FieldsV1) Kubernetes does on every write.
//!
//! Ownership follows sigs.k8s.io/structured-merge-diff as the apiserver wires it, with every map treated as
//! a struct of named fields and every list as atomic: what a CRD schema without list-type markers gives.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The patch document itself is not valid (bad JSON, not an array for JSON patch, unknown op...):
    /// the server answers 400.
    #[error("{0}")]
    Malformed(String),
    /// The patch is well-formed but cannot be applied (a `test` op failed, a path does not exist): 422.
    #[error("{0}")]
    NotApplicable(String),
    /// Server-side apply would change fields another manager owns and force was not set: 409.
    /// Displays as Kubernetes' message, e.g. `Apply failed with 1 conflict: conflict with
    /// "kubectl-client-side-apply" using appgen.dev/v1alpha1: .spec.prompt`.
    #[error("{}", conflict_message(.0))]
    Conflict(Vec<FieldConflict>),
}

/// A field server-side apply would take from another manager. Sorts by manager, then field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FieldConflict {
    /// The other manager's name.
    pub manager: String,
    /// The field as Kubernetes prints it, e.g. `.spec.prompt`.
    pub field: String,
    /// The other manager's operation, `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion of the other manager's entry.
    pub api_version: String,
    /// The subresource the other manager wrote through, if any.
    pub subresource: Option<String>,
}

impl FieldConflict {
    /// The manager as Kubernetes names it in the message and in each `FieldManagerConflict` cause
    /// (`conflict with <this>`): `"kubectl" with subresource "status" using v1`, the version for updates only.
    pub fn describe_manager(&self) -> String {
        let mut description = format!("{:?}", self.manager);
        if let Some(subresource) = &self.subresource {
            description.push_str(&format!(" with subresource {subresource:?}"));
        }
        if self.operation == UPDATE {
            description.push_str(&format!(" using {}", self.api_version));
        }
        description
    }
}

/// Kubernetes' wording: one conflict inline, several grouped by manager.
fn conflict_message(conflicts: &[FieldConflict]) -> String {
    if let [conflict] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            conflict.describe_manager(),
            conflict.field
        );
    }
    let mut by_manager: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for conflict in conflicts {
        by_manager
            .entry(conflict.describe_manager())
            .or_default()
            .push(&conflict.field);
    }
    let mut lines = Vec::new();
    for (manager, fields) in by_manager {
        lines.push(format!("conflicts with {manager}:"));
        lines.extend(fields.into_iter().map(|field| format!("- {field}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Applies an RFC 7386 merge patch: `null` deletes, objects merge recursively, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    ::json_patch::merge(target, patch);
}

/// Applies an RFC 6902 JSON patch, all or nothing.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let operations = ::json_patch::Patch::deserialize(patch)
        .map_err(|error| PatchError::Malformed(format!("invalid JSON patch: {error}")))?;
    // Patching a copy keeps the target untouched when an operation fails midway.
    let mut patched = target.clone();
    for operation in operations.0 {
        // Kubernetes' JSON patch reads a missing path as null, so `test` for null passes there;
        // kube-runtime's finalizer helper relies on it when an object has no finalizers yet.
        if let ::json_patch::PatchOperation::Test(test) = &operation
            && test.value.is_null()
            && patched.pointer(test.path.as_str()).is_none()
        {
            continue;
        }
        ::json_patch::patch_unsafe(&mut patched, std::slice::from_ref(&operation))
            .map_err(|error| PatchError::NotApplicable(error.to_string()))?;
    }
    *target = patched;
    Ok(())
}

/// Who is writing, for managedFields.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub now: jiff::Timestamp,
}

/// Server-side apply of `config` (the caller's intent: apiVersion, kind, metadata.name/namespace/labels/
/// annotations..., spec or status) onto `current` (None when the object does not exist yet). Returns the
/// object to store (before the server sets resourceVersion etc.), with `metadata.managedFields` updated.
///
/// Server-owned metadata and managedFields in `config` are ignored; a `null` in `config` claims the field
/// and leaves it absent, as custom-resource storage drops nulls.
pub fn apply(
    current: Option<&Value>,
    config: &Value,
    writer: &Writer,
    force: bool,
) -> Result<Value, PatchError> {
    let Value::Object(config) = config else {
        return Err(PatchError::Malformed(
            "an apply configuration must be a JSON object".into(),
        ));
    };
    let config = sanitized_config(config)?;
    let mut live = current.and_then(Value::as_object).cloned().unwrap_or_default();
    let mut managers = take_managed_fields(&mut live)
        .as_ref()
        .and_then(decode_managed_fields)
        .unwrap_or_default();
    let previous = managers
        .iter()
        .position(|entry| entry.is(writer, APPLY))
        .map(|index| managers.remove(index));
    let applied = field_set(&config);

    let mut merged = live.clone();
    merge_into(&mut merged, &config);
    if let Some(last) = previous.as_ref().filter(|entry| !entry.fields.is_empty()) {
        let owned: FieldSet = managers
            .iter()
            .flat_map(|entry| entry.fields.iter())
            .chain(&applied)
            .cloned()
            .collect();
        prune(
            &mut merged,
            &mut Vec::new(),
            &with_ancestors(&last.fields),
            &with_ancestors(&owned),
        );
    }

    let diff = Comparison::between(&live, &merged);
    let touched: FieldSet = diff.added.union(&diff.modified).cloned().collect();
    if !force {
        let mut conflicts: Vec<FieldConflict> = managers
            .iter()
            .flat_map(|entry| {
                entry
                    .fields
                    .intersection(&touched)
                    .map(|path| entry.conflict(path))
            })
            .collect();
        if !conflicts.is_empty() {
            conflicts.sort();
            return Err(PatchError::Conflict(conflicts));
        }
    }
    for entry in &mut managers {
        entry
            .fields
            .retain(|path| !touched.contains(path) && !diff.removed.contains(path));
    }
    // Kubernetes stamps the applier only when the object changed; a first apply that changes nothing
    // gets an entry without time.
    let time = if merged != live {
        Some(format_time(writer.now))
    } else {
        previous.and_then(|entry| entry.time)
    };
    managers.push(Entry::new(writer, APPLY, time, applied));
    store_managed_fields(&mut merged, managers);
    Ok(Value::Object(merged))
}

/// After any non-apply write (create, PUT, merge or JSON patch), records in `new`'s metadata.managedFields an
/// `operation: Update` entry for `writer.manager` owning the fields that changed from `old` (None for create:
/// every field set), and removes those fields from other managers' entries (dropping entries left empty).
///
/// As in Kubernetes, managedFields sent in `new` replace the stored ones (`[]` or `[{}]` clears them)
/// unless they are invalid or the write goes through a subresource.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer) {
    let Value::Object(new) = new else { return };
    let mut old = old.and_then(Value::as_object).cloned().unwrap_or_default();
    let stored = take_managed_fields(&mut old);
    let sent = take_managed_fields(new);
    let from_stored = || {
        stored
            .as_ref()
            .and_then(decode_managed_fields)
            .unwrap_or_default()
    };
    let mut managers = match &sent {
        _ if writer.subresource.is_some() => from_stored(),
        Some(sent) if is_reset(sent) => Vec::new(),
        Some(sent) => decode_managed_fields(sent)
            .filter(|sent| !sent.is_empty())
            .unwrap_or_else(from_stored),
        None => from_stored(),
    };

    let diff = Comparison::between(&old, new);
    let changed: FieldSet = diff.added.union(&diff.modified).cloned().collect();
    for entry in &mut managers {
        entry
            .fields
            .retain(|path| !changed.contains(path) && !diff.removed.contains(path));
    }
    if !changed.is_empty() {
        let time = Some(format_time(writer.now));
        match managers.iter_mut().find(|entry| entry.is(writer, UPDATE)) {
            Some(entry) => {
                entry.fields.extend(changed);
                entry.time = time;
            }
            None => managers.push(Entry::new(writer, UPDATE, time, changed)),
        }
    }
    store_managed_fields(new, managers);
}

const APPLY: &str = "Apply";
const UPDATE: &str = "Update";

/// A field path as FieldsV1 keys, e.g. `["f:spec", "f:prompt"]`.
type Path = Vec<String>;
type FieldSet = BTreeSet<Path>;

/// Metadata the server sets: never owned, and not taken from an apply configuration.
const SERVER_SET_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Paths no manager owns (Kubernetes' stripMetaManager): type meta, `metadata` itself, the object's
/// identity and server-set metadata.
fn never_owned(path: &[String]) -> bool {
    let field = |index: usize| path.get(index).and_then(|element| element.strip_prefix("f:"));
    match (field(0), field(1)) {
        (Some("apiVersion" | "kind"), _) => true,
        (Some("metadata"), None) => path.len() == 1,
        (Some("metadata"), Some(name)) => {
            name == "name" || name == "namespace" || SERVER_SET_METADATA.contains(&name)
        }
        _ => false,
    }
}

fn sanitized_config(config: &Map<String, Value>) -> Result<Map<String, Value>, PatchError> {
    let mut config = config.clone();
    match config.get_mut("metadata") {
        None => {}
        Some(Value::Object(metadata)) => {
            for name in SERVER_SET_METADATA {
                metadata.shift_remove(name);
            }
        }
        Some(_) => return Err(PatchError::Malformed("metadata must be an object".into())),
    }
    Ok(config)
}

/// Merges an apply configuration: maps recursively, anything else replaced, `null` removing the key.
fn merge_into(target: &mut Map<String, Value>, config: &Map<String, Value>) {
    for (key, value) in config {
        match (target.get_mut(key), value) {
            (_, Value::Null) => {
                target.shift_remove(key);
            }
            (Some(Value::Object(existing)), Value::Object(config)) => merge_into(existing, config),
            (_, Value::Object(config)) => {
                // Merging into an empty map drops the nulls nested in the configuration.
                let mut fresh = Map::new();
                merge_into(&mut fresh, config);
                target.insert(key.clone(), Value::Object(fresh));
            }
            (_, value) => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The fields an apply configuration sets (structured-merge-diff's ToFieldSet for named fields): a non-empty
/// map stands for its fields, anything else (scalar, list, null, empty map) is a leaf.
fn field_set(object: &Map<String, Value>) -> FieldSet {
    fn collect(map: &Map<String, Value>, path: &mut Path, set: &mut FieldSet) {
        for (key, value) in map {
            path.push(format!("f:{key}"));
            match value {
                Value::Object(child) if !child.is_empty() => collect(child, path, set),
                _ => {
                    set.insert(path.clone());
                }
            }
            path.pop();
        }
    }
    let mut set = FieldSet::new();
    collect(object, &mut Vec::new(), &mut set);
    set.retain(|path| !never_owned(path));
    set
}

/// The set plus every ancestor of its paths (structured-merge-diff's EnsureNamedFieldsAreMembers, every
/// field being named): a map is kept, or pruned, as a whole unless someone owns something inside it.
fn with_ancestors(set: &FieldSet) -> FieldSet {
    set.iter()
        .flat_map(|path| (1..=path.len()).map(|len| path[..len].to_vec()))
        .collect()
}

/// Removes the fields the applier set last time (`last`) that nobody owns now (`owned`), both with
/// ancestors. Returns true when every key of a non-empty map went: Kubernetes then turns the map into
/// null, which custom-resource storage drops (only that map: its parent keeps a null, so stays).
fn prune(map: &mut Map<String, Value>, path: &mut Path, last: &FieldSet, owned: &FieldSet) -> bool {
    let keys_before = map.len();
    let mut pruned = 0;
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        path.push(format!("f:{key}"));
        if last.contains(path.as_slice()) {
            if !owned.contains(path.as_slice()) && !never_owned(path) {
                map.shift_remove(&key);
                pruned += 1;
            } else if let Some(Value::Object(child)) = map.get_mut(&key)
                && prune(child, path, last, owned)
            {
                map.shift_remove(&key);
            }
        }
        path.pop();
    }
    keys_before > 0 && pruned == keys_before
}

/// What changed between two objects, as structured-merge-diff's Compare reports it: a field appearing or
/// disappearing brings its whole subtree along, a map present on both sides is compared field by field,
/// anything else that differs is modified. Never-owned paths are left out.
#[derive(Default)]
struct Comparison {
    added: FieldSet,
    modified: FieldSet,
    removed: FieldSet,
}

impl Comparison {
    fn between(old: &Map<String, Value>, new: &Map<String, Value>) -> Self {
        let mut comparison = Self::default();
        comparison.maps(old, new, &mut Vec::new());
        for set in [
            &mut comparison.added,
            &mut comparison.modified,
            &mut comparison.removed,
        ] {
            set.retain(|path| !never_owned(path));
        }
        comparison
    }

    fn maps(&mut self, old: &Map<String, Value>, new: &Map<String, Value>, path: &mut Path) {
        for (key, old_value) in old {
            path.push(format!("f:{key}"));
            match new.get(key) {
                Some(new_value) => self.values(old_value, new_value, path),
                None => insert_subtree(old_value, path, &mut self.removed),
            }
            path.pop();
        }
        for (key, new_value) in new {
            if !old.contains_key(key) {
                path.push(format!("f:{key}"));
                insert_subtree(new_value, path, &mut self.added);
                path.pop();
            }
        }
    }

    fn values(&mut self, old: &Value, new: &Value, path: &mut Path) {
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => self.maps(old, new, path),
            _ if old == new => {}
            _ => {
                self.modified.insert(path.clone());
                // A map turned into a scalar (or back) loses (or gains) its fields too.
                if let Value::Object(old) = old {
                    insert_children(old, path, &mut self.removed);
                }
                if let Value::Object(new) = new {
                    insert_children(new, path, &mut self.added);
                }
            }
        }
    }
}

fn insert_subtree(value: &Value, path: &mut Path, set: &mut FieldSet) {
    set.insert(path.clone());
    if let Value::Object(map) = value {
        insert_children(map, path, set);
    }
}

fn insert_children(map: &Map<String, Value>, path: &mut Path, set: &mut FieldSet) {
    for (key, value) in map {
        path.push(format!("f:{key}"));
        insert_subtree(value, path, set);
        path.pop();
    }
}

/// One managedFields entry.
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    /// Kept verbatim: Kubernetes rewrites an entry's time only when its manager changed something.
    time: Option<String>,
    subresource: Option<String>,
    fields: FieldSet,
}

impl Entry {
    fn new(writer: &Writer, operation: &str, time: Option<String>, fields: FieldSet) -> Self {
        Self {
            manager: writer.manager.to_owned(),
            operation: operation.to_owned(),
            api_version: writer.api_version.to_owned(),
            time,
            subresource: writer.subresource.map(str::to_owned),
            fields,
        }
    }

    /// Whether this is the writer's entry for `operation`. Kubernetes keys entries by manager, operation
    /// and subresource, and by apiVersion for updates only, so an applier keeps one entry across versions.
    fn is(&self, writer: &Writer, operation: &str) -> bool {
        self.manager == writer.manager
            && self.operation == operation
            && self.subresource.as_deref() == writer.subresource
            && (operation == APPLY || self.api_version == writer.api_version)
    }

    fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    fn conflict(&self, path: &Path) -> FieldConflict {
        FieldConflict {
            manager: self.manager.clone(),
            field: path
                .iter()
                .map(|element| format!(".{}", element.strip_prefix("f:").unwrap_or(element)))
                .collect(),
            operation: self.operation.clone(),
            api_version: self.api_version.clone(),
            subresource: self.subresource.clone(),
        }
    }

    /// Kubernetes' order: Apply before Update, then by time (in seconds), manager, apiVersion, subresource.
    fn sort_key(&self) -> (&str, i64, &str, &str, &str) {
        let seconds = self
            .time
            .as_deref()
            .and_then(|time| time.parse::<jiff::Timestamp>().ok())
            .map_or(0, |time| time.as_second());
        (
            &self.operation,
            seconds,
            &self.manager,
            &self.api_version,
            self.subresource.as_deref().unwrap_or(""),
        )
    }

    fn to_json(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("manager".into(), self.manager.clone().into());
        entry.insert("operation".into(), self.operation.clone().into());
        entry.insert("apiVersion".into(), self.api_version.clone().into());
        if let Some(time) = &self.time {
            entry.insert("time".into(), time.clone().into());
        }
        entry.insert("fieldsType".into(), "FieldsV1".into());
        entry.insert("fieldsV1".into(), encode_fields(&self.fields));
        if let Some(subresource) = &self.subresource {
            entry.insert("subresource".into(), subresource.clone().into());
        }
        Value::Object(entry)
    }
}

fn format_time(time: jiff::Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn take_managed_fields(object: &mut Map<String, Value>) -> Option<Value> {
    object
        .get_mut("metadata")?
        .as_object_mut()?
        .shift_remove("managedFields")
}

/// Kubernetes' way for a client to clear managedFields: an empty list, or a list of one empty entry.
fn is_reset(sent: &Value) -> bool {
    match sent.as_array().map(Vec::as_slice) {
        Some([]) => true,
        Some([Value::Object(entry)]) => entry.is_empty(),
        _ => false,
    }
}

/// Reads managedFields as Kubernetes' DecodeManagedFields does: one invalid entry makes the list unusable.
fn decode_managed_fields(list: &Value) -> Option<Vec<Entry>> {
    let mut entries: Vec<Entry> = Vec::new();
    for item in list.as_array()? {
        let item = item.as_object()?;
        let text = |key: &str| item.get(key).and_then(Value::as_str);
        let operation = text("operation").filter(|operation| [APPLY, UPDATE].contains(operation))?;
        let api_version = text("apiVersion").filter(|api_version| !api_version.is_empty())?;
        if text("fieldsType") != Some("FieldsV1") {
            return None;
        }
        let mut fields = FieldSet::new();
        if let Some(encoded) = item.get("fieldsV1").filter(|encoded| !encoded.is_null()) {
            decode_fields(encoded, &mut Vec::new(), &mut fields)?;
        }
        let entry = Entry {
            manager: text("manager").unwrap_or_default().to_owned(),
            operation: operation.to_owned(),
            api_version: api_version.to_owned(),
            time: text("time").map(str::to_owned),
            subresource: text("subresource")
                .filter(|subresource| !subresource.is_empty())
                .map(str::to_owned),
            fields,
        };
        // Kubernetes keeps managers in a map: a later duplicate replaces an earlier one.
        entries.retain(|existing| !existing.same_manager(&entry));
        entries.push(entry);
    }
    Some(entries)
}

/// FieldsV1: each key a path element, `{}` a leaf, `"."` marking a node that is itself in the set.
fn decode_fields(encoded: &Value, path: &mut Path, set: &mut FieldSet) -> Option<()> {
    for (key, child) in encoded.as_object()? {
        if key == "." {
            if !path.is_empty() {
                set.insert(path.clone());
            }
            continue;
        }
        path.push(key.clone());
        if child.as_object()?.is_empty() {
            set.insert(path.clone());
        } else {
            decode_fields(child, path, set)?;
        }
        path.pop();
    }
    Some(())
}

fn encode_fields(set: &FieldSet) -> Value {
    #[derive(Default)]
    struct Node {
        member: bool,
        children: BTreeMap<String, Node>,
    }
    fn to_json(node: &Node) -> Value {
        let mut encoded = Map::new();
        if node.member && !node.children.is_empty() {
            encoded.insert(".".into(), Value::Object(Map::new()));
        }
        for (key, child) in &node.children {
            encoded.insert(key.clone(), to_json(child));
        }
        Value::Object(encoded)
    }
    let mut root = Node::default();
    for path in set {
        let node = path.iter().fold(&mut root, |node, element| {
            node.children.entry(element.clone()).or_default()
        });
        node.member = true;
    }
    to_json(&root)
}

/// Writes the non-empty entries into metadata.managedFields in Kubernetes' order; none means no key.
fn store_managed_fields(object: &mut Map<String, Value>, mut entries: Vec<Entry>) {
    entries.retain(|entry| !entry.fields.is_empty());
    entries.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    if entries.is_empty() {
        take_managed_fields(object);
        return;
    }
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(metadata) = metadata {
        metadata.insert(
            "managedFields".into(),
            entries.iter().map(Entry::to_json).collect(),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_test_for_null_passes_on_a_missing_path_as_in_kubernetes() {
        let mut object = serde_json::json!({"metadata": {"name": "a"}});
        let patch = serde_json::json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["appgen.dev/task-cleanup"]},
        ]);
        json_patch(&mut object, &patch).unwrap();
        assert_eq!(
            object["metadata"]["finalizers"],
            serde_json::json!(["appgen.dev/task-cleanup"])
        );
        let again = json_patch(&mut object, &patch);
        assert!(again.is_err(), "the test fails once the path holds something");
    }

    use serde_json::json;

    use super::*;
    use crate::testing::Rng;

    const API_VERSION: &str = "appgen.dev/v1alpha1";

    fn writer(manager: &str, second: i64) -> Writer<'_> {
        Writer {
            manager,
            api_version: API_VERSION,
            subresource: None,
            now: jiff::Timestamp::from_second(second).unwrap(),
        }
    }

    /// 2026-11-26T14:00:00Z plus `offset` seconds.
    fn at(offset: i64) -> i64 {
        1_795_701_600 + offset
    }

    fn managed_fields(object: &Value) -> &Value {
        &object["metadata"]["managedFields"]
    }

    fn without_managed_fields(object: &Value) -> Value {
        let mut object = object.clone();
        object["metadata"]
            .as_object_mut()
            .unwrap()
            .shift_remove("managedFields");
        object
    }

    fn entry_of<'a>(object: &'a Value, manager: &str, operation: &str) -> Option<&'a Value> {
        managed_fields(object)
            .as_array()?
            .iter()
            .find(|entry| entry["manager"] == manager && entry["operation"] == operation)
    }

    /// An App; `labels` null leaves them out.
    fn app(spec: Value, labels: Value) -> Value {
        let mut object = json!({
            "apiVersion": API_VERSION,
            "kind": "App",
            "metadata": {"name": "demo", "namespace": "default", "labels": labels},
            "spec": spec,
        });
        if object["metadata"]["labels"].is_null() {
            object["metadata"].as_object_mut().unwrap().shift_remove("labels");
        }
        object
    }

    /// What the server adds on create before storing.
    fn stored(mut object: Value) -> Value {
        let metadata = object["metadata"].as_object_mut().unwrap();
        metadata.insert("uid".into(), json!("u-1"));
        metadata.insert("resourceVersion".into(), json!("1"));
        metadata.insert("creationTimestamp".into(), json!("2026-11-26T13:00:00Z"));
        object
    }

    #[test]
    fn merge_patch_null_deletes_a_key() {
        let mut target = json!({"spec": {"a": 1, "b": 2}});
        merge_patch(&mut target, &json!({"spec": {"a": null}}));
        assert_eq!(target, json!({"spec": {"b": 2}}));
    }

    #[test]
    fn merge_patch_merges_nested_maps_and_replaces_arrays() {
        let mut target = json!({"spec": {"deep": {"x": 1}, "list": [1, 2, 3]}, "keep": true});
        merge_patch(&mut target, &json!({"spec": {"deep": {"y": 2}, "list": [9]}}));
        assert_eq!(
            target,
            json!({"spec": {"deep": {"x": 1, "y": 2}, "list": [9]}, "keep": true})
        );
    }

    #[test]
    fn json_patch_applies_add_remove_replace_move_copy_and_test() {
        let mut target = json!({"spec": {"a": 1, "b": 2, "list": [1]}});
        let patch = json!([
            {"op": "test", "path": "/spec/a", "value": 1},
            {"op": "add", "path": "/spec/c", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": 2},
            {"op": "remove", "path": "/spec/b"},
            {"op": "replace", "path": "/spec/a", "value": 10},
            {"op": "move", "from": "/spec/c", "path": "/spec/d"},
            {"op": "copy", "from": "/spec/d", "path": "/spec/e"},
        ]);
        json_patch(&mut target, &patch).unwrap();
        assert_eq!(target, json!({"spec": {"a": 10, "list": [1, 2], "d": 3, "e": 3}}));
    }

    #[test]
    fn failed_json_patch_test_is_not_applicable_and_leaves_the_target_unchanged() {
        let mut target = json!({"spec": {"a": 1}});
        let patch = json!([
            {"op": "replace", "path": "/spec/a", "value": 2},
            {"op": "test", "path": "/spec/a", "value": 1},
        ]);
        let error = json_patch(&mut target, &patch).unwrap_err();
        assert!(matches!(error, PatchError::NotApplicable(_)), "{error:?}");
        assert_eq!(target, json!({"spec": {"a": 1}}));
    }

    #[test]
    fn json_patch_on_a_missing_path_is_not_applicable() {
        let mut target = json!({"spec": {}});
        for patch in [
            json!([{"op": "remove", "path": "/spec/missing"}]),
            json!([{"op": "add", "path": "/nothing/here", "value": 1}]),
            json!([{"op": "replace", "path": "/spec/list/7", "value": 1}]),
        ] {
            let error = json_patch(&mut target, &patch).unwrap_err();
            assert!(
                matches!(error, PatchError::NotApplicable(_)),
                "{patch}: {error:?}"
            );
        }
    }

    #[test]
    fn json_patch_that_is_not_an_array_of_known_operations_is_malformed() {
        let mut target = json!({});
        for patch in [
            json!({"op": "add", "path": "/a", "value": 1}),
            json!([{"op": "frobnicate", "path": "/a"}]),
            json!([{"op": "add", "value": 1}]),
            json!([{"op": "add", "path": "no-leading-slash", "value": 1}]),
        ] {
            let error = json_patch(&mut target, &patch).unwrap_err();
            assert!(matches!(error, PatchError::Malformed(_)), "{patch}: {error:?}");
        }
    }

    #[test]
    fn applying_to_a_missing_object_stores_the_config_with_an_apply_entry() {
        let config = app(json!({"prompt": "hello", "replicas": 2}), json!({"app": "demo"}));
        let result = apply(None, &config, &writer("kubectl", at(0)), false).unwrap();
        assert_eq!(without_managed_fields(&result), config);
        let entries = managed_fields(&result).as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            serde_json::to_string(&entries[0]).unwrap(),
            json!({
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": API_VERSION,
                "time": "2026-11-26T14:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:prompt": {}, "f:replicas": {}},
                },
            })
            .to_string()
        );
    }

    #[test]
    fn reapplying_the_same_config_changes_nothing_not_even_the_time() {
        let config = app(json!({"prompt": "hello"}), json!({"app": "demo"}));
        let first = stored(apply(None, &config, &writer("kubectl", at(0)), false).unwrap());
        let second = apply(Some(&first), &config, &writer("kubectl", at(60)), false).unwrap();
        assert_eq!(second, first);
    }

    #[test]
    fn applying_a_change_stamps_the_entry_with_the_new_time() {
        let first = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!(null)),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let second = apply(
            Some(&first),
            &app(json!({"prompt": "b"}), json!(null)),
            &writer("kubectl", at(60)),
            false,
        )
        .unwrap();
        assert_eq!(second["spec"]["prompt"], "b");
        assert_eq!(managed_fields(&second)[0]["time"], "2026-11-26T14:01:00Z");
    }

    #[test]
    fn applying_without_a_label_removes_the_label_this_manager_set() {
        let first = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!({"app": "demo", "tier": "web"})),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let second = apply(
            Some(&first),
            &app(json!({"prompt": "a"}), json!({"app": "demo"})),
            &writer("kubectl", at(60)),
            false,
        )
        .unwrap();
        assert_eq!(second["metadata"]["labels"], json!({"app": "demo"}));
        assert_eq!(
            managed_fields(&second)[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:prompt": {}}})
        );
        assert_eq!(second["metadata"]["uid"], "u-1");
    }

    #[test]
    fn applying_without_the_fields_of_a_map_removes_the_emptied_map() {
        let config = app(
            json!({"prompt": "a", "limits": {"cpu": "1"}}),
            json!({"app": "demo"}),
        );
        let first = stored(apply(None, &config, &writer("kubectl", at(0)), false).unwrap());
        let config = app(json!({"prompt": "a"}), json!(null));
        let second = apply(Some(&first), &config, &writer("kubectl", at(60)), false).unwrap();
        assert_eq!(second["spec"], json!({"prompt": "a"}));
        assert_eq!(second["metadata"].get("labels"), None);
        assert_eq!(
            managed_fields(&second)[0]["fieldsV1"],
            json!({"f:spec": {"f:prompt": {}}})
        );
    }

    #[test]
    fn applying_nothing_but_the_identity_removes_everything_the_manager_set_and_its_entry() {
        let first = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!({"app": "demo"})),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let config = json!({"apiVersion": API_VERSION, "kind": "App", "metadata": {"name": "demo", "namespace": "default"}});
        let second = apply(Some(&first), &config, &writer("kubectl", at(60)), false).unwrap();
        assert_eq!(second.get("spec"), None);
        assert_eq!(second["metadata"].get("labels"), None);
        assert_eq!(second["metadata"].get("managedFields"), None);
        assert_eq!(second["metadata"]["name"], "demo");
    }

    /// An object created by `kubectl-client-side-apply` (an Update) with spec.prompt = "a".
    fn created_by_client_side_apply() -> Value {
        let mut object = stored(app(json!({"prompt": "a", "replicas": 1}), json!({"app": "demo"})));
        record_update(None, &mut object, &writer("kubectl-client-side-apply", at(0)));
        object
    }

    #[test]
    fn applying_a_change_to_a_field_another_manager_set_conflicts() {
        let current = created_by_client_side_apply();
        let config = app(json!({"prompt": "b"}), json!({"app": "demo"}));
        let error = apply(Some(&current), &config, &writer("kubectl", at(60)), false).unwrap_err();
        let PatchError::Conflict(conflicts) = &error else {
            panic!("{error:?}")
        };
        assert_eq!(
            conflicts,
            &[FieldConflict {
                manager: "kubectl-client-side-apply".into(),
                field: ".spec.prompt".into(),
                operation: "Update".into(),
                api_version: API_VERSION.into(),
                subresource: None,
            }]
        );
        assert_eq!(
            error.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using \
             appgen.dev/v1alpha1: .spec.prompt"
        );
    }

    #[test]
    fn several_conflicts_are_listed_by_manager_as_kubernetes_does() {
        let mut current = created_by_client_side_apply();
        let before = current.clone();
        current["metadata"]["labels"]["tier"] = json!("web");
        record_update(Some(&before), &mut current, &writer("kubectl-edit", at(30)));
        let config = app(
            json!({"prompt": "b", "replicas": 3}),
            json!({"app": "demo", "tier": "db"}),
        );
        let error = apply(Some(&current), &config, &writer("kubectl", at(60)), false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Apply failed with 3 conflicts: conflicts with \"kubectl-client-side-apply\" using appgen.dev/v1alpha1:\n\
             - .spec.prompt\n\
             - .spec.replicas\n\
             conflicts with \"kubectl-edit\" using appgen.dev/v1alpha1:\n\
             - .metadata.labels.tier"
        );
    }

    #[test]
    fn forced_apply_takes_ownership_from_the_other_manager() {
        let current = created_by_client_side_apply();
        let config = app(json!({"prompt": "b"}), json!({"app": "demo"}));
        let result = apply(Some(&current), &config, &writer("kubectl", at(60)), true).unwrap();
        assert_eq!(result["spec"], json!({"prompt": "b", "replicas": 1}));
        assert_eq!(
            entry_of(&result, "kubectl", "Apply").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:prompt": {}}})
        );
        // The label had the same value, so it stays shared; only the prompt moved.
        assert_eq!(
            entry_of(&result, "kubectl-client-side-apply", "Update").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {".": {}, "f:replicas": {}}})
        );
        // Apply entries come first.
        assert_eq!(managed_fields(&result)[0]["operation"], "Apply");
    }

    #[test]
    fn applying_an_equal_value_shares_ownership_without_conflict_or_time() {
        let current = created_by_client_side_apply();
        let config = app(json!({"prompt": "a"}), json!({"app": "demo"}));
        let result = apply(Some(&current), &config, &writer("kubectl", at(60)), false).unwrap();
        assert_eq!(without_managed_fields(&result), without_managed_fields(&current));
        let mine = entry_of(&result, "kubectl", "Apply").unwrap();
        assert_eq!(
            mine["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:prompt": {}}})
        );
        // Kubernetes stamps an applier only when the object changed.
        assert_eq!(mine.get("time"), None);
        assert_eq!(
            entry_of(&result, "kubectl-client-side-apply", "Update").unwrap(),
            &managed_fields(&current)[0]
        );
    }

    #[test]
    fn a_field_another_manager_also_owns_survives_when_this_manager_drops_it() {
        let current = created_by_client_side_apply();
        let shared = apply(
            Some(&current),
            &app(json!({"prompt": "a"}), json!(null)),
            &writer("kubectl", at(60)),
            false,
        )
        .unwrap();
        let result = apply(
            Some(&shared),
            &app(json!({"replicas": 1}), json!(null)),
            &writer("kubectl", at(120)),
            false,
        )
        .unwrap();
        assert_eq!(result["spec"], json!({"prompt": "a", "replicas": 1}));
        assert_eq!(
            entry_of(&result, "kubectl", "Apply").unwrap()["fieldsV1"],
            json!({"f:spec": {"f:replicas": {}}})
        );
    }

    #[test]
    fn two_appliers_each_drop_only_their_own_label() {
        let first = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!({"a": "1"})),
                &writer("alice", at(0)),
                false,
            )
            .unwrap(),
        );
        let bob_config = json!({"apiVersion": API_VERSION, "kind": "App",
            "metadata": {"name": "demo", "namespace": "default", "labels": {"b": "2"}}});
        let both = apply(Some(&first), &bob_config, &writer("bob", at(60)), false).unwrap();
        assert_eq!(both["metadata"]["labels"], json!({"a": "1", "b": "2"}));

        let alice_drops = apply(
            Some(&both),
            &app(json!({"prompt": "a"}), json!(null)),
            &writer("alice", at(120)),
            false,
        )
        .unwrap();
        assert_eq!(alice_drops["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(
            entry_of(&alice_drops, "bob", "Apply").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:b": {}}}})
        );

        let mut bob_without_labels = bob_config.clone();
        bob_without_labels["metadata"]
            .as_object_mut()
            .unwrap()
            .shift_remove("labels");
        let bob_drops = apply(
            Some(&alice_drops),
            &bob_without_labels,
            &writer("bob", at(180)),
            false,
        )
        .unwrap();
        // Nobody owns a label any more: the labels map goes as a whole, and Bob's emptied entry too.
        assert_eq!(bob_drops["metadata"].get("labels"), None);
        assert!(entry_of(&bob_drops, "bob", "Apply").is_none());
        assert_eq!(bob_drops["spec"], json!({"prompt": "a"}));
    }

    #[test]
    fn apply_config_that_is_not_an_object_is_malformed() {
        for config in [json!([1]), json!("x"), json!(null), json!({"metadata": "x"})] {
            let error = apply(None, &config, &writer("kubectl", at(0)), false).unwrap_err();
            assert!(matches!(error, PatchError::Malformed(_)), "{config}: {error:?}");
        }
    }

    #[test]
    fn apply_ignores_managed_fields_and_server_set_metadata_in_the_config() {
        let current = created_by_client_side_apply();
        let mut config = app(json!({"prompt": "a"}), json!({"app": "demo"}));
        config["metadata"]["managedFields"] = json!([{"manager": "forged", "operation": "Apply"}]);
        config["metadata"]["uid"] = json!("forged");
        config["metadata"]["creationTimestamp"] = json!(null);
        let result = apply(Some(&current), &config, &writer("kubectl", at(60)), false).unwrap();
        assert_eq!(result["metadata"]["uid"], "u-1");
        assert_eq!(result["metadata"]["creationTimestamp"], "2026-11-26T13:00:00Z");
        assert!(entry_of(&result, "forged", "Apply").is_none());
    }

    #[test]
    fn null_in_an_apply_config_claims_the_field_and_leaves_it_absent() {
        let current = stored(
            apply(
                None,
                &app(json!({"prompt": "a", "note": "x"}), json!(null)),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let result = apply(
            Some(&current),
            &app(json!({"prompt": "a", "note": null}), json!(null)),
            &writer("kubectl", at(60)),
            false,
        )
        .unwrap();
        assert_eq!(result["spec"], json!({"prompt": "a"}));
        assert_eq!(
            managed_fields(&result)[0]["fieldsV1"],
            json!({"f:spec": {"f:note": {}, "f:prompt": {}}})
        );
    }

    #[test]
    fn status_apply_keeps_its_own_entry_with_the_subresource() {
        let current = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!(null)),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let status_writer = Writer {
            subresource: Some("status"),
            ..writer("controller", at(60))
        };
        let config = json!({"apiVersion": API_VERSION, "kind": "App",
            "metadata": {"name": "demo", "namespace": "default"}, "status": {"phase": "Ready"}});
        let result = apply(Some(&current), &config, &status_writer, false).unwrap();
        assert_eq!(result["status"], json!({"phase": "Ready"}));
        assert_eq!(result["spec"], json!({"prompt": "a"}));
        let entry = entry_of(&result, "controller", "Apply").unwrap();
        assert_eq!(entry["subresource"], "status");
        assert_eq!(entry["fieldsV1"], json!({"f:status": {"f:phase": {}}}));
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "manager",
                "operation",
                "apiVersion",
                "time",
                "fieldsType",
                "fieldsV1",
                "subresource"
            ]
        );
    }

    #[test]
    fn create_records_an_update_entry_owning_every_field() {
        let object = created_by_client_side_apply();
        assert_eq!(
            serde_json::to_string(managed_fields(&object)).unwrap(),
            json!([{
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": API_VERSION,
                "time": "2026-11-26T14:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {".": {}, "f:prompt": {}, "f:replicas": {}},
                },
            }])
            .to_string()
        );
    }

    #[test]
    fn update_takes_changed_fields_from_other_managers_and_drops_emptied_entries() {
        let current = stored(
            apply(
                None,
                &app(json!({"prompt": "a"}), json!({"app": "demo"})),
                &writer("kubectl", at(0)),
                false,
            )
            .unwrap(),
        );
        let mut edited = current.clone();
        merge_patch(&mut edited, &json!({"spec": {"prompt": "b", "extra": {"k": 1}}}));
        record_update(Some(&current), &mut edited, &writer("kubectl-edit", at(60)));
        assert_eq!(
            entry_of(&edited, "kubectl-edit", "Update").unwrap()["fieldsV1"],
            json!({"f:spec": {"f:extra": {".": {}, "f:k": {}}, "f:prompt": {}}})
        );
        assert_eq!(
            entry_of(&edited, "kubectl", "Apply").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}})
        );

        let mut relabelled = edited.clone();
        merge_patch(
            &mut relabelled,
            &json!({"metadata": {"labels": {"app": "other"}}}),
        );
        record_update(Some(&edited), &mut relabelled, &writer("kubectl-edit", at(120)));
        assert!(entry_of(&relabelled, "kubectl", "Apply").is_none());
        let entry = entry_of(&relabelled, "kubectl-edit", "Update").unwrap();
        assert_eq!(entry["time"], "2026-11-26T14:02:00Z");
        assert_eq!(
            entry["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:extra": {".": {}, "f:k": {}}, "f:prompt": {}}})
        );
    }

    #[test]
    fn update_removing_a_field_strips_it_from_its_owners() {
        let current = created_by_client_side_apply();
        let mut patched = current.clone();
        json_patch(&mut patched, &json!([{"op": "remove", "path": "/spec/replicas"}])).unwrap();
        record_update(Some(&current), &mut patched, &writer("kubectl-patch", at(60)));
        assert!(entry_of(&patched, "kubectl-patch", "Update").is_none());
        assert_eq!(
            entry_of(&patched, "kubectl-client-side-apply", "Update").unwrap()["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {".": {}, "f:prompt": {}}})
        );
    }

    #[test]
    fn update_that_changes_nothing_keeps_entries_and_times() {
        let current = created_by_client_side_apply();
        let mut same = current.clone();
        record_update(
            Some(&current),
            &mut same,
            &writer("kubectl-client-side-apply", at(60)),
        );
        assert_eq!(same, current);
        record_update(Some(&current), &mut same, &writer("someone-else", at(60)));
        assert_eq!(same, current);
    }

    #[test]
    fn update_through_a_subresource_gets_its_own_entry() {
        let current = created_by_client_side_apply();
        let mut updated = current.clone();
        updated["status"] = json!({"phase": "Ready"});
        let status_writer = Writer {
            subresource: Some("status"),
            ..writer("kubectl-client-side-apply", at(60))
        };
        record_update(Some(&current), &mut updated, &status_writer);
        let entries = managed_fields(&updated).as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1]["subresource"], "status");
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:status": {".": {}, "f:phase": {}}})
        );
    }

    #[test]
    fn managed_fields_sent_with_an_update_replace_the_stored_ones_and_a_reset_clears_them() {
        let current = created_by_client_side_apply();
        let mut sent = current.clone();
        sent["metadata"]["managedFields"] = json!([{
            "manager": "imported", "operation": "Update", "apiVersion": API_VERSION,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:prompt": {}}},
        }]);
        record_update(Some(&current), &mut sent, &writer("kubectl", at(60)));
        assert_eq!(managed_fields(&sent).as_array().unwrap().len(), 1);
        assert_eq!(managed_fields(&sent)[0]["manager"], "imported");

        let mut reset = current.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        record_update(Some(&current), &mut reset, &writer("kubectl", at(60)));
        assert_eq!(reset["metadata"].get("managedFields"), None);

        let mut invalid = current.clone();
        invalid["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Delete"}]);
        record_update(Some(&current), &mut invalid, &writer("kubectl", at(60)));
        assert_eq!(managed_fields(&invalid), managed_fields(&current));
    }

    #[test]
    fn entries_are_ordered_apply_first_then_by_time_then_manager() {
        let mut object = app(json!({"a": 1, "b": 2, "c": 3}), json!({}));
        object["metadata"]["managedFields"] = json!([
            {"manager": "z", "operation": "Update", "apiVersion": "v1", "time": "2026-11-26T14:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:a": {}}}},
            {"manager": "y", "operation": "Update", "apiVersion": "v1", "time": "2026-11-26T13:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:b": {}}}},
            {"manager": "x", "operation": "Apply", "apiVersion": "v1", "time": "2026-11-26T15:00:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:c": {}}}},
        ]);
        let old = object.clone();
        object["spec"]["d"] = json!(4);
        record_update(Some(&old), &mut object, &writer("w", at(7200)));
        let managers: Vec<&str> = managed_fields(&object)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["x", "y", "z", "w"]);
    }

    #[test]
    fn fields_v1_round_trips_including_dots_and_list_keys() {
        let encoded = json!({
            "f:metadata": {"f:annotations": {".": {}, "f:a.b/c": {}}},
            "f:spec": {"f:items": {"k:{\"name\":\"x\"}": {".": {}, "f:name": {}}}, "f:empty": {}},
        });
        let mut set = FieldSet::new();
        decode_fields(&encoded, &mut Vec::new(), &mut set).unwrap();
        assert!(set.contains(&vec!["f:metadata".to_owned(), "f:annotations".to_owned()]));
        assert_eq!(encode_fields(&set), encoded);
    }

    /// Patch-shaped inputs; an inherent impl keeps the call sites reading `rng.value(3)`.
    impl Rng {
        fn value(&mut self, depth: u32) -> Value {
            const KEYS: [&str; 16] = [
                "metadata",
                "spec",
                "status",
                "labels",
                "managedFields",
                "name",
                "a",
                "b",
                ".",
                "f:spec",
                "manager",
                "operation",
                "apiVersion",
                "fieldsType",
                "fieldsV1",
                "op",
            ];
            const WORDS: [&str; 10] = [
                "",
                "Apply",
                "Update",
                "FieldsV1",
                "v1",
                "kubectl",
                "/a",
                "/spec/a",
                "add",
                "2026-11-26T14:00:00Z",
            ];
            match self.below(if depth == 0 { 5 } else { 8 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 0),
                2 => json!(self.below(5)),
                3 | 4 => json!(self.pick(&WORDS)),
                5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
                _ => Value::Object(
                    (0..self.below(5))
                        .map(|_| (self.pick(&KEYS).to_owned(), self.value(depth - 1)))
                        .collect(),
                ),
            }
        }

        /// An object shaped like a resource, so that the interesting paths are reached.
        fn resource(&mut self) -> Value {
            let mut object = json!({"apiVersion": API_VERSION, "kind": "App",
                "metadata": {"name": "demo", "labels": self.value(2)}, "spec": self.value(3)});
            if self.below(2) == 0 {
                let fields = self.value(3);
                object["metadata"]["managedFields"] = json!([{"manager": self.pick(&["a", "b"]),
                    "operation": self.pick(&["Apply", "Update"]), "apiVersion": API_VERSION,
                    "fieldsType": "FieldsV1", "fieldsV1": fields}]);
            }
            if self.below(4) == 0 {
                object["metadata"] = self.value(2);
            }
            object
        }

        fn json_patch(&mut self) -> Value {
            if self.below(4) == 0 {
                return self.value(3);
            }
            let ops = ["add", "remove", "replace", "move", "copy", "test", "bogus"];
            let paths = [
                "",
                "/",
                "/spec",
                "/spec/a",
                "/spec/0",
                "/spec/-",
                "/metadata/labels/a",
                "x",
                "/~2",
            ];
            Value::Array(
                (0..self.below(4))
                    .map(|_| {
                        json!({"op": self.pick(&ops), "path": self.pick(&paths),
                        "from": self.pick(&paths), "value": self.value(2)})
                    })
                    .collect(),
            )
        }
    }

    #[test]
    fn random_inputs_never_panic_and_reapplying_is_a_no_op() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut applied = 0;
        for round in 0..3000 {
            let mut target = if round % 2 == 0 {
                rng.resource()
            } else {
                rng.value(3)
            };
            merge_patch(&mut target, &rng.value(3));
            let patch = rng.json_patch();
            let _ = json_patch(&mut target, &patch);

            let manager = rng.pick(&["a", "b"]);
            let current = rng.resource();
            let config = if rng.below(5) == 0 {
                rng.value(3)
            } else {
                rng.resource()
            };
            let force = rng.below(2) == 0;
            if let Ok(result) = apply(Some(&current), &config, &writer(manager, at(0)), force) {
                applied += 1;
                assert!(result.is_object());
                let again = apply(Some(&result), &config, &writer(manager, at(60)), false).unwrap();
                assert_eq!(again, result, "config {config}");
            }
            let _ = apply(None, &config, &writer(manager, at(0)), force);

            let old = rng.resource();
            let mut new = if rng.below(2) == 0 {
                rng.resource()
            } else {
                rng.value(3)
            };
            record_update(Some(&old), &mut new, &writer(manager, at(0)));
            let mut created = rng.resource();
            record_update(None, &mut created, &writer(manager, at(0)));
        }
        assert!(applied > 500, "only {applied} applies succeeded");
    }
}
