//! Routing by `Host` on serve's port: a request for a preview address
//! (`<app>--<namespace>.localhost:<port>`) goes to that app's process on loopback, streamed both
//! ways; every other request goes to serve's own routes, unchanged.
//!
//! A preview that is not serving yet is answered at once with a short page that says why and
//! reloads itself, rather than holding the request until the app is up: laying out, installing and
//! building an app takes seconds, a held request shows a person nothing meanwhile, and an API
//! client understands `503` with `Retry-After`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use appgen_controller::preview::{Lookup, Previews, Route};
use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;

/// How often the waiting page reloads itself, and what `Retry-After` says.
const RETRY_SECONDS: u64 = 2;
/// How long the app's process may take to accept a connection; it runs on this machine.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Headers that describe one connection, not the message: never forwarded (RFC 9110, 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

struct Proxy {
    previews: Previews,
    inner: Router,
    client: Client<HttpConnector, Body>,
    /// `Content-Security-Policy: frame-ancestors …`, so appgen's UI may show the app in a frame.
    frame_ancestors: HeaderValue,
}

/// The previews to route to, and the origins (besides each app's own) that may show one in a frame.
#[derive(Debug)]
pub struct HostRouting {
    pub previews: Previews,
    pub frame_ancestors: Vec<String>,
}

impl HostRouting {
    /// Wraps serve's router: preview hosts are proxied, everything else reaches `inner` as it was.
    pub fn around(self, inner: Router) -> Router {
        route_by_host(inner, self.previews, &self.frame_ancestors)
    }
}

fn route_by_host(inner: Router, previews: Previews, frame_ancestors: &[String]) -> Router {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    let policy = format!("frame-ancestors 'self' {}", frame_ancestors.join(" "));
    let proxy = Arc::new(Proxy {
        previews,
        inner,
        client: Client::builder(TokioExecutor::new()).build(connector),
        frame_ancestors: HeaderValue::from_str(policy.trim_end())
            .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'self'")),
    });
    Router::new().fallback_service(tower::service_fn(move |request: Request<Body>| {
        let proxy = proxy.clone();
        async move { Ok::<_, Infallible>(proxy.handle(request).await) }
    }))
}

impl Proxy {
    async fn handle(&self, request: Request<Body>) -> Response {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        match self.previews.lookup(host) {
            Lookup::NotPreview => match self.inner.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            Lookup::Unknown { label } => self.page(
                StatusCode::NOT_FOUND,
                &format!("No app at {label}"),
                "No delivered app of that name and namespace is previewed here. The address is \
                 http://<app>--<namespace>.localhost:<port>/, as status.outputs.url gives it.",
            ),
            Lookup::Found {
                label,
                route: Route::Ready { port },
            } => {
                self.previews.visit(&label, false);
                self.forward(request, port, &label).await
            }
            Lookup::Found {
                label,
                route: Route::Waiting { title, detail },
            } => {
                self.previews.visit(&label, true);
                self.page(StatusCode::SERVICE_UNAVAILABLE, &title, &detail)
            }
        }
    }

    /// Sends the request to the app on `port` and streams its answer back.
    async fn forward(&self, request: Request<Body>, port: u16, label: &str) -> Response {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let Ok(uri) = format!("http://127.0.0.1:{port}{path}").parse::<Uri>() else {
            return self.page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The path cannot be forwarded.",
            );
        };
        parts.uri = uri;
        parts.version = http::Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        // The app sees the address people used (its Host is kept) and that it came through a proxy.
        parts.headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("http"),
        );
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                self.framable(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Err(e) if e.is_connect() => {
                // The process went away since the executor last looked: it notices and restarts it.
                self.previews.visit(label, true);
                self.page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("{label} is restarting"),
                    "The app's process is not answering; appgen is starting it again.",
                )
            }
            Err(e) => {
                tracing::debug!(error = %e, %label, "a preview request failed");
                self.page(
                    StatusCode::BAD_GATEWAY,
                    "The app broke off its answer",
                    "The app's process closed the connection before it finished answering.",
                )
            }
        }
    }

    /// Lets appgen's own pages show the preview in a frame, and no one else's: a framing ban from
    /// the app goes, and the policy names who may frame it.
    fn framable(&self, headers: &mut HeaderMap) {
        headers.remove(HeaderName::from_static("x-frame-options"));
        headers.append(header::CONTENT_SECURITY_POLICY, self.frame_ancestors.clone());
    }

    /// A short page of serve's own, reloading itself while the app is not ready.
    fn page(&self, status: StatusCode, title: &str, detail: &str) -> Response {
        let retry = status == StatusCode::SERVICE_UNAVAILABLE;
        let refresh = if retry {
            format!("<meta http-equiv=\"refresh\" content=\"{RETRY_SECONDS}\">")
        } else {
            String::new()
        };
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{refresh}\
             <title>{title}</title></head>\n<body><h1>{title}</h1>\n<p>{detail}</p></body></html>\n",
            title = escape(title),
            detail = escape(detail)
        );
        let mut response = (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_SECONDS));
        }
        self.framable(response.headers_mut());
        response
    }
}

/// Removes the hop-by-hop headers, and any the `Connection` header names as such.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    // Upgrades (WebSocket) would need the connection itself handed over, which this proxy does not do.
    headers.remove(header::UPGRADE);
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_not_forwarded() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-session-hop"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("x-session-hop", "1"),
            ("content-type", "application/json"),
            ("cookie", "a=1"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["content-type", "cookie"]);
    }

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(
            escape("<b>\"a\" & b</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; b&lt;/b&gt;"
        );
    }
}
