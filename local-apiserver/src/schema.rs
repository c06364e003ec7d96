//! Validation, defaulting and pruning of custom resources against a CRD version's structural
//! `openAPIV3Schema`, reproducing what kube-apiserver 1.33 does: kube-openapi's `validate` package (as
//! wired by apiextensions-apiserver's `kubeOpenAPIResultToFieldErrors`), the apiextensions
//! `schema/{defaulting,pruning,listtype,objectmeta}` algorithms, and apimachinery's `field.Error`
//! rendering.
//!
//! Numbers are seen the way the apiserver's JSON decoding sees them: an integer literal that fits in
//! int64 is an int64, anything else (`5.0`, `1e3`, integers beyond int64) is a float64. kube-openapi
//! accepts a float64 for `type: integer` when it is a whole number within ±(2^53-1), so `5.0` passes and
//! `5.5` does not.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{LazyLock, Mutex, PoisonError};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::gofmt::{go_float_v, go_json, go_quote, write_go_json_string};

/// One invalid field, as Kubernetes reports it in a Status's `details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn required(field: &str) -> Self {
        Self::new(field, "FieldValueRequired", "Required value".to_owned())
    }

    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        let message = with_detail(format!("Invalid value: {}", render_value(value)), detail);
        Self::new(field, "FieldValueInvalid", message)
    }

    pub fn not_supported(field: &str, value: &Value, supported: &[Value]) -> Self {
        let listed: Vec<String> = supported
            .iter()
            .map(|v| match v {
                Value::String(s) => go_quote(s),
                other => go_quote(&go_json(other)),
            })
            .collect();
        let detail = if listed.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", listed.join(", "))
        };
        let message = with_detail(format!("Unsupported value: {}", render_value(value)), &detail);
        Self::new(field, "FieldValueNotSupported", message)
    }

    /// apimachinery says "bytes" although kube-openapi counts characters for `maxLength`.
    pub fn too_long(field: &str, max: i64) -> Self {
        let detail = match max {
            1 => "may not be more than 1 byte".to_owned(),
            m if m >= 0 => format!("may not be more than {m} bytes"),
            _ => "value is too long".to_owned(),
        };
        Self::new(field, "FieldValueTooLong", format!("Too long: {detail}"))
    }

    /// Without the actual count, as apimachinery renders `TooMany` when the count is unknown.
    pub fn too_many(field: &str, max: i64) -> Self {
        Self::new(
            field,
            "FieldValueTooMany",
            format!("Too many: {}", too_many_detail(max)),
        )
    }

    /// `value` is the offending value; like Kubernetes, the message names its JSON type
    /// (`Invalid value: "integer": <field> in body must be of type string: "integer"`).
    pub fn type_invalid(field: &str, value: &Value, expected: &str) -> Self {
        let found = Value::String(json_type(value).to_owned());
        Self::type_mismatch(field.to_owned(), field, &found, expected)
    }

    pub fn duplicate(field: &str, value: &Value) -> Self {
        Self::new(
            field,
            "FieldValueDuplicate",
            format!("Duplicate value: {}", render_value(value)),
        )
    }

    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(
            field,
            "FieldValueForbidden",
            with_detail("Forbidden".to_owned(), detail),
        )
    }

    fn new(field: &str, reason: &'static str, message: String) -> Self {
        Self {
            field: field.to_owned(),
            reason,
            message,
        }
    }

    fn too_many_counted(field: &str, actual: i64, max: i64) -> Self {
        let message = format!("Too many: {actual}: {}", too_many_detail(max));
        Self::new(field, "FieldValueTooMany", message)
    }

    /// `name` is kube-openapi's path, which differs from the field at the root (empty) and under a
    /// root-level `additionalProperties` (leading dot).
    fn type_mismatch(field: String, name: &str, value: &Value, expected: &str) -> Self {
        let detail = match value {
            Value::String(s) => format!("{name} in body must be of type {expected}: {}", go_quote(s)),
            _ => format!("{name} in body must be of type {expected}"),
        };
        let message = format!("Invalid value: {}: {detail}", render_value(value));
        Self {
            field,
            reason: "FieldValueTypeInvalid",
            message,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn with_detail(mut head: String, detail: &str) -> String {
    if !detail.is_empty() {
        head.push_str(": ");
        head.push_str(detail);
    }
    head
}

fn too_many_detail(max: i64) -> String {
    match max {
        1 => "must have at most 1 item".to_owned(),
        m if m >= 0 => format!("must have at most {m} items"),
        _ => "has too many items".to_owned(),
    }
}

/// Validates `object` (a whole custom resource: apiVersion, kind, metadata, spec, status...) against the
/// version's `openAPIV3Schema`. Skips `metadata`, `apiVersion` and `kind` at the root (the server checks
/// those). Errors come in the apiserver's order: schema errors, then embedded-resource errors, then
/// list-type (`set`/`map`) errors; within each, schema keyword order and document order.
pub fn validate(schema: &JSONSchemaProps, object: &Value) -> Vec<FieldError> {
    let mut checker = Checker::default();
    checker.value(schema, object, "", true);
    let mut errors = checker.errors;
    embedded_resources(schema, object, "", true, &mut errors);
    if let Value::Object(map) = object {
        list_types_in_object(schema, map, "", true, &mut errors);
    }
    errors
}

/// Fills in `default` values from the schema where a property is absent (recursively, including into
/// objects that defaulting itself created, as Kubernetes does). Never touches metadata/apiVersion/kind at
/// root. Like Kubernetes, a `null` for a non-nullable field that has a default is replaced by the default.
pub fn apply_defaults(schema: &JSONSchemaProps, object: &mut Value) {
    match object {
        Value::Object(map) => default_object(schema, map, true),
        other => default_value(schema, other),
    }
}

/// Removes fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields: true` on that
/// level) and returns their paths, sorted, in the form `.spec.foo`, `.spec.items[0].x`. At the root (and
/// in `x-kubernetes-embedded-resource` objects) `apiVersion`, `kind` and `metadata` are never pruned.
///
/// As the apiserver's decoder does in the same step, it then drops `null`s of non-nullable fields that
/// have no default (those are not reported: they are not unknown fields).
pub fn prune_unknown(schema: &JSONSchemaProps, object: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    prune(Some(schema), object, "", true, &mut unknown);
    prune_nulls(Some(schema), object, true);
    unknown.sort();
    unknown
}

// ---------------------------------------------------------------------------------------------------
// Schema accessors

/// The string formats a 1.33 CRD schema validates (apiextensions' `supportedVersionedFormats`), named
/// as kube-openapi normalises them: without dashes, so `date-time` is `datetime`.
const STRING_FORMATS: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

fn is_meta(key: &str) -> bool {
    matches!(key, "apiVersion" | "kind" | "metadata")
}

fn schema_types(s: &JSONSchemaProps) -> Vec<&str> {
    if s.x_kubernetes_int_or_string == Some(true) {
        return vec!["integer", "string"];
    }
    s.type_.as_deref().filter(|t| !t.is_empty()).into_iter().collect()
}

/// The format kube-openapi still sees after apiextensions strips the ones a 1.33 server does not
/// support (unknown names, and numeric formats other than int32/int64/float/double).
fn effective_format<'a>(s: &'a JSONSchemaProps, types: &[&str]) -> &'a str {
    let Some(format) = s.format.as_deref().filter(|f| !f.is_empty()) else {
        return "";
    };
    let single = if types.len() == 1 { types[0] } else { "" };
    let kept = match single {
        "" | "string" => STRING_FORMATS.contains(&format.replace('-', "").as_str()),
        "integer" => matches!(format, "int32" | "int64"),
        "number" => matches!(format, "float" | "double"),
        _ => false,
    };
    if kept { format } else { "" }
}

fn property<'a>(s: &'a JSONSchemaProps, key: &str) -> Option<&'a JSONSchemaProps> {
    s.properties.as_ref()?.get(key)
}

fn items_schema(s: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => Some(item),
        _ => None,
    }
}

fn additional_schema(s: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match &s.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(value)) => Some(value),
        _ => None,
    }
}

fn default_of(s: &JSONSchemaProps) -> Option<&Value> {
    s.default.as_ref().map(|d| &d.0).filter(|d| !d.is_null())
}

fn nullable(s: &JSONSchemaProps) -> bool {
    s.nullable == Some(true)
}

fn embedded(s: &JSONSchemaProps) -> bool {
    s.x_kubernetes_embedded_resource == Some(true)
}

// ---------------------------------------------------------------------------------------------------
// Values as Go sees them

#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

fn num(n: &Number) -> Num {
    match n.as_i64() {
        Some(i) => Num::Int(i),
        None => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// Go's float-to-int conversion truncates; out of range it is platform-defined, so saturate (arm64).
fn go_i64(f: f64) -> i64 {
    f as i64
}

/// swag's `IsFloat64AJSONInteger` (v0.23, vendored by Kubernetes 1.33), including its relative-error
/// tolerance for large positive floats.
fn is_json_integer(f: f64) -> bool {
    const MAX: f64 = 9_007_199_254_740_991.0;
    if !f.is_finite() || !(-MAX..=MAX).contains(&f) {
        return false;
    }
    if f.fract() == 0.0 {
        return true;
    }
    let whole = f.trunc();
    if f < 0.0 || whole == 0.0 {
        return false;
    }
    (f - whole) / (f + whole) < 1e-9
}

/// How `field.Error` renders a bad value: strings Go-quoted, numbers and booleans bare, nil as the
/// string "null" (1.33), and objects/arrays as JSON (what newer apimachinery does instead of `%#v`).
fn render_value(v: &Value) -> String {
    match v {
        Value::Null => go_quote("null"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match num(n) {
            Num::Int(i) => i.to_string(),
            Num::Float(f) => go_float_v(f),
        },
        Value::String(s) => go_quote(s),
        Value::Array(_) | Value::Object(_) => go_json(v),
    }
}

/// The JSON type kube-openapi names for a value, integers and floats told apart as Go decodes them.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) => match num(n) {
            Num::Int(_) => "integer",
            Num::Float(_) => "number",
        },
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A key equal for two values exactly when Go's `reflect.DeepEqual` says they are equal (int64 and
/// float64 never are).
fn strict_key(v: &Value) -> String {
    let mut out = String::new();
    write_strict_key(v, &mut out);
    out
}

fn write_strict_key(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push('n'),
        Value::Bool(b) => out.push_str(if *b { "t" } else { "f" }),
        Value::Number(n) => match num(n) {
            Num::Int(i) => out.push_str(&format!("i{i};")),
            // +0 and -0 compare equal in Go.
            Num::Float(f) => out.push_str(&format!("d{};", if f == 0.0 { 0 } else { f.to_bits() })),
        },
        Value::String(s) => {
            out.push('s');
            write_go_json_string(s, out);
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                write_strict_key(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                write_go_json_string(key, out);
                out.push(':');
                write_strict_key(&map[key], out);
                out.push(',');
            }
            out.push('}');
        }
    }
}

/// kube-openapi's enum check: Go converts the value to the enum entry's type before `DeepEqual`, so
/// an int matches an equal float, a float matches the int it truncates to, and an int matches the
/// one-rune string it converts to. Reproduced for parity, odd as the last two are.
fn enum_matches(data: &Value, allowed: &Value) -> bool {
    match (data, allowed) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(d), Value::Number(a)) => match (num(d), num(a)) {
            (Num::Int(x), Num::Int(y)) => x == y,
            (Num::Int(x), Num::Float(y)) => x as f64 == y,
            (Num::Float(x), Num::Int(y)) => go_i64(x) == y,
            (Num::Float(x), Num::Float(y)) => x == y,
        },
        (Value::Number(d), Value::String(a)) => match num(d) {
            Num::Int(x) => {
                let rune = u32::try_from(x)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{fffd}');
                a.chars().eq(std::iter::once(rune))
            }
            Num::Float(_) => false,
        },
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            strict_key(data) == strict_key(allowed)
        }
        _ => data == allowed,
    }
}

// ---------------------------------------------------------------------------------------------------
// kube-openapi schema validation

/// The field a kube-openapi path is reported under: leading dot trimmed, and `<nil>` for the root,
/// because the apiserver builds these errors from a nil `*field.Path`.
fn field_of(path: &str) -> String {
    if path.is_empty() || path == "." {
        "<nil>".to_owned()
    } else {
        path.strip_prefix('.').unwrap_or(path).to_owned()
    }
}

