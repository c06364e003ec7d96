//! The REST API against a real `appgen serve` (simulated tasks, so generations take seconds):
//! who may see what, accounts and tokens, quotas, rate limits, validation, headers, and event
//! streams that resume across restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::Server;
use common::rest::{PASSWORD, Reply, Rest, Sse};
use serde_json::{Value, json};

/// A server whose simulated tasks take `seconds` unless a prompt says `simulate:seconds=N`.
fn server(seconds: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--backend", "simulated", "--simulated-task-seconds", seconds];
    args.extend_from_slice(extra);
    Server::start_with_controller(&args)
}

fn path_of(view: &Value) -> String {
    view["links"]["self"].as_str().unwrap().to_owned()
}

/// Polls a generation until it is in `phase`.
fn wait_for(rest: &Rest, path: &str, phase: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reply = rest.get(path);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let view = reply.json();
        if view["status"]["phase"] == phase {
            return view;
        }
        assert!(Instant::now() < deadline, "{path} never reached {phase}: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_not_found(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 404, "{what}: {}", reply.body);
    assert_eq!(reply.json()["error"]["code"], "not_found", "{what}");
}

#[test]
fn one_user_can_neither_see_nor_touch_another_users_generations() {
    let server = server("0.5", &[]);
    let root = Rest::sign_up(&server.address, "root");
    assert_eq!(
        root.user["admin"], true,
        "the first account administers the server"
    );
    let ann = Rest::sign_up(&server.address, "ann");
    let bob = Rest::sign_up(&server.address, "bob");
    assert_eq!(ann.user["admin"], false);
    let quota = root.call(
        "PUT",
        "/api/v1/admin/quotas",
        Some(json!({"concurrent": 10, "perDay": 100})),
    );
    assert_eq!(quota.status, 200, "{}", quota.body);

    let delivered = ann.create("A todo list for my errands");
    assert_eq!(delivered["namespace"], "appgen-ann");
    let delivered = path_of(&delivered);
    wait_for(&ann, &delivered, "Delivered");
    let running = path_of(&ann.create("A long one simulate:seconds=120"));
    wait_for(&ann, &running, "Running");

    // Bob's view of the server holds nothing of Ann's.
    assert_eq!(bob.get("/api/v1/generations").json()["items"], json!([]));
    assert_eq!(bob.get("/api/v1/apps").json()["items"], json!([]));
    for path in [&delivered, &running] {
        assert_not_found(&bob.get(path), "get");
        assert_not_found(&bob.get(&format!("{path}/events")), "events");
        assert_not_found(&bob.get(&format!("{path}/archive")), "archive");
        assert_not_found(&bob.get(&format!("{path}/screenshots/home.png")), "screenshot");
        assert_not_found(&bob.post(&format!("{path}/cancel"), json!({})), "cancel");
        assert_not_found(&bob.post(&format!("{path}/retry"), json!({})), "retry");
        assert_not_found(&bob.post(&format!("{path}/redeliver"), json!({})), "redeliver");
        assert_not_found(
            &bob.post(&format!("{path}/continue"), json!({"prompt": "add tags"})),
            "continue",
        );
        assert_not_found(&bob.delete(path), "delete");
    }
    // Ann may deliver her finished generation's archive again, and not a running one's.
    let again = ann.post(&format!("{delivered}/redeliver"), json!({}));
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(again.json()["spec"]["redeliver"], 1);
    let busy = ann.post(&format!("{running}/redeliver"), json!({}));
    assert_eq!(busy.status, 409, "{}", busy.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = ann.get(&delivered).json();
        let status = &view["status"];
        if status["observedRedeliver"] == 1 && status["phase"] == "Delivered" {
            break;
        }
        assert!(Instant::now() < deadline, "never delivered again: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // What Bob hears about Ann's generation is what he hears about one that does not exist.
    let name = delivered.rsplit('/').next().unwrap();
    let message = |path: &str| {
        bob.get(path).json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        message(&delivered).replace(name, "X"),
        message("/api/v1/generations/appgen-ann/nope").replace("nope", "X")
    );

    // No field of a create request reaches another namespace.
    for body in [
        json!({"prompt": "x", "namespace": "appgen-ann"}),
        json!({"prompt": "x", "metadata": {"namespace": "appgen-ann"}}),
        json!({"prompt": "x", "parent": "whatever"}),
    ] {
        let reply = bob.post("/api/v1/generations", body.clone());
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        let field = reply.field();
        assert!(
            ["namespace", "metadata", "parent"].contains(&field.as_str()),
            "{field}"
        );
    }
    assert_eq!(bob.get("/api/v1/generations?namespace=appgen-ann").status, 422);
    let own = bob.create("Bob's own recipe box");
    assert_eq!(own["namespace"], "appgen-bob");

    // Ann's work is untouched, and hers to act on.
    let still = ann.get(&running).json();
    assert_eq!(still["status"]["phase"], "Running");
    assert!(still["spec"].get("cancel").is_none());
    assert_eq!(
        ann.get("/api/v1/generations").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Administrators see everyone's; other users may not administer.
    assert_eq!(root.get(&delivered).status, 200);
    assert_eq!(
        Rest::bearer(&server.address, &server.token)
            .get(&delivered)
            .status,
        200
    );
    let all = root.get("/api/v1/admin/generations").json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    for path in [
        "/api/v1/admin/generations",
        "/api/v1/admin/users",
        "/api/v1/admin/quotas",
    ] {
        assert_eq!(bob.get(path).status, 403, "{path}");
    }

    // Ann continues, cancels, retries and deletes her own.
    let follow_up = ann.post(
        &format!("{delivered}/continue"),
        json!({"prompt": "Add due dates"}),
    );
    assert_eq!(follow_up.status, 201, "{}", follow_up.body);
    let follow_up = follow_up.json();
    assert_eq!(follow_up["spec"]["parent"], delivered.rsplit('/').next().unwrap());
    assert_eq!(
        follow_up["spec"]["app"],
        ann.get(&delivered).json()["spec"]["app"]
    );
    let not_delivered = ann.post(&format!("{running}/continue"), json!({"prompt": "more"}));
    assert_eq!(not_delivered.status, 409, "a follow-up needs a delivered parent");

    let cancelled = ann.post(&format!("{running}/cancel"), json!({}));
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["spec"]["cancel"], true);
    wait_for(&ann, &running, "Cancelled");
    assert_eq!(
        ann.post(&format!("{running}/cancel"), json!({})).status,
        409,
        "already ended"
    );

    let retried = ann.post(&format!("{delivered}/retry"), json!({}));
    assert_eq!(retried.status, 201, "{}", retried.body);
    let retried = retried.json();
    assert_eq!(retried["spec"]["prompt"], "A todo list for my errands");
    assert_ne!(path_of(&retried), delivered);
    let gone = path_of(&retried);
    assert_eq!(ann.delete(&gone).status, 204);
    let deadline = Instant::now() + Duration::from_secs(30);
    while ann.get(&gone).status != 404 {
        assert!(Instant::now() < deadline, "{gone} was never deleted");
        std::thread::sleep(Duration::from_millis(100));
    }

    let apps = ann.get("/api/v1/apps").json();
    let todo = apps["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == follow_up["spec"]["app"])
        .expect("the todo app");
    let versions: Vec<&str> = todo["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(versions[0], follow_up["name"].as_str().unwrap(), "newest first");
    assert!(versions.contains(&delivered.rsplit('/').next().unwrap()));
}

#[test]
fn accounts_sign_up_by_mode_and_sessions_and_tokens_behave() {
    let mut server = server("0.5", &["--signup", "invite"]);
    let anonymous = Rest::anonymous(&server.address);
    let root = Rest::sign_up(&server.address, "root");

    // Without an invite, an account waits; with one, it is active at once; an invite works once.
    let pending = anonymous.post(
        "/api/v1/auth/signup",
        json!({"username": "ann", "password": PASSWORD}),
    );
    assert_eq!(pending.status, 202, "{}", pending.body);
    assert_eq!(pending.json()["user"]["status"], "pending");
    assert!(pending.header("set-cookie").is_none());
    let refused = anonymous.post(
        "/api/v1/auth/login",
        json!({"username": "ann", "password": PASSWORD}),
    );
    assert_eq!(
        (refused.status, refused.json()["error"]["code"].as_str()),
        (403, Some("pending"))
    );
    let invite = root.post("/api/v1/admin/invites", json!({}));
    assert_eq!(invite.status, 201);
    let code = invite.json()["code"].as_str().unwrap().to_owned();
    let bob = anonymous.post(
        "/api/v1/auth/signup",
        json!({"username": "bob", "password": PASSWORD, "invite": code}),
    );
    assert_eq!(bob.status, 201, "{}", bob.body);
    let again = anonymous.post(
        "/api/v1/auth/signup",
        json!({"username": "carl", "password": PASSWORD, "invite": code}),
    );
    assert_eq!((again.status, again.field()), (422, "invite".to_owned()));
    let taken = anonymous.post(
        "/api/v1/auth/signup",
        json!({"username": "bob", "password": PASSWORD}),
    );
    assert_eq!(taken.status, 409);
    for (body, field) in [
        (json!({"username": "B", "password": PASSWORD}), "username"),
        (json!({"username": "dave", "password": "short"}), "password"),
        (json!({"username": "dave"}), "password"),
    ] {
        let reply = anonymous.post("/api/v1/auth/signup", body.clone());
        assert_eq!((reply.status, reply.field()), (422, field.to_owned()), "{body}");
    }

    let ann_id = pending.json()["user"]["id"].as_str().unwrap().to_owned();
    let approved = root.call(
        "PATCH",
        &format!("/api/v1/admin/users/{ann_id}"),
        Some(json!({"status": "active"})),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let ann = Rest::sign_in(&server.address, "ann");
    let login = anonymous.post(
        "/api/v1/auth/login",
        json!({"username": "ann", "password": PASSWORD}),
    );
    let cookie = login.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    let wrong = anonymous.post(
        "/api/v1/auth/login",
        json!({"username": "ann", "password": "not the password"}),
    );
    let unknown = anonymous.post(
        "/api/v1/auth/login",
        json!({"username": "nobody", "password": PASSWORD}),
    );
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(
        wrong.body, unknown.body,
        "a wrong password and an unknown name look alike"
    );

    // A session's unsafe requests need its CSRF token.
    let forged = Rest {
        csrf: None,
        ..ann.clone()
    }
    .post("/api/v1/generations", json!({"prompt": "x"}));
    assert_eq!(
        (forged.status, forged.json()["error"]["code"].as_str()),
        (403, Some("csrf"))
    );
    let wrong_csrf = Rest {
        csrf: Some("guess".into()),
        ..ann.clone()
    }
    .post("/api/v1/generations", json!({"prompt": "x"}));
    assert_eq!(wrong_csrf.status, 403);
    assert_eq!(ann.get("/api/v1/auth/me").json()["user"]["username"], "ann");

    // Personal tokens: shown once, work as bearer tokens, listed without the secret, revocable.
    let created = ann.post("/api/v1/tokens", json!({"name": "laptop"}));
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("appgen_pat_"));
    let script = Rest::bearer(&server.address, &token);
    assert_eq!(script.get("/api/v1/auth/me").json()["user"]["username"], "ann");
    assert_eq!(
        script
            .post("/api/v1/generations", json!({"prompt": "A notes app"}))
            .status,
        201,
        "no CSRF for tokens"
    );
    let listed = ann.get("/api/v1/tokens");
    assert!(!listed.body.contains(&token));
    assert_eq!(listed.json()["items"][0]["name"], "laptop");
    let id = listed.json()["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(ann.delete(&format!("/api/v1/tokens/{id}")).status, 204);
    assert_eq!(script.get("/api/v1/auth/me").status, 401);
    assert_eq!(
        Rest::bearer(&server.address, "appgen_pat_made-up")
            .get("/api/v1/generations")
            .status,
        401
    );

    // Disabling ends an account's sessions; nobody disables themselves.
    let bob = Rest::sign_in(&server.address, "bob");
    let bob_id = bob.user["id"].as_str().unwrap().to_owned();
    let disabled = root.call(
        "PATCH",
        &format!("/api/v1/admin/users/{bob_id}"),
        Some(json!({"status": "disabled"})),
    );
    assert_eq!(disabled.status, 200);
    assert_eq!(bob.get("/api/v1/generations").status, 401);
    let locked = anonymous.post(
        "/api/v1/auth/login",
        json!({"username": "bob", "password": PASSWORD}),
    );
    assert_eq!(locked.json()["error"]["code"], "disabled");
    let root_id = root.user["id"].as_str().unwrap().to_owned();
    assert_eq!(
        root.call(
            "PATCH",
            &format!("/api/v1/admin/users/{root_id}"),
            Some(json!({"status": "disabled"}))
        )
        .status,
        409
    );
    let promoted = root.call(
        "PATCH",
        &format!("/api/v1/admin/users/{ann_id}"),
        Some(json!({"admin": true})),
    );
    assert_eq!(promoted.json()["admin"], true);
    assert_eq!(ann.get("/api/v1/admin/users").status, 200);

    // Signing out ends the session.
    let out = ann.post("/api/v1/auth/logout", json!({}));
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(ann.get("/api/v1/generations").status, 401);
    let visitor = ann.get("/api/v1/auth/me");
    assert_eq!(visitor.status, 200, "a visitor is an answer, not an error");
    assert_eq!(visitor.json()["signedIn"], false);
    assert!(visitor.json().get("user").is_none());

    // Secrets stay secret: not in the database, not in the log.
    let database = std::fs::read(server.data_dir().join("accounts.db")).unwrap();
    let database = String::from_utf8_lossy(&database);
    let log = server.log();
    for secret in [
        PASSWORD,
        &token,
        &code,
        ann.csrf.as_deref().unwrap(),
        ann.cookie
            .as_deref()
            .unwrap()
            .trim_start_matches("appgen_session="),
    ] {
        assert!(!database.contains(secret), "the database holds a secret");
        assert!(!log.contains(secret), "the log holds a secret");
    }

    // Sessions outlive a restart; a closed server takes no new accounts.
    server.restart_with(&["--backend", "simulated", "--signup", "closed"]);
    assert_eq!(root.get("/api/v1/auth/me").status, 200);
    let closed = Rest::anonymous(&server.address).post(
        "/api/v1/auth/signup",
        json!({"username": "dave", "password": PASSWORD}),
    );
    assert_eq!(
        (closed.status, closed.json()["error"]["code"].as_str()),
        (403, Some("signup_closed"))
    );
    assert_eq!(
        Rest::anonymous(&server.address).get("/api/v1/config").json()["signup"],
        "closed"
    );
}

#[test]
fn quotas_validation_and_rate_limits_answer_with_what_to_do() {
    let server = server("0.5", &["--user-rate", "1,40", "--sign-in-rate", "0.01,6"]);
    let root = Rest::sign_up(&server.address, "root");
    let ann = Rest::sign_up(&server.address, "ann");
    let ann_id = ann.user["id"].as_str().unwrap().to_owned();
    let quota = root.call(
        "PATCH",
        &format!("/api/v1/admin/users/{ann_id}"),
        Some(json!({"quota": {"concurrent": 1, "perDay": 2}})),
    );
    assert_eq!(quota.status, 200, "{}", quota.body);

    let first = path_of(&ann.create("A long one simulate:seconds=120"));
    let busy = ann.post("/api/v1/generations", json!({"prompt": "Another"}));
    assert_eq!(busy.status, 429, "{}", busy.body);
    assert_eq!(busy.json()["error"]["code"], "quota_exceeded");
    assert!(
        busy.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().unwrap() > 0)
    );
    assert!(
        busy.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("when one finishes")
    );
    ann.post(&format!("{first}/cancel"), json!({}));
    wait_for(&ann, &first, "Cancelled");
    let second = path_of(&ann.create("A quick one"));
    wait_for(&ann, &second, "Delivered");
    let daily = ann.post("/api/v1/generations", json!({"prompt": "A third today"}));
    assert_eq!(daily.status, 429, "{}", daily.body);
    let message = daily.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("in the last 24 hours") && message.contains("try again after"),
        "{message}"
    );
    let wait: u64 = daily.header("retry-after").unwrap().parse().unwrap();
    assert!((86_000..=86_400).contains(&wait), "{wait}");

    // Bad input names the field, or says the body is not JSON.
    let cases = [
        (json!({"prompt": ""}), "prompt"),
        (json!({"prompt": "x".repeat(65_537)}), "prompt"),
        (json!({"prompt": "x", "app": "Not A Label"}), "app"),
        (
            json!({"prompt": "x", "agent": {"name": "claude-code"}}),
            "agent.name",
        ),
        (
            json!({"prompt": "x", "agent": {"maxTurns": "lots"}}),
            "agent.maxTurns",
        ),
        (json!({"prompt": "x", "retries": 99}), "retries"),
        (
            json!({"prompt": "x", "delivery": {"deploy": {"target": "fly"}}}),
            "delivery.deploy.target",
        ),
    ];
    for (body, field) in cases {
        let reply = root.post("/api/v1/generations", body);
        assert_eq!(
            (reply.status, reply.field()),
            (422, field.to_owned()),
            "{}",
            reply.body
        );
    }
    let not_json = root.send(
        "POST",
        "/api/v1/generations",
        &[],
        "application/json",
        b"{\"prompt\": ",
    );
    assert_eq!(not_json.status, 400);
    let form = root.send("POST", "/api/v1/generations", &[], "text/plain", b"prompt=x");
    assert_eq!(form.status, 400);
    assert!(
        form.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    assert_eq!(root.get("/api/v1/generations?limit=0").field(), "limit");
    assert_eq!(root.get("/api/v1/generations?continue=zzz").field(), "continue");

    // Past the burst, a user waits; so does a client address that keeps failing to sign in.
    let mut limited = None;
    for _ in 0..60 {
        let reply = ann.get("/api/v1/generations");
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
    }
    let limited = limited.expect("a user is rate limited past the burst");
    assert_eq!(limited.json()["error"]["code"], "rate_limited");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(root.get("/api/v1/generations").status, 200, "another user is not");
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(
            Rest::anonymous(&server.address)
                .post(
                    "/api/v1/auth/login",
                    json!({"username": "ann", "password": "guess guess guess"}),
                )
                .status,
        );
    }
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
}

#[test]
fn answers_carry_security_headers_and_the_api_describes_itself() {
    let server = server("0.5", &[]);
    let anonymous = Rest::anonymous(&server.address);
    for path in [
        "/",
        "/generations/appgen-ann/x",
        "/api/v1/config",
        "/api/v1/generations",
    ] {
        let reply = anonymous.get(path);
        let csp = reply
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"));
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"), "{path}");
    }
    let page = anonymous.get("/apps");
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let zipped = anonymous.send("GET", "/", &[("Accept-Encoding", "gzip")], "text/plain", b"");
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(anonymous.get("/api/v1/generations").status, 401);

    let doc = anonymous.get("/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/generations",
        "/api/v1/generations/{namespace}/{name}",
        "/api/v1/generations/{namespace}/{name}/events",
        "/api/v1/generations/{namespace}/{name}/continue",
        "/api/v1/generations/{namespace}/{name}/redeliver",
        "/api/v1/generations/{namespace}/{name}/archive",
        "/api/v1/apps",
        "/api/v1/tokens",
        "/api/v1/admin/users/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not described");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["GenerationSpec"]["properties"]["prompt"]["maxLength"],
        65536
    );
    assert_eq!(
        schemas["GenerationView"]["properties"]["spec"]["$ref"],
        "#/components/schemas/GenerationSpec"
    );
}

fn ids(events: &[Sse]) -> Vec<(u32, u64)> {
    events
        .iter()
        .filter_map(|e| e.id.as_deref())
        .map(|id| {
            let (attempt, seq) = id.split_once('-').unwrap();
            (attempt.parse().unwrap(), seq.parse().unwrap())
        })
        .collect()
}

#[test]
fn event_streams_resume_across_restarts_without_losing_or_repeating_events() {
    let mut server = server("0.5", &[]);
    let ann = Rest::sign_up(&server.address, "ann");
    let path = path_of(&ann.create("A guest book simulate:seconds=6"));
    let events = format!("{path}/events");

    // Part of a live stream; then the server dies mid-generation and comes back.
    let first = ann.events(&events, None, 3);
    assert!(first.iter().any(|e| e.event == "status"));
    assert!(
        !first.iter().any(|e| e.event == "outcome"),
        "still running after 3 s"
    );
    let seen = ids(&first);
    assert!(!seen.is_empty(), "some progress within 3 s: {first:?}");
    let last = seen.last().unwrap();
    // Without following, a running generation's stream holds what is stored, then closes.
    let asked = Instant::now();
    let stored = ann.events(&format!("{events}?follow=false"), None, 20);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "it did not wait for the end"
    );
    assert!(ids(&stored).len() >= seen.len() && !stored.iter().any(|e| e.event == "outcome"));
    server.kill9();
    server.restart();

    let rest = ann.events(&events, Some(&format!("{}-{}", last.0, last.1)), 60);
    let outcome = rest.last().expect("the stream ends");
    assert_eq!(outcome.event, "outcome", "{rest:?}");
    assert_eq!(outcome.json()["phase"], "Delivered");
    let resumed = ids(&rest);
    assert!(
        resumed.first().is_some_and(|first| first > last),
        "resumed after {last:?}: {resumed:?}"
    );
    let mut all = seen.clone();
    all.extend(&resumed);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(all, sorted, "in order, each once");
    let phases: Vec<Value> = first
        .iter()
        .chain(&rest)
        .filter(|e| e.event == "phase")
        .map(|e| e.json()["body"]["step"].clone())
        .collect();
    assert!(phases.contains(&json!("deliver")), "{phases:?}");

    // A finished generation replays from the start, also after another restart, and through the
    // query parameter a reconnecting browser uses.
    server.restart();
    let replay = ann.events(&events, None, 30);
    assert_eq!(ids(&replay), all);
    assert_eq!(replay.last().unwrap().event, "outcome");
    let tail = ann.events(
        &format!("{events}?lastEventId={}-{}", all[1].0, all[1].1),
        None,
        30,
    );
    assert_eq!(ids(&tail), all[2..]);
    let nothing_new = ann.events(
        &events,
        Some(&format!("{}-{}", all.last().unwrap().0, all.last().unwrap().1)),
        30,
    );
    assert_eq!(ids(&nothing_new), Vec::<(u32, u64)>::new());
    assert_eq!(nothing_new.last().unwrap().event, "outcome");
    let ended = ann.events(&format!("{events}?follow=false"), None, 30);
    assert_eq!(
        (ids(&ended), ended.last().unwrap().event.as_str()),
        (all.clone(), "outcome")
    );
}

#[test]
fn appgen_api_serves_alone_against_a_kubeconfig() {
    let server = server("0.5", &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let artifacts = format!("file://{}", server.data_dir().join("artifacts").display());
    let mut api = std::process::Command::new(common::APPGEN)
        .args([
            "api",
            "--listen",
            &address,
            "--artifacts",
            &artifacts,
            "--data-dir",
        ])
        .arg(dir.path())
        .env("KUBECONFIG", &server.kubeconfig)
        .stderr(std::fs::File::create(dir.path().join("api.log")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Rest::anonymous(&address).get("/api/v1/config").status != 200 {
        assert!(
            Instant::now() < deadline,
            "appgen api did not start: {}",
            std::fs::read_to_string(dir.path().join("api.log")).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let ann = Rest::sign_up(&address, "ann");
    let view = ann.create("A reading list");
    let path = path_of(&view);
    wait_for(&ann, &path, "Delivered");
    let listed = server.kubectl(&["get", "generations", "-n", "appgen-ann", "-o", "name"]);
    assert!(
        common::stdout(&listed).contains(view["name"].as_str().unwrap()),
        "{}",
        common::stderr(&listed)
    );
    let replay = ann.events(&format!("{path}/events"), None, 30);
    assert_eq!(replay.last().unwrap().event, "outcome");
    let _ = api.kill();
    let _ = api.wait();
}
