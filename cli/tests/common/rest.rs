//! A client of the REST API as a browser or a script uses it: a session cookie with its CSRF
//! token, or a bearer token; and a reader of its Server-Sent Events.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The first value of a header, by its lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim().eq_ignore_ascii_case(name)).then(|| v.trim())
        })
    }

    /// The `error.field` of an error answer.
    pub fn field(&self) -> String {
        self.json()["error"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A caller: anonymous, a signed-in browser, or a bearer token.
#[derive(Clone, Debug)]
pub struct Rest {
    pub address: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
    pub user: Value,
}

impl Rest {
    /// A caller with no credentials, of the server at `address` (`127.0.0.1:PORT`).
    pub fn anonymous(address: &str) -> Rest {
        Rest {
            address: address.to_owned(),
            cookie: None,
            csrf: None,
            bearer: None,
            user: Value::Null,
        }
    }

    pub fn bearer(address: &str, token: &str) -> Rest {
        Rest {
            bearer: Some(token.to_owned()),
            ..Rest::anonymous(address)
        }
    }

    /// Signs `username` up and returns the signed-in browser. Panics unless the account is active.
    pub fn sign_up(address: &str, username: &str) -> Rest {
        Rest::session(address, "signup", username, 201)
    }

    pub fn sign_in(address: &str, username: &str) -> Rest {
        Rest::session(address, "login", username, 200)
    }

    fn session(address: &str, route: &str, username: &str, expected: u16) -> Rest {
        let reply = Rest::anonymous(address).post(
            &format!("/api/v1/auth/{route}"),
            json!({"username": username, "password": PASSWORD}),
        );
        assert_eq!(reply.status, expected, "{}", reply.body);
        Rest::anonymous(address).with_session(&reply)
    }

    /// This client carrying the session a sign-up or sign-in answered with.
    pub fn with_session(mut self, reply: &Reply) -> Rest {
        let cookie = reply.header("set-cookie").expect("a session cookie");
        self.cookie = Some(cookie.split(';').next().unwrap().to_owned());
        let body = reply.json();
        self.csrf = body["csrfToken"].as_str().map(str::to_owned);
        self.user = body["user"].clone();
        self
    }

    pub fn namespace(&self) -> String {
        self.user["namespace"].as_str().unwrap().to_owned()
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Reply {
        self.call("POST", path, Some(body))
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.call("DELETE", path, None)
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(method, path, &[], "application/json", body.as_bytes())
    }

    /// One request with this caller's credentials and `extra` headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let response =
            String::from_utf8_lossy(&self.exchange_bytes(method, path, extra, content_type, body, 30))
                .into_owned();
        let (status, body) = parse_response(&response);
        let head = response.split("\r\n\r\n").next().unwrap_or_default().to_owned();
        Reply { status, head, body }
    }

    /// The whole response, head and body, as the server sent it.
    pub fn exchange_bytes(
        &self,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
        timeout_seconds: u64,
    ) -> Vec<u8> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.address,
            body.len()
        );
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(csrf) = &self.csrf {
            head.push_str(&format!("X-CSRF-Token: {csrf}\r\n"));
        }
        if let Some(token) = &self.bearer {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let Ok(mut stream) = TcpStream::connect(&self.address) else {
            return Vec::new();
        };
        if stream.write_all(&request).is_err() {
            return Vec::new();
        }
        // Reads until the server closes or the time is up, however steadily bytes arrive.
        let deadline = Instant::now() + Duration::from_secs(timeout_seconds);
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        out
    }

    /// Creates a Generation from `prompt` and returns its view.
    pub fn create(&self, prompt: &str) -> Value {
        let reply = self.post("/api/v1/generations", json!({"prompt": prompt}));
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.json()
    }

    /// The Server-Sent Events of a generation from `last_event_id` on, until the server ends the
    /// stream (after `outcome`) or goes away, or `timeout_seconds` pass.
    pub fn events(&self, path: &str, last_event_id: Option<&str>, timeout_seconds: u64) -> Vec<Sse> {
        let extra: Vec<(&str, &str)> = last_event_id
            .map(|id| ("Last-Event-ID", id))
            .into_iter()
            .collect();
        let response = String::from_utf8_lossy(&self.exchange_bytes(
            "GET",
            path,
            &extra,
            "text/plain",
            b"",
            timeout_seconds,
        ))
        .into_owned();
        let (_, body) = parse_response(&response);
        parse_sse(&body)
    }
}

/// One Server-Sent Event.
#[derive(Clone, Debug, PartialEq)]
pub struct Sse {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// The complete events in a stream's text; a cut-off last one is dropped, as a browser would.
pub fn parse_sse(text: &str) -> Vec<Sse> {
    let complete = match text.rfind("\n\n") {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .split("\n\n")
        .filter_map(|block| {
            let mut event = Sse {
                id: None,
                event: "message".to_owned(),
                data: String::new(),
            };
            let mut any = false;
            for line in block.lines() {
                let Some((field, value)) = line.split_once(':') else {
                    continue;
                };
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => event.id = Some(value.to_owned()),
                    "event" => event.event = value.to_owned(),
                    "data" => {
                        any = true;
                        event.data.push_str(value);
                    }
                    _ => {}
                }
            }
            any.then_some(event)
        })
        .collect()
}

/// Splits a raw HTTP/1.1 response into its status code and de-chunked body.
pub fn parse_response(response: &str) -> (u16, String) {
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    (code, if chunked { dechunk(body) } else { body.to_owned() })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
