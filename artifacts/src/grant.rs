//! Grants: what one task may do in an S3 store, handed to it as presigned requests, so that the
//! task needs no AWS credentials of its own and cannot touch another Generation's files.
//!
//! The controller asks its store for a [`Grant`] before it launches a task
//! ([`crate::ArtifactStore::grant`]) and hands the task one short-lived URL to it. The task opens
//! that URL with [`crate::open_object`] and works through a [`GrantedStore`]: it may read the
//! objects the grant lists and write any key under one prefix, through a POST policy that S3
//! itself enforces.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{ArtifactError, Result};
use crate::key::{validate_key, validate_prefix};
use crate::s3::error_chain;
use crate::store::ArtifactStore;

/// The largest object one POST upload may carry (S3's limit for a single upload).
const MAX_UPLOAD_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// How long one request through a grant may take before the task gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What a task may do, as the controller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    /// The task's `input.json`, which it opens first.
    pub input: String,
    /// Prefixes whose objects, as they are when the grant is made, the task may read.
    pub read_prefixes: Vec<String>,
    /// Keys the task may read whether or not they exist yet: what it writes itself and hands to
    /// someone else by URL (the archive a deploy fetches).
    pub read_keys: Vec<String>,
    /// The task may write every key under this prefix, and no other.
    pub write_prefix: String,
    /// How long the grant must last: the task's deadline, with room to report.
    pub expires_in: Duration,
}

/// A task's grant: presigned reads and one presigned upload policy. Every URL and field in it is
/// a bearer credential for this one Generation, so its `Debug` shows keys, never URLs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The store the keys belong to (`s3://bucket/prefix`), for the URIs the task reports.
    pub store: String,
    /// The key of the task's `input.json`.
    pub input: String,
    /// When the URLs stop working, RFC 3339.
    pub expires: String,
    /// Prefixes whose objects were all listed in `reads` when the grant was made.
    pub read_prefixes: Vec<String>,
    /// Key → presigned GetObject URL.
    pub reads: BTreeMap<String, String>,
    pub upload: Upload,
}

/// A presigned POST policy: a `multipart/form-data` POST to `url` with `fields`, a `key` field
/// of `object_prefix` followed by the store key's rest, and the bytes last as `file`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub url: String,
    /// The store key prefix the policy allows (`generations/<ns>/<name>/<uid>/`).
    pub prefix: String,
    /// The same prefix as an object key in the bucket, with the store's root in front.
    pub object_prefix: String,
    pub fields: BTreeMap<String, String>,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("store", &self.store)
            .field("input", &self.input)
            .field("expires", &self.expires)
            .field("read_prefixes", &self.read_prefixes)
            .field("reads", &self.reads.keys().collect::<Vec<_>>())
            .field("upload", &self.upload)
            .finish()
    }
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The credentials a POST policy is signed with.
#[derive(Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// The form fields of a SigV4 POST policy that lets its holder upload any object under
/// `object_prefix` in `bucket` until `expires` (AWS's "Browser-based uploads using POST").
pub(crate) fn post_policy_fields(
    signer: Signer<'_>,
    bucket: &str,
    object_prefix: &str,
    now: SystemTime,
    expires: SystemTime,
) -> BTreeMap<String, String> {
    let amz_date = amz_date(now);
    let date = amz_date.get(..8).unwrap_or_default();
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        signer.access_key_id, signer.region
    );
    let mut conditions = vec![
        json!({ "bucket": bucket }),
        json!(["starts-with", "$key", object_prefix]),
        json!(["content-length-range", 0, MAX_UPLOAD_BYTES]),
        json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
        json!({ "x-amz-credential": credential }),
        json!({ "x-amz-date": amz_date }),
    ];
    if let Some(token) = signer.session_token {
        conditions.push(json!({ "x-amz-security-token": token }));
    }
    let policy = json!({ "expiration": iso8601_millis(expires), "conditions": conditions });
    let policy = BASE64.encode(policy.to_string());
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(signer.secret_access_key, now, signer.region, "s3");
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
    let mut fields = BTreeMap::from([
        ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), amz_date),
        ("policy".to_owned(), policy),
        ("x-amz-signature".to_owned(), signature),
    ]);
    if let Some(token) = signer.session_token {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    fields
}

