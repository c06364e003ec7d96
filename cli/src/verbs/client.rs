//! The REST API over HTTP(S): the only part of the verbs that talks to the server. What an error
//! answer means is decided by `refusal`, a pure function.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Error;
use super::target::Target;

/// Long enough for a server on the other side of the world, short enough to tell a dead one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a plain request (not an event stream) may take, download included.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// A whole answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Who a token belongs to, as `/api/v1/auth/me` answers.
#[derive(Debug, Deserialize)]
pub struct Me {
    pub namespace: String,
    /// None for the admin token, which is no account.
    pub user: Option<Account>,
}

#[derive(Debug, Deserialize)]
pub struct Account {
    pub username: String,
}

/// A client of one server, sending one bearer token (or none, to sign in).
#[derive(Debug, Clone)]
pub struct Client {
    server: String,
    token: Option<String>,
    /// Where the token came from, for error messages; None for a client without one.
    token_source: Option<String>,
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    pub fn new(target: &Target) -> Result<Client, Error> {
        let mut client = Client::anonymous(&target.server, target.ca_pem.as_deref())?;
        client.token = Some(target.token.clone());
        client.token_source = Some(target.token_source.clone());
        Ok(client)
    }

    /// A client with no token, trusting the system's roots and `ca_pem`.
    pub fn anonymous(server: &str, ca_pem: Option<&str>) -> Result<Client, Error> {
        // The system's roots even for an http server: a download may be redirected to https
        // object storage.
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if let Some(pem) = ca_pem {
            roots.add_parsable_certificates(CertificateDer::pem_slice_iter(pem.as_bytes()).flatten());
        }
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Unreachable {
                    server: server.to_owned(),
                    reason: format!("setting up TLS: {e}"),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client {
            server: server.to_owned(),
            token: None,
            token_source: None,
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    fn unreachable(&self, error: &dyn std::error::Error) -> Error {
        Error::Unreachable {
            server: self.server.clone(),
            reason: innermost(error),
        }
    }

    /// Sends one request to `url`; the token goes only to this client's own server.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<http::Response<Incoming>, Error> {
        let mut request = Request::builder().method(method).uri(url);
        let own = url
            .strip_prefix(&self.server)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if let Some(token) = self.token.as_deref().filter(|_| own) {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(json) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Full::from(json.to_string())
            }
            None => Full::default(),
        };
        let request = request
            .body(body)
            .map_err(|e| Error::Usage(format!("{url} is not a URL appgen can request: {e}")))?;
        self.http.request(request).await.map_err(|e| self.unreachable(&e))
    }

    /// One request and its whole answer, whatever its status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Error> {
        self.send_to(method, &format!("{}{path}", self.server), body, headers)
            .await
    }

