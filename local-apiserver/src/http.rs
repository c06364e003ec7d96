//! The plumbing of Kubernetes' HTTP conventions: query parameters as kubectl and kube-rs write
//! them, content negotiation, bounded body reading and decoding.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::table::IncludeObject;

/// The largest request body accepted, as Kubernetes' default (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn json_response(code: StatusCode, value: &Value) -> Response {
    bytes_response(code, Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
}

pub fn bytes_response(code: StatusCode, body: Bytes) -> Response {
    let mut response = (code, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The query parameters of the Kubernetes API that this server understands. Others are ignored,
/// as Kubernetes ignores parameters it does not know.
#[derive(Debug, Default)]
pub struct Params {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub watch: bool,
    pub resource_version: Option<String>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout_seconds: Option<u64>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: FieldValidation,
    pub force: bool,
    pub include_object: IncludeObject,
}

/// What to do with fields the schema does not declare (`fieldValidation`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl Params {
    /// Parses a raw query string. kube-rs starts its queries with `&`, and some clients send empty
    /// pairs; both are fine.
    pub fn parse(raw: Option<&str>) -> Result<Params> {
        let mut params = Params::default();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            match percent_decode(key)?.as_str() {
                "labelSelector" => params.label_selector = Some(value).filter(|v| !v.is_empty()),
                "fieldSelector" => params.field_selector = Some(value).filter(|v| !v.is_empty()),
                "watch" => params.watch = parse_bool("watch", &value)?,
                "resourceVersion" => params.resource_version = Some(value).filter(|v| !v.is_empty()),
                "allowWatchBookmarks" => {
                    params.allow_watch_bookmarks = parse_bool("allowWatchBookmarks", &value)?
                }
                "sendInitialEvents" => params.send_initial_events = parse_bool("sendInitialEvents", &value)?,
                "timeoutSeconds" => params.timeout_seconds = Some(parse_number("timeoutSeconds", &value)?),
                "limit" => {
                    let limit: u64 = parse_number("limit", &value)?;
                    params.limit = Some(usize::try_from(limit).unwrap_or(usize::MAX)).filter(|l| *l > 0);
                }
                "continue" => params.continue_token = Some(value).filter(|v| !v.is_empty()),
                "dryRun" => match value.as_str() {
                    "All" => params.dry_run = true,
                    "" => {}
                    other => return Err(Error::BadRequest(format!("Invalid dry run value: {other}"))),
                },
                "fieldManager" => params.field_manager = Some(value).filter(|v| !v.is_empty()),
                "fieldValidation" => {
                    params.field_validation = match value.as_str() {
                        "Ignore" => FieldValidation::Ignore,
                        "Warn" | "" => FieldValidation::Warn,
                        "Strict" => FieldValidation::Strict,
                        other => {
                            return Err(Error::BadRequest(format!(
                                "fieldValidation must be one of Ignore, Warn or Strict, not {other:?}"
                            )));
                        }
                    }
                }
                "force" => params.force = parse_bool("force", &value)?,
                "includeObject" => {
                    params.include_object =
                        IncludeObject::parse(Some(&value)).map_err(|e| Error::BadRequest(e.to_string()))?
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

/// Go's strconv.ParseBool, which Kubernetes uses for query parameters.
fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Ok(false),
        other => Err(Error::BadRequest(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::BadRequest(format!("{name} must be a whole number, not {value:?}")))
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(byte) = byte else {
                    return Err(Error::BadRequest(format!(
                        "invalid escape in query string: {s:?}"
                    )));
                };
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::BadRequest(format!("query string is not UTF-8: {s:?}")))
}

/// How the client wants a list or object rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendering {
    Json,
    Table,
}

/// Picks the first media range in `Accept` that this server can produce. JSON is the fallback for
/// anything that allows it (`*/*`, `application/*`, `application/json`, or no header at all).
pub fn negotiate(headers: &HeaderMap) -> Result<Rendering> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Rendering::Json);
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        if !matches!(media, "application/json" | "application/*" | "*/*" | "") {
            continue;
        }
        match param("as") {
            None => return Ok(Rendering::Json),
            Some("Table")
                if param("g") == Some("meta.k8s.io") && matches!(param("v"), Some("v1" | "v1beta1")) =>
            {
                return Ok(Rendering::Table);
            }
            Some(_) => continue,
        }
    }
    Err(Error::NotAcceptable)
}

/// Reads a request body of at most [`MAX_BODY_BYTES`].
pub async fn read_body(body: Body) -> Result<Bytes> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(Error::TooLarge(MAX_BODY_BYTES)),
        Err(e) => Err(Error::BadRequest(format!("reading the request body failed: {e}"))),
    }
}

/// The media type of a request body, without parameters.
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("application/json")
}

/// Decodes a JSON or YAML body into a JSON object.
pub fn decode(body: &[u8], media: &str) -> Result<Value> {
    let value: Value = if media.contains("yaml") {
        let text =
            std::str::from_utf8(body).map_err(|_| Error::BadRequest("the YAML body is not UTF-8".into()))?;
        serde_saphyr::from_str(text).map_err(|e| Error::BadRequest(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body).map_err(|e| Error::BadRequest(format!("error decoding JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(Error::BadRequest(format!(
            "the request body must be a JSON or YAML object, not {}",
            crate::meta::type_name(&value)
        )));
    }
    Ok(value)
}
