//! The whole way through on one machine: `kubectl apply -f examples/todo.yaml` (and crm.yaml) against
//! `appgen serve` (process backend, scaffold agent) ends Delivered, with the archive downloadable
//! with the admin token and the screenshot in the artifact store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use appgen_crd::{Generation, Phase};
use common::{Server, assert_every_gate_passed, ok, pnpm_store};
use kube::api::Api;

const TODO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/todo.yaml");
const CRM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/crm.yaml");

/// Polls until the Generation has finished, one way or another.
async fn finished(api: &Api<Generation>, name: &str) -> Generation {
    let started = Instant::now();
    loop {
        let g = api.get(name).await.unwrap();
        let phase = g.status.as_ref().and_then(|s| s.phase);
        if matches!(phase, Some(Phase::Delivered | Phase::Failed | Phase::Cancelled)) {
            return g;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{name} not finished after 10 minutes: {:?}",
            g.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A plain-HTTP GET, returning the status code and the raw body bytes.
fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
        server.address
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
        "{head}"
    );
    (code, response[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_todo_example_is_delivered_with_a_downloadable_archive() {
    let store = pnpm_store().display().to_string();
    let server = Server::start_with_controller(&["--pnpm-store", &store]);
    ok(server.kubectl(&["apply", "-f", TODO, "-f", CRM]));

    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let generation = finished(&api, "todo").await;
    let crm = finished(&api, "crm").await.status.unwrap();
    assert_eq!(crm.phase, Some(Phase::Delivered), "{crm:#?}");
    let title = crm.blueprint.and_then(|b| b.title);
    assert_eq!(
        title.as_deref(),
        Some("Freelance CRM"),
        "the given blueprint is used as written"
    );
    let status = generation.status.clone().unwrap();
    assert_eq!(
        status.phase,
        Some(Phase::Delivered),
        "{status:#?}\n{}",
        server.log()
    );

    assert_every_gate_passed(&status.verification);
    assert_eq!(status.blueprint.unwrap().entities[0].name, "Task");

    let outputs = status.outputs.unwrap();
    let url = outputs.archive_url.unwrap();
    let path = url
        .strip_prefix(&format!("http://{}", server.address))
        .unwrap_or_else(|| panic!("{url} is not on this server"));
    assert_eq!(path, "/api/v1/generations/default/todo/archive");
    let (code, archive) = get(&server, path, Some(&server.token));
    assert_eq!(code, 200);
    assert_eq!(Some(archive.len() as i64), outputs.size);
    assert!(archive.starts_with(&[0x1f, 0x8b]), "a gzip stream");
    let (code, _) = get(&server, path, None);
    assert_eq!(code, 401, "the archive needs the token");
    let (code, _) = get(&server, path, Some("wrong-token"));
    assert_eq!(code, 401);
    let (code, _) = get(
        &server,
        "/api/v1/generations/default/nope/archive",
        Some(&server.token),
    );
    assert_eq!(code, 404);

    let uid = generation.metadata.uid.unwrap();
    let shot = server
        .data_dir()
        .join("artifacts/generations/default/todo")
        .join(&uid)
        .join("screenshots/home.png");
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    let (code, png) = get(
        &server,
        "/api/v1/generations/default/todo/screenshots/home.png",
        Some(&server.token),
    );
    assert_eq!(code, 200);
    assert!(png.starts_with(b"\x89PNG"));

    // kubectl shows it as a person would look for it.
    let table = ok(server.kubectl(&["get", "gen", "todo"]));
    assert!(table.contains("Delivered"), "{table}");
}
