//! The web UI, built by Vite into `ui/dist` and embedded in the binary, so `appgen serve` needs
//! no Node at run time. Every GET that is not a file and not an API path answers `index.html`,
//! which routes in the browser.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};
use include_dir::{Dir, include_dir};

use crate::Error;

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../ui/dist");

pub async fn serve(request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Error::NotFound(format!("{} {}", request.method(), request.uri().path())).into_response();
    }
    let path = request.uri().path().trim_start_matches('/');
    match DIST.get_file(path).filter(|_| !path.is_empty()) {
        // Vite names assets by their content's hash, so they never change under their name.
        Some(file) => asset(
            file.contents(),
            content_type(path),
            "public, max-age=31536000, immutable",
        ),
        None => match DIST.get_file("index.html") {
            Some(index) => asset(index.contents(), "text/html; charset=utf-8", "no-cache"),
            None => (StatusCode::NOT_FOUND, "this build has no web UI").into_response(),
        },
    }
}

fn asset(bytes: &'static [u8], content_type: &'static str, cache: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "webmanifest") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