fn type_error(path: &str, expected: &str, actual: &str) -> FieldError {
    FieldError::type_mismatch(field_of(path), path, &Value::String(actual.to_owned()), expected)
}

/// allOf/anyOf/oneOf/not failures are plain errors, which the apiserver files under a nil path.
fn composite_error(path: &str, what: &str) -> FieldError {
    FieldError::invalid(
        "<nil>",
        &Value::String(String::new()),
        &format!("{} {what}", go_quote(path)),
    )
}

#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
    seen: HashSet<String>,
}

impl Checker {
    /// kube-openapi drops an error whose message was already reported.
    fn push(&mut self, error: FieldError) {
        if self.seen.insert(error.to_string()) {
            self.errors.push(error);
        }
    }

    fn merge(&mut self, errors: Vec<FieldError>) {
        for error in errors {
            self.push(error);
        }
    }

    fn sub(s: &JSONSchemaProps, v: &Value, path: &str, root: bool) -> Vec<FieldError> {
        let mut checker = Checker::default();
        checker.value(s, v, path, root);
        checker.errors
    }

    /// One kube-openapi `SchemaValidator.Validate`: every validator that applies to the value's kind
    /// runs, in kube-openapi's order, even after the type check failed.
    fn value(&mut self, s: &JSONSchemaProps, v: &Value, path: &str, root: bool) {
        let types = schema_types(s);
        if v.is_null() {
            if !types.is_empty() && !nullable(s) {
                self.push(type_error(path, &types.join(","), "null"));
            }
            self.enumeration(s, v, path);
            return;
        }
        let format = effective_format(s, &types);
        if !types.is_empty() || !format.is_empty() {
            self.type_check(&types, format, v, path);
        }
        self.composition(s, v, path, root);
        match v {
            Value::String(text) => {
                self.string(s, text, path);
                let normalized = format.replace('-', "");
                if STRING_FORMATS.contains(&normalized.as_str()) && !format_valid(&normalized, text) {
                    self.push(type_error(path, format, text));
                }
            }
            Value::Number(n) => self.number(s, num(n), v, path),
            Value::Array(items) => self.array(s, items, path),
            _ => {}
        }
        self.enumeration(s, v, path);
        if let Value::Object(map) = v {
            self.object(s, map, path, root);
        }
    }

    fn type_check(&mut self, types: &[&str], format: &str, v: &Value, path: &str) {
        let actual = json_type(v);
        // The format Go infers from the decoded type, compared with the schema's format.
        let (actual_format, float) = match v {
            Value::Number(n) => match num(n) {
                Num::Int(_) => ("int64", None),
                Num::Float(f) => ("float64", Some(f)),
            },
            _ => ("", None),
        };
        let has = |t: &str| types.contains(&t);
        let float_int = float.is_some_and(is_json_integer) && has("integer");
        let int_float = actual == "integer" && has("number");
        let text_or_list = matches!(v, Value::String(_) | Value::Array(_));
        let accepted = has(actual) || float_int || int_float;
        if !format.is_empty() {
            // A format stands in for the type of scalars; a string or list passes on format alone
            // unless the schema is numeric.
            if !text_or_list && !accepted && actual_format != format {
                self.push(type_error(path, format, actual_format));
                return;
            }
            if text_or_list && !(has("number") || has("integer")) {
                return;
            }
        }
        if !accepted {
            self.push(type_error(path, &types.join(","), actual));
        }
    }

    fn composition(&mut self, s: &JSONSchemaProps, v: &Value, path: &str, root: bool) {
        if let Some(branches) = s.any_of.as_ref().filter(|b| !b.is_empty()) {
            // kube-openapi reports the failing branch with the most checks applied; for branches of
            // equal weight (the usual case) that is the first one, which is what we report.
            let mut first_failure = None;
            let mut matched = false;
            for branch in branches {
                let errors = Self::sub(branch, v, path, root);
                if errors.is_empty() {
                    matched = true;
                    break;
                }
                first_failure.get_or_insert(errors);
            }
            if !matched {
                self.push(composite_error(path, "must validate at least one schema (anyOf)"));
                self.merge(first_failure.unwrap_or_default());
            }
        }
        if let Some(branches) = s.one_of.as_ref().filter(|b| !b.is_empty()) {
            let mut valid = 0;
            let mut first_failure = None;
            for branch in branches {
                let errors = Self::sub(branch, v, path, root);
                if errors.is_empty() {
                    valid += 1;
                } else if valid == 0 {
                    first_failure.get_or_insert(errors);
                }
            }
            if valid != 1 {
                let found = match valid {
                    0 => "Found none valid".to_owned(),
                    n => format!("Found {n} valid alternatives"),
                };
                let what = format!("must validate one and only one schema (oneOf). {found}");
                self.push(composite_error(path, &what));
                if valid == 0 {
                    self.merge(first_failure.unwrap_or_default());
                }
            }
        }
        if let Some(branches) = s.all_of.as_ref().filter(|b| !b.is_empty()) {
            let mut valid = 0;
            for branch in branches {
                let errors = Self::sub(branch, v, path, root);
                if errors.is_empty() {
                    valid += 1;
                }
                self.merge(errors);
            }
            if valid != branches.len() {
                let none = if valid == 0 { ". None validated" } else { "" };
                self.push(composite_error(
                    path,
                    &format!("must validate all the schemas (allOf){none}"),
                ));
            }
        }
        if let Some(not) = &s.not
            && Self::sub(not, v, path, root).is_empty()
        {
            self.push(composite_error(path, "must not validate the schema (not)"));
        }
    }

    /// Only the first failing string check is reported, as kube-openapi does.
    fn string(&mut self, s: &JSONSchemaProps, text: &str, path: &str) {
        let field = field_of(path);
        let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
        let value = || Value::String(text.to_owned());
        if let Some(max) = s.max_length
            && length > max
        {
            self.push(FieldError::too_long(&field, max));
            return;
        }
        if let Some(min) = s.min_length
            && length < min
        {
            let detail = format!("{path} in body should be at least {min} chars long");
            self.push(FieldError::invalid(&field, &value(), &detail));
            return;
        }
        if let Some(pattern) = s.pattern.as_deref().filter(|p| !p.is_empty()) {
            match go_regex(pattern) {
                Ok(re) if re.is_match(text) => {}
                Ok(_) => {
                    let detail = format!("{path} in body should match '{pattern}'");
                    self.push(FieldError::invalid(&field, &value(), &detail));
                }
                Err(problem) => {
                    let detail =
                        format!("{path} in body should match '{pattern}, but pattern is invalid: {problem}'");
                    self.push(FieldError::invalid(&field, &value(), &detail));
                }
            }
        }
    }

