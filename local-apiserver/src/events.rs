//! Events are stored once, in core `v1` form, and served both as core `v1` Events (what
//! `kubectl describe` reads) and as `events.k8s.io/v1` Events (what kube-runtime's Recorder
//! writes), converting field by field as Kubernetes does.

use serde_json::{Map, Value, json};

use crate::table::{IncludeObject, human_duration, with_object};

/// `(core v1 field, events.k8s.io/v1 field)` pairs that carry the same data.
const FIELDS: [(&str, &str); 13] = [
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("message", "note"),
    ("reason", "reason"),
    ("type", "type"),
    ("action", "action"),
    ("eventTime", "eventTime"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("series", "series"),
];

fn convert(object: &Value, api_version: &str, to_v1: bool) -> Value {
    let Some(from) = object.as_object() else {
        return object.clone();
    };
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    out.insert("kind".into(), Value::String("Event".into()));
    if let Some(meta) = from.get("metadata") {
        out.insert("metadata".into(), meta.clone());
    }
    for (core, v1) in FIELDS {
        let (src, dst) = if to_v1 { (core, v1) } else { (v1, core) };
        if let Some(v) = from.get(src).filter(|v| !v.is_null()) {
            out.insert(dst.into(), v.clone());
        }
    }
    let (count_src, count_dst) = if to_v1 {
        ("count", "deprecatedCount")
    } else {
        ("deprecatedCount", "count")
    };
    if let Some(v) = from.get(count_src).filter(|v| v.as_i64().is_some_and(|c| c != 0)) {
        out.insert(count_dst.into(), v.clone());
    }
    Value::Object(out)
}

/// A stored (core `v1`) Event as `events.k8s.io/v1` shows it.
pub fn to_events_v1(core: &Value) -> Value {
    convert(core, "events.k8s.io/v1", true)
}

/// An `events.k8s.io/v1` Event in its stored (core `v1`) form.
pub fn from_events_v1(v1: &Value) -> Value {
    convert(v1, "v1", false)
}

/// The Table Kubernetes prints for Events, wide columns included (kubectl hides those of priority 1
/// unless asked for `-o wide`).
pub fn table(objects: &[&Value], include: IncludeObject, now: jiff::Timestamp, metadata: Value) -> Value {
    let column = |name: &str, priority: i32, description: &str| json!({"name": name, "type": "string", "format": "", "description": description, "priority": priority});
    let definitions = vec![
        column("Last Seen", 0, "When the event was last seen."),
        column("Type", 0, "Type of this event (Normal, Warning)."),
        column("Reason", 0, "Why the event happened, in one word."),
        column("Object", 0, "The object the event is about."),
        column("Subobject", 1, "The part of the object the event is about."),
        column("Source", 1, "The component that reported the event."),
        column("Message", 0, "A human-readable description of the event."),
        column("First Seen", 1, "When the event was first seen."),
        column("Count", 1, "How many times the event happened."),
        column("Name", 1, "The event's name."),
    ];
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| event_row(object, include, now))
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
           "columnDefinitions": definitions, "rows": rows})
}

fn event_row(wire: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let core = if wire.get("apiVersion").and_then(Value::as_str) == Some("events.k8s.io/v1") {
        from_events_v1(wire)
    } else {
        wire.clone()
    };
    let text = |path: &[&str]| -> String {
        path.iter()
            .try_fold(&core, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let since = |t: String| match t.parse::<jiff::Timestamp>() {
        Ok(t) => human_duration(now.duration_since(t)),
        Err(_) => "<unknown>".to_owned(),
    };
    let first_seen = match text(&["firstTimestamp"]) {
        t if t.is_empty() => since(text(&["eventTime"])),
        t => since(t),
    };
    let mut last_seen = match text(&["lastTimestamp"]) {
        t if t.is_empty() => first_seen.clone(),
        t => since(t),
    };
    let mut count = core.get("count").and_then(Value::as_i64).unwrap_or(0);
    if core.get("series").is_some_and(Value::is_object) {
        last_seen = since(text(&["series", "lastObservedTime"]));
        count = core["series"].get("count").and_then(Value::as_i64).unwrap_or(0);
    } else if count == 0 {
        count = 1;
    }
    let kind = text(&["involvedObject", "kind"]).to_lowercase();
    let object = match text(&["involvedObject", "name"]) {
        name if name.is_empty() => kind,
        name => format!("{kind}/{name}"),
    };
    let component = [text(&["source", "component"]), text(&["reportingComponent"])]
        .into_iter()
        .find(|s| !s.is_empty());
    let instance = [text(&["source", "host"]), text(&["reportingInstance"])]
        .into_iter()
        .find(|s| !s.is_empty());
    let source = match (component.unwrap_or_default(), instance) {
        (component, Some(instance)) => format!("{component}, {instance}"),
        (component, None) => component,
    };
    let cells = vec![
        json!(last_seen),
        json!(text(&["type"])),
        json!(text(&["reason"])),
        json!(object),
        json!(text(&["involvedObject", "fieldPath"])),
        json!(source),
        json!(text(&["message"]).trim()),
        json!(first_seen),
        json!(count),
        json!(text(&["metadata", "name"])),
    ];
    with_object(cells, wire, include)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_recorder_event_reads_back_as_a_core_event_kubectl_describe_understands() {
        let v1 = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "todo.1", "namespace": "default"},
            "regarding": {"kind": "Generation", "name": "todo", "namespace": "default", "uid": "u1"},
            "note": "attempt 1 launched", "reason": "Launched", "type": "Normal", "action": "Launch",
            "eventTime": "2026-11-26T14:00:00.000000Z",
            "reportingController": "appgen.dev/controller", "reportingInstance": "appgen-1",
            "series": {"count": 3, "lastObservedTime": "2026-11-26T14:05:00.000000Z"},
        });
        let core = from_events_v1(&v1);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "todo");
        assert_eq!(core["message"], "attempt 1 launched");
        assert_eq!(core["reportingComponent"], "appgen.dev/controller");
        assert_eq!(core["series"]["count"], 3);
        assert_eq!(to_events_v1(&core), v1);
    }

    #[test]
    fn a_core_event_count_becomes_the_deprecated_count() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "count": 2, "message": "m"});
        let v1 = to_events_v1(&core);
        assert_eq!(v1["deprecatedCount"], 2);
        assert_eq!(v1["note"], "m");
        assert_eq!(from_events_v1(&v1), core);
    }
}