    async fn send_to(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, Error> {
        let exchange = async {
            let response = self.call(method, url, body, headers).await?;
            let (parts, incoming) = response.into_parts();
            let body = incoming
                .collect()
                .await
                .map_err(|e| self.unreachable(&e))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(ANSWER_TIMEOUT, exchange)
            .await
            .map_err(|_| Error::Unreachable {
                server: self.server.clone(),
                reason: format!("no whole answer within {} s", ANSWER_TIMEOUT.as_secs()),
            })?
    }

    /// The answer when it is a success, else the error it describes.
    pub fn check(&self, answer: Answer, doing: &str) -> Result<Answer, Error> {
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(refusal(
                doing,
                answer.status.as_u16(),
                &answer.body,
                &self.server,
                self.token_source.as_deref(),
            ))
        }
    }

    /// A successful JSON answer to one request.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        doing: &str,
    ) -> Result<Value, Error> {
        let answer = self.send(method, path, body, &[]).await?;
        let answer = self.check(answer, doing)?;
        serde_json::from_slice(&answer.body).map_err(|e| Error::BadAnswer {
            doing: doing.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Who this client's token belongs to, and the namespace of their generations.
    pub async fn me(&self, doing: &str) -> Result<Me, Error> {
        let me = self.json(Method::GET, "/api/v1/auth/me", None, doing).await?;
        parse(&me, doing)
    }

    /// A request whose successful answer has nothing to read (`204`).
    pub async fn act(&self, method: Method, path: &str, doing: &str) -> Result<(), Error> {
        let answer = self.send(method, path, None, &[]).await?;
        self.check(answer, doing).map(|_| ())
    }

    /// A file's bytes, following the server's redirect to object storage.
    pub async fn download(&self, path: &str, doing: &str) -> Result<Bytes, Error> {
        let mut answer = self.send(Method::GET, path, None, &[]).await?;
        if answer.status.is_redirection()
            && let Some(location) = answer.headers.get(LOCATION).and_then(|l| l.to_str().ok())
        {
            let url = if location.starts_with('/') {
                format!("{}{location}", self.server)
            } else {
                location.to_owned()
            };
            answer = self.send_to(Method::GET, &url, None, &[]).await?;
        }
        self.check(answer, doing).map(|a| a.body)
    }

    /// A generation's event stream, resumed after `last_event_id`.
    pub async fn events(
        &self,
        path: &str,
        last_event_id: Option<&str>,
        doing: &str,
    ) -> Result<Incoming, Error> {
        let mut headers = vec![(ACCEPT.as_str(), "text/event-stream")];
        if let Some(id) = last_event_id {
            headers.push(("last-event-id", id));
        }
        let response = self
            .call(Method::GET, &format!("{}{path}", self.server), None, &headers)
            .await?;
        if response.status().is_success() {
            return Ok(response.into_body());
        }
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Err(refusal(
            doing,
            status.as_u16(),
            &body,
            &self.server,
            self.token_source.as_deref(),
        ))
    }
}

/// `value` as the type a verb reads it as.
pub fn parse<T: DeserializeOwned>(value: &Value, doing: &str) -> Result<T, Error> {
    T::deserialize(value).map_err(|e| Error::BadAnswer {
        doing: doing.to_owned(),
        reason: e.to_string(),
    })
}

/// The deepest cause of an error: "Connection refused (os error 111)" rather than "client error
/// (Connect)".
fn innermost(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// The flag of `appgen new` that sets a request field, so errors name what the user typed.
fn flag_of(field: &str) -> Option<&'static str> {
    match field {
        "prompt" => Some("the prompt"),
        "app" => Some("--app"),
        "agent.name" => Some("--agent"),
        "agent.maxBudgetUsd" => Some("--budget"),
        _ => None,
    }
}

/// The error an answer with `status` and `body` describes: the server's own message (which says
/// what to do), the field at fault, and for a refused token how to get a valid one.
pub fn refusal(doing: &str, status: u16, body: &[u8], server: &str, token_source: Option<&str>) -> Error {
    let detail = serde_json::from_slice::<Value>(body).ok();
    let detail = detail.as_ref().map(|v| &v["error"]);
    let text = |key: &str| detail.and_then(|d| d[key].as_str()).map(str::to_owned);
    let message = match (text("message"), text("field")) {
        (Some(message), Some(field)) => {
            format!("{}: {message}", flag_of(&field).unwrap_or(&field))
        }
        (Some(message), None) => message,
        (None, _) => format!(
            "HTTP {status} {}",
            StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or_default()
        ),
    };
    match (status, token_source) {
        (401, Some(token_source)) => Error::Unauthorized {
            server: server.to_owned(),
            token_source: token_source.to_owned(),
            message,
        },
        (404, _) if message.starts_with("generation ") => Error::Refused {
            doing: doing.to_owned(),
            status,
            message: format!("{message}; `appgen get` lists yours"),
        },
        _ => Error::Refused {
            doing: doing.to_owned(),
            status,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_become_errors_that_say_what_to_do() {
        let body = |code: &str, message: &str, field: Option<&str>| {
            serde_json::json!({"error": {"code": code, "message": message, "field": field}}).to_string()
        };
        let cases = [
            (
                401,
                body("unauthorized", "sign in", None),
                "http://s did not accept the token from APPGEN_TOKEN (sign in): run `appgen login --server http://s`, or set APPGEN_TOKEN to a valid token",
            ),
            (
                404,
                body("not_found", "generation default/nope not found", None),
                "getting nope: generation default/nope not found; `appgen get` lists yours",
            ),
            (
                422,
                body(
                    "invalid",
                    "must be more than 0 and at most 1000",
                    Some("agent.maxBudgetUsd"),
                ),
                "getting nope: --budget: must be more than 0 and at most 1000",
            ),
            (
                422,
                body("invalid", "must be from 60 to 86400", Some("timeoutSeconds")),
                "getting nope: timeoutSeconds: must be from 60 to 86400",
            ),
            (
                502,
                "<html>bad gateway</html>".to_owned(),
                "getting nope: HTTP 502 Bad Gateway",
            ),
        ];
        for (status, body, expected) in cases {
            let error = refusal(
                "getting nope",
                status,
                body.as_bytes(),
                "http://s",
                Some("the token from APPGEN_TOKEN"),
            );
            assert_eq!(error.to_string(), expected, "{status}");
        }
        let wrong_password = refusal(
            "signing in",
            401,
            body("bad_credentials", "wrong username or password", None).as_bytes(),
            "http://s",
            None,
        );
        assert_eq!(
            wrong_password.to_string(),
            "signing in: wrong username or password"
        );
        assert_eq!(wrong_password.exit(), super::super::Exit::Auth);
    }
}
