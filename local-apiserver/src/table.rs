//! The `meta.k8s.io/v1` Table that `kubectl get` asks for, built as apiextensions-apiserver's CRD table
//! convertor builds it: a Name column, then the CRD's additionalPrinterColumns (or Age when it declares
//! none), each cell evaluated with client-go's JSONPath rules and formatted as Go would.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Number, Value, json};

use crate::gofmt::{go_float_v, go_json, go_quote};

/// One printer column, as a CRD's additionalPrinterColumns declares it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub format: Option<String>,
    pub description: Option<String>,
    pub priority: i32,
    pub json_path: String,
}

/// The `includeObject` query parameter: what each row carries besides its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
    /// Kubernetes' validation text; the server prefixes `Unable to convert to Table as requested: `.
    #[error("includeObject: Invalid value: {}: must be 'Metadata', 'Object', 'None', or empty", go_quote(.0))]
    InvalidIncludeObject(String),
}

impl IncludeObject {
    /// Absent or empty means the default, `Metadata`.
    pub fn parse(s: Option<&str>) -> Result<Self, TableError> {
        match s.unwrap_or_default() {
            "" | "Metadata" => Ok(IncludeObject::Metadata),
            "Object" => Ok(IncludeObject::Object),
            "None" => Ok(IncludeObject::None),
            other => Err(TableError::InvalidIncludeObject(other.to_owned())),
        }
    }
}

/// `ObjectMeta`'s swagger text for `name`, which Kubernetes uses as the Name column's description.
const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `ObjectMeta`'s swagger text for `creationTimestamp`, the description of the default Age column.
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// apimachinery's `duration.HumanDuration`: about two significant figures, e.g. `119s`, `2m5s`, `3h5m`,
/// `2d3h`, `2y3d`. Up to 2s in the future still reads as `0s` (clock skew); further is `<invalid>`.
pub fn human_duration(d: SignedDuration) -> String {
    // Go truncates toward zero, as `as_secs` does.
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        };
    }
    format!("{years}y")
}

/// One step of a parsed JSONPath.
#[derive(Debug)]
enum Step {
    /// `.name`, `['name']`
    Field(String),
    /// `.*`
    Wildcard,
    /// `[i]`, `[a:b:c]`, `[*]`, with client-go's parameter rules: a lone index `i` is `i:i+1`, the end
    /// then being "derived" (so `[-1]` reaches the last element).
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        derived_end: bool,
        step: Option<i64>,
    },
}

/// Parses the inside of a `{...}` template as client-go does for the forms printer columns use. Filters,
/// recursive descent, unions and literals give `None`: the column is then empty.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while let Some(c) = rest.chars().next() {
        match c {
            ' ' | '$' | '@' => rest = &rest[1..],
            '.' if rest.starts_with("..") => return None,
            '.' => {
                // A field runs to the next terminator; a backslash takes the next character literally and
                // is then dropped (`.labels.app\.kubernetes\.io/name`).
                let mut end = 1;
                let mut chars = rest[1..].char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == '\\' {
                        end = chars.next().map_or(rest.len(), |(j, c)| 1 + j + c.len_utf8());
                        continue;
                    }
                    if matches!(
                        c,
                        ' ' | '\t' | '\n' | '\r' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'
                    ) {
                        break;
                    }
                    end = 1 + i + c.len_utf8();
                }
                let name = &rest[1..end];
                steps.push(if name == "*" {
                    Step::Wildcard
                } else {
                    Step::Field(name.replace('\\', ""))
                });
                rest = &rest[end..];
            }
            '[' if rest.starts_with("[?(") => return None,
            '[' => {
                let close = rest.find(']')?;
                let inner = &rest[1..close];
                rest = &rest[close + 1..];
                if inner.contains('\n') || inner.contains(',') {
                    return None;
                }
                if let Some(key) = inner.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')) {
                    // client-go re-parses `['k']` as `.k`, so dots inside split it the same way.
                    if key.contains('\'') {
                        return None;
                    }
                    steps.extend(parse_path(&format!(".{key}"))?);
                } else {
                    steps.push(parse_slice(if inner == "*" { ":" } else { inner })?);
                }
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// `^(-?\d*)(:-?\d*)?(:-?\d*)?$`: start, end and step, an empty part meaning "not given".
fn parse_slice(text: &str) -> Option<Step> {
    let mut parts = text.split(':');
    let (start, end, step) = (parts.next(), parts.next(), parts.next());
    if parts.next().is_some() {
        return None;
    }
    let start = slice_param(start)?;
    let (end, derived_end) = match end {
        None => (Some(start.unwrap_or(0).saturating_add(1)), true),
        end => (slice_param(end)?, false),
    };
    Some(Step::Slice {
        start,
        end,
        derived_end,
        step: slice_param(step)?,
    })
}