    /// kube-openapi compares int64 values against the bounds converted to int64 (truncated), and
    /// float64 values against the float bounds; the messages print the bound in that same type.
    fn number(&mut self, s: &JSONSchemaProps, n: Num, v: &Value, path: &str) {
        let field = field_of(path);
        if let Some(factor) = s.multiple_of {
            match n {
                Num::Int(x) => {
                    let factor = go_i64(factor);
                    if factor <= 0 {
                        let detail =
                            format!("factor MultipleOf declared for {path} must be positive: {factor}");
                        self.push(FieldError::invalid(&field, &Value::from(factor), &detail));
                    } else if x.checked_rem(factor) != Some(0) {
                        let detail = format!("{path} in body should be a multiple of {factor}");
                        self.push(FieldError::invalid(&field, v, &detail));
                    }
                }
                Num::Float(x) => {
                    if factor <= 0.0 {
                        let shown = go_float_v(factor);
                        let detail =
                            format!("factor MultipleOf declared for {path} must be positive: {shown}");
                        let factor_value = Number::from_f64(factor).map_or(Value::Null, Value::Number);
                        self.push(FieldError::invalid(&field, &factor_value, &detail));
                    } else {
                        let ratio = if factor < 1.0 {
                            1.0 / factor * x
                        } else {
                            x / factor
                        };
                        if !is_json_integer(ratio) {
                            let detail =
                                format!("{path} in body should be a multiple of {}", go_float_v(factor));
                            self.push(FieldError::invalid(&field, v, &detail));
                        }
                    }
                }
            }
        }
        if let Some(min) = s.minimum {
            let exclusive = s.exclusive_minimum == Some(true);
            let (failed, shown) = match n {
                Num::Int(x) => {
                    let m = go_i64(min);
                    (if exclusive { x <= m } else { x < m }, m.to_string())
                }
                Num::Float(x) => (if exclusive { x <= min } else { x < min }, go_float_v(min)),
            };
            if failed {
                let relation = if exclusive {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                let detail = format!("{path} in body should be {relation} {shown}");
                self.push(FieldError::invalid(&field, v, &detail));
            }
        }
        if let Some(max) = s.maximum {
            let exclusive = s.exclusive_maximum == Some(true);
            let (failed, shown) = match n {
                Num::Int(x) => {
                    let m = go_i64(max);
                    (if exclusive { x >= m } else { x > m }, m.to_string())
                }
                Num::Float(x) => (if exclusive { x >= max } else { x > max }, go_float_v(max)),
            };
            if failed {
                let relation = if exclusive {
                    "less than"
                } else {
                    "less than or equal to"
                };
                let detail = format!("{path} in body should be {relation} {shown}");
                self.push(FieldError::invalid(&field, v, &detail));
            }
        }
    }

    fn array(&mut self, s: &JSONSchemaProps, items: &[Value], path: &str) {
        if let Some(item_schema) = items_schema(s) {
            for (i, item) in items.iter().enumerate() {
                self.value(item_schema, item, &format!("{path}[{i}]"), false);
            }
        }
        let field = field_of(path);
        let size = i64::try_from(items.len()).unwrap_or(i64::MAX);
        if let Some(min) = s.min_items
            && size < min
        {
            let detail = format!("{path} in body should have at least {min} items");
            self.push(FieldError::invalid(&field, &Value::from(size), &detail));
        }
        if let Some(max) = s.max_items
            && size > max
        {
            self.push(FieldError::too_many_counted(&field, size, max));
        }
        if s.unique_items == Some(true) {
            let mut seen = HashSet::with_capacity(items.len());
            if !items.iter().all(|item| seen.insert(strict_key(item))) {
                let detail = format!("{path} in body shouldn't contain duplicates");
                self.push(FieldError::invalid(
                    &field,
                    &Value::String(String::new()),
                    &detail,
                ));
            }
        }
    }

    fn enumeration(&mut self, s: &JSONSchemaProps, v: &Value, path: &str) {
        let Some(allowed) = s.enum_.as_ref().filter(|e| !e.is_empty()) else {
            return;
        };
        if allowed.iter().any(|a| enum_matches(v, &a.0)) {
            return;
        }
        let supported: Vec<Value> = allowed.iter().map(|a| a.0.clone()).collect();
        self.push(FieldError::not_supported(&field_of(path), v, &supported));
    }

    fn object(&mut self, s: &JSONSchemaProps, map: &Map<String, Value>, path: &str, root: bool) {
        let field = field_of(path);
        let count = i64::try_from(map.len()).unwrap_or(i64::MAX);
        if let Some(min) = s.min_properties
            && count < min
        {
            let detail = format!("{path} in body should have at least {min} properties");
            self.push(FieldError::invalid(&field, &Value::from(count), &detail));
        }
        if let Some(max) = s.max_properties
            && count > max
        {
            self.push(FieldError::too_many_counted(&field, count, max));
        }
        for (key, value) in map {
            if root && is_meta(key) {
                continue;
            }
            if let Some(prop) = property(s, key) {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                self.value(prop, value, &child, false);
            } else if let Some(values) = additional_schema(s) {
                self.value(values, value, &format!("{path}.{key}"), false);
            }
        }
        for key in s.required.iter().flatten().filter(|k| !(root && is_meta(k))) {
            if !map.contains_key(key) {
                self.push(FieldError::required(&field_of(&format!("{path}.{key}"))));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Regular expressions (Go RE2 syntax)

/// Compiles a schema `pattern` with Go's semantics, caching the outcome (validation runs on every write).
fn go_regex(pattern: &str) -> Result<Regex, String> {
    static CACHE: LazyLock<Mutex<HashMap<String, Result<Regex, String>>>> = LazyLock::new(Default::default);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(compiled) = cache.get(pattern) {
        return compiled.clone();
    }
    let compiled = Regex::new(&translate_go_regex(pattern)).map_err(|e| {
        let text = e.to_string();
        let problem = text
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        format!("error parsing regexp: {problem}: `{pattern}`")
    });
    // Patterns come from CRDs, so the set is small; the bound only guards against churn.
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), compiled.clone());
    compiled
}

fn matches_go(pattern: &str, text: &str) -> bool {
    go_regex(pattern).is_ok_and(|re| re.is_match(text))
}

/// Rewrites the spots where Go's RE2 dialect differs from the `regex` crate: Go's `\d \w \s \b` are
/// ASCII-only, `\Q...\E` quotes, and inside a class `[` and the `&&`/`~~` operators are literals.
fn translate_go_regex(pattern: &str) -> String {
    const DIGIT: &str = "0-9";
    const WORD: &str = "0-9A-Za-z_";
    const SPACE: &str = "\\t\\n\\x0C\\r ";
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_class_start = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match escaped {
                    'd' | 'D' => Some(DIGIT),
                    'w' | 'W' => Some(WORD),
                    's' | 'S' => Some(SPACE),
                    _ => None,
                };
                match (escaped, class) {
                    (_, Some(set)) if in_class && escaped.is_ascii_lowercase() => out.push_str(set),
                    (_, Some(set)) if escaped.is_ascii_lowercase() => out.push_str(&format!("[{set}]")),
                    (_, Some(set)) => out.push_str(&format!("[^{set}]")),
                    ('b' | 'B', None) if !in_class => out.push_str(&format!("(?-u:\\{escaped})")),
                    ('Q', None) => {
                        let mut literal = String::new();
                        while let Some(q) = chars.next() {
                            if q == '\\' && chars.peek() == Some(&'E') {
                                chars.next();
                                break;
                            }
                            literal.push(q);
                        }
                        out.push_str(&regex::escape(&literal));
                    }
                    _ => {
                        out.push('\\');
                        out.push(escaped);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                class_start = true;
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as [:alpha:], copied through to its closing ":]".
                out.push('[');
                while let Some(p) = chars.next() {
                    out.push(p);
                    if p == ':' && chars.peek() == Some(&']') {
                        chars.next();
                        out.push(']');
                        break;
                    }
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// String formats (kube-openapi strfmt's default registry, restricted to what a 1.33 CRD supports)

fn format_valid(format: &str, s: &str) -> bool {
    match format {
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        "uri" => is_request_uri(s),
        "email" => is_email(s),
        "hostname" => is_hostname(s),
        "ipv4" => parse_ip_sloppy(s).is_some() && s.contains('.'),
        "ipv6" => s.parse::<Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "uuid" => matches_go(
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid3" => matches_go(
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid4" => matches_go(
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            s,
        ),
        "uuid5" => matches_go(
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
            s,
        ),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => s.len() == 11 && matches_go(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$", s),
        "hexcolor" => matches_go(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$", s),
        "rgbcolor" => matches_go(
            concat!(
                r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,",
                r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,",
                r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$"
            ),
            s,
        ),
        "byte" => matches_go(
            r"^(?:[A-Za-z0-9+\/]{4})*(?:[A-Za-z0-9+\/]{2}==|[A-Za-z0-9+\/]{3}=|[A-Za-z0-9+\/]{4})$",
            s,
        ),
        "date" => is_date(s),
        "datetime" => is_date_time(s),
        "duration" => is_duration(s),
        // "password" accepts anything.
        _ => true,
    }
}

/// Go's `time.Parse("2006-01-02", s)`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// strfmt's `IsDateTime`, which splits on the first two "t"s and ignores anything after a second one.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Ok(re) = go_regex(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$") else {
        return false;
    };
    re.captures(time)
        .is_some_and(|c| &c[1] <= "23" && &c[2] <= "59" && &c[3] <= "59")
}

/// strfmt's `ParseDuration`: Go's `time.ParseDuration`, else a lenient "<n> <unit>" scan.
fn is_duration(s: &str) -> bool {
    if is_go_duration(s) {
        return true;
    }
    let Ok(re) = go_regex(r"((\d+)\s*([A-Za-zµ]+))") else {
        return false;
    };
    const UNITS: &[&[&str]] = &[
        &["ns", "nano"],
        &["us", "µs", "micro"],
        &["ms", "milli"],
        &["s", "sec"],
        &["m", "min"],
        &["h", "hr", "hour"],
        &["d", "day"],
        &["w", "wk", "week"],
    ];
    let mut ok = false;
    for captures in re.captures_iter(s) {
        if captures[2].parse::<i64>().is_err() {
            return false;
        }
        let unit = captures[3].trim().to_lowercase();
        for variants in UNITS {
            let last = variants.len() - 1;
            for (i, variant) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(variant)) || unit == *variant {
                    ok = true;
                }
            }
        }
    }
    ok
}

/// Whether Go's `time.ParseDuration` accepts `s` (including its overflow limits).
fn is_go_duration(s: &str) -> bool {
    const LIMIT: u128 = 1 << 63;
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    let b = rest.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < b.len() {
        if !(b[i] == b'.' || b[i].is_ascii_digit()) {
            return false;
        }
        let start = i;
        let mut whole: u128 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            whole = whole * 10 + u128::from(b[i] - b'0');
            if whole > LIMIT {
                return false;
            }
            i += 1;
        }
        let had_whole = i != start;
        let (mut fraction, mut scale, mut had_fraction) = (0u128, 1f64, false);
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let fraction_start = i;
            let mut overflowed = false;
            while i < b.len() && b[i].is_ascii_digit() {
                if !overflowed {
                    if fraction > (LIMIT - 1) / 10 {
                        overflowed = true;
                    } else {
                        fraction = fraction * 10 + u128::from(b[i] - b'0');
                        scale *= 10.0;
                    }
                }
                i += 1;
            }
            had_fraction = i != fraction_start;
        }
        if !had_whole && !had_fraction {
            return false;
        }
        let unit_start = i;
        while i < b.len() && b[i] != b'.' && !b[i].is_ascii_digit() {
            i += 1;
        }
        let unit: u128 = match &rest[unit_start..i] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return false,
        };
        if whole > LIMIT / unit {
            return false;
        }
        whole *= unit;
        if fraction > 0 {
            whole += (fraction as f64 * (unit as f64 / scale)) as u128;
            if whole > LIMIT {
                return false;
            }
        }
        total += whole;
        if total > LIMIT {
            return false;
        }
    }
    negative || total < LIMIT
}

/// strfmt's hostname check: its RE2 pattern plus the length limits.
fn is_hostname(s: &str) -> bool {
    const HOSTNAME: &str = concat!(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|",
        r"([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}",
        r"([a-zA-Z\p{L}]){2,63})$"
    );
    matches_go(HOSTNAME, s) && s.len() <= 255 && s.split('.').all(|label| label.len() <= 63)
}

/// Go (1.16)'s IPv4 field parsing as used by `ParseIPSloppy`: leading zeros allowed.
fn parse_ipv4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = part.trim_start_matches('0');
        *octet = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

fn parse_ipv6_sloppy(s: &str) -> Option<Ipv6Addr> {
    // An embedded IPv4 tail may carry leading zeros in the sloppy parser; normalise it first.
    match s.rsplit_once(':') {
        Some((head, tail)) if tail.contains('.') => {
            format!("{head}:{}", parse_ipv4_sloppy(tail)?).parse().ok()
        }
        _ => s.parse().ok(),
    }
}

/// k8s.io/utils/net `ParseIPSloppy`: the first '.' or ':' decides the family.
fn parse_ip_sloppy(s: &str) -> Option<()> {
    match s.bytes().find(|b| matches!(b, b'.' | b':'))? {
        b'.' => parse_ipv4_sloppy(s).map(drop),
        _ => parse_ipv6_sloppy(s).map(drop),
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((address, mask)) = s.split_once('/') else {
        return false;
    };
    let bits = if parse_ipv4_sloppy(address).is_some() {
        32
    } else if parse_ipv6_sloppy(address).is_some() {
        128
    } else {
        return false;
    };
    !mask.is_empty()
        && mask.bytes().all(|b| b.is_ascii_digit())
        && mask
            .trim_start_matches('0')
            .parse::<u32>()
            .map_or(mask.bytes().all(|b| b == b'0'), |n| n <= bits)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx..`, `xx-xx..` or `xxxx.xxxx..`.
fn is_mac(s: &str) -> bool {
    if s.len() < 14 {
        return false;
    }
    let b = s.as_bytes();
    let octets_ok = |n: usize| matches!(n, 6 | 8 | 20);
    if matches!(b[2], b':' | b'-') {
        let separator = b[2];
        (s.len() + 1).is_multiple_of(3)
            && octets_ok((s.len() + 1) / 3)
            && b.chunks(3).all(|g| {
                g[0].is_ascii_hexdigit()
                    && g[1].is_ascii_hexdigit()
                    && g.get(2).is_none_or(|&c| c == separator)
            })
    } else if b[4] == b'.' {
        (s.len() + 1).is_multiple_of(5)
            && octets_ok(2 * (s.len() + 1) / 5)
            && b.chunks(5)
                .all(|g| g[..4].iter().all(u8::is_ascii_hexdigit) && g.get(4).is_none_or(|&c| c == b'.'))
    } else {
        false
    }
}

fn is_isbn10(s: &str) -> bool {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ' | '-'))
        .collect();
    if !matches_go(r"^(?:[0-9]{9}X|[0-9]{10})$", &digits) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, d)| (i as u32 + 1) * if d == b'X' { 10 } else { u32::from(d - b'0') })
        .sum();
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ' | '-'))
        .collect();
    if !matches_go(r"^(?:[0-9]{13})$", &digits) {
        return false;
    }
    let b = digits.as_bytes();
    let sum: u32 = (0..12)
        .map(|i| u32::from(b[i] - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    u32::from(b[12] - b'0') == (10 - sum % 10) % 10
}

fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    const CARD: &str = concat!(
        r"^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}",
        r"|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$"
    );
    if !matches_go(CARD, &digits) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                if d * 2 >= 10 { d * 2 % 10 + 1 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Go's `url.ParseRequestURI`: an absolute URI or an absolute path, with a well-formed authority and
/// valid percent-escapes.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    if s == "*" {
        return true;
    }
    let mut scheme = false;
    let mut rest = s;
    for (i, c) in s.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return false,
            b':' => {
                scheme = true;
                rest = &s[i + 1..];
                break;
            }
            _ => break,
        }
    }
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(path, _)| path)
    };
    if !rest.starts_with('/') {
        // A rootless path after a scheme is an opaque URI; without a scheme it is not a request URI.
        return scheme;
    }
    let mut path = rest;
    if scheme && let Some(after) = rest.strip_prefix("//") {
        let (authority, remainder) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        if !valid_authority(authority) {
            return false;
        }
        path = remainder;
    }
    valid_escapes(path, false)
}

fn valid_authority(authority: &str) -> bool {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host_ok = if host.starts_with('[') {
        match host.rfind(']') {
            Some(i) => valid_port(&host[i + 1..]) && valid_escapes(&host[..=i], true),
            None => false,
        }
    } else {
        host.rfind(':').is_none_or(|i| valid_port(&host[i..])) && valid_escapes(host, true)
    };
    let user_ok = userinfo.is_none_or(|u| {
        u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b))
            && valid_escapes(u, false)
    });
    host_ok && user_ok
}

fn valid_port(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_escapes(s: &str, host: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !b[i + 1].is_ascii_hexdigit() || !b[i + 2].is_ascii_hexdigit() {
                return false;
            }
            if host && b[i + 1] < b'8' && &s[i..i + 3] != "%25" {
                return false;
            }
            i += 3;
            continue;
        }
        if host && b[i] < 0x80 && !(b[i].is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&b[i]))
        {
            return false;
        }
        i += 1;
    }
    true
}

/// A subset of Go's `net/mail.ParseAddress`: `addr-spec` or `[phrase] <addr-spec>`, with quoted
/// strings, domain literals and trailing comments; group syntax is not accepted.
fn is_email(s: &str) -> bool {
    let mut p = MailParser { rest: s };
    p.skip_space();
    if p.rest.is_empty() {
        return false;
    }
    let start = p.rest;
    if p.addr_spec() {
        return p.skip_comments_and_space() && p.rest.is_empty();
    }
    p.rest = start;
    if !p.rest.starts_with('<') && !p.phrase() {
        return false;
    }
    p.skip_space();
    p.eat('<') && p.addr_spec() && p.eat('>') && p.skip_comments_and_space() && p.rest.is_empty()
}

struct MailParser<'a> {
    rest: &'a str,
}

impl MailParser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn is_vchar(c: char) -> bool {
        ('!'..='~').contains(&c) || !c.is_ascii()
    }

    fn is_atext(c: char) -> bool {
        c == '.' || (!"()<>[]:;@\\,\"".contains(c) && Self::is_vchar(c))
    }

    /// A dot-atom; `strict` rejects leading, trailing and doubled dots.
    fn atom(&mut self, strict: bool) -> bool {
        let end = self.rest.find(|c| !Self::is_atext(c)).unwrap_or(self.rest.len());
        let atom = &self.rest[..end];
        if atom.is_empty()
            || (strict && (atom.starts_with('.') || atom.ends_with('.') || atom.contains("..")))
        {
            return false;
        }
        self.rest = &self.rest[end..];
        true
    }

    /// A quoted string; false when unterminated or holding a character RFC 5322 forbids.
    fn quoted(&mut self) -> Option<String> {
        let mut chars = self.rest.char_indices().skip(1);
        let mut text = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[i + 1..];
                    return Some(text);
                }
                '\\' => match chars.next() {
                    Some((_, q)) if Self::is_vchar(q) || q == ' ' || q == '\t' => text.push(q),
                    _ => return None,
                },
                c if Self::is_vchar(c) || c == ' ' || c == '\t' => text.push(c),
                _ => return None,
            }
        }
        None
    }

    fn addr_spec(&mut self) -> bool {
        self.skip_space();
        let local_ok = if self.rest.starts_with('"') {
            self.quoted().is_some_and(|local| !local.is_empty())
        } else {
            self.atom(true)
        };
        if !local_ok || !self.eat('@') {
            return false;
        }
        self.skip_space();
        if self.eat('[') {
            let end = self.rest.find(']').unwrap_or(self.rest.len());
            let literal = &self.rest[..end];
            let ok = end < self.rest.len()
                && literal.chars().all(|c| Self::is_vchar(c) && !"[]\\".contains(c))
                && (literal.parse::<Ipv6Addr>().is_ok() || literal.parse::<Ipv4Addr>().is_ok());
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            return ok;
        }
        self.atom(true)
    }

    fn phrase(&mut self) -> bool {
        let mut words = 0;
        loop {
            if words > 0 && !self.skip_comments_and_space() {
                return false;
            }
            self.skip_space();
            let ok = if self.rest.starts_with('"') {
                self.quoted().is_some()
            } else {
                self.atom(false)
            };
            if !ok {
                return words > 0;
            }
            words += 1;
        }
    }

    fn skip_comments_and_space(&mut self) -> bool {
        self.skip_space();
        while self.rest.starts_with('(') {
            let mut depth = 0;
            let mut end = None;
            let mut chars = self.rest.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    '\\' => {
                        chars.next();
                    }
                    _ => {}
                }
            }
            let Some(end) = end else {
                return false;
            };
            self.rest = &self.rest[end..];
            self.skip_space();
        }
        true
    }
}

// ---------------------------------------------------------------------------------------------------
// Embedded resources (apiextensions schema/objectmeta), with `*field.Path`-style paths

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn embedded_resources(s: &JSONSchemaProps, v: &Value, path: &str, root: bool, out: &mut Vec<FieldError>) {
    match v {
        Value::Object(map) => {
            if !root && embedded(s) {
                embedded_resource(map, path, out);
            }
            for (key, value) in map {
                if root && is_meta(key) {
                    continue;
                }
                if let Some(prop) = property(s, key) {
                    embedded_resources(prop, value, &child_path(path, key), false, out);
                } else if let Some(values) = additional_schema(s) {
                    embedded_resources(values, value, &format!("{path}[{key}]"), false, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = items_schema(s) {
                for (i, item) in items.iter().enumerate() {
                    embedded_resources(item_schema, item, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

fn embedded_resource(map: &Map<String, Value>, path: &str, out: &mut Vec<FieldError>) {
    let api_version = child_path(path, "apiVersion");
    let kind = child_path(path, "kind");
    if !map.contains_key("apiVersion") {
        out.push(FieldError::required(&api_version));
    }
    if !map.contains_key("kind") {
        out.push(FieldError::required(&kind));
    }
    for (key, value) in map {
        match (key.as_str(), value) {
            ("apiVersion" | "kind", Value::String(s)) if s.is_empty() => {
                out.push(FieldError::invalid(
                    &child_path(path, key),
                    value,
                    "must not be empty",
                ));
            }
            ("apiVersion" | "kind", v) if !v.is_string() => {
                out.push(FieldError::invalid(
                    &child_path(path, key),
                    value,
                    "must be a string",
                ));
            }
            ("apiVersion", Value::String(s)) if s != "/" && s.matches('/').count() > 1 => {
                out.push(FieldError::invalid(
                    &api_version,
                    value,
                    &format!("unexpected GroupVersion string: {s}"),
                ));
            }
            ("kind", Value::String(s)) => {
                let problems = dns1035_label(&s.to_lowercase());
                if !problems.is_empty() {
                    let detail = format!(
                        "may have mixed case, but should otherwise match: {}",
                        problems.join(",")
                    );
                    out.push(FieldError::invalid(&kind, value, &detail));
                }
            }
            ("metadata", metadata) => embedded_metadata(metadata, &child_path(path, "metadata"), out),
            _ => {}
        }
    }
}

fn go_json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The ObjectMeta checks of an embedded resource that concern plain fields: decodability of
/// name/generateName/namespace, names as path segments, and the namespace as a DNS-1123 label.
fn embedded_metadata(metadata: &Value, path: &str, out: &mut Vec<FieldError>) {
    let map = match metadata {
        Value::Null => return,
        Value::Object(map) => map,
        other => {
            let detail = format!(
                "json: cannot unmarshal {} into Go value of type v1.ObjectMeta",
                go_json_kind(other)
            );
            out.push(FieldError::invalid(path, other, &detail));
            return;
        }
    };
    let text_fields = ["name", "generateName", "namespace"];
    if let Some((key, value)) = map
        .iter()
        .find(|(k, v)| text_fields.contains(&k.as_str()) && !(v.is_string() || v.is_null()))
    {
        let kind = go_json_kind(value);
        let detail =
            format!("json: cannot unmarshal {kind} into Go struct field ObjectMeta.{key} of type string");
        out.push(FieldError::invalid(path, metadata, &detail));
        return;
    }
    let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
    let contains_problems = |s: &str| {
        ["/", "%"]
            .iter()
            .filter(|c| s.contains(*c))
            .map(|c| format!("may not contain '{c}'"))
            .collect::<Vec<_>>()
    };
    let generate_name = text("generateName");
    if !generate_name.is_empty() {
        for problem in contains_problems(generate_name) {
            out.push(FieldError::invalid(
                &child_path(path, "generateName"),
                &Value::from(generate_name),
                &problem,
            ));
        }
    }
    let name = text("name");
    let name_problems = match name {
        "" => Vec::new(),
        "." | ".." => vec![format!("may not be '{name}'")],
        _ => contains_problems(name),
    };
    for problem in name_problems {
        out.push(FieldError::invalid(
            &child_path(path, "name"),
            &Value::from(name),
            &problem,
        ));
    }
    let namespace = text("namespace");
    if !namespace.is_empty() {
        for problem in dns1123_label(namespace) {
            out.push(FieldError::invalid(
                &child_path(path, "namespace"),
                &Value::from(namespace),
                &problem,
            ));
        }
    }
}

fn regex_error(message: &str, format: &str, examples: [&str; 2]) -> String {
    format!(
        "{message} (e.g. '{}',  or '{}', regex used for validation is '{format}')",
        examples[0], examples[1]
    )
}

fn dns1035_label(value: &str) -> Vec<String> {
    const FORMAT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters".to_owned());
    }
    if !matches_go(&format!("^{FORMAT}$"), value) {
        let message = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
                       start with an alphabetic character, and end with an alphanumeric character";
        problems.push(regex_error(message, FORMAT, ["my-name", "abc-123"]));
    }
    problems
}

fn dns1123_label(value: &str) -> Vec<String> {
    const FORMAT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    let mut problems = Vec::new();
    if value.len() > 63 {
        problems.push("must be no more than 63 characters".to_owned());
    }
    if !matches_go(&format!("^{FORMAT}$"), value) {
        if matches_go(&format!("^{FORMAT}(\\.{FORMAT})*$"), value) {
            problems.push("must not contain dots".to_owned());
        } else {
            let message = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters \
                           or '-', and must start and end with an alphanumeric character";
            problems.push(regex_error(message, FORMAT, ["my-name", "123-abc"]));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------------
// x-kubernetes-list-type set/map uniqueness (apiextensions schema/listtype)

fn list_types_in_object(
    s: &JSONSchemaProps,
    map: &Map<String, Value>,
    path: &str,
    root: bool,
    out: &mut Vec<FieldError>,
) {
    let visible = || map.iter().filter(move |(k, _)| !(root && is_meta(k)));
    if let Some(values) = additional_schema(s) {
        for (key, value) in visible() {
            list_types_in_value(values, value, &format!("{path}[{key}]"), out);
        }
    }
    for (key, value) in visible() {
        if let Some(prop) = property(s, key) {
            list_types_in_value(prop, value, &child_path(path, key), out);
        }
    }
}

fn list_types_in_value(s: &JSONSchemaProps, v: &Value, path: &str, out: &mut Vec<FieldError>) {
    match v {
        Value::Array(items) => {
            match s.x_kubernetes_list_type.as_deref() {
                Some("set") => {
                    for i in repeated(items.iter().map(set_key)) {
                        out.push(FieldError::duplicate(&format!("{path}[{i}]"), &items[i]));
                    }
                }
                Some("map") => list_map(s, items, path, out),
                _ => {}
            }
            if let Some(item_schema) = items_schema(s) {
                for (i, item) in items.iter().enumerate() {
                    list_types_in_value(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => list_types_in_object(s, map, path, false, out),
        _ => {}
    }
}

/// Equality as the listtype check sees it: scalars by Go `==` (int64 and float64 differ), compound
/// values by their encoding/json form.
fn set_key(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => format!("c{}", go_json(v)),
        scalar => strict_key(scalar),
    }
}

/// Indexes of second occurrences (a third occurrence is not reported again, as in Kubernetes).
fn repeated(keys: impl Iterator<Item = String>) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut found = Vec::new();
    for (i, key) in keys.enumerate() {
        let times = seen.entry(key).or_default();
        *times += 1;
        if *times == 2 {
            found.push(i);
        }
    }
    found
}

fn list_map(s: &JSONSchemaProps, items: &[Value], path: &str, out: &mut Vec<FieldError>) {
    if let Some((i, item)) = items
        .iter()
        .enumerate()
        .find(|(_, x)| !(x.is_object() || x.is_null()))
    {
        let detail = "must be an object for an array of list-type map";
        out.push(FieldError::invalid(&format!("{path}[{i}]"), item, detail));
        return;
    }
    let key_fields = s.x_kubernetes_list_map_keys.as_deref().unwrap_or_default();
    // The key of each item as the object Kubernetes reports; absent fields are left out.
    let keys: Vec<Map<String, Value>> = items
        .iter()
        .map(|item| {
            key_fields
                .iter()
                .filter_map(|field| Some((field.clone(), item.as_object()?.get(field)?.clone())))
                .collect()
        })
        .collect();
    let identities = keys
        .iter()
        .map(|key| match (key_fields.len(), key.values().next()) {
            (1, Some(value)) => set_key(value),
            (1, None) => "u".to_owned(),
            _ => set_key(&Value::Object(key.clone())),
        });
    for i in repeated(identities) {
        out.push(FieldError::duplicate(
            &format!("{path}[{i}]"),
            &Value::Object(keys[i].clone()),
        ));
    }
}

// ---------------------------------------------------------------------------------------------------
// Defaulting (apiextensions schema/defaulting)

fn default_value(s: &JSONSchemaProps, v: &mut Value) {
    match v {
        Value::Object(map) => default_object(s, map, false),
        Value::Array(items) => {
            if let Some(item_schema) = items_schema(s) {
                for item in items {
                    if item.is_null() && !nullable(item_schema) {
                        *item = default_of(item_schema).cloned().unwrap_or(Value::Null);
                    }
                    default_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

fn default_object(s: &JSONSchemaProps, map: &mut Map<String, Value>, root: bool) {
    for (key, prop) in s.properties.iter().flatten() {
        if root && is_meta(key) {
            continue;
        }
        if let Some(default) = default_of(prop) {
            let missing = map.get(key).is_none_or(|v| v.is_null() && !nullable(prop));
            if missing {
                map.insert(key.clone(), default.clone());
            }
        }
    }
    for (key, value) in map.iter_mut() {
        if root && is_meta(key) {
            continue;
        }
        if let Some(prop) = property(s, key) {
            default_value(prop, value);
        } else if let Some(values) = additional_schema(s) {
            if value.is_null() && !nullable(values) {
                *value = default_of(values).cloned().unwrap_or(Value::Null);
            }
            default_value(values, value);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Pruning (apiextensions schema/pruning and PruneNonNullableNullsWithoutDefaults)

fn preserves_unknown(s: &JSONSchemaProps) -> bool {
    s.x_kubernetes_preserve_unknown_fields == Some(true)
}

/// The schema for a map value: its property, else `additionalProperties` (None when that is a
/// boolean, which prunes everything below it, as in Kubernetes).
fn value_schema<'a>(s: &'a JSONSchemaProps, key: &str) -> Option<Option<&'a JSONSchemaProps>> {
    match property(s, key) {
        Some(prop) => Some(Some(prop)),
        None => s.additional_properties.as_ref().map(|_| additional_schema(s)),
    }
}

fn prune(s: Option<&JSONSchemaProps>, v: &mut Value, path: &str, root: bool, unknown: &mut Vec<String>) {
    if let Some(schema) = s
        && preserves_unknown(schema)
    {
        prune_inside_preserved(schema, v, path, root, unknown);
        return;
    }
    match v {
        Value::Object(map) => {
            let keep_meta = root || s.is_some_and(embedded);
            let mut dropped = HashSet::new();
            for (key, value) in map.iter_mut() {
                if keep_meta && is_meta(key) {
                    continue;
                }
                match s.and_then(|schema| value_schema(schema, key)) {
                    Some(child) => prune(child, value, &child_path(path, key), false, unknown),
                    None => {
                        unknown.push(format!(".{}", child_path(path, key)));
                        dropped.insert(key.clone());
                    }
                }
            }
            if !dropped.is_empty() {
                map.retain(|key, _| !dropped.contains(key));
            }
        }
        Value::Array(items) => {
            let item_schema = s.and_then(items_schema);
            for (i, item) in items.iter_mut().enumerate() {
                prune(item_schema, item, &format!("{path}[{i}]"), false, unknown);
            }
        }
        _ => {}
    }
}

/// Below `x-kubernetes-preserve-unknown-fields` unknown fields stay, but declared ones are pruned
/// normally.
fn prune_inside_preserved(
    s: &JSONSchemaProps,
    v: &mut Value,
    path: &str,
    root: bool,
    unknown: &mut Vec<String>,
) {
    match v {
        Value::Object(map) => {
            let keep_meta = root || embedded(s);
            for (key, value) in map.iter_mut() {
                if keep_meta && is_meta(key) {
                    continue;
                }
                if let Some(child) = value_schema(s, key) {
                    prune(child, value, &child_path(path, key), false, unknown);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = items_schema(s) {
                for (i, item) in items.iter_mut().enumerate() {
                    prune_inside_preserved(item_schema, item, &format!("{path}[{i}]"), false, unknown);
                }
            }
        }
        _ => {}
    }
}

fn prune_nulls(s: Option<&JSONSchemaProps>, v: &mut Value, root: bool) {
    match v {
        Value::Object(map) => {
            let field_schema = |key: &str| s.and_then(|schema| value_schema(schema, key)).flatten();
            map.retain(|key, value| {
                root && is_meta(key)
                    || !(value.is_null()
                        && field_schema(key).is_some_and(|f| !nullable(f) && default_of(f).is_none()))
            });
            for (key, value) in map.iter_mut() {
                if !(root && is_meta(key)) {
                    prune_nulls(field_schema(key), value, false);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                prune_nulls(s.and_then(items_schema), item, false);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;
    use serde_json::json;

    fn schema(v: Value) -> JSONSchemaProps {
        serde_json::from_value(v).unwrap()
    }

    fn with_spec(spec: Value) -> JSONSchemaProps {
        schema(json!({"type": "object", "properties": {"spec": spec}}))
    }

    fn resource(spec: Value) -> Value {
        json!({"apiVersion": "appgen.dev/v1", "kind": "App", "metadata": {"name": "a"}, "spec": spec})
    }

    /// Validation messages for `spec` under a root schema whose `spec` is `spec_schema`.
    fn errors_for(spec_schema: Value, spec: Value) -> Vec<String> {
        validate(&with_spec(spec_schema), &resource(spec))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn field_schema(field: Value) -> Value {
        json!({"type": "object", "properties": {"x": field}})
    }

    fn errors_for_x(field: Value, value: Value) -> Vec<String> {
        errors_for(field_schema(field), json!({"x": value}))
    }

    fn agent_schema() -> Value {
        json!({
            "type": "object",
            "required": ["prompt"],
            "properties": {
                "prompt": {"type": "string", "maxLength": 65536},
                "retries": {"type": "integer", "minimum": 0, "maximum": 10},
                "app": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                "agent": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "enum": ["scaffold", "claude-code"]}}
                }
            }
        })
    }

    // --- validation: messages as the apiserver renders them ---------------------------------------

    #[test]
    fn a_conforming_resource_has_no_errors() {
        let spec = json!({"prompt": "build", "retries": 3, "app": "my-app", "agent": {"name": "scaffold"}});
        assert!(errors_for(agent_schema(), spec).is_empty());
    }

    #[test]
    fn a_retries_above_the_maximum_is_rejected_naming_the_field() {
        let errors = validate(
            &with_spec(agent_schema()),
            &resource(json!({"prompt": "p", "retries": 11})),
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "spec.retries");
        assert_eq!(errors[0].reason, "FieldValueInvalid");
        assert_eq!(
            errors[0].to_string(),
            "spec.retries: Invalid value: 11: spec.retries in body should be less than or equal to 10"
        );
    }

    #[test]
    fn a_value_below_the_minimum_is_rejected() {
        assert_eq!(
            errors_for(agent_schema(), json!({"prompt": "p", "retries": -1})),
            ["spec.retries: Invalid value: -1: spec.retries in body should be greater than or equal to 0"]
        );
    }

    #[test]
    fn exclusive_bounds_reject_the_bound_itself() {
        let field = json!({
            "type": "integer",
            "minimum": 0,
            "exclusiveMinimum": true,
            "maximum": 10,
            "exclusiveMaximum": true
        });
        assert_eq!(
            errors_for_x(field.clone(), json!(0)),
            ["spec.x: Invalid value: 0: spec.x in body should be greater than 0"]
        );
        assert_eq!(
            errors_for_x(field.clone(), json!(10)),
            ["spec.x: Invalid value: 10: spec.x in body should be less than 10"]
        );
        assert!(errors_for_x(field, json!(5)).is_empty());
    }

    #[test]
    fn float_values_and_bounds_print_like_go() {
        let field = json!({"type": "number", "maximum": 2.5});
        assert_eq!(
            errors_for_x(field, json!(3.5)),
            ["spec.x: Invalid value: 3.5: spec.x in body should be less than or equal to 2.5"]
        );
        let big = json!({"type": "number", "maximum": 1_000_000.0});
        assert_eq!(
            errors_for_x(big, json!(2e6)),
            ["spec.x: Invalid value: 2e+06: spec.x in body should be less than or equal to 1e+06"]
        );
    }

    #[test]
    fn an_integer_is_compared_with_the_bound_truncated_as_kubernetes_does() {
        let field = json!({"type": "integer", "maximum": 10.5});
        assert_eq!(
            errors_for_x(field.clone(), json!(11)),
            ["spec.x: Invalid value: 11: spec.x in body should be less than or equal to 10"]
        );
        assert!(errors_for_x(field, json!(10)).is_empty());
    }

    #[test]
    fn a_resource_that_is_not_an_object_is_reported_at_the_nil_root_path() {
        let root = schema(json!({"type": "object"}));
        assert_eq!(
            validate(&root, &json!("text")),
            [FieldError {
                field: "<nil>".to_owned(),
                reason: "FieldValueTypeInvalid",
                message: r#"Invalid value: "string":  in body must be of type object: "string""#.to_owned(),
            }]
        );
    }

    #[test]
    fn a_missing_required_field_is_reported_as_required() {
        let errors = validate(&with_spec(agent_schema()), &resource(json!({"retries": 1})));
        assert_eq!(errors, [FieldError::required("spec.prompt")]);
        assert_eq!(errors[0].to_string(), "spec.prompt: Required value");
        assert_eq!(errors[0].reason, "FieldValueRequired");
    }

    #[test]
    fn required_at_the_root_ignores_the_server_owned_fields() {
        let root = schema(json!({
            "type": "object",
            "required": ["spec", "metadata", "kind"],
            "properties": {
                "spec": {"type": "object"},
                "metadata": {"type": "string"},
                "apiVersion": {"enum": ["x"]}
            }
        }));
        let errors = validate(
            &root,
            &json!({"apiVersion": "appgen.dev/v1", "metadata": {"name": "a"}}),
        );
        assert_eq!(errors, [FieldError::required("spec")]);
    }

    #[test]
    fn a_wrong_type_names_the_expected_and_actual_types() {
        let errors = validate(
            &with_spec(agent_schema()),
            &resource(json!({"prompt": "p", "retries": "three"})),
        );
        assert_eq!(errors[0].reason, "FieldValueTypeInvalid");
        assert_eq!(
            errors[0].to_string(),
            r#"spec.retries: Invalid value: "string": spec.retries in body must be of type integer: "string""#
        );
        assert_eq!(
            errors_for_x(json!({"type": "string"}), json!({"a": 1})),
            [r#"spec.x: Invalid value: "object": spec.x in body must be of type string: "object""#]
        );
        assert_eq!(
            errors_for_x(json!({"type": "object"}), json!([1])),
            [r#"spec.x: Invalid value: "array": spec.x in body must be of type object: "array""#]
        );
        assert_eq!(
            errors_for_x(json!({"type": "array"}), json!(true)),
            [r#"spec.x: Invalid value: "boolean": spec.x in body must be of type array: "boolean""#]
        );
    }

    #[test]
    fn an_integer_field_rejects_a_fraction_but_accepts_a_whole_float() {
        // The apiserver decodes 5.0 as a float64, and kube-openapi accepts whole floats for integers.
        assert!(errors_for_x(json!({"type": "integer"}), json!(5.0)).is_empty());
        assert_eq!(
            errors_for_x(json!({"type": "integer"}), json!(5.5)),
            [r#"spec.x: Invalid value: "number": spec.x in body must be of type integer: "number""#]
        );
        assert!(errors_for_x(json!({"type": "number"}), json!(5)).is_empty());
    }

    #[test]
    fn integers_beyond_int64_are_floats_and_fail_an_integer_type() {
        assert_eq!(
            errors_for_x(json!({"type": "integer"}), json!(u64::MAX)),
            [r#"spec.x: Invalid value: "number": spec.x in body must be of type integer: "number""#]
        );
        assert!(errors_for_x(json!({"type": "integer"}), json!(i64::MIN)).is_empty());
        let bounded = json!({"type": "integer", "minimum": -1e300, "maximum": 1e300, "multipleOf": 1e300});
        // Bounds beyond int64 saturate when compared with an int64 value.
        assert!(errors_for_x(bounded, json!(i64::MAX)).is_empty());
    }

    #[test]
    fn a_null_is_a_type_error_unless_the_field_is_nullable() {
        assert_eq!(
            errors_for_x(json!({"type": "string"}), Value::Null),
            [r#"spec.x: Invalid value: "null": spec.x in body must be of type string: "null""#]
        );
        assert!(errors_for_x(json!({"type": "string", "nullable": true}), Value::Null).is_empty());
    }

    #[test]
    fn a_value_outside_the_enum_lists_the_supported_values() {
        let errors = validate(
            &with_spec(agent_schema()),
            &resource(json!({"prompt": "p", "agent": {"name": "foo"}})),
        );
        assert_eq!(errors[0].reason, "FieldValueNotSupported");
        assert_eq!(
            errors[0].to_string(),
            r#"spec.agent.name: Unsupported value: "foo": supported values: "scaffold", "claude-code""#
        );
    }

    #[test]
    fn non_string_enum_values_are_listed_as_quoted_json() {
        assert_eq!(
            errors_for_x(json!({"enum": [1, 2.5, true, {"a": 1}]}), json!(3)),
            [r#"spec.x: Unsupported value: 3: supported values: "1", "2.5", "true", "{\"a\":1}""#]
        );
        assert!(errors_for_x(json!({"enum": [1.0]}), json!(1)).is_empty());
        assert!(errors_for_x(json!({"enum": [{"a": [1]}]}), json!({"a": [1]})).is_empty());
    }

    #[test]
    fn max_length_counts_characters_and_reports_too_long() {
        let field = json!({"type": "string", "maxLength": 5});
        assert!(errors_for_x(field.clone(), json!("héllo")).is_empty());
        let errors = validate(&with_spec(field_schema(field)), &resource(json!({"x": "héllo!"})));
        assert_eq!(errors[0].reason, "FieldValueTooLong");
        assert_eq!(
            errors[0].to_string(),
            "spec.x: Too long: may not be more than 5 bytes"
        );
    }

    #[test]
    fn min_length_reports_the_value_and_the_limit() {
        assert_eq!(
            errors_for_x(json!({"type": "string", "minLength": 3}), json!("ab")),
            [r#"spec.x: Invalid value: "ab": spec.x in body should be at least 3 chars long"#]
        );
    }

    #[test]
    fn only_the_first_failing_string_check_is_reported() {
        let field = json!({"type": "string", "maxLength": 2, "pattern": "^[a-z]+$"});
        assert_eq!(
            errors_for_x(field, json!("ABC")),
            ["spec.x: Too long: may not be more than 2 bytes"]
        );
    }

    #[test]
    fn a_pattern_mismatch_quotes_the_pattern() {
        let errors = validate(
            &with_spec(agent_schema()),
            &resource(json!({"prompt": "p", "app": "Bad_App"})),
        );
        assert_eq!(
            errors[0].to_string(),
            concat!(
                r#"spec.app: Invalid value: "Bad_App": "#,
                "spec.app in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
            )
        );
    }

    #[test]
    fn patterns_use_go_ascii_classes() {
        let digits = json!({"type": "string", "pattern": r"^\d+$"});
        assert!(errors_for_x(digits.clone(), json!("123")).is_empty());
        assert_eq!(errors_for_x(digits, json!("١٢٣")).len(), 1);
        let word = json!({"type": "string", "pattern": r"^[\w-]+\s?$"});
        assert!(errors_for_x(word.clone(), json!("a_b-c ")).is_empty());
        assert_eq!(errors_for_x(word, json!("é")).len(), 1);
        let quoted = json!({"type": "string", "pattern": r"^\Qa.b\E$"});
        assert!(errors_for_x(quoted.clone(), json!("a.b")).is_empty());
        assert_eq!(errors_for_x(quoted, json!("axb")).len(), 1);
        let bracket = json!({"type": "string", "pattern": r"^[[a]+$"});
        assert!(errors_for_x(bracket, json!("[a[")).is_empty());
    }

    #[test]
    fn an_invalid_pattern_is_reported_on_the_field_instead_of_panicking() {
        let errors = errors_for_x(json!({"type": "string", "pattern": "a("}), json!("v"));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(concat!(
                r#"spec.x: Invalid value: "v": "#,
                "spec.x in body should match 'a(, but pattern is invalid: error parsing"
            )),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn multiple_of_is_checked_for_integers_and_floats() {
        assert_eq!(
            errors_for_x(json!({"type": "integer", "multipleOf": 5}), json!(7)),
            ["spec.x: Invalid value: 7: spec.x in body should be a multiple of 5"]
        );
        assert!(errors_for_x(json!({"type": "integer", "multipleOf": 5}), json!(-10)).is_empty());
        assert!(errors_for_x(json!({"type": "number", "multipleOf": 0.1}), json!(0.3)).is_empty());
        assert_eq!(
            errors_for_x(json!({"type": "number", "multipleOf": 0.1}), json!(0.35)),
            ["spec.x: Invalid value: 0.35: spec.x in body should be a multiple of 0.1"]
        );
    }

    #[test]
    fn a_fractional_multiple_of_truncates_for_integers_as_kubernetes_does() {
        assert_eq!(
            errors_for_x(json!({"type": "integer", "multipleOf": 0.5}), json!(3)),
            ["spec.x: Invalid value: 0: factor MultipleOf declared for spec.x must be positive: 0"]
        );
    }

    #[test]
    fn item_counts_are_checked() {
        let field = json!({"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "integer"}});
        assert_eq!(
            errors_for_x(field.clone(), json!([])),
            ["spec.x: Invalid value: 0: spec.x in body should have at least 1 items"]
        );
        let errors = validate(
            &with_spec(field_schema(field)),
            &resource(json!({"x": [1, 2, 3]})),
        );
        assert_eq!(errors[0].reason, "FieldValueTooMany");
        assert_eq!(
            errors[0].to_string(),
            "spec.x: Too many: 3: must have at most 2 items"
        );
    }

    #[test]
    fn unique_items_rejects_deep_duplicates_but_not_int_versus_float() {
        let field = json!({"type": "array", "uniqueItems": true});
        assert_eq!(
            errors_for_x(field.clone(), json!([{"a": 1}, {"a": 1}])),
            [r#"spec.x: Invalid value: "": spec.x in body shouldn't contain duplicates"#]
        );
        assert!(errors_for_x(field, json!([1, 1.0, "1"])).is_empty());
    }

    #[test]
    fn property_counts_are_checked() {
        let field = json!({"type": "object", "minProperties": 1, "maxProperties": 2});
        assert_eq!(
            errors_for_x(field.clone(), json!({})),
            ["spec.x: Invalid value: 0: spec.x in body should have at least 1 properties"]
        );
        assert_eq!(
            errors_for_x(field, json!({"a": 1, "b": 2, "c": 3})),
            ["spec.x: Too many: 3: must have at most 2 items"]
        );
    }

    #[test]
    fn map_values_are_validated_against_additional_properties() {
        let field = json!({"type": "object", "additionalProperties": {"type": "string"}});
        assert_eq!(
            errors_for_x(field, json!({"ok": "v", "foo": 5})),
            [r#"spec.x.foo: Invalid value: "integer": spec.x.foo in body must be of type string: "integer""#]
        );
    }

    #[test]
    fn list_items_are_reported_with_their_index() {
        let field = json!({
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}
            }
        });
        assert_eq!(
            errors_for_x(
                field,
                json!([{"name": "a"}, {"name": "b", "size": "big"}, {"size": 1}])
            ),
            [
                concat!(
                    r#"spec.x[1].size: Invalid value: "string": "#,
                    r#"spec.x[1].size in body must be of type integer: "string""#
                ),
                "spec.x[2].name: Required value"
            ]
        );
    }

    #[test]
    fn errors_follow_document_order() {
        let field =
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}});
        let errors = errors_for_x(field, json!({"b": 1, "a": 2}));
        assert!(
            errors[0].starts_with("spec.x.b:") && errors[1].starts_with("spec.x.a:"),
            "{errors:?}"
        );
    }

    #[test]
    fn int_or_string_accepts_either_and_names_both_types() {
        let field = json!({"x-kubernetes-int-or-string": true});
        assert!(errors_for_x(field.clone(), json!(8080)).is_empty());
        assert!(errors_for_x(field.clone(), json!("50%")).is_empty());
        assert_eq!(
            errors_for_x(field, json!(true)),
            [r#"spec.x: Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean""#]
        );
    }

    #[test]
    fn unknown_fields_under_preserve_unknown_fields_are_not_validated() {
        let field = json!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"n": {"type": "integer"}}
        });
        assert!(errors_for_x(field.clone(), json!({"anything": [1, {"b": null}]})).is_empty());
        assert_eq!(errors_for_x(field, json!({"n": "1"})).len(), 1);
    }

    // --- formats --------------------------------------------------------------------------------

    #[test]
    fn a_bad_date_time_is_reported_as_a_type_error_naming_the_format() {
        let field = json!({"type": "string", "format": "date-time"});
        assert_eq!(
            errors_for_x(field.clone(), json!("yesterday")),
            [r#"spec.x: Invalid value: "yesterday": spec.x in body must be of type date-time: "yesterday""#]
        );
        for good in ["2024-02-29T10:00:00Z", "2024-01-01t23:59:59.123+02:00"] {
            assert!(errors_for_x(field.clone(), json!(good)).is_empty(), "{good}");
        }
        for bad in [
            "2023-02-29T10:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01 10:00:00Z",
            "2024-01-01T10:00:00",
        ] {
            assert_eq!(errors_for_x(field.clone(), json!(bad)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert!(is_date("2000-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-1-01"));
        assert!(!is_date("2024-04-31"));
    }

    #[test]
    fn emails_are_checked_like_go_net_mail() {
        for good in [
            "a@b.c",
            "first.last+tag@example.com",
            "Jo Doe <jo@example.com>",
            "\"a b\"@example.com",
            "x@[127.0.0.1]",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "not-an-email",
            "a@",
            "@b",
            "a..b@c",
            ".a@b",
            "a@b c",
            "<a@b",
            "a@[nope]",
            "",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        let field = json!({"type": "string", "format": "email"});
        assert_eq!(errors_for_x(field, json!("nope")).len(), 1);
    }

    #[test]
    fn network_formats_follow_go() {
        assert!(format_valid("ipv4", "10.0.0.1") && format_valid("ipv4", "010.000.000.001"));
        assert!(!format_valid("ipv4", "256.0.0.1") && !format_valid("ipv4", "::1"));
        assert!(format_valid("ipv6", "::1") && format_valid("ipv6", "::ffff:1.2.3.4"));
        assert!(!format_valid("ipv6", "1.2.3.4"));
        assert!(format_valid("cidr", "10.0.0.0/8") && format_valid("cidr", "fd00::/64"));
        assert!(!format_valid("cidr", "10.0.0.0/33") && !format_valid("cidr", "10.0.0.0"));
        assert!(format_valid("mac", "00:1a:2B:3c:4d:5e") && format_valid("mac", "0000.5e00.5301"));
        assert!(!format_valid("mac", "00:1a:2b:3c:4d") && !format_valid("mac", "00:1a-2b:3c:4d:5e"));
        assert!(format_valid("hostname", "example.com") && format_valid("hostname", "localhost"));
        assert!(!format_valid("hostname", "-bad.com") && !format_valid("hostname", &"a".repeat(64)));
        assert!(
            format_valid("uri", "https://user@example.com:8443/a%20b?q=1") && format_valid("uri", "/path")
        );
        assert!(format_valid("uri", "mailto:someone"));
        assert!(!format_valid("uri", "relative/path") && !format_valid("uri", "http://ex ample.com/"));
        assert!(!format_valid("uri", "http://example.com/%zz") && !format_valid("uri", ""));
    }

    #[test]
    fn other_string_formats_follow_kube_openapi() {
        assert!(format_valid("uuid", "123e4567-E89B-12d3-a456-426614174000"));
        assert!(!format_valid("uuid", "123e4567"));
        assert!(format_valid("uuid4", "123e4567-e89b-42d3-a456-426614174000"));
        assert!(!format_valid("uuid4", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(
            format_valid("byte", "aGVsbG8=") && !format_valid("byte", "aGVsbG8") && !format_valid("byte", "")
        );
        assert!(format_valid("duration", "1h30m") && format_valid("duration", "-1.5s"));
        assert!(format_valid("duration", "3 days") && format_valid("duration", "0"));
        assert!(!format_valid("duration", "soon") && !format_valid("duration", "1x"));
        assert!(format_valid("hexcolor", "#fff") && !format_valid("hexcolor", "#ffff"));
        assert!(format_valid("rgbcolor", "rgb(0, 128,255)") && !format_valid("rgbcolor", "rgb(256,0,0)"));
        assert!(format_valid("bsonobjectid", "507f1f77bcf86cd799439011"));
        assert!(format_valid("isbn10", "0-321-75104-3") && format_valid("isbn13", "978-0321751041"));
        assert!(!format_valid("isbn", "0321751044"));
        assert!(
            format_valid("creditcard", "4111 1111 1111 1111")
                && !format_valid("creditcard", "4111111111111112")
        );
        assert!(format_valid("ssn", "123-45-6789") && !format_valid("ssn", "123456789"));
        assert!(format_valid("password", "anything"));
    }

    #[test]
    fn unsupported_and_numeric_formats_are_ignored() {
        assert!(
            errors_for_x(
                json!({"type": "string", "format": "k8s-short-name"}),
                json!("Not_A_Name")
            )
            .is_empty()
        );
        assert!(errors_for_x(json!({"type": "integer", "format": "int32"}), json!(1_i64 << 40)).is_empty());
        assert!(errors_for_x(json!({"type": "number", "format": "double"}), json!(1)).is_empty());
    }

    #[test]
    fn a_fraction_for_an_integer_with_a_format_names_the_format() {
        assert_eq!(
            errors_for_x(json!({"type": "integer", "format": "int64"}), json!(5.5)),
            [r#"spec.x: Invalid value: "float64": spec.x in body must be of type int64: "float64""#]
        );
    }

    // --- composition ------------------------------------------------------------------------------

    #[test]
    fn any_of_reports_the_nil_path_error_and_the_first_branch_failure() {
        let field = json!({"type": "integer", "anyOf": [{"maximum": 5}, {"minimum": 10}]});
        assert!(errors_for_x(field.clone(), json!(12)).is_empty());
        assert_eq!(
            errors_for_x(field, json!(7)),
            [
                r#"<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)"#,
                "spec.x: Invalid value: 7: spec.x in body should be less than or equal to 5"
            ]
        );
    }

    #[test]
    fn one_of_requires_exactly_one_match() {
        let field = json!({"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]});
        assert!(errors_for_x(field.clone(), json!(20)).is_empty());
        assert_eq!(
            errors_for_x(field, json!(5)),
            [concat!(
                r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). "#,
                "Found 2 valid alternatives"
            )]
        );
        let strict = json!({"type": "string", "oneOf": [{"pattern": "^a"}, {"pattern": "^b"}]});
        assert_eq!(
            errors_for_x(strict, json!("c")),
            [
                concat!(
                    r#"<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). "#,
                    "Found none valid"
                ),
                r#"spec.x: Invalid value: "c": spec.x in body should match '^a'"#
            ]
        );
    }

    #[test]
    fn all_of_reports_each_failing_branch_then_the_summary() {
        let field = json!({"type": "string", "allOf": [{"minLength": 2}, {"pattern": "^[a-z]+$"}]});
        assert!(errors_for_x(field.clone(), json!("ab")).is_empty());
        assert_eq!(
            errors_for_x(field.clone(), json!("A")),
            [
                r#"spec.x: Invalid value: "A": spec.x in body should be at least 2 chars long"#,
                r#"spec.x: Invalid value: "A": spec.x in body should match '^[a-z]+$'"#,
                r#"<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf). None validated"#
            ]
        );
        assert_eq!(errors_for_x(field, json!("AB")).len(), 2);
    }

    #[test]
    fn not_rejects_a_matching_value() {
        let field = json!({"type": "string", "not": {"enum": ["forbidden"]}});
        assert!(errors_for_x(field.clone(), json!("fine")).is_empty());
        assert_eq!(
            errors_for_x(field, json!("forbidden")),
            [r#"<nil>: Invalid value: "": "spec.x" must not validate the schema (not)"#]
        );
    }

    // --- embedded resources and list types -------------------------------------------------------

    #[test]
    fn an_embedded_resource_needs_api_version_and_kind() {
        let field = json!({
            "type": "object",
            "x-kubernetes-embedded-resource": true,
            "x-kubernetes-preserve-unknown-fields": true
        });
        assert!(
            errors_for_x(
                field.clone(),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
            )
            .is_empty()
        );
        assert_eq!(
            errors_for_x(field.clone(), json!({})),
            ["spec.x.apiVersion: Required value", "spec.x.kind: Required value"]
        );
        assert_eq!(
            errors_for_x(
                field.clone(),
                json!({"apiVersion": "a/b/c", "kind": "Config_Map", "metadata": {"name": "a/b"}})
            ),
            [
                r#"spec.x.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
                concat!(
                    r#"spec.x.kind: Invalid value: "Config_Map": "#,
                    "may have mixed case, but should otherwise match: ",
                    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', ",
                    "start with an alphabetic character, and end with an alphanumeric character ",
                    "(e.g. 'my-name',  or 'abc-123', ",
                    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                ),
                r#"spec.x.metadata.name: Invalid value: "a/b": may not contain '/'"#
            ]
        );
        assert_eq!(
            errors_for_x(field, json!({"apiVersion": 1, "kind": "", "metadata": "m"})),
            [
                "spec.x.apiVersion: Invalid value: 1: must be a string",
                r#"spec.x.kind: Invalid value: "": must not be empty"#,
                concat!(
                    r#"spec.x.metadata: Invalid value: "m": "#,
                    "json: cannot unmarshal string into Go value of type v1.ObjectMeta"
                )
            ]
        );
    }

    #[test]
    fn a_list_set_reports_each_repeated_item_once() {
        let field = json!({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}});
        let errors = validate(
            &with_spec(field_schema(field)),
            &resource(json!({"x": ["a", "b", "a", "a", "b"]})),
        );
        assert_eq!(
            errors,
            [
                FieldError::duplicate("spec.x[2]", &json!("a")),
                FieldError::duplicate("spec.x[4]", &json!("b"))
            ]
        );
        assert_eq!(errors[0].to_string(), r#"spec.x[2]: Duplicate value: "a""#);
        assert_eq!(errors[0].reason, "FieldValueDuplicate");
    }

    #[test]
    fn a_list_map_reports_repeated_keys() {
        let field = json!({
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["name"],
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}
            }
        });
        assert!(errors_for_x(field.clone(), json!([{"name": "http"}, {"name": "https"}])).is_empty());
        assert_eq!(
            errors_for_x(
                field.clone(),
                json!([{"name": "http", "port": 80}, {"name": "http", "port": 81}, {"port": 1}, {}])
            ),
            [
                r#"spec.x[1]: Duplicate value: {"name":"http"}"#,
                "spec.x[3]: Duplicate value: {}"
            ]
        );
        let two_keys = json!({
            "type": "array",
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["port", "protocol"],
            "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        });
        assert_eq!(
            errors_for_x(
                two_keys,
                json!([{"port": 80, "protocol": "TCP"}, {"protocol": "TCP", "port": 80}, {"port": 80}])
            ),
            [r#"spec.x[1]: Duplicate value: {"port":80,"protocol":"TCP"}"#]
        );
    }

    #[test]
    fn a_list_map_item_must_be_an_object() {
        let field =
            json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]});
        assert_eq!(
            validate(
                &with_spec(field_schema(field)),
                &resource(json!({"x": [{"name": "a"}, "b"]}))
            )
            .last()
            .map(ToString::to_string),
            Some(
                r#"spec.x[1]: Invalid value: "b": must be an object for an array of list-type map"#
                    .to_owned()
            )
        );
    }

    #[test]
    fn list_types_inside_map_values_use_bracketed_keys() {
        let field = json!({
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "x-kubernetes-list-type": "set",
                "items": {"type": "integer"}
            }
        });
        assert_eq!(
            errors_for_x(field, json!({"k": [1, 1]})),
            ["spec.x[k][1]: Duplicate value: 1"]
        );
    }

    // --- FieldError --------------------------------------------------------------------------------

    #[test]
    fn field_error_constructors_render_like_apimachinery() {
        let cases = [
            (
                FieldError::required("a"),
                "FieldValueRequired",
                "a: Required value",
            ),
            (
                FieldError::invalid("a", &json!(1.5), "bad"),
                "FieldValueInvalid",
                "a: Invalid value: 1.5: bad",
            ),
            (
                FieldError::invalid("a", &json!({"b": [1]}), ""),
                "FieldValueInvalid",
                r#"a: Invalid value: {"b":[1]}"#,
            ),
            (
                FieldError::not_supported("a", &json!("foo"), &[json!("x"), json!(2)]),
                "FieldValueNotSupported",
                r#"a: Unsupported value: "foo": supported values: "x", "2""#,
            ),
            (
                FieldError::too_long("a", 1),
                "FieldValueTooLong",
                "a: Too long: may not be more than 1 byte",
            ),
            (
                FieldError::too_many("a", 3),
                "FieldValueTooMany",
                "a: Too many: must have at most 3 items",
            ),
            (
                FieldError::type_invalid("a", &Value::Null, "string"),
                "FieldValueTypeInvalid",
                r#"a: Invalid value: "null": a in body must be of type string: "null""#,
            ),
            (
                FieldError::type_invalid("a", &json!([1]), "string"),
                "FieldValueTypeInvalid",
                r#"a: Invalid value: "array": a in body must be of type string: "array""#,
            ),
            (
                FieldError::duplicate("a[1]", &Value::Null),
                "FieldValueDuplicate",
                r#"a[1]: Duplicate value: "null""#,
            ),
            (
                FieldError::forbidden("a", "not allowed"),
                "FieldValueForbidden",
                "a: Forbidden: not allowed",
            ),
        ];
        for (error, reason, text) in cases {
            assert_eq!(error.reason, reason);
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn json_integers_follow_swag_including_its_tolerance() {
        assert!(is_json_integer(5.0) && is_json_integer(-5.0) && is_json_integer(9_007_199_254_740_991.0));
        assert!(!is_json_integer(5.5) && !is_json_integer(-5.5) && !is_json_integer(0.5));
        assert!(!is_json_integer(9_007_199_254_740_992.0));
        assert!(is_json_integer(1_000_000_000_000.5));
    }

    // --- defaulting -------------------------------------------------------------------------------

    fn defaults_schema() -> JSONSchemaProps {
        with_spec(json!({
            "type": "object",
            "properties": {
                "retries": {"type": "integer", "default": 3},
                "mode": {"type": "string", "default": "fast"},
                "note": {"type": "string", "nullable": true, "default": "n"},
                "agent": {
                    "type": "object",
                    "default": {},
                    "properties": {
                        "name": {"type": "string", "default": "scaffold"},
                        "limits": {
                            "type": "object",
                            "default": {"cpu": "1"},
                            "properties": {
                                "cpu": {"type": "string"},
                                "memory": {"type": "string", "default": "1Gi"}
                            }
                        }
                    }
                },
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "default": {"kind": "item"},
                        "properties": {
                            "kind": {"type": "string"},
                            "weight": {"type": "integer", "default": 1}
                        }
                    }
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "on"}}
            }
        }))
    }

    #[test]
    fn an_absent_property_gets_its_default_and_a_present_one_is_kept() {
        let mut object = resource(json!({"mode": "slow"}));
        apply_defaults(&defaults_schema(), &mut object);
        assert_eq!(object["spec"]["retries"], json!(3));
        assert_eq!(object["spec"]["mode"], json!("slow"));
    }

    #[test]
    fn a_defaulted_object_gets_its_inner_defaults_too() {
        let mut object = resource(json!({}));
        apply_defaults(&defaults_schema(), &mut object);
        assert_eq!(
            object["spec"]["agent"],
            json!({"name": "scaffold", "limits": {"cpu": "1", "memory": "1Gi"}})
        );
    }

    #[test]
    fn a_missing_spec_is_not_created_without_a_default() {
        let mut object = json!({"apiVersion": "v", "kind": "K", "metadata": {}});
        apply_defaults(&defaults_schema(), &mut object);
        assert_eq!(object, json!({"apiVersion": "v", "kind": "K", "metadata": {}}));
    }

    #[test]
    fn a_null_for_a_non_nullable_field_takes_the_default_but_a_nullable_null_stays() {
        let mut object = resource(json!({"retries": null, "note": null}));
        apply_defaults(&defaults_schema(), &mut object);
        assert_eq!(object["spec"]["retries"], json!(3));
        assert_eq!(object["spec"]["note"], Value::Null);
    }

    #[test]
    fn list_items_and_map_values_are_defaulted() {
        let mut object = resource(json!({"items": [{"kind": "a"}, null], "labels": {"x": null, "y": "off"}}));
        apply_defaults(&defaults_schema(), &mut object);
        assert_eq!(
            object["spec"]["items"],
            json!([{"kind": "a", "weight": 1}, {"kind": "item", "weight": 1}])
        );
        assert_eq!(object["spec"]["labels"], json!({"x": "on", "y": "off"}));
    }

    #[test]
    fn defaulting_never_touches_the_root_meta_fields() {
        let root = schema(json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string", "default": "x/v1"},
                "kind": {"type": "string", "default": "K"},
                "metadata": {"type": "object", "default": {"name": "d"}},
                "spec": {"type": "object", "default": {}}
            }
        }));
        let mut object = json!({"metadata": null});
        apply_defaults(&root, &mut object);
        assert_eq!(object, json!({"metadata": null, "spec": {}}));
    }

    // --- pruning ----------------------------------------------------------------------------------

    fn prune_schema() -> JSONSchemaProps {
        with_spec(json!({
            "type": "object",
            "properties": {
                "prompt": {"type": "string"},
                "agent": {"type": "object", "properties": {"name": {"type": "string"}}},
                "items": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}}
                },
                "labels": {
                    "type": "object",
                    "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}
                },
                "extra": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": true,
                    "properties": {"typed": {"type": "object", "properties": {"a": {"type": "string"}}}}
                },
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": true,
                    "properties": {"data": {"type": "string"}}
                },
                "keep": {"type": "string", "nullable": true},
                "drop": {"type": "string"},
                "defaulted": {"type": "string", "default": "d"}
            }
        }))
    }

    #[test]
    fn unknown_fields_are_removed_and_reported_with_dotted_paths() {
        let mut object = resource(json!({
            "prompt": "p",
            "foo": 1,
            "agent": {"name": "n", "bar": true},
            "items": [{"name": "a", "x": 1}, {"y": 2}],
            "labels": {"k": {"v": "1", "w": "2"}}
        }));
        let unknown = prune_unknown(&prune_schema(), &mut object);
        assert_eq!(
            unknown,
            [
                ".spec.agent.bar",
                ".spec.foo",
                ".spec.items[0].x",
                ".spec.items[1].y",
                ".spec.labels.k.w"
            ]
        );
        assert_eq!(
            object["spec"],
            json!({
                "prompt": "p",
                "agent": {"name": "n"},
                "items": [{"name": "a"}, {}],
                "labels": {"k": {"v": "1"}}
            })
        );
    }

    #[test]
    fn pruning_keeps_the_root_meta_fields_and_drops_unknown_root_fields() {
        let meta = json!({"name": "n", "odd": 1});
        let mut object =
            json!({"apiVersion": "a/v1", "kind": "K", "metadata": meta, "status": {}, "spec": {}});
        let unknown = prune_unknown(&prune_schema(), &mut object);
        assert_eq!(unknown, [".status"]);
        assert_eq!(
            object,
            json!({"apiVersion": "a/v1", "kind": "K", "metadata": meta, "spec": {}})
        );
    }

    #[test]
    fn preserve_unknown_fields_keeps_unknowns_but_prunes_declared_children() {
        let mut object = resource(json!({"extra": {"free": {"deep": [1]}, "typed": {"a": "1", "b": "2"}}}));
        let unknown = prune_unknown(&prune_schema(), &mut object);
        assert_eq!(unknown, [".spec.extra.typed.b"]);
        assert_eq!(
            object["spec"]["extra"],
            json!({"free": {"deep": [1]}, "typed": {"a": "1"}})
        );
    }

    #[test]
    fn an_embedded_resource_keeps_its_meta_fields() {
        let mut object = resource(
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "data": "d", "spec": {}}}),
        );
        let unknown = prune_unknown(&prune_schema(), &mut object);
        assert_eq!(unknown, [".spec.template.spec"]);
        assert_eq!(
            object["spec"]["template"],
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}, "data": "d"})
        );
    }

    #[test]
    fn pruning_drops_non_nullable_nulls_without_defaults_silently() {
        let mut object = resource(json!({"keep": null, "drop": null, "defaulted": null, "prompt": "p"}));
        let unknown = prune_unknown(&prune_schema(), &mut object);
        assert!(unknown.is_empty());
        assert_eq!(
            object["spec"],
            json!({"keep": null, "defaulted": null, "prompt": "p"})
        );
    }

    #[test]
    fn pruning_preserves_the_order_of_the_remaining_fields() {
        let mut object = resource(json!({"prompt": "p", "zzz": 1, "agent": {}, "aaa": 2, "items": []}));
        prune_unknown(&prune_schema(), &mut object);
        let keys: Vec<&String> = object["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["prompt", "agent", "items"]);
    }

    #[test]
    fn a_root_preserving_unknown_fields_prunes_nothing_unknown() {
        let root = schema(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}));
        let mut object = json!({"kind": "K", "anything": {"goes": 1}});
        assert!(prune_unknown(&root, &mut object).is_empty());
        assert_eq!(object, json!({"kind": "K", "anything": {"goes": 1}}));
    }

    // --- robustness -------------------------------------------------------------------------------

    const KEYS: &[&str] = &[
        "spec",
        "metadata",
        "kind",
        "apiVersion",
        "name",
        "items",
        "a",
        "b",
        "x",
        "ports",
        "é",
    ];

    fn random_string(rng: &mut Rng) -> String {
        let fixed = [
            "",
            "a",
            "2024-02-29T10:00:00Z",
            "2024-13-45",
            "a@b.c",
            "::1",
            "10.0.0.1/8",
            "1h",
            "http://x/%zz",
            "[",
            "\u{0}",
            "ünïcödé ✓",
            "-",
            "aGVsbG8=",
            "00:1a:2b:3c:4d:5e",
            "50%",
        ];
        if rng.below(3) == 0 {
            return (0..rng.below(12))
                .filter_map(|_| char::from_u32(rng.below(0x3000) as u32))
                .collect();
        }
        rng.pick(&fixed).to_owned()
    }

    fn random_number(rng: &mut Rng) -> Value {
        let fixed = [
            json!(0),
            json!(-1),
            json!(5),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(0.5),
            json!(-0.0),
            json!(1e300),
            json!(-1e-300),
            json!(5.0),
            json!(9_007_199_254_740_993.0),
        ];
        if rng.below(3) == 0 {
            json!(rng.next() as i64)
        } else {
            rng.pick(&fixed)
        }
    }

    fn random_value(rng: &mut Rng, depth: usize) -> Value {
        match rng.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 0),
            2 => random_number(rng),
            3 | 4 => Value::String(random_string(rng)),
            5 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
            _ => Value::Object(
                (0..rng.below(5))
                    .map(|_| (rng.pick(KEYS).to_owned(), random_value(rng, depth - 1)))
                    .collect(),
            ),
        }
    }

    fn random_schema(rng: &mut Rng, depth: usize) -> Value {
        // Each keyword is present one time in four; values are built only when present.
        type Make = fn(&mut Rng, usize) -> Value;
        let numbers = |rng: &mut Rng, _: usize| {
            rng.pick(&[
                json!(0),
                json!(-1),
                json!(0.5),
                json!(3),
                json!(1e300),
                json!(-1e-300),
            ])
        };
        let counts = |rng: &mut Rng, _: usize| json!(rng.pick(&[-1_i64, 0, 1, 3, i64::MAX]));
        let flag = |rng: &mut Rng, _: usize| json!(rng.below(2) == 0);
        let subschema = |rng: &mut Rng, depth: usize| random_schema(rng, depth - 1);
        let branches = |rng: &mut Rng, depth: usize| {
            Value::Array((0..rng.below(3)).map(|_| random_schema(rng, depth - 1)).collect())
        };
        let mut keywords: Vec<(&str, Make)> = vec![
            ("type", |rng, _| {
                json!(rng.pick(&[
                    "object", "array", "string", "integer", "number", "boolean", "", "null"
                ]))
            }),
            ("nullable", flag),
            ("uniqueItems", flag),
            ("exclusiveMinimum", flag),
            ("exclusiveMaximum", flag),
            ("x-kubernetes-int-or-string", flag),
            ("x-kubernetes-preserve-unknown-fields", flag),
            ("x-kubernetes-embedded-resource", flag),
            ("minimum", numbers),
            ("maximum", numbers),
            ("multipleOf", numbers),
            ("minLength", counts),
            ("maxLength", counts),
            ("minItems", counts),
            ("maxItems", counts),
            ("minProperties", counts),
            ("maxProperties", counts),
            ("pattern", |rng, _| {
                json!(rng.pick(&[
                    "^a",
                    "(",
                    "[",
                    "\\",
                    r"\Q",
                    r"^\d+$",
                    "[[:alpha:]]",
                    "a{2,1}",
                    "(?P<>x)",
                    "x**",
                    ""
                ]))
            }),
            ("format", |rng, _| {
                json!(rng.pick(&[
                    "date-time",
                    "date",
                    "email",
                    "uri",
                    "hostname",
                    "ipv4",
                    "ipv6",
                    "cidr",
                    "mac",
                    "uuid",
                    "byte",
                    "duration",
                    "int32",
                    "double",
                    "isbn",
                    "creditcard",
                    "bogus"
                ]))
            }),
            ("x-kubernetes-list-type", |rng, _| {
                json!(rng.pick(&["set", "map", "atomic"]))
            }),
            ("x-kubernetes-list-map-keys", |rng, _| {
                json!(rng.pick(&[vec!["name"], vec!["name", "a"], vec![]]))
            }),
            ("required", |rng, _| json!([rng.pick(KEYS), rng.pick(KEYS)])),
            ("enum", |rng, _| {
                Value::Array((0..rng.below(3)).map(|_| random_value(rng, 1)).collect())
            }),
            ("default", |rng, _| random_value(rng, 2)),
        ];
        if depth > 0 {
            keywords.extend::<[(&str, Make); 7]>([
                ("properties", |rng, depth| {
                    let properties =
                        (0..rng.below(4)).map(|_| (rng.pick(KEYS).to_owned(), random_schema(rng, depth - 1)));
                    Value::Object(properties.collect())
                }),
                ("items", subschema),
                ("additionalProperties", |rng, depth| {
                    if rng.below(3) == 0 {
                        json!(rng.below(2) == 0)
                    } else {
                        random_schema(rng, depth - 1)
                    }
                }),
                ("allOf", branches),
                ("anyOf", branches),
                ("oneOf", branches),
                ("not", subschema),
            ]);
        }
        let mut schema = Map::new();
        for (keyword, make) in keywords {
            if rng.below(4) == 0 {
                let value = make(rng, depth);
                schema.insert(keyword.to_owned(), value);
            }
        }
        Value::Object(schema)
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let fixed = with_spec(agent_schema());
        let mut random_schemas = 0;
        for round in 0..6000 {
            let candidate = random_schema(&mut rng, 3);
            let parsed = serde_json::from_value::<JSONSchemaProps>(candidate).ok();
            random_schemas += usize::from(parsed.is_some());
            let schema = parsed.as_ref().unwrap_or(&fixed);
            let mut value = if round % 2 == 0 {
                random_value(&mut rng, 4)
            } else {
                resource(random_value(&mut rng, 3))
            };
            for error in validate(schema, &value) {
                assert!(!error.field.is_empty() && !error.message.is_empty());
            }
            apply_defaults(schema, &mut value);
            let unknown = prune_unknown(schema, &mut value);
            assert!(unknown.iter().all(|p| p.starts_with('.')), "{unknown:?}");
            validate(schema, &value);
            validate(&fixed, &value);
        }
        assert!(
            random_schemas > 2000,
            "only {random_schemas} random schemas parsed"
        );
    }
}
