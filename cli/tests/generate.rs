//! `appgen generate` as a backend runs it: a real input in a local artifact store, the scaffold
//! agent, real pnpm, Node and headless Chromium for the gates, and the result it leaves behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use appgen_crd::{Blueprint, Entity, Field, FieldType};
use common::task::{Run, spec};
use common::{assert_every_gate_passed, pnpm_store};

const TODO: &str =
    "A todo app where tasks have a title, a due date, a priority (low, medium, high) and a done flag.";

#[test]
fn the_todo_prompt_becomes_a_delivered_app_that_passes_every_gate() {
    let run = Run::new();
    run.write_input(spec(TODO));
    let ran = run.generate(
        &run.input_uri(),
        &[("ANTHROPIC_API_KEY", "sk-ant-test-secret-value")],
    );
    let result = run.result();
    assert_eq!(ran.code, Some(0), "stderr: {}\nresult: {result:?}", ran.stderr);
    assert!(result.delivered, "{result:?}");

    // The blueprint the user will see.
    let blueprint = result.blueprint.clone().expect("the understood blueprint");
    let task = &blueprint.entities[0];
    assert_eq!(task.name, "Task");
    let fields: Vec<_> = task
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.field_type))
        .collect();
    assert_eq!(
        fields,
        [
            ("title", FieldType::Text),
            ("dueDate", FieldType::Date),
            ("priority", FieldType::Enum),
            ("done", FieldType::Boolean)
        ]
    );

    // Every gate, in order, passed, each with its time.
    assert_every_gate_passed(&result.verification);
    assert!(result.verification.iter().all(|g| g.duration_ms > 0));

    // The archive and the screenshot are in the store, as the result says.
    let outputs = result.outputs.expect("outputs");
    let archive = std::fs::read(run.generation_dir().join("app.tar.gz")).unwrap();
    assert_eq!(outputs.size, Some(archive.len() as i64));
    assert_eq!(outputs.sha256.as_deref().map(str::len), Some(64));
    assert_eq!(
        outputs.archive_url,
        Some(format!("file://{}/app.tar.gz", run.generation_dir().display()))
    );
    let png = std::fs::read(run.generation_dir().join("screenshots/home.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");

    // Every step has a phase event with its duration; the blueprint is in the log.
    let events = run.events();
    let finished: Vec<String> = events
        .iter()
        .filter(|e| e.body.get("state").and_then(|s| s.as_str()) == Some("finished"))
        .filter(|e| e.body.get("durationMs").is_some())
        .filter_map(|e| e.step().map(str::to_owned))
        .collect();
    for step in [
        "prepare",
        "agent/understand",
        "agent/write",
        "verify/install",
        "verify/typecheck",
        "verify/build",
        "verify/test",
        "verify/boot",
        "verify/smoke",
        "package",
        "deliver",
    ] {
        assert!(
            finished.iter().any(|s| s == step),
            "no finished phase event for {step}: {finished:?}"
        );
    }
    assert!(
        events.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "seqs go up by one"
    );
    let log = std::fs::read_to_string(run.generation_dir().join("attempts/1/result.json")).unwrap()
        + &serde_json::to_string(&events).unwrap();
    assert!(
        !log.contains("sk-ant-test-secret-value"),
        "a secret reached the log or result"
    );

    // Unpacked elsewhere, the archive is a complete project: no installed or built files, and on
    // Node 20 and on Node 22 it installs, type-checks, builds, passes its own tests and boots.
    for node_bin in ["/usr/bin", NODE_22_BIN] {
        let elsewhere = tempfile::tempdir().unwrap();
        unpack(&archive, elsewhere.path());
        let app = elsewhere.path().join("todo");
        for absent in ["node_modules", "dist", "data"] {
            assert!(!app.join(absent).exists(), "{absent} was packed");
        }
        for present in ["package.json", "pnpm-lock.yaml", "README.md"] {
            assert!(
                app.join(present).exists(),
                "{present} is missing from the archive"
            );
        }
        let node = Node::at(node_bin);
        let store = pnpm_store().display().to_string();
        node.pnpm(
            &app,
            &["install", "--frozen-lockfile", "--offline", "--store-dir", &store],
        );
        for script in ["typecheck", "build", "test"] {
            node.pnpm(&app, &["run", script]);
        }
        node.boots(&app);
    }
}