/// One slice parameter: `None` when it is not a number (the path is then invalid), `Some(None)` when
/// it is absent or empty.
fn slice_param(s: Option<&str>) -> Option<Option<i64>> {
    match s {
        None | Some("") => Some(None),
        Some(s) => {
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok().map(Some)
        }
    }
}

/// Applies one step to every current value, as client-go's evaluator does: nulls are skipped, fields on
/// non-objects find nothing, and an index out of bounds or on a non-array fails the whole path.
fn apply<'a>(step: &Step, input: Vec<&'a Value>) -> Option<Vec<&'a Value>> {
    let mut out = Vec::new();
    for value in input.into_iter().filter(|v| !v.is_null()) {
        match (step, value) {
            (Step::Field(name), Value::Object(map)) => out.extend(map.get(name)),
            (Step::Field(_), _) => {}
            (Step::Wildcard, Value::Object(map)) => out.extend(map.values()),
            (Step::Wildcard, Value::Array(items)) => out.extend(items),
            (Step::Wildcard, _) => {}
            (
                Step::Slice {
                    start,
                    end,
                    derived_end,
                    step,
                },
                Value::Array(items),
            ) => {
                let len = i64::try_from(items.len()).ok()?;
                let mut from = start.unwrap_or(0);
                if from < 0 {
                    from += len;
                }
                let mut to = end.unwrap_or(len);
                if to < 0 || (to == 0 && *derived_end) {
                    to += len;
                }
                if from == to {
                    // client-go returns here, dropping any values still to come.
                    return Some(out);
                }
                if from >= len || from < 0 || to > len || to < 0 || from > to {
                    return None;
                }
                let step = match step {
                    Some(s) if *s <= 0 => return None,
                    Some(s) => usize::try_from(*s).ok()?,
                    None => 1,
                };
                let range = usize::try_from(from).ok()?..usize::try_from(to).ok()?;
                out.extend(items.get(range)?.iter().step_by(step));
            }
            (Step::Slice { .. }, _) => return None,
        }
    }
    Some(out)
}

/// Evaluates a printer column's jsonPath (`.spec.app`, `.status.usage.costUsd`, `.items[0].x`,
/// `.items[*].x`, `['a']`) against an object: the first value found, `None` when nothing is (a JSON
/// null that is present is `Some(Null)`).
pub fn eval_json_path<'a>(object: &'a Value, path: &str) -> Option<&'a Value> {
    let steps = parse_path(path)?;
    let found = steps
        .iter()
        .try_fold(vec![object], |values, step| apply(step, values))?;
    found.into_iter().next()
}

/// The Table for a list of objects; see the module documentation. `list_metadata` (resourceVersion,
/// continue, remainingItemCount) becomes the Table's `metadata`.
pub fn table(
    columns: &[Column],
    objects: &[&Value],
    include: IncludeObject,
    now: Timestamp,
    list_metadata: Value,
) -> Value {
    let age;
    let columns = if columns.is_empty() {
        age = [Column {
            name: "Age".to_owned(),
            type_: "date".to_owned(),
            format: None,
            description: Some(AGE_DESCRIPTION.to_owned()),
            priority: 0,
            json_path: ".metadata.creationTimestamp".to_owned(),
        }];
        &age[..]
    } else {
        columns
    };
    let mut definitions = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}),
    ];
    definitions.extend(columns.iter().map(|c| {
        // As in Kubernetes, an empty description counts as none.
        let description = c
            .description
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "Custom resource definition column (in JSONPath format): {}",
                    c.json_path
                )
            });
        json!({
            "name": c.name,
            "type": c.type_,
            "format": c.format.as_deref().unwrap_or_default(),
            "description": description,
            "priority": c.priority,
        })
    }));
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| row(columns, object, include, now))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

fn row(columns: &[Column], object: &Value, include: IncludeObject, now: Timestamp) -> Value {
    let metadata = object.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut cells = vec![Value::from(name)];
    cells.extend(
        columns
            .iter()
            .map(|c| cell(&c.type_, eval_json_path(object, &c.json_path), now)),
    );
    with_object(cells, object, include)
}

