//! The JSON-over-HTTPS client the delivery APIs (GitHub, Fly Machines) share: the hyper/rustls
//! stack the tree already has through kube, with the system's roots and ring.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// One answer: its status, the headers delivery reads, and its JSON body (null when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub rate_limit_remaining: Option<String>,
    pub body: Value,
}

/// A client for one API root and one credential.
pub struct JsonClient {
    root: String,
    headers: Vec<(&'static str, String)>,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for JsonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonClient")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl JsonClient {
    /// A client for `root` that sends `headers` (the credential among them) with every request.
    pub fn new(root: &str, headers: Vec<(&'static str, String)>) -> Result<JsonClient, String> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("setting up TLS: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        // Plain http too: an API inside a network (GitHub Enterprise), and the contract fakes.
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(JsonClient {
            root: root.trim_end_matches('/').to_owned(),
            headers,
            http: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// Sends one request to `path` under the root; `Err` says why no answer came.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.root))
            .header("content-type", "application/json");
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let request = request.body(Full::new(bytes)).map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(Duration::from_secs(90), self.http.request(request))
            .await
            .map_err(|_| "no answer within 90 s".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let rate_limit_remaining = response
            .headers()
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            rate_limit_remaining,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        })
    }
}