/// The delivered apps must run on Node 20 and 22; `scripts/test` puts 22 here.
const NODE_22_BIN: &str = "/opt/node-22/bin";

/// pnpm run by one Node version: the one first on PATH.
struct Node {
    path: String,
}

impl Node {
    fn at(bin: &str) -> Node {
        let node = Path::new(bin).join("node");
        assert!(
            node.exists(),
            "{} is missing; run scripts/test, which installs it",
            node.display()
        );
        Node {
            path: format!("{bin}:{}", std::env::var("PATH").unwrap()),
        }
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("pnpm");
        command
            .args(args)
            .current_dir(dir)
            .env("PATH", &self.path)
            .env("CI", "true");
        command
    }

    fn pnpm(&self, dir: &Path, args: &[&str]) {
        let output = self.command(dir, args).output().unwrap();
        assert!(
            output.status.success(),
            "pnpm {args:?} failed on PATH {}:\n{}\n{}",
            self.path,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `pnpm start` answers /api/health.
    fn boots(&self, dir: &Path) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = self
            .command(dir, &["start"])
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let answered = loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                write!(
                    stream,
                    "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut response = String::new();
                let _ = stream.read_to_string(&mut response);
                break response.starts_with("HTTP/1.1 200");
            }
            if std::time::Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        // pnpm, the shell it runs the script in and node: the whole group goes.
        let group = format!("-{}", server.id());
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).status();
        let _ = server.wait();
        assert!(
            answered,
            "the unpacked app did not answer /api/health on PATH {}",
            self.path
        );
    }
}

fn unpack(archive: &[u8], into: &Path) {
    let file = into.join("app.tar.gz");
    std::fs::write(&file, archive).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&file)
        .current_dir(into)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_other_reference_prompts_are_delivered_too() {
    for (prompt, entities) in [
        (
            "A recipe manager: recipes with a name, ingredients, cooking time in minutes and a category. Users can also plan meals: each meal plan has a date and a recipe.",
            vec!["Recipe", "MealPlan"],
        ),
        (
            "Track my book collection. Each book has a title, author, ISBN, number of pages, whether I've read it, and a rating from 1 to 5.",
            vec!["Book"],
        ),
        (
            "An expense tracker with expenses (amount, date, category, note) and monthly budgets (month, limit).",
            vec!["Expense", "Budget"],
        ),
        (
            "A small CRM for a freelancer: clients with name, email, phone and company; projects belong to a client and have a name, a deadline, a budget and a status (proposal, active, done).",
            vec!["Client", "Project"],
        ),
    ] {
        let run = Run::new();
        run.write_input(spec(prompt));
        let ran = run.generate(&run.input_uri(), &[]);
        let result = run.result();
        assert_eq!(ran.code, Some(0), "{prompt}\n{:?}", result.error);
        let names: Vec<_> = result
            .blueprint
            .unwrap()
            .entities
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, entities);
        assert_every_gate_passed(&result.verification);
    }
}

#[test]
fn a_failing_gate_fails_the_generation_with_the_tail_of_its_output() {
    let run = Run::new();
    run.write_input(spec(TODO));
    // Without pnpm on PATH the install gate cannot succeed.
    let ran = run.generate(&run.input_uri(), &[("PATH", "/nonexistent")]);
    let (step, message) = run.failure(&ran);
    assert_eq!(step, "verify/install");
    assert!(message.contains("pnpm"), "{message}");
    let result = run.result();
    assert_eq!(result.verification.len(), 1);
    assert!(!result.verification[0].passed);
    assert!(
        result.blueprint.is_some(),
        "what was understood is kept even when a gate fails"
    );
}

#[test]
fn an_empty_prompt_is_refused_with_a_clear_error() {
    let run = Run::new();
    run.write_input(spec("   "));
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("prompt is empty"), "{message}");
}

#[test]
fn a_prompt_of_only_punctuation_is_refused() {
    let run = Run::new();
    run.write_input(spec("?!… --- !!! ..."));
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("no words"), "{message}");
}

