//! Live previews through a real `appgen serve` (process backend, scaffold agent, the shared pnpm
//! store): a delivered app answers at `http://<app>--<namespace>.localhost:<port>/` on serve's own
//! port, in Chromium too; a crashed app comes back with its records; a restarted serve adopts the
//! running app; a follow-up takes the address over without a gap; over `--max-previews` the least
//! recently used app stops and a visit brings it back; deleting an app's Generations stops it.
//! In Chromium (playwright-core, `ui/e2e/preview.mjs`) a person creates a record through the app's
//! own form, reloads and finds it, and after the follow-up sees the new version at the same URL.
//!
//! Requests go to 127.0.0.1 with the preview's `Host` header, since resolving `*.localhost` is up to
//! the client (Chromium and curl do it themselves; Rust's resolver need not).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use appgen_crd::{Blueprint, Entity, Field, FieldType, Generation, GenerationSpec, Phase};
use common::{Server, pnpm_store, process_start};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};

/// One answer from an app or from serve, as a client saw it.
struct Answer {
    code: u16,
    head: String,
    body: String,
}

/// One plain-HTTP request to serve's port for `label`'s preview (`<app>--<namespace>`).
fn request(server: &Server, label: &str, method: &str, path: &str, json: Option<&str>) -> Answer {
    let port = server.address.rsplit_once(':').unwrap().1;
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = json.unwrap_or_default();
    let content = json
        .map(|_| {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        })
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {label}.localhost:{port}\r\n{content}Connection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (code, body) = common::parse_response(&raw);
    let head = raw.split_once("\r\n\r\n").map_or(raw.as_str(), |(head, _)| head);
    Answer {
        code,
        head: head.to_ascii_lowercase(),
        body,
    }
}

fn get(server: &Server, label: &str, path: &str) -> Answer {
    request(server, label, "GET", path, None)
}

fn url_of(server: &Server, label: &str) -> String {
    let port = server.address.rsplit_once(':').unwrap().1;
    format!("http://{label}.localhost:{port}/")
}

fn blueprint(title: &str, entities: &[(&str, &str)]) -> Blueprint {
    Blueprint {
        title: Some(title.into()),
        entities: entities
            .iter()
            .map(|(name, field)| Entity {
                name: (*name).into(),
                fields: vec![Field {
                    required: true,
                    ..Field::new(*field, FieldType::Text)
                }],
            })
            .collect(),
    }
}

fn generation(name: &str, app: &str, parent: Option<&str>, blueprint: Blueprint) -> Generation {
    Generation::new(
        name,
        GenerationSpec {
            app: Some(app.into()),
            parent: parent.map(str::to_owned),
            blueprint: Some(blueprint),
            ..GenerationSpec::from_prompt(format!("The {app} app"))
        },
    )
}

/// The Previewing condition's reason and message.
fn previewing(g: &Generation) -> Option<(String, String)> {
    let c = g
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Previewing")?;
    Some((c.reason.clone(), c.message.clone()))
}

fn url(g: &Generation) -> Option<String> {
    g.status.as_ref()?.outputs.as_ref()?.url.clone()
}

