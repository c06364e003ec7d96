//! Bad input gets a clear `kind: Status` error and never takes the server down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Server;
use serde_json::{Value, json};

const GENS: &str = "/apis/appgen.dev/v1alpha1/namespaces/default/generations";

fn status(code: u16, body: &str) -> Value {
    let status: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{code}: not a Status ({e}): {body}"));
    assert_eq!(status["kind"], "Status", "{body}");
    assert_eq!(status["code"], code, "{body}");
    assert_eq!(status["status"], "Failure", "{body}");
    status
}

fn manifest(spec: Value) -> Vec<u8> {
    json!({"apiVersion": "appgen.dev/v1alpha1", "kind": "Generation", "metadata": {"name": "bad"}, "spec": spec})
        .to_string()
        .into_bytes()
}

#[test]
fn schema_violations_are_422_invalid_naming_every_failing_field() {
    let server = Server::start();
    let body = manifest(json!({
        "prompt": "",
        "app": "Not_A_Label",
        "retries": 11,
        "timeoutSeconds": 30,
        "agent": {"name": "gpt", "maxBudgetUsd": 0},
    }));
    let (code, body) = server.http("POST", GENS, "application/json", &body);
    let status = status(code, &body);
    assert_eq!(code, 422);
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "Generation");
    assert_eq!(status["details"]["group"], "appgen.dev");
    let fields: Vec<&str> = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    for field in [
        "spec.prompt",
        "spec.app",
        "spec.retries",
        "spec.timeoutSeconds",
        "spec.agent.name",
        "spec.agent.maxBudgetUsd",
    ] {
        assert!(
            fields.contains(&field),
            "{field} is named among the causes: {fields:?}"
        );
        assert!(
            status["message"].as_str().unwrap().contains(field),
            "the message names {field}"
        );
    }
    let (code, _) = server.http("GET", &format!("{GENS}/bad"), "application/json", b"");
    assert_eq!(code, 404, "nothing was stored");
}

#[test]
fn a_missing_prompt_and_an_oversized_prompt_are_rejected() {
    let server = Server::start();
    let (code, body) = server.http("POST", GENS, "application/json", &manifest(json!({"app": "x"})));
    assert_eq!(code, 422);
    assert!(
        status(code, &body)["message"]
            .as_str()
            .unwrap()
            .contains("spec.prompt: Required value"),
        "{body}"
    );
    let (code, body) = server.http(
        "POST",
        GENS,
        "application/json",
        &manifest(json!({"prompt": "x".repeat(65_537)})),
    );
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("spec.prompt"));
    let (code, body) = server.http(
        "POST",
        GENS,
        "application/json",
        &manifest(json!({"prompt": "é".repeat(65_536)})),
    );
    assert_eq!(code, 201, "a prompt of exactly 64 Ki characters fits: {body}");
}

#[test]
fn unknown_resources_and_names_are_404() {
    let server = Server::start();
    for path in [
        "/apis/appgen.dev/v1alpha1/namespaces/default/widgets",
        "/apis/nope.dev/v1/namespaces/default/generations",
        &format!("{GENS}/missing"),
        &format!("{GENS}/missing/status"),
        &format!("{GENS}/x/scale"),
        "/apis/appgen.dev/v9",
        "/api/v1/nowhere",
    ] {
        let (code, body) = server.http("GET", path, "application/json", b"");
        assert_eq!(code, 404, "{path}: {body}");
        assert_eq!(status(code, &body)["reason"], "NotFound");
    }
    // Other paths are the web UI's, which routes in the browser; only GETs reach it.
    let (code, body) = server.http("GET", "/nowhere", "text/html", b"");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("<div id=\"root\">"), "{body}");
    let (code, _) = server.http("POST", "/nowhere", "application/json", b"{}");
    assert_eq!(code, 404);
    let (code, body) = server.http("GET", &format!("{GENS}/missing"), "application/json", b"");
    assert_eq!(
        status(code, &body)["message"],
        "generations.appgen.dev \"missing\" not found"
    );
}

