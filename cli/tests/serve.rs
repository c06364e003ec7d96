//! `appgen serve` as a process: start-up, the admin token, kubeconfig, health, shutdown, and
//! the committed CRD manifest.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{APPGEN, Server};

#[test]
fn the_committed_crd_manifest_equals_what_appgen_crd_prints() {
    let printed = Command::new(APPGEN).arg("crd").output().unwrap();
    assert!(printed.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../charts/appgen/crds/generations.appgen.dev.yaml"
    ))
    .unwrap();
    assert!(
        String::from_utf8_lossy(&printed.stdout) == committed,
        "charts/appgen/crds/generations.appgen.dev.yaml is stale: run `appgen crd > charts/appgen/crds/generations.appgen.dev.yaml`"
    );
}

#[test]
fn first_start_creates_an_admin_token_only_its_owner_can_read() {
    let server = Server::start();
    let mode = std::fs::metadata(server.data_dir().join("admin-token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        server.token.len() >= 40,
        "the token is long enough to resist guessing"
    );
}

#[test]
fn health_answers_without_a_token_and_the_api_demands_one() {
    let server = Server::start();
    let (code, body) = common::parse_response(
        &server
            .raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap(),
    );
    assert_eq!((code, body.as_str()), (200, "ok"));
    let (code, body) = common::parse_response(
        &server
            .raw("GET /apis HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap(),
    );
    assert_eq!(code, 401);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Unauthorized");
    let (code, _) = common::parse_response(
        &server
            .raw("GET /apis HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nConnection: close\r\n\r\n")
            .unwrap(),
    );
    assert_eq!(code, 401);
}

#[test]
fn the_admin_token_survives_a_restart_so_kubeconfigs_keep_working() {
    let mut server = Server::start();
    let token = server.token.clone();
    server.restart();
    assert_eq!(
        std::fs::read_to_string(server.data_dir().join("admin-token"))
            .unwrap()
            .trim(),
        token
    );
    common::ok(server.kubectl(&["get", "generations"]));
}

#[test]
fn sigterm_stops_the_server_cleanly_even_with_a_watch_open() {
    let mut server = Server::start();
    let mut watch = Command::new(common::kubectl())
        .arg("--kubeconfig")
        .arg(&server.kubeconfig)
        .args(["get", "generations", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        server.terminate(),
        "appgen serve exits 0 soon after SIGTERM:\n{}",
        server.log()
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

#[test]
fn kubeconfig_without_a_server_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(APPGEN)
        .args(["kubeconfig", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("appgen serve --data-dir"), "{err}");
}

#[test]
fn task_grants_without_an_s3_store_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(APPGEN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--task-access",
            "grant",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--task-access grant needs an S3 artifact store"),
        "{err}"
    );
}

#[test]
fn events_older_than_their_ttl_are_deleted() {
    let server = Server::start_with(&["--event-ttl-seconds", "1"]);
    let events = "/api/v1/namespaces/default/events";
    let event = serde_json::json!({
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "todo.launched"},
        "involvedObject": {"kind": "Generation", "name": "todo", "namespace": "default"},
        "reason": "Launched", "message": "attempt 1", "type": "Normal",
    });
    let (code, body) = server.http("POST", events, "application/json", event.to_string().as_bytes());
    assert_eq!(code, 201, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (code, _) = server.http("GET", &format!("{events}/todo.launched"), "application/json", b"");
        if code == 404 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the event outlived its TTL");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
