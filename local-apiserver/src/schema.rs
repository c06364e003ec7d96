// TEMPORARY STUB — replaced by helper's module
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::Value;
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub reason: &'static str,
    pub message: String,
}
impl FieldError {
    pub fn required(field: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueRequired",
            message: "Required value".into(),
        }
    }
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {value}: {detail}"),
        }
    }
    pub fn too_long(field: &str, max: i64) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueTooLong",
            message: format!("Too long: {max}"),
        }
    }
    pub fn type_invalid(field: &str, value: &Value, expected: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueTypeInvalid",
            message: format!("Invalid value: {value}: must be {expected}"),
        }
    }
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self {
            field: field.into(),
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
        }
    }
}
impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
pub fn validate(_schema: &JSONSchemaProps, _object: &Value) -> Vec<FieldError> {
    Vec::new()
}
pub fn apply_defaults(_schema: &JSONSchemaProps, _object: &mut Value) {}
pub fn prune_unknown(_schema: &JSONSchemaProps, _object: &mut Value) -> Vec<String> {
    Vec::new()
}