#[test]
fn malformed_json_and_yaml_are_400() {
    let server = Server::start();
    for (content_type, body) in [
        ("application/json", &b"{\"apiVersion\": "[..]),
        ("application/json", b"[1, 2, 3]"),
        ("application/json", b"\xff\xfe"),
        ("application/yaml", b"spec: [unclosed"),
        ("application/json", b""),
    ] {
        let (code, text) = server.http("POST", GENS, content_type, body);
        assert_eq!(
            code,
            400,
            "{content_type} {:?}: {text}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(status(code, &text)["reason"], "BadRequest");
    }
    let (code, text) = server.http(
        "PATCH",
        &format!("{GENS}/x"),
        "application/json-patch+json",
        b"{\"op\": 1}",
    );
    assert!(code == 400 || code == 404, "{text}");
}

#[test]
fn bodies_over_3_mib_are_413() {
    let server = Server::start();
    let huge = manifest(json!({"prompt": "x".repeat(3 * 1024 * 1024 + 10)}));
    let (code, body) = server.http("POST", GENS, "application/json", &huge);
    assert_eq!(code, 413);
    assert_eq!(status(code, &body)["reason"], "RequestEntityTooLarge");
}

#[test]
fn unsupported_patch_types_and_media_are_named() {
    let server = Server::start();
    server.http(
        "POST",
        GENS,
        "application/json",
        &manifest(json!({"prompt": "p"})),
    );
    let (code, body) = server.http(
        "PATCH",
        &format!("{GENS}/bad"),
        "application/strategic-merge-patch+json",
        b"{}",
    );
    assert_eq!(code, 415);
    assert!(
        status(code, &body)["message"]
            .as_str()
            .unwrap()
            .contains("application/merge-patch+json")
    );
    let request = format!(
        "GET {GENS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nAccept: application/vnd.kubernetes.protobuf\r\nConnection: close\r\n\r\n",
        server.token
    );
    let (code, body) = common::parse_response(&server.raw(&request).unwrap());
    assert_eq!(code, 406);
    status(code, &body);
}

#[test]
fn a_stale_update_is_409_conflict_and_changes_nothing() {
    let server = Server::start();
    let (_, created) = server.http(
        "POST",
        GENS,
        "application/json",
        &manifest(json!({"prompt": "first"})),
    );
    let mut stale: Value = serde_json::from_str(&created).unwrap();
    server.http(
        "PATCH",
        &format!("{GENS}/bad"),
        "application/merge-patch+json",
        br#"{"spec":{"prompt":"second"}}"#,
    );
    stale["spec"]["prompt"] = json!("third");
    let (code, body) = server.http(
        "PUT",
        &format!("{GENS}/bad"),
        "application/json",
        stale.to_string().as_bytes(),
    );
    assert_eq!(code, 409);
    assert_eq!(status(code, &body)["reason"], "Conflict");
    let (_, now) = server.http("GET", &format!("{GENS}/bad"), "application/json", b"");
    assert_eq!(
        serde_json::from_str::<Value>(&now).unwrap()["spec"]["prompt"],
        "second"
    );
}

/// xorshift64*: a small deterministic generator, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn random_body(rng: &mut Rng) -> Vec<u8> {
    let valid =
        manifest(json!({"prompt": "a todo app", "app": "todo", "retries": 2, "agent": {"name": "scaffold"}}));
    match rng.below(8) {
        0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        1 => valid[..rng.below(valid.len())].to_vec(),
        2 => format!("{}{}", "[".repeat(rng.below(5000)), "]".repeat(rng.below(5000))).into_bytes(),
        3 => br#"{"apiVersion":"appgen.dev/v1alpha1","kind":"Generation","metadata":{"name":"f","labels":{"-bad":"x"}},"spec":{"prompt":1e999}}"#.to_vec(),
        4 => br#"[{"op":"replace","path":"/spec/prompt"},{"op":"remove","path":"/metadata"},{"op":"move","from":"/a","path":"/a/b"}]"#.to_vec(),
        5 => b"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n".to_vec(),
        6 => {
            let mut v = valid.clone();
            for _ in 0..rng.below(6) {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            v
        }
        _ => json!({"metadata": {"name": "f", "finalizers": [1, {}], "ownerReferences": "x", "managedFields": 3},
                    "spec": {"prompt": ["list"], "retries": "many", "agent": null, "blueprint": {"entities": "none"}},
                    "status": {"phase": 7}})
        .to_string()
        .into_bytes(),
    }
}

/// Sends `partial` and closes the sending side, as a client that dies mid-request does.
fn hang_up_after(server: &Server, partial: &str) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&server.address).unwrap();
    stream.write_all(partial.as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = stream.read_to_end(&mut Vec::new());
}