/// A row of `cells`, carrying `object` as `includeObject` asks.
pub fn with_object(cells: Vec<Value>, object: &Value, include: IncludeObject) -> Value {
    let mut row = Map::new();
    row.insert("cells".to_owned(), Value::Array(cells));
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            let metadata = object.get("metadata").cloned().unwrap_or_else(|| json!({}));
            row.insert(
                "object".to_owned(),
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}),
            );
        }
        IncludeObject::Object => {
            row.insert("object".to_owned(), object.clone());
        }
    }
    Value::Object(row)
}

/// A cell as the CRD convertor's `cellForJSONValue` makes it; a value of the wrong type for its column
/// is null, except that a string column prints whatever it finds.
fn cell(type_: &str, value: Option<&Value>, now: Timestamp) -> Value {
    let Some(value) = value else { return Value::Null };
    if type_ == "string" {
        return Value::String(go_text(value));
    }
    match (type_, value) {
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            // Go holds such numbers as float64 and converts with truncation.
            None => n.as_f64().map_or(Value::Null, |f| Value::from(f as i64)),
        },
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, go_float_number),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => Value::String(age(s, now)),
        _ => Value::Null,
    }
}

/// A float as Go's encoder writes it: integral values without a fraction (`5`, not `5.0`).
fn go_float_number(f: f64) -> Value {
    // 2^63: every integral f64 below it in magnitude fits an i64 exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && f.abs() < LIMIT {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// A date cell: the age of an RFC 3339 timestamp. Empty or `null` is Go's zero time, shown as
/// `<unknown>`; an unparseable one is `<invalid>`.
fn age(s: &str, now: Timestamp) -> String {
    if s.is_empty() || s == "null" {
        return "<unknown>".to_owned();
    }
    let Ok(t) = s.parse::<Timestamp>() else {
        return "<invalid>".to_owned();
    };
    // Go's zero time, which it also shows as unknown.
    if t.as_second() == -62_135_596_800 && t.subsec_nanosecond() == 0 {
        return "<unknown>".to_owned();
    }
    // time.Since saturates at the range of a Go Duration (about 292 years).
    let go_range = SignedDuration::from_nanos(i64::MIN)..=SignedDuration::from_nanos(i64::MAX);
    human_duration(now.duration_since(t).clamp(*go_range.start(), *go_range.end()))
}

/// What client-go's JSONPath printer writes for a value: strings bare, scalars as Go's `fmt.Print`
/// does, objects and arrays as Go's `json.Marshal`, a present null as `<no value>`.
fn go_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "<no value>".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => n.as_f64().map(go_float_v).unwrap_or_default(),
        },
        Value::Array(_) | Value::Object(_) => go_json(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1;
    const MINUTE: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;
    const YEAR: i64 = 365 * DAY;

    fn secs(s: i64) -> SignedDuration {
        SignedDuration::from_secs(s)
    }

    fn millis_before(s: i64) -> SignedDuration {
        secs(s) - SignedDuration::from_millis(1)
    }

    #[test]
    fn human_duration_matches_the_go_boundary_table() {
        // apimachinery's duration_test.go, TestHumanDuration and TestHumanDurationBoundaries.
        let cases = [
            (secs(SECOND), "1s"),
            (secs(70 * SECOND), "70s"),
            (secs(190 * SECOND), "3m10s"),
            (secs(70 * MINUTE), "70m"),
            (secs(47 * HOUR), "47h"),
            (secs(49 * HOUR), "2d1h"),
            (secs((8 * 24 + 2) * HOUR), "8d"),
            (secs(367 * 24 * HOUR), "367d"),
            (secs((365 * 2 * 24 + 25) * HOUR), "2y1d"),
            (secs((365 * 8 * 24 + 2) * HOUR), "8y"),
            (secs(-2 * SECOND), "<invalid>"),
            (secs(-2 * SECOND) + SignedDuration::from_nanos(1), "0s"),
            (secs(0), "0s"),
            (millis_before(SECOND), "0s"),
            (millis_before(2 * MINUTE), "119s"),
            (secs(2 * MINUTE), "2m"),
            (secs(2 * MINUTE + SECOND), "2m1s"),
            (millis_before(10 * MINUTE), "9m59s"),
            (secs(10 * MINUTE), "10m"),
            (secs(10 * MINUTE + SECOND), "10m"),
            (millis_before(3 * HOUR), "179m"),
            (secs(3 * HOUR), "3h"),
            (secs(3 * HOUR + MINUTE), "3h1m"),
            (millis_before(8 * HOUR), "7h59m"),
            (secs(8 * HOUR), "8h"),
            (secs(8 * HOUR + 59 * MINUTE), "8h"),
            (millis_before(2 * DAY), "47h"),
            (secs(2 * DAY), "2d"),
            (secs(2 * DAY + HOUR), "2d1h"),
            (millis_before(8 * DAY), "7d23h"),
            (secs(8 * DAY), "8d"),
            (secs(8 * DAY + 23 * HOUR), "8d"),
            (millis_before(2 * YEAR), "729d"),
            (secs(2 * YEAR), "2y"),
            (secs(2 * YEAR + 23 * HOUR), "2y"),
            (secs(2 * YEAR + 23 * HOUR + 59 * MINUTE), "2y"),
            (millis_before(2 * YEAR + DAY), "2y"),
            (secs(2 * YEAR + DAY), "2y1d"),
            (secs(3 * YEAR), "3y"),
            (secs(4 * YEAR), "4y"),
            (secs(5 * YEAR), "5y"),
            (secs(6 * YEAR), "6y"),
            (secs(7 * YEAR), "7y"),
            (millis_before(8 * YEAR), "7y364d"),
            (secs(8 * YEAR), "8y"),
            (secs(8 * YEAR + 364 * DAY), "8y"),
            (secs(9 * YEAR), "9y"),
            // The brief's examples.
            (secs(59), "59s"),
            (secs(2 * MINUTE + 5), "2m5s"),
            (secs(3 * HOUR + 5 * MINUTE), "3h5m"),
            (secs(2 * DAY + 3 * HOUR), "2d3h"),
            (secs(2 * YEAR + 3 * DAY), "2y3d"),
        ];
        for (d, want) in cases {
            assert_eq!(human_duration(d), want, "{d:?}");
        }
    }

    fn col(name: &str, type_: &str, path: &str) -> Column {
        Column {
            name: name.to_owned(),
            type_: type_.to_owned(),
            format: None,
            description: None,
            priority: 0,
            json_path: path.to_owned(),
        }
    }

    fn now() -> Timestamp {
        "2025-06-01T12:00:00Z".parse().unwrap()
    }

    fn app() -> Value {
        json!({
            "apiVersion": "appgen.dev/v1",
            "kind": "App",
            "metadata": {"name": "web", "namespace": "prod", "creationTimestamp": "2025-06-01T09:55:00Z"},
            "spec": {"app": "shop", "replicas": 3, "ratio": 2.0, "paused": true, "tags": ["a", "b"]},
            "status": {"usage": {"costUsd": 1.25}, "lastSeen": "2025-05-30T12:00:00Z"},
        })
    }

    fn cells(t: &Value, row: usize) -> Vec<Value> {
        t["rows"][row]["cells"].as_array().unwrap().clone()
    }

    #[test]
    fn columns_follow_name_in_declared_order_with_their_definitions() {
        let mut last = col("Last Seen", "date", ".status.lastSeen");
        last.description = Some("When it was last seen".to_owned());
        last.priority = 1;
        last.format = Some("date-time".to_owned());
        let mut replicas = col("Replicas", "integer", ".spec.replicas");
        replicas.description = Some(String::new());
        let columns = [col("App", "string", ".spec.app"), replicas, last];
        let t = table(
            &columns,
            &[&app()],
            IncludeObject::None,
            now(),
            json!({"resourceVersion": "7"}),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "7"}));
        let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
        );
        let defs = t["columnDefinitions"].as_array().unwrap();
        assert_eq!(
            defs[0],
            json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0})
        );
        assert_eq!(
            defs[1],
            json!({
                "name": "App", "type": "string", "format": "", "priority": 0,
                "description": "Custom resource definition column (in JSONPath format): .spec.app",
            })
        );
        assert_eq!(
            defs[2]["description"],
            "Custom resource definition column (in JSONPath format): .spec.replicas"
        );
        assert_eq!(defs[3]["description"], "When it was last seen");
        assert_eq!(defs[3]["priority"], 1);
        assert_eq!(defs[3]["format"], "date-time");
        assert_eq!(cells(&t, 0), [json!("web"), json!("shop"), json!(3), json!("2d")]);
        assert!(t["rows"][0].get("object").is_none());
    }

    #[test]
    fn a_date_column_shows_the_age() {
        let t = table(
            &[col("Created", "date", ".metadata.creationTimestamp")],
            &[&app()],
            IncludeObject::None,
            now(),
            json!({}),
        );
        assert_eq!(cells(&t, 0)[1], "125m");
        let odd = json!({"a": "", "b": "yesterday", "c": "0001-01-01T00:00:00Z", "d": "2025-06-01T12:00:05Z", "e": 5});
        let cols: Vec<Column> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|k| col(k, "date", &format!(".{k}")))
            .collect();
        let t = table(&cols, &[&odd], IncludeObject::None, now(), json!({}));
        assert_eq!(
            &cells(&t, 0)[1..],
            [
                json!("<unknown>"),
                json!("<invalid>"),
                json!("<unknown>"),
                json!("<invalid>"),
                Value::Null
            ]
        );
    }

    #[test]
    fn missing_values_are_null_cells() {
        let columns = [
            col("Missing", "string", ".spec.nope"),
            col("Deep", "integer", ".spec.app.x"),
            col("Idx", "string", ".spec.tags[5]"),
        ];
        let t = table(
            &columns,
            &[&json!({"spec": {"app": "a", "tags": []}})],
            IncludeObject::None,
            now(),
            json!({}),
        );
        assert_eq!(cells(&t, 0), [json!(""), Value::Null, Value::Null, Value::Null]);
    }

    #[test]
    fn typed_columns_keep_json_types_and_null_the_wrong_type() {
        let columns = [
            col("Replicas", "integer", ".spec.replicas"),
            col("Ratio", "number", ".spec.ratio"),
            col("Paused", "boolean", ".spec.paused"),
            col("Cost", "number", ".status.usage.costUsd"),
            col("Truncated", "integer", ".status.usage.costUsd"),
            col("NotBool", "boolean", ".spec.app"),
            col("NotInt", "integer", ".spec.app"),
            col("Unknown", "array", ".spec.tags"),
        ];
        let t = table(&columns, &[&app()], IncludeObject::None, now(), json!({}));
        let got = cells(&t, 0);
        assert_eq!(
            &got[1..],
            [
                json!(3),
                json!(2),
                json!(true),
                json!(1.25),
                json!(1),
                Value::Null,
                Value::Null,
                Value::Null
            ]
        );
        // Go writes float64(2) as `2`.
        assert_eq!(serde_json::to_string(&got[2]).unwrap(), "2");
    }

    #[test]
    fn a_string_column_prints_other_values_as_go_does() {
        let obj = json!({
            "n": 3, "f": 2.0, "big": 1e21, "small": 0.00001, "b": false, "nul": null,
            "m": {"z": 1, "a": [1.5, 2.0, 1e-7, "<&>"], "m": {}},
        });
        let cols: Vec<Column> = ["n", "f", "big", "small", "b", "nul", "m"]
            .iter()
            .map(|k| col(k, "string", &format!(".{k}")))
            .collect();
        let t = table(&cols, &[&obj], IncludeObject::None, now(), json!({}));
        assert_eq!(
            &cells(&t, 0)[1..],
            [
                json!("3"),
                json!("2"),
                json!("1e+21"),
                json!("1e-05"),
                json!("false"),
                json!("<no value>"),
                json!(r#"{"a":[1.5,2,1e-7,"\u003c\u0026\u003e"],"m":{},"z":1}"#),
            ]
        );
    }

    #[test]
    fn include_object_metadata_wraps_the_metadata_as_partial_object_metadata() {
        let a = app();
        let t = table(&[], &[&a], IncludeObject::Metadata, now(), json!({}));
        assert_eq!(
            t["rows"][0]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": a["metadata"]})
        );
        let keys: Vec<&String> = t["rows"][0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["cells", "object"]);
    }

    #[test]
    fn include_object_object_carries_the_whole_object() {
        let a = app();
        let t = table(&[], &[&a], IncludeObject::Object, now(), json!({}));
        assert_eq!(t["rows"][0]["object"], a);
    }

    #[test]
    fn include_object_parses_the_query_parameter() {
        assert_eq!(IncludeObject::parse(None), Ok(IncludeObject::Metadata));
        assert_eq!(IncludeObject::parse(Some("")), Ok(IncludeObject::Metadata));
        assert_eq!(
            IncludeObject::parse(Some("Metadata")),
            Ok(IncludeObject::Metadata)
        );
        assert_eq!(IncludeObject::parse(Some("Object")), Ok(IncludeObject::Object));
        assert_eq!(IncludeObject::parse(Some("None")), Ok(IncludeObject::None));
        assert_eq!(IncludeObject::default(), IncludeObject::Metadata);
        assert_eq!(
            IncludeObject::parse(Some("none")).unwrap_err().to_string(),
            "includeObject: Invalid value: \"none\": must be 'Metadata', 'Object', 'None', or empty"
        );
    }

    #[test]
    fn no_declared_columns_means_name_and_age() {
        let t = table(
            &[],
            &[&app(), &json!({"metadata": {"name": "bare"}})],
            IncludeObject::None,
            now(),
            json!({}),
        );
        let defs = t["columnDefinitions"].as_array().unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(
            defs[1],
            json!({"name": "Age", "type": "date", "format": "", "description": AGE_DESCRIPTION, "priority": 0})
        );
        assert_eq!(cells(&t, 0), [json!("web"), json!("125m")]);
        assert_eq!(cells(&t, 1), [json!("bare"), Value::Null]);
    }

    #[test]
    fn an_empty_list_has_no_rows() {
        let t = table(
            &[],
            &[],
            IncludeObject::Metadata,
            now(),
            json!({"resourceVersion": "1", "continue": "x"}),
        );
        assert_eq!(t["rows"], json!([]));
        assert_eq!(t["metadata"]["continue"], "x");
    }

    #[test]
    fn nested_and_indexed_paths_are_evaluated() {
        let obj = json!({
            "status": {"usage": {"costUsd": 1.25}},
            "items": [{"x": "first"}, {"y": 1}, {"x": "third"}],
            "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
            "n": null,
        });
        assert_eq!(eval_json_path(&obj, ".status.usage.costUsd"), Some(&json!(1.25)));
        assert_eq!(eval_json_path(&obj, ".items[0].x"), Some(&json!("first")));
        assert_eq!(eval_json_path(&obj, ".items[-1].x"), Some(&json!("third")));
        assert_eq!(eval_json_path(&obj, ".items[1].x"), None);
        assert_eq!(eval_json_path(&obj, ".items[1:].x"), Some(&json!("third")));
        assert_eq!(eval_json_path(&obj, ".items[*].y"), Some(&json!(1)));
        assert_eq!(eval_json_path(&obj, ".items[3].x"), None);
        assert_eq!(eval_json_path(&obj, ".status[0]"), None);
        assert_eq!(eval_json_path(&obj, "$.items[0]['x']"), Some(&json!("first")));
        assert_eq!(
            eval_json_path(&obj, r".metadata.labels.app\.kubernetes\.io/name"),
            Some(&json!("web"))
        );
        assert_eq!(eval_json_path(&obj, ".n"), Some(&Value::Null));
        assert_eq!(eval_json_path(&obj, ".n.x"), None);
        assert_eq!(eval_json_path(&obj, "..x"), None);
        assert_eq!(eval_json_path(&obj, ".items[?(@.x)]"), None);
        assert_eq!(eval_json_path(&obj, "items"), None);
    }

    #[test]
    fn a_list_index_path_fills_a_column() {
        let columns = [
            col("First Tag", "string", ".spec.tags[0]"),
            col("Tags", "string", ".spec.tags"),
        ];
        let t = table(&columns, &[&app()], IncludeObject::None, now(), json!({}));
        assert_eq!(&cells(&t, 0)[1..], [json!("a"), json!(r#"["a","b"]"#)]);
    }

    #[test]
    fn ages_of_impossible_timestamps_saturate_like_go() {
        let t = table(
            &[col("Old", "date", ".t")],
            &[&json!({"t": "0002-01-01T00:00:00Z"})],
            IncludeObject::None,
            now(),
            json!({}),
        );
        assert_eq!(cells(&t, 0)[1], "292y");
    }

    #[test]
    fn random_paths_never_panic() {
        let alphabet = [
            ".",
            "..",
            "[",
            "]",
            "*",
            ":",
            "-",
            "0",
            "1",
            "9",
            "'",
            "\\",
            "a",
            "items",
            "x",
            " ",
            "$",
            "@",
            ",",
            "?(",
            "é",
            "\n",
            "9223372036854775807",
        ];
        let obj = json!({"a": {"x": [1, {"x": 2}]}, "items": [{"x": "first"}, null, [3]], "x": null});
        let mut rng = crate::testing::Rng(0x0123_4567_89ab_cdef);
        for _ in 0..20_000 {
            let path = rng.string(&alphabet, 10);
            let found = eval_json_path(&obj, &path);
            cell("string", found, now());
            cell("date", found, now());
        }
    }
}