/// `20151229T000000Z`, SigV4's request date.
fn amz_date(time: SystemTime) -> String {
    iso8601(time).replace(['-', ':'], "")
}

/// `2015-12-29T00:00:00Z`, to the second.
pub(crate) fn iso8601(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    aws_sdk_s3::primitives::DateTime::from_secs(seconds)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// `2015-12-30T12:00:00.000Z`, the form a POST policy's expiration takes.
fn iso8601_millis(time: SystemTime) -> String {
    let whole = iso8601(time);
    format!("{}.000Z", whole.trim_end_matches('Z'))
}

/// An [`ArtifactStore`] that works only through a [`Grant`]: reads of the objects it lists and
/// uploads under its prefix. Listing and deleting are refused, as is everything outside the grant.
pub(crate) struct GrantedStore {
    grant: Grant,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl fmt::Debug for GrantedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantedStore")
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl GrantedStore {
    /// Fetches the grant at `url` and opens it; returns the store and the key of its input.
    pub(crate) async fn open(url: &str) -> Result<(GrantedStore, String)> {
        let http = https_client()?;
        let shown = without_query(url);
        let (status, body) = send(&http, get(url, "the grant")?, "fetch", shown).await?;
        if status != StatusCode::OK {
            return Err(refused("fetch", shown, status, &body));
        }
        let grant: Grant = serde_json::from_slice(&body).map_err(|error| ArtifactError::GrantRequest {
            action: "read",
            key: shown.to_owned(),
            reason: format!("it is not a grant: {error}"),
        })?;
        validate_key(&grant.input)?;
        validate_prefix(&grant.upload.prefix)?;
        let input = grant.input.clone();
        Ok((GrantedStore { grant, http }, input))
    }

    fn not_granted(&self, action: &'static str, key: &str) -> ArtifactError {
        ArtifactError::NotGranted {
            action,
            key: key.to_owned(),
            prefix: self.grant.upload.prefix.clone(),
        }
    }
}

#[async_trait::async_trait]
impl ArtifactStore for GrantedStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        validate_key(key)?;
        let upload = &self.grant.upload;
        let Some(rest) = key.strip_prefix(&upload.prefix) else {
            return Err(self.not_granted("write", key));
        };
        let object_key = format!("{}{rest}", upload.object_prefix);
        let (content_type, body) = multipart(&object_key, &upload.fields, &bytes);
        let request = Request::builder()
            .method(Method::POST)
            .uri(&upload.url)
            .header(http::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| request_error("write", key, error.to_string()))?;
        let (status, answer) = send(&self.http, request, "write", key).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(refused("write", key, status, &answer))
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        validate_key(key)?;
        let Some(url) = self.grant.reads.get(key) else {
            // Everything under a read prefix was listed, so a key missing there did not exist.
            return if self
                .grant
                .read_prefixes
                .iter()
                .any(|prefix| key.starts_with(prefix.as_str()))
            {
                Ok(None)
            } else {
                Err(self.not_granted("read", key))
            };
        };
        let (status, body) = send(&self.http, get(url, key)?, "read", key).await?;
        match status {
            StatusCode::OK => Ok(Some(body)),
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(refused("read", key, status, &body)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Err(self.not_granted("list", prefix))
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        Err(self.not_granted("delete", prefix))
    }

    fn uri(&self, key: &str) -> String {
        format!("{}/{key}", self.grant.store.trim_end_matches('/'))
    }

    /// The grant's own URL for `key`, which lasts as long as the grant does.
    async fn download_url(&self, key: &str, _expires_in: Duration) -> Result<Option<String>> {
        validate_key(key)?;
        Ok(self.grant.reads.get(key).cloned())
    }

    async fn grant(&self, request: &GrantRequest) -> Result<Option<Grant>> {
        Err(self.not_granted("grant access to", &request.write_prefix))
    }
}

/// HTTPS with the system's roots on ring, and plain HTTP for S3-compatible servers inside a network.
fn https_client() -> Result<Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|error| request_error("set up TLS for", "the grant", error.to_string()))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

fn get(url: &str, key: &str) -> Result<Request<Full<Bytes>>> {
    Request::builder()
        .method(Method::GET)
        .uri(url)
        .body(Full::new(Bytes::new()))
        .map_err(|_| request_error("read", key, "its URL is not a valid URL".to_owned()))
}

/// Sends `request` and reads the whole answer. Errors name `key`, never the URL, which is a credential.
async fn send(
    http: &Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    request: Request<Full<Bytes>>,
    action: &'static str,
    key: &str,
) -> Result<(StatusCode, Bytes)> {
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let response = http
            .request(request)
            .await
            .map_err(|error| request_error(action, key, format!("no answer: {}", error_chain(&error))))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|error| request_error(action, key, format!("the answer broke off: {error}")))?
            .to_bytes();
        Ok((status, body))
    })
    .await;
    answer.unwrap_or_else(|_| {
        Err(request_error(
            action,
            key,
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
        ))
    })
}

