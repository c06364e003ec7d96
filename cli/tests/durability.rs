//! Every write that got a success answer survives `kill -9` of `appgen serve`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Server;
use serde_json::{Value, json};

const COLLECTION: &str = "/apis/appgen.dev/v1alpha1/namespaces/default/generations";

/// What a client knows about one object: the last state the server acknowledged, and a write
/// that was sent but never answered (it may or may not have happened).
#[derive(Debug, Clone, Default)]
struct Known {
    acked: Option<String>,
    in_flight: Option<String>,
    acked_rv: u64,
    deleted: bool,
}

fn rv_of(body: &str) -> u64 {
    let v: Value = serde_json::from_str(body).unwrap();
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// One client: creates its objects, then keeps updating and sometimes deleting them, recording
/// what was acknowledged, until the server goes away.
fn client(server: &Server, id: usize, stop: &AtomicBool, known: &Mutex<BTreeMap<String, Known>>) {
    for round in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let name = format!("c{id}-{}", round % 12);
        let existing = known.lock().unwrap().get(&name).cloned().unwrap_or_default();
        let prompt = format!("client {id} round {round}");
        let (method, path, content_type, body) = if existing.acked.is_none() || existing.deleted {
            let body = json!({"apiVersion": "appgen.dev/v1alpha1", "kind": "Generation",
                "metadata": {"name": name}, "spec": {"prompt": prompt}});
            (
                "POST",
                COLLECTION.to_owned(),
                "application/json",
                body.to_string(),
            )
        } else if round % 7 == 0 {
            (
                "DELETE",
                format!("{COLLECTION}/{name}"),
                "application/json",
                String::new(),
            )
        } else {
            let body = json!({"spec": {"prompt": prompt}});
            (
                "PATCH",
                format!("{COLLECTION}/{name}"),
                "application/merge-patch+json",
                body.to_string(),
            )
        };
        known.lock().unwrap().entry(name.clone()).or_default().in_flight = Some(if method == "DELETE" {
            "<deleted>".into()
        } else {
            prompt.clone()
        });
        let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            server.http(method, &path, content_type, body.as_bytes())
        }));
        let Ok((code, body)) = response else { return };
        let mut known = known.lock().unwrap();
        let entry = known.get_mut(&name).unwrap();
        match code {
            200 | 201 if method == "DELETE" => {
                *entry = Known {
                    acked: Some("<deleted>".into()),
                    deleted: true,
                    acked_rv: rv_of(&body),
                    in_flight: None,
                };
            }
            200 | 201 => {
                *entry = Known {
                    acked: Some(prompt),
                    deleted: false,
                    acked_rv: rv_of(&body),
                    in_flight: None,
                };
            }
            // The server is going down under us: whatever was in flight stays in doubt.
            0 => return,
            other => panic!("{method} {path} answered {other}: {body}"),
        }
    }
}

#[test]
fn acknowledged_writes_survive_kill_9_and_resource_versions_keep_increasing() {
    let mut server = Server::start();
    let known: Arc<Mutex<BTreeMap<String, Known>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let server_ref = &server;
    std::thread::scope(|scope| {
        for id in 0..8 {
            let (known, stop) = (known.clone(), stop.clone());
            scope.spawn(move || client(server_ref, id, &stop, &known));
        }
        // Let the clients get well into their stream of writes, then pull the plug mid-flight.
        std::thread::sleep(Duration::from_millis(1500));
        let pid = server_ref.pid().to_string();
        std::process::Command::new("kill")
            .args(["-9", &pid])
            .status()
            .unwrap();
        stop.store(true, Ordering::Relaxed);
    });
    server.restart();

    let known = known.lock().unwrap();
    let acked: Vec<_> = known.iter().filter(|(_, k)| k.acked.is_some()).collect();
    assert!(
        acked.len() >= 20,
        "the clients got writes acknowledged before the kill ({})",
        acked.len()
    );
    let mut max_acked_rv = 0;
    for (name, k) in &acked {
        max_acked_rv = max_acked_rv.max(k.acked_rv);
        let (code, body) = server.http("GET", &format!("{COLLECTION}/{name}"), "application/json", b"");
        let stored = match code {
            200 => serde_json::from_str::<Value>(&body).unwrap()["spec"]["prompt"]
                .as_str()
                .unwrap()
                .to_owned(),
            404 => "<deleted>".to_owned(),
            other => panic!("GET {name} answered {other}: {body}"),
        };
        assert!(
            Some(&stored) == k.acked.as_ref() || Some(&stored) == k.in_flight.as_ref(),
            "{name}: stored {stored:?}, but the last acknowledged state was {:?} (in flight: {:?})",
            k.acked,
            k.in_flight
        );
    }
    let (code, body) = server.http(
        "POST",
        COLLECTION,
        "application/json",
        json!({"metadata": {"name": "after-restart"}, "spec": {"prompt": "after"}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(code, 201, "{body}");
    assert!(
        rv_of(&body) > max_acked_rv,
        "resourceVersions keep increasing after a restart"
    );
}