/// Polls (every 100 ms) until `check` holds for the Generation; fails after `seconds` with what it
/// last saw. Returns it and every distinct Previewing condition seen on the way.
async fn until(
    api: &Api<Generation>,
    server: &Server,
    name: &str,
    seconds: u64,
    check: impl Fn(&Generation) -> bool,
) -> (Generation, Vec<(String, String)>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut seen: Vec<(String, String)> = Vec::new();
    loop {
        let g = api.get(name).await.unwrap();
        if let Some(condition) = previewing(&g)
            && seen.last() != Some(&condition)
        {
            seen.push(condition);
        }
        if check(&g) {
            return (g, seen);
        }
        assert!(
            Instant::now() < deadline,
            "{name} never got there; saw {seen:#?}; last status: {:#?}\n{}",
            g.status,
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn delivered(api: &Api<Generation>, server: &Server, name: &str) -> Generation {
    let (g, _) = until(api, server, name, 600, |g| {
        let phase = g.status.as_ref().and_then(|s| s.phase);
        assert!(
            !matches!(phase, Some(Phase::Failed | Phase::Cancelled)),
            "{name}: {:#?}",
            g.status
        );
        phase == Some(Phase::Delivered)
    })
    .await;
    g
}

fn reason_is(reason: &'static str) -> impl Fn(&Generation) -> bool {
    move |g| previewing(g).is_some_and(|(r, _)| r == reason)
}

/// Polls `label`'s /api/health until it answers 200 with a body holding `expected`.
fn until_serving(server: &Server, label: &str, expected: &str, seconds: u64) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let answer = get(server, label, "/api/health");
        if answer.code == 200 && answer.body.contains(expected) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "{label} never served {expected:?}; last answer {} {}\n{}",
            answer.code,
            answer.body,
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The process group of a preview run (`<uid>-<run>`), while it lives.
fn run_group(server: &Server, run: &str) -> Option<String> {
    let pid_file = server.data_dir().join("previews/tasks").join(run).join("pid");
    let text = std::fs::read_to_string(pid_file).ok()?;
    let mut fields = text.split_whitespace();
    let (pid, started) = (fields.next()?, fields.next()?);
    (process_start(pid).as_deref() == Some(started)).then(|| pid.to_owned())
}

/// Waits until no process of the run's group is left.
async fn until_ended(server: &Server, run: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while run_group(server, run).is_some() {
        assert!(Instant::now() < deadline, "run {run} still runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The pids of the `node` processes in `group` whose command line holds `needle`.
fn node_running(group: &str, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let (Ok(stat), Ok(command)) = (
            std::fs::read_to_string(entry.path().join("stat")),
            std::fs::read(entry.path().join("cmdline")),
        ) else {
            continue;
        };
        // pnpm runs the start script through a shell, whose command line holds it too.
        if !stat.contains("(node)") {
            continue;
        }
        // The process group is the third field after the command's closing parenthesis.
        let in_group = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.split_whitespace().nth(2) == Some(group));
        if in_group && String::from_utf8_lossy(&command).contains(needle) {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

/// What headless Chromium shows at `url` once its scripts have run.
fn chromium_dom(url: &str) -> String {
    let chromium =
        std::env::var_os("APPGEN_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_app_is_live_at_its_address_through_crashes_restarts_follow_ups_and_the_cap() {
    let store = pnpm_store().display().to_string();
    let mut server = Server::start_with_controller(&["--pnpm-store", &store]);
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let notes = "notes--default";

    // Delivered: the app runs, its address is in status, and it answers there.
    let v1 = generation("notes-1", "notes", None, blueprint("Notes", &[("Note", "title")]));
    let v1 = api.create(&PostParams::default(), &v1).await.unwrap();
    let v1_uid = v1.uid().unwrap();
    delivered(&api, &server, "notes-1").await;
    let (g, _) = until(&api, &server, "notes-1", 120, reason_is("Running")).await;
    assert_eq!(url(&g).as_deref(), Some(url_of(&server, notes).as_str()));
    let page = get(&server, notes, "/");
    assert_eq!(page.code, 200, "{}", page.body);
    assert!(page.body.contains("<div id=\"root\">"), "{}", page.body);
    assert!(!page.head.contains("x-frame-options"), "{}", page.head);
    assert!(
        page.head.contains(&format!(
            "content-security-policy: frame-ancestors 'self' http://{}",
            server.address
        )),
        "appgen's own pages may show the app in a frame: {}",
        page.head
    );
    let health = get(&server, notes, "/api/health");
    assert_eq!(
        (health.code, health.body.as_str()),
        (200, r#"{"status":"ok","entities":["Note"]}"#)
    );
    let created = request(
        &server,
        notes,
        "POST",
        "/api/notes",
        Some(r#"{"title":"Written through the preview"}"#),
    );
    assert_eq!(created.code, 201, "{}", created.body);
    let listed = get(&server, notes, "/api/notes");
    assert!(
        listed.body.contains("Written through the preview"),
        "{}",
        listed.body
    );
    // Serve's own routes are untouched, and an address without an app says so.
    let (code, body) = server.http("GET", "/healthz", "text/plain", b"");
    assert_eq!((code, body.as_str()), (200, "ok"));
    assert_eq!(get(&server, "nothing--default", "/").code, 404);
    // Chromium resolves *.localhost by itself and renders the app, its data fetched through the proxy.
    let dom = chromium_dom(&url_of(&server, notes));
    assert!(
        dom.contains("data-entity=\"Note\"") && dom.contains("1 Note"),
        "{dom}"
    );
    // A person uses the app there: a Note made through its own form outlives a reload.
    let said = in_chromium(&url_of(&server, notes), "record");
    assert!(said.contains("still there"), "{said}");

    // The app's process dies: it is started again, says so in status, and keeps its records.
    let run1 = format!("{v1_uid}-1");
    let group = run_group(&server, &run1).expect("run 1 runs");
    // The app's server: the template starts `node dist/server/main.js` (under pnpm).
    let node = node_running(&group, "dist/server/main.js");
    assert_eq!(node.len(), 1, "one server in the run's group: {node:?}");
    let killed = Command::new("kill")
        .args(["-s", "KILL", "--", &node[0]])
        .status()
        .unwrap();
    assert!(killed.success());
    let (g, seen) = until(&api, &server, "notes-1", 120, |g| {
        previewing(g).is_some_and(|(reason, message)| reason == "Running" && message.starts_with("run 2 "))
    })
    .await;
    assert!(
        seen.iter()
            .any(|(reason, message)| reason != "Running" && message.contains("run 1 ")),
        "status said what happened to run 1: {seen:#?}"
    );
    assert_eq!(url(&g).as_deref(), Some(url_of(&server, notes).as_str()));
    let listed = get(&server, notes, "/api/notes");
    assert!(
        listed.body.contains("Written through the preview"),
        "{}",
        listed.body
    );

    // appgen serve restarts (killed, so nothing was tidied up): the running app is adopted.
    let run2 = format!("{v1_uid}-2");
    let group = run_group(&server, &run2).expect("run 2 runs");
    server.restart();
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    until_serving(&server, notes, "Note", 30);
    assert_eq!(run_group(&server, &run2), Some(group), "the same process serves");
    assert!(
        !server
            .data_dir()
            .join(format!("previews/tasks/{v1_uid}-3"))
            .exists()
    );

    // A follow-up takes the address over; the old version serves until the new one answers.
    let v2 = generation(
        "notes-2",
        "notes",
        Some("notes-1"),
        blueprint("Notes", &[("Note", "title"), ("Tag", "name")]),
    );
    let v2 = api.create(&PostParams::default(), &v2).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut answers = Vec::new();
    loop {
        let health = get(&server, notes, "/api/health");
        answers.push(health.code);
        if health.body.contains("Tag") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "notes-2 never took over\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        answers.iter().all(|code| *code == 200),
        "the address answered all along: {answers:?}"
    );
    until_ended(&server, &run2).await;
    let (old, _) = until(&api, &server, "notes-1", 30, reason_is("Superseded")).await;
    assert_eq!(url(&old), None, "the address moved to the newer version");
    let (new, _) = until(&api, &server, "notes-2", 30, reason_is("Running")).await;
    assert_eq!(url(&new).as_deref(), Some(url_of(&server, notes).as_str()));
    // In Chromium the same URL is the new version: Tags in its navigation, the Notes kept.
    let said = in_chromium(&url_of(&server, notes), "follow-up");
    assert!(said.contains("serves Tags"), "{said}");
    let listed = get(&server, notes, "/api/notes");
    assert!(
        listed.body.contains("Written through the preview"),
        "records outlive versions: {}",
        listed.body
    );

    // One preview at most: a newly delivered app takes the place of the least recently used, and a
    // visit to that one brings it back in place of the other.
    server.restart_with(&["--pnpm-store", &store, "--max-previews", "1"]);
    let api: Api<Generation> = Api::namespaced(server.client().await, "default");
    let links = "links--default";
    let other = generation("links", "links", None, blueprint("Links", &[("Link", "address")]));
    api.create(&PostParams::default(), &other).await.unwrap();
    delivered(&api, &server, "links").await;
    until(&api, &server, "links", 120, reason_is("Running")).await;
    until(&api, &server, "notes-2", 30, reason_is("Idle")).await;
    let notes_run = format!("{}-1", v2.uid().unwrap());
    until_ended(&server, &notes_run).await;
    until_serving(&server, links, "Link", 30);
    let waiting = get(&server, notes, "/");
    assert_eq!(waiting.code, 503, "{}", waiting.body);
    assert!(waiting.head.contains("retry-after: 2"), "{}", waiting.head);
    assert!(
        waiting.body.contains("notes is starting") && waiting.body.contains("http-equiv=\"refresh\""),
        "{}",
        waiting.body
    );
    until_serving(&server, notes, "Tag", 120);
    until(&api, &server, "links", 30, reason_is("Idle")).await;

    // Deleting the app's Generations stops it, and its address answers no more.
    for name in ["notes-1", "notes-2"] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    until_ended(&server, &format!("{}-2", v2.uid().unwrap())).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(&server, notes, "/").code != 404 {
        assert!(Instant::now() < deadline, "the address still answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `ui/e2e/preview.mjs` (playwright-core, headless Chromium) at `url` for `step`.
fn in_chromium(url: &str, step: &str) -> String {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    assert!(
        ui.join("node_modules/playwright-core").is_dir(),
        "ui/node_modules is missing: run `pnpm --dir ui install` (scripts/test does)"
    );
    let run = Command::new("node")
        .arg(ui.join("e2e/preview.mjs"))
        .env("APPGEN_PREVIEW_URL", url)
        .env("APPGEN_STEP", step)
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{step} in Chromium failed:\n{out}");
    out
}