fn request_error(action: &'static str, key: &str, reason: String) -> ArtifactError {
    ArtifactError::GrantRequest {
        action,
        key: key.to_owned(),
        reason,
    }
}

/// S3's refusal, with its error code and message when the body is S3's XML.
fn refused(action: &'static str, key: &str, status: StatusCode, body: &[u8]) -> ArtifactError {
    let body = String::from_utf8_lossy(body);
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body.get(start..)?.find(&format!("</{name}>"))?;
        body.get(start..start + end).map(str::to_owned)
    };
    let code = element("Code").unwrap_or_else(|| "no error code".to_owned());
    let message = element("Message").unwrap_or_default();
    let hint = match code.as_str() {
        "AccessDenied" | "ExpiredToken" | "InvalidAccessKeyId" => {
            "; the grant has expired or does not cover this key: the controller makes a new one for the next attempt"
        }
        _ => "",
    };
    request_error(
        action,
        key,
        format!("{code} (HTTP {}): {message}{hint}", status.as_u16()),
    )
}

/// A URL as it may be shown: without its query, where a presigned URL keeps its signature.
pub(crate) fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(before, _)| before)
}

/// A `multipart/form-data` body: `key`, the policy's fields, then the bytes as `file` (S3 ignores
/// fields after the file). Returns the content type, which names the boundary, and the body.
fn multipart(object_key: &str, fields: &BTreeMap<String, String>, bytes: &[u8]) -> (String, Vec<u8>) {
    // A boundary must not occur in the content; a counter finds one that does not, deterministically.
    let boundary = (0u32..)
        .map(|n| format!("appgen-upload-boundary-{n}"))
        .find(|boundary| !contains(bytes, boundary.as_bytes()))
        .unwrap_or_default();
    let mut body = Vec::with_capacity(bytes.len() + 2048);
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    };
    field("key", object_key);
    for (name, value) in fields {
        field(name, value);
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 24 * 60 * 60;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn signer(session_token: Option<&str>) -> Signer<'_> {
        Signer {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token,
            region: "us-east-1",
        }
    }

    fn policy(fields: &BTreeMap<String, String>) -> serde_json::Value {
        serde_json::from_slice(&BASE64.decode(&fields["policy"]).unwrap()).unwrap()
    }

    #[test]
    fn the_policy_allows_only_keys_under_the_prefix_in_the_bucket_until_it_expires() {
        // 2015-12-29T00:00:00Z, the date of AWS's own POST policy example.
        let now = at(16_798 * DAY);
        let fields = post_policy_fields(
            signer(None),
            "sigv4examplebucket",
            "root/generations/ns/todo/u1/",
            now,
            at(16_798 * DAY + 3600),
        );
        let policy = policy(&fields);
        assert_eq!(policy["expiration"], "2015-12-29T01:00:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        for expected in [
            json!({ "bucket": "sigv4examplebucket" }),
            json!(["starts-with", "$key", "root/generations/ns/todo/u1/"]),
            json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
            json!({ "x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request" }),
            json!({ "x-amz-date": "20151229T000000Z" }),
        ] {
            assert!(conditions.contains(&expected), "{expected} in {conditions:?}");
        }
        assert_eq!(
            fields["x-amz-credential"],
            "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"
        );
        assert_eq!(fields["x-amz-date"], "20151229T000000Z");
        assert!(!fields.contains_key("x-amz-security-token"));
    }

    #[test]
    fn the_signature_is_sigv4_of_the_encoded_policy_with_the_days_signing_key() {
        let now = at(16_798 * DAY);
        let fields = post_policy_fields(signer(None), "b", "p/", now, at(16_798 * DAY + 60));
        // The signing key for 20151229/us-east-1/s3 with AWS's example secret, as AWS's
        // documentation derives it (kSecret → kDate → kRegion → kService → kSigning).
        let key = aws_sigv4::sign::v4::generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            now,
            "us-east-1",
            "s3",
        );
        assert_eq!(
            fields["x-amz-signature"],
            aws_sigv4::sign::v4::calculate_signature(key, fields["policy"].as_bytes())
        );
        let other_day = post_policy_fields(signer(None), "b", "p/", at(16_799 * DAY), at(16_799 * DAY + 60));
        assert_ne!(fields["x-amz-signature"], other_day["x-amz-signature"]);
    }

    #[test]
    fn temporary_credentials_carry_their_session_token_in_the_policy_and_the_fields() {
        let fields = post_policy_fields(signer(Some("token-1")), "b", "p/", at(0), at(60));
        assert_eq!(fields["x-amz-security-token"], "token-1");
        let conditions = policy(&fields)["conditions"].clone();
        assert!(
            conditions
                .as_array()
                .unwrap()
                .contains(&json!({ "x-amz-security-token": "token-1" }))
        );
    }

    #[test]
    fn the_multipart_body_puts_the_key_first_and_the_file_last_with_a_boundary_not_in_the_content() {
        let fields = BTreeMap::from([("policy".to_owned(), "cG9saWN5".to_owned())]);
        let content = b"--appgen-upload-boundary-0 is in here";
        let (content_type, body) = multipart("generations/a/b/c/x.json", &fields, content);
        assert_eq!(
            content_type,
            "multipart/form-data; boundary=appgen-upload-boundary-1"
        );
        let text = String::from_utf8_lossy(&body);
        let key = text.find("name=\"key\"").unwrap();
        let policy = text.find("name=\"policy\"").unwrap();
        let file = text.find("name=\"file\"").unwrap();
        assert!(key < policy && policy < file, "{text}");
        assert!(text.ends_with("--appgen-upload-boundary-1--\r\n"));
        assert!(contains(&body, content));
    }

    #[test]
    fn a_grant_shows_its_keys_but_never_its_urls_or_fields() {
        let grant = Grant {
            store: "s3://b".to_owned(),
            input: "generations/a/b/c/input.json".to_owned(),
            expires: "2015-12-29T01:00:00Z".to_owned(),
            read_prefixes: vec![],
            reads: BTreeMap::from([(
                "generations/a/b/c/input.json".to_owned(),
                "https://b.s3.amazonaws.com/x?X-Amz-Signature=secret-signature".to_owned(),
            )]),
            upload: Upload {
                url: "https://b.s3.amazonaws.com/".to_owned(),
                prefix: "generations/a/b/c/".to_owned(),
                object_prefix: "generations/a/b/c/".to_owned(),
                fields: BTreeMap::from([("x-amz-security-token".to_owned(), "secret-token".to_owned())]),
            },
        };
        let shown = format!("{grant:?}");
        assert!(shown.contains("generations/a/b/c/input.json"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn refusals_name_s3s_code_and_message_and_how_to_recover() {
        let error = refused(
            "write",
            "generations/a/b/c/x",
            StatusCode::FORBIDDEN,
            b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy</Message></Error>",
        );
        let text = error.to_string();
        assert!(
            text.contains("AccessDenied (HTTP 403): Invalid according to Policy"),
            "{text}"
        );
        assert!(text.contains("next attempt"), "{text}");
    }
}