#[test]
fn a_prompt_over_64_kib_is_refused_and_one_of_64_kib_is_understood() {
    let run = Run::new();
    let sentence = "Keep a list of books with a title and an author. ";
    let long: String = sentence.repeat(65_536 / sentence.len() + 1);
    run.write_input(spec(&long));
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("longer than 65536"), "{message}");

    // Exactly at the limit it is read and understood; pnpm is kept away so the run stops at the
    // first gate instead of building the app.
    let run = Run::new();
    let at_limit: String = long.chars().take(65_536).collect();
    run.write_input(spec(&at_limit));
    let (step, _) = run.failure(&run.generate(&run.input_uri(), &[("PATH", "/nonexistent")]));
    assert_eq!(step, "verify/install");
    assert_eq!(run.result().blueprint.unwrap().entities[0].name, "Book");
}

#[test]
fn an_input_that_is_missing_is_reported_in_the_result() {
    let run = Run::new();
    std::fs::create_dir_all(run.generation_dir()).unwrap();
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("there is no input"), "{message}");
}

#[test]
fn an_input_that_is_not_json_is_reported_in_the_result() {
    let run = Run::new();
    std::fs::create_dir_all(run.generation_dir()).unwrap();
    std::fs::write(run.generation_dir().join("input.json"), "{ not json").unwrap();
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("not a generator input"), "{message}");
}

#[test]
fn an_input_uri_that_names_no_store_exits_2_and_says_why() {
    let run = Run::new();
    for uri in [
        "ftp://host/generations/a/b/c/input.json",
        "file:///tmp/nowhere.json",
        "not a uri",
        "file://relative/generations/a/b/c/input.json",
    ] {
        let ran = run.generate(uri, &[]);
        assert_eq!(ran.code, Some(2), "{uri}");
        assert!(ran.stderr.contains("appgen generate:"), "{uri}: {}", ran.stderr);
    }
}

#[test]
fn an_input_uri_that_climbs_out_of_the_store_touches_nothing() {
    let run = Run::new();
    run.write_input(spec(TODO));
    let uri = format!(
        "file://{}/generations/default/todo/../../../../escape/input.json",
        run.store().display()
    );
    let ran = run.generate(&uri, &[]);
    assert_ne!(ran.code, Some(0));
    assert!(!run.dir.path().join("escape").exists());
}

fn blueprint(entities: Vec<Entity>) -> Blueprint {
    Blueprint {
        title: Some("Odd".into()),
        entities,
    }
}

fn entity(name: &str, fields: &[&str]) -> Entity {
    Entity {
        name: name.into(),
        fields: fields.iter().map(|f| Field::new(*f, FieldType::Text)).collect(),
    }
}

#[test]
fn blueprints_with_duplicate_or_reserved_names_are_refused_before_anything_is_written() {
    for (bad, named) in [
        (
            blueprint(vec![entity("Task", &["title"]), entity("Task", &["name"])]),
            "Task",
        ),
        (blueprint(vec![entity("Task", &["title", "title"])]), "title"),
        (blueprint(vec![entity("constructor", &["title"])]), "constructor"),
        (blueprint(vec![entity("Task", &["__proto__"])]), "__proto__"),
        (blueprint(vec![entity("../../etc", &["title"])]), "../../etc"),
    ] {
        let run = Run::new();
        let mut spec = spec("A todo app");
        spec.blueprint = Some(bad);
        run.write_input(spec);
        let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
        assert_eq!(step, "agent/understand");
        assert!(message.contains(named), "{named}: {message}");
        let app = run.workspace().join("app");
        assert!(
            std::fs::read_dir(&app).map_or(true, |mut d| d.next().is_none()),
            "files were written for a refused blueprint"
        );
    }
}

#[test]
fn an_unwritable_workspace_is_reported_in_the_result() {
    let run = Run::new();
    run.write_input(spec(TODO));
    // A file where the workspace should be: not even root can write under it.
    std::fs::write(run.workspace(), "").unwrap();
    let (step, message) = run.failure(&run.generate(&run.input_uri(), &[]));
    assert_eq!(step, "prepare");
    assert!(message.contains("not writable"), "{message}");
}