#[test]
fn random_and_truncated_requests_at_every_route_never_take_the_server_down() {
    let server = Server::start();
    server.http(
        "POST",
        GENS,
        "application/json",
        &manifest(json!({"prompt": "existing"})),
    );
    let paths = [
        "/version",
        "/api",
        "/apis",
        "/api/v1",
        "/apis/appgen.dev",
        "/apis/appgen.dev/v1alpha1",
        "/apis/appgen.dev/v1alpha1/generations",
        GENS,
        "/apis/appgen.dev/v1alpha1/namespaces/default/generations/bad",
        "/apis/appgen.dev/v1alpha1/namespaces/default/generations/bad/status",
        "/apis/appgen.dev/v1alpha1/namespaces/default/generations/new",
        "/api/v1/namespaces/default/events",
        "/api/v1/namespaces/default/events/e1",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        "/openapi/v3",
        "/openapi/v3/apis/appgen.dev/v1alpha1",
        "/apis/appgen.dev/v1alpha1/namespaces/Bad_NS/generations",
        "/apis/appgen.dev/v1alpha1/namespaces/default/generations/..%2F..%2Fetc",
    ];
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
    let media = [
        "application/json",
        "application/yaml",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
        "application/strategic-merge-patch+json",
        "text/plain",
        "",
    ];
    let queries = [
        "",
        "?labelSelector=a%20in%20(",
        "?labelSelector=%zz",
        "?fieldSelector=spec.nope%3Dx",
        "?limit=-1",
        "?limit=99999999999999999999999",
        "?continue=garbage",
        "?resourceVersion=abc",
        "?dryRun=Some",
        "?fieldManager=&force=maybe",
        "?fieldValidation=Loud",
        "?includeObject=Everything",
        "?&&&=&",
        "?fieldManager=fuzz&force=true",
        "?dryRun=All&fieldValidation=Strict",
    ];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for i in 0..1500 {
        let method = *rng.pick(&methods);
        let path = format!("{}{}", rng.pick(&paths), rng.pick(&queries));
        let content_type = *rng.pick(&media);
        let body = random_body(&mut rng);
        let response = server.raw_bytes(&{
            let mut r = format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                server.token,
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        });
        let response = response
            .unwrap_or_else(|| panic!("request {i} ({method} {path}) got no answer:\n{}", server.log()));
        let (code, text) = common::parse_response(&response);
        assert!(
            (200..500).contains(&code) && code != 0,
            "request {i} ({method} {path}, {content_type}) answered {code}: {text}"
        );
        if code >= 400 && method != "HEAD" && !path.starts_with("/nowhere") {
            let status: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
                panic!("request {i} ({method} {path}): {code} without a Status body: {text}")
            });
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["code"], code);
        }
    }
    // Truncated at the protocol level: a head that stops mid-way, and a body shorter than promised.
    hang_up_after(&server, "POST /apis HTTP/1.1\r\nContent-Le");
    hang_up_after(
        &server,
        &format!(
            "POST {GENS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{\"a\"",
            server.token
        ),
    );
    let after = json!({"metadata": {"name": "after-barrage"}, "spec": {"prompt": "still serving"}});
    let (code, body) = server.http("POST", GENS, "application/json", after.to_string().as_bytes());
    assert_eq!(
        code, 201,
        "the server still creates objects after the barrage: {body}"
    );
    let (code, _) = server.http("GET", "/healthz", "application/json", b"");
    assert_eq!(code, 200);
}
