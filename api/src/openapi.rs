//! The OpenAPI 3 document at `/api/v1/openapi.json`: the routes' own descriptions (utoipa), with
//! the Generation's `spec` and `status` schemas taken from the CRD, so they cannot drift apart.

use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

/// The finished document.
pub fn document(mut doc: OpenApi) -> Value {
    doc.info = utoipa::openapi::Info::new("appgen REST API", env!("CARGO_PKG_VERSION"));
    doc.info.description = Some(
        "Describe a web app, watch it being built, get it. Browsers sign in with a session cookie \
         (and send X-CSRF-Token on unsafe requests); scripts send `Authorization: Bearer <token>`."
            .to_owned(),
    );
    let mut value = serde_json::to_value(&doc).unwrap_or_else(|_| json!({}));
    let crd = appgen_crd::crd();
    let schema = crd
        .spec
        .versions
        .first()
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or_default();
    let schemas = &mut value["components"]["schemas"];
    for (part, component) in [("spec", "GenerationSpec"), ("status", "GenerationStatus")] {
        schemas[component] = schema["properties"][part].clone();
        schemas["GenerationView"]["properties"][part] =
            json!({ "$ref": format!("#/components/schemas/{component}") });
    }
    value["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer" },
        "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE }
    });
    value["security"] = json!([{ "bearer": [] }, { "session": [] }]);
    value
}
